//! Demo data: a realistic company tree with valid requisites, for trying the
//! product and for the benchmarks (`kabinet demo --companies N`).

use kabinet_domain::company::{CompanyDraft, RawCompany};
use kabinet_domain::requisites::{Bik, CorrespondentAccount, Inn, SettlementAccount};
use kabinet_store::companies::CompanyFields;
use kabinet_store::{commit, companies, demo, users};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::companies::fields_from;
use crate::{now_ms, ServiceError, Services};

const REGIONS: [(&str, &str, &str); 12] = [
    ("Москва", "Центральный", "Europe/Moscow"),
    ("Московская область", "Центральный", "Europe/Moscow"),
    ("Санкт-Петербург", "Северо-Западный", "Europe/Moscow"),
    ("Ленинградская область", "Северо-Западный", "Europe/Moscow"),
    ("Новосибирская область", "Сибирский", "Asia/Novosibirsk"),
    ("Свердловская область", "Уральский", "Asia/Yekaterinburg"),
    ("Республика Татарстан", "Приволжский", "Europe/Moscow"),
    ("Нижегородская область", "Приволжский", "Europe/Moscow"),
    ("Краснодарский край", "Южный", "Europe/Moscow"),
    ("Ростовская область", "Южный", "Europe/Moscow"),
    ("Приморский край", "Дальневосточный", "Asia/Vladivostok"),
    ("Самарская область", "Приволжский", "Europe/Samara"),
];

const AREA_CODES: [&str; 12] = [
    "495", "498", "812", "813", "383", "343", "843", "831", "861", "863", "423", "846",
];

const FORMS: [&str; 4] = ["ООО", "АО", "ПАО", "ИП"];
const FIRST: [&str; 24] = [
    "Альфа",
    "Вектор",
    "Гранит",
    "Дельта",
    "Импульс",
    "Кристалл",
    "Лидер",
    "Меридиан",
    "Новые",
    "Омега",
    "Прогресс",
    "Ромашка",
    "Северный",
    "Сигма",
    "Техно",
    "Уральский",
    "Феникс",
    "Цифровой",
    "Экспресс",
    "Южный",
    "Global",
    "New",
    "Smart",
    "Blue",
];
const SECOND: [&str; 24] = [
    "Связь",
    "Телеком",
    "Логистик",
    "Строй",
    "Сервис",
    "Трейд",
    "Консалт",
    "Медиа",
    "Системы",
    "Решения",
    "Энерго",
    "Фарм",
    "Агро",
    "Финанс",
    "Девелопмент",
    "Маркет",
    "Ways",
    "Company",
    "Networks",
    "Systems",
    "Software",
    "Group",
    "Капитал",
    "Проект",
];
const BANKS: [(&str, &str); 3] = [
    ("ПАО Сбербанк", "044525225"),
    ("АО «Тинькофф Банк»", "044525974"),
    ("Банк ВТБ (ПАО)", "044525187"),
];

/// How the generated tree is shaped.
#[derive(Debug, Clone, Copy)]
pub struct DemoPlan {
    pub companies: u64,
    pub seed: u64,
}

/// The password of the demo's named people (`benchsubtree`, `benchsignin`).
pub const DEMO_PASSWORD: &str = "kabinet-demo-2026";

/// What the generator is doing, for a progress bar: `(phase, done, total)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoPhase {
    Companies,
    People,
    Search,
}

/// What one run added.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoReport {
    pub companies: u64,
    pub people: u64,
    pub departments: u64,
}

