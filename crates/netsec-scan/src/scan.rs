//! TCP connect scanning (no privileges needed) on tokio, with a bounded
//! number of sockets in flight, per-attempt timeouts, retries for silent
//! ports, and a randomised probe order; then banner grabbing and protocol
//! probes on open ports.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::service::{identify, Probe, ServiceMatch};

/// Port states, as nmap names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    /// A connection was accepted.
    Open,
    /// The host answered with a reset.
    Closed,
    /// No answer within the timeout, or an ICMP error.
    Filtered,
}

impl std::fmt::Display for PortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        })
    }
}

/// Scan settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Sockets in flight at once.
    pub concurrency: usize,
    /// Time to wait for a connection.
    pub connect_timeout: Duration,
    /// Extra attempts for ports that did not answer.
    pub max_retries: u32,
    /// Time to wait for a banner or a probe's answer.
    pub banner_timeout: Duration,
    /// Identify services on open ports.
    pub service_detection: bool,
    /// Seed for the probe order (same seed, same order).
    pub seed: u64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        // nmap -T4: max-rtt-timeout 1250 ms, 6 retries; a connect scan needs fewer.
        ScanConfig {
            concurrency: 512,
            connect_timeout: Duration::from_millis(1000),
            max_retries: 1,
            banner_timeout: Duration::from_millis(1500),
            service_detection: true,
            seed: 0x6e65_7473_6563,
        }
    }
}

/// What was found on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortResult {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// State.
    pub state: PortState,
    /// Why (`syn-ack`, `conn-refused`, `no-response`, …).
    pub reason: String,
    /// Service, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceMatch>,
}

/// A whole scan's results.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Ports probed per host.
    pub ports_scanned: usize,
    /// Hosts probed.
    pub hosts_scanned: usize,
    /// Seconds the scan took.
    pub elapsed_s: f64,
    /// Open and closed ports (filtered ones are counted, not listed).
    pub results: Vec<PortResult>,
    /// Ports that never answered.
    pub filtered: usize,
}

/// A permutation of `0..n` (deterministic for a seed): the probe order.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut s = seed | 1;
    for i in (1..n).rev() {
        // xorshift64*: fast, deterministic, good enough to spread probes.
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let r = s.wrapping_mul(0x2545_f491_4f6c_dd1d);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
    v
}

async fn connect_once(
    addr: SocketAddr,
    timeout: Duration,
) -> (PortState, &'static str, Option<TcpStream>) {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => (PortState::Open, "syn-ack", Some(stream)),
        Ok(Err(e)) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => (PortState::Closed, "conn-refused", None),
            std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                (PortState::Filtered, "host-unreach", None)
            }
            _ => (PortState::Filtered, "error", None),
        },
        Err(_) => (PortState::Filtered, "no-response", None),
    }
}

/// Read what the service says first, or after a probe, within the timeout.
async fn grab(stream: &mut TcpStream, probe: Option<&[u8]>, timeout: Duration) -> Vec<u8> {
    if let Some(p) = probe {
        if stream.write_all(p).await.is_err() {
            return Vec::new();
        }
    }
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while got.len() < 4096 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                got.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                // A complete line or HTTP head is enough to identify.
                if got.ends_with(b"\n") && !got.starts_with(b"HTTP/")
                    || got.windows(4).any(|w| w == b"\r\n\r\n")
                {
                    break;
                }
            }
        }
    }
    got
}

async fn detect(ip: IpAddr, port: u16, config: &ScanConfig) -> Option<ServiceMatch> {
    let addr = SocketAddr::new(ip, port);
    // First listen: many services greet (SSH, FTP, SMTP, POP3, IMAP, MySQL).
    let (_, _, stream) = connect_once(addr, config.connect_timeout).await;
    let mut stream = stream?;
    let greeting = grab(&mut stream, None, config.banner_timeout / 2).await;
    if let Some(m) = identify(&greeting, port, Probe::Null) {
        return Some(m);
    }
    // Then ask: protocol probes chosen by port, HTTP as the general fallback.
    for probe in Probe::for_port(port) {
        let (_, _, stream) = connect_once(addr, config.connect_timeout).await;
        let mut stream = stream?;
        let answer = grab(&mut stream, Some(probe.bytes()), config.banner_timeout).await;
        if let Some(m) = identify(&answer, port, probe) {
            return Some(m);
        }
    }
    None
}

/// Scan `ports` on every host of `targets`.
pub async fn scan(targets: &[IpAddr], ports: &[u16], config: &ScanConfig) -> ScanReport {
    let started = Instant::now();
    let sem = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let total = targets.len() * ports.len();
    let order = shuffled(total, config.seed);
    let mut tasks = tokio::task::JoinSet::new();
    for idx in order {
        let (Some(ip), Some(port)) = (
            targets.get(idx / ports.len().max(1)),
            ports.get(idx % ports.len().max(1)),
        ) else {
            continue;
        };
        let (ip, port) = (*ip, *port);
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let config = config.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let addr = SocketAddr::new(ip, port);
            let mut outcome = connect_once(addr, config.connect_timeout).await;
            let mut tries = 0;
            while outcome.0 == PortState::Filtered && tries < config.max_retries {
                tries += 1;
                outcome = connect_once(addr, config.connect_timeout).await;
            }
            let (state, reason, stream) = outcome;
            drop(stream);
            PortResult {
                ip,
                port,
                state,
                reason: reason.to_string(),
                service: None,
            }
        });
    }
    let mut results = Vec::new();
    let mut filtered = 0;
    while let Some(r) = tasks.join_next().await {
        let Ok(r) = r else { continue };
        if r.state == PortState::Filtered {
            filtered += 1;
        } else {
            results.push(r);
        }
    }
    if config.service_detection {
        let mut detect_tasks = tokio::task::JoinSet::new();
        for (i, r) in results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == PortState::Open)
        {
            let Ok(permit) = sem.clone().acquire_owned().await else {
                break;
            };
            let (ip, port, config) = (r.ip, r.port, config.clone());
            detect_tasks.spawn(async move {
                let _permit = permit;
                (i, detect(ip, port, &config).await)
            });
        }
        while let Some(done) = detect_tasks.join_next().await {
            if let Ok((i, m)) = done {
                if let Some(r) = results.get_mut(i) {
                    r.service = m;
                }
            }
        }
    }
    results.sort_by(|a, b| a.ip.cmp(&b.ip).then(a.port.cmp(&b.port)));
    ScanReport {
        ports_scanned: ports.len(),
        hosts_scanned: targets.len(),
        elapsed_s: started.elapsed().as_secs_f64(),
        results,
        filtered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v = shuffled(1000, 42);
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
        assert_eq!(shuffled(10, 7), shuffled(10, 7));
    }
}
