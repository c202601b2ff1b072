#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Live capture between addresses this test creates: a veth pair with one
//! end (10.254.N.1/30) in this namespace and the other (10.254.N.2/30) in a
//! network namespace `nscapPID`. LiveCapture listens on our end while the
//! namespace pings us and we send UDP datagrams to it; the frames must be
//! seen, with sane timestamps. No traffic leaves the pair.
//!
//! Needs root, `ip` and `ping`; otherwise it prints why and passes without running.
//! Everything is torn down by a Drop guard, also when an assertion fails.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netsec_capture::{LiveCapture, LiveOptions};
use netsec_model::LinkType;

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespace, the veth pair and the addresses of one test run.
struct Lab {
    netns: String,
    outer: String,
    inner: String,
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both; deleting the
        // namespace would too, but the outer end lives here.
        let _ = run(&["ip", "link", "del", &self.outer]);
        let _ = run(&["ip", "netns", "del", &self.netns]);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Builds the lab, or says why not.
fn lab() -> Result<Lab, String> {
    if !is_root() {
        return Err("not running as root".into());
    }
    if run(&["ip", "-V"]).is_err() {
        return Err("`ip` (iproute2) is not available".into());
    }
    if run(&["ping", "-V"]).is_err() {
        return Err("`ping` is not available".into());
    }
    let pid = std::process::id();
    // A /30 of our own inside 10.254.0.0/16, per process, so parallel runs do not meet.
    let n = (pid % 250) as u8 + 1;
    let lab = Lab {
        netns: format!("nscap{pid}"),
        outer: format!("nscapa{}", pid % 100_000),
        inner: format!("nscapb{}", pid % 100_000),
        ours: Ipv4Addr::new(10, 254, n, 1),
        theirs: Ipv4Addr::new(10, 254, n, 2),
    };
    let ours = format!("{}/30", lab.ours);
    let theirs = format!("{}/30", lab.theirs);
    let steps: [&[&str]; 7] = [
        &["ip", "netns", "add", &lab.netns],
        &[
            "ip", "link", "add", &lab.outer, "type", "veth", "peer", "name", &lab.inner, "netns",
            &lab.netns,
        ],
        &["ip", "addr", "add", &ours, "dev", &lab.outer],
        &["ip", "link", "set", &lab.outer, "up"],
        &[
            "ip", "-n", &lab.netns, "addr", "add", &theirs, "dev", &lab.inner,
        ],
        &["ip", "-n", &lab.netns, "link", "set", &lab.inner, "up"],
        &["ip", "-n", &lab.netns, "link", "set", "lo", "up"],
    ];
    for step in steps {
        // On failure `lab` is dropped here and removes what was made.
        run(step).map_err(|e| format!("could not build the namespace lab: {e}"))?;
    }
    Ok(lab)
}

/// IPv4 source, destination and protocol of an Ethernet frame, read by hand
/// (decoding is netsec-proto's job, and this crate does not depend on it).
fn ipv4_of(frame: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, &[u8])> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b: [u8; 4] = ip.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    Some((addr(12)?, addr(16)?, *ip.get(9)?, ip.get(header_len..)?))
}

#[test]
fn live_capture_sees_pings_and_datagrams_between_namespaces() {
    let lab = match lab() {
        Ok(lab) => lab,
        Err(why) => {
            println!("live capture test skipped: {why}");
            return;
        }
    };
    let options = LiveOptions {
        snaplen: 200,
        promiscuous: false,
        read_timeout: Duration::from_millis(100),
    };
    let mut live = LiveCapture::open(&lab.outer, &options).expect("open the veth end");
    assert_eq!(live.link_type(), LinkType::Ethernet);
    let listed = LiveCapture::interfaces();
    assert!(
        listed
            .iter()
            .any(|i| i.name == lab.outer && i.addresses.iter().any(|a| a.starts_with("10.254."))),
        "{listed:?}"
    );

    // The namespace pings us; we send datagrams (with a large one, to see the snap length) to it.
    let theirs = lab.theirs.to_string();
    let mut ping = Command::new("ip")
        .args([
            "netns", "exec", &lab.netns, "ping", "-c", "3", "-i", "0.2", "-W", "1",
        ])
        .arg(lab.ours.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ping in the namespace");
    let socket = UdpSocket::bind((lab.ours, 0)).unwrap();
    for i in 0..3u8 {
        socket.send_to(&[i; 16], (lab.theirs, 9)).unwrap();
    }
    socket.send_to(&[0xab; 1000], (lab.theirs, 9)).unwrap();

    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut echo_requests, mut datagrams, mut big) = (0, 0, None);
    let mut last_number = 0;
    while Instant::now() < deadline && (echo_requests < 3 || datagrams < 4) {
        let Some(p) = live.next_packet().unwrap() else {
            continue;
        };
        assert_eq!(p.number, last_number + 1);
        last_number = p.number;
        // System clock at receive time: within a few seconds of now.
        let ts = p.ts.as_nanos() as u128;
        assert!(ts + 5_000_000_000 >= started.as_nanos(), "{}", p.ts);
        assert!(p.data.len() <= 200);
        let Some((src, dst, proto, l4)) = ipv4_of(p.data) else {
            continue;
        };
        // Anything else on this link would be ours too (there is nothing else).
        assert!(
            src.octets()[..2] == [10, 254] && dst.octets()[..2] == [10, 254],
            "{src} -> {dst}"
        );
        match (proto, l4.first()) {
            (1, Some(8)) if src == lab.theirs && dst == lab.ours => echo_requests += 1,
            (17, _) if src == lab.ours && dst == lab.theirs => {
                datagrams += 1;
                if p.orig_len > 1000 {
                    big = Some((p.orig_len, p.data.len()));
                }
            }
            _ => {}
        }
    }
    let _ = ping.wait();
    assert!(
        echo_requests >= 3,
        "echo requests seen: {echo_requests} (to {theirs})"
    );
    assert_eq!(datagrams, 4, "UDP datagrams seen");
    // 1000 bytes of payload + 8 UDP + 20 IP + 14 Ethernet, cut to the 200-byte snap length.
    assert_eq!(big, Some((1042, 200)));
    assert_eq!(live.packets(), last_number);
}
