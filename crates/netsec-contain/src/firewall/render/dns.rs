//! Content-aware targets: Suricata drop rules (addresses, and domains by
//! DNS query and TLS SNI) and a DNS response policy zone.

use std::net::IpAddr;

use netsec_model::Transport;

use super::super::rule::RuleMatch;
use super::{comment, net_text, Context, Rendered, Target};

fn suricata_addr(n: &Option<ipnet::IpNet>) -> String {
    n.as_ref().map_or("any".to_string(), net_text)
}

fn suricata_proto(m: &RuleMatch) -> &'static str {
    match m.transport {
        None => "ip",
        Some(Transport::Tcp) => "tcp",
        Some(Transport::Udp) => "udp",
        Some(Transport::Icmp) | Some(Transport::Icmpv6) => "icmp",
        Some(_) => "ip",
    }
}

/// Suricata (IPS mode): `drop` rules, sids from the options' first sid.
pub(super) fn suricata(ctx: &Context<'_>) -> Rendered {
    let mut sid = ctx.options.first_sid;
    let mut out = format!("# {}\n", ctx.summary());
    out.push_str(
        "# load: add this file to rule-files in suricata.yaml, then suricatasc -c reload-rules\n",
    );
    for r in &ctx.plan.rules {
        let m = &r.matcher;
        let port = m.dst_port.map_or("any".to_string(), |p| p.to_string());
        let ip_proto = match m.transport {
            Some(Transport::Other(n)) => format!(" ip_proto:{n};"),
            Some(Transport::Sctp) => " ip_proto:132;".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "drop {} {} any -> {} {port} (msg:\"netsec contain {}\";{ip_proto} metadata:netsec_rule {}, {}; classtype:misc-attack; sid:{sid}; rev:1;)\n",
            suricata_proto(m),
            suricata_addr(&m.src),
            suricata_addr(&m.dst),
            comment(&r.comment(), 200),
            r.id,
            comment(&ctx.expiry_note(), 60).replace(' ', "_"),
        ));
        sid += 1;
    }
    for d in &ctx.plan.domains {
        let findings = comment(&d.findings.join(", "), 160);
        let name = comment(&d.domain, 250);
        out.push_str(&format!(
            "drop dns any any -> any any (msg:\"netsec contain domain {name} ({findings})\"; dns.query; dotprefix; content:\".{name}\"; nocase; endswith; classtype:misc-attack; sid:{sid}; rev:1;)\n"
        ));
        sid += 1;
        out.push_str(&format!(
            "drop tls any any -> any any (msg:\"netsec contain domain {name} ({findings}) by SNI\"; tls.sni; dotprefix; content:\".{name}\"; nocase; endswith; classtype:misc-attack; sid:{sid}; rev:1;)\n"
        ));
        sid += 1;
    }
    let mut notes = Vec::new();
    if !ctx.plan.macs.is_empty() {
        notes.push("Suricata rules cannot match MAC addresses".to_string());
    }
    Rendered {
        target: Target::Suricata.name().to_string(),
        config: out,
        rollback: "remove this file from rule-files, then suricatasc -c reload-rules\n".to_string(),
        notes,
    }
}

/// The RPZ owner name of an address trigger (`32.4.3.2.1.rpz-ip`).
fn rpz_ip(ip: IpAddr, len: u8) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{len}.{}.{}.{}.{}.rpz-ip", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let words: Vec<String> = v6
                .segments()
                .iter()
                .rev()
                .map(|w| format!("{w:x}"))
                .collect();
            format!("{len}.{}.rpz-ip", words.join("."))
        }
    }
}

/// A response policy zone: every domain (and its subdomains) answers
/// NXDOMAIN, and answers that resolve to a hostile destination are dropped
/// the same way (IP triggers). Serial from the time it is made.
pub(super) fn rpz(ctx: &Context<'_>) -> Rendered {
    let ttl = if ctx.plan.ttl_secs > 0 { 60 } else { 300 };
    let serial = ctx.options.now.secs().clamp(1, i64::from(u32::MAX));
    let mut out = format!("; {}\n", ctx.summary());
    out.push_str(&format!(
        "$TTL {ttl}\n@ IN SOA localhost. hostmaster.localhost. ( {serial} 3600 600 86400 {ttl} )\n  IN NS localhost.\n"
    ));
    for d in &ctx.plan.domains {
        let name = d
            .domain
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .collect::<String>();
        if name.is_empty() {
            continue;
        }
        out.push_str(&format!("; {}\n", comment(&d.findings.join(", "), 200)));
        out.push_str(&format!("{name} CNAME .\n*.{name} CNAME .\n"));
    }
    // Hostile destinations (outside C2, exfiltration) as IP triggers.
    for r in &ctx.plan.rules {
        let Some(dst) = r.matcher.dst.filter(|_| r.matcher.src.is_none()) else {
            continue;
        };
        out.push_str(&format!("; {}\n", comment(&r.comment(), 200)));
        out.push_str(&format!(
            "{} CNAME .\n",
            rpz_ip(dst.network(), dst.prefix_len())
        ));
    }
    let mut notes = vec![format!(
        "only domains and hostile destinations: {} address rule(s) with a source are for a firewall target",
        ctx.plan.rules.iter().filter(|r| r.matcher.src.is_some()).count()
    )];
    if ctx.expires.is_some() {
        notes.push("RPZ entries do not expire: remove the zone at the expiry".to_string());
    }
    Rendered {
        target: Target::Rpz.name().to_string(),
        config: out,
        rollback:
            "remove the zone from response-policy in named.conf (or unbound's rpz:), then reload\n"
                .to_string(),
        notes,
    }
}
