//! Threat-intelligence matching: domain and address lists loaded from
//! files, checked against every DNS question, CNAME target and answered
//! address.
//!
//! A list is one file, named by its file name (or, for STIX, by the
//! indicator's name). Formats, recognised per line or per file:
//!
//! - plain lists: a domain, an address or a CIDR per line (`#` and `;`
//!   comments);
//! - hosts files: `0.0.0.0 bad.example` (the names are the entries);
//! - CSV: the column named `domain`, `ip`, `indicator`, `value` or `ioc`
//!   (else the first), a header line optional;
//! - STIX 2.1 bundles (JSON): indicators with `domain-name:value`,
//!   `ipv4-addr:value`, `ipv6-addr:value` or `url:value` comparisons in
//!   their patterns.
//!
//! A listed domain matches itself and its subdomains.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use netsec_model::{
    Analyzer, AppEvent, DnsEvent, EntityRole, EntityValue, Finding, FindingCategory, FindingSink,
    Interests, Severity, TimeRange,
};

const PRODUCER: &str = "netsec-dns/intel";

/// A list entry that matched: the list's name and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// List name.
    pub list: String,
    /// The entry as listed.
    pub entry: String,
}

/// Loaded lists.
#[derive(Debug, Clone, Default)]
pub struct IntelLists {
    domains: HashMap<String, String>,
    addresses: HashMap<IpAddr, String>,
    /// Networks by prefix length: (network address as u128, v4?) → list.
    networks: BTreeMap<(bool, u8), HashMap<u128, (String, String)>>,
}

/// A list that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// Unreadable.
    #[error("threat list {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A STIX file that is not JSON.
    #[error("threat list {path}: not a STIX bundle: {message}")]
    Stix {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}

fn key(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (true, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (true, u128::from(u32::from(v4))),
            None => (false, u128::from(v6)),
        },
    }
}

fn mask(value: u128, v4: bool, len: u8) -> u128 {
    let bits = if v4 { 32 } else { 128 };
    let len = u32::from(len.min(bits));
    if len == 0 {
        return 0;
    }
    let full: u128 = if v4 { u128::from(u32::MAX) } else { u128::MAX };
    let keep = full.checked_shl(bits as u32 - len).unwrap_or(0) & full;
    value & keep
}

impl IntelLists {
    /// Entries loaded (domains, addresses and networks).
    pub fn len(&self) -> usize {
        self.domains.len()
            + self.addresses.len()
            + self.networks.values().map(HashMap::len).sum::<usize>()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add one entry (a domain, address or CIDR) of list `list`; anything
    /// else is ignored (returns false).
    pub fn add(&mut self, entry: &str, list: &str) -> bool {
        let e = entry
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if e.is_empty() {
            return false;
        }
        if let Ok(ip) = e.parse::<IpAddr>() {
            self.addresses.insert(ip, list.to_string());
            return true;
        }
        if let Some((addr, len)) = e.split_once('/') {
            if let (Ok(ip), Ok(len)) = (addr.parse::<IpAddr>(), len.parse::<u8>()) {
                let (v4, value) = key(ip);
                if len > if ip.is_ipv4() { 32 } else { 128 } {
                    return false;
                }
                self.networks
                    .entry((v4, len))
                    .or_default()
                    .insert(mask(value, v4, len), (list.to_string(), e.clone()));
                return true;
            }
        }
        // A URL: its host.
        let host = e
            .split_once("://")
            .map_or(e.as_str(), |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = host.split(':').next().unwrap_or("");
        if host.contains('.')
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' || b == b'*'
            })
        {
            let host = host.trim_start_matches("*.");
            if host != e && host.parse::<IpAddr>().is_ok() {
                return self.add(host, list);
            }
            self.domains.insert(host.to_string(), list.to_string());
            return true;
        }
        false
    }

