//! A DNS name as it went on the wire: its labels' bytes, each after its
//! length byte, in one buffer (RFC 1035 §3.1 without the root's zero byte
//! and with compression pointers followed), and its presentation form
//! (`\DDD` escapes) written only when something asks for text.
//!
//! Detectors read the bytes ([`DnsName::labels`]) and never decode escapes
//! back; logs and reports ask for the text ([`DnsName::as_str`], `Display`,
//! `Serialize`), written once per name and kept.
//!
//! ```
//! use netsec_model::DnsName;
//! let n = DnsName::from_labels([&b"www"[..], b"ex\xc8mple", b"com"]);
//! assert_eq!(n.as_str(), r"www.ex\200mple.com");
//! assert_eq!(n.labels().nth(1), Some(&b"ex\xc8mple"[..]));
//! assert_eq!(DnsName::from(r"www.ex\200mple.com"), n);
//! assert_eq!(DnsName::default().as_str(), "<Root>");
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Bytes of a name held without a heap allocation: ordinary host names
/// (`textsecure-service-ca.whispersystems.org` is 42); tunnel names, up to
/// 254, take one allocation.
const INLINE: usize = 64;

/// A DNS name: length-prefixed labels in one buffer, the text written on
/// demand. Equality and hashing look at the bytes (case kept), as the text
/// is a function of them.
#[derive(Clone, Default)]
pub struct DnsName {
    /// Per label: its length (one byte), then its bytes.
    wire: SmallVec<[u8; INLINE]>,
    /// The presentation form, once asked for.
    text: OnceLock<Box<str>>,
}

/// How each byte is written in a presentation-form label (RFC 1035 §5.1),
/// packed in one word: up to four bytes of text (little-endian) in the low
/// half and how many of them count above — as it is for printable ASCII,
/// after a backslash for `.`, `\\`, `"`, `(`, `)`, `;`, `@` and `$`, else as
/// `\DDD` (decimal). This is what dig writes; hickory-proto's `to_ascii`
/// writes octal escapes and escapes `=` and `+`, which tshark does not.
const ESCAPES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let v = b as u8;
        let (text, n): ([u8; 4], u64) = if b >= 0x21 && b <= 0x7e {
            ([v, 0, 0, 0], 1)
        } else {
            (
                [b'\\', b'0' + v / 100, b'0' + v / 10 % 10, b'0' + v % 10],
                4,
            )
        };
        t[b] = u32::from_le_bytes(text) as u64 | n << 32;
        b += 1;
    }
    let special = b".\\\"();@$";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = u32::from_le_bytes([b'\\', special[i], 0, 0]) as u64 | 2 << 32;
        i += 1;
    }
    t
};

/// Whether byte `b` is written as it is in presentation form.
pub fn is_plain_byte(b: u8) -> bool {
    ESCAPES.get(usize::from(b)).is_some_and(|&e| e >> 32 == 1)
}

/// Longest label on the wire (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Append one label in presentation form ([`ESCAPES`]). A label of printable
/// ASCII with nothing to escape, the rule, is copied whole; otherwise each
/// byte's text goes to a stack buffer, appended once per 63 bytes.
pub fn push_label_text(out: &mut Vec<u8>, label: &[u8]) {
    if label.iter().all(|&b| is_plain_byte(b)) {
        out.extend_from_slice(label);
        return;
    }
    let mut buf = [0u8; 4 * MAX_LABEL_LEN + 4];
    for chunk in label.chunks(MAX_LABEL_LEN) {
        let mut w = 0;
        for &b in chunk {
            let packed = ESCAPES.get(usize::from(b)).copied().unwrap_or(0);
            if let Some(slot) = buf.get_mut(w..w + 4) {
                slot.copy_from_slice(&(packed as u32).to_le_bytes());
            }
            w += (packed >> 32) as usize;
        }
        out.extend_from_slice(buf.get(..w).unwrap_or_default());
    }
}

impl DnsName {
    /// A name from its wire form as this type holds it: per label a length
    /// byte then that many bytes, no root byte, no compression pointer.
    /// A length running past the end ends the name there (the part of the
    /// label present is kept), so any bytes make a name.
    pub fn from_wire(wire: &[u8]) -> Self {
        let mut name = DnsName {
            wire: SmallVec::from_slice(wire),
            text: OnceLock::new(),
        };
        // The lengths are walked on the slice given (the copy's bytes are
        // the same); only a last label cut short is mended in the copy.
        let mut at = 0;
        while let Some(&len) = wire.get(at) {
            let end = at + 1 + usize::from(len);
            if end > wire.len() {
                let have = wire.len() - at - 1;
                if let Some(b) = name.wire.get_mut(at) {
                    *b = u8::try_from(have).unwrap_or(u8::MAX);
                }
                break;
            }
            at = end;
        }
        name
    }

