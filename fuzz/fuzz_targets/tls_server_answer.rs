//! Any bytes as a server's answer to the active auditor's ClientHello:
//! records, a ServerHello, the certificate chain after it. A hostile
//! server must not crash the auditor.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_tls::active::hello::{certificate_chain, read_answer, Answer};

fuzz_target!(|data: &[u8]| {
    let mut stream = data;
    if let Answer::Hello { rest, .. } = read_answer(&mut stream) {
        let chain = certificate_chain(rest, &mut stream);
        for der in chain.iter().take(4) {
            let _ = netsec_tls::certificate::parse(der);
        }
    }
});
