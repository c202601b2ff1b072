//! What the detectors measure on a DNS name: its registered domain (by the
//! Public Suffix List, compiled into the `psl` crate), the part left of it,
//! and the Shannon entropy of a byte string.

use netsec_model::dns_name::is_plain_byte;
use netsec_model::DnsName;

/// A query name split at its registered domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    /// The registered domain (`example.co.uk` of `a.b.example.co.uk`),
    /// lower-case.
    pub registered: String,
    /// Its leftmost label (`example`): the part an owner chose.
    pub label: String,
    /// What is left of the registered domain (`a.b`), lower-case; empty
    /// for the registered domain itself.
    pub subdomain: String,
}

/// A query name split at its registered domain, borrowed from the
/// lower-cased copy [`split_in`] made: what the detectors use per message,
/// without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The registered domain, lower-case.
    pub registered: &'a str,
    /// Its leftmost label.
    pub label: &'a str,
    /// What is left of the registered domain, lower-case; empty for the
    /// registered domain itself.
    pub subdomain: &'a str,
}

impl Split<'_> {
    /// The owned form.
    pub fn to_parts(&self) -> NameParts {
        NameParts {
            registered: self.registered.to_string(),
            label: self.label.to_string(),
            subdomain: self.subdomain.to_string(),
        }
    }
}

/// Split `name` (with or without the trailing dot, any case) at its
/// registered domain. `None` for a name that has none: a bare public
/// suffix (`com`, `co.uk`), the root, or an empty label.
///
/// ```
/// let p = netsec_dns::name::split("Mail.Example.CO.UK.").unwrap();
/// assert_eq!((p.registered.as_str(), p.label.as_str(), p.subdomain.as_str()),
///            ("example.co.uk", "example", "mail"));
/// ```
pub fn split(name: &str) -> Option<NameParts> {
    split_in(name, &mut String::new()).map(|s| s.to_parts())
}

/// [`split`] into `buffer`, which holds the lower-cased name afterwards and
/// can be reused for the next name (no allocation once it is long enough).
///
/// ```
/// let mut buffer = String::new();
/// let p = netsec_dns::name::split_in("A.B.Example.com", &mut buffer).unwrap();
/// assert_eq!((p.registered, p.label, p.subdomain), ("example.com", "example", "a.b"));
/// ```
pub fn split_in<'a>(name: &str, buffer: &'a mut String) -> Option<Split<'a>> {
    buffer.clear();
    buffer.push_str(name.trim_end_matches('.'));
    buffer.make_ascii_lowercase();
    let lower: &'a str = buffer.as_str();
    if lower.is_empty() || lower.starts_with('.') || lower.contains("..") {
        return None;
    }
    let registered = psl::domain_str(lower)?;
    let label = registered.split('.').next().unwrap_or_default();
    let subdomain = lower
        .strip_suffix(registered)
        .map(|s| s.trim_end_matches('.'))
        .unwrap_or_default();
    Some(Split {
        registered,
        label,
        subdomain,
    })
}

/// A hasher under fixed seeds, for the detectors' tables: the same input
/// gives the same tables, and so the same findings, on every run. Keys by
/// a name's 64-bit hash copy no string to look a name up; two names with
/// one hash (about one chance in 2^64 per pair) would share an entry.
pub(crate) fn fixed_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(
        0x6e65_7473_6563_646e,
        0x7475_6e6e_656c_0001,
        0x2545_f491_4f6c_dd1d,
        0x9e37_79b9_7f4a_7c15,
    )
}

/// Whether `domain` is `allowed` or one of its subdomains (both
/// lower-case, no trailing dot).
pub fn within(domain: &str, allowed: &str) -> bool {
    domain == allowed
        || domain
            .strip_suffix(allowed)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The bytes of a label as they went on the wire: the presentation form
/// netsec-proto logs escapes bytes outside printable ASCII as `\DDD`
/// (decimal) and `.` or `\` as `\.` and `\\` (RFC 4343 §2.1), which
/// would otherwise count as several characters each.
///
/// ```
/// assert_eq!(netsec_dns::name::wire_bytes(r"a\200b\.c"), b"a\xc8b.c".to_vec());
/// ```
pub fn wire_bytes(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for_each_wire_byte(text, |b| out.push(b));
    out
}

/// Calls `f` with each byte of [`wire_bytes`]`(text)`, without the copy.
pub fn for_each_wire_byte(text: &str, mut f: impl FnMut(u8)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            f(b);
            i += 1;
            continue;
        }
        let digits = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        match digits {
            Some(d) => {
                let value = d
                    .iter()
                    .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
                f(u8::try_from(value).unwrap_or(u8::MAX));
                i += 4;
            }
            None => {
                if let Some(&next) = bytes.get(i + 1) {
                    f(next);
                }
                i += 2;
            }
        }
    }
}

