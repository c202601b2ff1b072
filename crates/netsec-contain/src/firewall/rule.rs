//! Block rules as a firewall sees them: stateless matches on packets, and
//! what a rule does to a conversation.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use netsec_model::Transport;
use serde::Serialize;

use super::conversations::ConversationKey;

/// What a block rule matches on a packet. Every field left `None` matches
/// anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RuleMatch {
    /// Source address or prefix.
    pub src: Option<IpNet>,
    /// Destination address or prefix.
    pub dst: Option<IpNet>,
    /// Transport protocol.
    pub transport: Option<Transport>,
    /// Destination port (only with a transport that has ports).
    pub dst_port: Option<u16>,
}

impl RuleMatch {
    /// Everything from `ip`.
    pub fn from_host(ip: IpAddr) -> Self {
        RuleMatch {
            src: Some(IpNet::from(ip)),
            dst: None,
            transport: None,
            dst_port: None,
        }
    }

    /// Everything to `ip`.
    pub fn to_host(ip: IpAddr) -> Self {
        RuleMatch {
            src: None,
            dst: Some(IpNet::from(ip)),
            transport: None,
            dst_port: None,
        }
    }

    /// Narrowed to one service.
    pub fn on_service(mut self, transport: Transport, port: u16) -> Self {
        self.transport = Some(transport);
        self.dst_port = transport.has_ports().then_some(port);
        self
    }

    /// Narrowed to one destination.
    pub fn towards(mut self, ip: IpAddr) -> Self {
        self.dst = Some(IpNet::from(ip));
        self
    }

    /// Whether a packet from `src` to `dst` (destination port `dst_port`,
    /// unknown when `None`) matches.
    fn matches_packet(
        &self,
        src: IpAddr,
        dst: IpAddr,
        transport: Transport,
        dst_port: Option<u16>,
    ) -> bool {
        self.src.is_none_or(|n| n.contains(&src))
            && self.dst.is_none_or(|n| n.contains(&dst))
            && self.transport.is_none_or(|t| t == transport)
            && match self.dst_port {
                None => true,
                Some(p) => dst_port == Some(p),
            }
    }

    /// Whether the rule stops a conversation: it drops the client's packets
    /// (request direction), or the server's replies (whose destination port
    /// is the client's ephemeral one, unknown here: a rule with a port is
    /// taken not to match them).
    pub fn blocks(&self, c: &ConversationKey) -> bool {
        self.matches_packet(c.client, c.server, c.transport, Some(c.port))
            || self.matches_packet(c.server, c.client, c.transport, None)
    }

    /// The address family the rule is for (`None`: both, it names no address).
    pub fn family(&self) -> Option<Family> {
        self.src.or(self.dst).map(|n| {
            if n.addr().is_ipv4() {
                Family::V4
            } else {
                Family::V6
            }
        })
    }

    /// Number of fields set: the narrower, the higher.
    pub fn narrowness(&self) -> usize {
        usize::from(self.src.is_some())
            + usize::from(self.dst.is_some())
            + usize::from(self.transport.is_some())
            + usize::from(self.dst_port.is_some())
    }

    /// The address prefixes are whole hosts (no aggregation).
    pub fn hosts_only(&self) -> bool {
        let host = |n: &IpNet| n.prefix_len() == n.max_prefix_len();
        self.src.as_ref().is_none_or(host) && self.dst.as_ref().is_none_or(host)
    }
}

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl fmt::Display for RuleMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let net = |n: &Option<IpNet>| match n {
            Some(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
            Some(n) => n.to_string(),
            None => "any".to_string(),
        };
        write!(f, "drop {} → {}", net(&self.src), net(&self.dst))?;
        match (self.transport, self.dst_port) {
            (Some(t), Some(p)) => write!(f, " {t}/{p}"),
            (Some(t), None) => write!(f, " {t}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(a: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, a))
    }
    fn conv(client: u8, server: u8, port: u16) -> ConversationKey {
        ConversationKey {
            client: ip(client),
            server: ip(server),
            transport: Transport::Tcp,
            port,
        }
    }

    #[test]
    fn a_host_rule_cuts_both_directions() {
        let r = RuleMatch::from_host(ip(66));
        assert!(r.blocks(&conv(66, 5, 22)));
        // replies from .66 are dropped too: a connection to it dies
        assert!(r.blocks(&conv(5, 66, 80)));
        assert!(!r.blocks(&conv(5, 6, 80)));
    }

    #[test]
    fn a_service_rule_cuts_only_that_service() {
        let r = RuleMatch::from_host(ip(66)).on_service(Transport::Tcp, 22);
        assert!(r.blocks(&conv(66, 5, 22)));
        assert!(!r.blocks(&conv(66, 5, 80)));
        assert!(!r.blocks(&conv(5, 66, 22)));
        let udp = ConversationKey {
            transport: Transport::Udp,
            ..conv(66, 5, 22)
        };
        assert!(!r.blocks(&udp));
    }

    #[test]
    fn prefixes_contain_their_hosts() {
        let r = RuleMatch {
            src: Some("10.0.0.64/30".parse().unwrap()),
            ..RuleMatch::from_host(ip(1))
        };
        assert!(r.blocks(&conv(66, 9, 1)));
        assert!(!r.blocks(&conv(70, 9, 1)));
        assert!(!r.hosts_only());
        assert_eq!(r.to_string(), "drop 10.0.0.64/30 → any");
    }
}
