//! The detection configuration: one table per detector plus `[network]`,
//! read from TOML. Every field has a default, so an empty file is valid and
//! a file names only what it changes.

use serde::{Deserialize, Serialize};

use crate::arp::ArpConfig;
use crate::beacon::BeaconConfig;
use crate::bruteforce::BruteForceConfig;
use crate::exfil::ExfilConfig;
use crate::flood::FloodConfig;
use crate::lateral::LateralConfig;
use crate::portscan::PortScanConfig;
use crate::scope::NetworkConfig;
use crate::tunnel::TunnelConfig;

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
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse, or a value has the wrong type or an unknown
    /// key; the message names the key and its line.
    #[error("detection configuration: {0}")]
    Toml(#[from] toml::de::Error),
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
        let config: DetectConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
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
        ];
        for (key, v) in positive {
            if !(v > 0.0 && v.is_finite()) {
                return Err(range(key, v, "must be a positive number of seconds"));
            }
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
    fn an_unknown_key_is_refused() {
        let text = "[flood]\nsyn_rat = 10\n";
        let msg = DetectConfig::from_toml(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("syn_rat") && msg.contains("line 2"), "{msg}");
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
