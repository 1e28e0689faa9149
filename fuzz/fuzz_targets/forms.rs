//! The composite parsers behind the forms and the API: the company card
//! (`CompanyDraft`), the user card (`UserDraft`) and self-registration
//! (`RegistrationDraft`). They call the field parsers and add their own
//! rules (bank accounts keyed to the BIK, duplicate INNs and phones, the login
//! taken from the e-mail, error field names).
//!
//! Input: one flags byte, then text lines. Lines 0..25 are the company card in
//! the order of `COMPANY_FIELDS` (lists split at `;`), lines 25..38 the user
//! card in the order of `USER_FIELDS`; a missing line is an absent field.
//!
//! Properties: a card that parses, written back into a form from its parsed
//! values, parses again to the same card (normalisation is idempotent, so a
//! stored card can always be saved again); a card's search text holds no LIKE
//! wildcard; registration errors use only the form's five field names, once
//! each, and a registration that passes is an account admin under the reseller
//! whose login is the e-mail.
#![no_main]

use kabinet_domain::company::{CompanyDraft, RawCompany};
use kabinet_domain::registration::{RawRegistration, RegistrationDraft};
use kabinet_domain::user::{LoginRule, RawUser, UserDraft, UserKind};
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
const COMPANY_FIELDS: [&str; 25] = [
    "name",
    "short_id",
    "account_number",
    "pbx_number",
    "multichannel_number",
    "phones",
    "region",
    "macroregion",
    "inns",
    "kpp",
    "ogrn",
    "bik",
    "bank",
    "correspondent_account",
    "settlement_account",
    "legal_address",
    "postal_address",
    "email",
    "phone",
    "timezone",
    "max_dialogs_per_operator",
    "tariff",
    "credit_limit",
    "balance_threshold",
    "parent_id",
];
#[allow(dead_code)]
const USER_FIELDS: [&str; 13] = [
    "login",
    "first_name",
    "last_name",
    "patronymic",
    "full_name_ru",
    "full_name_en",
    "email",
    "phone",
    "mobile_phone",
    "position",
    "kind",
    "status",
    "current login",
];

