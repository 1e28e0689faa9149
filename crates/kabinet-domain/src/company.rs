//! The company card, its parsing, the company tree rules and search terms.

use crate::error::{FieldError, FieldErrors};
use crate::money::Money;
use crate::requisites::{
    AccountNumber, Bik, CorrespondentAccount, Inn, Kpp, Ogrn, SettlementAccount,
};
use crate::text::{optional_text, required_text, search_fold, Email, Phone, Timezone};

/// The default limit of simultaneous dialogs per operator (T3).
pub const DEFAULT_MAX_DIALOGS_PER_OPERATOR: i64 = 3000;
const NAME_MAX: usize = 300;
const SHORT_TEXT_MAX: usize = 200;
const ADDRESS_MAX: usize = 500;
const MAX_PHONES: usize = 50;
const MAX_INNS: usize = 20;

/// A company card as it arrives from a form or the API: text, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct RawCompany {
    pub name: Option<String>,
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
    pub max_dialogs_per_operator: Option<i64>,
    pub tariff: Option<String>,
    pub is_reseller: bool,
    pub credit_limit: Option<String>,
    pub balance_threshold: Option<String>,
    pub fz230_enabled: bool,
    /// Sign-in settings of the company's people (M6, T4); see [`SignInSettings`].
    pub sms_second_factor: bool,
    pub email_is_login: bool,
    pub password_in_email: bool,
    pub parent_id: Option<i64>,
}

impl RawCompany {
    /// The sign-in settings as typed. They are plain flags (every
    /// combination is valid), so they need no parsing and travel beside the
    /// [`CompanyDraft`] rather than inside it.
    pub fn sign_in(&self) -> SignInSettings {
        SignInSettings {
            sms_second_factor: self.sms_second_factor,
            email_is_login: self.email_is_login,
            password_in_email: self.password_in_email,
        }
    }
}

/// How the people of a company sign in and are invited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInSettings {
    /// People of this company confirm sign-in with an SMS code (M6).
    pub sms_second_factor: bool,
    /// People of this company sign in with their e-mail as the login (T4).
    pub email_is_login: bool,
    /// New people get their login and a generated password by e-mail,
    /// changed at first sign-in, instead of a link to set a password (T4, M6).
    pub password_in_email: bool,
}

/// A company card whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyDraft {
    pub name: String,
    pub short_id: Option<String>,
    pub account_number: Option<AccountNumber>,
    pub pbx_number: Option<String>,
    pub multichannel_number: Option<Phone>,
    pub phones: Vec<Phone>,
    pub region: Option<String>,
    pub macroregion: Option<String>,
    pub inns: Vec<Inn>,
    pub kpp: Option<Kpp>,
    pub ogrn: Option<Ogrn>,
    pub bik: Option<Bik>,
    pub bank: Option<String>,
    pub correspondent_account: Option<CorrespondentAccount>,
    pub settlement_account: Option<SettlementAccount>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub timezone: Option<Timezone>,
    pub max_dialogs_per_operator: i64,
    pub tariff: Option<String>,
    pub is_reseller: bool,
    pub credit_limit: Option<Money>,
    pub balance_threshold: Option<Money>,
    pub fz230_enabled: bool,
    pub parent_id: Option<i64>,
}

fn optional<T>(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<String>,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Option<T> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => errors.check(field, parse(value)),
    }
}

/// Parses a bank account that is keyed against the BIK. Without a BIK the
/// account cannot be checked, which is an error of its own unless the BIK
/// field itself was given and already reported as wrong.
fn bank_account<T>(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<String>,
    bik: Option<&Bik>,
    bik_missing: bool,
    parse: impl Fn(&str, &Bik) -> Result<T, &'static str>,
) -> Option<T> {
    match (raw.as_deref().map(str::trim), bik) {
        (None | Some(""), _) => None,
        (Some(value), Some(bik)) => errors.check(field, parse(value, bik)),
        (Some(_), None) => {
            if bik_missing {
                errors.push(field, "bik.required_for_accounts");
            }
            None
        }
    }
}

