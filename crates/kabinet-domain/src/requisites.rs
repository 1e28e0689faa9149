//! Russian tax and bank requisites with their control digits.
//!
//! References: INN control digits (order of the Federal Tax Service), OGRN /
//! OGRNIP control digit, and the Bank of Russia key of account numbers
//! (weights 7-1-3 over the BIK part and the 20-digit account).

use std::fmt;

fn digits_of(raw: &str) -> Option<Vec<u32>> {
    raw.chars().map(|c| c.to_digit(10)).collect()
}

fn weighted_sum(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

const INN10_WEIGHTS: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn inn_check(digits: &[u32], weights: &[u32]) -> u32 {
    weighted_sum(digits, weights) % 11 % 10
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A taxpayer number: 10 digits for organisations, 12 for individuals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inn(String);
string_newtype!(Inn);

impl Inn {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        let digits = digits_of(value).ok_or("inn.digits")?;
        match digits.len() {
            10 => {
                if inn_check(&digits[..9], &INN10_WEIGHTS) != digits[9] {
                    return Err("inn.checksum");
                }
            }
            12 => {
                if inn_check(&digits[..10], &INN12_WEIGHTS_11) != digits[10]
                    || inn_check(&digits[..11], &INN12_WEIGHTS_12) != digits[11]
                {
                    return Err("inn.checksum");
                }
            }
            _ => return Err("inn.length"),
        }
        Ok(Self(value.to_string()))
    }

    /// Completes nine leading digits into a valid 10-digit INN (used by the demo data).
    pub fn complete_legal_entity(first_nine: [u32; 9]) -> Self {
        let check = inn_check(&first_nine, &INN10_WEIGHTS);
        let mut text: String = first_nine
            .iter()
            .map(|d| char::from(b'0' + *d as u8))
            .collect();
        text.push(char::from(b'0' + check as u8));
        Self(text)
    }
}

/// A tax registration reason code: `NNNNPPNNN`, where `PP` is digits or capital Latin letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kpp(String);
string_newtype!(Kpp);

impl Kpp {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // ASCII only: a full Unicode upper-casing would turn `ß` into `SS`
        // and accept text that is not a KPP (found by fuzz/ target requisites).
        let value = raw.trim().to_ascii_uppercase();
        let bytes = value.as_bytes();
        let ok = bytes.len() == 9
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[4..6]
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            && bytes[6..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(Self(value))
        } else {
            Err("kpp.format")
        }
    }
}

/// A state registration number: OGRN (13 digits) or OGRNIP (15 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ogrn(String);
string_newtype!(Ogrn);

impl Ogrn {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err("ogrn.digits");
        }
        let (body, divisor) = match value.len() {
            13 => (&value[..12], 11u64),
            15 => (&value[..14], 13u64),
            _ => return Err("ogrn.length"),
        };
        let number: u64 = body.parse().map_err(|_| "ogrn.digits")?;
        let expected = (number % divisor % 10) as u8;
        if value.as_bytes()[value.len() - 1] - b'0' != expected {
            return Err("ogrn.checksum");
        }
        Ok(Self(value.to_string()))
    }
}

/// A Russian bank identification code: nine digits starting with `0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bik(String);
string_newtype!(Bik);

impl Bik {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.len() != 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err("bik.format");
        }
        if !value.starts_with('0') {
            return Err("bik.format");
        }
        Ok(Self(value.to_string()))
    }

    /// The part of the BIK that keys a correspondent account: `0` and digits 5–6.
    fn correspondent_key_prefix(&self) -> String {
        format!("0{}", &self.0[4..6])
    }

    /// The part of the BIK that keys a settlement account: its last three digits.
    fn settlement_key_prefix(&self) -> String {
        self.0[6..9].to_string()
    }
}

const ACCOUNT_WEIGHTS: [u32; 3] = [7, 1, 3];

fn account_key_ok(prefix: &str, account: &str) -> bool {
    let Some(digits) = digits_of(&format!("{prefix}{account}")) else {
        return false;
    };
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| d * ACCOUNT_WEIGHTS[i % 3])
        .sum();
    sum.is_multiple_of(10)
}

