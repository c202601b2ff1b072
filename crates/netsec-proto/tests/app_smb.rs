//! SMB1 and SMB2 headers on real captures; counts and values as tshark
//! decodes them (suricata-verify's `smb.version` and `smb.dialect` checks).

mod app_pcap;

use app_pcap::{events, run_with_chunks, suricata_verify};
use netsec_model::{AppEvent, SmbEvent};

fn smb(name: &str, chunk: usize) -> Vec<SmbEvent> {
    events(run_with_chunks(&suricata_verify(name), chunk))
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Smb(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn negotiate_from_smb1_to_smb2_dialects() {
    // smb-version-keyword: an SMB1 NEGOTIATE offering SMB 2.002 and 2.???, the
    // server's SMB2 answer 0x02ff, then NEGOTIATE offering 0x0202 and 0x0210
    // and choosing 0x0210; 1 SMB1 and 16 SMB2 headers in all (tshark).
    for chunk in [0, 1, 7] {
        let ev = smb("smb-version-keyword.pcap", chunk);
        assert_eq!(
            ev.iter().filter(|e| e.version == 1).count(),
            1,
            "chunk {chunk}"
        );
        assert_eq!(
            ev.iter().filter(|e| e.version == 2).count(),
            16,
            "chunk {chunk}"
        );
        let neg: Vec<(u8, bool, Vec<u16>)> = ev
            .iter()
            .filter(|e| e.command_name == "NEGOTIATE")
            .map(|e| (e.version, e.is_response, e.dialects.clone()))
            .collect();
        assert_eq!(
            neg,
            vec![
                (1, false, vec![0x0202, 0x02ff]),
                (2, true, vec![0x02ff]),
                (2, false, vec![0x0202, 0x0210]),
                (2, true, vec![0x0210]),
            ]
        );
    }
}

#[test]
fn compounded_requests_are_walked() {
    // smb2-delete: CREATE + QUERY_INFO + CLOSE compounds; 168 SMB2 headers and
    // one SMB1 NEGOTIATE in all (tshark).
    let ev = smb("smb2-delete.pcap", 0);
    assert_eq!(ev.iter().filter(|e| e.version == 2).count(), 168);
    assert_eq!(ev.iter().filter(|e| e.version == 1).count(), 1);
    let names: Vec<&str> = ev.iter().map(|e| e.command_name.as_str()).collect();
    assert!(names
        .windows(3)
        .any(|w| w == ["CREATE", "QUERY_INFO", "CLOSE"]));
}

#[test]
fn async_responses_and_status() {
    // smb2-async (midstream): a CREATE answered first with STATUS_PENDING (0x103)
    // in an async response, then with success.
    let ev = smb("smb2-async.pcap", 0);
    assert_eq!(ev.len(), 9);
    let create: Vec<(bool, u32)> = ev
        .iter()
        .filter(|e| e.command_name == "CREATE")
        .map(|e| (e.is_response, e.status))
        .collect();
    assert_eq!(create, vec![(false, 0), (true, 0x103), (true, 0)]);
}

#[test]
fn smb1_session() {
    // output-eve-smb-01 (Linux cooked capture): 10 SMB1 messages (tshark lists
    // 16 commands, 6 of them the 0xff "no AndX command" end markers), the first
    // SESSION_SETUP_ANDX answered STATUS_MORE_PROCESSING_REQUIRED (0xc0000016).
    let ev = smb("output-eve-smb-01.pcap", 0);
    assert_eq!(ev.len(), 10);
    assert!(ev.iter().all(|e| e.version == 1));
    let setup: Vec<u32> = ev
        .iter()
        .filter(|e| e.command_name == "SESSION_SETUP_ANDX" && e.is_response)
        .map(|e| e.status)
        .collect();
    assert_eq!(setup, vec![0xc000_0016, 0]);
    assert!(ev.iter().any(|e| e.command_name == "ECHO"));
}
