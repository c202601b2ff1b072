//! Renderers: a plan as configuration a real firewall accepts as is, with a
//! comment per rule naming its findings, an expiry where the target has one
//! (nftables element timeouts, ASA/IOS time ranges, iptables `--datestop`,
//! Junos schedulers) or a comment where it has none, and a rollback snippet.

mod cisco;
mod cloud;
mod dns;
mod host;
mod nft;

use std::fmt;
use std::str::FromStr;

use ipnet::IpNet;
use netsec_model::{Duration, Timestamp, Transport};
use serde::Serialize;

use super::plan::Plan;

/// Where the rules go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// nftables (`nft -f`): one `inet` table, sets with element timeouts.
    Nftables,
    /// iptables (`iptables-restore --noflush`), IPv4 rules.
    Iptables,
    /// ip6tables (`ip6tables-restore --noflush`), IPv6 rules.
    Ip6tables,
    /// OpenBSD/FreeBSD pf, an anchor (`pfctl -a netsec_contain -f`).
    Pf,
    /// Cisco ASA extended access list.
    CiscoAsa,
    /// Cisco IOS extended (and IPv6) access lists.
    CiscoIos,
    /// Juniper SRX / Junos firewall filters, `set` commands.
    JuniperSrx,
    /// AWS: network ACL deny entries (`aws ec2` commands; security groups cannot deny).
    AwsSg,
    /// Azure network security group rules (`az network nsg rule create`).
    AzureNsg,
    /// Windows Defender Firewall (PowerShell `New-NetFirewallRule`).
    WindowsFirewall,
    /// Suricata `drop` rules (IPS mode), domains as `dns.query`/`tls.sni` rules.
    Suricata,
    /// A DNS response policy zone: domains and C2 addresses.
    Rpz,
}

impl Target {
    /// Every target, in `--target` order.
    pub const ALL: [Target; 12] = [
        Target::Nftables,
        Target::Iptables,
        Target::Ip6tables,
        Target::Pf,
        Target::CiscoAsa,
        Target::CiscoIos,
        Target::JuniperSrx,
        Target::AwsSg,
        Target::AzureNsg,
        Target::WindowsFirewall,
        Target::Suricata,
        Target::Rpz,
    ];

