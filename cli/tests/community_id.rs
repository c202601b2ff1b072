#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Community IDs agree with Suricata's: for every flow Suricata logged in
//! `testdata/expected/community-id/` (made by
//! `scripts/suricata_community_ids.py`), netsec's flow with the same
//! endpoints carries the same Community ID.
//!
//! The one known difference, flows whose two endpoints share an address, is
//! not taken on trust: for those netsec must give the value computed here
//! from the Community ID specification (github.com/corelight/community-id-spec,
//! version 1), with SHA-1 and base64 written out below so that the check
//! does not lean on netsec's own code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn capture(name: &str) -> PathBuf {
    let t = root().join("testdata");
    for p in [
        t.join(format!("{name}.pcap")),
        t.join(format!("suricata-verify/{name}.pcap")),
        t.join(format!("suricata-verify/{name}.pcapng")),
    ] {
        if p.exists() {
            return p;
        }
    }
    panic!("no capture for {name}");
}

/// Direction-free key: sorted endpoints plus protocol.
fn key(a: &str, ap: u64, b: &str, bp: u64, proto: &str) -> (String, String, String) {
    // Suricata writes IPv6 addresses uncompressed; compare parsed addresses.
    let norm = |s: &str| {
        s.parse::<std::net::IpAddr>()
            .map(|ip| ip.to_string())
            .unwrap_or(s.to_string())
    };
    let x = format!("{}|{ap}", norm(a));
    let y = format!("{}|{bp}", norm(b));
    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
    (lo, hi, proto.to_ascii_lowercase())
}

fn norm_eq(a: &str, b: &str) -> bool {
    a.parse::<std::net::IpAddr>().ok() == b.parse::<std::net::IpAddr>().ok()
}

/// SHA-1 (FIPS 180-4 §6.1), for the specification's hash.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Community ID v1 with seed 0 for a TCP/UDP/SCTP flow, by the
/// specification: the endpoint with the smaller address, or on equal
/// addresses the smaller port, goes first; then SHA-1 over seed, addresses,
/// protocol, a zero pad byte and ports, base64, prefixed "1:".
fn spec_community_id(src: &str, sport: u16, dst: &str, dport: u16, proto: &str) -> String {
    let bytes = |s: &str| match s.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    let (mut a, mut ap, mut b, mut bp) = (bytes(src), sport, bytes(dst), dport);
    if !(a < b || (a == b && ap < bp)) {
        std::mem::swap(&mut a, &mut b);
        std::mem::swap(&mut ap, &mut bp);
    }
    let proto_number = match proto {
        "TCP" => 6,
        "UDP" => 17,
        "SCTP" => 132,
        other => panic!("no ports in {other}"),
    };
    let mut input = vec![0u8, 0];
    input.extend_from_slice(&a);
    input.extend_from_slice(&b);
    input.extend_from_slice(&[proto_number, 0]);
    input.extend_from_slice(&ap.to_be_bytes());
    input.extend_from_slice(&bp.to_be_bytes());
    format!("1:{}", base64(&sha1(&input)))
}

