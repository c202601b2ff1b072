//! What a certificate says, read from its DER with x509-parser: names,
//! serial, validity, alternative names, key, signature algorithm and
//! fingerprints, in the forms Suricata and ECS use. A certificate that does
//! not parse gives `None`; nothing here panics on hostile bytes.

use std::fmt::Write as _;

use md5::Digest as _;
use netsec_model::{CertificateInfo, Timestamp};
use sha1::Sha1;
use sha2::Sha256;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Read one DER certificate.
pub fn parse(der: &[u8]) -> Option<CertificateInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let validity = cert.validity();
    let when = |t: i64| Timestamp::from_secs_nanos(t, 0);
    let mut alternative_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => alternative_names.push((*n).to_string()),
                GeneralName::IPAddress(ip) => {
                    if let Some(ip) = ip_text(ip) {
                        alternative_names.push(ip);
                    }
                }
                _ => {}
            }
        }
    }
    let spki = cert.public_key();
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let (public_key_algorithm, public_key_bits, public_key_curve) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_string(), rsa.key_size() as u32, None),
        Ok(PublicKey::EC(ec)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| curve_name(&oid.to_id_string()));
            ("EC".to_string(), ec.key_size() as u32, curve)
        }
        Ok(PublicKey::DSA(y)) => ("DSA".to_string(), (y.len() * 8) as u32, None),
        _ => (key_algorithm_name(&key_oid), 0, None),
    };
    let cn = |name: &x509_parser::x509::X509Name<'_>| -> Vec<String> {
        name.iter_common_name()
            .filter_map(|a| a.as_str().ok().map(String::from))
            .collect()
    };
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    Some(CertificateInfo {
        self_issued: subject == issuer,
        common_names: cn(cert.subject()),
        issuer_common_names: cn(cert.issuer()),
        subject,
        issuer,
        serial: hex_joined(cert.raw_serial(), true),
        not_before: Some(when(validity.not_before.timestamp())),
        not_after: Some(when(validity.not_after.timestamp())),
        alternative_names,
        public_key_algorithm,
        public_key_bits,
        public_key_curve,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha1: hex_joined(&Sha1::digest(der), false),
        sha256: hex_upper(&Sha256::digest(der)),
        is_ca,
        ja4x: Some(crate::fingerprint::ja4x(&cert)),
    })
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let b: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(b).to_string())
        }
        16 => {
            let b: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(b).to_string())
        }
        _ => None,
    }
}

/// `00:97:E6` (upper) or `3a:0b:3b` (lower): bytes as hex joined by `:`.
fn hex_joined(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = if upper {
            write!(s, "{b:02X}")
        } else {
            write!(s, "{b:02x}")
        };
    }
    s
}

fn hex_upper(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Names of the signature algorithms certificates use (RFC 3279, 4055,
/// 5758, 8410 OIDs); others are given as their OID.
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

fn key_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

/// Names of the named curves (RFC 5480, SEC 2); others as their OID.
fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.1" => "prime192v1",
        "1.3.132.0.33" => "secp224r1",
        "1.2.840.10045.3.1.7" => "prime256v1",
        "1.3.132.0.34" => "secp384r1",
        "1.3.132.0.35" => "secp521r1",
        "1.3.132.0.10" => "secp256k1",
        other => return other.to_string(),
    }
    .to_string()
}

/// Whether a signature algorithm rests on a broken hash (MD2, MD5, SHA-1).
pub fn weak_signature(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("md2") || n.contains("md5") || n.contains("sha1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert!(parse(&[]).is_none());
        assert!(parse(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3]).is_none());
        assert!(parse(&[0u8; 300]).is_none());
    }

    #[test]
    fn hex_forms() {
        assert_eq!(hex_joined(&[0, 0x97, 0xe6], true), "00:97:E6");
        assert_eq!(hex_joined(&[0x3a, 0x0b], false), "3a:0b");
        assert!(weak_signature("sha1WithRSAEncryption"));
        assert!(weak_signature("ecdsa-with-SHA1"));
        assert!(!weak_signature("sha256WithRSAEncryption"));
    }
}
