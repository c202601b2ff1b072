//! What a parsed rule is: the header (action, protocol, addresses, ports,
//! direction) and the options, with every detection item attached to the
//! buffer it inspects, in rule order. Pure data; [`crate::signature::parse`]
//! builds it, the matcher reads it.

use std::net::IpAddr;

use crate::scope::Cidr;

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Raise an alert.
    Alert,
    /// Let the packet go and stop inspecting it (Suricata's `pass`).
    Pass,
    /// IPS actions: netsec is passive, so these alert like `alert` does.
    Drop,
    /// IPS action, alerts in netsec.
    Reject,
}

/// The protocol a rule's header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleProtocol {
    /// Any IP packet.
    Ip,
    /// TCP, packet or stream.
    Tcp,
    /// TCP, single packets only (`tcp-pkt`).
    TcpPkt,
    /// TCP, reassembled stream only (`tcp-stream`).
    TcpStream,
    /// UDP.
    Udp,
    /// ICMP (v4 and v6).
    Icmp,
    /// An application protocol netsec-proto decodes.
    App(AppProtocol),
}

/// Application protocols a rule header may name (those netsec-proto decodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppProtocol {
    /// HTTP/1.
    Http,
    /// DNS over UDP or TCP.
    Dns,
    /// TLS.
    Tls,
    /// SSH.
    Ssh,
    /// SMB.
    Smb,
    /// DHCP.
    Dhcp,
    /// NTP.
    Ntp,
    /// FTP (identified; its rules match payloads).
    Ftp,
    /// SMTP (identified; its rules match payloads).
    Smtp,
}

/// `->` or `<>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDirection {
    /// Source to destination only.
    OneWay,
    /// Either way.
    Both,
}

/// An address expression, variables resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum AddressExpr {
    /// `any`.
    Any,
    /// One network.
    Net(Cidr),
    /// `!expr`.
    Not(Box<AddressExpr>),
    /// `[a, b, !c]`: any positive element, and none of the negated ones.
    List(Vec<AddressExpr>),
}

impl AddressExpr {
    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            AddressExpr::Any => true,
            AddressExpr::Net(net) => net.contains(ip),
            AddressExpr::Not(inner) => !inner.contains(ip),
            AddressExpr::List(items) => list_contains(
                items,
                |e| e.contains(ip),
                |e| match e {
                    AddressExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }
}

/// A port expression, variables resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum PortExpr {
    /// `any`.
    Any,
    /// An inclusive range (one port is `p:p`).
    Range(u16, u16),
    /// `!expr`.
    Not(Box<PortExpr>),
    /// `[a, b, !c]`.
    List(Vec<PortExpr>),
}

