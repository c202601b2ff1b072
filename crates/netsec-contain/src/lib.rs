//! Containment and policy evaluation for netsec.
//!
//! - [`firewall`]: from a run's findings and flows, the smallest set of block
//!   rules that contains the incident, its risk, and the rules rendered for
//!   nftables, iptables, pf, Cisco, Juniper, AWS, Azure, Windows, Suricata
//!   and RPZ.
//! - [`k8s`]: Kubernetes NetworkPolicy reachability — which workloads and
//!   external ranges may talk to which.
//!
//! # Example
//!
//! ```
//! use netsec_contain::k8s::{connections, load_str, Cluster};
//!
//! let yaml = r#"
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: web, namespace: shop}
//! spec:
//!   template:
//!     metadata: {labels: {app: web}}
//!     spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
//! ---
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: db, namespace: shop}
//! spec:
//!   template:
//!     metadata: {labels: {app: db}}
//!     spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
//! ---
//! apiVersion: networking.k8s.io/v1
//! kind: NetworkPolicy
//! metadata: {name: db-from-web, namespace: shop}
//! spec:
//!   podSelector: {matchLabels: {app: db}}
//!   ingress:
//!   - from: [{podSelector: {matchLabels: {app: web}}}]
//!     ports: [{port: 5432}]
//! "#;
//! let mut cluster = Cluster::default();
//! load_str(&mut cluster, yaml, "example.yaml");
//! let lines: Vec<String> = connections(&cluster).iter().map(|c| c.to_string()).collect();
//! assert!(lines.contains(&"shop/web[Deployment] => shop/db[Deployment] : TCP 5432".to_string()));
//! assert!(!lines.iter().any(|l| l.contains("=> shop/db[Deployment]") && l.starts_with("0.0.0.0")));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod firewall;
pub mod k8s;
