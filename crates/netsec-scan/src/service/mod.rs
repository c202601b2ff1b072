//! Service and version detection on open ports, the way nmap's `-sV`
//! works: listen for a greeting (the NULL probe), then send the probes of
//! a probe/match table ([`probes`], in nmap's file format), the ones meant
//! for the port first; match each answer against the rules; speak TLS
//! (via rustls, any certificate accepted, [`tls`]) when the port or an
//! answer says so and probe again inside it.
//!
//! Every identification carries a confidence in [0, 1]:
//! - 1.0: a hard match that also extracted a product or version;
//! - 0.9: a hard match (the protocol's own syntax answered);
//! - 0.8: a TLS handshake succeeded but nothing inside was recognised (`ssl`);
//! - 0.5: a softmatch (the protocol is likely, the product unknown);
//! - 0.3: no answer matched; the name is the port's registered service
//!   (method `table`, as nmap reports it).

pub mod probes;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::scan::Protocol;
use crate::tcp::{connect, ConnectOutcome};
use probes::{MatchedInfo, ProbeDef, ProbeTable};
pub use tls::TlsInfo;

/// An identified service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceMatch {
    /// Service name, nmap-style (`ssh`, `http`, `domain`, `microsoft-ds`, …).
    pub name: String,
    /// Product (`OpenSSH`, `nginx`, `vsftpd`), when the service says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Version, when the service says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Extra facts (`protocol 2.0`, `no authentication required`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// Host name the service announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Operating system the service revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Device type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// CPE names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpe: Vec<String>,
    /// `ssl` when the service was found inside TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// `probed` (an answer matched) or `table` (port number only).
    pub method: String,
    /// How sure the identification is, in [0, 1] (see the module docs).
    pub confidence: f64,
    /// The probe whose answer matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// The first bytes of the answer, printable, for the record.
    #[serde(default)]
    pub banner: String,
    /// HTTP page title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_title: Option<String>,
    /// TLS session and certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
}

impl Eq for ServiceMatch {}

impl ServiceMatch {
    /// `ssl/http`-style name, as nmap prints it.
    pub fn display_name(&self) -> String {
        match &self.tunnel {
            Some(t) if self.name != "ssl" => format!("{t}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// Product, version and extra information in one line.
    pub fn version_line(&self) -> String {
        let mut parts: Vec<String> = [&self.product, &self.version]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(i) = &self.info {
            parts.push(format!("({i})"));
        }
        parts.join(" ")
    }
}

/// Service-detection settings.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Time to wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for one answer (a probe's `totalwaitms` is capped to it).
    pub max_wait: Duration,
    /// Probes rarer than this are not sent (nmap's `--version-intensity`,
    /// default 7).
    pub intensity: u8,
    /// Most probes sent to one port.
    pub max_probes: usize,
    /// Bind outgoing connections to this source port.
    pub source_port: Option<u16>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            connect_timeout: Duration::from_millis(2_000),
            max_wait: Duration::from_millis(1_500),
            intensity: 7,
            max_probes: 8,
            source_port: None,
        }
    }
}

/// Most bytes read from one answer.
const MAX_ANSWER: usize = 16 * 1024;

/// Ports where TLS is spoken from the first byte (IANA registrations of
/// the implicit-TLS variants: https, smtps/submissions, ldaps, domain-s,
/// ftps, telnets, imaps, pop3s, sip-tls, secure-mqtt, ircs-u, wsman-https).
const TLS_PORTS: &[u16] = &[
    443, 465, 636, 853, 990, 992, 993, 995, 4443, 5061, 5986, 6697, 8443, 8883, 9443,
];