impl PortExpr {
    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match self {
            PortExpr::Any => true,
            PortExpr::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortExpr::Not(inner) => !inner.contains(port),
            PortExpr::List(items) => list_contains(
                items,
                |e| e.contains(port),
                |e| match e {
                    PortExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }

    /// The single port this expression is, if it is one (for grouping).
    pub fn single(&self) -> Option<u16> {
        match self {
            PortExpr::Range(lo, hi) if lo == hi => Some(*lo),
            _ => None,
        }
    }
}

/// Suricata's list rule: an element list matches a value when some positive
/// element matches it (or there are none) and no negated element's inner
/// expression does.
fn list_contains<'a, T>(
    items: &'a [T],
    matches: impl Fn(&T) -> bool,
    negated: impl Fn(&'a T) -> Option<&'a Box<T>>,
) -> bool {
    let mut any_positive = false;
    let mut positive_hit = false;
    for item in items {
        match negated(item) {
            Some(_) => {
                if !matches(item) {
                    return false;
                }
            }
            None => {
                any_positive = true;
                positive_hit = positive_hit || matches(item);
            }
        }
    }
    !any_positive || positive_hit
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHeader {
    /// The action.
    pub action: Action,
    /// The protocol.
    pub protocol: RuleProtocol,
    /// Source addresses.
    pub src: AddressExpr,
    /// Source ports.
    pub src_ports: PortExpr,
    /// `->` or `<>`.
    pub direction: RuleDirection,
    /// Destination addresses.
    pub dst: AddressExpr,
    /// Destination ports.
    pub dst_ports: PortExpr,
}

/// A numeric comparison as `dsize`, `itype`, `ttl`, `bsize`, `urilen` write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberTest {
    /// `N`.
    Eq(u64),
    /// `!N`.
    Ne(u64),
    /// `<N`.
    Lt(u64),
    /// `<=N`.
    Le(u64),
    /// `>N`.
    Gt(u64),
    /// `>=N`.
    Ge(u64),
    /// `A<>B`: strictly between.
    Between(u64, u64),
}

impl NumberTest {
    /// Whether `value` passes.
    pub fn test(self, value: u64) -> bool {
        match self {
            NumberTest::Eq(n) => value == n,
            NumberTest::Ne(n) => value != n,
            NumberTest::Lt(n) => value < n,
            NumberTest::Le(n) => value <= n,
            NumberTest::Gt(n) => value > n,
            NumberTest::Ge(n) => value >= n,
            NumberTest::Between(a, b) => value > a && value < b,
        }
    }
}

/// The buffer a detection item inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each variant is the Suricata keyword of the same name
pub enum Buffer {
    /// The packet payload, or for TCP also the reassembled stream (Suricata's
    /// default for `content` without a buffer).
    Payload,
    HttpUri,
    HttpUriRaw,
    HttpMethod,
    HttpProtocol,
    HttpRequestLine,
    HttpResponseLine,
    HttpStart,
    HttpHost,
    HttpHostRaw,
    HttpUserAgent,
    HttpHeader,
    HttpHeaderRaw,
    HttpHeaderNames,
    HttpCookie,
    HttpContentType,
    HttpContentLen,
    HttpReferer,
    HttpLocation,
    HttpServer,
    HttpConnection,
    HttpAccept,
    HttpAcceptEnc,
    HttpAcceptLang,
    HttpStatCode,
    HttpStatMsg,
    HttpRequestBody,
    HttpResponseBody,
    /// `file.data` / `file_data`: HTTP bodies (response side, and request
    /// bodies for to_server rules).
    FileData,
    DnsQuery,
    TlsSni,
    TlsCertSubject,
    TlsCertIssuer,
    TlsCertSerial,
    TlsCerts,
    Ja3Hash,
    Ja3String,
    Ja3sHash,
    Ja4Hash,
    SshProto,
    SshSoftware,
}

impl Buffer {
    /// The Suricata name (`http.uri`).
    pub fn name(self) -> &'static str {
        match self {
            Buffer::Payload => "payload",
            Buffer::HttpUri => "http.uri",
            Buffer::HttpUriRaw => "http.uri.raw",
            Buffer::HttpMethod => "http.method",
            Buffer::HttpProtocol => "http.protocol",
            Buffer::HttpRequestLine => "http.request_line",
            Buffer::HttpResponseLine => "http.response_line",
            Buffer::HttpStart => "http.start",
            Buffer::HttpHost => "http.host",
            Buffer::HttpHostRaw => "http.host.raw",
            Buffer::HttpUserAgent => "http.user_agent",
            Buffer::HttpHeader => "http.header",
            Buffer::HttpHeaderRaw => "http.header.raw",
            Buffer::HttpHeaderNames => "http.header_names",
            Buffer::HttpCookie => "http.cookie",
            Buffer::HttpContentType => "http.content_type",
            Buffer::HttpContentLen => "http.content_len",
            Buffer::HttpReferer => "http.referer",
            Buffer::HttpLocation => "http.location",
            Buffer::HttpServer => "http.server",
            Buffer::HttpConnection => "http.connection",
            Buffer::HttpAccept => "http.accept",
            Buffer::HttpAcceptEnc => "http.accept_enc",
            Buffer::HttpAcceptLang => "http.accept_lang",
            Buffer::HttpStatCode => "http.stat_code",
            Buffer::HttpStatMsg => "http.stat_msg",
            Buffer::HttpRequestBody => "http.request_body",
            Buffer::HttpResponseBody => "http.response_body",
            Buffer::FileData => "file.data",
            Buffer::DnsQuery => "dns.query",
            Buffer::TlsSni => "tls.sni",
            Buffer::TlsCertSubject => "tls.cert_subject",
            Buffer::TlsCertIssuer => "tls.cert_issuer",
            Buffer::TlsCertSerial => "tls.cert_serial",
            Buffer::TlsCerts => "tls.certs",
            Buffer::Ja3Hash => "ja3.hash",
            Buffer::Ja3String => "ja3.string",
            Buffer::Ja3sHash => "ja3s.hash",
            Buffer::Ja4Hash => "ja4.hash",
            Buffer::SshProto => "ssh.proto",
            Buffer::SshSoftware => "ssh.software",
        }
    }

    /// The buffer a sticky-buffer keyword selects (`http.uri`, `http_uri`
    /// is the older content modifier, see [`Buffer::from_modifier`]).
    pub fn from_sticky(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.method" => Buffer::HttpMethod,
            "http.protocol" => Buffer::HttpProtocol,
            "http.request_line" => Buffer::HttpRequestLine,
            "http.response_line" => Buffer::HttpResponseLine,
            "http.start" => Buffer::HttpStart,
            "http.host" => Buffer::HttpHost,
            "http.host.raw" => Buffer::HttpHostRaw,
            "http.user_agent" => Buffer::HttpUserAgent,
            "http.header" => Buffer::HttpHeader,
            "http.header.raw" => Buffer::HttpHeaderRaw,
            "http.header_names" => Buffer::HttpHeaderNames,
            "http.cookie" => Buffer::HttpCookie,
            "http.content_type" => Buffer::HttpContentType,
            "http.content_len" => Buffer::HttpContentLen,
            "http.referer" => Buffer::HttpReferer,
            "http.location" => Buffer::HttpLocation,
            "http.server" => Buffer::HttpServer,
            "http.connection" => Buffer::HttpConnection,
            "http.accept" => Buffer::HttpAccept,
            "http.accept_enc" => Buffer::HttpAcceptEnc,
            "http.accept_lang" => Buffer::HttpAcceptLang,
            "http.stat_code" => Buffer::HttpStatCode,
            "http.stat_msg" => Buffer::HttpStatMsg,
            "http.request_body" => Buffer::HttpRequestBody,
            "http.response_body" => Buffer::HttpResponseBody,
            "file.data" | "file_data" => Buffer::FileData,
            "dns.query" | "dns_query" => Buffer::DnsQuery,
            "tls.sni" | "tls_sni" => Buffer::TlsSni,
            "tls.cert_subject" | "tls_cert_subject" => Buffer::TlsCertSubject,
            "tls.cert_issuer" | "tls_cert_issuer" => Buffer::TlsCertIssuer,
            "tls.cert_serial" | "tls_cert_serial" => Buffer::TlsCertSerial,
            "tls.certs" => Buffer::TlsCerts,
            "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
            "ja3.string" | "ja3_string" => Buffer::Ja3String,
            "ja3s.hash" | "ja3s_hash" => Buffer::Ja3sHash,
            "ja4.hash" => Buffer::Ja4Hash,
            "ssh.proto" | "ssh_proto" => Buffer::SshProto,
            "ssh.software" | "ssh_software" => Buffer::SshSoftware,
            _ => return None,
        })
    }

    /// The buffer an old-style content modifier (`content:"x"; http_uri;`)
    /// moves the preceding content to.
    pub fn from_modifier(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_method" => Buffer::HttpMethod,
            "http_host" => Buffer::HttpHost,
            "http_raw_host" => Buffer::HttpHostRaw,
            "http_user_agent" => Buffer::HttpUserAgent,
            "http_header" => Buffer::HttpHeader,
            "http_raw_header" => Buffer::HttpHeaderRaw,
            "http_header_names" => Buffer::HttpHeaderNames,
            "http_cookie" => Buffer::HttpCookie,
            "http_content_type" => Buffer::HttpContentType,
            "http_content_len" => Buffer::HttpContentLen,
            "http_referer" => Buffer::HttpReferer,
            "http_stat_code" => Buffer::HttpStatCode,
            "http_stat_msg" => Buffer::HttpStatMsg,
            "http_client_body" => Buffer::HttpRequestBody,
            "http_server_body" => Buffer::HttpResponseBody,
            "http_request_line" => Buffer::HttpRequestLine,
            "http_response_line" => Buffer::HttpResponseLine,
            "http_accept" => Buffer::HttpAccept,
            "http_accept_enc" => Buffer::HttpAcceptEnc,
            "http_accept_lang" => Buffer::HttpAcceptLang,
            "http_connection" => Buffer::HttpConnection,
            "http_protocol" => Buffer::HttpProtocol,
            "http_start" => Buffer::HttpStart,
            "http_location" => Buffer::HttpLocation,
            "http_server" => Buffer::HttpServer,
            _ => return None,
        })
    }

    /// Whether this buffer comes from an HTTP transaction.
    pub fn is_http(self) -> bool {
        self.name().starts_with("http.") || self == Buffer::FileData
    }
}

