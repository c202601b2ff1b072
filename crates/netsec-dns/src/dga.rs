//! Domain generation algorithms (DGA): a client that resolves a burst of
//! algorithmic-looking registered domains, most of which do not exist
//! (NXDOMAIN), until one that its operator registered resolves.
//!
//! Each name is scored by its registered label (`xjwqkzvb` of
//! `a.xjwqkzvb.net`, the part an owner chose) with [`score_label`]: a
//! character-bigram model of real popular domains (the bundled table
//! `bigram_table.rs`, built by `scripts/build-dga-bigrams.sh` from the npm
//! package `top-sites`) plus length, entropy, vowel and digit features.
//! Per client, the NXDOMAIN answers for distinct registered domains that
//! score at least `min_name_score` within `window_secs` are counted; at
//! `min_nxdomain` a `dns_dga` finding names them (a sample) and, once one
//! resolves, the name that did and its address.
//!
//! Confidence: `min(1, 0.4 + 0.3 × min(1, n / (3 × min_nxdomain)) + 0.2 ×
//! mean name score + 0.1 × [an algorithmic name resolved])`; severity high
//! once a generated name resolved (the bot found its server), medium
//! before.
//!
//! ATT&CK: T1568.002 (Dynamic Resolution: Domain Generation Algorithms).
//!
//! Known false positives: software that probes random names on purpose
//! (Chromium's NXDOMAIN-hijack check asks three random 7–15 letter names at
//! start-up: under `min_nxdomain`), and a resolver's own clients seen
//! behind it as one address. Blind spots: dictionary DGAs that join real
//! words (Suppobox, Matsnu) score like real names; a DGA that asks fewer
//! than `min_nxdomain` names per window; names resolved over DoH/DoT.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, Comparison, DnsEvent, Endpoint, EntityRole, EntityValue, Finding,
    FindingCategory, FindingSink, Interests, Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::bigram_table::{COUNTS, SYMBOLS};
use crate::name;

const PRODUCER: &str = "netsec-dns/dga";

/// Thresholds and limits of the DGA detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DgaConfig {
    /// Run this detector (default: yes).
    pub enabled: bool,
    /// Distinct algorithmic-looking registered domains answered NXDOMAIN
    /// to one client within the window, at least (ours: 10; Antonakakis et
    /// al., "From Throw-Away Traffic to Bots", USENIX Security 2012, cluster
    /// NXDOMAIN bursts of tens of names per bot per epoch).
    pub min_nxdomain: u64,
    /// Score at which a label looks algorithmic, in [0, 1] (ours: 0.65; see
    /// [`score_label`]. Measured on testdata/dns: 25 word-compound names of
    /// dead sites score 0.24–0.59, the 40 names of the recorded DGA
    /// 0.70–0.90; names that cross by chance are absorbed by
    /// `min_nxdomain`).
    pub min_name_score: f64,
    /// Labels shorter than this are not scored (too short to tell).
    pub min_label_length: usize,
    /// The burst window, seconds (ours: 300).
    pub window_secs: f64,
    /// Clients tracked at once; the least recently seen is evicted.
    pub capacity: usize,
    /// Names remembered per client (the count goes on past it).
    pub max_names_per_client: usize,
}

impl Default for DgaConfig {
    fn default() -> Self {
        DgaConfig {
            enabled: true,
            min_nxdomain: 10,
            min_name_score: 0.65,
            min_label_length: 6,
            window_secs: 300.0,
            capacity: 16_384,
            max_names_per_client: 64,
        }
    }
}

/// How algorithmic a label looks, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelScore {
    /// Mean log2 probability of the label's character transitions under the
    /// bigram model (start and end included); real names are near −3.5,
    /// random letters below −5.
    pub bigram_log2: f64,
    /// Shannon entropy of its characters, bits.
    pub entropy: f64,
    /// Share of vowels (a e i o u y) among its letters.
    pub vowel_ratio: f64,
    /// Share of digits among its characters.
    pub digit_ratio: f64,
    /// Length, characters.
    pub length: usize,
    /// The combined score in [0, 1]:
    /// `0.5·b + 0.15·e + 0.15·v + 0.1·d + 0.1·l` with
    /// `b = clamp((−bigram_log2 − 3.8) / 1.2)`,
    /// `e = clamp((entropy − 2.5) / 1.0)`,
    /// `v = clamp((0.32 − vowel_ratio) / 0.15)`,
    /// `d = clamp(digit_ratio / 0.3)`,
    /// `l = clamp((length − 6) / 6)`, clamp to [0, 1].
    pub score: f64,
}

