//! TLS identification and handshake parsing on real captures. Expected
//! values come from each suricata-verify test's `test.yaml` (SNI, ALPN,
//! JA3/JA3S strings, certificate fingerprint) or from tshark for the
//! workspace's own `sample.pcap`.

mod app_pcap;

use app_pcap::{app_data, events, run, run_with_chunks, suricata_verify, testdata, FlowRun};
use netsec_model::{AppEvent, AppProto, ClientHello, ServerHello, TlsMessage};
use netsec_proto::app::FeedStatus;
use sha1::{Digest, Sha1};

fn tls(runs: Vec<FlowRun>) -> Vec<TlsMessage> {
    events(runs)
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Tls(t) => Some(t.message),
            _ => None,
        })
        .collect()
}

fn client_hellos(m: &[TlsMessage]) -> Vec<&ClientHello> {
    m.iter()
        .filter_map(|m| match m {
            TlsMessage::ClientHello(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn server_hellos(m: &[TlsMessage]) -> Vec<&ServerHello> {
    m.iter()
        .filter_map(|m| match m {
            TlsMessage::ServerHello(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// GREASE values (RFC 8701) are left out of JA3.
fn grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn join(v: impl Iterator<Item = String>) -> String {
    v.collect::<Vec<_>>().join("-")
}

/// The JA3 string (Salesforce's definition) of a ClientHello.
fn ja3(c: &ClientHello) -> String {
    let f = |v: &[u16]| join(v.iter().filter(|x| !grease(**x)).map(u16::to_string));
    format!(
        "{},{},{},{},{}",
        c.version,
        f(&c.cipher_suites),
        f(&c.extensions),
        f(&c.supported_groups),
        join(c.ec_point_formats.iter().map(u8::to_string))
    )
}

/// The JA3S string of a ServerHello.
fn ja3s(s: &ServerHello) -> String {
    format!(
        "{},{},{}",
        s.version,
        s.cipher_suite,
        join(s.extensions.iter().map(u16::to_string))
    )
}

#[test]
fn certificate_chain_and_sni_tls12() {
    // bug-2646-01: tls.sni raw.githubusercontent.com, tls.fingerprint of the leaf.
    let runs = run(&app_data("bug-2646-01.pcap"));
    let flow = runs
        .iter()
        .find(|r| r.proto.is_some_and(|p| p.0 == AppProto::Tls))
        .unwrap();
    assert_eq!(flow.server.port, 443);
    // Hellos and certificate seen: the parser is done with the flow.
    assert_eq!(flow.last_status, Some(FeedStatus::Done));
    let m = tls(runs);
    let ch = client_hellos(&m);
    assert_eq!(ch.len(), 1);
    assert_eq!(
        ch[0].server_name.as_deref(),
        Some("raw.githubusercontent.com")
    );
    let sh = server_hellos(&m);
    assert_eq!(sh[0].version, 0x0303);
    let chain = m
        .iter()
        .find_map(|m| match m {
            TlsMessage::Certificate { chain, .. } => Some(chain),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        chain.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1964, 1205]
    );
    let fp: Vec<String> = Sha1::digest(&chain[0])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        fp.join(":"),
        "cc:aa:48:48:66:46:0e:91:53:2c:9c:7c:23:2a:b1:74:4d:29:9d:33"
    );
}

#[test]
fn ja3_and_ja3s_strings() {
    // tls/tls-ja3s (on tls-certs-alert's capture): JA3S "771,49199,65281-0-11-16-23".
    let m = tls(run(&app_data("tls-certs-alert.pcap")));
    assert_eq!(ja3s(server_hellos(&m)[0]), "771,49199,65281-0-11-16-23");
    // tshark's ja3_full for the same ClientHello.
    assert_eq!(
        ja3(client_hellos(&m)[0]),
        "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-\
         49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-13172-16-22-23-13,\
         29-23-25-24,0-1-2"
    );
    assert_eq!(
        client_hellos(&m)[0].server_name.as_deref(),
        Some("example.com")
    );

    // tls-duplicate-hello: tls.ja3.string.
    let m = tls(run(&suricata_verify("tls-duplicate-hello.pcap")));
    let want = "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-\
                49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,\
                5-10-11-13-22-23-35-51-43-65281-0-45,23,0";
    assert!(client_hellos(&m).iter().any(|c| ja3(c) == want));

    // tls13-draft28: the two JA3 strings of test.yaml, one per flow.
    let m = tls(run(&app_data("tls13-draft28.pcap")));
    let got: Vec<String> = client_hellos(&m).iter().map(|c| ja3(c)).collect();
    let base = "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-\
                49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,\
                5-10-11-13-22-23-35-51-43-65281-0-45";
    assert!(got.contains(&format!("{base}-41,23,0")), "{got:?}");
    assert!(got.contains(&format!("{base},23,0")), "{got:?}");
    assert!(client_hellos(&m)
        .iter()
        .all(|c| c.server_name.as_deref() == Some("localhost")));
}

#[test]
fn client_hello_fields_ja4_capture() {
    // ja4-cl-handshake: tls.client_handshake.{ciphers,exts,sig_algs}.
    let m = tls(run(&suricata_verify("ja4-cl-handshake.pcap")));
    let c = client_hellos(&m)[0];
    assert_eq!(c.version, 0x0303);
    assert_eq!(
        c.cipher_suites,
        vec![
            49196, 49200, 159, 52393, 52392, 52394, 49195, 49199, 158, 49188, 49192, 107, 49187,
            49191, 103, 49162, 49172, 57, 49161, 49171, 51, 157, 156, 61, 60, 53, 47, 255
        ]
    );
    assert_eq!(c.extensions, vec![0, 11, 10, 35, 22, 23, 13]);
    assert_eq!(
        c.signature_algorithms,
        vec![
            1027, 1283, 1539, 2055, 2056, 2057, 2058, 2059, 2052, 2053, 2054, 1025, 1281, 1537,
            771, 515, 769, 513, 770, 514, 1026, 1282, 1538
        ]
    );
}

#[test]
fn alpn_both_sides() {
    // tls-alpn-log-detect-02: client_alpns [h2, http/1.1], server_alpns [http/1.1].
    let m = tls(run(&suricata_verify("tls-alpn-log-detect-02.pcap")));
    assert_eq!(client_hellos(&m)[0].alpn, vec!["h2", "http/1.1"]);
    assert_eq!(server_hellos(&m)[0].alpn.as_deref(), Some("http/1.1"));
}

#[test]
fn tls13_selected_version_and_sni() {
    // sample.pcap (curl against nginx): one TLS 1.2 and one TLS 1.3 handshake, SNI
    // secure.example.lab, ALPN h2 and http/1.1 offered (tshark).
    let runs = run(&testdata("sample.pcap"));
    let m = tls(runs);
    let ch = client_hellos(&m);
    assert_eq!(ch.len(), 2);
    assert!(ch
        .iter()
        .all(|c| c.server_name.as_deref() == Some("secure.example.lab")));
    assert!(ch.iter().all(|c| c.alpn == ["h2", "http/1.1"]));
    assert!(ch[1].supported_versions.contains(&0x0304));
    let sh = server_hellos(&m);
    assert_eq!(sh[0].alpn.as_deref(), Some("http/1.1"));
    assert_eq!(sh[0].selected_version, None);
    assert_eq!(sh[1].selected_version, Some(0x0304));
    // No certificate in clear under TLS 1.3: one chain, from the 1.2 handshake.
    let chains = m
        .iter()
        .filter(|m| matches!(m, TlsMessage::Certificate { .. }))
        .count();
    assert_eq!(chains, 1);
}

#[test]
fn hello_split_over_small_segments() {
    // tls/tls-client-hello-frag-01 (MTU 300): tls.sni www.google.com; and the same
    // capture re-cut into 1- and 7-byte pieces gives the same messages.
    let whole = tls(run(&app_data("tls-client-hello-frag-01.pcap")));
    assert_eq!(
        client_hellos(&whole)[0].server_name.as_deref(),
        Some("www.google.com")
    );
    assert!(!server_hellos(&whole).is_empty());
    for chunk in [1, 7] {
        let cut = tls(run_with_chunks(
            &app_data("tls-client-hello-frag-01.pcap"),
            chunk,
        ));
        assert_eq!(cut, whole, "chunk {chunk}");
    }
}

#[test]
fn alert_after_handshake_is_fine() {
    let m = tls(run(&suricata_verify("tls-extra-alert.pcap")));
    assert_eq!(client_hellos(&m).len(), 1);
}
