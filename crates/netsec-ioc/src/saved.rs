//! Findings saved by `netsec analyze --out DIR` (`DIR/findings.jsonl`, one
//! ECS finding document a line), or plain serialised [`Finding`]s a line.

use std::path::Path;

use netsec_model::{Confidence, Entity, Evidence, Finding, FindingCategory, Severity, TimeRange};
use serde::Deserialize;
use serde_json::Value;

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

/// One line: an ECS finding document or a serialised [`Finding`].
pub fn parse_finding(line: &str) -> Result<Finding, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if value.get("netsec").is_some() {
        return from_ecs(&value);
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct NetsecPart {
    severity: Severity,
    confidence: Confidence,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    evidence: EvidencePart,
    #[serde(default)]
    producer: String,
}

/// The evidence as the ECS document keeps it: the summary is `event.reason`
/// and empty lists are left out.
#[derive(Deserialize, Default)]
struct EvidencePart {
    #[serde(default)]
    measurements: Vec<netsec_model::Measurement>,
    #[serde(default)]
    flows: Vec<netsec_model::FlowRef>,
    #[serde(default)]
    flows_total: Option<u64>,
    #[serde(default)]
    packets: Vec<u64>,
    #[serde(default)]
    facts: Vec<(String, String)>,
}

fn from_ecs(doc: &Value) -> Result<Finding, String> {
    let get = |path: &[&str]| -> Option<&Value> {
        let mut v = doc;
        for p in path {
            v = v.get(*p)?;
        }
        Some(v)
    };
    let text = |path: &[&str]| get(path).and_then(Value::as_str).map(str::to_string);
    let part: NetsecPart = get(&["netsec", "finding"])
        .cloned()
        .ok_or_else(|| "no netsec.finding".to_string())
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("bad netsec.finding: {e}")))?;
    let kind = text(&["rule", "name"]).ok_or("no rule.name")?;
    let category: FindingCategory = get(&["rule", "category"])
        .cloned()
        .ok_or("no rule.category")
        .and_then(|v| serde_json::from_value(v).map_err(|_| "bad rule.category"))
        .map_err(String::from)?;
    let time = |field: &str| {
        get(&["event", field])
            .cloned()
            .or_else(|| get(&["@timestamp"]).cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or(format!("no event.{field}"))
    };
    let time = TimeRange {
        start: time("start")?,
        end: time("end")?,
    };
    let mitre = get(&["threat", "technique", "id"])
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let evidence = Evidence {
        summary: text(&["event", "reason"]).unwrap_or_default(),
        measurements: part.evidence.measurements,
        flows: part.evidence.flows,
        flows_total: part.evidence.flows_total,
        packets: part.evidence.packets,
        facts: part.evidence.facts,
    };
    Ok(Finding {
        id: text(&["event", "id"]).unwrap_or_default(),
        kind,
        title: text(&["message"]).unwrap_or_default(),
        category,
        severity: part.severity,
        confidence: part.confidence,
        mitre,
        entities: part.entities,
        time,
        evidence,
        producer: part.producer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::ecs::FindingDocument;
    use netsec_model::{EntityRole, EntityValue, Timestamp};

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
