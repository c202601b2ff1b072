#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec analyze` end to end, on the bundled sample capture: the summary,
//! the logs, exit codes, bad inputs, batch runs, and identical results for
//! one and two threads.

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

fn sample() -> PathBuf {
    root().join("testdata/sample.pcap")
}

fn netsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output()
        .expect("run netsec")
}

fn json_summary(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn sample_summary_names_what_is_in_the_capture() {
    let out = netsec(&["analyze", "--no-progress", sample().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("512 packets"), "{text}");
    for needle in [
        "www.example.lab",
        "secure.example.lab",
        "OpenSSH_9.2p1",
        "10.252.0.20",
    ] {
        assert!(text.contains(needle), "summary lacks {needle}:\n{text}");
    }
}

#[test]
fn json_summary_and_logs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--threads",
        "1",
        "--out",
        dir.path().to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_summary(&out);
    assert_eq!(s["packets"], 512);
    let flows = sorted_lines(&dir.path().join("flows.jsonl"));
    assert_eq!(s["flows"]["total"].as_u64(), Some(flows.len() as u64));
    // Every flow line is an ECS document with a Community ID.
    for line in &flows {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["network"]["community_id"]
            .as_str()
            .unwrap_or("")
            .starts_with("1:"));
        assert!(v["source"]["ip"].is_string() && v["destination"]["ip"].is_string());
        assert!(v["event"]["start"].is_string());
    }
    let summary_file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary_file["packets"], 512);
    assert!(dir.path().join("findings.jsonl").exists());
}

/// The JSON summary of a successful run, without what differs between
/// runs of the same analysis (elapsed time, the inputs' names).
fn comparable_summary(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut summary = json_summary(out);
    summary["inputs"] = Value::Null;
    summary["elapsed_s"] = Value::Null;
    // Memory peaks are per thread, and depend on how flows were shared.
    summary["memory"] = Value::Null;
    summary
}

