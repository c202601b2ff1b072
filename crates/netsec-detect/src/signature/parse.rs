//! The rule parser: Suricata rule text to a [`Rule`].
//!
//! Hand-written, one pass over the text, never panics and never recurses
//! on input beyond a small bound; an error names the byte column (1-based,
//! in the rule's text) and says whether the rule is malformed or only uses
//! something netsec does not run ([`RuleErrorKind::Unsupported`]). A rule with
//! any unsupported keyword is rejected whole: it is never half-run.

use super::classification::Classifications;
use super::rule::*;
use super::vars::{ExprError, RuleVars};

/// Most options in one rule (ET's longest has about 60).
const MAX_OPTIONS: usize = 512;
/// Most `byte_extract` variables in one rule.
const MAX_VARIABLES: usize = 16;
/// Longest `pcre` pattern accepted (ET's longest is under 2 KiB).
const MAX_PCRE_LEN: usize = 16 * 1024;

/// What went wrong, and whether it is the rule's fault or netsec's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleErrorKind {
    /// The text is not a rule.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A keyword netsec does not run.
    #[error("unsupported keyword `{0}`")]
    UnsupportedKeyword(String),
    /// A supported keyword with a setting netsec does not run (a protocol
    /// netsec does not decode, a pcre construct the regex crate lacks).
    #[error("unsupported {keyword}: {reason}")]
    Unsupported {
        /// The keyword.
        keyword: String,
        /// Why.
        reason: String,
    },
    /// An address or port expression.
    #[error("{0}")]
    Expression(#[from] ExprError),
}

/// A rule that was not loaded: why, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {kind}")]
pub struct RuleError {
    /// 1-based byte column in the rule's text.
    pub column: usize,
    /// What.
    pub kind: RuleErrorKind,
}

impl RuleError {
    /// Whether the rule is valid Suricata but uses something netsec does not
    /// run (as opposed to a syntax error).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self.kind,
            RuleErrorKind::UnsupportedKeyword(_) | RuleErrorKind::Unsupported { .. }
        )
    }

    /// The keyword behind an unsupported rule (`xbits`, `pcre`, `protocol ftp`).
    pub fn unsupported_keyword(&self) -> Option<&str> {
        match &self.kind {
            RuleErrorKind::UnsupportedKeyword(k) => Some(k),
            RuleErrorKind::Unsupported { keyword, .. } => Some(keyword),
            _ => None,
        }
    }
}

/// What a rule's text refers to: variables and classtypes.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// Address and port variables.
    pub vars: &'a RuleVars,
    /// Classtypes (for the priority when a rule gives none).
    pub classifications: &'a Classifications,
}

fn syntax(column: usize, message: impl Into<String>) -> RuleError {
    RuleError {
        column,
        kind: RuleErrorKind::Syntax(message.into()),
    }
}

fn unsupported(column: usize, keyword: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        column,
        kind: RuleErrorKind::Unsupported {
            keyword: keyword.to_string(),
            reason: reason.into(),
        },
    }
}

/// Parse one rule (one logical line, without a leading `#`).
pub fn parse_rule(text: &str, context: ParseContext<'_>) -> Result<Rule, RuleError> {
    let open = text
        .find('(')
        .ok_or_else(|| syntax(text.len() + 1, "no `(` opening the options"))?;
    let close = text
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or_else(|| syntax(text.len() + 1, "no `)` closing the options"))?;
    if let Some(extra) = text
        .get(close + 1..)
        .and_then(|rest| rest.find(|c: char| !c.is_whitespace()))
    {
        return Err(syntax(close + 2 + extra, "text after the closing `)`"));
    }
    let header = parse_header(text.get(..open).unwrap_or_default(), context.vars)?;
    let body = text.get(open + 1..close).unwrap_or_default();
    let mut builder = RuleBuilder::new(header, context);
    let options = split_options(body, open + 1)?;
    if options.len() > MAX_OPTIONS {
        return Err(syntax(open + 1, format!("more than {MAX_OPTIONS} options")));
    }
    for option in &options {
        builder.option(option)?;
    }
    builder.finish(open + 1)
}

/// One `name[:value];` of the options, with the columns of both.
#[derive(Debug, Clone, Copy)]
struct RawOption<'a> {
    name: &'a str,
    value: Option<&'a str>,
    column: usize,
    value_column: usize,
}

/// Split the options on `;` not escaped by `\` (as Suricata does, quotes
/// do not protect a `;`).
fn split_options(body: &str, base: usize) -> Result<Vec<RawOption<'_>>, RuleError> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'\\') => i += 2,
            Some(b';') => {
                push_option(body, start, i, base, &mut out)?;
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    let rest = body.get(start..).unwrap_or_default();
    if !rest.trim().is_empty() {
        return Err(syntax(
            base + start + 1 + (rest.len() - rest.trim_start().len()),
            "option without a closing `;`",
        ));
    }
    Ok(out)
}

fn push_option<'a>(
    body: &'a str,
    start: usize,
    end: usize,
    base: usize,
    out: &mut Vec<RawOption<'a>>,
) -> Result<(), RuleError> {
    let raw = body.get(start..end).unwrap_or_default();
    let lead = raw.len() - raw.trim_start().len();
    let column = base + start + lead + 1;
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(syntax(column, "empty option (`;;`)"));
    }
    let (name, value, value_column) = match raw.split_once(':') {
        Some((name, value)) => {
            let value_lead = value.len() - value.trim_start().len();
            (
                name.trim(),
                Some(value.trim()),
                column + name.len() + 1 + value_lead,
            )
        }
        None => (raw, None, column),
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(syntax(column, format!("bad option name `{name}`")));
    }
    out.push(RawOption {
        name,
        value,
        column,
        value_column,
    });
    Ok(())
}

