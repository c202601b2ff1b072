//! Behavioural detectors for netsec, and the signature engine
//! ([`signature`], an [`netsec_model::Inspector`] that reads payloads inside
//! each shard). Each detector is an [`Analyzer`] that reads
//! packet headers, ARP, application events or flow records (never bytes;
//! [`default_inspectors`] are the exception: the first payload bytes of
//! flows to cleartext ports),
//! keeps bounded state, and emits a [`Finding`](netsec_model::Finding) as
//! soon as its evidence crosses a threshold — then again, with the same
//! [`Finding::id`](netsec_model::Finding::id), as the activity grows.
//!
//! | module | findings | ATT&CK |
//! |---|---|---|
//! | [`portscan`] | `tcp_port_scan`, `udp_port_scan`, `horizontal_scan`, `host_discovery` | T1046, T1595, T1018 |
//! | [`flood`] | `syn_flood`, `udp_flood`, `icmp_flood`, `udp_amplification` | T1498, T1498.002, T1499 |
//! | [`arp`] | `arp_spoofing`, `arp_gratuitous_storm` | T1557.002 |
//! | [`bruteforce`] | `ssh_bruteforce`, `ftp_bruteforce`, `http_bruteforce`, …, `password_spraying` | T1110, T1110.001, T1110.003 |
//! | [`beacon`] | `beacon` (by address, TLS server name, DNS domain), `long_connection` | T1071, T1071.004, T1573 |
//! | [`exfil`] | `data_exfiltration` | T1048, T1041, T1030 |
//! | [`lateral`] | `lateral_movement`, `lateral_chain` | T1021 |
//! | [`tunnel`] | `icmp_tunnel`, `protocol_port_mismatch`, `high_entropy_payload` (an inspector: [`default_inspectors`]) | T1095, T1572, T1571, T1001 |
//! | [`baseline`] (with a learned baseline: `--baseline`) | `host_anomaly`, `new_host` | none (an anomaly) |
//! | [`windows`] | `dcsync`, `dcshadow`, `remote_service_execution`, `wmi_dcom_execution`, `domain_enumeration`, `kerberos_password_spraying`, `asrep_roasting`, `kerberoasting`, `zerologon`, `kerberos_rc4_downgrade` | T1003.006, T1207, T1569.002, T1047, T1087.002, T1110.003, T1558.003/.004, T1210, T1562.001 |
//! | [`signature`] | `signature_match` (and one alert per match), from Suricata / ET Open rules | from each rule's metadata |
//!
//! Every threshold lives in [`DetectConfig`], read from TOML
//! ([`DetectConfig::from_toml`]; [`DetectConfig::default_toml`] is the
//! commented default). `docs/DETECTIONS.md` gives each detector's confidence
//! formula, thresholds and blind spots.
//!
//! # Example
//!
//! Build the detectors and feed them the packets of a SYN scan (here made
//! up; the pipeline feeds real ones in capture order):
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use netsec_detect::{default_analyzers, DetectConfig};
//! use netsec_model::{Finding, IpInfo, PacketInfo, TcpFlags, Timestamp, Transport};
//!
//! let config = DetectConfig::from_toml("[portscan]\nmin_ports = 20\n").unwrap();
//! let mut analyzers = default_analyzers(&config);
//! let mut findings: Vec<Finding> = Vec::new();
//! for port in 1..=100u16 {
//!     let syn = PacketInfo {
//!         number: u64::from(port),
//!         ts: Timestamp::from_secs_nanos(1_700_000_000, u32::from(port) * 1_000_000),
//!         wire_len: 58,
//!         src_mac: None,
//!         dst_mac: None,
//!         vlan: 0,
//!         ether_type: 0x0800,
//!         ip: Some(IpInfo {
//!             src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
//!             dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)),
//!             transport: Transport::Tcp,
//!             ttl: 64,
//!             ip_len: 44,
//!             fragmented: false,
//!             reassembled: false,
//!             src_port: 45_000,
//!             dst_port: port,
//!             tcp_flags: TcpFlags(TcpFlags::SYN),
//!             tcp_seq: 1,
//!             tcp_ack: 0,
//!             tcp_window: 1024,
//!             payload_len: 0,
//!         }),
//!     };
//!     for a in analyzers.iter_mut().filter(|a| a.interests().packets) {
//!         a.on_packet(&syn, &mut findings);
//!     }
//! }
//! for a in analyzers.iter_mut() {
//!     a.finish(&mut findings);
//! }
//! // one activity, one id: reported at 20, 40 and 80 ports, then its final state
//! let scan: Vec<&Finding> = findings.iter().filter(|f| f.kind == "tcp_port_scan").collect();
//! assert_eq!(scan.len(), 4);
//! assert!(scan.iter().all(|f| f.id == "tcp_port_scan:10.0.0.5->10.0.0.7"));
//! let last = scan[3];
//! assert_eq!(last.evidence.measurements[0].to_string(), "distinct_ports = 100 ports (>= 20)");
//! assert_eq!(last.mitre, vec!["T1046"]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
pub mod baseline;
pub mod beacon;
pub mod bruteforce;
pub mod config;
pub mod evidence;
pub mod exfil;
#[cfg(test)]
mod fixtures;
pub mod flood;
pub mod lateral;
pub mod portscan;
pub mod scope;
pub mod signature;
pub mod table;
pub mod timeline;
pub mod tunnel;
pub mod windows;

