//! DNS spoofing, cache poisoning and rebinding, from queries matched to
//! their responses.
//!
//! A query is remembered by (client address and port, transaction id) with
//! the server asked and the question. Its responses are then checked:
//!
//! - `dns_spoofed_answer`: a second response to the same query with a
//!   different answer set, within `window_secs` — an attacker on the path
//!   racing the real resolver (dnsspoof, Ettercap, Responder); or a
//!   response from a server that was not asked.
//! - `dns_cache_poisoning`: `min_wrong_ids` or more responses for a name a
//!   client is waiting for but with transaction ids it did not use, within
//!   `wrong_id_window_secs` — Kaminsky-style guessing.
//! - `dns_unsolicited_responses`: `min_unsolicited` or more responses to a
//!   client that asked nothing matching, within `unsolicited_window_secs`.
//! - `dns_rebinding`: a public name (registered under a public suffix, not
//!   in `internal_domains`, a special-use TLD or an RFC 2606 domain)
//!   answered with a private, loopback or link-local address and a TTL of
//!   at most `rebinding_max_ttl`, after the same name resolved to a public
//!   address within the hour (the rebinding flip; with
//!   `rebinding_requires_flip = false`, any such answer, at lower
//!   confidence).
//!
//! MITRE ATT&CK: T1557 (adversary-in-the-middle), T1584.002 (DNS server),
//! T1071.004 for rebinding's use of DNS.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

/// The detector's tables: fixed-seed aHash (see [`name::fixed_hasher`]).
type Map<K, V> = HashMap<K, V, ahash::RandomState>;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, Comparison, DnsEvent, DnsName, DnsRecord, Endpoint, EntityRole,
    EntityValue, Finding, FindingCategory, FindingSink, Interests, Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::name;

const PRODUCER: &str = "netsec-dns/spoof";

/// Thresholds and limits of the spoofing detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpoofConfig {
    /// Run this detector (default: yes).
    pub enabled: bool,
    /// How long after a query its responses are compared, seconds.
    pub window_secs: f64,
    /// Responses with ids the client did not use, for a name it is waiting
    /// for, that make a poisoning attempt (ours: 10; a Kaminsky attack
    /// sends hundreds per query).
    pub min_wrong_ids: u64,
    /// Their window, seconds.
    pub wrong_id_window_secs: f64,
    /// Responses to a client matching no query of its that make a finding.
    pub min_unsolicited: u64,
    /// Their window, seconds.
    pub unsolicited_window_secs: f64,
    /// Report private addresses for public names (rebinding).
    pub rebinding: bool,
    /// Rebinding answers have short TTLs: longer ones are left alone (a
    /// split-horizon intranet name usually lives longer).
    pub rebinding_max_ttl: u32,
    /// Report a private answer only when the same name resolved to a
    /// public address within the hour before (the rebinding flip); off,
    /// any short-lived private answer for a public name is reported (noisy
    /// where intranet names live under public domains).
    pub rebinding_requires_flip: bool,
    /// Domains whose names may resolve to private addresses (your own
    /// split-horizon zones), each with its subdomains.
    pub internal_domains: Vec<String>,
    /// Queries awaiting responses, at most (oldest forgotten first).
    pub capacity: usize,
}

impl Default for SpoofConfig {
    fn default() -> Self {
        SpoofConfig {
            enabled: true,
            window_secs: 5.0,
            min_wrong_ids: 10,
            wrong_id_window_secs: 2.0,
            min_unsolicited: 20,
            unsolicited_window_secs: 10.0,
            rebinding: true,
            rebinding_max_ttl: 300,
            rebinding_requires_flip: true,
            internal_domains: Vec::new(),
            capacity: 65_536,
        }
    }
}