/// The seven header fields, split on whitespace outside brackets.
fn parse_header(text: &str, vars: &RuleVars) -> Result<RuleHeader, RuleError> {
    let mut fields: Vec<(usize, &str)> = Vec::with_capacity(7);
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    for (i, ch) in text.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if ch.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                fields.push((s, text.get(s..i).unwrap_or_default()));
            }
        } else if start.is_none() {
            start = Some(i);
        }
        if fields.len() > 7 {
            break;
        }
    }
    if let Some(s) = start {
        fields.push((s, text.get(s..).unwrap_or_default()));
    }
    if fields.len() != 7 {
        return Err(syntax(
            fields.get(7).map_or(text.len() + 1, |(c, _)| c + 1),
            format!(
                "the header needs 7 fields (action protocol source ports direction destination ports), found {}",
                fields.len()
            ),
        ));
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or((0, ""));
    let (col, action) = field(0);
    let action = match action {
        "alert" => Action::Alert,
        "pass" => Action::Pass,
        "drop" => Action::Drop,
        "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
        other => return Err(syntax(col + 1, format!("unknown action `{other}`"))),
    };
    let (col, protocol) = field(1);
    let protocol = parse_protocol(protocol, col + 1)?;
    let expr = |i: usize, port: bool| -> Result<(AddressExpr, PortExpr), RuleError> {
        let (col, text) = field(i);
        let wrap = |e: ExprError| RuleError {
            column: col + 1,
            kind: RuleErrorKind::Expression(e),
        };
        if port {
            vars.port(text).map(|p| (AddressExpr::Any, p)).map_err(wrap)
        } else {
            vars.address(text).map(|a| (a, PortExpr::Any)).map_err(wrap)
        }
    };
    let (src, _) = expr(2, false)?;
    let (_, src_ports) = expr(3, true)?;
    let (col, arrow) = field(4);
    let direction = match arrow {
        "->" => RuleDirection::OneWay,
        "<>" => RuleDirection::Both,
        other => {
            return Err(syntax(
                col + 1,
                format!("direction must be `->` or `<>`, not `{other}`"),
            ))
        }
    };
    let (dst, _) = expr(5, false)?;
    let (_, dst_ports) = expr(6, true)?;
    Ok(RuleHeader {
        action,
        protocol,
        src,
        src_ports,
        direction,
        dst,
        dst_ports,
    })
}

fn parse_protocol(name: &str, column: usize) -> Result<RuleProtocol, RuleError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "ip" | "ipv4" | "ipv6" | "pkthdr" => RuleProtocol::Ip,
        "tcp" => RuleProtocol::Tcp,
        "tcp-pkt" => RuleProtocol::TcpPkt,
        "tcp-stream" => RuleProtocol::TcpStream,
        "udp" => RuleProtocol::Udp,
        "icmp" | "icmpv4" | "icmpv6" => RuleProtocol::Icmp,
        "http" | "http1" => RuleProtocol::App(AppProtocol::Http),
        "dns" => RuleProtocol::App(AppProtocol::Dns),
        "tls" => RuleProtocol::App(AppProtocol::Tls),
        "ssh" => RuleProtocol::App(AppProtocol::Ssh),
        "smb" => RuleProtocol::App(AppProtocol::Smb),
        "dhcp" => RuleProtocol::App(AppProtocol::Dhcp),
        "ntp" => RuleProtocol::App(AppProtocol::Ntp),
        "ftp" => RuleProtocol::App(AppProtocol::Ftp),
        "smtp" => RuleProtocol::App(AppProtocol::Smtp),
        "" => return Err(syntax(column, "no protocol")),
        other
            if other
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            return Err(unsupported(
                column,
                &format!("protocol {other}"),
                "netsec-proto does not decode it",
            ))
        }
        other => return Err(syntax(column, format!("bad protocol `{other}`"))),
    })
}

/// Builds a rule option by option, tracking the sticky buffer and the last
/// content (which modifiers apply to).
struct RuleBuilder<'c> {
    context: ParseContext<'c>,
    rule: Rule,
    has_sid: bool,
    has_msg: bool,
    /// The buffer set by the last sticky-buffer keyword.
    sticky: Buffer,
    /// Where the last content or pcre is: (buffer index, item index).
    last_match: Option<(usize, usize)>,
}

impl<'c> RuleBuilder<'c> {
    fn new(header: RuleHeader, context: ParseContext<'c>) -> Self {
        RuleBuilder {
            context,
            rule: Rule {
                header,
                msg: String::new(),
                sid: 0,
                rev: 0,
                gid: 1,
                classtype: None,
                priority: None,
                references: Vec::new(),
                metadata: Vec::new(),
                flow: FlowOptions::default(),
                flowbits: Vec::new(),
                noalert: false,
                buffers: Vec::new(),
                variables: Vec::new(),
                dsize: None,
                flags: None,
                itype: None,
                icode: None,
                ttl: None,
                ip_proto: None,
                threshold: None,
                detection_filter: None,
            },
            has_sid: false,
            has_msg: false,
            sticky: Buffer::Payload,
            last_match: None,
        }
    }

    fn finish(mut self, column: usize) -> Result<Rule, RuleError> {
        if !self.has_sid {
            return Err(syntax(column, "no `sid`"));
        }
        if !self.has_msg {
            self.rule.msg = String::new();
        }
        if self.rule.priority.is_none() {
            self.rule.priority = self
                .rule
                .classtype
                .as_deref()
                .and_then(|c| self.context.classifications.get(c))
                .map(|c| c.priority);
        }
        self.rule
            .buffers
            .retain(|b| !b.items.is_empty() || !b.transforms.is_empty());
        Ok(self.rule)
    }

    fn buffer_index(&mut self, buffer: Buffer) -> usize {
        match self.rule.buffers.iter().position(|b| b.buffer == buffer) {
            Some(i) => i,
            None => {
                self.rule.buffers.push(BufferMatch {
                    buffer,
                    transforms: Vec::new(),
                    items: Vec::new(),
                });
                self.rule.buffers.len() - 1
            }
        }
    }

    /// Add an item to the current buffer. A relative item after an old-style
    /// content modifier follows that content into its buffer, as in Suricata.
    fn push_item(&mut self, item: Detection, relative: bool) -> (usize, usize) {
        let buffer = match (self.sticky, relative, self.last_match) {
            (Buffer::Payload, true, Some((b, _))) => self
                .rule
                .buffers
                .get(b)
                .map_or(Buffer::Payload, |m| m.buffer),
            (sticky, _, _) => sticky,
        };
        let b = self.buffer_index(buffer);
        let items = match self.rule.buffers.get_mut(b) {
            Some(m) => &mut m.items,
            None => return (0, 0),
        };
        items.push(item);
        (b, items.len() - 1)
    }