impl CompanyDraft {
    /// Checks every field of a client company and reports every problem at once.
    pub fn parse(raw: &RawCompany) -> Result<Self, Vec<FieldError>> {
        Self::parse_with(raw, true)
    }

    /// Checks the provider's own card, which may leave the INN empty.
    pub fn parse_provider(raw: &RawCompany) -> Result<Self, Vec<FieldError>> {
        Self::parse_with(raw, false)
    }

    fn parse_with(raw: &RawCompany, inn_required: bool) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let name = errors.check(
            "name",
            required_text(raw.name.as_deref().unwrap_or(""), NAME_MAX),
        );
        let text = |errors: &mut FieldErrors, field: &str, value: &Option<String>, max: usize| {
            errors
                .check(field, optional_text(value.as_deref(), max))
                .flatten()
        };
        let short_id = text(&mut errors, "short_id", &raw.short_id, 64);
        let pbx_number = text(&mut errors, "pbx_number", &raw.pbx_number, 64);
        let region = text(&mut errors, "region", &raw.region, SHORT_TEXT_MAX);
        let macroregion = text(&mut errors, "macroregion", &raw.macroregion, SHORT_TEXT_MAX);
        let bank = text(&mut errors, "bank", &raw.bank, SHORT_TEXT_MAX);
        let legal_address = text(
            &mut errors,
            "legal_address",
            &raw.legal_address,
            ADDRESS_MAX,
        );
        let postal_address = text(
            &mut errors,
            "postal_address",
            &raw.postal_address,
            ADDRESS_MAX,
        );
        let tariff = text(&mut errors, "tariff", &raw.tariff, SHORT_TEXT_MAX);

        let account_number = optional(
            &mut errors,
            "account_number",
            &raw.account_number,
            AccountNumber::parse,
        );
        let multichannel_number = optional(
            &mut errors,
            "multichannel_number",
            &raw.multichannel_number,
            Phone::parse,
        );
        let email = optional(&mut errors, "email", &raw.email, Email::parse);
        let phone = optional(&mut errors, "phone", &raw.phone, Phone::parse);
        let timezone = optional(&mut errors, "timezone", &raw.timezone, Timezone::parse);
        let kpp = optional(&mut errors, "kpp", &raw.kpp, Kpp::parse);
        let ogrn = optional(&mut errors, "ogrn", &raw.ogrn, Ogrn::parse);
        let bik = optional(&mut errors, "bik", &raw.bik, Bik::parse);
        let credit_limit = optional(&mut errors, "credit_limit", &raw.credit_limit, Money::parse);
        let balance_threshold = optional(
            &mut errors,
            "balance_threshold",
            &raw.balance_threshold,
            Money::parse,
        );

        let bik_missing = raw.bik.as_deref().map(str::trim).unwrap_or("").is_empty();
        let correspondent_account = bank_account(
            &mut errors,
            "correspondent_account",
            &raw.correspondent_account,
            bik.as_ref(),
            bik_missing,
            CorrespondentAccount::parse,
        );
        let settlement_account = bank_account(
            &mut errors,
            "settlement_account",
            &raw.settlement_account,
            bik.as_ref(),
            bik_missing,
            SettlementAccount::parse,
        );

        let mut inns = Vec::new();
        let inn_values: Vec<&str> = raw
            .inns
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if inn_values.is_empty() && inn_required {
            errors.push("inns", "inns.required");
        }
        if inn_values.len() > MAX_INNS {
            errors.push("inns", "inns.too_many");
        }
        for (index, value) in inn_values.iter().enumerate() {
            if let Some(inn) = errors.check(&format!("inns[{index}]"), Inn::parse(value)) {
                if inns.contains(&inn) {
                    errors.push(format!("inns[{index}]"), "inns.duplicate");
                } else {
                    inns.push(inn);
                }
            }
        }

        let mut phones = Vec::new();
        let phone_values: Vec<&str> = raw
            .phones
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if phone_values.len() > MAX_PHONES {
            errors.push("phones", "phones.too_many");
        }
        for (index, value) in phone_values.iter().enumerate() {
            if let Some(phone) = errors.check(&format!("phones[{index}]"), Phone::parse(value)) {
                if !phones.contains(&phone) {
                    phones.push(phone);
                }
            }
        }