/// Special-use and private-use top-level names (RFC 6761, RFC 6762,
/// RFC 8375, ICANN's `internal`, common private ones): never "public".
/// The second-level names RFC 2606 reserves for documentation are
/// [`RESERVED_DOMAINS`].
const PRIVATE_TLDS: &[&str] = &[
    "example",
    "test",
    "invalid",
    "localhost",
    "local",
    "lan",
    "home",
    "internal",
    "corp",
    "intranet",
    "private",
    "arpa",
];

/// Registered domains reserved for documentation (RFC 2606 §3).
const RESERVED_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

#[derive(Debug, Clone)]
struct Query {
    server: IpAddr,
    /// The question's name, lower-case, by its hash under the detector's
    /// hasher (the `waiting` key; a response is for the same name when its
    /// hash is the same).
    name_hash: u64,
    qtype: std::borrow::Cow<'static, str>,
    at: Timestamp,
    packet: u64,
    /// The first response, once one came: boxed, as most pending queries
    /// are looked at again only on expiry, and the table of them is read
    /// and written for every DNS message (kept small, it stays in cache).
    first: Option<Box<FirstResponse>>,
}

/// The first response to a query: who sent it, when, its answer set.
#[derive(Debug, Clone)]
struct FirstResponse {
    from: IpAddr,
    at: Timestamp,
    answers: AnswerSet,
}

/// A response's answer set: each answer as `TYPE data`, sorted and without
/// repeats (the order and equality of a set of those strings), each after
/// its length (u32, little-endian), in one buffer: one allocation per
/// remembered set instead of a tree node and a string per answer, compared
/// byte for byte; a set of up to [`ANSWERS_INLINE`] bytes (one to three
/// address answers) is kept without an allocation. Empty for no answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AnswerSet(SmallVec<[u8; ANSWERS_INLINE]>);

/// Bytes of an [`AnswerSet`] kept inline: `A 192.0.2.1` is 16 with its length.
const ANSWERS_INLINE: usize = 48;

/// The order of two answers' `TYPE data` strings, without writing them.
fn answer_order(a: &DnsRecord, b: &DnsRecord) -> Ordering {
    let (ta, tb) = (a.rtype.as_bytes(), b.rtype.as_bytes());
    if ta == tb {
        return a.data.as_bytes().cmp(b.data.as_bytes());
    }
    // The types differ, so `TYPE ` and `TYPE ` differ within themselves.
    ta.iter().chain(b" ").cmp(tb.iter().chain(b" "))
}

/// Write the answer set of `answers` ([`AnswerSet`]'s form) to `out`
/// (cleared), with `order` as scratch.
fn encode_answers(answers: &[DnsRecord], order: &mut Vec<usize>, out: &mut Vec<u8>) {
    out.clear();
    order.clear();
    order.extend(0..answers.len());
    order.sort_by(|&i, &j| match (answers.get(i), answers.get(j)) {
        (Some(a), Some(b)) => answer_order(a, b),
        _ => i.cmp(&j),
    });
    let mut last: Option<&DnsRecord> = None;
    for a in order.iter().filter_map(|&i| answers.get(i)) {
        if last.is_some_and(|l| l.rtype == a.rtype && l.data == a.data) {
            continue;
        }
        last = Some(a);
        let len = a.rtype.len() + 1 + a.data.len();
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(a.rtype.as_bytes());
        out.push(b' ');
        out.extend_from_slice(a.data.as_bytes());
    }
}

impl AnswerSet {
    /// The set written by [`encode_answers`].
    fn from_slice(bytes: &[u8]) -> Self {
        AnswerSet(SmallVec::from_slice(bytes))
    }

