//! What the detectors know of the network they watch: the home networks,
//! critical assets and allow-lists, from the `[network]` table of the
//! configuration.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use netsec_model::Severity;
use serde::{Deserialize, Serialize};

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare
/// address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
    /// The network's bits and mask, precomputed (IPv4 in the low 32 bits):
    /// membership is checked for every packet.
    bits: u128,
    mask: u128,
}

impl Cidr {
    fn new(network: IpAddr, prefix: u8) -> Self {
        let (value, width) = match network {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u32),
            IpAddr::V6(v6) => (u128::from(v6), 128u32),
        };
        let ones = if width == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        let mask = ones
            .checked_shl(width - u32::from(prefix).min(width))
            .unwrap_or(0)
            & ones;
        Cidr {
            network,
            prefix,
            bits: value & mask,
            mask,
        }
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// `ip` with the bits past this network's prefix cleared: the key under
    /// which a table of networks of this prefix length finds `ip`. `None`
    /// when `ip` is of the other family.
    pub fn mask(prefix: u8, ip: IpAddr) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let keep = u32::MAX
                    .checked_shl(32u32.checked_sub(u32::from(prefix))?)
                    .unwrap_or(0);
                (prefix <= 32).then(|| IpAddr::V4((bits & keep).into()))
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let keep = u128::MAX
                    .checked_shl(128u32.checked_sub(u32::from(prefix))?)
                    .unwrap_or(0);
                Some(IpAddr::V6((bits & keep).into()))
            }
        }
    }

    /// This network's address with the host bits cleared.
    pub fn network(&self) -> IpAddr {
        Cidr::mask(self.prefix, self.network).unwrap_or(self.network)
    }

    /// Whether `ip` is inside this network (an IPv4 address never matches an
    /// IPv6 network, except through its IPv4-mapped form).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.holds(AddressBits::of(ip))
    }

    /// Whether any of `networks` holds `ip`: the address is read once, then
    /// each network costs a compare (this runs for every packet and flow, and
    /// per network it was a fifth of a scan-heavy run's detection).
    #[inline]
    pub fn any_contains(networks: &[Cidr], ip: IpAddr) -> bool {
        if networks.is_empty() {
            return false;
        }
        let address = AddressBits::of(ip);
        networks.iter().any(|c| c.holds(address))
    }

    #[inline]
    fn holds(&self, address: AddressBits) -> bool {
        matches!(self.network, IpAddr::V4(_)) == address.v4 && address.bits & self.mask == self.bits
    }
}

/// An address as networks compare it: its family and its bits (an
/// IPv4-mapped IPv6 address as the IPv4 address it maps).
#[derive(Clone, Copy)]
struct AddressBits {
    v4: bool,
    bits: u128,
}

impl AddressBits {
    #[inline]
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddressBits {
                v4: true,
                bits: u128::from(u32::from(v4)),
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressBits {
                    v4: true,
                    bits: u128::from(u32::from(v4)),
                },
                None => AddressBits {
                    v4: false,
                    bits: u128::from(v6),
                },
            },
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A CIDR text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a network in CIDR notation (10.0.0.0/8, fd00::/8): {0:?}")]
pub struct CidrParseError(String);

impl FromStr for Cidr {
    type Err = CidrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrParseError(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| err())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| err())?,
            None => max,
        };
        if prefix > max {
            return Err(err());
        }
        Ok(Cidr::new(network, prefix))
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The `[network]` table: which addresses are ours, which matter most, and
/// which never raise a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Home networks: "internal" to every detector (RFC 1918, RFC 4193 ULA).
    pub home: Vec<Cidr>,
    /// Critical assets: a finding whose target is one of them is raised one severity level.
    pub critical_assets: Vec<Cidr>,
    /// Sources whose behaviour never raises a finding (vulnerability scanners, monitoring).
    pub allow_sources: Vec<Cidr>,
    /// Destinations traffic to which never raises a finding (backup servers, update mirrors).
    pub allow_destinations: Vec<Cidr>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        let home = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        NetworkConfig {
            home,
            critical_assets: Vec::new(),
            allow_sources: Vec::new(),
            allow_destinations: Vec::new(),
        }
    }
}

impl NetworkConfig {
    /// Whether `ip` is in a home network.
    pub fn is_home(&self, ip: IpAddr) -> bool {
        Cidr::any_contains(&self.home, ip)
    }

    /// Whether behaviour from `src` towards `dst` is allow-listed.
    pub fn is_allowed(&self, src: IpAddr, dst: Option<IpAddr>) -> bool {
        Cidr::any_contains(&self.allow_sources, src)
            || dst.is_some_and(|d| Cidr::any_contains(&self.allow_destinations, d))
    }

    /// `base`, one level higher when `target` is a critical asset.
    pub fn severity_for(&self, target: Option<IpAddr>, base: Severity) -> Severity {
        let critical = target.is_some_and(|t| Cidr::any_contains(&self.critical_assets, t));
        if !critical {
            return base;
        }
        match base {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn cidr_parses_and_matches() {
        let net: Cidr = "10.250.0.0/16"
            .parse()
            .unwrap_or(Cidr::new(ip("0.0.0.0"), 32));
        assert!(net.contains(ip("10.250.8.9")));
        assert!(!net.contains(ip("10.251.0.1")));
        assert!(net.contains(ip("::ffff:10.250.1.1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("fd00::/129".parse::<Cidr>().is_err());
        assert!("banana".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap_or(net);
        assert!(all.contains(ip("203.0.113.5")));
        let host: Cidr = "192.0.2.7".parse().unwrap_or(net);
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap_or(net);
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let any6: Cidr = "::/0".parse().unwrap_or(net);
        assert!(any6.contains(ip("2001:db8::1")) && !any6.contains(ip("10.0.0.1")));
        assert!(
            !any6.contains(ip("::ffff:10.0.0.1")),
            "a mapped address is IPv4"
        );
        assert!(Cidr::any_contains(&[v6, net], ip("::ffff:10.250.0.9")));
        assert!(!Cidr::any_contains(&[], ip("10.250.0.9")));
    }

    #[test]
    fn default_home_is_rfc1918_and_ula() {
        let n = NetworkConfig::default();
        for a in ["10.1.2.3", "172.31.0.1", "192.168.1.1", "fd12::1"] {
            assert!(n.is_home(ip(a)), "{a}");
        }
        for a in ["172.32.0.1", "203.0.113.50", "2001:db8::1", "8.8.8.8"] {
            assert!(!n.is_home(ip(a)), "{a}");
        }
    }

    #[test]
    fn critical_assets_raise_severity() {
        let n = NetworkConfig {
            critical_assets: vec![Cidr::new(ip("10.0.0.5"), 32)],
            ..NetworkConfig::default()
        };
        assert_eq!(
            n.severity_for(Some(ip("10.0.0.5")), Severity::Medium),
            Severity::High
        );
        assert_eq!(
            n.severity_for(Some(ip("10.0.0.6")), Severity::Medium),
            Severity::Medium
        );
    }
}