/// `SYMBOL_OF[b]`: the index in [`SYMBOLS`] of byte `b` lower-cased, 0
/// (the table's start and end mark) for a byte outside it.
const SYMBOL_OF: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 1;
    while i < SYMBOLS.len() {
        let s = SYMBOLS[i];
        t[s as usize] = i as u8;
        if s.is_ascii_lowercase() {
            t[s.to_ascii_uppercase() as usize] = i as u8;
        }
        i += 1;
    }
    t
};

fn symbol(b: u8) -> Option<usize> {
    match SYMBOL_OF.get(usize::from(b)).copied().unwrap_or(0) {
        0 => None,
        i => Some(usize::from(i)),
    }
}

fn log2_transition_of(from: usize, to: usize) -> f64 {
    let row = COUNTS.get(from);
    let count = row.and_then(|r| r.get(to)).copied().unwrap_or(0);
    let total: u32 = row.map_or(0, |r| r.iter().map(|&c| u32::from(c)).sum());
    // Add-one (Laplace) smoothing over the 38 symbols.
    let p = (f64::from(count) + 1.0) / (f64::from(total) + SYMBOLS.len() as f64);
    p.log2()
}

/// Every [`log2_transition_of`], computed once (the same values: a label's
/// score does not change, it is only not recomputed per byte).
static LOG2_TRANSITIONS: std::sync::LazyLock<[[f64; 38]; 38]> = std::sync::LazyLock::new(|| {
    let mut t = [[0.0; 38]; 38];
    for (from, row) in t.iter_mut().enumerate() {
        for (to, cell) in row.iter_mut().enumerate() {
            *cell = log2_transition_of(from, to);
        }
    }
    t
});

/// Score a registered label (`example` of `example.com`).
///
/// ```
/// use netsec_dns::dga::score_label;
/// assert!(score_label("weatherforecast").score < 0.65);
/// assert!(score_label("qxvzkwjtpbnm").score > 0.65);
/// ```
pub fn score_label(label: &str) -> LabelScore {
    let bytes = label.as_bytes();
    let mut sum = 0.0;
    let mut transitions = 0u32;
    let mut prev = 0usize;
    let (mut letters, mut vowels, mut digits) = (0u32, 0u32, 0u32);
    let table = &*LOG2_TRANSITIONS;
    let log2_transition = |from: usize, to: usize| {
        table
            .get(from)
            .and_then(|row| row.get(to))
            .copied()
            .unwrap_or_else(|| log2_transition_of(from, to))
    };
    for &b in bytes {
        let lower = b.to_ascii_lowercase();
        if lower.is_ascii_alphabetic() {
            letters += 1;
            if b"aeiouy".contains(&lower) {
                vowels += 1;
            }
        } else if lower.is_ascii_digit() {
            digits += 1;
        }
        // A byte outside the table counts as the least likely transition.
        let next = symbol(b).unwrap_or(0);
        sum += log2_transition(prev, next);
        transitions += 1;
        prev = next;
    }
    sum += log2_transition(prev, 0);
    transitions += 1;
    let bigram_log2 = sum / f64::from(transitions);
    let length = bytes.len();
    let entropy = name::entropy(bytes);
    let vowel_ratio = if letters == 0 {
        0.0
    } else {
        f64::from(vowels) / f64::from(letters)
    };
    let digit_ratio = if length == 0 {
        0.0
    } else {
        f64::from(digits) / length as f64
    };
    let clamp = |x: f64| x.clamp(0.0, 1.0);
    let b = clamp((-bigram_log2 - 3.8) / 1.2);
    let e = clamp((entropy - 2.5) / 1.0);
    let v = clamp((0.32 - vowel_ratio) / 0.15);
    let d = clamp(digit_ratio / 0.3);
    let l = clamp((length as f64 - 6.0) / 6.0);
    LabelScore {
        bigram_log2,
        entropy,
        vowel_ratio,
        digit_ratio,
        length,
        score: 0.5 * b + 0.15 * e + 0.15 * v + 0.1 * d + 0.1 * l,
    }
}

