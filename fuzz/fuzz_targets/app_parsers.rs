//! Any bytes into every application parser: the first byte picks the
//! protocol, the transport and the segment size; the rest is fed in both
//! directions with gaps now and then, and also handed to the pure parsing
//! functions of that protocol.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{AppProto, Direction, Endpoint, EventContext, Timestamp, Transport};
use netsec_proto::app::{dcerpc, dhcp, dns, http, kerberos, ntp, smb, socks, ssh, tls, AppParser};

const PROTOS: [AppProto; 10] = [
    AppProto::Dns,
    AppProto::Tls,
    AppProto::Http,
    AppProto::Ssh,
    AppProto::Smb,
    AppProto::Dhcp,
    AppProto::Ntp,
    AppProto::Socks,
    AppProto::DceRpc,
    AppProto::Kerberos,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let proto = PROTOS[usize::from(selector) % PROTOS.len()];
    let transport = if selector & 0x80 != 0 { Transport::Udp } else { Transport::Tcp };
    let ctx = EventContext {
        ts: Timestamp::ZERO,
        packet_number: 1,
        flow_id: None,
        community_id: None,
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 53),
        transport,
        direction: Direction::ToServer,
    };

    // The pure parsers.
    match proto {
        AppProto::Dns => {
            let _ = dns::parser::parse_message(body, &ctx);
            let _ = dns::parser::looks_like_dns(body);
        }
        AppProto::Tls => {
            let _ = tls::parser::client_hello(body, 0x0301);
            let _ = tls::parser::server_hello(body, 0x0303);
            let _ = tls::parser::certificate_chain(body);
        }
        AppProto::Http => {
            let _ = http::parser::parse_head(body);
            let _ = http::parser::head_end(body, usize::from(selector) % 8);
            let _ = http::parser::chunk_size(body);
        }
        AppProto::Ssh => {
            let _ = ssh::parser::parse_banner(body);
        }
        AppProto::Smb => {
            let _ = smb::parser::parse_message(body);
        }
        AppProto::Dhcp => {
            let _ = dhcp::parser::parse(body, &ctx);
        }
        AppProto::Ntp => {
            let _ = ntp::parser::parse_header(body);
        }
        AppProto::Socks => {
            let _ = socks::parser::looks_like_socks(body);
            for version in [socks::parser::SOCKS4, socks::parser::SOCKS5] {
                let _ = socks::parser::client(body, version, selector & 1 != 0);
                let _ = socks::parser::server(body, version, selector % 3);
            }
        }
        AppProto::DceRpc => {
            if let Some(h) = dcerpc::parser::header(body) {
                let _ = dcerpc::parser::body(body, &h);
            }
            for opnum in [4, 15, 26, 76] {
                let _ = dcerpc::parser::netlogon_zero_credential(opnum, body, selector & 1 != 0);
                let _ = dcerpc::parser::lsa_sid_count(opnum, body, selector & 1 != 0);
            }
        }
        AppProto::Kerberos => {
            let _ = kerberos::parser::parse(body);
            let _ = kerberos::parser::looks_like_kerberos(body);
        }
        _ => {}
    }

    // The per-flow state machines, as the engine drives them.
    let Some(mut parser) = AppParser::new(proto) else {
        return;
    };
    // A small hashing bound now and then: bodies past it are counted only.
    if let AppParser::Http(s) = &mut parser {
        if selector & 4 != 0 {
            s.max_file_hash = u64::from(selector % 64);
        }
    }
    let mut out = Vec::new();
    for (i, chunk) in body.chunks(1 + usize::from(selector % 61)).enumerate() {
        let dir = if i % 3 == 2 { Direction::ToClient } else { Direction::ToServer };
        parser.feed(dir, chunk, &ctx, &mut out);
        if i % 17 == 16 {
            parser.gap(dir, 5);
        }
    }
    // The flow's end: HTTP bodies still open are reported.
    parser.finish(&ctx, &mut out);
});
