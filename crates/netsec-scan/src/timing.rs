//! Timing: nmap's timing profiles (`-T0` … `-T5`), round-trip-time
//! estimation that sets per-host timeouts from measured answers, and a rate
//! limiter for probes per second.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Timing knobs of a scan. Build one from a profile and override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Timeout before any round trip has been measured.
    pub initial_rtt_timeout: Duration,
    /// Adaptive timeouts never go below this.
    pub min_rtt_timeout: Duration,
    /// Adaptive timeouts never go above this.
    pub max_rtt_timeout: Duration,
    /// Extra attempts for a probe that got no answer.
    pub max_retries: u32,
    /// Least time between two probes (0: none).
    pub scan_delay: Duration,
    /// Probes in flight at once.
    pub parallelism: usize,
}

impl Timing {
    /// nmap's timing template `level` (0 paranoid … 5 insane; larger is 5).
    ///
    /// The round-trip timeouts and scan delays are nmap's (nmap book,
    /// "Timing templates (-T)": T0 5 min initial and 5 min delay, T1 15 s
    /// and 15 s, T2 1 s and 0.4 s, T3 1 s / 100 ms / 10 s, T4 500 ms /
    /// 100 ms / 1250 ms, T5 250 ms / 50 ms / 300 ms). Retries are nmap's
    /// (10, 10, 10, 10, 6, 2) capped at 3 for T0–T3: a connect scan learns of
    /// loss only by timeout, and nmap itself retries far less than its
    /// maximum once it sees the network is not dropping. Parallelism is
    /// netsec's: serial for T0–T2 like nmap, then sockets in flight.
    pub fn profile(level: u8) -> Timing {
        let ms = Duration::from_millis;
        match level {
            0 => Timing {
                initial_rtt_timeout: ms(300_000),
                min_rtt_timeout: ms(100),
                max_rtt_timeout: ms(10_000),
                max_retries: 3,
                scan_delay: ms(300_000),
                parallelism: 1,
            },
            1 => Timing {
                initial_rtt_timeout: ms(15_000),
                min_rtt_timeout: ms(100),
                max_rtt_timeout: ms(10_000),
                max_retries: 3,
                scan_delay: ms(15_000),
                parallelism: 1,
            },
            2 => Timing {
                initial_rtt_timeout: ms(1_000),
                min_rtt_timeout: ms(100),
                max_rtt_timeout: ms(10_000),
                max_retries: 3,
                scan_delay: ms(400),
                parallelism: 1,
            },
            3 => Timing {
                initial_rtt_timeout: ms(1_000),
                min_rtt_timeout: ms(100),
                max_rtt_timeout: ms(10_000),
                max_retries: 2,
                scan_delay: Duration::ZERO,
                parallelism: 512,
            },
            4 => Timing {
                initial_rtt_timeout: ms(500),
                min_rtt_timeout: ms(100),
                max_rtt_timeout: ms(1_250),
                max_retries: 2,
                scan_delay: Duration::ZERO,
                parallelism: 2_048,
            },
            _ => Timing {
                initial_rtt_timeout: ms(250),
                min_rtt_timeout: ms(50),
                max_rtt_timeout: ms(300),
                max_retries: 1,
                scan_delay: Duration::ZERO,
                parallelism: 4_096,
            },
        }
    }
}

impl Default for Timing {
    /// `-T3`, nmap's default.
    fn default() -> Self {
        Timing::profile(3)
    }
}

/// Smoothed round-trip time and its variation (RFC 6298 §2, the estimator
/// TCP and nmap use): timeout = SRTT + 4·RTTVAR, clamped to the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttEstimator {
    srtt: Option<f64>,
    rttvar: f64,
    samples: u64,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl RttEstimator {
    /// An estimator with no samples.
    pub fn new() -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0.0,
            samples: 0,
        }
    }

    /// Record one measured round trip.
    pub fn sample(&mut self, rtt: Duration) {
        let r = rtt.as_secs_f64();
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2.0;
            }
            Some(s) => {
                // Gains 1/4 and 1/8, RFC 6298 §2.3.
                self.rttvar = 0.75 * self.rttvar + 0.25 * (s - r).abs();
                self.srtt = Some(0.875 * s + 0.125 * r);
            }
        }
        self.samples += 1;
    }

    /// Round trips measured.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt.map(Duration::from_secs_f64)
    }

    /// The timeout to use now under `timing`.
    pub fn timeout(&self, timing: &Timing) -> Duration {
        match self.srtt {
            None => timing.initial_rtt_timeout,
            Some(s) => Duration::from_secs_f64(s + 4.0 * self.rttvar)
                .clamp(timing.min_rtt_timeout, timing.max_rtt_timeout),
        }
    }
}

