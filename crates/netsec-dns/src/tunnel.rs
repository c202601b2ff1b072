//! DNS tunnels: data carried in the names a client asks for (upstream) and
//! in the answers it gets (downstream), as iodine, dnscat2 and dns2tcp do.
//!
//! State is one entry per (client, registered domain): queries, unique
//! subdomains (left of the registered domain), their mean length and
//! longest label, the character histogram of the unique subdomains and its
//! Shannon entropy, record types asked, bytes carried each way and the
//! query rate.
//!
//! A `dns_tunnel` finding needs **all** of (defaults in [`TunnelConfig`]):
//! volume (`min_unique_subdomains` unique names carrying `min_query_bytes`),
//! uniqueness (`min_unique_ratio` of the queries ask a name not asked
//! before), length (`min_mean_subdomain_length`) and character set: entropy
//! (`min_char_entropy` bits per character) or bytes no hostname has
//! (`min_non_hostname_share`, iodine's base128 and base64) or, for names of
//! hex digits (`min_hex_share`, dnscat2), twice the bytes
//! (`min_hex_query_bytes`). CDN, anti-virus and telemetry
//! lookups with long hashed labels stay quiet because they miss at least
//! one: hex hashes carry at most 4 bits per character, a CDN client asks
//! few distinct names per domain, and the few services that do look up
//! thousands of encoded names (file-reputation lookups) are allow-listed by
//! registered domain (`allow_domains`).
//!
//! Confidence, once every threshold is crossed, in [0.5, 1]:
//!
//! ```text
//! 0.5 + 0.125 × ( min(1, unique / (4 × min_unique_subdomains))
//!               + min(1, query_bytes / (4 × min_query_bytes))
//!               + max(min(1, (entropy − min_char_entropy) / 1 bit),
//!                     min(1, non_hostname_share / (2 × min_non_hostname_share)),
//!                     1 if the hex alternative is crossed)
//!               + share of queries for TXT, NULL, CNAME, MX, SRV, KEY or PRIVATE records )
//! ```
//!
//! Severity high from 0.8, medium below.
//!
//! ATT&CK: T1071.004 (Application Layer Protocol: DNS), T1048.003
//! (Exfiltration Over Unencrypted Non-C2 Protocol), T1572 (Protocol
//! Tunneling).
//!
//! Known false positives: services that encode queries in names and are not
//! on the allow-list (DNSBL-style reputation lookups of hashes, some
//! telemetry). Blind spots: a tunnel slow enough to stay under the volume
//! thresholds within `idle_secs`; one spread over many registered domains;
//! one that encodes data in hex and carries less than `min_hex_query_bytes`
//! (hex hashes of CDN and telemetry names look the same, and are told apart
//! only by that volume); DNS over HTTPS or TLS, which netsec does not decrypt.

use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, Comparison, DnsEvent, DnsQuestion, Endpoint, EntityRole, EntityValue,
    Finding, FindingCategory, FindingSink, Interests, Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::name;

const PRODUCER: &str = "netsec-dns/tunnel";

