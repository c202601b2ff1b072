//! One module per subcommand.
pub mod analyze;
pub mod baseline;
pub mod config;
pub mod contain;
pub mod detectors;
pub mod dns;
pub mod ioc;
pub mod k8s;
pub mod rules;
pub mod scan;
pub mod timeline;
pub mod tls;
