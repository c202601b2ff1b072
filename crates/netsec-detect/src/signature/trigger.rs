//! When a rule is evaluated: on a packet (header tests and payload
//! contents), or on the application event whose fields are its buffers (an
//! HTTP request for `http.uri`, a DNS query for `dns.query`, a ClientHello
//! for `tls.sni`). HTTP rules are evaluated on the transaction: request
//! rules on its request head and body, response rules on its response
//! (`file.data` is the response body, or the request body in a `to_server`
//! rule). A rule whose buffers no single moment has (a payload content
//! beside `http.uri`, request and response buffers together) is rejected at
//! load as unsupported, so that every rule loaded is a rule run.

use super::rule::{AppProtocol, Buffer, Rule, RuleProtocol};

/// What makes a rule's buffers available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// Every packet of a flow (its payload is the `payload` buffer).
    Packet,
    /// An HTTP request's start line and headers.
    HttpRequest,
    /// An HTTP response's status line and headers.
    HttpResponse,
    /// A DNS query.
    DnsQuery,
    /// A TLS ClientHello.
    TlsClientHello,
    /// A TLS ServerHello.
    TlsServerHello,
    /// A TLS Certificate message.
    TlsCertificate,
    /// An SSH banner.
    SshBanner,
}

/// Which HTTP message a buffer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpSide {
    Request,
    Response,
    Either,
}

fn http_side(buffer: Buffer) -> HttpSide {
    match buffer {
        Buffer::HttpUri
        | Buffer::HttpUriRaw
        | Buffer::HttpMethod
        | Buffer::HttpRequestLine
        | Buffer::HttpHost
        | Buffer::HttpHostRaw
        | Buffer::HttpUserAgent
        | Buffer::HttpReferer
        | Buffer::HttpAccept
        | Buffer::HttpAcceptEnc
        | Buffer::HttpAcceptLang
        | Buffer::HttpRequestBody => HttpSide::Request,
        Buffer::HttpStatCode
        | Buffer::HttpStatMsg
        | Buffer::HttpResponseLine
        | Buffer::HttpLocation
        | Buffer::HttpServer
        | Buffer::HttpResponseBody => HttpSide::Response,
        _ => HttpSide::Either,
    }
}

/// The moment a rule is evaluated at, or why none has all its buffers.
/// The error is (what, why): the keyword or combination, and the reason.
pub fn trigger_of(rule: &Rule) -> Result<Trigger, (String, String)> {
    let mut trigger: Option<Trigger> = None;
    let mut http_either = false;
    let mut payload = false;
    for buffer in rule.buffers.iter().map(|b| b.buffer) {
        let this = match buffer {
            Buffer::Payload => {
                payload = true;
                continue;
            }
            Buffer::DnsQuery => Trigger::DnsQuery,
            Buffer::TlsSni | Buffer::Ja3Hash | Buffer::Ja3String | Buffer::Ja4Hash => {
                Trigger::TlsClientHello
            }
            Buffer::Ja3sHash => Trigger::TlsServerHello,
            Buffer::TlsCertSubject
            | Buffer::TlsCertIssuer
            | Buffer::TlsCertSerial
            | Buffer::TlsCerts => Trigger::TlsCertificate,
            Buffer::SshProto | Buffer::SshSoftware => Trigger::SshBanner,
            http => match http_side(http) {
                HttpSide::Request => Trigger::HttpRequest,
                HttpSide::Response => Trigger::HttpResponse,
                HttpSide::Either => {
                    http_either = true;
                    continue;
                }
            },
        };
        match trigger {
            None => trigger = Some(this),
            Some(t) if t == this => {}
            Some(t) => {
                return Err((
                    "mixed buffers".to_string(),
                    format!(
                        "buffers of two moments ({t:?} and {this:?}): transactions are not tracked"
                    ),
                ))
            }
        }
    }
    if http_either {
        let side = match (trigger, rule.flow.to_server) {
            (Some(t @ (Trigger::HttpRequest | Trigger::HttpResponse)), _) => t,
            (None, Some(false)) => Trigger::HttpResponse,
            (None, _) => Trigger::HttpRequest,
            (Some(other), _) => {
                return Err((
                    "mixed buffers".to_string(),
                    format!("HTTP buffers beside {other:?} buffers"),
                ))
            }
        };
        trigger = Some(side);
    }
    let trigger = trigger.unwrap_or(Trigger::Packet);
    if trigger != Trigger::Packet {
        // HTTP rules see the raw bytes of their message (head packet and body)
        // as `payload`; other events have no such bytes
        let http = matches!(trigger, Trigger::HttpRequest | Trigger::HttpResponse);
        if payload && !http {
            return Err((
                "mixed buffers".to_string(),
                "payload content beside application-layer buffers".to_string(),
            ));
        }
        if rule.dsize.is_some()
            || rule.flags.is_some()
            || rule.ttl.is_some()
            || rule.itype.is_some()
            || rule.icode.is_some()
        {
            return Err((
                "mixed buffers".to_string(),
                "packet header tests beside application-layer buffers".to_string(),
            ));
        }
        let expected = match trigger {
            Trigger::HttpRequest | Trigger::HttpResponse => AppProtocol::Http,
            Trigger::DnsQuery => AppProtocol::Dns,
            Trigger::SshBanner => AppProtocol::Ssh,
            _ => AppProtocol::Tls,
        };
        match rule.header.protocol {
            RuleProtocol::App(p) if p != expected => {
                return Err((
                    "mixed buffers".to_string(),
                    format!("{expected:?} buffers in a rule for protocol {p:?}"),
                ))
            }
            _ => {}
        }
    }
    Ok(trigger)
}