/// Thresholds and limits of the tunnel detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TunnelConfig {
    /// Run this detector (default: yes).
    pub enabled: bool,
    /// Unique subdomains under one registered domain from one client, at
    /// least (ours: 40; iodine sends that many in its first seconds, a
    /// browser asks a handful of names per site).
    pub min_unique_subdomains: u64,
    /// Bytes of unique subdomain names, at least (ours: 4 KiB, about twenty
    /// full iodine queries; 40 CDN names of 40 hex characters are 1.6 KiB).
    pub min_query_bytes: u64,
    /// Mean length of the unique subdomains, characters (ours: 24; Farnham
    /// and Atlasis, "Detecting DNS Tunnels Using Character Frequency
    /// Analysis", SANS 2013, find tunnel names far longer than the ~10
    /// characters of ordinary hostnames).
    pub min_mean_subdomain_length: f64,
    /// Shannon entropy of the characters of the unique subdomains, bits per
    /// character, case folded (ours: 4.3; hex carries at most 4, English
    /// hostnames about 4.1, base32 up to 5, base64 and base128 more;
    /// case is folded because resolvers may randomise it, draft-vixie-dnsext-dns0x20).
    pub min_char_entropy: f64,
    /// Share of the subdomain bytes that no hostname has (outside letters,
    /// digits and `-`, the LDH rule of RFC 952 and RFC 1123 §2.1), at
    /// least (ours: 0.1): the alternative to `min_char_entropy`.
    /// iodine's base128 and base64 upstream encodings carry such bytes; its
    /// size probes and the compressed data of a quiet tunnel repeat enough
    /// to keep the entropy low (3.4 bits per character measured on
    /// testdata/dns/iodine.pcap), so entropy alone misses them.
    pub min_non_hostname_share: f64,
    /// Bytes of unique subdomain names, at least, for a pair whose names are
    /// hex digits (`min_hex_share`) instead of crossing `min_char_entropy`
    /// or `min_non_hostname_share` (ours: 8 KiB, twice `min_query_bytes`:
    /// hex carries 4 bits a character, so the same data). dnscat2 encodes
    /// its packets in hex (its doc/protocol.md): at most 4 bits a
    /// character, it never crosses the entropy threshold.
    pub min_hex_query_bytes: u64,
    /// Share of the subdomain bytes that are hex digits (`0-9a-f`, case
    /// folded), at least, for the hex alternative (ours: 0.95).
    pub min_hex_share: f64,
    /// Share of queries that ask a new name, at least (ours: 0.5; a tunnel
    /// numbers every query, a cache miss repeats names).
    pub min_unique_ratio: f64,
    /// Registered domains (and their subdomains) never reported: services
    /// that look up encoded hashes by DNS by design. Defaults: Sophos Live
    /// Protection (`sophosxl.net`), McAfee GTI (`avqs.mcafee.com`, under
    /// `mcafee.com`), Team Cymru's Malware Hash Registry (`hash.cymru.com`),
    /// and the DNSBL/URIBL services Spamhaus, SURBL and URIBL.
    pub allow_domains: Vec<String>,
    /// (client, domain) pairs tracked at once; the oldest is evicted.
    pub capacity: usize,
    /// Unique subdomain names remembered per pair (counting stops there).
    pub max_names_per_pair: usize,
    /// A pair idle this long is over, seconds (ours: 600).
    pub idle_secs: f64,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            enabled: true,
            min_unique_subdomains: 40,
            min_query_bytes: 4096,
            min_mean_subdomain_length: 24.0,
            min_char_entropy: 4.3,
            min_non_hostname_share: 0.1,
            min_hex_query_bytes: 8192,
            min_hex_share: 0.95,
            min_unique_ratio: 0.5,
            allow_domains: [
                "sophosxl.net",
                "mcafee.com",
                "cymru.com",
                "spamhaus.org",
                "surbl.org",
                "uribl.com",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            capacity: 8192,
            max_names_per_pair: 4096,
            idle_secs: 600.0,
        }
    }
}

/// Record types a tunnel favours (they carry the most data downstream):
/// iodine's NULL, TXT, CNAME, MX, SRV and private-use types, dns2tcp's TXT
/// and KEY.
const TUNNEL_TYPES: [&str; 7] = ["TXT", "NULL", "CNAME", "MX", "SRV", "KEY", "PRIVATE"];

fn type_name(code: u16, mnemonic: &str) -> &str {
    if (65280..=65534).contains(&code) {
        "PRIVATE"
    } else {
        mnemonic
    }
}

/// A (client, registered domain) pair's key: the domain by its 64-bit hash,
/// so that looking a pair up copies no string (the domain's text is kept
/// in the pair).
type PairKey = (IpAddr, u64);