fn digits(rng: &mut StdRng, count: usize) -> String {
    (0..count)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// One company's raw input, as a person would type it.
fn raw_company(rng: &mut StdRng, serial: u64, is_reseller: bool, parent_id: i64) -> RawCompany {
    let (region, macroregion, timezone) = REGIONS[rng.gen_range(0..REGIONS.len())];
    let area = AREA_CODES[rng.gen_range(0..AREA_CODES.len())];
    let name = format!(
        "{} «{} {} {}»",
        FORMS[rng.gen_range(0..FORMS.len())],
        FIRST[rng.gen_range(0..FIRST.len())],
        SECOND[rng.gen_range(0..SECOND.len())],
        serial
    );
    let mut nine = [0u32; 9];
    for digit in nine.iter_mut() {
        *digit = rng.gen_range(0..10);
    }
    nine[0] = rng.gen_range(1..10);
    let inn = Inn::complete_legal_entity(nine);
    let (bank, bik_text) = BANKS[rng.gen_range(0..BANKS.len())];
    let bik = Bik::parse(bik_text).expect("demo BIKs are valid");
    let correspondent =
        CorrespondentAccount::generate(&bik, &format!("30101810{}", digits(rng, 12)));
    let settlement = SettlementAccount::generate(&bik, &format!("40702810{}", digits(rng, 12)));
    let ogrn_body = format!("1{}{}", rng.gen_range(10..30), digits(rng, 9));
    let ogrn_check = (ogrn_body.parse::<u64>().unwrap_or(0) % 11) % 10;
    let phone = format!(
        "+7 ({area}) {}-{}-{}",
        digits(rng, 3),
        digits(rng, 2),
        digits(rng, 2)
    );
    RawCompany {
        name: Some(name),
        account_number: Some(format!("LS-{serial:08}")),
        pbx_number: Some(format!("{}", 1000 + serial % 9000)),
        multichannel_number: Some(format!(
            "8 800 {} {} {}",
            digits(rng, 3),
            digits(rng, 2),
            digits(rng, 2)
        )),
        phones: vec![phone.clone()],
        region: Some(region.to_string()),
        macroregion: Some(macroregion.to_string()),
        inns: vec![inn.as_str().to_string()],
        kpp: Some(format!("{}01001", &inn.as_str()[..4])),
        ogrn: Some(format!("{ogrn_body}{ogrn_check}")),
        bik: Some(bik_text.to_string()),
        bank: Some(bank.to_string()),
        correspondent_account: Some(correspondent.as_str().to_string()),
        settlement_account: Some(settlement.as_str().to_string()),
        legal_address: Some(format!("{region}, ул. Ленина, д. {}", 1 + serial % 200)),
        email: Some(format!("info{serial}@example.ru")),
        phone: Some(phone),
        timezone: Some(timezone.to_string()),
        tariff: Some(["Старт", "Бизнес", "Корпоративный"][rng.gen_range(0..3)].to_string()),
        is_reseller,
        parent_id: Some(parent_id),
        ..RawCompany::default()
    }
}

/// The generator's state between batches.
struct Generator {
    rng: StdRng,
    provider_id: i64,
    provider_path: String,
    serial_base: u64,
    resellers_wanted: u64,
    resellers: Vec<(i64, String)>,
}

type Rows = Vec<(i64, String, CompanyFields)>;

impl Generator {
    /// Companies `from..to` of the plan, parsed exactly like typed input.
    fn batch(&mut self, from: u64, to: u64) -> Result<Rows, ServiceError> {
        let mut rows = Vec::with_capacity((to - from) as usize);
        for index in from..to {
            let serial = self.serial_base + index + 1;
            let id = serial as i64;
            let make_reseller =
                (self.resellers.len() as u64) < self.resellers_wanted && index % 100 == 0;
            let under_reseller =
                !make_reseller && !self.resellers.is_empty() && self.rng.gen_ratio(1, 5);
            let (parent_id, parent_path) = if under_reseller {
                self.resellers[self.rng.gen_range(0..self.resellers.len())].clone()
            } else {
                (self.provider_id, self.provider_path.clone())
            };
            let raw = raw_company(&mut self.rng, serial, make_reseller, parent_id);
            let draft = CompanyDraft::parse(&raw).map_err(ServiceError::Validation)?;
            let path = format!("{parent_path}{id}/");
            if make_reseller {
                self.resellers.push((id, path.clone()));
            }
            rows.push((id, path, fields_from(&draft, raw.sign_in(), false, false)));
        }
        Ok(rows)
    }
}

impl Services {
    /// Adds `plan.companies` companies under the provider: about 1% resellers,
    /// 20% their affiliates, the rest direct clients. Every card passes the
    /// same parser as a card typed into the console. The next batch is
    /// generated on another thread while the current one is written.
    /// Then every new company gets three people (an account admin, or staff
    /// at a reseller, and two client users), every new reseller a "Sales"
    /// and a "Technical support" department with rights and members, and,
    /// once per database, the two named people the benchmarks sign in as:
    /// `benchsubtree` (Sales of the first reseller, so its rights cover that
    /// subtree) and `benchsignin` (the provider's technical support), both
    /// with [`DEMO_PASSWORD`]. `progress` is called with the phase, the
    /// number done and the number to do. Run it while no one else adds
    /// companies: it chooses the ids itself.
    pub async fn demo_fill(
        &self,
        plan: DemoPlan,
        progress: impl Fn(DemoPhase, u64, u64),
    ) -> Result<DemoReport, ServiceError> {
        let provider = {
            let mut conn = self.store.reader().await?;
            companies::provider(&mut conn)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        let serial_base = {
            let mut conn = self.store.reader().await?;
            companies::max_id(&mut conn).await?
        } as u64;
        let generator = Generator {
            rng: StdRng::seed_from_u64(plan.seed),
            provider_id: provider.id,
            provider_path: provider.path.clone(),
            serial_base,
            resellers_wanted: (plan.companies / 100).max(1).min(plan.companies),
            resellers: Vec::new(),
        };
        self.store.bulk_load(true).await?;
        let filled = self
            .demo_rows(plan, generator, serial_base, &progress)
            .await;
        self.store.bulk_load(false).await?;
        let report = filled?;
        progress(DemoPhase::Search, 1, 1);
        self.demo_bench_people(
            provider.id,
            serial_base as i64 + 1,
            serial_base as i64 + plan.companies as i64,
        )
        .await?;
        Ok(report)
    }

    /// The companies, people and departments of [`Services::demo_fill`].
    async fn demo_rows(
        &self,
        plan: DemoPlan,
        generator: Generator,
        serial_base: u64,
        progress: &impl Fn(DemoPhase, u64, u64),
    ) -> Result<DemoReport, ServiceError> {
        const BATCH: u64 = 5_000;
        const PEOPLE_BATCH: i64 = 50_000;
        let total = plan.companies;
        let spawn = |mut generator: Generator, from: u64| {
            tokio::task::spawn_blocking(move || {
                let to = (from + BATCH).min(total);
                let rows = generator.batch(from, to);
                (generator, rows, to)
            })
        };
        let mut report = DemoReport::default();
        // One transaction: on SQLite the per-row triggers and secondary
        // indexes are set aside and built once at the end; a failure
        // anywhere leaves the database as it was.
        let backend = self.store.backend();
        let mut tx = self.store.begin().await?;
        let suspended = demo::suspend_for_bulk(&mut tx, backend).await?;
        let mut pending = (total > 0).then(|| spawn(generator, 0));
        while let Some(task) = pending.take() {
            let (generator, rows, end) = task
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let rows = rows?;
            if end < total {
                pending = Some(spawn(generator, end));
            }
            companies::insert_bulk(&mut tx, &rows, now_ms()).await?;
            report.companies = end;
            progress(DemoPhase::Companies, end, total);
        }
        companies::sync_id_sequence(&mut tx, backend).await?;

        let first = serial_base as i64 + 1;
        let last = serial_base as i64 + total as i64;
        let mut from = first;
        while from <= last {
            let to = (from + PEOPLE_BATCH - 1).min(last);
            let now = now_ms();
            report.people += demo::insert_people(&mut tx, from, to, now).await?;
            report.departments += demo::insert_reseller_departments(&mut tx, from, to, now).await?;
            progress(DemoPhase::People, (to - first + 1) as u64, total);
            from = to + 1;
        }
        progress(DemoPhase::Search, 0, 1);
        demo::resume_after_bulk(&mut tx, suspended).await?;
        demo::settle(&mut tx, backend).await?;
        commit(tx).await?;
        Ok(report)
    }

    /// `benchsubtree` and `benchsignin`, unless they exist already.
    async fn demo_bench_people(
        &self,
        provider_id: i64,
        first: i64,
        last: i64,
    ) -> Result<(), ServiceError> {
        let reseller = {
            let mut conn = self.store.reader().await?;
            demo::first_reseller(&mut conn, first, last).await?
        };
        let hash = crate::auth::hash_password(DEMO_PASSWORD.to_string()).await?;
        let people = [
            ("benchsubtree", reseller, "Sales", "Subtree", "Bench"),
            (
                "benchsignin",
                Some(provider_id),
                "Technical support",
                "Sign-in",
                "Bench",
            ),
        ];
        for (login, company, department, first_name, last_name) in people {
            let Some(company_id) = company else { continue };
            let mut tx = self.store.begin().await?;
            if users::by_login(&mut tx, login).await?.is_some() {
                continue;
            }
            let user_id = users::insert(
                &mut tx,
                &users::NewUser {
                    company_id,
                    login: login.to_string(),
                    first_name: first_name.to_string(),
                    last_name: last_name.to_string(),
                    email: Some(format!("{login}@example.ru")),
                    kind: "staff".to_string(),
                    full_access: false,
                    password_hash: hash.clone(),
                },
                now_ms(),
            )
            .await?;
            if let Some(department_id) =
                demo::department_named(&mut tx, company_id, department).await?
            {
                demo::add_member(&mut tx, department_id, user_id).await?;
            }
            commit(tx).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cards_pass_the_parser() {
        let mut rng = StdRng::seed_from_u64(7);
        for serial in 0..500 {
            let raw = raw_company(&mut rng, serial, serial % 7 == 0, 1);
            if let Err(errors) = CompanyDraft::parse(&raw) {
                panic!("card {serial} invalid: {errors:?} in {raw:?}");
            }
        }
    }
}
