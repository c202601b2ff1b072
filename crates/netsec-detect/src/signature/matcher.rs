//! Matching one buffer's detection items (content, pcre, byte_test,
//! byte_jump, byte_extract, isdataat, bsize) on its bytes, with Suricata's
//! semantics: relative items follow the previous match, and a relative item
//! that fails makes the previous content try its next occurrence
//! (backtracking, bounded as Suricata bounds it).

use std::sync::OnceLock;

use regex::bytes::Regex;

use super::rule::{
    ByteExtract, ByteJump, ByteOp, ByteRead, ByteTest, Content, Detection, Endian, IsDataAt,
    NumberBase, Pcre, Value,
};

/// Most content/pcre attempts one buffer evaluation may make: Suricata's
/// `inspection-recursion-limit` default (3000), so a hostile payload cannot
/// make a rule cost quadratic time.
const MAX_STEPS: u32 = 3000;
/// Most `byte_extract` variables (as the parser allows).
pub(crate) const VARIABLES: usize = 16;
/// Compiled size limit of one pcre, bytes (a pattern over it never matches).
const REGEX_SIZE_LIMIT: usize = 2 << 20;

/// A pcre compiled when first needed (most rules never reach their pcre,
/// and compiling all of ET Open's would cost seconds at load).
#[derive(Debug)]
pub(crate) struct LazyRegex {
    pattern: String,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    pub(crate) fn new(pattern: &str) -> Self {
        LazyRegex {
            pattern: pattern.to_string(),
            compiled: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                regex::bytes::RegexBuilder::new(&self.pattern)
                    .unicode(false)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

/// The state of one evaluation: previous match end, variables, step budget.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// End of the previous match (where relative items start).
    prev_end: usize,
    variables: [i64; VARIABLES],
}

/// Evaluate `items` on `buffer`. `regexes` holds the compiled pcre of each
/// `Detection::Pcre` item of the rule, in order; `first_regex` is the index
/// of this buffer's first one. On a match, the end of the last match.
pub(crate) fn match_buffer(
    items: &[Detection],
    buffer: &[u8],
    regexes: &[LazyRegex],
    first_regex: usize,
) -> Option<usize> {
    let mut steps = 0u32;
    let cursor = Cursor {
        prev_end: 0,
        variables: [0; VARIABLES],
    };
    let mut matcher = Matcher {
        buffer,
        regexes,
        steps: &mut steps,
    };
    matcher.items(items, first_regex, cursor)
}

struct Matcher<'a> {
    buffer: &'a [u8],
    regexes: &'a [LazyRegex],
    steps: &'a mut u32,
}

impl Matcher<'_> {
    fn items(&mut self, items: &[Detection], regex_index: usize, cursor: Cursor) -> Option<usize> {
        let Some((first, rest)) = items.split_first() else {
            return Some(cursor.prev_end);
        };
        *self.steps += 1;
        if *self.steps > MAX_STEPS {
            return None;
        }
        match first {
            Detection::Content(content) => self.content(content, rest, regex_index, cursor),
            Detection::Pcre(pcre) => {
                let next = self.pcre(pcre, regex_index, cursor)?;
                self.items(rest, regex_index + 1, next)
            }
            Detection::ByteTest(test) => {
                byte_test(test, self.buffer, &cursor)?;
                self.items(rest, regex_index, cursor)
            }
            Detection::ByteJump(jump) => {
                let next = byte_jump(jump, self.buffer, cursor)?;
                self.items(rest, regex_index, next)
            }
            Detection::ByteExtract(extract) => {
                let next = byte_extract(extract, self.buffer, cursor)?;
                self.items(rest, regex_index, next)
            }
            Detection::IsDataAt(at) => {
                isdataat(at, self.buffer, &cursor)?;
                self.items(rest, regex_index, cursor)
            }
            Detection::Bsize(test) => {
                test.test(self.buffer.len() as u64).then_some(())?;
                self.items(rest, regex_index, cursor)
            }
        }
    }

