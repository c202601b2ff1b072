//! nftables: one `inet` table whose sets hold the blocked addresses and
//! services, one element per rule with its comment and timeout, and base
//! chains on input, forward and output that jump to the blocking chain.

use std::collections::BTreeMap;

use ipnet::IpNet;
use netsec_model::Transport;

use super::super::plan::PlannedRule;
use super::{comment, net_text, Context, Rendered, Target};

/// nftables limits comments to 128 bytes.
const COMMENT_MAX: usize = 120;

/// The shape of a rule: which fields it sets, and its address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    v6: bool,
    src: bool,
    dst: bool,
    proto: bool,
    port: bool,
}

impl Shape {
    fn of(rule: &PlannedRule) -> Self {
        let m = &rule.matcher;
        Shape {
            v6: m.family() == Some(super::super::rule::Family::V6),
            src: m.src.is_some(),
            dst: m.dst.is_some(),
            proto: m.transport.is_some(),
            port: m.dst_port.is_some(),
        }
    }

    fn set_name(&self) -> String {
        let mut name = String::new();
        for (on, part) in [
            (self.src, "src"),
            (self.dst, "dst"),
            (self.proto && !self.port, "proto"),
            (self.port, "service"),
        ] {
            if on {
                if !name.is_empty() {
                    name.push('_');
                }
                name.push_str(part);
            }
        }
        format!("{name}_{}", if self.v6 { "v6" } else { "v4" })
    }

    fn types_and_match(&self) -> (String, String) {
        let (addr_type, ip) = if self.v6 {
            ("ipv6_addr", "ip6")
        } else {
            ("ipv4_addr", "ip")
        };
        let mut types = Vec::new();
        let mut keys = Vec::new();
        if self.src {
            types.push(addr_type);
            keys.push(format!("{ip} saddr"));
        }
        if self.dst {
            types.push(addr_type);
            keys.push(format!("{ip} daddr"));
        }
        if self.proto {
            types.push("inet_proto");
            keys.push("meta l4proto".to_string());
        }
        if self.port {
            types.push("inet_service");
            keys.push("th dport".to_string());
        }
        (types.join(" . "), keys.join(" . "))
    }
}

fn element(rule: &PlannedRule) -> String {
    let m = &rule.matcher;
    let mut parts: Vec<String> = Vec::new();
    for n in [m.src, m.dst].iter().flatten() {
        parts.push(net(n));
    }
    if let Some(t) = m.transport {
        parts.push(match t {
            Transport::Tcp => "tcp".to_string(),
            Transport::Udp => "udp".to_string(),
            Transport::Icmp => "icmp".to_string(),
            Transport::Icmpv6 => "ipv6-icmp".to_string(),
            Transport::Sctp => "sctp".to_string(),
            Transport::Other(n) => n.to_string(),
        });
    }
    if let Some(p) = m.dst_port {
        parts.push(p.to_string());
    }
    parts.join(" . ")
}

fn net(n: &IpNet) -> String {
    net_text(n)
}

