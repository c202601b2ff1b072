//! NTP on real captures (suricata-verify `test.yaml` values, tshark's for
//! pcap-parser's `ntp.pcap`).

mod app_pcap;

use app_pcap::{events, run, suricata_verify, testdata};
use netsec_model::AppEvent;

#[test]
fn ntp_versions_modes_strata() {
    // ntp-keywords: 4 messages; versions 3 and 4 twice each, modes 3 and 4,
    // strata 0 and 2.
    let ev: Vec<(u8, u8, u8)> = events(run(&suricata_verify("ntp-keywords.pcap")))
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Ntp(n) => Some((n.version, n.mode, n.stratum)),
            _ => None,
        })
        .collect();
    assert_eq!(ev, vec![(4, 3, 0), (4, 4, 2), (3, 3, 0), (3, 4, 2)]);
    // pcap-parser's ntp.pcap (netsec-capture's fixture): symmetric 123 -> 123,
    // v4 client requests and stratum-1 replies (tshark).
    let path = testdata("../crates/netsec-capture/tests/data/pcap-parser/ntp.pcap");
    let ev: Vec<(u8, u8, u8)> = events(run(&path))
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Ntp(n) => Some((n.version, n.mode, n.stratum)),
            _ => None,
        })
        .collect();
    assert!(ev.len() >= 10);
    assert!(
        ev.iter().all(|e| *e == (4, 3, 0) || *e == (4, 4, 1)),
        "{ev:?}"
    );
}
