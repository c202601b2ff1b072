//! What is not an indicator: home networks, well-known infrastructure,
//! allow-listed and internal domain names; and the collector's limits.

use std::net::IpAddr;

use netsec_detect::{Cidr, NetworkConfig};

/// Settings of the [`crate::IocCollector`].
#[derive(Debug, Clone)]
pub struct IocConfig {
    /// Internal networks: addresses in them are exported only when a
    /// finding makes them an indicator. Default: netsec-detect's home
    /// networks (RFC 1918, RFC 4193 ULA) plus loopback, link-local,
    /// multicast and the unspecified and broadcast addresses.
    pub home: Vec<Cidr>,
    /// Well-known infrastructure never exported from traffic alone
    /// (default: the public DNS resolvers of Google, Cloudflare, Quad9 and
    /// OpenDNS).
    pub infrastructure: Vec<Cidr>,
    /// Domain suffixes never exported from traffic alone: the name itself
    /// and every name below it (default: operating-system update, time and
    /// connectivity-check services, and the major CDNs' own names).
    pub allowed_domains: Vec<String>,
    /// Suffixes of names that are internal by convention (`.local`,
    /// `.internal`, reverse-lookup zones, …; RFC 6762, RFC 8375).
    pub internal_domains: Vec<String>,
    /// Indicators tracked at once; past it the least recently seen ones no
    /// finding names are evicted (and counted).
    pub capacity: usize,
    /// Internal hosts listed per indicator (the rest are counted).
    pub max_hosts_per_indicator: usize,
    /// Export only indicators that some finding names or points to.
    pub require_finding: bool,
    /// Take the hashes of every file carried over HTTP, internal servers
    /// and names included. By default files follow the URLs' rule: only
    /// transfers with an outside server or an outside (not allow-listed)
    /// `Host` name give indicators.
    pub all_files: bool,
}

/// Public resolvers: what every network talks to.
pub const DEFAULT_INFRASTRUCTURE: [&str; 12] = [
    "8.8.8.8/32",
    "8.8.4.4/32",
    "1.1.1.1/32",
    "1.0.0.1/32",
    "9.9.9.9/32",
    "149.112.112.112/32",
    "208.67.222.222/32",
    "208.67.220.220/32",
    "2001:4860:4860::8888/128",
    "2001:4860:4860::8844/128",
    "2606:4700:4700::1111/128",
    "2620:fe::fe/128",
];

/// Names every network resolves: updates, time, connectivity checks.
pub const DEFAULT_ALLOWED_DOMAINS: [&str; 14] = [
    "windowsupdate.com",
    "update.microsoft.com",
    "msftconnecttest.com",
    "msftncsi.com",
    "ntp.org",
    "time.windows.com",
    "apple.com",
    "icloud.com",
    "gstatic.com",
    "googleapis.com",
    "ubuntu.com",
    "debian.org",
    "akamaiedge.net",
    "cloudfront.net",
];

/// Internal-by-convention suffixes.
pub const DEFAULT_INTERNAL_DOMAINS: [&str; 9] = [
    "local",
    "localhost",
    "lan",
    "home.arpa",
    "internal",
    "intranet",
    "corp",
    "in-addr.arpa",
    "ip6.arpa",
];

/// Never unicast hosts, or never outside: not indicators whatever the home
/// networks are.
const ALWAYS_INTERNAL: [&str; 8] = [
    "127.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/4",
    "255.255.255.255/32",
    "0.0.0.0/32",
    "::1/128",
    "fe80::/10",
    "ff00::/8",
];

impl Default for IocConfig {
    fn default() -> Self {
        let parse = |list: &[&str]| list.iter().filter_map(|c| c.parse().ok()).collect();
        let mut home: Vec<Cidr> = NetworkConfig::default().home;
        home.extend(parse(&ALWAYS_INTERNAL) as Vec<Cidr>);
        IocConfig {
            home,
            infrastructure: parse(&DEFAULT_INFRASTRUCTURE),
            allowed_domains: DEFAULT_ALLOWED_DOMAINS.map(String::from).to_vec(),
            internal_domains: DEFAULT_INTERNAL_DOMAINS.map(String::from).to_vec(),
            capacity: 100_000,
            max_hosts_per_indicator: 32,
            require_finding: false,
            all_files: false,
        }
    }
}

impl IocConfig {
    /// Replace the home networks (loopback, link-local and multicast stay internal).
    pub fn with_home(mut self, home: Vec<Cidr>) -> Self {
        let mut all = home;
        all.extend(
            ALWAYS_INTERNAL
                .iter()
                .filter_map(|c| c.parse::<Cidr>().ok()),
        );
        self.home = all;
        self
    }

    /// Whether an address is internal.
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        Cidr::any_contains(&self.home, ip)
    }

    /// Whether an address is well-known infrastructure.
    pub fn is_infrastructure(&self, ip: IpAddr) -> bool {
        Cidr::any_contains(&self.infrastructure, ip)
    }

    /// Whether an address is exported from traffic alone.
    pub fn is_outside(&self, ip: IpAddr) -> bool {
        !self.is_internal(ip) && !self.is_infrastructure(ip)
    }

    /// Whether a name is allow-listed, internal by convention, or a bare
    /// address: not an indicator from traffic alone.
    pub fn is_ignored_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || !name.contains('.') || name.parse::<IpAddr>().is_ok() {
            return true;
        }
        let under = |suffix: &String| {
            let suffix = suffix.trim_start_matches('.').to_ascii_lowercase();
            name == suffix || name.ends_with(&format!(".{suffix}"))
        };
        self.allowed_domains.iter().any(under) || self.internal_domains.iter().any(under)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_private_and_public_infrastructure_out() {
        let config = IocConfig::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for internal in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "fd00::1",
            "127.0.0.1",
            "fe80::1",
            "224.0.0.251",
        ] {
            assert!(config.is_internal(ip(internal)), "{internal}");
        }
        assert!(config.is_infrastructure(ip("8.8.8.8")));
        assert!(config.is_outside(ip("203.0.113.66")));
        assert!(config.is_ignored_name("download.windowsupdate.com"));
        assert!(config.is_ignored_name("printer.local"));
        assert!(config.is_ignored_name("10.in-addr.arpa"));
        assert!(config.is_ignored_name("wpad"));
        assert!(!config.is_ignored_name("updates.c2-relay.example"));
        assert!(!config.is_ignored_name("notwindowsupdate.com"));
        let custom =
            IocConfig::default().with_home("198.51.100.0/24".parse().into_iter().collect());
        assert!(custom.is_internal(ip("198.51.100.9")));
        assert!(!custom.is_internal(ip("10.0.0.1")));
        assert!(custom.is_internal(ip("127.0.0.1")));
    }
}
