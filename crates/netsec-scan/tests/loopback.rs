#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Scans of services this test runs itself on 127.0.0.1 (and, as root, in a
//! network namespace it creates): open, closed and filtered ports, real
//! protocol greetings and answers, TLS with a certificate, UDP, findings,
//! history, cancellation and the rate limit. No traffic leaves the machine.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netsec_scan::service::DetectConfig;
use netsec_scan::timing::Timing;
use netsec_scan::{exposure_findings, scan, PortState, Protocol, ScanConfig, ScanProgress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// A TCP service: sends `greeting` on connect, `reply` to the first request.
async fn serve(greeting: &'static [u8], reply: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if !greeting.is_empty() {
                    let _ = s.write_all(greeting).await;
                }
                let mut buf = [0u8; 1024];
                if let Ok(n) = s.read(&mut buf).await {
                    if n > 0 && !reply.is_empty() {
                        let _ = s.write_all(reply).await;
                    }
                }
            });
        }
    });
    port
}

/// A port that was free a moment ago (bound, noted, released).
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn loopback() -> Vec<IpAddr> {
    netsec_scan::targets::expand_target("127.0.0.1").unwrap()
}

fn fast_config() -> ScanConfig {
    ScanConfig {
        timing: Timing::profile(4),
        detect: DetectConfig {
            max_wait: Duration::from_millis(400),
            ..DetectConfig::default()
        },
        ..ScanConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn open_closed_and_services_on_loopback() {
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", b"").await;
    let http = serve(b"", b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 40\r\n\r\n<html><title>lab page</title></html>").await;
    let redis = serve(b"", b"+PONG\r\n$20\r\n# Server\r\nredis_version:7.0.15\r\n").await;
    let ftp = serve(b"220 (vsFTPd 3.0.3)\r\n", b"").await;
    let closed = free_tcp_port();
    let report = scan(
        &loopback(),
        &[ssh, http, redis, ftp, closed],
        &[],
        &fast_config(),
    )
    .await;
    assert!(report.complete);
    assert_eq!(report.hosts.len(), 1);
    assert!(
        report.hosts[0].up,
        "discovery: 127.0.0.1 answers on 80/443 (refused)"
    );
    assert_eq!(report.hosts[0].tcp.open, 4);
    assert_eq!(report.hosts[0].tcp.closed, 1);
    let by_port = |p: u16| report.results.iter().find(|r| r.port == p).unwrap();
    let s = by_port(ssh).service.as_ref().unwrap();
    assert_eq!(
        (s.name.as_str(), s.product.as_deref(), s.version.as_deref()),
        ("ssh", Some("OpenSSH"), Some("9.2p1"))
    );
    assert_eq!(s.confidence, 1.0);
    let h = by_port(http).service.as_ref().unwrap();
    assert_eq!(
        (
            h.name.as_str(),
            h.product.as_deref(),
            h.http_title.as_deref()
        ),
        ("http", Some("nginx"), Some("lab page"))
    );
    let r = by_port(redis).service.as_ref().unwrap();
    assert_eq!(
        (r.name.as_str(), r.version.as_deref()),
        ("redis", Some("7.0.15"))
    );
    assert_eq!(by_port(closed).state, PortState::Closed);
    assert_eq!(by_port(closed).reason, "conn-refused");
    let findings = exposure_findings(&report, netsec_model::Timestamp::ZERO);
    let mut kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["ftp_exposed", "redis_no_auth"], "{findings:#?}");
    let redis_finding = findings.iter().find(|f| f.kind == "redis_no_auth").unwrap();
    assert!(redis_finding.mitre.contains(&"T1190".to_string()));
    // The JSON and XML forms carry the same ports.
    let xml = netsec_scan::output::nmap_xml(&report, "test");
    assert!(xml.contains(&format!("portid=\"{ssh}\"><state state=\"open\"")));
    assert!(xml.contains("product=\"OpenSSH\" version=\"9.2p1\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_service_and_expired_certificate() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let certs = vec![CertificateDer::from_pem_file(format!("{dir}/expired-cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/expired-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                if let Ok(n) = tls.read(&mut buf).await {
                    if buf[..n].starts_with(b"GET ") {
                        let _ = tls
                            .write_all(b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n<title>secure</title>")
                            .await;
                        let _ = tls.shutdown().await;
                    }
                }
            });
        }
    });
    let report = scan(&loopback(), &[port], &[], &fast_config()).await;
    let s = report.results[0]
        .service
        .as_ref()
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(s.display_name(), "ssl/http", "{s:#?}");
    assert_eq!(s.product.as_deref(), Some("nginx"));
    assert_eq!(s.http_title.as_deref(), Some("secure"));
    let tls = s.tls.as_ref().unwrap();
    assert!(tls.subject.contains("CN=expired.netsec.test"), "{tls:?}");
    assert_eq!(tls.not_after, 1_609_459_200);
    assert!(tls.version.contains("TLSv1_3"), "{}", tls.version);
    let now = netsec_model::Timestamp::from_secs_nanos(1_700_000_000, 0);
    let findings = exposure_findings(&report, now);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].kind, "tls_certificate_expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn udp_answer_closed_and_silent() {
    // A DNS server answering version.bind the way dnsmasq does.
    let dns = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dns_port = dns.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = dns.recv_from(&mut buf).await {
            let mut answer = buf[..n].to_vec();
            if answer.len() < 12 {
                continue;
            }
            answer[2] = 0x85;
            answer[3] = 0x80;
            answer[7] = 1; // one answer
            answer.extend_from_slice(b"\xc0\x0c\0\x10\0\x03\0\0\0\0\0\x0d\x0cdnsmasq-2.89");
            let _ = dns.send_to(&answer, from).await;
        }
    });
    // Bound, never answers: open|filtered.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The scanner picks the payload by port: probe dns_port with the DNS
    // payload by adding it to a copy of the table's DNS probe ports.
    let mut table = netsec_scan::service::probes::ProbeTable::bundled();
    for p in table
        .probes
        .iter_mut()
        .filter(|p| p.name == "DNSVersionBindReq")
    {
        p.ports.push((dns_port, dns_port));
    }
    let config = ScanConfig {
        probes: Arc::new(table),
        skip_discovery: true,
        ..fast_config()
    };
    let report = scan(&loopback(), &[], &[dns_port, silent_port, closed], &config).await;
    let by_port = |p: u16| report.results.iter().find(|r| r.port == p).unwrap();
    let d = by_port(dns_port);
    assert_eq!((d.protocol, d.state), (Protocol::Udp, PortState::Open));
    let svc = d.service.as_ref().unwrap();
    assert_eq!(
        (svc.name.as_str(), svc.version.as_deref()),
        ("domain", Some("2.89"))
    );
    assert_eq!(by_port(silent_port).state, PortState::OpenFiltered);
    assert_eq!(by_port(closed).state, PortState::Closed);
    assert_eq!(by_port(closed).reason, "port-unreach");
    assert_eq!(report.hosts[0].udp.open_filtered, 1);
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_diff_shows_exactly_a_stopped_service() {
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1\r\n", b"").await;
    // A second listener that the test stops between the two scans.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let doomed = l.local_addr().unwrap().port();
    let config = ScanConfig {
        service_detection: false,
        ..fast_config()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut db = netsec_scan::history::History::open(&dir.path().join("scans.db")).unwrap();
    let first = scan(&loopback(), &[ssh, doomed], &[], &config).await;
    let a = db
        .save("2026-11-23T00:00:00Z", "127.0.0.1", &first)
        .unwrap();
    drop(l);
    let second = scan(&loopback(), &[ssh, doomed], &[], &config).await;
    let b = db
        .save("2026-11-23T00:01:00Z", "127.0.0.1", &second)
        .unwrap();
    assert_eq!(db.last_two().unwrap(), (a, b));
    assert_eq!(db.previous(b).unwrap(), a);
    let changes = db.diff(a, b).unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        matches!(&changes[0], netsec_scan::history::Change::PortClosed { port, .. } if *port == doomed)
    );
    assert!(db.diff(a, a).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_returns_partial_results_quickly() {
    let open = serve(b"", b"").await;
    let progress = Arc::new(ScanProgress::default());
    let config = ScanConfig {
        progress: progress.clone(),
        skip_discovery: true,
        service_detection: false,
        timing: Timing {
            parallelism: 16,
            ..Timing::profile(4)
        },
        // 200 probes/s: all 65,535 ports would take over five minutes.
        rate: 200.0,
        ..ScanConfig::default()
    };
    let stopper = progress.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.cancel();
    });
    let start = Instant::now();
    let mut ports: Vec<u16> = (1..=65_535).collect();
    // Probe the open port early so the partial report holds it.
    ports.retain(|p| *p != open);
    ports.insert(0, open);
    let config = ScanConfig {
        randomize: false,
        ..config
    };
    let report = scan(&loopback(), &ports, &[], &config).await;
    assert!(!report.complete);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let probed = report.hosts[0].tcp.open + report.hosts[0].tcp.closed;
    assert!(probed > 10 && probed < 1_000, "{probed} probes");
    assert_eq!(report.open().next().map(|r| r.port), Some(open));
    assert!(progress.done() >= probed && progress.total() == 65_535);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_spaces_probes() {
    let config = ScanConfig {
        rate: 100.0,
        skip_discovery: true,
        service_detection: false,
        ..fast_config()
    };
    let ports: Vec<u16> = (0..30).map(|_| free_tcp_port()).collect();
    let start = Instant::now();
    let report = scan(&loopback(), &ports, &[], &config).await;
    // 30 probes at 100/s: at least 29 intervals of 10 ms.
    assert!(start.elapsed() >= Duration::from_millis(290));
    assert_eq!(report.hosts[0].tcp.closed as usize, report.ports_scanned);
}

/// Root only: a namespace with a veth pair, where policy rules drop TCP
/// port 9 silently (filtered, no-response) and nothing listens on 10
/// (closed). Skipped with a message otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn filtered_port_in_a_namespace() {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let ip_ok = std::process::Command::new("ip").arg("-V").output().is_ok();
    if !is_root || !ip_ok {
        eprintln!("skipped: needs root and iproute2 to build a network namespace");
        return;
    }
    let ns = format!("nsscan-t{}", std::process::id() % 100_000);
    let (host_if, ns_if) = (format!("nsst{}", std::process::id() % 10_000), "eth0");
    let run = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    struct Teardown(String, String);
    impl Drop for Teardown {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", &self.1])
                .status();
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }
    let _guard = Teardown(ns.clone(), host_if.clone());
    // 10.253.0.248/30 is the test's corner of the lab range.
    let ok = run(&["netns", "add", &ns])
        && run(&["link", "add", &host_if, "type", "veth", "peer", "name", "nsstpeer"])
        && run(&["link", "set", "nsstpeer", "netns", &ns])
        && run(&["-n", &ns, "link", "set", "nsstpeer", "name", ns_if])
        && run(&["addr", "add", "10.253.0.249/30", "dev", &host_if])
        && run(&["link", "set", &host_if, "up"])
        && run(&["-n", &ns, "addr", "add", "10.253.0.250/30", "dev", ns_if])
        && run(&["-n", &ns, "link", "set", ns_if, "up"])
        && run(&["-n", &ns, "link", "set", "lo", "up"])
        // Before the local table (pref 0), or local delivery wins: move it.
        && run(&["-n", &ns, "rule", "add", "pref", "10", "ipproto", "tcp", "dport", "9", "blackhole"])
        && run(&["-n", &ns, "rule", "add", "pref", "100", "lookup", "local"])
        && run(&["-n", &ns, "rule", "del", "pref", "0"]);
    if !ok {
        eprintln!("skipped: could not build the namespace (no netns or policy-rule support)");
        return;
    }
    let target = netsec_scan::targets::expand_target("10.253.0.250").unwrap();
    let config = ScanConfig {
        skip_discovery: true,
        service_detection: false,
        timing: Timing {
            max_retries: 1,
            ..Timing::profile(4)
        },
        ..ScanConfig::default()
    };
    let report = scan(&target, &[9, 10], &[], &config).await;
    let by_port = |p: u16| report.results.iter().find(|r| r.port == p).unwrap();
    assert_eq!(by_port(9).state, PortState::Filtered);
    assert_eq!(by_port(9).reason, "no-response");
    assert_eq!(by_port(10).state, PortState::Closed);
    // The adaptive timeout learnt the RTT from the closed port.
    assert!(report.hosts[0].srtt_us.is_some());
}
