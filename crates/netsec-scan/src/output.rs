//! Report formats other tools read: nmap's XML (the elements and attributes
//! of nmap.dtd that report converters and vulnerability managers use:
//! `nmaprun`, `host`, `status`, `address`, `ports`, `port`, `state`,
//! `service`, `runstats`) and CSV.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::scan::{PortResult, PortState, Protocol, ScanReport, StateCounts};

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn extraports(x: &mut String, counts: &StateCounts, listed: &[&PortResult], protocol: Protocol) {
    for state in [
        PortState::Closed,
        PortState::Filtered,
        PortState::OpenFiltered,
        PortState::Unfiltered,
    ] {
        let shown = listed
            .iter()
            .filter(|p| p.protocol == protocol && p.state == state)
            .count() as u64;
        let hidden = counts.get(state).saturating_sub(shown);
        if hidden > 0 {
            let _ = writeln!(
                x,
                "<extraports state=\"{state}\" count=\"{hidden}\"><extrareasons reason=\"{}\" count=\"{hidden}\" proto=\"{protocol}\"/></extraports>",
                match state {
                    PortState::Closed if protocol == Protocol::Udp => "port-unreach",
                    PortState::Closed => "conn-refused",
                    _ => "no-response",
                }
            );
        }
    }
}

/// The report as nmap XML (nmap.dtd 1.05). `args` is the command line.
pub fn nmap_xml(report: &ScanReport, args: &str) -> String {
    let mut by_host: BTreeMap<IpAddr, Vec<&PortResult>> = BTreeMap::new();
    for r in &report.results {
        by_host.entry(r.ip).or_default().push(r);
    }
    let start = report.started_unix;
    let mut x = String::new();
    let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(x, "<!DOCTYPE nmaprun>");
    let _ = writeln!(
        x,
        "<nmaprun scanner=\"netsec\" args=\"{}\" start=\"{start}\" startstr=\"\" version=\"{}\" xmloutputversion=\"1.05\">",
        xml_escape(args),
        env!("CARGO_PKG_VERSION")
    );
    if report.ports_scanned > 0 {
        // nmap's names: "syn" for -sS, "connect" for -sT.
        let kind = if report.scan_type.starts_with("syn") {
            "syn"
        } else {
            "connect"
        };
        let _ = writeln!(
            x,
            "<scaninfo type=\"{kind}\" protocol=\"tcp\" numservices=\"{}\" services=\"\"/>",
            report.ports_scanned
        );
    }
    if report.udp_ports_scanned > 0 {
        let _ = writeln!(
            x,
            "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"{}\" services=\"\"/>",
            report.udp_ports_scanned
        );
    }
    let _ = writeln!(x, "<verbose level=\"0\"/>\n<debugging level=\"0\"/>");
    let mut up = 0;
    for h in &report.hosts {
        let state = if h.up { "up" } else { "down" };
        up += usize::from(h.up);
        let addrtype = if h.ip.is_ipv4() { "ipv4" } else { "ipv6" };
        let _ = writeln!(
            x,
            "<host starttime=\"{start}\" endtime=\"{}\"><status state=\"{state}\" reason=\"{}\" reason_ttl=\"0\"/>",
            start + report.elapsed_s as u64,
            xml_escape(&h.reason)
        );
        let _ = writeln!(x, "<address addr=\"{}\" addrtype=\"{addrtype}\"/>", h.ip);
        let _ = writeln!(x, "<hostnames></hostnames>");
        let listed: &[&PortResult] = by_host.get(&h.ip).map_or(&[], |v| v.as_slice());
        let _ = writeln!(x, "<ports>");
        extraports(&mut x, &h.tcp, listed, Protocol::Tcp);
        extraports(&mut x, &h.udp, listed, Protocol::Udp);
        for p in listed {
            let _ = write!(
                x,
                "<port protocol=\"{}\" portid=\"{}\"><state state=\"{}\" reason=\"{}\" reason_ttl=\"0\"/>",
                p.protocol,
                p.port,
                p.state,
                xml_escape(&p.reason)
            );
            if let Some(s) = &p.service {
                let _ = write!(x, "<service name=\"{}\"", xml_escape(&s.name));
                for (attr, v) in [
                    ("product", &s.product),
                    ("version", &s.version),
                    ("extrainfo", &s.info),
                    ("hostname", &s.hostname),
                    ("ostype", &s.os),
                    ("devicetype", &s.device),
                    ("tunnel", &s.tunnel),
                ] {
                    if let Some(v) = v {
                        let _ = write!(x, " {attr}=\"{}\"", xml_escape(v));
                    }
                }
                let conf = (s.confidence * 10.0).round().clamp(0.0, 10.0) as u8;
                let _ = write!(x, " method=\"{}\" conf=\"{conf}\">", xml_escape(&s.method));
                for c in &s.cpe {
                    let _ = write!(x, "<cpe>{}</cpe>", xml_escape(c));
                }
                let _ = write!(x, "</service>");
                if let Some(t) = &s.http_title {
                    let _ = write!(
                        x,
                        "<script id=\"http-title\" output=\"{}\"/>",
                        xml_escape(t)
                    );
                }
                if let Some(t) = &s.tls {
                    let _ = write!(
                        x,
                        "<script id=\"ssl-cert\" output=\"Subject: {}&#xa;Issuer: {}&#xa;Not valid before: {}&#xa;Not valid after: {}&#xa;Public Key: {}&#xa;Signature Algorithm: {}&#xa;SHA-256: {}\"/>",
                        xml_escape(&t.subject),
                        xml_escape(&t.issuer),
                        t.not_before,
                        t.not_after,
                        xml_escape(&t.key),
                        xml_escape(&t.signature_algorithm),
                        t.fingerprint_sha256
                    );
                }
            }
            let _ = writeln!(x, "</port>");
        }
        let _ = writeln!(x, "</ports>");
        if let Some(us) = h.srtt_us {
            let _ = writeln!(x, "<times srtt=\"{us}\" rttvar=\"0\" to=\"0\"/>");
        }
        let _ = writeln!(x, "</host>");
    }
    let _ = writeln!(
        x,
        "<runstats><finished time=\"{}\" elapsed=\"{:.2}\" exit=\"{}\"/><hosts up=\"{up}\" down=\"{}\" total=\"{}\"/></runstats>",
        start + report.elapsed_s as u64,
        report.elapsed_s,
        if report.complete { "success" } else { "error" },
        report.hosts_scanned.saturating_sub(up),
        report.hosts_scanned
    );
    let _ = writeln!(x, "</nmaprun>");
    x
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The report as CSV: one row per listed port.
pub fn csv(report: &ScanReport) -> String {
    let mut out = String::from(
        "ip,port,protocol,state,reason,service,product,version,info,confidence,tls_subject,tls_not_after\n",
    );
    for r in &report.results {
        let s = r.service.as_ref();
        let fields = [
            r.ip.to_string(),
            r.port.to_string(),
            r.protocol.to_string(),
            r.state.to_string(),
            r.reason.clone(),
            s.map(|s| s.display_name()).unwrap_or_default(),
            s.and_then(|s| s.product.clone()).unwrap_or_default(),
            s.and_then(|s| s.version.clone()).unwrap_or_default(),
            s.and_then(|s| s.info.clone()).unwrap_or_default(),
            s.map(|s| format!("{:.2}", s.confidence))
                .unwrap_or_default(),
            s.and_then(|s| s.tls.as_ref())
                .map(|t| t.subject.clone())
                .unwrap_or_default(),
            s.and_then(|s| s.tls.as_ref())
                .map(|t| t.not_after.to_string())
                .unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::HostSummary;
    use crate::service::ServiceMatch;

    fn report() -> ScanReport {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        ScanReport {
            scan_type: "connect".into(),
            started_unix: 1_700_000_000,
            elapsed_s: 0.5,
            ports_scanned: 1000,
            udp_ports_scanned: 0,
            hosts_scanned: 2,
            hosts: vec![
                HostSummary {
                    ip,
                    up: true,
                    reason: "conn-refused".into(),
                    srtt_us: Some(120),
                    tcp: StateCounts {
                        open: 1,
                        closed: 997,
                        filtered: 2,
                        ..StateCounts::default()
                    },
                    udp: StateCounts::default(),
                },
                HostSummary {
                    ip: "10.0.0.2".parse().unwrap(),
                    up: false,
                    reason: "no-response".into(),
                    srtt_us: None,
                    tcp: StateCounts::default(),
                    udp: StateCounts::default(),
                },
            ],
            results: vec![PortResult {
                ip,
                port: 443,
                protocol: Protocol::Tcp,
                state: PortState::Open,
                reason: "syn-ack".into(),
                service: Some(ServiceMatch {
                    name: "http".into(),
                    product: Some("nginx".into()),
                    version: Some("1.22.1".into()),
                    info: Some("<a & \"b\">".into()),
                    tunnel: Some("ssl".into()),
                    method: "probed".into(),
                    confidence: 1.0,
                    cpe: vec!["cpe:/a:igor_sysoev:nginx:1.22.1".into()],
                    ..ServiceMatch::default()
                }),
            }],
            complete: true,
            notes: Vec::new(),
        }
    }

    #[test]
    fn xml_has_nmap_elements_and_escapes() {
        let x = nmap_xml(&report(), "netsec scan 10.0.0.1-2");
        assert!(x.contains("<nmaprun scanner=\"netsec\""));
        assert!(x.contains("<address addr=\"10.0.0.1\" addrtype=\"ipv4\"/>"));
        assert!(x.contains("<port protocol=\"tcp\" portid=\"443\"><state state=\"open\""));
        assert!(x.contains("product=\"nginx\" version=\"1.22.1\""));
        assert!(x.contains("extrainfo=\"&lt;a &amp; &quot;b&quot;&gt;\""));
        assert!(x.contains("tunnel=\"ssl\" method=\"probed\" conf=\"10\"><cpe>cpe:/a:igor_sysoev:nginx:1.22.1</cpe></service>"));
        assert!(x.contains("<extraports state=\"closed\" count=\"997\">"));
        assert!(x.contains("<extraports state=\"filtered\" count=\"2\">"));
        assert!(x.contains("<status state=\"down\" reason=\"no-response\""));
        assert!(x.contains("<hosts up=\"1\" down=\"1\" total=\"2\"/>"));
    }

    /// The XML is well formed enough for a strict reader: every element
    /// opened is closed, in order.
    #[test]
    fn xml_elements_balance() {
        let x = nmap_xml(&report(), "a<b");
        let mut stack: Vec<String> = Vec::new();
        let mut rest = x.as_str();
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').unwrap();
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name));
            } else {
                stack.push(tag.split_whitespace().next().unwrap().to_string());
            }
        }
        assert!(stack.is_empty(), "{stack:?}");
    }

    #[test]
    fn csv_quotes_fields() {
        let c = csv(&report());
        assert!(c
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("10.0.0.1,443,tcp,open,syn-ack,ssl/http,nginx,1.22.1,"));
        assert!(c.contains("\"<a & \"\"b\"\">\""));
        assert_eq!(c.lines().count(), 2);
    }
}