/// Registered names of common ports (IANA Service Name and Transport
/// Protocol Port Number Registry, with nmap's spelling where they differ).
pub fn port_name(port: u16, protocol: Protocol) -> Option<&'static str> {
    let tcp = matches!(protocol, Protocol::Tcp);
    Some(match port {
        21 if tcp => "ftp",
        22 if tcp => "ssh",
        23 if tcp => "telnet",
        25 if tcp => "smtp",
        53 => "domain",
        67 if !tcp => "dhcps",
        69 if !tcp => "tftp",
        80 if tcp => "http",
        110 if tcp => "pop3",
        111 => "rpcbind",
        123 if !tcp => "ntp",
        135 => "msrpc",
        137 if !tcp => "netbios-ns",
        138 if !tcp => "netbios-dgm",
        139 if tcp => "netbios-ssn",
        143 if tcp => "imap",
        161 if !tcp => "snmp",
        389 => "ldap",
        443 if tcp => "https",
        445 if tcp => "microsoft-ds",
        465 if tcp => "smtps",
        500 if !tcp => "isakmp",
        514 if !tcp => "syslog",
        587 if tcp => "submission",
        631 => "ipp",
        636 if tcp => "ldapssl",
        993 if tcp => "imaps",
        995 if tcp => "pop3s",
        1433 if tcp => "ms-sql-s",
        1521 if tcp => "oracle",
        1883 if tcp => "mqtt",
        1900 if !tcp => "upnp",
        2049 => "nfs",
        3306 if tcp => "mysql",
        3389 if tcp => "ms-wbt-server",
        5353 if !tcp => "mdns",
        5432 if tcp => "postgresql",
        5900 if tcp => "vnc",
        6379 if tcp => "redis",
        8080 if tcp => "http-proxy",
        8443 if tcp => "https-alt",
        11211 => "memcache",
        27017 if tcp => "mongod",
        _ => return None,
    })
}

fn printable(b: &[u8]) -> String {
    b.iter()
        .take(256)
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect::<String>()
        .trim_end_matches('.')
        .to_string()
}

fn title_regex() -> Option<&'static Regex> {
    static TITLE: OnceLock<Option<Regex>> = OnceLock::new();
    TITLE
        .get_or_init(|| Regex::new(r"(?is)<title[^>]*>\s*([^<]{0,300}?)\s*</title>").ok())
        .as_ref()
}

/// The `<title>` of an HTTP answer.
pub fn http_title(data: &[u8]) -> Option<String> {
    let caps = title_regex()?.captures(data)?;
    let t = String::from_utf8_lossy(caps.get(1)?.as_bytes())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!t.is_empty()).then_some(t)
}

fn from_match(m: MatchedInfo, data: &[u8]) -> ServiceMatch {
    let confidence = if m.soft {
        0.5
    } else if m.product.is_some() || m.version.is_some() {
        1.0
    } else {
        0.9
    };
    ServiceMatch {
        http_title: if m.service == "http" {
            http_title(data)
        } else {
            None
        },
        name: m.service,
        product: m.product,
        version: m.version,
        info: m.info,
        hostname: m.hostname,
        os: m.os,
        device: m.device,
        cpe: m.cpe,
        tunnel: None,
        method: "probed".into(),
        confidence,
        probe: Some(m.probe),
        banner: printable(data),
        tls: None,
    }
}

/// Identify the answer `data` to `probe`; the building block of detection,
/// pure and safe on any bytes.
pub fn identify(table: &ProbeTable, probe: &ProbeDef, data: &[u8]) -> Option<ServiceMatch> {
    table.match_answer(probe, data).map(|m| from_match(m, data))
}

/// A port-number guess (method `table`, confidence 0.3).
pub fn guess(port: u16, protocol: Protocol) -> Option<ServiceMatch> {
    port_name(port, protocol).map(|name| ServiceMatch {
        name: name.into(),
        method: "table".into(),
        confidence: 0.3,
        ..ServiceMatch::default()
    })
}

/// Send `payload` (if any) and read the answer until `wait` passes, the
/// peer closes, or the bytes read so far give a hard match that needs no
/// more (HTTP keeps reading for the page title).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    table: &ProbeTable,
    probe: &ProbeDef,
    wait: Duration,
) -> Vec<u8> {
    if !probe.payload.is_empty() && stream.write_all(&probe.payload).await.is_err() {
        return Vec::new();
    }
    let _ = stream.flush().await;
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while got.len() < MAX_ANSWER {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                got.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                if let Some(m) = table.match_answer(probe, &got) {
                    let needs_more = m.service == "http"
                        && !got.windows(8).any(|w| w.eq_ignore_ascii_case(b"</title>"))
                        && !got.windows(7).any(|w| w.eq_ignore_ascii_case(b"</html>"));
                    if !m.soft && !needs_more {
                        break;
                    }
                }
            }
        }
    }
    got
}

