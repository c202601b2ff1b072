//! Report formats other tools read: nmap's XML (the elements and attributes
//! of nmap.dtd that report converters and vulnerability managers use:
//! `nmaprun`, `host`, `status`, `address`, `ports`, `port`, `state`,
//! `service`, `runstats`) and CSV.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::scan::{PortResult, PortState, ScanReport};

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

/// The report as nmap XML. `start` is the Unix time the scan started; `args`
/// the command line.
pub fn nmap_xml(report: &ScanReport, start: u64, args: &str) -> String {
    let mut by_host: BTreeMap<IpAddr, Vec<&PortResult>> = BTreeMap::new();
    for r in &report.results {
        by_host.entry(r.ip).or_default().push(r);
    }
    let mut x = String::new();
    let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(x, "<!DOCTYPE nmaprun>");
    let _ = writeln!(
        x,
        "<nmaprun scanner=\"netsec\" args=\"{}\" start=\"{start}\" version=\"{}\" xmloutputversion=\"1.05\">",
        xml_escape(args),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        x,
        "<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"{}\"/>",
        report.ports_scanned
    );
    for (ip, ports) in &by_host {
        let addrtype = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
        let _ = writeln!(x, "<host><status state=\"up\" reason=\"conn-refused\"/>");
        let _ = writeln!(x, "<address addr=\"{ip}\" addrtype=\"{addrtype}\"/>");
        let closed = ports
            .iter()
            .filter(|p| p.state == PortState::Closed)
            .count();
        let _ = writeln!(
            x,
            "<ports><extraports state=\"closed\" count=\"{closed}\"/>"
        );
        for p in ports.iter().filter(|p| p.state == PortState::Open) {
            let _ = write!(
                x,
                "<port protocol=\"tcp\" portid=\"{}\"><state state=\"open\" reason=\"{}\"/>",
                p.port,
                xml_escape(&p.reason)
            );
            if let Some(s) = &p.service {
                let _ = write!(x, "<service name=\"{}\"", xml_escape(&s.name));
                if let Some(v) = &s.product {
                    let _ = write!(x, " product=\"{}\"", xml_escape(v));
                }
                if let Some(v) = &s.version {
                    let _ = write!(x, " version=\"{}\"", xml_escape(v));
                }
                if let Some(v) = &s.info {
                    let _ = write!(x, " extrainfo=\"{}\"", xml_escape(v));
                }
                let conf = (s.confidence * 10.0).round() as u8;
                let _ = write!(x, " method=\"probed\" conf=\"{conf}\"/>");
            }
            let _ = writeln!(x, "</port>");
        }
        let _ = writeln!(x, "</ports></host>");
    }
    let _ = writeln!(
        x,
        "<runstats><finished time=\"{}\" elapsed=\"{:.2}\"/><hosts up=\"{}\" total=\"{}\"/></runstats>",
        start + report.elapsed_s as u64,
        report.elapsed_s,
        by_host.len(),
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

/// The report as CSV: one row per open or closed port.
pub fn csv(report: &ScanReport) -> String {
    let mut out =
        String::from("ip,port,protocol,state,reason,service,product,version,info,confidence\n");
    for r in &report.results {
        let s = r.service.as_ref();
        let fields = [
            r.ip.to_string(),
            r.port.to_string(),
            "tcp".into(),
            r.state.to_string(),
            r.reason.clone(),
            s.map(|s| s.name.clone()).unwrap_or_default(),
            s.and_then(|s| s.product.clone()).unwrap_or_default(),
            s.and_then(|s| s.version.clone()).unwrap_or_default(),
            s.and_then(|s| s.info.clone()).unwrap_or_default(),
            s.map(|s| format!("{:.2}", s.confidence))
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
    use crate::service::ServiceMatch;

    fn report() -> ScanReport {
        ScanReport {
            ports_scanned: 2,
            hosts_scanned: 1,
            elapsed_s: 0.5,
            filtered: 0,
            results: vec![
                PortResult {
                    ip: "10.0.0.1".parse().unwrap(),
                    port: 80,
                    state: PortState::Open,
                    reason: "syn-ack".into(),
                    service: Some(ServiceMatch {
                        name: "http".into(),
                        product: Some("nginx".into()),
                        version: Some("1.22.1".into()),
                        info: Some("title: <a & \"b\">".into()),
                        confidence: 1.0,
                        banner: String::new(),
                    }),
                },
                PortResult {
                    ip: "10.0.0.1".parse().unwrap(),
                    port: 81,
                    state: PortState::Closed,
                    reason: "conn-refused".into(),
                    service: None,
                },
            ],
        }
    }

    #[test]
    fn xml_has_nmap_elements_and_escapes() {
        let x = nmap_xml(&report(), 1_700_000_000, "netsec scan 10.0.0.1 -p 80,81");
        assert!(x.contains("<nmaprun scanner=\"netsec\""));
        assert!(x.contains("<address addr=\"10.0.0.1\" addrtype=\"ipv4\"/>"));
        assert!(x.contains("<port protocol=\"tcp\" portid=\"80\"><state state=\"open\""));
        assert!(x.contains("product=\"nginx\" version=\"1.22.1\""));
        assert!(x.contains("extrainfo=\"title: &lt;a &amp; &quot;b&quot;&gt;\""));
        assert!(x.contains("<extraports state=\"closed\" count=\"1\"/>"));
        assert!(!x.contains("portid=\"81\""));
    }

    #[test]
    fn csv_quotes_fields() {
        let c = csv(&report());
        assert!(c
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("10.0.0.1,80,tcp,open,syn-ack,http,nginx,1.22.1,"));
        assert!(c.contains("\"title: <a & \"\"b\"\">\""));
        assert_eq!(c.lines().count(), 3);
    }
}
