//! Probe/match tables in nmap's `nmap-service-probes` format, the format
//! netsec's own bundled table (`data/service-probes.txt`) is written in, so
//! that a user can extend it and an nmap file loads unchanged.
//!
//! Lines understood (nmap book, "nmap-service-probes File Format"):
//!
//! ```text
//! Probe TCP|UDP NAME q|PAYLOAD| [no-payload]
//! ports 21,25,8000-8010        # ports where this probe is tried first
//! sslports 443,993             # the same, inside TLS
//! totalwaitms 5000             # how long to wait for the answer
//! rarity 1..9                  # probes rarer than the intensity are skipped
//! fallback NAME[,NAME]         # other probes whose matches also apply
//! match SERVICE m/REGEX/[is] [p/PRODUCT/] [v/VERSION/] [i/INFO/] [h/HOST/] [o/OS/] [d/DEVICE/] [cpe:/CPE/[a]]
//! softmatch SERVICE m/REGEX/[is]
//! Exclude T:9100-9107          # read and ignored
//! ```
//!
//! Any delimiter may replace `/` or `|`. Templates take `$1`…`$9`,
//! `$P(n)` (printable characters of group n), `$SUBST(n,"a","b")` and
//! `$I(n,">")` / `$I(n,"<")` (an unsigned big/little-endian integer).
//!
//! nmap's patterns are Perl (PCRE) expressions. netsec compiles each with
//! the `regex` crate over bytes (linear time) when it can; the patterns that
//! crate refuses (look-around, backreferences, atomic groups, possessive
//! quantifiers) are compiled with `fancy-regex`, a backtracking engine, also
//! over bytes with ASCII-only classes ([`Pattern`]). Backtracking is bounded
//! by [`BACKTRACK_LIMIT`]: an answer that reaches it counts as no match for
//! that rule ([`ProbeTable::backtrack_limit_hits`]). Lines that neither
//! engine can compile are skipped and listed in [`ProbeTable::skipped`] with
//! the line number and the reason; the rest of the file still loads.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use regex::bytes::{Regex, RegexBuilder};

use crate::scan::Protocol;

/// The file could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("probe file {source_name}: {reason}")]
pub struct ProbeFileError {
    /// File name (or `bundled`).
    pub source_name: String,
    /// Why.
    pub reason: String,
}

/// A line that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// File name.
    pub source_name: String,
    /// Line number, from 1.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// One match rule: a pattern and the version-information templates.
#[derive(Debug, Clone)]
pub struct MatchRule {
    /// Service name (`ssh`, `http`, …).
    pub service: String,
    /// A softmatch only names the service; probing goes on.
    pub soft: bool,
    /// The compiled pattern.
    pub pattern: Pattern,
    /// Product template (`p/…/`).
    pub product: Option<String>,
    /// Version template (`v/…/`).
    pub version: Option<String>,
    /// Extra-information template (`i/…/`).
    pub info: Option<String>,
    /// Host name template (`h/…/`).
    pub hostname: Option<String>,
    /// Operating system template (`o/…/`).
    pub os: Option<String>,
    /// Device type template (`d/…/`).
    pub device: Option<String>,
    /// CPE templates.
    pub cpe: Vec<String>,
    /// Line in its file.
    pub line: usize,
}

/// One probe: what to send, where, and how to read the answer.
#[derive(Debug, Clone)]
pub struct ProbeDef {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Name (`NULL`, `GetRequest`, …).
    pub name: String,
    /// Bytes sent (empty for the NULL probe).
    pub payload: Vec<u8>,
    /// Ports where this probe is tried first.
    pub ports: Vec<(u16, u16)>,
    /// Ports where this probe is tried first inside TLS.
    pub ssl_ports: Vec<(u16, u16)>,
    /// How long to wait for the answer.
    pub total_wait: Option<Duration>,
    /// 1 (common) … 9 (rare).
    pub rarity: u8,
    /// Probes whose matches also apply to this probe's answers.
    pub fallback: Vec<String>,
    /// Match rules, in file order.
    pub matches: Vec<MatchRule>,
}

impl ProbeDef {
    /// Whether `port` is one this probe is meant for.
    pub fn covers(&self, port: u16) -> bool {
        self.ports.iter().any(|(a, b)| (*a..=*b).contains(&port))
    }

    /// Whether `port` is one this probe is meant for inside TLS.
    pub fn covers_tls(&self, port: u16) -> bool {
        self.ssl_ports
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&port))
    }
}

/// What a match rule extracted from an answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MatchedInfo {
    /// Service name.
    pub service: String,
    /// Whether it was a softmatch.
    pub soft: bool,
    /// Product.
    pub product: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Extra information.
    pub info: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Device type.
    pub device: Option<String>,
    /// CPEs.
    pub cpe: Vec<String>,
    /// Probe whose rule matched.
    pub probe: String,
    /// File line of the rule.
    pub line: usize,
}

