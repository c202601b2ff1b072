//! One module per subcommand.
pub mod analyze;
pub mod config;
pub mod k8s;
pub mod rules;
pub mod scan;
