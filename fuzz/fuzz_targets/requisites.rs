//! INN, KPP, OGRN/OGRNIP, BIK, correspondent and settlement accounts and the
//! billing account number, from any text.
//!
//! Properties: a value that parses has the documented shape and parses again
//! to itself; a bank account that checks against a BIK does so again.
//! Input: the whole text goes to every parser; when it holds a line break,
//! the first line is also tried as a BIK and the rest as accounts keyed to it.
#![no_main]

use kabinet_domain::requisites::{
    AccountNumber, Bik, CorrespondentAccount, Inn, Kpp, Ogrn, SettlementAccount,
};
use libfuzzer_sys::fuzz_target;

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn accounts(raw: &str, bik: &Bik) {
    if let Ok(account) = CorrespondentAccount::parse(raw, bik) {
        let text = account.as_str();
        assert!(text.len() == 20 && all_digits(text) && text.starts_with("301"));
        assert_eq!(
            CorrespondentAccount::parse(text, bik).as_ref(),
            Ok(&account)
        );
    }
    if let Ok(account) = SettlementAccount::parse(raw, bik) {
        let text = account.as_str();
        assert!(text.len() == 20 && all_digits(text));
        assert_eq!(SettlementAccount::parse(text, bik).as_ref(), Ok(&account));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(inn) = Inn::parse(raw) {
        let text = inn.as_str();
        assert!(
            matches!(text.len(), 10 | 12) && all_digits(text),
            "{text:?}"
        );
        assert_eq!(Inn::parse(text).as_ref(), Ok(&inn));
        assert_eq!(inn.to_string(), text);
    }

    if let Ok(kpp) = Kpp::parse(raw) {
        let text = kpp.as_str();
        let b = text.as_bytes();
        assert!(
            b.len() == 9
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4..6]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                && b[6..].iter().all(u8::is_ascii_digit),
            "{text:?}"
        );
        // The stored value is what was typed, trimmed and upper-cased: no
        // other character may turn into a valid KPP.
        assert_eq!(text, raw.trim().to_ascii_uppercase(), "from {raw:?}");
        assert_eq!(Kpp::parse(text).as_ref(), Ok(&kpp));
    }

    if let Ok(ogrn) = Ogrn::parse(raw) {
        let text = ogrn.as_str();
        assert!(
            matches!(text.len(), 13 | 15) && all_digits(text),
            "{text:?}"
        );
        assert_eq!(Ogrn::parse(text).as_ref(), Ok(&ogrn));
    }

    if let Ok(number) = AccountNumber::parse(raw) {
        let text = number.as_str();
        assert!(!text.is_empty() && text.len() <= 32);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(AccountNumber::parse(text).as_ref(), Ok(&number));
    }

    if let Ok(bik) = Bik::parse(raw) {
        let text = bik.as_str();
        assert!(text.len() == 9 && all_digits(text) && text.starts_with('0'));
        assert_eq!(Bik::parse(text).as_ref(), Ok(&bik));
    }

    let sberbank = Bik::parse("044525225").expect("a valid BIK");
    accounts(raw, &sberbank);
    if let Some((bik, rest)) = raw.split_once('\n') {
        if let Ok(bik) = Bik::parse(bik) {
            accounts(rest, &bik);
        }
    }
});
