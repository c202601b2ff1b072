//! Replay a run's conversations through block rules, as a stateless
//! firewall would apply them, and count what they stop: the check
//! `netsec contain --verify` prints, with no firewall needed.

use serde::Serialize;

use super::conversations::{ConversationKey, Conversations};
use super::plan::Plan;
use super::rule::RuleMatch;

/// What the rules did to the run's traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verification {
    /// Malicious conversations stopped, and their flows.
    pub malicious_blocked: (usize, u64),
    /// Malicious conversations that got through, listed.
    pub malicious_passed: Vec<ConversationKey>,
    /// Benign conversations stopped, and their flows.
    pub benign_blocked: (usize, u64),
    /// Benign conversations that passed, and their flows.
    pub benign_passed: (usize, u64),
}

impl Verification {
    /// Every malicious conversation was stopped.
    pub fn contains_incident(&self) -> bool {
        self.malicious_passed.is_empty()
    }
}

/// Replay `table` through `rules`; `is_malicious` says which conversations
/// are the incident.
pub fn replay(
    rules: &[RuleMatch],
    table: &Conversations,
    is_malicious: impl Fn(&ConversationKey) -> bool,
) -> Verification {
    let mut v = Verification::default();
    for c in table.sorted() {
        let blocked = rules.iter().any(|r| r.blocks(&c.key));
        match (is_malicious(&c.key), blocked) {
            (true, true) => {
                v.malicious_blocked.0 += 1;
                v.malicious_blocked.1 += c.flows;
            }
            (true, false) => v.malicious_passed.push(c.key),
            (false, true) => {
                v.benign_blocked.0 += 1;
                v.benign_blocked.1 += c.flows;
            }
            (false, false) => {
                v.benign_passed.0 += 1;
                v.benign_passed.1 += c.flows;
            }
        }
    }
    v
}

/// Replay `table` through a plan's rules, judging conversations as the plan
/// did (its findings' malicious conversations, domain-only ones excluded).
pub fn verify(plan: &Plan, table: &Conversations) -> Verification {
    let rules: Vec<RuleMatch> = plan.rules.iter().map(|r| r.matcher).collect();
    let malicious: std::collections::BTreeSet<ConversationKey> = plan
        .rules
        .iter()
        .flat_map(|r| r.stops.iter().map(|c| c.key))
        .chain(plan.uncovered.iter().copied())
        .collect();
    replay(&rules, table, |k| malicious.contains(k))
}
