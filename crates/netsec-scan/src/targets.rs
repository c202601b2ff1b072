//! Target and port specifications, nmap-style: addresses, CIDR blocks,
//! ranges (`10.0.0.1-50`, `10.0.0.1-10.0.0.50`), hostnames, IPv6; port
//! lists and ranges, `-` for all, and the most common ports.
//!
//! Errors name the offending token.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

/// Most addresses one specification may expand to (a /12 of IPv4).
pub const MAX_TARGETS: u64 = 1 << 20;

/// TCP ports by how often nmap's probes found them open, most common first
/// (the port numbers of the 1,000 highest-frequency TCP entries of
/// nmap-services in Debian's nmap 7.93; only the ordered numbers are kept).
const TOP_TCP_PORTS: &str = include_str!("../data/top-tcp-ports.txt");

/// UDP ports ranked the same way (the 1,000 highest-frequency UDP entries).
const TOP_UDP_PORTS: &str = include_str!("../data/top-udp-ports.txt");

/// A specification that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {token:?}: {reason}")]
pub struct SpecError {
    /// `target` or `port`.
    pub what: &'static str,
    /// The token.
    pub token: String,
    /// Why.
    pub reason: String,
}

fn target_err(token: &str, reason: impl Into<String>) -> SpecError {
    SpecError {
        what: "target",
        token: token.to_string(),
        reason: reason.into(),
    }
}

fn port_err(token: &str, reason: impl Into<String>) -> SpecError {
    SpecError {
        what: "port",
        token: token.to_string(),
        reason: reason.into(),
    }
}

/// Expand one target token into addresses.
pub fn expand_target(token: &str) -> Result<Vec<IpAddr>, SpecError> {
    let t = token.trim();
    if t.is_empty() {
        return Err(target_err(token, "empty"));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    if let Some((addr, len)) = t.split_once('/') {
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| target_err(token, "not an address before '/'"))?;
        let len: u32 = len
            .parse()
            .map_err(|_| target_err(token, "prefix length is not a number"))?;
        return match addr {
            IpAddr::V4(a) => {
                if len > 32 {
                    return Err(target_err(token, "IPv4 prefix longer than 32"));
                }
                let count = 1u64 << (32 - len);
                if count > MAX_TARGETS {
                    return Err(target_err(
                        token,
                        format!("more than {MAX_TARGETS} addresses"),
                    ));
                }
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let first = u32::from(a) & mask;
                Ok((0..count)
                    .map(|i| IpAddr::V4(Ipv4Addr::from(first + i as u32)))
                    .collect())
            }
            IpAddr::V6(a) => {
                if len > 128 {
                    return Err(target_err(token, "IPv6 prefix longer than 128"));
                }
                if 128 - len > 20 {
                    return Err(target_err(
                        token,
                        format!("more than {MAX_TARGETS} addresses"),
                    ));
                }
                let count = 1u128 << (128 - len);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let first = u128::from(a) & mask;
                Ok((0..count).map(|i| IpAddr::V6((first + i).into())).collect())
            }
        };
    }
    if let Some((start, end)) = t.split_once('-') {
        if let Ok(IpAddr::V4(a)) = start.parse::<IpAddr>() {
            let last = match end.parse::<Ipv4Addr>() {
                Ok(b) => u32::from(b),
                Err(_) => {
                    let octet: u8 = end.parse().map_err(|_| {
                        target_err(token, "range end is neither an address nor an octet")
                    })?;
                    (u32::from(a) & 0xffff_ff00) | u32::from(octet)
                }
            };
            let first = u32::from(a);
            if last < first {
                return Err(target_err(token, "range ends before it starts"));
            }
            if u64::from(last - first) >= MAX_TARGETS {
                return Err(target_err(
                    token,
                    format!("more than {MAX_TARGETS} addresses"),
                ));
            }
            return Ok((first..=last)
                .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
                .collect());
        }
    }
    // A hostname: resolve it (A and AAAA) with the system resolver.
    if t.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && t.chars().any(|c| c.is_ascii_alphabetic())
    {
        let addrs: BTreeSet<IpAddr> = (t, 0u16)
            .to_socket_addrs()
            .map_err(|e| target_err(token, format!("cannot resolve: {e}")))?
            .map(|sa| sa.ip())
            .collect();
        if addrs.is_empty() {
            return Err(target_err(token, "resolves to no address"));
        }
        return Ok(addrs.into_iter().collect());
    }
    Err(target_err(
        token,
        "not an address, CIDR block, range or hostname",
    ))
}

