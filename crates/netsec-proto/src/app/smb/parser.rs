//! SMB message headers: SMB1 ([MS-CIFS] §2.2.3.1) and SMB2/3
//! ([MS-SMB2] §2.2.1), including the NEGOTIATE dialects, inside NetBIOS
//! session service framing (RFC 1002 §4.3.1; [MS-SMB2] §2.1 for direct TCP).

/// NetBIOS session service header: type, then a 24-bit length.
pub const NBSS_HEADER: usize = 4;
/// NBSS message type carrying SMB.
pub const NBSS_SESSION_MESSAGE: u8 = 0x00;

/// SMB2 command names ([MS-SMB2] §2.2.1.2), by command code.
const SMB2_COMMANDS: [&str; 19] = [
    "NEGOTIATE",
    "SESSION_SETUP",
    "LOGOFF",
    "TREE_CONNECT",
    "TREE_DISCONNECT",
    "CREATE",
    "CLOSE",
    "FLUSH",
    "READ",
    "WRITE",
    "LOCK",
    "IOCTL",
    "CANCEL",
    "ECHO",
    "QUERY_DIRECTORY",
    "CHANGE_NOTIFY",
    "QUERY_INFO",
    "SET_INFO",
    "OPLOCK_BREAK",
];

/// Name of an SMB1 command ([MS-CIFS] §2.2.2.1, without the `SMB_COM_` prefix).
pub fn smb1_command(c: u8) -> &'static str {
    match c {
        0x00 => "CREATE_DIRECTORY",
        0x01 => "DELETE_DIRECTORY",
        0x02 => "OPEN",
        0x03 => "CREATE",
        0x04 => "CLOSE",
        0x05 => "FLUSH",
        0x06 => "DELETE",
        0x07 => "RENAME",
        0x08 => "QUERY_INFORMATION",
        0x09 => "SET_INFORMATION",
        0x0a => "READ",
        0x0b => "WRITE",
        0x10 => "CHECK_DIRECTORY",
        0x22 => "SET_INFORMATION2",
        0x23 => "QUERY_INFORMATION2",
        0x24 => "LOCKING_ANDX",
        0x25 => "TRANSACTION",
        0x26 => "TRANSACTION_SECONDARY",
        0x2b => "ECHO",
        0x2d => "OPEN_ANDX",
        0x2e => "READ_ANDX",
        0x2f => "WRITE_ANDX",
        0x32 => "TRANSACTION2",
        0x33 => "TRANSACTION2_SECONDARY",
        0x34 => "FIND_CLOSE2",
        0x70 => "TREE_CONNECT",
        0x71 => "TREE_DISCONNECT",
        0x72 => "NEGOTIATE",
        0x73 => "SESSION_SETUP_ANDX",
        0x74 => "LOGOFF_ANDX",
        0x75 => "TREE_CONNECT_ANDX",
        0x80 => "QUERY_INFORMATION_DISK",
        0x81 => "SEARCH",
        0xa0 => "NT_TRANSACT",
        0xa1 => "NT_TRANSACT_SECONDARY",
        0xa2 => "NT_CREATE_ANDX",
        0xa4 => "NT_CANCEL",
        0xa5 => "NT_RENAME",
        _ => "OTHER",
    }
}

/// Name of an SMB2 command.
pub fn smb2_command(c: u16) -> &'static str {
    SMB2_COMMANDS
        .get(usize::from(c))
        .copied()
        .unwrap_or("OTHER")
}

/// One SMB header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbHeader {
    /// 1 or 2.
    pub version: u8,
    /// Command code.
    pub command: u16,
    /// Command name.
    pub command_name: &'static str,
    /// NT status.
    pub status: u32,
    /// Response flag.
    pub is_response: bool,
    /// NEGOTIATE dialects (request: offered; response: chosen).
    pub dialects: Vec<u16>,
    /// SMB2 MessageId (0 for SMB1).
    pub message_id: u64,
    /// Where this SMB2 message starts in the NetBIOS message, and its length
    /// (to NextCommand, or to the end of what was read).
    pub span: (usize, usize),
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// SMB2 header size.
pub const SMB2_HEADER: usize = 64;
const MAX_COMPOUND: usize = 32;
/// Most dialects read from a NEGOTIATE request.
const MAX_DIALECTS: usize = 64;