/// A `content` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The bytes, hex and escapes decoded.
    pub pattern: Vec<u8>,
    /// `!content`.
    pub negated: bool,
    /// `nocase`.
    pub nocase: bool,
    /// `offset`.
    pub offset: Option<Value>,
    /// `depth`.
    pub depth: Option<Value>,
    /// `distance` (relative to the previous match in the buffer).
    pub distance: Option<Value>,
    /// `within` (relative to the previous match).
    pub within: Option<Value>,
    /// `startswith`.
    pub startswith: bool,
    /// `endswith`.
    pub endswith: bool,
    /// `fast_pattern`.
    pub fast_pattern: bool,
}

impl Content {
    /// Whether the match position depends on the previous item.
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// A number given literally or by a `byte_extract` variable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal.
    Literal(i64),
    /// The index of a `byte_extract` variable in the rule.
    Variable(usize),
}

/// A `pcre` match. The pattern is checked at load to be one the `regex`
/// crate accepts; it is compiled once, when the rule is first evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcre {
    /// The pattern with its flags folded in (`(?i)`, `(?s)`, …), in the
    /// syntax of the `regex` crate's bytes API.
    pub pattern: String,
    /// `!"/…/"`.
    pub negated: bool,
    /// `R`: matches from the end of the previous match.
    pub relative: bool,
    /// `A`: anchored at the start (of the buffer or, with `R`, of what follows the previous match).
    pub anchored: bool,
}