pub use config::{ConfigError, DetectConfig, HttpConfig};
pub use scope::{Cidr, NetworkConfig};

use netsec_model::Analyzer;

/// Every enabled detector, configured, in a fixed order (the order their
/// findings come in when several react to one packet).
pub fn default_analyzers(config: &DetectConfig) -> Vec<Box<dyn Analyzer>> {
    let net = &config.network;
    let mut out: Vec<Box<dyn Analyzer>> = Vec::new();
    if config.portscan.enabled {
        out.push(Box::new(portscan::PortScanDetector::new(
            config.portscan.clone(),
            net.clone(),
        )));
    }
    if config.flood.enabled {
        out.push(Box::new(flood::FloodDetector::new(
            config.flood.clone(),
            net.clone(),
        )));
    }
    if config.arp.enabled {
        out.push(Box::new(arp::ArpSpoofDetector::new(
            config.arp.clone(),
            net.clone(),
        )));
    }
    if config.bruteforce.enabled {
        out.push(Box::new(bruteforce::BruteForceDetector::new(
            config.bruteforce.clone(),
            net.clone(),
        )));
    }
    if config.beacon.enabled {
        out.push(Box::new(beacon::BeaconDetector::new(
            config.beacon.clone(),
            net.clone(),
        )));
    }
    if config.exfil.enabled {
        out.push(Box::new(exfil::ExfilDetector::new(
            config.exfil.clone(),
            net.clone(),
        )));
    }
    if config.lateral.enabled {
        out.push(Box::new(lateral::LateralDetector::new(
            config.lateral.clone(),
            net.clone(),
        )));
    }
    if config.tunnel.enabled {
        out.push(Box::new(tunnel::TunnelDetector::new(
            config.tunnel.clone(),
            net.clone(),
        )));
    }
    if config.windows.enabled {
        out.push(Box::new(windows::WindowsDetector::new(
            config.windows.clone(),
            net.clone(),
        )));
    }
    out
}

/// The detectors that read payload bytes ([`netsec_model::Inspector`]s, one
/// set per shard): `tunnel`'s payload entropy on cleartext ports.
pub fn default_inspectors(config: &DetectConfig) -> Vec<Box<dyn netsec_model::Inspector>> {
    let mut out: Vec<Box<dyn netsec_model::Inspector>> = Vec::new();
    if config.tunnel.enabled && config.tunnel.entropy {
        out.push(Box::new(tunnel::PayloadEntropy::new(
            config.tunnel.clone(),
            config.network.clone(),
        )));
    }
    out
}

