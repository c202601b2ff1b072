//! The DNS detectors' configuration: one table per detector (`[tunnel]`,
//! `[dga]`), read from TOML. Every field has a default, so an empty text
//! is valid and a file names only what it changes.

use std::path::{Path, PathBuf};

use netsec_model::Analyzer;
use serde::{Deserialize, Serialize};

use crate::dga::{DgaConfig, DgaDetector};
use crate::spoof::{DnsSpoofDetector, SpoofConfig};
use crate::tunnel::{DnsTunnelDetector, TunnelConfig};

/// Everything the DNS detectors can be told.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
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

    /// The commented-free defaults as a netsec configuration's `[dns]`
    /// section (`[dns.tunnel]`, `[dns.dga]`).
    pub fn default_netsec_toml() -> String {
        #[derive(Serialize)]
        struct NetsecFile {
            dns: DnsConfig,
        }
        toml::to_string(&NetsecFile {
            dns: DnsConfig::default(),
        })
        .unwrap_or_default()
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

    /// Check the values that parse but make no sense.
    pub fn validate(&self) -> Result<(), DnsConfigError> {
        const UNIT: &str = "must be within [0, 1]";
        const POSITIVE: &str = "must be more than 0";
        let (t, d, s) = (&self.tunnel, &self.dga, &self.spoof);
        // (key, value, the range it must be in)
        let checks: [(&'static str, f64, &'static str); 11] = [
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
    fn three_detectors() {
        let names: Vec<&str> = DnsConfig::default()
            .analyzers()
            .iter()
            .map(|a| a.name())
            .collect();
        assert_eq!(names, ["dns_tunnel", "dns_dga", "dns_spoof"]);
    }
}