        let max_dialogs_per_operator = raw
            .max_dialogs_per_operator
            .unwrap_or(DEFAULT_MAX_DIALOGS_PER_OPERATOR);
        if !(1..=1_000_000).contains(&max_dialogs_per_operator) {
            errors.push("max_dialogs_per_operator", "max_dialogs.range");
        }

        if !errors.is_empty() {
            return Err(errors.0);
        }
        let Some(name) = name else {
            return Err(vec![FieldError::new("name", "required")]);
        };
        Ok(Self {
            name,
            short_id,
            account_number,
            pbx_number,
            multichannel_number,
            phones,
            region,
            macroregion,
            inns,
            kpp,
            ogrn,
            bik,
            bank,
            correspondent_account,
            settlement_account,
            legal_address,
            postal_address,
            email,
            phone,
            timezone,
            max_dialogs_per_operator,
            tariff,
            is_reseller: raw.is_reseller,
            credit_limit,
            balance_threshold,
            fz230_enabled: raw.fz230_enabled,
            parent_id: raw.parent_id,
        })
    }

    /// The text the search index holds for this card: folded name and
    /// identifiers, phone numbers as bare digits, fields kept apart by ` | `
    /// so that a fragment never matches across two fields.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<String> = vec![search_fold(&self.name)];
        let mut push = |value: Option<&str>| {
            if let Some(value) = value {
                parts.push(search_fold(value));
            }
        };
        push(self.short_id.as_deref());
        push(self.account_number.as_ref().map(AccountNumber::as_str));
        push(self.pbx_number.as_deref());
        push(self.multichannel_number.as_ref().map(Phone::digits));
        push(self.phone.as_ref().map(Phone::digits));
        for phone in &self.phones {
            parts.push(phone.digits().to_string());
        }
        for inn in &self.inns {
            parts.push(inn.as_str().to_string());
        }
        parts.join(" | ").replace(['%', '_'], " ")
    }
}

/// Whether a tree path (`/1/`) is the root's: the provider, whose subtree
/// is the whole tree.
pub fn is_root_path(path: &str) -> bool {
    path.matches('/').count() <= 2
}

/// What the tree rules need to know of a would-be parent.
#[derive(Debug, Clone, Copy)]
pub struct ParentFacts {
    pub is_provider: bool,
    pub is_reseller: bool,
}

/// Company tree rules (T8): only the provider and resellers have children;
/// an affiliate (a reseller's child) may not have children, so a reseller
/// sits directly under the provider.
pub fn check_placement(parent: ParentFacts, child_is_reseller: bool) -> Result<(), &'static str> {
    if !parent.is_provider && !parent.is_reseller {
        return Err("parent.not_reseller");
    }
    if child_is_reseller && !parent.is_provider {
        return Err("reseller.must_be_under_provider");
    }
    Ok(())
}

/// A reseller flag may be removed only from a company without live children.
pub fn check_reseller_flag_change(
    was_reseller: bool,
    is_reseller: bool,
    live_children: i64,
) -> Result<(), &'static str> {
    if was_reseller && !is_reseller && live_children > 0 {
        return Err("reseller.has_children");
    }
    Ok(())
}

/// One word of a search query, folded like the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    /// Every word must occur in the search text.
    pub words: Vec<String>,
    /// A query that is a plain number may also be a company id.
    pub id: Option<i64>,
}