/// Shannon entropy of a byte histogram, in bits per byte (0 for an empty
/// one).
pub fn entropy_of(histogram: &[u32]) -> f64 {
    // The counts' sum in integers: the same value as summing them as f64
    // (exact below 2^53), without a conversion per bin.
    let total = histogram.iter().map(|&c| u64::from(c)).sum::<u64>() as f64;
    if total <= 0.0 {
        return 0.0;
    }
    histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum()
}

/// Shannon entropy of `bytes`, in bits per byte: [`entropy_of`] their
/// histogram, visiting only the bytes present (in the same order, so the
/// same value).
pub fn entropy(bytes: &[u8]) -> f64 {
    let mut histogram = [0u32; 256];
    let mut present = [0u64; 4];
    for &b in bytes {
        if let Some(slot) = histogram.get_mut(usize::from(b)) {
            *slot = slot.saturating_add(1);
        }
        if let Some(word) = present.get_mut(usize::from(b >> 6)) {
            *word |= 1 << (b & 63);
        }
    }
    let counts = || {
        present.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(b)
            })
        })
    };
    let total = counts()
        .map(|b| u64::from(histogram.get(b).copied().unwrap_or(0)))
        .sum::<u64>() as f64;
    if total <= 0.0 {
        return 0.0;
    }
    counts()
        .map(|b| histogram.get(b).copied().unwrap_or(0))
        .filter(|&c| c > 0)
        .map(|c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum()
}

/// A DNS name split at its registered domain from its wire bytes
/// ([`with_name_split`]): nothing escaped to text and decoded back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameSplit<'a> {
    /// The registered domain, lower-case presentation form (as
    /// [`Split::registered`]).
    pub registered: &'a str,
    /// Its leftmost label.
    pub label: &'a str,
    /// The labels left of the registered domain as they went on the wire,
    /// ASCII lower-cased, joined by `.`; empty for the registered domain
    /// itself. (A label holding a `.` byte reads as two here.)
    pub subdomain: &'a [u8],
    /// The length of the longest part of `subdomain` between dots (0 for
    /// none).
    pub longest_label: usize,
}

/// A name split by [`with_name_split`]: the wire form it was given, its
/// labels lower-cased and joined by `.`, and where its parts are.
#[derive(Debug, Default)]
struct NameSplitEntry {
    /// The name's wire form as given (the cache key).
    wire: Vec<u8>,
    /// The wire form, ASCII lower-cased (length bytes included: a label's
    /// length is below `A` on the wire).
    lower_wire: Vec<u8>,
    /// [`name_key`] of the name, once asked for.
    key: Option<u64>,
    /// Its labels' bytes, ASCII lower-cased, joined by `.`.
    lower: Vec<u8>,
    /// The registered domain's text (lower-case).
    registered_text: String,
    /// Where the subdomain ends in `lower` and where the registered
    /// domain's first label ends in its text; `None` when the name has no
    /// registered domain.
    cuts: Option<NameCuts>,
}

/// Offsets of a [`NameSplitEntry`].
#[derive(Debug, Clone, Copy)]
struct NameCuts {
    subdomain_end: usize,
    label_end: usize,
    /// [`NameSplit::longest_label`].
    longest_label: usize,
}

