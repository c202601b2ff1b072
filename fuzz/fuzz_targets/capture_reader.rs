//! Any bytes as a capture file: the reader must return packets or errors, never panic,
//! and stop after an error. The first byte picks how many bytes each read of the input
//! hands out (0: all at once; 1-255: a pipe trickling), so refills and partial blocks
//! are exercised, not only whole buffers.
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

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let step = if step == 0 { usize::MAX } else { usize::from(step) };
    let input = Trickle { bytes: body.to_vec(), at: 0, step };
    let Ok(mut r) = netsec_capture::CaptureReader::from_reader(Box::new(input), "fuzz") else {
        return;
    };
    // Compressed input may expand; plain input cannot yield more bytes than it holds.
    let bound = if r.compression() == netsec_capture::Compression::None {
        body.len()
    } else {
        netsec_capture::MAX_BLOCK_BYTES
    };
    let mut delivered = 0u64;
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                delivered += 1;
                assert_eq!(p.number, delivered);
                assert!(p.data.len() <= bound);
            }
            Ok(None) => break,
            Err(_) => {
                assert!(matches!(r.next_packet(), Ok(None)));
                break;
            }
        }
    }
    assert_eq!(r.stats().packets, delivered);
});
