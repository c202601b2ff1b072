//! Containment for firewalls: from a run's findings and flows, the smallest
//! set of block rules that stops every malicious conversation while
//! stopping as few benign ones as possible, rendered for real firewalls.
//!
//! 1. [`Conversations`], an analyser, folds the run's flows into
//!    conversations (client, server, transport, server port), bounded.
//! 2. [`threats`] reads the findings: which side is hostile, which
//!    conversations are the incident ([`judge`]).
//! 3. [`plan`] builds candidate rules (each hostile host, its services and
//!    peers, single conversations where broader rules would cut benign
//!    traffic), chooses the cheapest cover ([`cover`]: exact when small,
//!    greedy with its H(d) bound otherwise), widens host rules into prefixes
//!    where that blocks no benign conversation, and assesses each rule's
//!    risk against the [`Assets`].
//! 4. [`render`] writes the plan for a [`Target`]; [`verify`] replays the
//!    conversations through the rules.

mod assets;
mod conversations;
pub mod cover;
mod plan;
mod render;
mod rule;
mod threats;
mod verify;

pub use assets::{Asset, Assets, AssetsError, Criticality, Service};
pub use conversations::{Conversation, ConversationKey, Conversations, DEFAULT_CAPACITY};
pub use plan::{
    plan, Alternative, AssetImpact, DomainBlock, MacBlock, Plan, PlanConfig, PlannedRule, RuleRisk,
    Totals,
};
pub use render::{render, RenderOptions, Rendered, Target, TargetParseError};
pub use rule::{Family, RuleMatch};
pub use threats::{judge, threats, Judgement, SkippedFinding, Threat, ThreatConfig, ThreatShape};
pub use verify::{replay, verify, Verification};
