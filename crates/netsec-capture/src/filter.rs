//! Capture filters: a tcpdump-like language, parsed once into a tree and
//! evaluated on decoded packets without allocating.
//!
//! Grammar (pcap-filter(7) subset):
//!
//! ```text
//! expr      := and ( ("or" | "||") and )*
//! and       := unary ( ("and" | "&&") unary )*
//! unary     := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive := [tcp|udp|sctp] [src|dst|src or dst|src and dst] (port N | portrange N-M)
//!            | [src|dst|src or dst|src and dst] (host ADDR | net CIDR | net ADDR mask MASK)
//!            | tcp | udp | sctp | icmp | icmp6 | ip | ip6 | arp | vlan [N]
//!            | VALUE            (repeats the previous primitive's qualifiers:
//!                                `port 80 or 443`, `host a and not b`)
//! ```
//!
//! Addresses are IPv4 or IPv6; `ip`/`ip6` may prefix `host` and `net`. A
//! network is CIDR (`10.0.0.0/8`, `2001:db8::/32`), `ADDR mask MASK`, or
//! abbreviated IPv4 (`net 10` = /8, `net 172.16` = /16, `net 192.168.1` = /24);
//! host bits beyond the prefix are an error, as in tcpdump. `port` matches
//! TCP, UDP and SCTP (never ICMP). Host, net and port match IP packets only;
//! `arp` is EtherType 0x0806; `vlan` any 802.1Q tag, `vlan N` the outer id.
//! Precedence: `not` over `and` over `or`, left to right. Unknown words,
//! missing values and unbalanced parentheses are errors that name the token
//! and its byte position.
//!
//! ```
//! use netsec_capture::Filter;
//! let f = Filter::parse("tcp and (port 80 or 443) and not src net 10.0.0.0/8").unwrap();
//! assert_eq!(f.text(), "tcp and (port 80 or 443) and not src net 10.0.0.0/8");
//! let e = Filter::parse("port banana").unwrap_err();
//! assert_eq!((e.position, e.token.as_str()), (5, "banana"));
//! ```

use std::net::IpAddr;

use netsec_model::{PacketInfo, Transport};

/// A parse error, naming the token and its byte position in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter error at position {position} ({token:?}): {message}")]
pub struct FilterError {
    /// Byte offset of the token in the expression.
    pub position: usize,
    /// The offending token (empty at end of input).
    pub token: String,
    /// What was expected.
    pub message: String,
}

/// Which address or port of a packet a primitive tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Src,
    Dst,
    Either,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Net,
    Port,
    PortRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProtoName {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmp6,
    Ip,
    Ip6,
    Arp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// The network address: `addr` with the host bits cleared.
    fn masked(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & v4_mask(self.prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & v6_mask(self.prefix)).into()),
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = v4_mask(self.prefix);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = v6_mask(self.prefix);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The IPv4 netmask of a prefix length (0-32; longer counts as 32).
fn v4_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

/// The IPv6 netmask of a prefix length (0-128; longer counts as 128).
fn v6_mask(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Primitive {
    Host(Dir, IpAddr),
    Net(Dir, Net),
    Port(Option<ProtoName>, Dir, u16, u16),
    Proto(ProtoName),
    Vlan(Option<u16>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Prim(Primitive),
}

/// A compiled capture filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    expr: Expr,
    text: String,
}

impl Filter {
    /// Parse a filter expression.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(FilterError {
                position: 0,
                token: String::new(),
                message: "empty filter".into(),
            });
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            end: text.len(),
            last: None,
            depth: 0,
        };
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(p.error_at(t, "expected 'and', 'or' or end of filter"));
        }
        Ok(Filter {
            expr,
            text: text.to_string(),
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a decoded packet passes the filter.
    pub fn matches(&self, packet: &PacketInfo) -> bool {
        eval(&self.expr, packet)
    }
}

fn eval(e: &Expr, p: &PacketInfo) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, p) || eval(b, p),
        Expr::And(a, b) => eval(a, p) && eval(b, p),
        Expr::Not(a) => !eval(a, p),
        Expr::Prim(prim) => eval_primitive(prim, p),
    }
}

