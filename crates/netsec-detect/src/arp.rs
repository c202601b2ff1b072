//! ARP spoofing and poisoning, from ARP packets.
//!
//! - `arp_spoofing`: one IPv4 address claimed (as ARP sender) by two or more
//!   MAC addresses within `window_secs`, with evidence of a fight rather than
//!   a move: the claims alternate (A, B, A: a flip), or the newcomer sent
//!   `min_unsolicited_replies` replies nobody asked for (arpspoof and
//!   ettercap repeat them every one or two seconds). A finding is raised to
//!   high severity and tagged a gateway claim when the address is listed in
//!   `gateways`, or when its rightful claimant (not the suspect) is a router
//!   of the segment: a MAC that packets to or from outside the home networks
//!   were sent to or came from (learned from packet headers). A frame whose Ethernet source differs from its ARP sender
//!   MAC is no claim by that MAC: it counts against the frame's real sender
//!   (arpspoof's "re-arping" on exit sends the real owner's MAC from its own).
//! - `arp_gratuitous_storm`: one MAC sending `storm_count` or more
//!   gratuitous ARPs (sender address = target address) within
//!   `storm_window_secs`; a host announces itself 1–3 times on link-up
//!   (RFC 5227 §2.3 ANNOUNCE_NUM 2), keepalived/VRRP a handful on failover.
//!
//! Confidence: spoofing `f × (0.5 + 0.5 × sat(unsolicited /
//! min_unsolicited_replies))`, `f` = 1 when the claims alternated, else 0.7;
//! storm `sat(count / storm_count)`, with `sat(x) = 1 − e^(−x)`.
//!
//! ATT&CK: T1557.002 ARP Cache Poisoning.
//!
//! Known false positives: VRRP/HSRP/CARP failover (the virtual MAC moves;
//! list the address in `network.allow_sources`), a DHCP address handed to a
//! new device right after the old one left (a move, no flip), proxy ARP.
//! Blind spots: a spoofer that replaces the victim entirely (the real owner
//! never claims its address again in the capture) and sends only answers to
//! real requests.

use std::net::{IpAddr, Ipv4Addr};

use netsec_model::{
    Analyzer, ArpInfo, Comparison, Duration, EntityRole, EntityValue, Finding, FindingCategory,
    FindingSink, Interests, MacAddr, Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, Growth};
use crate::scope::NetworkConfig;
use crate::table::BoundedTable;

const PRODUCER: &str = "netsec-detect/arp";

/// MACs remembered per address (a spoofing fight has two).
const MAX_CLAIMANTS: usize = 8;

/// ARP settings (`[arp]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArpConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most addresses and MACs tracked at once, per table.
    pub capacity: usize,
    /// Claims older than this are forgotten (Linux's ARP entries go stale after 30–60 s; ours: 300 s).
    pub window_secs: f64,
    /// Unsolicited replies from a second claimant (ours: 3; arpspoof sends one every 2 s).
    pub min_unsolicited_replies: u64,
    /// Gateway addresses: a conflict on one of them is a gateway claim (high severity).
    pub gateways: Vec<Ipv4Addr>,
    /// Gratuitous ARPs from one MAC, at least (ours: 20).
    pub storm_count: u64,
    /// …within this many seconds.
    pub storm_window_secs: f64,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            enabled: true,
            capacity: 65_536,
            window_secs: 300.0,
            min_unsolicited_replies: 3,
            gateways: Vec::new(),
            storm_count: 20,
            storm_window_secs: 10.0,
        }
    }
}

#[derive(Debug, Clone)]
struct Claimant {
    mac: MacAddr,
    last: Timestamp,
    claims: u64,
    unsolicited: u64,
}

#[derive(Debug, Clone)]
struct Address {
    time: TimeRange,
    claimants: Vec<Claimant>,
    last_mac: Option<MacAddr>,
    flips: u64,
    mismatched_frames: u64,
    packets: Vec<u64>,
    growth: Growth,
}

#[derive(Debug, Clone)]
struct Announcer {
    window_start: Timestamp,
    in_window: u64,
    time: TimeRange,
    total: u64,
    addresses: Vec<Ipv4Addr>,
    growth: Growth,
}

