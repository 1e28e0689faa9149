//! Address rules (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`), lists of
//! them one per line, and the session binding key.
//!
//! Properties: a rule that parses prints in a form that parses back to the
//! same rule, and contains the address it was written with; a parsed list
//! holds at most 100 distinct rules and its text form parses back to it.
#![no_main]

use std::net::IpAddr;

use kabinet_domain::ip_rules::{IpRule, IpRules, SessionBinding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(rule) = IpRule::parse(raw) {
        let shown = rule.to_string();
        assert_eq!(IpRule::parse(&shown), Ok(rule), "printed as {shown:?}");
        let address = raw.trim().split('/').next().unwrap_or("").trim();
        let address: IpAddr = address.parse().expect("the rule's address parsed");
        assert!(rule.contains(address), "{rule} must contain {address}");
    }

    if let Ok(rules) = IpRules::parse(raw.lines()) {
        let texts = rules.to_strings();
        assert!(texts.len() <= 100);
        let again = IpRules::parse(texts.iter().map(String::as_str)).expect("reparses");
        assert_eq!(again, rules);
        // The last line, read as an address, is checked against the rules.
        let ip = raw
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<IpAddr>().ok());
        if rules.is_any() {
            assert!(rules.allows(ip));
        } else {
            let _ = rules.allows(ip);
            assert!(!rules.allows(None));
        }
    }

    if let Ok(binding) = SessionBinding::parse(raw) {
        assert_eq!(SessionBinding::parse(binding.key()), Ok(binding));
    }
});