    /// A name from its labels (each cut at 255 bytes).
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut name = DnsName::default();
        for label in labels {
            name.push_label(label);
        }
        name
    }

    /// Append a label (cut at 255 bytes: the wire allows 63).
    pub fn push_label(&mut self, label: &[u8]) {
        let label = label.get(..255).unwrap_or(label);
        self.wire.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
        self.wire.extend_from_slice(label);
        self.text = OnceLock::new();
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.wire }
    }

    /// The wire form held: per label a length byte then its bytes.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The root (no label).
    pub fn is_root(&self) -> bool {
        self.wire.is_empty()
    }

    /// Number of labels.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Append the presentation form to `out`: labels joined by `.`, bytes
    /// escaped as RFC 1035 §5.1 and dig write them; `<Root>` for the root
    /// (as tshark writes it).
    pub fn write_text(&self, out: &mut Vec<u8>) {
        Self::write_wire_text(&self.wire, out);
    }

    /// [`Self::write_text`] of the name whose wire form (as [`Self::wire`]
    /// gives it) is `wire`, without making the name.
    pub fn write_wire_text(wire: &[u8], out: &mut Vec<u8>) {
        if wire.is_empty() {
            out.extend_from_slice(b"<Root>");
            return;
        }
        for (i, label) in (Labels { rest: wire }).enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            push_label_text(out, label);
        }
    }

    /// The presentation form ([`Self::write_text`]), written on the first
    /// call and kept.
    pub fn as_str(&self) -> &str {
        self.text.get_or_init(|| {
            let mut text = Vec::with_capacity(self.wire.len() + 8);
            self.write_text(&mut text);
            // ASCII by construction.
            String::from_utf8(text)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                .into_boxed_str()
        })
    }

    /// The presentation form, owned: the text kept if it was written, else
    /// written now (one allocation).
    pub fn into_text(self) -> String {
        if let Some(text) = self.text.into_inner() {
            return text.into();
        }
        let mut text = Vec::with_capacity(self.wire.len() + 8);
        DnsName {
            wire: self.wire,
            text: OnceLock::new(),
        }
        .write_text(&mut text);
        String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// A name from its presentation form: labels split at `.` not escaped,
    /// `\DDD` (decimal, at most 255) and `\X` unescaped, a trailing dot
    /// ignored; `<Root>`, `.` and the empty string are the root. Lenient, as
    /// text from a log may be anything: an escape cut short stands for its
    /// characters.
    pub fn from_text(text: &str) -> Self {
        let mut name = DnsName::default();
        if text == "<Root>" || text == "." || text.is_empty() {
            return name;
        }
        let body = text.strip_suffix('.').filter(|b| !b.ends_with('\\'));
        let bytes = body.unwrap_or(text).as_bytes();
        let mut label: Vec<u8> = Vec::with_capacity(64);
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'.' => {
                    name.push_label(&label);
                    label.clear();
                    i += 1;
                }
                b'\\' => {
                    let digits = bytes
                        .get(i + 1..i + 4)
                        .filter(|d| d.iter().all(u8::is_ascii_digit))
                        .map(|d| {
                            d.iter()
                                .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
                        })
                        .and_then(|v| u8::try_from(v).ok());
                    match (digits, bytes.get(i + 1)) {
                        (Some(v), _) => {
                            label.push(v);
                            i += 4;
                        }
                        (None, Some(&next)) => {
                            label.push(next);
                            i += 2;
                        }
                        (None, None) => {
                            label.push(b'\\');
                            i += 1;
                        }
                    }
                }
                _ => {
                    label.push(b);
                    i += 1;
                }
            }
        }
        name.push_label(&label);
        name
    }
}

/// The labels of a [`DnsName`], leftmost first.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let len = usize::from(len).min(tail.len());
        let (label, rest) = tail.split_at(len);
        self.rest = rest;
        Some(label)
    }
}

impl PartialEq for DnsName {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for DnsName {}

impl Hash for DnsName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.wire.hash(state);
    }
}

impl PartialEq<str> for DnsName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for DnsName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for DnsName {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<DnsName> for str {
    fn eq(&self, other: &DnsName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<DnsName> for &str {
    fn eq(&self, other: &DnsName) -> bool {
        *self == other.as_str()
    }
}

impl From<&str> for DnsName {
    fn from(text: &str) -> Self {
        DnsName::from_text(text)
    }
}

impl From<String> for DnsName {
    fn from(text: String) -> Self {
        DnsName::from_text(&text)
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for DnsName {
    /// As its presentation form, a string.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DnsName {
    /// From its presentation form ([`DnsName::from_text`]).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(DnsName::from_text(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for text in [
            "a.ex",
            r"a\.b.c",
            r"\000\255x.y",
            r#"\\\(\)\;\@\$\".z"#,
            "<Root>",
        ] {
            let n = DnsName::from_text(text);
            assert_eq!(n.as_str(), text);
            assert_eq!(DnsName::from_text(n.as_str()), n);
        }
        assert_eq!(DnsName::from_text("a.b.").as_str(), "a.b");
        assert_eq!(DnsName::from_text(".").as_str(), "<Root>");
        assert_eq!(DnsName::from_text(r"a\.").label_count(), 1);
    }

    #[test]
    fn hostile_text_and_wire_never_panic() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..2000 {
            let len = (x % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            let w = DnsName::from_wire(&bytes);
            assert!(w.labels().map(|l| l.len() + 1).sum::<usize>() <= bytes.len());
            let _ = w.as_str();
            let text: String = bytes
                .iter()
                .map(|&b| char::from(b"\\.09az\x7f\xe9 "[usize::from(b) % 9]))
                .collect();
            let t = DnsName::from_text(&text);
            let _ = t.as_str();
        }
    }
}