/// Byte order of `byte_test` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    /// Network order (the default).
    #[default]
    Big,
    /// Little endian.
    Little,
}

/// How bytes become a number: raw, or as text in a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberBase {
    /// Binary, `bytes` bytes in `endian` order.
    #[default]
    Binary,
    /// ASCII decimal.
    Dec,
    /// ASCII hexadecimal.
    Hex,
    /// ASCII octal.
    Oct,
}

/// Shared fields of `byte_test`, `byte_jump`, `byte_extract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRead {
    /// Bytes to read (1–10 for text, 1–8 binary).
    pub bytes: usize,
    /// Offset (from the buffer start, or from the previous match with `relative`).
    pub offset: Value,
    /// `relative`.
    pub relative: bool,
    /// Byte order.
    pub endian: Endian,
    /// Binary or text.
    pub base: NumberBase,
    /// `bitmask`.
    pub bitmask: Option<u64>,
}

/// `byte_test` operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOp {
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `=`.
    Eq,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `&` (any bit of the value set).
    And,
    /// `^` (xor non-zero).
    Xor,
}

/// `byte_test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteTest {
    /// What to read.
    pub read: ByteRead,
    /// The operator.
    pub op: ByteOp,
    /// `!op`.
    pub negated: bool,
    /// The value compared with.
    pub value: Value,
}

/// `byte_jump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteJump {
    /// What to read.
    pub read: ByteRead,
    /// `multiplier`.
    pub multiplier: u64,
    /// `align` (round up to 4).
    pub align: bool,
    /// `from_beginning`.
    pub from_beginning: bool,
    /// `from_end`.
    pub from_end: bool,
    /// `post_offset`.
    pub post_offset: i64,
}

/// `byte_extract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteExtract {
    /// What to read.
    pub read: ByteRead,
    /// The variable's index in the rule.
    pub variable: usize,
    /// `multiplier`.
    pub multiplier: u64,
    /// `align` (2 or 4).
    pub align: u64,
}

/// `isdataat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsDataAt {
    /// Position.
    pub offset: Value,
    /// `relative`.
    pub relative: bool,
    /// `!`.
    pub negated: bool,
}

/// One detection item of a buffer, in rule order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// `content`.
    Content(Content),
    /// `pcre`.
    Pcre(Pcre),
    /// `byte_test`.
    ByteTest(ByteTest),
    /// `byte_jump`.
    ByteJump(ByteJump),
    /// `byte_extract`.
    ByteExtract(ByteExtract),
    /// `isdataat`.
    IsDataAt(IsDataAt),
    /// `bsize` (or `urilen` on the URI): the buffer's length.
    Bsize(NumberTest),
}

/// A transform applied to a buffer before its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `dotprefix`: a `.` before the buffer (so `content:".example.com"; endswith;` matches the domain and its subdomains).
    DotPrefix,
}

