//! File indicators from a real capture (`testdata/http-files`, recorded by
//! `scripts/record-http-files.sh`): every complete HTTP body's SHA-256 and
//! MD5 in every export format, with the file's name, size and URL; the
//! bundle is written for `scripts/stix-validate.sh`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netsec_analyze::{Analysis, Input};
use netsec_ioc::{to_csv, to_misp, to_stix, IndicatorKind, IndicatorSet, IocCollector, IocConfig};
use netsec_ioc::{SharedAnalyzer, StixOptions};
use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp,
};
use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// (sha256, md5, uri) of expected.tsv, unique.
fn expected() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(testdata("http-files/expected.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some((
                f.get(3)?.to_string(),
                f.get(4)?.to_string(),
                f.get(2)?.to_string(),
            ))
        })
        .collect()
}

fn collect(config: IocConfig, findings: &[Finding]) -> IndicatorSet {
    let (side, collector) = SharedAnalyzer::new(IocCollector::new(config));
    let run = Analysis::new()
        .inputs([Input::path(testdata("http-files/http-files.pcap"))])
        .threads(1)
        .analyzer(Box::new(side))
        .run();
    assert!(run.is_ok());
    let mut c = collector.lock().unwrap_or_else(|e| e.into_inner());
    c.add_findings(findings);
    c.indicators()
}

#[test]
fn every_transferred_file_is_an_indicator_in_every_format() {
    let want = expected();
    assert_eq!(want.len(), 7, "words.txt twice, one hash");
    let set = collect(IocConfig::default(), &[]);
    for (sha256, md5, uri) in &want {
        let s = set
            .get(IndicatorKind::FileSha256, sha256)
            .unwrap_or_else(|| panic!("no file-sha256 {sha256} ({uri})"));
        let m = set
            .get(IndicatorKind::FileMd5, md5)
            .unwrap_or_else(|| panic!("no file-md5 {md5} ({uri})"));
        let f = s.file.as_ref().unwrap_or_else(|| panic!("no file context"));
        assert_eq!(&f.md5, md5);
        assert_eq!(
            f.url.as_deref(),
            Some(format!("http://files.example.lab{uri}").as_str())
        );
        assert_eq!(f.name.as_deref(), uri.strip_prefix('/'));
        assert!(s
            .internal_hosts
            .iter()
            .any(|h| h.to_string() == "10.252.7.10"));
        assert!(s.bytes > f.size, "flow bytes credited");
        assert!(s.related.contains(&format!("file-md5:{md5}")));
        assert!(m.related.contains(&format!("file-sha256:{sha256}")));
        if uri != "/upload" {
            assert_eq!(f.transfer, "download");
        }
    }
    let words = set
        .get(
            IndicatorKind::FileSha256,
            "b595759321707cda3066defa49a1d112b8cabe4778208188f43f90a136510776",
        )
        .unwrap_or_else(|| panic!("words.txt"));
    assert_eq!(words.sightings, 2);
    assert!(words.tags.contains("http-download"));

    // CSV: a row per hash with the file's name, size and URL.
    let csv = to_csv(&set);
    let blob = csv
        .lines()
        .find(|l| l.starts_with("file-sha256,ae2ae784bf98f5f5"))
        .unwrap_or_default();
    assert!(
        blob.ends_with(",blob.bin,300000,http://files.example.lab/blob.bin"),
        "{blob}"
    );
    // JSON.
    let json: Value = serde_json::from_str(&set.to_json().unwrap_or_default()).unwrap_or_default();
    assert!(json["indicators"]
        .as_array()
        .is_some_and(|a| a.iter().any(|i| i["file"]["name"] == "blob.bin")));
    // STIX: one file object with both hashes, an indicator per hash.
    let bundle = to_stix(&set, &StixOptions::default());
    let objects = bundle["objects"].as_array().cloned().unwrap_or_default();
    let blob_files: Vec<&Value> = objects
        .iter()
        .filter(|o| o["type"] == "file" && o["name"] == "blob.bin")
        .collect();
    assert_eq!(blob_files.len(), 1);
    assert_eq!(
        blob_files[0]["hashes"]["MD5"],
        "a231076355da45e72a4a1da12571db1b"
    );
    assert_eq!(blob_files[0]["size"], 300000);
    let patterns: BTreeSet<&str> = objects
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .collect();
    for (sha256, md5, _) in &want {
        assert!(patterns.contains(format!("[file:hashes.'SHA-256' = '{sha256}']").as_str()));
        assert!(patterns.contains(format!("[file:hashes.MD5 = '{md5}']").as_str()));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix-bundles");
    let _ = std::fs::create_dir_all(&dir);
    assert!(std::fs::write(
        dir.join("http-files.json"),
        serde_json::to_string_pretty(&bundle).unwrap_or_default()
    )
    .is_ok());
    // MISP: sha256, md5 and filename attributes.
    let misp = to_misp(&set, "http files").unwrap_or_default();
    let misp_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("misp-events");
    let _ = std::fs::create_dir_all(&misp_dir);
    assert!(std::fs::write(misp_dir.join("http-files.json"), &misp).is_ok());
    let misp: Value = serde_json::from_str(&misp).unwrap_or_default();
    let attrs = misp["Event"]["Attribute"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |t: &str| attrs.iter().filter(|a| a["type"] == t).count();
    assert_eq!((of("sha256"), of("md5"), of("filename")), (7, 7, 7));
    assert!(attrs
        .iter()
        .any(|a| a["type"] == "filename" && a["value"] == "blob.bin"));
}

#[test]
fn with_require_finding_only_files_of_a_named_server_are_exported() {
    let none = collect(
        IocConfig {
            require_finding: true,
            ..IocConfig::default()
        },
        &[],
    );
    assert!(none.indicators.is_empty());
    // A finding names the (internal) server as the one used: its files
    // point to the finding.
    let t = Timestamp::from_secs_nanos(1_764_691_560, 0);
    let finding = Finding::new(
        "malware_download",
        "Payload served",
        FindingCategory::CommandAndControl,
        Severity::High,
        0.8,
        TimeRange::at(t),
        "test",
    )
    .with_entity(
        EntityRole::Related,
        EntityValue::Host {
            ip: "10.252.7.20"
                .parse()
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        },
    );
    let set = collect(
        IocConfig {
            require_finding: true,
            ..IocConfig::default()
        },
        &[finding],
    );
    let files = set
        .indicators
        .iter()
        .filter(|i| i.kind == IndicatorKind::FileSha256)
        .count();
    assert_eq!(files, 7);
    assert!(set
        .indicators
        .iter()
        .filter(|i| i.kind == IndicatorKind::FileSha256)
        .all(|i| i.finding_ids.len() == 1 && i.tags.contains("seen-with-indicator")));
}
