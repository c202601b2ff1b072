//! Where records go as they are made: a [`RecordSink`] per shard, either
//! the ECS directory ([`EcsLogs`]: JSON-lines files, one per kind —
//! `flows.jsonl`, `dns.jsonl`, …, `findings.jsonl` — in Elastic Common
//! Schema form) or the embedder's own.
//!
//! Each shard serialises into its own buffers and hands full buffers to the
//! shared [`LogFiles`], whose writer thread appends them to the files: the
//! shards serialise in parallel, and no analysing thread waits for a
//! `write`. A full buffer goes to its file in one `write`: the files have no
//! buffer of their own, so each line is copied once, into the shard's
//! buffer. Written buffers come back to be filled again.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
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

/// Full buffers waiting for the writer thread, at most: with
/// [`FLUSH_AT`]-sized buffers, about a megabyte. A shard that fills them
/// faster than the files take them waits.
const QUEUED_BUFFERS: usize = 8;

/// Written buffers kept for reuse, at most.
const SPARE_BUFFERS: usize = 8;

/// What the writer thread is sent.
enum ToWriter {
    /// Append these bytes to the file of this kind; the buffer comes back
    /// through the spares.
    Append(&'static str, Vec<u8>),
    /// Flush every file and answer with the first error of the run, after
    /// everything sent before.
    Finish(SyncSender<Result<(), String>>),
}

/// The open log files of one run, written by a thread of their own, or by
/// the shards under the lock when every core already runs one.
#[derive(Debug)]
pub struct LogFiles {
    /// Who writes the files.
    writing: Writing,
    /// Emptied buffers the writer hands back, for the shards to fill again.
    spares: Arc<Mutex<Vec<Vec<u8>>>>,
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

/// Who writes a run's log files.
#[derive(Debug)]
enum Writing {
    /// A thread of their own, which holds them.
    Thread(SyncSender<ToWriter>),
    /// Each shard, under the files' lock.
    Shards(FileSet),
}

/// The files and the first error writing them.
#[derive(Debug)]
struct FileSet {
    dir: PathBuf,
    files: HashMap<&'static str, File>,
    /// The first error of the run; nothing is written after it.
    error: Option<String>,
}

impl FileSet {
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

    fn finish(&mut self) -> Result<(), String> {
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

    /// The writer thread: appends buffers in the order they arrive, until
    /// every sender is gone.
    fn write_all_sent(mut self, from: Receiver<ToWriter>, spares: Arc<Mutex<Vec<Vec<u8>>>>) {
        for message in from {
            match message {
                ToWriter::Append(kind, bytes) => {
                    self.append(kind, &bytes);
                    give_back(&spares, bytes);
                }
                ToWriter::Finish(answer) => {
                    // The asker may have gone; nothing to do then.
                    let _ = answer.send(self.finish());
                }
            }
        }
    }
}

/// A written buffer, emptied, back to the spares (unless they are full).
fn give_back(spares: &Mutex<Vec<Vec<u8>>>, mut bytes: Vec<u8>) {
    bytes.clear();
    if let Ok(mut spares) = spares.lock() {
        if spares.len() < SPARE_BUFFERS {
            spares.push(bytes);
        }
    }
}

impl LogFiles {
    /// Create `dir` (if needed) and the always-present files. With
    /// `writer_thread`, a thread of their own writes them (for runs with a
    /// core to spare: the analysing threads never wait for a `write`);
    /// without, each shard appends its full buffers itself, under the lock.
    pub fn create(dir: &Path, writer_thread: bool) -> std::io::Result<Arc<Mutex<LogFiles>>> {
        std::fs::create_dir_all(dir)?;
        let mut files = FileSet {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            error: None,
        };
        for kind in ALWAYS_CREATED {
            files.file(kind)?;
        }
        let spares = Arc::new(Mutex::new(Vec::new()));
        if !writer_thread {
            return Ok(Arc::new(Mutex::new(LogFiles {
                writing: Writing::Shards(files),
                spares,
                unanswered: UnansweredUse::default(),
            })));
        }
        let (to_writer, from) = mpsc::sync_channel(QUEUED_BUFFERS);
        // The thread ends by itself once every sender (these files' and
        // each shard's buffers') is gone; `finish` waits for what was sent.
        let writer_spares = Arc::clone(&spares);
        std::thread::Builder::new()
            .name("netsec-log-writer".into())
            .spawn(move || files.write_all_sent(from, writer_spares))?;
        Ok(Arc::new(Mutex::new(LogFiles {
            writing: Writing::Thread(to_writer),
            spares,
            unanswered: UnansweredUse::default(),
        })))
    }

    /// What the writers' unanswered-query tables used (complete once every
    /// writer is dropped).
    pub fn unanswered_use(&self) -> UnansweredUse {
        self.unanswered
    }

