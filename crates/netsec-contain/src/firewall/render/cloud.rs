//! Cloud and host command scripts: AWS network ACL entries, Azure NSG
//! rules, Windows Defender Firewall rules.

use ipnet::IpNet;
use netsec_model::Transport;

use super::super::rule::Family;
use super::{comment, net_text, Context, Rendered, Target};

fn any_net(n: &Option<IpNet>, v6: bool) -> String {
    match n {
        Some(n) => n.trunc().to_string(),
        None if v6 => "::/0".to_string(),
        None => "0.0.0.0/0".to_string(),
    }
}

/// AWS: security groups can only allow, so the deny rules become network
/// ACL entries (`aws ec2 create-network-acl-entry`): an ingress entry for a
/// rule's source, an egress entry for its destination. A network ACL entry
/// names one address range, the far side's: a rule with both a source and a
/// destination keeps only the hostile side and is reported in the notes.
pub(super) fn aws(ctx: &Context<'_>) -> Rendered {
    let mut out = String::from("#!/bin/sh\n");
    out.push_str(&format!("# {}\n", ctx.summary()));
    out.push_str("# Security groups cannot deny: these are network ACL deny entries, evaluated\n# before the ACL's allow entries (lower numbers first). Set NACL_ID to the subnet's ACL.\nset -eu\n: \"${NACL_ID:?set NACL_ID to the network ACL id (acl-...)}\"\n");
    let mut rollback = String::from("#!/bin/sh\nset -u\n: \"${NACL_ID:?set NACL_ID}\"\n");
    let mut notes = Vec::new();
    let mut number = ctx.options.first_number;
    for r in &ctx.plan.rules {
        let m = &r.matcher;
        let v6 = m.family() == Some(Family::V6);
        let (proto, extra) = match (m.transport, m.dst_port) {
            (None, _) => ("-1".to_string(), String::new()),
            (Some(Transport::Icmp), _) => (
                "1".to_string(),
                " --icmp-type-code Type=-1,Code=-1".to_string(),
            ),
            (Some(Transport::Icmpv6), _) => (
                "58".to_string(),
                " --icmp-type-code Type=-1,Code=-1".to_string(),
            ),
            (Some(t), Some(p)) => (
                t.ip_proto().to_string(),
                format!(" --port-range From={p},To={p}"),
            ),
            (Some(t), None) => (t.ip_proto().to_string(), String::new()),
        };
        // The hostile side decides the direction: a source enters (ingress),
        // a destination is reached (egress).
        let mut entries = Vec::new();
        if m.src.is_some() {
            entries.push(("--ingress", any_net(&m.src, v6)));
        }
        if m.dst.is_some() && m.src.is_none() {
            entries.push(("--egress", any_net(&m.dst, v6)));
        }
        if m.src.is_some() && m.dst.is_some() {
            notes.push(format!(
                "{}: a network ACL entry names one range; kept the source {} (blocks it towards every host of the subnet)",
                r.id,
                m.src.map(|n| net_text(&n)).unwrap_or_default()
            ));
        }
        let cidr_flag = if v6 {
            "--ipv6-cidr-block"
        } else {
            "--cidr-block"
        };
        out.push_str(&format!(
            "# {} ({})\n",
            comment(&r.comment(), 200),
            ctx.expiry_note()
        ));
        for (direction, cidr) in entries {
            out.push_str(&format!(
                "aws ec2 create-network-acl-entry --network-acl-id \"$NACL_ID\" {direction} --rule-number {number} --protocol {proto}{extra} --rule-action deny {cidr_flag} {cidr}\n"
            ));
            rollback.push_str(&format!(
                "aws ec2 delete-network-acl-entry --network-acl-id \"$NACL_ID\" {direction} --rule-number {number}\n"
            ));
            number += 1;
        }
    }
    if ctx.expires.is_some() {
        notes.push("network ACL entries do not expire: run the rollback at the expiry".to_string());
    }
    if !ctx.plan.domains.is_empty() {
        notes.push("domains: use Route 53 Resolver DNS Firewall or --target rpz".to_string());
    }
    Rendered {
        target: Target::AwsSg.name().to_string(),
        config: out,
        rollback,
        notes,
    }
}

