//! Sets of allowed connections: per protocol, a normalised set of port
//! ranges, printed the way netpol-analyzer prints them
//! (`All Connections`, `TCP 80,8080-8090,UDP 53`).

use std::collections::BTreeMap;
use std::fmt;

/// Protocols a NetworkPolicy can name.
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const MIN_PORT: u32 = 1;
const MAX_PORT: u32 = 65_535;

/// Allowed connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSet {
    /// Protocol → sorted, disjoint, non-adjacent inclusive port ranges.
    ranges: BTreeMap<&'static str, Vec<(u32, u32)>>,
}

fn proto_name(p: &str) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .copied()
        .find(|q| q.eq_ignore_ascii_case(p))
}

fn normalise(mut v: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    v.retain(|(a, b)| a <= b);
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

impl ConnSet {
    /// Nothing allowed.
    pub fn none() -> Self {
        ConnSet::default()
    }

    /// Everything allowed.
    pub fn all() -> Self {
        let mut c = ConnSet::default();
        for p in PROTOCOLS {
            c.ranges.insert(p, vec![(MIN_PORT, MAX_PORT)]);
        }
        c
    }

    /// `protocol` on ports `lo..=hi` (all ports when `None`). Unknown protocols allow nothing.
    pub fn ports(protocol: &str, range: Option<(u32, u32)>) -> Self {
        let mut c = ConnSet::default();
        if let Some(p) = proto_name(protocol) {
            let (lo, hi) = range.unwrap_or((MIN_PORT, MAX_PORT));
            c.ranges
                .insert(p, normalise(vec![(lo.max(MIN_PORT), hi.min(MAX_PORT))]));
        }
        c
    }

    /// Whether `protocol` to `port` is allowed.
    pub fn contains(&self, protocol: &str, port: u32) -> bool {
        proto_name(protocol)
            .and_then(|p| self.ranges.get(p))
            .is_some_and(|r| r.iter().any(|&(a, b)| a <= port && port <= b))
    }

    /// Protocol and inclusive port ranges allowed, protocols in name order.
    pub fn ranges(&self) -> impl Iterator<Item = (&'static str, &[(u32, u32)])> + '_ {
        self.ranges
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(p, r)| (*p, r.as_slice()))
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.ranges.values().all(Vec::is_empty)
    }

    /// Whether everything is allowed.
    pub fn is_all(&self) -> bool {
        PROTOCOLS.iter().all(|p| {
            self.ranges
                .get(p)
                .is_some_and(|r| r.as_slice() == [(MIN_PORT, MAX_PORT)])
        })
    }

    /// Add everything `other` allows.
    pub fn union_with(&mut self, other: &ConnSet) {
        for (p, r) in &other.ranges {
            let mine = self.ranges.entry(p).or_default();
            mine.extend(r.iter().copied());
            *mine = normalise(std::mem::take(mine));
        }
    }

    /// Keep only what both allow.
    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        let mut out = ConnSet::default();
        for (p, a) in &self.ranges {
            let Some(b) = other.ranges.get(p) else {
                continue;
            };
            let mut v = Vec::new();
            for &(a0, a1) in a {
                for &(b0, b1) in b {
                    let (lo, hi) = (a0.max(b0), a1.min(b1));
                    if lo <= hi {
                        v.push((lo, hi));
                    }
                }
            }
            let v = normalise(v);
            if !v.is_empty() {
                out.ranges.insert(p, v);
            }
        }
        out
    }

    /// Remove what `other` allows.
    pub fn subtract(&self, other: &ConnSet) -> ConnSet {
        let mut out = ConnSet::default();
        for (p, a) in &self.ranges {
            let mut cur = a.clone();
            if let Some(b) = other.ranges.get(p) {
                for &(b0, b1) in b {
                    let mut next = Vec::new();
                    for &(a0, a1) in &cur {
                        if b1 < a0 || b0 > a1 {
                            next.push((a0, a1));
                            continue;
                        }
                        if a0 < b0 {
                            next.push((a0, b0 - 1));
                        }
                        if a1 > b1 {
                            next.push((b1 + 1, a1));
                        }
                    }
                    cur = next;
                }
            }
            let cur = normalise(cur);
            if !cur.is_empty() {
                out.ranges.insert(p, cur);
            }
        }
        out
    }
}

impl fmt::Display for ConnSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let parts: Vec<String> = self
            .ranges
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(p, r)| {
                let ports: Vec<String> = r
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                format!("{p} {}", ports.join(","))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_netpol_analyzer() {
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        let mut c = ConnSet::ports("TCP", Some((8000, 8000)));
        c.union_with(&ConnSet::ports("tcp", Some((8090, 8090))));
        assert_eq!(c.to_string(), "TCP 8000,8090");
        let udp53 = ConnSet::ports("UDP", Some((53, 53)));
        let rest = ConnSet::all().subtract(&udp53);
        assert_eq!(
            rest.to_string(),
            "SCTP 1-65535,TCP 1-65535,UDP 1-52,54-65535"
        );
        assert_eq!(rest.intersect(&udp53).to_string(), "No Connections");
    }
}