/// What one client asked under one registered domain. Lengths and the
/// histogram count wire bytes of the labels (escapes decoded, dots not
/// counted).
#[derive(Debug, Clone)]
struct Pair {
    first: Timestamp,
    last: Timestamp,
    queries: u64,
    /// The registered domain.
    domain: Box<str>,
    names: HashSet<u64, ahash::RandomState>,
    unique: u64,
    subdomain_bytes: u64,
    longest_label: usize,
    chars: Box<[u32; 256]>,
    /// [`Self::entropy`], [`Self::non_hostname_share`] and
    /// [`Self::hex_share`] of `chars`, each once computed (cleared when a
    /// name is counted): the thresholds, the confidence and the finding
    /// read them.
    entropy: Cell<Option<f64>>,
    non_hostname: Cell<Option<f64>>,
    hex: Cell<Option<f64>>,
    /// Queries by record type (PRIVATE for the private-use range).
    types: Vec<(Box<str>, u64)>,
    answer_bytes: u64,
    examples: Vec<String>,
    resolver: Endpoint,
    community_id: Option<String>,
    /// Unique names at the last report (0: never reported).
    reported: u64,
    /// Queries at the last report.
    reported_queries: u64,
}

impl Pair {
    fn new(ts: Timestamp, resolver: Endpoint, domain: &str) -> Self {
        Pair {
            first: ts,
            last: ts,
            queries: 0,
            domain: domain.into(),
            names: HashSet::with_hasher(name::fixed_hasher()),
            unique: 0,
            subdomain_bytes: 0,
            longest_label: 0,
            chars: Box::new([0; 256]),
            entropy: Cell::new(None),
            non_hostname: Cell::new(None),
            hex: Cell::new(None),
            types: Vec::new(),
            answer_bytes: 0,
            examples: Vec::new(),
            resolver,
            community_id: None,
            reported: 0,
            reported_queries: 0,
        }
    }

    fn mean_length(&self) -> f64 {
        if self.unique == 0 {
            0.0
        } else {
            self.subdomain_bytes as f64 / self.unique as f64
        }
    }

    fn entropy(&self) -> f64 {
        cached(&self.entropy, || name::entropy_of(&self.chars[..]))
    }

    /// A name was counted: the histogram changed.
    fn chars_changed(&self) {
        self.entropy.set(None);
        self.non_hostname.set(None);
        self.hex.set(None);
    }

    fn non_hostname_share(&self) -> f64 {
        cached(&self.non_hostname, || self.compute_non_hostname_share())
    }

    fn hex_share(&self) -> f64 {
        cached(&self.hex, || self.compute_hex_share())
    }

    fn compute_non_hostname_share(&self) -> f64 {
        let odd: u64 = self
            .chars
            .iter()
            .enumerate()
            .filter(|(b, _)| {
                u8::try_from(*b).map_or(true, |b| !(b.is_ascii_alphanumeric() || b == b'-'))
            })
            .map(|(_, &n)| u64::from(n))
            .sum();
        if self.subdomain_bytes == 0 {
            0.0
        } else {
            odd as f64 / self.subdomain_bytes as f64
        }
    }

    /// Share of the subdomain bytes that are hex digits (the histogram is
    /// lower-cased).
    fn compute_hex_share(&self) -> f64 {
        let digits: u64 = self
            .chars
            .get(usize::from(b'0')..=usize::from(b'9'))
            .into_iter()
            .chain(self.chars.get(usize::from(b'a')..=usize::from(b'f')))
            .flatten()
            .map(|&n| u64::from(n))
            .sum();
        if self.subdomain_bytes == 0 {
            0.0
        } else {
            digits as f64 / self.subdomain_bytes as f64
        }
    }

    fn unique_ratio(&self) -> f64 {
        if self.queries == 0 {
            0.0
        } else {
            self.unique as f64 / self.queries as f64
        }
    }

    fn tunnel_type_share(&self) -> f64 {
        let tunnel: u64 = self
            .types
            .iter()
            .filter(|(t, _)| TUNNEL_TYPES.contains(&&**t))
            .map(|(_, n)| n)
            .sum();
        if self.queries == 0 {
            0.0
        } else {
            tunnel as f64 / self.queries as f64
        }
    }

