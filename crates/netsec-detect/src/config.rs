//! The detection configuration: one table per detector plus `[network]`,
//! read from TOML. Every field has a default, so an empty file is valid and
//! a file names only what it changes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arp::ArpConfig;
use crate::baseline::BaselineConfig;
use crate::beacon::BeaconConfig;
use crate::bruteforce::BruteForceConfig;
use crate::exfil::ExfilConfig;
use crate::flood::FloodConfig;
use crate::lateral::LateralConfig;
use crate::portscan::PortScanConfig;
use crate::scope::NetworkConfig;
use crate::tunnel::TunnelConfig;
use crate::windows::WindowsConfig;

/// Everything the detectors can be told.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Home networks, critical assets, allow-lists.
    pub network: NetworkConfig,
    /// Port scans and host discovery.
    pub portscan: PortScanConfig,
    /// Floods and amplification.
    pub flood: FloodConfig,
    /// ARP spoofing.
    pub arp: ArpConfig,
    /// Brute force.
    pub bruteforce: BruteForceConfig,
    /// Beaconing and long connections.
    pub beacon: BeaconConfig,
    /// Exfiltration.
    pub exfil: ExfilConfig,
    /// Lateral movement.
    pub lateral: LateralConfig,
    /// Tunnels and protocol/port mismatches.
    pub tunnel: TunnelConfig,
    /// Per-host baselines (`netsec baseline learn`, `--baseline`).
    pub baseline: BaselineConfig,
    /// Windows domain attacks (DCE-RPC and Kerberos).
    pub windows: WindowsConfig,
    /// HTTP parsing: how much of each body is hashed.
    pub http: HttpConfig,
    /// The `[dns]` section of a `netsec.toml`, read by netsec-dns (its
    /// tunnel and DGA detectors); kept here unread so one file configures
    /// every detector.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub dns: toml::Table,
}

