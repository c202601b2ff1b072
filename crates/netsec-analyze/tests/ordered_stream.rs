#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The detection stage sees one stream, in capture order, identical for any
//! number of threads and either threaded shape (files read by every thread,
//! or a stream read once and handed to workers): a recording analyser logs
//! every call it receives over the Suricata regression captures merged with
//! a many-host scan and flood written here, and the logs, summaries and
//! findings are compared.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netsec_analyze::{Analysis, Input, Summary};
use netsec_model::{
    Analyzer, AppEvent, ArpInfo, Comparison, EntityRole, EntityValue, Finding, FindingCategory,
    FindingSink, FlowRecord, PacketInfo, Severity, TimeRange, Timestamp,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Logs every call, and reports sources that reach many (host, port)s,
/// updating the finding as the count doubles.
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    reached: BTreeMap<IpAddr, BTreeSet<(IpAddr, u16)>>,
    first_seen: BTreeMap<IpAddr, Timestamp>,
    reported_at: BTreeMap<IpAddr, usize>,
}

impl Recorder {
    fn new(log: Arc<Mutex<Vec<String>>>) -> Self {
        Recorder {
            log,
            reached: BTreeMap::new(),
            first_seen: BTreeMap::new(),
            reported_at: BTreeMap::new(),
        }
    }

    fn line(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
}

impl Analyzer for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn on_packet(&mut self, p: &PacketInfo, out: &mut dyn FindingSink) {
        self.line(format!(
            "packet {} {} {:?}",
            p.number,
            p.ts,
            p.ip.map(|ip| (ip.src, ip.dst, ip.src_port, ip.dst_port))
        ));
        let Some(ip) = p.ip else { return };
        if !ip.tcp_flags.is_syn_only() {
            return;
        }
        self.first_seen.entry(ip.src).or_insert(p.ts);
        let set = self.reached.entry(ip.src).or_default();
        set.insert((ip.dst, ip.dst_port));
        let n = set.len();
        let last = self.reported_at.get(&ip.src).copied().unwrap_or(0);
        if n >= 50 && n >= 2 * last.max(25) {
            self.reported_at.insert(ip.src, n);
            let start = self.first_seen.get(&ip.src).copied().unwrap_or(p.ts);
            out.finding(
                Finding::new(
                    "test_fan_out",
                    format!("{} reached {n} services", ip.src),
                    FindingCategory::Reconnaissance,
                    if n >= 400 {
                        Severity::High
                    } else {
                        Severity::Low
                    },
                    0.5,
                    TimeRange { start, end: p.ts },
                    "test",
                )
                .with_id(ip.src)
                .with_entity(EntityRole::Source, EntityValue::Host { ip: ip.src })
                .with_measurement(
                    "services",
                    n as f64,
                    "",
                    Comparison::GreaterOrEqual,
                    50.0,
                ),
            );
        }
    }

    fn on_arp(&mut self, a: &ArpInfo, _out: &mut dyn FindingSink) {
        self.line(format!("arp {a:?}"));
    }

    fn on_event(&mut self, e: &AppEvent, _out: &mut dyn FindingSink) {
        let c = e.context();
        self.line(format!(
            "event {} {} {:?} {:?}",
            e.kind(),
            c.packet_number,
            c.flow_id,
            c.direction
        ));
    }

    fn on_flow_end(&mut self, f: &FlowRecord, _out: &mut dyn FindingSink) {
        self.line(format!(
            "flow {} {} {:?} {} {}",
            f.id.0,
            f.community_id,
            f.end_reason,
            f.packets(),
            f.bytes()
        ));
    }

    fn on_tick(&mut self, now: Timestamp, _out: &mut dyn FindingSink) {
        self.line(format!("tick {now}"));
    }

    fn finish(&mut self, _out: &mut dyn FindingSink) {
        self.line("finish".into());
    }
}

/// A pcap of a scan and a flood, written here: 10.9.0.5 sends SYNs to port
/// 22 of 600 hosts and to 300 ports of 10.9.1.1 over 120 s of capture time
/// (closed ports answer RST), while 1,500 spoofed sources each send one SYN
/// to 10.9.1.2:80; one packet every 20 ms.
fn scan_and_flood_pcap(path: &Path) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut t_us: u64 = 1_700_000_000_000_000;
    let mut push =
        |out: &mut Vec<u8>, src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8| {
            let frame = tcp_frame(src, dst, sport, dport, flags);
            for v in [
                (t_us / 1_000_000) as u32,
                (t_us % 1_000_000) as u32,
                frame.len() as u32,
                frame.len() as u32,
            ] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&frame);
            t_us += 20_000;
        };
    let scanner = Ipv4Addr::new(10, 9, 0, 5);
    for i in 0..1500u32 {
        if i < 600 {
            let host = Ipv4Addr::new(10, 9, 2 + (i / 250) as u8, (i % 250) as u8 + 1);
            push(&mut out, scanner, host, 40_000, 22, 0x02);
        }
        if i < 300 {
            let target = Ipv4Addr::new(10, 9, 1, 1);
            let port = 1 + i as u16;
            push(&mut out, scanner, target, 40_001, port, 0x02);
            push(&mut out, target, scanner, port, 40_001, 0x14);
        }
        let spoofed = Ipv4Addr::new(
            172,
            16 + (i / 60_000) as u8,
            (i / 250) as u8,
            (i % 250) as u8 + 1,
        );
        push(
            &mut out,
            spoofed,
            Ipv4Addr::new(10, 9, 1, 2),
            1024 + i as u16,
            80,
            0x02,
        );
    }
    std::fs::write(path, out).unwrap();
}

