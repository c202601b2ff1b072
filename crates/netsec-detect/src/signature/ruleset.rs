//! Loading rules from files and directories: every rule parsed or skipped
//! with its reason, per file, so `netsec rules check` can say exactly what
//! was not loaded and why.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::classification::Classifications;
use super::parse::{parse_rule, ParseContext, RuleError};
use super::rule::Rule;
use super::vars::RuleVars;

/// Longest logical rule (continuation lines joined): 64 KiB. ET's longest is
/// under 8 KiB; a longer one is skipped as a syntax error.
const MAX_RULE_LEN: usize = 64 * 1024;

/// A rule and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// The rule.
    pub rule: Rule,
    /// When it is evaluated.
    pub trigger: super::trigger::Trigger,
    /// Index of its file in [`RuleSet::files`].
    pub file: usize,
    /// 1-based line where the rule starts.
    pub line: usize,
}

/// A rule that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRule {
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column of the error on that line.
    pub column: usize,
    /// The rule's sid, when it could be read.
    pub sid: Option<u32>,
    /// Why.
    pub reason: SkipReason,
}

/// Why a rule was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// It is Suricata but uses something netsec does not run.
    Unsupported(RuleError),
    /// It is not a valid rule.
    Invalid(RuleError),
    /// An earlier rule has the same gid:sid (the first is kept).
    DuplicateSid,
}

impl std::fmt::Display for SkippedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}:{}", self.line, self.column)?;
        if let Some(sid) = self.sid {
            write!(f, " sid {sid}")?;
        }
        match &self.reason {
            SkipReason::Unsupported(e) | SkipReason::Invalid(e) => write!(f, ": {}", e.kind),
            SkipReason::DuplicateSid => write!(f, ": duplicate sid (the first one is kept)"),
        }
    }
}

/// What one file gave.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file (or `<text>` for rules given as text).
    pub path: PathBuf,
    /// Rules loaded.
    pub loaded: usize,
    /// Commented-out rules (`#alert …`), not counted as skipped.
    pub disabled: usize,
    /// Rules skipped, with their reasons.
    pub skipped: Vec<SkippedRule>,
    /// The file could not be read.
    pub read_error: Option<String>,
}

impl FileReport {
    /// Rules skipped because netsec does not run something they use.
    pub fn unsupported(&self) -> usize {
        self.skipped
            .iter()
            .filter(|s| matches!(s.reason, SkipReason::Unsupported(_)))
            .count()
    }
}

/// The settings rules are parsed with.
#[derive(Debug, Clone, Default)]
pub struct RuleConfig {
    /// Address and port variables.
    pub vars: RuleVars,
    /// Classtypes.
    pub classifications: Classifications,
}

/// A setting of [`RuleConfig`] that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum RuleConfigError {
    /// `--var` not `NAME=VALUE`, or a value that does not parse.
    #[error("variable `{text}`: {reason}")]
    Variable {
        /// What was given.
        text: String,
        /// Why it is wrong.
        reason: String,
    },
    /// The classification file could not be read or has bad lines.
    #[error("{path}: {reason}")]
    Classification {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl RuleConfig {
    /// Set a variable from `NAME=VALUE`: a port group when the name ends in
    /// `_PORTS` (as suricata.yaml's `port-groups`), else an address group.
    pub fn set_var(&mut self, assignment: &str) -> Result<(), RuleConfigError> {
        let err = |reason: String| RuleConfigError::Variable {
            text: assignment.to_string(),
            reason,
        };
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| err("expected NAME=VALUE".into()))?;
        let name = name.trim().trim_start_matches('$').to_string();
        let value = value.trim().to_string();
        if name.is_empty() {
            return Err(err("empty name".into()));
        }
        let mut vars = self.vars.clone();
        if name.ends_with("_PORTS") || name.ends_with("_PORT") {
            vars.ports.insert(name, value.clone());
            vars.port(&value).map_err(|e| err(e.to_string()))?;
        } else {
            vars.addresses.insert(name, value.clone());
            vars.address(&value).map_err(|e| err(e.to_string()))?;
        }
        self.vars = vars;
        Ok(())
    }

    /// Add the classtypes of a classification.config file.
    pub fn load_classification(&mut self, path: &Path) -> Result<(), RuleConfigError> {
        let err = |reason: String| RuleConfigError::Classification {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let errors = self.classifications.add_text(&text);
        match errors.first() {
            Some(first) => Err(err(format!("{first} ({} bad lines)", errors.len()))),
            None => Ok(()),
        }
    }
}

/// Rules loaded from files, with a report per file.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules, in load order.
    pub rules: Vec<LoadedRule>,
    /// One report per file, in load order.
    pub files: Vec<FileReport>,
    /// The settings the rules were parsed with.
    pub config: RuleConfig,
    seen: HashSet<(u32, u32)>,
}

