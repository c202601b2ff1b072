//! The shared vocabulary of netsec: every crate speaks these types, so a
//! detector, an exporter or the CLI never re-parses packet bytes.
//!
//! - [`packet`]: the raw frame a capture yields ([`RawPacket`]) and the decoded,
//!   allocation-free header view analysers consume ([`PacketInfo`]);
//! - [`flow`]: endpoints, the direction-free [`FlowKey`] and the [`FlowRecord`]
//!   a flow table emits;
//! - [`event`]: decoded application events (DNS, HTTP, TLS, SSH, SMB, DHCP, NTP, ARP);
//! - [`finding`]: [`Finding`] with severity, confidence, MITRE ATT&CK ids and evidence;
//! - [`analyzer`]: the streaming [`Analyzer`] / [`FindingSink`] contract;
//! - [`time`]: packet time in nanoseconds;
//! - [`ecs`]: Elastic Common Schema documents for logs.
//!
//! # Example
//!
//! A detector reports what it saw, with the numbers a responder can check:
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use netsec_model::{Comparison, EntityRole, Finding, FindingCategory, Severity, TimeRange, Timestamp};
//!
//! let scanner = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
//! let finding = Finding::new(
//!     "tcp_port_scan",
//!     "TCP SYN scan of 10.0.0.7",
//!     FindingCategory::Reconnaissance,
//!     Severity::Medium,
//!     0.95,
//!     TimeRange { start: Timestamp::from_secs_nanos(1_700_000_000, 0),
//!                 end: Timestamp::from_secs_nanos(1_700_000_004, 0) },
//!     "example",
//! )
//! .with_mitre(["T1046"])
//! .with_entity(EntityRole::Source, netsec_model::EntityValue::Host { ip: scanner })
//! .with_measurement("distinct_ports", 1000.0, "ports", Comparison::GreaterOrEqual, 25.0)
//! .with_summary("10.0.0.5 sent SYNs to 1000 ports of 10.0.0.7 in 4 s");
//!
//! assert_eq!(finding.evidence.measurements[0].to_string(), "distinct_ports = 1000 ports (>= 25)");
//! let json = serde_json::to_string(&finding).unwrap();
//! assert!(json.contains("\"T1046\""));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod analyzer;
pub mod dns_name;
pub mod ecs;
pub mod event;
pub mod finding;
pub mod flow;
pub mod json_text;
pub mod packet;
pub mod time;

pub use alert::{Alert, Inspector, InspectorOutput, PayloadContext};
pub use analyzer::{Analyzer, FindingSink, Interests, SharedAnalyzer};
pub use dns_name::DnsName;
pub use event::{
    AppEvent, ArpInfo, CertificateInfo, ClientHello, DceRpcContext, DceRpcEvent, DhcpEvent,
    DnsEvent, DnsFlags, DnsQueryMatch, DnsQuestion, DnsRecord, EventContext, FileEvent, HttpEvent,
    HttpHeaders, HttpHeadersIter, HttpMessage, KerberosEvent, NtpEvent, ServerHello, SmbEvent,
    SshEvent, TlsEvent, TlsMessage,
};
pub use finding::{
    Comparison, Confidence, Entity, EntityRole, EntityValue, Evidence, Finding, FindingCategory,
    Measurement, Severity,
};
pub use flow::{
    AppProto, Direction, DirectionStats, Endpoint, FlowEndReason, FlowId, FlowKey, FlowRecord,
    FlowRef, TcpState,
};
pub use packet::{IpInfo, LinkType, MacAddr, PacketInfo, RawPacket, TcpFlags, Transport};
pub use time::{Duration, TimeRange, Timestamp};

/// Append `v` in decimal, as `Display` writes it, without the formatting
/// machinery (fingerprints and DNS record data write many small numbers;
/// `write!` costs several times more).
///
/// ```
/// let mut s = String::from("port ");
/// netsec_model::push_decimal(&mut s, 8080);
/// assert_eq!(s, "port 8080");
/// ```
pub fn push_decimal(out: &mut String, v: u16) {
    let (digits, len) = decimal_digits(u64::from(v));
    for d in digits.get(..len).unwrap_or_default() {
        out.push(char::from(*d));
    }
}

