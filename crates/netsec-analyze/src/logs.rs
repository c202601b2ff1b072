//! Where records go as they are made: a [`RecordSink`] per shard, either
//! the ECS directory ([`EcsLogs`]: JSON-lines files, one per kind —
//! `flows.jsonl`, `dns.jsonl`, …, `findings.jsonl` — in Elastic Common
//! Schema form) or the embedder's own.
//!
//! Each shard serialises into its own buffers and hands full buffers to the
//! shared [`LogFiles`] under a mutex, so serialisation runs in parallel and
//! only the appends are serialised. A full buffer goes to its file in one
//! `write`: the files have no buffer of their own, so each line is copied
//! once, into the shard's buffer.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netsec_model::ecs::{AlertDocument, ArpDocument, EventDocument, FindingDocument, FlowDocument};
use netsec_model::{Alert, AppEvent, ArpInfo, DnsEvent, Finding, FlowRecord};

use crate::dns_unanswered::UnansweredQueries;

/// Receives a shard's records as they are made (flows when they end,
/// application events, ARP). One sink per shard: records of one flow all
/// reach the same sink, but across sinks their order is the threads'.
/// Findings come from the detection stage instead (see
/// `Analysis::on_finding`).
pub trait RecordSink: Send {
    /// A flow ended.
    fn flow(&mut self, _flow: &FlowRecord) {}
    /// An application event.
    fn event(&mut self, _event: &AppEvent) {}
    /// An ARP packet.
    fn arp(&mut self, _arp: &ArpInfo) {}
    /// A signature alert (`alerts.jsonl`).
    fn alert(&mut self, _alert: &Alert) {}
    /// The shard is done: flush; an error fails the run.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Makes one [`RecordSink`] per shard.
pub type RecordSinkFactory = std::sync::Arc<dyn Fn() -> Box<dyn RecordSink> + Send + Sync>;

/// Buffer size at which a worker hands its lines to the files: each
/// hand-over is one `write` of at least this much. Each kind's buffer is
/// allocated once, with room for this and a long line more, so that it does
/// not grow (double) past it.
const FLUSH_AT: usize = 128 * 1024;

/// Room for lines past [`FLUSH_AT`] before a buffer has to grow.
const LINE_SLACK: usize = 32 * 1024;

/// Log kinds whose file exists even when empty, so scripts can rely on them.
const ALWAYS_CREATED: [&str; 2] = ["flows", "findings"];

/// The open log files of one run.
#[derive(Debug)]
pub struct LogFiles {
    dir: PathBuf,
    files: HashMap<&'static str, File>,
    error: Option<String>,
    /// The unanswered-query tables of the writers: their peaks summed, and
    /// the queries they could not track.
    unanswered: UnansweredUse,
}

/// What the writers' unanswered-query tables used, for the memory report.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnansweredUse {
    /// Their peak bytes, summed over writers (threads).
    pub peak: usize,
    /// Queries left untracked because a table was full.
    pub untracked: u64,
}

impl LogFiles {
    /// Create `dir` (if needed) and the always-present files.
    pub fn create(dir: &Path) -> std::io::Result<Arc<Mutex<LogFiles>>> {
        std::fs::create_dir_all(dir)?;
        let mut logs = LogFiles {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            error: None,
            unanswered: UnansweredUse::default(),
        };
        for kind in ALWAYS_CREATED {
            logs.file(kind)?;
        }
        Ok(Arc::new(Mutex::new(logs)))
    }

    fn file(&mut self, kind: &'static str) -> std::io::Result<&mut File> {
        if !self.files.contains_key(kind) {
            let path = self.dir.join(format!("{kind}.jsonl"));
            let f = File::create(&path)?;
            self.files.insert(kind, f);
        }
        self.files
            .get_mut(kind)
            .ok_or_else(|| std::io::Error::other("log file vanished"))
    }

    fn append(&mut self, kind: &'static str, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let dir = self.dir.display().to_string();
        match self.file(kind).and_then(|f| f.write_all(bytes)) {
            Ok(()) => {}
            Err(e) => self.error = Some(format!("writing {dir}/{kind}.jsonl: {e}")),
        }
    }

    /// What the writers' unanswered-query tables used (complete once every
    /// writer is dropped).
    pub fn unanswered_use(&self) -> UnansweredUse {
        self.unanswered
    }

    /// Flush everything; the first write error of the run, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        for (kind, f) in self.files.iter_mut() {
            if let Err(e) = f.flush() {
                if self.error.is_none() {
                    self.error = Some(format!("writing {}/{kind}.jsonl: {e}", self.dir.display()));
                }
            }
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

/// One worker's pending lines.
#[derive(Debug)]
pub struct LogBuffers {
    shared: Arc<Mutex<LogFiles>>,
    /// Lines not yet handed over, by kind: a handful of kinds, found by a
    /// short scan rather than hashed per line.
    pending: Vec<(&'static str, Vec<u8>)>,
    /// DNS queries awaiting their response, to mark those that get none.
    unanswered: UnansweredQueries,
    /// The table's use was reported to the files.
    reported: bool,
}

impl LogBuffers {
    /// Buffers feeding `shared`.
    pub fn new(shared: Arc<Mutex<LogFiles>>) -> Self {
        LogBuffers {
            shared,
            pending: Vec::new(),
            unanswered: UnansweredQueries::default(),
            reported: false,
        }
    }