/// Sets the control key (the ninth digit) of a 20-digit account so that it
/// checks against `prefix`; used by the demo data generator.
fn with_account_key(prefix: &str, account: &str) -> String {
    let mut bytes = account.as_bytes().to_vec();
    for key in b'0'..=b'9' {
        bytes[8] = key;
        let candidate = String::from_utf8_lossy(&bytes).into_owned();
        if account_key_ok(prefix, &candidate) {
            return candidate;
        }
    }
    account.to_string()
}

fn parse_account(raw: &str, code_prefix: &'static str) -> Result<String, &'static str> {
    let value: String = raw.trim().chars().filter(|c| !c.is_whitespace()).collect();
    if value.len() != 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_prefix);
    }
    Ok(value)
}

/// A bank's correspondent account with the Bank of Russia (20 digits, starts with 301).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrespondentAccount(String);
string_newtype!(CorrespondentAccount);

impl CorrespondentAccount {
    pub fn parse(raw: &str, bik: &Bik) -> Result<Self, &'static str> {
        let value = parse_account(raw, "correspondent_account.format")?;
        if !value.starts_with("301") {
            return Err("correspondent_account.format");
        }
        if !account_key_ok(&bik.correspondent_key_prefix(), &value) {
            return Err("correspondent_account.key");
        }
        Ok(Self(value))
    }

    pub fn generate(bik: &Bik, account_without_key: &str) -> Self {
        Self(with_account_key(
            &bik.correspondent_key_prefix(),
            account_without_key,
        ))
    }
}

/// A client's settlement account in a bank (20 digits), keyed against the bank's BIK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementAccount(String);
string_newtype!(SettlementAccount);

impl SettlementAccount {
    pub fn parse(raw: &str, bik: &Bik) -> Result<Self, &'static str> {
        let value = parse_account(raw, "settlement_account.format")?;
        if !account_key_ok(&bik.settlement_key_prefix(), &value) {
            return Err("settlement_account.key");
        }
        Ok(Self(value))
    }

    pub fn generate(bik: &Bik, account_without_key: &str) -> Self {
        Self(with_account_key(
            &bik.settlement_key_prefix(),
            account_without_key,
        ))
    }
}

/// A company's billing account number (лицевой счёт): 1–32 Latin letters, digits or dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountNumber(String);
string_newtype!(AccountNumber);

