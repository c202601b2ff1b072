#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Threat lists against the recorded lookups of testdata/dns/benign.pcap.zst
//! (dig against dnsmasq in namespaces; scripts/record-dns.sh).

mod common;

use netsec_dns::{DnsIntelMatcher, IntelLists};

fn matcher(text: &str, name: &str) -> Box<DnsIntelMatcher> {
    let mut lists = IntelLists::default();
    lists.add_text(text, name).unwrap();
    Box::new(DnsIntelMatcher::new(lists))
}

#[test]
fn a_listed_domain_and_a_listed_answer_are_reported_with_the_list() {
    let findings = common::run(
        "benign.pcap.zst",
        matcher("# test list\nwikipedia.org\n", "abuse.txt"),
    );
    let domains: Vec<&str> = findings
        .iter()
        .filter(|f| f.kind == "dns_blocklisted_domain")
        .map(|f| common::fact(f, "entry").unwrap())
        .collect();
    assert!(!domains.is_empty(), "{findings:#?}");
    assert!(domains.iter().all(|d| *d == "wikipedia.org"));
    let f = &findings[0];
    assert_eq!(common::fact(f, "list"), Some("abuse.txt"));
    assert_eq!(common::source(f).as_deref(), Some("10.53.0.12"));
    assert!(
        f.evidence.summary.contains("upload.wikipedia.org"),
        "{}",
        f.evidence.summary
    );

    // The address that name resolved to, listed as a network.
    let by_address = common::run("benign.pcap.zst", matcher("10.53.0.0/24\n", "nets.txt"));
    assert!(
        by_address
            .iter()
            .any(|f| f.kind == "dns_blocklisted_address"),
        "{by_address:#?}"
    );
}

#[test]
fn lists_that_match_nothing_stay_quiet() {
    let findings = common::run(
        "benign.pcap.zst",
        matcher("evil.invalid\n192.0.2.1\n2001:db8::/32\n", "quiet.txt"),
    );
    assert!(findings.is_empty(), "{findings:#?}");
}
