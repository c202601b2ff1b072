//! Decoded application-layer events: what netsec-proto understood of a
//! flow's payload, in owned form so that analysers and exporters never
//! re-parse bytes.
//!
//! Each event carries an [`EventContext`] that joins it back to its flow
//! (flow id and Community ID), as Zeek's `uid` does.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::dns_name::DnsName;
use crate::flow::{Direction, Endpoint, FlowId};
use crate::packet::{MacAddr, Transport};
use crate::time::Timestamp;

/// Where and when an event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventContext {
    /// Time of the packet that completed the event.
    pub ts: Timestamp,
    /// Number of that packet in the input.
    pub packet_number: u64,
    /// Flow the event belongs to (absent for flowless events such as ARP).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flow_id: Option<FlowId>,
    /// Community ID of that flow.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub community_id: Option<String>,
    /// Sender of the packet.
    pub src: Endpoint,
    /// Receiver of the packet.
    pub dst: Endpoint,
    /// Transport protocol.
    pub transport: Transport,
    /// Direction relative to the flow's originator.
    pub direction: Direction,
}

/// One decoded application-layer event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppEvent {
    /// A DNS query or response.
    Dns(DnsEvent),
    /// An HTTP request or response head.
    Http(HttpEvent),
    /// A TLS handshake message.
    Tls(TlsEvent),
    /// An SSH identification banner.
    Ssh(SshEvent),
    /// An SMB1 or SMB2/3 message header.
    Smb(SmbEvent),
    /// A DHCP message.
    Dhcp(DhcpEvent),
    /// An NTP message.
    Ntp(NtpEvent),
    /// A file (message body) carried over HTTP, when its body ended.
    File(FileEvent),
    /// A connection-oriented DCE-RPC PDU (over TCP or an SMB named pipe).
    DceRpc(DceRpcEvent),
    /// A Kerberos message (AS/TGS request or reply, KRB-ERROR).
    Kerberos(KerberosEvent),
}

impl AppEvent {
    /// The context shared by every kind of event.
    pub fn context(&self) -> &EventContext {
        match self {
            AppEvent::Dns(e) => &e.ctx,
            AppEvent::Http(e) => &e.ctx,
            AppEvent::Tls(e) => &e.ctx,
            AppEvent::Ssh(e) => &e.ctx,
            AppEvent::Smb(e) => &e.ctx,
            AppEvent::Dhcp(e) => &e.ctx,
            AppEvent::Ntp(e) => &e.ctx,
            AppEvent::File(e) => &e.ctx,
            AppEvent::DceRpc(e) => &e.ctx,
            AppEvent::Kerberos(e) => &e.ctx,
        }
    }

    /// Short name of the event kind, used for log file names (`dns`, `http`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            AppEvent::Dns(_) => "dns",
            AppEvent::Http(_) => "http",
            AppEvent::Tls(_) => "tls",
            AppEvent::Ssh(_) => "ssh",
            AppEvent::Smb(_) => "smb",
            AppEvent::Dhcp(_) => "dhcp",
            AppEvent::Ntp(_) => "ntp",
            AppEvent::File(_) => "files",
            AppEvent::DceRpc(_) => "dcerpc",
            AppEvent::Kerberos(_) => "kerberos",
        }
    }
}

/// A DNS message (RFC 1035), query or response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsEvent {
    /// Context.
    pub ctx: EventContext,
    /// Transaction id.
    pub id: u16,
    /// True for a response (QR bit).
    pub is_response: bool,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Response code (0 = NOERROR, 3 = NXDOMAIN, …).
    pub rcode: u16,
    /// Header flags as set: `aa`, `tc`, `rd`, `ra`, `ad`, `cd`.
    pub flags: DnsFlags,
    /// Questions.
    pub questions: Vec<DnsQuestion>,
    /// Answer section records.
    pub answers: Vec<DnsRecord>,
    /// Authority section records.
    pub authorities: Vec<DnsRecord>,
    /// Additional section records (OPT excluded).
    pub additionals: Vec<DnsRecord>,
    /// For a response: the query it answers, when the flow's DNS parser saw
    /// it (same flow and transaction id, at most 5 s before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<DnsQueryMatch>,
    /// For a query: no response came within the matching window (5 s, on
    /// the same flow, as `query` is matched). Parsers never set it; the ECS
    /// log writer writes such a query again to `dns.jsonl` with it set
    /// (`netsec.dns.unanswered: true`) once its window is over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unanswered: bool,
}