    /// Wait until everything handed over so far is written, and flush; the
    /// first write error of the run, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        let to_writer = match &mut self.writing {
            Writing::Shards(files) => return files.finish(),
            Writing::Thread(to_writer) => to_writer,
        };
        let gone = || "the log writer thread stopped".to_string();
        let (answer, answered) = mpsc::sync_channel(1);
        to_writer
            .send(ToWriter::Finish(answer))
            .map_err(|_| gone())?;
        answered.recv().map_err(|_| gone())?
    }
}

/// One worker's pending lines.
#[derive(Debug)]
pub struct LogBuffers {
    shared: Arc<Mutex<LogFiles>>,
    /// To the files' writer thread.
    to_writer: Option<SyncSender<ToWriter>>,
    /// Buffers the writer emptied, shared by every shard.
    spares: Arc<Mutex<Vec<Vec<u8>>>>,
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
        let (to_writer, spares) = match shared.lock() {
            Ok(files) => {
                let to_writer = match &files.writing {
                    Writing::Thread(to_writer) => Some(to_writer.clone()),
                    Writing::Shards(_) => None,
                };
                (to_writer, Arc::clone(&files.spares))
            }
            Err(_) => (None, Arc::default()),
        };
        LogBuffers {
            shared,
            to_writer,
            spares,
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
            let buf = self.spare_buffer();
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
            let spare = self.spare_buffer();
            let full = std::mem::replace(self.buffer(kind), spare);
            self.hand_over(kind, full);
        }
    }

    /// An empty buffer with room for [`FLUSH_AT`] and a line more: one the
    /// writer has emptied, or a new one.
    fn spare_buffer(&self) -> Vec<u8> {
        self.spares
            .lock()
            .ok()
            .and_then(|mut spares| spares.pop())
            .unwrap_or_else(|| Vec::with_capacity(FLUSH_AT + LINE_SLACK))
    }

    /// Send `bytes` to the writer thread, to be appended to `kind`'s file,
    /// or append them here when the shards write. When the writer is gone,
    /// the lines are lost and [`LogFiles::finish`] reports it.
    fn hand_over(&self, kind: &'static str, bytes: Vec<u8>) {
        if let Some(to_writer) = &self.to_writer {
            let _ = to_writer.send(ToWriter::Append(kind, bytes));
            return;
        }
        if let Ok(mut shared) = self.shared.lock() {
            if let Writing::Shards(files) = &mut shared.writing {
                files.append(kind, &bytes);
            }
        }
        give_back(&self.spares, bytes);
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
                self.hand_over(kind, bytes);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` lines of about 100 bytes for `kind` from one worker, numbered
    /// after `tag`.
    fn write_lines(buffers: &mut LogBuffers, kind: &'static str, tag: &str, n: usize) {
        for i in 0..n {
            let line = serde_json::json!({ "worker": tag, "n": i, "pad": "x".repeat(64) });
            buffers.line(kind, &line);
        }
    }

    #[test]
    fn every_line_reaches_its_file_in_each_workers_order() {
        for writer_thread in [true, false] {
            lines_of_two_workers_reach_their_files(writer_thread);
        }
    }

    /// Log files in a new temporary directory, written by a thread of their
    /// own or not.
    fn files_in_temp_dir(writer_thread: bool) -> (tempfile::TempDir, Arc<Mutex<LogFiles>>) {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::create(dir.path(), writer_thread).unwrap();
        (dir, files)
    }

    fn lines_of_two_workers_reach_their_files(writer_thread: bool) {
        let (dir, files) = files_in_temp_dir(writer_thread);
        // Several hand-overs per worker (each buffer holds about 1,300 of
        // these lines), two workers on threads of their own.
        let lines = 5_000;
        let workers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|tag| {
                let files = Arc::clone(&files);
                std::thread::spawn(move || {
                    let mut buffers = LogBuffers::new(files);
                    write_lines(&mut buffers, "alerts", tag, lines);
                    write_lines(&mut buffers, "flows", tag, 10);
                    buffers.finish().unwrap();
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        files.lock().unwrap().finish().unwrap();
        for (kind, per_worker) in [("alerts", lines), ("flows", 10)] {
            let text = std::fs::read_to_string(dir.path().join(format!("{kind}.jsonl"))).unwrap();
            for tag in ["a", "b"] {
                let numbers: Vec<u64> = text
                    .lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                    .filter(|v| v["worker"] == tag)
                    .map(|v| v["n"].as_u64().unwrap())
                    .collect();
                let expected: Vec<u64> = (0..per_worker as u64).collect();
                assert_eq!(numbers, expected, "{kind} lines of worker {tag}");
            }
        }
        // Buffers came back from the writer to be filled again, and no
        // more than the cap are kept.
        let spares = files.lock().unwrap().spares.lock().unwrap().len();
        assert!(
            (1..=SPARE_BUFFERS).contains(&spares),
            "{spares} spare buffers"
        );
    }

    #[test]
    fn a_file_that_cannot_be_written_fails_the_finish_with_its_path() {
        for writer_thread in [true, false] {
            a_failed_write_is_reported(writer_thread);
        }
    }

    fn a_failed_write_is_reported(writer_thread: bool) {
        let (dir, files) = files_in_temp_dir(writer_thread);
        // A directory where dns.jsonl would go: creating the file fails,
        // also for root.
        std::fs::create_dir(dir.path().join("dns.jsonl")).unwrap();
        let mut buffers = LogBuffers::new(Arc::clone(&files));
        write_lines(&mut buffers, "dns", "a", 3);
        write_lines(&mut buffers, "flows", "a", 3);
        buffers.finish().unwrap();
        let error = files.lock().unwrap().finish().unwrap_err();
        assert!(error.contains("dns.jsonl"), "{error}");
        // The first error stops the writing: later lines are not appended.
        let flows = std::fs::read_to_string(dir.path().join("flows.jsonl")).unwrap();
        assert_eq!(flows.lines().count(), 0, "{flows}");
    }
}
