//! DHCP messages (RFC 2131 §2, options RFC 2132).

use std::net::{IpAddr, Ipv4Addr};

use netsec_model::{DhcpEvent, EventContext, MacAddr};

/// The magic cookie that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
const OPTIONS_AT: usize = 240;

fn ip4(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn nonzero(ip: Option<Ipv4Addr>) -> Option<IpAddr> {
    ip.filter(|a| !a.is_unspecified()).map(IpAddr::V4)
}

/// Option 53 names (RFC 2132 §9.6, RFC 4388, RFC 3203).
fn message_type(t: u8) -> String {
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
        _ => return format!("TYPE{t}"),
    }
    .to_string()
}

/// Whether a UDP payload is a BOOTP message with the DHCP cookie.
pub fn looks_like_dhcp(b: &[u8]) -> bool {
    matches!(b.first(), Some(1) | Some(2)) && b.get(236..240) == Some(&MAGIC_COOKIE)
}

/// Parse one DHCP message.
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
        client_ip: nonzero(ip4(b, 12)),
        assigned_ip: nonzero(ip4(b, 16)),
        requested_ip: None,
        hostname: None,
        server_id: None,
        lease_secs: None,
    };
    let mut i = OPTIONS_AT;
    while let Some(&code) = b.get(i) {
        match code {
            0 => {
                i += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let len = usize::from(*b.get(i + 1)?);
        let val = b.get(i + 2..i + 2 + len)?;
        match code {
            53 => ev.message_type = message_type(*val.first()?),
            50 => ev.requested_ip = nonzero(ip4(val, 0)),
            12 => ev.hostname = Some(String::from_utf8_lossy(val).into_owned()),
            54 => ev.server_id = nonzero(ip4(val, 0)),
            51 => ev.lease_secs = Some(u32::from_be_bytes(val.get(0..4)?.try_into().ok()?)),
            _ => {}
        }
        i += 2 + len;
    }
    Some(ev)
}