/// DNS header flags as set, a bit set: `aa`, `tc`, `rd`, `ra`, `ad`, `cd`.
/// Serialised as the list of the names of those set, in that order
/// (`["rd", "ra"]`), as a `Vec<String>` was before: no allocation per message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DnsFlags(u8);

impl DnsFlags {
    /// Names of the flags, bit 0 first.
    const NAMES: [&'static str; 6] = ["aa", "tc", "rd", "ra", "ad", "cd"];

    /// The flags of a header: authoritative answer, truncation, recursion
    /// desired, recursion available, authentic data, checking disabled.
    pub fn from_header(aa: bool, tc: bool, rd: bool, ra: bool, ad: bool, cd: bool) -> Self {
        let mut bits = 0u8;
        for (i, set) in [aa, tc, rd, ra, ad, cd].into_iter().enumerate() {
            bits |= u8::from(set) << i;
        }
        Self(bits)
    }

    /// Whether the flag named `name` (`"rd"`, …) is set.
    pub fn contains(self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    /// Names of the flags set, in header order.
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| n)
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl<'a> FromIterator<&'a str> for DnsFlags {
    /// Flags from their names; names that are not flags are ignored.
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Self {
        let mut bits = 0u8;
        for name in names {
            if let Some(i) = Self::NAMES.iter().position(|n| *n == name) {
                bits |= 1 << i;
            }
        }
        Self(bits)
    }
}

impl Serialize for DnsFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for DnsFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut flags = Self::default();
        for name in &names {
            let i = Self::NAMES
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| serde::de::Error::unknown_variant(name, &Self::NAMES))?;
            flags.0 |= 1 << i;
        }
        Ok(flags)
    }
}

/// The query a response answers, as the flow's DNS parser matched it
/// (same flow, same transaction id, the query seen first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQueryMatch {
    /// Number of the query's packet in the input.
    pub packet_number: u64,
    /// Time of the query's packet.
    pub ts: Timestamp,
    /// Response time minus query time, nanoseconds (0 to 5 s: a response
    /// timed before its query, or later, is not matched).
    pub latency_ns: i64,
}

/// A question of a DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuestion {
    /// Queried name as it appeared (case kept): its wire bytes, its
    /// presentation form (without the trailing dot) on demand.
    pub name: DnsName,
    /// Record type mnemonic as hickory-proto names it (`A`, `AAAA`, `TXT`,
    /// …; `Unknown` for a type it has no name for): static for every parsed
    /// message, no allocation.
    pub qtype: Cow<'static, str>,
    /// Record type number.
    pub qtype_code: u16,
    /// Class (1 = IN).
    pub qclass: u16,
}

/// A resource record of a DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Owner name (as `DnsQuestion::name`).
    pub name: DnsName,
    /// Record type mnemonic (as `DnsQuestion::qtype`).
    pub rtype: Cow<'static, str>,
    /// Record type number.
    pub rtype_code: u16,
    /// Time to live, seconds.
    pub ttl: u32,
    /// Presentation form of the data (`93.184.216.34`, `mail.example.com`, quoted TXT strings, …).
    pub data: String,
}

/// An HTTP/1.x message head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpEvent {
    /// Context.
    pub ctx: EventContext,
    /// Request or response.
    pub message: HttpMessage,
    /// Protocol version from the start line (`1.1`): static for the usual
    /// versions, no allocation.
    pub version: Cow<'static, str>,
    /// Selected headers, lower-cased names, in order, values cut at 1 KiB.
    pub headers: HttpHeaders,
}

