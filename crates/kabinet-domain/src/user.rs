//! People: the user card, login rules and the password policy.

use crate::error::{FieldError, FieldErrors};
use crate::text::{optional_text, required_text, search_fold, Email, Phone};

/// Login length limit (M6, B5).
pub const LOGIN_MAX: usize = 20;
/// Shortest password accepted, counted with each run of spaces as one
/// character (OWASP ASVS 4.0.3 2.1.1; NIST SP 800-63B asks at least 8).
pub const PASSWORD_MIN: usize = 12;
/// Longest password accepted: at least 64 must be allowed and more than 128
/// refused (ASVS 2.1.2). A password is never cut to fit (2.1.3).
pub const PASSWORD_MAX: usize = 128;

/// What kind of person a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// The provider's own staff.
    Staff,
    /// An ordinary user of a client company.
    ClientUser,
    /// A client company's account administrator (signs in by account number, L1).
    AccountAdmin,
    /// The administrator of a group company (M6).
    GroupAdmin,
}

impl UserKind {
    pub const ALL: [UserKind; 4] = [
        UserKind::Staff,
        UserKind::ClientUser,
        UserKind::AccountAdmin,
        UserKind::GroupAdmin,
    ];

    pub fn key(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::ClientUser => "client_user",
            UserKind::AccountAdmin => "account_admin",
            UserKind::GroupAdmin => "group_admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|k| k.key() == raw.trim())
            .ok_or("kind.invalid")
    }
}

/// A person's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Blocked,
}

impl UserStatus {
    pub fn key(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Blocked => "blocked",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "active" => Ok(UserStatus::Active),
            "blocked" => Ok(UserStatus::Blocked),
            _ => Err("status.invalid"),
        }
    }
}

/// A login: Latin letters and digits, at most 20 characters (M6, B5).
/// Logins are unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login(String);

impl Login {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("required");
        }
        if value.chars().count() > LOGIN_MAX {
            return Err("login.too_long");
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("login.characters");
        }
        Ok(Self(value.to_string()))
    }

    /// The login of a person whose company signs its people in by e-mail
    /// (T4): the address itself, lower-cased. The rule of chosen logins
    /// (Latin letters and digits, at most 20) does not apply; the address
    /// rules do (a valid address of at most 254 characters).
    pub fn from_email(email: &Email) -> Self {
        Self(email.as_str().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Passwords that are refused whatever their length: the most common
/// choices and their obvious variants (NIST SP 800-63B 5.1.1.2). The list
/// ships in the binary.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks a new password against the policy: length only, no composition
/// rules (ASVS 2.1.9), and not a commonly used password (2.1.7). Which rule
/// failed is told in that order of usefulness: too long, too common, too
/// short ("password" is refused as common, not as short).
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() > PASSWORD_MAX {
        return Err("password.too_long");
    }
    if is_common_password(password) {
        return Err("password.common");
    }
    if password_length(password) < PASSWORD_MIN {
        return Err("password.too_short");
    }
    Ok(())
}

/// The length the minimum applies to: characters, with each run of
/// whitespace counted once (ASVS 2.1.1), so twelve spaces are not twelve
/// characters. The password itself is stored and checked as typed.
pub fn password_length(password: &str) -> usize {
    let mut length = 0;
    let mut in_space = false;
    for c in password.chars() {
        let space = c.is_whitespace();
        if !(space && in_space) {
            length += 1;
        }
        in_space = space;
    }
    length
}

/// Whether a password is one people commonly choose: in the shipped list,
/// a listed one with digits or symbols added around it (`password2024!`),
/// one short piece repeated (`abcabcabcabc`, `123123123123`), or a straight
/// run of the alphabet or the digits (`abcdefghijkl`, `123456789012`).
/// Letters are compared lower-cased.
pub fn is_common_password(password: &str) -> bool {
    let folded = password.to_lowercase();
    let listed = |candidate: &str| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .any(|common| !common.is_empty() && common == candidate)
    };
    if listed(&folded) {
        return true;
    }
    let core = folded.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    if !core.is_empty() && core != folded && listed(core) {
        return true;
    }
    let chars: Vec<char> = folded.chars().collect();
    repeats_one_piece(&chars) || is_straight_run(&chars)
}

/// `abcabcabc`, `1111`: the whole text is one shorter piece repeated.
fn repeats_one_piece(chars: &[char]) -> bool {
    let n = chars.len();
    (1..=n / 2)
        .filter(|unit| n.is_multiple_of(*unit))
        .any(|unit| chars.chunks(unit).all(|piece| piece == &chars[..unit]))
}