/// One client's recent algorithmic NXDOMAIN names.
#[derive(Debug, Clone)]
struct Client {
    last: Timestamp,
    /// (time, registered domain, score), oldest first, within the window.
    names: VecDeque<(Timestamp, String, f64)>,
    /// Distinct names in the current burst, including those not remembered.
    count: u64,
    first: Timestamp,
    resolver: Endpoint,
    resolved: Option<(String, String)>,
    reported: u64,
    reported_resolved: bool,
}

/// The DGA detector.
#[derive(Debug)]
pub struct DgaDetector {
    config: DgaConfig,
    clients: BTreeMap<IpAddr, Client>,
    evicted: u64,
    /// Scores of the registered labels seen lately: a label is scored once
    /// (a client's lookups under one domain repeat its label), not once per
    /// response. Cleared when it holds [`SCORES_KEPT`] labels.
    scores: std::collections::HashMap<Box<str>, f64, ahash::RandomState>,
}

/// Labels whose score [`DgaDetector`] keeps.
const SCORES_KEPT: usize = 4096;

impl DgaDetector {
    /// A detector with these thresholds.
    pub fn new(config: DgaConfig) -> Self {
        DgaDetector {
            config,
            clients: BTreeMap::new(),
            evicted: 0,
            scores: std::collections::HashMap::with_hasher(name::fixed_hasher()),
        }
    }