    /// A content: every occurrence in its window in turn until the rest of
    /// the items match after one (Suricata's backtracking).
    fn content(
        &mut self,
        content: &Content,
        rest: &[Detection],
        regex_index: usize,
        cursor: Cursor,
    ) -> Option<usize> {
        let Some((start, end)) = content_window(content, self.buffer.len(), &cursor) else {
            // no room for the pattern: a negated content is then absent
            return if content.negated {
                self.items(rest, regex_index, cursor)
            } else {
                None
            };
        };
        let pattern = content.pattern.as_slice();
        let window = self.buffer.get(start..end)?;
        // endswith: the match ends where the buffer ends, inside the window
        let at_end = end == self.buffer.len() && ends_with(window, pattern, content.nocase);
        if content.negated {
            let found = if content.endswith {
                at_end
            } else {
                find(window, pattern, content.nocase, 0).is_some()
            };
            return if found {
                None
            } else {
                self.items(rest, regex_index, cursor)
            };
        }
        if content.endswith {
            if !at_end {
                return None;
            }
            let next = Cursor {
                prev_end: end,
                ..cursor
            };
            return self.items(rest, regex_index, next);
        }
        let mut from = 0usize;
        while let Some(at) = find(window, pattern, content.nocase, from) {
            let next = Cursor {
                prev_end: start + at + pattern.len(),
                ..cursor
            };
            if let Some(done) = self.items(rest, regex_index, next) {
                return Some(done);
            }
            // only a later relative item can change its mind about this one
            if !rest_depends_on_position(rest) || *self.steps > MAX_STEPS {
                return None;
            }
            from = at + 1;
            *self.steps += 1;
        }
        None
    }

    fn pcre(&mut self, pcre: &Pcre, regex_index: usize, cursor: Cursor) -> Option<Cursor> {
        let regex = self.regexes.get(regex_index)?.get()?;
        let start = if pcre.relative {
            cursor.prev_end.min(self.buffer.len())
        } else {
            0
        };
        let haystack = self.buffer.get(start..)?;
        let found = regex
            .find(haystack)
            .filter(|m| !pcre.anchored || m.start() == 0);
        match (found, pcre.negated) {
            (Some(m), false) => Some(Cursor {
                prev_end: start + m.end(),
                ..cursor
            }),
            (None, true) => Some(cursor),
            _ => None,
        }
    }
}

/// Whether some item of `rest` is placed relative to the previous match
/// (so another occurrence of the current content could make it match).
fn rest_depends_on_position(rest: &[Detection]) -> bool {
    rest.iter().any(|item| match item {
        Detection::Content(c) => c.is_relative(),
        Detection::Pcre(p) => p.relative,
        Detection::ByteTest(t) => t.read.relative,
        Detection::ByteJump(j) => j.read.relative,
        Detection::ByteExtract(e) => e.read.relative,
        Detection::IsDataAt(i) => i.relative,
        Detection::Bsize(_) => false,
    })
}

fn value(v: &Value, cursor: &Cursor) -> i64 {
    match v {
        Value::Literal(n) => *n,
        Value::Variable(i) => cursor.variables.get(*i).copied().unwrap_or(0),
    }
}

/// The byte range a content may be found in, as Suricata computes it.
fn content_window(content: &Content, len: usize, cursor: &Cursor) -> Option<(usize, usize)> {
    let len_i = len as i64;
    let plen = content.pattern.len() as i64;
    let (mut start, mut end);
    if content.is_relative() {
        let distance = content.distance.as_ref().map_or(0, |d| value(d, cursor));
        start = cursor.prev_end as i64 + distance;
        end = match &content.within {
            Some(w) => start + value(w, cursor),
            None => len_i,
        };
        if start < 0 {
            start = 0;
        }
    } else {
        start = content.offset.as_ref().map_or(0, |o| value(o, cursor));
        end = match &content.depth {
            Some(d) => start + value(d, cursor),
            None => len_i,
        };
    }
    if content.startswith {
        end = end.min(start + plen);
    }
    end = end.min(len_i);
    if start < 0 || start > end || end - start < plen {
        return None;
    }
    Some((start as usize, end as usize))
}