/// A probe/match table.
#[derive(Debug, Clone, Default)]
pub struct ProbeTable {
    /// Probes in file order.
    pub probes: Vec<ProbeDef>,
    /// Lines that were not understood or whose pattern `regex` cannot
    /// compile.
    pub skipped: Vec<SkippedLine>,
    /// Match rules loaded.
    pub rules: usize,
    /// Of those, rules whose pattern runs on the backtracking engine.
    pub backtracking_rules: usize,
    /// Answers on which a backtracking rule reached [`BACKTRACK_LIMIT`] and
    /// was taken as not matching (shared by clones of the table).
    pub limit_hits: Arc<AtomicUsize>,
}

/// A compiled match pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// The `regex` crate over bytes: linear time.
    Linear(Regex),
    /// `fancy-regex` over bytes, for what the `regex` crate cannot run
    /// (look-around, backreferences, …): backtracking, bounded by
    /// [`BACKTRACK_LIMIT`].
    Backtracking(fancy_regex::Regex),
}

/// A backtracking pattern reached [`BACKTRACK_LIMIT`] (or another run-time
/// limit of the engine) on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReached;

/// The groups of one match: group 0 is the whole match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups<'a> {
    data: &'a [u8],
    spans: Vec<Option<Range<usize>>>,
}

impl<'a> Groups<'a> {
    /// The bytes of group `i`, if it took part in the match.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let r = self.spans.get(i)?.clone()?;
        self.data.get(r)
    }

    /// Number of groups, group 0 included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no groups at all (never, for a match).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl Pattern {
    /// Whether this pattern runs on the backtracking engine.
    pub fn is_backtracking(&self) -> bool {
        matches!(self, Pattern::Backtracking(_))
    }

    /// The first match in `data` and its groups; a backtracking pattern
    /// that reaches its limit is an error.
    pub fn try_groups<'a>(&self, data: &'a [u8]) -> Result<Option<Groups<'a>>, LimitReached> {
        match self {
            Pattern::Linear(re) => Ok(re.captures(data).map(|c| Groups {
                data,
                spans: c.iter().map(|m| m.map(|m| m.range())).collect(),
            })),
            Pattern::Backtracking(re) => match re.captures(data) {
                Ok(Some(c)) => Ok(Some(Groups {
                    data,
                    spans: (0..c.len()).map(|i| c.get(i).map(|m| m.range())).collect(),
                })),
                Ok(None) => Ok(None),
                Err(_) => Err(LimitReached),
            },
        }
    }

    /// The first match in `data` and its groups; reaching the backtracking
    /// limit counts as no match.
    pub fn groups<'a>(&self, data: &'a [u8]) -> Option<Groups<'a>> {
        self.try_groups(data).ok().flatten()
    }
}

/// netsec's own table, written for netsec in nmap's format (not copied
/// from nmap's file).
const BUNDLED: &str = include_str!("../../data/service-probes.txt");

/// Compiled regexes may not grow past this many bytes each (the regex
/// crate's own default is 10 MiB; a hostile file must not exhaust memory).
const REGEX_SIZE_LIMIT: usize = 2 << 20;

/// Most backtracking steps a backtracking pattern may take on one answer
/// before it is taken as not matching (fancy-regex's default is 1,000,000).
pub const BACKTRACK_LIMIT: usize = 200_000;

/// Most bytes a payload or template may have after unescaping.
const MAX_FIELD: usize = 16 * 1024;

impl ProbeTable {
    /// netsec's bundled table.
    pub fn bundled() -> ProbeTable {
        // The bundled file is tested to parse with nothing skipped.
        ProbeTable::parse(BUNDLED, "bundled").unwrap_or_default()
    }

