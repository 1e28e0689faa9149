//! Money amounts in minor units (kopecks), parsed from decimal text.

use std::fmt;

/// An amount of money in kopecks. Parsed from `"1500"`, `"1500.5"`, `"-20,75"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i64);

impl Money {
    pub fn from_minor(minor: i64) -> Self {
        Self(minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().replace(' ', "").replace(',', ".");
        let (negative, body) = match value.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, value),
        };
        let (whole, fraction) = body.split_once('.').unwrap_or((&body, ""));
        if whole.is_empty()
            || whole.len() > 15
            || fraction.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("money.format");
        }
        let whole: i64 = whole.parse().map_err(|_| "money.format")?;
        let fraction: i64 = format!("{fraction:0<2}")
            .parse()
            .map_err(|_| "money.format")?;
        let minor = whole * 100 + fraction;
        Ok(Self(if negative { -minor } else { minor }))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Money::parse("1500"), Ok(Money(150_000)));
        assert_eq!(Money::parse("1 500,5"), Ok(Money(150_050)));
        assert_eq!(Money::parse("-20.75"), Ok(Money(-2_075)));
        assert_eq!(Money::parse("1.234"), Err("money.format"));
        assert_eq!(Money::parse("abc"), Err("money.format"));
        assert_eq!(Money::parse(""), Err("money.format"));
    }

    proptest! {
        #[test]
        fn display_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let money = Money(minor);
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
        }
    }
}
