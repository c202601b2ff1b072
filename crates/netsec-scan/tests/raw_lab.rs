#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Raw-packet scans (SYN scan, ARP / ICMP / TCP ping discovery) against
//! network namespaces this test builds itself: a bridge in 10.77.x.0/24
//! (and fd77:x::/64) with one namespace per host, listeners started inside
//! them, and drop / reject rules. Nothing is sent anywhere else. Needs root
//! (raw sockets, `ip netns`) and python3 for the listeners: skipped with a
//! message when not root; as root, a lab that cannot be built fails the
//! test. Everything is torn down on drop, also on failure.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use netsec_scan::raw::Discovery;
use netsec_scan::timing::Timing;
use netsec_scan::{scan, PortState, ScanConfig, ScanReport, TcpScan};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A bridge with namespaces on it; removed on drop.
struct Lab {
    bridge: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    /// Third octet of 10.77.x.0/24 (and fd77:x::/64).
    net: u8,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            run("ip", &["netns", "del", ns]);
        }
        run("ip", &["link", "del", &self.bridge]);
    }
}

const LISTENER: &str = "
import socket, sys, time
ss = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', int(p)))
    s.listen(64)
    ss.append(s)
print('ready', flush=True)
time.sleep(600)
";

impl Lab {
    /// A lab named `tag` (a letter) on 10.77.`net`.0/24 with one namespace
    /// per entry of `hosts` (last octet, ports to listen on). `None`, with
    /// the reason printed, when it cannot be built here.
    fn new(tag: char, net_base: u8, hosts: &[(u8, &[u16])]) -> Option<Lab> {
        if !is_root() {
            eprintln!("skipped: needs root for raw sockets and network namespaces");
            return None;
        }
        // As root the lab must come up: a lab that cannot be built fails
        // its test instead of passing without running.
        if !run("ip", &["-V"]) || !run("python3", &["-c", "pass"]) {
            panic!("raw lab: running as root, but iproute2 or python3 is missing");
        }
        let pid = std::process::id();
        let net = net_base + (pid % 40) as u8;
        let mut lab = Lab {
            bridge: format!("nr{tag}{}", pid % 100_000),
            namespaces: Vec::new(),
            children: Vec::new(),
            net,
        };
        let br = lab.bridge.clone();
        let gw4 = format!("10.77.{net}.1/24");
        let gw6 = format!("fd77:{net}::1/64");
        if !(run("ip", &["link", "add", &br, "type", "bridge"])
            && run("ip", &["addr", "add", &gw4, "dev", &br])
            && run("ip", &["addr", "add", &gw6, "dev", &br, "nodad"])
            && run("ip", &["link", "set", &br, "up"]))
        {
            panic!("raw lab: running as root, but could not create bridge {br}");
        }
        for (i, &(octet, ports)) in hosts.iter().enumerate() {
            let ns = format!("nr-{tag}-{pid}-{i}");
            let veth = format!("{br}v{i}");
            if !run("ip", &["netns", "add", &ns]) {
                panic!("raw lab: running as root, but could not create namespace {ns}");
            }
            lab.namespaces.push(ns.clone());
            let a4 = format!("10.77.{net}.{octet}/24");
            let a6 = format!("fd77:{net}::{octet:x}/64");
            let ok = run(
                "ip",
                &[
                    "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            ) && run("ip", &["link", "set", &veth, "master", &br, "up"])
                && run("ip", &["-n", &ns, "addr", "add", &a4, "dev", "eth0"])
                && run(
                    "ip",
                    &["-n", &ns, "addr", "add", &a6, "dev", "eth0", "nodad"],
                )
                && run("ip", &["-n", &ns, "link", "set", "eth0", "up"])
                && run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
            if !ok {
                panic!("raw lab: running as root, but could not wire namespace {ns}");
            }
            if !ports.is_empty() {
                let mut args = vec![
                    "netns".to_string(),
                    "exec".into(),
                    ns.clone(),
                    "python3".into(),
                    "-c".into(),
                    LISTENER.into(),
                ];
                args.extend(ports.iter().map(u16::to_string));
                let mut child = Command::new("ip")
                    .args(&args)
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("raw lab: could not start the listener");
                let mut line = String::new();
                let out = child
                    .stdout
                    .take()
                    .expect("raw lab: the listener has no stdout");
                let _ = BufReader::new(out).read_line(&mut line);
                lab.children.push(child);
                if line.trim() != "ready" {
                    panic!("raw lab: the listener in {ns} did not start");
                }
            }
        }
        Some(lab)
    }

    fn v4(&self, octet: u8) -> IpAddr {
        format!("10.77.{}.{octet}", self.net).parse().unwrap()
    }

    fn v6(&self, octet: u8) -> IpAddr {
        format!("fd77:{}::{octet:x}", self.net).parse().unwrap()
    }

    /// Run `ip -n NS ARGS` in host `i`'s namespace.
    fn ip_in(&self, i: usize, args: &[&str]) -> bool {
        let mut all = vec!["-n", self.namespaces[i].as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }
}

fn syn_config() -> ScanConfig {
    ScanConfig {
        tcp_scan: TcpScan::Syn,
        skip_discovery: true,
        service_detection: false,
        timing: Timing {
            max_retries: 1,
            initial_rtt_timeout: std::time::Duration::from_millis(300),
            ..Timing::profile(4)
        },
        ..ScanConfig::default()
    }
}

fn state(report: &ScanReport, ip: IpAddr, port: u16) -> (PortState, String) {
    let r = report
        .results
        .iter()
        .find(|r| r.ip == ip && r.port == port)
        .unwrap_or_else(|| panic!("{ip}:{port} not in {:?}", report.results));
    (r.state, r.reason.clone())
}

/// Open, closed and filtered (dropped and rejected) ports over IPv4 and
/// IPv6, with nmap's reasons; the report says it was a SYN scan.
#[tokio::test(flavor = "multi_thread")]
async fn syn_scan_states_and_reasons() {
    let Some(lab) = Lab::new('s', 100, &[(2, &[22, 8080]), (3, &[443])]) else {
        return;
    };
    // Host 2: TCP 9 dropped silently by a policy rule (no iptables needed).
    let ok = lab.ip_in(
        0,
        &[
            "rule",
            "add",
            "pref",
            "10",
            "ipproto",
            "tcp",
            "dport",
            "9",
            "blackhole",
        ],
    ) && lab.ip_in(0, &["rule", "add", "pref", "100", "lookup", "local"])
        && lab.ip_in(0, &["rule", "del", "pref", "0"]);
    assert!(ok, "policy rules");
    // Host 3: TCP 11 rejected with ICMP admin-prohibited, when iptables works.
    let ns3 = lab.namespaces[1].clone();
    let rejecting = run(
        "ip",
        &[
            "netns",
            "exec",
            &ns3,
            "iptables",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            "11",
            "-j",
            "REJECT",
            "--reject-with",
            "icmp-admin-prohibited",
        ],
    );
    if !rejecting {
        eprintln!("note: iptables unusable here; the ICMP admin-prohibited case is skipped");
    }
    let (h2, h3, h2v6) = (lab.v4(2), lab.v4(3), lab.v6(2));
    let ports = [9, 10, 11, 22, 443, 8080];
    let report = scan(&[h2, h3, h2v6], &ports, &[], &syn_config()).await;
    assert_eq!(report.scan_type, "syn", "notes: {:?}", report.notes);
    assert!(report.complete);
    assert_eq!(state(&report, h2, 22), (PortState::Open, "syn-ack".into()));
    assert_eq!(
        state(&report, h2, 8080),
        (PortState::Open, "syn-ack".into())
    );
    assert_eq!(state(&report, h2, 10), (PortState::Closed, "reset".into()));
    assert_eq!(state(&report, h2, 443), (PortState::Closed, "reset".into()));
    assert_eq!(
        state(&report, h2, 9),
        (PortState::Filtered, "no-response".into())
    );
    assert_eq!(state(&report, h3, 443), (PortState::Open, "syn-ack".into()));
    assert_eq!(state(&report, h3, 22), (PortState::Closed, "reset".into()));
    if rejecting {
        assert_eq!(
            state(&report, h3, 11),
            (PortState::Filtered, "admin-prohibited".into())
        );
    }
    // IPv6: the same listener (dual-stack), the same drop rule is IPv4-only.
    assert_eq!(
        state(&report, h2v6, 22),
        (PortState::Open, "syn-ack".into())
    );
    assert_eq!(state(&report, h2v6, 9), (PortState::Closed, "reset".into()));
    assert_eq!(
        state(&report, h2v6, 10),
        (PortState::Closed, "reset".into())
    );
    let h = report.hosts.iter().find(|h| h.ip == h2).unwrap();
    assert_eq!((h.tcp.open, h.tcp.closed, h.tcp.filtered), (2, 3, 1));

    // -g: host 3 drops TCP from any other source port; with -g 40053 its
    // open port answers, without it the probes are dropped.
    if rejecting {
        assert!(run(
            "ip",
            &[
                "netns", "exec", &ns3, "iptables", "-I", "INPUT", "-p", "tcp", "!", "--sport",
                "40053", "-j", "DROP",
            ],
        ));
        let fixed = ScanConfig {
            source_port: Some(40_053),
            ..syn_config()
        };
        let report = scan(&[h3], &[443], &[], &fixed).await;
        assert_eq!(state(&report, h3, 443), (PortState::Open, "syn-ack".into()));
        let report = scan(&[h3], &[443], &[], &syn_config()).await;
        assert_eq!(
            state(&report, h3, 443),
            (PortState::Filtered, "no-response".into())
        );
    }
}

/// Every port of two hosts: all 131,070 answered, the open ones found, in
/// seconds (the bound is loose for slow CI machines).
#[tokio::test(flavor = "multi_thread")]
async fn syn_scan_all_ports_fast() {
    let Some(lab) = Lab::new('f', 140, &[(2, &[22, 80, 443, 60_001]), (3, &[1, 65_535])]) else {
        return;
    };
    let ports: Vec<u16> = (1..=65_535).collect();
    let config = ScanConfig {
        rate: 100_000.0,
        ..syn_config()
    };
    let start = Instant::now();
    let report = scan(&[lab.v4(2), lab.v4(3)], &ports, &[], &config).await;
    let took = start.elapsed();
    eprintln!("2 x 65,535 ports in {took:?}");
    assert_eq!(report.scan_type, "syn");
    let open: Vec<(IpAddr, u16)> = report.open().map(|r| (r.ip, r.port)).collect();
    assert_eq!(
        open,
        [
            (lab.v4(2), 22),
            (lab.v4(2), 80),
            (lab.v4(2), 443),
            (lab.v4(2), 60_001),
            (lab.v4(3), 1),
            (lab.v4(3), 65_535)
        ]
    );
    for h in &report.hosts {
        assert_eq!(h.tcp.open + h.tcp.closed, 65_535, "{h:?}");
        // Timed probes measured the round trip (no discovery ran).
        assert!(h.srtt_us.is_some(), "{h:?}");
    }
    assert!(took.as_secs() < 60, "took {took:?}");
}

/// ARP (and neighbour discovery for IPv6) finds the hosts on the bridge; ICMP echo, timestamp, SYN and ACK
/// pings each find them too when asked alone; a missing host is down.
#[tokio::test(flavor = "multi_thread")]
async fn discovery_arp_icmp_tcp() {
    let Some(lab) = Lab::new('d', 180, &[(2, &[22]), (3, &[])]) else {
        return;
    };
    let (up2, up3, down) = (lab.v4(2), lab.v4(3), lab.v4(200));
    let targets = [up2, up3, down];
    let config = |d: Discovery| ScanConfig {
        raw_discovery: Some(d),
        service_detection: false,
        timing: Timing {
            initial_rtt_timeout: std::time::Duration::from_millis(300),
            ..Timing::profile(4)
        },
        ..ScanConfig::default()
    };
    let reasons = |r: &ScanReport| -> Vec<(bool, String)> {
        targets
            .iter()
            .map(|ip| {
                let h = r.hosts.iter().find(|h| h.ip == *ip).unwrap();
                (h.up, h.reason.clone())
            })
            .collect()
    };
    let up = |why: &str| (true, why.to_string());
    let no = (false, "no-response".to_string());

    let r = scan(&targets, &[], &[], &config(Discovery::default())).await;
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!(
        reasons(&r),
        [up("arp-response"), up("arp-response"), no.clone()]
    );
    assert!(r.hosts[0].srtt_us.is_some());

    let only = |f: fn(&mut Discovery)| {
        let mut d = Discovery::none();
        f(&mut d);
        d
    };
    let r = scan(&targets, &[], &[], &config(only(|d| d.echo = true))).await;
    assert_eq!(
        reasons(&r),
        [up("echo-reply"), up("echo-reply"), no.clone()]
    );
    let r = scan(&targets, &[], &[], &config(only(|d| d.timestamp = true))).await;
    assert_eq!(
        reasons(&r),
        [up("timestamp-reply"), up("timestamp-reply"), no.clone()]
    );
    // SYN ping to 22: host 2 listens (SYN-ACK), host 3 resets.
    let r = scan(
        &targets,
        &[],
        &[],
        &config(only(|d| d.syn_ports = vec![22])),
    )
    .await;
    assert_eq!(reasons(&r), [up("syn-ack"), up("reset"), no.clone()]);
    let r = scan(
        &targets,
        &[],
        &[],
        &config(only(|d| d.ack_ports = vec![80])),
    )
    .await;
    assert_eq!(reasons(&r), [up("reset"), up("reset"), no.clone()]);
    // IPv6: neighbour discovery by default on the link, echo when asked.
    let v6 = [lab.v6(2), lab.v6(200)];
    let r = scan(&v6, &[], &[], &config(Discovery::default())).await;
    let nd = |ip: IpAddr| {
        r.hosts
            .iter()
            .find(|h| h.ip == ip)
            .map(|h| (h.up, h.reason.clone()))
    };
    assert_eq!(nd(v6[0]), Some(up("nd-response")), "{:?}", r.hosts);
    assert_eq!(nd(v6[1]), Some(no.clone()));
    let r = scan(
        &[lab.v6(2), lab.v6(200)],
        &[],
        &[],
        &config(only(|d| d.echo = true)),
    )
    .await;
    assert!(
        r.hosts
            .iter()
            .any(|h| h.ip == lab.v6(2) && h.up && h.reason == "echo-reply"),
        "{:?}",
        r.hosts
    );
    assert!(r.hosts.iter().any(|h| h.ip == lab.v6(200) && !h.up));
    // Discovery then a SYN scan of the hosts found up only.
    let c = ScanConfig {
        tcp_scan: TcpScan::Syn,
        ..config(Discovery::default())
    };
    let r = scan(&targets, &[22, 23], &[], &c).await;
    assert_eq!(r.scan_type, "syn");
    assert_eq!(r.results.len(), 4, "{:?}", r.results);
    assert_eq!(state(&r, up2, 22).0, PortState::Open);
    assert_eq!(state(&r, up3, 22).0, PortState::Closed);
}