    /// Add every entry of `text`; `origin` names the list. Returns the
    /// entries added.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<usize, IntelError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            return self.add_stix(text, origin);
        }
        let mut added = 0;
        let mut column: Option<usize> = None;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split(['#', ';']).next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.contains(',') {
                let fields: Vec<&str> = line.split(',').map(str::trim).collect();
                if n == 0 || column.is_none() {
                    let named = fields.iter().position(|f| {
                        matches!(
                            f.to_ascii_lowercase().trim_matches('"'),
                            "domain" | "ip" | "indicator" | "value" | "ioc" | "host" | "url"
                        )
                    });
                    if let Some(c) = named {
                        column = Some(c);
                        continue;
                    }
                    column.get_or_insert(0);
                }
                let c = column.unwrap_or(0);
                if fields.get(c).is_some_and(|f| self.add(f, origin)) {
                    added += 1;
                }
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            // hosts file: address then names
            let entries: &[&str] = match fields.as_slice() {
                [first, rest @ ..] if !rest.is_empty() && first.parse::<IpAddr>().is_ok() => rest,
                all => all,
            };
            for f in entries {
                if self.add(f, origin) {
                    added += 1;
                }
            }
        }
        Ok(added)
    }

    fn add_stix(&mut self, text: &str, origin: &str) -> Result<usize, IntelError> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| IntelError::Stix {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let objects = doc
            .get("objects")
            .and_then(|o| o.as_array())
            .cloned()
            .unwrap_or_default();
        let mut added = 0;
        for o in objects
            .iter()
            .filter(|o| o.get("type").and_then(|t| t.as_str()) == Some("indicator"))
        {
            let pattern = o.get("pattern").and_then(|p| p.as_str()).unwrap_or("");
            let name = o
                .get("name")
                .and_then(|n| n.as_str())
                .map_or_else(|| origin.to_string(), |n| format!("{origin}: {n}"));
            for part in pattern
                .split(['[', ']'])
                .flat_map(|p| p.split(" OR "))
                .flat_map(|p| p.split(" AND "))
            {
                let Some((path, value)) = part.split_once('=') else {
                    continue;
                };
                let path = path.trim();
                if matches!(
                    path,
                    "domain-name:value" | "ipv4-addr:value" | "ipv6-addr:value" | "url:value"
                ) && self.add(value.trim().trim_matches('\''), &name)
                {
                    added += 1;
                }
            }
        }
        Ok(added)
    }

    /// Load a file.
    pub fn load(&mut self, path: &Path) -> Result<usize, IntelError> {
        let text = std::fs::read_to_string(path).map_err(|source| IntelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.add_text(&text, &name)
    }

    /// The listed domain `name` falls under (itself or a parent).
    pub fn domain(&self, name: &str) -> Option<Hit> {
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = lower.as_str();
        loop {
            if let Some(list) = self.domains.get(rest) {
                return Some(Hit {
                    list: list.clone(),
                    entry: rest.to_string(),
                });
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// The listed address or network `ip` falls in.
    pub fn address(&self, ip: IpAddr) -> Option<Hit> {
        if let Some(list) = self.addresses.get(&ip) {
            return Some(Hit {
                list: list.clone(),
                entry: ip.to_string(),
            });
        }
        let (v4, value) = key(ip);
        self.networks
            .iter()
            .filter(|((fam, _), _)| *fam == v4)
            .find_map(|((_, len), table)| table.get(&mask(value, v4, *len)))
            .map(|(list, entry)| Hit {
                list: list.clone(),
                entry: entry.clone(),
            })
    }
}

/// The analyser: flags questions, CNAME targets and answered addresses on
/// the lists, one finding per (client, listed entry), updated as it repeats.
#[derive(Debug)]
pub struct DnsIntelMatcher {
    lists: IntelLists,
    seen: HashMap<(IpAddr, String), (Finding, u64)>,
    reported: HashSet<(IpAddr, String, u64)>,
    capacity: usize,
}

impl DnsIntelMatcher {
    /// A matcher over `lists`.
    pub fn new(lists: IntelLists) -> Self {
        DnsIntelMatcher {
            lists,
            seen: HashMap::new(),
            reported: HashSet::new(),
            capacity: 65_536,
        }
    }

    fn hit(
        &mut self,
        dns: &DnsEvent,
        client: IpAddr,
        what: &str,
        hit: Hit,
        kind: &'static str,
        out: &mut dyn FindingSink,
    ) {
        if self.seen.len() >= self.capacity {
            self.seen.clear();
            self.reported.clear();
        }
        let now = dns.ctx.ts;
        let key = (client, format!("{kind}:{}", hit.entry));
        let entry = self.seen.entry(key.clone()).or_insert_with(|| {
            let title = match kind {
                "dns_blocklisted_domain" => {
                    format!("{client} looked up listed domain {}", hit.entry)
                }
                _ => format!("{client} was given listed address {}", hit.entry),
            };
            let mut f = Finding::new(
                kind,
                title,
                FindingCategory::CommandAndControl,
                Severity::High,
                0.8,
                TimeRange::at(now),
                PRODUCER,
            )
            .with_id(format!("{client}:{}", hit.entry))
            .with_mitre(["T1071.004"])
            .with_entity(EntityRole::Source, EntityValue::Host { ip: client })
            .with_fact("list", hit.list.clone())
            .with_fact("entry", hit.entry.clone());
            f = match hit.entry.parse::<IpAddr>() {
                Ok(ip) => f.with_entity(EntityRole::Related, EntityValue::Host { ip }),
                Err(_) if hit.entry.contains('/') => f.with_entity(
                    EntityRole::Related,
                    EntityValue::Network {
                        cidr: hit.entry.clone(),
                    },
                ),
                Err(_) => f.with_entity(
                    EntityRole::Related,
                    EntityValue::Domain {
                        name: hit.entry.clone(),
                    },
                ),
            };
            (f, 0)
        });
        entry.1 += 1;
        let n = entry.1;
        entry.0.time.extend(now);
        entry.0.evidence.summary = format!(
            "{what} matched {} on list {} ({n} time(s) from {client}, last in packet {})",
            hit.entry, hit.list, dns.ctx.packet_number
        );
        if entry.0.evidence.packets.len() < 16 {
            entry.0.evidence.packets.push(dns.ctx.packet_number);
        }
        // Report the first match, then at 10, 100, … matches.
        if n == 1 || (n.is_power_of_two() && n >= 8) {
            let f = entry.0.clone();
            if self.reported.insert((client, key.1, n)) {
                out.finding(f);
            }
        }
    }
}

impl Analyzer for DnsIntelMatcher {
    fn name(&self) -> &'static str {
        "dns_intel"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.seen.len() * 600 + self.lists.len() * 64
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Dns(dns) = event else {
            return;
        };
        if self.lists.is_empty() {
            return;
        }
        let client = if dns.is_response {
            dns.ctx.dst.ip
        } else {
            dns.ctx.src.ip
        };
        if !dns.is_response {
            for q in &dns.questions {
                if let Some(hit) = self.lists.domain(q.name.as_str()) {
                    let what = format!("query {} {}", q.qtype, q.name);
                    self.hit(dns, client, &what, hit, "dns_blocklisted_domain", out);
                }
            }
            return;
        }
        for a in &dns.answers {
            match &*a.rtype {
                "A" | "AAAA" => {
                    if let Some(hit) = a
                        .data
                        .parse::<IpAddr>()
                        .ok()
                        .and_then(|ip| self.lists.address(ip))
                    {
                        let what = format!("answer {} {} {}", a.name, a.rtype, a.data);
                        self.hit(dns, client, &what, hit, "dns_blocklisted_address", out);
                    }
                }
                "CNAME" => {
                    if let Some(hit) = self.lists.domain(&a.data) {
                        let what = format!("answer {} CNAME {}", a.name, a.data);
                        self.hit(dns, client, &what, hit, "dns_blocklisted_domain", out);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_load_and_match() {
        let mut l = IntelLists::default();
        let plain = "# plain\nbad.example\n203.0.113.7\n198.51.100.0/24\n";
        assert_eq!(l.add_text(plain, "plain.txt").unwrap(), 3);
        let hosts = "0.0.0.0 ads.example tracker.example\n127.0.0.1 localhost.evil\n";
        assert_eq!(l.add_text(hosts, "hosts").unwrap(), 3);
        let csv = "first_seen,value,note\n2024-01-01,c2.example,x\n2024-01-02,192.0.2.9,y\n";
        assert_eq!(l.add_text(csv, "feed.csv").unwrap(), 2);
        let stix = r#"{"type":"bundle","objects":[{"type":"indicator","name":"Emotet C2","pattern":"[domain-name:value = 'emo.example'] OR [ipv4-addr:value = '192.0.2.66']","pattern_type":"stix"},{"type":"indicator","pattern":"[url:value = 'http://drop.example:8080/x']"}]}"#;
        assert_eq!(l.add_text(stix, "iocs.json").unwrap(), 3);
        assert_eq!(l.domain("www.Bad.Example.").unwrap().entry, "bad.example");
        assert_eq!(l.domain("deep.a.c2.example").unwrap().list, "feed.csv");
        assert_eq!(
            l.domain("emo.example").unwrap().list,
            "iocs.json: Emotet C2"
        );
        assert_eq!(l.domain("drop.example").unwrap().list, "iocs.json");
        assert!(l.domain("notbad.example").is_none());
        assert!(l.domain("example").is_none());
        assert_eq!(
            l.address("198.51.100.77".parse().unwrap()).unwrap().entry,
            "198.51.100.0/24"
        );
        assert_eq!(
            l.address("192.0.2.66".parse().unwrap()).unwrap().list,
            "iocs.json: Emotet C2"
        );
        assert!(l.address("198.51.101.1".parse().unwrap()).is_none());
        assert!(l.add_text("{not json", "x.json").is_err());
        assert!(!l.add("10.0.0.0/33", "bad"));
        assert!(!l.add("2001:db8::/129", "bad"));
    }
}