/// `abcdef`, `987654`, `1234567890`: each character follows the one before
/// it (or precedes it) in the alphabet or among the digits, `0` after `9`.
fn is_straight_run(chars: &[char]) -> bool {
    fn place(c: char) -> Option<(u8, i32, i32)> {
        match c {
            '0'..='9' => Some((0, c as i32 - '0' as i32, 10)),
            'a'..='z' => Some((1, c as i32 - 'a' as i32, 26)),
            'а'..='я' => Some((2, c as i32 - 'а' as i32, 32)),
            _ => None,
        }
    }
    if chars.len() < 3 {
        return false;
    }
    let Some(places) = chars.iter().map(|c| place(*c)).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let steps: Vec<Option<i32>> = places
        .windows(2)
        .map(|w| (w[0].0 == w[1].0).then(|| (w[1].1 - w[0].1).rem_euclid(w[0].2)))
        .collect();
    let size = places[0].2;
    steps.iter().all(|s| *s == Some(1)) || steps.iter().all(|s| *s == Some(size - 1))
}

/// A user card as typed: every field optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawUser {
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
    pub may_open_admin_cabinet: bool,
    pub chat_enabled: bool,
    pub status: Option<String>,
}

/// How the login of a card is formed and checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginRule<'a> {
    /// The home company signs its people in by e-mail (T4): the e-mail is
    /// required and the login is the e-mail, lower-cased. A login given in
    /// the card must be that address (in any case) or left empty.
    pub email_is_login: bool,
    /// On an edit, the login stored now. A card that repeats it is not
    /// changing the login: a chosen login is kept even if it predates the
    /// current rules (a company that stopped signing in by e-mail), and with
    /// `email_is_login` it counts as not given, so a changed e-mail changes
    /// the login with it.
    pub current: Option<&'a str>,
}

/// A user card whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    pub login: Login,
    pub first_name: String,
    pub last_name: String,
    pub patronymic: Option<String>,
    pub full_name_ru: Option<String>,
    pub full_name_en: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub mobile_phone: Option<Phone>,
    pub position: Option<String>,
    pub kind: UserKind,
    pub may_open_admin_cabinet: bool,
    pub chat_enabled: bool,
    pub status: UserStatus,
}

const NAME_MAX: usize = 100;

impl UserDraft {
    /// Checks every field of a new card with chosen logins and reports every
    /// problem at once.
    pub fn parse(raw: &RawUser) -> Result<Self, Vec<FieldError>> {
        Self::parse_with(raw, LoginRule::default())
    }

