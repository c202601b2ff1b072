//! SOCKS 4/4a and 5: the handshake is followed to a granted CONNECT, then
//! the connection goes back to protocol identification
//! ([`FeedStatus::Tunnel`]), so that the TLS, HTTP, SSH, … session inside
//! the proxy is parsed like any other. The handshake itself gives no event.
//! Bounded: at most [`parser::MAX_MESSAGE`] bytes per direction are held.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext};
use parser::{Message, Parsed};

use super::{side_index, FeedStatus};

/// Server stages after the first (0: method choice for SOCKS 5, reply for
/// SOCKS 4): RFC 1929 status, SOCKS 5 reply.
const STAGE_AUTH: u8 = 1;
const STAGE_REPLY: u8 = 2;

#[derive(Debug, Default)]
struct Side {
    /// Bytes of an incomplete message.
    buf: Vec<u8>,
}

/// Per-flow SOCKS state.
#[derive(Debug, Default)]
pub struct SocksState {
    sides: [Side; 2],
    /// 4 or 5, from the client's first byte (0 until then).
    version: u8,
    /// The SOCKS 5 greeting was seen.
    greeted: bool,
    /// The command requested, once seen.
    command: Option<u8>,
    /// What the server's next message is.
    server_stage: u8,
    /// A gap: the handshake cannot be followed.
    lost: bool,
    /// Messages that were not SOCKS where SOCKS was expected.
    pub malformed: u64,
}

impl SocksState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>()
    }

    /// `len` bytes missing in a direction: the handshake is lost.
    pub fn gap(&mut self) {
        self.lost = true;
    }

    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        _ctx: &EventContext,
        _out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        if self.lost {
            return FeedStatus::Done;
        }
        if self.version == 0 {
            match (dir, data.first()) {
                (Direction::ToServer, Some(&v)) if v == parser::SOCKS4 || v == parser::SOCKS5 => {
                    self.version = v;
                }
                _ => return FeedStatus::Error,
            }
        }
        let i = side_index(dir);
        let Some(side) = self.sides.get_mut(i) else {
            return FeedStatus::Error;
        };
        if side.buf.len() + data.len() > parser::MAX_MESSAGE {
            self.malformed += 1;
            return FeedStatus::Error;
        }
        side.buf.extend_from_slice(data);
        loop {
            let parsed = match dir {
                Direction::ToServer => parser::client(&side.buf, self.version, self.greeted),
                Direction::ToClient => parser::server(&side.buf, self.version, self.server_stage),
            };
            let (message, len) = match parsed {
                Parsed::Incomplete => return FeedStatus::Continue,
                Parsed::Invalid => {
                    self.malformed += 1;
                    return FeedStatus::Error;
                }
                Parsed::Message(m, len) => (m, len),
            };
            side.buf.drain(..len.min(side.buf.len()));
            match message {
                Message::Greeting => self.greeted = true,
                Message::AuthRequest => {}
                Message::Request(cmd) => {
                    self.command = Some(cmd);
                    // What the client sends next belongs to the tunnel.
                    side.buf = Vec::new();
                    return FeedStatus::Continue;
                }
                Message::MethodChoice(0) | Message::AuthStatus(0) => {
                    self.server_stage = STAGE_REPLY;
                }
                // Username/password (RFC 1929).
                Message::MethodChoice(2) => self.server_stage = STAGE_AUTH,
                // GSSAPI, refusal or a failed login: nothing to follow.
                Message::MethodChoice(_) | Message::AuthStatus(_) => return FeedStatus::Done,
                Message::Reply(granted) => {
                    let connect =
                        self.command.unwrap_or(parser::CMD_CONNECT) == parser::CMD_CONNECT;
                    self.sides = Default::default();
                    return if granted && connect {
                        FeedStatus::Tunnel
                    } else {
                        FeedStatus::Done
                    };
                }
            }
            if side.buf.is_empty() {
                return FeedStatus::Continue;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    fn ctx() -> EventContext {
        crate::app::test_context(Transport::Tcp, 1080)
    }

    fn run(steps: &[(Direction, &[u8])]) -> Vec<FeedStatus> {
        let mut s = SocksState::default();
        let mut out = Vec::new();
        steps
            .iter()
            .map(|(d, b)| s.feed(*d, b, &ctx(), &mut out))
            .collect()
    }

    use Direction::{ToClient as S, ToServer as C};
    use FeedStatus::{Continue, Done, Error, Tunnel};

    #[test]
    fn socks5_connect_becomes_a_tunnel() {
        let req: &[u8] = &[
            5, 1, 0, 3, 11, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'o', b'r', b'g', 1,
            187,
        ];
        let st = run(&[
            (C, &[5, 1, 0]),
            (S, &[5, 0]),
            (C, req),
            (S, &[5, 0, 0, 1, 10, 0, 0, 2, 0x04, 0x38]),
        ]);
        assert_eq!(st, [Continue, Continue, Continue, Tunnel]);
    }

    #[test]
    fn socks5_with_password_split_across_segments() {
        let st = run(&[
            (C, &[5, 2, 0, 2]),
            (S, &[5]),
            (S, &[2]),
            (C, &[1, 1, b'u', 2, b'p']),
            (C, b"w"),
            (S, &[1, 0]),
            (C, &[5, 1, 0, 1, 192, 0, 2, 1, 0, 80]),
            (S, &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        ]);
        assert_eq!(
            st,
            [Continue, Continue, Continue, Continue, Continue, Continue, Continue, Tunnel]
        );
    }

    #[test]
    fn refusals_and_garbage() {
        assert_eq!(run(&[(C, &[5, 1, 0]), (S, &[5, 0xff])]), [Continue, Done]);
        let v4 = [4, 1, 0, 80, 192, 0, 2, 1, b'u', 0];
        assert_eq!(
            run(&[(C, &v4), (S, &[0, 0x5b, 0, 0, 0, 0, 0, 0])]),
            [Continue, Done]
        );
        assert_eq!(
            run(&[(C, &v4), (S, &[0, 0x5a, 0, 0, 0, 0, 0, 0])]),
            [Continue, Tunnel]
        );
        assert_eq!(run(&[(S, &[5, 0])]), [Error]);
        assert_eq!(run(&[(C, b"GET / HTTP/1.1\r\n")]), [Error]);
        assert_eq!(run(&[(C, &[5, 1, 0]), (S, &[7, 7])]), [Continue, Error]);
    }
}
