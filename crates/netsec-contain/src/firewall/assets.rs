//! The assets a responder must not cut off: `assets.toml`.
//!
//! ```toml
//! [[asset]]
//! name = "payments-db"
//! addresses = ["10.0.0.5", "10.0.1.0/24"]
//! services = ["tcp/5432"]          # none: every service of the addresses
//! owner = "Payments team"
//! criticality = "critical"          # low, medium, high or critical
//! ```

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use netsec_model::Transport;
use serde::{Deserialize, Serialize};

use super::conversations::ConversationKey;

/// How much the business depends on an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    /// Can be lost for a while.
    Low,
    /// Matters.
    Medium,
    /// Cutting it hurts: a rule that does is flagged.
    High,
    /// Cutting it stops the business: a rule that does is flagged.
    Critical,
}

/// A service: transport and port (`tcp/5432`, `udp/53`, or a bare port for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Transport.
    pub transport: Transport,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.transport, self.port)
    }
}

impl std::str::FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (transport, port) = match s.trim().split_once('/') {
            Some((t, p)) => (t.trim().to_ascii_lowercase(), p.trim()),
            None => ("tcp".to_string(), s.trim()),
        };
        let transport = match transport.as_str() {
            "tcp" => Transport::Tcp,
            "udp" => Transport::Udp,
            "sctp" => Transport::Sctp,
            other => {
                return Err(format!(
                    "unknown transport {other:?} in service {s:?} (tcp, udp, sctp)"
                ))
            }
        };
        let port = port
            .parse()
            .map_err(|_| format!("not a port in service {s:?}"))?;
        Ok(Service { transport, port })
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Port(u16),
            Text(String),
        }
        match Text::deserialize(d)? {
            Text::Port(port) => Ok(Service {
                transport: Transport::Tcp,
                port,
            }),
            Text::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// One asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Name.
    pub name: String,
    /// Its addresses and networks (a bare address is a host).
    #[serde(deserialize_with = "nets")]
    pub addresses: Vec<IpNet>,
    /// The services it offers that matter (none: all of them).
    #[serde(default)]
    pub services: Vec<Service>,
    /// Who to call.
    #[serde(default)]
    pub owner: String,
    /// How much it matters.
    pub criticality: Criticality,
}

fn nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| {
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("not an address or CIDR: {t:?}")))
        })
        .collect()
}

impl Asset {
    /// Whether `ip` is one of the asset's.
    pub fn holds(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|n| n.contains(&ip))
    }

    /// Whether a conversation uses the asset: it is the server on one of its
    /// services (any, when none are listed), or the client.
    pub fn used_by(&self, c: &ConversationKey) -> bool {
        (self.holds(c.server)
            && (self.services.is_empty()
                || self
                    .services
                    .iter()
                    .any(|s| s.transport == c.transport && s.port == c.port)))
            || self.holds(c.client)
    }
}

/// The assets file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    /// Every asset.
    #[serde(default, rename = "asset")]
    pub assets: Vec<Asset>,
}

/// An assets file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid (the message names the key and line).
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: String,
        /// What is wrong, and where.
        message: String,
    },
}

impl Assets {
    /// Parse TOML; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, AssetsError> {
        toml::from_str(text).map_err(|e| AssetsError::Invalid {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Read a file.
    pub fn load(path: &Path) -> Result<Self, AssetsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AssetsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Assets::from_toml(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_assets_and_names_the_bad_line() {
        let a = Assets::from_toml(
            "[[asset]]\nname = \"db\"\naddresses = [\"10.0.0.5\", \"10.1.0.0/16\"]\nservices = [\"tcp/5432\", 443]\ncriticality = \"critical\"\n",
            "assets.toml",
        )
        .unwrap();
        let db = &a.assets[0];
        assert!(db.holds("10.1.2.3".parse().unwrap()));
        assert_eq!(db.services[1].port, 443);
        let err = Assets::from_toml(
            "[[asset]]\nname = \"db\"\naddresses = [\"10.0.0.500\"]\ncriticality = \"high\"\n",
            "assets.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("10.0.0.500"), "{err}");
        let err = Assets::from_toml(
            "[[asset]]\nname = \"db\"\naddresses = []\ncriticality = \"vital\"\n",
            "assets.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 4"), "{err}");
    }
}
