//! DCE-RPC over SMB2 named pipes (ncacn_np, [MS-RPCE] §2.1.1.2): a CREATE
//! of a well-known pipe name gives a FileId; WRITE requests, READ responses
//! and FSCTL_PIPE_TRANSCEIVE IOCTLs on it carry DCE-RPC PDUs, parsed by the
//! DCE-RPC parser with one association per pipe. Bounded tables; nothing is
//! allocated for CREATEs of ordinary files.

use netsec_model::{AppEvent, EventContext};

use super::parser::{SmbHeader, SMB2_HEADER};
use crate::app::dcerpc::{parser as rpc, Association};

/// Pipe names recognised in a CREATE (compared without case, after an
/// optional `\PIPE\` or `\`).
const PIPES: &[&str] = &[
    "svcctl",
    "samr",
    "lsarpc",
    "lsass",
    "netlogon",
    "srvsvc",
    "wkssvc",
    "drsuapi",
    "epmapper",
    "atsvc",
    "winreg",
    "spoolss",
    "eventlog",
    "ntsvcs",
    "browser",
    "protected_storage",
    "efsrpc",
    "dnsserver",
];
/// Name used for a pipe not opened in the capture whose data is DCE-RPC.
const UNKNOWN_PIPE: &str = "unknown";
/// Open pipes, CREATEs and READs awaiting their response, per flow.
const MAX_PIPES: usize = 16;
const MAX_PENDING: usize = 16;
/// PDUs read from one SMB data buffer at most.
const MAX_PDUS: usize = 8;
/// FSCTL_PIPE_TRANSCEIVE ([MS-FSCC] §2.3).
const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_c017;
/// SMB2 commands.
const CREATE: u16 = 5;
const READ: u16 = 8;
const WRITE: u16 = 9;
const IOCTL: u16 = 11;
/// STATUS_BUFFER_OVERFLOW: a partial read of a message-mode pipe, data present.
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;

#[derive(Debug)]
struct Pipe {
    file_id: [u8; 16],
    name: &'static str,
    assoc: Association,
}

/// Named-pipe state of one SMB flow.
#[derive(Debug, Default)]
pub struct Pipes {
    creates: Vec<(u64, &'static str)>,
    reads: Vec<(u64, [u8; 16])>,
    open: Vec<Pipe>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn file_id(m: &[u8], at: usize) -> Option<[u8; 16]> {
    m.get(at..at + 16)?.try_into().ok()
}

/// `len` bytes at `off` (from the SMB2 header), cut to what was read.
fn data(m: &[u8], off: usize, len: usize) -> &[u8] {
    m.get(off..off.saturating_add(len).min(m.len()))
        .unwrap_or(&[])
}

/// The well-known pipe a CREATE file name (UTF-16LE) opens, if any.
fn pipe_name(name: &[u8]) -> Option<&'static str> {
    let units = name
        .chunks_exact(2)
        .map(|c| <[u8; 2]>::try_from(c).map_or(0, u16::from_le_bytes));
    let n = name.len() / 2;
    // Strip "\PIPE\" or "\" (compare ASCII case-insensitively, no allocation).
    let lower = |u: u16| u8::try_from(u).ok().map(|b| b.to_ascii_lowercase());
    let prefix_len = {
        let p = b"\\pipe\\";
        if n >= p.len()
            && units
                .clone()
                .zip(p.iter())
                .all(|(u, c)| lower(u) == Some(*c))
        {
            p.len()
        } else if units.clone().next() == Some(u16::from(b'\\')) {
            1
        } else {
            0
        }
    };
    PIPES.iter().copied().find(|cand| {
        n - prefix_len == cand.len()
            && units
                .clone()
                .skip(prefix_len)
                .zip(cand.bytes())
                .all(|(u, c)| lower(u) == Some(c))
    })
}

impl Pipes {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.creates.capacity() * 24
            + self.reads.capacity() * 24
            + self
                .open
                .iter()
                .map(|p| std::mem::size_of::<Pipe>() + p.assoc.heap_bytes())
                .sum::<usize>()
    }

    /// DCE-RPC PDUs and their faults counted as malformed.
    pub fn malformed(&self) -> u64 {
        self.open.iter().map(|p| p.assoc.malformed).sum()
    }

    fn pipe(&mut self, id: &[u8; 16]) -> Option<&mut Pipe> {
        self.open.iter_mut().find(|p| &p.file_id == id)
    }

