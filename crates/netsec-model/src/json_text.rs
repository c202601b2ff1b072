//! JSON string text, byte for byte as serde_json writes it, with a faster
//! path: a string is scanned eight bytes at a time for a byte that needs
//! escaping (a control byte, `"` or `\`), clean runs are copied whole, and
//! what does need escaping is looked up in a 256-entry table, escaped as
//! serde_json does (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, else `\u00xx`
//! in lower case; DEL and everything from 0x80 up are written as they are).
//! Shared by the ECS writers here and netsec-analyze's log serializer.

/// The string `s` as JSON (quotes included), appended to `out`.
#[inline]
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_json_into(out, s);
    out.push(b'"');
}

/// 0: written as is; else the letter after the backslash (`u` for `\u00xx`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True when one of the eight bytes of `w` is below 0x20, `"` or `\`.
/// Exact as a whole (borrows can only mark bytes after a true one).
#[inline]
fn needs_escape(w: u64) -> bool {
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    (below_space | zero_in(w ^ (ONES * u64::from(b'"'))) | zero_in(w ^ (ONES * u64::from(b'\\'))))
        != 0
}

/// Strings this long or longer are scanned a word at a time first.
const WORDWISE: usize = 16;

/// The contents of a JSON string for `s` (no quotes), appended to `out`.
/// Most strings of a log line are short keys and values (six bytes on
/// average on the short shape), for which a byte loop over the table is
/// cheapest; a longer one is scanned eight bytes at a time while they are
/// clean. Clean runs are copied whole.
#[inline]
pub fn escape_json_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if bytes.len() <= 8 {
        // Short and clean (most strings): copied through one word, a fixed
        // eight-byte store cut back to the length, not a call to memcpy.
        let mut w = [0u8; 8];
        let mut clean = true;
        for (to, &b) in w.iter_mut().zip(bytes) {
            *to = b;
            clean &= escape_of(b) == 0;
        }
        if clean {
            let len = out.len() + bytes.len();
            out.extend_from_slice(&w);
            out.truncate(len);
            return;
        }
    }
    let mut start = 0;
    let mut i = 0;
    if bytes.len() >= WORDWISE {
        while let Some(chunk) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if needs_escape(u64::from_le_bytes(w)) {
                break;
            }
            i += 8;
        }
    }
    for (k, &b) in bytes.iter().enumerate().skip(i) {
        let e = escape_of(b);
        if e != 0 {
            out.extend_from_slice(bytes.get(start..k).unwrap_or(&[]));
            write_escape(out, b, e);
            start = k + 1;
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or(&[]));
}

/// What `b` becomes in a JSON string (0: itself), from [`ESCAPE`]; a
/// lookup, not an index, though a byte cannot miss a 256-entry table.
#[inline]
fn escape_of(b: u8) -> u8 {
    ESCAPE.get(usize::from(b)).copied().unwrap_or(0)
}

/// The lower-case hex digit of `nibble` (0-15).
#[inline]
fn hex_digit(nibble: u8) -> u8 {
    b"0123456789abcdef"
        .get(usize::from(nibble))
        .copied()
        .unwrap_or(b'0')
}

#[inline]
fn write_escape(out: &mut Vec<u8>, b: u8, e: u8) {
    if e == b'u' {
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            hex_digit(b >> 4),
            hex_digit(b & 0xf),
        ]);
    } else {
        out.extend_from_slice(&[b'\\', e]);
    }
}