/// The header fields of one HTTP message, in order, in one buffer: names
/// (lower-cased by the parser) and values side by side in one string, and
/// where each ends. Two allocations a message, whatever its number of
/// fields. Serialises as a list of `[name, value]` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpHeaders {
    /// Every name and value, one after the other.
    text: String,
    /// Per field: where its name ends and where its value ends in `text`
    /// (a name starts where the previous value ends).
    ends: Vec<(u32, u32)>,
}

impl HttpHeaders {
    /// Room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        HttpHeaders {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
        }
    }

    /// Fields held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No field held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Add a field, its name lower-cased (ASCII); ignored (false) past 4 GiB.
    pub fn push_lower(&mut self, name: &str, value: &str) -> bool {
        self.push_field(name, value, true)
    }

    /// Add a field whose name is already lower-case (a parser's spelling of
    /// a name it knows), as given; ignored (false) past 4 GiB.
    pub fn push_already_lower(&mut self, lowercase_name: &str, value: &str) -> bool {
        self.push_field(lowercase_name, value, false)
    }

    /// Add a field, its name lower-cased (ASCII) when `lower`; ignored
    /// (false) past 4 GiB.
    fn push_field(&mut self, name: &str, value: &str, lower: bool) -> bool {
        let start = self.text.len();
        let fits = start
            .checked_add(name.len())
            .and_then(|n| n.checked_add(value.len()))
            .and_then(|end| u32::try_from(end).ok())
            .is_some();
        if !fits {
            return false;
        }
        self.text.push_str(name);
        if lower {
            if let Some(added) = self.text.get_mut(start..) {
                added.make_ascii_lowercase();
            }
        }
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end as u32, self.text.len() as u32));
        true
    }

    /// Append `sep` and `more` to the last field's value, then cut that
    /// value to `max` bytes on a character boundary (a folded line).
    pub fn extend_last(&mut self, sep: &str, more: &str, max: usize) {
        let Some((name_end, _)) = self.ends.last().copied() else {
            return;
        };
        let value_start = name_end as usize;
        self.text.push_str(sep);
        self.text.push_str(more);
        let mut end = self.text.len().min(value_start.saturating_add(max));
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.truncate(end);
        match u32::try_from(self.text.len()) {
            Ok(len) => {
                if let Some(last) = self.ends.last_mut() {
                    last.1 = len;
                }
            }
            Err(_) => {
                // Past 4 GiB: drop the field rather than hold a wrong end.
                self.text.truncate(value_start);
                self.ends.pop();
                let back = self.ends.last().map_or(0, |e| e.1 as usize);
                self.text.truncate(back);
            }
        }
    }

    /// The fields in order, as `(name, value)`.
    pub fn iter(&self) -> HttpHeadersIter<'_> {
        HttpHeadersIter {
            headers: self,
            index: 0,
        }
    }

    /// The value of the first field named `name` (exactly, so lower-case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Field `index`, as `(name, value)`.
    pub fn field(&self, index: usize) -> Option<(&str, &str)> {
        let (name_end, value_end) = *self.ends.get(index)?;
        let start = match index.checked_sub(1) {
            Some(prev) => self.ends.get(prev).map_or(0, |e| e.1),
            None => 0,
        };
        let name = self.text.get(start as usize..name_end as usize)?;
        let value = self.text.get(name_end as usize..value_end as usize)?;
        Some((name, value))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}

/// The fields of [`HttpHeaders`], in order.
#[derive(Debug, Clone)]
pub struct HttpHeadersIter<'a> {
    headers: &'a HttpHeaders,
    index: usize,
}

impl<'a> Iterator for HttpHeadersIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.headers.field(self.index)?;
        self.index += 1;
        Some(field)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.headers.len().saturating_sub(self.index);
        (left, Some(left))
    }
}