fn by_dir<T: Copy>(dir: Dir, src: T, dst: T, test: impl Fn(T) -> bool) -> bool {
    match dir {
        Dir::Src => test(src),
        Dir::Dst => test(dst),
        Dir::Either => test(src) || test(dst),
        Dir::Both => test(src) && test(dst),
    }
}

fn eval_primitive(prim: &Primitive, p: &PacketInfo) -> bool {
    match prim {
        Primitive::Proto(ProtoName::Arp) => p.ether_type == 0x0806,
        Primitive::Vlan(id) => p.vlan != 0 && id.is_none_or(|id| id == p.vlan),
        _ => {
            let Some(ip) = &p.ip else {
                return false;
            };
            match prim {
                Primitive::Host(dir, addr) => by_dir(*dir, ip.src, ip.dst, |a| a == *addr),
                Primitive::Net(dir, net) => by_dir(*dir, ip.src, ip.dst, |a| net.contains(a)),
                Primitive::Port(proto, dir, lo, hi) => {
                    let transport_ok = match proto {
                        None => ip.transport.has_ports(),
                        Some(pn) => transport_matches(*pn, ip.transport),
                    };
                    transport_ok
                        && by_dir(*dir, ip.src_port, ip.dst_port, |port| {
                            (*lo..=*hi).contains(&port)
                        })
                }
                Primitive::Proto(pn) => match pn {
                    ProtoName::Ip => ip.src.is_ipv4(),
                    ProtoName::Ip6 => ip.src.is_ipv6(),
                    other => transport_matches(*other, ip.transport),
                },
                Primitive::Vlan(_) => false,
            }
        }
    }
}

fn transport_matches(p: ProtoName, t: Transport) -> bool {
    matches!(
        (p, t),
        (ProtoName::Tcp, Transport::Tcp)
            | (ProtoName::Udp, Transport::Udp)
            | (ProtoName::Sctp, Transport::Sctp)
            | (ProtoName::Icmp, Transport::Icmp)
            | (ProtoName::Icmp6, Transport::Icmpv6)
    )
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    position: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            tokens.push(Token {
                text: c.to_string(),
                position: i,
            });
            chars.next();
        } else if c == '!' {
            tokens.push(Token {
                text: "not".into(),
                position: i,
            });
            chars.next();
        } else if c == '&' || c == '|' {
            chars.next();
            match chars.peek() {
                Some(&(_, d)) if d == c => {
                    chars.next();
                    tokens.push(Token {
                        text: if c == '&' { "and" } else { "or" }.into(),
                        position: i,
                    });
                }
                _ => {
                    return Err(FilterError {
                        position: i,
                        token: c.to_string(),
                        message: format!("expected '{c}{c}'"),
                    })
                }
            }
        } else {
            let mut word = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if d.is_whitespace() || "()!&|".contains(d) {
                    break;
                }
                word.push(d);
                chars.next();
            }
            tokens.push(Token {
                text: word,
                position: i,
            });
        }
    }
    Ok(tokens)
}

/// Qualifiers of the last primitive, for abbreviations like `port 80 or 443`.
#[derive(Debug, Clone, Copy)]
struct Qualifiers {
    proto: Option<ProtoName>,
    dir: Dir,
    kind: Kind,
}