impl NameSplitEntry {
    fn split(&self) -> Option<NameSplit<'_>> {
        let c = self.cuts?;
        let subdomain = self.lower.get(..c.subdomain_end)?;
        let registered = self.registered_text.as_str();
        Some(NameSplit {
            registered,
            label: registered.get(..c.label_end)?,
            subdomain,
            longest_label: c.longest_label,
        })
    }

    /// Fill the entry for `name`.
    fn fill(&mut self, name: &DnsName) {
        self.wire.clear();
        self.wire.extend_from_slice(name.wire());
        self.lower_wire.clear();
        self.lower_wire.extend_from_slice(name.wire());
        // Whether a byte of the wire form (a label's or a length) is a dot.
        let dot = lowercase_finding_dots(&mut self.lower_wire);
        self.key = None;
        self.lower.clear();
        self.cuts = None;
        // The wire form without its first length byte, each further length
        // byte turned into a dot, lower-cased: one copy, no byte pushed
        // one at a time.
        self.lower
            .extend_from_slice(self.lower_wire.get(1..).unwrap_or_default());
        let mut labels = 0usize;
        let mut at = 0usize;
        for label in name.labels() {
            if label.is_empty() {
                return;
            }
            at += label.len();
            if let Some(b) = self.lower.get_mut(at) {
                *b = b'.';
            }
            at += 1;
            labels += 1;
        }
        self.lower.truncate(at.saturating_sub(1));
        // No label holds a `.` byte: the dots are the separators only
        // (counted only when a byte of the wire form is a dot).
        let plain_dots = !dot || self.lower.iter().filter(|&&b| b == b'.').count() + 1 == labels;
        if labels == 0 {
            return;
        }
        // The Public Suffix List on the wire bytes: the same registered
        // domain as on the escaped text when its labels need no escape
        // (a rule matches a label with escapes in neither form, and a
        // wildcard matches either).
        if plain_dots {
            if let Some(domain) = psl::domain(&self.lower) {
                let registered = domain.as_bytes();
                let text = std::str::from_utf8(registered).ok();
                if let Some(text) =
                    text.filter(|t| t.bytes().all(|b| b == b'.' || is_plain_byte(b)))
                {
                    let start = self.lower.len() - registered.len();
                    self.registered_text.clear();
                    self.registered_text.push_str(text);
                    let label_end = registered
                        .iter()
                        .position(|&b| b == b'.')
                        .unwrap_or(registered.len());
                    let subdomain_end = start.saturating_sub(1);
                    // The subdomain's parts are its wire labels (no label
                    // holds a dot), the first ones up to `subdomain_end`.
                    let mut longest_label = 0;
                    let mut at = 0;
                    for label in name.labels() {
                        if at >= subdomain_end {
                            break;
                        }
                        longest_label = longest_label.max(label.len());
                        at += label.len() + 1;
                    }
                    self.cuts = Some(NameCuts {
                        subdomain_end,
                        label_end,
                        longest_label,
                    });
                    return;
                }
            } else {
                return;
            }
        }
        self.fill_escaped(name, labels);
    }

    /// [`Self::fill`] through the text, as [`split_in`] splits it: a label
    /// holds a `.` byte, or the registered domain needs escapes.
    fn fill_escaped(&mut self, name: &DnsName, labels: usize) {
        let mut text = Vec::new();
        name.write_text(&mut text);
        text.make_ascii_lowercase();
        let Ok(text) = String::from_utf8(text) else {
            return;
        };
        let mut buffer = String::new();
        let Some(parts) = split_in(&text, &mut buffer) else {
            return;
        };
        // The wire labels the registered domain spans: the last k whose
        // text is its text.
        let all: Vec<&[u8]> = name.labels().collect();
        let mut registered_labels = None;
        for k in 1..=labels {
            let mut tail = Vec::new();
            for (i, label) in all.iter().skip(labels - k).enumerate() {
                if i > 0 {
                    tail.push(b'.');
                }
                netsec_model::dns_name::push_label_text(&mut tail, label);
            }
            tail.make_ascii_lowercase();
            if tail == parts.registered.as_bytes() {
                registered_labels = Some(k);
                break;
            }
        }
        let Some(k) = registered_labels else { return };
        let kept = labels - k;
        let subdomain_end: usize = all
            .iter()
            .take(kept)
            .map(|l| l.len() + 1)
            .sum::<usize>()
            .saturating_sub(1);
        self.registered_text.clear();
        self.registered_text.push_str(parts.registered);
        self.cuts = Some(NameCuts {
            subdomain_end,
            label_end: parts.label.len(),
            longest_label: self
                .lower
                .get(..subdomain_end)
                .unwrap_or_default()
                .split(|&b| b == b'.')
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0),
        });
    }
}

