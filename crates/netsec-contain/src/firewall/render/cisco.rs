//! Network firewalls: Cisco ASA and IOS access lists, Juniper Junos
//! firewall filters.

use ipnet::IpNet;
use netsec_model::Transport;

use super::super::plan::PlannedRule;
use super::super::rule::Family;
use super::{civil, comment, proto_name, Context, Rendered, Target};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `absolute end 10:41 3 December 2026`.
fn absolute_end(ctx: &Context<'_>) -> Option<String> {
    ctx.expires.map(|t| {
        let (y, mo, d, h, mi) = civil(t);
        let month = MONTHS
            .get((mo as usize).saturating_sub(1))
            .copied()
            .unwrap_or("January");
        format!(" absolute end {h:02}:{mi:02} {d} {month} {y}")
    })
}

fn acl_name(ctx: &Context<'_>) -> String {
    ctx.options.name.to_ascii_uppercase().replace('_', "-")
}

/// `host A`, `A MASK` (ASA, netmask) or `A WILDCARD` (IOS), `P/LEN` for IPv6, `any`.
fn acl_addr(n: &Option<IpNet>, wildcard: bool) -> String {
    match n {
        None => "any".to_string(),
        Some(n) if n.prefix_len() == n.max_prefix_len() => format!("host {}", n.addr()),
        Some(IpNet::V4(n)) => {
            let mask = if wildcard { n.hostmask() } else { n.netmask() };
            format!("{} {mask}", n.network())
        }
        Some(n @ IpNet::V6(_)) => n.trunc().to_string(),
    }
}

fn acl_proto(rule: &PlannedRule, v6_ios: bool) -> String {
    match rule.matcher.transport {
        None if v6_ios => "ipv6".to_string(),
        None => "ip".to_string(),
        Some(Transport::Icmpv6) if v6_ios => "icmp".to_string(),
        Some(Transport::Icmpv6) => "icmp6".to_string(),
        Some(t) => proto_name(t),
    }
}

fn ace(rule: &PlannedRule, wildcard: bool, v6_ios: bool) -> String {
    let m = &rule.matcher;
    let port = m.dst_port.map(|p| format!(" eq {p}")).unwrap_or_default();
    format!(
        "deny {} {} {}{port}",
        acl_proto(rule, v6_ios),
        acl_addr(&m.src, wildcard),
        acl_addr(&m.dst, wildcard)
    )
}

/// Cisco ASA: one extended access list (IPv4 and IPv6), remarks per rule,
/// and a time range that ends the rules at their expiry.
pub(super) fn asa(ctx: &Context<'_>) -> Rendered {
    let acl = acl_name(ctx);
    let range = format!("{acl}-EXPIRE");
    let end = absolute_end(ctx);
    let mut out = format!("! {}\n", ctx.summary());
    if let Some(end) = &end {
        out.push_str(&format!("time-range {range}\n{end}\n"));
    }
    let tr = end
        .as_ref()
        .map(|_| format!(" time-range {range}"))
        .unwrap_or_default();
    for r in &ctx.plan.rules {
        out.push_str(&format!(
            "access-list {acl} remark {}\n",
            comment(&r.comment(), 100)
        ));
        out.push_str(&format!(
            "access-list {acl} extended {}{tr}\n",
            ace(r, false, false)
        ));
    }
    out.push_str(&format!("access-list {acl} extended permit ip any any\n"));
    out.push_str(&format!(
        "! bind it where the hostile traffic enters: access-group {acl} in interface <nameif>\n"
    ));
    let mut rollback = format!("clear configure access-list {acl}\n");
    if end.is_some() {
        rollback.push_str(&format!("no time-range {range}\n"));
    }
    Rendered {
        target: Target::CiscoAsa.name().to_string(),
        config: out,
        rollback,
        notes: network_notes(ctx, "the ASA"),
    }
}

