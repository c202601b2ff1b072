#![allow(clippy::panic)]

//! The proof of issue 15 on a recorded attack (`testdata/killchain/`, made by
//! `scripts/record-killchain.sh`): `netsec timeline` puts the six stages in
//! order in one incident, and `netsec ioc` exports exactly the attacker-side
//! indicators of the hand-written `expected.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/killchain")
}

/// Run netsec; it must succeed.
fn netsec(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output();
    match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => panic!(
            "netsec {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("netsec did not run: {e}"),
    }
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(testdata().join("expected.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn capture() -> String {
    testdata().join("killchain.pcap").display().to_string()
}

fn config() -> String {
    testdata().join("netsec.toml").display().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

#[test]
fn the_timeline_orders_and_links_the_six_stages_into_one_incident() {
    let expected = expected();
    let timeline = json_of(&netsec(&[
        "timeline",
        "--format",
        "json",
        "--config",
        &config(),
        &capture(),
    ]));
    let incidents = timeline["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let stages = expected["stages"].as_array().cloned().unwrap_or_default();
    assert_eq!(stages.len(), 6);
    // the incident with the attacker's first step holds every stage
    let incident = incidents
        .iter()
        .find(|i| strings(&i["hosts"]).contains(&"203.0.113.66".to_string()));
    let Some(incident) = incident else {
        panic!("no incident with the attacker: {timeline:#}");
    };
    let steps = incident["steps"].as_array().cloned().unwrap_or_default();
    let mut last_index = None;
    for stage in &stages {
        let phase = stage["phase"].as_str().unwrap_or_default();
        let actor = stage["actor"].as_str().unwrap_or_default().to_string();
        let target = stage["target"].as_str().map(String::from);
        let found = steps.iter().position(|s| {
            s["phase"] == phase
                && strings(&s["actors"]).contains(&actor)
                && target.as_ref().is_none_or(|t| {
                    strings(&s["targets"]).contains(t) || strings(&s["related"]).contains(t)
                })
        });
        let Some(index) = found else {
            panic!(
                "stage {} not found in {:#}",
                stage["stage"], incident["narrative"]
            );
        };
        assert!(
            last_index.is_none_or(|l| index > l),
            "stage {} at step {index} comes before the one it follows: {:#}",
            stage["stage"],
            incident["narrative"]
        );
        last_index = Some(index);
    }
    // every step but the first follows from an earlier one
    let links = incident["links"].as_array().map_or(0, Vec::len);
    assert_eq!(links, steps.len() - 1, "{:#}", incident["links"]);
    // the lookup, the connection to its answer and the request inside, linked
    let session = &expected["session"];
    let linked = incident["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|g| {
            g["client"] == session["client"]
                && g["lookup"] == session["lookup"]
                && g["server"] == session["server"]
                && g["port"] == session["port"]
                && g["requests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r[0] == session["request"])
        });
    assert!(linked, "{:#}", incident["sessions"]);
    // the narrative starts with the attacker's sweep
    let first = incident["narrative"][0].as_str().unwrap_or_default();
    assert!(first.starts_with("203.0.113.66 scanned"), "{first}");
    // and the same story whatever the number of threads
    for threads in ["1", "3"] {
        let again = json_of(&netsec(&[
            "timeline",
            "--format",
            "json",
            "--threads",
            threads,
            "--config",
            &config(),
            &capture(),
        ]));
        assert_eq!(again, timeline, "the timeline differs at {threads} threads");
    }
}

fn indicator_keys(set: &Value) -> BTreeSet<String> {
    set["indicators"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}:{}",
                i["kind"].as_str().unwrap_or_default(),
                i["value"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn the_ioc_export_holds_exactly_the_attacker_side_indicators() {
    let want: BTreeSet<String> = strings(&expected()["indicators"]).into_iter().collect();
    let one = json_of(&netsec(&[
        "ioc",
        "--format",
        "json",
        "--threads",
        "1",
        "--config",
        &config(),
        &capture(),
    ]));
    assert_eq!(indicator_keys(&one), want);
    let three = json_of(&netsec(&[
        "ioc",
        "--format",
        "json",
        "--threads",
        "3",
        "--config",
        &config(),
        &capture(),
    ]));
    assert_eq!(one, three, "the export depends on the number of threads");
    // the C2 name carries the beacon's findings through the address it resolved to
    let domain = one["indicators"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["value"] == "updates.c2-relay.example");
    let phases = domain.map(|d| strings(&d["kill_chain_phases"]));
    assert_eq!(
        phases,
        Some(vec![
            "command-and-control".to_string(),
            "exfiltration".to_string()
        ])
    );
    // the STIX bundle, kept for scripts/stix-validate.sh
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix-bundles");
    let _ = std::fs::create_dir_all(&dir);
    let bundle_path = dir.join("killchain.json");
    netsec(&[
        "ioc",
        "--format",
        "stix",
        "--config",
        &config(),
        "-o",
        &bundle_path.display().to_string(),
        &capture(),
    ]);
    let bundle: Value = std::fs::read_to_string(&bundle_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let patterns: BTreeSet<String> = bundle["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["pattern"].as_str().map(String::from))
        .collect();
    assert_eq!(patterns.len(), want.len());
    assert!(patterns.contains("[domain-name:value = 'updates.c2-relay.example']"));
    for format in ["csv", "misp"] {
        let out = netsec(&["ioc", "--format", format, "--config", &config(), &capture()]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("updates.c2-relay.example"));
    }
}

#[test]
fn saved_findings_give_the_indicators_the_findings_name_and_the_same_story() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("killchain-out");
    let _ = std::fs::remove_dir_all(&dir);
    netsec(&[
        "analyze",
        "--no-progress",
        "--config",
        &config(),
        "--out",
        &dir.display().to_string(),
        &capture(),
    ]);
    let findings = dir.join("findings.jsonl").display().to_string();
    let set = json_of(&netsec(&["ioc", "--format", "json", "--from", &findings]));
    // the findings name the attacker, the C2 address and, by the DNS
    // beacon of .20's lookups before each curl, the name it asked
    let want: BTreeSet<String> = [
        "ipv4:203.0.113.66",
        "ipv4:198.51.100.77",
        "domain:updates.c2-relay.example",
    ]
    .map(String::from)
    .into();
    assert_eq!(indicator_keys(&set), want);
    let timeline = json_of(&netsec(&[
        "timeline",
        "--format",
        "json",
        "--config",
        &config(),
        "--from",
        &findings,
    ]));
    let incidents = timeline["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let phases: Vec<String> = incidents
        .iter()
        .find(|i| strings(&i["hosts"]).contains(&"203.0.113.66".to_string()))
        .map(|i| strings(&i["phases"]))
        .unwrap_or_default();
    // without the traffic the hop from 10.77.0.10 to 10.77.0.20 is not known
    // (no detector reports a single hop); the beacon still joins the
    // attacker's steps, through the scan of 10.77.0.20 that preceded it
    assert_eq!(
        phases,
        [
            "reconnaissance",
            "credential-access",
            "initial-access",
            "command-and-control",
            "exfiltration"
        ]
    );
}

#[test]
fn an_unreadable_capture_is_an_error_not_an_empty_timeline() {
    for command in ["timeline", "ioc"] {
        let out = Command::new(env!("CARGO_BIN_EXE_netsec"))
            .args([command, "/nonexistent/capture.pcap"])
            .output()
            .ok();
        let code = out.as_ref().and_then(|o| o.status.code());
        assert_eq!(code, Some(2), "{command}");
        let stderr = out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned());
        assert!(stderr.is_some_and(|e| e.contains("/nonexistent/capture.pcap")));
    }
}

#[test]
fn the_html_report_is_one_self_contained_page() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("killchain-report.html");
    let out = netsec(&[
        "timeline",
        "--config",
        &config(),
        "--html",
        &path.display().to_string(),
        &capture(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("incident-1"), "{text}");
    let page = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("id=\"timeline-svg\"") && page.contains("id=\"graph-svg\""));
    assert!(page.contains("updates.c2-relay.example"));
    // the findings' evidence: measurements against thresholds, and flows by Community ID
    assert!(
        page.contains("attempts = 19 short sessions (&gt;= 10)")
            || page.contains("short sessions (&gt;= 10)")
    );
    assert!(page.contains("tcp 203.0.113.66:") && page.contains(" 1:"));
    for fetch in [
        "src=\"http",
        "href=\"http",
        "<link",
        "<script",
        "@import",
        "url(http",
    ] {
        assert!(!page.contains(fetch), "the page fetches something: {fetch}");
    }
}
