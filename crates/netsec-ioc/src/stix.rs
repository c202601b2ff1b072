//! STIX 2.1 bundles (OASIS, csprd/cs02): the producer's `identity`, per
//! indicator its cyber-observable(s), an `indicator` with a STIX pattern,
//! `observed-data` and a `sighting`; an `attack-pattern` per ATT&CK
//! technique with its `mitre-attack` external reference; a `campaign` for
//! the run; `indicates`, `uses` and `related-to` relationships.
//!
//! Ids are UUIDv5: observables in the namespace STIX §2.9 fixes, over their
//! id-contributing properties; every other object in netsec's namespace over
//! what it describes. Timestamps come from the capture. The same input
//! gives the same bundle, byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use netsec_detect::timeline::{technique, KillChainPhase};
use netsec_model::{Timestamp, Transport};
use serde_json::{json, Map, Value};

use crate::indicator::{Indicator, IndicatorKind, IndicatorSet};
use crate::uuid5::{uuid_v4_from_name, uuid_v5, NETSEC_NAMESPACE, STIX_SCO_NAMESPACE};
use crate::IocError;

/// A STIX timestamp: RFC 3339 UTC with millisecond precision, as STIX 2.1
/// §3.2 requires of `created` and `modified`.
pub fn stix_time(ts: Timestamp) -> String {
    let full = ts.to_string(); // 2026-12-02T10:00:00.123456789Z
    match full.get(..23) {
        Some(head) => format!("{head}Z"),
        None => full,
    }
}

/// A STIX string literal for a pattern: `'` and `\` escaped (§9.2).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern that matches an indicator.
pub fn pattern(i: &Indicator) -> String {
    let v = literal(&i.value);
    match i.kind {
        IndicatorKind::Ipv4 => format!("[ipv4-addr:value = {v}]"),
        IndicatorKind::Ipv6 => format!("[ipv6-addr:value = {v}]"),
        IndicatorKind::Domain => format!("[domain-name:value = {v}]"),
        IndicatorKind::Url => format!("[url:value = {v}]"),
        IndicatorKind::UserAgent => format!(
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {v}]"
        ),
        IndicatorKind::Ja3 => format!("[x-netsec-tls-fingerprint:ja3 = {v}]"),
        IndicatorKind::Ja4 => format!("[x-netsec-tls-fingerprint:ja4 = {v}]"),
        IndicatorKind::CertificateSha256 => format!("[x509-certificate:hashes.'SHA-256' = {v}]"),
        IndicatorKind::CertificateSha1 => format!("[x509-certificate:hashes.'SHA-1' = {v}]"),
        IndicatorKind::FileSha256 => format!("[file:hashes.'SHA-256' = {v}]"),
        IndicatorKind::FileMd5 => format!("[file:hashes.MD5 = {v}]"),
    }
}

/// Options of an export.
#[derive(Debug, Clone)]
pub struct StixOptions {
    /// The producer's name (`identity.name`).
    pub producer: String,
    /// What was analysed (a capture's file name), in the campaign's name.
    pub source: String,
}

impl Default for StixOptions {
    fn default() -> Self {
        StixOptions {
            producer: "netsec".into(),
            source: "capture".into(),
        }
    }
}

/// Builds a bundle, keeping every object once, in insertion order.
struct Bundle {
    objects: Vec<Value>,
    ids: BTreeSet<String>,
}

impl Bundle {
    fn add(&mut self, object: Value) -> String {
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if self.ids.insert(id.clone()) {
            self.objects.push(object);
        }
        id
    }
}

fn object_id(kind: &str, name: &str) -> String {
    format!(
        "{kind}--{}",
        uuid_v4_from_name(&NETSEC_NAMESPACE, &format!("{kind}|{name}"))
    )
}

/// An SCO id from its id-contributing properties (STIX §2.9).
fn sco_id(kind: &str, contributing: &Value) -> String {
    format!(
        "{kind}--{}",
        uuid_v5(&STIX_SCO_NAMESPACE, &contributing.to_string())
    )
}