impl SearchTerms {
    /// Splits a query into words. A query made only of digits and phone
    /// punctuation (`+7 (495) 123-45`) becomes one word of its digits, so
    /// any way of writing a phone number finds it; one or two digits are
    /// taken as an id only.
    pub fn parse(query: &str) -> Option<Self> {
        let query = query.trim();
        if query.is_empty() {
            return None;
        }
        let phone_like = query
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c));
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let id = if phone_like && !digits.is_empty() {
            digits.parse().ok()
        } else {
            None
        };
        let words = if phone_like && digits.len() < 3 {
            // One or two digits are an id, not a useful fragment of a
            // number (and too short for the trigram index).
            Vec::new()
        } else if phone_like && !digits.is_empty() {
            vec![digits]
        } else {
            // Pattern characters and control characters (a NUL byte ends
            // a string in SQLite's full-text syntax and is refused by
            // PostgreSQL) separate words like spaces.
            search_fold(query)
                .replace(
                    |c: char| c.is_control() || matches!(c, '%' | '_' | '|'),
                    " ",
                )
                .split_whitespace()
                .take(8)
                .map(str::to_string)
                .collect()
        };
        if words.is_empty() && id.is_none() {
            return None;
        }
        Some(Self { words, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_raw() -> RawCompany {
        RawCompany {
            name: Some("  New Ways Company ".into()),
            inns: vec!["7707083893".into()],
            bik: Some("044525225".into()),
            correspondent_account: Some("30101810400000000225".into()),
            phones: vec!["+7 (495) 123-45-67".into(), "8 495 123 45 67".into()],
            ..RawCompany::default()
        }
    }

    #[test]
    fn a_valid_card_parses_and_normalises() {
        let draft = CompanyDraft::parse(&valid_raw()).unwrap();
        assert_eq!(draft.name, "New Ways Company");
        assert_eq!(
            draft.phones.len(),
            1,
            "the same number written twice is kept once"
        );
        assert_eq!(draft.max_dialogs_per_operator, 3000);
        let search = draft.search_text();
        assert!(
            search.contains("new ways company") && search.contains("74951234567"),
            "{search}"
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let raw = RawCompany {
            name: Some(" ".into()),
            inns: vec!["7707083894".into(), "123".into()],
            kpp: Some("77".into()),
            email: Some("nope".into()),
            settlement_account: Some("40702810938000012345".into()),
            timezone: Some("Moon/Base".into()),
            max_dialogs_per_operator: Some(0),
            ..RawCompany::default()
        };
        let errors = CompanyDraft::parse(&raw).unwrap_err();
        let pairs: Vec<(String, &str)> = errors.iter().map(|e| (e.field.clone(), e.code)).collect();
        for expected in [
            ("name", "required"),
            ("inns[0]", "inn.checksum"),
            ("inns[1]", "inn.length"),
            ("kpp", "kpp.format"),
            ("email", "email.invalid"),
            ("settlement_account", "bik.required_for_accounts"),
            ("timezone", "timezone.invalid"),
            ("max_dialogs_per_operator", "max_dialogs.range"),
        ] {
            assert!(
                pairs.contains(&(expected.0.to_string(), expected.1)),
                "missing {expected:?} in {pairs:?}"
            );
        }
    }

    #[test]
    fn tree_rules() {
        let provider = ParentFacts {
            is_provider: true,
            is_reseller: false,
        };
        let reseller = ParentFacts {
            is_provider: false,
            is_reseller: true,
        };
        let client = ParentFacts {
            is_provider: false,
            is_reseller: false,
        };
        assert_eq!(check_placement(provider, true), Ok(()));
        assert_eq!(check_placement(reseller, false), Ok(()));
        assert_eq!(
            check_placement(reseller, true),
            Err("reseller.must_be_under_provider")
        );
        assert_eq!(check_placement(client, false), Err("parent.not_reseller"));
        assert_eq!(
            check_reseller_flag_change(true, false, 2),
            Err("reseller.has_children")
        );
        assert_eq!(check_reseller_flag_change(true, false, 0), Ok(()));
    }

    #[test]
    fn search_terms() {
        let phone = SearchTerms::parse("+7 (495) 123-45").unwrap();
        assert_eq!(phone.words, vec!["749512345"]);
        let words = SearchTerms::parse("  Ways КОМП ").unwrap();
        assert_eq!(words.words, vec!["ways", "комп"]);
        assert_eq!(words.id, None);
        assert_eq!(
            SearchTerms::parse("42").unwrap(),
            SearchTerms {
                words: vec![],
                id: Some(42)
            }
        );
        assert_eq!(
            SearchTerms::parse("421").unwrap(),
            SearchTerms {
                words: vec!["421".into()],
                id: Some(421)
            }
        );
        assert_eq!(SearchTerms::parse("   "), None);
        assert_eq!(SearchTerms::parse("%%"), None);
    }
}
