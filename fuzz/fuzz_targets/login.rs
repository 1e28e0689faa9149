//! Logins, e-mail addresses, the password policy and the user kind/status
//! keys, from any text.
//!
//! Properties: a login is 1 to 20 Latin letters and digits and parses back to
//! itself; an e-mail address has one `@`, at most 254 bytes and parses back to
//! itself (so a stored address is never refused when its card is saved
//! again); a password accepted by the policy is PASSWORD_MIN to PASSWORD_MAX (12 to 128) characters.
#![no_main]

use kabinet_domain::text::Email;
use kabinet_domain::user::{
    check_password, Login, UserKind, UserStatus, LOGIN_MAX, PASSWORD_MAX, PASSWORD_MIN,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(login) = Login::parse(raw) {
        let text = login.as_str();
        assert!(!text.is_empty() && text.len() <= LOGIN_MAX, "{text:?}");
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text:?}");
        assert_eq!(text, raw.trim());
        assert_eq!(Login::parse(text).as_ref(), Ok(&login));
        assert_eq!(login.folded(), text.to_ascii_lowercase());
    }

    if let Ok(email) = Email::parse(raw) {
        let text = email.as_str();
        assert!(text.len() <= 254, "{} bytes: {text:?}", text.len());
        assert_eq!(text.matches('@').count(), 1, "{text:?}");
        assert_eq!(
            Email::parse(text).as_ref(),
            Ok(&email),
            "{text:?} (from {raw:?}) does not parse back"
        );
        let login = Login::from_email(&email);
        assert_eq!(login.as_str(), text.to_lowercase());
    }

    if check_password(raw).is_ok() {
        let length = raw.chars().count();
        assert!((PASSWORD_MIN..=PASSWORD_MAX).contains(&length), "{length}");
    }

    if let Ok(kind) = UserKind::parse(raw) {
        assert_eq!(UserKind::parse(kind.key()), Ok(kind));
    }
    if let Ok(status) = UserStatus::parse(raw) {
        assert_eq!(UserStatus::parse(status.key()), Ok(status));
    }
});
