//! Self-registration of a new company through a reseller's registration
//! link (T8): the few fields the public form asks for, parsed into a valid
//! company card and a valid first administrator at once, and the limit of
//! registrations per client address.

use crate::company::{CompanyDraft, RawCompany, SignInSettings};
use crate::error::FieldError;
use crate::user::{LoginRule, RawUser, UserDraft, UserKind};

/// At most this many registrations (and refused links) per client address
/// within [`WINDOW_MS`].
pub const PER_ADDRESS: i64 = 10;
/// The window the registrations of an address are counted in.
pub const WINDOW_MS: i64 = 60 * 60 * 1000;

/// How a registered company's people sign in: with their e-mail as the
/// login (T4), so the first admin's login is their address and needs no
/// choosing.
pub const SIGN_IN: SignInSettings = SignInSettings {
    sms_second_factor: false,
    email_is_login: true,
    password_in_email: false,
};

/// The registration form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRegistration {
    pub company_name: Option<String>,
    pub inn: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

/// A registration whose every field is valid: the card of the new company
/// (an affiliate of `reseller_id`) and its first administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationDraft {
    pub company: CompanyDraft,
    pub admin: UserDraft,
}

/// The form's name of a field the company or user parser reported.
fn form_field(field: &str) -> &str {
    match field {
        "name" => "company_name",
        f if f == "inns" || f.starts_with("inns[") => "inn",
        // The login is the e-mail (see [`SIGN_IN`]).
        "login" => "email",
        other => other,
    }
}

impl RegistrationDraft {
    /// Checks every field, by the same rules as the company card and the
    /// user card, and reports every problem at once under the form's field
    /// names (`company_name`, `inn`, `first_name`, `last_name`, `email`).
    pub fn parse(raw: &RawRegistration, reseller_id: i64) -> Result<Self, Vec<FieldError>> {
        let inn = raw.inn.as_deref().map(str::trim).filter(|i| !i.is_empty());
        let company = CompanyDraft::parse(&RawCompany {
            name: raw.company_name.clone(),
            inns: inn.map(str::to_string).into_iter().collect(),
            parent_id: Some(reseller_id),
            email_is_login: SIGN_IN.email_is_login,
            ..RawCompany::default()
        });
        let admin = UserDraft::parse_with(
            &RawUser {
                first_name: raw.first_name.clone(),
                last_name: raw.last_name.clone(),
                email: raw.email.clone(),
                kind: Some(UserKind::AccountAdmin.key().to_string()),
                may_open_admin_cabinet: true,
                ..RawUser::default()
            },
            LoginRule {
                email_is_login: SIGN_IN.email_is_login,
                current: None,
            },
        );
        match (company, admin) {
            (Ok(company), Ok(admin)) => Ok(Self { company, admin }),
            (company, admin) => {
                let mut errors: Vec<FieldError> = Vec::new();
                let reported = company.err().into_iter().chain(admin.err()).flatten();
                for error in reported {
                    let field = form_field(&error.field).to_string();
                    let code = match error.code {
                        "inns.required" => "required",
                        code => code,
                    };
                    if !errors.iter().any(|e| e.field == field) {
                        errors.push(FieldError::new(field, code));
                    }
                }
                Err(errors)
            }
        }
    }
}

/// Milliseconds an address must still wait before registering again, given
/// its registrations in the window and when the oldest of them was: none
/// below the limit, then until the oldest leaves the window.
pub fn wait(count: i64, oldest: Option<i64>, now: i64) -> i64 {
    match oldest {
        Some(oldest) if count >= PER_ADDRESS => (oldest + WINDOW_MS - now).max(1),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawRegistration {
        RawRegistration {
            company_name: Some(" Ромашка ".into()),
            inn: Some("7707083893".into()),
            first_name: Some("Анна".into()),
            last_name: Some("Смирнова".into()),
            email: Some("Anna@Romashka.Example".into()),
        }
    }

    #[test]
    fn a_registration_becomes_an_affiliate_and_its_admin() {
        let draft = RegistrationDraft::parse(&raw(), 7).unwrap();
        assert_eq!(draft.company.name, "Ромашка");
        assert_eq!(draft.company.parent_id, Some(7));
        assert!(!draft.company.is_reseller);
        assert_eq!(draft.company.inns[0].as_str(), "7707083893");
        assert_eq!(draft.admin.kind, UserKind::AccountAdmin);
        assert!(draft.admin.may_open_admin_cabinet);
        assert_eq!(draft.admin.login.as_str(), "anna@romashka.example");
    }

    #[test]
    fn every_bad_field_is_named_as_the_form_names_it() {
        let errors = RegistrationDraft::parse(
            &RawRegistration {
                company_name: Some("  ".into()),
                inn: Some("7707083894".into()),
                first_name: None,
                last_name: Some("Смирнова".into()),
                email: Some("not an address".into()),
            },
            7,
        )
        .unwrap_err();
        let pairs: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            pairs,
            vec![
                ("company_name", "required"),
                ("inn", "inn.checksum"),
                ("first_name", "required"),
                ("email", "email.invalid"),
            ]
        );
        let errors = RegistrationDraft::parse(&RawRegistration::default(), 7).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["company_name", "inn", "first_name", "last_name", "email"]
        );
        assert!(errors.iter().all(|e| e.code == "required"), "{errors:?}");
    }

    #[test]
    fn an_address_waits_once_it_registered_ten_times_in_an_hour() {
        assert_eq!(wait(0, None, 1000), 0);
        assert_eq!(wait(9, Some(0), 1000), 0);
        assert_eq!(wait(10, Some(0), 1000), WINDOW_MS - 1000);
        assert_eq!(wait(12, Some(500), 1000), WINDOW_MS - 500);
    }
}