/// HTTP parsing settings (netsec-proto's HTTP parser, whose file hashes
/// feed files.jsonl, indicators and the timeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Bytes of one body hashed (SHA-256 and MD5) at most; a longer body is
    /// counted and reported `over_limit`, without hashes.
    pub max_file_hash: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_file_hash: netsec_proto::app::http::DEFAULT_MAX_FILE_HASH,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("detection configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse, or a value has the wrong type or an unknown
    /// key; the message names the key and its line (and the file, when read
    /// from one).
    #[error("detection configuration{}: {source}", file.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Toml {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// toml's error, with the key and the line.
        source: toml::de::Error,
    },
    /// A `key=value` override that names no setting or gives a value of the
    /// wrong type.
    #[error("detection setting {assignment:?}: {reason}")]
    Override {
        /// The override as given.
        assignment: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value parses but is out of its range.
    #[error("detection configuration: {key} = {value}: {reason}")]
    Range {
        /// Dotted key (`portscan.min_failed_ratio`).
        key: String,
        /// The value given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
}

/// The defaults, commented: what `netsec config default` prints. A test
/// checks that it parses to [`DetectConfig::default`].
const DEFAULT_TOML: &str = include_str!("default.toml");

impl DetectConfig {
    /// Read a configuration from TOML text; keys left out keep their defaults.
    pub fn from_toml(text: &str) -> Result<DetectConfig, ConfigError> {
        let config: DetectConfig =
            toml::from_str(text).map_err(|source| ConfigError::Toml { file: None, source })?;
        config.validate()?;
        Ok(config)
    }

    /// Read a configuration file; errors name the file, the key and the line.
    pub fn load(path: &Path) -> Result<DetectConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DetectConfig::from_toml(&text).map_err(|e| match e {
            ConfigError::Toml { source, .. } => ConfigError::Toml {
                file: Some(path.to_path_buf()),
                source,
            },
            other => other,
        })
    }

    /// Change one setting by its dotted name, as a command line would:
    /// `portscan.min_ports=20`, `beacon.enabled=false`,
    /// `network.home=["10.0.0.0/8"]`. The value is TOML; a bare word that
    /// is not TOML is taken as a string. The key must name a setting, and the
    /// result must pass [`DetectConfig::validate`].
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let fail = |reason: String| ConfigError::Override {
            assignment: assignment.to_string(),
            reason,
        };
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=VALUE".into()))?;
        let value: toml::Value =
            match toml::from_str::<toml::Table>(&format!("v = {}", value.trim())) {
                Ok(mut t) => t
                    .remove("v")
                    .unwrap_or(toml::Value::String(value.trim().into())),
                Err(_) => toml::Value::String(value.trim().to_string()),
            };
        let mut root = toml::Value::try_from(&*self).map_err(|e| fail(e.to_string()))?;
        let mut parts: Vec<&str> = key.trim().split('.').collect();
        let last = parts
            .pop()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| fail("empty key".into()))?;
        // Under `dns.` the keys are netsec-dns's (`dns.tunnel.min_queries`):
        // kept as given, the missing tables made, checked by netsec-dns.
        let foreign = parts.first() == Some(&"dns");
        let mut table = &mut root;
        for part in parts {
            if foreign {
                if let Some(t) = table.as_table_mut() {
                    t.entry(part)
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                }
            }
            table = table
                .get_mut(part)
                .filter(|t| t.is_table())
                .ok_or_else(|| fail(format!("no table [{part}]")))?;
        }
        if foreign {
            if let Some(t) = table.as_table_mut() {
                t.insert(last.to_string(), value);
            }
        } else {
            let slot = table
                .get_mut(last)
                .ok_or_else(|| fail(format!("no setting {}", key.trim())))?;
            *slot = value;
        }
        let config: DetectConfig = root
            .try_into()
            .map_err(|e: toml::de::Error| fail(e.message().to_string()))?;
        config.validate()?;
        *self = config;
        Ok(())
    }

    /// The default configuration as commented TOML.
    pub fn default_toml() -> &'static str {
        DEFAULT_TOML
    }

    /// Check the values that must lie in a range (ratios in [0, 1], positive
    /// windows and capacities).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ratios = [
            ("portscan.min_failed_ratio", self.portscan.min_failed_ratio),
            (
                "portscan.min_arp_unanswered_ratio",
                self.portscan.min_arp_unanswered_ratio,
            ),
            ("flood.min_half_open_ratio", self.flood.min_half_open_ratio),
            ("flood.max_reply_ratio", self.flood.max_reply_ratio),
            ("beacon.min_score", self.beacon.min_score),
            ("baseline.mad_floor_ratio", self.baseline.mad_floor_ratio),
        ];
        for (key, v) in ratios {
            if !(0.0..=1.0).contains(&v) {
                return Err(range(key, v, "must be between 0 and 1"));
            }
        }
        let positive = [
            ("portscan.idle_secs", self.portscan.idle_secs),
            ("flood.idle_secs", self.flood.idle_secs),
            ("arp.window_secs", self.arp.window_secs),
            ("arp.storm_window_secs", self.arp.storm_window_secs),
            ("bruteforce.window_secs", self.bruteforce.window_secs),
            ("beacon.window_secs", self.beacon.window_secs),
            (
                "beacon.long_connection_secs",
                self.beacon.long_connection_secs,
            ),
            ("exfil.window_secs", self.exfil.window_secs),
            ("lateral.window_secs", self.lateral.window_secs),
            ("tunnel.window_secs", self.tunnel.window_secs),
            ("baseline.window_secs", self.baseline.window_secs),
            ("windows.window_secs", self.windows.window_secs),
        ];
        for (key, v) in positive {
            if !(v > 0.0 && v.is_finite()) {
                return Err(range(key, v, "must be a positive number of seconds"));
            }
        }
        let z = self.baseline.threshold;
        if !(z > 0.0 && z.is_finite()) {
            return Err(range("baseline.threshold", z, "must be a positive z-score"));
        }
        let t = self.tunnel.entropy_threshold;
        if !(t > 0.0 && t <= 8.0) {
            return Err(range(
                "tunnel.entropy_threshold",
                t,
                "must be between 0 and 8 bits per byte",
            ));
        }
        if self.tunnel.entropy_min_bytes > self.tunnel.entropy_bytes {
            return Err(range(
                "tunnel.entropy_min_bytes",
                self.tunnel.entropy_min_bytes,
                "must not exceed tunnel.entropy_bytes",
            ));
        }
        let factor = self.baseline.learned_max_factor;
        if !(factor >= 0.0 && factor.is_finite()) {
            return Err(range(
                "baseline.learned_max_factor",
                factor,
                "must be a number, 0 or more",
            ));
        }
        let capacities = [
            ("portscan.capacity", self.portscan.capacity),
            ("flood.capacity", self.flood.capacity),
            ("arp.capacity", self.arp.capacity),
            ("bruteforce.capacity", self.bruteforce.capacity),
            ("beacon.capacity", self.beacon.capacity),
            ("exfil.capacity", self.exfil.capacity),
            ("lateral.capacity", self.lateral.capacity),
            ("tunnel.capacity", self.tunnel.capacity),
            ("baseline.capacity", self.baseline.capacity),
            ("tunnel.entropy_capacity", self.tunnel.entropy_capacity),
            ("tunnel.entropy_bytes", self.tunnel.entropy_bytes),
            ("baseline.max_windows", self.baseline.max_windows),
            ("windows.capacity", self.windows.capacity),
        ];
        for (key, v) in capacities {
            if v == 0 {
                return Err(range(key, v, "must be at least 1"));
            }
        }
        Ok(())
    }
}