impl AccountNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err("account_number.format")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Real, public requisites of large Russian companies.
    const SBERBANK_INN: &str = "7707083893";
    const YANDEX_INN: &str = "7736207543";
    const SBERBANK_OGRN: &str = "1027700132195";
    const SBERBANK_BIK: &str = "044525225";
    const SBERBANK_CORRESPONDENT: &str = "30101810400000000225";

    #[test]
    fn known_real_inns_are_valid() {
        for inn in [SBERBANK_INN, YANDEX_INN, "7702070139", "500100732259"] {
            assert!(Inn::parse(inn).is_ok(), "{inn}");
        }
    }

    #[test]
    fn hand_made_invalid_inns_are_refused_with_reason() {
        assert_eq!(Inn::parse("7707083894"), Err("inn.checksum"));
        assert_eq!(Inn::parse("500100732258"), Err("inn.checksum"));
        assert_eq!(Inn::parse("500100732249"), Err("inn.checksum"));
        assert_eq!(Inn::parse("770708389"), Err("inn.length"));
        assert_eq!(Inn::parse("77070838930"), Err("inn.length"));
        assert_eq!(Inn::parse("77070838a3"), Err("inn.digits"));
        assert_eq!(Inn::parse(""), Err("inn.length"));
    }

    #[test]
    fn kpp_format() {
        assert!(Kpp::parse("773601001").is_ok());
        assert!(Kpp::parse("7736AB001").is_ok());
        assert_eq!(Kpp::parse("77360100"), Err("kpp.format"));
        assert_eq!(Kpp::parse("7736-1001"), Err("kpp.format"));
        assert_eq!(Kpp::parse("77360100Z"), Err("kpp.format"));
    }

    #[test]
    fn kpp_letters_are_latin_only_even_when_upper_casing_would_make_them_so() {
        // `ß` upper-cases to `SS`, `ı` to `I`, `ﬀ` to `FF` (found by fuzzing).
        assert_eq!(Kpp::parse("0097ß602"), Err("kpp.format"));
        assert_eq!(Kpp::parse("7736ıı001"), Err("kpp.format"));
        assert_eq!(Kpp::parse("7736ﬀ001"), Err("kpp.format"));
        assert_eq!(
            Kpp::parse(" 7736ab001 ").map(|k| k.0),
            Ok("7736AB001".into())
        );
    }

    #[test]
    fn ogrn_and_ogrnip() {
        assert!(Ogrn::parse(SBERBANK_OGRN).is_ok());
        assert!(Ogrn::parse("1027739609391").is_ok());
        assert!(Ogrn::parse("304500116000157").is_ok());
        assert_eq!(Ogrn::parse("1027700132196"), Err("ogrn.checksum"));
        assert_eq!(Ogrn::parse("304500116000158"), Err("ogrn.checksum"));
        assert_eq!(Ogrn::parse("10277001321"), Err("ogrn.length"));
        assert_eq!(Ogrn::parse("10277001321x5"), Err("ogrn.digits"));
    }

    #[test]
    fn bank_accounts_check_against_bik() {
        let bik = Bik::parse(SBERBANK_BIK).unwrap();
        assert!(CorrespondentAccount::parse(SBERBANK_CORRESPONDENT, &bik).is_ok());
        assert_eq!(
            CorrespondentAccount::parse("30101810400000000226", &bik),
            Err("correspondent_account.key")
        );
        let generated = SettlementAccount::generate(&bik, "40702810000000012345");
        assert!(SettlementAccount::parse(generated.as_str(), &bik).is_ok());
        let other_bik = Bik::parse("044525593").unwrap();
        assert_eq!(
            SettlementAccount::parse(generated.as_str(), &other_bik),
            Err("settlement_account.key")
        );
        assert_eq!(Bik::parse("44525225"), Err("bik.format"));
        assert_eq!(Bik::parse("144525225"), Err("bik.format"));
    }

    proptest! {
        #[test]
        fn completed_inns_parse_and_one_changed_digit_breaks_them(
            digits in proptest::array::uniform9(0u32..10),
            position in 0usize..9,
            delta in 1u32..10,
        ) {
            let inn = Inn::complete_legal_entity(digits);
            prop_assert!(Inn::parse(inn.as_str()).is_ok());
            let mut changed = digits;
            changed[position] = (changed[position] + delta) % 10;
            let mut text: String = changed.iter().map(|d| char::from(b'0' + *d as u8)).collect();
            text.push_str(&inn.as_str()[9..]);
            // Weights 2..10 are all non-zero modulo 11, so a changed digit moves the
            // remainder; only the `% 10` step can fold remainder 10 onto 0.
            let original_rem = weighted_sum(&digits, &INN10_WEIGHTS) % 11;
            let changed_rem = weighted_sum(&changed, &INN10_WEIGHTS) % 11;
            if original_rem % 10 != changed_rem % 10 {
                prop_assert_eq!(Inn::parse(&text), Err("inn.checksum"));
            }
        }

        #[test]
        fn generated_accounts_always_check(bik_tail in 0u32..1_000_000, body in 0u64..100_000_000_000u64) {
            let bik = Bik::parse(&format!("044{bik_tail:06}")).unwrap();
            let raw = format!("40702810{body:012}");
            let account = SettlementAccount::generate(&bik, &raw);
            prop_assert!(SettlementAccount::parse(account.as_str(), &bik).is_ok());
            let corr = CorrespondentAccount::generate(&bik, &format!("30101810{body:012}"));
            prop_assert!(CorrespondentAccount::parse(corr.as_str(), &bik).is_ok());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = Inn::parse(&s);
            let _ = Kpp::parse(&s);
            let _ = Ogrn::parse(&s);
            let _ = AccountNumber::parse(&s);
            if let Ok(bik) = Bik::parse("044525225") {
                let _ = SettlementAccount::parse(&s, &bik);
                let _ = CorrespondentAccount::parse(&s, &bik);
            }
        }
    }
}
