//! MISP event JSON (the format of MISP's `/events/add` and its JSON export,
//! misp-rfc `misp-core-format`): one event for the run, one attribute per
//! indicator, tags for the kill-chain phases.

use serde_json::{json, Value};

use crate::indicator::{Indicator, IndicatorKind, IndicatorSet};
use crate::stix::stix_time;
use crate::uuid5::{uuid_v5, NETSEC_NAMESPACE};
use crate::IocError;

/// MISP attribute type and category of an indicator.
fn attribute_type(i: &Indicator) -> (&'static str, &'static str) {
    let outbound = i.tags.contains("dns-query")
        || i.tags.contains("http-request")
        || i.kill_chain_phases.iter().any(|p| {
            matches!(
                p,
                netsec_detect::timeline::KillChainPhase::CommandAndControl
                    | netsec_detect::timeline::KillChainPhase::Exfiltration
            )
        });
    match i.kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 if outbound => ("ip-dst", "Network activity"),
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => ("ip-src", "Network activity"),
        IndicatorKind::Domain => ("domain", "Network activity"),
        IndicatorKind::Url => ("url", "Network activity"),
        IndicatorKind::UserAgent => ("user-agent", "Network activity"),
        IndicatorKind::Ja3 => ("ja3-fingerprint-md5", "Network activity"),
        IndicatorKind::Ja4 => ("text", "Network activity"),
        IndicatorKind::CertificateSha256 => ("x509-fingerprint-sha256", "Network activity"),
        IndicatorKind::CertificateSha1 => ("x509-fingerprint-sha1", "Network activity"),
        IndicatorKind::FileSha256 => ("sha256", "Payload delivery"),
        IndicatorKind::FileMd5 => ("md5", "Payload delivery"),
    }
}

/// The set as one MISP event, pretty-printed. `info` is the event's title.
pub fn to_misp(set: &IndicatorSet, info: &str) -> Result<String, IocError> {
    let start = set.start();
    let date = stix_time(start)
        .get(..10)
        .unwrap_or("1970-01-01")
        .to_string();
    let event_uuid = uuid_v5(
        &NETSEC_NAMESPACE,
        &format!("misp-event|{info}|{}", stix_time(start)),
    );
    let mut threat_level = 3; // low
    let mut attributes: Vec<Value> = set
        .indicators
        .iter()
        .map(|i| {
            let (kind, category) = attribute_type(i);
            if i.confidence.is_some_and(|c| c >= 0.7) {
                threat_level = 1;
            } else if i.confidence.is_some() && threat_level > 2 {
                threat_level = 2;
            }
            let mut comment = format!(
                "seen {} times; {} bytes; internal hosts: {}",
                i.sightings,
                i.bytes,
                i.internal_hosts
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            if i.kind == IndicatorKind::Ja4 {
                comment.push_str("; JA4 fingerprint");
            }
            if let Some(f) = &i.file {
                comment.push_str(&format!("; file of {} bytes, HTTP {}", f.size, f.transfer));
                if let Some(url) = &f.url {
                    comment.push_str(&format!(" {url}"));
                }
            }
            if !i.finding_ids.is_empty() {
                comment.push_str("; findings: ");
                comment.push_str(&i.finding_ids.iter().cloned().collect::<Vec<_>>().join(" "));
            }
            let tags: Vec<Value> = i
                .kill_chain_phases
                .iter()
                .map(|p| json!({ "name": format!("kill-chain:{}", p.name()) }))
                .chain(
                    i.mitre
                        .iter()
                        .map(|m| json!({ "name": format!("mitre-attack:{m}") })),
                )
                .collect();
            json!({
                "uuid": uuid_v5(&NETSEC_NAMESPACE, &format!("misp-attribute|{}", i.key())),
                "type": kind,
                "category": category,
                "value": i.value,
                "to_ids": !i.finding_ids.is_empty(),
                "comment": comment,
                "timestamp": i.last_seen.secs().to_string(),
                "first_seen": stix_time(i.first_seen),
                "last_seen": stix_time(i.last_seen),
                "distribution": "5",
                "Tag": tags,
            })
        })
        .collect();
    // The name of each transferred file (from its URL), beside its hashes.
    for i in &set.indicators {
        let Some((f, name)) = i
            .file
            .as_ref()
            .filter(|_| i.kind == IndicatorKind::FileSha256)
            .and_then(|f| Some((f, f.name.as_deref()?)))
        else {
            continue;
        };
        attributes.push(json!({
            "uuid": uuid_v5(&NETSEC_NAMESPACE, &format!("misp-attribute|filename|{}", f.sha256)),
            "type": "filename",
            "category": "Payload delivery",
            "value": name,
            "to_ids": false,
            "comment": format!("name of the file with SHA-256 {} and MD5 {}", f.sha256, f.md5),
            "timestamp": i.last_seen.secs().to_string(),
            "first_seen": stix_time(i.first_seen),
            "last_seen": stix_time(i.last_seen),
            "distribution": "5",
        }));
    }
    let event = json!({
        "Event": {
            "uuid": event_uuid,
            "info": info,
            "date": date,
            "timestamp": set.end().secs().to_string(),
            "publish_timestamp": "0",
            "published": false,
            "analysis": "2",
            "threat_level_id": threat_level.to_string(),
            "distribution": "0",
            "Orgc": { "name": set.producer },
            "Tag": [ { "name": "tlp:amber" }, { "name": "netsec" } ],
            "Attribute": attributes,
        }
    });
    serde_json::to_string_pretty(&event).map_err(|e| IocError::Write {
        what: "MISP event",
        reason: e.to_string(),
    })
}
