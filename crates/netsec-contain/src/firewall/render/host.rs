//! Host and BSD firewalls: iptables/ip6tables (restore files) and pf (an anchor).

use netsec_model::Transport;

use super::super::plan::PlannedRule;
use super::super::rule::Family;
use super::{comment, net_text, proto_name, Context, Rendered, Target};

/// xt_comment allows 256 bytes.
const COMMENT_MAX: usize = 240;

fn iptables_match(rule: &PlannedRule, v6: bool) -> String {
    let m = &rule.matcher;
    let mut parts = Vec::new();
    if let Some(n) = m.src {
        parts.push(format!("-s {n}"));
    }
    if let Some(n) = m.dst {
        parts.push(format!("-d {n}"));
    }
    if let Some(t) = m.transport {
        let p = match (t, v6) {
            (Transport::Icmpv6, _) => "ipv6-icmp".to_string(),
            (Transport::Other(n), _) => n.to_string(),
            _ => proto_name(t),
        };
        parts.push(format!("-p {p}"));
        if let Some(port) = m.dst_port {
            parts.push(format!("-m {p} --dport {port}"));
        }
    }
    parts.join(" ")
}

/// iptables-restore (or ip6tables-restore) input: a chain of DROP rules
/// jumped to first from INPUT, FORWARD and OUTPUT. Apply with `--noflush`
/// so the rest of the ruleset stays. Rules stop matching at their expiry
/// (`-m time --datestop`, UTC).
pub(super) fn iptables(ctx: &Context<'_>, v6: bool) -> Rendered {
    let chain = ctx.options.name.to_ascii_uppercase().replace('_', "-");
    let family = if v6 { Family::V6 } else { Family::V4 };
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let rules: Vec<&PlannedRule> = ctx
        .plan
        .rules
        .iter()
        .filter(|r| r.matcher.family().unwrap_or(family) == family)
        .collect();
    let skipped = ctx.plan.rules.len() - rules.len();
    let datestop = ctx.expires.map(|t| {
        let (y, mo, d, h, mi) = super::civil(t);
        format!(" -m time --datestop {y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00")
    });
    let mut out = format!("# {}\n", ctx.summary());
    out.push_str(&format!(
        "# apply: {tool}-restore --noflush < FILE    rollback: see below\n*filter\n:{chain} - [0:0]\n"
    ));
    for hook in ["INPUT", "FORWARD", "OUTPUT"] {
        out.push_str(&format!("-I {hook} 1 -j {chain}\n"));
    }
    for r in &rules {
        out.push_str(&format!(
            "-A {chain} {}{} -m comment --comment \"{}\" -j DROP\n",
            iptables_match(r, v6),
            datestop.as_deref().unwrap_or(""),
            comment(
                &format!("{} {}", r.comment(), ctx.expiry_note()),
                COMMENT_MAX
            )
        ));
    }
    if !v6 {
        for m in &ctx.plan.macs {
            // The MAC match exists on received frames: INPUT and FORWARD only.
            for hook in ["INPUT", "FORWARD"] {
                out.push_str(&format!(
                    "-I {hook} 1 -m mac --mac-source {}{} -m comment --comment \"{}\" -j DROP\n",
                    m.mac,
                    datestop.as_deref().unwrap_or(""),
                    comment(
                        &format!("netsec contain: {}", m.findings.join(", ")),
                        COMMENT_MAX
                    )
                ));
            }
        }
    }
    out.push_str("COMMIT\n");
    let mut rollback = String::new();
    for hook in ["INPUT", "FORWARD", "OUTPUT"] {
        rollback.push_str(&format!("{tool} -D {hook} -j {chain}\n"));
    }
    if !v6 {
        for m in &ctx.plan.macs {
            for hook in ["INPUT", "FORWARD"] {
                rollback.push_str(&format!(
                    "{tool} -D {hook} -m mac --mac-source {} -j DROP\n",
                    m.mac
                ));
            }
        }
    }
    rollback.push_str(&format!("{tool} -F {chain}\n{tool} -X {chain}\n"));
    let mut notes = Vec::new();
    if skipped > 0 {
        let other = if v6 { "iptables" } else { "ip6tables" };
        notes.push(format!(
            "{skipped} rule(s) of the other address family: render --target {other}"
        ));
    }
    if !ctx.plan.macs.is_empty() && !v6 {
        notes.push(
            "MAC rules stop IP frames; spoofed ARP itself needs arptables or nftables (arp table)"
                .to_string(),
        );
    }
    if !ctx.plan.domains.is_empty() {
        notes.push(format!(
            "{} domain(s) not expressible in {tool}: render --target rpz or suricata",
            ctx.plan.domains.len()
        ));
    }
    Rendered {
        target: if v6 {
            Target::Ip6tables
        } else {
            Target::Iptables
        }
        .name()
        .to_string(),
        config: out,
        rollback,
        notes,
    }
}

/// pf: `block drop quick` rules with labels, for an anchor.
pub(super) fn pf(ctx: &Context<'_>) -> Rendered {
    let anchor = &ctx.options.name;
    let mut out = format!("# {}\n", ctx.summary());
    out.push_str(&format!(
        "# apply: pfctl -a {anchor} -f FILE (the main ruleset needs: anchor \"{anchor}\")\n"
    ));
    if let Some(t) = ctx.expires {
        out.push_str(&format!(
            "# pf rules do not expire: flush the anchor at {} (pfctl -a {anchor} -F rules)\n",
            super::rfc3339(t)
        ));
    }
    for r in &ctx.plan.rules {
        let m = &r.matcher;
        let family = match m.family() {
            Some(Family::V6) => " inet6",
            Some(Family::V4) => " inet",
            None => "",
        };
        let proto = m
            .transport
            .map(|t| {
                let p = match t {
                    Transport::Icmpv6 => "ipv6-icmp".to_string(),
                    other => proto_name(other),
                };
                format!(" proto {p}")
            })
            .unwrap_or_default();
        let net = |n: &Option<ipnet::IpNet>| n.as_ref().map_or("any".to_string(), net_text);
        let port = m.dst_port.map(|p| format!(" port {p}")).unwrap_or_default();
        out.push_str(&format!(
            "block drop quick{family}{proto} from {} to {}{port} label \"{}\"\n",
            net(&m.src),
            net(&m.dst),
            comment(&r.comment(), 60)
        ));
    }
    for m in &ctx.plan.macs {
        out.push_str(&format!(
            "# MAC {} ({}): pf does not match link-layer addresses; block it on the switch\n",
            m.mac,
            comment(&m.findings.join(", "), 200)
        ));
    }
    let mut notes = Vec::new();
    if !ctx.plan.macs.is_empty() {
        notes.push("pf cannot match MAC addresses".to_string());
    }
    if !ctx.plan.domains.is_empty() {
        notes.push("domains not expressible in pf: render --target rpz or suricata".to_string());
    }
    Rendered {
        target: Target::Pf.name().to_string(),
        config: out,
        rollback: format!("pfctl -a {anchor} -F rules\n"),
        notes,
    }
}
