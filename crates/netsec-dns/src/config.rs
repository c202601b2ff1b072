//! The DNS detectors' configuration: one table per detector (`[tunnel]`,
//! `[dga]`, `[spoof]`) and the threat lists (`intel`), read from TOML.
//! Every field has a default, so an empty text is valid and a file names
//! only what it changes.

use std::path::{Path, PathBuf};

use netsec_model::Analyzer;
use serde::{Deserialize, Serialize};

use crate::dga::{DgaConfig, DgaDetector};
use crate::intel::{IntelError, IntelLists};
use crate::spoof::{DnsSpoofDetector, SpoofConfig};
use crate::tunnel::{DnsTunnelDetector, TunnelConfig};

/// Everything the DNS detectors can be told.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Threat lists to match queries and answers against, as `--dns-intel`
    /// (domains, addresses, CIDRs; plain, hosts file, CSV or STIX 2.1
    /// bundle); relative paths are taken from the configuration file's
    /// folder. Loaded by [`DnsConfig::load_intel`].
    pub intel: Vec<PathBuf>,
    /// DNS tunnels.
    pub tunnel: TunnelConfig,
    /// Domain generation algorithms.
    pub dga: DgaConfig,
    /// Spoofing, cache poisoning, rebinding.
    pub spoof: SpoofConfig,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DnsConfigError {
    /// The file cannot be read.
    #[error("DNS detection configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse, or names an unknown key or a value of the
    /// wrong type (toml's message names the key and the line).
    #[error("DNS detection configuration{}: {source}", file.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Toml {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// toml's error.
        source: toml::de::Error,
    },
    /// A value parses but is out of its range.
    #[error("DNS detection configuration: {key} = {value}: {reason}")]
    Range {
        /// Dotted key (`dga.min_name_score`).
        key: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A threat list of `dns.intel` cannot be loaded.
    #[error("{key}{}: {source}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Intel {
        /// The entry (`dns.intel[0]`).
        key: String,
        /// Its line in the configuration file, when known.
        line: Option<usize>,
        /// Why the list cannot be loaded.
        source: IntelError,
    },
}

impl DnsConfig {
    /// Read a configuration from TOML text; keys left out keep their
    /// defaults.
    ///
    /// ```
    /// let c = netsec_dns::DnsConfig::from_toml("[dga]\nmin_nxdomain = 20\n").unwrap();
    /// assert_eq!(c.dga.min_nxdomain, 20);
    /// assert_eq!(c.tunnel, netsec_dns::TunnelConfig::default());
    /// assert!(netsec_dns::DnsConfig::from_toml("[dga]\nmin_name_score = 2.0\n").is_err());
    /// ```
    pub fn from_toml(text: &str) -> Result<DnsConfig, DnsConfigError> {
        let config: DnsConfig =
            toml::from_str(text).map_err(|source| DnsConfigError::Toml { file: None, source })?;
        config.validate()?;
        Ok(config)
    }

    /// The `[dns]` section of a netsec configuration file (`[dns.tunnel]`,
    /// `[dns.dga]`), the other sections left to their readers; errors name
    /// the key and its line in the whole file.
    ///
    /// ```
    /// let text = "[portscan]\nmin_ports = 20\n\n[dns.dga]\nmin_nxdomain = 30\n";
    /// let c = netsec_dns::DnsConfig::from_netsec_toml(text).unwrap();
    /// assert_eq!(c.dga.min_nxdomain, 30);
    /// assert!(netsec_dns::DnsConfig::from_netsec_toml("[dns.dga]\nmin_nxdomian = 3\n").is_err());
    /// ```
    pub fn from_netsec_toml(text: &str) -> Result<DnsConfig, DnsConfigError> {
        #[derive(Deserialize)]
        struct NetsecFile {
            #[serde(default)]
            dns: DnsConfig,
            #[serde(flatten)]
            _others: toml::Table,
        }
        let file: NetsecFile =
            toml::from_str(text).map_err(|source| DnsConfigError::Toml { file: None, source })?;
        file.dns.validate()?;
        Ok(file.dns)
    }