    /// Clients dropped to stay within the capacity.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn algorithmic(&mut self, label: &str) -> Option<f64> {
        if label.len() < self.config.min_label_length {
            return None;
        }
        let s = match self.scores.get(label) {
            Some(&s) => s,
            None => {
                let s = score_label(label).score;
                if self.scores.len() >= SCORES_KEPT {
                    self.scores.clear();
                }
                self.scores.insert(label.into(), s);
                s
            }
        };
        (s >= self.config.min_name_score).then_some(s)
    }

    fn response(&mut self, event: &DnsEvent, out: &mut dyn FindingSink) {
        let client = event.ctx.dst.ip;
        let now = event.ctx.ts;
        let Some(q) = event.questions.first() else {
            return;
        };
        let split = name::with_name_split(&q.name, |parts| {
            let parts = parts?;
            Some((self.algorithmic(parts.label)?, parts.registered.to_string()))
        });
        // Most names are not algorithmic: only those are copied.
        let Some((score, registered)) = split else {
            return;
        };
        match event.rcode {
            3 => self.nxdomain(client, event.ctx.src, now, registered, score),
            0 => {
                let address = event
                    .answers
                    .iter()
                    .find(|a| a.rtype == "A" || a.rtype == "AAAA")
                    .map(|a| a.data.clone());
                let Some(address) = address else { return };
                let min = self.config.min_nxdomain;
                let Some(c) = self.clients.get_mut(&client) else {
                    return;
                };
                if c.count >= min && c.resolved.is_none() {
                    c.resolved = Some((registered, address));
                    c.last = now;
                }
            }
            _ => return,
        }
        if let Some(f) = self.check(client, false) {
            out.finding(f);
        }
    }

    fn nxdomain(
        &mut self,
        client: IpAddr,
        resolver: Endpoint,
        now: Timestamp,
        domain: String,
        score: f64,
    ) {
        if !self.clients.contains_key(&client) && self.clients.len() >= self.config.capacity.max(1)
        {
            let oldest = self
                .clients
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                self.clients.remove(&ip);
                self.evicted += 1;
            }
        }
        let window = self.config.window_secs;
        let max = self.config.max_names_per_client.max(1);
        let c = self.clients.entry(client).or_insert_with(|| Client {
            last: now,
            names: VecDeque::new(),
            count: 0,
            first: now,
            resolver,
            resolved: None,
            reported: 0,
            reported_resolved: false,
        });
        // A quiet gap longer than the window ends the burst (a new one
        // starts); within a burst, every distinct name counts.
        if now.since(c.last).as_secs_f64() > window && c.reported == 0 {
            c.names.clear();
            c.count = 0;
            c.first = now;
        }
        c.last = now;
        if c.names.iter().any(|(_, d, _)| *d == domain) {
            return;
        }
        if c.reported == 0 {
            while let Some((t, _, _)) = c.names.front() {
                if now.since(*t).as_secs_f64() > window {
                    c.names.pop_front();
                    c.count = c.count.saturating_sub(1);
                } else {
                    break;
                }
            }
            if let Some((t, _, _)) = c.names.front() {
                c.first = *t;
            } else {
                c.first = now;
            }
        }
        c.count += 1;
        if c.names.len() < max {
            c.names.push_back((now, domain, score));
        }
    }

    fn check(&mut self, ip: IpAddr, last: bool) -> Option<Finding> {
        let min = self.config.min_nxdomain;
        let c = self.clients.get(&ip)?;
        if c.count < min {
            return None;
        }
        let resolved_news = c.resolved.is_some() && !c.reported_resolved;
        let due = if last {
            c.reported > 0 && (c.count > c.reported || resolved_news)
        } else {
            c.reported == 0 || c.count >= 2 * c.reported || resolved_news
        };
        if !due {
            return None;
        }
        let f = self.finding(ip, c);
        if let Some(c) = self.clients.get_mut(&ip) {
            c.reported = c.count;
            c.reported_resolved = c.resolved.is_some();
        }
        Some(f)
    }

    fn finding(&self, ip: IpAddr, c: &Client) -> Finding {
        let cfg = &self.config;
        let n = c.count;
        let mean_score = if c.names.is_empty() {
            0.0
        } else {
            c.names.iter().map(|(_, _, s)| s).sum::<f64>() / c.names.len() as f64
        };
        let resolved = c.resolved.is_some();
        let confidence = (0.4
            + 0.3 * (n as f64 / (3.0 * cfg.min_nxdomain.max(1) as f64)).min(1.0)
            + 0.2 * mean_score
            + if resolved { 0.1 } else { 0.0 })
        .min(1.0);
        let severity = if resolved {
            Severity::High
        } else {
            Severity::Medium
        };
        let sample: Vec<&str> = c
            .names
            .iter()
            .take(20)
            .map(|(_, d, _)| d.as_str())
            .collect();
        let secs = c.last.since(c.first).as_secs_f64();
        let mut summary =
            format!(
            "{ip} got NXDOMAIN from {resolver} for {n} algorithmic-looking domains in {secs:.0} s \
             (mean name score {mean_score:.2}), e.g. {}",
            sample.iter().take(5).copied().collect::<Vec<_>>().join(", "),
            resolver = c.resolver,
        );
        if let Some((name, address)) = &c.resolved {
            summary.push_str(&format!("; then {name} resolved to {address}"));
        }
        let mut f = Finding::new(
            "dns_dga",
            format!("Domain generation algorithm on {ip}"),
            FindingCategory::CommandAndControl,
            severity,
            confidence,
            TimeRange {
                start: c.first,
                end: c.last,
            },
            PRODUCER,
        )
        .with_id(ip)
        .with_mitre(["T1568.002"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip })
        .with_entity(
            EntityRole::Related,
            EntityValue::Service {
                endpoint: c.resolver,
                transport: "udp".to_string(),
            },
        )
        .with_summary(summary)
        .with_measurement(
            "algorithmic_nxdomain",
            n as f64,
            "domains",
            Comparison::GreaterOrEqual,
            cfg.min_nxdomain as f64,
        )
        .with_measurement(
            "mean_name_score",
            mean_score,
            "",
            Comparison::GreaterOrEqual,
            cfg.min_name_score,
        )
        .with_value("burst_seconds", secs, "s")
        .with_fact("client", ip.to_string())
        .with_fact("nxdomain_names", sample.join(" "));
        if let Some((name, address)) = &c.resolved {
            f = f
                .with_entity(
                    EntityRole::Related,
                    EntityValue::Domain { name: name.clone() },
                )
                .with_fact("resolved_name", name.clone())
                .with_fact("resolved_address", address.clone());
        }
        f
    }
}