    /// The answers, in order, as text.
    fn entries(&self) -> impl Iterator<Item = &str> {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
            let entry = tail.get(..len).unwrap_or(tail);
            rest = tail.get(len..).unwrap_or_default();
            // Written from `&str`s: UTF-8.
            Some(std::str::from_utf8(entry).unwrap_or_default())
        })
    }

    /// The answers joined by `, `, or `no answer`.
    fn join(&self) -> String {
        if self.0.is_empty() {
            return "no answer".to_string();
        }
        let mut out = String::with_capacity(self.0.len());
        for (i, entry) in self.entries().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(entry);
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
struct Burst {
    times: VecDeque<Timestamp>,
    first: Option<Timestamp>,
    reported: u64,
}

impl Burst {
    /// Count one at `t`; the number within `window` seconds.
    fn hit(&mut self, t: Timestamp, window: f64) -> u64 {
        self.first.get_or_insert(t);
        self.times.push_back(t);
        while self
            .times
            .front()
            .is_some_and(|f| t.since(*f).as_secs_f64() > window)
        {
            self.times.pop_front();
        }
        while self.times.len() > 4096 {
            self.times.pop_front();
        }
        self.times.len() as u64
    }
}

/// The presentation form of `name`, lower-cased, into `buffer` (empty for
/// no name): written only where text is needed (a finding, an address
/// answer to check for rebinding).
fn lower_into(buffer: &mut String, name: Option<&DnsName>) {
    let mut bytes = std::mem::take(buffer).into_bytes();
    bytes.clear();
    if let Some(name) = name {
        name.write_text(&mut bytes);
        bytes.make_ascii_lowercase();
    }
    // ASCII by construction.
    *buffer = String::from_utf8(bytes).unwrap_or_default();
}

/// [`name::within`] with `allowed` in any case (internal domains come
/// from the configuration as the user wrote them).
fn within_ignoring_case(domain: &str, allowed: &str) -> bool {
    let (d, a) = (domain.as_bytes(), allowed.as_bytes());
    d.len() >= a.len()
        && d.get(d.len() - a.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(a))
        && (d.len() == a.len() || d.get(d.len() - a.len() - 1) == Some(&b'.'))
}

/// The detector.
#[derive(Debug)]
pub struct DnsSpoofDetector {
    config: SpoofConfig,
    pending: Map<(Endpoint, u16), Query>,
    order: VecDeque<((Endpoint, u16), Timestamp)>,
    /// Per (client address, name): responses with ids the client did not use.
    wrong_ids: Map<(IpAddr, u64), Burst>,
    /// Per client address: responses matching nothing.
    unsolicited: Map<IpAddr, Burst>,
    /// Per name: when it last resolved to a public address.
    last_public: Map<u64, Timestamp>,
    /// Pending queries per (client address, name): whether a response with
    /// an unknown id answers a name the client waits for, without a scan of
    /// every pending query.
    waiting: Map<(IpAddr, u64), u32>,
    /// Races reported, per (client, name).
    races: Map<(IpAddr, u64), u64>,
    forgotten: u64,
    /// Names in these tables are keyed by their hash under this.
    hasher: ahash::RandomState,
    /// The name being looked at, lower-cased text (reused, no copy per
    /// message), written only when needed.
    lower: String,
    /// A response's answer set being compared ([`AnswerSet`]'s form) and
    /// its sort order: reused, no allocation per response.
    answers: Vec<u8>,
    answer_order: Vec<usize>,
}

impl DnsSpoofDetector {
    /// A detector with `config`.
    pub fn new(config: SpoofConfig) -> Self {
        DnsSpoofDetector {
            config,
            pending: Map::with_hasher(name::fixed_hasher()),
            order: VecDeque::new(),
            wrong_ids: Map::with_hasher(name::fixed_hasher()),
            unsolicited: Map::with_hasher(name::fixed_hasher()),
            last_public: Map::with_hasher(name::fixed_hasher()),
            waiting: Map::with_hasher(name::fixed_hasher()),
            races: Map::with_hasher(name::fixed_hasher()),
            forgotten: 0,
            hasher: name::fixed_hasher(),
            lower: String::new(),
            answers: Vec::new(),
            answer_order: Vec::new(),
        }
    }

    /// Queries forgotten to stay within the capacity.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some((key, at)) = self.order.front().cloned() {
            let old = now.since(at).as_secs_f64() > self.config.window_secs;
            let full = self.pending.len() > self.config.capacity;
            if !old && !full {
                break;
            }
            self.order.pop_front();
            // One lookup: the entry is the query this order entry is for.
            if let std::collections::hash_map::Entry::Occupied(e) = self.pending.entry(key) {
                if e.get().at == at {
                    let q = e.remove();
                    self.unwait(key.0.ip, q.name_hash);
                    if full && !old {
                        self.forgotten += 1;
                    }
                }
            }
        }
        // The side tables are small per entry; bound them by the same capacity.
        for table_len in [
            self.wrong_ids.len(),
            self.unsolicited.len(),
            self.last_public.len(),
        ] {
            if table_len > self.config.capacity {
                self.wrong_ids.clear();
                self.unsolicited.clear();
                self.last_public.clear();
                self.forgotten += 1;
                break;
            }
        }
    }

    fn on_query(&mut self, dns: &DnsEvent) {
        let Some(q) = dns.questions.first() else {
            return;
        };
        let key = (dns.ctx.src, dns.id);
        let name_hash = self.name_hash(Some(&q.name));
        let query = Query {
            server: dns.ctx.dst.ip,
            name_hash,
            qtype: q.qtype.clone(),
            at: dns.ctx.ts,
            packet: dns.ctx.packet_number,
            first: None,
        };
        self.order.push_back((key, query.at));
        *self.waiting.entry((key.0.ip, name_hash)).or_default() += 1;
        if let Some(replaced) = self.pending.insert(key, query) {
            self.unwait(key.0.ip, replaced.name_hash);
        }
    }

    fn unwait(&mut self, client: IpAddr, name_hash: u64) {
        if let std::collections::hash_map::Entry::Occupied(mut e) =
            self.waiting.entry((client, name_hash))
        {
            let n = e.get_mut();
            *n = n.saturating_sub(1);
            if *n == 0 {
                e.remove();
            }
        }
    }

    /// The key of a question's name in the tables: [`name::name_key`] (its
    /// wire bytes lower-cased: case is not part of a name, RFC 4343, hashed
    /// once for every detector), another for no question.
    fn name_hash(&self, name: Option<&DnsName>) -> u64 {
        match name {
            Some(name) => name::name_key(name),
            None => self.hasher.hash_one(u64::MAX),
        }
    }

    fn on_response(&mut self, dns: &DnsEvent, out: &mut dyn FindingSink) {
        let qname = dns.questions.first().map(|q| &q.name);
        let name_hash = self.name_hash(qname);
        let mut name = std::mem::take(&mut self.lower);
        name.clear();
        self.rebinding(dns, qname, name_hash, &mut name, out);
        self.on_response_named(dns, qname, name_hash, &mut name, out);
        self.lower = name;
    }

    /// [`Self::on_response`]: `qname` its first question's name, `name` a
    /// buffer for its lower-cased text (written here when a finding needs it).
    fn on_response_named(
        &mut self,
        dns: &DnsEvent,
        qname: Option<&DnsName>,
        name_hash: u64,
        name: &mut String,
        out: &mut dyn FindingSink,
    ) {
        let client = dns.ctx.dst;
        let responder = dns.ctx.src.ip;
        let now = dns.ctx.ts;
        let key = (client, dns.id);
        let Some(query) = self
            .pending
            .get_mut(&key)
            .filter(|q| q.name_hash == name_hash)
        else {
            // Not an answer to anything this client asked: a guess at the
            // id of a pending query for the name, or unsolicited.
            let waiting = self.waiting.contains_key(&(client.ip, name_hash));
            if waiting && qname.is_some() {
                let burst = self.wrong_ids.entry((client.ip, name_hash)).or_default();
                let n = burst.hit(now, self.config.wrong_id_window_secs);
                if n >= self.config.min_wrong_ids && n > burst.reported {
                    burst.reported = n.max(burst.reported * 2);
                    let first = burst.first.unwrap_or(now);
                    lower_into(name, qname);
                    out.finding(self.poisoning(client.ip, responder, name, n, first, now));
                }
            } else {
                let burst = self.unsolicited.entry(client.ip).or_default();
                let n = burst.hit(now, self.config.unsolicited_window_secs);
                if n >= self.config.min_unsolicited && n > burst.reported {
                    burst.reported = n.max(burst.reported * 2);
                    let first = burst.first.unwrap_or(now);
                    out.finding(self.unsolicited_finding(client.ip, n, first, now));
                }
            }
            return;
        };
        if now.since(query.at).as_secs_f64() > self.config.window_secs {
            return;
        }
        let asked = query.server;
        encode_answers(&dns.answers, &mut self.answer_order, &mut self.answers);
        match &query.first {
            None => {
                query.first = Some(Box::new(FirstResponse {
                    from: responder,
                    at: now,
                    answers: AnswerSet::from_slice(&self.answers),
                }));
                if responder != asked {
                    let q = query.clone();
                    lower_into(name, qname);
                    let f = self.race(
                        client,
                        (&q, name),
                        None,
                        (responder, now, &AnswerSet::default()),
                        dns,
                    );
                    out.finding(f);
                }
            }
            Some(first) if *first.answers.0 != *self.answers => {
                let q = query.clone();
                lower_into(name, qname);
                let first = q.first.clone();
                let answers = AnswerSet::from_slice(&self.answers);
                let f = self.race(
                    client,
                    (&q, name),
                    first.as_deref(),
                    (responder, now, &answers),
                    dns,
                );
                out.finding(f);
            }
            Some(_) => {}
        }
    }

    fn race(
        &mut self,
        client: Endpoint,
        (q, name): (&Query, &str),
        first: Option<&FirstResponse>,
        (responder, at, answers): (IpAddr, Timestamp, &AnswerSet),
        dns: &DnsEvent,
    ) -> Finding {
        let n = self.races.entry((client.ip, q.name_hash)).or_default();
        *n += 1;
        let races = *n;
        let join = AnswerSet::join;
        let (summary, first_seen) = match first {
            Some(FirstResponse {
                from: first_from,
                at: first_at,
                answers: first_answers,
            }) => (
                format!(
                    "{} asked {} for {} {} (id {}); {} answered {} at {first_at}, then {} answered {} at {at}: two different answers to one query ({races} time(s) for this name)",
                    client, q.server, q.qtype, name, dns.id, first_from, join(first_answers), responder, join(answers)
                ),
                *first_at,
            ),
            None => (
                format!(
                    "{} asked {} for {} {} (id {}), but {} answered ({} at {at})",
                    client, q.server, q.qtype, name, dns.id, responder, join(answers)
                ),
                at,
            ),
        };
        let confidence = if first.is_some() { 0.9 } else { 0.7 };
        let mut f = Finding::new(
            "dns_spoofed_answer",
            format!("Spoofed DNS answer for {} to {}", name, client.ip),
            FindingCategory::Spoofing,
            Severity::High,
            confidence,
            TimeRange {
                start: q.at.min(first_seen),
                end: at,
            },
            PRODUCER,
        )
        .with_id(format!("{}:{}", client.ip, name))
        .with_mitre(["T1557", "T1584.002"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: client.ip })
        .with_entity(EntityRole::Related, EntityValue::Host { ip: q.server })
        .with_entity(
            EntityRole::Related,
            EntityValue::Domain {
                name: name.to_string(),
            },
        )
        .with_summary(summary)
        .with_measurement(
            "answers_to_one_query",
            2.0,
            "responses",
            Comparison::GreaterOrEqual,
            2.0,
        )
        .with_value("races_for_name", races as f64, "")
        .with_fact("query_id", dns.id.to_string())
        .with_fact("second_answer", join(answers));
        if let Some(FirstResponse {
            from, answers: a, ..
        }) = first
        {
            f = f
                .with_fact("first_answer", join(a))
                .with_fact("first_responder", from.to_string());
        }
        f.evidence.packets = vec![q.packet, dns.ctx.packet_number];
        if responder != q.server {
            f = f.with_entity(EntityRole::Source, EntityValue::Host { ip: responder });
        }
        f
    }

    fn poisoning(
        &self,
        client: IpAddr,
        responder: IpAddr,
        name: &str,
        n: u64,
        first: Timestamp,
        now: Timestamp,
    ) -> Finding {
        Finding::new(
            "dns_cache_poisoning",
            format!("DNS cache poisoning attempt on {client} for {name}"),
            FindingCategory::Spoofing,
            Severity::High,
            (0.6 + 0.3 * (n as f64 / (5.0 * self.config.min_wrong_ids.max(1) as f64)).min(1.0)).min(0.95),
            TimeRange { start: first, end: now },
            PRODUCER,
        )
        .with_id(format!("{client}:{name}"))
        .with_mitre(["T1557", "T1584.002"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: client })
        .with_entity(EntityRole::Related, EntityValue::Host { ip: responder })
        .with_entity(EntityRole::Related, EntityValue::Domain { name: name.to_string() })
        .with_summary(format!(
            "{n} responses for {name} reached {client} with transaction ids it did not use, within {} s, while it waited for an answer",
            self.config.wrong_id_window_secs
        ))
        .with_measurement("wrong_id_responses", n as f64, "responses", Comparison::GreaterOrEqual, self.config.min_wrong_ids as f64)
    }

    fn unsolicited_finding(
        &self,
        client: IpAddr,
        n: u64,
        first: Timestamp,
        now: Timestamp,
    ) -> Finding {
        Finding::new(
            "dns_unsolicited_responses",
            format!("Unsolicited DNS responses to {client}"),
            FindingCategory::Spoofing,
            Severity::Medium,
            0.6,
            TimeRange {
                start: first,
                end: now,
            },
            PRODUCER,
        )
        .with_id(client)
        .with_mitre(["T1557"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: client })
        .with_summary(format!(
            "{client} received {n} DNS responses matching no query of its within {} s",
            self.config.unsolicited_window_secs
        ))
        .with_measurement(
            "unsolicited_responses",
            n as f64,
            "responses",
            Comparison::GreaterOrEqual,
            self.config.min_unsolicited as f64,
        )
    }

    /// Whether `qname` has a registered domain outside the private and
    /// reserved ones and the internal domains (`name` its lower-cased text,
    /// read only when internal domains are configured).
    fn is_public_name(&mut self, qname: &DnsName, name: &str) -> bool {
        name::with_name_split(qname, |parts| {
            parts.is_some_and(|parts| {
                let tld = parts.registered.rsplit('.').next().unwrap_or("");
                !PRIVATE_TLDS.contains(&tld)
                    && !RESERVED_DOMAINS.contains(&parts.registered)
                    && !self.config.internal_domains.iter().any(|d| {
                        let d = d.trim_end_matches('.');
                        within_ignoring_case(parts.registered, d) || within_ignoring_case(name, d)
                    })
            })
        })
    }

    /// Private addresses for a public name; `name_hash` the name's key,
    /// `text` a buffer for its lower-cased text, written here when an
    /// address answer makes it matter.
    fn rebinding(
        &mut self,
        dns: &DnsEvent,
        qname: Option<&DnsName>,
        name_hash: u64,
        text: &mut String,
        out: &mut dyn FindingSink,
    ) {
        if !self.config.rebinding || dns.rcode != 0 {
            return;
        }
        let addresses = || {
            dns.answers
                .iter()
                .filter(|a| a.rtype == "A" || a.rtype == "AAAA")
                .filter_map(|a| a.data.parse::<IpAddr>().ok().map(|ip| (ip, a.ttl)))
        };
        // Whether any address is private or public, and the private ones'
        // least TTL; the private addresses themselves are listed again only
        // for a finding (no vector per response).
        let (mut any_private, mut public) = (false, false);
        let mut min_ttl = u32::MAX;
        for (ip, ttl) in addresses() {
            if is_private(ip) {
                any_private = true;
                min_ttl = min_ttl.min(ttl);
            } else {
                public = true;
            }
        }
        // The name's registered domain only when an address makes it matter.
        if !public && !any_private {
            return;
        }
        let Some(wire) = qname else { return };
        // The text only where it is read: internal domains to match, or
        // the finding below.
        if !self.config.internal_domains.is_empty() {
            lower_into(text, qname);
        }
        if !self.is_public_name(wire, text.as_str()) {
            return;
        }
        let now = dns.ctx.ts;
        let name_key = name_hash;
        if public {
            self.last_public.insert(name_key, now);
        }
        if !any_private || min_ttl > self.config.rebinding_max_ttl {
            return;
        }
        let flipped = self
            .last_public
            .get(&name_key)
            .is_some_and(|t| now.since(*t).as_secs_f64() <= 3600.0);
        if !flipped && self.config.rebinding_requires_flip {
            return;
        }
        if text.is_empty() {
            lower_into(text, qname);
        }
        let qname = text.as_str();
        let client = dns.ctx.dst.ip;
        let registered = name::split(qname).map(|p| p.registered).unwrap_or_default();
        let private: Vec<IpAddr> = addresses()
            .map(|(ip, _)| ip)
            .filter(|&ip| is_private(ip))
            .collect();
        let addresses = private
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut f = Finding::new(
            "dns_rebinding",
            format!("DNS rebinding: {qname} resolved to a private address"),
            FindingCategory::Spoofing,
            if flipped { Severity::High } else { Severity::Medium },
            if flipped { 0.85 } else { 0.6 },
            TimeRange::at(now),
            PRODUCER,
        )
        .with_id(&registered)
        .with_mitre(["T1071.004", "T1557"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: client })
        .with_entity(EntityRole::Related, EntityValue::Domain { name: qname.to_string() })
        .with_summary(format!(
            "{qname} (registered domain {registered}, public) was answered {addresses} with a TTL of {min_ttl} s to {client}{}",
            if flipped { ", after resolving to a public address" } else { "" }
        ))
        .with_measurement("answer_ttl", f64::from(min_ttl), "s", Comparison::LessOrEqual, f64::from(self.config.rebinding_max_ttl))
        .with_fact("private_addresses", addresses);
        f.evidence.packets = vec![dns.ctx.packet_number];
        for ip in private {
            f = f.with_entity(EntityRole::Related, EntityValue::Host { ip });
        }
        out.finding(f);
    }
}