/// SMB1 NEGOTIATE dialect strings that announce SMB2 ([MS-SMB2] §3.3.5.3.1).
fn smb1_dialect(name: &[u8]) -> Option<u16> {
    match name {
        b"SMB 2.002" => Some(0x0202),
        b"SMB 2.???" => Some(0x02ff),
        _ => None,
    }
}

fn smb1(msg: &[u8]) -> Option<SmbHeader> {
    // Protocol(4) Command(1) Status(4) Flags(1) … 32-byte header.
    let command = *msg.get(4)?;
    let status = le32(msg, 5)?;
    let flags = *msg.get(9)?;
    let is_response = flags & 0x80 != 0;
    let mut dialects = Vec::new();
    if command == 0x72 && !is_response {
        // WordCount (0), ByteCount, then 0x02-prefixed NUL-terminated names.
        let count = usize::from(le16(msg, 33)?);
        let names = msg.get(35..).unwrap_or(&[]);
        let names = names.get(..count.min(names.len())).unwrap_or(&[]);
        dialects = names
            .split(|b| *b == 0)
            .filter_map(|n| smb1_dialect(n.strip_prefix(&[0x02]).unwrap_or(n)))
            .collect();
    }
    Some(SmbHeader {
        version: 1,
        command: u16::from(command),
        command_name: smb1_command(command),
        status,
        is_response,
        dialects,
        message_id: 0,
        span: (0, msg.len()),
    })
}

fn smb2(m: &[u8]) -> Option<(SmbHeader, u32)> {
    if le16(m, 4)? != SMB2_HEADER as u16 {
        return None;
    }
    let status = le32(m, 8)?;
    let command = le16(m, 12)?;
    let flags = le32(m, 16)?;
    let next = le32(m, 20)?;
    let is_response = flags & 0x1 != 0;
    let mut dialects = Vec::new();
    if command == 0 {
        let body = m.get(SMB2_HEADER..).unwrap_or(&[]);
        if is_response {
            // StructureSize(2) SecurityMode(2) DialectRevision(2) ([MS-SMB2] §2.2.4).
            dialects.extend(le16(body, 4));
        } else if let Some(count) = le16(body, 2) {
            // Dialects start 36 bytes into the request body ([MS-SMB2] §2.2.3).
            for k in 0..usize::from(count).min(MAX_DIALECTS) {
                match le16(body, 36 + 2 * k) {
                    Some(d) => dialects.push(d),
                    None => break,
                }
            }
        }
    }
    let header = SmbHeader {
        version: 2,
        command,
        command_name: smb2_command(command),
        status,
        is_response,
        dialects,
        message_id: le64(m, 24)?,
        span: (0, m.len()),
    };
    Some((header, next))
}

/// Parse the SMB messages of one NetBIOS session message (or its first
/// bytes, for large ones); SMB2 compounds are walked by NextCommand.
/// Encrypted (`\xfdSMB`) and compressed (`\xfcSMB`) messages give nothing.
pub fn parse_message(msg: &[u8]) -> Vec<SmbHeader> {
    let mut out = Vec::new();
    if msg.starts_with(b"\xffSMB") {
        out.extend(smb1(msg));
        return out;
    }
    let mut off = 0usize;
    for _ in 0..MAX_COMPOUND {
        let Some(m) = msg.get(off..).filter(|m| m.starts_with(b"\xfeSMB")) else {
            break;
        };
        let Some((mut header, next)) = smb2(m) else {
            break;
        };
        let next = next as usize;
        let len = if next == 0 {
            m.len()
        } else {
            next.min(m.len())
        };
        header.span = (off, len);
        out.push(header);
        // NextCommand is 8-byte aligned and points past this header ([MS-SMB2] §3.2.4.1.4).
        if next < SMB2_HEADER || !next.is_multiple_of(8) {
            break;
        }
        off = off.saturating_add(next);
    }
    out
}

