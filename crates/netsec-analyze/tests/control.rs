#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! A run is watched and stopped from another thread: progress arrives while
//! it reads, and cancelling ends it early with a summary marked cancelled
//! that covers what was read.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use netsec_analyze::{Analysis, CancelToken, Input};

/// A pcap of `n` UDP packets between 250 host pairs, 1 ms apart.
fn udp_pcap(path: &Path, n: u32) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..n {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 1, 0, (i % 250) as u8]);
        f.extend_from_slice(&[10, 2, 0, 1]);
        f.extend_from_slice(&(5000 + (i % 7) as u16).to_be_bytes());
        f.extend_from_slice(&9999u16.to_be_bytes());
        f.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
        let (secs, usecs) = (1_700_000_000 + i / 1000, (i % 1000) * 1000);
        for v in [secs, usecs, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&f);
    }
    std::fs::write(path, out).unwrap();
}

fn cancelled_from_another_thread(threads: usize) {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("udp.pcap");
    let total = 400_000;
    udp_pcap(&capture, total);
    let token = CancelToken::new();
    let (progressed, first_progress) = mpsc::channel();
    let analysis = Analysis::new()
        .input(Input::path(&capture))
        .threads(threads)
        .progress(Arc::new(move |p| {
            let _ = progressed.send(*p);
        }))
        .cancel(token.clone());
    let run = std::thread::spawn(move || analysis.run());
    let seen = first_progress.recv().unwrap();
    assert!(seen.bytes_total > 0 && seen.bytes_read > 0 && seen.packets > 0);
    token.cancel();
    let summary = run.join().unwrap().unwrap();
    assert!(summary.cancelled, "{threads} threads");
    assert!(summary.packets > 0, "{threads} threads");
    assert!(
        summary.packets < u64::from(total),
        "{threads} threads: {} packets read after cancelling",
        summary.packets
    );
    // What was read was analysed to the end: its flows were reported.
    assert!(summary.flows.total > 0);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["cancelled"], true);
}

#[test]
fn cancel_one_thread() {
    cancelled_from_another_thread(1);
}

#[test]
fn cancel_two_threads() {
    cancelled_from_another_thread(2);
}

#[test]
fn not_cancelled_reads_everything() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("udp.pcap");
    udp_pcap(&capture, 10_000);
    let summary = Analysis::new()
        .input(Input::path(&capture))
        .threads(2)
        .run()
        .unwrap();
    assert!(!summary.cancelled);
    assert_eq!(summary.packets, 10_000);
    // Source address and port repeat together every 250 × 7 packets
    // (coprime): 1,750 distinct flows.
    assert_eq!(summary.flows.total, 1750);
}

/// Panics on the 5,000th packet it is shown.
struct Faulty(u32);

impl netsec_model::Analyzer for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn on_packet(
        &mut self,
        _p: &netsec_model::PacketInfo,
        _out: &mut dyn netsec_model::FindingSink,
    ) {
        self.0 += 1;
        if self.0 == 5000 {
            panic!("a bug in an analyser");
        }
    }
}

#[test]
fn a_failing_thread_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("udp.pcap");
    udp_pcap(&capture, 20_000);
    for threads in [1, 2, 3] {
        // In the detection stage.
        let result = Analysis::new()
            .input(Input::path(&capture))
            .threads(threads)
            .analyzer(Box::new(Faulty(0)))
            .run();
        assert!(
            matches!(result, Err(netsec_analyze::AnalysisError::ThreadFailed(_))),
            "detection stage, {threads} threads: {result:?}"
        );
        // In a shard.
        let result = Analysis::new()
            .input(Input::path(&capture))
            .threads(threads)
            .shard_analyzers(Arc::new(|| {
                vec![Box::new(Faulty(0)) as Box<dyn netsec_model::Analyzer>]
            }))
            .run();
        assert!(
            matches!(result, Err(netsec_analyze::AnalysisError::ThreadFailed(_))),
            "shard, {threads} threads: {result:?}"
        );
    }
}
