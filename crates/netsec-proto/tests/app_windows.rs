//! DCE-RPC and Kerberos on the recorded Windows-domain captures
//! (testdata/windows, scripts/record-windows.sh), cross-checked with what
//! tshark decodes of them (testdata/windows/expected.json, written by
//! scripts/windows_tshark_expectations.py; tshark is not needed here).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod app_pcap;

use std::collections::BTreeMap;

use app_pcap::{events, run_with_chunks, testdata};
use netsec_model::{AppEvent, DceRpcEvent, KerberosEvent};
use serde_json::Value;

const CAPTURES: [&str; 12] = [
    "asreproast",
    "benign",
    "dcshadow",
    "dcsync",
    "kerberoast",
    "lookupsid",
    "psexec",
    "samrdump",
    "smbexec",
    "spray",
    "wmiexec",
    "zerologon",
];

fn expected() -> Value {
    let text = std::fs::read_to_string(testdata("windows/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run(name: &str, chunk: usize) -> (Vec<DceRpcEvent>, Vec<KerberosEvent>) {
    let ev = events(run_with_chunks(
        &testdata(&format!("windows/{name}.pcap")),
        chunk,
    ));
    let mut rpc = Vec::new();
    let mut krb = Vec::new();
    for e in ev {
        match e {
            AppEvent::DceRpc(d) => rpc.push(d),
            AppEvent::Kerberos(k) => krb.push(k),
            _ => {}
        }
    }
    (rpc, krb)
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn kerberos_matches_tshark() {
    let exp = expected();
    let mut total = 0;
    for name in CAPTURES {
        for chunk in [0, 3] {
            let (_, krb) = run(name, chunk);
            let want = exp[name]["kerberos"].as_array().unwrap();
            assert_eq!(krb.len(), want.len(), "{name} chunk {chunk}: message count");
            let by_frame: BTreeMap<u64, &KerberosEvent> =
                krb.iter().map(|k| (k.ctx.packet_number, k)).collect();
            for w in want {
                let frame = w["frame"].as_u64().unwrap();
                let k = by_frame
                    .get(&frame)
                    .unwrap_or_else(|| panic!("{name}: no message on frame {frame}"));
                let at = format!("{name} frame {frame}");
                assert_eq!(
                    i64::from(k.msg_type),
                    w["msg_type"].as_i64().unwrap(),
                    "{at}"
                );
                let cname = w["cname"].as_str().unwrap();
                assert_eq!(k.client.as_deref().unwrap_or(""), cname, "{at}");
                let sname = w["sname"].as_str().unwrap();
                let server = k.server.as_deref().unwrap_or("");
                assert!(
                    !server.is_empty() && sname.ends_with(server),
                    "{at}: {server} / {sname}"
                );
                let etypes: Vec<i64> = k.etypes.iter().map(|e| i64::from(*e)).collect();
                assert_eq!(etypes, ints(&w["enctypes"]), "{at}");
                assert_eq!(
                    k.error_code.map(i64::from),
                    w["error_code"].as_i64(),
                    "{at}"
                );
                assert_eq!(
                    k.pa_enc_timestamp,
                    ints(&w["padata_types"]).contains(&2) && matches!(k.msg_type, 10 | 12),
                    "{at}"
                );
                if matches!(k.msg_type, 11 | 13) {
                    let et = ints(&w["etypes"]);
                    let tail = et.get(et.len().saturating_sub(2)..).unwrap().to_vec();
                    let ours = vec![
                        i64::from(k.ticket_etype.unwrap()),
                        i64::from(k.reply_etype.unwrap()),
                    ];
                    assert_eq!(ours, tail, "{at}");
                }
            }
            if chunk == 0 {
                total += krb.len();
            }
        }
    }
    assert_eq!(total, 104, "Kerberos messages in all captures");
}

#[test]
fn dcerpc_matches_tshark() {
    let exp = expected();
    for name in CAPTURES {
        for chunk in [0, 5] {
            let (rpc, _) = run(name, chunk);
            let mut binds: Vec<String> = rpc
                .iter()
                .filter(|e| e.ptype == "bind" || e.ptype == "alter_context")
                .flat_map(|e| e.contexts.iter().map(|c| c.uuid.clone()))
                .collect();
            binds.sort();
            let want: Vec<String> = exp[name]["dcerpc_binds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(binds, want, "{name} chunk {chunk}: bound interfaces");
            // Every call tshark sees whole in one frame is ours too.
            let mut calls: Vec<(i64, i64)> = rpc
                .iter()
                .filter_map(|e| {
                    let t = match e.ptype.as_str() {
                        "request" => 0,
                        "response" => 2,
                        _ => return None,
                    };
                    Some((t, i64::from(e.opnum?)))
                })
                .collect();
            for w in exp[name]["dcerpc_calls"].as_array().unwrap() {
                let w = ints(w);
                let k = calls
                    .iter()
                    .position(|c| *c == (w[0], w[1]))
                    .unwrap_or_else(|| panic!("{name} chunk {chunk}: call {w:?} missing"));
                calls.remove(k);
            }
        }
    }
}

/// What the detectors rely on, by name.
#[test]
fn interfaces_operations_and_pipes() {
    let ops = |name: &str| -> Vec<(Option<String>, Option<String>, Option<String>)> {
        run(name, 0)
            .0
            .into_iter()
            .filter(|e| e.ptype == "request")
            .map(|e| (e.pipe, e.interface, e.operation))
            .collect()
    };
    let has = |v: &[(Option<String>, Option<String>, Option<String>)],
               pipe: Option<&str>,
               i: &str,
               op: &str| {
        v.iter().any(|(p, ii, o)| {
            p.as_deref() == pipe && ii.as_deref() == Some(i) && o.as_deref() == Some(op)
        })
    };
    let dcsync = ops("dcsync");
    assert_eq!(
        dcsync
            .iter()
            .filter(|x| x.2.as_deref() == Some("DRSGetNCChanges"))
            .count(),
        2,
        "frames 73 and 77 (frame 53's opnum 3 is the endpoint mapper's ept_map)"
    );
    assert!(has(&dcsync, None, "epmapper", "ept_map"));
    // DCShadow's replication request, refused with a fault (0x6f7,
    // RPC_X_BAD_STUB_DATA) that names its operation from the call id.
    let shadow = run("dcshadow", 0).0;
    assert!(shadow
        .iter()
        .any(|e| e.ptype == "request" && e.operation.as_deref() == Some("DRSReplicaAdd")));
    let fault = shadow.iter().find(|e| e.ptype == "fault").unwrap();
    assert_eq!(
        (fault.status, fault.operation.as_deref()),
        (Some(0x6f7), Some("DRSReplicaAdd"))
    );
    assert!(has(&dcsync, None, "drsuapi", "DRSBind"));
    let psexec = ops("psexec");
    assert!(has(&psexec, Some("svcctl"), "svcctl", "OpenSCManagerW"));
    assert!(has(&psexec, Some("svcctl"), "svcctl", "CreateServiceW"));
    assert!(has(&psexec, Some("srvsvc"), "srvsvc", "NetrShareEnum"));
    // smbclient -L carries its srvsvc call in FSCTL_PIPE_TRANSCEIVE IOCTLs.
    assert!(has(
        &ops("benign"),
        Some("srvsvc"),
        "srvsvc",
        "NetrShareEnum"
    ));
    assert!(has(
        &ops("smbexec"),
        Some("svcctl"),
        "svcctl",
        "CreateServiceW"
    ));
    assert!(has(
        &ops("samrdump"),
        Some("samr"),
        "samr",
        "SamrEnumerateUsersInDomain"
    ));
    assert!(has(
        &ops("lookupsid"),
        Some("lsarpc"),
        "lsarpc",
        "LsarLookupSids"
    ));
    // RIDs 0-1199 asked in two calls (tshark's lsarpc.lsa_SidArray.num_sids: 1000, 200).
    let sids: Vec<u32> = run("lookupsid", 0)
        .0
        .iter()
        .filter_map(|e| e.sid_count)
        .collect();
    assert_eq!(sids, vec![1000, 200]);
    let zl = run("zerologon", 0).0;
    let auth: Vec<&DceRpcEvent> = zl
        .iter()
        .filter(|e| {
            e.operation.as_deref() == Some("NetrServerAuthenticate3") && e.ptype == "request"
        })
        .collect();
    assert_eq!(auth.len(), 20);
    assert!(auth.iter().all(|e| e.zero_credential == Some(true)));
    // Refused: every answer is a response carrying STATUS_ACCESS_DENIED in its stub,
    // not a fault; the binds were accepted.
    let wmi = run("wmiexec", 0).0;
    let bind = wmi.iter().find(|e| e.ptype == "bind").unwrap();
    assert_eq!(bind.contexts[0].name.as_deref(), Some("ISystemActivator"));
    let ack = wmi.iter().find(|e| e.ptype == "bind_ack").unwrap();
    assert_ne!(
        ack.results.first(),
        Some(&0),
        "Samba refuses the DCOM activator"
    );
}

/// Every TCP payload of the captures, bytes flipped pseudo-randomly, fed to
/// the DCE-RPC, Kerberos and SMB parsers in both directions with gaps: no
/// panic, buffers stay bounded (the fuzz target app_parsers does the same
/// with coverage guidance; this runs in every `cargo test`).
#[test]
fn mutated_captures_do_not_panic() {
    use netsec_model::{Direction, Endpoint, EventContext, Timestamp, Transport};
    use netsec_proto::app::AppParser;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let ctx = EventContext {
        ts: Timestamp::ZERO,
        packet_number: 1,
        flow_id: None,
        community_id: None,
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 445),
        transport: Transport::Tcp,
        direction: Direction::ToServer,
    };
    let mut events = 0usize;
    for name in CAPTURES {
        let segs = app_pcap::segments(&testdata(&format!("windows/{name}.pcap")));
        for proto in [
            netsec_model::AppProto::Smb,
            netsec_model::AppProto::DceRpc,
            netsec_model::AppProto::Kerberos,
        ] {
            for round in 0..12 {
                let mut p = AppParser::new(proto).unwrap();
                let mut out = Vec::new();
                for s in &segs {
                    let mut data = s.data.clone();
                    for _ in 0..=round {
                        if !data.is_empty() {
                            let at = (next() as usize) % data.len();
                            data[at] ^= (next() as u8) | 1;
                        }
                    }
                    let mut c = ctx.clone();
                    c.transport = s.transport;
                    if next() % 50 == 0 {
                        p.gap(s.dir, next() % 3000);
                    }
                    p.feed(s.dir, &data, &c, &mut out);
                    assert!(p.heap_bytes() < 4 * 65_536 + 65_536, "{name} {proto:?}");
                }
                events += out.len();
            }
        }
    }
    assert!(
        events > 1000,
        "the mutated streams still parse mostly: {events}"
    );
}