fn company_from(lines: &[&str], flags: u8) -> RawCompany {
    let s = |i: usize| lines.get(i).map(|l| l.to_string());
    let list = |i: usize| {
        lines
            .get(i)
            .map(|l| l.split(';').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let int = |i: usize| lines.get(i).and_then(|l| l.trim().parse::<i64>().ok());
    RawCompany {
        name: s(0),
        short_id: s(1),
        account_number: s(2),
        pbx_number: s(3),
        multichannel_number: s(4),
        phones: list(5),
        region: s(6),
        macroregion: s(7),
        inns: list(8),
        kpp: s(9),
        ogrn: s(10),
        bik: s(11),
        bank: s(12),
        correspondent_account: s(13),
        settlement_account: s(14),
        legal_address: s(15),
        postal_address: s(16),
        email: s(17),
        phone: s(18),
        timezone: s(19),
        max_dialogs_per_operator: int(20),
        tariff: s(21),
        is_reseller: flags & 1 != 0,
        credit_limit: s(22),
        balance_threshold: s(23),
        fz230_enabled: flags & 2 != 0,
        sms_second_factor: flags & 4 != 0,
        email_is_login: flags & 8 != 0,
        password_in_email: flags & 16 != 0,
        parent_id: int(24),
    }
}

/// The form a parsed card shows when it is opened for editing.
fn company_back(d: &CompanyDraft, raw: &RawCompany) -> RawCompany {
    let text = |v: &Option<String>| v.clone();
    RawCompany {
        name: Some(d.name.clone()),
        short_id: text(&d.short_id),
        account_number: d.account_number.as_ref().map(|v| v.as_str().to_string()),
        pbx_number: text(&d.pbx_number),
        multichannel_number: d.multichannel_number.as_ref().map(|p| p.to_string()),
        phones: d.phones.iter().map(|p| p.to_string()).collect(),
        region: text(&d.region),
        macroregion: text(&d.macroregion),
        inns: d.inns.iter().map(|v| v.as_str().to_string()).collect(),
        kpp: d.kpp.as_ref().map(|v| v.as_str().to_string()),
        ogrn: d.ogrn.as_ref().map(|v| v.as_str().to_string()),
        bik: d.bik.as_ref().map(|v| v.as_str().to_string()),
        bank: text(&d.bank),
        correspondent_account: d
            .correspondent_account
            .as_ref()
            .map(|v| v.as_str().to_string()),
        settlement_account: d
            .settlement_account
            .as_ref()
            .map(|v| v.as_str().to_string()),
        legal_address: text(&d.legal_address),
        postal_address: text(&d.postal_address),
        email: d.email.as_ref().map(|v| v.as_str().to_string()),
        phone: d.phone.as_ref().map(|p| p.as_str().to_string()),
        timezone: d.timezone.as_ref().map(|v| v.as_str().to_string()),
        max_dialogs_per_operator: Some(d.max_dialogs_per_operator),
        tariff: text(&d.tariff),
        is_reseller: d.is_reseller,
        credit_limit: d.credit_limit.map(|m| m.to_string()),
        balance_threshold: d.balance_threshold.map(|m| m.to_string()),
        fz230_enabled: d.fz230_enabled,
        parent_id: d.parent_id,
        ..raw.clone()
    }
}

fn user_from(lines: &[&str]) -> RawUser {
    let s = |i: usize| lines.get(i).map(|l| l.to_string());
    RawUser {
        login: s(0),
        first_name: s(1),
        last_name: s(2),
        patronymic: s(3),
        full_name_ru: s(4),
        full_name_en: s(5),
        email: s(6),
        phone: s(7),
        mobile_phone: s(8),
        position: s(9),
        kind: s(10),
        may_open_admin_cabinet: lines.len().is_multiple_of(2),
        chat_enabled: lines.len().is_multiple_of(3),
        status: s(11),
    }
}

fn user_back(u: &UserDraft) -> RawUser {
    RawUser {
        login: Some(u.login.as_str().to_string()),
        first_name: Some(u.first_name.clone()),
        last_name: Some(u.last_name.clone()),
        patronymic: u.patronymic.clone(),
        full_name_ru: u.full_name_ru.clone(),
        full_name_en: u.full_name_en.clone(),
        email: u.email.as_ref().map(|e| e.as_str().to_string()),
        phone: u.phone.as_ref().map(|p| p.to_string()),
        mobile_phone: u.mobile_phone.as_ref().map(|p| p.as_str().to_string()),
        position: u.position.clone(),
        kind: Some(u.kind.key().to_string()),
        may_open_admin_cabinet: u.may_open_admin_cabinet,
        chat_enabled: u.chat_enabled,
        status: Some(u.status.key().to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let company_lines = &lines[..lines.len().min(25)];
    let user_lines = lines.get(25..).unwrap_or(&[]);

    // The company card.
    let provider = flags & 32 != 0;
    let parse = |raw: &RawCompany| {
        if provider {
            CompanyDraft::parse_provider(raw)
        } else {
            CompanyDraft::parse(raw)
        }
    };
    let raw_company = company_from(company_lines, flags);
    match parse(&raw_company) {
        Ok(draft) => {
            let search = draft.search_text();
            assert!(!search.contains(['%', '_']), "{search:?}");
            let again = parse(&company_back(&draft, &raw_company));
            assert_eq!(again.as_ref(), Ok(&draft), "a parsed card parses again");
        }
        Err(errors) => assert!(!errors.is_empty()),
    }

    // The user card.
    let raw_user = user_from(user_lines);
    let current = user_lines.get(12).copied();
    let rule = LoginRule {
        email_is_login: flags & 64 != 0,
        current: if flags & 128 != 0 { current } else { None },
    };
    match UserDraft::parse_with(&raw_user, rule) {
        Ok(user) => {
            let search = user.search_text();
            assert!(!search.contains(['%', '_']), "{search:?}");
            let again = UserDraft::parse_with(&user_back(&user), rule);
            assert_eq!(again.as_ref(), Ok(&user), "a parsed card parses again");
        }
        Err(errors) => assert!(!errors.is_empty()),
    }

    // Self-registration, from the same fields.
    let reseller_id = i64::from(flags) + 1;
    let registration = RawRegistration {
        company_name: raw_company.name.clone(),
        inn: raw_company.inns.first().cloned(),
        first_name: raw_user.first_name.clone(),
        last_name: raw_user.last_name.clone(),
        email: raw_user.email.clone(),
    };
    match RegistrationDraft::parse(&registration, reseller_id) {
        Ok(draft) => {
            assert_eq!(draft.company.parent_id, Some(reseller_id));
            assert_eq!(draft.admin.kind, UserKind::AccountAdmin);
            let email = draft
                .admin
                .email
                .as_ref()
                .expect("registration needs an e-mail");
            assert_eq!(draft.admin.login.as_str(), email.as_str().to_lowercase());
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let form = ["company_name", "inn", "first_name", "last_name", "email"];
            for (i, error) in errors.iter().enumerate() {
                assert!(form.contains(&error.field.as_str()), "{error:?}");
                assert!(
                    errors[..i].iter().all(|e| e.field != error.field),
                    "{errors:?}"
                );
            }
        }
    }
});
