//! SOCKS 4/4a (the NEC "SOCKS: A protocol for TCP proxy across firewalls"
//! and its 4A extension) and SOCKS 5 (RFC 1928, with RFC 1929's
//! username/password) handshake messages: pure functions from bytes to the
//! length of one complete message and what it says.

/// SOCKS versions.
pub const SOCKS4: u8 = 4;
/// SOCKS 5.
pub const SOCKS5: u8 = 5;
/// Longest handshake message kept while incomplete (a SOCKS 5 request with
/// a 255-byte domain is 262 bytes; SOCKS 4 user ids are bounded here).
pub const MAX_MESSAGE: usize = 512;
/// The CONNECT command, in both versions.
pub const CMD_CONNECT: u8 = 1;

/// One handshake message, once complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// SOCKS 5 greeting: the authentication methods offered.
    Greeting,
    /// SOCKS 5 method choice (0xff: none acceptable).
    MethodChoice(u8),
    /// RFC 1929 username/password request.
    AuthRequest,
    /// RFC 1929 status (0: success).
    AuthStatus(u8),
    /// A request (SOCKS 4 or 5) with its command.
    Request(u8),
    /// A reply: whether the request was granted.
    Reply(bool),
}

/// Bytes needed, or a complete message and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet.
    Incomplete,
    /// A message of this many bytes.
    Message(Message, usize),
    /// Not SOCKS.
    Invalid,
}

