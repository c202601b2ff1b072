//! Fingerprints known to be bad, loaded from the user's files: JA3 and JA3S
//! hashes, JA4 and JA4S fingerprints, and certificate JA4X and SHA-1/SHA-256
//! fingerprints (abuse.ch's SSLBL publishes JA3 and certificate lists in
//! these forms).
//!
//! One entry per line, `#` starts a comment:
//!
//! ```text
//! ja3:e7d705a3286e19ea42f587b344ee6865   Trickbot
//! ja4:t13d1516h2_8daaf6152771_e5627efa2ab1
//! ja4x:2bab15409345_af684594efb4_000000000000   self-signed lab CA
//! sha1:3a:0b:3b:23:15:2c:44:5c:27:ac:6a:0c:41:d6:fa:74:af:b4:09:5b  Dridex C2
//! ja3,e7d705a3286e19ea42f587b344ee6865,Trickbot      # CSV: kind,value,name
//! ```
//!
//! Kinds: `ja3`, `ja3s`, `ja4`, `ja4s`, `ja4x`, `sha1`, `sha256`. Hex is compared
//! case-insensitively, certificate fingerprints with or without `:`.

use std::collections::HashMap;
use std::path::Path;

/// What a blocklist line says is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FingerprintKind {
    /// A client's JA3 (MD5, 32 hex digits).
    Ja3,
    /// A server's JA3S (MD5).
    Ja3s,
    /// A client's JA4.
    Ja4,
    /// A server's JA4S.
    Ja4s,
    /// A certificate's JA4X.
    Ja4x,
    /// SHA-1 of a certificate's DER.
    CertSha1,
    /// SHA-256 of a certificate's DER.
    CertSha256,
}

impl FingerprintKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "ja3" => FingerprintKind::Ja3,
            "ja3s" => FingerprintKind::Ja3s,
            "ja4" => FingerprintKind::Ja4,
            "ja4s" => FingerprintKind::Ja4s,
            "ja4x" => FingerprintKind::Ja4x,
            "sha1" => FingerprintKind::CertSha1,
            "sha256" => FingerprintKind::CertSha256,
            _ => return None,
        })
    }

    /// The name used in findings.
    pub fn name(self) -> &'static str {
        match self {
            FingerprintKind::Ja3 => "ja3",
            FingerprintKind::Ja3s => "ja3s",
            FingerprintKind::Ja4 => "ja4",
            FingerprintKind::Ja4s => "ja4s",
            FingerprintKind::Ja4x => "certificate ja4x",
            FingerprintKind::CertSha1 => "certificate sha1",
            FingerprintKind::CertSha256 => "certificate sha256",
        }
    }
}

/// A line of a blocklist that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {reason}")]
pub struct BlocklistError {
    /// File name.
    pub file: String,
    /// Line number (from 1).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A bad fingerprint's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    /// The name the list gives it (malware family, campaign), if any.
    pub name: Option<String>,
    /// The list it came from (file name).
    pub list: String,
}

/// Every loaded fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    entries: HashMap<(FingerprintKind, String), BlockEntry>,
}

/// The form values are compared in: lower case, no `:`.
fn normal(value: &str) -> String {
    value
        .trim()
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Blocklist {
    /// Read a list file.
    pub fn load(&mut self, path: &Path) -> Result<usize, BlocklistError> {
        let file = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| BlocklistError {
            file: file.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        self.add_text(&String::from_utf8_lossy(&text), &file)
    }

    /// Read the lines of a list named `list`; how many entries were added.
    pub fn add_text(&mut self, text: &str, list: &str) -> Result<usize, BlocklistError> {
        let mut added = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let error = |reason: String| BlocklistError {
                file: list.to_string(),
                line: i + 1,
                reason,
            };
            let (kind, rest) = match line.split_once([':', ',']) {
                Some((k, rest)) => (k, rest),
                None => return Err(error(format!("`{line}` is not KIND:VALUE [NAME]"))),
            };
            let kind = FingerprintKind::parse(kind).ok_or_else(|| {
                error(format!(
                    "unknown kind `{kind}` (ja3, ja3s, ja4, ja4s, ja4x, sha1, sha256)"
                ))
            })?;
            let (value, name) = if line.contains(',') && !line.contains(char::is_whitespace) {
                let mut parts = rest.splitn(2, ',');
                (
                    parts.next().unwrap_or_default(),
                    parts.next().map(str::trim),
                )
            } else {
                let mut parts = rest.trim().splitn(2, char::is_whitespace);
                (
                    parts.next().unwrap_or_default(),
                    parts.next().map(str::trim),
                )
            };
            let value = normal(value);
            let valid = match kind {
                FingerprintKind::Ja3 | FingerprintKind::Ja3s => {
                    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
                }
                FingerprintKind::CertSha1 => {
                    value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit())
                }
                FingerprintKind::CertSha256 => {
                    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
                }
                // three groups of 12 hex digits joined by `_`
                FingerprintKind::Ja4x => {
                    value.len() == 38
                        && value.split('_').count() == 3
                        && value
                            .split('_')
                            .all(|g| g.len() == 12 && g.bytes().all(|b| b.is_ascii_hexdigit()))
                }
                FingerprintKind::Ja4 | FingerprintKind::Ja4s => {
                    value.len() >= 10
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                }
            };
            if !valid {
                return Err(error(format!("`{value}` is not a {} value", kind.name())));
            }
            self.entries.insert(
                (kind, value),
                BlockEntry {
                    name: name.filter(|n| !n.is_empty()).map(String::from),
                    list: list.to_string(),
                },
            );
            added += 1;
        }
        Ok(added)
    }

    /// The entry for `value`, if it is listed as `kind`.
    pub fn find(&self, kind: FingerprintKind, value: &str) -> Option<&BlockEntry> {
        if self.entries.is_empty() {
            return None;
        }
        self.entries.get(&(kind, normal(value)))
    }

    /// Entries loaded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_both_forms_and_errors_name_the_line() {
        let mut b = Blocklist::default();
        let text = "# SSLBL-style\nja3:E7D705A3286E19EA42F587B344EE6865  Trickbot\n\nja3s,623de93db17d313345d7ea481e7443cf,Dridex\nsha1:3a:0b:3b:23:15:2c:44:5c:27:ac:6a:0c:41:d6:fa:74:af:b4:09:5b\n";
        assert_eq!(b.add_text(text, "test.list"), Ok(3));
        let e = b
            .find(FingerprintKind::Ja3, "e7d705a3286e19ea42f587b344ee6865")
            .unwrap();
        assert_eq!(e.name.as_deref(), Some("Trickbot"));
        assert!(b
            .find(FingerprintKind::Ja3s, "623de93db17d313345d7ea481e7443cf")
            .is_some());
        assert!(b
            .find(
                FingerprintKind::CertSha1,
                "3a0b3b23152c445c27ac6a0c41d6fa74afb4095b"
            )
            .is_some());
        assert!(b
            .find(FingerprintKind::Ja3s, "e7d705a3286e19ea42f587b344ee6865")
            .is_none());
        let err = b.add_text("ja3:abc\n", "bad.list").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().starts_with("bad.list:1:"));
        let err = b
            .add_text("\nmd5:e7d705a3286e19ea42f587b344ee6865\n", "bad.list")
            .unwrap_err();
        assert_eq!(err.line, 2);
    }
}