/// The TCP probes to try on `port`, in order: NULL, the ones meant for the
/// port, then the rest up to the intensity.
fn tcp_probe_order<'a>(table: &'a ProbeTable, port: u16, cfg: &DetectConfig) -> Vec<&'a ProbeDef> {
    let tcp = || table.probes.iter().filter(|p| p.protocol == Protocol::Tcp);
    let mut order: Vec<&ProbeDef> = tcp().filter(|p| p.name == "NULL").collect();
    order.extend(tcp().filter(|p| p.name != "NULL" && p.covers(port)));
    order
        .extend(tcp().filter(|p| p.name != "NULL" && !p.covers(port) && p.rarity <= cfg.intensity));
    order.truncate(cfg.max_probes.max(1));
    order
}

fn probe_wait(probe: &ProbeDef, cfg: &DetectConfig) -> Duration {
    probe.total_wait.unwrap_or(cfg.max_wait).min(cfg.max_wait)
}

/// Probes inside TLS: a short greeting wait, then the probes meant for the
/// port (in or out of TLS), then HTTP.
async fn detect_in_tls(
    ip: IpAddr,
    port: u16,
    table: &ProbeTable,
    cfg: &DetectConfig,
) -> Option<ServiceMatch> {
    let connector = tls::connector()?;
    let mut order: Vec<&ProbeDef> = tcp_probe_order(table, port, cfg)
        .into_iter()
        .filter(|p| p.name == "NULL" || p.covers(port) || p.covers_tls(port))
        .collect();
    if let Some(get) = table.probe(Protocol::Tcp, "GetRequest") {
        if !order.iter().any(|p| p.name == get.name) {
            order.push(get);
        }
    }
    let mut session: Option<TlsInfo> = None;
    let mut soft: Option<ServiceMatch> = None;
    for probe in order {
        let ConnectOutcome::Open(stream, _) = connect(
            SocketAddr::new(ip, port),
            cfg.connect_timeout,
            cfg.source_port,
        )
        .await
        else {
            break;
        };
        let handshake = tokio::time::timeout(
            cfg.connect_timeout,
            connector.connect(tls::server_name(ip), stream),
        )
        .await;
        let Ok(Ok(mut tls_stream)) = handshake else {
            break;
        };
        if session.is_none() {
            session = Some(tls::session_info(tls_stream.get_ref().1));
        }
        // A greeting inside TLS comes quickly (imaps, pop3s, smtps).
        let wait = if probe.name == "NULL" {
            probe_wait(probe, cfg).min(Duration::from_millis(800))
        } else {
            probe_wait(probe, cfg)
        };
        let answer = exchange(&mut tls_stream, table, probe, wait).await;
        match identify(table, probe, &answer) {
            Some(m) if !m.name.eq("ssl") && m.confidence > 0.5 => {
                return Some(ServiceMatch {
                    tunnel: Some("ssl".into()),
                    tls: session,
                    ..m
                });
            }
            Some(m) if m.name != "ssl" && soft.is_none() => soft = Some(m),
            _ => {}
        }
    }
    let tls_info = session?;
    Some(match soft {
        Some(m) => ServiceMatch {
            tunnel: Some("ssl".into()),
            tls: Some(tls_info),
            ..m
        },
        None => ServiceMatch {
            name: "ssl".into(),
            tunnel: Some("ssl".into()),
            method: "probed".into(),
            confidence: 0.8,
            probe: Some("TLS handshake".into()),
            banner: String::new(),
            product: None,
            info: Some(tls_info.version.clone()),
            tls: Some(tls_info),
            ..ServiceMatch::default()
        },
    })
}