    fn per_minute(&self) -> f64 {
        let secs = self.last.since(self.first).as_secs_f64().max(1.0);
        self.queries as f64 * 60.0 / secs
    }

    fn memory(&self) -> usize {
        std::mem::size_of::<Pair>() + 1024 + self.names.len() * 16 + 256
    }
}

/// The value in `cell`, computed by `f` and kept if there is none.
fn cached(cell: &Cell<Option<f64>>, f: impl FnOnce() -> f64) -> f64 {
    if let Some(v) = cell.get() {
        return v;
    }
    let v = f();
    cell.set(Some(v));
    v
}

/// The DNS tunnel detector.
#[derive(Debug)]
pub struct DnsTunnelDetector {
    config: TunnelConfig,
    pairs: HashMap<PairKey, Pair, ahash::RandomState>,
    order: VecDeque<PairKey>,
    evicted: u64,
    hasher: ahash::RandomState,
}

impl DnsTunnelDetector {
    /// A detector with these thresholds.
    pub fn new(config: TunnelConfig) -> Self {
        DnsTunnelDetector {
            config,
            pairs: HashMap::with_hasher(name::fixed_hasher()),
            order: VecDeque::new(),
            evicted: 0,
            hasher: name::fixed_hasher(),
        }
    }

    /// Pairs dropped to stay within the capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn allowed(&self, registered: &str) -> bool {
        self.config
            .allow_domains
            .iter()
            .any(|a| name::within(registered, a.trim_end_matches('.')))
    }

    fn make_room(&mut self) {
        while self.pairs.len() >= self.config.capacity.max(1) {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if self.pairs.remove(&old).is_some() {
                self.evicted += 1;
            }
        }
    }

    fn key(&self, client: IpAddr, registered: &str) -> PairKey {
        (client, self.hasher.hash_one(registered))
    }

    fn query(&mut self, event: &DnsEvent, out: &mut dyn FindingSink) {
        for q in &event.questions {
            name::with_name_split(&q.name, |parts| {
                if let Some(parts) = parts {
                    self.count_query(event, q, parts, out);
                }
            });
        }
        if self.order.len() > 2 * self.config.capacity.max(1) {
            let pairs = &self.pairs;
            self.order.retain(|k| pairs.contains_key(k));
        }
    }

    /// One question of a query, its name split.
    fn count_query(
        &mut self,
        event: &DnsEvent,
        q: &DnsQuestion,
        parts: name::NameSplit<'_>,
        out: &mut dyn FindingSink,
    ) {
        if self.allowed(parts.registered) {
            return;
        }
        let key = self.key(event.ctx.src.ip, parts.registered);
        let max_names = self.config.max_names_per_pair;
        let subdomain_hash = self.hasher.hash_one(parts.subdomain);
        let pair = match self.pairs.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) => {
                self.make_room();
                self.order.push_back(key);
                self.pairs
                    .entry(key)
                    .or_insert_with(|| Pair::new(event.ctx.ts, event.ctx.dst, parts.registered))
            }
        };
        pair.last = event.ctx.ts;
        pair.queries += 1;
        let rtype = type_name(q.qtype_code, &q.qtype);
        match pair.types.iter_mut().find(|(t, _)| **t == *rtype) {
            Some((_, n)) => *n += 1,
            None => pair.types.push((rtype.into(), 1)),
        }
        if pair.community_id.is_none() {
            pair.community_id.clone_from(&event.ctx.community_id);
        }
        if parts.subdomain.is_empty() {
            return;
        }
        if pair.names.len() < max_names && pair.names.insert(subdomain_hash) {
            pair.unique += 1;
            pair.chars_changed();
            // The subdomain's wire bytes, labels joined by dots: no
            // escape to decode; the dots are counted with the rest in one
            // pass and taken out again. A count never reaches 2^32 (at most
            // `max_names_per_pair` names of 254 bytes).
            let dots_before = pair.chars[usize::from(b'.')];
            for &b in parts.subdomain {
                let slot = &mut pair.chars[usize::from(b)];
                *slot = slot.wrapping_add(1);
            }
            let dots = pair.chars[usize::from(b'.')].wrapping_sub(dots_before);
            pair.chars[usize::from(b'.')] = dots_before;
            pair.subdomain_bytes += (parts.subdomain.len() as u64).saturating_sub(u64::from(dots));
            pair.longest_label = pair.longest_label.max(parts.longest_label);
            if pair.examples.len() < 3 {
                pair.examples
                    .push(q.name.as_str().chars().take(100).collect());
            }
        }
        if let Some(finding) = self.check(&key, false) {
            out.finding(finding);
        }
    }

    fn response(&mut self, event: &DnsEvent) {
        let client = event.ctx.dst.ip;
        let carried: usize = event.answers.iter().map(|a| a.data.len()).sum::<usize>();
        for q in &event.questions {
            let key =
                name::with_name_split(&q.name, |parts| Some(self.key(client, parts?.registered)));
            if let Some(pair) = key.and_then(|key| self.pairs.get_mut(&key)) {
                pair.answer_bytes += carried as u64;
            }
        }
    }

    /// The keys of the pairs `keep` selects, in (client, domain) order:
    /// findings at a tick and at the end come in the same order on every run.
    fn sorted_keys(&self, keep: impl Fn(&Pair) -> bool) -> Vec<PairKey> {
        let mut keys: Vec<(IpAddr, &str, PairKey)> = self
            .pairs
            .iter()
            .filter(|(_, p)| keep(p))
            .map(|(k, p)| (k.0, &*p.domain, *k))
            .collect();
        keys.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        keys.into_iter().map(|(_, _, k)| k).collect()
    }

    fn crosses(&self, p: &Pair) -> bool {
        let c = &self.config;
        p.unique >= c.min_unique_subdomains
            && p.subdomain_bytes >= c.min_query_bytes
            && p.mean_length() >= c.min_mean_subdomain_length
            && p.unique_ratio() >= c.min_unique_ratio
            && (p.entropy() >= c.min_char_entropy
                || p.non_hostname_share() >= c.min_non_hostname_share
                || self.hex_crosses(p))
    }

    /// The hex alternative to the character-set thresholds: names of hex
    /// digits carrying twice the bytes.
    fn hex_crosses(&self, p: &Pair) -> bool {
        p.subdomain_bytes >= self.config.min_hex_query_bytes
            && p.hex_share() >= self.config.min_hex_share
    }

    /// The finding for `key` if it crosses the thresholds and has grown
    /// enough since the last report (doubled), or `last` and it changed.
    fn check(&mut self, key: &PairKey, last: bool) -> Option<Finding> {
        let pair = self.pairs.get(key)?;
        let due = if last {
            pair.reported > 0 && pair.queries > pair.reported_queries
        } else {
            pair.reported == 0 || pair.unique >= 2 * pair.reported
        };
        // `due` first: it is cheap, and once a tunnel is reported most of
        // its queries are not due, so its entropy is not computed again.
        if !due || !self.crosses(pair) {
            return None;
        }
        let finding = self.finding(key.0, pair);
        if let Some(pair) = self.pairs.get_mut(key) {
            pair.reported = pair.unique;
            pair.reported_queries = pair.queries;
        }
        Some(finding)
    }

    fn confidence(&self, p: &Pair) -> f64 {
        let c = &self.config;
        let ratio = |x: f64, scale: f64| {
            if scale > 0.0 {
                (x / scale).clamp(0.0, 1.0)
            } else {
                1.0
            }
        };
        0.5 + 0.125
            * (ratio(p.unique as f64, 4.0 * c.min_unique_subdomains as f64)
                + ratio(p.subdomain_bytes as f64, 4.0 * c.min_query_bytes as f64)
                + ratio(p.entropy() - c.min_char_entropy, 1.0)
                    .max(ratio(
                        p.non_hostname_share(),
                        2.0 * c.min_non_hostname_share,
                    ))
                    .max(if self.hex_crosses(p) { 1.0 } else { 0.0 })
                + p.tunnel_type_share())
    }

    fn finding(&self, client: IpAddr, p: &Pair) -> Finding {
        let c = &self.config;
        let client_ip = client;
        // The address written once for the title, summary, id and fact.
        let client = client_ip.to_string();
        let domain = &p.domain;
        let confidence = self.confidence(p);
        let severity = if confidence >= 0.8 {
            Severity::High
        } else {
            Severity::Medium
        };
        let mut types: Vec<&(Box<str>, u64)> = p.types.iter().collect();
        types.sort_unstable();
        let mut types_text = String::new();
        for (i, (t, n)) in types.iter().enumerate() {
            if i > 0 {
                types_text.push_str(", ");
            }
            types_text.push_str(t);
            types_text.push(' ');
            // Writing to a String cannot fail.
            let _ = write!(types_text, "{n}");
        }
        let types = types_text;
        let summary = format!(
            "{client} asked {resolver} {queries} queries under {domain}: {unique} unique subdomains \
             (mean {mean:.0} characters, {entropy:.2} bits/character), {bytes} bytes up and \
             {down} bytes of answers down, {rate:.0} queries/min; record types {types}",
            resolver = p.resolver,
            queries = p.queries,
            unique = p.unique,
            mean = p.mean_length(),
            entropy = p.entropy(),
            bytes = p.subdomain_bytes,
            down = p.answer_bytes,
            rate = p.per_minute(),
        );
        let mut f = Finding::new(
            "dns_tunnel",
            format!("DNS tunnel from {client} through {domain}"),
            FindingCategory::Tunneling,
            severity,
            confidence,
            TimeRange {
                start: p.first,
                end: p.last,
            },
            PRODUCER,
        );
        // The measurements and facts below, without growing twice.
        f.evidence.measurements.reserve_exact(12);
        f.evidence.facts.reserve_exact(5);
        f = f
            .with_id(format_args!("{client}:{domain}"))
            .with_mitre(["T1071.004", "T1048.003", "T1572"])
            .with_entity(EntityRole::Source, EntityValue::Host { ip: client_ip })
            .with_entity(
                EntityRole::Related,
                EntityValue::Domain {
                    name: domain.to_string(),
                },
            )
            .with_entity(
                EntityRole::Related,
                EntityValue::Service {
                    endpoint: p.resolver,
                    transport: "udp".to_string(),
                },
            )
            .with_summary(summary)
            .with_measurement(
                "unique_subdomains",
                p.unique as f64,
                "names",
                Comparison::GreaterOrEqual,
                c.min_unique_subdomains as f64,
            )
            .with_measurement(
                "query_bytes",
                p.subdomain_bytes as f64,
                "bytes",
                Comparison::GreaterOrEqual,
                c.min_query_bytes as f64,
            )
            .with_measurement(
                "mean_subdomain_length",
                p.mean_length(),
                "characters",
                Comparison::GreaterOrEqual,
                c.min_mean_subdomain_length,
            )
            .with_measurement(
                "char_entropy",
                p.entropy(),
                "bits/character",
                Comparison::GreaterOrEqual,
                c.min_char_entropy,
            )
            .with_measurement(
                "non_hostname_share",
                p.non_hostname_share(),
                "",
                Comparison::GreaterOrEqual,
                c.min_non_hostname_share,
            )
            .with_measurement(
                "unique_ratio",
                p.unique_ratio(),
                "",
                Comparison::GreaterOrEqual,
                c.min_unique_ratio,
            )
            .with_value("hex_share", p.hex_share(), "")
            .with_value("queries", p.queries as f64, "queries")
            .with_value("queries_per_minute", p.per_minute(), "queries/min")
            .with_value("answer_bytes", p.answer_bytes as f64, "bytes")
            .with_value("longest_label", p.longest_label as f64, "characters")
            .with_value("tunnel_record_share", p.tunnel_type_share(), "")
            .with_fact("client", client)
            .with_fact("domain", domain.to_string())
            .with_fact("record_types", types)
            .with_fact("example_names", p.examples.join(" "));
        if let Some(id) = &p.community_id {
            f = f.with_fact("community_id", id.clone());
        }
        f
    }
}

