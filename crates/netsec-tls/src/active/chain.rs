//! The certificate chain as a client sees it: a rustls handshake (TLS 1.2
//! and 1.3) whose verifier records the chain, the stapled OCSP response
//! and webpki's verdict against the trust anchors, then completes anyway so
//! the HTTP answer (for HSTS) can be read. For servers rustls cannot talk
//! to (TLS ≤ 1.1 only), the chain comes from a hand-built hello and is
//! validated the same way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// What is wrong with a chain, by the kind of webpki's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Expired or not yet valid.
    Validity,
    /// Not valid for the name asked.
    Name,
    /// Leads to no trust anchor (unknown issuer, bad signature, …), or
    /// anything else webpki refuses.
    Trust,
}

/// webpki's objection to a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Its kind.
    pub kind: ProblemKind,
    /// webpki's words.
    pub text: String,
}

impl Problem {
    /// The problem a rustls verification error describes.
    pub fn of(e: &rustls::Error) -> Self {
        use rustls::CertificateError as C;
        let kind = match e {
            rustls::Error::InvalidCertificate(
                C::Expired
                | C::ExpiredContext { .. }
                | C::NotValidYet
                | C::NotValidYetContext { .. },
            ) => ProblemKind::Validity,
            rustls::Error::InvalidCertificate(
                C::NotValidForName | C::NotValidForNameContext { .. },
            ) => ProblemKind::Name,
            _ => ProblemKind::Trust,
        };
        Problem {
            kind,
            text: e.to_string(),
        }
    }
}

/// Verify `chain` (DER, leaf first) for `name` at `at`: `None` when it is
/// trusted and valid, else webpki's objection.
pub fn verify(
    verifier: &WebPkiServerVerifier,
    chain: &[Vec<u8>],
    name: &str,
    at: UnixTime,
) -> Option<Problem> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Some(Problem {
            kind: ProblemKind::Trust,
            text: "no certificate sent".into(),
        });
    };
    let server_name = match ServerName::try_from(name.to_string()) {
        Ok(n) => n,
        Err(e) => {
            return Some(Problem {
                kind: ProblemKind::Name,
                text: format!("{name:?}: {e}"),
            })
        }
    };
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    verifier
        .verify_server_cert(
            &CertificateDer::from(leaf.as_slice()),
            &intermediates,
            &server_name,
            &[],
            at,
        )
        .err()
        .map(|e| Problem::of(&e))
}

/// What the verifier saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// Whether an OCSP response was stapled.
    pub ocsp_stapled: bool,
    /// webpki's verdict: `None` trusted and valid for the name, else why not.
    pub problem: Option<Problem>,
}

/// A verifier that records and judges but never refuses.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<Seen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let mut chain = vec![end_entity.as_ref().to_vec()];
        chain.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen {
            chain,
            ocsp_stapled: !ocsp_response.is_empty(),
            problem: verdict.err().map(|e| Problem::of(&e)),
        });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Trust anchors: Mozilla's (webpki-roots), or the certificates of a PEM file.
pub fn roots(ca_file: Option<&std::path::Path>) -> Result<Arc<RootCertStore>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut store = RootCertStore::empty();
    match ca_file {
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
                store
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!("{}: no certificate in it", path.display()));
            }
        }
    }
    Ok(Arc::new(store))
}

/// webpki's verifier over `roots`, with ring's algorithms.
pub fn verifier(roots: &Arc<RootCertStore>) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(
        Arc::clone(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .map_err(|e| e.to_string())
}

/// What a rustls session told.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The chain and its verdict.
    pub seen: Option<Seen>,
    /// Negotiated version (0x0303, 0x0304).
    pub version: Option<u16>,
    /// Negotiated suite.
    pub suite: Option<u16>,
    /// The `Strict-Transport-Security` header, when asked for and sent.
    pub hsts: Option<String>,
    /// Why the handshake failed, if it did.
    pub error: Option<String>,
}

/// A rustls handshake over `tcp` for `name`; with `http`, a `HEAD /` after
/// it, to read the HSTS header.
pub fn handshake(
    mut tcp: TcpStream,
    name: &str,
    roots: &Arc<RootCertStore>,
    http: bool,
) -> Session {
    let mut session = Session::default();
    let recorder = match verifier(roots) {
        Ok(inner) => Arc::new(Recorder {
            inner,
            seen: Mutex::new(None),
        }),
        Err(e) => {
            session.error = Some(e);
            return session;
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| {
        b.dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth()
    });
    let config = match config {
        Ok(c) => Arc::new(c),
        Err(e) => {
            session.error = Some(e.to_string());
            return session;
        }
    };
    let server_name = match ServerName::try_from(name.to_string()) {
        Ok(n) => n,
        Err(e) => {
            session.error = Some(format!("{name:?}: {e}"));
            return session;
        }
    };
    let mut conn = match rustls::ClientConnection::new(config, server_name) {
        Ok(c) => c,
        Err(e) => {
            session.error = Some(e.to_string());
            return session;
        }
    };
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            session.error = Some(e.to_string());
            break;
        }
    }
    session.seen = recorder
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if session.error.is_some() {
        return session;
    }
    session.version = conn.protocol_version().map(u16::from);
    session.suite = conn.negotiated_cipher_suite().map(|s| u16::from(s.suite()));
    if http {
        let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
        let request = format!("HEAD / HTTP/1.1\r\nHost: {name}\r\nUser-Agent: netsec-tls-audit\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while head.len() < 32 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head);
            session.hsts = text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("strict-transport-security")
                    .then(|| v.trim().to_string())
            });
        }
    }
    session
}

/// Judge a chain obtained without rustls.
pub fn judge(chain: &[Vec<u8>], name: &str, roots: &Arc<RootCertStore>) -> Seen {
    let problem = match verifier(roots) {
        Ok(v) => verify(&v, chain, name, UnixTime::now()),
        Err(text) => Some(Problem {
            kind: ProblemKind::Trust,
            text,
        }),
    };
    Seen {
        chain: chain.to_vec(),
        ocsp_stapled: false,
        problem,
    }
}