#[test]
fn the_specification_implementation_here_is_right() {
    // FIPS 180-4 example and RFC 4648 §10 vectors.
    let abc: String = sha1(b"abc").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(abc, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    // The specification's README example (TCP 128.232.110.120:34855 ->
    // 66.35.250.204:80), in both directions.
    let want = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
    assert_eq!(
        spec_community_id("128.232.110.120", 34855, "66.35.250.204", 80, "TCP"),
        want
    );
    assert_eq!(
        spec_community_id("66.35.250.204", 80, "128.232.110.120", 34855, "TCP"),
        want
    );
}

#[test]
fn community_ids_match_suricata() {
    let dir = root().join("testdata/expected/community-id");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    // Pinned: every capture of the cross-check set but decode-sll2-01 (this
    // Suricata cannot read SLL2), 288 flows, 9 of them on one address.
    assert_eq!(files.len(), 45, "expectation files");
    let tmp = tempfile::tempdir().unwrap();
    let (mut compared, mut mismatches) = (0, Vec::new());
    let mut same_address_flows = 0;
    let mut suricata_differs = 0;
    for f in files {
        let name = f.file_stem().unwrap().to_str().unwrap().to_string();
        let want: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let out = tmp.path().join(&name);
        let run = Command::new(env!("CARGO_BIN_EXE_netsec"))
            .args(["analyze", "--threads", "1", "--no-progress", "--out"])
            .arg(&out)
            .arg(capture(&name))
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{name}");
        let mut ours: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
        for line in std::fs::read_to_string(out.join("flows.jsonl"))
            .unwrap()
            .lines()
        {
            let v: Value = serde_json::from_str(line).unwrap();
            let k = key(
                v["source"]["ip"].as_str().unwrap(),
                v["source"]["port"].as_u64().unwrap_or(0),
                v["destination"]["ip"].as_str().unwrap(),
                v["destination"]["port"].as_u64().unwrap_or(0),
                v["network"]["transport"].as_str().unwrap(),
            );
            ours.entry(k)
                .or_default()
                .insert(v["network"]["community_id"].as_str().unwrap().to_string());
        }
        let all_ours: BTreeSet<&String> = ours.values().flatten().collect();
        for fl in want["flows"].as_array().unwrap() {
            let cid = fl["community_id"].as_str().unwrap().to_string();
            let proto = fl["proto"].as_str().unwrap();
            compared += 1;
            if matches!(proto, "TCP" | "UDP" | "SCTP") {
                let k = key(
                    fl["src_ip"].as_str().unwrap(),
                    fl["src_port"].as_u64().unwrap_or(0),
                    fl["dest_ip"].as_str().unwrap(),
                    fl["dest_port"].as_u64().unwrap_or(0),
                    proto,
                );
                let same_address = norm_eq(
                    fl["src_ip"].as_str().unwrap(),
                    fl["dest_ip"].as_str().unwrap(),
                );
                if same_address {
                    // Both endpoints on one address (loopback): the spec orders
                    // by port number; Suricata 7 compares the ports in host byte
                    // order, so on little-endian machines it may not swap. netsec
                    // must give the specification's value.
                    same_address_flows += 1;
                    let spec = spec_community_id(
                        fl["src_ip"].as_str().unwrap(),
                        fl["src_port"].as_u64().unwrap() as u16,
                        fl["dest_ip"].as_str().unwrap(),
                        fl["dest_port"].as_u64().unwrap() as u16,
                        proto,
                    );
                    if spec != cid {
                        suricata_differs += 1;
                    }
                    match ours.get(&k) {
                        Some(ids) if ids.contains(&spec) => {}
                        other => mismatches.push(format!(
                            "{name} {k:?} (one address): specification {spec}, netsec {other:?}"
                        )),
                    }
                    continue;
                }
                match ours.get(&k) {
                    Some(ids) if ids.contains(&cid) => {}
                    Some(ids) => {
                        mismatches.push(format!("{name} {k:?}: suricata {cid}, netsec {ids:?}"))
                    }
                    None => mismatches.push(format!("{name} {k:?}: no netsec flow")),
                }
            } else if !all_ours.contains(&cid) {
                // ICMP flows are keyed on type/code pairs; compare by id alone.
                mismatches.push(format!(
                    "{name} {proto} {}→{}: suricata {cid} not among netsec's",
                    fl["src_ip"], fl["dest_ip"]
                ));
            }
        }
    }
    // Nine flows have both endpoints on one address; on six of them Suricata's
    // byte-order slip gives another value than the specification (on the
    // other three its port order happens to agree).
    assert_eq!(
        same_address_flows, 9,
        "flows with both endpoints on one address"
    );
    assert_eq!(
        suricata_differs, 6,
        "of them, where Suricata differs from the spec"
    );
    assert_eq!(compared, 288, "flows compared");
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