    /// The defaults as a netsec configuration's `[dns]` section
    /// (`intel`, `[dns.tunnel]`, `[dns.dga]`, `[dns.spoof]`), `intel` with
    /// a comment.
    pub fn default_netsec_toml() -> String {
        #[derive(Serialize)]
        struct NetsecFile {
            dns: DnsConfig,
        }
        let text = toml::to_string(&NetsecFile {
            dns: DnsConfig::default(),
        })
        .unwrap_or_default();
        text.replacen(
            "[dns]\nintel = []\n",
            "[dns]\n# Threat lists (as --dns-intel, which adds to them): domains, addresses,\n\
             # CIDRs; plain lists, hosts files, CSV or STIX 2.1 bundles. Relative paths\n\
             # are taken from this file's folder, e.g. intel = [\"lists/bad-domains.txt\"]\n\
             intel = []\n",
            1,
        )
    }

    /// Read a configuration file.
    pub fn load(path: &Path) -> Result<DnsConfig, DnsConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| DnsConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DnsConfig::from_toml(&text).map_err(|e| match e {
            DnsConfigError::Toml { source, .. } => DnsConfigError::Toml {
                file: Some(path.to_path_buf()),
                source,
            },
            other => other,
        })
    }

    /// Load the threat lists of `intel` (`[dns] intel = ["lists/bad.txt"]`)
    /// into `lists`. `file` is the configuration file and its text when the
    /// lists came from one: relative paths are then taken from the file's
    /// folder, and an error names the key and its line there.
    ///
    /// ```
    /// let c = netsec_dns::DnsConfig::from_toml("intel = [\"/no/such/list.txt\"]\n").unwrap();
    /// let mut lists = netsec_dns::IntelLists::default();
    /// let err = c.load_intel(&mut lists, None).unwrap_err().to_string();
    /// assert!(err.contains("dns.intel"), "{err}");
    /// ```
    pub fn load_intel(
        &self,
        lists: &mut IntelLists,
        file: Option<(&Path, &str)>,
    ) -> Result<usize, DnsConfigError> {
        let lines = file.map(|(_, text)| intel_lines(text)).unwrap_or_default();
        let base = file.and_then(|(path, _)| path.parent());
        let mut added = 0;
        for (i, path) in self.intel.iter().enumerate() {
            let full = match base {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.clone(),
            };
            added += lists.load(&full).map_err(|source| DnsConfigError::Intel {
                key: format!("dns.intel[{i}]"),
                line: lines.get(i).copied(),
                source,
            })?;
        }
        Ok(added)
    }

    /// Check the values that parse but make no sense.
    pub fn validate(&self) -> Result<(), DnsConfigError> {
        const UNIT: &str = "must be within [0, 1]";
        const POSITIVE: &str = "must be more than 0";
        let (t, d, s) = (&self.tunnel, &self.dga, &self.spoof);
        // (key, value, the range it must be in)
        let checks: [(&'static str, f64, &'static str); 12] = [
            ("spoof.window_secs", s.window_secs, POSITIVE),
            (
                "spoof.wrong_id_window_secs",
                s.wrong_id_window_secs,
                POSITIVE,
            ),
            (
                "spoof.unsolicited_window_secs",
                s.unsolicited_window_secs,
                POSITIVE,
            ),
            ("spoof.capacity", s.capacity as f64, POSITIVE),
            ("tunnel.min_unique_ratio", t.min_unique_ratio, UNIT),
            (
                "tunnel.min_non_hostname_share",
                t.min_non_hostname_share,
                UNIT,
            ),
            ("tunnel.min_hex_share", t.min_hex_share, UNIT),
            ("tunnel.idle_secs", t.idle_secs, POSITIVE),
            ("tunnel.capacity", t.capacity as f64, POSITIVE),
            ("dga.min_name_score", d.min_name_score, UNIT),
            ("dga.window_secs", d.window_secs, POSITIVE),
            ("dga.capacity", d.capacity as f64, POSITIVE),
        ];
        let bad = checks.into_iter().find(|&(_, v, range)| {
            if range == UNIT {
                !(0.0..=1.0).contains(&v)
            } else {
                v.is_nan() || v <= 0.0
            }
        });
        match bad {
            Some((key, value, reason)) => Err(DnsConfigError::Range {
                key,
                value: value.to_string(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// The detectors, ready for the detection stage
    /// (`Analysis::analyzer` each).
    pub fn analyzers(&self) -> Vec<Box<dyn Analyzer>> {
        let mut out: Vec<Box<dyn Analyzer>> = Vec::new();
        if self.tunnel.enabled {
            out.push(Box::new(DnsTunnelDetector::new(self.tunnel.clone())));
        }
        if self.dga.enabled {
            out.push(Box::new(DgaDetector::new(self.dga.clone())));
        }
        if self.spoof.enabled {
            out.push(Box::new(DnsSpoofDetector::new(self.spoof.clone())));
        }
        out
    }
}

/// The line (from 1) of each entry of `dns.intel` in a netsec configuration
/// file's text; empty when the text does not parse or has no such key.
fn intel_lines(text: &str) -> Vec<usize> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        dns: Option<Section>,
    }
    #[derive(Deserialize)]
    struct Section {
        #[serde(default)]
        intel: Vec<toml::Spanned<PathBuf>>,
    }
    let Ok(file) = toml::from_str::<File>(text) else {
        return Vec::new();
    };
    let line = |at: usize| {
        1 + text
            .as_bytes()
            .get(..at)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
    };
    file.dns
        .map(|s| s.intel.iter().map(|p| line(p.span().start)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_keys_fail() {
        let text = toml::to_string(&DnsConfig::default()).unwrap_or_default();
        assert_eq!(DnsConfig::from_toml(&text).ok(), Some(DnsConfig::default()));
        assert_eq!(DnsConfig::from_toml("").ok(), Some(DnsConfig::default()));
        let err = DnsConfig::from_toml("[tunnel]\nmin_unique = 3\n").unwrap_err();
        assert!(err.to_string().contains("min_unique"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let err = DnsConfig::from_toml("[tunnel]\nmin_unique_ratio = 1.5\n").unwrap_err();
        assert!(
            err.to_string().contains("tunnel.min_unique_ratio = 1.5"),
            "{err}"
        );
    }

    #[test]
    fn intel_lists_from_the_config_file() {
        let dir = std::env::temp_dir().join(format!("netsec-dns-intel-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lists")).unwrap();
        std::fs::write(dir.join("lists/bad.txt"), "evil.example\n203.0.113.9\n").unwrap();
        let text = "[portscan]\nmin_ports = 20\n\n[dns]\nintel = [\n  \"lists/bad.txt\",\n  \"lists/missing.txt\",\n]\n";
        let path = dir.join("netsec.toml");
        let c = DnsConfig::from_netsec_toml(text).unwrap();
        assert_eq!(c.intel.len(), 2);
        let mut lists = IntelLists::default();
        // The missing list is named by its key and line; the first loaded.
        let err = c
            .load_intel(&mut lists, Some((&path, text)))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dns.intel[1] (line 7): threat list "),
            "{err}"
        );
        assert!(err.contains("missing.txt"), "{err}");
        assert!(lists.domain("www.evil.example").is_some());
        // Relative to the file's folder; absolute paths as they are.
        let c = DnsConfig::from_toml(&format!(
            "intel = [{:?}]\n",
            dir.join("lists/bad.txt").display().to_string()
        ))
        .unwrap();
        let mut lists = IntelLists::default();
        assert_eq!(c.load_intel(&mut lists, None).unwrap(), 2);
        // Not a list of paths: toml names the key.
        let err = DnsConfig::from_netsec_toml("[dns]\nintel = \"one.txt\"\n").unwrap_err();
        assert!(err.to_string().contains("intel"), "{err}");
        // The defaults print it, commented, and read back.
        let defaults = DnsConfig::default_netsec_toml();
        assert!(defaults.contains("# Threat lists"), "{defaults}");
        assert_eq!(
            DnsConfig::from_netsec_toml(&defaults).ok(),
            Some(DnsConfig::default())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn three_detectors() {
        let names: Vec<&str> = DnsConfig::default()
            .analyzers()
            .iter()
            .map(|a| a.name())
            .collect();
        assert_eq!(names, ["dns_tunnel", "dns_dga", "dns_spoof"]);
    }
}
