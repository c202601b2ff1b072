//! The findings of a run: one per activity (its latest version, by
//! [`Finding::identity`]), the most severe kept when there are more than the
//! store holds, every one counted.

use std::collections::HashSet;

use netsec_model::{Finding, Severity};

use crate::summary::FindingSummary;

type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// Findings kept by default (the rest are counted).
pub const DEFAULT_FINDINGS_KEPT: usize = 20_000;
/// Distinct activities remembered (as 64-bit hashes) to count each once
/// after its finding was dropped from a full store.
const SEEN_CAPACITY: usize = 1 << 20;

/// Latest version of each finding.
#[derive(Debug, Clone)]
pub struct FindingStore {
    capacity: usize,
    kept: HashMap<String, Finding>,
    seen: HashSet<u64, ahash::RandomState>,
    by_severity: [u64; 5],
    emissions: u64,
    not_kept: u64,
}

impl FindingStore {
    /// A store keeping at most `capacity` findings.
    pub fn new(capacity: usize) -> Self {
        FindingStore {
            capacity: capacity.max(1),
            kept: HashMap::default(),
            seen: HashSet::default(),
            by_severity: [0; 5],
            emissions: 0,
            not_kept: 0,
        }
    }

    /// Take a finding (new, or a new version of one already seen).
    pub fn add(&mut self, f: Finding) {
        self.emissions += 1;
        let identity = f.identity();
        if let Some(old) = self.kept.get_mut(&identity) {
            if old.severity != f.severity {
                self.by_severity[old.severity as usize] =
                    self.by_severity[old.severity as usize].saturating_sub(1);
                self.by_severity[f.severity as usize] += 1;
            }
            *old = f;
            return;
        }
        let first_time = if self.seen.len() < SEEN_CAPACITY {
            self.seen.insert(stable_hash(&identity))
        } else {
            !self.seen.contains(&stable_hash(&identity))
        };
        if first_time {
            self.by_severity[f.severity as usize] += 1;
        }
        if self.kept.len() < self.capacity {
            self.kept.insert(identity, f);
            return;
        }
        // Full: keep the more severe.
        let least = self
            .kept
            .iter()
            .min_by(|a, b| {
                a.1.severity
                    .cmp(&b.1.severity)
                    .then(b.1.time.start.cmp(&a.1.time.start))
                    .then(b.0.cmp(a.0))
            })
            .map(|(k, v)| (k.clone(), v.severity));
        match least {
            Some((key, severity)) if severity < f.severity => {
                self.kept.remove(&key);
                self.kept.insert(identity, f);
                self.not_kept += 1;
            }
            _ => self.not_kept += u64::from(first_time),
        }
    }

    /// Every finding kept, most severe first, then by time and identity.
    pub fn sorted(&self) -> Vec<&Finding> {
        let mut v: Vec<(&String, &Finding)> = self.kept.iter().collect();
        v.sort_by(|a, b| {
            b.1.severity
                .cmp(&a.1.severity)
                .then(a.1.time.start.cmp(&b.1.time.start))
                .then(a.0.cmp(b.0))
        });
        v.into_iter().map(|(_, f)| f).collect()
    }

    /// The summary's view: counts and the `top` most severe.
    pub fn summary(&self, top: usize) -> FindingSummary {
        FindingSummary {
            total: self.by_severity.iter().sum(),
            by_severity: Severity::ALL
                .iter()
                .map(|s| (s.name().to_string(), self.by_severity[*s as usize]))
                .collect(),
            top: self.sorted().into_iter().take(top).cloned().collect(),
            not_kept: self.not_kept,
            versions: self.emissions,
        }
    }
}

fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    netsec_model::flow::mix64(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{FindingCategory, TimeRange, Timestamp};

    fn finding(kind: &str, key: u32, severity: Severity) -> Finding {
        Finding::new(
            kind,
            "t",
            FindingCategory::Reconnaissance,
            severity,
            0.5,
            TimeRange::at(Timestamp::from_nanos(i64::from(key))),
            "test",
        )
        .with_id(key)
    }

    #[test]
    fn updates_replace_and_the_most_severe_are_kept() {
        let mut store = FindingStore::new(2);
        store.add(finding("scan", 1, Severity::Low));
        store.add(finding("scan", 1, Severity::Medium)); // update of the same activity
        store.add(finding("scan", 2, Severity::Low));
        store.add(finding("flood", 3, Severity::High)); // evicts the low one
        store.add(finding("scan", 4, Severity::Info)); // not kept
        let s = store.summary(10);
        assert_eq!(s.total, 4);
        assert_eq!(s.by_severity["medium"], 1);
        assert_eq!(s.by_severity["low"], 1);
        assert_eq!(s.by_severity["info"], 1);
        assert_eq!(s.not_kept, 2);
        let kinds: Vec<&str> = s.top.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, ["flood", "scan"]);
        assert_eq!(s.top[1].severity, Severity::Medium);
        assert_eq!(s.versions, 5);
    }
}
