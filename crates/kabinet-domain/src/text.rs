//! Free-text fields, e-mail, phone numbers and time zones.

use std::fmt;

/// Trims and bounds a required text field.
pub fn required_text(raw: &str, max_chars: usize) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("required");
    }
    if trimmed.chars().count() > max_chars {
        return Err("too_long");
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err("control_characters");
    }
    Ok(trimmed.to_string())
}

/// Trims an optional text field; empty becomes `None`.
pub fn optional_text(raw: Option<&str>, max_chars: usize) -> Result<Option<String>, &'static str> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => required_text(value, max_chars).map(Some),
    }
}

/// An e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.len() > 254 {
            return Err("email.too_long");
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("email.invalid");
        };
        // The domain is checked as it is stored, lower-cased: lower-casing
        // can add characters (`İ` becomes `i` and a combining dot), and a
        // stored address must parse again (found by fuzz/ target login).
        let domain = domain.to_lowercase();
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"@\\".contains(c));
        if !domain_ok || !local_ok {
            return Err("email.invalid");
        }
        let email = format!("{local}@{domain}");
        if email.len() > 254 {
            return Err("email.too_long");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+74951234567`).
///
/// Accepts the ways people write Russian numbers: `+7 (495) 123-45-67`,
/// `8 495 123 45 67`, `4951234567`; other countries need the leading `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("phone.invalid");
        }
        let has_plus = value.starts_with('+');
        let body = if has_plus { &value[1..] } else { value };
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || " ()-.".contains(c))
        {
            return Err("phone.invalid");
        }
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        let e164_digits = if has_plus {
            digits
        } else if digits.len() == 11 && (digits.starts_with('8') || digits.starts_with('7')) {
            format!("7{}", &digits[1..])
        } else if digits.len() == 10 {
            format!("7{digits}")
        } else {
            return Err("phone.invalid");
        };
        if !(8..=15).contains(&e164_digits.len()) || e164_digits.starts_with('0') {
            return Err("phone.invalid");
        }
        if e164_digits.starts_with('7') && e164_digits.len() != 11 {
            return Err("phone.invalid");
        }
        Ok(Self(format!("+{e164_digits}")))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits alone, which is what a digits-only search matches.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for Phone {
    /// Russian numbers print as `+7 (495) 123-45-67`, others as E.164.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits();
        if d.len() == 11 && d.starts_with('7') {
            write!(
                f,
                "+7 ({}) {}-{}-{}",
                &d[1..4],
                &d[4..7],
                &d[7..9],
                &d[9..11]
            )
        } else {
            f.write_str(&self.0)
        }
    }
}

/// An IANA time zone name such as `Europe/Moscow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone(String);

