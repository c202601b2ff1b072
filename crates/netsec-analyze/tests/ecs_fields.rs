#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Every log line loads into an ECS index without surprises: each field
//! outside `netsec.*` is an ECS 9.4 field with a value of its ECS type, and
//! `netsec.*` does not repeat what ECS fields already say.
//!
//! The field table below lists the ECS fields netsec writes, with their
//! types as the ECS 9.4.0 field reference (github.com/elastic/ecs,
//! `generated/csv/fields.csv`, Apache-2.0) defines them; a field netsec starts
//! writing must be added here after checking it there.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netsec_analyze::{Analysis, Input, Logs};
use netsec_model::{
    Analyzer, Comparison, EntityRole, EntityValue, Finding, FindingCategory, FindingSink,
    FlowRecord, Interests, Severity,
};
use serde_json::Value;

/// (field, ECS type, is an array).
const ECS_FIELDS: &[(&str, &str, bool)] = &[
    ("@timestamp", "date", false),
    ("message", "match_only_text", false),
    ("ecs.version", "keyword", false),
    ("event.id", "keyword", false),
    ("event.kind", "keyword", false),
    ("event.category", "keyword", true),
    ("event.type", "keyword", true),
    ("event.dataset", "keyword", false),
    ("event.start", "date", false),
    ("event.end", "date", false),
    ("event.duration", "long", false),
    ("event.reason", "keyword", false),
    ("event.severity", "long", false),
    ("source.ip", "ip", false),
    ("source.port", "long", false),
    ("source.mac", "keyword", false),
    ("source.packets", "long", false),
    ("source.bytes", "long", false),
    ("destination.ip", "ip", false),
    ("destination.port", "long", false),
    ("destination.mac", "keyword", false),
    ("destination.packets", "long", false),
    ("destination.bytes", "long", false),
    ("network.transport", "keyword", false),
    ("network.iana_number", "keyword", false),
    ("network.protocol", "keyword", false),
    ("network.community_id", "keyword", false),
    ("network.bytes", "long", false),
    ("network.packets", "long", false),
    ("network.vlan.id", "keyword", false),
    ("dns.id", "keyword", false),
    ("dns.type", "keyword", false),
    ("dns.op_code", "keyword", false),
    ("dns.response_code", "keyword", false),
    ("dns.header_flags", "keyword", true),
    ("dns.question.name", "keyword", false),
    ("dns.question.type", "keyword", false),
    ("dns.question.class", "keyword", false),
    ("dns.answers", "object", true),
    ("dns.answers.name", "keyword", false),
    ("dns.answers.type", "keyword", false),
    ("dns.answers.class", "keyword", false),
    ("dns.answers.ttl", "long", false),
    ("dns.answers.data", "keyword", false),
    ("dns.resolved_ip", "ip", true),
    ("http.version", "keyword", false),
    ("http.request.method", "keyword", false),
    ("http.response.status_code", "long", false),
    ("http.response.mime_type", "keyword", false),
    ("http.response.body.bytes", "long", false),
    ("http.request.body.bytes", "long", false),
    ("file.name", "keyword", false),
    ("file.size", "long", false),
    ("file.mime_type", "keyword", false),
    ("file.hash.sha256", "keyword", false),
    ("file.hash.md5", "keyword", false),
    ("url.original", "wildcard", false),
    ("url.domain", "keyword", false),
    ("url.port", "long", false),
    ("user_agent.original", "keyword", false),
    ("tls.version", "keyword", false),
    ("tls.version_protocol", "keyword", false),
    ("tls.cipher", "keyword", false),
    ("tls.next_protocol", "keyword", false),
    ("tls.client.server_name", "keyword", false),
    ("tls.client.supported_ciphers", "keyword", true),
    ("tls.client.ja3", "keyword", false),
    ("tls.server.ja3s", "keyword", false),
    ("tls.server.subject", "keyword", false),
    ("tls.server.issuer", "keyword", false),
    ("tls.server.not_before", "date", false),
    ("tls.server.not_after", "date", false),
    ("tls.server.hash.sha1", "keyword", false),
    ("tls.server.hash.sha256", "keyword", false),
    ("tls.server.x509.subject.common_name", "keyword", true),
    ("tls.server.x509.issuer.common_name", "keyword", true),
    ("tls.server.x509.serial_number", "keyword", false),
    ("tls.server.x509.not_before", "date", false),
    ("tls.server.x509.not_after", "date", false),
    ("tls.server.x509.alternative_names", "keyword", true),
    ("tls.server.x509.public_key_algorithm", "keyword", false),
    ("tls.server.x509.public_key_size", "long", false),
    ("tls.server.x509.public_key_curve", "keyword", false),
    ("tls.server.x509.signature_algorithm", "keyword", false),
    ("rule.name", "keyword", false),
    ("rule.category", "keyword", false),
    ("threat.framework", "keyword", false),
    ("threat.technique.id", "keyword", true),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Makes one finding with every part of the evidence, on the first flow.
struct OneFinding(bool);

impl Analyzer for OneFinding {
    fn name(&self) -> &'static str {
        "one_finding"
    }
    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            ..Interests::NONE
        }
    }
    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if self.0 {
            return;
        }
        self.0 = true;
        out.finding(
            Finding::new(
                "test_finding",
                "a test finding",
                FindingCategory::Reconnaissance,
                Severity::Medium,
                0.7,
                flow.time,
                "test",
            )
            .with_id(flow.client.ip)
            .with_mitre(["T1046"])
            .with_entity(EntityRole::Source, EntityValue::Host { ip: flow.client.ip })
            .with_entity(EntityRole::Target, EntityValue::Host { ip: flow.server.ip })
            .with_measurement("ports", 30.0, "ports", Comparison::GreaterOrEqual, 25.0)
            .with_flow(flow.reference())
            .with_fact("note", "test")
            .with_summary("30 ports (>= 25)"),
        );
    }
}

