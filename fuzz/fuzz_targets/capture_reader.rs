//! Any bytes as a capture file: the reader must return packets or errors, never panic,
//! and stop after an error. The first byte picks how many bytes each read of the input
//! hands out (0: all at once; 1-255: a pipe trickling), so refills and partial blocks
//! are exercised, not only whole buffers. The same input is then read again with the
//! read-ahead thread (`CaptureReader::read_ahead`), which must deliver exactly the same
//! packets and the same error.
#![no_main]
use std::io::Read;

use libfuzzer_sys::fuzz_target;

struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Packets (number, time, length, bytes) and the error that ended the input.
type Delivered = (Vec<(u64, i64, u32, Vec<u8>)>, Option<String>);

fn read_all(body: &[u8], step: usize, ahead: bool) -> Option<Delivered> {
    let input = Trickle { bytes: body.to_vec(), at: 0, step };
    let mut r = netsec_capture::CaptureReader::from_reader(Box::new(input), "fuzz").ok()?;
    if ahead {
        r.read_ahead();
    }
    // Compressed input may expand; plain input cannot yield more bytes than it holds.
    let bound = if r.compression() == netsec_capture::Compression::None {
        body.len()
    } else {
        netsec_capture::MAX_BLOCK_BYTES
    };
    let mut packets = Vec::new();
    let error = loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert_eq!(p.number, packets.len() as u64 + 1);
                assert!(p.data.len() <= bound);
                packets.push((p.number, p.ts.as_nanos(), p.orig_len, p.data.to_vec()));
            }
            Ok(None) => break None,
            Err(e) => {
                assert!(matches!(r.next_packet(), Ok(None)));
                break Some(e.to_string());
            }
        }
    };
    assert_eq!(r.stats().packets, packets.len() as u64);
    Some((packets, error))
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let step = if step == 0 { usize::MAX } else { usize::from(step) };
    let direct = read_all(body, step, false);
    let ahead = read_all(body, step, true);
    assert_eq!(direct, ahead, "read-ahead differs from reading directly");
});