    /// The `--target` name.
    pub fn name(self) -> &'static str {
        match self {
            Target::Nftables => "nftables",
            Target::Iptables => "iptables",
            Target::Ip6tables => "ip6tables",
            Target::Pf => "pf",
            Target::CiscoAsa => "cisco-asa",
            Target::CiscoIos => "cisco-ios",
            Target::JuniperSrx => "juniper-srx",
            Target::AwsSg => "aws-sg",
            Target::AzureNsg => "azure-nsg",
            Target::WindowsFirewall => "windows-firewall",
            Target::Suricata => "suricata",
            Target::Rpz => "rpz",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A target name that is not one of [`Target::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown target {0:?}: expected one of nftables, iptables, ip6tables, pf, cisco-asa, cisco-ios, juniper-srx, aws-sg, azure-nsg, windows-firewall, suricata, rpz, k8s")]
pub struct TargetParseError(String);

impl FromStr for Target {
    type Err = TargetParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| TargetParseError(s.to_string()))
    }
}

/// Settings of a rendering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderOptions {
    /// When the rules are made: expiry times count from here.
    pub now: Timestamp,
    /// Name of the table, chain, access list, anchor or group.
    pub name: String,
    /// First rule number or priority (AWS network ACL entries, Azure priorities).
    pub first_number: u32,
    /// First Suricata signature id.
    pub first_sid: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            now: Timestamp::ZERO,
            name: "netsec_contain".to_string(),
            first_number: 100,
            first_sid: 9_100_001,
        }
    }
}

/// A plan as configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// The target's `--target` name.
    pub target: String,
    /// Configuration to apply.
    pub config: String,
    /// Commands that undo it.
    pub rollback: String,
    /// What the target could not express (MACs, domains, both addresses of
    /// a rule), and how it was handled.
    pub notes: Vec<String>,
}

/// Render `plan` for `target`.
pub fn render(plan: &Plan, target: Target, options: &RenderOptions) -> Rendered {
    let ctx = Context::new(plan, options);
    match target {
        Target::Nftables => nft::nftables(&ctx),
        Target::Iptables => host::iptables(&ctx, false),
        Target::Ip6tables => host::iptables(&ctx, true),
        Target::Pf => host::pf(&ctx),
        Target::CiscoAsa => cisco::asa(&ctx),
        Target::CiscoIos => cisco::ios(&ctx),
        Target::JuniperSrx => cisco::junos(&ctx),
        Target::AwsSg => cloud::aws(&ctx),
        Target::AzureNsg => cloud::azure(&ctx),
        Target::WindowsFirewall => cloud::windows(&ctx),
        Target::Suricata => dns::suricata(&ctx),
        Target::Rpz => dns::rpz(&ctx),
    }
}

/// What every renderer needs.
pub(crate) struct Context<'a> {
    pub plan: &'a Plan,
    pub options: &'a RenderOptions,
    /// When the rules expire, if they do.
    pub expires: Option<Timestamp>,
}

impl<'a> Context<'a> {
    fn new(plan: &'a Plan, options: &'a RenderOptions) -> Self {
        let expires = (plan.ttl_secs > 0)
            .then(|| options.now + Duration::from_secs_f64(plan.ttl_secs as f64));
        Context {
            plan,
            options,
            expires,
        }
    }

    /// The header: what, how many, for which findings.
    pub fn summary(&self) -> String {
        let findings: std::collections::BTreeSet<&String> = self
            .plan
            .rules
            .iter()
            .flat_map(|r| r.findings.iter())
            .chain(self.plan.domains.iter().flat_map(|d| d.findings.iter()))
            .chain(self.plan.macs.iter().flat_map(|m| m.findings.iter()))
            .collect();
        let mut s = format!(
            "netsec contain: {} rule(s), {} domain(s), {} MAC(s) for {} finding(s)",
            self.plan.rules.len(),
            self.plan.domains.len(),
            self.plan.macs.len(),
            findings.len()
        );
        match self.expires {
            Some(t) => s.push_str(&format!("; expires {}", rfc3339(t))),
            None => s.push_str("; permanent until rolled back"),
        }
        s
    }

    /// The expiry as text for a comment.
    pub fn expiry_note(&self) -> String {
        match self.expires {
            Some(t) => format!("expires {}", rfc3339(t)),
            None => "permanent".to_string(),
        }
    }
}

/// `2026-12-03T10:41:00Z` (whole seconds).
pub(crate) fn rfc3339(t: Timestamp) -> String {
    let s = t.to_string();
    format!("{}Z", s.get(..19).unwrap_or(&s))
}

/// Date and time parts (year, month, day, hour, minute) of a timestamp, UTC.
pub(crate) fn civil(t: Timestamp) -> (i64, u32, u32, u32, u32) {
    let s = t.to_string();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    (
        num(0..4),
        num(5..7) as u32,
        num(8..10) as u32,
        num(11..13) as u32,
        num(14..16) as u32,
    )
}

/// Text safe inside a quoted comment of any target: printable ASCII other
/// than quotes, backslashes and semicolons, at most `max` characters.
pub(crate) fn comment(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c {
            ' '..='~' if !matches!(c, '"' | '\'' | '\\' | ';' | '`' | '$' | '#') => c,
            '→' => '>',
            _ => '_',
        })
        .collect();
    if out.len() > max {
        out.truncate(max.saturating_sub(3));
        out.push_str("...");
    }
    out
}

/// An address or prefix: a host without its length.
pub(crate) fn net_text(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

/// Lower-case protocol name the targets share.
pub(crate) fn proto_name(t: Transport) -> String {
    match t {
        Transport::Tcp => "tcp".into(),
        Transport::Udp => "udp".into(),
        Transport::Icmp => "icmp".into(),
        Transport::Icmpv6 => "ipv6-icmp".into(),
        Transport::Sctp => "sctp".into(),
        Transport::Other(n) => n.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
