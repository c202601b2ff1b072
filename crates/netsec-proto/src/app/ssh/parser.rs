//! SSH identification strings (RFC 4253 §4.2):
//! `SSH-protoversion-softwareversion SP comments CR LF`.

/// Longest identification line (RFC 4253 §4.2: 255 bytes including CR LF).
pub const MAX_LINE: usize = 255;

/// (protocol version, software, comments) of an identification line.
pub fn parse_banner(line: &[u8]) -> Option<(String, String, Option<String>)> {
    let text = std::str::from_utf8(line).ok()?;
    let text = text.trim_end_matches(['\r', '\n']);
    let rest = text.strip_prefix("SSH-")?;
    let (proto, rest) = rest.split_once('-')?;
    if proto.is_empty() || !proto.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    let (software, comments) = match rest.split_once(' ') {
        Some((s, c)) => (s, Some(c.to_string())),
        None => (rest, None),
    };
    if software.is_empty() {
        return None;
    }
    Some((proto.to_string(), software.to_string(), comments))
}