/// Identify the service on an open TCP port.
pub async fn detect_tcp(
    ip: IpAddr,
    port: u16,
    table: &ProbeTable,
    cfg: &DetectConfig,
) -> Option<ServiceMatch> {
    let tls_first = TLS_PORTS.contains(&port) || table.probes.iter().any(|p| p.covers_tls(port));
    if tls_first {
        if let Some(m) = detect_in_tls(ip, port, table, cfg).await {
            return Some(m);
        }
    }
    let mut soft: Option<ServiceMatch> = None;
    let mut silent = true;
    for probe in tcp_probe_order(table, port, cfg) {
        let ConnectOutcome::Open(mut stream, _) = connect(
            SocketAddr::new(ip, port),
            cfg.connect_timeout,
            cfg.source_port,
        )
        .await
        else {
            break;
        };
        let answer = exchange(&mut stream, table, probe, probe_wait(probe, cfg)).await;
        // Silence, or a TLS alert record (content type 21, version 3.x:
        // RFC 8446 §5.1) in answer to plaintext: worth a TLS handshake.
        silent &= answer.is_empty() || answer.starts_with(&[0x15, 0x03]);
        match identify(table, probe, &answer) {
            Some(m) if m.name == "ssl" => {
                if let Some(t) = detect_in_tls(ip, port, table, cfg).await {
                    return Some(t);
                }
            }
            Some(m) if m.confidence > 0.5 => return Some(m),
            Some(m) if soft.is_none() => soft = Some(m),
            _ => {}
        }
    }
    if soft.is_none() && silent && !tls_first {
        if let Some(m) = detect_in_tls(ip, port, table, cfg).await {
            return Some(m);
        }
    }
    soft
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proxies and caches as nmap names them, from the answers the Debian
    /// daemons give (squid 5.7's error page, tinyproxy 1.11's, varnish 7.1
    /// in front of a web server, memcached 1.6's version line).
    #[test]
    fn proxies_and_caches_get_nmap_names() {
        let t = ProbeTable::bundled();
        let get = t.probe(Protocol::Tcp, "GetRequest").unwrap();
        let named = |probe: &ProbeDef, data: &[u8]| {
            let m = identify(&t, probe, data).unwrap();
            (m.name, m.product, m.version)
        };
        assert_eq!(
            named(get, b"HTTP/1.1 400 Bad Request\r\nServer: squid/5.7\r\nMime-Version: 1.0\r\nX-Squid-Error: ERR_INVALID_URL 0\r\n\r\n"),
            ("http-proxy".into(), Some("Squid http proxy".into()), Some("5.7".into()))
        );
        assert_eq!(
            named(get, b"HTTP/1.0 400 Bad Request\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\n\r\n"),
            ("http-proxy".into(), Some("tinyproxy".into()), Some("1.11.1".into()))
        );
        assert_eq!(
            named(get, b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nX-Varnish: 32770\r\nAge: 0\r\nVia: 1.1 varnish (Varnish/7.1)\r\n\r\n"),
            ("http".into(), Some("Varnish http accelerator".into()), Some("7.1".into()))
        );
        let memcached = t.probe(Protocol::Tcp, "memcached-version").unwrap();
        assert_eq!(
            named(memcached, b"VERSION 1.6.18\r\n"),
            (
                "memcached".into(),
                Some("Memcached".into()),
                Some("1.6.18".into())
            )
        );
        // A plain web server is still http with its own product.
        assert_eq!(
            named(get, b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n").0,
            "http"
        );
    }

    #[test]
    fn bundled_rules_on_real_banners() {
        let t = ProbeTable::bundled();
        let null = t.probe(Protocol::Tcp, "NULL").unwrap();
        let id = |probe: &ProbeDef, data: &[u8]| identify(&t, probe, data).unwrap();
        let ssh = id(null, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        assert_eq!(
            (
                ssh.name.as_str(),
                ssh.product.as_deref(),
                ssh.version.as_deref()
            ),
            ("ssh", Some("OpenSSH"), Some("9.2p1"))
        );
        assert_eq!(ssh.info.as_deref(), Some("Debian-2+deb12u3; protocol 2.0"));
        assert_eq!(ssh.confidence, 1.0);
        let ftp = id(null, b"220 (vsFTPd 3.0.3)\r\n");
        assert_eq!(
            (ftp.product.as_deref(), ftp.version.as_deref()),
            (Some("vsftpd"), Some("3.0.3"))
        );
        let smtp = id(
            null,
            b"220 lab5 ESMTP Exim 4.96 Mon, 23 Nov 2026 06:00:00 +0000\r\n",
        );
        assert_eq!(
            (
                smtp.name.as_str(),
                smtp.product.as_deref(),
                smtp.version.as_deref(),
                smtp.hostname.as_deref()
            ),
            ("smtp", Some("Exim smtpd"), Some("4.96"), Some("lab5"))
        );
        let mysql = id(
            null,
            b"\x5b\0\0\0\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\0\x08\0\0\0",
        );
        assert_eq!(
            (mysql.product.as_deref(), mysql.version.as_deref()),
            (Some("MariaDB"), Some("10.11.6"))
        );
        assert_eq!(id(null, b"\xff\xfd\x18\xff\xfd\x20").name, "telnet");
        let get = t.probe(Protocol::Tcp, "GetRequest").unwrap();
        let http = id(
            get,
            b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: x\r\n\r\n<html><head><TITLE>\n Welcome to nginx!</title>",
        );
        assert_eq!(
            (
                http.name.as_str(),
                http.product.as_deref(),
                http.version.as_deref(),
                http.http_title.as_deref()
            ),
            (
                "http",
                Some("nginx"),
                Some("1.22.1"),
                Some("Welcome to nginx!")
            )
        );
        let plain_on_tls = id(
            get,
            b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n<center>The plain HTTP request was sent to HTTPS port</center>",
        );
        assert_eq!(plain_on_tls.name, "ssl");
        let redis = t.probe(Protocol::Tcp, "RedisPing").unwrap();
        let open = id(
            redis,
            b"+PONG\r\n$3000\r\n# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n",
        );
        assert_eq!(
            (open.version.as_deref(), open.info.as_deref()),
            (Some("7.0.15"), Some("no authentication required"))
        );
        let locked = id(
            redis,
            b"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n",
        );
        assert_eq!(locked.info.as_deref(), Some("authentication required"));
        let pg = t.probe(Protocol::Tcp, "PostgresSSLRequest").unwrap();
        assert_eq!(id(pg, b"N").name, "postgresql");
        assert!(identify(&t, pg, b"NO").is_none());
        assert!(identify(&t, null, b"").is_none());
        assert!(identify(&t, null, b"\x00\x01garbage").is_none());
    }

    #[test]
    fn bundled_binary_protocols() {
        let t = ProbeTable::bundled();
        let id = |name: &str, proto: Protocol, data: &[u8]| {
            identify(&t, t.probe(proto, name).unwrap(), data).unwrap()
        };
        // SMB1 negotiate answered in SMB1: SMBv1 enabled.
        let smb1 = id(
            "SMBv1Negotiate",
            Protocol::Tcp,
            b"\0\0\0\x55\xffSMBr\0\0\0\0\x88\x01\xc8",
        );
        assert_eq!(smb1.info.as_deref(), Some("SMBv1 enabled"));
        let smb2 = id(
            "SMBNegotiate",
            Protocol::Tcp,
            b"\0\0\0\xf8\xfeSMB@\0\0\0\0\0\0\0",
        );
        assert_eq!(smb2.info.as_deref(), Some("SMB2 or later"));
        assert_eq!(
            id(
                "RdpConnectionRequest",
                Protocol::Tcp,
                b"\x03\0\0\x13\x0e\xd0\0\0\x124\0\x02\x1f\x08\0\x02\0\0\0"
            )
            .name,
            "ms-wbt-server"
        );
        let mqtt = id("MqttConnect", Protocol::Tcp, b"\x20\x02\0\0");
        assert_eq!(mqtt.info.as_deref(), Some("no authentication required"));
        let mqtt = id("MqttConnect", Protocol::Tcp, b"\x20\x02\0\x05");
        assert_eq!(mqtt.info.as_deref(), Some("authentication required"));
        // dnsmasq's answer to version.bind (TXT, class CHAOS).
        let mut dns =
            b"\0\x06\x85\x80\0\x01\0\x01\0\0\0\0\x07version\x04bind\0\0\x10\0\x03".to_vec();
        dns.extend_from_slice(b"\xc0\x0c\0\x10\0\x03\0\0\0\0\0\x0d\x0cdnsmasq-2.89");
        let d = id("DNSVersionBindReq", Protocol::Udp, &dns);
        assert_eq!(
            (d.name.as_str(), d.product.as_deref(), d.version.as_deref()),
            ("domain", Some("dnsmasq"), Some("2.89"))
        );
        let ntp = id(
            "NTPRequest",
            Protocol::Udp,
            &[&[0x24u8, 2][..], &[0u8; 46][..]].concat(),
        );
        assert_eq!(
            (ntp.name.as_str(), ntp.info.as_deref()),
            ("ntp", Some("stratum 2"))
        );
        let snmp = id(
            "SNMPv1public",
            Protocol::Udp,
            b"\x30\x3a\x02\x01\x00\x04\x06public\xa2\x2d\x02\x01\x2a\x02\x01\x00\x02\x01\x00\x30\x22\x30\x20\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x04\x14Linux lab3 6.1.0-x86",
        );
        assert_eq!(
            snmp.info.as_deref(),
            Some("community public; Linux lab3 6.1.0-x86")
        );
        // Net-SNMP's SMUX port answers two empty lines with a ClosePDU
        // (packetFormat); the probe goes only to the ports it lists.
        let smux = id("GenericLines", Protocol::Tcp, b"A\x01\x02");
        assert_eq!(
            (
                smux.name.as_str(),
                smux.product.as_deref(),
                smux.os.as_deref()
            ),
            ("smux", Some("Linux SNMP multiplexer"), Some("Linux"))
        );
        let lines = t.probe(Protocol::Tcp, "GenericLines").unwrap();
        assert!(identify(&t, lines, b"A\x01\x02\x00").is_none());
        let cfg = DetectConfig::default();
        let sends_lines = |port: u16| {
            tcp_probe_order(&t, port, &cfg)
                .iter()
                .any(|p| p.name == "GenericLines")
        };
        assert!(sends_lines(199));
        assert!(!sends_lines(80));
        // The probes' own bytes are the lengths their headers claim.
        let payload = |n: &str| t.probe(Protocol::Tcp, n).unwrap().payload.clone();
        assert_eq!(payload("SMBv1Negotiate").len(), 4 + 0x2f);
        assert_eq!(payload("SMBNegotiate").len(), 4 + 0x45);
        assert_eq!(payload("RdpConnectionRequest").len(), 0x13);
        assert_eq!(payload("MqttConnect").len(), 2 + 0x12);
        assert_eq!(payload("DNSVersionBindReqTCP").len(), 2 + 0x1e);
        assert_eq!(
            t.probe(Protocol::Udp, "SNMPv1public")
                .unwrap()
                .payload
                .len(),
            2 + 0x26
        );
        assert_eq!(
            t.probe(Protocol::Udp, "NTPRequest").unwrap().payload.len(),
            48
        );
    }

    #[test]
    fn names_and_guesses() {
        let m = ServiceMatch {
            name: "http".into(),
            tunnel: Some("ssl".into()),
            product: Some("nginx".into()),
            version: Some("1.22.1".into()),
            ..ServiceMatch::default()
        };
        assert_eq!(m.display_name(), "ssl/http");
        assert_eq!(m.version_line(), "nginx 1.22.1");
        let g = guess(3389, Protocol::Tcp).unwrap();
        assert_eq!(
            (g.name.as_str(), g.method.as_str()),
            ("ms-wbt-server", "table")
        );
        assert!(guess(3389, Protocol::Udp).is_none());
        assert_eq!(http_title(b"<title></title>"), None);
    }
}
