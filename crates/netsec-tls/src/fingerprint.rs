//! JA3, JA3S, JA4, JA4S and JA4X.
//!
//! - JA3 (github.com/salesforce/ja3): `SSLVersion,Ciphers,Extensions,
//!   EllipticCurves,EllipticCurvePointFormats`, decimal values joined by
//!   `-`, GREASE values (RFC 8701) removed from every list but the point
//!   formats; the fingerprint is the MD5 of that string. JA3S:
//!   `SSLVersion,Cipher,Extensions`.
//! - JA4 (github.com/FoxIO-LLC/ja4): `a_b_c` where `a` is the transport
//!   (`t` TCP, `q` QUIC), the highest version offered (the ClientHello's or
//!   any in supported_versions, GREASE ignored: `13`, `12`, `11`, `10`,
//!   `s3`, else `00`), `d` with an SNI extension or `i` without, the cipher
//!   and extension counts (two digits, at most 99; the extension count
//!   includes SNI and ALPN), and the first and last characters of the first
//!   ALPN value (`00` without one); `b` is the first 12 hex digits of the
//!   SHA-256 of the sorted cipher ids (4 hex digits, comma-joined); `c` the
//!   same of the sorted extension ids without SNI and ALPN, `_`, then the
//!   signature algorithms in the order sent. As in Suricata 8 (its
//!   `rust/src/ja4.rs`), empty lists hash as empty strings. JA4S:
//!   `{t|q}{version}{extension count}{alpn}_{cipher}_{sha256(extensions in
//!   order)[..12]}`.
//! - JA4X (FoxIO, `rust/ja4x/src/lib.rs` of github.com/FoxIO-LLC/ja4 @
//!   0e54bc8): `a_b_c`, the first 12 hex digits of the SHA-256 of the
//!   issuer's attribute types, of the subject's, and of the extensions'
//!   OIDs, each OID as the hex of its DER content bytes (`55040a` for
//!   organizationName), comma-joined in certificate order; an empty list is
//!   `000000000000` (unlike JA4's, which hashes the empty string).

use md5::{Digest as _, Md5};
use netsec_model::hex_lower as hex;
use netsec_model::{push_decimal, ClientHello, ServerHello};
use sha2::Sha256;

/// Whether a 16-bit value is a GREASE value (RFC 8701: `0x?a?a`, both
/// bytes alike).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Append `v` as four lower-case hex digits.
fn push_hex4(out: &mut String, v: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in [12, 8, 4, 0] {
        let nibble = usize::from((v >> shift) & 0xf);
        out.push(char::from(HEX.get(nibble).copied().unwrap_or(b'0')));
    }
}

fn join_decimal(out: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(out, v);
    }
}

fn not_grease(v: &&u16) -> bool {
    !is_grease(**v)
}

/// The JA3 string of a ClientHello.
pub fn ja3(ch: &ClientHello) -> String {
    let mut s = String::with_capacity(256);
    push_decimal(&mut s, ch.version);
    s.push(',');
    join_decimal(&mut s, ch.cipher_suites.iter().filter(not_grease).copied());
    s.push(',');
    join_decimal(&mut s, ch.extensions.iter().filter(not_grease).copied());
    s.push(',');
    join_decimal(
        &mut s,
        ch.supported_groups.iter().filter(not_grease).copied(),
    );
    s.push(',');
    join_decimal(&mut s, ch.ec_point_formats.iter().map(|p| u16::from(*p)));
    s
}

/// The JA3S string of a ServerHello.
pub fn ja3s(sh: &ServerHello) -> String {
    let mut s = String::with_capacity(64);
    push_decimal(&mut s, sh.version);
    s.push(',');
    push_decimal(&mut s, sh.cipher_suite);
    s.push(',');
    join_decimal(&mut s, sh.extensions.iter().filter(not_grease).copied());
    s
}

/// Lower-case hex MD5 of a string (the JA3 and JA3S fingerprints).
pub fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

