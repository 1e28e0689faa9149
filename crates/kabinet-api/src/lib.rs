//! Wire types: what goes over HTTP (request and response bodies), and the
//! public JSON form of entities that the audit log also records.
//!
//! Field names are snake_case English. Money travels as decimal strings
//! (`"1500.00"`), times as RFC 3339 UTC.

use kabinet_domain::company::RawCompany;
use kabinet_domain::money::Money;
use kabinet_store::audit::AuditEntry;
use kabinet_store::companies::CompanyRecord;
use kabinet_store::sessions::TokenRecord;
use serde::{Deserialize, Serialize};

/// Formats milliseconds since the epoch as RFC 3339 UTC.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A company as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompanyDto {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub is_provider: bool,
    pub name: String,
    pub short_id: Option<String>,
    pub account_number: Option<String>,
    pub pbx_number: Option<String>,
    pub multichannel_number: Option<String>,
    pub phones: Vec<String>,
    pub region: Option<String>,
    pub macroregion: Option<String>,
    pub inns: Vec<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub bik: Option<String>,
    pub bank: Option<String>,
    pub correspondent_account: Option<String>,
    pub settlement_account: Option<String>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub max_dialogs_per_operator: i64,
    pub tariff: Option<String>,
    pub is_reseller: bool,
    pub credit_limit: Option<String>,
    pub balance_threshold: Option<String>,
    pub fz230_enabled: bool,
    /// People of this company confirm sign-in with an SMS code (M6).
    pub sms_second_factor: bool,
    /// People of this company sign in with their e-mail as the login (T4).
    pub email_is_login: bool,
    /// New people get their login and a generated password by e-mail,
    /// changed at first sign-in, instead of a link to set a password.
    pub password_in_email: bool,
    /// A group company links client companies that share its INN by their
    /// multichannel number (M5); its group admins act on them (M1).
    pub is_group_company: bool,
    pub children_count: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

fn money_text(minor: Option<i64>) -> Option<String> {
    minor.map(|m| Money::from_minor(m).to_string())
}

impl From<&CompanyRecord> for CompanyDto {
    fn from(r: &CompanyRecord) -> Self {
        let f = &r.fields;
        Self {
            id: r.id,
            parent_id: f.parent_id,
            is_provider: f.is_provider,
            name: f.name.clone(),
            short_id: f.short_id.clone(),
            account_number: f.account_number.clone(),
            pbx_number: f.pbx_number.clone(),
            multichannel_number: f.multichannel_number.clone(),
            phones: f.phones.clone(),
            region: f.region.clone(),
            macroregion: f.macroregion.clone(),
            inns: f.inns.clone(),
            kpp: f.kpp.clone(),
            ogrn: f.ogrn.clone(),
            bik: f.bik.clone(),
            bank: f.bank.clone(),
            correspondent_account: f.correspondent_account.clone(),
            settlement_account: f.settlement_account.clone(),
            legal_address: f.legal_address.clone(),
            postal_address: f.postal_address.clone(),
            email: f.email.clone(),
            phone: f.phone.clone(),
            timezone: f.timezone.clone(),
            max_dialogs_per_operator: f.max_dialogs_per_operator,
            tariff: f.tariff.clone(),
            is_reseller: f.is_reseller,
            credit_limit: money_text(f.credit_limit),
            balance_threshold: money_text(f.balance_threshold),
            fz230_enabled: f.fz230_enabled,
            sms_second_factor: f.sms_second_factor,
            email_is_login: f.email_is_login,
            password_in_email: f.password_in_email,
            is_group_company: f.is_group_company,
            children_count: r.children_count,
            version: r.version,
            created_at: format_time(r.created_at),
            updated_at: format_time(r.updated_at),
            deleted_at: r.deleted_at.map(format_time),
        }
    }
}

/// Money in a request: a decimal string (`"1500.50"`) or a JSON number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum MoneyInput {
    Text(String),
    Integer(i64),
    Number(f64),
}

impl MoneyInput {
    fn as_text(&self) -> String {
        match self {
            MoneyInput::Text(t) => t.clone(),
            MoneyInput::Integer(i) => i.to_string(),
            MoneyInput::Number(n) => format!("{n}"),
        }
    }
}

