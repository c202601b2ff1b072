//! NTP message headers (RFC 5905 §7.3; mode 6 control and 7 private, RFC 1305 appendix B).

/// (version, mode, stratum) of an NTP message, when the header is sane.
pub fn parse_header(b: &[u8]) -> Option<(u8, u8, u8)> {
    let first = *b.first()?;
    let version = (first >> 3) & 0x07;
    let mode = first & 0x07;
    if !(1..=4).contains(&version) || mode == 0 {
        return None;
    }
    // Modes 1-5 carry the 48-byte header; control (6) and private (7) are shorter.
    if mode <= 5 && b.len() < 48 {
        return None;
    }
    let stratum = if mode <= 5 { *b.get(1)? } else { 0 };
    Some((version, mode, stratum))
}