/// JA4X of a parsed certificate.
pub fn ja4x(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    let [a, b, c] = ja4x_raw(cert);
    format!("{}_{}_{}", ja4x_hash(&a), ja4x_hash(&b), ja4x_hash(&c))
}

/// The three strings JA4X hashes (FoxIO's `ja4x_r`): issuer attribute
/// types, subject attribute types, extension OIDs.
pub fn ja4x_raw(cert: &x509_parser::certificate::X509Certificate<'_>) -> [String; 3] {
    let types = |name: &x509_parser::x509::X509Name<'_>| -> String {
        let mut out = String::new();
        for (i, attr) in name.iter_attributes().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&hex(attr.attr_type().as_bytes()));
        }
        out
    };
    let mut extensions = String::new();
    for (i, ext) in cert.extensions().iter().enumerate() {
        if i > 0 {
            extensions.push(',');
        }
        extensions.push_str(&hex(ext.oid.as_bytes()));
    }
    [types(cert.issuer()), types(cert.subject()), extensions]
}

/// JA4X's hash of one part: `000000000000` for an empty list.
fn ja4x_hash(s: &str) -> String {
    if s.is_empty() {
        "000000000000".to_string()
    } else {
        sha256_12(s)
    }
}

/// The first 12 hex digits of SHA-256 of `s`.
fn sha256_12(s: &str) -> String {
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    }
}

/// `h2` for `h2`, `h1` for `http/1.1`: the first and last characters of an
/// ALPN value; `00` when there is none (or it is one byte, or GREASE).
fn alpn_code(alpn: Option<&str>) -> [char; 2] {
    let Some(a) = alpn else { return ['0', '0'] };
    let bytes = a.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) if bytes.len() > 1 => {
            if bytes.len() == 2 && is_grease(u16::from_be_bytes([first, last])) {
                return ['0', '0'];
            }
            [char::from(first), char::from(last)]
        }
        _ => ['0', '0'],
    }
}

fn hex_list(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_hex4(&mut s, *v);
    }
    s
}

/// The JA4 fingerprint of a ClientHello (`quic`: it came in a QUIC Initial).
pub fn ja4(ch: &ClientHello, quic: bool) -> String {
    const SNI: u16 = 0x0000;
    const ALPN: u16 = 0x0010;
    let version = std::iter::once(ch.version)
        .chain(ch.supported_versions.iter().copied())
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(0);
    let mut ciphers: Vec<u16> = ch
        .cipher_suites
        .iter()
        .filter(not_grease)
        .copied()
        .collect();
    let extensions: Vec<u16> = ch.extensions.iter().filter(not_grease).copied().collect();
    let domain = extensions.contains(&SNI);
    let alpn = alpn_code(ch.alpn.first().map(String::as_str));
    let a = format!(
        "{}{}{}{:02}{:02}{}{}",
        if quic { 'q' } else { 't' },
        version_code(version),
        if domain { 'd' } else { 'i' },
        ciphers.len().min(99),
        extensions.len().min(99),
        alpn[0],
        alpn[1],
    );
    ciphers.sort_unstable();
    let b = sha256_12(&hex_list(&ciphers));
    let mut hashed: Vec<u16> = extensions
        .into_iter()
        .filter(|e| *e != SNI && *e != ALPN)
        .collect();
    hashed.sort_unstable();
    let sigalgs: Vec<u16> = ch
        .signature_algorithms
        .iter()
        .filter(not_grease)
        .copied()
        .collect();
    let c = sha256_12(&format!("{}_{}", hex_list(&hashed), hex_list(&sigalgs)));
    format!("{a}_{b}_{c}")
}

