//! UDP probes with protocol payloads. A connected UDP socket receives the
//! ICMP port-unreachable a closed port sends back as `ECONNREFUSED` (Linux
//! `ip(7)`, `IP_RECVERR` semantics for connected sockets), so closed ports
//! are told apart from silent ones without a raw socket or root.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

/// What one UDP probe showed.
#[derive(Debug)]
pub enum UdpOutcome {
    /// The port answered: the bytes and the round trip.
    Answer(Vec<u8>, Duration),
    /// ICMP port unreachable: closed.
    PortUnreachable(Duration),
    /// Another ICMP unreachable (host, network, administratively prohibited).
    Unreachable(&'static str),
    /// Nothing within the timeout.
    Timeout,
    /// The local system could not try.
    LocalError(String),
}

/// Largest datagram read back.
const MAX_DATAGRAM: usize = 4096;

/// Send `payload` to `addr` and wait up to `timeout` for an answer.
pub async fn probe(
    addr: SocketAddr,
    payload: &[u8],
    timeout: Duration,
    source_port: Option<u16>,
) -> UdpOutcome {
    let local: SocketAddr = match (addr.is_ipv4(), source_port) {
        (true, sp) => (std::net::Ipv4Addr::UNSPECIFIED, sp.unwrap_or(0)).into(),
        (false, sp) => (std::net::Ipv6Addr::UNSPECIFIED, sp.unwrap_or(0)).into(),
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => return UdpOutcome::LocalError(e.to_string()),
    };
    if let Err(e) = socket.connect(addr).await {
        return UdpOutcome::LocalError(e.to_string());
    }
    let start = Instant::now();
    if let Err(e) = socket.send(payload).await {
        return classify(&e, start);
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    match tokio::time::timeout(timeout, socket.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            buf.truncate(n);
            UdpOutcome::Answer(buf, start.elapsed())
        }
        Ok(Err(e)) => classify(&e, start),
        Err(_) => UdpOutcome::Timeout,
    }
}

fn classify(e: &std::io::Error, start: Instant) -> UdpOutcome {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        return UdpOutcome::PortUnreachable(start.elapsed());
    }
    match crate::tcp::unreachable_reason(e) {
        Some(why) => UdpOutcome::Unreachable(why),
        None => UdpOutcome::LocalError(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answer_and_port_unreachable_on_loopback() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            if let Ok((n, from)) = server.recv_from(&mut buf).await {
                let _ = server.send_to(&buf[..n], from).await;
            }
        });
        match probe(addr, b"hello", Duration::from_secs(2), None).await {
            UdpOutcome::Answer(data, _) => assert_eq!(data, b"hello"),
            other => panic!("expected an answer, got {other:?}"),
        }
        // A port with no socket: the kernel answers ICMP port unreachable.
        let free = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let outcome = probe(free, b"x", Duration::from_secs(2), None).await;
        assert!(
            matches!(outcome, UdpOutcome::PortUnreachable(_)),
            "{outcome:?}"
        );
    }
}
