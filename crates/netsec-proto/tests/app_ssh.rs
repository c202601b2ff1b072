//! SSH identification strings on real captures (suricata-verify `test.yaml`
//! values: `ssh.client.software_version`, `ssh.server.proto_version`, …).

mod app_pcap;

use app_pcap::{events, run, run_with_chunks, suricata_verify, testdata};
use netsec_model::{AppEvent, Direction, SshEvent};
use netsec_proto::app::FeedStatus;

fn ssh(path: &std::path::Path, chunk: usize) -> Vec<SshEvent> {
    events(run_with_chunks(path, chunk))
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Ssh(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn side(ev: &[SshEvent], dir: Direction) -> Vec<(&str, &str)> {
    ev.iter()
        .filter(|e| e.ctx.direction == dir)
        .map(|e| (e.proto_version.as_str(), e.software.as_str()))
        .collect()
}

#[test]
fn client_and_server_banners() {
    // ssh-banner-only: client OpenSSH_for_Windows_7.7, server OpenSSH_7.4, both 2.0.
    for chunk in [0, 1, 5] {
        let ev = ssh(&suricata_verify("ssh-banner-only.pcap"), chunk);
        assert_eq!(
            side(&ev, Direction::ToServer),
            vec![("2.0", "OpenSSH_for_Windows_7.7")]
        );
        assert_eq!(side(&ev, Direction::ToClient), vec![("2.0", "OpenSSH_7.4")]);
    }
}

#[test]
fn both_banners_then_done() {
    // ssh-hassh-reassembled: server SSH-2.0-Cisco-1.25, client SSH-1.99-Cisco-1.25;
    // once both are seen the parser stops (the key exchange follows).
    let runs = run(&suricata_verify("ssh-hassh-reassembled.pcap"));
    let flow = runs.iter().find(|r| !r.events.is_empty()).unwrap();
    assert_eq!(flow.last_status, Some(FeedStatus::Done));
    let ev = ssh(&suricata_verify("ssh-hassh-reassembled.pcap"), 0);
    assert_eq!(side(&ev, Direction::ToClient), vec![("2.0", "Cisco-1.25")]);
    assert_eq!(side(&ev, Direction::ToServer), vec![("1.99", "Cisco-1.25")]);
    // ssh-newkeys: libssh client against OpenSSH.
    let ev = ssh(&suricata_verify("ssh-newkeys.pcap"), 0);
    assert_eq!(
        side(&ev, Direction::ToServer),
        vec![("2.0", "libssh-0.7.2")]
    );
}

#[test]
fn comments_after_the_software_version() {
    // sample.pcap: sshd's banner "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10" (tshark).
    let ev = ssh(&testdata("sample.pcap"), 0);
    let server = ev
        .iter()
        .find(|e| e.ctx.direction == Direction::ToClient)
        .unwrap();
    assert_eq!(server.software, "OpenSSH_9.2p1");
    assert_eq!(server.comments.as_deref(), Some("Debian-2+deb12u10"));
}