impl<'a> IntoIterator for &'a HttpHeaders {
    type Item = (&'a str, &'a str);
    type IntoIter = HttpHeadersIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for HttpHeaders {
    /// Fields as given (names lower-cased).
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut h = HttpHeaders::default();
        for (n, v) in iter {
            h.push_lower(n.as_ref(), v.as_ref());
        }
        h
    }
}

impl Serialize for HttpHeaders {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for HttpHeaders {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fields = Vec::<(String, String)>::deserialize(d)?;
        Ok(fields.into_iter().collect())
    }
}

/// The start line of an HTTP message and its most used headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpMessage {
    /// A request.
    Request {
        /// Method (`GET`, `POST`, …): static for a known method, no
        /// allocation.
        method: Cow<'static, str>,
        /// Request target as sent.
        uri: String,
        /// `Host` header.
        host: Option<String>,
        /// `User-Agent` header.
        user_agent: Option<String>,
    },
    /// A response.
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase: static for the usual ones (`OK`), no allocation.
        reason: Cow<'static, str>,
        /// `Server` header.
        server: Option<String>,
        /// `Content-Type` header.
        content_type: Option<String>,
        /// `Content-Length` header, when a valid number.
        content_length: Option<u64>,
    },
}

/// A TLS handshake message, with the fields fingerprinting (JA3/JA4) and
/// certificate analysis need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsEvent {
    /// Context.
    pub ctx: EventContext,
    /// The message.
    pub message: TlsMessage,
}

/// The TLS handshake messages netsec-proto extracts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TlsMessage {
    /// ClientHello (RFC 8446 §4.1.2).
    ClientHello(ClientHello),
    /// ServerHello (RFC 8446 §4.1.3).
    ServerHello(ServerHello),
    /// Certificate message (TLS ≤ 1.2, where it is sent in clear).
    Certificate {
        /// DER certificates, leaf first.
        chain: Vec<Vec<u8>>,
        /// What each certificate of `chain` says, in the same order, when a
        /// certificate parser filled it in (netsec-tls).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        certificates: Vec<CertificateInfo>,
    },
}

/// Fields of a ClientHello, in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClientHello {
    /// Record-layer version.
    pub record_version: u16,
    /// `legacy_version` of the hello.
    pub version: u16,
    /// Cipher suites offered, GREASE included as sent.
    pub cipher_suites: Vec<u16>,
    /// Extension types in order, GREASE included as sent.
    pub extensions: Vec<u16>,
    /// Server name (SNI), when sent.
    pub server_name: Option<String>,
    /// ALPN protocols offered.
    pub alpn: Vec<String>,
    /// supported_groups (elliptic curves).
    pub supported_groups: Vec<u16>,
    /// ec_point_formats.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms.
    pub signature_algorithms: Vec<u16>,
    /// supported_versions.
    pub supported_versions: Vec<u16>,
    /// JA3 string (`version,ciphers,extensions,groups,point formats`, GREASE
    /// removed), when a fingerprinter filled it in (netsec-tls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3: Option<String>,
    /// MD5 of [`ClientHello::ja3`], as ECS `tls.client.ja3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3_hash: Option<String>,
    /// JA4 fingerprint (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
}

/// Fields of a ServerHello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServerHello {
    /// Record-layer version.
    pub record_version: u16,
    /// `legacy_version` of the hello.
    pub version: u16,
    /// Cipher suite chosen.
    pub cipher_suite: u16,
    /// Extension types in order.
    pub extensions: Vec<u16>,
    /// supported_versions selection (TLS 1.3), when present.
    pub selected_version: Option<u16>,
    /// ALPN protocol chosen, when present.
    pub alpn: Option<String>,
    /// JA3S string (`version,cipher,extensions`, GREASE removed), when a
    /// fingerprinter filled it in (netsec-tls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<String>,
    /// MD5 of [`ServerHello::ja3s`], as ECS `tls.server.ja3s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja3s_hash: Option<String>,
    /// JA4S fingerprint (`t130200_1301_234ea6891581`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4s: Option<String>,
}

