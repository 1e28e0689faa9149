//! Where a person may sign in from (B5) and whether a session is bound to
//! the address it started from (X11).

use std::net::IpAddr;

/// One allowed address or network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRule {
    network: IpAddr,
    prefix: u8,
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are compared as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

impl IpRule {
    /// `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`. The network part is
    /// normalised (`10.1.2.3/8` becomes `10.0.0.0/8`).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let text = raw.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.trim().parse().map_err(|_| "ip_rules.invalid")?;
        let address = canonical(address);
        let (value, width) = bits(address);
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or("ip_rules.invalid")?,
        };
        let mask = if prefix == 0 {
            0
        } else {
            (!0u128) << (width - prefix)
                & if width == 32 {
                    u128::from(u32::MAX)
                } else {
                    !0
                }
        };
        let network = match address {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from((value & mask) as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(value & mask)),
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let (value, width) = bits(ip);
        let (network, network_width) = bits(self.network);
        if width != network_width {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        let mask = (!0u128) << (width - self.prefix)
            & if width == 32 {
                u128::from(u32::MAX)
            } else {
                !0
            };
        value & mask == network
    }
}

impl std::fmt::Display for IpRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let full = bits(self.network).1;
        if self.prefix == full {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// A person's address rules: empty means "any address".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRules(Vec<IpRule>);

impl IpRules {
    /// Parses a list of rules, reporting the first bad one by position.
    pub fn parse<'a>(
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, (usize, &'static str)> {
        let mut rules = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            if item.trim().is_empty() {
                continue;
            }
            let rule = IpRule::parse(item).map_err(|code| (index, code))?;
            if !rules.contains(&rule) {
                rules.push(rule);
            }
            if rules.len() > 100 {
                return Err((index, "ip_rules.too_many"));
            }
        }
        Ok(Self(rules))
    }

    pub fn is_any(&self) -> bool {
        self.0.is_empty()
    }

    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            _ if self.is_any() => true,
            Some(ip) => self.0.iter().any(|rule| rule.contains(ip)),
            None => false,
        }
    }

    /// The normalised rules as text, for storage and display.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// Whether a session must keep to the address it signed in from (X11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionBinding {
    #[default]
    Off,
    /// A change of address is recorded in the audit log but allowed.
    LogOnly,
    /// A request from another address ends nothing but is refused.
    Strict,
}

impl SessionBinding {
    pub fn key(self) -> &'static str {
        match self {
            SessionBinding::Off => "off",
            SessionBinding::LogOnly => "log",
            SessionBinding::Strict => "strict",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "" | "off" => Ok(SessionBinding::Off),
            "log" => Ok(SessionBinding::LogOnly),
            "strict" => Ok(SessionBinding::Strict),
            _ => Err("session_binding.invalid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn single_addresses_and_networks() {
        let rules = IpRules::parse(["203.0.113.7", "10.1.2.3/8", "2001:db8::/32"]).unwrap();
        assert_eq!(
            rules.to_strings(),
            vec!["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]
        );
        assert!(rules.allows(Some(ip("203.0.113.7"))));
        assert!(!rules.allows(Some(ip("203.0.113.8"))));
        assert!(rules.allows(Some(ip("10.200.0.1"))));
        assert!(
            rules.allows(Some(ip("::ffff:10.9.9.9"))),
            "IPv4-mapped IPv6 counts as IPv4"
        );
        assert!(rules.allows(Some(ip("2001:db8:1::5"))));
        assert!(!rules.allows(Some(ip("2001:db9::1"))));
        assert!(
            !rules.allows(None),
            "an unknown address is refused when rules exist"
        );
        assert!(IpRules::default().allows(None), "no rules: any address");
    }

    #[test]
    fn bad_rules_are_reported_by_position() {
        assert_eq!(
            IpRules::parse(["10.0.0.1", "10.0.0.300"]),
            Err((1, "ip_rules.invalid"))
        );
        assert_eq!(
            IpRules::parse(["10.0.0.0/33"]),
            Err((0, "ip_rules.invalid"))
        );
        assert_eq!(IpRules::parse(["::1/129"]), Err((0, "ip_rules.invalid")));
        assert_eq!(
            IpRules::parse(["example.com"]),
            Err((0, "ip_rules.invalid"))
        );
        assert!(IpRules::parse(["0.0.0.0/0"])
            .unwrap()
            .allows(Some(ip("8.8.8.8"))));
    }

    #[test]
    fn binding_modes() {
        assert_eq!(SessionBinding::parse("strict"), Ok(SessionBinding::Strict));
        assert_eq!(SessionBinding::parse(""), Ok(SessionBinding::Off));
        assert_eq!(
            SessionBinding::parse("sometimes"),
            Err("session_binding.invalid")
        );
    }
}
