#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Reader throughput: testdata/sample.pcap replicated in memory to ~16 MB
//! and read packet by packet.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_capture::CaptureReader;

fn bench(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.pcap");
    let sample = std::fs::read(path).expect("testdata/sample.pcap");
    // One pcap header, then the sample's records over and over.
    let (header, records) = sample.split_at(24);
    let mut big = header.to_vec();
    while big.len() < 16 << 20 {
        big.extend_from_slice(records);
    }
    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("pcap_16MB", |b| {
        b.iter(|| {
            let mut r =
                CaptureReader::from_reader(Box::new(std::io::Cursor::new(big.clone())), "bench")
                    .expect("open");
            let mut n = 0u64;
            while let Ok(Some(p)) = r.next_packet() {
                n += p.data.len() as u64;
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