impl Analyzer for DnsTunnelDetector {
    fn name(&self) -> &'static str {
        "dns_tunnel"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.pairs.values().map(Pair::memory).sum::<usize>() + self.order.len() * 48
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        // A pair costs about 1.5 KiB plus 16 bytes a remembered name.
        let per_pair = 1536 + 16 * self.config.max_names_per_pair / 4;
        self.config.capacity = self.config.capacity.min((bytes / per_pair).max(256));
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Dns(dns) = event else { return };
        if dns.is_response {
            self.response(dns);
        } else if dns.opcode == 0 {
            self.query(dns, out);
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        let idle = self.config.idle_secs;
        let over = self.sorted_keys(|p| now.since(p.last).as_secs_f64() > idle);
        for key in over {
            if let Some(f) = self.check(&key, true) {
                out.finding(f);
            }
            self.pairs.remove(&key);
        }
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        for key in self.sorted_keys(|_| true) {
            if let Some(f) = self.check(&key, true) {
                out.finding(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{Direction, DnsQuestion, EventContext, Transport};
    use std::net::Ipv4Addr;

    fn query(client: u8, name: &str, secs: u64) -> AppEvent {
        let ep = |a, p| Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), p);
        AppEvent::Dns(DnsEvent {
            ctx: EventContext {
                ts: Timestamp::from_secs_nanos(1_700_000_000 + i64::try_from(secs).unwrap_or(0), 0),
                packet_number: secs,
                flow_id: None,
                community_id: None,
                src: ep(client, 40_000),
                dst: ep(1, 53),
                transport: Transport::Udp,
                direction: Direction::ToServer,
            },
            id: 1,
            is_response: false,
            opcode: 0,
            rcode: 0,
            flags: ["rd"].into_iter().collect(),
            questions: vec![DnsQuestion {
                name: name.into(),
                qtype: "TXT".into(),
                qtype_code: 16,
                qclass: 1,
            }],
            answers: vec![],
            authorities: vec![],
            additionals: vec![],
            query: None,
            unanswered: false,
        })
    }

    /// A 60-character base64-like label from `i`.
    fn label(i: u64) -> String {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789+/_-";
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..60)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(alphabet[(x % alphabet.len() as u64) as usize])
            })
            .collect()
    }

    #[test]
    fn reports_once_then_again_when_doubled() {
        let mut d = DnsTunnelDetector::new(TunnelConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..200 {
            d.on_event(
                &query(5, &format!("{}.t.evil.example", label(i)), i),
                &mut out,
            );
        }
        // Crossed at 69 names (4096 bytes / 60), again at 138.
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out
            .iter()
            .all(|f| f.id == "dns_tunnel:10.0.0.5:evil.example"));
        d.finish(&mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out.last()
                .and_then(|f| f.evidence.measurements.first())
                .map(|m| m.value),
            Some(200.0)
        );
    }

    #[test]
    fn repeated_names_are_not_unique() {
        let mut d = DnsTunnelDetector::new(TunnelConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..400 {
            d.on_event(
                &query(5, &format!("{}.cdn.example", label(i % 30)), i),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn the_table_is_bounded() {
        let config = TunnelConfig {
            capacity: 4,
            ..TunnelConfig::default()
        };
        let mut d = DnsTunnelDetector::new(config);
        let mut out: Vec<Finding> = Vec::new();
        for c in 0..10u8 {
            d.on_event(&query(c, "www.example.com", u64::from(c)), &mut out);
        }
        assert_eq!(d.pairs.len(), 4);
        assert_eq!(d.evicted(), 6);
        // Idle pairs end on a tick.
        d.on_tick(Timestamp::from_secs_nanos(1_700_010_000, 0), &mut out);
        assert_eq!(d.pairs.len(), 0);
        assert!(out.is_empty());
    }
}
