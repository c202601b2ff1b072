#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The active auditor against real servers: `openssl s_server` in a network
//! namespace the test creates (10.253.0.2, reached over a veth pair from
//! 10.253.0.1), one per configuration — modern only (TLS 1.3), TLS 1.0
//! with a CBC suite, an expired certificate, a self-signed one, one for
//! another name, an incomplete chain — with certificates made by rcgen
//! under a test root the auditor is given as its CA file. As root, a lab
//! that cannot start fails the test; not root, it is skipped with a message.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netsec_tls::active::{audit, AuditOptions, HostReport};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

const NS: &str = "nstls-srv";
const IFACE: &str = "nstls0";
const SERVER: &str = "10.253.0.2";
const NAME: &str = "lab.netsec.test";

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Lab {
    servers: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        sh(&["ip", "link", "del", IFACE]);
        sh(&["ip", "netns", "del", NS]);
    }
}

fn setup() -> Option<Lab> {
    let id = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&id.stdout).trim() != "0" {
        eprintln!("active_lab: skipped (needs root to create a network namespace)");
        return None;
    }
    assert!(sh(&["ip", "-V"]), "active_lab: root, but `ip` is missing");
    assert!(
        sh(&["openssl", "version"]),
        "active_lab: root, but openssl is missing (apt-get install openssl)"
    );
    drop(Lab {
        servers: Vec::new(),
    });
    let steps: [&[&str]; 7] = [
        &["ip", "netns", "add", NS],
        &[
            "ip", "link", "add", IFACE, "type", "veth", "peer", "name", "eth0", "netns", NS,
        ],
        &["ip", "addr", "add", "10.253.0.1/24", "dev", IFACE],
        &["ip", "link", "set", IFACE, "up"],
        &[
            "ip",
            "-n",
            NS,
            "addr",
            "add",
            "10.253.0.2/24",
            "dev",
            "eth0",
        ],
        &["ip", "-n", NS, "link", "set", "eth0", "up"],
        &["ip", "-n", NS, "link", "set", "lo", "up"],
    ];
    for step in steps {
        assert!(sh(step), "active_lab: {step:?} failed");
    }
    Some(Lab {
        servers: Vec::new(),
    })
}

struct Pki {
    root: (rcgen::Certificate, KeyPair),
    intermediate: (rcgen::Certificate, KeyPair),
}

