//! Connection-oriented DCE-RPC (ncacn_ip_tcp, and ncacn_np through the SMB
//! parser): one event per PDU fragment that starts a call (bind,
//! alter_context and their answers, the first fragment of a request or
//! response, fault), with the interface of the call taken from the context
//! its bind set up and the operation named from the opnum.

pub mod parser;

use netsec_model::{AppEvent, DceRpcContext, DceRpcEvent, Direction, EventContext};

use super::framing::{Framer, Framing};
use super::{side_index, FeedStatus};
use parser::{Body, Header, Interface, Uuid, HEADER};

/// Bytes of each fragment parsed at most: binds with many contexts and the
/// netlogon stubs fit; the rest of large fragments is skipped unbuffered.
const MAX_PARSED: usize = 2048;
/// Calls remembered between request and response (oldest dropped).
const MAX_PENDING: usize = 32;

/// A presentation context set up by a bind: its id and interface.
#[derive(Debug, Clone, Copy)]
struct Context {
    id: u16,
    uuid: Uuid,
    iface: Option<&'static Interface>,
}

/// The association state of one connection or pipe: contexts and calls.
#[derive(Debug, Default)]
pub struct Association {
    contexts: Vec<Context>,
    /// (call id, context id, opnum) of requests not answered yet.
    pending: Vec<(u32, u16, u16)>,
    /// PDUs parsed.
    pub pdus: u64,
    /// PDUs whose body was cut or malformed.
    pub malformed: u64,
}

impl Association {
    fn context(&self, id: u16) -> Option<&Context> {
        self.contexts.iter().find(|c| c.id == id)
    }

    /// Parse one PDU (whole or its first bytes) and push its event.
    pub fn pdu(
        &mut self,
        pdu: &[u8],
        pipe: Option<&'static str>,
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) {
        let Some(h) = parser::header(pdu) else {
            self.malformed += 1;
            return;
        };
        self.pdu_with(pdu, &h, pipe, ctx, out);
    }

    fn pdu_with(
        &mut self,
        pdu: &[u8],
        h: &Header,
        pipe: Option<&'static str>,
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) {
        let Some(body) = parser::body(pdu, h) else {
            self.malformed += 1;
            return;
        };
        self.pdus += 1;
        let first = h.flags & parser::PFC_FIRST_FRAG != 0;
        let mut ev = DceRpcEvent {
            ctx: ctx.clone(),
            ptype: parser::ptype_name(h.ptype).to_string(),
            call_id: h.call_id,
            pipe: pipe.map(str::to_string),
            context_id: None,
            interface: None,
            opnum: None,
            operation: None,
            contexts: Vec::new(),
            results: Vec::new(),
            status: None,
            zero_credential: None,
            sid_count: None,
        };
        match body {
            Body::Bind(items) => {
                for it in &items {
                    let iface = parser::interface(&it.uuid);
                    ev.contexts.push(DceRpcContext {
                        id: it.id,
                        uuid: it.uuid.text(),
                        version: it.version,
                        version_minor: it.version_minor,
                        name: iface.map(|i| i.name.to_string()),
                    });
                    let c = Context {
                        id: it.id,
                        uuid: it.uuid,
                        iface,
                    };
                    let full = self.contexts.len() >= parser::MAX_CONTEXTS;
                    match self.contexts.iter_mut().find(|x| x.id == it.id) {
                        Some(x) => *x = c,
                        None if !full => self.contexts.push(c),
                        None => {}
                    }
                }
            }
            Body::BindAck(results) => ev.results = results,
            Body::BindNak(reason) => ev.status = Some(u32::from(reason)),
            Body::Request {
                context_id,
                opnum,
                stub,
            } => {
                if !first {
                    return;
                }
                self.describe(&mut ev, context_id, opnum);
                let le = h.little_endian;
                match ev.interface.as_deref() {
                    Some("netlogon") => {
                        ev.zero_credential =
                            stub.and_then(|s| parser::netlogon_zero_credential(opnum, s, le));
                    }
                    Some("lsarpc") => {
                        ev.sid_count = stub.and_then(|s| parser::lsa_sid_count(opnum, s, le));
                    }
                    _ => {}
                }
                if self.pending.len() >= MAX_PENDING {
                    self.pending.remove(0);
                }
                self.pending.push((h.call_id, context_id, opnum));
            }
            Body::Response { context_id } | Body::Fault { context_id, .. } => {
                if let Body::Fault { status, .. } = body {
                    ev.status = Some(status);
                } else if !first {
                    return;
                }
                ev.context_id = Some(context_id);
                if let Some(k) = self.pending.iter().position(|p| p.0 == h.call_id) {
                    let (_, cid, opnum) = self.pending.remove(k);
                    self.describe(&mut ev, cid, opnum);
                }
            }
            Body::Other => return,
        }
        out.push(AppEvent::DceRpc(ev));
    }

