//! What can go wrong reading saved findings or writing an export.

use std::path::PathBuf;

/// An error of this crate, with the file and line it concerns.
#[derive(Debug, thiserror::Error)]
pub enum IocError {
    /// A findings file could not be read.
    #[error("reading findings from {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a findings file is neither a netsec finding nor an ECS
    /// finding document (the lines before it were kept).
    #[error("{path}:{line}: not a finding ({reason})")]
    Finding {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// An export could not be serialised or written.
    #[error("writing {what}: {reason}")]
    Write {
        /// Which export (`STIX bundle`, `CSV`, …).
        what: &'static str,
        /// Why.
        reason: String,
    },
}
