//! The terminal rendering of a run's summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use netsec_analyze::Summary;
use netsec_model::Severity;

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The terminal rendering: a responder's ten-second read.
pub fn render(this: &Summary, elapsed_s: f64) -> String {
    {
        let mut o = String::new();
        let _ = writeln!(o, "netsec analyze");
        if this.cancelled {
            let _ = writeln!(
                o,
                "  interrupted: the figures cover what was read until then"
            );
        }
        for i in &this.inputs {
            let _ = writeln!(
                o,
                "  input      {} ({}, {} packets)",
                i.path, i.format, i.packets
            );
            for w in &i.warnings {
                let _ = writeln!(o, "    warning  {w}");
            }
            if let Some(e) = &i.error {
                let _ = writeln!(o, "    error    {e}");
            }
        }
        if let Some(t) = &this.time {
            let _ = writeln!(
                o,
                "  time       {} → {} ({:.1} s)",
                t.start, t.end, this.duration_s
            );
        }
        let _ = writeln!(
            o,
            "  traffic    {} packets, {} ({} flows)",
            this.packets,
            human_bytes(this.bytes),
            this.flows.total
        );
        let nonzero = |m: &BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(o, "  network    {}", nonzero(&this.network));
        let _ = writeln!(o, "  transport  {}", nonzero(&this.transport));
        let apps: BTreeMap<String, u64> = this
            .flows
            .by_app_protocol
            .iter()
            .filter(|(k, _)| k.as_str() != "unknown")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if !apps.is_empty() {
            let _ = writeln!(o, "  app flows  {}", nonzero(&apps));
        }
        if !this.events.is_empty() {
            let _ = writeln!(o, "  events     {}", nonzero(&this.events));
        }
        if !this.decode.errors.is_empty() {
            let _ = writeln!(o, "  undecoded  {}", nonzero(&this.decode.errors));
        }
        if !this.top_talkers.is_empty() {
            let _ = writeln!(o, "\n  top talkers");
            for t in &this.top_talkers {
                let _ = writeln!(
                    o,
                    "    {:<40} {:>12} {:>10} pkts",
                    t.ip.to_string(),
                    human_bytes(t.bytes),
                    t.packets
                );
            }
        }
        if !this.top_conversations.is_empty() {
            let _ = writeln!(o, "\n  top conversations");
            for c in &this.top_conversations {
                let _ = writeln!(
                    o,
                    "    {:<40} {:>12} {:>10} pkts",
                    format!("{} ↔ {}", c.a, c.b),
                    human_bytes(c.bytes),
                    c.packets
                );
            }
        }
        for (title, list) in [
            ("DNS names", &this.dns_query_names),
            ("HTTP hosts", &this.http_hosts),
            ("TLS server names", &this.tls_server_names),
            ("SSH software", &this.ssh_software),
        ] {
            if !list.is_empty() {
                let items: Vec<String> = list
                    .iter()
                    .map(|n| format!("{} ({})", n.name, n.count))
                    .collect();
                let _ = writeln!(o, "\n  {title}: {}", items.join(", "));
            }
        }
        let _ = writeln!(
            o,
            "\n  findings   {} ({})",
            this.findings.total,
            Severity::ALL
                .iter()
                .rev()
                .map(|s| format!(
                    "{} {}",
                    s.name(),
                    this.findings
                        .by_severity
                        .get(s.name())
                        .copied()
                        .unwrap_or(0)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for f in &this.findings.top {
            let _ = writeln!(
                o,
                "    [{:<8}] {:.2} {} — {}",
                f.severity.name(),
                f.confidence.value(),
                f.title,
                f.evidence.summary
            );
        }
        if elapsed_s > 0.0 {
            let _ = writeln!(
                o,
                "\n  analysed in {:.2} s ({:.2} M packets/s, {}/s)",
                elapsed_s,
                this.packets as f64 / elapsed_s / 1e6,
                human_bytes((this.bytes as f64 / elapsed_s) as u64)
            );
        }
        o
    }
}
