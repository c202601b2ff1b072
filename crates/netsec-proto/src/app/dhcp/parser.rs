//! DHCP messages (RFC 2131 §2, options RFC 2132), options overloaded into
//! the `sname` and `file` fields included (option 52, RFC 2132 §9.3).

use std::net::{IpAddr, Ipv4Addr};

use netsec_model::{DhcpEvent, EventContext, MacAddr};

/// The magic cookie that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
/// Fixed BOOTP fields, then the cookie (RFC 2131 §2, figure 1).
const COOKIE_AT: usize = 236;
const OPTIONS_AT: usize = COOKIE_AT + 4;
const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// BOOTREQUEST and BOOTREPLY (RFC 951).
const OP_REQUEST: u8 = 1;
const OP_REPLY: u8 = 2;

/// Option codes (RFC 2132).
const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_OVERLOAD: u8 = 52;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_END: u8 = 255;

fn ip4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn nonzero(ip: Option<Ipv4Addr>) -> Option<IpAddr> {
    ip.filter(|a| !a.is_unspecified()).map(IpAddr::V4)
}

/// Option 53 names (RFC 2132 §9.6, RFC 3203, RFC 4388).
pub fn message_type_name(t: u8) -> String {
    match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        _ => return format!("TYPE{t}"),
    }
    .to_string()
}

/// Whether a UDP payload is a BOOTP message with the DHCP cookie.
pub fn looks_like_dhcp(b: &[u8]) -> bool {
    matches!(b.first(), Some(&OP_REQUEST) | Some(&OP_REPLY))
        && b.get(COOKIE_AT..OPTIONS_AT) == Some(&MAGIC_COOKIE)
}

/// Apply the options of one area to `ev`; returns the overload value seen.
/// A truncated option ends the area; what was read is kept.
fn read_options(area: &[u8], ev: &mut DhcpEvent) -> u8 {
    let mut overload = 0;
    let mut i = 0usize;
    while let Some(&code) = area.get(i) {
        match code {
            OPT_PAD => {
                i += 1;
                continue;
            }
            OPT_END => break,
            _ => {}
        }
        let Some(len) = area.get(i + 1).map(|l| usize::from(*l)) else {
            break;
        };
        let Some(val) = area.get(i + 2..i + 2 + len) else {
            break;
        };
        match code {
            OPT_MESSAGE_TYPE => {
                if let Some(t) = val.first() {
                    ev.message_type = message_type_name(*t);
                }
            }
            OPT_REQUESTED_IP => ev.requested_ip = nonzero(ip4(val)),
            OPT_HOSTNAME => {
                // Some clients count a terminating NUL in the length.
                let name = val.strip_suffix(&[0]).unwrap_or(val);
                ev.hostname = Some(String::from_utf8_lossy(name).into_owned());
            }
            OPT_SERVER_ID => ev.server_id = nonzero(ip4(val)),
            OPT_LEASE_TIME => {
                if let Some(b) = val.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                    ev.lease_secs = Some(u32::from_be_bytes(b));
                }
            }
            OPT_OVERLOAD => overload = val.first().copied().unwrap_or(0),
            _ => {}
        }
        i += 2 + len;
    }
    overload
}

