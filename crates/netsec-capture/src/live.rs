//! Live capture from a network interface with pnet's datalink layer
//! (an AF_PACKET socket on Linux; no libpcap needed).
//!
//! Timestamps are read from the system clock when netsec receives the frame
//! from the socket, not taken from the kernel: close to tcpdump's, but later
//! by the time the frame waited in the socket buffer, and subject to clock
//! steps. Filters are applied after decoding (see [`crate::Filter`]), not in
//! the kernel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netsec_model::{LinkType, MacAddr, RawPacket, Timestamp};
use pnet_datalink::{Channel, Config, DataLinkReceiver, NetworkInterface};

use crate::error::CaptureError;

/// Receive buffer: Wireshark's largest snap length (256 KiB), so that the
/// length on the wire is known for every frame a veth or loopback interface
/// with segmentation offload can deliver (up to 64 KiB plus headers).
const RECEIVE_BUFFER_BYTES: usize = 256 * 1024;

/// Options of a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Bytes of each frame kept (the rest is cut, as tcpdump's `-s`); the
    /// length on the wire is still reported in [`RawPacket::orig_len`].
    pub snaplen: usize,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// How long [`LiveCapture::next_packet`] waits before returning `Ok(None)`.
    pub read_timeout: Duration,
}

impl Default for LiveOptions {
    /// snaplen 262144 (tcpdump's default), promiscuous, 250 ms timeout.
    fn default() -> Self {
        LiveOptions {
            snaplen: 262_144,
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
    /// Link type of the frames a capture on it yields.
    pub link_type: LinkType,
}

/// A capture in progress on one interface.
pub struct LiveCapture {
    interface: String,
    rx: Box<dyn DataLinkReceiver>,
    link_type: LinkType,
    snaplen: usize,
    packets: u64,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("link_type", &self.link_type)
            .field("packets", &self.packets)
            .finish()
    }
}

fn find_interface(name: &str) -> Option<NetworkInterface> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
}

/// The link type of frames an AF_PACKET socket reads on `interface`, from
/// its ARPHRD_* hardware type in `/sys/class/net/NAME/type` (linux/if_arp.h),
/// mapped as libpcap's pcap-linux.c maps it. Types libpcap would capture in
/// another form are reported as `Other(ARPHRD number)`.
pub fn link_type_of(interface: &str) -> LinkType {
    let arphrd = std::fs::read_to_string(format!("/sys/class/net/{interface}/type"))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    match arphrd {
        // No /sys (not Linux): pnet's Layer2 channel yields Ethernet frames.
        None => LinkType::Ethernet,
        // ETHER; LOOPBACK (Linux gives loopback frames an Ethernet header with zero addresses).
        Some(1 | 772) => LinkType::Ethernet,
        // NONE (tun), TUNNEL (ipip), TUNNEL6, SIT, IPGRE, RAWIP: IP with no link header.
        Some(65534 | 768 | 769 | 776 | 778 | 519) => LinkType::Raw,
        Some(other) => LinkType::Other(other),
    }
}

impl LiveCapture {
    /// Start capturing on `interface`. Needs CAP_NET_RAW (root).
    pub fn open(interface: &str, options: &LiveOptions) -> Result<LiveCapture, CaptureError> {
        let err = |reason: String| CaptureError::Live {
            interface: interface.to_string(),
            reason,
        };
        let iface = find_interface(interface).ok_or_else(|| err("no such interface".into()))?;
        if options.snaplen == 0 {
            return Err(err("snap length must be at least 1 byte".into()));
        }
        let config = Config {
            read_buffer_size: RECEIVE_BUFFER_BYTES.max(options.snaplen),
            read_timeout: Some(options.read_timeout),
            promiscuous: options.promiscuous,
            ..Config::default()
        };
        match pnet_datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_tx, rx)) => Ok(LiveCapture {
                interface: interface.to_string(),
                rx,
                link_type: link_type_of(interface),
                snaplen: options.snaplen,
                packets: 0,
            }),
            Ok(_) => Err(err("unsupported channel type".into())),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(err(format!("{e} (live capture needs root or CAP_NET_RAW)")))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The next frame, or `Ok(None)` when the read timeout passed with none
    /// (call again to keep waiting). Its timestamp is the system clock at
    /// receive time; packet numbers count from 1.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        match self.rx.next() {
            Ok(frame) => {
                self.packets += 1;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO);
                let data = frame.get(..self.snaplen).unwrap_or(frame);
                Ok(Some(RawPacket {
                    number: self.packets,
                    ts: Timestamp::from_secs_nanos(
                        i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
                        now.subsec_nanos(),
                    ),
                    link_type: self.link_type,
                    interface: 0,
                    orig_len: u32::try_from(frame.len()).unwrap_or(u32::MAX),
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

    /// Link type of the frames.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Name of the interface.
    pub fn interface(&self) -> &str {
        &self.interface
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
                link_type: link_type_of(&i.name),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_with_an_ethernet_like_link_type() {
        let all = LiveCapture::interfaces();
        // Every Linux network namespace has `lo`.
        if let Some(lo) = all.iter().find(|i| i.name == "lo") {
            assert!(lo.loopback);
            assert_eq!(lo.link_type, LinkType::Ethernet);
            assert!(lo.addresses.iter().any(|a| a.starts_with("127.0.0.1")));
        }
        assert_eq!(link_type_of("no-such-interface-x"), LinkType::Ethernet);
    }

    #[test]
    fn opening_a_missing_interface_names_it() {
        let e = LiveCapture::open("nscap-missing0", &LiveOptions::default()).unwrap_err();
        assert!(e.to_string().contains("nscap-missing0"), "{e}");
    }
}
