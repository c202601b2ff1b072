//! The incident report: one self-contained HTML page (no script, style or
//! font from the network): an SVG timeline of the incidents (hover a step
//! for its evidence, click it to jump to it), an SVG graph of who reached
//! whom, every step with its evidence, and the indicators.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use netsec_detect::timeline::{KillChainPhase, Timeline};

use crate::indicator::IndicatorSet;
use crate::stix::stix_time;

/// Escape text for HTML and SVG.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn phase_colour(phase: Option<KillChainPhase>) -> &'static str {
    match phase {
        Some(KillChainPhase::Reconnaissance) => "#4e79a7",
        Some(KillChainPhase::Discovery) => "#76b7b2",
        Some(KillChainPhase::CredentialAccess) => "#f28e2b",
        Some(KillChainPhase::InitialAccess) => "#e15759",
        Some(KillChainPhase::LateralMovement) => "#b07aa1",
        Some(KillChainPhase::CommandAndControl) => "#9c755f",
        Some(KillChainPhase::Exfiltration) => "#d4a017",
        Some(KillChainPhase::Impact) => "#59a14f",
        None => "#888888",
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#f3f3f3}.phase{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}\
svg text{font:12px system-ui,sans-serif}.step:hover{stroke:#000;stroke-width:3}\
ol li{margin-bottom:4px}tr:target{background:#fff3c4}";

/// The timeline and the indicators as one HTML page.
pub fn html_report(timeline: &Timeline, indicators: &IndicatorSet, title: &str) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><h1>{t}</h1><p>{} incidents from {} findings; {} indicators.</p>",
        timeline.incidents.len(),
        timeline.findings,
        indicators.indicators.len(),
        t = esc(title)
    );
    page.push_str("<h2 id=\"timeline\">Timeline</h2>");
    page.push_str(&timeline_svg(timeline));
    page.push_str("<p><small>Colours: kill-chain phases, <a href=\"#legend\">legend</a> at the end.</small></p>");
    page.push_str("<h2 id=\"graph\">Who reached whom</h2>");
    page.push_str(&graph_svg(timeline));
    page.push_str("<h2 id=\"incidents\">Incidents</h2>");
    for incident in &timeline.incidents {
        let _ = write!(
            page,
            "<h3 id=\"{id}\">{id}: {} – {} ({}; {})</h3><ol>",
            stix_time(incident.time.start),
            stix_time(incident.time.end),
            incident.severity,
            incident
                .phases
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(" → "),
            id = esc(&incident.id)
        );
        for line in &incident.narrative {
            let _ = write!(page, "<li>{}</li>", esc(line));
        }
        page.push_str("</ol><table><tr><th>#</th><th>time</th><th>phase</th><th>what</th><th>hosts</th><th>evidence</th><th>ATT&amp;CK</th></tr>");
        for s in &incident.steps {
            let hosts = |list: &[IpAddr]| {
                list.iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = write!(
                page,
                "<tr id=\"{}-step-{}\"><td>{}</td><td>{}</td><td><span class=\"phase\" style=\"background:{}\">{}</span></td>\
                 <td>{}<br><small>{}</small></td><td>{} → {}{}</td><td>{}</td><td>{}</td></tr>",
                esc(&incident.id),
                s.index,
                s.index + 1,
                stix_time(s.time.start),
                phase_colour(s.phase),
                s.phase.map_or("—", |p| p.name()),
                esc(&s.title),
                esc(&s.kind),
                esc(&hosts(&s.actors)),
                esc(&hosts(&s.targets)),
                if s.related.is_empty() { String::new() } else { format!(" ({})", esc(&hosts(&s.related))) },
                evidence_cell(s),
                esc(&s.mitre.join(", "))
            );
        }
        page.push_str("</table>");
        if !incident.sessions.is_empty() {
            page.push_str("<p>Sessions linked across protocols:</p><ul>");
            for g in &incident.sessions {
                let lookup = g.lookup.as_ref().map_or(String::new(), |name| {
                    format!(
                        "looked up {}{}, then ",
                        esc(name),
                        g.resolver
                            .map_or(String::new(), |r| format!(" (answer from {r})"))
                    )
                });
                let requests: Vec<String> = g
                    .requests
                    .iter()
                    .map(|(line, n)| format!("{} ×{n}", esc(line)))
                    .collect();
                let _ = write!(
                    page,
                    "<li>{} – {}: {} {lookup}{} session(s) to {}:{} ({}, {} bytes){}{}</li>",
                    stix_time(g.time.start),
                    stix_time(g.time.end),
                    g.client,
                    g.sessions,
                    g.server,
                    g.port,
                    esc(&g.app_proto),
                    g.bytes,
                    g.server_name
                        .as_deref()
                        .map_or(String::new(), |n| format!(", TLS name {}", esc(n))),
                    if requests.is_empty() {
                        String::new()
                    } else {
                        format!(" → {}", requests.join("; "))
                    }
                );
            }
            page.push_str("</ul>");
        }
    }
    page.push_str("<h2 id=\"indicators\">Indicators</h2><table><tr><th>type</th><th>value</th><th>first seen</th><th>last seen</th><th>confidence</th><th>phases</th><th>internal hosts</th><th>bytes</th><th>tags</th></tr>");
    for i in &indicators.indicators {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i.kind,
            esc(&i.value),
            stix_time(i.first_seen),
            stix_time(i.last_seen),
            i.confidence.map_or(String::new(), |c| format!("{c:.2}")),
            i.kill_chain_phases.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
            i.internal_hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", "),
            i.bytes,
            esc(&i.tags.iter().cloned().collect::<Vec<_>>().join(", "))
        );
    }
    page.push_str("</table>");
    page.push_str(&legend());
    page.push_str("</body></html>\n");
    page
}