    /// Hand the unanswered-query table's peak and untracked count to the
    /// files (once).
    fn report_unanswered(&mut self) {
        if self.reported {
            return;
        }
        self.reported = true;
        if let Ok(mut files) = self.shared.lock() {
            files.unanswered.peak += self.unanswered.peak();
            files.unanswered.untracked += self.unanswered.untracked();
        }
    }

    /// The pending buffer of `kind`, created on its first line.
    fn buffer(&mut self, kind: &'static str) -> &mut Vec<u8> {
        // Kinds are static names: found by their pointer, and by their
        // text only when two copies of one literal differ in address.
        let found = (self.pending.iter())
            .position(|(k, _)| std::ptr::eq(*k, kind))
            .or_else(|| self.pending.iter().position(|(k, _)| *k == kind));
        let at = found.unwrap_or_else(|| {
            let buf = Vec::with_capacity(FLUSH_AT + LINE_SLACK);
            self.pending.push((kind, buf));
            self.pending.len() - 1
        });
        // In range: found, or just pushed.
        &mut self.pending[at].1
    }

    fn line<T: serde::Serialize>(&mut self, kind: &'static str, doc: &T) {
        self.write_line(kind, |buf| crate::json::to_vec(buf, doc).is_ok());
    }

    /// Append one line written by `write` (false: it failed, and what it
    /// wrote is dropped) and hand the buffer over once it is full.
    fn write_line(&mut self, kind: &'static str, write: impl FnOnce(&mut Vec<u8>) -> bool) {
        let buf = self.buffer(kind);
        // Serialising our own types into a Vec cannot fail short of a bug in a
        // Serialize impl; such a line is dropped rather than aborting the run.
        let start = buf.len();
        if write(buf) {
            buf.push(b'\n');
        } else {
            buf.truncate(start);
        }
        if buf.len() >= FLUSH_AT {
            let mut bytes = std::mem::take(buf);
            self.hand_over(kind, &bytes);
            bytes.clear();
            *self.buffer(kind) = bytes;
        }
    }

    fn hand_over(&self, kind: &'static str, bytes: &[u8]) {
        if let Ok(mut files) = self.shared.lock() {
            files.append(kind, bytes);
        }
    }

    /// Log a finding.
    pub fn finding(&mut self, f: &Finding) {
        self.line("findings", &FindingDocument(f));
    }

    /// A DNS query no response answered, written again, marked.
    fn unanswered_query(&mut self, query: DnsEvent) {
        self.event_line(&AppEvent::Dns(query));
    }

    /// An event's line: DNS messages written by hand, the rest (and a DNS
    /// message with text to escape in its Community ID) serialised.
    fn event_line(&mut self, e: &AppEvent) {
        let doc = EventDocument(e);
        self.write_line(e.kind(), |buf| {
            doc.write_json(buf) || crate::json::to_vec(buf, &doc).is_ok()
        });
    }

    /// Write the queries the unanswered-query table hands over.
    fn with_unanswered(&mut self, f: impl FnOnce(&mut UnansweredQueries, &mut Vec<DnsEvent>)) {
        let mut marked = Vec::new();
        f(&mut self.unanswered, &mut marked);
        for q in marked {
            self.unanswered_query(q);
        }
    }

    /// Hand over everything still pending.
    pub fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for (kind, bytes) in pending {
            if !bytes.is_empty() {
                self.hand_over(kind, &bytes);
            }
        }
    }
}

impl RecordSink for LogBuffers {
    fn flow(&mut self, f: &FlowRecord) {
        // Written by hand (one line per connection); serialised when the
        // record holds text to escape.
        let doc = FlowDocument(f);
        self.write_line("flows", |buf| {
            doc.write_json(buf) || crate::json::to_vec(buf, &doc).is_ok()
        });
        self.with_unanswered(|table, out| table.flow_ended(f.id, &mut |q| out.push(q)));
    }

    fn event(&mut self, e: &AppEvent) {
        self.event_line(e);
        if let AppEvent::Dns(d) = e {
            self.with_unanswered(|table, out| table.event(d, &mut |q| out.push(q)));
        }
    }

    fn arp(&mut self, a: &ArpInfo) {
        self.line("arp", &ArpDocument(a));
    }

    fn alert(&mut self, a: &Alert) {
        self.line("alerts", &AlertDocument(a));
    }

    fn finish(&mut self) -> Result<(), String> {
        self.with_unanswered(|table, out| table.finish(&mut |q| out.push(q)));
        self.flush();
        self.report_unanswered();
        Ok(())
    }
}

impl Drop for LogBuffers {
    fn drop(&mut self) {
        self.with_unanswered(|table, out| table.finish(&mut |q| out.push(q)));
        self.flush();
        self.report_unanswered();
    }
}
