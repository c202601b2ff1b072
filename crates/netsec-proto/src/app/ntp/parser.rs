//! NTP message headers (RFC 5905 §7.3; mode 6 control messages, RFC 1305
//! appendix B; mode 7 private messages as ntpd implements them).

/// The fixed header of modes 1–5 (RFC 5905 §7.3, figure 8).
const HEADER_LEN: usize = 48;
/// Control (mode 6) header: 12 bytes (RFC 1305 appendix B).
const CONTROL_HEADER_LEN: usize = 12;
/// Private (mode 7) header: 8 bytes (ntpd's `ntp_request.h`).
const PRIVATE_HEADER_LEN: usize = 8;
/// Strata above 16 are reserved (RFC 5905 §7.3).
const MAX_STRATUM: u8 = 16;

/// The fields of an NTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpHeader {
    /// Version number (1–4).
    pub version: u8,
    /// Mode (1 symmetric active … 5 broadcast, 6 control, 7 private).
    pub mode: u8,
    /// Stratum (modes 1–5; 0 for control and private messages).
    pub stratum: u8,
}

/// The header of an NTP message, when it is sane: a known version, a mode
/// other than the reserved 0, the length its mode needs, and for time
/// messages a stratum that is not reserved.
pub fn parse_header(b: &[u8]) -> Option<NtpHeader> {
    let first = *b.first()?;
    let version = (first >> 3) & 0x07;
    let mode = first & 0x07;
    if !(1..=4).contains(&version) {
        return None;
    }
    let (need, stratum) = match mode {
        1..=5 => (HEADER_LEN, *b.get(1)?),
        6 => (CONTROL_HEADER_LEN, 0),
        7 => (PRIVATE_HEADER_LEN, 0),
        _ => return None,
    };
    if b.len() < need || stratum > MAX_STRATUM {
        return None;
    }
    Some(NtpHeader {
        version,
        mode,
        stratum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        // A v4 client request (0x23) and a v3 stratum-2 server reply (0x1c).
        let mut client = vec![0x23];
        client.resize(48, 0);
        assert_eq!(
            parse_header(&client),
            Some(NtpHeader {
                version: 4,
                mode: 3,
                stratum: 0
            })
        );
        let mut server = vec![0x1c, 2, 6, 0xe9];
        server.resize(48, 0);
        assert_eq!(
            parse_header(&server),
            Some(NtpHeader {
                version: 3,
                mode: 4,
                stratum: 2
            })
        );
        // Short, reserved mode, version 0 or 7, reserved stratum.
        assert_eq!(parse_header(&server[..47]), None);
        assert_eq!(parse_header(&[0x18; 48]), None);
        assert_eq!(parse_header(&[0x03; 48]), None);
        assert_eq!(parse_header(&[0x3b; 48]), None);
        let mut bad_stratum = server.clone();
        bad_stratum[1] = 17;
        assert_eq!(parse_header(&bad_stratum), None);
        // monlist (mode 7) and control (mode 6) requests are short.
        assert_eq!(
            parse_header(&[0x17, 0, 3, 0x2a, 0, 0, 0, 0]).map(|h| h.mode),
            Some(7)
        );
        assert_eq!(
            parse_header(&[0x16, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).map(|h| h.mode),
            Some(6)
        );
        assert_eq!(parse_header(&[]), None);
    }
}
