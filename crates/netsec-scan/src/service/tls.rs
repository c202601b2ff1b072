//! TLS on a scanned port: a rustls handshake that accepts any certificate
//! and any handshake signature (an audit must see expired, self-signed,
//! mismatched and weak-keyed servers, not refuse them; nothing secret is
//! sent over these sessions), and the certificate facts a defender needs:
//! subject, issuer, validity, key size, signature algorithm, names.
//!
//! rustls speaks TLS 1.2 and 1.3 only: a server offering nothing newer than
//! TLS 1.1 fails the handshake and is reported by its plaintext probes, not
//! as TLS.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// What the TLS handshake and the server's certificate showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TlsInfo {
    /// Negotiated protocol version (`TLSv1_3`, `TLSv1_2`).
    pub version: String,
    /// Negotiated cipher suite.
    pub cipher: String,
    /// Certificate subject (RFC 4514 string).
    pub subject: String,
    /// Certificate issuer.
    pub issuer: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Subject alternative names (DNS names and addresses).
    pub names: Vec<String>,
    /// Public key algorithm and size (`RSA 2048`, `EC 256`).
    pub key: String,
    /// Public key size in bits (0 when unknown).
    pub key_bits: u32,
    /// Signature algorithm name (`sha256WithRSAEncryption`, …) or OID.
    pub signature_algorithm: String,
    /// Issuer and subject are the same.
    pub self_signed: bool,
    /// SHA-256 of the certificate (DER), hex: changes when it is replaced.
    pub fingerprint_sha256: String,
}

impl TlsInfo {
    /// Whether the certificate has expired at Unix time `now`.
    pub fn expired_at(&self, now: i64) -> bool {
        self.not_after != 0 && now > self.not_after
    }

    /// Weaknesses a defender should fix, in words: short keys and
    /// signatures with broken hashes (CA/Browser Forum Baseline
    /// Requirements §6.1.5 and §7.1.3: RSA ≥ 2048, no SHA-1 or MD5).
    pub fn weaknesses(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.key.starts_with("RSA") && self.key_bits > 0 && self.key_bits < 2048 {
            out.push(format!("RSA key of {} bits (< 2048)", self.key_bits));
        }
        let sig = self.signature_algorithm.to_ascii_lowercase();
        if sig.contains("md5") || sig.contains("sha1") {
            out.push(format!("signature {}", self.signature_algorithm));
        }
        out
    }
}

/// A verifier that accepts any certificate chain and handshake signature
/// (ring refuses RSA keys under 2048 bits, which an audit must still see).
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Auditing: the certificate is reported, not trusted or refused.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS connector for scanning (any certificate accepted).
pub fn connector() -> Option<tokio_rustls::TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
        .with_no_client_auth();
    Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The server name to present: the address itself (rustls sends no SNI for
/// addresses).
pub fn server_name(ip: IpAddr) -> ServerName<'static> {
    ServerName::IpAddress(ip.into())
}

/// Known signature algorithm OIDs (RFC 8017 appendix A.2.4, RFC 5758 §3.2).
fn signature_name(oid: &str) -> &str {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        other => other,
    }
}

/// SHA-256 of `data`, hex (FIPS 180-4), via ring which rustls already uses.
fn sha256_hex(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Facts from a DER certificate; `None` when it does not parse.
pub fn certificate_info(der: &[u8]) -> Option<TlsInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let (key, key_bits) = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size() as u32;
            (format!("RSA {bits}"), bits)
        }
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => {
            let bits = ec.key_size() as u32;
            (format!("EC {bits}"), bits)
        }
        Ok(_) => ("other".to_string(), 0),
        Err(_) => ("unparsed".to_string(), 0),
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push((*d).to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => {
                        let mut a = [0u8; 4];
                        a.copy_from_slice(b);
                        names.push(std::net::Ipv4Addr::from(a).to_string());
                    }
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        names.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    Some(TlsInfo {
        version: String::new(),
        cipher: String::new(),
        self_signed: subject == issuer,
        subject,
        issuer,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        names,
        key,
        key_bits,
        signature_algorithm: signature_name(&oid).to_string(),
        fingerprint_sha256: sha256_hex(der),
    })
}

/// Facts from an established TLS session.
pub fn session_info(conn: &rustls::ClientConnection) -> TlsInfo {
    let mut info = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| certificate_info(c.as_ref()))
        .unwrap_or_default();
    info.version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    info.cipher = conn
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()))
        .unwrap_or_default();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(certificate_info(b"not a certificate").is_none());
        assert!(certificate_info(&[]).is_none());
        assert!(connector().is_some());
    }

    fn der(path: &str) -> Vec<u8> {
        use rustls::pki_types::pem::PemObject;
        let pem =
            std::fs::read(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        CertificateDer::from_pem_slice(&pem)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn certificate_facts_from_fixtures() {
        let weak = certificate_info(&der("weak-cert.pem")).unwrap();
        assert_eq!((weak.key.as_str(), weak.key_bits), ("RSA 1024", 1024));
        assert_eq!(weak.signature_algorithm, "sha1WithRSAEncryption");
        assert!(weak.self_signed);
        assert!(weak.subject.contains("CN=weak.netsec.test"));
        assert_eq!(weak.weaknesses().len(), 2);
        let expired = certificate_info(&der("expired-cert.pem")).unwrap();
        assert_eq!(expired.not_after, 1_609_459_200); // 2021-01-01T00:00:00Z
        assert!(expired.expired_at(1_700_000_000));
        assert!(expired.weaknesses().is_empty());
        assert_eq!(expired.names, vec!["expired.netsec.test", "127.0.0.1"]);
        assert_eq!(expired.fingerprint_sha256.len(), 64);
    }

    #[test]
    fn weaknesses_and_expiry() {
        let t = TlsInfo {
            key: "RSA 1024".into(),
            key_bits: 1024,
            signature_algorithm: "sha1WithRSAEncryption".into(),
            not_after: 1_000,
            ..TlsInfo::default()
        };
        assert_eq!(t.weaknesses().len(), 2);
        assert!(t.expired_at(1_001) && !t.expired_at(999));
    }
}
