//! Why a run failed.

/// A run that could not complete. An input that cannot be read is not an
/// error of the run: it is reported in the summary's inputs (with
/// [`crate::Summary::input_failed`]) and the other inputs are analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// No input was given, or the directories held no capture.
    #[error("no input to analyse{0}")]
    NoInput(String),
    /// A thread of the run failed (a bug, reported with what it was doing);
    /// its share of the results is missing, so the run is not trusted.
    #[error("a {0} thread failed; its share of the results is missing")]
    ThreadFailed(&'static str),
    /// The logs could not be written.
    #[error("{0}")]
    Logs(String),
    /// The packet filter does not parse.
    #[error("invalid filter: {0}")]
    Filter(String),
    /// Live capture could not start.
    #[error(transparent)]
    Capture(#[from] netsec_capture::CaptureError),
}