    /// Parse a table. Lines that cannot be used are recorded in
    /// [`ProbeTable::skipped`]; only a table without a single probe is an
    /// error.
    pub fn parse(text: &str, source_name: &str) -> Result<ProbeTable, ProbeFileError> {
        let mut table = ProbeTable::default();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let skip = |table: &mut ProbeTable, reason: String| {
                table.skipped.push(SkippedLine {
                    source_name: source_name.to_string(),
                    line: line_no,
                    reason,
                })
            };
            let (directive, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
            let rest = rest.trim();
            if directive == "Probe" {
                match parse_probe_line(rest) {
                    Ok(p) => table.probes.push(p),
                    Err(reason) => skip(&mut table, reason),
                }
                continue;
            }
            if directive == "Exclude" {
                continue;
            }
            let Some(probe) = table.probes.last_mut() else {
                skip(&mut table, format!("`{directive}` before any Probe line"));
                continue;
            };
            let outcome = match directive {
                "match" | "softmatch" => parse_match_line(rest, directive == "softmatch", line_no)
                    .map(|m| {
                        probe.matches.push(m);
                    }),
                "ports" => parse_port_list(rest).map(|p| probe.ports = p),
                "sslports" => parse_port_list(rest).map(|p| probe.ssl_ports = p),
                "totalwaitms" | "tcpwrappedms" => match rest.parse::<u64>() {
                    Ok(ms) if directive == "totalwaitms" => {
                        probe.total_wait = Some(Duration::from_millis(ms.min(60_000)));
                        Ok(())
                    }
                    Ok(_) => Ok(()),
                    Err(_) => Err(format!("{directive}: {rest:?} is not a number")),
                },
                "rarity" => match rest.parse::<u8>() {
                    Ok(r) => {
                        probe.rarity = r.clamp(1, 9);
                        Ok(())
                    }
                    Err(_) => Err(format!("rarity: {rest:?} is not a number")),
                },
                "fallback" => {
                    probe.fallback = rest.split(',').map(|s| s.trim().to_string()).collect();
                    Ok(())
                }
                other => Err(format!("unknown directive `{other}`")),
            };
            if let Err(reason) = outcome {
                skip(&mut table, reason);
            }
        }
        if table.probes.is_empty() {
            return Err(ProbeFileError {
                source_name: source_name.to_string(),
                reason: "no Probe line".into(),
            });
        }
        table.count_rules();
        Ok(table)
    }

    /// Add another table's probes: rules of a probe with the same name and
    /// protocol are appended (and take precedence, being tried first);
    /// new probes are added at the end.
    pub fn merge(&mut self, other: ProbeTable) {
        for p in other.probes {
            match self
                .probes
                .iter_mut()
                .find(|q| q.name == p.name && q.protocol == p.protocol)
            {
                Some(q) => {
                    let mut rules = p.matches;
                    rules.append(&mut q.matches);
                    q.matches = rules;
                    if q.ports.is_empty() {
                        q.ports = p.ports;
                    }
                }
                None => self.probes.push(p),
            }
        }
        self.skipped.extend(other.skipped);
        self.count_rules();
    }

    fn count_rules(&mut self) {
        let all = || self.probes.iter().flat_map(|p| &p.matches);
        self.rules = all().count();
        self.backtracking_rules = all().filter(|m| m.pattern.is_backtracking()).count();
    }

    /// How many times a backtracking rule reached [`BACKTRACK_LIMIT`] on an
    /// answer (and was taken as not matching).
    pub fn backtrack_limit_hits(&self) -> usize {
        self.limit_hits.load(Ordering::Relaxed)
    }

    /// The probe named `name` for `protocol`.
    pub fn probe(&self, protocol: Protocol, name: &str) -> Option<&ProbeDef> {
        self.probes
            .iter()
            .find(|p| p.protocol == protocol && p.name == name)
    }

    /// The answer `data` to probe `probe` against that probe's rules, then
    /// its fallbacks' and (for TCP) the NULL probe's, as nmap does. A hard
    /// match wins; otherwise the first softmatch.
    pub fn match_answer(&self, probe: &ProbeDef, data: &[u8]) -> Option<MatchedInfo> {
        if data.is_empty() {
            return None;
        }
        let mut chain: Vec<&ProbeDef> = vec![probe];
        for name in &probe.fallback {
            if let Some(p) = self.probe(probe.protocol, name) {
                chain.push(p);
            }
        }
        if probe.protocol == Protocol::Tcp && probe.name != "NULL" {
            if let Some(p) = self.probe(Protocol::Tcp, "NULL") {
                chain.push(p);
            }
        }
        let mut soft = None;
        for p in chain {
            for rule in &p.matches {
                if rule.soft && soft.is_some() {
                    continue;
                }
                let groups = match rule.pattern.try_groups(data) {
                    Ok(g) => g,
                    Err(LimitReached) => {
                        self.limit_hits.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                };
                if let Some(caps) = groups {
                    let info = rule.fill(&caps, &probe.name);
                    if !rule.soft {
                        return Some(info);
                    }
                    soft = Some(info);
                }
            }
        }
        soft
    }
}

impl MatchRule {
    fn fill(&self, caps: &Groups<'_>, probe: &str) -> MatchedInfo {
        let t = |tpl: &Option<String>| {
            tpl.as_deref()
                .map(|s| substitute(s, caps))
                .filter(|s| !s.is_empty())
        };
        MatchedInfo {
            service: self.service.clone(),
            soft: self.soft,
            product: t(&self.product),
            version: t(&self.version),
            info: t(&self.info),
            hostname: t(&self.hostname),
            os: t(&self.os),
            device: t(&self.device),
            cpe: self.cpe.iter().map(|c| substitute(c, caps)).collect(),
            probe: probe.to_string(),
            line: self.line,
        }
    }
}

/// Printable characters of a capture, as nmap's `$P()`.
fn printable(b: &[u8]) -> String {
    b.iter()
        .filter(|c| (0x20..0x7f).contains(*c))
        .map(|c| char::from(*c))
        .collect()
}

fn group<'a>(caps: &Groups<'a>, n: &str) -> &'a [u8] {
    n.trim()
        .parse::<usize>()
        .ok()
        .and_then(|i| caps.get(i))
        .unwrap_or(&[])
}

