//! Phone numbers in the forms people type them.
//!
//! Properties: a number that parses is E.164 (`+`, 8 to 15 digits, no leading
//! zero, Russian numbers 11 digits) and both its E.164 form and its display
//! form parse back to the same number.
#![no_main]

use kabinet_domain::text::Phone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(phone) = Phone::parse(raw) else {
        return;
    };
    let e164 = phone.as_str();
    let digits = phone.digits();
    assert_eq!(e164, format!("+{digits}"));
    assert!((8..=15).contains(&digits.len()), "{e164:?}");
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{e164:?}");
    assert!(!digits.starts_with('0'), "{e164:?}");
    if digits.starts_with('7') {
        assert_eq!(digits.len(), 11, "{e164:?}");
    }
    assert_eq!(Phone::parse(e164).as_ref(), Ok(&phone), "E.164 form");
    let shown = phone.to_string();
    assert_eq!(
        Phone::parse(&shown).as_ref(),
        Ok(&phone),
        "display form {shown:?}"
    );
});
