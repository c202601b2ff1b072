#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec contain` end to end on the labelled captures (testdata/detect,
//! recorded with real tools; labels.toml names each capture's attackers),
//! each merged with an office's benign traffic:
//!
//! - every attack capture gets a block (rule, MAC or domain), every
//!   malicious conversation is stopped, and no conversation is stopped
//!   unless one of its ends is a labelled attacker or an outside server
//!   an attacker talked to;
//! - ordinary traffic alone gets no rule;
//! - the nftables and iptables renderings are accepted by `nft -c` and
//!   `iptables-restore --test` (as root with the tools installed; .ci/run
//!   installs them; elsewhere those checks are skipped with a message).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn capture(name: &str) -> PathBuf {
    let dir = root().join("testdata/detect");
    let plain = dir.join(format!("{name}.pcap"));
    if plain.exists() {
        plain
    } else {
        dir.join(format!("{name}.pcap.zst"))
    }
}

fn netsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output()
        .expect("run netsec")
}

struct Label {
    name: String,
    tp: bool,
    attackers: BTreeSet<String>,
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(root().join("testdata/detect/labels.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    doc["capture"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Label {
            name: c["name"].as_str().unwrap().to_string(),
            tp: c["label"].as_str() == Some("tp"),
            attackers: c["attackers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

fn report(args: &[&str]) -> Value {
    let out = netsec(args);
    assert!(
        out.status.code() == Some(0),
        "netsec {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn conversations(rule: &Value, list: &str) -> Vec<(String, String)> {
    rule[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"]["client"].as_str().unwrap().to_string(),
                c["key"]["server"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn is_home(ip: &str) -> bool {
    ip.starts_with("10.")
}

#[test]
fn every_attack_is_contained_and_only_attack_traffic_is_cut() {
    let office = capture("benign-office");
    let office = office.to_str().unwrap();
    for label in labels().iter().filter(|l| l.tp) {
        let path = capture(&label.name);
        let plan = report(&[
            "contain",
            path.to_str().unwrap(),
            office,
            "--format",
            "json",
            "--verify",
            "--min-severity",
            "low",
            "--threads",
            "1",
        ]);
        let p = &plan["plan"];
        let blocks = p["rules"].as_array().unwrap().len()
            + p["domains"].as_array().unwrap().len()
            + p["macs"].as_array().unwrap().len();
        assert!(
            blocks > 0,
            "{}: nothing blocked: {}",
            label.name,
            p["skipped"]
        );
        let v = &plan["verification"];
        assert_eq!(
            v["malicious_passed"].as_array().unwrap().len(),
            0,
            "{}: {v}",
            label.name
        );
        // The attack side: labelled attackers, and the outside servers they
        // reached in the conversations the plan calls malicious. In the
        // reflection attack the attacker's packets carry the victim's
        // address: the victim-to-reflector conversation is the attack.
        let mut attack_side = label.attackers.clone();
        if label.name == "amp-dns" {
            attack_side.insert("10.250.0.30".to_string());
        }
        for rule in p["rules"].as_array().unwrap() {
            for (client, server) in conversations(rule, "stops") {
                if label.attackers.contains(&client) && !is_home(&server) {
                    attack_side.insert(server);
                }
            }
        }
        for rule in p["rules"].as_array().unwrap() {
            for list in ["stops", "also_stops"] {
                for (client, server) in conversations(rule, list) {
                    assert!(
                        attack_side.contains(&client) || attack_side.contains(&server),
                        "{}: {} {} stops {client} -> {server}, which involves no attacker ({:?})",
                        label.name,
                        rule["id"],
                        rule["matcher"],
                        attack_side
                    );
                }
            }
        }
        for mac in p["macs"].as_array().unwrap() {
            assert!(
                label.attackers.contains(mac["mac"].as_str().unwrap()),
                "{}: blocks MAC {mac}",
                label.name
            );
        }
    }
}

#[test]
fn ordinary_traffic_gets_no_rule() {
    for name in ["benign", "benign-office"] {
        let path = capture(name);
        let plan = report(&["contain", path.to_str().unwrap(), "--format", "json"]);
        let p = &plan["plan"];
        assert_eq!(p["rules"].as_array().unwrap().len(), 0, "{name}: {p}");
        assert_eq!(p["macs"].as_array().unwrap().len(), 0, "{name}: {p}");
        assert_eq!(p["domains"].as_array().unwrap().len(), 0, "{name}: {p}");
    }
}

#[test]
fn a_scan_is_one_rule_on_the_scanner_and_the_text_report_says_why() {
    let scan = capture("scan-syn");
    let office = capture("benign-office");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.nft");
    let rollback = dir.path().join("rollback.sh");
    let out = netsec(&[
        "contain",
        scan.to_str().unwrap(),
        office.to_str().unwrap(),
        "-o",
        rules.to_str().unwrap(),
        "--rollback",
        rollback.to_str().unwrap(),
        "--verify",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("netsec-1  drop 10.250.0.10 → any"), "{text}");
    assert!(
        text.contains("for: tcp_port_scan:10.250.0.10->10.250.0.20"),
        "{text}"
    );
    assert!(
        text.contains("stops 200 malicious conversation(s)"),
        "{text}"
    );
    assert!(text.contains("stops no benign conversation"), "{text}");
    assert!(text.contains("passed 0; benign blocked 0"), "{text}");
    let nft = std::fs::read_to_string(&rules).unwrap();
    assert!(nft.contains("10.250.0.10 timeout 86400s comment \"netsec-1: tcp_port_scan:10.250.0.10->10.250.0.20 [T1046]\""), "{nft}");
    assert_eq!(
        std::fs::read_to_string(&rollback).unwrap(),
        "nft delete table inet netsec_contain\n"
    );
}

#[test]
fn a_critical_asset_flags_the_rule_and_offers_a_narrower_one() {
    // The scanner is the admins' jump host: blocking it whole would cut
    // them off, so the plan flags the rule and offers one that blocks it
    // only towards the host it scanned.
    let scan = capture("scan-syn");
    let office = capture("benign-office");
    let dir = tempfile::tempdir().unwrap();
    let assets = dir.path().join("assets.toml");
    std::fs::write(
        &assets,
        "[[asset]]\nname = \"jumphost\"\naddresses = [\"10.250.0.10\"]\nowner = \"it-ops\"\ncriticality = \"high\"\n",
    )
    .unwrap();
    let plan = report(&[
        "contain",
        scan.to_str().unwrap(),
        office.to_str().unwrap(),
        "--format",
        "json",
        "--assets",
        assets.to_str().unwrap(),
    ]);
    let rules = plan["plan"]["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        1,
        "{}",
        serde_json::to_string_pretty(rules).unwrap()
    );
    let risk = &rules[0]["risk"];
    assert_eq!(risk["cuts_critical"], true, "{risk}");
    assert_eq!(risk["assets"][0]["name"], "jumphost");
    assert_eq!(risk["assets"][0]["blocks_asset_address"], true);
    let alt = &risk["alternative"];
    assert_eq!(alt["cuts_critical"], false, "{alt}");
    assert_eq!(alt["benign_flows"], 0, "{alt}");
    assert_eq!(alt["rules"].as_array().unwrap().len(), 1, "{alt}");
    assert_eq!(alt["rules"][0]["src"], "10.250.0.10/32", "{alt}");
    assert_eq!(alt["rules"][0]["dst"], "10.250.0.20/32", "{alt}");
    // The same without the asset: no flag.
    let plain = report(&[
        "contain",
        scan.to_str().unwrap(),
        office.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(plain["plan"]["rules"][0]["risk"]["cuts_critical"], false);
}

fn root_with(tool: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !(root && found) {
        eprintln!("skipping the {tool} check: needs root and {tool} installed");
    }
    root && found
}

fn check_with(tool: &str, args: &[&str], config: &str, what: &str) {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(config.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{tool} rejects the rules for {what}: {}\n{config}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn real_firewalls_accept_the_rules_for_every_attack() {
    let nft = root_with("nft");
    let ipt = root_with("iptables-restore");
    if !nft && !ipt {
        return;
    }
    let office = capture("benign-office");
    for label in labels().iter().filter(|l| l.tp) {
        let path = capture(&label.name);
        for (target, check) in [("nftables", nft), ("iptables", ipt), ("ip6tables", ipt)] {
            if !check {
                continue;
            }
            let out = netsec(&[
                "contain",
                path.to_str().unwrap(),
                office.to_str().unwrap(),
                "--min-severity",
                "low",
                "--target",
                target,
                "--threads",
                "1",
            ]);
            assert_eq!(out.status.code(), Some(0), "{}", label.name);
            let config = String::from_utf8(out.stdout).unwrap();
            let what = format!("{} ({target})", label.name);
            match target {
                "nftables" => check_with("nft", &["-c", "-f", "-"], &config, &what),
                "iptables" => {
                    check_with("iptables-restore", &["--test", "--noflush"], &config, &what)
                }
                _ => check_with(
                    "ip6tables-restore",
                    &["--test", "--noflush"],
                    &config,
                    &what,
                ),
            }
        }
    }
}

#[test]
fn k8s_isolation_keeps_the_needed_connections_and_denies_the_c2() {
    // The office workstation .30 (pod corp/desk) is said to beacon to
    // 203.0.113.68 (a finding written by hand over the real office
    // capture): isolate it, keeping its DNS to the dns pod and its other
    // web traffic, denying everything to the C2.
    let office = capture("benign-office");
    let cluster = root().join("testdata/contain/cluster.yaml");
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings.jsonl");
    let finding = serde_json::json!({
        "kind": "beacon", "title": "desk beacons", "category": "command_and_control",
        "severity": "high", "confidence": 0.9, "mitre": ["T1071"],
        "entities": [
            {"role": "source", "type": "host", "ip": "10.250.0.30"},
            {"role": "related", "type": "host", "ip": "203.0.113.68"}
        ],
        "time": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:01Z"},
        "evidence": {"summary": "hand-written", "measurements": [], "flows": []},
        "producer": "test"
    });
    std::fs::write(&findings, format!("{finding}\n")).unwrap();
    let out = netsec(&[
        "contain",
        office.to_str().unwrap(),
        "--findings",
        findings.to_str().unwrap(),
        "--target",
        "k8s",
        "--cluster",
        cluster.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &report["rendered"];
    let notes: Vec<&str> = r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("isolates corp/desk[Pod]")),
        "{notes:?}"
    );
    assert!(
        !notes
            .iter()
            .any(|n| n.starts_with("STILL ALLOWED") || n.starts_with("CUT")),
        "{notes:?}"
    );
    let yaml = r["config"].as_str().unwrap();
    assert!(yaml.contains("name: desk-netsec-isolate"), "{yaml}");
    // DNS to the dns pod is kept, the C2 is not among the allowed peers.
    assert!(yaml.contains("app: dns"), "{yaml}");
    assert!(yaml.contains("203.0.113.60/32"), "{yaml}");
    assert!(!yaml.contains("cidr: 203.0.113.68/32"), "{yaml}");
    // The manifests load back into the k8s analyser: desk may still reach
    // dns on 53/UDP, and nothing on the C2.
    let policy = dir.path().join("isolate.yaml");
    std::fs::write(&policy, yaml).unwrap();
    let listed = netsec(&[
        "k8s",
        "list",
        cluster.to_str().unwrap(),
        policy.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("corp/desk[Pod] => corp/dns[Pod] : UDP 53"),
        "{text}"
    );
    assert!(
        !text.contains("corp/desk[Pod] => 0.0.0.0-255.255.255.255"),
        "{text}"
    );
}

#[test]
fn the_recorded_kill_chain_is_contained_by_two_rules() {
    // testdata/killchain (scripts/record-killchain.sh): an outside attacker
    // sweeps, guesses SSH passwords, logs in, hops inside; the inside host
    // then beacons to and uploads to an outside C2.
    let capture = root().join("testdata/killchain/killchain.pcap");
    let config = root().join("testdata/killchain/netsec.toml");
    let plan = report(&[
        "contain",
        capture.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--verify",
        "--threads",
        "1",
    ]);
    let rules: Vec<String> = plan["plan"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["matcher"]["src"]
                .as_str()
                .or(r["matcher"]["dst"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        rules,
        vec!["203.0.113.66/32", "198.51.100.77/32"],
        "{}",
        plan["plan"]["rules"]
    );
    let v = &plan["verification"];
    assert_eq!(v["malicious_passed"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["benign_blocked"][0], 0, "{v}");
}