fn address_sco(ip: IpAddr) -> Value {
    let kind = if ip.is_ipv4() {
        "ipv4-addr"
    } else {
        "ipv6-addr"
    };
    let value = ip.to_string();
    json!({
        "type": kind,
        "spec_version": "2.1",
        "id": sco_id(kind, &json!({ "value": value })),
        "value": value,
    })
}

/// The observables of an indicator (the main one first), when STIX has an
/// object for it.
fn observables(i: &Indicator, bundle: &mut Bundle) -> Vec<String> {
    let hashes = |name: &str| json!({ name: i.value });
    let main = match i.kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
            i.value.parse::<IpAddr>().ok().map(address_sco)
        }
        IndicatorKind::Domain => Some(json!({
            "type": "domain-name", "spec_version": "2.1",
            "id": sco_id("domain-name", &json!({ "value": i.value })), "value": i.value,
        })),
        IndicatorKind::Url => Some(json!({
            "type": "url", "spec_version": "2.1",
            "id": sco_id("url", &json!({ "value": i.value })), "value": i.value,
        })),
        // One `file` object for both hashes of a transferred file (the same
        // id for its SHA-256 and MD5 indicators), with its name, size and
        // MIME type; a hash a finding named alone gets an object of its own.
        IndicatorKind::FileSha256 | IndicatorKind::FileMd5 => Some(match &i.file {
            Some(f) => {
                let h = json!({ "MD5": f.md5, "SHA-256": f.sha256 });
                let mut file = json!({
                    "type": "file", "spec_version": "2.1",
                    "id": sco_id("file", &json!({ "hashes": h, "name": f.name })),
                    "hashes": h, "size": f.size,
                });
                if let Some(map) = file.as_object_mut() {
                    if let Some(name) = &f.name {
                        map.insert("name".into(), json!(name));
                    }
                    if let Some(mime) = &f.mime_type {
                        map.insert("mime_type".into(), json!(mime));
                    }
                }
                file
            }
            None => {
                let h = hashes(if i.kind == IndicatorKind::FileMd5 {
                    "MD5"
                } else {
                    "SHA-256"
                });
                json!({
                    "type": "file", "spec_version": "2.1",
                    "id": sco_id("file", &json!({ "hashes": h })), "hashes": h,
                })
            }
        }),
        IndicatorKind::CertificateSha256 | IndicatorKind::CertificateSha1 => {
            let h = hashes(if i.kind == IndicatorKind::CertificateSha1 {
                "SHA-1"
            } else {
                "SHA-256"
            });
            let mut cert = json!({
                "type": "x509-certificate", "spec_version": "2.1",
                "id": sco_id("x509-certificate", &json!({ "hashes": h, "serial_number": i.certificate.as_ref().map(|c| c.serial.clone()) })),
                "hashes": h,
            });
            if let (Some(c), Some(map)) = (&i.certificate, cert.as_object_mut()) {
                map.insert("subject".into(), json!(c.subject));
                map.insert("issuer".into(), json!(c.issuer));
                map.insert("serial_number".into(), json!(c.serial));
                if let Some(t) = c.not_before {
                    map.insert("validity_not_before".into(), json!(stix_time(t)));
                }
                if let Some(t) = c.not_after {
                    map.insert("validity_not_after".into(), json!(stix_time(t)));
                }
            }
            Some(cert)
        }
        IndicatorKind::UserAgent | IndicatorKind::Ja3 | IndicatorKind::Ja4 => None,
    };
    let mut refs: Vec<String> = main.map(|o| bundle.add(o)).into_iter().collect();
    // a sample connection: the network-traffic and both ends
    let connection = i.connection;
    if let Some(c) = connection {
        let src = bundle.add(address_sco(c.client));
        let dst = bundle.add(address_sco(c.server));
        let network = if c.client.is_ipv4() { "ipv4" } else { "ipv6" };
        let protocols = match c.transport {
            Transport::Tcp => vec![network, "tcp"],
            Transport::Udp => vec![network, "udp"],
            _ => vec![network],
        };
        let mut traffic = json!({
            "type": "network-traffic", "spec_version": "2.1",
            "src_ref": src, "dst_ref": dst, "protocols": protocols,
            "start": stix_time(c.start), "end": stix_time(c.end.max(c.start)),
        });
        if let Some(map) = traffic.as_object_mut() {
            if matches!(c.transport, Transport::Tcp | Transport::Udp) {
                map.insert("src_port".into(), json!(c.client_port));
                map.insert("dst_port".into(), json!(c.port));
            }
            if i.kind == IndicatorKind::UserAgent {
                map.insert(
                    "extensions".into(),
                    json!({ "http-request-ext": {
                        "request_method": "get", "request_value": "/",
                        "request_header": { "User-Agent": [i.value] },
                    }}),
                );
            }
            let id = format!(
                "network-traffic--{}",
                uuid_v5(
                    &STIX_SCO_NAMESPACE,
                    &format!("{}|{}", i.key(), Value::Object(map.clone()))
                )
            );
            map.insert("id".into(), json!(id));
        }
        refs.push(bundle.add(traffic));
        refs.push(src);
        refs.push(dst);
    }
    let mut seen = BTreeSet::new();
    refs.retain(|r| seen.insert(r.clone()));
    refs
}