/// One estimator per host, shared by the tasks probing it. Holds at most
/// one entry per target of the scan (the target list bounds it).
#[derive(Debug, Default)]
pub struct HostRtts {
    hosts: Mutex<HashMap<IpAddr, RttEstimator>>,
}

impl HostRtts {
    /// Record a round trip to `ip`.
    pub fn sample(&self, ip: IpAddr, rtt: Duration) {
        if let Ok(mut m) = self.hosts.lock() {
            m.entry(ip).or_default().sample(rtt);
        }
    }

    /// The current timeout for `ip`.
    pub fn timeout(&self, ip: IpAddr, timing: &Timing) -> Duration {
        self.hosts
            .lock()
            .ok()
            .and_then(|m| m.get(&ip).map(|e| e.timeout(timing)))
            .unwrap_or(timing.initial_rtt_timeout)
    }

    /// The smoothed round trip to `ip`, once measured.
    pub fn srtt(&self, ip: IpAddr) -> Option<Duration> {
        self.hosts
            .lock()
            .ok()
            .and_then(|m| m.get(&ip).and_then(|e| e.srtt()))
    }
}

/// Spaces probes at least `interval` apart across all tasks (the `--rate`
/// and the profile's scan delay): each caller reserves the next slot.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `rate` probes per second (0: unlimited) and at least
    /// `delay` between probes.
    pub fn new(rate: f64, delay: Duration) -> Self {
        let by_rate = if rate > 0.0 && rate.is_finite() {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval: by_rate.max(delay),
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether this limiter ever waits.
    pub fn is_unlimited(&self) -> bool {
        self.interval.is_zero()
    }

    /// Wait for this caller's slot.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// The soft limit on open files of this process (Linux `/proc/self/limits`),
/// so that parallelism leaves descriptors for everything else.
pub fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_follow_nmap() {
        let t4 = Timing::profile(4);
        assert_eq!(t4.max_rtt_timeout, Duration::from_millis(1250));
        assert_eq!(t4.initial_rtt_timeout, Duration::from_millis(500));
        assert_eq!(Timing::profile(2).scan_delay, Duration::from_millis(400));
        assert_eq!(Timing::profile(9), Timing::profile(5));
        assert_eq!(Timing::default(), Timing::profile(3));
    }

    #[test]
    fn timeout_adapts_to_measured_rtt() {
        let t = Timing::profile(4);
        let mut e = RttEstimator::new();
        assert_eq!(e.timeout(&t), t.initial_rtt_timeout);
        for _ in 0..20 {
            e.sample(Duration::from_millis(2));
        }
        // Steady 2 ms answers: the timeout falls to the floor.
        assert_eq!(e.timeout(&t), t.min_rtt_timeout);
        for _ in 0..5 {
            e.sample(Duration::from_millis(400));
        }
        let slow = e.timeout(&t);
        assert!(slow > Duration::from_millis(400) && slow <= t.max_rtt_timeout);
        e.sample(Duration::from_secs(30));
        assert_eq!(e.timeout(&t), t.max_rtt_timeout);
        assert_eq!(e.samples(), 26);
    }

    #[tokio::test]
    async fn rate_limiter_spaces_probes() {
        let r = RateLimiter::new(200.0, Duration::ZERO);
        let start = Instant::now();
        for _ in 0..11 {
            r.wait().await;
        }
        // Ten intervals of 5 ms after the first slot.
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert!(RateLimiter::new(0.0, Duration::ZERO).is_unlimited());
    }

    #[test]
    fn reads_file_limit() {
        assert!(open_file_limit().is_some_and(|n| n > 0));
    }
}