/// A step's evidence: the summary, then its measurements and flows as lists.
fn evidence_cell(step: &netsec_detect::timeline::Step) -> String {
    let mut cell = esc(&step.summary);
    for (label, items) in [("measured", &step.measurements), ("flows", &step.flows)] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(cell, "<br><small>{label}:</small><ul>");
        for item in items {
            let _ = write!(cell, "<li><small>{}</small></li>", esc(item));
        }
        cell.push_str("</ul>");
    }
    cell
}

fn legend() -> String {
    let mut out = String::from("<h2 id=\"legend\">Phase colours</h2><p>");
    for p in KillChainPhase::ALL {
        let _ = write!(
            out,
            "<span class=\"phase\" style=\"background:{}\">{}</span> ",
            phase_colour(Some(p)),
            p.name()
        );
    }
    out.push_str("</p>");
    out
}

/// A Gantt chart: per incident a header row, then one row per step (a bar
/// over its span, a dot at its start, in its phase's colour; hover for the
/// evidence, click to jump to it) and dashed arrows for the links.
fn timeline_svg(timeline: &Timeline) -> String {
    let (width, row, left, right, axis) = (1100.0_f64, 20.0_f64, 230.0_f64, 20.0_f64, 34.0_f64);
    // the most severe incidents first; a page of thousands of rows is not read
    let drawn = &timeline.incidents[..timeline.incidents.len().min(MAX_DRAWN_INCIDENTS)];
    let starts = drawn.iter().map(|i| i.time.start);
    let ends = drawn.iter().map(|i| i.time.end);
    let (Some(t0), Some(t1)) = (starts.min(), ends.max()) else {
        return "<p>No incidents.</p>".into();
    };
    let span = t1.since(t0).as_secs_f64().max(1.0);
    let plot = width - left - right;
    let x = |t: netsec_model::Timestamp| left + plot * t.since(t0).as_secs_f64() / span;
    let shown = |i: &netsec_detect::timeline::Incident| i.steps.len().min(MAX_DRAWN_STEPS);
    let rows: usize = drawn.iter().map(|i| shown(i) + 1).sum();
    let height = axis + row * rows as f64 + 10.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"incident timeline\">\
         <defs><marker id=\"link-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#777\"/></marker></defs>"
    );
    for tick in 0..=4 {
        let fraction = f64::from(tick) / 4.0;
        let at = t0 + netsec_model::Duration::from_secs_f64(span * fraction);
        let tx = left + plot * fraction;
        let anchor = match tick {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{height}\" stroke=\"#eee\"/><text x=\"{tx:.1}\" y=\"14\" text-anchor=\"{anchor}\">{}</text>",
            axis - 12.0,
            // the date once, then times of day
            if tick == 0 {
                esc(&stix_time(at).replace('T', " "))
            } else {
                stix_time(at).get(11..19).unwrap_or_default().to_string()
            }
        );
    }
    let mut y = axis;
    for incident in drawn {
        let _ = write!(
            svg,
            "<a href=\"#{id}\"><text x=\"4\" y=\"{:.1}\" font-weight=\"bold\">{id} ({})</text></a>",
            y + 14.0,
            incident.severity,
            id = esc(&incident.id)
        );
        let first_row = y + row;
        let row_of = |index: usize| first_row + row * index as f64 + row / 2.0;
        for link in incident.links.iter().filter(|l| l.to < MAX_DRAWN_STEPS) {
            let (Some(a), Some(b)) = (incident.steps.get(link.from), incident.steps.get(link.to))
            else {
                continue;
            };
            let (xa, ya, xb, yb) = (
                x(a.time.start),
                row_of(link.from),
                x(b.time.start),
                row_of(link.to),
            );
            let _ = write!(
                svg,
                "<path d=\"M{xa:.1},{ya:.1} C{xa:.1},{yb:.1} {xa:.1},{yb:.1} {:.1},{yb:.1}\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"3,2\" marker-end=\"url(#link-arrow)\"><title>{:?} via {}</title></path>",
                (xb - 7.0).max(xa),
                link.reason,
                link.via
            );
        }
        for s in incident.steps.iter().take(MAX_DRAWN_STEPS) {
            let cy = row_of(s.index);
            let (xs, xe) = (x(s.time.start), x(s.time.end));
            let colour = phase_colour(s.phase);
            let label: String = format!(
                "{} {}",
                s.kind,
                s.actors.first().map_or(String::new(), |a| a.to_string())
            )
            .chars()
            .take(34)
            .collect();
            let _ = write!(
                svg,
                "<a href=\"#{id}-step-{n}\"><g class=\"step\"><title>{} {} – {}: {}</title>\
                 <text x=\"14\" y=\"{:.1}\">{}</text>\
                 <rect x=\"{xs:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" rx=\"3\" fill=\"{colour}\" opacity=\"0.6\"/>\
                 <circle class=\"step\" cx=\"{xs:.1}\" cy=\"{cy:.1}\" r=\"6\" fill=\"{colour}\"/></g></a>",
                esc(&s.title),
                stix_time(s.time.start),
                s.phase.map_or("—", |p| p.name()),
                esc(&s.summary),
                cy + 4.0,
                esc(&label),
                cy - 4.0,
                (xe - xs).max(3.0),
                id = esc(&incident.id),
                n = s.index
            );
        }
        y += row * (shown(incident) + 1) as f64;
    }
    svg.push_str("</svg>");
    let hidden_steps: usize = drawn.iter().map(|i| i.steps.len() - shown(i)).sum();
    let hidden_incidents = timeline.incidents.len() - drawn.len();
    if hidden_steps + hidden_incidents > 0 {
        let _ = write!(
            svg,
            "<p><small>Not drawn: {hidden_incidents} less severe incidents and {hidden_steps} steps past the first {MAX_DRAWN_STEPS} of an incident; all are listed below.</small></p>"
        );
    }
    svg
}

