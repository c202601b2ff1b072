#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Scans of services this test runs on 127.0.0.1: open ports with real
//! protocol greetings and answers, a closed port, the findings.

use netsec_scan::{exposure_findings, scan, PortState, ScanConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn serve(reply_first: &'static [u8], reply_to_request: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if !reply_first.is_empty() {
                    let _ = s.write_all(reply_first).await;
                }
                let mut buf = [0u8; 1024];
                if let Ok(n) = s.read(&mut buf).await {
                    if n > 0 && !reply_to_request.is_empty() {
                        let _ = s.write_all(reply_to_request).await;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn open_closed_and_services_on_loopback() {
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", b"").await;
    let http = serve(b"", b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 40\r\n\r\n<html><title>lab page</title></html>").await;
    let redis = serve(b"", b"+PONG\r\n").await;
    // A port that was just free: bind, note, close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let targets = netsec_scan::targets::expand_target("127.0.0.1").unwrap();
    let config = ScanConfig {
        banner_timeout: std::time::Duration::from_millis(500),
        ..ScanConfig::default()
    };
    let report = scan(&targets, &[ssh, http, redis, closed], &config).await;
    let by_port = |p: u16| report.results.iter().find(|r| r.port == p).unwrap();
    assert_eq!(by_port(ssh).state, PortState::Open);
    assert_eq!(
        by_port(ssh).service.as_ref().unwrap().product.as_deref(),
        Some("OpenSSH")
    );
    let h = by_port(http).service.as_ref().unwrap();
    assert_eq!(
        (h.name.as_str(), h.product.as_deref(), h.info.as_deref()),
        ("http", Some("nginx"), Some("title: lab page"))
    );
    assert_eq!(by_port(redis).service.as_ref().unwrap().name, "redis");
    assert_eq!(by_port(closed).state, PortState::Closed);
    assert_eq!(by_port(closed).reason, "conn-refused");
    let findings = exposure_findings(&report, netsec_model::Timestamp::ZERO);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].kind, "redis_no_auth");
    assert!(findings[0].mitre.contains(&"T1190".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn history_diff_shows_exactly_a_stopped_service() {
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1\r\n", b"").await;
    // A second listener that the test stops between the two scans.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let doomed = l.local_addr().unwrap().port();
    let targets = netsec_scan::targets::expand_target("127.0.0.1").unwrap();
    let config = ScanConfig {
        banner_timeout: std::time::Duration::from_millis(300),
        ..ScanConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut db = netsec_scan::history::History::open(&dir.path().join("scans.db")).unwrap();
    let first = scan(&targets, &[ssh, doomed], &config).await;
    let a = db
        .save("2026-11-23T00:00:00Z", "127.0.0.1", &first)
        .unwrap();
    drop(l);
    let second = scan(&targets, &[ssh, doomed], &config).await;
    let b = db
        .save("2026-11-23T00:01:00Z", "127.0.0.1", &second)
        .unwrap();
    assert_eq!(db.last_two().unwrap(), (a, b));
    let changes = db.diff(a, b).unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        matches!(&changes[0], netsec_scan::history::Change::PortClosed { port, .. } if *port == doomed)
    );
    assert!(db.diff(a, a).unwrap().is_empty());
    assert!(db.diff(a, 999).is_err());
    assert_eq!(db.list().unwrap().len(), 2);
}