/// Parse one DHCP message; `None` when it is not BOOTP with the DHCP cookie.
pub fn parse(b: &[u8], ctx: &EventContext) -> Option<DhcpEvent> {
    if !looks_like_dhcp(b) {
        return None;
    }
    let xid = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
    let mac: [u8; 6] = b.get(28..34)?.try_into().ok()?;
    let mut ev = DhcpEvent {
        ctx: ctx.clone(),
        message_type: String::from("BOOTP"),
        xid,
        client_mac: MacAddr(mac),
        client_ip: nonzero(b.get(12..).and_then(ip4)),
        assigned_ip: nonzero(b.get(16..).and_then(ip4)),
        requested_ip: None,
        hostname: None,
        server_id: None,
        lease_secs: None,
    };
    let overload = read_options(b.get(OPTIONS_AT..).unwrap_or(&[]), &mut ev);
    // RFC 2131 §4.1: the options field first, then `file`, then `sname`.
    if overload & 1 != 0 {
        read_options(b.get(FILE).unwrap_or(&[]), &mut ev);
    }
    if overload & 2 != 0 {
        read_options(b.get(SNAME).unwrap_or(&[]), &mut ev);
    }
    Some(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    /// A DHCPACK shaped like `dhcp-eve-extended` frame 2 (suricata-verify).
    fn ack() -> Vec<u8> {
        let mut b = vec![OP_REPLY, 1, 6, 0];
        b.extend(0xef64_5744u32.to_be_bytes());
        b.extend([0; 4]);
        b.extend([10, 16, 1, 4]); // ciaddr
        b.extend([10, 16, 1, 4]); // yiaddr
        b.extend([10, 16, 1, 1]); // siaddr
        b.extend([0; 4]);
        b.extend([0x00, 0x11, 0x32, 0x17, 0x49, 0xf0]);
        b.resize(COOKIE_AT, 0);
        b.extend(MAGIC_COOKIE);
        b.extend([OPT_MESSAGE_TYPE, 1, 5]);
        b.extend([OPT_SERVER_ID, 4, 10, 16, 1, 1]);
        b.extend([OPT_LEASE_TIME, 4, 0, 0, 0x0e, 0x10]);
        b.extend([OPT_HOSTNAME, 5, b'n', b'a', b's', b'1', 0]);
        b.push(OPT_END);
        b
    }

    #[test]
    fn ack_fields() {
        let ctx = crate::app::test_context(Transport::Udp, 68);
        let ev = parse(&ack(), &ctx).unwrap();
        assert_eq!(ev.message_type, "ACK");
        assert_eq!(ev.xid, 4016330564);
        assert_eq!(ev.client_mac, MacAddr([0x00, 0x11, 0x32, 0x17, 0x49, 0xf0]));
        assert_eq!(ev.assigned_ip, Some(IpAddr::from([10, 16, 1, 4])));
        assert_eq!(ev.client_ip, Some(IpAddr::from([10, 16, 1, 4])));
        assert_eq!(ev.server_id, Some(IpAddr::from([10, 16, 1, 1])));
        assert_eq!(ev.lease_secs, Some(3600));
        assert_eq!(ev.hostname.as_deref(), Some("nas1"));
    }

    #[test]
    fn overloaded_sname_and_truncated_options() {
        let ctx = crate::app::test_context(Transport::Udp, 68);
        let mut b = ack();
        // Move the server id into `sname` and announce it with option 52.
        b.truncate(OPTIONS_AT);
        b.extend([OPT_MESSAGE_TYPE, 1, 2, OPT_OVERLOAD, 1, 2, OPT_END]);
        b[SNAME.start..SNAME.start + 7].copy_from_slice(&[
            OPT_SERVER_ID,
            4,
            10,
            100,
            0,
            2,
            OPT_END,
        ]);
        let ev = parse(&b, &ctx).unwrap();
        assert_eq!(ev.message_type, "OFFER");
        assert_eq!(ev.server_id, Some(IpAddr::from([10, 100, 0, 2])));
        // An option cut short keeps what came before it.
        let mut cut = ack();
        cut.truncate(OPTIONS_AT + 3 + 4);
        let ev = parse(&cut, &ctx).unwrap();
        assert_eq!(ev.message_type, "ACK");
        assert_eq!(ev.server_id, None);
        for n in 0..ack().len() {
            let _ = parse(&ack()[..n], &ctx);
        }
    }

    #[test]
    fn identification_bytes() {
        assert!(looks_like_dhcp(&ack()));
        let mut bad = ack();
        bad[0] = 3;
        assert!(!looks_like_dhcp(&bad));
        let mut no_cookie = ack();
        no_cookie[COOKIE_AT] = 0;
        assert!(!looks_like_dhcp(&no_cookie));
        assert!(!looks_like_dhcp(&ack()[..239]));
    }
}