/// Names of every detector [`default_analyzers`] can build, in its order.
pub const DETECTORS: [&str; 9] = [
    "portscan",
    "flood",
    "arp",
    "bruteforce",
    "beacon",
    "exfil",
    "lateral",
    "tunnel",
    "windows",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_flags_select_detectors() {
        let all = default_analyzers(&DetectConfig::default());
        let names: Vec<&str> = all.iter().map(|a| a.name()).collect();
        assert_eq!(names, DETECTORS.to_vec());
        let config = DetectConfig::from_toml("[beacon]\nenabled = false\n[arp]\nenabled = false\n");
        let some = default_analyzers(&config.unwrap_or_default());
        let names: Vec<&str> = some.iter().map(|a| a.name()).collect();
        assert_eq!(
            names,
            vec![
                "portscan",
                "flood",
                "bruteforce",
                "exfil",
                "lateral",
                "tunnel",
                "windows"
            ]
        );
    }

    /// 50 000 sources, pairs and MACs that are never seen twice, through
    /// every detector with room for 500 each: state stays bounded and the
    /// evictions are counted.
    #[test]
    fn state_stays_bounded_under_a_flood_of_new_keys() {
        use crate::fixtures::{ep, flow, packet};
        use netsec_model::{ArpInfo, MacAddr, TcpFlags, TcpState, Timestamp, Transport};
        let text = DETECTORS
            .iter()
            .map(|d| format!("[{d}]\ncapacity = 500\n"))
            .collect::<String>();
        let config = DetectConfig::from_toml(&text).unwrap();
        let net = config.network.clone();
        let mut portscan = portscan::PortScanDetector::new(config.portscan.clone(), net.clone());
        let mut flood = flood::FloodDetector::new(config.flood.clone(), net.clone());
        let mut arp = arp::ArpSpoofDetector::new(config.arp.clone(), net.clone());
        let mut brute = bruteforce::BruteForceDetector::new(config.bruteforce.clone(), net.clone());
        let mut beacon = beacon::BeaconDetector::new(config.beacon.clone(), net.clone());
        let mut exfil = exfil::ExfilDetector::new(config.exfil.clone(), net.clone());
        let mut lateral = lateral::LateralDetector::new(config.lateral.clone(), net.clone());
        let mut tunnel = tunnel::TunnelDetector::new(config.tunnel.clone(), net);
        let mut out: Vec<netsec_model::Finding> = Vec::new();
        for i in 0..50_000u32 {
            let t = f64::from(i) * 1e-5;
            let host = 0x0a00_0000 | (i & 0x00ff_ffff);
            let src = ep(host, 40000);
            let syn = packet(
                t,
                src,
                ep(0x0a01_0001, 80),
                Transport::Tcp,
                TcpFlags::SYN,
                60,
            );
            let udp = packet(t, src, ep(0x0a01_0001 + i, 53), Transport::Udp, 0, 60);
            let echo = packet(
                t,
                ep(host, 8),
                ep(0xc633_6400 + i, 0),
                Transport::Icmp,
                0,
                60,
            );
            for p in [&syn, &udp, &echo] {
                portscan.on_packet(p, &mut out);
                flood.on_packet(p, &mut out);
                tunnel.on_packet(p, &mut out);
            }
            let [_, b1, b2, b3] = i.to_be_bytes();
            let claim = ArpInfo {
                ts: Timestamp::from_secs_f64(t),
                packet_number: u64::from(i),
                operation: 2,
                sender_mac: MacAddr([2, 0, b1, b2, b3, 1]),
                sender_ip: std::net::Ipv4Addr::from(host),
                target_mac: MacAddr::ZERO,
                target_ip: std::net::Ipv4Addr::from(host),
                eth_src: None,
            };
            arp.on_arp(&claim, &mut out);
            let outside = flow(
                src,
                ep(0xc633_6400 + i, 22),
                (t, 1.0),
                (1000, 1000),
                TcpState::Closed,
            );
            let inside = flow(
                src,
                ep(0x0a02_0000 + i, 22),
                (t, 1.0),
                (1000, 1000),
                TcpState::Closed,
            );
            for r in [&outside, &inside] {
                brute.on_flow_end(r, &mut out);
                beacon.on_flow_end(r, &mut out);
                exfil.on_flow_end(r, &mut out);
                lateral.on_flow_end(r, &mut out);
            }
        }
        let evicted = [
            ("portscan", portscan.evicted()),
            ("flood", flood.evicted()),
            ("arp", arp.evicted()),
            ("bruteforce", brute.evicted()),
            ("beacon", beacon.evicted()),
            ("exfil", exfil.evicted()),
            ("lateral", lateral.evicted()),
            ("tunnel", tunnel.evicted()),
        ];
        for (name, n) in evicted {
            assert!(n >= 40_000, "{name}: {n} evicted");
        }
    }

    /// Under a memory budget each detector keeps its estimate within it,
    /// whatever arrives.
    #[test]
    fn every_detector_keeps_within_its_memory_budget() {
        use crate::fixtures::{ep, flow, packet};
        use netsec_model::{TcpFlags, TcpState, Transport};
        let budget = 256 * 1024;
        let mut analyzers = default_analyzers(&DetectConfig::default());
        for a in analyzers.iter_mut() {
            a.set_memory_budget(budget);
        }
        let mut out: Vec<netsec_model::Finding> = Vec::new();
        for i in 0..30_000u32 {
            let t = f64::from(i) * 1e-4;
            let src = ep(0x0a00_0000 | i, 40000);
            let syn = packet(
                t,
                src,
                ep(0x0a01_0000 | i, 22),
                Transport::Tcp,
                TcpFlags::SYN,
                60,
            );
            let udp = packet(t, src, ep(0x0a01_0001, 123), Transport::Udp, 0, 60);
            let session = flow(
                src,
                ep(0x0a02_0000 | i, 22),
                (t, 1.0),
                (4000, 4000),
                TcpState::Closed,
            );
            for a in analyzers.iter_mut() {
                a.on_packet(&syn, &mut out);
                a.on_packet(&udp, &mut out);
                a.on_flow_end(&session, &mut out);
            }
        }
        for a in &analyzers {
            assert!(
                a.memory_used() <= budget,
                "{}: {} bytes",
                a.name(),
                a.memory_used()
            );
        }
        let used: usize = analyzers.iter().map(|a| a.memory_used()).sum();
        assert!(used > 0);
    }
}