/// What an X.509 certificate says, as a responder reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CertificateInfo {
    /// Subject distinguished name, attributes in certificate order
    /// (`C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS`, as Suricata writes it).
    pub subject: String,
    /// Issuer distinguished name, likewise.
    pub issuer: String,
    /// Serial number, upper-case hex bytes joined by `:` (as Suricata).
    pub serial: String,
    /// Start of validity.
    pub not_before: Option<Timestamp>,
    /// End of validity.
    pub not_after: Option<Timestamp>,
    /// Subject common names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_names: Vec<String>,
    /// Issuer common names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuer_common_names: Vec<String>,
    /// DNS names and IP addresses of the subject alternative name extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternative_names: Vec<String>,
    /// Public key algorithm (`RSA`, `EC`, `Ed25519`, `DSA`, or the OID).
    pub public_key_algorithm: String,
    /// Public key size in bits (RSA modulus, EC field), 0 when unknown.
    pub public_key_bits: u32,
    /// Named curve of an EC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_curve: Option<String>,
    /// Signature algorithm (`sha256WithRSAEncryption`, `ecdsa-with-SHA384`, or the OID).
    pub signature_algorithm: String,
    /// SHA-1 of the DER, lower-case hex bytes joined by `:` (Suricata's `tls.fingerprint`).
    pub sha1: String,
    /// SHA-256 of the DER, upper-case hex (ECS `tls.server.hash.sha256`).
    pub sha256: String,
    /// Subject and issuer are the same name.
    pub self_issued: bool,
    /// Basic constraints say it is a CA.
    pub is_ca: bool,
    /// FoxIO's JA4X (`a373a9f83c6b_2bab15409345_0f2217ba412e`): how the
    /// certificate was built (issuer and subject attribute types,
    /// extensions), not what it says. Filled by an enricher (netsec-tls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja4x: Option<String>,
}

/// An SSH identification string (RFC 4253 §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SshEvent {
    /// Context.
    pub ctx: EventContext,
    /// Protocol version (`2.0`).
    pub proto_version: String,
    /// Software version (`OpenSSH_9.2p1`).
    pub software: String,
    /// Comments after the software version, if any.
    pub comments: Option<String>,
}

/// An SMB message header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmbEvent {
    /// Context.
    pub ctx: EventContext,
    /// 1 for SMB1, 2 for SMB2/3.
    pub version: u8,
    /// Command code.
    pub command: u16,
    /// Command name (`NEGOTIATE`, `SESSION_SETUP`, `TREE_CONNECT`, …).
    pub command_name: String,
    /// NT status.
    pub status: u32,
    /// True for a response.
    pub is_response: bool,
    /// Negotiated or offered dialects (SMB2 NEGOTIATE), as `0x0311` numbers.
    pub dialects: Vec<u16>,
}

/// A DHCP message (RFC 2131).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DhcpEvent {
    /// Context.
    pub ctx: EventContext,
    /// Message type option 53 (`DISCOVER`, `OFFER`, `REQUEST`, `ACK`, …).
    pub message_type: String,
    /// Transaction id.
    pub xid: u32,
    /// Client hardware address.
    pub client_mac: MacAddr,
    /// `ciaddr`, when not 0.0.0.0.
    pub client_ip: Option<IpAddr>,
    /// `yiaddr`, the address offered or assigned, when not 0.0.0.0.
    pub assigned_ip: Option<IpAddr>,
    /// Requested IP option 50.
    pub requested_ip: Option<IpAddr>,
    /// Host name option 12.
    pub hostname: Option<String>,
    /// Server identifier option 54.
    pub server_id: Option<IpAddr>,
    /// Lease time option 51, seconds.
    pub lease_secs: Option<u32>,
}

/// An NTP message header (RFC 5905).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NtpEvent {
    /// Context.
    pub ctx: EventContext,
    /// Version number.
    pub version: u8,
    /// Mode (3 client, 4 server, 6 control, 7 private/monlist).
    pub mode: u8,
    /// Stratum.
    pub stratum: u8,
}