/// The arguments of `$NAME(...)` starting at `s` (after the name); the
/// inside and the rest after `)`. Quotes may contain `)`.
fn call_args(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('(')?;
    let mut quoted = false;
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ')' if !quoted => return Some((inner.get(..i)?, inner.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Fill a version template with capture groups.
pub fn substitute(template: &str, caps: &Groups<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(rest.get(..pos).unwrap_or(""));
        let after = rest.get(pos + 1..).unwrap_or("");
        let digit = after.chars().next().filter(|c| c.is_ascii_digit());
        if let Some(d) = digit {
            out.push_str(&String::from_utf8_lossy(group(caps, &d.to_string())));
            rest = after.get(1..).unwrap_or("");
        } else if let Some((args, tail)) = after.strip_prefix('P').and_then(call_args) {
            out.push_str(&printable(group(caps, args)));
            rest = tail;
        } else if let Some((args, tail)) = after.strip_prefix("SUBST").and_then(call_args) {
            let mut parts = args.splitn(3, ',');
            let n = parts.next().unwrap_or("");
            let from = unquote(parts.next().unwrap_or(""));
            let to = unquote(parts.next().unwrap_or(""));
            let text = printable(group(caps, n));
            out.push_str(&if from.is_empty() {
                text
            } else {
                text.replace(from, to)
            });
            rest = tail;
        } else if let Some((args, tail)) = after.strip_prefix('I').and_then(call_args) {
            let (n, order) = args.split_once(',').unwrap_or((args, "\">\""));
            let bytes = group(caps, n);
            let little = unquote(order) == "<";
            let mut value: u64 = 0;
            let take = bytes.len().min(8);
            let it: Vec<u8> = if little {
                bytes.iter().take(take).rev().copied().collect()
            } else {
                bytes.iter().take(take).copied().collect()
            };
            for b in it {
                value = (value << 8) | u64::from(b);
            }
            out.push_str(&value.to_string());
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Unescape a probe payload: `\r \n \t \0 \a \f \v \\ \xHH` and an
/// escaped delimiter.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if out.len() > MAX_FIELD {
            return Err(format!("payload longer than {MAX_FIELD} bytes"));
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else {
            return Err("payload ends with a lone backslash".into());
        };
        i += 2;
        out.push(match e {
            b'r' => b'\r',
            b'n' => b'\n',
            b't' => b'\t',
            b'0' => 0,
            b'a' => 7,
            b'f' => 12,
            b'v' => 11,
            b'x' => {
                let hex = bytes
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad \\x escape at byte {}", i - 2))?;
                i += 2;
                hex
            }
            other => other,
        });
    }
    Ok(out)
}

/// Split `m/pattern/flags` style text at position 0: (body, flags, rest).
/// The delimiter is the character after the introducer; flags are the
/// letters right after the closing delimiter.
fn delimited(s: &str) -> Option<(char, &str, &str)> {
    let mut chars = s.char_indices();
    let (_, delim) = chars.next()?;
    let body_start = delim.len_utf8();
    let end = s.get(body_start..)?.find(delim)? + body_start;
    let body = s.get(body_start..end)?;
    let rest = s.get(end + delim.len_utf8()..)?;
    Some((delim, body, rest))
}

fn parse_probe_line(rest: &str) -> Result<ProbeDef, String> {
    let mut it = rest.splitn(3, ' ');
    let protocol = match it.next() {
        Some("TCP") => Protocol::Tcp,
        Some("UDP") => Protocol::Udp,
        other => return Err(format!("Probe protocol {other:?} is neither TCP nor UDP")),
    };
    let name = it
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("Probe without a name")?
        .to_string();
    let q = it.next().unwrap_or("").trim();
    let body = q
        .strip_prefix('q')
        .and_then(delimited)
        .map(|(_, body, _)| body)
        .ok_or_else(|| format!("Probe {name}: payload is not q|...|"))?;
    Ok(ProbeDef {
        protocol,
        payload: unescape(body).map_err(|e| format!("Probe {name}: {e}"))?,
        name,
        ports: Vec::new(),
        ssl_ports: Vec::new(),
        total_wait: None,
        rarity: 1,
        fallback: Vec::new(),
        matches: Vec::new(),
    })
}

fn parse_port_list(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.trim()
                .parse::<u16>()
                .map_err(|_| format!("port {t:?} in {part:?} is not a port"))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let p = num(part)?;
                (p, p)
            }
        };
        out.push((a.min(b), a.max(b)));
    }
    Ok(out)
}

