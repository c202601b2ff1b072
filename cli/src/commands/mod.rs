//! One module per subcommand.
pub mod analyze;
pub mod k8s;
pub mod scan;
