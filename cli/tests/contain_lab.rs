#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec contain` rules applied on a real router. Four network namespaces
//! the test creates, with the addresses of the labelled captures: an
//! attacker (10.250.0.10), a server (10.250.0.20, a Python HTTP server on
//! port 80), an office client (10.250.0.30), and a router between them
//! (proxy ARP, one veth per host). Traffic stays between them.
//!
//! The rules `netsec contain` makes from the recorded SYN scan and office
//! traffic are loaded into the router with `nft -f`; then the attack is
//! replayed (nmap when installed, else bash connects) and must be dropped,
//! while the client still reaches the server; the rollback restores the
//! attacker's reach. Skipped, with a message, when not root or without
//! `ip`, `nft` or `python3`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HOSTS: [(&str, &str); 3] = [
    ("nscl-att", "10.250.0.10"),
    ("nscl-srv", "10.250.0.20"),
    ("nscl-cli", "10.250.0.30"),
];
const ROUTER: &str = "nscl-rtr";

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Tears the namespaces down (and the server with them), even when the test fails.
struct Lab {
    server: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        for (ns, _) in HOSTS {
            sh(&["ip", "netns", "del", ns]);
        }
        sh(&["ip", "netns", "del", ROUTER]);
    }
}

fn setup() -> Option<Lab> {
    let id = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&id.stdout).trim() != "0" {
        eprintln!("contain_lab: skipped (needs root to create network namespaces)");
        return None;
    }
    for tool in ["nft", "python3"] {
        if !sh(&["sh", "-c", &format!("command -v {tool}")]) {
            eprintln!("contain_lab: skipped ({tool} is not installed)");
            return None;
        }
    }
    assert!(
        sh(&["ip", "-V"]),
        "contain_lab: running as root, but `ip` is not installed"
    );
    drop(Lab { server: None }); // leftovers of an earlier run
    let mut lab = Lab { server: None };
    let run = |step: &[&str]| {
        assert!(sh(step), "contain_lab: {step:?} failed");
    };
    run(&["ip", "netns", "add", ROUTER]);
    run(&[
        "ip",
        "netns",
        "exec",
        ROUTER,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
    ]);
    run(&["ip", "-n", ROUTER, "link", "set", "lo", "up"]);
    for (i, (ns, ip)) in HOSTS.iter().enumerate() {
        let rif = format!("r{i}");
        run(&["ip", "netns", "add", ns]);
        run(&[
            "ip", "-n", ROUTER, "link", "add", &rif, "type", "veth", "peer", "name", "eth0",
            "netns", ns,
        ]);
        run(&[
            "ip",
            "-n",
            ROUTER,
            "addr",
            "add",
            "10.250.0.1/32",
            "dev",
            &rif,
        ]);
        run(&["ip", "-n", ROUTER, "link", "set", &rif, "up"]);
        run(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{rif}.proxy_arp=1"),
        ]);
        run(&[
            "ip",
            "-n",
            ROUTER,
            "route",
            "add",
            &format!("{ip}/32"),
            "dev",
            &rif,
        ]);
        run(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ]);
        run(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    let server = Command::new("ip")
        .args([
            "netns",
            "exec",
            HOSTS[1].0,
            "python3",
            "-m",
            "http.server",
            "80",
        ])
        .args(["--bind", HOSTS[1].1])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the HTTP server");
    lab.server = Some(server);
    // Wait for the server to listen (a loaded machine starts Python slowly).
    for _ in 0..300 {
        if connects(HOSTS[2].0, HOSTS[1].1, 80) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(lab)
}

/// Whether a TCP connection from namespace `ns` to `ip:port` succeeds
/// within three seconds (a dropped SYN is retried after one).
fn connects(ns: &str, ip: &str, port: u16) -> bool {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "timeout",
        "3",
        "bash",
        "-c",
        &format!("exec 3<>/dev/tcp/{ip}/{port}"),
    ])
}

#[test]
fn contain_rules_on_a_router_stop_the_attacker_and_spare_the_office() {
    let Some(_lab) = setup() else { return };
    let (attacker, server, client) = (HOSTS[0], HOSTS[1], HOSTS[2]);
    assert!(
        connects(attacker.0, server.1, 80),
        "before the rules the attacker reaches the server"
    );
    assert!(
        connects(client.0, server.1, 80),
        "before the rules the client reaches the server"
    );

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.nft");
    let rollback = dir.path().join("rollback.sh");
    let data = root().join("testdata/detect");
    let out = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .arg("contain")
        .arg(data.join("scan-syn.pcap"))
        .arg(data.join("benign-office.pcap.zst"))
        .args(["--target", "nftables", "--threads", "1", "-o"])
        .arg(&rules)
        .arg("--rollback")
        .arg(&rollback)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = Command::new("ip")
        .args(["netns", "exec", ROUTER, "nft", "-f"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "nft -f: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );

    // Replay the attack through the router.
    let nmap = sh(&["sh", "-c", "command -v nmap"]);
    if nmap {
        let scan = Command::new("ip")
            .args([
                "netns", "exec", attacker.0, "nmap", "-n", "-Pn", "-sS", "-p", "1-200",
            ])
            .args(["--max-retries", "0", "--host-timeout", "20s", server.1])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&scan.stdout);
        assert!(
            !text.contains("80/tcp open"),
            "the scan got through:\n{text}"
        );
    }
    for port in [22, 80, 443] {
        assert!(
            !connects(attacker.0, server.1, port),
            "attacker reached port {port}"
        );
    }
    assert!(
        connects(client.0, server.1, 80),
        "the rules cut the office client off"
    );
    let counters = Command::new("ip")
        .args([
            "netns",
            "exec",
            ROUTER,
            "nft",
            "list",
            "chain",
            "inet",
            "netsec_contain",
            "contain",
        ])
        .output()
        .unwrap();
    let counters = String::from_utf8_lossy(&counters.stdout);
    assert!(
        !counters.contains("packets 0 bytes 0"),
        "the drop rule counted nothing:\n{counters}"
    );

    // Roll back: the attacker reaches the server again.
    let undo = std::fs::read_to_string(&rollback).unwrap();
    for line in undo.lines().filter(|l| !l.trim().is_empty()) {
        let mut args = vec!["netns", "exec", ROUTER];
        args.extend(line.split_whitespace());
        let status = Command::new("ip").args(&args).status().unwrap();
        assert!(status.success(), "rollback step {line:?} failed");
    }
    assert!(
        connects(attacker.0, server.1, 80),
        "after the rollback the attacker is still blocked"
    );
}
