//! The detectors every command that analyses a capture runs (`analyze`,
//! `contain`): their arguments, shared so each command reads the same
//! `--config`, `--set`, `--tls-blocklist`, `--tls-ca-file`, `--dns-intel`,
//! `--rules`, `--rule-var`, `--baseline` and `--no-detect`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use netsec_analyze::Analysis;
use netsec_detect::signature::{
    CompiledRules, RuleConfig, RuleSet, SignatureInspector, ThresholdCounters,
};
use netsec_detect::DetectConfig;
use netsec_model::Inspector;

/// Which detectors run, and how they are tuned.
#[derive(Debug, Clone, Args)]
pub struct DetectorArgs {
    /// Detection configuration (TOML; `netsec config default` prints every
    /// key with its default): thresholds, home networks, allow-lists,
    /// detectors enabled.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one configuration key, e.g. `--set portscan.min_ports=50`
    /// or `--set beacon.enabled=false` (repeatable; applied after --config).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,

    /// Report TLS sessions whose JA3/JA3S/JA4/JA4S or certificate SHA-1/
    /// SHA-256 is on this list (lines `ja3:HASH [NAME]`, `sha1:FP [NAME]`,
    /// or CSV `kind,value,name`; repeatable).
    #[arg(long, value_name = "FILE")]
    pub tls_blocklist: Vec<PathBuf>,

    /// Report DNS lookups and answers on this threat list (domains,
    /// addresses, CIDRs; plain, hosts file, CSV or a STIX 2.1 bundle;
    /// repeatable).
    #[arg(long, value_name = "FILE")]
    pub dns_intel: Vec<PathBuf>,

    /// Judge the certificate chains servers send against these CA
    /// certificates (PEM) instead of Mozilla's roots.
    #[arg(long, value_name = "FILE")]
    pub tls_ca_file: Option<PathBuf>,

    /// Suricata / ET Open rules to run (a .rules file or a directory of
    /// them; repeatable). Alerts go to `alerts.jsonl` in --out, one per
    /// match; repeated alerts of a rule on a flow make one finding. Rules
    /// netsec cannot run are skipped whole (`netsec rules check` lists them).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Set a rule variable, e.g. `HOME_NET=[10.0.0.0/8]` (repeatable;
    /// defaults: suricata.yaml's).
    #[arg(long = "rule-var", value_name = "NAME=VALUE")]
    pub rule_vars: Vec<String>,

    /// Score every home host against a baseline learned by `netsec
    /// baseline learn` (`host_anomaly` when a measure is beyond the
    /// configured robust z-score, `new_host` for hosts it never saw).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Run no detector: decode, flows and logs only (rules given with
    /// --rules still run).
    #[arg(long)]
    pub no_detect: bool,
}

/// The detectors' configurations, read and checked.
#[derive(Debug, Clone)]
pub struct Detectors {
    /// netsec-detect's configuration (`--config`, then `--set`).
    pub detect: DetectConfig,
    dns: netsec_dns::DnsConfig,
    blocklist: netsec_tls::Blocklist,
    intel: netsec_dns::IntelLists,
    roots: std::sync::Arc<rustls::RootCertStore>,
    signatures: Option<Arc<CompiledRules>>,
    baseline: Option<Arc<netsec_detect::baseline::Baseline>>,
    enabled: bool,
}

