//! Connections added, removed and changed between two versions of a
//! cluster's manifests, for review in CI.

use std::collections::BTreeMap;
use std::fmt;

use super::conn::ConnSet;
use super::reach::{Connection, Peer};

/// One difference between two connection lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionChange {
    /// Allowed only in the new version.
    Added(Connection),
    /// Allowed only in the old version.
    Removed(Connection),
    /// Allowed in both, with different protocols or ports.
    Changed {
        /// Source.
        src: Peer,
        /// Destination.
        dst: Peer,
        /// What the old version allows.
        old: ConnSet,
        /// What the new version allows.
        new: ConnSet,
    },
}

impl fmt::Display for ConnectionChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionChange::Added(c) => write!(f, "added: {c}"),
            ConnectionChange::Removed(c) => write!(f, "removed: {c}"),
            ConnectionChange::Changed { src, dst, old, new } => {
                write!(f, "changed: {src} => {dst} : {old} -> {new}")
            }
        }
    }
}

/// The changes from `old` to `new`: removed and changed in the old list's
/// order, then added in the new list's order.
pub fn diff_connections(old: &[Connection], new: &[Connection]) -> Vec<ConnectionChange> {
    let key = |c: &Connection| (c.src.to_string(), c.dst.to_string(), c.network.clone());
    type Key = (String, String, Option<String>);
    let new_index: BTreeMap<Key, &Connection> = new.iter().map(|c| (key(c), c)).collect();
    let old_index: BTreeMap<Key, &Connection> = old.iter().map(|c| (key(c), c)).collect();
    let mut out = Vec::new();
    for c in old {
        match new_index.get(&key(c)) {
            None => out.push(ConnectionChange::Removed(c.clone())),
            Some(n) if n.conns != c.conns => out.push(ConnectionChange::Changed {
                src: c.src.clone(),
                dst: c.dst.clone(),
                old: c.conns.clone(),
                new: n.conns.clone(),
            }),
            Some(_) => {}
        }
    }
    out.extend(
        new.iter()
            .filter(|c| !old_index.contains_key(&key(c)))
            .map(|c| ConnectionChange::Added(c.clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::{connections, load_str, Cluster};

    const PODS: &str = "kind: Pod\nmetadata: {name: web, namespace: n, labels: {app: web}}\nspec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n---\nkind: Pod\nmetadata: {name: db, namespace: n, labels: {app: db}}\nspec: {}\n";
    const DB_FROM_WEB: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: n}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]\n";

    fn conns(text: &str) -> Vec<Connection> {
        let mut c = Cluster::default();
        load_str(&mut c, text, "t.yaml");
        connections(&c)
    }

    #[test]
    fn a_new_policy_shows_as_removed_and_changed_connections() {
        let old = conns(PODS);
        let new = conns(&format!("{PODS}{DB_FROM_WEB}"));
        let lines: Vec<String> = diff_connections(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "removed: 0.0.0.0-255.255.255.255[External] => n/db[Pod] : All Connections",
                "changed: n/web[Pod] => n/db[Pod] : All Connections -> TCP 5432",
            ]
        );
        assert!(diff_connections(&new, &new).is_empty());
        let back: Vec<String> = diff_connections(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(back.contains(
            &"added: 0.0.0.0-255.255.255.255[External] => n/db[Pod] : All Connections".to_string()
        ));
    }
}
