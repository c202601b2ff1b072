#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The DGA detector on captures recorded by scripts/record-dns.sh: a client
//! asking the names of the script's generator until the 25th resolves
//! (true positive), and a client getting NXDOMAIN for 25 dead word-like
//! domains (true negative).

mod common;

use common::{fact, run, source};
use netsec_dns::{DgaConfig, DgaDetector};

/// The generator of scripts/record-dns.sh, rewritten from its description:
/// x' = (1103515245·x + 12345) mod 2^31 from 20261202; 8 + (x mod 8)
/// letters 'a' + ((x >> 16) mod 26); TLDs com, net, org, info in turn.
fn generated(n: usize) -> Vec<String> {
    let mut x: u64 = 20_261_202;
    let mut step = || {
        x = (1_103_515_245 * x + 12_345) % (1 << 31);
        x
    };
    let tlds = ["com", "net", "org", "info"];
    (0..n)
        .map(|i| {
            let len = 8 + step() % 8;
            let label: String = (0..len)
                .map(|_| char::from(b'a' + ((step() >> 16) % 26) as u8))
                .collect();
            format!("{label}.{}", tlds[i % 4])
        })
        .collect()
}

fn detector(config: DgaConfig) -> Box<DgaDetector> {
    Box::new(DgaDetector::new(config))
}

#[test]
fn a_dga_burst_is_reported_with_its_names_and_the_one_that_resolved() {
    let findings = run("dga.pcap", detector(DgaConfig::default()));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.kind, "dns_dga");
    assert_eq!(f.mitre, ["T1568.002"]);
    assert_eq!(source(f).as_deref(), Some("10.53.0.13"));
    let names = generated(25);
    let (asked, resolved) = names.split_at(24);
    assert_eq!(fact(f, "resolved_name"), Some(resolved[0].as_str()));
    assert_eq!(fact(f, "resolved_address"), Some("10.53.0.66"));
    let reported: Vec<&str> = fact(f, "nxdomain_names").unwrap().split(' ').collect();
    assert_eq!(reported.len(), 20, "a sample of 20 names");
    for name in &reported {
        assert!(
            asked.contains(&name.to_string()),
            "{name} was not generated"
        );
    }
    let count = f
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "algorithmic_nxdomain")
        .unwrap();
    assert_eq!(count.value, 24.0);
    assert_eq!(f.severity, netsec_model::Severity::High);
}

#[test]
fn dead_word_like_domains_stay_quiet() {
    let findings = run("benign.pcap.zst", detector(DgaConfig::default()));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_name_model_is_what_keeps_dead_domains_quiet() {
    // Take every name for algorithmic and the 25 NXDOMAINs of the
    // dead-links client are a burst: the bigram model is what tells them
    // from the generated names.
    let config = DgaConfig {
        min_name_score: 0.0,
        ..DgaConfig::default()
    };
    let findings = run("benign.pcap.zst", detector(config));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(source(&findings[0]).as_deref(), Some("10.53.0.14"));
    assert_eq!(fact(&findings[0], "resolved_name"), None);
}

#[test]
fn tunnels_are_not_a_dga() {
    for capture in ["iodine.pcap.zst", "dns2tcp.pcap"] {
        let findings = run(capture, detector(DgaConfig::default()));
        assert!(findings.is_empty(), "{capture}: {findings:#?}");
    }
}