impl Timezone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        match value.parse::<chrono_tz::Tz>() {
            Ok(tz) => Ok(Self(tz.name().to_string())),
            Err(_) => Err("timezone.invalid"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-cases text for case-insensitive search, Cyrillic included, and
/// folds `ё` to `е` as Russian readers expect.
pub fn search_fold(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// How many digits make one gram of the digit index.
pub const DIGIT_GRAM: usize = 4;

/// The digits of a search text for the digit index: every run of
/// [`DIGIT_GRAM`] digits or more as its overlapping grams
/// (`4951234` → `4951 9512 5123 1234`), runs kept apart by a word that is
/// not a gram (`x`), so that a phrase of grams never spans two runs. A
/// digits-only search word is found in the text exactly when the phrase of
/// its grams ([`digit_phrase`]) is in this: any occurrence of such a word
/// lies inside one run. Three-digit grams (the trigram index) are ten times
/// as common, so a seven-digit phone fragment read ten times more of that
/// index than it does of this one.
pub fn digit_grams(text: &str) -> String {
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end - start >= DIGIT_GRAM {
            if !out.is_empty() {
                out.push_str(" x ");
            }
            let run = &text[start..end];
            for gram in 0..=run.len() - DIGIT_GRAM {
                if gram > 0 {
                    out.push(' ');
                }
                out.push_str(&run[gram..gram + DIGIT_GRAM]);
            }
        }
        start = end;
    }
    out
}

/// A search word of [`DIGIT_GRAM`] digits or more as the phrase of its
/// grams in the digit index; `None` for any other word.
pub fn digit_phrase(word: &str) -> Option<String> {
    if word.len() < DIGIT_GRAM || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digit_grams(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn digit_grams_overlap_within_runs_only() {
        assert_eq!(digit_grams("4951234"), "4951 9512 5123 1234");
        assert_eq!(
            digit_grams("ромашка | 74951234567 | 123 | ls-00500 | 7707083893"),
            "7495 4951 9512 5123 1234 2345 3456 4567 x 0050 0500 x \
             7707 7070 0708 7083 0838 8389 3893"
        );
        assert_eq!(digit_grams("нет цифр | 12 | 345"), "");
        assert_eq!(digit_grams("ёлка 1234"), "1234");
        assert_eq!(
            digit_phrase("4951234").as_deref(),
            Some("4951 9512 5123 1234")
        );
        assert_eq!(digit_phrase("4951").as_deref(), Some("4951"));
        assert_eq!(digit_phrase("495"), None);
        assert_eq!(digit_phrase("49a1"), None);
    }

    proptest! {
        /// A digits-only word occurs in a text exactly when the phrase of
        /// its grams occurs, as consecutive words, in the text's grams.
        #[test]
        fn digit_phrase_matches_exactly_the_substrings(
            text in "[0-9a-z |]{0,60}",
            word in "[0-9]{4,9}",
        ) {
            let grams: Vec<String> = digit_grams(&text).split(' ').map(str::to_string).collect();
            let phrase: Vec<String> = digit_phrase(&word).unwrap().split(' ').map(str::to_string).collect();
            let found = grams.windows(phrase.len()).any(|w| w == phrase.as_slice());
            prop_assert_eq!(found, text.contains(&word));
        }
    }

    #[test]
    fn phones_in_common_russian_forms_become_e164() {
        for raw in [
            "+7 (495) 123-45-67",
            "8 495 123 45 67",
            "4951234567",
            "7-495-123-45-67",
        ] {
            assert_eq!(
                Phone::parse(raw).map(|p| p.0),
                Ok("+74951234567".to_string()),
                "{raw}"
            );
        }
        assert_eq!(
            Phone::parse("+7 (495) 123-45-67").map(|p| p.to_string()),
            Ok("+7 (495) 123-45-67".into())
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0958").map(|p| p.0),
            Ok("+442079460958".to_string())
        );
    }

    #[test]
    fn bad_phones_are_refused() {
        for raw in [
            "",
            "12345",
            "+7 495 123",
            "phone",
            "+0123456789",
            "8 (495) 123-45-67 ext 5",
            "+7495123456789",
        ] {
            assert_eq!(Phone::parse(raw), Err("phone.invalid"), "{raw}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Info@Example.RU ").map(|e| e.0),
            Ok("Info@example.ru".to_string())
        );
        assert!(Email::parse("почта@пример.рф").is_ok());
        for raw in [
            "", "a", "a@", "@b.ru", "a@b", "a b@c.ru", "a@b..ru", "a@.b.ru",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn a_stored_email_parses_again() {
        // `İ` lower-cases to `i` and U+0307, which is not a letter, and takes
        // one byte more (found by fuzzing).
        assert_eq!(Email::parse("a@İ.ru"), Err("email.invalid"));
        // `Ⱥ` (two bytes) lower-cases to `ⱥ` (three): within the limit as
        // typed, over it as stored.
        let long = format!("{}@{}.ru", "a".repeat(64), "Ⱥ".repeat(93));
        assert_eq!(long.len(), 254);
        assert_eq!(Email::parse(&long), Err("email.too_long"));
        for raw in [" Info@Example.RU ", "почта@ПРИМЕР.РФ", "a@K.ru"] {
            let email = Email::parse(raw).unwrap();
            assert_eq!(Email::parse(email.as_str()), Ok(email.clone()), "{raw}");
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(
            Timezone::parse("Europe/Moscow").map(|t| t.0),
            Ok("Europe/Moscow".to_string())
        );
        assert_eq!(Timezone::parse("Mars/Olympus"), Err("timezone.invalid"));
    }

    #[test]
    fn search_folding_handles_cyrillic() {
        assert_eq!(search_fold("РОМАШКА Ёлка"), "ромашка елка");
    }

    proptest! {
        #[test]
        fn any_ten_digit_number_parses_to_russian_e164(n in 1_000_000_000u64..9_999_999_999u64) {
            let phone = Phone::parse(&n.to_string()).unwrap();
            prop_assert_eq!(phone.as_str(), format!("+7{n}"));
            // Formatting and parsing again gives the same number.
            prop_assert_eq!(Phone::parse(&phone.to_string()).unwrap(), phone);
        }

        #[test]
        fn text_parsers_never_panic(s in "\\PC*") {
            let _ = Phone::parse(&s);
            let _ = Email::parse(&s);
            let _ = Timezone::parse(&s);
        }
    }
}