/// Rewrite what both engines would read otherwise than PCRE does:
/// `\Z` (end, or before a final newline) becomes `\n?\z`; octal `\0`,
/// `\0N`, `\0NN` become `\xHH` (fancy-regex reads `\0` as a
/// backreference); inside a character class a `]` right after the opening
/// `[` or `[^`, and a `[` that does not open a POSIX class (`[:alpha:]`),
/// are literals in PCRE and get a backslash (both crates would read a
/// nested class), as do `&&` and `~~` there (set operators in the regex
/// crate). Everything else is copied as written.
fn translate_pcre(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str("\\n?\\z"),
                Some('0') => {
                    let mut value: u32 = 0;
                    for _ in 0..2 {
                        match chars.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    out.push_str(&format!("\\x{value:02x}"));
                }
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class: copied up to its `:]`.
                out.push('[');
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == ':' && chars.peek() == Some(&']') {
                        chars.next();
                        out.push(']');
                        break;
                    }
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            // The regex crate's class set operators are literals in PCRE.
            '&' | '~' if in_class && chars.peek() == Some(&c) => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

/// The last non-empty line of an error message (the regex crates' messages
/// are several lines; the last says why).
fn last_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Compile a PCRE pattern from a probe file: with `regex` over bytes when
/// it can, else with `fancy-regex` over bytes. Backreferences always go to
/// `fancy-regex` (the `regex` crate would read `\1` as an octal escape and
/// silently match something else).
pub fn compile_pattern(pattern: &str, flags: &str) -> Result<Pattern, String> {
    let pattern = translate_pcre(pattern);
    let (casei, dotall) = (flags.contains('i'), flags.contains('s'));
    let linear_err = if has_backreference(&pattern) {
        "backreference".to_string()
    } else {
        match RegexBuilder::new(&pattern)
            .unicode(false)
            .octal(true)
            .case_insensitive(casei)
            .dot_matches_new_line(dotall)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => return Ok(Pattern::Linear(re)),
            Err(e) => last_line(&e.to_string()),
        }
    };
    fancy_regex::RegexBuilder::new(&pattern)
        .bytes_mode(fancy_regex::BytesMode::Ascii)
        .case_insensitive(casei)
        .dot_matches_new_line(dotall)
        .backtrack_limit(BACKTRACK_LIMIT)
        .delegate_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Pattern::Backtracking)
        .map_err(|e| {
            format!(
                "pattern not supported by the regex crate ({linear_err}) nor by fancy-regex ({})",
                last_line(&e.to_string())
            )
        })
}

/// Whether a PCRE pattern uses a backreference (`\1`…`\9` outside a
/// character class).
fn has_backreference(p: &str) -> bool {
    let b = p.as_bytes();
    let mut in_class = false;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => {
                if !in_class && b.get(i + 1).is_some_and(|d| (b'1'..=b'9').contains(d)) {
                    return true;
                }
                i += 2;
                continue;
            }
            b'[' => in_class = true,
            b']' => in_class = false,
            _ => {}
        }
        i += 1;
    }
    false
}

