//! SYN scan with raw packets against a host in a network namespace this test
//! creates (veth pair 10.98.0.1 ↔ 10.98.0.2): an open port (a listener in
//! the namespace), a closed one (the namespace's kernel resets) and a
//! silent address on the same link (no one answers ARP: filtered,
//! no-response). Skipped with a message when not root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netsec_scan::{scan, PortState, ScanConfig};

/// A namespace joined to this one by a veth pair: `{prefix}.1` here,
/// `{prefix}.2` there; removed on drop, with its listener.
struct Lab {
    ns: &'static str,
    link: &'static str,
    listener: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut l) = self.listener.take() {
            let _ = l.kill();
            let _ = l.wait();
        }
        let _ = Command::new("ip").args(["link", "del", self.link]).status();
        let _ = Command::new("ip").args(["netns", "del", self.ns]).status();
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Build the lab; `None` when namespaces cannot be made (not root).
fn lab(ns: &'static str, link: &'static str, prefix: &str) -> Option<Lab> {
    let _ = Command::new("ip").args(["netns", "del", ns]).status();
    let _ = Command::new("ip").args(["link", "del", link]).status();
    if !ip(&["netns", "add", ns]) {
        return None;
    }
    let lab = Lab {
        ns,
        link,
        listener: None,
    };
    let (here, there) = (format!("{prefix}.1/24"), format!("{prefix}.2/24"));
    let ok = ip(&[
        "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns,
    ]) && ip(&["addr", "add", &here, "dev", link])
        && ip(&["link", "set", link, "up"])
        && ip(&["-n", ns, "addr", "add", &there, "dev", "eth0"])
        && ip(&["-n", ns, "link", "set", "eth0", "up"])
        && ip(&["-n", ns, "link", "set", "lo", "up"]);
    assert!(ok, "could not build the namespace lab");
    Some(lab)
}

impl Lab {
    /// Listen on `ports` of `addr` inside the namespace.
    fn listen(&mut self, addr: &str, ports: &[u16]) {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let program = format!(
            "import socket,time\nsocks=[]\nfor p in ({},):\n s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('{addr}',p)); s.listen(64); socks.append(s)\ntime.sleep(120)",
            ports.join(",")
        );
        let child = Command::new("ip")
            .args(["netns", "exec", self.ns, "python3", "-c", &program])
            .spawn()
            .expect("start the listener");
        self.listener = Some(child);
        std::thread::sleep(Duration::from_millis(500));
    }
}

const SKIPPED: &str =
    "syn_netns: skipped (needs root to create network namespaces and raw sockets)";

#[test]
fn syn_scan_tells_open_closed_and_silent_apart() {
    let Some(mut lab) = lab("nssyn-target", "nssyn0", "10.98.0") else {
        eprintln!("{SKIPPED}");
        return;
    };
    lab.listen("10.98.0.2", &[8080]);

    let target = IpAddr::V4(Ipv4Addr::new(10, 98, 0, 2));
    let silent = IpAddr::V4(Ipv4Addr::new(10, 98, 0, 3));
    let mut config = ScanConfig {
        syn: true,
        skip_discovery: true,
        service_detection: false,
        ..ScanConfig::default()
    };
    config.timing.max_retries = 1;
    config.timing.initial_rtt_timeout = Duration::from_millis(300);
    config.timing.max_rtt_timeout = Duration::from_millis(300);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(scan(&[target, silent], &[8080, 8081], &[], &config));
    assert_eq!(report.scan_type, "syn", "{report:#?}");
    let state = |ip: IpAddr, port: u16| {
        report
            .results
            .iter()
            .find(|r| r.ip == ip && r.port == port)
            .map(|r| (r.state, r.reason.clone()))
            .unwrap_or_else(|| panic!("{ip}:{port} missing: {report:#?}"))
    };
    assert_eq!(state(target, 8080), (PortState::Open, "syn-ack".into()));
    assert_eq!(state(target, 8081), (PortState::Closed, "reset".into()));
    assert_eq!(
        state(silent, 8080),
        (PortState::Filtered, "no-response".into())
    );
    assert_eq!(
        state(silent, 8081),
        (PortState::Filtered, "no-response".into())
    );
    let host = report.hosts.iter().find(|h| h.ip == target).unwrap();
    assert_eq!((host.tcp.open, host.tcp.closed), (1, 1));
}

#[test]
fn syn_scan_of_all_ports_finds_the_listener() {
    let Some(mut lab) = lab("nssyn-all", "nssyn1", "10.97.0") else {
        eprintln!("{SKIPPED}");
        return;
    };
    lab.listen("10.97.0.2", &[22, 4444, 65_535]);
    let target = IpAddr::V4(Ipv4Addr::new(10, 97, 0, 2));
    let config = ScanConfig {
        syn: true,
        skip_discovery: true,
        service_detection: false,
        ..ScanConfig::default()
    };
    let mut config = config;
    config.rate = std::env::var("NETSEC_TEST_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0.0);
    let all: Vec<u16> = (1..=65_535).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(scan(&[target], &all, &[], &config));
    let open: Vec<u16> = report.open().map(|r| r.port).collect();
    assert_eq!(open, vec![22, 4444, 65_535], "{:#?}", report.hosts);
    assert_eq!(report.hosts[0].tcp.closed, 65_532, "{:#?}", report.hosts);
}