fn range(key: &str, value: impl std::fmt::Display, reason: &'static str) -> ConfigError {
    ConfigError::Range {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toml_is_the_default() {
        let parsed = DetectConfig::from_toml(DetectConfig::default_toml());
        assert!(parsed.is_ok(), "{parsed:?}");
        assert_eq!(parsed.ok(), Some(DetectConfig::default()));
    }

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(
            DetectConfig::from_toml("").ok(),
            Some(DetectConfig::default())
        );
    }

    #[test]
    fn a_bad_value_names_its_key_and_line() {
        let text = "[portscan]\nmin_ports = 15\nmin_hosts = \"many\"\n";
        let msg = DetectConfig::from_toml(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("min_hosts"), "{msg}");
    }

    #[test]
    fn the_http_hashing_bound_is_a_key() {
        let c = DetectConfig::from_toml("[http]\nmax_file_hash = 4096\n").unwrap();
        assert_eq!(c.http.max_file_hash, 4096);
        let text = "[portscan]\nmin_ports = 15\n\n[http]\nmax_file_hash = -1\n";
        let msg = DetectConfig::from_toml(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("line 5"), "{msg}");
        assert!(msg.contains("max_file_hash"), "{msg}");
        let mut c = DetectConfig::default();
        assert!(c.set("http.max_file_hash=1048576").is_ok());
        assert_eq!(c.http.max_file_hash, 1 << 20);
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let text = "[flood]\nsyn_rat = 10\n";
        let msg = DetectConfig::from_toml(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("syn_rat") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn settings_change_by_dotted_name() {
        let mut c = DetectConfig::default();
        assert!(c.set("portscan.min_ports=20").is_ok());
        assert!(c.set("beacon.enabled = false").is_ok());
        assert!(c.set("network.home=[\"10.250.0.0/16\"]").is_ok());
        assert!(c.set("arp.gateways=[\"192.168.1.1\"]").is_ok());
        assert_eq!(c.portscan.min_ports, 20);
        assert!(!c.beacon.enabled);
        assert_eq!(c.network.home.len(), 1);
        assert_eq!(c.arp.gateways.len(), 1);
        let err = |a: &str| {
            DetectConfig::default()
                .set(a)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("portscan.min_portz=3").contains("no setting portscan.min_portz"));
        assert!(err("scan.min_ports=3").contains("no table [scan]"));
        assert!(err("flood.syn_rate=fast").contains("flood.syn_rate=fast"));
        assert!(err("portscan.min_failed_ratio=2").contains("portscan.min_failed_ratio"));
        assert!(err("network.home=[\"10.0.0.0/40\"]").contains("10.0.0.0/40"));
        assert!(err("min_ports").contains("KEY=VALUE"));
    }

    #[test]
    fn a_file_error_names_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("netsec-detect-config-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("detect.toml");
        let _ = std::fs::write(&path, "[tunnel]\nmin_packets = -3\n");
        let msg = DetectConfig::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            msg.contains("detect.toml") && msg.contains("line 2") && msg.contains("min_packets"),
            "{msg}"
        );
        let missing = DetectConfig::load(&dir.join("absent.toml"))
            .err()
            .map(|e| e.to_string());
        assert!(missing.is_some_and(|m| m.contains("absent.toml")));
    }

    #[test]
    fn out_of_range_values_are_refused_by_key() {
        let msg = DetectConfig::from_toml("[portscan]\nmin_failed_ratio = 1.5\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("portscan.min_failed_ratio"), "{msg}");
        let bad_net = DetectConfig::from_toml("[network]\nhome = [\"10.0.0.0/40\"]\n");
        let msg = bad_net.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("line 2") && msg.contains("10.0.0.0/40"),
            "{msg}"
        );
    }

    #[test]
    fn a_file_changes_only_what_it_names() {
        let c = DetectConfig::from_toml(
            "[beacon]\nenabled = false\n[network]\nhome = [\"10.250.0.0/24\"]\n",
        );
        let c = c.unwrap_or_default();
        assert!(!c.beacon.enabled);
        assert_eq!(c.network.home.len(), 1);
        assert_eq!(c.portscan, PortScanConfig::default());
    }
}