/// Expand target tokens minus exclusions, in order, without duplicates.
pub fn expand_targets(tokens: &[String], exclude: &[String]) -> Result<Vec<IpAddr>, SpecError> {
    let mut excluded = BTreeSet::new();
    for e in exclude {
        excluded.extend(expand_target(e)?);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in tokens {
        for ip in expand_target(t)? {
            if !excluded.contains(&ip) && seen.insert(ip) {
                out.push(ip);
                if out.len() as u64 > MAX_TARGETS {
                    return Err(target_err(
                        t,
                        format!("more than {MAX_TARGETS} targets in all"),
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Parse a port specification: `22,80,8000-8100`, `-` (all ports).
pub fn parse_ports(spec: &str) -> Result<Vec<u16>, SpecError> {
    if spec.trim() == "-" {
        return Ok((1..=65_535).collect());
    }
    let mut set = BTreeSet::new();
    for part in spec.split(',') {
        let p = part.trim();
        if p.is_empty() {
            return Err(port_err(part, "empty"));
        }
        let num = |s: &str| -> Result<u16, SpecError> {
            let n: u32 = s.trim().parse().map_err(|_| port_err(p, "not a number"))?;
            if n == 0 || n > 65_535 {
                return Err(port_err(p, "outside 1-65535"));
            }
            Ok(n as u16)
        };
        match p.split_once('-') {
            Some((a, b)) => {
                let lo = if a.is_empty() { 1 } else { num(a)? };
                let hi = if b.is_empty() { 65_535 } else { num(b)? };
                if lo > hi {
                    return Err(port_err(p, "range ends before it starts"));
                }
                set.extend(lo..=hi);
            }
            None => {
                set.insert(num(p)?);
            }
        }
    }
    Ok(set.into_iter().collect())
}

fn ranked(list: &str, n: usize) -> Vec<u16> {
    list.trim()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .take(n)
        .collect()
}

/// The `n` most common TCP ports, most common first (at most 1,000).
pub fn top_ports(n: usize) -> Vec<u16> {
    ranked(TOP_TCP_PORTS, n)
}

/// The `n` most common UDP ports, most common first (at most 1,000).
pub fn top_udp_ports(n: usize) -> Vec<u16> {
    ranked(TOP_UDP_PORTS, n)
}

/// Target tokens from a list (`-iL`, `--exclude-file`): whitespace or
/// comma separated, `#` starts a comment.
pub fn parse_target_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split([' ', '\t', ',']))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Read a target list file (see [`parse_target_list`]).
pub fn read_target_list(path: &std::path::Path) -> Result<Vec<String>, crate::ScanError> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::ScanError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(parse_target_list(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_expand_like_nmap() {
        assert_eq!(expand_target("10.0.0.1").unwrap().len(), 1);
        assert_eq!(expand_target("10.0.0.0/30").unwrap().len(), 4);
        assert_eq!(expand_target("10.0.0.1-50").unwrap().len(), 50);
        assert_eq!(expand_target("10.0.0.250-10.0.1.5").unwrap().len(), 12);
        assert_eq!(
            expand_target("::1").unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(expand_target("fd00::/126").unwrap().len(), 4);
        assert!(expand_target("localhost")
            .unwrap()
            .iter()
            .any(|ip| ip.is_loopback()));
        let all = expand_targets(&["10.0.0.0/29".into()], &["10.0.0.0-3".into()]).unwrap();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn bad_targets_name_the_token() {
        for bad in [
            "10.0.0.0/33",
            "10.0.0.9-3",
            "10.0.0.0/8",
            "x y",
            "10.0.0.1-300",
            "",
        ] {
            let e = expand_target(bad).unwrap_err();
            assert_eq!(e.token, bad);
        }
    }

    #[test]
    fn ports_parse_and_reject() {
        assert_eq!(
            parse_ports("22,80,8000-8002").unwrap(),
            vec![22, 80, 8000, 8001, 8002]
        );
        assert_eq!(parse_ports("-").unwrap().len(), 65_535);
        assert_eq!(parse_ports("-10").unwrap().len(), 10);
        assert_eq!(parse_ports("65530-").unwrap().len(), 6);
        assert_eq!(parse_ports("80,http").unwrap_err().token, "http");
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("90-80").is_err());
        assert!(parse_ports("70000").is_err());
        let top = top_ports(100);
        assert_eq!(top.len(), 100);
        assert_eq!(&top[..3], &[80, 23, 443]);
        assert_eq!(top_ports(5000).len(), 1000);
        assert_eq!(&top_udp_ports(3), &[631, 161, 137]);
    }

    #[test]
    fn target_lists_and_files() {
        let list =
            parse_target_list("# lab\n10.253.0.2 10.253.0.3,10.253.0.4\n\n10.253.0.0/30 # net\n");
        assert_eq!(
            list,
            vec!["10.253.0.2", "10.253.0.3", "10.253.0.4", "10.253.0.0/30"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.txt");
        std::fs::write(&path, "127.0.0.1\n::1\n").unwrap();
        assert_eq!(read_target_list(&path).unwrap().len(), 2);
        let missing = read_target_list(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"));
        // Exclusions may be written in any target form.
        let kept = expand_targets(&list, &["10.253.0.0/31".into(), "10.253.0.3".into()]).unwrap();
        assert_eq!(kept.len(), 2);
    }
}