fn byte(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// The length of an address of type `atyp` at `b` (RFC 1928 §4: IPv4,
/// domain with its length byte, IPv6).
fn address_len(b: &[u8], atyp: u8) -> Option<Option<usize>> {
    Some(match atyp {
        1 => Some(4),
        3 => byte(b, 0).map(|n| 1 + usize::from(n)),
        4 => Some(16),
        _ => return None,
    })
}

/// Whether a client's first bytes look like a SOCKS 5 greeting or a SOCKS 4
/// CONNECT/BIND request (whole, as clients send them in one segment).
pub fn looks_like_socks(b: &[u8]) -> bool {
    match byte(b, 0) {
        Some(SOCKS5) => {
            let Some(n) = byte(b, 1) else { return false };
            (1..=10).contains(&n)
                && b.len() == 2 + usize::from(n)
                && b.iter()
                    .skip(2)
                    .all(|&m| m <= 0x09 || (0x80..=0xfe).contains(&m))
        }
        Some(SOCKS4) => matches!(socks4_request(b), Parsed::Message(_, n) if n == b.len()),
        _ => false,
    }
}

/// The next client message: for SOCKS 5, the greeting first (`greeted`
/// false), then an RFC 1929 request (version byte 1) or the request itself.
pub fn client(b: &[u8], version: u8, greeted: bool) -> Parsed {
    let Some(first) = byte(b, 0) else {
        return Parsed::Incomplete;
    };
    match (version, first, greeted) {
        (SOCKS4, SOCKS4, _) => socks4_request(b),
        (SOCKS5, SOCKS5, false) => greeting(b),
        (SOCKS5, SOCKS5, true) => socks5_request(b),
        (SOCKS5, 1, true) => auth_request(b),
        _ => Parsed::Invalid,
    }
}

fn socks4_request(b: &[u8]) -> Parsed {
    let Some(cmd) = byte(b, 1) else {
        return Parsed::Incomplete;
    };
    if !matches!(cmd, 1 | 2) {
        return Parsed::Invalid;
    }
    // Port, IPv4 address, then a NUL-terminated user id; SOCKS 4a puts
    // 0.0.0.x (x ≠ 0) as the address and a NUL-terminated domain after.
    let Some(rest) = b.get(8..) else {
        return Parsed::Incomplete;
    };
    let Some(user_end) = rest.iter().position(|&c| c == 0) else {
        return if b.len() > MAX_MESSAGE {
            Parsed::Invalid
        } else {
            Parsed::Incomplete
        };
    };
    let mut len = 8 + user_end + 1;
    let socks4a = b.get(4..7) == Some(&[0, 0, 0]) && byte(b, 7).is_some_and(|x| x != 0);
    if socks4a {
        let Some(domain) = b.get(len..) else {
            return Parsed::Incomplete;
        };
        match domain.iter().position(|&c| c == 0) {
            Some(end) => len += end + 1,
            None if b.len() > MAX_MESSAGE => return Parsed::Invalid,
            None => return Parsed::Incomplete,
        }
    }
    Parsed::Message(Message::Request(cmd), len)
}

/// A SOCKS 5 greeting.
fn greeting(b: &[u8]) -> Parsed {
    if byte(b, 0) != Some(SOCKS5) {
        return Parsed::Invalid;
    }
    let Some(n) = byte(b, 1) else {
        return Parsed::Incomplete;
    };
    if n == 0 {
        return Parsed::Invalid;
    }
    let len = 2 + usize::from(n);
    if b.len() < len {
        return Parsed::Incomplete;
    }
    Parsed::Message(Message::Greeting, len)
}

/// A SOCKS 5 request.
fn socks5_request(b: &[u8]) -> Parsed {
    if byte(b, 0) != Some(SOCKS5) {
        return Parsed::Invalid;
    }
    let (Some(cmd), Some(rsv), Some(atyp)) = (byte(b, 1), byte(b, 2), byte(b, 3)) else {
        return Parsed::Incomplete;
    };
    if !matches!(cmd, 1..=3) || rsv != 0 {
        return Parsed::Invalid;
    }
    match address_len(b.get(4..).unwrap_or(&[]), atyp) {
        None => Parsed::Invalid,
        Some(None) => Parsed::Incomplete,
        Some(Some(alen)) => {
            let len = 4 + alen + 2;
            if b.len() < len {
                Parsed::Incomplete
            } else {
                Parsed::Message(Message::Request(cmd), len)
            }
        }
    }
}

fn auth_request(b: &[u8]) -> Parsed {
    let Some(ulen) = byte(b, 1) else {
        return Parsed::Incomplete;
    };
    let plen_at = 2 + usize::from(ulen);
    let Some(plen) = byte(b, plen_at) else {
        return Parsed::Incomplete;
    };
    let len = plen_at + 1 + usize::from(plen);
    if b.len() < len {
        Parsed::Incomplete
    } else {
        Parsed::Message(Message::AuthRequest, len)
    }
}

/// The next server message: `stage` 0 for the method choice (SOCKS 5) or
/// the reply (SOCKS 4), 1 for an RFC 1929 status, 2 for a SOCKS 5 reply.
pub fn server(b: &[u8], version: u8, stage: u8) -> Parsed {
    let two = |f: fn(u8) -> Message| match (byte(b, 0), byte(b, 1)) {
        (Some(_), Some(x)) => Parsed::Message(f(x), 2),
        _ => Parsed::Incomplete,
    };
    match (version, stage) {
        (SOCKS4, _) => match (byte(b, 0), byte(b, 1)) {
            (Some(0), Some(cd)) if b.len() >= 8 => Parsed::Message(Message::Reply(cd == 0x5a), 8),
            (Some(0), _) | (None, _) => Parsed::Incomplete,
            _ => Parsed::Invalid,
        },
        (SOCKS5, 0) if matches!(byte(b, 0), None | Some(SOCKS5)) => two(Message::MethodChoice),
        (SOCKS5, 1) if matches!(byte(b, 0), None | Some(1)) => two(Message::AuthStatus),
        (SOCKS5, 2) => {
            // VER REP RSV ATYP BND.ADDR BND.PORT.
            match (byte(b, 0), byte(b, 1), byte(b, 3)) {
                (Some(SOCKS5), Some(rep), Some(atyp)) => {
                    match address_len(b.get(4..).unwrap_or(&[]), atyp) {
                        None => Parsed::Invalid,
                        Some(None) => Parsed::Incomplete,
                        Some(Some(alen)) if b.len() >= 4 + alen + 2 => {
                            Parsed::Message(Message::Reply(rep == 0), 4 + alen + 2)
                        }
                        Some(Some(_)) => Parsed::Incomplete,
                    }
                }
                (Some(SOCKS5), _, _) | (None, _, _) => Parsed::Incomplete,
                _ => Parsed::Invalid,
            }
        }
        _ => Parsed::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks5_messages() {
        assert!(looks_like_socks(&[5, 1, 0]));
        assert!(looks_like_socks(&[5, 2, 0, 2]));
        assert!(!looks_like_socks(&[5, 2, 0]));
        assert_eq!(greeting(&[5, 1, 0]), Parsed::Message(Message::Greeting, 3));
        assert_eq!(greeting(&[5, 2, 0]), Parsed::Incomplete);
        let req = [5, 1, 0, 3, 3, b'a', b'.', b'b', 1, 187];
        assert_eq!(
            socks5_request(&req),
            Parsed::Message(Message::Request(1), 10)
        );
        assert_eq!(socks5_request(&req[..9]), Parsed::Incomplete);
        assert_eq!(
            server(&[5, 0], SOCKS5, 0),
            Parsed::Message(Message::MethodChoice(0), 2)
        );
        let reply = [5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38];
        assert_eq!(
            server(&reply, SOCKS5, 2),
            Parsed::Message(Message::Reply(true), 10)
        );
        assert_eq!(server(&reply[..5], SOCKS5, 2), Parsed::Incomplete);
        assert_eq!(
            client(&[1, 1, b'u', 1, b'p'], SOCKS5, true),
            Parsed::Message(Message::AuthRequest, 5)
        );
    }

    #[test]
    fn socks4_and_4a() {
        let v4 = [4, 1, 0, 80, 192, 0, 2, 1, b'u', 0];
        assert!(looks_like_socks(&v4));
        assert_eq!(
            client(&v4, SOCKS4, false),
            Parsed::Message(Message::Request(1), 10)
        );
        let mut v4a = vec![4, 1, 0, 80, 0, 0, 0, 1, 0];
        v4a.extend_from_slice(b"example.org\0");
        assert_eq!(
            client(&v4a, SOCKS4, false),
            Parsed::Message(Message::Request(1), v4a.len())
        );
        assert_eq!(client(&v4a[..12], SOCKS4, false), Parsed::Incomplete);
        assert_eq!(
            server(&[0, 0x5a, 0, 0, 0, 0, 0, 0], SOCKS4, 0),
            Parsed::Message(Message::Reply(true), 8)
        );
        assert_eq!(
            server(&[0, 0x5b, 0, 0, 0, 0, 0, 0], SOCKS4, 0),
            Parsed::Message(Message::Reply(false), 8)
        );
    }

    #[test]
    fn garbage_is_not_socks() {
        assert!(!looks_like_socks(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_socks(&[]));
        assert!(!looks_like_socks(&[5]));
        assert_eq!(client(&[9, 9], SOCKS5, false), Parsed::Invalid);
    }
}
