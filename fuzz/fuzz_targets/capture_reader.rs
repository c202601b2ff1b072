//! Any bytes as a capture file: the reader must return packets or errors, never panic,
//! and stop after an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = netsec_capture::CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), "fuzz") else {
        return;
    };
    for _ in 0..100_000 {
        match r.next_packet() {
            Ok(Some(p)) => assert!(p.data.len() <= data.len()),
            Ok(None) => break,
            Err(_) => {
                assert!(matches!(r.next_packet(), Ok(None)));
                break;
            }
        }
    }
});