    /// Look at one SMB2 message `m` (from its header) with header `h`.
    pub fn message(
        &mut self,
        h: &SmbHeader,
        m: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) {
        if h.version != 2 || !matches!(h.command, CREATE | READ | WRITE | IOCTL) {
            return;
        }
        let b = SMB2_HEADER;
        let ok = h.status == 0 || h.status == STATUS_BUFFER_OVERFLOW;
        match (h.command, h.is_response) {
            (CREATE, false) => {
                // NameOffset (from the header) at 44, NameLength at 46 ([MS-SMB2] §2.2.13).
                let (Some(off), Some(len)) = (le16(m, b + 44), le16(m, b + 46)) else {
                    return;
                };
                if let Some(name) = pipe_name(data(m, usize::from(off), usize::from(len))) {
                    push_bounded(&mut self.creates, (h.message_id, name));
                }
            }
            (CREATE, true) => {
                let Some(k) = self.creates.iter().position(|c| c.0 == h.message_id) else {
                    return;
                };
                let (_, name) = self.creates.remove(k);
                // FileId at 64 of the response body ([MS-SMB2] §2.2.14).
                if let (true, Some(id)) = (ok, file_id(m, b + 64)) {
                    self.open_pipe(id, name);
                }
            }
            (WRITE, false) => {
                // DataOffset 2, Length 4, FileId 16 ([MS-SMB2] §2.2.21).
                let (Some(off), Some(len), Some(id)) =
                    (le16(m, b + 2), le32(m, b + 4), file_id(m, b + 16))
                else {
                    return;
                };
                let d = data(m, usize::from(off), len as usize);
                self.pdus(id, d, ctx, out);
            }
            (READ, false) => {
                if let Some(id) = file_id(m, b + 16) {
                    if self.open.iter().any(|p| p.file_id == id) {
                        push_bounded(&mut self.reads, (h.message_id, id));
                    }
                }
            }
            (READ, true) => {
                if h.status == 0x103 {
                    return; // STATUS_PENDING: the real answer follows
                }
                let Some(k) = self.reads.iter().position(|r| r.0 == h.message_id) else {
                    return;
                };
                let (_, id) = self.reads.remove(k);
                // DataOffset (1 byte) 2, DataLength 4 ([MS-SMB2] §2.2.20).
                let (true, Some(&off), Some(len)) = (ok, m.get(b + 2), le32(m, b + 4)) else {
                    return;
                };
                let d = data(m, usize::from(off), len as usize);
                self.pdus(id, d, ctx, out);
            }
            (IOCTL, resp) => {
                // CtlCode 4, FileId 8; request input 24/28, response output 32/36
                // ([MS-SMB2] §2.2.31, §2.2.32).
                if le32(m, b + 4) != Some(FSCTL_PIPE_TRANSCEIVE) || (resp && !ok) {
                    return;
                }
                let at = if resp { b + 32 } else { b + 24 };
                let (Some(id), Some(off), Some(len)) =
                    (file_id(m, b + 8), le32(m, at), le32(m, at + 4))
                else {
                    return;
                };
                let d = data(m, off as usize, len as usize);
                self.pdus(id, d, ctx, out);
            }
            _ => {}
        }
    }

    fn open_pipe(&mut self, file_id: [u8; 16], name: &'static str) {
        self.open.retain(|p| p.file_id != file_id);
        if self.open.len() >= MAX_PIPES {
            self.open.remove(0);
        }
        self.open.push(Pipe {
            file_id,
            name,
            assoc: Association::default(),
        });
    }

    /// The DCE-RPC PDUs in one pipe data buffer.
    fn pdus(&mut self, id: [u8; 16], mut d: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        if self.pipe(&id).is_none() {
            // A pipe opened before the capture began: only if the data is DCE-RPC.
            if rpc::header(d).is_none() {
                return;
            }
            self.open_pipe(id, UNKNOWN_PIPE);
        }
        let Some(pipe) = self.pipe(&id) else { return };
        for _ in 0..MAX_PDUS {
            let Some(h) = rpc::header(d) else { break };
            let len = usize::from(h.frag_len);
            pipe.assoc.pdu(
                d.get(..len.min(d.len())).unwrap_or(d),
                Some(pipe.name),
                ctx,
                out,
            );
            let Some(rest) = d.get(len..) else { break };
            d = rest;
        }
    }
}

fn push_bounded<T>(v: &mut Vec<T>, x: T) {
    if v.len() >= MAX_PENDING {
        v.remove(0);
    }
    v.push(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn pipe_names() {
        assert_eq!(pipe_name(&utf16("svcctl")), Some("svcctl"));
        assert_eq!(pipe_name(&utf16("\\PIPE\\drsuapi")), Some("drsuapi"));
        assert_eq!(pipe_name(&utf16("\\SAMR")), Some("samr"));
        assert_eq!(pipe_name(&utf16("samr.txt")), None);
        assert_eq!(pipe_name(&utf16("")), None);
        assert_eq!(pipe_name(b"\x73"), None);
    }
}