/// Incidents the SVG timeline draws.
const MAX_DRAWN_INCIDENTS: usize = 40;
/// Steps drawn per incident.
const MAX_DRAWN_STEPS: usize = 60;

/// Hosts on a circle, arrows for who reached whom (width by flows).
fn graph_svg(timeline: &Timeline) -> String {
    let mut hosts: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for e in &timeline.host_graph {
        let n = hosts.len();
        hosts.entry(e.from).or_insert(n);
        let n = hosts.len();
        hosts.entry(e.to).or_insert(n);
    }
    if hosts.is_empty() {
        return "<p>No hosts.</p>".into();
    }
    let (size, radius) = (560.0_f64, 200.0_f64);
    let centre = size / 2.0;
    let count = hosts.len() as f64;
    let position = |i: usize| {
        let angle = std::f64::consts::TAU * i as f64 / count - std::f64::consts::FRAC_PI_2;
        (centre + radius * angle.cos(), centre + radius * angle.sin())
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph-svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"host graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"10\" markerHeight=\"10\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>"
    );
    for e in &timeline.host_graph {
        let (Some(&a), Some(&b)) = (hosts.get(&e.from), hosts.get(&e.to)) else {
            continue;
        };
        let ((x1, y1), (x2, y2)) = (position(a), position(b));
        // stop at the target circle's edge, so the arrow head shows
        let length = (x2 - x1).hypot(y2 - y1).max(1.0);
        let (x2, y2) = (
            x2 - (x2 - x1) / length * 14.0,
            y2 - (y2 - y1) / length * 14.0,
        );
        let width = 1.0 + (e.flows as f64).ln_1p();
        let _ = write!(
            svg,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#555\" stroke-width=\"{width:.1}\" marker-end=\"url(#arrow)\"><title>{} → {}: {} flows, {} bytes; {}</title></line>",
            e.from,
            e.to,
            e.flows,
            e.bytes,
            esc(&e.kinds.join(", "))
        );
    }
    for (ip, i) in &hosts {
        let (cx, cy) = position(*i);
        let _ = write!(
            svg,
            "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"12\" fill=\"#555555\"/><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{ip}</text>",
            cy - 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_detect::timeline::{TimelineBuilder, TimelineConfig};
    use netsec_model::{
        EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp,
    };

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let f = Finding::new(
            "beacon",
            "Beacon <script>",
            FindingCategory::CommandAndControl,
            Severity::High,
            0.9,
            TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000, 0)),
            "x",
        )
        .with_entity(
            EntityRole::Source,
            EntityValue::Host {
                ip: IpAddr::from([10, 0, 0, 2]),
            },
        )
        .with_entity(
            EntityRole::Related,
            EntityValue::Host {
                ip: IpAddr::from([198, 51, 100, 7]),
            },
        );
        let timeline = TimelineBuilder::new(TimelineConfig::default())
            .findings([f])
            .build();
        let page = html_report(&timeline, &IndicatorSet::default(), "Report");
        assert!(page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\""));
        assert!(page.contains("id=\"graph-svg\""));
        assert!(page.contains("Beacon &lt;script&gt;"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http://") || !page.contains("src=\"http"));
        assert!(!page.contains("<link"));
    }
}