/// The decimal digits of `n` in the first `len` bytes of a block (the rest
/// zero), and `len`: a fixed-size block its users copy whole and cut back.
/// The length comes from comparisons with powers of ten, the digits two at
/// a time from a table (a division by 100 per pair, where one by 10 per
/// digit, twice over, cost a hand-written flow line a sixth of its
/// instructions).
pub(crate) fn decimal_digits(n: u64) -> ([u8; 20], usize) {
    let len = decimal_len(n);
    let mut digits = [0u8; 20];
    if let Some(to) = digits.get_mut(..len) {
        fill_decimal(to, n);
    }
    (digits, len)
}

/// Append `n` in decimal to `out`, written in place: the block of zeros
/// stored first, then the digits over it, so that nothing is read back
/// from a block just written in smaller pieces (a copy of such a block out
/// of the stack waits for the pieces: most of a flow line's numbers' time).
pub(crate) fn push_decimal_bytes(out: &mut Vec<u8>, n: u64) {
    let start = out.len();
    out.extend_from_slice(&[b'0'; 20]);
    out.truncate(start + decimal_len(n));
    if let Some(to) = out.get_mut(start..) {
        fill_decimal(to, n);
    }
}

/// Digits `n` has in decimal: comparisons with powers of ten.
fn decimal_len(n: u64) -> usize {
    1 + POWERS_OF_TEN.iter().take_while(|&&p| n >= p).count()
}

/// Write the last `to.len()` decimal digits of `n` into `to`, with leading
/// zeros when `n` has fewer: two at a time from a table, from the end.
pub(crate) fn fill_decimal(to: &mut [u8], n: u64) {
    let mut rest = n;
    let mut end = to.len();
    while end >= 2 {
        let pair = DIGIT_PAIRS
            .get((rest % 100) as usize)
            .copied()
            .unwrap_or([b'0'; 2]);
        if let Some(at) = to.get_mut(end - 2..end) {
            at.copy_from_slice(&pair);
        }
        rest /= 100;
        end -= 2;
    }
    if end == 1 {
        if let Some(first) = to.first_mut() {
            *first = b'0' + (rest % 10) as u8;
        }
    }
}

/// 10, 100, … 10^19: a number at or past the k-th has more than k digits.
const POWERS_OF_TEN: [u64; 19] = {
    let mut table = [0u64; 19];
    let mut p = 10u64;
    let mut i = 0;
    while i < 19 {
        table[i] = p;
        p = p.wrapping_mul(10);
        i += 1;
    }
    table
};

/// The two decimal digits of 0 to 99.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut table = [[0u8; 2]; 100];
    let mut v = 0;
    while v < 100 {
        table[v] = [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
        v += 1;
    }
    table
};

/// Lower-case hexadecimal of `bytes` (digests, fingerprints).
///
/// ```
/// assert_eq!(netsec_model::hex_lower(&[0x00, 0xab, 0xff]), "00abff");
/// ```
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Bytes first (a `char` pushed onto a `String` is UTF-8 encoded one at
    // a time: a digest of every HTTP body spent more there than in MD5).
    // Written in place (no capacity check a digit).
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        if let [high, low] = pair {
            *high = DIGITS[usize::from(b >> 4)];
            *low = DIGITS[usize::from(b & 0xf)];
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::decimal_digits;

    /// The digits as `Display` writes them, the rest of the block zero.
    fn check(n: u64) {
        let (digits, len) = decimal_digits(n);
        let text = n.to_string();
        assert_eq!(len, text.len(), "{n}");
        assert_eq!(&digits[..len], text.as_bytes(), "{n}");
        assert!(digits[len..].iter().all(|&b| b == 0), "{n}");
    }

    #[test]
    fn decimal_bytes_are_appended_as_display_writes_them() {
        let mut out = b"x".to_vec();
        for n in [0, 7, 10, 99, 100, 65_535, 999_999_999, u64::MAX] {
            super::push_decimal_bytes(&mut out, n);
            out.push(b',');
        }
        assert_eq!(
            out,
            b"x0,7,10,99,100,65535,999999999,18446744073709551615,".to_vec()
        );
        let mut padded = [b'x'; 9];
        super::fill_decimal(&mut padded, 4_020);
        assert_eq!(&padded, b"000004020");
    }

    #[test]
    fn decimal_digits_match_display_at_every_length_and_edge() {
        for n in 0..=1_000 {
            check(n);
        }
        let mut p = 1u64;
        for _ in 0..19 {
            p *= 10;
            for n in [p - 1, p, p + 1, p + 99, p.saturating_mul(2) - 1] {
                check(n);
            }
        }
        for n in [
            u64::MAX,
            u64::MAX - 1,
            12_345_678_901_234_567_890,
            65_535,
            4_294_967_295,
        ] {
            check(n);
        }
    }
}
