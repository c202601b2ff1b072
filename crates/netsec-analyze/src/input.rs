//! What a run reads: capture files (and directories of them), any byte
//! stream, or a live interface.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netsec_capture::LiveOptions;

/// Capture file extensions picked up when a directory is given.
pub const CAPTURE_EXTENSIONS: [&str; 6] = ["pcap", "pcapng", "cap", "dmp", "gz", "zst"];

/// One input of a run.
pub enum Input {
    /// A capture file (pcap or pcapng, plain, gzip or zstd), a directory
    /// of them (every capture below it, sorted by path), or `-` for
    /// standard input.
    Path(PathBuf),
    /// Any byte stream holding a capture; `name` is used in messages.
    Reader {
        /// Name for messages and the summary.
        name: String,
        /// The bytes.
        reader: Box<dyn Read + Send>,
    },
    /// A live interface (needs root or CAP_NET_RAW).
    Interface {
        /// Interface name (`eth0`).
        name: String,
        /// Stop after this long (wall clock).
        duration: Option<Duration>,
        /// Stop after this many packets.
        count: Option<u64>,
        /// Snap length, promiscuous mode, read timeout.
        options: LiveOptions,
    },
}

impl Input {
    /// A file, directory or `-`.
    pub fn path(path: impl Into<PathBuf>) -> Input {
        Input::Path(path.into())
    }

    /// A byte stream.
    pub fn reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Input {
        Input::Reader {
            name: name.into(),
            reader: Box::new(reader),
        }
    }

    /// A live interface, captured until the run is cancelled.
    pub fn interface(name: impl Into<String>) -> Input {
        Input::Interface {
            name: name.into(),
            duration: None,
            count: None,
            options: LiveOptions::default(),
        }
    }

    /// Whether every thread can open this input on its own (a file).
    pub(crate) fn reopenable(&self) -> bool {
        matches!(self, Input::Path(p) if p.as_os_str() != "-")
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Path(p) => write!(f, "Path({})", p.display()),
            Input::Reader { name, .. } => write!(f, "Reader({name})"),
            Input::Interface { name, .. } => write!(f, "Interface({name})"),
        }
    }
}

/// Expand directories into the capture files below them (sorted by path,
/// at most 16 levels deep, so link loops end); other paths stay as given.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            collect_captures(p, &mut found, 0);
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn collect_captures(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_captures(&path, found, depth + 1);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CAPTURE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
}

/// A distinct output directory name per input, for one analysis per file
/// (`netsec analyze --each`): the file's stem (`x` for `a/x.pcap`), or, when
/// two inputs share a stem (`a/x.pcap`, `b/x.pcap`), the path with its
/// separators as `_` (`a_x.pcap`, `b_x.pcap`), numbered if even that repeats.
pub fn distinct_output_names(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty() && s != "-")
            .unwrap_or_else(|| "stdin".into())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    let mut names: Vec<String> = paths
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.components()
                    .filter_map(|c| match c {
                        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("_")
            } else {
                s.clone()
            }
        })
        .collect();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for n in &mut names {
        let count = seen.entry(n.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            n.push_str(&format!("-{count}"));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_are_distinct() {
        let paths: Vec<PathBuf> = ["a/x.pcap", "b/x.pcap", "c/y.pcapng", "x.pcap", "x.pcap"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let names = distinct_output_names(&paths);
        assert_eq!(names, ["a_x.pcap", "b_x.pcap", "y", "x.pcap", "x.pcap-2"]);
    }
}