/// The writable fields of a company: the body of `POST /api/v1/companies`,
/// and what a `PATCH` merge patch is applied to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CompanyInput {
    pub parent_id: Option<i64>,
    pub name: Option<String>,
    pub short_id: Option<String>,
    pub account_number: Option<String>,
    pub pbx_number: Option<String>,
    pub multichannel_number: Option<String>,
    pub phones: Option<Vec<String>>,
    pub region: Option<String>,
    pub macroregion: Option<String>,
    pub inns: Option<Vec<String>>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub bik: Option<String>,
    pub bank: Option<String>,
    pub correspondent_account: Option<String>,
    pub settlement_account: Option<String>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub max_dialogs_per_operator: Option<i64>,
    pub tariff: Option<String>,
    pub is_reseller: Option<bool>,
    pub credit_limit: Option<MoneyInput>,
    pub balance_threshold: Option<MoneyInput>,
    pub fz230_enabled: Option<bool>,
    pub sms_second_factor: Option<bool>,
    pub email_is_login: Option<bool>,
    pub password_in_email: Option<bool>,
    /// Travels beside the [`RawCompany`] (see
    /// `Services::company_create_with`): absent in a create means false.
    pub is_group_company: Option<bool>,
}

/// Fields a client may send but not change.
pub const COMPANY_READ_ONLY_FIELDS: [&str; 8] = [
    "id",
    "is_provider",
    "children_count",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
    "path",
];

impl CompanyInput {
    pub fn into_raw(self) -> RawCompany {
        RawCompany {
            name: self.name,
            short_id: self.short_id,
            account_number: self.account_number,
            pbx_number: self.pbx_number,
            multichannel_number: self.multichannel_number,
            phones: self.phones.unwrap_or_default(),
            region: self.region,
            macroregion: self.macroregion,
            inns: self.inns.unwrap_or_default(),
            kpp: self.kpp,
            ogrn: self.ogrn,
            bik: self.bik,
            bank: self.bank,
            correspondent_account: self.correspondent_account,
            settlement_account: self.settlement_account,
            legal_address: self.legal_address,
            postal_address: self.postal_address,
            email: self.email,
            phone: self.phone,
            timezone: self.timezone,
            max_dialogs_per_operator: self.max_dialogs_per_operator,
            tariff: self.tariff,
            is_reseller: self.is_reseller.unwrap_or(false),
            credit_limit: self.credit_limit.map(|m| m.as_text()),
            balance_threshold: self.balance_threshold.map(|m| m.as_text()),
            fz230_enabled: self.fz230_enabled.unwrap_or(false),
            sms_second_factor: self.sms_second_factor.unwrap_or(false),
            email_is_login: self.email_is_login.unwrap_or(false),
            password_in_email: self.password_in_email.unwrap_or(false),
            parent_id: self.parent_id,
        }
    }

    /// The writable fields of a stored company, the base a merge patch applies to.
    pub fn from_record(r: &CompanyRecord) -> Self {
        let dto = CompanyDto::from(r);
        Self {
            parent_id: dto.parent_id,
            name: Some(dto.name),
            short_id: dto.short_id,
            account_number: dto.account_number,
            pbx_number: dto.pbx_number,
            multichannel_number: dto.multichannel_number,
            phones: Some(dto.phones),
            region: dto.region,
            macroregion: dto.macroregion,
            inns: Some(dto.inns),
            kpp: dto.kpp,
            ogrn: dto.ogrn,
            bik: dto.bik,
            bank: dto.bank,
            correspondent_account: dto.correspondent_account,
            settlement_account: dto.settlement_account,
            legal_address: dto.legal_address,
            postal_address: dto.postal_address,
            email: dto.email,
            phone: dto.phone,
            timezone: dto.timezone,
            max_dialogs_per_operator: Some(dto.max_dialogs_per_operator),
            tariff: dto.tariff,
            is_reseller: Some(dto.is_reseller),
            credit_limit: dto.credit_limit.map(MoneyInput::Text),
            balance_threshold: dto.balance_threshold.map(MoneyInput::Text),
            fz230_enabled: Some(dto.fz230_enabled),
            sms_second_factor: Some(dto.sms_second_factor),
            email_is_login: Some(dto.email_is_login),
            password_in_email: Some(dto.password_in_email),
            is_group_company: Some(dto.is_group_company),
        }
    }
}

/// The body of `POST /api/v1/companies/{id}/links`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLinkInput {
    /// The client's multichannel number, written any usual way.
    pub multichannel_number: String,
}