    /// Checks every field, the login by `rule`, and reports every problem
    /// at once.
    pub fn parse_with(raw: &RawUser, rule: LoginRule<'_>) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let given_login = raw
            .login
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty());
        let repeats_current = given_login.is_some() && given_login == rule.current;
        let mut login = match (rule.email_is_login, repeats_current, given_login) {
            // Formed from the e-mail below.
            (true, _, _) => None,
            (false, true, Some(kept)) => Some(Login(kept.to_string())),
            (false, _, _) => errors.check("login", Login::parse(given_login.unwrap_or(""))),
        };
        let first_name = errors.check(
            "first_name",
            required_text(raw.first_name.as_deref().unwrap_or(""), NAME_MAX),
        );
        let last_name = errors.check(
            "last_name",
            required_text(raw.last_name.as_deref().unwrap_or(""), NAME_MAX),
        );
        let text = |errors: &mut FieldErrors, field: &str, value: &Option<String>, max: usize| {
            errors
                .check(field, optional_text(value.as_deref(), max))
                .flatten()
        };
        let patronymic = text(&mut errors, "patronymic", &raw.patronymic, NAME_MAX);
        let full_name_ru = text(&mut errors, "full_name_ru", &raw.full_name_ru, 300);
        let full_name_en = text(&mut errors, "full_name_en", &raw.full_name_en, 300);
        let position = text(&mut errors, "position", &raw.position, 200);
        let email_given = raw
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let email = match email_given {
            None => None,
            Some(value) => errors.check("email", Email::parse(value)),
        };
        if rule.email_is_login {
            match (&email, email_given) {
                (Some(email), _) => {
                    let from_email = Login::from_email(email);
                    match given_login {
                        Some(given)
                            if !repeats_current && given.to_lowercase() != from_email.as_str() =>
                        {
                            errors.push("login", "login.must_be_email");
                        }
                        _ => login = Some(from_email),
                    }
                }
                // Not given: required. Given but wrong: already reported.
                (None, None) => errors.push("email", "required"),
                (None, Some(_)) => {}
            }
        }
        let phone_of = |errors: &mut FieldErrors, field: &str, value: &Option<String>| match value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(v) => errors.check(field, Phone::parse(v)),
        };
        let phone = phone_of(&mut errors, "phone", &raw.phone);
        let mobile_phone = phone_of(&mut errors, "mobile_phone", &raw.mobile_phone);
        let kind = match raw.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => Some(UserKind::ClientUser),
            Some(value) => errors.check("kind", UserKind::parse(value)),
        };
        let status = match raw
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(UserStatus::Active),
            Some(value) => errors.check("status", UserStatus::parse(value)),
        };
        if !errors.is_empty() {
            return Err(errors.0);
        }
        let (Some(login), Some(first_name), Some(last_name), Some(kind), Some(status)) =
            (login, first_name, last_name, kind, status)
        else {
            return Err(errors.0);
        };
        Ok(Self {
            login,
            first_name,
            last_name,
            patronymic,
            full_name_ru,
            full_name_en,
            email,
            phone,
            mobile_phone,
            position,
            kind,
            may_open_admin_cabinet: raw.may_open_admin_cabinet,
            chat_enabled: raw.chat_enabled,
            status,
        })
    }

    /// The name people see: "Last First Patronymic".
    pub fn display_name(&self) -> String {
        [
            Some(self.last_name.as_str()),
            Some(self.first_name.as_str()),
            self.patronymic.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// What user search matches: names, login, e-mail and phone digits.
    pub fn search_text(&self) -> String {
        let mut parts = vec![self.display_name(), self.login.as_str().to_string()];
        parts.extend(self.full_name_ru.clone());
        parts.extend(self.full_name_en.clone());
        parts.extend(self.email.as_ref().map(|e| e.as_str().to_string()));
        for phone in [&self.phone, &self.mobile_phone].into_iter().flatten() {
            parts.push(phone.digits().to_string());
            if let Some(national) = phone.digits().strip_prefix('7') {
                parts.push(format!("8{national}"));
            }
        }
        parts.extend(self.position.clone());
        search_fold(&parts.join(" | ")).replace(['%', '_'], " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_rules() {
        assert_eq!(Login::parse(" ivanov2 ").unwrap().as_str(), "ivanov2");
        assert_eq!(Login::parse("Ivanov").unwrap().folded(), "ivanov");
        assert_eq!(Login::parse(""), Err("required"));
        assert_eq!(Login::parse("ivan.ov"), Err("login.characters"));
        assert_eq!(Login::parse("иванов"), Err("login.characters"));
        assert_eq!(Login::parse("a b"), Err("login.characters"));
        assert_eq!(Login::parse("abcdefghijklmnopqrstu"), Err("login.too_long"));
        assert!(Login::parse("abcdefghijklmnopqrst").is_ok());
    }

    #[test]
    fn password_policy() {
        assert_eq!(check_password("short1"), Err("password.too_short"));
        assert_eq!(check_password("password"), Err("password.common"));
        assert_eq!(check_password("Qwerty123"), Err("password.common"));
        assert_eq!(check_password("aaaaaaaaaaaa"), Err("password.common"));
        assert!(
            check_password("correct horse battery staple").is_ok(),
            "no composition rules"
        );
        assert!(
            check_password(
                &"x".repeat(63)
                    .chars()
                    .chain("y".chars())
                    .collect::<String>()
            )
            .is_ok(),
            "64 characters are allowed"
        );
        assert_eq!(check_password(&"ab".repeat(129)), Err("password.too_long"));
        assert!(check_password("пароль-из-слов").is_ok(), "any characters");
    }

    #[test]
    fn twelve_characters_at_least_with_runs_of_spaces_counted_once() {
        assert_eq!(check_password("eleven char"), Err("password.too_short"));
        assert!(check_password("twelve chars").is_ok());
        assert_eq!(password_length("a    b"), 3);
        assert_eq!(
            check_password("lamp      oak"),
            Err("password.too_short"),
            "eight characters and a run of spaces"
        );
        assert!(
            check_password("🔑🔑🌲🌲🐟🐟🌙🌙🚲🚲⛵⛵").is_ok(),
            "twelve emoji"
        );
    }

    #[test]
    fn at_most_128_characters() {
        let long = |n: usize| -> String {
            "correct horse battery staple "
                .chars()
                .cycle()
                .take(n)
                .collect()
        };
        assert!(check_password(&long(64)).is_ok());
        assert!(check_password(&long(128)).is_ok());
        assert_eq!(check_password(&long(129)), Err("password.too_long"));
    }

    #[test]
    fn common_passwords_and_their_obvious_variants_are_refused() {
        for common in [
            "password1234",
            "Password2025!",
            "!!qwerty123456",
            "administrator",
            "qwertyuiopasdfghjkl",
            "1q2w3e4r5t6y",
            "abcabcabcabc",
            "123123123123",
            "qwertyqwerty",
            "abcdefghijklm",
            "123456789012",
            "0987654321098",
            "абвгдежзийкл",
        ] {
            assert_eq!(check_password(common), Err("password.common"), "{common}");
        }
        for fine in [
            "purple monkey dishwasher",
            "my cat likes 7 sardines",
            "zx81 spectrum c64 amiga",
            "abcdefghijk lmnop quiet",
        ] {
            assert!(check_password(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let raw = RawUser {
            login: Some("bad login".into()),
            email: Some("nope".into()),
            mobile_phone: Some("12".into()),
            kind: Some("king".into()),
            ..RawUser::default()
        };
        let errors = UserDraft::parse(&raw).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "login",
                "first_name",
                "last_name",
                "email",
                "mobile_phone",
                "kind"
            ]
        );
    }

    fn card(login: Option<&str>, email: Option<&str>) -> RawUser {
        RawUser {
            login: login.map(String::from),
            email: email.map(String::from),
            first_name: Some("Анна".into()),
            last_name: Some("Смирнова".into()),
            ..RawUser::default()
        }
    }

    fn codes(errors: Vec<FieldError>) -> Vec<(String, &'static str)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn where_the_email_is_the_login() {
        let rule = LoginRule {
            email_is_login: true,
            current: None,
        };
        let draft =
            UserDraft::parse_with(&card(None, Some(" Anna.Smirnova@Example.RU ")), rule).unwrap();
        assert_eq!(draft.login.as_str(), "anna.smirnova@example.ru");
        assert_eq!(
            draft.email.unwrap().as_str(),
            "Anna.Smirnova@example.ru",
            "the address itself keeps its case"
        );
        let same = card(
            Some("ANNA.SMIRNOVA@example.ru"),
            Some("anna.smirnova@example.ru"),
        );
        assert!(
            UserDraft::parse_with(&same, rule).is_ok(),
            "the same address in any case"
        );
        assert_eq!(
            codes(UserDraft::parse_with(&card(None, None), rule).unwrap_err()),
            vec![("email".to_string(), "required")]
        );
        assert_eq!(
            codes(
                UserDraft::parse_with(&card(Some("anna"), Some("a@example.ru")), rule).unwrap_err()
            ),
            vec![("login".to_string(), "login.must_be_email")]
        );
        assert_eq!(
            codes(UserDraft::parse_with(&card(Some("anna"), Some("nope")), rule).unwrap_err()),
            vec![("email".to_string(), "email.invalid")],
            "a wrong address is reported once, on the address"
        );
        let long = format!("{}@{}.ru", "a".repeat(64), "b".repeat(180));
        assert!(long.len() > LOGIN_MAX && long.len() <= 254);
        assert_eq!(
            UserDraft::parse_with(&card(None, Some(&long)), rule)
                .unwrap()
                .login
                .as_str(),
            long,
            "the 20-character rule of chosen logins does not apply"
        );
        let too_long = format!("{}@{}.ru", "a".repeat(64), "b".repeat(200).repeat(2));
        assert_eq!(
            codes(UserDraft::parse_with(&card(None, Some(&too_long)), rule).unwrap_err()),
            vec![("email".to_string(), "email.too_long")]
        );
    }

    #[test]
    fn an_edit_that_repeats_the_stored_login_does_not_change_it() {
        let email_rule = LoginRule {
            email_is_login: true,
            current: Some("old@example.ru"),
        };
        let moved = card(Some("old@example.ru"), Some("new@example.ru"));
        assert_eq!(
            UserDraft::parse_with(&moved, email_rule)
                .unwrap()
                .login
                .as_str(),
            "new@example.ru",
            "a new address is the new login"
        );
        let chosen_rule = LoginRule {
            email_is_login: false,
            current: Some("old@example.ru"),
        };
        assert_eq!(
            UserDraft::parse_with(&moved, chosen_rule)
                .unwrap()
                .login
                .as_str(),
            "old@example.ru",
            "an e-mail login stays when the company stops signing in by e-mail"
        );
        assert_eq!(
            codes(
                UserDraft::parse_with(&card(Some("other@example.ru"), None), chosen_rule)
                    .unwrap_err()
            ),
            vec![("login".to_string(), "login.characters")],
            "a changed login follows the rules"
        );
    }

    #[test]
    fn a_valid_card_parses_and_is_searchable() {
        let raw = RawUser {
            login: Some("ipetrov".into()),
            first_name: Some("Иван".into()),
            last_name: Some("Петров".into()),
            patronymic: Some("Сергеевич".into()),
            email: Some("Ivan@Example.RU".into()),
            mobile_phone: Some("8 (916) 123-45-67".into()),
            kind: Some("account_admin".into()),
            ..RawUser::default()
        };
        let draft = UserDraft::parse(&raw).unwrap();
        assert_eq!(draft.display_name(), "Петров Иван Сергеевич");
        assert_eq!(draft.kind, UserKind::AccountAdmin);
        assert_eq!(draft.status, UserStatus::Active);
        let text = draft.search_text();
        for needle in [
            "петров",
            "ipetrov",
            "ivan@example.ru",
            "79161234567",
            "89161234567",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }
}