/// ASCII lower-case `bytes` in place, eight at a time; whether any of them
/// is a `.`.
fn lowercase_finding_dots(bytes: &mut [u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut dots = 0u64;
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Per byte: the high bit of `upper` is set for `A`..=`Z` (seven low
        // bits at least `A` and not above `Z`, the high bit clear).
        let low7 = x & !HIGH;
        let at_least_a = low7 + ONES * u64::from(0x80 - b'A');
        let above_z = low7 + ONES * u64::from(0x7f - b'Z');
        let upper = at_least_a & !above_z & !x & HIGH;
        chunk.copy_from_slice(&(x | (upper >> 2)).to_le_bytes());
        // A zero byte of `x ^ "........"`: a dot.
        let t = x ^ (ONES * u64::from(b'.'));
        dots |= t.wrapping_sub(ONES) & !t & HIGH;
    }
    let rest = chunks.into_remainder();
    let rest_dot = rest.contains(&b'.');
    rest.make_ascii_lowercase();
    dots != 0 || rest_dot
}

/// The names last split on this thread by [`with_name_split`].
#[derive(Debug, Default)]
struct NameSplitCache {
    entries: [NameSplitEntry; 4],
    next: usize,
}

thread_local! {
    static NAME_SPLITS: std::cell::RefCell<NameSplitCache> = std::cell::RefCell::default();
}

/// Calls `f` with `name` split at its registered domain, read from its wire
/// bytes; each name is split once for the detectors that look at it one
/// after another (the last four names split on the thread are kept: a hit
/// costs a comparison of the wire bytes). `None` for a name without a
/// registered domain: a bare public suffix, the root.
///
/// ```
/// use netsec_model::DnsName;
/// let name = DnsName::from_labels([&b"A\xc8"[..], b"Example", b"co", b"uk"]);
/// netsec_dns::name::with_name_split(&name, |p| {
///     let p = p.unwrap();
///     assert_eq!((p.registered, p.label), ("example.co.uk", "example"));
///     assert_eq!(p.subdomain, b"a\xc8");
/// });
/// ```
pub fn with_name_split<R>(name: &DnsName, f: impl FnOnce(Option<NameSplit<'_>>) -> R) -> R {
    with_entry(name, |entry| f(entry.split()))
}

/// A key for `name` that ignores case (RFC 4343): a hash of its wire
/// bytes, ASCII lower-cased, under [`fixed_hasher`]; computed once per name
/// for every detector that asks (the entry [`with_name_split`] keeps).
/// Two names with one key (about one chance in 2^64 per pair) would be
/// taken for one.
///
/// ```
/// use netsec_model::DnsName;
/// let a = netsec_dns::name::name_key(&DnsName::from_text("WWW.Example.com"));
/// assert_eq!(a, netsec_dns::name::name_key(&DnsName::from_text("www.example.COM")));
/// assert_ne!(a, netsec_dns::name::name_key(&DnsName::from_text("www.example.net")));
/// ```
pub fn name_key(name: &DnsName) -> u64 {
    with_entry(name, |entry| match entry.key {
        Some(key) => key,
        None => {
            let key = fixed_hasher().hash_one(entry.lower_wire.as_slice());
            entry.key = Some(key);
            key
        }
    })
}

/// Calls `f` with the entry of `name`, filled on this thread's cache (the
/// last four names) or, if the cache is in use, on its own.
fn with_entry<R>(name: &DnsName, f: impl FnOnce(&mut NameSplitEntry) -> R) -> R {
    NAME_SPLITS.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            let mut entry = NameSplitEntry::default();
            entry.fill(name);
            return f(&mut entry);
        };
        let cache = &mut *cache;
        // The entries newest first: most lookups are for the name just
        // split (the detectors one after another, a response after its
        // query), found by the first comparison.
        let len = cache.entries.len();
        let hit = (1..=len)
            .map(|back| (cache.next + len - back) % len)
            .find(|&i| cache.entries.get(i).is_some_and(|e| e.wire == name.wire()));
        let index = match hit {
            Some(i) => i,
            None => {
                let i = cache.next % cache.entries.len();
                cache.next = i + 1;
                if let Some(entry) = cache.entries.get_mut(i) {
                    entry.fill(name);
                }
                i
            }
        };
        match cache.entries.get_mut(index) {
            Some(entry) => f(entry),
            None => {
                let mut entry = NameSplitEntry::default();
                entry.fill(name);
                f(&mut entry)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains_follow_the_public_suffix_list() {
        let p = split("a.b.example.com").unwrap();
        assert_eq!(p.registered, "example.com");
        assert_eq!(p.subdomain, "a.b");
        assert_eq!(split("www.bbc.co.uk").unwrap().registered, "bbc.co.uk");
        assert_eq!(split("example.com").unwrap().subdomain, "");
        assert!(split("com").is_none());
        assert!(split("").is_none());
        assert!(split("a..b.com").is_none());
        assert!(split(".").is_none());
    }

    #[test]
    fn allow_list_matches_whole_labels() {
        assert!(within("avqs.mcafee.com", "mcafee.com"));
        assert!(within("mcafee.com", "mcafee.com"));
        assert!(!within("notmcafee.com", "mcafee.com"));
    }

    #[test]
    fn escapes_decode_to_wire_bytes() {
        assert_eq!(wire_bytes("abc"), b"abc");
        assert_eq!(wire_bytes(r"\255\000x"), [255, 0, b'x']);
        assert_eq!(wire_bytes(r"\\"), b"\\");
        // Truncated escapes do not panic.
        assert_eq!(wire_bytes(r"a\2"), b"a2");
        assert_eq!(wire_bytes("a\\"), b"a");
        assert_eq!(wire_bytes(r"\999"), [255]);
    }

    #[test]
    fn arbitrary_text_never_panics() {
        // Names as a hostile capture could make them: any byte, escapes cut
        // short, empty labels, dots only.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..2000 {
            let len = (x % 300) as usize;
            let text: String = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let alphabet = b"\\.0123456789aZ-_\x7f \xe9";
                    char::from(alphabet[(x % alphabet.len() as u64) as usize])
                })
                .collect();
            let _ = split(&text);
            let _ = wire_bytes(&text);
            assert!(entropy(text.as_bytes()).is_finite());
            assert!(crate::dga::score_label(&text).score.is_finite());
        }
    }

    /// `with_name_split` (wire bytes, cached) splits as `split_in` splits the
    /// text, its subdomain the wire bytes of the text's; `entropy` (present
    /// bytes only) gives what `entropy_of` over the whole histogram gives,
    /// bit for bit.
    #[test]
    fn cached_split_and_sparse_entropy_match_the_plain_ones() {
        let names = [
            "a.b.Example.com",
            "example.com",
            "com",
            "x.example.com",
            "a.b.example.com",
            "Mail.bbc.co.uk.",
            "a..b.com",
            "",
            r"\200x.\.y.test.example.net",
            r"a.\195\169t\195\169.example.\195\169t\195\169",
            "b.Example.CO.uk",
            // A label of 46 bytes: its length byte is a dot on the wire.
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.Example.com",
            r"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b\.c.example.com",
        ];
        for round in 0..3 {
            for name in names.iter().skip(round) {
                let wire = DnsName::from_text(name);
                let cached = with_name_split(&wire, |p| {
                    p.map(|p| {
                        let longest = p.subdomain.split(|&b| b == b'.').map(<[u8]>::len).max();
                        assert_eq!(p.longest_label, longest.unwrap_or(0), "{name}");
                        (
                            p.registered.to_string(),
                            p.label.to_string(),
                            p.subdomain.to_vec(),
                        )
                    })
                });
                let plain = split(name).map(|p| (p.registered, p.label, wire_bytes(&p.subdomain)));
                assert_eq!(cached, plain, "{name}");
            }
        }
        for name in names {
            let mut histogram = [0u32; 256];
            for &b in name.as_bytes() {
                histogram[usize::from(b)] += 1;
            }
            assert_eq!(
                entropy(name.as_bytes()).to_bits(),
                entropy_of(&histogram).to_bits()
            );
        }
    }

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9);
    }
}
