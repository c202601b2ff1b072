//! Read the findings `netsec analyze --out DIR` saved, and print each
//! incident's story and the indicators the findings name, as CSV: the
//! timeline and the IoC exporters as libraries, no capture needed.
//!
//! ```sh
//! netsec analyze testdata/killchain/killchain.pcap --config testdata/killchain/netsec.toml --out /tmp/kc
//! cargo run -p netsec-examples --example story_from_findings -- /tmp/kc/findings.jsonl
//! ```

use netsec_detect::timeline::{TimelineBuilder, TimelineConfig};
use netsec_ioc::{read_findings, to_csv, IocCollector, IocConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: story_from_findings FINDINGS.jsonl")?;
    let findings = read_findings(path.as_ref())?;
    let timeline = TimelineBuilder::new(TimelineConfig::default())
        .findings(findings.iter().cloned())
        .build();
    for incident in &timeline.incidents {
        let phases: Vec<&str> = incident.phases.iter().map(|p| p.name()).collect();
        println!(
            "{} [{}]: {}",
            incident.id,
            incident.severity,
            phases.join(" → ")
        );
        for line in &incident.narrative {
            println!("  {line}");
        }
    }
    let mut collector = IocCollector::new(IocConfig::default());
    collector.add_findings(&findings);
    print!("\n{}", to_csv(&collector.indicators()));
    Ok(())
}
