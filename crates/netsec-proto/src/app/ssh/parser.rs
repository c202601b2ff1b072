//! SSH identification strings (RFC 4253 §4.2):
//! `SSH-protoversion-softwareversion SP comments CR LF`.

/// Longest identification line (RFC 4253 §4.2: 255 bytes including CR LF).
pub const MAX_LINE: usize = 255;

/// The fields of an identification string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Protocol version (`2.0`, `1.99`).
    pub proto_version: String,
    /// Software version (`OpenSSH_9.2p1`).
    pub software: String,
    /// Comments after the first space, if any.
    pub comments: Option<String>,
}

/// Parse one line (its CR LF or LF optional). `None` when it is not an
/// identification string: servers may send other lines first (RFC 4253 §4.2).
pub fn parse_banner(line: &[u8]) -> Option<Banner> {
    let rest = line.strip_prefix(b"SSH-")?;
    let text = String::from_utf8_lossy(rest);
    let text = text.trim_end_matches(['\r', '\n']);
    let (proto, rest) = text.split_once('-')?;
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
    Some(Banner {
        proto_version: proto.to_string(),
        software: software.to_string(),
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners() {
        // ssh-hassh-reassembled (suricata-verify): the client's 1.99 banner.
        let b = parse_banner(b"SSH-1.99-Cisco-1.25\r\n").unwrap();
        assert_eq!(b.proto_version, "1.99");
        assert_eq!(b.software, "Cisco-1.25");
        assert_eq!(b.comments, None);
        let b = parse_banner(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n").unwrap();
        assert_eq!(b.software, "OpenSSH_9.2p1");
        assert_eq!(b.comments.as_deref(), Some("Debian-2+deb12u10"));
        // LF only.
        assert!(parse_banner(b"SSH-2.0-x\n").is_some());
        assert!(parse_banner(b"SSH-2.0-\r\n").is_none());
        assert!(parse_banner(b"SSH-x.y-a\r\n").is_none());
        assert!(parse_banner(b"Welcome to the server\r\n").is_none());
        assert!(parse_banner(b"SSH-").is_none());
    }
}
