//! Findings saved by `netsec analyze --out DIR` (`DIR/findings.jsonl`, one
//! ECS finding document a line), or plain serialised [`Finding`]s a line.

use std::path::Path;

use netsec_model::ecs::FindingDocument;
use netsec_model::Finding;

use crate::IocError;

/// Read every finding of a findings file. A line that is neither form is
/// an error naming the file and line.
pub fn read_findings(path: &Path) -> Result<Vec<Finding>, IocError> {
    let text = std::fs::read_to_string(path).map_err(|source| IocError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let finding = parse_finding(line).map_err(|reason| IocError::Finding {
            path: path.to_path_buf(),
            line: n + 1,
            reason,
        })?;
        findings.push(finding);
    }
    Ok(findings)
}

/// One line: an ECS finding document or a serialised [`Finding`]
/// ([`FindingDocument::parse`]).
pub fn parse_finding(line: &str) -> Result<Finding, String> {
    FindingDocument::parse(line).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{EntityRole, EntityValue, FindingCategory, Severity, TimeRange, Timestamp};

    #[test]
    fn an_ecs_finding_document_reads_back_as_the_finding() {
        let finding = Finding::new(
            "ssh_bruteforce",
            "SSH brute force",
            FindingCategory::CredentialAccess,
            Severity::High,
            0.9,
            TimeRange {
                start: Timestamp::from_secs_nanos(1_700_000_000, 5),
                end: Timestamp::from_secs_nanos(1_700_000_060, 0),
            },
            "netsec-detect/bruteforce",
        )
        .with_id("203.0.113.66->10.0.0.10:22")
        .with_mitre(["T1110", "T1110.001"])
        .with_entity(
            EntityRole::Source,
            EntityValue::Host {
                ip: std::net::IpAddr::from([203, 0, 113, 66]),
            },
        )
        .with_summary("24 short sessions")
        .with_fact("possible_success", "true");
        let line = serde_json::to_string(&FindingDocument(&finding)).unwrap_or_default();
        assert_eq!(parse_finding(&line), Ok(finding.clone()));
        let plain = serde_json::to_string(&finding).unwrap_or_default();
        assert_eq!(parse_finding(&plain), Ok(finding));
        assert!(parse_finding("{\"kind\": 3}").is_err());
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;
    use netsec_model::{FindingCategory, Severity, TimeRange};

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("netsec-ioc-saved-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("findings.jsonl");
        let good = serde_json::to_string(&Finding::new(
            "beacon",
            "Beacon",
            FindingCategory::CommandAndControl,
            Severity::High,
            0.9,
            TimeRange::at(netsec_model::Timestamp::ZERO),
            "t",
        ))
        .unwrap_or_default();
        let _ = std::fs::write(&path, format!("{good}\n\n{good}\nnot json\n"));
        let message = read_findings(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("findings.jsonl:4: not a finding"),
            "{message}"
        );
        let _ = std::fs::write(&path, format!("{good}\n{good}\n"));
        assert_eq!(read_findings(&path).map(|f| f.len()).ok(), Some(2));
        let missing = read_findings(&dir.join("absent.jsonl"))
            .err()
            .map(|e| e.to_string());
        assert!(missing.is_some_and(|m| m.starts_with("reading findings from")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
