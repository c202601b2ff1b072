//! Service identification from what a port says: its greeting (null
//! probe), or its answer to a protocol probe. Every match carries a
//! confidence: 1.0 when the protocol's own syntax proved it, less when
//! only the port suggests it.

use serde::Serialize;

/// An identified service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceMatch {
    /// Service name, nmap-style (`ssh`, `http`, `ftp`, `smtp`, `redis`, …).
    pub name: String,
    /// Product (`OpenSSH`, `nginx`, `vsftpd`), when the service says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Version, when the service says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra facts (HTTP title, `auth required`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// How sure the identification is, in [0, 1].
    pub confidence: f64,
    /// The first bytes seen, printable, for the record.
    pub banner: String,
}

impl Eq for ServiceMatch {}

/// Probes sent to a port that stays silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Nothing sent: the greeting.
    Null,
    /// `GET / HTTP/1.0`.
    Http,
    /// Redis inline `PING`.
    Redis,
    /// PostgreSQL SSLRequest.
    Postgres,
}

impl Probe {
    /// The bytes to send.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Probe::Null => b"",
            Probe::Http => b"GET / HTTP/1.0\r\nUser-Agent: netsec-scan\r\n\r\n",
            Probe::Redis => b"PING\r\n",
            // Length 8, code 80877103 (PostgreSQL protocol §55.2.10).
            Probe::Postgres => &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
        }
    }

    /// Probes worth trying on a silent port, most likely first.
    pub fn for_port(port: u16) -> Vec<Probe> {
        match port {
            6379 => vec![Probe::Redis, Probe::Http],
            5432 => vec![Probe::Postgres],
            _ => vec![Probe::Http, Probe::Redis],
        }
    }
}

fn printable(b: &[u8]) -> String {
    b.iter()
        .take(256)
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect::<String>()
        .trim_end_matches('.')
        .to_string()
}

fn first_line(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == b'\n').unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or(b))
        .trim_end()
        .to_string()
}

fn matched(
    name: &str,
    product: Option<String>,
    version: Option<String>,
    info: Option<String>,
    confidence: f64,
    data: &[u8],
) -> ServiceMatch {
    ServiceMatch {
        name: name.into(),
        product,
        version,
        info,
        confidence,
        banner: printable(data),
    }
}

/// `Product/1.2.3` or `Product 1.2.3` into its parts.
fn product_version(s: &str) -> (Option<String>, Option<String>) {
    let s = s.trim();
    if s.is_empty() {
        return (None, None);
    }
    let (p, v) = match s.split_once(['/', ' ']) {
        Some((p, v)) => (
            p,
            Some(v.split_whitespace().next().unwrap_or("").to_string()),
        ),
        None => (s, None),
    };
    (Some(p.to_string()), v.filter(|v| !v.is_empty()))
}

fn http(data: &[u8]) -> Option<ServiceMatch> {
    let text = String::from_utf8_lossy(data);
    if !text.starts_with("HTTP/1.") {
        return None;
    }
    let header = |name: &str| {
        text.lines()
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
    };
    let (product, version) = header("server")
        .map(|s| product_version(&s))
        .unwrap_or((None, None));
    let title = text
        .find("<title>")
        .and_then(|i| text.get(i + 7..))
        .and_then(|rest| rest.find("</title>").and_then(|j| rest.get(..j)))
        .map(|t| format!("title: {}", t.trim()));
    Some(matched("http", product, version, title, 1.0, data))
}