fn ca(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

fn pki() -> Pki {
    let root_key = KeyPair::generate().unwrap();
    let root = ca("netsec lab root").self_signed(&root_key).unwrap();
    let int_key = KeyPair::generate().unwrap();
    let intermediate = ca("netsec lab intermediate")
        .signed_by(&int_key, &root, &root_key)
        .unwrap();
    Pki {
        root: (root, root_key),
        intermediate: (intermediate, int_key),
    }
}

/// A leaf for `name`, valid from `from` to `until` (years), signed by the
/// intermediate (or self-signed).
fn leaf(pki: &Pki, name: &str, from: i32, until: i32, self_signed: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(until, 1, 1);
    let cert = if self_signed {
        p.self_signed(&key).unwrap()
    } else {
        p.signed_by(&key, &pki.intermediate.0, &pki.intermediate.1)
            .unwrap()
    };
    (cert.pem(), key.serialize_pem())
}

fn serve(
    lab: &mut Lab,
    dir: &Path,
    port: u16,
    (cert, key): (String, String),
    chain: bool,
    extra: &[&str],
) {
    let c = dir.join(format!("{port}.crt"));
    let k = dir.join(format!("{port}.key"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", NS, "openssl", "s_server", "-quiet", "-www"])
        .args(["-accept", &format!("{SERVER}:{port}")])
        .arg("-cert")
        .arg(&c)
        .arg("-key")
        .arg(&k);
    if chain {
        cmd.arg("-cert_chain").arg(dir.join("intermediate.pem"));
    }
    cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
    lab.servers
        .push(cmd.spawn().expect("start openssl s_server"));
    let addr = format!("{SERVER}:{port}").parse().unwrap();
    for _ in 0..100 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("active_lab: openssl s_server on port {port} did not start");
}

fn kinds(r: &HostReport) -> Vec<&str> {
    let mut k: Vec<&str> = r.findings.iter().map(|f| f.kind.as_str()).collect();
    k.sort_unstable();
    k.dedup();
    k
}

fn supported(r: &HostReport) -> Vec<&str> {
    r.versions
        .iter()
        .filter(|v| v.supported)
        .map(|v| v.version)
        .collect()
}

#[test]
fn the_auditor_tells_six_server_configurations_apart() {
    let Some(mut lab) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    std::fs::write(dir.path().join("root.pem"), pki.root.0.pem()).unwrap();
    std::fs::write(
        dir.path().join("intermediate.pem"),
        pki.intermediate.0.pem(),
    )
    .unwrap();
    let good = || leaf(&pki, NAME, 2024, 2099, false);
    serve(&mut lab, dir.path(), 4431, good(), true, &["-tls1_3"]);
    serve(
        &mut lab,
        dir.path(),
        4432,
        good(),
        true,
        &["-tls1", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"],
    );
    serve(
        &mut lab,
        dir.path(),
        4433,
        leaf(&pki, NAME, 2020, 2021, false),
        true,
        &[],
    );
    serve(
        &mut lab,
        dir.path(),
        4434,
        leaf(&pki, NAME, 2024, 2099, true),
        false,
        &[],
    );
    serve(
        &mut lab,
        dir.path(),
        4435,
        leaf(&pki, "other.netsec.test", 2024, 2099, false),
        true,
        &[],
    );
    serve(&mut lab, dir.path(), 4436, good(), false, &[]);

    let options = AuditOptions {
        sni: Some(NAME.to_string()),
        ca_file: Some(dir.path().join("root.pem")),
        timeout: Duration::from_secs(3),
        ..AuditOptions::default()
    };
    let run = |port: u16| {
        let r = audit(&format!("{SERVER}:{port}"), &options);
        assert!(r.error.is_none(), "port {port}: {:?}", r.error);
        r
    };

    let modern = run(4431);
    assert_eq!(supported(&modern), vec!["TLS 1.3"]);
    assert_eq!(
        modern.versions[4].suites.len(),
        3,
        "{:?}",
        modern.versions[4]
    );
    let chain = modern.chain.as_ref().unwrap();
    assert!(chain.valid, "{:?}", chain.problem);
    assert_eq!(chain.length, 2);
    assert!(chain.name_matches);
    assert!(kinds(&modern).is_empty(), "{:?}", kinds(&modern));

    let legacy = run(4432);
    assert_eq!(supported(&legacy), vec!["TLS 1.0"]);
    assert_eq!(
        legacy.versions[1].suites[0].name,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
    );
    assert!(
        legacy.chain.as_ref().unwrap().valid,
        "the chain of a TLS 1.0 server is read too"
    );
    assert_eq!(kinds(&legacy), vec!["tls_weak_protocol"]);

    let expired = run(4433);
    assert_eq!(kinds(&expired), vec!["tls_certificate_expired"]);
    assert!(expired.chain.as_ref().unwrap().days_remaining.unwrap() < 0);

    let self_signed = run(4434);
    assert_eq!(kinds(&self_signed), vec!["tls_untrusted_chain"]);

    let wrong_name = run(4435);
    assert_eq!(kinds(&wrong_name), vec!["tls_certificate_name_mismatch"]);
    assert!(!wrong_name.chain.as_ref().unwrap().name_matches);

    let incomplete = run(4436);
    assert_eq!(kinds(&incomplete), vec!["tls_untrusted_chain"]);
    assert_eq!(incomplete.chain.as_ref().unwrap().length, 1);

    // Nothing listens: a clear error, no findings.
    let closed = audit(&format!("{SERVER}:4439"), &options);
    assert!(
        closed.error.as_deref().unwrap_or("").contains("refused"),
        "{:?}",
        closed.error
    );
}
