//! `classification.config`: classtype names, descriptions and priorities.
//!
//! The built-in table is ET Open's classification.config (BSD licence, the
//! classtypes Suricata 7 ships but one, `inappropriate-content`), so
//! `classtype:trojan-activity;` has priority 1 without any file.

use std::collections::BTreeMap;

/// One classtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Short name (`trojan-activity`).
    pub name: String,
    /// Description (`A Network Trojan was detected`).
    pub description: String,
    /// Priority, 1 (highest) to 4.
    pub priority: u8,
}

/// Classtypes by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifications {
    by_name: BTreeMap<String, Classification>,
}

/// ET Open's classification.config (snapshot of 2024-04-19).
const BUILTIN: &str = include_str!("classification.config");

impl Default for Classifications {
    fn default() -> Self {
        let mut table = Classifications {
            by_name: BTreeMap::new(),
        };
        // the built-in text is ours and well formed; a bad line would just be skipped
        let _ = table.add_text(BUILTIN);
        table
    }
}

/// A line of a classification file that is not `config classification: name,description,priority`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: not `config classification: name,description,priority`: {text}")]
pub struct ClassificationError {
    /// 1-based line.
    pub line: usize,
    /// The line.
    pub text: String,
}

impl Classifications {
    /// Add (or replace) the classtypes of a classification.config text.
    /// Bad lines are reported; the good ones are kept.
    pub fn add_text(&mut self, text: &str) -> Vec<ClassificationError> {
        let mut errors = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Some(class) => {
                    self.by_name.insert(class.name.clone(), class);
                }
                None => errors.push(ClassificationError {
                    line: index + 1,
                    text: line.to_string(),
                }),
            }
        }
        errors
    }

    /// The classtype of this name.
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.by_name.get(name)
    }

    /// Number of classtypes.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn parse_line(line: &str) -> Option<Classification> {
    let rest = line.strip_prefix("config")?.trim_start();
    let rest = rest.strip_prefix("classification")?.trim_start();
    let rest = rest.strip_prefix(':')?;
    let mut parts = rest.splitn(3, ',');
    let name = parts.next()?.trim();
    let description = parts.next()?.trim();
    let priority = parts.next()?.trim().parse::<u8>().ok()?;
    if name.is_empty() {
        return None;
    }
    Some(Classification {
        name: name.to_string(),
        description: description.to_string(),
        priority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_suricatas_classtypes() {
        let table = Classifications::default();
        assert!(table.len() >= 40);
        assert_eq!(table.get("trojan-activity").map(|c| c.priority), Some(1));
        assert_eq!(table.get("bad-unknown").map(|c| c.priority), Some(2));
        assert_eq!(table.get("not-suspicious").map(|c| c.priority), Some(3));
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let mut table = Classifications::default();
        let errors = table.add_text(
            "# c\nconfig classification: mine,My class,4\nconfig classification: broken\n",
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert_eq!(table.get("mine").map(|c| c.priority), Some(4));
    }
}