fn attack_pattern(id: &str, created: &str, identity: &str) -> Value {
    let known = technique(id);
    let name = known.map_or(id.to_string(), |t| t.name.to_string());
    let url_path = id.replace('.', "/");
    let mut pattern = json!({
        "type": "attack-pattern", "spec_version": "2.1",
        "id": object_id("attack-pattern", id),
        "created": created, "modified": created, "created_by_ref": identity,
        "name": name,
        "external_references": [{
            "source_name": "mitre-attack",
            "external_id": id,
        }],
        "description": format!("ATT&CK technique {id}: https://attack.mitre.org/techniques/{url_path}/"),
    });
    if let (Some(t), Some(map)) = (known, pattern.as_object_mut()) {
        map.insert("kill_chain_phases".into(), kill_chain(&[t.phase]));
    }
    pattern
}

fn kill_chain(phases: &[KillChainPhase]) -> Value {
    Value::Array(
        phases
            .iter()
            .map(|p| json!({ "kill_chain_name": "mitre-attack", "phase_name": p.name() }))
            .collect(),
    )
}

fn relationship(kind: &str, source: &str, target: &str, created: &str, identity: &str) -> Value {
    json!({
        "type": "relationship", "spec_version": "2.1",
        "id": object_id("relationship", &format!("{source}|{kind}|{target}")),
        "created": created, "modified": created, "created_by_ref": identity,
        "relationship_type": kind,
        "source_ref": source, "target_ref": target,
    })
}

/// STIX caps `count` and `number_observed` at 999,999,999.
fn capped(n: u64) -> u64 {
    n.clamp(1, 999_999_999)
}

