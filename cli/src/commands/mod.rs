//! One module per subcommand.
pub mod analyze;
pub mod config;
pub mod ioc;
pub mod k8s;
pub mod scan;
pub mod timeline;
