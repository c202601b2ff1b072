#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Live capture between hosts in network namespaces the test creates: a veth
//! pair with one end (10.251.0.1) in this namespace and the other
//! (10.251.0.2) in `nslive-peer`. `netsec analyze --interface` captures on
//! our end while the peer sends UDP datagrams and opens TCP connections to
//! closed ports. Traffic never
//! leaves the pair. Skipped, with a message, when not root or without `ip`.

use std::process::{Command, Stdio};
use std::time::Duration;

const NS: &str = "nslive-peer";
const IFACE: &str = "nslive0";

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Tears the namespace and veth down, even when the test fails.
struct Lab;

impl Drop for Lab {
    fn drop(&mut self) {
        sh(&["ip", "link", "del", IFACE]);
        sh(&["ip", "netns", "del", NS]);
    }
}

fn setup() -> Option<Lab> {
    let root = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        eprintln!("live_capture: skipped (needs root to create network namespaces)");
        return None;
    }
    // As root the lab must come up: one that cannot be built fails the
    // test instead of passing without running.
    assert!(
        sh(&["ip", "-V"]),
        "live_capture: running as root, but iproute2 `ip` is not installed"
    );
    let lab = Lab;
    drop(Lab); // clean leftovers of an earlier run
    let steps: [&[&str]; 7] = [
        &["ip", "netns", "add", NS],
        &[
            "ip", "link", "add", IFACE, "type", "veth", "peer", "name", "eth0", "netns", NS,
        ],
        &["ip", "addr", "add", "10.251.0.1/24", "dev", IFACE],
        &["ip", "link", "set", IFACE, "up"],
        &[
            "ip",
            "-n",
            NS,
            "addr",
            "add",
            "10.251.0.2/24",
            "dev",
            "eth0",
        ],
        &["ip", "-n", NS, "link", "set", "eth0", "up"],
        &["ip", "-n", NS, "link", "set", "lo", "up"],
    ];
    for step in steps {
        assert!(
            sh(step),
            "live_capture: running as root, but {step:?} failed (no netns support?)"
        );
    }
    Some(lab)
}

#[test]
fn live_capture_sees_traffic_between_namespaces() {
    let Some(_lab) = setup() else { return };
    let child = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            "--interface",
            IFACE,
            "--duration",
            "4",
            "--format",
            "json",
        ])
        .args(["--threads", "1", "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    // From the peer namespace to our end of the pair only, with nothing but
    // bash (no ping: a fresh machine may not have it): every 200 ms for two
    // seconds, a UDP datagram to a closed port (answered by ICMP port
    // unreachable) and a TCP connection to a closed port (SYN, then RST).
    // Spread over time so that a slow start of the capture misses only some.
    sh(&[
        "ip",
        "netns",
        "exec",
        NS,
        "bash",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do \
           echo netsec-live > /dev/udp/10.251.0.1/9999; \
           (exec 3<>/dev/tcp/10.251.0.1/9) 2>/dev/null; \
           sleep 0.2; \
         done",
    ]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["inputs"][0]["format"], "live");
    assert!(s["transport"]["udp"].as_u64().unwrap() >= 4, "{s}");
    assert!(s["transport"]["tcp"].as_u64().unwrap() >= 8, "{s}");
    // Linux rate-limits port unreachables, but answers a few.
    assert!(s["transport"]["icmp"].as_u64().unwrap() >= 2, "{s}");
    let talkers: Vec<&str> = s["top_talkers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ip"].as_str())
        .collect();
    assert!(talkers.contains(&"10.251.0.2"), "{talkers:?}");
}

#[test]
fn live_capture_on_a_missing_interface_is_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            "--interface",
            "no-such-if0",
            "--duration",
            "1",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-if0"));
}