impl DetectorArgs {
    /// Read the configuration files; the error names the file, key and line.
    pub fn load(&self) -> Result<Detectors, String> {
        let mut detect = match &self.config {
            Some(path) => DetectConfig::load(path).map_err(|e| e.to_string())?,
            None => DetectConfig::default(),
        };
        for setting in &self.settings {
            detect.set(setting).map_err(|e| e.to_string())?;
        }
        // The [dns] section netsec-detect kept, --set dns.* applied: read
        // and checked by netsec-dns.
        let mut intel = netsec_dns::IntelLists::default();
        let dns = match &self.config {
            Some(path) => {
                // Errors name the key and its line in the file as written.
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let file = netsec_dns::DnsConfig::from_netsec_toml(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let dns = dns_section(&detect)?;
                // The file's threat lists (`dns.intel`), lines known, unless
                // --set replaced them.
                if dns.intel == file.intel {
                    file.load_intel(&mut intel, Some((path, &text)))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                } else {
                    dns.load_intel(&mut intel, None)
                        .map_err(|e| format!("--set {e}"))?;
                }
                dns
            }
            None => {
                let dns = dns_section(&detect)?;
                dns.load_intel(&mut intel, None)
                    .map_err(|e| format!("--set {e}"))?;
                dns
            }
        };
        let mut blocklist = netsec_tls::Blocklist::default();
        for file in &self.tls_blocklist {
            blocklist.load(file).map_err(|e| e.to_string())?;
        }
        for file in &self.dns_intel {
            intel.load(file).map_err(|e| e.to_string())?;
        }
        let roots = netsec_tls::active::chain::roots(self.tls_ca_file.as_deref())?;
        let signatures = self.signature_rules()?;
        let baseline = match &self.baseline {
            Some(path) => Some(Arc::new(
                netsec_detect::baseline::Baseline::load(path).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        Ok(Detectors {
            signatures,
            baseline,
            detect,
            dns,
            blocklist,
            intel,
            roots,
            enabled: !self.no_detect,
        })
    }
}

impl DetectorArgs {
    /// The rules of --rules, compiled once for every run (None without --rules).
    fn signature_rules(&self) -> Result<Option<Arc<CompiledRules>>, String> {
        if self.rules.is_empty() {
            return Ok(None);
        }
        let mut config = RuleConfig::default();
        for var in &self.rule_vars {
            config.set_var(var).map_err(|e| e.to_string())?;
        }
        let mut set = RuleSet::new(config);
        for path in &self.rules {
            set.load_path(path);
        }
        if let Some(file) = set.files.iter().find(|f| f.read_error.is_some()) {
            return Err(format!(
                "{}: {}",
                file.path.display(),
                file.read_error.as_deref().unwrap_or_default()
            ));
        }
        if set.skipped() > 0 {
            eprintln!(
                "netsec: rules: {} loaded, {} skipped ({} unsupported; `netsec rules check` says which and why)",
                set.loaded(),
                set.skipped(),
                set.unsupported()
            );
        }
        Ok(Some(Arc::new(CompiledRules::new(&set))))
    }
}

/// netsec-dns's configuration from the `[dns]` section `detect` kept.
fn dns_section(detect: &DetectConfig) -> Result<netsec_dns::DnsConfig, String> {
    let mut file = toml::Table::new();
    file.insert("dns".into(), toml::Value::Table(detect.dns.clone()));
    let text = toml::to_string(&file).map_err(|e| e.to_string())?;
    netsec_dns::DnsConfig::from_netsec_toml(&text).map_err(|e| format!("--set dns.*: {e}"))
}

impl Detectors {
    /// `analysis` with every enabled detector added.
    pub fn add_to(&self, mut analysis: Analysis) -> Analysis {
        // netsec.toml's [http] section sets the parser, detectors on or off.
        analysis = analysis.max_file_hash(self.detect.http.max_file_hash);
        // one set of inspectors per shard: the rules' and, with the
        // detectors, those reading payload bytes (tunnel's entropy)
        let rules = self.signatures.clone();
        let detect = self.enabled.then(|| self.detect.clone());
        if rules.is_some() || detect.is_some() {
            // the shards of this run count rule thresholds together
            let thresholds = ThresholdCounters::new();
            analysis = analysis.inspectors(Arc::new(move || {
                let mut set: Vec<Box<dyn Inspector>> = Vec::new();
                if let Some(rules) = &rules {
                    set.push(Box::new(
                        SignatureInspector::new(Arc::clone(rules))
                            .sharing_thresholds(Arc::clone(&thresholds)),
                    ));
                }
                if let Some(detect) = &detect {
                    set.extend(netsec_detect::default_inspectors(detect));
                }
                set
            }));
        }
        if !self.enabled {
            return analysis;
        }
        let analysis = if self.intel.is_empty() {
            analysis
        } else {
            analysis.analyzer(Box::new(netsec_dns::DnsIntelMatcher::new(
                self.intel.clone(),
            )))
        };
        let analysis = match &self.baseline {
            Some(baseline) if self.detect.baseline.enabled => {
                analysis.analyzer(Box::new(netsec_detect::baseline::BaselineDetector::new(
                    self.detect.baseline.clone(),
                    self.detect.network.clone(),
                    Arc::clone(baseline),
                )))
            }
            _ => analysis,
        };
        analysis
            .analyzers(netsec_detect::default_analyzers(&self.detect))
            .analyzers(self.dns.analyzers())
            .analyzer(Box::new(
                netsec_tls::TlsAuditor::new(netsec_tls::TlsAuditConfig::default())
                    .with_blocklist(self.blocklist.clone())
                    .with_trust_anchors(&self.roots),
            ))
    }
}