/// Detects ARP spoofing and gratuitous-ARP storms.
#[derive(Debug)]
pub struct ArpSpoofDetector {
    config: ArpConfig,
    network: NetworkConfig,
    addresses: BoundedTable<Ipv4Addr, Address>,
    announcers: BoundedTable<MacAddr, Announcer>,
    /// Requests seen recently: (asker IP, asked-for IP) → when, to tell a
    /// solicited reply from an unsolicited one.
    requests: BoundedTable<(Ipv4Addr, Ipv4Addr), Timestamp>,
    /// MACs that carry traffic to or from outside the home networks: the
    /// routers of the segment, learned from packets.
    routers: BoundedTable<MacAddr, u64>,
    /// The last router MAC seen (most packets repeat it: no lookup).
    last_router: Option<MacAddr>,
}

impl ArpSpoofDetector {
    /// A detector with these settings.
    pub fn new(config: ArpConfig, network: NetworkConfig) -> Self {
        let window = Duration::from_secs_f64(config.window_secs);
        ArpSpoofDetector {
            addresses: BoundedTable::new(config.capacity, window),
            announcers: BoundedTable::new(config.capacity, window),
            // a reply follows its request within a second or two
            requests: BoundedTable::new(config.capacity, Duration::from_secs(5)),
            // a router stays a router for the window
            routers: BoundedTable::new(config.capacity, window),
            last_router: None,
            config,
            network,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.addresses.evicted()
            + self.announcers.evicted()
            + self.requests.evicted()
            + self.routers.evicted()
    }

    fn conflict_finding(&self, ip: Ipv4Addr, a: &Address) -> Finding {
        // a listed gateway, or an address whose rightful claimant (not the
        // suspect) routes traffic to and from outside
        let owner_routes = a.claimants.iter().any(|c| {
            suspect_of(a).is_none_or(|s| s.mac != c.mac) && self.routers.get(&c.mac).is_some()
        });
        let gateway = self.config.gateways.contains(&ip) || owner_routes;
        let macs: Vec<String> = a.claimants.iter().map(|c| c.mac.to_string()).collect();
        let suspect = suspect_of(a);
        let unsolicited = suspect.map_or(0, |c| c.unsolicited);
        let fight = if a.flips > 0 { 1.0 } else { 0.7 };
        let confidence = fight
            * (0.5
                + 0.5
                    * saturate(
                        unsolicited as f64,
                        self.config.min_unsolicited_replies as f64,
                    ));
        let severity = if gateway {
            Severity::High
        } else {
            Severity::Medium
        };
        let mut f = Finding::new(
            "arp_spoofing",
            if gateway {
                format!("Gateway {ip} claimed by {} MACs", macs.len())
            } else {
                format!("{ip} claimed by {} MACs", macs.len())
            },
            FindingCategory::Spoofing,
            self.network.severity_for(Some(IpAddr::V4(ip)), severity),
            confidence,
            a.time,
            PRODUCER,
        )
        .with_id(ip)
        .with_mitre(["T1557", "T1557.002"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: IpAddr::V4(ip) });
        for c in &a.claimants {
            let role = if suspect.is_some_and(|s| s.mac == c.mac) {
                EntityRole::Source
            } else {
                EntityRole::Related
            };
            f = f.with_entity(role, EntityValue::Mac { mac: c.mac });
        }
        f = f
            .with_measurement("claimant_macs", macs.len() as f64, "MACs", Comparison::GreaterOrEqual, 2.0)
            .with_value("flips", a.flips as f64, "")
            .with_measurement(
                "unsolicited_replies",
                unsolicited as f64,
                "packets",
                Comparison::GreaterOrEqual,
                self.config.min_unsolicited_replies as f64,
            )
            .with_value("eth_src_mismatches", a.mismatched_frames as f64, "frames")
            .with_fact("macs", macs.join(","))
            .with_fact("gateway", gateway.to_string())
            .with_summary(format!(
                "{ip} was claimed by {}; the claims alternated {} time(s); {} sent {unsolicited} replies nobody asked for",
                macs.join(" and "),
                a.flips,
                suspect.map_or_else(|| "?".to_string(), |s| s.mac.to_string())
            ));
        f.evidence.packets = a.packets.clone();
        f
    }

    fn storm_finding(&self, mac: MacAddr, a: &Announcer) -> Finding {
        let addrs: Vec<String> = a.addresses.iter().map(Ipv4Addr::to_string).collect();
        Finding::new(
            "arp_gratuitous_storm",
            format!("Gratuitous ARP storm from {mac}"),
            FindingCategory::Spoofing,
            Severity::Medium,
            saturate(a.total as f64, self.config.storm_count as f64),
            a.time,
            PRODUCER,
        )
        .with_id(mac)
        .with_mitre(["T1557", "T1557.002"])
        .with_entity(EntityRole::Source, EntityValue::Mac { mac })
        .with_measurement(
            "gratuitous_arps_in_window",
            a.in_window.max(self.config.storm_count.min(a.total)) as f64,
            "packets",
            Comparison::GreaterOrEqual,
            self.config.storm_count as f64,
        )
        .with_value("gratuitous_arps", a.total as f64, "packets")
        .with_fact("addresses", addrs.join(","))
        .with_summary(format!(
            "{mac} sent {} gratuitous ARPs for {} in {:.1} s (>= {} in {} s)",
            a.total,
            addrs.join(","),
            a.time.duration().as_secs_f64(),
            self.config.storm_count,
            self.config.storm_window_secs
        ))
    }

    fn claim(&mut self, arp: &ArpInfo, unsolicited: bool, out: &mut dyn FindingSink) {
        let ip = arp.sender_ip;
        let mac = arp.sender_mac;
        let mismatch = arp.eth_src.is_some_and(|e| e != mac);
        let a = self.addresses.touch(ip, arp.ts, || Address {
            time: TimeRange::at(arp.ts),
            claimants: Vec::new(),
            last_mac: None,
            flips: 0,
            mismatched_frames: 0,
            packets: Vec::new(),
            growth: Growth::default(),
        });
        if mismatch {
            // Sent by another host in the name of `mac` (arpspoof's
            // re-arping on exit does this): evidence against the frame's
            // real sender when it is a claimant, no claim by `mac`.
            a.mismatched_frames += 1;
            if let Some(c) = a.claimants.iter_mut().find(|c| Some(c.mac) == arp.eth_src) {
                c.unsolicited += 1;
            }
            return;
        }
        let known = a.claimants.iter().position(|c| c.mac == mac);
        let index = match known {
            Some(i) => i,
            None if a.claimants.len() < MAX_CLAIMANTS => {
                a.claimants.push(Claimant {
                    mac,
                    last: arp.ts,
                    claims: 0,
                    unsolicited: 0,
                });
                a.claimants.len() - 1
            }
            None => return,
        };
        // A return to a MAC seen before, after another claimed the address: a flip.
        if let Some(last) = a.last_mac {
            if last != mac && known.is_some() && a.claimants.len() > 1 {
                a.flips += 1;
            }
        }
        a.last_mac = Some(mac);
        if let Some(c) = a.claimants.get_mut(index) {
            c.claims += 1;
            c.last = arp.ts;
            if unsolicited {
                c.unsolicited += 1;
            }
        }
        if a.claimants.len() < 2 {
            return;
        }
        a.time.extend(arp.ts);
        if a.packets.len() < 10 {
            a.packets.push(arp.packet_number);
        }
        let unsolicited_max = suspect_of(a).map_or(0, |c| c.unsolicited);
        let fight = a.flips > 0 || unsolicited_max >= self.config.min_unsolicited_replies;
        let evidence = a.flips + unsolicited_max;
        if fight && a.growth.due(evidence.max(1)) {
            let snapshot = a.clone();
            let f = self.conflict_finding(ip, &snapshot);
            out.finding(f);
        }
    }

    fn announce(&mut self, arp: &ArpInfo, out: &mut dyn FindingSink) {
        let window = Duration::from_secs_f64(self.config.storm_window_secs);
        let a = self.announcers.touch(arp.sender_mac, arp.ts, || Announcer {
            window_start: arp.ts,
            in_window: 0,
            time: TimeRange::at(arp.ts),
            total: 0,
            addresses: Vec::new(),
            growth: Growth::default(),
        });
        if arp.ts.since(a.window_start) > window {
            a.window_start = arp.ts;
            a.in_window = 0;
        }
        a.in_window += 1;
        a.total += 1;
        a.time.extend(arp.ts);
        if !a.addresses.contains(&arp.sender_ip) && a.addresses.len() < 16 {
            a.addresses.push(arp.sender_ip);
        }
        if a.in_window >= self.config.storm_count && a.growth.due(a.total) {
            let snapshot = a.clone();
            let f = self.storm_finding(arp.sender_mac, &snapshot);
            out.finding(f);
        }
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let addresses = self.addresses.ended(all, now);
        for (ip, mut a) in addresses {
            let unsolicited_max = suspect_of(&a).map_or(0, |c| c.unsolicited);
            let evidence = a.flips + unsolicited_max;
            if a.growth.settle(evidence.max(1)) {
                out.finding(self.conflict_finding(ip, &a));
            }
        }
        let announcers = self.announcers.ended(all, now);
        for (mac, mut a) in announcers {
            if a.growth.settle(a.total) {
                out.finding(self.storm_finding(mac, &a));
            }
        }
        if !all {
            self.requests.expire(now);
        }
    }
}

/// The claimant that pushes hardest: most replies nobody asked for, then
/// most claims (the owner answers requests; a spoofer volunteers).
fn suspect_of(a: &Address) -> Option<&Claimant> {
    if a.claimants.len() < 2 {
        return None;
    }
    a.claimants
        .iter()
        .max_by_key(|c| (c.unsolicited, c.claims, std::cmp::Reverse(c.mac)))
}

impl Analyzer for ArpSpoofDetector {
    fn name(&self) -> &'static str {
        "arp"
    }