/// First occurrence of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], nocase: bool, from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        let b = *haystack.get(i)?;
        let first_ok = if nocase {
            b.eq_ignore_ascii_case(&first)
        } else {
            b == first
        };
        if first_ok {
            let candidate = haystack.get(i..i + needle.len())?;
            let same = if nocase {
                candidate.eq_ignore_ascii_case(needle)
            } else {
                candidate == needle
            };
            if same {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

fn ends_with(haystack: &[u8], needle: &[u8], nocase: bool) -> bool {
    let Some(start) = haystack.len().checked_sub(needle.len()) else {
        return false;
    };
    match haystack.get(start..) {
        Some(tail) if nocase => tail.eq_ignore_ascii_case(needle),
        Some(tail) => tail == needle,
        None => false,
    }
}

/// Read the number `read` describes; also where the read ended.
fn read_number(read: &ByteRead, buffer: &[u8], cursor: &Cursor) -> Option<(u64, usize)> {
    let base = if read.relative {
        cursor.prev_end as i64
    } else {
        0
    };
    let start = base + value(&read.offset, cursor);
    if start < 0 {
        return None;
    }
    let start = start as usize;
    let bytes = buffer.get(start..start.checked_add(read.bytes)?)?;
    let mut number: u64 = match read.base {
        NumberBase::Binary => {
            let mut n: u64 = 0;
            match read.endian {
                Endian::Big => {
                    for b in bytes {
                        n = n << 8 | u64::from(*b);
                    }
                }
                Endian::Little => {
                    for b in bytes.iter().rev() {
                        n = n << 8 | u64::from(*b);
                    }
                }
            }
            n
        }
        NumberBase::Dec | NumberBase::Hex | NumberBase::Oct => {
            let radix = match read.base {
                NumberBase::Hex => 16,
                NumberBase::Oct => 8,
                _ => 10,
            };
            // leading digits only, as strtoul reads them; none is no match
            let text = std::str::from_utf8(bytes).ok()?;
            let digits: &str = text
                .get(
                    ..text
                        .find(|c: char| !c.is_digit(radix))
                        .unwrap_or(text.len()),
                )
                .unwrap_or_default();
            u64::from_str_radix(digits, radix).ok()?
        }
    };
    if let Some(mask) = read.bitmask {
        number &= mask;
        if mask != 0 {
            number >>= mask.trailing_zeros();
        }
    }
    Some((number, start + read.bytes))
}

fn byte_test(test: &ByteTest, buffer: &[u8], cursor: &Cursor) -> Option<()> {
    let (n, _) = read_number(&test.read, buffer, cursor)?;
    let v = value(&test.value, cursor) as u64;
    let result = match test.op {
        ByteOp::Lt => n < v,
        ByteOp::Gt => n > v,
        ByteOp::Eq => n == v,
        ByteOp::Le => n <= v,
        ByteOp::Ge => n >= v,
        ByteOp::And => n & v != 0,
        ByteOp::Xor => n ^ v != 0,
    };
    (result != test.negated).then_some(())
}

fn byte_jump(jump: &ByteJump, buffer: &[u8], cursor: Cursor) -> Option<Cursor> {
    let (n, read_end) = read_number(&jump.read, buffer, &cursor)?;
    let mut distance = n.checked_mul(jump.multiplier)? as i64;
    if jump.align && distance % 4 != 0 {
        distance += 4 - distance % 4;
    }
    let base: i64 = if jump.from_beginning {
        0
    } else if jump.from_end {
        buffer.len() as i64
    } else {
        read_end as i64
    };
    let target = base.checked_add(distance)?.checked_add(jump.post_offset)?;
    // Suricata: a jump outside the buffer fails
    if target < 0 || target > buffer.len() as i64 {
        return None;
    }
    Some(Cursor {
        prev_end: target as usize,
        ..cursor
    })
}

fn byte_extract(extract: &ByteExtract, buffer: &[u8], cursor: Cursor) -> Option<Cursor> {
    let (n, read_end) = read_number(&extract.read, buffer, &cursor)?;
    let mut v = n.checked_mul(extract.multiplier)?;
    if extract.align > 1 && v % extract.align != 0 {
        v += extract.align - v % extract.align;
    }
    let mut next = cursor;
    *next.variables.get_mut(extract.variable)? = i64::try_from(v).ok()?;
    if extract.read.relative {
        next.prev_end = read_end;
    }
    Some(next)
}

fn isdataat(at: &IsDataAt, buffer: &[u8], cursor: &Cursor) -> Option<()> {
    let base = if at.relative {
        cursor.prev_end as i64
    } else {
        0
    };
    let position = base + value(&at.offset, cursor);
    let present = position >= 0 && (position as usize) < buffer.len();
    (present != at.negated).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::classification::Classifications;
    use crate::signature::parse::{parse_rule, ParseContext};
    use crate::signature::vars::RuleVars;

    /// Whether the payload items of `options` match `payload`.
    fn matches(options: &str, payload: &[u8]) -> bool {
        let text = format!("alert tcp any any -> any any ({options} sid:1;)");
        let vars = RuleVars::default();
        let classes = Classifications::default();
        let rule = parse_rule(
            &text,
            ParseContext {
                vars: &vars,
                classifications: &classes,
            },
        )
        .unwrap();
        let items = &rule.buffers[0].items;
        let regexes: Vec<LazyRegex> = items
            .iter()
            .filter_map(|i| match i {
                Detection::Pcre(p) => Some(LazyRegex::new(&p.pattern)),
                _ => None,
            })
            .collect();
        match_buffer(items, payload, &regexes, 0).is_some()
    }

    #[test]
    fn content_plain_nocase_and_hex() {
        assert!(matches(r#"content:"abc";"#, b"xxabcxx"));
        assert!(!matches(r#"content:"abc";"#, b"xxABCxx"));
        assert!(matches(r#"content:"abc"; nocase;"#, b"xxABCxx"));
        assert!(matches(r#"content:"|00 01|a";"#, b"\x00\x01a"));
        assert!(!matches(r#"content:"|00 01|a";"#, b"\x00\x02a"));
    }

    #[test]
    fn offset_and_depth() {
        assert!(matches(r#"content:"ab"; offset:2; depth:2;"#, b"xxab"));
        assert!(!matches(r#"content:"ab"; offset:2; depth:2;"#, b"xxxab"));
        assert!(!matches(r#"content:"ab"; offset:3;"#, b"xxab"));
        assert!(matches(r#"content:"ab"; depth:2;"#, b"abxx"));
        assert!(!matches(r#"content:"ab"; depth:2;"#, b"xabx"));
    }

    #[test]
    fn distance_and_within() {
        assert!(matches(
            r#"content:"a"; content:"b"; distance:1; within:2;"#,
            b"axb"
        ));
        assert!(!matches(
            r#"content:"a"; content:"b"; distance:1; within:2;"#,
            b"ab"
        ));
        // within counts from where distance puts the start (Suricata)
        assert!(matches(
            r#"content:"a"; content:"b"; distance:1; within:2;"#,
            b"axxb"
        ));
        assert!(!matches(
            r#"content:"a"; content:"b"; distance:1; within:2;"#,
            b"axxxb"
        ));
        assert!(matches(
            r#"content:"a"; content:"b"; distance:0;"#,
            b"zzbzzab"
        ));
        assert!(matches(
            r#"content:"ab"; content:"a"; distance:-2; within:1;"#,
            b"xab"
        ));
    }

    #[test]
    fn backtracking_tries_later_occurrences() {
        // the first "a" is followed by "c", the second by "b"
        assert!(matches(r#"content:"a"; content:"b"; within:1;"#, b"acab"));
        assert!(!matches(r#"content:"a"; content:"b"; within:1;"#, b"acac"));
    }

    #[test]
    fn startswith_endswith() {
        assert!(matches(r#"content:"GET"; startswith;"#, b"GET /"));
        assert!(!matches(r#"content:"GET"; startswith;"#, b" GET /"));
        assert!(matches(r#"content:".exe"; endswith;"#, b"/a.exe"));
        assert!(!matches(r#"content:".exe"; endswith;"#, b"/a.exe?x"));
        // depth cuts the window before the end: no match
        assert!(!matches(r#"content:"z"; depth:1; endswith;"#, b"zgrab"));
        assert!(matches(r#"content:"z"; depth:1; endswith;"#, b"z"));
    }

    #[test]
    fn negated_content_on_a_short_or_empty_buffer_is_absent() {
        assert!(matches(r#"content:!"u";"#, b""));
        assert!(matches(
            r#"content:"a"; content:!"bc"; distance:0;"#,
            b"xab"
        ));
    }

    #[test]
    fn negated_content() {
        assert!(matches(r#"content:"a"; content:!"b";"#, b"ac"));
        assert!(!matches(r#"content:"a"; content:!"b";"#, b"acb"));
        assert!(matches(r#"content:"a"; content:!"b"; within:1;"#, b"acb"));
        assert!(!matches(r#"content:"a"; content:!"b"; within:1;"#, b"abc"));
    }

    #[test]
    fn pcre_plain_relative_anchored_negated() {
        assert!(matches(r#"pcre:"/a[0-9]+b/";"#, b"xa12b"));
        assert!(!matches(r#"pcre:"/a[0-9]+b/";"#, b"xab"));
        assert!(matches(r#"pcre:"/^GET/i";"#, b"get /"));
        assert!(matches(r#"content:"x"; pcre:"/^y/R";"#, b"axy"));
        assert!(!matches(r#"content:"x"; pcre:"/^y/R";"#, b"axzy"));
        assert!(matches(r#"content:"x"; pcre:!"/z/R";"#, b"zxy"));
        assert!(!matches(r#"content:"x"; pcre:!"/z/R";"#, b"xyz"));
        assert!(matches(r#"pcre:"/\xff\x00/";"#, b"a\xff\x00"));
    }

    #[test]
    fn byte_test_jump_extract() {
        assert!(matches(r#"byte_test:2,>,255,0;"#, b"\x01\x00"));
        assert!(!matches(r#"byte_test:2,>,256,0;"#, b"\x01\x00"));
        assert!(matches(r#"byte_test:2,=,1,0,little;"#, b"\x01\x00"));
        assert!(matches(r#"byte_test:3,=,123,1,string,dec;"#, b"x123"));
        assert!(matches(r#"byte_test:1,&,0x80,0;"#, b"\x81"));
        assert!(!matches(r#"byte_test:1,&,0x80,0;"#, b"\x01"));
        assert!(matches(r#"byte_test:1,!=,5,0;"#, b"\x04"));
        // jump over a length-prefixed field to the content after it
        assert!(matches(
            r#"byte_jump:1,0; content:"z"; within:1;"#,
            b"\x02abz"
        ));
        assert!(!matches(
            r#"byte_jump:1,0; content:"z"; within:1;"#,
            b"\x01abz"
        ));
        assert!(matches(
            r#"byte_extract:1,0,len; content:"z"; offset:len; depth:1;"#,
            b"\x03abz"
        ));
        assert!(!matches(
            r#"byte_extract:1,0,len; content:"z"; offset:len; depth:1;"#,
            b"\x02abz"
        ));
        // past the end: no match, no panic
        assert!(!matches(r#"byte_test:4,>,0,10;"#, b"\x01"));
    }

    #[test]
    fn isdataat_and_bsize() {
        assert!(matches(r#"content:"a"; isdataat:2,relative;"#, b"abcd"));
        assert!(!matches(r#"content:"a"; isdataat:3,relative;"#, b"abcd"));
        assert!(matches(r#"content:"a"; isdataat:!3,relative;"#, b"abcd"));
        assert!(matches(r#"content:"a"; bsize:4;"#, b"abcd"));
        assert!(!matches(r#"content:"a"; bsize:>4;"#, b"abcd"));
    }

    #[test]
    fn hostile_payloads_stay_bounded() {
        let payload = vec![b'a'; 100_000];
        // many occurrences, a relative content that never matches
        assert!(!matches(
            r#"content:"a"; content:"a"; distance:0; content:"b"; distance:0;"#,
            &payload
        ));
    }
}