/// Identify a service from `data` received on `port` after `probe`.
pub fn identify(data: &[u8], port: u16, probe: Probe) -> Option<ServiceMatch> {
    if data.is_empty() {
        return None;
    }
    let line = first_line(data);
    if let Some(rest) = line.strip_prefix("SSH-") {
        // SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
        let software = rest.split_once('-').map(|(_, s)| s).unwrap_or("");
        let (soft, comment) = software
            .split_once(' ')
            .map_or((software, None), |(a, b)| (a, Some(b.to_string())));
        let (product, version) = match soft.split_once('_') {
            Some((p, v)) => (Some(p.to_string()), Some(v.to_string())),
            None => (Some(soft.to_string()), None),
        };
        return Some(matched("ssh", product, version, comment, 1.0, data));
    }
    if let Some(m) = http(data) {
        return Some(m);
    }
    if probe == Probe::Redis {
        if line.starts_with("+PONG") {
            return Some(matched(
                "redis",
                Some("Redis key-value store".into()),
                None,
                Some("no authentication required".into()),
                1.0,
                data,
            ));
        }
        if line.starts_with("-NOAUTH") || line.contains("Authentication required") {
            return Some(matched(
                "redis",
                Some("Redis key-value store".into()),
                None,
                Some("authentication required".into()),
                1.0,
                data,
            ));
        }
    }
    if probe == Probe::Postgres && matches!(data, [b'S'] | [b'N']) {
        let info = if data == b"S" {
            "SSL supported"
        } else {
            "SSL not supported"
        };
        return Some(matched(
            "postgresql",
            Some("PostgreSQL DB".into()),
            None,
            Some(info.into()),
            0.9,
            data,
        ));
    }
    if let Some(rest) = line.strip_prefix("220") {
        let lower = rest.to_ascii_lowercase();
        if lower.contains("ftp") || port == 21 {
            let product = rest
                .split(['(', ')'])
                .nth(1)
                .map(product_version)
                .unwrap_or((None, None));
            return Some(matched(
                "ftp",
                product.0,
                product.1,
                None,
                if lower.contains("ftp") { 1.0 } else { 0.7 },
                data,
            ));
        }
        if lower.contains("smtp") || port == 25 || port == 587 {
            let product = ["Exim", "Postfix", "Sendmail", "Microsoft ESMTP"]
                .iter()
                .find(|p| rest.contains(*p))
                .map(|p| p.to_string());
            let version = product.as_ref().and_then(|p| {
                rest.split(p.as_str())
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
                    .map(String::from)
            });
            return Some(matched(
                "smtp",
                product,
                version,
                None,
                if lower.contains("smtp") { 1.0 } else { 0.7 },
                data,
            ));
        }
    }
    if line.starts_with("+OK") {
        return Some(matched("pop3", None, None, None, 0.9, data));
    }
    if line.starts_with("* OK") {
        return Some(matched("imap", None, None, None, 0.9, data));
    }
    // MySQL initial handshake: 3-byte length, sequence 0, protocol 10, version\0.
    if data.len() > 6 && data.get(3) == Some(&0) && data.get(4) == Some(&10) {
        if let Some(end) = data.iter().skip(5).position(|c| *c == 0) {
            let version = String::from_utf8_lossy(data.get(5..5 + end).unwrap_or(&[])).to_string();
            let product = if version.to_ascii_lowercase().contains("mariadb") {
                "MariaDB"
            } else {
                "MySQL"
            };
            return Some(matched(
                "mysql",
                Some(product.into()),
                Some(version),
                None,
                1.0,
                data,
            ));
        }
    }
    // Telnet option negotiation starts with IAC (255) DO/WILL/WONT/DONT.
    if data.len() >= 3 && data[0] == 255 && (251..=254).contains(&data[1]) {
        return Some(matched("telnet", None, None, None, 1.0, data));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_banners() {
        let ssh = identify(
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
            22,
            Probe::Null,
        )
        .unwrap();
        assert_eq!(
            (
                ssh.name.as_str(),
                ssh.product.as_deref(),
                ssh.version.as_deref()
            ),
            ("ssh", Some("OpenSSH"), Some("9.2p1"))
        );
        let ftp = identify(b"220 (vsFTPd 3.0.3)\r\n", 21, Probe::Null).unwrap();
        assert_eq!(
            (
                ftp.name.as_str(),
                ftp.product.as_deref(),
                ftp.version.as_deref()
            ),
            ("ftp", Some("vsFTPd"), Some("3.0.3"))
        );
        let smtp = identify(
            b"220 mail.example.lab ESMTP Exim 4.96 Mon, 23 Nov 2026\r\n",
            25,
            Probe::Null,
        )
        .unwrap();
        assert_eq!(
            (
                smtp.name.as_str(),
                smtp.product.as_deref(),
                smtp.version.as_deref()
            ),
            ("smtp", Some("Exim"), Some("4.96"))
        );
        let http = identify(
            b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n<html><title>netsec sample</title>",
            80,
            Probe::Http,
        )
        .unwrap();
        assert_eq!(
            (
                http.product.as_deref(),
                http.version.as_deref(),
                http.info.as_deref()
            ),
            (Some("nginx"), Some("1.22.1"), Some("title: netsec sample"))
        );
        let redis = identify(b"+PONG\r\n", 6379, Probe::Redis).unwrap();
        assert_eq!(redis.info.as_deref(), Some("no authentication required"));
        let mysql = identify(b"\x4a\0\0\0\x0a8.0.36\0\x01\x02", 3306, Probe::Null).unwrap();
        assert_eq!(
            (mysql.name.as_str(), mysql.version.as_deref()),
            ("mysql", Some("8.0.36"))
        );
        assert!(identify(b"\xff\xfd\x18", 23, Probe::Null).is_some_and(|m| m.name == "telnet"));
        assert!(identify(b"garbage\n", 9999, Probe::Null).is_none());
        assert!(identify(b"", 80, Probe::Http).is_none());
    }
}
