//! Protocol identification across every capture of the workspace
//! (`testdata/suricata-verify/*.pcap` and `testdata/sample.pcap`), checked
//! against what tshark saw in them (`testdata/expected/*.json`) and against
//! the server ports of the flows identified.

mod app_pcap;

use app_pcap::{run, testdata, FlowRun};
use netsec_model::AppProto;

// Test support: an unreadable fixture must fail the test loudly.
#[allow(clippy::unwrap_used)]
fn captures() -> Vec<(String, Vec<FlowRun>, serde_json::Value)> {
    let dir = testdata("suricata-verify");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    names.push("../sample.pcap".into());
    names
        .into_iter()
        .map(|n| {
            let stem = n
                .trim_start_matches("../")
                .trim_end_matches(".pcap")
                .to_string();
            let expected = std::fs::read_to_string(testdata(&format!("expected/{stem}.json")))
                .map(|t| serde_json::from_str(&t).unwrap())
                .unwrap_or(serde_json::Value::Null);
            let runs = run(&dir.join(&n));
            (stem, runs, expected)
        })
        .collect()
}

fn count(runs: &[FlowRun], proto: AppProto) -> usize {
    runs.iter()
        .filter(|r| r.proto.is_some_and(|p| p.0 == proto))
        .count()
}

#[test]
fn identified_where_tshark_sees_the_protocol() {
    let caps = captures();
    assert!(caps.len() > 40);
    for (name, runs, exp) in &caps {
        if exp.is_null() {
            continue;
        }
        let n = |k: &str| exp[k].as_u64().unwrap_or(0);
        let list = |k: &str| exp[k].as_array().map_or(0, Vec::len);
        // tshark dissects HTTP by port; netsec by content, so HTTP on port 63
        // (http-request-line, http-response-line) is found by netsec only.
        let http_by_content_only = name.starts_with("http-re");
        let checks = [
            ("dns", AppProto::Dns, n("dns_messages") > 0),
            (
                "http",
                AppProto::Http,
                n("http_requests") > 0 || http_by_content_only,
            ),
            ("tls", AppProto::Tls, n("tls_client_hellos") > 0),
            ("ssh", AppProto::Ssh, list("ssh_banners") > 0),
        ];
        for (what, proto, tshark_has) in checks {
            assert_eq!(
                count(runs, proto) > 0,
                tshark_has,
                "{name}: {what} identified vs tshark"
            );
        }
    }
}

#[test]
fn identified_flows_use_their_protocols_ports() {
    // The ports these captures' servers use for each protocol (midstream flows
    // whose first packet is the server's are seen with the client's port).
    let ports = |p: AppProto| -> &'static [u16] {
        match p {
            AppProto::Dns => &[53],
            AppProto::Http => &[80, 63, 8000, 8008, 8065],
            AppProto::Tls => &[443, 4433, 8443],
            AppProto::Ssh => &[22],
            AppProto::Smb => &[445],
            AppProto::Dhcp => &[67, 68],
            AppProto::Ntp => &[123],
            _ => &[],
        }
    };
    let mut identified = 0;
    for (name, runs, _) in captures() {
        for r in runs {
            let Some((proto, _)) = r.proto else { continue };
            identified += 1;
            let ok = ports(proto).contains(&r.server.port) || ports(proto).contains(&r.client.port);
            assert!(ok, "{name}: {proto:?} on {:?} -> {:?}", r.client, r.server);
        }
    }
    assert!(identified >= 50, "{identified}");
}

#[test]
fn other_payloads_are_not_identified() {
    // bug-4571-02: "hello, world" between two port-80 endpoints.
    let runs = run(&testdata("suricata-verify/bug-4571-02.pcap"));
    assert!(runs.iter().all(|r| r.proto.is_none()));
    // decode-sctp-01, detect-itype-prefilter, decode-arp-1: no TCP/UDP payload of ours.
    for n in ["decode-sctp-01", "detect-itype-prefilter", "decode-arp-1"] {
        let runs = run(&testdata(&format!("suricata-verify/{n}.pcap")));
        assert!(runs.iter().all(|r| r.proto.is_none()), "{n}");
    }
}
