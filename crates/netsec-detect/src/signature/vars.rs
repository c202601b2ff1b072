//! Address and port variables (`$HOME_NET`, `$HTTP_PORTS`) and the
//! expressions of a rule header that use them.
//!
//! Defaults are suricata.yaml's `vars` section (Suricata 7.0), so rules
//! written for a stock Suricata mean the same here.

use std::collections::BTreeMap;

use super::rule::{AddressExpr, PortExpr};

/// How deep variables may refer to variables (`$EXTERNAL_NET` → `!$HOME_NET`).
const MAX_VARIABLE_DEPTH: usize = 8;
/// Most nested `[` `]` levels or elements in one expression: hostile input
/// cannot make the parser recurse or allocate without bound.
const MAX_NESTING: usize = 16;

/// Values of the variables a rule header may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVars {
    /// Address groups by name (without `$`).
    pub addresses: BTreeMap<String, String>,
    /// Port groups by name (without `$`).
    pub ports: BTreeMap<String, String>,
}

impl Default for RuleVars {
    /// suricata.yaml's defaults: `HOME_NET` is RFC 1918, `EXTERNAL_NET` is
    /// `!$HOME_NET`, the server groups are `$HOME_NET`.
    fn default() -> Self {
        let home = "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]";
        let mut addresses = BTreeMap::new();
        addresses.insert("HOME_NET".to_string(), home.to_string());
        addresses.insert("EXTERNAL_NET".to_string(), "!$HOME_NET".to_string());
        for name in [
            "HTTP_SERVERS",
            "SMTP_SERVERS",
            "SQL_SERVERS",
            "DNS_SERVERS",
            "TELNET_SERVERS",
            "AIM_SERVERS",
            "DC_SERVERS",
            "DNP3_SERVER",
            "DNP3_CLIENT",
            "MODBUS_CLIENT",
            "MODBUS_SERVER",
            "ENIP_CLIENT",
            "ENIP_SERVER",
        ] {
            addresses.insert(name.to_string(), "$HOME_NET".to_string());
        }
        let mut ports = BTreeMap::new();
        for (name, value) in [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
        ] {
            ports.insert(name.to_string(), value.to_string());
        }
        RuleVars { addresses, ports }
    }
}

/// Why an address or port expression is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// `$NAME` is not defined.
    #[error("undefined variable ${0}")]
    UndefinedVariable(String),
    /// Variables refer to each other too deeply (or in a cycle).
    #[error("variable ${0} nests too deeply (a cycle?)")]
    TooDeep(String),
    /// Not an address, network, port or range.
    #[error("bad {kind} `{text}`")]
    Bad {
        /// `address` or `port`.
        kind: &'static str,
        /// The text.
        text: String,
    },
    /// Unbalanced brackets.
    #[error("unbalanced brackets in `{0}`")]
    Unbalanced(String),
}

impl RuleVars {
    /// Parse an address expression (`any`, `$HOME_NET`, `[10.0.0.0/8,!10.1.0.0/16]`).
    pub fn address(&self, text: &str) -> Result<AddressExpr, ExprError> {
        self.address_at(text, 0)
    }

    /// Parse a port expression (`any`, `$HTTP_PORTS`, `[80,1024:]`, `!22`).
    pub fn port(&self, text: &str) -> Result<PortExpr, ExprError> {
        self.port_at(text, 0)
    }

    fn address_at(&self, text: &str, depth: usize) -> Result<AddressExpr, ExprError> {
        let shape = ExprShape {
            variables: &self.addresses,
            any: AddressExpr::Any,
            not: |inner| AddressExpr::Not(Box::new(inner)),
            list: AddressExpr::List,
        };
        self.expression(
            text,
            depth,
            &shape,
            &|t: &str, d| self.address_at(t, d),
            &|t| {
                t.parse().map(AddressExpr::Net).map_err(|_| ExprError::Bad {
                    kind: "address",
                    text: t.to_string(),
                })
            },
        )
    }

    fn port_at(&self, text: &str, depth: usize) -> Result<PortExpr, ExprError> {
        let shape = ExprShape {
            variables: &self.ports,
            any: PortExpr::Any,
            not: |inner| PortExpr::Not(Box::new(inner)),
            list: PortExpr::List,
        };
        self.expression(
            text,
            depth,
            &shape,
            &|t: &str, d| self.port_at(t, d),
            &port_range,
        )
    }