/// A link of a group company to a client company (M5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupLinkDto {
    pub group_company_id: i64,
    pub client_company_id: i64,
    pub created_at: String,
    /// The person who linked.
    pub created_by: Option<i64>,
    pub client: CompanyDto,
}

impl GroupLinkDto {
    pub fn new(link: &kabinet_store::group_links::GroupLinkRecord, client: &CompanyRecord) -> Self {
        Self {
            group_company_id: link.group_company_id,
            client_company_id: link.client_company_id,
            created_at: format_time(link.created_at),
            created_by: link.created_by,
            client: CompanyDto::from(client),
        }
    }
}

/// Applies an RFC 7396 JSON merge patch to `target`.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(patch_map) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(target_map) = target {
                for (key, value) in patch_map {
                    if value.is_null() {
                        target_map.remove(key);
                    } else {
                        merge_patch(
                            target_map
                                .entry(key.clone())
                                .or_insert(serde_json::Value::Null),
                            value,
                        );
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// A page of a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The number of matches; where `total_exact` is false, at least this
    /// many (company lists count up to 1,000).
    pub total: i64,
    #[serde(default = "exact")]
    pub total_exact: bool,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging (company lists): pass as `after` for the page that
    /// follows this one, in the same order; absent on a page that is not
    /// full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Company lists: the order the page is listed in (a sort key, and
    /// `asc` or `desc`). The one asked for, except for a search matching
    /// more than 2,000 companies (300 for digits only) with no sort chosen,
    /// of which the list's scope and filters leave more than 1,000 (300):
    /// `id`, `asc`, the order the companies were added in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

impl<T> Page<T> {
    /// A page with an exact total, in the order asked for, with no keyset
    /// cursor (every list but the company lists).
    pub fn exact(items: Vec<T>, total: i64, limit: i64, offset: i64) -> Self {
        Page {
            items,
            total,
            total_exact: true,
            limit,
            offset,
            next: None,
            sort: None,
            dir: None,
        }
    }

    /// A short list answered whole: one page holding every item.
    pub fn whole(items: Vec<T>) -> Self {
        let total = items.len() as i64;
        Self::exact(items, total, total, 0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// A personal login (or e-mail where it is the login)...
    #[serde(default)]
    pub login: String,
    /// ...or, for a company's account administrator, the company's account
    /// number (L1).
    #[serde(default)]
    pub account_number: Option<String>,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub user_id: i64,
    pub login: String,
    pub csrf_token: String,
    /// The person signed in with a generated password and must change it
    /// (`POST /api/v1/me/password`) before anything else.
    pub must_change_password: bool,
}

/// The body of `POST /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCreateRequest {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenDto {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&TokenRecord> for TokenDto {
    fn from(t: &TokenRecord) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            created_at: format_time(t.created_at),
            last_used_at: t.last_used_at.map(format_time),
        }
    }
}

/// A new token: the secret is in this response only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenCreated {
    pub id: i64,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntryDto {
    pub id: i64,
    pub at: String,
    pub actor_user_id: Option<i64>,
    pub actor_login: Option<String>,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub details: Option<String>,
}

impl From<&AuditEntry> for AuditEntryDto {
    fn from(e: &AuditEntry) -> Self {
        let parse =
            |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
            id: e.id,
            at: format_time(e.at),
            actor_user_id: e.actor_user_id,
            actor_login: e.actor_login.clone(),
            on_behalf_of: e.on_behalf_of.clone(),
            action: e.action.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            before: parse(&e.before_json),
            after: parse(&e.after_json),
            ip: e.ip.clone(),
            details: e.details.clone(),
        }
    }
}

/// One field error of a problem response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldProblem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]});
        merge_patch(
            &mut target,
            &json!({"a": "z", "c": {"f": null}, "list": [3], "new": 1}),
        );
        assert_eq!(
            target,
            json!({"a": "z", "c": {"d": "e"}, "list": [3], "new": 1})
        );
    }

    #[test]
    fn unknown_input_fields_are_refused() {
        let error =
            serde_json::from_value::<CompanyInput>(json!({"name": "A", "nmae": "B"})).unwrap_err();
        assert!(error.to_string().contains("nmae"), "{error}");
    }
}