impl RuleSet {
    /// An empty set parsing with `config`.
    pub fn new(config: RuleConfig) -> Self {
        RuleSet {
            config,
            ..RuleSet::default()
        }
    }

    /// Load a `.rules` file, or every `*.rules` file of a directory (sorted
    /// by name). A file that cannot be read is reported in its
    /// [`FileReport::read_error`]; loading goes on with the others.
    pub fn load_path(&mut self, path: &Path) {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "rules"))
                    .collect(),
                Err(e) => {
                    self.files.push(FileReport {
                        path: path.to_path_buf(),
                        read_error: Some(e.to_string()),
                        ..FileReport::default()
                    });
                    return;
                }
            };
            files.sort();
            for file in files {
                self.load_file(&file);
            }
        } else {
            self.load_file(path);
        }
    }

    fn load_file(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => self.add_text(&String::from_utf8_lossy(&bytes), path),
            Err(e) => self.files.push(FileReport {
                path: path.to_path_buf(),
                read_error: Some(e.to_string()),
                ..FileReport::default()
            }),
        }
    }

    /// Load the rules of a text, reported under `path`.
    pub fn add_text(&mut self, text: &str, path: &Path) {
        let file = self.files.len();
        let mut report = FileReport {
            path: path.to_path_buf(),
            ..FileReport::default()
        };
        let context = ParseContext {
            vars: &self.config.vars,
            classifications: &self.config.classifications,
        };
        for logical in LogicalLines::new(text) {
            let trimmed = logical.text.trim_start();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('#') {
                if looks_like_rule(rest) {
                    report.disabled += 1;
                }
                continue;
            }
            if logical.text.len() > MAX_RULE_LEN {
                report.skipped.push(SkippedRule {
                    line: logical.first_line,
                    column: 1,
                    sid: find_sid(&logical.text),
                    reason: SkipReason::Invalid(RuleError {
                        column: 1,
                        kind: super::parse::RuleErrorKind::Syntax("rule longer than 64 KiB".into()),
                    }),
                });
                continue;
            }
            let parsed =
                parse_rule(&logical.text, context).and_then(
                    |rule| match super::trigger::trigger_of(&rule) {
                        Ok(trigger) => Ok((rule, trigger)),
                        Err((keyword, reason)) => Err(RuleError {
                            column: 1,
                            kind: super::parse::RuleErrorKind::Unsupported { keyword, reason },
                        }),
                    },
                );
            match parsed {
                Ok((rule, trigger)) => {
                    if self.seen.insert((rule.gid, rule.sid)) {
                        self.rules.push(LoadedRule {
                            rule,
                            trigger,
                            file,
                            line: logical.first_line,
                        });
                        report.loaded += 1;
                    } else {
                        report.skipped.push(SkippedRule {
                            line: logical.first_line,
                            column: 1,
                            sid: Some(rule.sid),
                            reason: SkipReason::DuplicateSid,
                        });
                    }
                }
                Err(error) => {
                    let (line, column) = logical.position(error.column);
                    report.skipped.push(SkippedRule {
                        line,
                        column,
                        sid: find_sid(&logical.text),
                        reason: if error.is_unsupported() {
                            SkipReason::Unsupported(error)
                        } else {
                            SkipReason::Invalid(error)
                        },
                    });
                }
            }
        }
        self.files.push(report);
    }

    /// Rules loaded in every file.
    pub fn loaded(&self) -> usize {
        self.rules.len()
    }

    /// Rules skipped as unsupported in every file.
    pub fn unsupported(&self) -> usize {
        self.files.iter().map(FileReport::unsupported).sum()
    }

    /// Rules skipped in every file.
    pub fn skipped(&self) -> usize {
        self.files.iter().map(|f| f.skipped.len()).sum()
    }

    /// How many rules each unsupported keyword kept out, most first.
    pub fn unsupported_keywords(&self) -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for skipped in self.files.iter().flat_map(|f| &f.skipped) {
            if let SkipReason::Unsupported(e) = &skipped.reason {
                if let Some(k) = e.unsupported_keyword() {
                    *counts.entry(k.to_string()).or_default() += 1;
                }
            }
        }
        let mut list: Vec<(String, usize)> = counts.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list
    }
}