fn parse_match_line(rest: &str, soft: bool, line: usize) -> Result<MatchRule, String> {
    let (service, after) = rest.split_once(' ').ok_or("match without a pattern")?;
    let after = after.trim_start();
    let (_, pattern, tail) = after
        .strip_prefix('m')
        .and_then(delimited)
        .ok_or_else(|| format!("match {service}: pattern is not m/.../"))?;
    let flag_len = tail
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(tail.len());
    let (flags, mut tail) = tail.split_at(flag_len);
    let regex = compile_pattern(pattern, flags)?;
    let mut rule = MatchRule {
        service: service.to_string(),
        soft,
        pattern: regex,
        product: None,
        version: None,
        info: None,
        hostname: None,
        os: None,
        device: None,
        cpe: Vec::new(),
        line,
    };
    loop {
        tail = tail.trim_start();
        if tail.is_empty() {
            break;
        }
        let (field, rest) = if let Some(r) = tail.strip_prefix("cpe:") {
            ("cpe", r)
        } else {
            let f = tail.get(..1).unwrap_or("");
            (f, tail.get(1..).unwrap_or(""))
        };
        let (_, body, after) =
            delimited(rest).ok_or_else(|| format!("match {service}: field {field} not closed"))?;
        if body.len() > MAX_FIELD {
            return Err(format!("match {service}: field {field} too long"));
        }
        let body = body.to_string();
        tail = after;
        match field {
            "p" => rule.product = Some(body),
            "v" => rule.version = Some(body),
            "i" => rule.info = Some(body),
            "h" => rule.hostname = Some(body),
            "o" => rule.os = Some(body),
            "d" => rule.device = Some(body),
            "cpe" => {
                rule.cpe.push(format!("cpe:/{body}"));
                // cpe:/…/a: the trailing `a` flag.
                tail = tail.strip_prefix('a').unwrap_or(tail);
            }
            other => return Err(format!("match {service}: unknown field {other:?}")),
        }
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# A table in nmap's format.
Probe TCP NULL q||
totalwaitms 3000
match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+)[ -]([^\r\n]+)?|s p/OpenSSH/ v/$2/ i/protocol $1/ cpe:/a:openbsd:openssh:$2/a
softmatch ftp m/^220[- ]/
match bad m/(foo)\1/
Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
rarity 1
ports 80,8000-8010
fallback NULL
match http m|^HTTP/1\.[01] \d\d\d .*\r\nServer: nginx/([\d.]+)|s p/nginx/ v/$1/
match weird m/(?=x)y/
Probe UDP DNSVersionBindReq q|\0\x06\x01\0\0\x01|
ports 53
match dns m|^\0\x06\x81| p/DNS/ v/$I(1,">")/
"#;

    #[test]
    fn parses_nmap_format_and_uses_backtracking_where_needed() {
        let t = ProbeTable::parse(SAMPLE, "sample").unwrap();
        assert_eq!(t.probes.len(), 3);
        assert_eq!(t.rules, 6);
        assert!(t.skipped.is_empty(), "{:?}", t.skipped);
        // The backreference and the look-ahead.
        assert_eq!(t.backtracking_rules, 2);
        let backtracking: Vec<usize> = t
            .probes
            .iter()
            .flat_map(|p| &p.matches)
            .filter(|m| m.pattern.is_backtracking())
            .map(|m| m.line)
            .collect();
        assert_eq!(backtracking, vec![7, 13]);
        let get = t.probe(Protocol::Tcp, "GetRequest").unwrap();
        assert_eq!(get.payload, b"GET / HTTP/1.0\r\n\r\n");
        assert!(get.covers(8005) && !get.covers(8011));
        let dns = t.probe(Protocol::Udp, "DNSVersionBindReq").unwrap();
        assert_eq!(dns.payload, [0, 6, 1, 0, 0, 1]);
        assert_eq!(
            t.probe(Protocol::Tcp, "NULL").unwrap().total_wait,
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn matches_fill_templates_and_fall_back() {
        let t = ProbeTable::parse(SAMPLE, "sample").unwrap();
        let null = t.probe(Protocol::Tcp, "NULL").unwrap();
        let m = t
            .match_answer(null, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            .unwrap();
        assert_eq!(m.service, "ssh");
        assert_eq!(m.product.as_deref(), Some("OpenSSH"));
        assert_eq!(m.version.as_deref(), Some("9.2p1"));
        assert_eq!(m.info.as_deref(), Some("protocol 2.0"));
        assert_eq!(m.cpe, vec!["cpe:/a:openbsd:openssh:9.2p1"]);
        assert_eq!(m.line, 5);
        let get = t.probe(Protocol::Tcp, "GetRequest").unwrap();
        // An SSH greeting read after an HTTP request: the NULL rules apply.
        assert_eq!(
            t.match_answer(get, b"SSH-2.0-OpenSSH_8.4 Debian\r\n")
                .unwrap()
                .service,
            "ssh"
        );
        let ftp = t.match_answer(null, b"220 welcome\r\n").unwrap();
        assert!(ftp.soft);
        assert!(t.match_answer(null, b"").is_none());
        assert!(t.match_answer(null, b"\xff\xfe").is_none());
    }

    #[test]
    fn template_functions() {
        let re = compile_pattern(r"^(a.b)(\x01\x02)(x_y)", "").unwrap();
        assert!(!re.is_backtracking());
        let caps = re.groups(b"a\x00b\x01\x02x_y").unwrap();
        assert_eq!(substitute("$P(1)", &caps), "ab");
        assert_eq!(substitute("$I(2,\">\")", &caps), "258");
        assert_eq!(substitute("$I(2,\"<\")", &caps), "513");
        assert_eq!(substitute("v$SUBST(3,\"_\",\".\")!", &caps), "vx.y!");
        assert_eq!(substitute("$9 $ end", &caps), "$ end");
        // The same through the backtracking engine (a look-ahead sends it there).
        let re = compile_pattern(r"^(a.b)(\x01\x02)(x_y)(?=!)", "").unwrap();
        assert!(re.is_backtracking());
        let caps = re.groups(b"a\x00b\x01\x02x_y!").unwrap();
        assert_eq!(substitute("$P(1)", &caps), "ab");
        assert_eq!(substitute("$I(2,\">\")", &caps), "258");
        assert_eq!(substitute("v$SUBST(3,\"_\",\".\")!", &caps), "vx.y!");
    }

    /// Look-ahead and backreference patterns run on the backtracking engine
    /// over raw bytes, with the same flags and escapes as the linear one.
    #[test]
    fn backtracking_patterns_over_bytes() {
        const FILE: &str = r#"
Probe TCP NULL q||
match echo m|^(\w+)\xff\1\r\n|s p/echo $1/
match hdr m|^HTTP/1\.1 \d\d\d (?:[^\r\n]*\r\n(?!\r\n))*?X-Thing: ([\x80-\xff]+)\r.*\nEnd\Z|s p/thing/ v/$P(1)/ i/$I(1,">")/
match low m|^abc(?!d)(.)|i p/low/ v/$1/
match nul m|^\0\x01(?<=\0\x01)(\d+)| p/nul/ v/$1/
"#;
        let t = ProbeTable::parse(FILE, "bt").unwrap();
        assert!(t.skipped.is_empty(), "{:?}", t.skipped);
        assert_eq!(t.backtracking_rules, 4);
        let null = t.probe(Protocol::Tcp, "NULL").unwrap();
        let m = t.match_answer(null, b"ping\xffping\r\n").unwrap();
        assert_eq!(
            (m.service.as_str(), m.product.as_deref()),
            ("echo", Some("echo ping"))
        );
        // A backreference that does not repeat.
        assert!(t.match_answer(null, b"ping\xffpong\r\n").is_none());
        // Non-UTF-8 bytes in the banner and in the group.
        let rule = &null.matches[1];
        let data = b"HTTP/1.1 503 x\r\nA: \xe9\r\nX-Thing: \x80\xfe\r\nB: y\r\nEnd\n";
        let g = rule.pattern.groups(data).unwrap();
        assert_eq!(g.get(1), Some(&b"\x80\xfe"[..]));
        let m = t.match_answer(null, data).unwrap();
        assert_eq!(m.service, "hdr");
        assert_eq!(m.info.as_deref(), Some("33022"));
        // `\Z` is before one final newline, not two (as PCRE).
        let mut two = data.to_vec();
        two.push(b'\n');
        assert!(rule.pattern.groups(&two).is_none());
        // The look-ahead stops at the end of the headers.
        assert!(rule
            .pattern
            .groups(b"HTTP/1.1 503 x\r\nA: b\r\n\r\nX-Thing: \x80\r\nEnd")
            .is_none());
        // `i`: ASCII case-insensitive; a negative look-ahead.
        let m = t.match_answer(null, b"ABCe").unwrap();
        assert_eq!(m.version.as_deref(), Some("e"));
        assert!(t.match_answer(null, b"abcd").is_none());
        // `i` does not fold Latin-1 letters (PCRE without UTF does not).
        let e = compile_pattern(r"^\xe9(?=x)", "i").unwrap();
        assert!(e.groups(b"\xe9x").is_some() && e.groups(b"\xc9x").is_none());
        // `\w` is ASCII only, as in the linear engine.
        let w = compile_pattern(r"^(\w)\1", "").unwrap();
        assert!(w.groups(b"\xe9\xe9").is_none() && w.groups(b"aa").is_some());
        // `s`: the dot takes a newline only with it.
        let dot = compile_pattern(r"^a.b(?=c)", "").unwrap();
        let dot_s = compile_pattern(r"^a.b(?=c)", "s").unwrap();
        assert!(dot.groups(b"a\nbc").is_none() && dot_s.groups(b"a\nbc").is_some());
        assert!(dot.groups(b"a\xffbc").is_some());
        // PCRE's literal `]` first and `[` inside a class, in both engines.
        for p in [r"^([][\w.]+) ([^[]+)$", r"^([][\w.]+) ([^[]+)$(?<=.)"] {
            let re = compile_pattern(p, "").unwrap();
            let g = re.groups(b"[a.b] x]y").unwrap();
            assert_eq!(
                (g.get(1), g.get(2)),
                (Some(&b"[a.b]"[..]), Some(&b"x]y"[..]))
            );
            assert!(re.groups(b"a x[").is_none());
        }
        let ops = compile_pattern(r"^[a&&b~~]+$", "").unwrap();
        assert!(ops.groups(b"a&~b").is_some());
        let posix = compile_pattern(r"^[[:digit:]x]+$", "").unwrap();
        assert!(posix.groups(b"1x2").is_some() && posix.groups(b"1y").is_none());
        // Octal `\0` and a look-behind.
        let m = t.match_answer(null, b"\x00\x0142").unwrap();
        assert_eq!(m.version.as_deref(), Some("42"));
    }

    /// A pattern that backtracks exponentially stops at the limit, quickly,
    /// and counts as no match.
    #[test]
    fn backtracking_limit_is_no_match() {
        let t = ProbeTable::parse(
            "Probe TCP NULL q||\nmatch evil m/^(a|aa)+(?=b)\\1c/\nmatch ok m/^a/\n",
            "evil",
        )
        .unwrap();
        assert_eq!(t.backtracking_rules, 1);
        let null = t.probe(Protocol::Tcp, "NULL").unwrap();
        let banner = vec![b'a'; 4096];
        let start = std::time::Instant::now();
        assert_eq!(
            null.matches[0].pattern.try_groups(&banner),
            Err(LimitReached)
        );
        // The next rule still gets its turn.
        let m = t.match_answer(null, &banner).unwrap();
        assert_eq!(m.service, "ok");
        assert_eq!(t.backtrack_limit_hits(), 1);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn bad_lines_are_skipped_not_fatal() {
        let t = ProbeTable::parse(
            "match x m/a/\nProbe TCP X q|\\x4|\nProbe TCP NULL q||\nfrob 1\nmatch x m/(/\nmatch y m/ok/ p/unterminated\nrarity many\n",
            "f",
        )
        .unwrap();
        assert_eq!(t.probes.len(), 1);
        assert_eq!(t.skipped.len(), 6, "{:?}", t.skipped);
        assert!(ProbeTable::parse("# nothing\n", "f").is_err());
        assert_eq!(unescape("a\\x41\\0\\r\\|").unwrap(), b"aA\0\r|");
    }

    #[test]
    fn bundled_table_loads_cleanly() {
        let t = ProbeTable::parse(BUNDLED, "bundled").unwrap();
        assert!(t.skipped.is_empty(), "{:?}", t.skipped);
        assert!(t.rules >= 30);
        assert!(t.probe(Protocol::Tcp, "NULL").is_some());
    }

    const NMAP_FILE: &str = "/usr/share/nmap/nmap-service-probes";

    fn nmap_file() -> Option<ProbeTable> {
        let bytes = std::fs::read(NMAP_FILE).ok()?;
        ProbeTable::parse(&String::from_utf8_lossy(&bytes), NMAP_FILE).ok()
    }

    /// nmap's own file, when installed (Debian's nmap-common), loads with
    /// the great majority of its rules.
    #[test]
    fn nmap_file_when_installed() {
        let Some(t) = nmap_file() else {
            eprintln!("skipped: {NMAP_FILE} not installed");
            return;
        };
        assert!(t.probes.len() > 100);
        eprintln!(
            "{NMAP_FILE}: {} rules, {} on the backtracking engine, {} lines skipped: {:?}",
            t.rules,
            t.backtracking_rules,
            t.skipped.len(),
            t.skipped
        );
        assert!(t.rules > 10_000, "{} rules", t.rules);
        assert!(t.backtracking_rules > 500, "{}", t.backtracking_rules);
        assert!(t.skipped.len() <= 2, "{:?}", t.skipped);
    }

    /// Varnish 7.1's own 503 page (varnishd with no backend, Debian 12), as
    /// nmap names it: line 10997 of nmap's file has a look-ahead.
    #[test]
    fn varnish_by_nmap_file() {
        let Some(t) = nmap_file() else {
            eprintln!("skipped: {NMAP_FILE} not installed");
            return;
        };
        let get = t.probe(Protocol::Tcp, "GetRequest").unwrap();
        let answer = b"HTTP/1.1 503 Backend fetch failed\r\nDate: Wed, 02 Dec 2026 16:15:58 GMT\r\nServer: Varnish\r\nContent-Type: text/html; charset=utf-8\r\nRetry-After: 5\r\nX-Varnish: 2\r\nAge: 0\r\nVia: 1.1 varnish (Varnish/7.1)\r\nContent-Length: 278\r\nConnection: close\r\n\r\n<!DOCTYPE html>\n<html>\n  <head>\n    <title>503 Backend fetch failed</title>\n  </head>\n</html>\n";
        let m = t.match_answer(get, answer).unwrap();
        assert_eq!(m.service, "http-proxy", "{m:?}");
        assert_eq!(m.product.as_deref(), Some("Varnish http accelerator"));
        assert!(!m.soft);
        assert_eq!(t.backtrack_limit_hits(), 0);
    }
}
