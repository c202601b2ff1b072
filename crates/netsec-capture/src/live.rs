//! Live capture from a network interface with pnet's datalink layer
//! (AF_PACKET on Linux; no libpcap needed).
//!
//! Timestamps are the system clock when the frame is received by netsec,
//! not a kernel timestamp: close, but not as precise as tcpdump's.
//! Filters are applied after decoding (see [`crate::Filter`]), not in the kernel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netsec_model::{LinkType, MacAddr, RawPacket, Timestamp};
use pnet_datalink::{Channel, Config, DataLinkReceiver, NetworkInterface};

use crate::error::CaptureError;

/// Options of a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Largest frame read, bytes.
    pub snaplen: usize,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// How long [`LiveCapture::next_packet`] waits before returning `Ok(None)`.
    pub read_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            snaplen: 65_535,
            promiscuous: true,
            read_timeout: Duration::from_millis(250),
        }
    }
}

/// An interface that can be captured on.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    /// Name (`eth0`).
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Hardware address, when it has one.
    pub mac: Option<MacAddr>,
    /// Addresses with prefix (`10.0.0.5/24`).
    pub addresses: Vec<String>,
    /// Administratively up.
    pub up: bool,
    /// A loopback interface.
    pub loopback: bool,
}

/// A capture in progress on one interface.
pub struct LiveCapture {
    interface: String,
    rx: Box<dyn DataLinkReceiver>,
    packets: u64,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("packets", &self.packets)
            .finish()
    }
}

fn find_interface(name: &str) -> Option<NetworkInterface> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
}

impl LiveCapture {
    /// Start capturing on `interface`. Needs CAP_NET_RAW (root).
    pub fn open(interface: &str, options: &LiveOptions) -> Result<LiveCapture, CaptureError> {
        let err = |reason: String| CaptureError::Live {
            interface: interface.to_string(),
            reason,
        };
        let iface = find_interface(interface).ok_or_else(|| err("no such interface".into()))?;
        let config = Config {
            read_buffer_size: options.snaplen.max(2048),
            read_timeout: Some(options.read_timeout),
            promiscuous: options.promiscuous,
            ..Config::default()
        };
        match pnet_datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => Ok(LiveCapture {
                interface: interface.to_string(),
                rx,
                packets: 0,
            }),
            Ok(_) => Err(err("unsupported channel type".into())),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(err(format!("{e} (live capture needs root or CAP_NET_RAW)")))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The next frame, or `Ok(None)` when the read timeout passed with none.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        match self.rx.next() {
            Ok(data) => {
                self.packets += 1;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO);
                Ok(Some(RawPacket {
                    number: self.packets,
                    ts: Timestamp::from_secs_nanos(now.as_secs() as i64, now.subsec_nanos()),
                    link_type: LinkType::Ethernet,
                    interface: 0,
                    orig_len: data.len() as u32,
                    data,
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(CaptureError::Live {
                interface: self.interface.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// Frames received so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Interfaces on this machine.
    pub fn interfaces() -> Vec<InterfaceInfo> {
        pnet_datalink::interfaces()
            .into_iter()
            .map(|i| InterfaceInfo {
                name: i.name.clone(),
                index: i.index,
                mac: i.mac.map(|m| MacAddr(m.octets())),
                addresses: i.ips.iter().map(|n| n.to_string()).collect(),
                up: i.is_up(),
                loopback: i.is_loopback(),
            })
            .collect()
    }
}
