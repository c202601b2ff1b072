//! The signature engine: Suricata / ET Open rules.
//!
//! - [`parse`]: the pure rule parser (fuzzed under `fuzz/`), text to [`Rule`];
//!   every rule it cannot run fully is rejected whole with the keyword and
//!   column ([`RuleError`]), never half-run.
//! - [`vars`]: `$HOME_NET`, `$HTTP_PORTS` and the other variables, with
//!   suricata.yaml's defaults.
//! - [`classification`]: classtypes and their priorities.
//! - [`ruleset`]: loading files and directories with a report per file
//!   (what `netsec rules check` prints).
//!
//! `docs/SIGNATURES.md` lists the supported keywords and the ones behind the
//! ET Open rules that are skipped.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use netsec_detect::signature::{RuleConfig, RuleSet};
//!
//! let mut rules = RuleSet::new(RuleConfig::default());
//! rules.add_text(
//!     "alert http $HOME_NET any -> $EXTERNAL_NET any (msg:\"curl\"; \
//!      http.user_agent; content:\"curl/\"; startswith; classtype:policy-violation; sid:1000001; rev:1;)\n\
//!      alert tcp any any -> any any (msg:\"needs xbits\"; xbits:set,a,track ip_src; sid:1000002;)\n",
//!     Path::new("local.rules"),
//! );
//! assert_eq!(rules.loaded(), 1);
//! assert_eq!(rules.files[0].skipped[0].to_string(), "line 2:50 sid 1000002: unsupported keyword `xbits`");
//! assert_eq!(rules.rules[0].rule.priority, Some(1));
//! ```

mod buffers;
pub mod classification;
pub mod engine;
mod matcher;
pub mod parse;
pub mod rule;
pub mod ruleset;
pub mod trigger;
pub mod vars;

pub use classification::{Classification, Classifications};
pub use engine::{CompiledRules, SignatureInspector, ThresholdCounters};
pub use parse::{parse_rule, ParseContext, RuleError, RuleErrorKind};
pub use rule::Rule;
pub use ruleset::{
    FileReport, LoadedRule, RuleConfig, RuleConfigError, RuleSet, SkipReason, SkippedRule,
};
pub use vars::RuleVars;
