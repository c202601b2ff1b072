//! DHCP on real captures (suricata-verify `test.yaml` values).

mod app_pcap;

use std::net::IpAddr;

use app_pcap::{events, run, suricata_verify};
use netsec_model::{AppEvent, DhcpEvent, MacAddr};

fn dhcp(name: &str) -> Vec<DhcpEvent> {
    events(run(&suricata_verify(name)))
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Dhcp(d) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn dhcp_request_and_ack() {
    // dhcp-eve-extended: dhcp.id 4016330564, client_mac 00:11:32:17:49:f0,
    // REQUEST from 10.16.1.4, ACK assigning 10.16.1.4, lease_time 3600,
    // hostname "nas1\0" (netsec drops the NUL the client counted).
    let ev = dhcp("dhcp-eve-extended.pcap");
    assert_eq!(ev.len(), 2);
    let (req, ack) = (&ev[0], &ev[1]);
    assert_eq!(req.message_type, "REQUEST");
    assert_eq!(ack.message_type, "ACK");
    for d in &ev {
        assert_eq!(d.xid, 4016330564);
        assert_eq!(d.client_mac, MacAddr([0x00, 0x11, 0x32, 0x17, 0x49, 0xf0]));
        assert_eq!(d.client_ip, Some(IpAddr::from([10, 16, 1, 4])));
        assert_eq!(d.hostname.as_deref(), Some("nas1"));
    }
    assert_eq!(req.assigned_ip, None);
    assert_eq!(ack.assigned_ip, Some(IpAddr::from([10, 16, 1, 4])));
    assert_eq!(ack.lease_secs, Some(3600));
    assert_eq!(ack.server_id, Some(IpAddr::from([10, 16, 1, 1])));
}

#[test]
fn dhcp_with_overloaded_server_name() {
    // dhcp-option-52-overload: two servers answer; offers and acks of 10.100.0.50
    // with lease 300 s, options overloaded into sname (tshark).
    let ev = dhcp("dhcp-option-52-overload.pcap");
    let types: Vec<&str> = ev.iter().map(|d| d.message_type.as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "OFFER").count(), 2);
    assert_eq!(types.iter().filter(|t| **t == "ACK").count(), 2);
    assert_eq!(types.len(), 8);
    for d in ev
        .iter()
        .filter(|d| d.message_type == "OFFER" || d.message_type == "ACK")
    {
        assert_eq!(d.assigned_ip, Some(IpAddr::from([10, 100, 0, 50])));
        assert_eq!(d.lease_secs, Some(300));
    }
    let requested: Vec<_> = ev.iter().filter_map(|d| d.requested_ip).collect();
    assert_eq!(requested, vec![IpAddr::from([10, 100, 0, 50]); 2]);
}
