//! CSV: one indicator a row with its context (RFC 4180 quoting; lists
//! joined by `;`).

use crate::indicator::{Indicator, IndicatorSet};

/// The header row's columns.
pub const CSV_COLUMNS: [&str; 17] = [
    "type",
    "value",
    "first_seen",
    "last_seen",
    "sightings",
    "confidence",
    "kill_chain_phases",
    "mitre",
    "tags",
    "internal_hosts",
    "bytes",
    "finding_ids",
    "related",
    "named_by_finding",
    "file_name",
    "file_size",
    "file_url",
];

/// The set as CSV text, header first.
pub fn to_csv(set: &IndicatorSet) -> String {
    let mut out = String::new();
    out.push_str(&CSV_COLUMNS.join(","));
    out.push_str("\r\n");
    for i in &set.indicators {
        let row = row(i);
        let fields: Vec<String> = row.iter().map(|f| quote(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn row(i: &Indicator) -> Vec<String> {
    let join = |items: Vec<String>| items.join(";");
    vec![
        i.kind.name().to_string(),
        i.value.clone(),
        i.first_seen.to_string(),
        i.last_seen.to_string(),
        i.sightings.to_string(),
        i.confidence.map(|c| format!("{c:.2}")).unwrap_or_default(),
        join(
            i.kill_chain_phases
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        ),
        join(i.mitre.iter().cloned().collect()),
        join(i.tags.iter().cloned().collect()),
        join(i.internal_hosts.iter().map(|h| h.to_string()).collect()),
        i.bytes.to_string(),
        join(i.finding_ids.iter().cloned().collect()),
        join(i.related.iter().cloned().collect()),
        i.named_by_finding.to_string(),
        i.file
            .as_ref()
            .and_then(|f| f.name.clone())
            .unwrap_or_default(),
        i.file
            .as_ref()
            .map(|f| f.size.to_string())
            .unwrap_or_default(),
        i.file
            .as_ref()
            .and_then(|f| f.url.clone())
            .unwrap_or_default(),
    ]
}

/// A field quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run it
/// as a formula (OWASP CSV injection).
fn quote(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::IndicatorKind;
    use netsec_model::Timestamp;

    #[test]
    fn rows_quote_what_needs_quoting() {
        let mut ua = Indicator::new(
            IndicatorKind::UserAgent,
            "Mozilla/5.0 (X11, \"Linux\")",
            Timestamp::ZERO,
        );
        ua.tags.insert("http-user-agent".into());
        let formula = Indicator::new(IndicatorKind::Url, "=cmd|' /C calc'!A0", Timestamp::ZERO);
        let set = IndicatorSet {
            indicators: vec![ua, formula],
            ..IndicatorSet::default()
        };
        let text = to_csv(&set);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
        assert!(lines[1].starts_with(
            "user-agent,\"Mozilla/5.0 (X11, \"\"Linux\"\")\",1970-01-01T00:00:00.000000000Z"
        ));
        assert!(lines[2].starts_with("url,'=cmd|' /C calc'!A0,"));
        assert_eq!(lines.len(), 4);
    }
}