/// The items of one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferMatch {
    /// The buffer.
    pub buffer: Buffer,
    /// Transforms, in order.
    pub transforms: Vec<Transform>,
    /// Items, in rule order.
    pub items: Vec<Detection>,
}

/// `flow` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowOptions {
    /// `established`.
    pub established: bool,
    /// `not_established`.
    pub not_established: bool,
    /// `stateless`.
    pub stateless: bool,
    /// `to_server` / `from_client`: `Some(true)`; `to_client` / `from_server`: `Some(false)`.
    pub to_server: Option<bool>,
    /// `only_stream`.
    pub only_stream: bool,
    /// `no_stream`.
    pub no_stream: bool,
}

/// A `flowbits` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowbitCommand {
    /// `set`.
    Set(Vec<String>),
    /// `unset`.
    Unset(Vec<String>),
    /// `toggle`.
    Toggle(Vec<String>),
    /// `isset` (any of `a|b`, all of `a&b`: `any`).
    IsSet {
        /// The names.
        names: Vec<String>,
        /// `|` (any) rather than `&` (all).
        any: bool,
    },
    /// `isnotset`.
    IsNotSet {
        /// The names.
        names: Vec<String>,
        /// `|` (any) rather than `&` (all).
        any: bool,
    },
}

/// What a threshold or detection filter counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackBy {
    /// Source address.
    Src,
    /// Destination address.
    Dst,
    /// The rule alone.
    Rule,
    /// Source and destination pair.
    Both,
}

/// `threshold` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdKind {
    /// Alert on the first `count` matches per period.
    Limit,
    /// Alert on every `count`th match.
    Threshold,
    /// Alert once per period after `count` matches.
    Both,
    /// `detection_filter`: alert on every match after the first `count` in the period.
    DetectionFilter,
}

/// `threshold` / `detection_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// The kind.
    pub kind: ThresholdKind,
    /// Tracked by.
    pub track: TrackBy,
    /// `count`.
    pub count: u32,
    /// `seconds`.
    pub seconds: u32,
}

/// TCP `flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagsTest {
    /// Flags that must be set (bit values as in the TCP header; `1` = 0x80 CWR, `2` = 0x40 ECE).
    pub flags: u8,
    /// Flags ignored in the comparison (the part after the comma).
    pub ignore: u8,
    /// How to compare.
    pub mode: FlagsMode,
}

/// `flags` modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagsMode {
    /// Exactly these (besides ignored ones).
    Exact,
    /// `+`: these and maybe others.
    All,
    /// `*`: any of these.
    Any,
    /// `!`: not exactly these.
    Not,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The header.
    pub header: RuleHeader,
    /// `msg`.
    pub msg: String,
    /// `sid`.
    pub sid: u32,
    /// `rev`.
    pub rev: u32,
    /// `gid` (1 when absent).
    pub gid: u32,
    /// `classtype`.
    pub classtype: Option<String>,
    /// `priority`, or the classtype's.
    pub priority: Option<u8>,
    /// `reference`s as written (`url,example.com`).
    pub references: Vec<String>,
    /// `metadata` key/value pairs.
    pub metadata: Vec<(String, String)>,
    /// `flow`.
    pub flow: FlowOptions,
    /// `flowbits`, in order.
    pub flowbits: Vec<FlowbitCommand>,
    /// `noalert` (or `flowbits:noalert`).
    pub noalert: bool,
    /// Buffers with their items, in the order they first appear.
    pub buffers: Vec<BufferMatch>,
    /// Names of `byte_extract` variables (indexes in [`Value::Variable`]).
    pub variables: Vec<String>,
    /// `dsize`.
    pub dsize: Option<NumberTest>,
    /// `flags`.
    pub flags: Option<FlagsTest>,
    /// `itype`.
    pub itype: Option<NumberTest>,
    /// `icode`.
    pub icode: Option<NumberTest>,
    /// `ttl`.
    pub ttl: Option<NumberTest>,
    /// `ip_proto`.
    pub ip_proto: Option<NumberTest>,
    /// `threshold`.
    pub threshold: Option<Threshold>,
    /// `detection_filter`.
    pub detection_filter: Option<Threshold>,
}

impl Rule {
    /// `gid:sid:rev`, as Suricata prints it.
    pub fn signature_id(&self) -> String {
        format!("{}:{}:{}", self.gid, self.sid, self.rev)
    }

    /// A metadata value (the first with this key).
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