fn check_value(path: &str, ty: &str, v: &Value) -> Result<(), String> {
    let ok = match ty {
        "keyword" | "wildcard" | "match_only_text" => v.is_string(),
        "long" => v.is_i64() || v.is_u64(),
        "ip" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "date" => v
            .as_str()
            .is_some_and(|s| s.len() >= 20 && s.contains('T') && s.ends_with('Z')),
        "object" => v.is_object(),
        other => return Err(format!("{path}: type {other} not handled by the test")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path}: {v} is not an ECS {ty}"))
    }
}

/// Check every leaf under `v` at `path` against the table.
fn check(path: &str, v: &Value, errors: &mut BTreeSet<String>, seen: &mut BTreeSet<String>) {
    let Some(&(_, ty, array)) = ECS_FIELDS.iter().find(|(f, _, _)| *f == path) else {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if sub == "netsec" {
                        continue;
                    }
                    check(&sub, x, errors, seen);
                }
            }
            _ => {
                errors.insert(format!("{path}: not an ECS field (put it under netsec.*)"));
            }
        }
        return;
    };
    seen.insert(path.to_string());
    let items: Vec<&Value> = match (v, array) {
        (Value::Array(a), true) => a.iter().collect(),
        (Value::Array(_), false) => {
            errors.insert(format!("{path}: an array where ECS has one value"));
            return;
        }
        (other, _) => vec![other],
    };
    for item in items {
        if ty == "object" {
            // An array of objects (dns.answers): check each field in it.
            match item.as_object() {
                Some(m) => {
                    for (k, x) in m {
                        check(&format!("{path}.{k}"), x, errors, seen);
                    }
                }
                None => {
                    errors.insert(format!("{path}: {item} is not an object"));
                }
            }
        } else if let Err(e) = check_value(path, ty, item) {
            errors.insert(e);
        }
    }
}

/// Keys of `netsec.*` that would repeat an ECS field's fact.
const REPEATS: [&str; 9] = [
    "ctx",
    "community_id",
    "src",
    "dst",
    "ts",
    "transport",
    "server_name",
    "question",
    "cipher_suites",
];

fn find_repeats(path: &str, v: &Value, errors: &mut BTreeSet<String>) {
    if path == "netsec.finding.evidence.flows" {
        // References to the flows behind a finding, each whole.
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if REPEATS.contains(&k.as_str()) {
                    errors.insert(format!("{path}.{k}: repeats an ECS field"));
                }
                find_repeats(&format!("{path}.{k}"), x, errors);
            }
        }
        Value::Array(a) => {
            for x in a {
                find_repeats(path, x, errors);
            }
        }
        _ => {}
    }
}

#[test]
fn every_log_field_is_ecs_or_under_netsec() {
    let dir = tempfile::tempdir().unwrap();
    let summary = Analysis::new()
        .inputs(
            [
                "testdata/sample.pcap",
                "testdata/fragments.pcap",
                "testdata/suricata-verify",
                "testdata/tls",
                "testdata/http-files",
            ]
            .map(|p| Input::path(root().join(p))),
        )
        .threads(2)
        .logs(Logs::EcsDir(dir.path().to_path_buf()))
        .event_enricher(std::sync::Arc::new(netsec_tls::enrich))
        .analyzer(Box::new(OneFinding(false)))
        .run()
        .unwrap();
    assert_eq!(summary.findings.total, 1);
    let mut errors = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let doc: Value = serde_json::from_str(line).unwrap();
            check("", &doc, &mut errors, &mut seen);
            find_repeats("netsec", &doc["netsec"], &mut errors);
            assert_eq!(doc["ecs"]["version"], "9.4.0");
            kinds.insert(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(errors.is_empty(), "{} problems:\n{}", errors.len(), {
        let v: Vec<String> = errors.into_iter().collect();
        v.join("\n")
    });
    // The captures exercise every kind of log and most of the table.
    for kind in [
        "flows.jsonl",
        "dns.jsonl",
        "http.jsonl",
        "tls.jsonl",
        "ssh.jsonl",
        "smb.jsonl",
        "dhcp.jsonl",
        "ntp.jsonl",
        "arp.jsonl",
        "files.jsonl",
        "findings.jsonl",
    ] {
        assert!(kinds.contains(kind), "no {kind} written");
    }
    for field in [
        "url.port",
        "dns.answers.ttl",
        "tls.client.server_name",
        "threat.technique.id",
        "event.id",
        "source.mac",
        "network.vlan.id",
        "tls.client.ja3",
        "tls.server.ja3s",
        "tls.server.x509.serial_number",
        "tls.server.x509.alternative_names",
        "tls.server.hash.sha256",
        "file.hash.sha256",
        "file.hash.md5",
        "file.size",
        "file.name",
        "file.mime_type",
        "http.request.body.bytes",
        "http.response.body.bytes",
    ] {
        assert!(seen.contains(field), "{field} never written");
    }
}
