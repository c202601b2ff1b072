//! TCP connect probes: the kernel does the handshake, so no privileges are
//! needed. A refusal (RST) means closed; silence until the timeout means
//! filtered; an ICMP unreachable surfaces as an error (filtered too).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};

/// What one connection attempt showed.
#[derive(Debug)]
pub enum ConnectOutcome {
    /// Accepted (SYN-ACK); the stream and the round trip.
    Open(TcpStream, Duration),
    /// Refused (RST); the round trip.
    Closed(Duration),
    /// An ICMP error said the host or network cannot be reached.
    Unreachable(&'static str),
    /// No answer within the timeout.
    Timeout,
    /// The local system could not try (descriptors, source port in use…).
    LocalError(String),
}

fn socket_for(addr: SocketAddr, source_port: Option<u16>) -> std::io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(sp) = source_port {
        // Several probes share the source port; SO_REUSEADDR lets each bind.
        socket.set_reuseaddr(true)?;
        let local: SocketAddr = if addr.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, sp).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, sp).into()
        };
        socket.bind(local)?;
    }
    Ok(socket)
}

/// nmap's reason for an ICMP error the kernel reported as `e`, if it is
/// one (EHOSTUNREACH 113, ENETUNREACH 101, EACCES from a local firewall,
/// EPROTO 71 for the unreachable codes Linux maps there).
pub fn unreachable_reason(e: &std::io::Error) -> Option<&'static str> {
    match e.kind() {
        std::io::ErrorKind::HostUnreachable => Some("host-unreach"),
        std::io::ErrorKind::NetworkUnreachable => Some("net-unreach"),
        std::io::ErrorKind::PermissionDenied => Some("admin-prohibited"),
        _ => match e.raw_os_error() {
            Some(113) => Some("host-unreach"),
            Some(101) => Some("net-unreach"),
            Some(71) => Some("admin-prohibited"),
            _ => None,
        },
    }
}

/// Try one connection to `addr` within `timeout`.
pub async fn connect(
    addr: SocketAddr,
    timeout: Duration,
    source_port: Option<u16>,
) -> ConnectOutcome {
    let socket = match socket_for(addr, source_port) {
        Ok(s) => s,
        Err(e) => return ConnectOutcome::LocalError(e.to_string()),
    };
    let start = Instant::now();
    match tokio::time::timeout(timeout, socket.connect(addr)).await {
        Ok(Ok(stream)) => ConnectOutcome::Open(stream, start.elapsed()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            ConnectOutcome::Closed(start.elapsed())
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => ConnectOutcome::Timeout,
        Ok(Err(e)) => match unreachable_reason(&e) {
            Some(why) => ConnectOutcome::Unreachable(why),
            None => ConnectOutcome::LocalError(e.to_string()),
        },
        Err(_) => ConnectOutcome::Timeout,
    }
}

/// Close an accepted scan connection with a reset rather than a FIN, as a
/// port scan should: no TIME_WAIT left behind, nothing for the service to
/// serve.
pub fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