/// Whether bytes start like an SMB message in a NetBIOS session frame.
pub fn looks_like_smb(b: &[u8]) -> bool {
    b.first() == Some(&NBSS_SESSION_MESSAGE)
        && matches!(
            b.get(4..8),
            Some(b"\xffSMB") | Some(b"\xfeSMB") | Some(b"\xfdSMB")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SMB2 header with the given command, flags and NextCommand.
    fn smb2_header(command: u16, response: bool, next: u32) -> Vec<u8> {
        let mut h = b"\xfeSMB".to_vec();
        h.extend(64u16.to_le_bytes());
        h.extend([0, 0]);
        h.extend(0u32.to_le_bytes());
        h.extend(command.to_le_bytes());
        h.extend([1, 0]);
        h.extend(u32::from(response).to_le_bytes());
        h.extend(next.to_le_bytes());
        h.resize(64, 0);
        h
    }

    #[test]
    fn negotiate_request_and_response_dialects() {
        let mut req = smb2_header(0, false, 0);
        let mut body = vec![0x24, 0, 3, 0];
        body.resize(36, 0);
        for d in [0x0202u16, 0x0210, 0x0311] {
            body.extend(d.to_le_bytes());
        }
        req.extend(body);
        let h = parse_message(&req);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].command_name, "NEGOTIATE");
        assert_eq!(h[0].dialects, vec![0x0202, 0x0210, 0x0311]);
        let mut resp = smb2_header(0, true, 0);
        resp.extend([0x41, 0, 1, 0, 0x11, 0x03]);
        let h = parse_message(&resp);
        assert!(h[0].is_response);
        assert_eq!(h[0].dialects, vec![0x0311]);
        // Cut dialect list: what is there is kept, no panic.
        assert_eq!(
            parse_message(&req[..req.len() - 3])[0].dialects,
            vec![0x0202]
        );
    }

    #[test]
    fn compound_chain_is_walked_and_bounded() {
        let mut msg = smb2_header(5, false, 72);
        msg.resize(72, 0);
        msg.extend(smb2_header(16, false, 64));
        msg.extend(smb2_header(6, false, 0));
        let names: Vec<&str> = parse_message(&msg).iter().map(|h| h.command_name).collect();
        assert_eq!(names, vec!["CREATE", "QUERY_INFO", "CLOSE"]);
        // A NextCommand pointing at itself or misaligned stops the walk.
        assert_eq!(parse_message(&smb2_header(5, false, 0x40 + 1)).len(), 1);
        let mut looped = smb2_header(13, false, 64);
        for _ in 0..40 {
            looped.extend(smb2_header(13, false, 64));
        }
        assert_eq!(parse_message(&looped).len(), MAX_COMPOUND);
    }

    #[test]
    fn smb1_negotiate_offers_smb2() {
        let mut m = b"\xffSMB\x72\x00\x00\x00\x00\x18".to_vec();
        m.resize(32, 0);
        m.push(0);
        let names = b"\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00";
        m.extend((names.len() as u16).to_le_bytes());
        m.extend(names);
        let h = parse_message(&m);
        assert_eq!(h[0].version, 1);
        assert_eq!(h[0].command_name, "NEGOTIATE");
        assert!(!h[0].is_response);
        assert_eq!(h[0].dialects, vec![0x0202, 0x02ff]);
        assert!(parse_message(b"\xffSMB\x72").is_empty());
    }

    #[test]
    fn identification_bytes() {
        assert!(looks_like_smb(b"\x00\x00\x00\x45\xffSMBr"));
        assert!(looks_like_smb(b"\x00\x00\x00\x66\xfeSMB@\x00"));
        assert!(!looks_like_smb(b"\x85\x00\x00\x00"));
        assert!(!looks_like_smb(b"\x00\x00\x00\x10\xfeSMC"));
        assert!(!looks_like_smb(b"\x00\x00\x00"));
    }
}