    fn last_content(&mut self, keyword: &str, column: usize) -> Result<&mut Content, RuleError> {
        let (b, i) = self
            .last_match
            .ok_or_else(|| syntax(column, format!("`{keyword}` without a preceding content")))?;
        match self
            .rule
            .buffers
            .get_mut(b)
            .and_then(|m| m.items.get_mut(i))
        {
            Some(Detection::Content(c)) => Ok(c),
            _ => Err(syntax(column, format!("`{keyword}` must follow a content"))),
        }
    }

    fn value(&self, text: &str, column: usize) -> Result<Value, RuleError> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::Literal(n));
        }
        self.rule
            .variables
            .iter()
            .position(|v| v == text)
            .map(Value::Variable)
            .ok_or_else(|| {
                syntax(
                    column,
                    format!("`{text}` is neither a number nor a byte_extract variable"),
                )
            })
    }

    fn option(&mut self, option: &RawOption<'_>) -> Result<(), RuleError> {
        let name = option.name;
        let column = option.column;
        let vcol = option.value_column;
        let value = || {
            option
                .value
                .ok_or_else(|| syntax(column, format!("`{name}` needs a value")))
        };
        if let Some(buffer) = Buffer::from_sticky(name) {
            if option.value.is_some() {
                return Err(syntax(column, format!("`{name}` takes no value")));
            }
            self.sticky = buffer;
            self.buffer_index(buffer);
            return Ok(());
        }
        if let Some(buffer) = Buffer::from_modifier(name) {
            return self.move_last_content(buffer, name, column);
        }
        match name {
            "msg" => {
                self.rule.msg = unescape(unquote(value()?, vcol)?);
                self.has_msg = true;
            }
            "sid" => {
                self.rule.sid = parse_number(value()?, vcol, name)?;
                self.has_sid = true;
            }
            "rev" => self.rule.rev = parse_number(value()?, vcol, name)?,
            "gid" => self.rule.gid = parse_number(value()?, vcol, name)?,
            "priority" => self.rule.priority = Some(parse_number(value()?, vcol, name)?),
            "classtype" => {
                let class = value()?;
                if self.context.classifications.get(class).is_none() {
                    return Err(syntax(vcol, format!("unknown classtype `{class}`")));
                }
                self.rule.classtype = Some(class.to_string());
            }
            "reference" => self.rule.references.push(value()?.to_string()),
            "metadata" => {
                for pair in value()?.split(',') {
                    let pair = pair.trim();
                    let (k, v) = pair.split_once(' ').unwrap_or((pair, ""));
                    if !k.is_empty() {
                        self.rule
                            .metadata
                            .push((k.to_string(), v.trim().to_string()));
                    }
                }
            }
            // output-side keywords: they do not change what alerts
            "target" | "tag" => {}
            "noalert" => self.rule.noalert = true,
            "content" => {
                let content = parse_content(value()?, vcol)?;
                self.last_match = Some(self.push_item(Detection::Content(content), false));
            }
            "nocase" => self.last_content(name, column)?.nocase = true,
            "fast_pattern" => self.last_content(name, column)?.fast_pattern = true,
            "startswith" => self.last_content(name, column)?.startswith = true,
            "endswith" => self.last_content(name, column)?.endswith = true,
            "depth" | "offset" | "distance" | "within" => {
                let v = self.value(value()?, vcol)?;
                let content = self.last_content(name, column)?;
                let slot = match name {
                    "depth" => &mut content.depth,
                    "offset" => &mut content.offset,
                    "distance" => &mut content.distance,
                    _ => &mut content.within,
                };
                *slot = Some(v);
            }
            "pcre" => {
                let (pcre, buffer) = parse_pcre(value()?, vcol)?;
                let relative = pcre.relative;
                if let Some(buffer) = buffer {
                    let saved = self.sticky;
                    self.sticky = buffer;
                    self.last_match = Some(self.push_item(Detection::Pcre(pcre), false));
                    self.sticky = saved;
                } else {
                    self.last_match = Some(self.push_item(Detection::Pcre(pcre), relative));
                }
            }
            "byte_test" => {
                let test = self.parse_byte_test(value()?, vcol)?;
                let relative = test.read.relative;
                self.push_item(Detection::ByteTest(test), relative);
            }
            "byte_jump" => {
                let jump = self.parse_byte_jump(value()?, vcol)?;
                let relative = jump.read.relative;
                self.last_match = Some(self.push_item(Detection::ByteJump(jump), relative));
            }
            "byte_extract" => {
                let extract = self.parse_byte_extract(value()?, vcol)?;
                let relative = extract.read.relative;
                self.push_item(Detection::ByteExtract(extract), relative);
            }
            "isdataat" => {
                let text = value()?;
                let mut parts = text.split(',').map(str::trim);
                let first = parts.next().unwrap_or_default();
                let (negated, first) = match first.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, first),
                };
                let offset = self.value(first, vcol)?;
                let mut relative = false;
                for part in parts {
                    match part {
                        "relative" => relative = true,
                        "rawbytes" => {}
                        other => {
                            return Err(syntax(vcol, format!("unknown isdataat option `{other}`")))
                        }
                    }
                }
                self.push_item(
                    Detection::IsDataAt(IsDataAt {
                        offset,
                        relative,
                        negated,
                    }),
                    relative,
                );
            }
            "bsize" => {
                let test = parse_number_test(value()?, vcol)?;
                self.push_item(Detection::Bsize(test), false);
            }
            "urilen" => {
                let text = value()?;
                let (test, _raw_or_norm) = text.split_once(',').unwrap_or((text, ""));
                let test = parse_number_test(test, vcol)?;
                let b = self.buffer_index(Buffer::HttpUri);
                if let Some(m) = self.rule.buffers.get_mut(b) {
                    m.items.insert(0, Detection::Bsize(test));
                }
                // the insertion moved the uri buffer's items: the last match there moved by one
                if let Some((lb, li)) = self.last_match {
                    if lb == b {
                        self.last_match = Some((lb, li + 1));
                    }
                }
            }
            "dotprefix" => {
                if self.sticky == Buffer::Payload {
                    return Err(syntax(column, "`dotprefix` must follow a sticky buffer"));
                }
                let b = self.buffer_index(self.sticky);
                if let Some(m) = self.rule.buffers.get_mut(b) {
                    m.transforms.push(Transform::DotPrefix);
                }
            }
            "dsize" => self.rule.dsize = Some(parse_number_test(value()?, vcol)?),
            "itype" => self.rule.itype = Some(parse_number_test(value()?, vcol)?),
            "icode" => self.rule.icode = Some(parse_number_test(value()?, vcol)?),
            "ttl" => self.rule.ttl = Some(parse_number_test(value()?, vcol)?),
            "ip_proto" => self.rule.ip_proto = Some(parse_ip_proto(value()?, vcol)?),
            "flags" => self.rule.flags = Some(parse_flags(value()?, vcol)?),
            "flow" => parse_flow(value()?, vcol, &mut self.rule.flow)?,
            "flowbits" => match parse_flowbits(value()?, vcol)? {
                Some(command) => self.rule.flowbits.push(command),
                None => self.rule.noalert = true,
            },
            "threshold" => {
                self.rule.threshold = Some(parse_threshold(value()?, vcol, false)?);
            }
            "detection_filter" => {
                self.rule.detection_filter = Some(parse_threshold(value()?, vcol, true)?);
            }
            other => {
                return Err(RuleError {
                    column,
                    kind: RuleErrorKind::UnsupportedKeyword(other.to_string()),
                })
            }
        }
        Ok(())
    }

    /// `content:"x"; http_uri;`: move the last content into `buffer`.
    fn move_last_content(
        &mut self,
        buffer: Buffer,
        name: &str,
        column: usize,
    ) -> Result<(), RuleError> {
        let (b, i) = self
            .last_match
            .ok_or_else(|| syntax(column, format!("`{name}` without a preceding content")))?;
        let item = match self.rule.buffers.get_mut(b) {
            Some(m)
                if i < m.items.len() && matches!(m.items.get(i), Some(Detection::Content(_))) =>
            {
                m.items.remove(i)
            }
            _ => return Err(syntax(column, format!("`{name}` must follow a content"))),
        };
        let target = self.buffer_index(buffer);
        let len = match self.rule.buffers.get_mut(target) {
            Some(m) => {
                m.items.push(item);
                m.items.len()
            }
            None => return Err(syntax(column, "internal: no buffer")),
        };
        self.last_match = Some((target, len - 1));
        Ok(())
    }

    fn parse_read(
        &self,
        parts: &[&str],
        column: usize,
        offset_index: usize,
    ) -> Result<(ByteRead, Vec<String>), RuleError> {
        let bytes: usize =
            parse_number(parts.first().copied().unwrap_or_default(), column, "bytes")?;
        let offset = self.value(parts.get(offset_index).copied().unwrap_or_default(), column)?;
        let mut read = ByteRead {
            bytes,
            offset,
            relative: false,
            endian: Endian::Big,
            base: NumberBase::Binary,
            bitmask: None,
        };
        let mut rest = Vec::new();
        let mut string = false;
        for part in parts.iter().skip(offset_index + 1) {
            let mut words = part.split_whitespace();
            let word = words.next().unwrap_or_default();
            match word {
                "relative" => read.relative = true,
                "big" => read.endian = Endian::Big,
                "little" => read.endian = Endian::Little,
                "string" => string = true,
                "dec" => read.base = NumberBase::Dec,
                "hex" => read.base = NumberBase::Hex,
                "oct" => read.base = NumberBase::Oct,
                "bitmask" => {
                    let mask = words.next().unwrap_or_default();
                    let mask = mask.trim_start_matches("0x").trim_start_matches("0X");
                    read.bitmask = Some(
                        u64::from_str_radix(mask, 16)
                            .map_err(|_| syntax(column, format!("bad bitmask `{part}`")))?,
                    );
                }
                "dce" => return Err(unsupported(column, "byte_* dce", "DCE/RPC is not decoded")),
                _ => rest.push(part.to_string()),
            }
        }
        if string && read.base == NumberBase::Binary {
            read.base = NumberBase::Dec;
        }
        if !string && read.base != NumberBase::Binary {
            return Err(syntax(column, "dec/hex/oct need `string`"));
        }
        let max = if string { 23 } else { 8 };
        if bytes == 0 && string {
            return Err(unsupported(
                column,
                "byte_* 0 bytes",
                "reading a number of any length",
            ));
        }
        if bytes == 0 || bytes > max {
            return Err(syntax(column, format!("bytes must be 1 to {max}")));
        }
        Ok((read, rest))
    }

    fn parse_byte_test(&self, text: &str, column: usize) -> Result<ByteTest, RuleError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() < 4 {
            return Err(syntax(
                column,
                "byte_test needs bytes, operator, value, offset",
            ));
        }
        let op_text = parts.get(1).copied().unwrap_or_default();
        let (negated, op_text) = match op_text.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, op_text),
        };
        let (op, negated) = match op_text {
            "<" => (ByteOp::Lt, negated),
            ">" => (ByteOp::Gt, negated),
            "=" => (ByteOp::Eq, negated),
            "<=" => (ByteOp::Le, negated),
            ">=" => (ByteOp::Ge, negated),
            "&" => (ByteOp::And, negated),
            "^" => (ByteOp::Xor, negated),
            "!=" => (ByteOp::Eq, !negated),
            "" if negated => (ByteOp::Eq, true),
            other => return Err(syntax(column, format!("bad byte_test operator `{other}`"))),
        };
        let value = parts.get(2).copied().unwrap_or_default();
        let value = match parse_u64_any_base(value) {
            Some(n) => Value::Literal(i64::try_from(n).unwrap_or(i64::MAX)),
            None => self.value(value, column)?,
        };
        let mut reordered: Vec<&str> = vec![
            parts.first().copied().unwrap_or_default(),
            parts.get(3).copied().unwrap_or_default(),
        ];
        reordered.extend(parts.iter().skip(4));
        let (read, rest) = self.parse_read(&reordered, column, 1)?;
        if let Some(other) = rest.first() {
            return Err(syntax(
                column,
                format!("unknown byte_test option `{other}`"),
            ));
        }
        Ok(ByteTest {
            read,
            op,
            negated,
            value,
        })
    }

    fn parse_byte_jump(&self, text: &str, column: usize) -> Result<ByteJump, RuleError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() < 2 {
            return Err(syntax(column, "byte_jump needs bytes, offset"));
        }
        let (read, rest) = self.parse_read(&parts, column, 1)?;
        let mut jump = ByteJump {
            read,
            multiplier: 1,
            align: false,
            from_beginning: false,
            from_end: false,
            post_offset: 0,
        };
        for part in rest {
            let mut words = part.split_whitespace();
            match (words.next().unwrap_or_default(), words.next()) {
                ("align", None) => jump.align = true,
                ("from_beginning", None) => jump.from_beginning = true,
                ("from_end", None) => jump.from_end = true,
                ("multiplier", Some(n)) => jump.multiplier = parse_number(n, column, "multiplier")?,
                ("post_offset", Some(n)) => {
                    jump.post_offset = parse_number(n, column, "post_offset")?
                }
                _ => return Err(syntax(column, format!("unknown byte_jump option `{part}`"))),
            }
        }
        Ok(jump)
    }

    fn parse_byte_extract(&mut self, text: &str, column: usize) -> Result<ByteExtract, RuleError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if parts.len() < 3 {
            return Err(syntax(column, "byte_extract needs bytes, offset, name"));
        }
        let name = parts.get(2).copied().unwrap_or_default().to_string();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(syntax(
                column,
                format!("bad byte_extract variable `{name}`"),
            ));
        }
        let mut without_name: Vec<&str> = parts.iter().take(2).copied().collect();
        without_name.extend(parts.iter().skip(3));
        let (read, rest) = self.parse_read(&without_name, column, 1)?;
        let mut extract = ByteExtract {
            read,
            variable: 0,
            multiplier: 1,
            align: 0,
        };
        for part in rest {
            let mut words = part.split_whitespace();
            match (words.next().unwrap_or_default(), words.next()) {
                ("multiplier", Some(n)) => {
                    extract.multiplier = parse_number(n, column, "multiplier")?
                }
                ("align", Some(n)) => extract.align = parse_number(n, column, "align")?,
                _ => {
                    return Err(syntax(
                        column,
                        format!("unknown byte_extract option `{part}`"),
                    ))
                }
            }
        }
        if self.rule.variables.len() >= MAX_VARIABLES {
            return Err(syntax(column, "too many byte_extract variables"));
        }
        extract.variable = self.rule.variables.len();
        self.rule.variables.push(name);
        Ok(extract)
    }
}