    /// What address and port expressions share: `!x`, `[a, b]`, `any`, `$VAR`;
    /// `leaf` parses the rest.
    fn expression<T>(
        &self,
        text: &str,
        depth: usize,
        shape: &ExprShape<'_, T>,
        recurse: &dyn Fn(&str, usize) -> Result<T, ExprError>,
        leaf: &dyn Fn(&str) -> Result<T, ExprError>,
    ) -> Result<T, ExprError>
    where
        T: Clone,
    {
        let text = text.trim();
        if depth > MAX_NESTING {
            return Err(ExprError::TooDeep(text.to_string()));
        }
        if let Some(rest) = text.strip_prefix('!') {
            return Ok((shape.not)(recurse(rest, depth + 1)?));
        }
        if let Some(inner) = bracketed(text)? {
            let items = split_top_level(inner)?
                .into_iter()
                .map(|part| recurse(part, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((shape.list)(items));
        }
        if text.eq_ignore_ascii_case("any") {
            return Ok(shape.any.clone());
        }
        if let Some(name) = text.strip_prefix('$') {
            let value = shape
                .variables
                .get(name)
                .ok_or_else(|| ExprError::UndefinedVariable(name.to_string()))?;
            if depth > MAX_VARIABLE_DEPTH {
                return Err(ExprError::TooDeep(name.to_string()));
            }
            return recurse(value, depth + 1);
        }
        leaf(text)
    }
}

/// How to build one kind of expression.
struct ExprShape<'a, T> {
    variables: &'a BTreeMap<String, String>,
    any: T,
    not: fn(T) -> T,
    list: fn(Vec<T>) -> T,
}

/// `80`, `1024:`, `:1023`, `80:90`.
fn port_range(text: &str) -> Result<PortExpr, ExprError> {
    let bad = || ExprError::Bad {
        kind: "port",
        text: text.to_string(),
    };
    let number = |s: &str, default: u16| -> Result<u16, ExprError> {
        let s = s.trim();
        if s.is_empty() {
            Ok(default)
        } else {
            s.parse::<u16>().map_err(|_| bad())
        }
    };
    match text.split_once(':') {
        Some((lo, hi)) => {
            let (lo, hi) = (number(lo, 0)?, number(hi, u16::MAX)?);
            if lo > hi {
                return Err(bad());
            }
            Ok(PortExpr::Range(lo, hi))
        }
        None if text.is_empty() => Err(bad()),
        None => {
            let p = number(text, 0)?;
            Ok(PortExpr::Range(p, p))
        }
    }
}

/// The inside of `[ … ]`, or `None` when `text` is not bracketed.
fn bracketed(text: &str) -> Result<Option<&str>, ExprError> {
    match (text.strip_prefix('['), text.ends_with(']')) {
        (Some(rest), true) => Ok(rest.strip_suffix(']')),
        (Some(_), false) => Err(ExprError::Unbalanced(text.to_string())),
        (None, _) => Ok(None),
    }
}

/// Split on commas not inside brackets.
fn split_top_level(text: &str) -> Result<Vec<&str>, ExprError> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    for (i, ch) in text.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| ExprError::Unbalanced(text.to_string()))?
            }
            ',' if depth == 0 => {
                parts.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(ExprError::Unbalanced(text.to_string()));
    }
    parts.push(text.get(start..).unwrap_or_default());
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn home_and_external_net_are_rfc1918_and_the_rest() {
        let vars = RuleVars::default();
        let home = vars.address("$HOME_NET").unwrap();
        let external = vars.address("$EXTERNAL_NET").unwrap();
        assert!(home.contains(ip("10.1.2.3")) && !external.contains(ip("10.1.2.3")));
        assert!(!home.contains(ip("8.8.8.8")) && external.contains(ip("8.8.8.8")));
    }

    #[test]
    fn lists_negation_and_ranges() {
        let vars = RuleVars::default();
        let a = vars.address("[10.0.0.0/8,!10.1.0.0/16]").unwrap();
        assert!(a.contains(ip("10.2.0.1")));
        assert!(!a.contains(ip("10.1.0.1")));
        assert!(!a.contains(ip("11.0.0.1")));
        let only_negated = vars.address("![1.1.1.1,2.2.2.2]").unwrap();
        assert!(!only_negated.contains(ip("1.1.1.1")) && only_negated.contains(ip("3.3.3.3")));
        let p = vars.port("[$HTTP_PORTS,1024:,!8080]").unwrap();
        assert!(p.contains(80) && p.contains(5000) && !p.contains(8080) && !p.contains(443));
        assert!(vars.port("!$SHELLCODE_PORTS").unwrap().contains(80));
        assert!(vars.port(":1023").unwrap().contains(0));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let vars = RuleVars::default();
        assert_eq!(
            vars.address("$NOPE"),
            Err(ExprError::UndefinedVariable("NOPE".into()))
        );
        assert!(vars.port("[80,").is_err());
        assert!(vars.port("90:80").is_err());
        assert!(vars.address("300.1.1.1").is_err());
        let mut cyclic = RuleVars::default();
        cyclic.addresses.insert("A".into(), "$A".into());
        assert!(matches!(cyclic.address("$A"), Err(ExprError::TooDeep(_))));
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(vars.port(&deep).is_err());
    }
}