/// A file carried over HTTP/1.x: one request or response body, hashed as
/// transferred (de-chunked, but still content-encoded: a gzip body is
/// hashed as the gzip bytes, as Zeek's `files.log` does for the transfer).
/// The hashes are given only for a body seen whole: no bytes missing, its
/// framing complete, and no longer than the parser's hashing bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEvent {
    /// Context: the packet that ended the body (or the flow's end), and the
    /// direction it travelled (`to_client` for a download).
    pub ctx: EventContext,
    /// Protocol that carried it (`http`): static, no allocation.
    pub protocol: Cow<'static, str>,
    /// Method of the request (of the request itself for an upload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Cow<'static, str>>,
    /// Request target of that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `Host` header of that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Status code, for a response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Content-Type` of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// `Content-Encoding` of the message (`gzip`): the hashes are of the
    /// encoded bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Length`, when the body was framed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_length: Option<u64>,
    /// Body bytes seen (de-chunked), missing ones not included.
    pub bytes: u64,
    /// Body bytes lost in capture gaps (known from the framing).
    pub missing_bytes: u64,
    /// The body was seen whole: its framing ended it (or the connection's
    /// end for a body without length) and no bytes are missing.
    pub complete: bool,
    /// Longer than the hashing bound: counted, not hashed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_limit: bool,
    /// SHA-256 of the body, lower-case hex; only when complete and hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// MD5 of the body, lower-case hex; only when complete and hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

impl FileEvent {
    /// File name from the last path segment of the request target (query
    /// and fragment removed), when there is one.
    pub fn filename(&self) -> Option<&str> {
        let uri = self.uri.as_deref()?;
        let path = uri.split(['?', '#']).next().unwrap_or("");
        // An absolute-form target: drop the scheme and authority.
        let path = match path.split_once("://") {
            Some((_, rest)) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or(""),
            None => path,
        };
        let name = path.rsplit('/').next().unwrap_or("");
        (!name.is_empty()).then_some(name)
    }

    /// URL the file came from: `http://host/uri` when the host is known.
    pub fn url(&self) -> Option<String> {
        let uri = self.uri.as_deref()?;
        if uri.contains("://") {
            return Some(uri.to_string());
        }
        let host = self.host.as_deref()?;
        Some(format!("http://{host}{uri}"))
    }
}

/// One presentation context of a DCE-RPC bind or alter_context, with the
/// server's answer when it came ([C706] §12.6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DceRpcContext {
    /// Presentation context id.
    pub id: u16,
    /// Abstract syntax (interface) UUID, lower-case text.
    pub uuid: String,
    /// Interface major version.
    pub version: u16,
    /// Interface minor version.
    pub version_minor: u16,
    /// Well-known interface name (`drsuapi`, `samr`, …), if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

/// A connection-oriented DCE-RPC PDU ([C706] §12.6, [MS-RPCE] §2.2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DceRpcEvent {
    /// Context.
    pub ctx: EventContext,
    /// PDU type name: `bind`, `bind_ack`, `bind_nak`, `alter_context`,
    /// `alter_context_resp`, `request`, `response`, `fault`.
    pub ptype: String,
    /// Call id.
    pub call_id: u32,
    /// The named pipe carrying the PDU (`svcctl`, `samr`, …), or `None` over TCP.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pipe: Option<String>,
    /// Presentation context id (request, response, fault).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub context_id: Option<u16>,
    /// Interface of the call, from the bind that set up its context.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interface: Option<String>,
    /// Operation number (request; response from its request's call id).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub opnum: Option<u16>,
    /// Operation name (`DRSGetNCChanges`, `CreateServiceW`, …), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation: Option<String>,
    /// Contexts offered (bind, alter_context).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub contexts: Vec<DceRpcContext>,
    /// Per-context results of bind_ack / alter_context_resp (0 acceptance).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub results: Vec<u16>,
    /// Fault status (fault) or reject reason (bind_nak).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u32>,
    /// Netlogon authentication calls (NetrServerReqChallenge,
    /// NetrServerAuthenticate*): whether the client challenge or credential
    /// is all zero (Zerologon, CVE-2020-1472); `None` elsewhere or when the
    /// stub is sealed or cut.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub zero_credential: Option<bool>,
    /// lsarpc LsarLookupSids / LookupSids2 / LookupSids3 requests: how many
    /// SIDs the call asks to resolve (a RID-cycling sweep asks for
    /// hundreds).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid_count: Option<u32>,
}