/// Private (RFC 1918, ULA), loopback, link-local, unspecified or CGNAT.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

impl Analyzer for DnsSpoofDetector {
    fn name(&self) -> &'static str {
        "dns_spoof"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        // A pending query's entry, and its boxed first response (counted
        // for every entry: most get one).
        const PENDING_ENTRY: usize =
            std::mem::size_of::<((Endpoint, u16), Query)>() + std::mem::size_of::<FirstResponse>();
        self.pending.len() * PENDING_ENTRY
            + self.order.len() * 40
            + (self.wrong_ids.len()
                + self.unsolicited.len()
                + self.last_public.len()
                + self.waiting.len())
                * 96
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        self.config.capacity = self.config.capacity.min((bytes / 400).max(1024));
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Dns(dns) = event else {
            return;
        };
        self.expire(dns.ctx.ts);
        if dns.opcode != 0 {
            return;
        }
        if dns.is_response {
            self.on_response(dns, out);
        } else {
            self.on_query(dns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{
        Direction, DnsEvent, DnsFlags, DnsQuestion, DnsRecord, EventContext, Finding, Transport,
    };
    use std::net::Ipv4Addr;

    fn event(t: f64, query: bool, id: u16, client_port: u16, answer: Option<&str>) -> AppEvent {
        let client = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), client_port);
        let server = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)), 53);
        let (src, dst) = if query {
            (client, server)
        } else {
            (server, client)
        };
        AppEvent::Dns(DnsEvent {
            ctx: EventContext {
                ts: Timestamp::from_secs_f64(t),
                packet_number: 1,
                flow_id: None,
                community_id: None,
                src,
                dst,
                transport: Transport::Udp,
                direction: if query {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                },
            },
            id,
            is_response: !query,
            opcode: 0,
            rcode: 0,
            flags: DnsFlags::default(),
            questions: vec![DnsQuestion {
                name: "bank.example".into(),
                qtype: "A".into(),
                qtype_code: 1,
                qclass: 1,
            }],
            answers: answer
                .map(|a| DnsRecord {
                    name: "bank.example".into(),
                    rtype: "A".into(),
                    rtype_code: 1,
                    ttl: 60,
                    data: a.into(),
                })
                .into_iter()
                .collect(),
            authorities: Vec::new(),
            additionals: Vec::new(),
            query: None,
            unanswered: false,
        })
    }

    /// An answer set's bytes are equal exactly when the sets of `TYPE data`
    /// strings are, and it joins them in the sets' order.
    #[test]
    fn answer_sets_compare_and_join_as_sets_of_strings() {
        let record = |rtype: &'static str, data: &str| DnsRecord {
            name: "x.example".into(),
            rtype: rtype.into(),
            rtype_code: 1,
            ttl: 60,
            data: data.into(),
        };
        let pool = [
            record("A", "10.0.0.1"),
            record("A", "10.0.0.10"),
            record("AAAA", "::1"),
            record("A", " x"),
            record("AA", "AA x"),
            record("A", "AA x"),
            record("TXT", "\"a, b\""),
            record("CNAME", "a.example"),
        ];
        let mut sets = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 5) as usize;
            let answers: Vec<DnsRecord> = (0..n)
                .map(|i| pool[((x >> (8 * i)) % pool.len() as u64) as usize].clone())
                .collect();
            let strings: std::collections::BTreeSet<String> = answers
                .iter()
                .map(|a| format!("{} {}", a.rtype, a.data))
                .collect();
            let (mut order, mut bytes) = (Vec::new(), Vec::new());
            encode_answers(&answers, &mut order, &mut bytes);
            let set = AnswerSet::from_slice(&bytes);
            let joined = if strings.is_empty() {
                "no answer".to_string()
            } else {
                strings.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            assert_eq!(set.join(), joined);
            sets.push((strings, set));
        }
        for (a, sa) in &sets {
            for (b, sb) in &sets {
                assert_eq!(a == b, sa == sb, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn guessed_ids_for_a_pending_name_are_poisoning_and_other_noise_is_not() {
        let mut d = DnsSpoofDetector::new(SpoofConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        d.on_event(&event(0.0, true, 7, 4000, None), &mut out);
        for guess in 100..130u16 {
            d.on_event(&event(0.01, false, guess, 4000, Some("6.6.6.6")), &mut out);
        }
        assert!(
            out.iter().any(|f| f.kind == "dns_cache_poisoning"),
            "{out:#?}"
        );
        // The real answer still matches, and nothing was left waiting
        // after the query expires: later guesses are unsolicited, not poisoning.
        let mut d = DnsSpoofDetector::new(SpoofConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        d.on_event(&event(0.0, true, 7, 4000, None), &mut out);
        d.on_event(&event(0.01, false, 7, 4000, Some("10.0.0.80")), &mut out);
        d.on_event(&event(10.0, true, 9, 4001, None), &mut out);
        for guess in 100..105u16 {
            d.on_event(&event(20.0, false, guess, 4000, Some("6.6.6.6")), &mut out);
        }
        assert!(out.is_empty(), "{out:#?}");
        assert!(d.waiting.is_empty(), "{:?}", d.waiting);
    }
}