/// A person as the API shows it. The password is never shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserDto {
    pub id: i64,
    pub company_id: i64,
    pub company_name: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub patronymic: Option<String>,
    pub full_name_ru: Option<String>,
    pub full_name_en: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub position: Option<String>,
    pub kind: String,
    pub may_open_admin_cabinet: bool,
    pub chat_enabled: bool,
    pub status: String,
    pub has_password: bool,
    pub must_change_password: bool,
    /// Addresses and networks the person may act from; empty: any (B5).
    pub ip_rules: Vec<String>,
    /// `off`, `log` or `strict` (X11).
    pub session_binding: String,
    /// The picture is at `GET /api/v1/users/{id}/avatar`.
    pub has_avatar: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

/// The body of `PUT /api/v1/users/{id}/ip-rules`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRulesInput {
    pub ip_rules: Vec<String>,
    #[serde(default)]
    pub session_binding: Option<String>,
}

impl From<&kabinet_store::users::UserRecord> for UserDto {
    fn from(u: &kabinet_store::users::UserRecord) -> Self {
        Self {
            id: u.id,
            company_id: u.company_id,
            company_name: u.company_name.clone(),
            login: u.login.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            patronymic: u.card.patronymic.clone(),
            full_name_ru: u.card.full_name_ru.clone(),
            full_name_en: u.card.full_name_en.clone(),
            email: u.email.clone(),
            phone: u.card.phone.clone(),
            mobile_phone: u.card.mobile_phone.clone(),
            position: u.card.position.clone(),
            kind: u.kind.clone(),
            may_open_admin_cabinet: u.card.may_open_admin_cabinet,
            chat_enabled: u.card.chat_enabled,
            status: u.status.clone(),
            has_password: u.password_hash.is_some(),
            must_change_password: u.card.must_change_password,
            ip_rules: u.card.ip_rules.clone(),
            session_binding: u.card.session_binding.clone(),
            has_avatar: u.card.has_avatar,
            version: u.version,
            created_at: format_time(u.created_at),
            updated_at: format_time(u.updated_at),
            deleted_at: u.deleted_at.map(format_time),
        }
    }
}

/// The writable fields of a person: the body of `POST /api/v1/users` and
/// what a `PATCH` merge patch is applied to. `password` is write-only;
/// `generate_password` asks the server to choose one and return it once.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UserInput {
    pub company_id: Option<i64>,
    pub login: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub patronymic: Option<String>,
    pub full_name_ru: Option<String>,
    pub full_name_en: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub position: Option<String>,
    pub kind: Option<String>,
    pub may_open_admin_cabinet: Option<bool>,
    pub chat_enabled: Option<bool>,
    pub status: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    #[serde(skip_serializing)]
    pub generate_password: Option<bool>,
}

/// Fields a client may send but not change on a person.
pub const USER_READ_ONLY_FIELDS: [&str; 11] = [
    "id",
    "company_name",
    "has_password",
    "must_change_password",
    "ip_rules",
    "session_binding",
    "has_avatar",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
];

impl UserInput {
    pub fn into_raw(self) -> kabinet_domain::user::RawUser {
        kabinet_domain::user::RawUser {
            login: self.login,
            first_name: self.first_name,
            last_name: self.last_name,
            patronymic: self.patronymic,
            full_name_ru: self.full_name_ru,
            full_name_en: self.full_name_en,
            email: self.email,
            phone: self.phone,
            mobile_phone: self.mobile_phone,
            position: self.position,
            kind: self.kind,
            may_open_admin_cabinet: self.may_open_admin_cabinet.unwrap_or(false),
            chat_enabled: self.chat_enabled.unwrap_or(false),
            status: self.status,
        }
    }

    pub fn from_record(u: &kabinet_store::users::UserRecord) -> Self {
        Self {
            company_id: Some(u.company_id),
            login: Some(u.login.clone()),
            first_name: Some(u.first_name.clone()),
            last_name: Some(u.last_name.clone()),
            patronymic: u.card.patronymic.clone(),
            full_name_ru: u.card.full_name_ru.clone(),
            full_name_en: u.card.full_name_en.clone(),
            email: u.email.clone(),
            phone: u.card.phone.clone(),
            mobile_phone: u.card.mobile_phone.clone(),
            position: u.card.position.clone(),
            kind: Some(u.kind.clone()),
            may_open_admin_cabinet: Some(u.card.may_open_admin_cabinet),
            chat_enabled: Some(u.card.chat_enabled),
            status: Some(u.status.clone()),
            password: None,
            generate_password: None,
        }
    }
}

/// A person just created, with the generated password when one was asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserCreated {
    #[serde(flatten)]
    pub user: UserDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

fn exact() -> bool {
    true
}