/// Azure: `az network nsg rule create` deny rules, inbound for a source,
/// outbound for a destination. Needs RG and NSG set.
pub(super) fn azure(ctx: &Context<'_>) -> Rendered {
    let mut out = String::from("#!/bin/sh\n");
    out.push_str(&format!("# {}\nset -eu\n: \"${{RG:?set RG to the resource group}}\"\n: \"${{NSG:?set NSG to the network security group}}\"\n", ctx.summary()));
    let mut rollback =
        String::from("#!/bin/sh\nset -u\n: \"${RG:?set RG}\"\n: \"${NSG:?set NSG}\"\n");
    for (priority, r) in (ctx.options.first_number..).zip(ctx.plan.rules.iter()) {
        let m = &r.matcher;
        let proto = match m.transport {
            None => "'*'",
            Some(Transport::Tcp) => "Tcp",
            Some(Transport::Udp) => "Udp",
            Some(Transport::Icmp) | Some(Transport::Icmpv6) => "Icmp",
            Some(_) => "'*'",
        };
        let prefix = |n: &Option<IpNet>| n.map_or("'*'".to_string(), |n| n.trunc().to_string());
        let port = m.dst_port.map_or("'*'".to_string(), |p| p.to_string());
        let direction = if m.src.is_some() {
            "Inbound"
        } else {
            "Outbound"
        };
        let name = format!("{}-{}", ctx.options.name.replace('_', "-"), r.id);
        out.push_str(&format!(
            "az network nsg rule create --resource-group \"$RG\" --nsg-name \"$NSG\" --name {name} --priority {priority} --direction {direction} --access Deny --protocol {proto} --source-address-prefixes {} --source-port-ranges '*' --destination-address-prefixes {} --destination-port-ranges {port} --description \"{}\"\n",
            prefix(&m.src),
            prefix(&m.dst),
            comment(&format!("{} {}", r.comment(), ctx.expiry_note()), 140)
        ));
        rollback.push_str(&format!(
            "az network nsg rule delete --resource-group \"$RG\" --nsg-name \"$NSG\" --name {name}\n"
        ));
    }
    let mut notes = Vec::new();
    if ctx.expires.is_some() {
        notes.push("NSG rules do not expire: run the rollback at the expiry".to_string());
    }
    if !ctx.plan.domains.is_empty() {
        notes.push("domains: use Azure Firewall FQDN rules or --target rpz".to_string());
    }
    Rendered {
        target: Target::AzureNsg.name().to_string(),
        config: out,
        rollback,
        notes,
    }
}

/// Windows Defender Firewall: PowerShell block rules in one group, inbound
/// for a hostile source (it is the remote address sending to this host),
/// outbound for a hostile destination.
pub(super) fn windows(ctx: &Context<'_>) -> Rendered {
    let group = ctx.options.name.replace('_', "-");
    let mut out = format!("# {}\n", ctx.summary());
    out.push_str("# Run in an elevated PowerShell.\n");
    for r in &ctx.plan.rules {
        let m = &r.matcher;
        let proto = match m.transport {
            None => String::new(),
            Some(Transport::Tcp) => " -Protocol TCP".to_string(),
            Some(Transport::Udp) => " -Protocol UDP".to_string(),
            Some(Transport::Icmp) => " -Protocol ICMPv4".to_string(),
            Some(Transport::Icmpv6) => " -Protocol ICMPv6".to_string(),
            Some(t) => format!(" -Protocol {}", t.ip_proto()),
        };
        let desc = comment(&format!("{} {}", r.comment(), ctx.expiry_note()), 200);
        let name = format!("{group}-{}", r.id);
        let port = |flag: &str| {
            m.dst_port
                .map(|p| format!(" -{flag} {p}"))
                .unwrap_or_default()
        };
        if let Some(src) = m.src {
            let local = m
                .dst
                .map(|d| format!(" -LocalAddress {}", d.trunc()))
                .unwrap_or_default();
            out.push_str(&format!(
                "New-NetFirewallRule -Name \"{name}-in\" -DisplayName \"{name} in\" -Group \"{group}\" -Direction Inbound -Action Block -RemoteAddress {}{local}{proto}{} -Description \"{desc}\"\n",
                src.trunc(),
                port("LocalPort")
            ));
        }
        if let Some(dst) = m.dst.filter(|_| m.src.is_none()) {
            out.push_str(&format!(
                "New-NetFirewallRule -Name \"{name}-out\" -DisplayName \"{name} out\" -Group \"{group}\" -Direction Outbound -Action Block -RemoteAddress {}{proto}{} -Description \"{desc}\"\n",
                dst.trunc(),
                port("RemotePort")
            ));
        }
    }
    let mut notes = Vec::new();
    if ctx.expires.is_some() {
        notes.push(
            "Windows Firewall rules do not expire: run the rollback at the expiry".to_string(),
        );
    }
    Rendered {
        target: Target::WindowsFirewall.name().to_string(),
        config: out,
        rollback: format!("Remove-NetFirewallRule -Group \"{group}\"\n"),
        notes,
    }
}