/// The JA4S fingerprint of a ServerHello.
pub fn ja4s(sh: &ServerHello, quic: bool) -> String {
    let version = sh.selected_version.unwrap_or(sh.version);
    let extensions: Vec<u16> = sh.extensions.iter().filter(not_grease).copied().collect();
    let alpn = alpn_code(sh.alpn.as_deref());
    format!(
        "{}{}{:02}{}{}_{:04x}_{}",
        if quic { 'q' } else { 't' },
        version_code(version),
        extensions.len().min(99),
        alpn[0],
        alpn[1],
        sh.cipher_suite,
        sha256_12(&hex_list(&extensions)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FoxIO's own unit test of JA4X's hash (`rust/ja4x/src/lib.rs`,
    /// `test_hash12`).
    #[test]
    fn ja4x_hash_is_foxios() {
        assert_eq!(ja4x_hash("551d0f,551d25,551d11"), "aae71e8db6d7");
        assert_eq!(ja4x_hash(""), "000000000000");
    }

    #[test]
    fn number_writers() {
        let mut s = String::new();
        for v in [0, 7, 10, 771, 65535] {
            push_decimal(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0 7 10 771 65535 ");
        let mut h = String::new();
        push_hex4(&mut h, 0x0a1f);
        assert_eq!(h, "0a1f");
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn grease_values() {
        for g in [0x0a0a, 0x1a1a, 0xfafa, 0x9a9a] {
            assert!(is_grease(g), "{g:04x}");
        }
        for v in [0x0a1a, 0x1301, 0x0000, 0xaa0a] {
            assert!(!is_grease(v), "{v:04x}");
        }
    }

    /// The values of Suricata's own unit test of its JA4 (`rust/src/ja4.rs`).
    #[test]
    fn ja4_as_suricata_computes_it() {
        let mut ch = ClientHello::default();
        assert_eq!(ja4(&ch, false), "t00i000000_e3b0c44298fc_d2e2adf7177b");
        ch.version = 0x0303;
        assert_eq!(ja4(&ch, true), "q12i000000_e3b0c44298fc_d2e2adf7177b");
        ch.extensions = vec![0x0a0a, 0x0000];
        assert_eq!(ja4(&ch, true), "q12d000100_e3b0c44298fc_d2e2adf7177b");
        ch.alpn = vec!["h3-16".into()];
        ch.extensions.push(0x0010);
        assert_eq!(ja4(&ch, true), "q12d0002h6_e3b0c44298fc_d2e2adf7177b");
        ch.cipher_suites = vec![0x1111, 0x0a20, 0xbada];
        assert_eq!(ja4(&ch, true), "q12d0302h6_f500716053f9_d2e2adf7177b");
        ch.extensions.extend([0xface, 0x0121, 0x1234]);
        ch.signature_algorithms = vec![0x6666];
        assert_eq!(ja4(&ch, true), "q12d0305h6_f500716053f9_2debc8880bae");
    }

    #[test]
    fn counts_stop_at_99_and_short_alpn_is_00() {
        let ch = ClientHello {
            cipher_suites: (1..200).collect(),
            extensions: (1..200).collect(),
            alpn: vec!["a".into()],
            ..ClientHello::default()
        };
        assert!(ja4(&ch, false).starts_with("t00i999900_"));
    }

    #[test]
    fn ja3s_and_its_hash() {
        // Suricata-verify tls/tls-ja3s: 5d79edf64e03689ff559a54e9d9487bc.
        let sh = ServerHello {
            version: 771,
            cipher_suite: 49199,
            extensions: vec![65281, 0, 11, 16, 23],
            ..ServerHello::default()
        };
        assert_eq!(ja3s(&sh), "771,49199,65281-0-11-16-23");
        assert_eq!(md5_hex(&ja3s(&sh)), "5d79edf64e03689ff559a54e9d9487bc");
    }

    #[test]
    fn ja4s_as_foxio_describes_it() {
        // The example of FoxIO's JA4S description (technical_details/JA4S.md):
        // TLS 1.2, extensions 0005,0017,ff01,0000, no ALPN, cipher 0xc030.
        let sh = ServerHello {
            version: 0x0303,
            cipher_suite: 0xc030,
            extensions: vec![0x0005, 0x0017, 0xff01, 0x0000],
            ..ServerHello::default()
        };
        assert_eq!(ja4s(&sh, false), "t120400_c030_4e8089b08790");
    }
}