fn parse_number<T: std::str::FromStr>(
    text: &str,
    column: usize,
    what: &str,
) -> Result<T, RuleError> {
    text.trim()
        .parse()
        .map_err(|_| syntax(column, format!("`{}` is not a valid {what}", text.trim())))
}

fn parse_u64_any_base(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// `"text"` to `text`.
fn unquote(text: &str, column: usize) -> Result<&str, RuleError> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|_| text.len() >= 2)
        .ok_or_else(|| syntax(column, "value must be in double quotes"))
}

/// Drop the `\` of `\"`, `\;`, `\\`, `\:`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `content` value: `[!]"text|41 42|text"`.
fn parse_content(text: &str, column: usize) -> Result<Content, RuleError> {
    let (negated, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let inner = unquote(text, column)?;
    let mut pattern = Vec::with_capacity(inner.len());
    let bytes = inner.as_bytes();
    let mut i = 0usize;
    let mut in_hex = false;
    let mut pending_nibble: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        if in_hex {
            match b {
                b'|' => {
                    if pending_nibble.is_some() {
                        return Err(syntax(column + i + 1, "odd number of hex digits"));
                    }
                    in_hex = false;
                }
                b' ' | b'\t' => {}
                _ => {
                    let nibble = (b as char).to_digit(16).ok_or_else(|| {
                        syntax(
                            column + i + 1,
                            format!("`{}` is not a hex digit", b as char),
                        )
                    })? as u8;
                    match pending_nibble.take() {
                        Some(high) => pattern.push(high << 4 | nibble),
                        None => pending_nibble = Some(nibble),
                    }
                }
            }
        } else {
            match b {
                b'|' => in_hex = true,
                b'\\' => {
                    i += 1;
                    match bytes.get(i) {
                        Some(&next) => pattern.push(next),
                        None => return Err(syntax(column + i + 1, "`\\` at the end of a content")),
                    }
                }
                b'"' => return Err(syntax(column + i + 1, "unescaped `\"` inside a content")),
                _ => pattern.push(b),
            }
        }
        i += 1;
    }
    if in_hex {
        return Err(syntax(column, "unterminated `|` hex section"));
    }
    if pattern.is_empty() {
        return Err(syntax(column, "empty content"));
    }
    Ok(Content {
        pattern,
        negated,
        nocase: false,
        offset: None,
        depth: None,
        distance: None,
        within: None,
        startswith: false,
        endswith: false,
        fast_pattern: false,
    })
}