pub(super) fn nftables(ctx: &Context<'_>) -> Rendered {
    let table = &ctx.options.name;
    let timeout = ctx.expires.map(|_| format!("{}s", ctx.plan.ttl_secs));
    let mut by_shape: BTreeMap<Shape, Vec<&PlannedRule>> = BTreeMap::new();
    for r in &ctx.plan.rules {
        by_shape.entry(Shape::of(r)).or_default().push(r);
    }
    let mut out = String::new();
    out.push_str("#!/usr/sbin/nft -f\n");
    out.push_str(&format!("# {}\n", ctx.summary()));
    out.push_str(&format!(
        "# apply: nft -f FILE    rollback: nft delete table inet {table}\n"
    ));
    if !ctx.plan.macs.is_empty() {
        out.push_str(&format!("#   and: nft delete table arp {table}\n"));
    }
    for d in &ctx.plan.domains {
        out.push_str(&format!(
            "# domain {} ({}): nftables cannot match names; see --target rpz or suricata\n",
            comment(&d.domain, 200),
            comment(&d.findings.join(", "), 200)
        ));
    }
    // Creating then deleting the table makes the file idempotent.
    out.push_str(&format!("table inet {table}\ndelete table inet {table}\n"));
    out.push_str(&format!("table inet {table} {{\n"));
    let mut matches = Vec::new();
    for (shape, rules) in &by_shape {
        let name = shape.set_name();
        let (types, key) = shape.types_and_match();
        let interval = rules.iter().any(|r| !r.matcher.hosts_only());
        let elements: Vec<(String, String)> =
            rules.iter().map(|r| (element(r), r.comment())).collect();
        write_set(
            &mut out,
            &name,
            &types,
            interval,
            timeout.as_deref(),
            &elements,
        );
        matches.push(format!(
            "\t\t{key} @{name} counter drop comment \"{}\"\n",
            comment(
                &format!(
                    "netsec contain: {}",
                    rules
                        .iter()
                        .map(|r| r.id.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                COMMENT_MAX
            )
        ));
    }
    if !ctx.plan.macs.is_empty() {
        let elements: Vec<(String, String)> = ctx
            .plan
            .macs
            .iter()
            .map(|m| (m.mac.to_string(), m.findings.join(", ")))
            .collect();
        write_set(
            &mut out,
            "mac",
            "ether_addr",
            false,
            timeout.as_deref(),
            &elements,
        );
    }
    out.push_str("\tchain contain {\n");
    for m in &matches {
        out.push_str(m);
    }
    out.push_str("\t}\n");
    if !ctx.plan.macs.is_empty() {
        // Link-layer addresses exist on received frames only.
        out.push_str("\tchain contain_mac {\n\t\tether saddr @mac counter drop comment \"netsec contain: spoofing MACs\"\n\t}\n");
    }
    for (hook, link) in [("input", true), ("forward", true), ("output", false)] {
        let mac_jump = if link && !ctx.plan.macs.is_empty() {
            " jump contain_mac;"
        } else {
            ""
        };
        out.push_str(&format!(
            "\tchain {hook} {{\n\t\ttype filter hook {hook} priority filter - 10; policy accept;{mac_jump}\n\t\tjump contain\n\t}}\n"
        ));
    }
    out.push_str("}\n");
    if !ctx.plan.macs.is_empty() {
        out.push_str(&format!("table arp {table}\ndelete table arp {table}\n"));
        out.push_str(&format!("table arp {table} {{\n\tchain input {{\n\t\ttype filter hook input priority filter - 10; policy accept;\n"));
        for m in &ctx.plan.macs {
            out.push_str(&format!(
                "\t\tarp saddr ether {} counter drop comment \"{}\"\n",
                m.mac,
                comment(&m.findings.join(", "), COMMENT_MAX)
            ));
        }
        out.push_str("\t}\n}\n");
    }
    let mut rollback = format!("nft delete table inet {table}\n");
    if !ctx.plan.macs.is_empty() {
        rollback.push_str(&format!("nft delete table arp {table}\n"));
    }
    let mut notes = Vec::new();
    if !ctx.plan.domains.is_empty() {
        notes.push(format!(
            "{} domain(s) not expressible in nftables: render --target rpz or suricata",
            ctx.plan.domains.len()
        ));
    }
    if let Some(t) = ctx.expires {
        notes.push(format!(
            "set elements time out after {} s (at {} if applied now)",
            ctx.plan.ttl_secs,
            super::rfc3339(t)
        ));
    }
    Rendered {
        target: Target::Nftables.name().to_string(),
        config: out,
        rollback,
        notes,
    }
}

/// A named set: its type, flags, and elements with their comments (and
/// timeouts, when the rules expire).
fn write_set(
    out: &mut String,
    name: &str,
    types: &str,
    interval: bool,
    timeout: Option<&str>,
    elements: &[(String, String)],
) {
    let mut flags = Vec::new();
    if interval {
        flags.push("interval");
    }
    if timeout.is_some() {
        flags.push("timeout");
    }
    out.push_str(&format!("\tset {name} {{\n\t\ttype {types}\n"));
    if !flags.is_empty() {
        out.push_str(&format!("\t\tflags {}\n", flags.join(",")));
    }
    out.push_str("\t\telements = {\n");
    let ttl = timeout.map(|t| format!(" timeout {t}")).unwrap_or_default();
    for (i, (element, note)) in elements.iter().enumerate() {
        let sep = if i + 1 == elements.len() { "" } else { "," };
        out.push_str(&format!(
            "\t\t\t{element}{ttl} comment \"{}\"{sep}\n",
            comment(note, COMMENT_MAX)
        ));
    }
    out.push_str("\t\t}\n\t}\n");
}
