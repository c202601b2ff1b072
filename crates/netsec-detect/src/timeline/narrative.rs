//! One sentence per step, in words a responder reads aloud:
//! "203.0.113.66 scanned 10.0.0.10 at 12:01:03 (TCP port scan: …), then …".

use std::net::IpAddr;

use netsec_model::Timestamp;

use super::{KillChainPhase, Step, StepLink};

/// The narrative of an incident's steps, at most `max_steps` sentences
/// (then one counting the rest).
pub(super) fn tell(steps: &[Step], links: &[StepLink], max_steps: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for step in steps.iter().take(max_steps) {
        let follows = links.iter().any(|l| l.to == step.index);
        let who = hosts(&step.actors).unwrap_or_else(|| "someone".to_string());
        let whom = hosts(&step.targets)
            .or_else(|| hosts(&step.related))
            .or_else(|| step.names.first().cloned());
        let verb = verb(step.phase);
        // a finding of no phase (an anomaly) has no object: "X was reported"
        let whom = whom.filter(|_| step.phase.is_some());
        let mut line = String::new();
        if follows {
            line.push_str("then ");
        }
        line.push_str(&who);
        line.push(' ');
        line.push_str(verb);
        if let Some(whom) = whom {
            line.push(' ');
            line.push_str(&whom);
        }
        line.push_str(&format!(" at {}", clock(step.time.start)));
        if step.time.end.since(step.time.start).as_secs_f64() >= 1.0 {
            line.push_str(&format!("–{}", clock(step.time.end)));
        }
        line.push_str(&format!(" ({}", step.title));
        if !step.summary.is_empty() {
            line.push_str(": ");
            line.push_str(&step.summary);
        }
        line.push(')');
        lines.push(line);
    }
    if steps.len() > max_steps {
        lines.push(format!("… and {} more steps", steps.len() - max_steps));
    }
    lines
}

fn verb(phase: Option<KillChainPhase>) -> &'static str {
    match phase {
        Some(KillChainPhase::Reconnaissance) | Some(KillChainPhase::Discovery) => "scanned",
        Some(KillChainPhase::CredentialAccess) => "guessed credentials on",
        Some(KillChainPhase::InitialAccess) => "logged into",
        Some(KillChainPhase::LateralMovement) => "moved to",
        Some(KillChainPhase::CommandAndControl) => "called out to",
        Some(KillChainPhase::Exfiltration) => "sent data out to",
        Some(KillChainPhase::Impact) => "flooded",
        None => "was reported",
    }
}

fn hosts(list: &[IpAddr]) -> Option<String> {
    match list {
        [] => None,
        [one] => Some(one.to_string()),
        [a, b] => Some(format!("{a} and {b}")),
        [first, rest @ ..] => Some(format!("{first} and {} more hosts", rest.len())),
    }
}

/// `HH:MM:SS` of a timestamp (UTC), as the narrative prints times.
pub(super) fn clock(ts: Timestamp) -> String {
    let text = ts.to_string();
    text.get(11..19).unwrap_or(&text).to_string()
}

/// The timeline as terminal text: each incident, its phases and narrative.
pub fn render_text(timeline: &super::Timeline) -> String {
    let mut out = format!(
        "{} incidents from {} findings\n",
        timeline.incidents.len(),
        timeline.findings
    );
    for incident in &timeline.incidents {
        let phases: Vec<&str> = incident.phases.iter().map(|p| p.name()).collect();
        out.push_str(&format!(
            "\n{} [{}] {} – {}, {} steps, hosts {}\n  phases: {}\n",
            incident.id,
            incident.severity,
            incident.time.start,
            incident.time.end,
            incident.steps.len(),
            incident
                .hosts
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            phases.join(" → ")
        ));
        for line in &incident.narrative {
            out.push_str(&format!("  {line}\n"));
        }
        for g in &incident.sessions {
            let lookup = g
                .lookup
                .as_ref()
                .map_or(String::new(), |name| format!("looked up {name}, then "));
            let requests: Vec<String> = g
                .requests
                .iter()
                .map(|(line, n)| {
                    if *n > 1 {
                        format!("{line} ×{n}")
                    } else {
                        line.clone()
                    }
                })
                .collect();
            out.push_str(&format!(
                "  session: {} {lookup}{} session(s) to {}:{} {} ({} bytes){}\n",
                g.client,
                g.sessions,
                g.server,
                g.port,
                g.app_proto,
                g.bytes,
                if requests.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", requests.join(", "))
                }
            ));
        }
    }
    out
}
