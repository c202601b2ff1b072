//! SMB message headers: SMB1 ([MS-CIFS] §2.2.3.1) and SMB2/3
//! ([MS-SMB2] §2.2.1), including the NEGOTIATE dialects.

/// SMB2 command names ([MS-SMB2] §2.2.1.2).
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

/// Name of an SMB1 command ([MS-CIFS] §2.2.2.1), the common ones.
fn smb1_command(c: u8) -> &'static str {
    match c {
        0x04 => "CLOSE",
        0x06 => "DELETE",
        0x24 => "LOCKING_ANDX",
        0x25 => "TRANSACTION",
        0x2d => "OPEN_ANDX",
        0x2e => "READ_ANDX",
        0x2f => "WRITE_ANDX",
        0x32 => "TRANSACTION2",
        0x71 => "TREE_DISCONNECT",
        0x72 => "NEGOTIATE",
        0x73 => "SESSION_SETUP_ANDX",
        0x74 => "LOGOFF_ANDX",
        0x75 => "TREE_CONNECT_ANDX",
        0xa0 => "NT_TRANSACT",
        0xa2 => "NT_CREATE_ANDX",
        _ => "OTHER",
    }
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
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Parse the SMB messages of one NetBIOS session message (SMB2 compounds
/// are walked by NextCommand).
pub fn parse_message(msg: &[u8]) -> Vec<SmbHeader> {
    let mut out = Vec::new();
    if msg.starts_with(b"\xffSMB") {
        if let (Some(&cmd), Some(status), Some(&flags)) = (msg.get(4), le32(msg, 5), msg.get(9)) {
            out.push(SmbHeader {
                version: 1,
                command: u16::from(cmd),
                command_name: smb1_command(cmd),
                status,
                is_response: flags & 0x80 != 0,
                dialects: Vec::new(),
            });
        }
        return out;
    }
    let mut off = 0usize;
    for _ in 0..32 {
        let Some(m) = msg.get(off..) else { break };
        if !m.starts_with(b"\xfeSMB") {
            break;
        }
        let (Some(status), Some(cmd), Some(flags), Some(next)) =
            (le32(m, 8), le16(m, 12), le32(m, 16), le32(m, 20))
        else {
            break;
        };
        let is_response = flags & 0x1 != 0;
        let mut dialects = Vec::new();
        if cmd == 0 {
            let body = m.get(64..).unwrap_or(&[]);
            if is_response {
                // NEGOTIATE response: StructureSize(2) SecurityMode(2) DialectRevision(2).
                if let Some(d) = le16(body, 4) {
                    dialects.push(d);
                }
            } else if let Some(count) = le16(body, 2) {
                // NEGOTIATE request: dialects at offset 36 of the body.
                for k in 0..usize::from(count).min(64) {
                    if let Some(d) = le16(body, 36 + 2 * k) {
                        dialects.push(d);
                    }
                }
            }
        }
        out.push(SmbHeader {
            version: 2,
            command: cmd,
            command_name: SMB2_COMMANDS
                .get(usize::from(cmd))
                .copied()
                .unwrap_or("OTHER"),
            status,
            is_response,
            dialects,
        });
        if next == 0 {
            break;
        }
        off = off.saturating_add(next as usize);
    }
    out
}

/// Whether bytes start like an SMB message in a NetBIOS session frame.
pub fn looks_like_smb(b: &[u8]) -> bool {
    b.first() == Some(&0)
        && matches!(
            b.get(4..8),
            Some(b"\xffSMB") | Some(b"\xfeSMB") | Some(b"\xfdSMB")
        )
}