impl Analyzer for DgaDetector {
    fn name(&self) -> &'static str {
        "dns_dga"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.clients
            .values()
            .map(|c| 160 + c.names.iter().map(|(_, d, _)| 48 + d.len()).sum::<usize>())
            .sum()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        let per_client = 160 + 80 * self.config.max_names_per_client;
        self.config.capacity = self.config.capacity.min((bytes / per_client).max(256));
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Dns(dns) = event else { return };
        if dns.is_response {
            self.response(dns, out);
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        let window = self.config.window_secs;
        let over: Vec<IpAddr> = self
            .clients
            .iter()
            .filter(|(_, c)| now.since(c.last).as_secs_f64() > window)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in over {
            if let Some(f) = self.check(ip, true) {
                out.finding(f);
            }
            self.clients.remove(&ip);
        }
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        let ips: Vec<IpAddr> = self.clients.keys().copied().collect();
        for ip in ips {
            if let Some(f) = self.check(ip, true) {
                out.finding(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_score_low_and_random_ones_high() {
        // Words and brands not in the training list.
        for label in [
            "weatherforecast",
            "bluegardenshop",
            "mountainbikes",
            "netsecurity",
        ] {
            let s = score_label(label);
            assert!(s.score < 0.65, "{label}: {s:?}");
        }
        for label in ["qxvzkwjtpbnm", "xjwqkzvbtrpq", "kq3zx9vt7w2p", "zzxqjvkwpt"] {
            let s = score_label(label);
            assert!(s.score >= 0.65, "{label}: {s:?}");
        }
    }

    use netsec_model::{Direction, DnsFlags, DnsQuestion, DnsRecord, EventContext, Transport};
    use std::net::Ipv4Addr;

    fn answer(client: u8, name: &str, rcode: u16, secs: i64) -> AppEvent {
        let ep = |a, p| Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), p);
        let answers = if rcode == 0 {
            vec![DnsRecord {
                name: name.into(),
                rtype: "A".into(),
                rtype_code: 1,
                ttl: 60,
                data: "192.0.2.7".into(),
            }]
        } else {
            vec![]
        };
        AppEvent::Dns(DnsEvent {
            ctx: EventContext {
                ts: Timestamp::from_secs_nanos(1_700_000_000 + secs, 0),
                packet_number: 1,
                flow_id: None,
                community_id: None,
                src: ep(1, 53),
                dst: ep(client, 40_000),
                transport: Transport::Udp,
                direction: Direction::ToClient,
            },
            id: 1,
            is_response: true,
            opcode: 0,
            rcode,
            flags: DnsFlags::default(),
            questions: vec![DnsQuestion {
                name: name.into(),
                qtype: "A".into(),
                qtype_code: 1,
                qclass: 1,
            }],
            answers,
            authorities: vec![],
            additionals: vec![],
            query: None,
            unanswered: false,
        })
    }

    const RANDOM: [&str; 12] = [
        "qxvzkwjtpbnm",
        "xjwqkzvbtrpq",
        "zzxqjvkwpt",
        "kq3zx9vt7w2p",
        "vbnqzxwkjt",
        "pqzvxwkjrt",
        "wxqzjvkbnt",
        "jqzxvwkptr",
        "tqzxwvjkbp",
        "bxqzvwjktn",
        "mzqxvwjktp",
        "nqxzvwjkbt",
    ];

    #[test]
    fn a_burst_then_the_name_that_resolves() {
        let mut d = DgaDetector::new(DgaConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for (i, label) in RANDOM.iter().take(11).enumerate() {
            d.on_event(&answer(9, &format!("{label}.com"), 3, i as i64), &mut out);
        }
        assert_eq!(out.len(), 1, "reported at the 10th name");
        d.on_event(&answer(9, "nqxzvwjkbt.net", 0, 12), &mut out);
        assert_eq!(out.len(), 2, "reported again when one resolves");
        let last = out.last().unwrap();
        assert_eq!(last.severity, Severity::High);
        assert!(last
            .evidence
            .facts
            .contains(&("resolved_name".into(), "nqxzvwjkbt.net".into())));
        // Nothing new: nothing more at the end.
        d.finish(&mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn names_spread_over_more_than_the_window_are_no_burst() {
        let mut d = DgaDetector::new(DgaConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for (i, label) in RANDOM.iter().enumerate() {
            d.on_event(
                &answer(9, &format!("{label}.com"), 3, i as i64 * 100),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn the_client_table_is_bounded() {
        let config = DgaConfig {
            capacity: 3,
            ..DgaConfig::default()
        };
        let mut d = DgaDetector::new(config);
        let mut out: Vec<Finding> = Vec::new();
        for c in 0..8u8 {
            d.on_event(&answer(c, "qxvzkwjtpbnm.com", 3, i64::from(c)), &mut out);
        }
        assert_eq!(d.clients.len(), 3);
        assert_eq!(d.evicted(), 5);
        d.on_tick(Timestamp::from_secs_nanos(1_700_100_000, 0), &mut out);
        assert!(d.clients.is_empty());
    }

    #[test]
    fn odd_bytes_do_not_panic() {
        let s = score_label("\u{e9}\u{0}\u{ff}--");
        assert!(s.score.is_finite());
        assert!(score_label("").score.is_finite());
    }
}