/// `pcre` value: `[!]"/pattern/flags"`. Returns the pattern in regex-crate
/// syntax and the buffer its flags select, if any. Checks the pattern
/// parses (cheaply, without compiling).
fn parse_pcre(text: &str, column: usize) -> Result<(Pcre, Option<Buffer>), RuleError> {
    let (negated, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let inner = unquote(text, column)?;
    let body = inner
        .strip_prefix('/')
        .ok_or_else(|| syntax(column, "pcre must be \"/pattern/flags\""))?;
    let end = body
        .rfind('/')
        .ok_or_else(|| syntax(column, "pcre must be \"/pattern/flags\""))?;
    let pattern = body.get(..end).unwrap_or_default();
    let flags = body.get(end + 1..).unwrap_or_default();
    if pattern.len() > MAX_PCRE_LEN {
        return Err(unsupported(column, "pcre", "pattern longer than 16 KiB"));
    }
    let mut inline = String::new();
    let mut relative = false;
    let mut anchored = false;
    let mut buffer = None;
    for flag in flags.chars() {
        match flag {
            'i' | 's' | 'm' | 'x' => inline.push(flag),
            'G' => inline.push('U'),
            'R' => relative = true,
            'A' => anchored = true,
            // `$` strict end / PCRE match limits / raw bytes: no effect on a bytes regex
            'E' | 'O' | 'B' => {}
            'U' => buffer = Some(Buffer::HttpUri),
            'I' => buffer = Some(Buffer::HttpUriRaw),
            'P' => buffer = Some(Buffer::HttpRequestBody),
            'Q' => buffer = Some(Buffer::FileData),
            'H' => buffer = Some(Buffer::HttpHeader),
            'D' => buffer = Some(Buffer::HttpHeaderRaw),
            'M' => buffer = Some(Buffer::HttpMethod),
            'C' => buffer = Some(Buffer::HttpCookie),
            'S' => buffer = Some(Buffer::HttpStatCode),
            'Y' => buffer = Some(Buffer::HttpStatMsg),
            'V' => buffer = Some(Buffer::HttpUserAgent),
            'W' => buffer = Some(Buffer::HttpHost),
            other => {
                return Err(unsupported(
                    column,
                    "pcre",
                    format!("modifier `{other}` has no regex-crate equivalent"),
                ))
            }
        }
    }
    let pattern = pcre_to_regex(pattern);
    let full = if inline.is_empty() {
        pattern
    } else {
        format!("(?{inline}){pattern}")
    };
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .nest_limit(100)
        .build()
        .parse(&full)
        .map_err(|e| unsupported(column, "pcre", pcre_error_reason(&full, &e)))?;
    Ok((
        Pcre {
            pattern: full,
            negated,
            relative,
            anchored,
        },
        buffer,
    ))
}

/// Small rewrites from PCRE to regex-crate syntax that keep the meaning:
/// escapes of characters that need none in PCRE (`\;`, `\/`, `\<`, `\>`,
/// which the regex crate reads as word boundaries), a `{` that does not
/// start a valid quantifier (a literal in PCRE), and `\Z` (end, or before
/// a final newline) as `\n?\z`.
fn pcre_to_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.char_indices().peekable();
    let mut in_class = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next().map(|(_, c)| c) {
                Some(
                    c @ (';' | '/' | '"' | '<' | '>' | '\'' | '%' | '@' | '`' | ',' | '=' | '!'
                    | ':' | '_'),
                ) => {
                    out.push_str(&format!("\\x{:02X}", c as u32));
                }
                Some('Z') if !in_class => out.push_str("\\n?\\z"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // a `]` right after `[` or `[^` is a literal in PCRE
                if chars.peek().map(|(_, c)| *c) == Some('^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek().map(|(_, c)| *c) == Some(']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' if !in_class && !starts_quantifier(pattern.get(i + 1..).unwrap_or_default()) => {
                out.push_str("\\{")
            }
            '}' if !in_class && !closes_quantifier(&out) => out.push_str("\\}"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether the text after a `{` makes a PCRE quantifier: `n}`, `n,}`, `n,m}`.
fn starts_quantifier(after: &str) -> bool {
    let Some(end) = after.find('}') else {
        return false;
    };
    let inner = after.get(..end).unwrap_or_default();
    let (a, b) = inner.split_once(',').unwrap_or((inner, "0"));
    !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && b.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the `}` about to be written closes a quantifier already written.
fn closes_quantifier(written: &str) -> bool {
    match written.rfind('{') {
        Some(open) if !written.get(..open).unwrap_or_default().ends_with('\\') => {
            written.get(open + 1..).is_some_and(|inner| {
                !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit() || b == b',')
            })
        }
        _ => false,
    }
}

/// A short reason for a pattern the regex crate does not take.
fn pcre_error_reason(pattern: &str, error: &regex_syntax::Error) -> String {
    if ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|p| pattern.contains(p))
    {
        return "look-around is not supported by the regex crate".to_string();
    }
    let backreference = pattern.contains("(?P=")
        || pattern.contains("\\g")
        || pattern.contains("\\k<")
        || pattern.as_bytes().windows(2).any(|w| {
            w.first() == Some(&b'\\') && w.get(1).is_some_and(|d| (b'1'..=b'9').contains(d))
        });
    if backreference {
        return "backreferences are not supported by the regex crate".to_string();
    }
    if pattern.contains("(?>") || pattern.contains("*+") || pattern.contains("++") {
        return "atomic groups and possessive quantifiers are not supported by the regex crate"
            .to_string();
    }
    let text = error.to_string();
    let detail = text.lines().last().unwrap_or_default().trim();
    let detail = detail.strip_prefix("error: ").unwrap_or(detail);
    format!("regex crate: {detail}")
}

/// `N`, `!N`, `<N`, `>N`, `<=N`, `>=N`, `A<>B`, `A-B`.
fn parse_number_test(text: &str, column: usize) -> Result<NumberTest, RuleError> {
    let text = text.trim();
    let num = |s: &str| parse_number::<u64>(s, column, "number");
    if let Some((a, b)) = text.split_once("<>") {
        return Ok(NumberTest::Between(num(a)?, num(b)?));
    }
    if let Some(rest) = text.strip_prefix("<=") {
        return Ok(NumberTest::Le(num(rest)?));
    }
    if let Some(rest) = text.strip_prefix(">=") {
        return Ok(NumberTest::Ge(num(rest)?));
    }
    if let Some(rest) = text.strip_prefix('<') {
        return Ok(NumberTest::Lt(num(rest)?));
    }
    if let Some(rest) = text.strip_prefix('>') {
        return Ok(NumberTest::Gt(num(rest)?));
    }
    if let Some(rest) = text.strip_prefix('!') {
        return Ok(NumberTest::Ne(num(rest)?));
    }
    if let Some(rest) = text.strip_prefix('=') {
        return Ok(NumberTest::Eq(num(rest)?));
    }
    if let Some((a, b)) = text.split_once('-') {
        // Suricata's `min-max` is inclusive
        let (a, b) = (num(a)?, num(b)?);
        return Ok(NumberTest::Between(
            a.saturating_sub(1),
            b.saturating_add(1),
        ));
    }
    Ok(NumberTest::Eq(num(text)?))
}

fn parse_ip_proto(text: &str, column: usize) -> Result<NumberTest, RuleError> {
    let text = text.trim();
    let (prefix, name) = match text.chars().next() {
        Some(c @ ('!' | '<' | '>')) => (Some(c), text.get(1..).unwrap_or_default().trim()),
        _ => (None, text),
    };
    let number = match name.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "ipv6-icmp" | "icmpv6" => 58,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "sctp" => 132,
        other => parse_number::<u64>(other, column, "IP protocol")?,
    };
    Ok(match prefix {
        Some('!') => NumberTest::Ne(number),
        Some('<') => NumberTest::Lt(number),
        Some('>') => NumberTest::Gt(number),
        _ => NumberTest::Eq(number),
    })
}

fn parse_flags(text: &str, column: usize) -> Result<FlagsTest, RuleError> {
    let (main, ignore) = text.split_once(',').unwrap_or((text, ""));
    let mut mode = FlagsMode::Exact;
    let mut flags = 0u8;
    let bit = |c: char| -> Result<u8, RuleError> {
        Ok(match c.to_ascii_uppercase() {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' | '2' => 0x40,
            'C' | '1' => 0x80,
            '0' => 0,
            other => return Err(syntax(column, format!("unknown TCP flag `{other}`"))),
        })
    };
    for c in main.trim().chars() {
        match c {
            '+' => mode = FlagsMode::All,
            '*' => mode = FlagsMode::Any,
            '!' => mode = FlagsMode::Not,
            c => flags |= bit(c)?,
        }
    }
    let mut ignore_bits = 0u8;
    for c in ignore.trim().chars() {
        ignore_bits |= bit(c)?;
    }
    Ok(FlagsTest {
        flags,
        ignore: ignore_bits,
        mode,
    })
}

fn parse_flow(text: &str, column: usize, flow: &mut FlowOptions) -> Result<(), RuleError> {
    for part in text.split(',').map(str::trim) {
        match part {
            "established" => flow.established = true,
            "not_established" => flow.not_established = true,
            "stateless" => flow.stateless = true,
            "to_server" | "from_client" => flow.to_server = Some(true),
            "to_client" | "from_server" => flow.to_server = Some(false),
            "only_stream" => flow.only_stream = true,
            "no_stream" => flow.no_stream = true,
            "only_frag" | "no_frag" => {
                return Err(unsupported(
                    column,
                    &format!("flow:{part}"),
                    "fragment-level matching",
                ))
            }
            other => return Err(syntax(column, format!("unknown flow option `{other}`"))),
        }
    }
    Ok(())
}

/// `None` for `flowbits:noalert`.
fn parse_flowbits(text: &str, column: usize) -> Result<Option<FlowbitCommand>, RuleError> {
    let (command, names) = match text.split_once(',') {
        Some((c, n)) => (c.trim(), n.trim()),
        None => (text.trim(), ""),
    };
    if command == "noalert" {
        return Ok(None);
    }
    if names.is_empty() {
        return Err(syntax(column, format!("flowbits:{command} needs a name")));
    }
    let any = names.contains('|');
    if any && names.contains('&') {
        return Err(syntax(column, "flowbits names mix `|` and `&`"));
    }
    let list: Vec<String> = names
        .split(['|', '&'])
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if list.is_empty() {
        return Err(syntax(column, "empty flowbits name"));
    }
    let multi_ok = matches!(command, "isset" | "isnotset");
    if list.len() > 1 && !multi_ok {
        return Err(syntax(column, format!("flowbits:{command} takes one name")));
    }
    Ok(Some(match command {
        "set" => FlowbitCommand::Set(list),
        "unset" => FlowbitCommand::Unset(list),
        "toggle" => FlowbitCommand::Toggle(list),
        "isset" => FlowbitCommand::IsSet { names: list, any },
        "isnotset" => FlowbitCommand::IsNotSet { names: list, any },
        other => {
            return Err(syntax(
                column,
                format!("unknown flowbits command `{other}`"),
            ))
        }
    }))
}

fn parse_threshold(
    text: &str,
    column: usize,
    detection_filter: bool,
) -> Result<Threshold, RuleError> {
    let mut kind = detection_filter.then_some(ThresholdKind::DetectionFilter);
    let mut track = None;
    let mut count = None;
    let mut seconds = None;
    for part in text.split(',').map(str::trim) {
        let (key, value) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
        let value = value.trim();
        match key {
            "type" if !detection_filter => {
                kind = Some(match value {
                    "limit" => ThresholdKind::Limit,
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    other => {
                        return Err(syntax(column, format!("unknown threshold type `{other}`")))
                    }
                })
            }
            "track" => {
                track = Some(match value {
                    "by_src" => TrackBy::Src,
                    "by_dst" => TrackBy::Dst,
                    "by_rule" => TrackBy::Rule,
                    "by_both" => TrackBy::Both,
                    other => return Err(syntax(column, format!("unknown track `{other}`"))),
                })
            }
            "count" => count = Some(parse_number(value, column, "count")?),
            "seconds" => seconds = Some(parse_number(value, column, "seconds")?),
            other => {
                return Err(syntax(
                    column,
                    format!("unknown threshold option `{other}`"),
                ))
            }
        }
    }
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            kind,
            track,
            count,
            seconds,
        }),
        _ => Err(syntax(
            column,
            "threshold needs type, track, count and seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rule, RuleError> {
        let vars = RuleVars::default();
        let classes = Classifications::default();
        parse_rule(
            text,
            ParseContext {
                vars: &vars,
                classifications: &classes,
            },
        )
    }

    #[test]
    fn an_et_open_http_rule() {
        let rule = parse(
            r#"alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET INFO test \"quoted\"\; x"; flow:established,to_server; http.method; content:"POST"; http.uri; content:"/gate.php"; fast_pattern; endswith; http.header; content:"X-Id|3a 20|"; nocase; distance:0; reference:url,example.com; classtype:trojan-activity; sid:2000001; rev:3; metadata:affected_product Windows, mitre_technique_id T1071;)"#,
        )
        .unwrap();
        assert_eq!(rule.sid, 2000001);
        assert_eq!(rule.rev, 3);
        assert_eq!(rule.msg, "ET INFO test \"quoted\"; x");
        assert_eq!(rule.priority, Some(1));
        assert_eq!(rule.header.protocol, RuleProtocol::App(AppProtocol::Http));
        assert_eq!(rule.flow.to_server, Some(true));
        assert!(rule.flow.established);
        let names: Vec<Buffer> = rule.buffers.iter().map(|b| b.buffer).collect();
        assert_eq!(
            names,
            vec![Buffer::HttpMethod, Buffer::HttpUri, Buffer::HttpHeader]
        );
        let Detection::Content(c) = &rule.buffers[2].items[0] else {
            panic!()
        };
        assert_eq!(c.pattern, b"X-Id: ");
        assert!(c.nocase);
        assert_eq!(c.distance, Some(Value::Literal(0)));
        assert_eq!(rule.metadata_value("mitre_technique_id"), Some("T1071"));
    }

    #[test]
    fn old_style_modifiers_move_the_content() {
        let rule = parse(r#"alert tcp any any -> any 80 (msg:"x"; content:"GET"; http_method; content:"/a"; http_uri; content:"zz"; sid:1;)"#).unwrap();
        let names: Vec<(Buffer, usize)> = rule
            .buffers
            .iter()
            .map(|b| (b.buffer, b.items.len()))
            .collect();
        assert_eq!(
            names,
            vec![
                (Buffer::Payload, 1),
                (Buffer::HttpMethod, 1),
                (Buffer::HttpUri, 1)
            ]
        );
    }

    #[test]
    fn errors_have_columns_and_say_what() {
        let e =
            parse(r#"alert tcp any any -> any any (msg:"x"; xbits:set,a,track ip_src; sid:1;)"#)
                .unwrap_err();
        assert_eq!(e.kind, RuleErrorKind::UnsupportedKeyword("xbits".into()));
        assert_eq!(e.column, 40);
        let e =
            parse(r#"alert tcp any any -> any any (msg:"x"; content:"|4|"; sid:1;)"#).unwrap_err();
        assert!(!e.is_unsupported(), "{e}");
        let e = parse(r#"alert dcerpc any any -> any any (msg:"x"; sid:1;)"#).unwrap_err();
        assert_eq!(e.unsupported_keyword(), Some("protocol dcerpc"));
        let e = parse(r#"alert tcp any any -> any any (msg:"x"; pcre:"/(?!a)b/"; sid:1;)"#)
            .unwrap_err();
        assert!(
            e.is_unsupported() && e.to_string().contains("look-around"),
            "{e}"
        );
        assert!(parse("alert tcp any any -> any any (msg:\"x\"; sid:1").is_err());
        assert!(parse("alert tcp any any -> any any (msg:\"x\"; sid:1;) junk").is_err());
        assert!(parse("alert tcp any any any any (sid:1;)").is_err());
        assert!(parse("alert tcp any any -> any any (msg:\"x\";)").is_err());
    }

    #[test]
    fn contents_pcre_and_byte_keywords() {
        let rule = parse(
            r#"alert udp any any -> any 53 (msg:"x"; content:!"a|00 FF|b"; offset:2; depth:10; pcre:"/^ab\;c\/d/Ri"; byte_extract:2,0,len,relative; byte_test:2,>,len,0,relative; byte_jump:2,0,relative,little,post_offset -1; isdataat:!1,relative; dsize:10<>20; sid:2;)"#,
        )
        .unwrap();
        let items = &rule.buffers[0].items;
        let Detection::Content(c) = &items[0] else {
            panic!()
        };
        assert_eq!(c.pattern, b"a\x00\xffb");
        assert!(c.negated);
        let Detection::Pcre(p) = &items[1] else {
            panic!()
        };
        assert_eq!(p.pattern, "(?i)^ab\\x3Bc\\x2Fd");
        assert!(p.relative);
        assert!(matches!(&items[3], Detection::ByteTest(t) if t.value == Value::Variable(0)));
        assert!(
            matches!(&items[4], Detection::ByteJump(j) if j.post_offset == -1 && j.read.endian == Endian::Little)
        );
        assert_eq!(rule.dsize, Some(NumberTest::Between(10, 20)));
    }

    #[test]
    fn flags_flowbits_threshold() {
        let rule = parse(
            r#"alert tcp any any -> any any (msg:"x"; flags:S,12; flowbits:isset,a|b; flowbits:noalert; threshold: type limit, track by_src, count 1, seconds 60; sid:3;)"#,
        )
        .unwrap();
        assert_eq!(
            rule.flags,
            Some(FlagsTest {
                flags: 0x02,
                ignore: 0xC0,
                mode: FlagsMode::Exact
            })
        );
        assert_eq!(
            rule.flowbits,
            vec![FlowbitCommand::IsSet {
                names: vec!["a".into(), "b".into()],
                any: true
            }]
        );
        assert!(rule.noalert);
        assert_eq!(rule.threshold.map(|t| t.kind), Some(ThresholdKind::Limit));
    }

    /// Every prefix of a rule using most keywords, and every one-byte
    /// change to it, parses or fails cleanly.
    #[test]
    fn every_prefix_and_mutation_of_a_rule_is_handled() {
        let rule = r#"alert tcp [10.0.0.0/8,!10.1.0.0/16] [80,1024:] <> $EXTERNAL_NET !22 (msg:"a\;b"; flow:established,to_server; content:"|41 42|c"; nocase; offset:1; depth:9; content:!"x"; distance:0; within:5; pcre:"/a{2,}b[\]x]\Z/smiR"; byte_extract:1,0,v,relative; byte_test:1,!&,v,0,relative,string,hex; byte_jump:2,0,relative,multiplier 2,post_offset -3; isdataat:!2,relative; http.uri; dotprefix; content:"z"; bsize:<9; urilen:1<>9; flags:S+,12; dsize:>3; ttl:<9; itype:8; icode:0; ip_proto:!udp; flowbits:set,f; threshold:type both,track by_dst,count 2,seconds 9; sid:9; rev:2; gid:1;)"#;
        assert!(parse(rule).is_ok(), "{:?}", parse(rule));
        for end in 0..=rule.len() {
            if let Some(prefix) = rule.get(..end) {
                let _ = parse(prefix);
            }
        }
        let bytes = rule.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [
                b'"', b';', b'|', b'\\', b'[', b'(', b')', b' ', b'!', b',', b'0', 0xC3,
            ] {
                let mut mutated = bytes.to_vec();
                mutated[i] = replacement;
                let _ = parse(&String::from_utf8_lossy(&mutated));
            }
        }
    }

    #[test]
    fn hostile_text_gives_errors_not_panics() {
        for text in [
            "",
            "(",
            ")",
            "()",
            "alert",
            "alert tcp any any -> any any (",
            "alert tcp any any -> any any ()",
            "alert tcp any any -> any any (content:\"\\",
            "alert tcp any any -> any any (content:\"é|\";sid:1;)",
            "alert tcp [[[[ any -> any any (sid:1;)",
            "alert tcp any any -> any any (;;)",
            "alert tcp any any -> any any (pcre:\"/\";sid:1;)",
            "alert tcp any any -> any any (byte_test:1,<;sid:1;)",
            "alert tcp any any -> any any (nocase; sid:1;)",
            "alert tcp any any -> any any (msg:\"\\\";sid:1;)",
            "alert tcp ! ! -> ! ! (sid:1;)",
        ] {
            let _ = parse(text);
        }
    }
}