/// Run `netsec` with `bytes` written to its standard input.
fn netsec_reading_stdin(args: &[&str], bytes: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || pipe.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// Run `netsec analyze` on the sample with `threads`, logs into `dir`;
/// through standard input when `stdin`.
fn analyze_sample(threads: &str, dir: &Path, stdin: bool) -> Value {
    let dir = dir.to_str().unwrap();
    let sample = sample();
    let input = if stdin { "-" } else { sample.to_str().unwrap() };
    let args = [
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--threads",
        threads,
        "--out",
        dir,
        input,
    ];
    let out = if stdin {
        netsec_reading_stdin(&args, std::fs::read(&sample).unwrap())
    } else {
        netsec(&args)
    };
    comparable_summary(&out)
}

#[test]
fn sharded_workers_give_the_same_results_as_one_thread() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let d3 = tempfile::tempdir().unwrap();
    let d4 = tempfile::tempdir().unwrap();
    let s1 = analyze_sample("1", d1.path(), false);
    // Three threads on a file: each reads it and keeps the flows of its
    // third of the address-pair hash.
    let s2 = analyze_sample("3", d2.path(), false);
    // Standard input can be read once: one thread reads and shares chunks
    // of it with two workers.
    let s3 = analyze_sample("3", d3.path(), true);
    // Two threads on a file.
    let s4 = analyze_sample("2", d4.path(), false);
    assert_eq!(s1, s4, "summaries differ between 1 and 2 threads");
    assert_eq!(s1, s2, "summaries differ between 1 and 3 threads");
    assert_eq!(
        s1, s3,
        "summaries differ between 1 thread and 3 threads on stdin"
    );
    let mut kinds: Vec<String> = std::fs::read_dir(d1.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    kinds.sort();
    assert!(kinds.iter().any(|k| k == "dns.jsonl"), "{kinds:?}");
    for kind in kinds.iter().filter(|k| *k != "summary.json") {
        let one = sorted_lines(&d1.path().join(kind));
        assert!(
            !one.is_empty() || kind == "findings.jsonl",
            "{kind} is empty"
        );
        assert_eq!(
            one,
            sorted_lines(&d2.path().join(kind)),
            "{kind} differs between 1 and 3 threads"
        );
        assert_eq!(
            one,
            sorted_lines(&d3.path().join(kind)),
            "{kind} differs between 1 thread and 3 threads on stdin"
        );
        assert_eq!(
            one,
            sorted_lines(&d4.path().join(kind)),
            "{kind} differs between 1 and 2 threads"
        );
    }
}

/// Summary and logs of a merged analysis of `inputs` with `threads`.
fn analyze_merged(threads: &str, dir: &Path, inputs: &[PathBuf]) -> Value {
    let mut args = vec![
        "analyze".to_string(),
        "--no-progress".into(),
        "--format".into(),
        "json".into(),
        "--threads".into(),
        threads.into(),
        "--out".into(),
        dir.to_str().unwrap().into(),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    comparable_summary(&netsec(&args))
}

#[test]
fn threads_reading_many_hosts_give_the_same_results_as_one() {
    // The Suricata regression captures, merged: many address pairs, so
    // every thread's share of the hash holds flows (the sample has one pair).
    let inputs = vec![root().join("testdata/suricata-verify"), sample()];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let one = analyze_merged("1", dirs[0].path(), &inputs);
    assert!(
        one["flows"]["total"].as_u64().unwrap() > 100,
        "{}",
        one["flows"]
    );
    for (threads, dir) in [("2", &dirs[1]), ("4", &dirs[2])] {
        assert_eq!(
            one,
            analyze_merged(threads, dir.path(), &inputs),
            "{threads} threads"
        );
        for kind in ["flows.jsonl", "dns.jsonl", "http.jsonl", "tls.jsonl"] {
            assert_eq!(
                sorted_lines(&dirs[0].path().join(kind)),
                sorted_lines(&dir.path().join(kind)),
                "{kind} with {threads} threads"
            );
        }
    }
}

/// One pcap (Ethernet, microseconds) holding the Ethernet packets of the
/// Suricata captures and the sample, in that order: many address pairs in
/// one input, for standard input.
fn many_hosts_pcap(path: &Path) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("testdata/suricata-verify"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files.push(sample());
    for f in files {
        let mut r = netsec_capture::CaptureReader::open(&f).unwrap();
        while let Ok(Some(p)) = r.next_packet() {
            if p.link_type != netsec_model::LinkType::Ethernet {
                continue;
            }
            let (secs, nanos) = (p.ts.secs(), p.ts.subsec_nanos());
            for v in [secs as u32, nanos / 1000, p.data.len() as u32, p.orig_len] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(p.data);
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn workers_fed_from_standard_input_give_the_same_results_as_one_thread() {
    // Standard input is read once: one thread reads, workers analyse their
    // share of the flows and keep the reader's clock.
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("many.pcap");
    many_hosts_pcap(&capture);
    let (d1, d3) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = analyze_merged("1", d1.path(), std::slice::from_ref(&capture));
    assert!(
        one["flows"]["total"].as_u64().unwrap() > 100,
        "{}",
        one["flows"]
    );
    let out = netsec_reading_stdin(
        &[
            "analyze",
            "--no-progress",
            "--format",
            "json",
            "--threads",
            "3",
            "--out",
            d3.path().to_str().unwrap(),
            "-",
        ],
        std::fs::read(&capture).unwrap(),
    );
    assert_eq!(one, comparable_summary(&out));
    for kind in ["flows.jsonl", "dns.jsonl", "http.jsonl", "tls.jsonl"] {
        assert_eq!(
            sorted_lines(&d1.path().join(kind)),
            sorted_lines(&d3.path().join(kind)),
            "{kind}"
        );
    }
}

#[test]
fn missing_file_is_one_clear_error_and_exit_2() {
    let out = netsec(&["analyze", "--no-progress", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/capture.pcap"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("capture.pcap")).count(),
        1,
        "{err}"
    );
}

#[test]
fn empty_and_text_files_are_rejected_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.pcap");
    std::fs::write(&text, b"this is not a capture, just some text\n").unwrap();
    for f in [&empty, &text] {
        let out = netsec(&["analyze", "--no-progress", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", f.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(f.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
    }
}

#[test]
fn truncated_capture_keeps_whole_packets_and_warns() {
    let bytes = std::fs::read(sample()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    // Cut in the middle of the file: some packet is left half-written.
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        cut.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_summary(&out);
    let packets = s["packets"].as_u64().unwrap();
    assert!(packets > 100 && packets < 512, "{packets}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning"), "no truncation warning: {err}");
}

#[test]
fn standard_input_and_gzip_read_like_the_file() {
    let bytes = std::fs::read(sample()).unwrap();
    let out = netsec_reading_stdin(
        &["analyze", "--no-progress", "--format", "json", "-"],
        bytes.clone(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_summary(&out)["packets"], 512);

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("sample.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        gz.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_summary(&out)["packets"], 512);
}

#[test]
fn directory_batch_each_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(sample(), inputs.join("a.pcap")).unwrap();
    std::fs::copy(sample(), inputs.join("b.pcap")).unwrap();
    std::fs::write(inputs.join("readme.txt"), "not a capture").unwrap();

    let merged = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(merged.status.code(), Some(0));
    let s = json_summary(&merged);
    assert_eq!(s["packets"], 1024);
    assert_eq!(s["inputs"].as_array().map(Vec::len), Some(2));

    let logs = dir.path().join("logs");
    let each = netsec(&[
        "analyze",
        "--no-progress",
        "--each",
        "--format",
        "json",
        "--out",
        logs.to_str().unwrap(),
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(each.status.code(), Some(0));
    let docs = json_summary(&each);
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d["packets"] == 512));
    assert!(logs.join("a/flows.jsonl").exists() && logs.join("b/flows.jsonl").exists());
}

#[test]
fn dcsync_is_found_and_logged_with_its_rpc_events() {
    let dir = tempfile::tempdir().unwrap();
    let capture = sample().with_file_name("windows").join("dcsync.pcap");
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--fail-on",
        "critical",
        "--out",
        dir.path().to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "a critical finding");
    let s = json_summary(&out);
    let found = s["findings"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "dcsync")
        .unwrap_or_else(|| panic!("no dcsync: {}", s["findings"]));
    assert_eq!(found["mitre"][0], "T1003.006");
    let rpc = std::fs::read_to_string(dir.path().join("dcerpc.jsonl")).unwrap();
    assert!(
        rpc.lines()
            .any(|l| l.contains("\"operation\":\"DRSGetNCChanges\"")),
        "{rpc}"
    );
}

#[test]
fn the_sample_scan_is_found_and_fail_on_exits_1() {
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = json_summary(&out);
    let scan = s["findings"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "tcp_port_scan")
        .unwrap_or_else(|| panic!("no scan found: {}", s["findings"]));
    assert_eq!(scan["mitre"][0], "T1046");
    assert!(scan["evidence"]["summary"]
        .as_str()
        .unwrap()
        .contains("10.252.0.10"));
    let failing = netsec(&[
        "analyze",
        "--no-progress",
        "--fail-on",
        "medium",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(failing.status.code(), Some(1));
    let passing = netsec(&[
        "analyze",
        "--no-progress",
        "--fail-on",
        "critical",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(passing.status.code(), Some(0));
    // Detectors can be tuned and turned off by name (the sample's
    // self-signed HTTPS certificate is still reported, as low).
    let quiet = netsec(&[
        "analyze",
        "--no-progress",
        "--fail-on",
        "medium",
        "--set",
        "portscan.enabled=false",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(
        quiet.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
    let bad = netsec(&[
        "analyze",
        "--no-progress",
        "--set",
        "portscan.min_ports=lots",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("portscan.min_ports"));
}

#[test]
fn config_default_prints_a_loadable_file() {
    let out = netsec(&["config", "default"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("netsec.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = netsec(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0));
    std::fs::write(&file, "[portscan]\nmin_ports = \"many\"\n").unwrap();
    let check = netsec(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("min_ports") && err.contains("line 2"), "{err}");
    // The DNS detectors read the [dns] section of the same file.
    std::fs::write(
        &file,
        "[portscan]\nmin_ports = 30\n\n[dns.dga]\nmin_nxdomian = 3\n",
    )
    .unwrap();
    let check = netsec(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("min_nxdomian") && err.contains("line 5"),
        "{err}"
    );
}

#[test]
fn each_keeps_same_named_files_in_separate_log_directories() {
    // a/x.pcap and b/x.pcap must not share DIR/x/.
    let dir = tempfile::tempdir().unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::copy(sample(), dir.path().join("a/x.pcap")).unwrap();
    std::fs::copy(
        root().join("testdata/fragments.pcap"),
        dir.path().join("b/x.pcap"),
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--each",
        "--out",
        logs.to_str().unwrap(),
        dir.path().join("a/x.pcap").to_str().unwrap(),
        dir.path().join("b/x.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let summaries: Vec<Value> = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|d| {
            serde_json::from_slice(&std::fs::read(d.path().join("summary.json")).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(summaries.len(), 2, "one log directory per input");
    let mut packets: Vec<u64> = summaries
        .iter()
        .map(|s| s["packets"].as_u64().unwrap())
        .collect();
    packets.sort();
    assert_eq!(packets, [64, 512]);
}

#[test]
fn filter_restricts_the_analysis_and_bad_filter_is_exit_2() {
    let out = netsec(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--filter",
        "udp and port 53",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_summary(&out);
    assert_eq!(s["transport"]["tcp"], 0);
    assert_eq!(s["transport"]["udp"], 10);

    let bad = netsec(&[
        "analyze",
        "--filter",
        "port banana",
        sample().to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("banana"));
}

#[test]
fn no_app_layer_keeps_flows_and_drops_application_parsing() {
    let full_dir = tempfile::tempdir().unwrap();
    let bare_dir = tempfile::tempdir().unwrap();
    let run = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "analyze",
            "--no-progress",
            "--format",
            "json",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let sample = sample();
        args.push(sample.to_str().unwrap());
        let out = netsec(&args);
        assert_eq!(out.status.code(), Some(0));
        json_summary(&out)
    };
    let full = run(full_dir.path(), &[]);
    let bare = run(bare_dir.path(), &["--no-app-layer"]);
    // The same packets and flows, with every byte counted.
    for key in ["packets", "bytes", "network", "transport"] {
        assert_eq!(full[key], bare[key], "{key}");
    }
    assert_eq!(full["flows"]["total"], bare["flows"]["total"]);
    assert_eq!(
        full["flows"]["tcp_conn_states"],
        bare["flows"]["tcp_conn_states"]
    );
    assert_eq!(
        sorted_lines(&full_dir.path().join("flows.jsonl")).len(),
        sorted_lines(&bare_dir.path().join("flows.jsonl")).len()
    );
    // The full run parsed DNS, HTTP, TLS and SSH; the bare one nothing.
    assert!(full["flows"]["by_app_protocol"]["dns"].as_u64() > Some(0));
    assert_eq!(
        bare["flows"]["by_app_protocol"]
            .as_object()
            .map(|m| m.keys().collect::<Vec<_>>()),
        Some(vec![&"unknown".to_string()])
    );
    for kind in ["dns.jsonl", "http.jsonl", "tls.jsonl", "ssh.jsonl"] {
        assert!(
            !sorted_lines(&full_dir.path().join(kind)).is_empty(),
            "{kind}"
        );
        assert!(
            sorted_lines(&bare_dir.path().join(kind)).is_empty(),
            "{kind}"
        );
    }
}

/// `netsec baseline learn` writes a baseline that `--baseline` scores
/// against: the lab's two ordinary days learned, the day .10 scans and
/// uploads names .10 only; a bad baseline file is an input error naming the file.
#[test]
fn a_learned_baseline_flags_the_host_that_changed() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baseline-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let detect = root().join("testdata/detect");
    let file = dir.join("baseline.json");
    let learn = netsec(&[
        "baseline",
        "learn",
        detect.join("baseline-day1.pcap.zst").to_str().unwrap(),
        detect.join("baseline-day2.pcap.zst").to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
        "--set",
        "baseline.window_secs=10",
    ]);
    assert!(learn.status.success(), "{learn:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "netsec-baseline");
    assert_eq!(doc["hosts"].as_object().map(|h| h.len()), Some(6));
    assert_eq!(doc["sources"].as_array().map(|s| s.len()), Some(2));

    let out_dir = dir.join("out");
    let run = netsec(&[
        "analyze",
        "--no-progress",
        "--baseline",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        detect.join("baseline-anomaly.pcap.zst").to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{run:?}");
    let anomalies: Vec<String> = std::fs::read_to_string(out_dir.join("findings.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|f| f["event"]["id"].as_str().map(String::from))
        .filter(|id| id.starts_with("host_anomaly:") || id.starts_with("new_host:"))
        .collect();
    assert_eq!(anomalies, ["host_anomaly:10.250.0.10"]);

    let bad = dir.join("bad-baseline.json");
    std::fs::write(
        &bad,
        r#"{"format": "netsec-baseline", "version": 9, "hosts": {}}"#,
    )
    .unwrap();
    let refused = netsec(&[
        "analyze",
        "--baseline",
        bad.to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("bad-baseline.json") && err.contains("version 9"),
        "{err}"
    );
}