/// Whether a commented-out line is a disabled rule (`#alert …`) rather than prose.
fn looks_like_rule(text: &str) -> bool {
    let word = text.split_whitespace().next().unwrap_or_default();
    matches!(
        word,
        "alert" | "pass" | "drop" | "reject" | "rejectsrc" | "rejectdst" | "rejectboth"
    ) && text.contains("sid:")
}

/// The `sid:N` of a rule text, if one can be read.
fn find_sid(text: &str) -> Option<u32> {
    let mut rest = text;
    while let Some(i) = rest.find("sid") {
        let before = rest.get(..i).and_then(|b| b.chars().last());
        let after = rest.get(i + 3..).unwrap_or_default().trim_start();
        if matches!(before, None | Some(';' | ' ' | '(' | '\t')) {
            if let Some(value) = after.strip_prefix(':') {
                let digits: String = value
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if let Ok(n) = digits.parse() {
                    return Some(n);
                }
            }
        }
        rest = rest.get(i + 3..).unwrap_or_default();
    }
    None
}

/// A rule as one string, joined from lines ending in `\`, with the map
/// back to lines and columns.
struct LogicalLine {
    text: String,
    first_line: usize,
    /// (offset in `text` where a physical line starts, its 1-based number)
    starts: Vec<(usize, usize)>,
}

impl LogicalLine {
    /// 1-based column in `text` to (line, column) in the file.
    fn position(&self, column: usize) -> (usize, usize) {
        let offset = column.saturating_sub(1);
        let (start, line) = self
            .starts
            .iter()
            .rev()
            .find(|(s, _)| *s <= offset)
            .copied()
            .unwrap_or((0, self.first_line));
        (line, offset - start + 1)
    }
}

struct LogicalLines<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
}

impl<'a> LogicalLines<'a> {
    fn new(text: &'a str) -> Self {
        LogicalLines {
            lines: text.lines().enumerate(),
        }
    }
}

impl Iterator for LogicalLines<'_> {
    type Item = LogicalLine;
    fn next(&mut self) -> Option<LogicalLine> {
        let (index, first) = self.lines.next()?;
        let mut logical = LogicalLine {
            text: String::new(),
            first_line: index + 1,
            starts: vec![(0, index + 1)],
        };
        let mut current = first;
        loop {
            let line = current.strip_suffix('\r').unwrap_or(current);
            match line.strip_suffix('\\') {
                Some(head) if logical.text.len() <= MAX_RULE_LEN => {
                    logical.text.push_str(head);
                    match self.lines.next() {
                        Some((i, next)) => {
                            logical.starts.push((logical.text.len(), i + 1));
                            current = next;
                        }
                        None => break,
                    }
                }
                _ => {
                    logical.text.push_str(line);
                    break;
                }
            }
        }
        Some(logical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_report_counts_loaded_disabled_and_skipped_with_positions() {
        let text = "# comment\n\
            alert tcp any any -> any 80 (msg:\"a\"; content:\"x\"; sid:1; rev:1;)\n\
            #alert tcp any any -> any 80 (msg:\"b\"; sid:2; rev:1;)\n\
            alert tcp any any -> any 80 (msg:\"c\"; \\\n  xbits:set,a,track ip_src; sid:3;)\n\
            alert tcp any any -> any 80 (msg:\"d\"; content:\"|zz|\"; sid:4;)\n\
            alert tcp any any -> any 80 (msg:\"dup\"; sid:1;)\n";
        let mut set = RuleSet::default();
        set.add_text(text, Path::new("t.rules"));
        let report = &set.files[0];
        assert_eq!(report.loaded, 1);
        assert_eq!(report.disabled, 1);
        assert_eq!(report.skipped.len(), 3);
        assert_eq!(report.skipped[0].line, 5);
        assert_eq!(report.skipped[0].column, 3);
        assert_eq!(report.skipped[0].sid, Some(3));
        assert_eq!(
            report.skipped[0].to_string(),
            "line 5:3 sid 3: unsupported keyword `xbits`"
        );
        assert!(matches!(report.skipped[1].reason, SkipReason::Invalid(_)));
        assert_eq!(report.skipped[1].line, 6);
        assert_eq!(report.skipped[2].reason, SkipReason::DuplicateSid);
        assert_eq!(set.unsupported_keywords(), vec![("xbits".to_string(), 1)]);
    }

    #[test]
    fn sid_is_found_in_broken_rules() {
        assert_eq!(find_sid("alert (msg:\"sid:no\"; sid: 42;"), Some(42));
        assert_eq!(find_sid("alert (msg:\"x\"; nosid:4;"), None);
    }
}
