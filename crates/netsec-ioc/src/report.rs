//! The incident report: one self-contained HTML page.

use netsec_detect::timeline::Timeline;

use crate::indicator::IndicatorSet;

/// The timeline and the indicators as one HTML page.
pub fn html_report(_timeline: &Timeline, _indicators: &IndicatorSet, _title: &str) -> String {
    String::new()
}