/// Cisco IOS: an extended IPv4 access list and an IPv6 access list, with a
/// time range.
pub(super) fn ios(ctx: &Context<'_>) -> Rendered {
    let acl = acl_name(ctx);
    let range = format!("{acl}-EXPIRE");
    let end = absolute_end(ctx);
    let tr = end
        .as_ref()
        .map(|_| format!(" time-range {range}"))
        .unwrap_or_default();
    let mut out = format!("! {}\n", ctx.summary());
    if let Some(end) = &end {
        out.push_str(&format!("time-range {range}\n{end}\n!\n"));
    }
    let v4: Vec<&PlannedRule> = ctx
        .plan
        .rules
        .iter()
        .filter(|r| r.matcher.family() != Some(Family::V6))
        .collect();
    let v6: Vec<&PlannedRule> = ctx
        .plan
        .rules
        .iter()
        .filter(|r| r.matcher.family() == Some(Family::V6))
        .collect();
    let mut rollback = String::new();
    if !v4.is_empty() {
        out.push_str(&format!("ip access-list extended {acl}\n"));
        for r in &v4 {
            out.push_str(&format!(" remark {}\n", comment(&r.comment(), 100)));
            out.push_str(&format!(" {}{tr}\n", ace(r, true, false)));
        }
        out.push_str(" permit ip any any\n!\n");
        rollback.push_str(&format!("no ip access-list extended {acl}\n"));
    }
    if !v6.is_empty() {
        out.push_str(&format!("ipv6 access-list {acl}-V6\n"));
        for r in &v6 {
            out.push_str(&format!(" remark {}\n", comment(&r.comment(), 100)));
            out.push_str(&format!(" {}{tr}\n", ace(r, true, true)));
        }
        out.push_str(" permit ipv6 any any\n!\n");
        rollback.push_str(&format!("no ipv6 access-list {acl}-V6\n"));
    }
    out.push_str(&format!(
        "! bind: interface <name> / ip access-group {acl} in{}\n",
        if v6.is_empty() {
            String::new()
        } else {
            format!(" / ipv6 traffic-filter {acl}-V6 in")
        }
    ));
    if end.is_some() {
        rollback.push_str(&format!("no time-range {range}\n"));
    }
    Rendered {
        target: Target::CiscoIos.name().to_string(),
        config: out,
        rollback,
        notes: network_notes(ctx, "IOS"),
    }
}

/// Junos: stateless firewall filters (`family inet`, `family inet6`) as
/// `set` commands, one term per rule, ending in accept.
pub(super) fn junos(ctx: &Context<'_>) -> Rendered {
    let filter = acl_name(ctx);
    let mut out = format!("# {}\n", ctx.summary());
    if let Some(t) = ctx.expires {
        out.push_str(&format!(
            "# Junos filters do not expire: delete them at {} (see rollback)\n",
            super::rfc3339(t)
        ));
    }
    let mut rollback = String::new();
    for (family, v6) in [("inet", false), ("inet6", true)] {
        let rules: Vec<&PlannedRule> = ctx
            .plan
            .rules
            .iter()
            .filter(|r| (r.matcher.family() == Some(Family::V6)) == v6)
            .collect();
        if rules.is_empty() {
            continue;
        }
        let base = format!("set firewall family {family} filter {filter}");
        for r in &rules {
            let m = &r.matcher;
            let term = format!("{base} term {}", r.id);
            out.push_str(&format!("# {}\n", comment(&r.comment(), 200)));
            if let Some(n) = m.src {
                out.push_str(&format!("{term} from source-address {}\n", n.trunc()));
            }
            if let Some(n) = m.dst {
                out.push_str(&format!("{term} from destination-address {}\n", n.trunc()));
            }
            if let Some(t) = m.transport {
                let (key, name) = match (t, v6) {
                    (Transport::Icmpv6, _) => ("next-header", "icmp6".to_string()),
                    (other, true) => ("next-header", proto_name(other)),
                    (other, false) => ("protocol", proto_name(other)),
                };
                out.push_str(&format!("{term} from {key} {name}\n"));
            }
            if let Some(p) = m.dst_port {
                out.push_str(&format!("{term} from destination-port {p}\n"));
            }
            out.push_str(&format!(
                "{term} then count {}\n{term} then discard\n",
                r.id
            ));
        }
        out.push_str(&format!("{base} term default then accept\n"));
        rollback.push_str(&format!(
            "delete firewall family {family} filter {filter}\n"
        ));
    }
    out.push_str(&format!(
        "# bind: set interfaces <ifd> unit 0 family inet filter input {filter}\n"
    ));
    Rendered {
        target: Target::JuniperSrx.name().to_string(),
        config: out,
        rollback,
        notes: network_notes(ctx, "Junos"),
    }
}

fn network_notes(ctx: &Context<'_>, what: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if !ctx.plan.macs.is_empty() {
        notes.push(format!(
            "{} MAC(s) not blocked by {what}: use port security on the switch",
            ctx.plan.macs.len()
        ));
    }
    if !ctx.plan.domains.is_empty() {
        notes.push(format!(
            "{} domain(s) not expressible: render --target rpz or suricata",
            ctx.plan.domains.len()
        ));
    }
    notes
}
