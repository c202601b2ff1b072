#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Reader throughput from memory, in packets/s and bytes/s: testdata/sample.pcap
//! (a mixed real capture) and tests/data/pcapng/le/test001.pcapng (Enhanced
//! Packet Blocks) each replicated to ~16 MiB and read packet by packet.
//! The input is shared (`Arc`), so only the reading is measured.

use std::io::Cursor;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_capture::CaptureReader;

/// `head` once, then `records` over and over until 16 MiB.
fn replicate(head: &[u8], records: &[u8]) -> Arc<[u8]> {
    let mut big = head.to_vec();
    while big.len() < 16 << 20 {
        big.extend_from_slice(records);
    }
    big.into()
}

/// Reads everything; returns (packets, captured bytes).
fn read_all(input: &Arc<[u8]>) -> (u64, u64) {
    let mut r = CaptureReader::from_reader(Box::new(Cursor::new(Arc::clone(input))), "bench")
        .expect("open");
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Ok(Some(p)) = r.next_packet() {
        n += 1;
        bytes += p.data.len() as u64;
    }
    (n, bytes)
}

fn bench(c: &mut Criterion) {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/sample.pcap"
    ))
    .expect("testdata/sample.pcap");
    // pcap: the 24-byte file header, then the records.
    let pcap = replicate(&sample[..24], &sample[24..]);
    let ng = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pcapng/le/test001.pcapng"
    ))
    .expect("test001.pcapng");
    // test001: SHB and IDB, then four EPBs; the SHB is the first block, the IDB follows.
    let shb_len = u32::from_le_bytes(ng[4..8].try_into().unwrap()) as usize;
    let idb_len = u32::from_le_bytes(ng[shb_len + 4..shb_len + 8].try_into().unwrap()) as usize;
    let pcapng = replicate(&ng[..shb_len + idb_len], &ng[shb_len + idb_len..]);

    let mut g = c.benchmark_group("read");
    g.sample_size(20);
    for (name, input) in [("pcap", &pcap), ("pcapng", &pcapng)] {
        let (packets, bytes) = read_all(input);
        g.throughput(Throughput::Elements(packets));
        g.bench_function(format!("{name}_16MiB_packets"), |b| {
            b.iter(|| read_all(input))
        });
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(format!("{name}_16MiB_bytes"), |b| {
            b.iter(|| read_all(input))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