/// A Kerberos V5 message (RFC 4120 §5.4.1, §5.4.2, §5.9.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KerberosEvent {
    /// Context.
    pub ctx: EventContext,
    /// msg-type: 10 AS-REQ, 11 AS-REP, 12 TGS-REQ, 13 TGS-REP, 30 KRB-ERROR.
    pub msg_type: u8,
    /// `AS-REQ`, `AS-REP`, `TGS-REQ`, `TGS-REP`, `KRB-ERROR`.
    pub msg_name: String,
    /// Realm of the request body, or crealm of a reply / error.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub realm: Option<String>,
    /// Client principal (name components joined by `/`), when in clear.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client: Option<String>,
    /// Server principal (sname; a reply's from its ticket).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    /// Requested encryption types, in the client's order (requests).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub etypes: Vec<i32>,
    /// Encryption type of the ticket (replies).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ticket_etype: Option<i32>,
    /// Encryption type of the reply's enc-part (the client's key).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reply_etype: Option<i32>,
    /// Whether a PA-ENC-TIMESTAMP pre-authentication was present (requests).
    pub pa_enc_timestamp: bool,
    /// KRB-ERROR error-code (25 PREAUTH_REQUIRED, 24 PREAUTH_FAILED, 6 C_PRINCIPAL_UNKNOWN, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<i32>,
}

/// An ARP packet (RFC 826), flowless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArpInfo {
    /// Capture time.
    pub ts: Timestamp,
    /// Packet number.
    pub packet_number: u64,
    /// 1 request, 2 reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: std::net::Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: std::net::Ipv4Addr,
    /// Ethernet source of the frame (may differ from `sender_mac` when spoofed).
    pub eth_src: Option<MacAddr>,
}

#[cfg(test)]
mod tests {
    use super::HttpHeaders;

    #[test]
    fn headers_in_one_buffer_read_and_serialise_as_pairs() {
        let mut h = HttpHeaders::with_capacity(3, 64);
        assert!(h.is_empty());
        h.push_lower("Host", "example.org");
        h.push_lower("X-Folded", "a");
        h.extend_last(" ", "b c", 1024);
        h.push_already_lower("accept", "");
        assert_eq!(h.len(), 3);
        let got: Vec<(&str, &str)> = h.iter().collect();
        assert_eq!(
            got,
            [
                ("host", "example.org"),
                ("x-folded", "a b c"),
                ("accept", "")
            ]
        );
        assert_eq!(h.get("x-folded"), Some("a b c"));
        assert_eq!(h.get("X-Folded"), None);
        assert_eq!(h.field(3), None);
        // The same JSON as the list of pairs it replaces, and back.
        let pairs: Vec<(String, String)> = got
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, serde_json::to_string(&pairs).unwrap());
        assert_eq!(serde_json::from_str::<HttpHeaders>(&json).unwrap(), h);
    }

    #[test]
    fn a_folded_value_is_cut_on_a_character_boundary() {
        let mut h = HttpHeaders::default();
        // Folding onto nothing is ignored.
        h.extend_last(" ", "x", 8);
        assert!(h.is_empty());
        h.push_lower("a", "123456");
        h.push_lower("b", "1234");
        h.extend_last(" ", "é€", 8);
        // "1234 é€" is 10 bytes; 8 would split the euro sign.
        assert_eq!(h.get("b"), Some("1234 é"));
        assert_eq!(h.get("a"), Some("123456"));
        h.push_lower("c", "z");
        assert_eq!(h.field(2), Some(("c", "z")));
    }
}
