//! DNS identification and parsing on real captures from suricata-verify;
//! expected values are those of each test's `test.yaml` (and tshark's where
//! the yaml says less).

mod app_pcap;

use app_pcap::{app_data, events, run, run_with_chunks, suricata_verify};
use netsec_model::{AppEvent, AppProto, DnsEvent};

fn dns(runs: Vec<app_pcap::FlowRun>) -> Vec<DnsEvent> {
    events(runs)
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::Dns(d) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn srv_answers_in_presentation_form() {
    // tests/dns/dns-udp-eve-log-srv
    let runs = run(&app_data("dns-udp-eve-log-srv.pcap"));
    assert_eq!(runs[0].proto.map(|p| p.0), Some(AppProto::Dns));
    let d = dns(runs.clone());
    assert_eq!(d.len(), 2);
    let (q, r) = (&d[0], &d[1]);
    assert!(!q.is_response && r.is_response);
    assert_eq!(q.id, 0xeb56);
    assert_eq!(q.questions[0].name, "_sip._udp.sip.voice.google.com");
    assert_eq!(q.questions[0].qtype, "SRV");
    assert_eq!(r.rcode, 0);
    let srv: Vec<&str> = r.answers.iter().map(|a| a.data.as_str()).collect();
    assert_eq!(
        srv,
        vec![
            "20 1 5060 sip-anycast-2.voice.google.com",
            "10 1 5060 sip-anycast-1.voice.google.com"
        ]
    );
    assert!(r.answers.iter().all(|a| a.rtype == "SRV" && a.ttl == 275));
    // The OPT pseudo-record is not an additional.
    assert!(r.additionals.is_empty());
}

#[test]
fn txt_and_a_answers() {
    // tests/dns/dns-udp-eve-txt
    let runs = run(&app_data("dns-udp-eve-txt.pcap"));
    let d = dns(runs.clone());
    assert_eq!(d.len(), 4);
    assert_eq!(d[0].id, 28243);
    assert_eq!(d[0].questions[0].qtype, "TXT");
    let txt = &d[1].answers[0];
    assert_eq!(
        (txt.name.as_str(), &*txt.rtype, txt.ttl),
        ("google.com", "TXT", 3217)
    );
    assert_eq!(txt.data, "\"v=spf1 include:_spf.google.com ~all\"");
    assert_eq!(d[2].id, 39372);
    let a = &d[3].answers[0];
    assert_eq!(a.name, "textsecure-service-ca.whispersystems.org");
    assert_eq!(
        (&*a.rtype, a.ttl, a.data.as_str()),
        ("A", 5, "34.197.178.240")
    );
    // dns.flags 8180: qr, rd, ra.
    assert_eq!(d[3].flags.iter().collect::<Vec<_>>(), vec!["rd", "ra"]);
    assert!(d[3].is_response);
}

#[test]
fn cname_a_ns_sections() {
    // detect-dotprefix-01: a CNAME chain, A records, NS authorities, A glue.
    let d = dns(run(&app_data("detect-dotprefix-01.pcap")));
    assert_eq!(d.len(), 2);
    let r = &d[1];
    let types: Vec<&str> = r.answers.iter().map(|a| &*a.rtype).collect();
    assert_eq!(types, vec!["CNAME", "CNAME", "A", "A", "A"]);
    assert_eq!(r.answers[0].data, "2-01-3cf7-0009.cdx.cedexis.net");
    assert_eq!(r.answers[2].data, "8.253.41.78");
    assert_eq!(r.authorities.len(), 5);
    assert!(r.authorities.iter().all(|a| a.rtype == "NS"));
    assert_eq!(r.authorities[0].data, "us-fl-2.ns.c.footprint.net");
    assert_eq!(r.additionals.len(), 5);
    assert_eq!(r.additionals[0].name, "us-fl-2.ns.c.footprint.net");
}

#[test]
fn nxdomain_with_soa_authority() {
    let d = dns(run(&suricata_verify("dns-eve-v2-udp-nxdomain-soa.pcap")));
    let r = d.iter().find(|d| d.is_response).unwrap();
    assert_eq!(r.rcode, 3);
    let soa = &r.authorities[0];
    assert_eq!(
        (soa.name.as_str(), &*soa.rtype, soa.ttl),
        ("oisf.net", "SOA", 899)
    );
    assert_eq!(
        soa.data,
        "ns-110.awsdns-13.com awsdns-hostmaster.amazon.com 1 7200 900 1209600 86400"
    );
}

#[test]
fn type_filtering_capture_has_fourteen_messages() {
    // dns-eve-type-filtering: all.json has 14 dns events; 4 A, 2 AAAA queries…
    let d = dns(run(&suricata_verify("dns-eve-type-filtering.pcap")));
    assert_eq!(d.len(), 14);
    let queries: Vec<&str> = d
        .iter()
        .filter(|d| !d.is_response)
        .map(|d| &*d.questions[0].qtype)
        .collect();
    assert_eq!(queries.iter().filter(|t| **t == "A").count(), 2);
    assert_eq!(queries.iter().filter(|t| **t == "AAAA").count(), 2);
    assert_eq!(queries.iter().filter(|t| **t == "MX").count(), 3);
    let mx = d
        .iter()
        .flat_map(|d| d.answers.iter())
        .find(|a| a.rtype == "MX")
        .unwrap();
    let (pref, exchange) = mx.data.split_once(' ').unwrap();
    assert!(
        pref.parse::<u16>().is_ok() && exchange.contains('.'),
        "{mx:?}"
    );
}

#[test]
fn tcp_many_requests_in_one_segment() {
    // tests/dns/dns-tcp-multirequest-buffer: 20 requests in one segment, 20 responses.
    for chunk in [0, 1, 5, 100] {
        let runs = run_with_chunks(&app_data("dns-tcp-multirequest-buffer.pcap"), chunk);
        let d = dns(runs.clone());
        assert_eq!(
            d.iter().filter(|d| !d.is_response).count(),
            20,
            "chunk {chunk}"
        );
        assert_eq!(
            d.iter().filter(|d| d.is_response).count(),
            20,
            "chunk {chunk}"
        );
        let names: Vec<String> = (0..20).map(|i| format!("{i}.google.com")).collect();
        let asked: Vec<&str> = d
            .iter()
            .filter(|d| !d.is_response)
            .map(|d| d.questions[0].name.as_str())
            .collect();
        assert_eq!(asked, names);
    }
}

#[test]
fn tcp_with_a_gap() {
    // dns-tcp-ts-gap: 2 queries and 3 responses of 12 answers each survive the hole.
    let d = dns(run(&suricata_verify("dns-tcp-ts-gap.pcap")));
    assert_eq!(d.iter().filter(|d| !d.is_response).count(), 2);
    let answers: Vec<usize> = d
        .iter()
        .filter(|d| d.is_response)
        .map(|d| d.answers.len())
        .collect();
    assert_eq!(answers, vec![12, 12, 12]);
}

#[test]
fn reversed_flows_and_junk_first() {
    // Only the answer is captured, over UDP and over TCP.
    for f in ["dns-reversed-udp-1.pcap", "dns-reversed-tcp-1.pcap"] {
        let d = dns(run(&suricata_verify(f)));
        assert_eq!(d.len(), 1, "{f}");
        assert!(d[0].is_response, "{f}");
    }
    // A junk first query (a header, then junk) is not taken for DNS; the bare
    // error response after it is (port 53), and the next query parses (case kept).
    let runs = run(&suricata_verify("dns-udp-junkrequest-first.pcap"));
    assert_eq!(runs[0].proto, Some((AppProto::Dns, 2)));
    assert_eq!(runs[0].malformed, 0);
    let d = dns(runs);
    assert_eq!(d.len(), 3);
    let queries: Vec<&str> = d
        .iter()
        .filter(|d| !d.is_response)
        .map(|d| d.questions[0].name.as_str())
        .collect();
    assert_eq!(queries, vec!["catenacyber.Fr"]);
}

#[test]
fn notify_opcode() {
    let d = dns(run(&suricata_verify("dns-opcode.pcap")));
    assert!(!d.is_empty());
    assert!(d.iter().all(|d| d.opcode == 4), "{d:?}");
}

/// An Ethernet/IPv4/UDP frame from 10.0.0.1:40000 to 10.0.0.2:53 or back
/// (checksums zero: the engine does not check them).
fn udp_frame(to_server: bool, payload: &[u8]) -> Vec<u8> {
    udp_frame_from_port(to_server, 40_000, payload)
}

/// [`udp_frame`] with the client's port `client_port`.
fn udp_frame_from_port(to_server: bool, client_port: u16, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if to_server {
        ([10, 0, 0, 1], [10, 0, 0, 2], client_port, 53u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 53, client_port)
    };
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (28 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// A? example.com, transaction `id`; as a response, with one A record.
fn lookup(id: u16, response: bool) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(if response {
        &[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
    } else {
        &[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
    });
    m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    if response {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    m
}

/// Each frame to `engine` as a packet `secs` after a fixed start, numbered
/// from 1; `after_each` runs after each.
fn feed_datagrams<S: netsec_proto::EngineSink>(
    engine: &mut netsec_proto::Engine,
    sink: &mut S,
    datagrams: &[(f64, Vec<u8>)],
    mut after_each: impl FnMut(&mut S),
) {
    use netsec_model::{LinkType, RawPacket, Timestamp};
    for (i, (secs, data)) in datagrams.iter().enumerate() {
        engine.process(
            &RawPacket {
                number: i as u64 + 1,
                ts: Timestamp::from_nanos(1_700_000_000_000_000_000 + (secs * 1e9) as i64),
                link_type: LinkType::Ethernet,
                interface: 0,
                orig_len: data.len() as u32,
                data,
            },
            sink,
        );
        after_each(sink);
    }
}

/// A UDP flow carrying several lookups, each answered before the next (its
/// parser is put away while idle and made again by the next datagram):
/// every response is matched to its own query, and a malformed datagram
/// after the first lookups neither ends the parsing nor hides the next.
#[test]
fn lookups_after_an_idle_spell_on_one_udp_flow_are_all_matched() {
    use netsec_proto::{Engine, EngineConfig, EngineSink};
    #[derive(Default)]
    struct Sink(Vec<DnsEvent>, usize);
    impl EngineSink for Sink {
        fn event(&mut self, e: AppEvent) {
            if let AppEvent::Dns(d) = e {
                self.0.push(d);
            }
        }
        fn flow_end(&mut self, _: netsec_model::FlowRecord) {
            self.1 += 1;
        }
    }
    let datagrams: Vec<(f64, Vec<u8>)> = vec![
        (0.0, udp_frame(true, &lookup(1, false))),
        (0.01, udp_frame(false, &lookup(1, true))),
        (10.0, udp_frame(true, &lookup(2, false))),
        (10.02, udp_frame(false, &lookup(2, true))),
        (20.0, udp_frame(true, &[0xff; 5])),
        (30.0, udp_frame(true, &lookup(3, false))),
        (30.03, udp_frame(false, &lookup(3, true))),
    ];
    let mut engine = Engine::new(EngineConfig::default());
    let mut sink = Sink::default();
    feed_datagrams(&mut engine, &mut sink, &datagrams, |_| {});
    engine.finish(&mut sink);
    assert_eq!(sink.1, 1, "one flow");
    let answered: Vec<(u16, Option<u64>)> = sink
        .0
        .iter()
        .filter(|d| d.is_response)
        .map(|d| (d.id, d.query.as_ref().map(|q| q.packet_number)))
        .collect();
    assert_eq!(answered, vec![(1, Some(1)), (2, Some(3)), (3, Some(6))]);
    assert_eq!(sink.0.len(), 6);
    assert_eq!(engine.stats().app_malformed, 1);
}

/// A DNS-over-UDP flow whose lookups are all answered ends 10 s after its
/// last packet (Zeek's `dns_session_timeout`); one with a query still
/// waiting keeps the UDP timeout, 60 s.
#[test]
fn answered_dns_flows_end_after_ten_seconds_and_waiting_ones_after_sixty() {
    use netsec_model::FlowEndReason;
    use netsec_proto::{Engine, EngineConfig, EngineSink};
    /// Flow ends as (client port, reason, packets processed before).
    #[derive(Default)]
    struct Sink {
        packets: usize,
        ends: Vec<(u16, FlowEndReason, usize)>,
    }
    impl EngineSink for Sink {
        fn flow_end(&mut self, f: netsec_model::FlowRecord) {
            self.ends.push((f.client.port, f.end_reason, self.packets));
        }
    }
    let datagrams: Vec<(f64, Vec<u8>)> = vec![
        // Answered at once.
        (0.0, udp_frame_from_port(true, 40_001, &lookup(1, false))),
        (0.01, udp_frame_from_port(false, 40_001, &lookup(1, true))),
        // Never answered.
        (0.02, udp_frame_from_port(true, 40_002, &lookup(2, false))),
        // Later lookups move the clock on.
        (9.5, udp_frame_from_port(true, 40_003, &lookup(3, false))),
        (11.0, udp_frame_from_port(true, 40_004, &lookup(4, false))),
        (59.0, udp_frame_from_port(true, 40_005, &lookup(5, false))),
        (61.0, udp_frame_from_port(true, 40_006, &lookup(6, false))),
    ];
    let mut engine = Engine::new(EngineConfig::default());
    let mut sink = Sink::default();
    feed_datagrams(&mut engine, &mut sink, &datagrams, |sink| sink.packets += 1);
    // The answered flow ended at the packet at 11.0 s (its fifth), not at
    // 9.5 s; the waiting one at 61.0 s (the seventh), not at 59.0 s.
    let before_finish: Vec<(u16, FlowEndReason, usize)> = sink.ends.clone();
    assert_eq!(
        before_finish,
        vec![
            (40_001, FlowEndReason::IdleTimeout, 4),
            (40_002, FlowEndReason::IdleTimeout, 6),
        ]
    );
    engine.finish(&mut sink);
    assert_eq!(sink.ends.len(), 6);
}