fn tcp_frame(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&1000u32.to_be_bytes());
    f.extend_from_slice(&(if flags & 0x10 != 0 { 1u32 } else { 0 }).to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0x72, 0x10, 0, 0, 0, 0]);
    f
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The pcap files of a testdata directory, by name.
fn pcaps_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
}

fn inputs(scan: &Path) -> Vec<PathBuf> {
    let mut files = pcaps_in("testdata/suricata-verify");
    // Fragments (every shard reassembles them, the datagram's flow keeps
    // it) and tunnels, some of them fragmented, some carrying a flow also
    // seen outside any tunnel (one flow, whatever the thread count).
    files.push(root().join("testdata/fragments.pcap"));
    files.extend(pcaps_in("crates/netsec-proto/tests/data/decode"));
    files.push(root().join("testdata/sample.pcap"));
    files.push(scan.to_path_buf());
    files
}

struct Run {
    log: Vec<String>,
    summary: serde_json::Value,
    findings: Vec<Finding>,
}

fn run(inputs: Vec<Input>, threads: usize, tiny: bool) -> Run {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut analysis = Analysis::new()
        .inputs(inputs)
        .threads(threads)
        .analyzer(Box::new(Recorder::new(Arc::clone(&log))));
    if tiny {
        analysis = analysis.table_capacity(3).findings_kept(2).top(5);
    }
    let (summary, findings) = analysis.run_with_findings().unwrap();
    let log = log.lock().unwrap().clone();
    Run {
        log,
        summary: comparable(&summary),
        findings,
    }
}

fn comparable(s: &Summary) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    if let Some(inputs) = v.get_mut("inputs").and_then(|i| i.as_array_mut()) {
        for i in inputs {
            i["path"] = serde_json::Value::Null;
        }
    }
    // Memory peaks are per thread, and depend on how flows were shared.
    v["memory"] = serde_json::Value::Null;
    v
}

fn assert_same(one: &Run, other: &Run, what: &str) {
    if one.log != other.log {
        if let Ok(dir) = std::env::var("NETSEC_DUMP") {
            std::fs::write(format!("{dir}/one.log"), one.log.join("\n")).unwrap();
            std::fs::write(format!("{dir}/other.log"), other.log.join("\n")).unwrap();
        }
        let at = one
            .log
            .iter()
            .zip(&other.log)
            .position(|(a, b)| a != b)
            .unwrap_or(one.log.len().min(other.log.len()));
        panic!(
            "{what}: streams differ at call {at} of {} / {}:\n  one: {:?}\n  {what}: {:?}",
            one.log.len(),
            other.log.len(),
            one.log
                .get(at.saturating_sub(2)..(at + 3).min(one.log.len())),
            other
                .log
                .get(at.saturating_sub(2)..(at + 3).min(other.log.len())),
        );
    }
    assert_eq!(one.summary, other.summary, "{what}: summaries differ");
    assert_eq!(one.findings, other.findings, "{what}: findings differ");
}

fn paths_as_inputs(paths: &[PathBuf]) -> Vec<Input> {
    paths.iter().map(Input::path).collect()
}

fn concatenated_as_stream(paths: &[PathBuf]) -> Vec<Input> {
    paths
        .iter()
        .map(|p| Input::reader(p.display().to_string(), std::fs::File::open(p).unwrap()))
        .collect()
}

fn check_every_shape(tiny: bool) {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.pcap");
    scan_and_flood_pcap(&scan);
    let paths = inputs(&scan);
    let one = run(paths_as_inputs(&paths), 1, tiny);
    // The stream holds every kind of call, and the scan was seen whole.
    for kind in ["packet ", "arp ", "event ", "flow ", "tick ", "finish"] {
        assert!(
            one.log.iter().any(|l| l.starts_with(kind)),
            "no {kind} call"
        );
    }
    assert!(one.log.iter().filter(|l| l.starts_with("flow ")).count() > 2000);
    let scanner = one
        .findings
        .iter()
        .find(|f| f.id == "test_fan_out:10.9.0.5")
        .expect("the scanner's finding");
    assert_eq!(scanner.evidence.measurements[0].value, 800.0);
    assert_eq!(scanner.severity, Severity::High);
    for threads in [2, 3, 7] {
        let files = run(paths_as_inputs(&paths), threads, tiny);
        assert_same(&one, &files, &format!("{threads} threads on files"));
    }
    for threads in [2, 3] {
        let stream = run(concatenated_as_stream(&paths), threads, tiny);
        assert_same(&one, &stream, &format!("{threads} threads on streams"));
    }
}

#[test]
fn one_ordered_stream_for_any_thread_count() {
    check_every_shape(false);
}

#[test]
fn tiny_summary_caps_give_the_same_results_for_any_thread_count() {
    check_every_shape(true);
}