    fn describe(&self, ev: &mut DceRpcEvent, context_id: u16, opnum: u16) {
        ev.context_id = Some(context_id);
        ev.opnum = Some(opnum);
        if let Some(c) = self.context(context_id) {
            ev.interface = Some(match c.iface {
                Some(i) => i.name.to_string(),
                None => c.uuid.text(),
            });
            ev.operation = c
                .iface
                .and_then(|i| parser::operation(i, opnum))
                .map(str::to_string);
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.contexts.capacity() * std::mem::size_of::<Context>()
            + self.pending.capacity() * std::mem::size_of::<(u32, u16, u16)>()
    }
}

/// DCE-RPC fragments framed by their common header's frag_length.
struct Fragments;

impl Framing for Fragments {
    const HEADER: usize = HEADER;

    fn frame(h: &[u8]) -> Option<(usize, usize)> {
        let total = usize::from(parser::header(h)?.frag_len);
        Some((total, total.min(MAX_PARSED)))
    }

    fn starts_frame(data: &[u8]) -> bool {
        parser::header(data).is_some()
    }
}

/// Per-flow state of DCE-RPC over TCP.
#[derive(Debug, Default)]
pub struct DceRpcState {
    sides: [Framer; 2],
    assoc: Association,
    /// Framing errors (then resynchronised on a segment starting a PDU).
    pub framing_errors: u64,
}

impl DceRpcState {
    /// Malformed PDUs and framing errors.
    pub fn malformed(&self) -> u64 {
        self.assoc.malformed + self.framing_errors
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(Framer::heap_bytes).sum::<usize>() + self.assoc.heap_bytes()
    }

    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let Some(side) = self.sides.get_mut(side_index(dir)) else {
            return FeedStatus::Error;
        };
        let assoc = &mut self.assoc;
        self.framing_errors += side.feed::<Fragments>(data, |pdu| assoc.pdu(pdu, None, ctx, out));
        FeedStatus::Continue
    }

    /// Bytes missing in a direction.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.gap(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;
    use parser::tests::{authenticate3, bind, pdu, request};

    fn names(out: &[AppEvent]) -> Vec<(String, Option<String>, Option<String>)> {
        out.iter()
            .filter_map(|e| match e {
                AppEvent::DceRpc(d) => {
                    Some((d.ptype.clone(), d.interface.clone(), d.operation.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn calls_named_at_any_segmentation() {
        let ctx = crate::app::test_context(Transport::Tcp, 49152);
        let mut c2s = bind(1, 0, "12345678-1234-abcd-ef00-01234567cffb", 1);
        c2s.extend(request(2, 0, 26, &authenticate3([0; 8])));
        let mut big = vec![0u8; 5000];
        big[..4].copy_from_slice(&5000u32.to_le_bytes());
        c2s.extend(request(3, 0, 30, &big));
        c2s.extend(request(4, 7, 1, b""));
        let mut s2c = pdu(
            parser::FAULT,
            2,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0xc0],
        );
        s2c.extend(pdu(parser::RESPONSE, 3, &[0, 0, 0, 0, 0, 0, 0, 0]));
        for chunk in [1, 7, 100, c2s.len()] {
            let mut s = DceRpcState::default();
            let mut out = Vec::new();
            for p in c2s.chunks(chunk) {
                s.feed(Direction::ToServer, p, &ctx, &mut out);
                assert!(s.sides[0].buffered() <= MAX_PARSED);
            }
            for p in s2c.chunks(chunk) {
                s.feed(Direction::ToClient, p, &ctx, &mut out);
            }
            let n = names(&out);
            assert_eq!(n.len(), 6, "chunk {chunk}");
            assert_eq!(
                n[1],
                (
                    "request".into(),
                    Some("netlogon".into()),
                    Some("NetrServerAuthenticate3".into())
                )
            );
            assert_eq!(n[2].2.as_deref(), Some("NetrServerPasswordSet2"));
            assert_eq!((n[3].1.as_deref(), n[3].2.as_deref()), (None, None));
            assert_eq!(n[4].2.as_deref(), Some("NetrServerAuthenticate3"));
            assert_eq!(n[5].2.as_deref(), Some("NetrServerPasswordSet2"));
            let AppEvent::DceRpc(d) = &out[1] else {
                panic!()
            };
            assert_eq!(d.zero_credential, Some(true));
            let AppEvent::DceRpc(f) = &out[4] else {
                panic!()
            };
            assert_eq!(f.status, Some(0xc000_0022));
            assert_eq!(s.malformed(), 0);
        }
    }

    #[test]
    fn garbage_then_resync() {
        let ctx = crate::app::test_context(Transport::Tcp, 135);
        let mut s = DceRpcState::default();
        let mut out = Vec::new();
        s.feed(
            Direction::ToServer,
            b"\x05\x00\x0b\x03\x10\x00\x00\x00\x08\x00\x00\x00garbage",
            &ctx,
            &mut out,
        );
        s.feed(
            Direction::ToServer,
            &bind(1, 0, "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4),
            &ctx,
            &mut out,
        );
        assert_eq!(s.framing_errors, 1);
        assert_eq!(out.len(), 1);
        s.gap(Direction::ToServer, 5);
        s.feed(Direction::ToServer, b"xxxx", &ctx, &mut out);
        s.feed(Direction::ToServer, &request(2, 0, 3, b""), &ctx, &mut out);
        assert_eq!(names(&out)[1].2.as_deref(), Some("DRSGetNCChanges"));
    }
}