    fn interests(&self) -> Interests {
        Interests {
            arp: true,
            packets: true,
            ..Interests::NONE
        }
    }

    /// Learn the segment's routers: the MAC a packet to (or from) outside
    /// the home networks is sent to (or comes from).
    fn on_packet(&mut self, packet: &netsec_model::PacketInfo, _out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        let router = if !self.network.is_home(ip.dst) && self.network.is_home(ip.src) {
            packet.dst_mac
        } else if !self.network.is_home(ip.src) && self.network.is_home(ip.dst) {
            packet.src_mac
        } else {
            None
        };
        let Some(mac) = router.filter(|m| m.0[0] & 1 == 0) else {
            return;
        };
        if self.last_router == Some(mac) {
            return;
        }
        self.last_router = Some(mac);
        *self.routers.touch(mac, packet.ts, || 0) += 1;
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[
            &self.addresses,
            &self.announcers,
            &self.requests,
            &self.routers,
        ])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(
            &mut [
                &mut self.addresses,
                &mut self.announcers,
                &mut self.requests,
            ],
            bytes,
        );
    }

    fn on_arp(&mut self, arp: &ArpInfo, out: &mut dyn FindingSink) {
        if arp.sender_ip.is_unspecified() || arp.sender_mac == MacAddr::ZERO {
            return; // RFC 5227 probes claim nothing
        }
        if self.network.is_allowed(IpAddr::V4(arp.sender_ip), None) {
            return;
        }
        let gratuitous = arp.sender_ip == arp.target_ip;
        let mut unsolicited = false;
        match arp.operation {
            1 if !gratuitous => {
                self.requests
                    .touch((arp.sender_ip, arp.target_ip), arp.ts, || arp.ts);
                if let Some(t) = self.requests.get_mut(&(arp.sender_ip, arp.target_ip)) {
                    *t = arp.ts;
                }
            }
            2 if !gratuitous => {
                // a request is answered once: the first reply consumes it
                let asked = self
                    .requests
                    .remove(&(arp.target_ip, arp.sender_ip))
                    .is_some_and(|t| arp.ts.since(t) <= Duration::from_secs(5));
                unsolicited = !asked;
            }
            _ => {}
        }
        if gratuitous {
            self.announce(arp, out);
            unsolicited = true;
        }
        self.claim(arp, unsolicited, out);
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arp(ts: f64, op: u16, smac: u8, sip: [u8; 4], tip: [u8; 4]) -> ArpInfo {
        ArpInfo {
            ts: Timestamp::from_secs_f64(ts),
            packet_number: 1,
            operation: op,
            sender_mac: MacAddr([2, 0, 0, 0, 0, smac]),
            sender_ip: Ipv4Addr::from(sip),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::from(tip),
            eth_src: Some(MacAddr([2, 0, 0, 0, 0, smac])),
        }
    }

    const GW: [u8; 4] = [10, 0, 0, 1];
    const VICTIM: [u8; 4] = [10, 0, 0, 41];

    /// The real gateway (MAC 1) answers the victim's request; the spoofer
    /// (MAC 66) repeats unsolicited replies every 2 s; then the end.
    fn arpspoof_the_gateway(d: &mut ArpSpoofDetector, out: &mut Vec<Finding>) {
        d.on_arp(&arp(0.0, 1, 41, VICTIM, GW), out);
        d.on_arp(&arp(0.1, 2, 1, GW, VICTIM), out);
        for i in 0..4 {
            d.on_arp(&arp(2.0 + 2.0 * f64::from(i), 2, 66, GW, VICTIM), out);
        }
        d.finish(out);
    }

    #[test]
    fn arpspoof_pattern_is_reported_as_gateway_claim() {
        let config = ArpConfig {
            gateways: vec![Ipv4Addr::from(GW)],
            ..ArpConfig::default()
        };
        let mut d = ArpSpoofDetector::new(config, NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        arpspoof_the_gateway(&mut d, &mut out);
        let f = out.last().cloned();
        assert_eq!(f.as_ref().map(|f| f.kind.as_str()), Some("arp_spoofing"));
        assert_eq!(f.as_ref().map(|f| f.severity), Some(Severity::High));
        let sources: Vec<&EntityValue> = f
            .as_ref()
            .map(|f| f.entities_in(EntityRole::Source).collect())
            .unwrap_or_default();
        assert_eq!(
            sources,
            vec![&EntityValue::Mac {
                mac: MacAddr([2, 0, 0, 0, 0, 66])
            }]
        );
    }

    #[test]
    fn the_router_is_learned_from_traffic_and_its_address_is_a_gateway() {
        use crate::fixtures::{ep, packet};
        let mut d = ArpSpoofDetector::new(ArpConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        // a host's traffic to the outside goes through MAC 1
        let mut p = packet(
            0.0,
            ep(0x0a00_0029, 40000),
            ep(0xc633_6407, 443),
            netsec_model::Transport::Tcp,
            0x10,
            60,
        );
        p.dst_mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
        d.on_packet(&p, &mut out);
        arpspoof_the_gateway(&mut d, &mut out);
        let f = out.last().cloned();
        assert_eq!(f.as_ref().map(|f| f.severity), Some(Severity::High));
        assert!(f.is_some_and(|f| f
            .evidence
            .facts
            .contains(&("gateway".into(), "true".into()))));
    }

    #[test]
    fn an_address_moving_once_is_not_spoofing() {
        let mut d = ArpSpoofDetector::new(ArpConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        d.on_arp(&arp(0.0, 1, 41, VICTIM, GW), &mut out);
        d.on_arp(&arp(0.1, 2, 1, GW, VICTIM), &mut out);
        // a new device gets the address and answers the requests it is asked
        for i in 0..5 {
            let t = 100.0 + f64::from(i);
            d.on_arp(&arp(t, 1, 41, VICTIM, GW), &mut out);
            d.on_arp(&arp(t + 0.01, 2, 2, GW, VICTIM), &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn link_up_announcements_are_not_a_storm() {
        let mut d = ArpSpoofDetector::new(ArpConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..3 {
            d.on_arp(
                &arp(f64::from(i), 1, 9, [10, 0, 0, 9], [10, 0, 0, 9]),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(out.is_empty());
        for i in 0..30 {
            d.on_arp(
                &arp(f64::from(i) * 0.1, 1, 9, [10, 0, 0, 9], [10, 0, 0, 9]),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(out.iter().any(|f| f.kind == "arp_gratuitous_storm"));
    }
}