/// The set as a STIX 2.1 bundle (a JSON value).
pub fn to_stix(set: &IndicatorSet, options: &StixOptions) -> Value {
    let created = stix_time(set.start());
    let mut bundle = Bundle {
        objects: Vec::new(),
        ids: BTreeSet::new(),
    };
    let identity = bundle.add(json!({
        "type": "identity", "spec_version": "2.1",
        "id": object_id("identity", &options.producer),
        "created": created, "modified": created,
        "name": options.producer,
        "description": "Network security analysis of packet captures",
        "identity_class": "system",
    }));
    let techniques: BTreeSet<&String> = set.indicators.iter().flat_map(|i| &i.mitre).collect();
    let mut campaign = None;
    if !techniques.is_empty() {
        let c = bundle.add(json!({
            "type": "campaign", "spec_version": "2.1",
            "id": object_id("campaign", &format!("{}|{created}", options.source)),
            "created": created, "modified": stix_time(set.end()), "created_by_ref": identity,
            "name": format!("Activity seen by {} in {}", options.producer, options.source),
            "first_seen": created, "last_seen": stix_time(set.end()),
        }));
        for t in &techniques {
            let ap = bundle.add(attack_pattern(t, &created, &identity));
            bundle.add(relationship("uses", &c, &ap, &created, &identity));
        }
        campaign = Some(c);
    }
    let mut indicator_ids: BTreeMap<String, String> = BTreeMap::new();
    for i in &set.indicators {
        let first = stix_time(i.first_seen);
        let last = stix_time(i.last_seen.max(i.first_seen));
        let refs = observables(i, &mut bundle);
        let phases: Vec<KillChainPhase> = i.kill_chain_phases.iter().copied().collect();
        let mut description = format!(
            "{} seen {} times from {} to {}, {} bytes",
            i.kind.name(),
            i.sightings,
            first,
            last,
            i.bytes
        );
        if !i.internal_hosts.is_empty() {
            let hosts: Vec<String> = i.internal_hosts.iter().map(|h| h.to_string()).collect();
            description.push_str(&format!("; internal hosts: {}", hosts.join(", ")));
        }
        if !i.finding_ids.is_empty() {
            let ids: Vec<&str> = i.finding_ids.iter().map(String::as_str).collect();
            description.push_str(&format!("; findings: {}", ids.join(", ")));
        }
        let mut indicator = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": object_id("indicator", &i.key()),
            "created": first, "modified": last, "created_by_ref": identity,
            "name": format!("{}: {}", i.kind.name(), i.value),
            "description": description,
            "indicator_types": [if i.finding_ids.is_empty() { "unknown" } else { "malicious-activity" }],
            "pattern": pattern(i), "pattern_type": "stix", "pattern_version": "2.1",
            "valid_from": first,
        });
        if let Some(map) = indicator.as_object_mut() {
            if !phases.is_empty() {
                map.insert("kill_chain_phases".into(), kill_chain(&phases));
            }
            if let Some(c) = i.confidence {
                map.insert("confidence".into(), json!((c * 100.0).round() as u64));
            }
            if !i.tags.is_empty() {
                map.insert("labels".into(), json!(i.tags));
            }
        }
        let indicator_id = bundle.add(indicator);
        indicator_ids.insert(i.key(), indicator_id.clone());
        let mut sighting = Map::new();
        if !refs.is_empty() {
            let observed = bundle.add(json!({
                "type": "observed-data", "spec_version": "2.1",
                "id": object_id("observed-data", &i.key()),
                "created": first, "modified": last, "created_by_ref": identity,
                "first_observed": first, "last_observed": last,
                "number_observed": capped(i.sightings),
                "object_refs": refs,
            }));
            sighting.insert("observed_data_refs".into(), json!([observed]));
        }
        let mut sighting_object = json!({
            "type": "sighting", "spec_version": "2.1",
            "id": object_id("sighting", &i.key()),
            "created": first, "modified": last, "created_by_ref": identity,
            "first_seen": first, "last_seen": last,
            "count": capped(i.sightings),
            "sighting_of_ref": indicator_id,
            "where_sighted_refs": [identity],
        });
        if let Some(map) = sighting_object.as_object_mut() {
            map.extend(sighting);
        }
        bundle.add(sighting_object);
        for t in &i.mitre {
            let ap = object_id("attack-pattern", t);
            bundle.add(relationship(
                "indicates",
                &indicator_id,
                &ap,
                &first,
                &identity,
            ));
        }
        if let (Some(c), false) = (&campaign, i.finding_ids.is_empty()) {
            bundle.add(relationship(
                "indicates",
                &indicator_id,
                c,
                &first,
                &identity,
            ));
        }
    }
    for i in &set.indicators {
        for other in &i.related {
            let (Some(a), Some(b)) = (indicator_ids.get(&i.key()), indicator_ids.get(other)) else {
                continue;
            };
            // one relationship per pair, from the lesser id
            if a < b {
                let at = stix_time(i.first_seen);
                bundle.add(relationship("related-to", a, b, &at, &identity));
            }
        }
    }
    let names: Vec<&str> = set.indicators.iter().map(|i| i.value.as_str()).collect();
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid_v4_from_name(&NETSEC_NAMESPACE, &format!("bundle|{created}|{}", names.join("|")))),
        "objects": bundle.objects,
    })
}

/// The bundle as pretty JSON.
pub fn to_stix_json(set: &IndicatorSet, options: &StixOptions) -> Result<String, IocError> {
    serde_json::to_string_pretty(&to_stix(set, options)).map_err(|e| IocError::Write {
        what: "STIX bundle",
        reason: e.to_string(),
    })
}