/// Nesting deeper than this is refused (a hostile filter cannot overflow the stack).
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    last: Option<Qualifiers>,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).cloned()
    }

    fn peek_is(&self, word: &str) -> bool {
        self.tokens
            .get(self.pos)
            .is_some_and(|t| t.text.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn error_at(&self, t: Token, message: &str) -> FilterError {
        FilterError {
            position: t.position,
            token: t.text,
            message: message.into(),
        }
    }

    fn error_end(&self, message: &str) -> FilterError {
        FilterError {
            position: self.end,
            token: String::new(),
            message: message.into(),
        }
    }

    fn expect_value(&mut self, what: &str) -> Result<Token, FilterError> {
        match self.next() {
            Some(t) if !is_keyword(&t.text) && t.text != "(" && t.text != ")" => Ok(t),
            Some(t) => Err(self.error_at(t, &format!("expected {what}"))),
            None => Err(self.error_end(&format!("expected {what}"))),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek_is("or") {
            self.next();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek_is("and") {
            self.next();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek();
            return Err(match t {
                Some(t) => self.error_at(t, "filter nested too deeply"),
                None => self.error_end("filter nested too deeply"),
            });
        }
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.error_end("expected a primitive"));
        };
        if t.text.eq_ignore_ascii_case("not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if t.text == "(" {
            self.next();
            let e = self.or()?;
            return match self.next() {
                Some(c) if c.text == ")" => Ok(e),
                Some(c) => Err(self.error_at(c, "expected ')'")),
                None => Err(self.error_end("missing ')'")),
            };
        }
        self.primitive().map(Expr::Prim)
    }

    fn primitive(&mut self) -> Result<Primitive, FilterError> {
        let Some(first) = self.peek() else {
            return Err(self.error_end("expected a primitive"));
        };
        // A bare value repeats the previous qualifiers (`port 80 or 443`).
        if !is_keyword(&first.text) && first.text != ")" {
            if let Some(q) = self.last {
                self.next();
                return self.value_for(q, first);
            }
            return Err(self.error_at(
                first,
                "unknown word; expected host, net, port, portrange, a protocol, or not/(",
            ));
        }
        let mut proto = None;
        let lower = first.text.to_ascii_lowercase();
        if let Some(pn) = proto_name(&lower) {
            self.next();
            // `tcp`/`udp`/`sctp` may qualify a port; anything else stands alone.
            let qualifies = matches!(pn, ProtoName::Tcp | ProtoName::Udp | ProtoName::Sctp)
                && (self.peek_is("port")
                    || self.peek_is("portrange")
                    || self.peek_is("src")
                    || self.peek_is("dst"));
            let qualifies_ip = matches!(pn, ProtoName::Ip | ProtoName::Ip6)
                && (self.peek_is("host")
                    || self.peek_is("net")
                    || self.peek_is("src")
                    || self.peek_is("dst"));
            if !qualifies && !qualifies_ip {
                return Ok(Primitive::Proto(pn));
            }
            if qualifies {
                proto = Some(pn);
            }
        }
        if self.peek_is("vlan") {
            self.next();
            let id = match self.peek() {
                Some(t) if t.text.parse::<u16>().is_ok() => {
                    self.next();
                    let id = t.text.parse::<u16>().unwrap_or(0);
                    if id > 4095 {
                        return Err(self.error_at(t, "VLAN id must be 0-4095"));
                    }
                    Some(id)
                }
                _ => None,
            };
            return Ok(Primitive::Vlan(id));
        }
        let mut dir = Dir::Either;
        if self.peek_is("src") || self.peek_is("dst") {
            let d = self
                .next()
                .map(|t| t.text.to_ascii_lowercase())
                .unwrap_or_default();
            dir = if d == "src" { Dir::Src } else { Dir::Dst };
            // `src or dst` / `src and dst`
            if (self.peek_is("or") || self.peek_is("and"))
                && self.tokens.get(self.pos + 1).is_some_and(|t| {
                    t.text
                        .eq_ignore_ascii_case(if d == "src" { "dst" } else { "src" })
                })
            {
                let conj = self
                    .next()
                    .map(|t| t.text.to_ascii_lowercase())
                    .unwrap_or_default();
                self.next();
                dir = if conj == "or" { Dir::Either } else { Dir::Both };
            }
        }
        let Some(kind_tok) = self.next() else {
            return Err(self.error_end("expected host, net, port or portrange"));
        };
        let kind = match kind_tok.text.to_ascii_lowercase().as_str() {
            "host" => Kind::Host,
            "net" => Kind::Net,
            "port" => Kind::Port,
            "portrange" => Kind::PortRange,
            _ => return Err(self.error_at(kind_tok, "expected host, net, port or portrange")),
        };
        if proto.is_some() && matches!(kind, Kind::Host | Kind::Net) {
            return Err(self.error_at(kind_tok, "tcp/udp/sctp qualify port and portrange only"));
        }
        let q = Qualifiers { proto, dir, kind };
        let value = self.expect_value(match kind {
            Kind::Host => "an address",
            Kind::Net => "a network (CIDR)",
            Kind::Port => "a port number",
            Kind::PortRange => "a port range N-M",
        })?;
        self.last = Some(q);
        self.value_for(q, value)
    }

    fn value_for(&mut self, q: Qualifiers, value: Token) -> Result<Primitive, FilterError> {
        match q.kind {
            Kind::Host => {
                let addr: IpAddr = value
                    .text
                    .parse()
                    .map_err(|_| self.error_at(value.clone(), "not an IPv4 or IPv6 address"))?;
                Ok(Primitive::Host(q.dir, addr))
            }
            Kind::Net => {
                let net = self.parse_net(&value)?;
                Ok(Primitive::Net(q.dir, net))
            }
            Kind::Port => {
                let port: u16 = value
                    .text
                    .parse()
                    .map_err(|_| self.error_at(value.clone(), "not a port number (0-65535)"))?;
                Ok(Primitive::Port(q.proto, q.dir, port, port))
            }
            Kind::PortRange => {
                let (lo, hi) = value
                    .text
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
                    .ok_or_else(|| self.error_at(value.clone(), "not a port range N-M"))?;
                if lo > hi {
                    return Err(self.error_at(value, "port range start is above its end"));
                }
                Ok(Primitive::Port(q.proto, q.dir, lo, hi))
            }
        }
    }

    fn parse_net(&mut self, value: &Token) -> Result<Net, FilterError> {
        let bad = |p: &Parser, msg: &str| p.error_at(value.clone(), msg);
        let (addr_text, prefix_text) = match value.text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value.text.as_str(), None),
        };
        // `net 10`, `net 172.16`, `net 192.168.1` name /8, /16, /24 networks (pcap-filter(7)).
        let (addr, implied): (IpAddr, u8) = match abbreviated_ipv4(addr_text) {
            Some((a, bits)) => (IpAddr::V4(a), bits),
            None => {
                let a: IpAddr = addr_text
                    .parse()
                    .map_err(|_| bad(self, "not a network (CIDR) or address"))?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let prefix = if let Some(p) = prefix_text {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            p.parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(self, "prefix length out of range"))?
        } else if self.peek_is("mask") {
            self.next();
            let m = self.expect_value("a netmask")?;
            let mask: std::net::Ipv4Addr = m
                .text
                .parse()
                .map_err(|_| self.error_at(m.clone(), "not an IPv4 netmask"))?;
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() != 32 || !addr.is_ipv4() {
                return Err(self.error_at(m, "netmask must be contiguous and IPv4"));
            }
            bits.leading_ones() as u8
        } else {
            implied
        };
        let net = Net { addr, prefix };
        // As tcpdump: `net 10.1.2.3/8` is a mistake, not 10.0.0.0/8.
        if net.masked() != addr {
            return Err(bad(self, "address has bits set beyond the network prefix"));
        }
        Ok(net)
    }
}

/// `10`, `172.16`, `192.168.1` as a network address and its implied prefix
/// length; `None` for anything else (full addresses included).
fn abbreviated_ipv4(text: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    let mut octets = [0u8; 4];
    let mut count = 0;
    for part in text.split('.') {
        if count == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octets.get_mut(count)? = part.parse().ok()?;
        count += 1;
    }
    Some((std::net::Ipv4Addr::from(octets), (count * 8) as u8))
}

fn proto_name(word: &str) -> Option<ProtoName> {
    Some(match word {
        "tcp" => ProtoName::Tcp,
        "udp" => ProtoName::Udp,
        "sctp" => ProtoName::Sctp,
        "icmp" => ProtoName::Icmp,
        "icmp6" => ProtoName::Icmp6,
        "ip" => ProtoName::Ip,
        "ip6" => ProtoName::Ip6,
        "arp" => ProtoName::Arp,
        _ => return None,
    })
}

fn is_keyword(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    proto_name(&w).is_some()
        || matches!(
            w.as_str(),
            "and"
                | "or"
                | "not"
                | "src"
                | "dst"
                | "host"
                | "net"
                | "port"
                | "portrange"
                | "vlan"
                | "mask"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{IpInfo, TcpFlags, Timestamp};

    fn pkt(src: &str, dst: &str, t: Transport, sport: u16, dport: u16) -> PacketInfo {
        let src: IpAddr = src.parse().unwrap();
        let dst: IpAddr = dst.parse().unwrap();
        PacketInfo {
            number: 1,
            ts: Timestamp::ZERO,
            wire_len: 60,
            src_mac: None,
            dst_mac: None,
            vlan: 0,
            ether_type: if src.is_ipv4() { 0x0800 } else { 0x86dd },
            ip: Some(IpInfo {
                src,
                dst,
                transport: t,
                ttl: 64,
                ip_len: 40,
                fragmented: false,
                reassembled: false,
                src_port: sport,
                dst_port: dport,
                tcp_flags: TcpFlags::default(),
                tcp_seq: 0,
                tcp_ack: 0,
                tcp_window: 0,
                payload_len: 0,
            }),
        }
    }

    fn arp() -> PacketInfo {
        PacketInfo {
            number: 1,
            ts: Timestamp::ZERO,
            wire_len: 42,
            src_mac: None,
            dst_mac: None,
            vlan: 0,
            ether_type: 0x0806,
            ip: None,
        }
    }

    fn m(f: &str, p: &PacketInfo) -> bool {
        Filter::parse(f)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .matches(p)
    }

    #[test]
    fn host_and_direction() {
        let p = pkt("10.0.0.1", "10.0.0.2", Transport::Tcp, 4000, 80);
        assert!(m("host 10.0.0.1", &p));
        assert!(m("host 10.0.0.2", &p));
        assert!(!m("host 10.0.0.3", &p));
        assert!(m("src host 10.0.0.1", &p));
        assert!(!m("dst host 10.0.0.1", &p));
        assert!(m("src or dst host 10.0.0.2", &p));
        assert!(!m("src and dst host 10.0.0.2", &p));
        assert!(m("ip host 10.0.0.1", &p));
    }

    #[test]
    fn nets_and_masks() {
        let p = pkt("192.168.1.77", "8.8.8.8", Transport::Udp, 5353, 53);
        assert!(m("net 192.168.1.0/24", &p));
        assert!(m("src net 192.168.0.0/16", &p));
        assert!(!m("dst net 192.168.0.0/16", &p));
        assert!(m("net 192.168.1.0 mask 255.255.255.0", &p));
        assert!(!m("net 192.168.2.0/24", &p));
        assert!(m("net 0.0.0.0/0", &p));
        let p6 = pkt("2001:db8::5", "2001:db9::1", Transport::Tcp, 1, 2);
        assert!(m("net 2001:db8::/32", &p6));
        assert!(!m("dst net 2001:db8::/32", &p6));
        assert!(!m("net 10.0.0.0/8", &p6));
    }

    #[test]
    fn ports_and_ranges() {
        let p = pkt("10.0.0.1", "10.0.0.2", Transport::Tcp, 4000, 443);
        assert!(m("port 443", &p));
        assert!(m("tcp port 443", &p));
        assert!(!m("udp port 443", &p));
        assert!(m("dst port 443", &p));
        assert!(!m("src port 443", &p));
        assert!(m("portrange 400-500", &p));
        assert!(m("tcp dst portrange 443-443", &p));
        assert!(!m("portrange 1-399", &p));
        assert!(m("port 80 or 443", &p));
        assert!(!m("port 80 or 8080", &p));
        let icmp = pkt("10.0.0.1", "10.0.0.2", Transport::Icmp, 8, 0);
        assert!(!m("port 8", &icmp), "ICMP type is not a port");
    }

    #[test]
    fn protocols() {
        let tcp = pkt("10.0.0.1", "10.0.0.2", Transport::Tcp, 1, 2);
        let udp = pkt("10.0.0.1", "10.0.0.2", Transport::Udp, 1, 2);
        let icmp6 = pkt("::1", "::2", Transport::Icmpv6, 128, 0);
        assert!(m("tcp", &tcp) && !m("tcp", &udp));
        assert!(m("udp", &udp) && !m("udp", &tcp));
        assert!(m("icmp6", &icmp6) && !m("icmp", &icmp6));
        assert!(m("ip6", &icmp6) && !m("ip", &icmp6));
        assert!(m("ip", &tcp) && !m("ip6", &tcp));
        assert!(m("arp", &arp()) && !m("arp", &tcp));
        assert!(!m("host 10.0.0.1", &arp()));
        let mut tagged = tcp;
        tagged.vlan = 12;
        assert!(m("vlan", &tagged) && m("vlan 12", &tagged) && !m("vlan 13", &tagged));
        assert!(!m("vlan", &tcp));
    }

    #[test]
    fn boolean_precedence_and_parentheses() {
        let p = pkt("10.0.0.1", "10.0.0.2", Transport::Udp, 5000, 53);
        // and binds tighter than or
        assert!(m("tcp and port 80 or udp", &p));
        assert!(!m("tcp and (port 80 or udp)", &p));
        assert!(m("not tcp", &p));
        assert!(m("! tcp && udp", &p));
        assert!(m("udp || tcp", &p));
        assert!(m("not (tcp or icmp) and port 53", &p));
        assert!(!m("not not tcp", &p));
        assert!(m("host 10.0.0.1 and not 10.0.0.9", &p));
        assert!(!m("host 10.0.0.1 and not 10.0.0.2", &p));
    }

    #[test]
    fn errors_name_the_token() {
        let e = Filter::parse("port banana").unwrap_err();
        assert_eq!(e.token, "banana");
        assert_eq!(e.position, 5);
        let e = Filter::parse("tcp and (port 80").unwrap_err();
        assert!(e.message.contains(')'));
        assert!(Filter::parse("").is_err());
        assert!(Filter::parse("host").is_err());
        assert!(Filter::parse("host 300.1.1.1").is_err());
        assert!(Filter::parse("net 10.0.0.0/33").is_err());
        assert!(Filter::parse("portrange 90-80").is_err());
        assert!(Filter::parse("frobnicate").is_err());
        assert!(Filter::parse("tcp &").is_err());
        assert!(Filter::parse("tcp )").is_err());
        assert!(Filter::parse("net 10.0.0.0 mask 255.0.255.0").is_err());
        let e = Filter::parse("tcp and net 10.1.2.3/8").unwrap_err();
        assert_eq!((e.position, e.token.as_str()), (12, "10.1.2.3/8"));
        assert!(e.message.contains("beyond the network prefix"), "{e}");
        assert!(Filter::parse("net 10.").is_err());
        assert!(Filter::parse("net 1.2.3.4.5").is_err());
        assert!(Filter::parse("net 256").is_err());
        assert!(Filter::parse("net 10.1.2.3").is_ok());
        let e = Filter::parse("host 10.0.0.1 or").unwrap_err();
        assert_eq!(e.position, 16, "{e}");
        let deep = "(".repeat(10_000) + "tcp" + &")".repeat(10_000);
        assert!(Filter::parse(&deep).is_err());
    }

    #[test]
    fn ipv6_host() {
        let p = pkt("fe80::1", "fe80::2", Transport::Udp, 1, 2);
        assert!(m("host fe80::1", &p));
        assert!(!m("host fe80::3", &p));
        assert!(m("ip6 host fe80::2", &p));
        assert!(m("dst host fe80::2", &p) && !m("src host fe80::2", &p));
        // An IPv4 host never matches an IPv6 packet.
        assert!(!m("host 10.0.0.1", &p));
    }

    /// Every primitive, each with a packet it matches and one it does not.
    #[test]
    fn every_primitive_matches_and_refuses() {
        let tcp4 = pkt("10.1.2.3", "192.0.2.80", Transport::Tcp, 40000, 80);
        let udp4 = pkt("10.1.2.3", "192.0.2.53", Transport::Udp, 5353, 53);
        let icmp4 = pkt("10.1.2.3", "192.0.2.1", Transport::Icmp, 8, 0);
        let sctp4 = pkt("10.1.2.3", "192.0.2.1", Transport::Sctp, 36412, 36412);
        let tcp6 = pkt("2001:db8::1", "2001:db8:1::2", Transport::Tcp, 40000, 443);
        let icmp6 = pkt("fe80::1", "ff02::1", Transport::Icmpv6, 135, 0);
        let mut vlan = udp4;
        vlan.vlan = 100;
        let cases: &[(&str, &PacketInfo, &PacketInfo)] = &[
            ("host 10.1.2.3", &tcp4, &tcp6),
            (
                "src host 10.1.2.3",
                &tcp4,
                &pkt("192.0.2.80", "10.1.2.3", Transport::Tcp, 80, 1),
            ),
            ("dst host 192.0.2.80", &tcp4, &udp4),
            ("src or dst host 192.0.2.53", &udp4, &tcp4),
            (
                "src and dst host 10.1.2.3",
                &pkt("10.1.2.3", "10.1.2.3", Transport::Udp, 1, 2),
                &udp4,
            ),
            ("host 2001:db8::1", &tcp6, &tcp4),
            ("net 10.0.0.0/8", &tcp4, &tcp6),
            (
                "net 10",
                &tcp4,
                &pkt("11.0.0.1", "12.0.0.1", Transport::Tcp, 1, 2),
            ),
            (
                "net 10.1",
                &tcp4,
                &pkt("10.2.0.1", "12.0.0.1", Transport::Tcp, 1, 2),
            ),
            (
                "net 192.0.2",
                &tcp4,
                &pkt("10.0.0.1", "192.0.3.1", Transport::Tcp, 1, 2),
            ),
            ("net 10/8", &tcp4, &tcp6),
            (
                "net 192.0.2.0 mask 255.255.255.0",
                &tcp4,
                &pkt("10.0.0.1", "192.0.3.1", Transport::Tcp, 1, 2),
            ),
            (
                "src net 10.1.0.0/16",
                &tcp4,
                &pkt("192.0.2.80", "10.1.2.3", Transport::Tcp, 80, 1),
            ),
            (
                "dst net 192.0.2.0/24",
                &tcp4,
                &pkt("192.0.2.80", "10.1.2.3", Transport::Tcp, 80, 1),
            ),
            (
                "net 2001:db8:1::/48",
                &tcp6,
                &pkt("2001:db8::1", "2001:db8:2::2", Transport::Tcp, 1, 2),
            ),
            ("port 80", &tcp4, &udp4),
            ("port 53", &udp4, &tcp4),
            ("src port 40000", &tcp4, &udp4),
            ("dst port 443", &tcp6, &tcp4),
            (
                "tcp port 80",
                &tcp4,
                &pkt("10.1.2.3", "192.0.2.80", Transport::Udp, 40000, 80),
            ),
            (
                "udp port 53",
                &udp4,
                &pkt("10.1.2.3", "192.0.2.53", Transport::Tcp, 5353, 53),
            ),
            ("sctp port 36412", &sctp4, &udp4),
            ("portrange 50-60", &udp4, &tcp4),
            ("tcp dst portrange 400-500", &tcp6, &tcp4),
            ("udp src portrange 5000-6000", &udp4, &tcp4),
            ("tcp", &tcp4, &udp4),
            ("udp", &udp4, &tcp4),
            ("sctp", &sctp4, &tcp4),
            ("icmp", &icmp4, &icmp6),
            ("icmp6", &icmp6, &icmp4),
            ("ip", &tcp4, &tcp6),
            ("ip6", &tcp6, &tcp4),
            ("arp", &arp(), &tcp4),
            ("vlan", &vlan, &udp4),
            ("vlan 100", &vlan, &{
                let mut other = vlan;
                other.vlan = 101;
                other
            }),
        ];
        for (expr, yes, no) in cases {
            assert!(m(expr, yes), "{expr} should match {yes:?}");
            assert!(!m(expr, no), "{expr} should not match {no:?}");
        }
        // Nothing that needs an IP header matches ARP.
        for expr in [
            "host 10.1.2.3",
            "net 0.0.0.0/0",
            "port 80",
            "tcp",
            "ip",
            "ip6",
            "icmp",
        ] {
            assert!(!m(expr, &arp()), "{expr} matched ARP");
        }
    }

    #[test]
    fn precedence_follows_pcap_filter() {
        let udp = pkt("10.0.0.1", "10.0.0.2", Transport::Udp, 5000, 53);
        // not > and > or, left to right.
        assert!(!m("not udp and port 53", &udp), "(not udp) and port 53");
        assert!(m("not tcp and port 53", &udp));
        assert!(
            m("tcp or udp and port 53", &udp),
            "tcp or (udp and port 53)"
        );
        assert!(!m("(tcp or udp) and port 80", &udp));
        assert!(m("tcp or udp and port 80 or port 53", &udp));
        assert!(!m("tcp || udp && port 80", &udp));
        assert!(m("!(tcp) && (udp || icmp)", &udp));
        assert!(m("((((udp))))", &udp));
        // `and`/`or` are words, case-insensitive; `&&`/`||` need no spaces.
        assert!(m("UDP AND PORT 53", &udp));
        assert!(m("udp&&port 53||tcp", &udp));
    }
}
