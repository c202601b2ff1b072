//! What the detectors measure on a DNS name: its registered domain (by the
//! Public Suffix List, compiled into the `psl` crate), the part left of it,
//! and the Shannon entropy of a byte string.

/// A query name split at its registered domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    /// The registered domain (`example.co.uk` of `a.b.example.co.uk`),
    /// lower-case.
    pub registered: String,
    /// Its leftmost label (`example`): the part an owner chose.
    pub label: String,
    /// What is left of the registered domain (`a.b`), lower-case; empty
    /// for the registered domain itself.
    pub subdomain: String,
}

/// Split `name` (with or without the trailing dot, any case) at its
/// registered domain. `None` for a name that has none: a bare public
/// suffix (`com`, `co.uk`), the root, or an empty label.
///
/// ```
/// let p = netsec_dns::name::split("Mail.Example.CO.UK.").unwrap();
/// assert_eq!((p.registered.as_str(), p.label.as_str(), p.subdomain.as_str()),
///            ("example.co.uk", "example", "mail"));
/// ```
pub fn split(name: &str) -> Option<NameParts> {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    if lower.is_empty() || lower.split('.').any(str::is_empty) {
        return None;
    }
    let registered = psl::domain_str(&lower)?.to_string();
    let label = registered.split('.').next().unwrap_or_default().to_string();
    let subdomain = lower
        .strip_suffix(registered.as_str())
        .map(|s| s.trim_end_matches('.').to_string())
        .unwrap_or_default();
    Some(NameParts {
        registered,
        label,
        subdomain,
    })
}

/// Whether `domain` is `allowed` or one of its subdomains (both
/// lower-case, no trailing dot).
pub fn within(domain: &str, allowed: &str) -> bool {
    domain == allowed
        || domain
            .strip_suffix(allowed)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Shannon entropy of a byte histogram, in bits per byte (0 for an empty
/// one).
pub fn entropy_of(histogram: &[u32]) -> f64 {
    let total: f64 = histogram.iter().map(|&c| f64::from(c)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum()
}

/// Shannon entropy of `bytes`, in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    let mut histogram = [0u32; 256];
    for &b in bytes {
        if let Some(slot) = histogram.get_mut(usize::from(b)) {
            *slot = slot.saturating_add(1);
        }
    }
    entropy_of(&histogram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains_follow_the_public_suffix_list() {
        let p = split("a.b.example.com").unwrap();
        assert_eq!(p.registered, "example.com");
        assert_eq!(p.subdomain, "a.b");
        assert_eq!(split("www.bbc.co.uk").unwrap().registered, "bbc.co.uk");
        assert_eq!(split("example.com").unwrap().subdomain, "");
        assert!(split("com").is_none());
        assert!(split("").is_none());
        assert!(split("a..b.com").is_none());
        assert!(split(".").is_none());
    }

    #[test]
    fn allow_list_matches_whole_labels() {
        assert!(within("avqs.mcafee.com", "mcafee.com"));
        assert!(within("mcafee.com", "mcafee.com"));
        assert!(!within("notmcafee.com", "mcafee.com"));
    }

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9);
    }
}
