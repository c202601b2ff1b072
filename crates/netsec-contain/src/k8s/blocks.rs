//! The external peers of one direction: IPv4 ranges cut the way
//! netpol-analyzer cuts them, so the lists of the two tools line up.
//!
//! netpol-analyzer (`eval.PolicyEngine.getDisjointIPBlocks`, with
//! `netset.DisjointIPBlocks` of np-guard/models v0.5.7) takes every block
//! the direction's rules reference — each `ipBlock` as its CIDR minus its
//! `except`s, cut into its contiguous ranges; each admin `networks` CIDR on
//! the egress side — and the whole address space, orders them by size
//! (smallest first) and adds them one by one: a block already placed that a
//! new one overlaps is split into the overlap and the rest, and the part of
//! the new block no placed block covers becomes new ranges, one per
//! contiguous stretch.
//!
//! The result is not "cut at every boundary": a boundary belongs to the
//! output only where some referenced block begins or ends *as a set of
//! addresses*. `ipBlock 10.0.0.0/8 except 10.128.0.0/9` cuts at 10.128.0.0
//! but not at 11.0.0.0, so 10.128.0.0-255.255.255.255 is one peer; and
//! ranges with the same connectivity stay apart when a block separates
//! them (netpol-analyzer does not merge by connectivity).
//!
//! Every referenced block is a union of output ranges, so each range lies
//! wholly inside or outside each rule's block, which is what
//! `reach::peer_matches` relies on. Because the inputs are ranges and are
//! added smallest first, a new block never falls strictly inside a placed
//! one, so every piece stays one contiguous range (netpol-analyzer would
//! print `a-b,c-d` otherwise; it cannot happen).

use super::admin::AdminPeer;
use super::manifest::Cluster;
use super::PolicyPeer;

/// An inclusive IPv4 range, first and last address.
type Range = (u32, u32);

/// The disjoint external ranges of one direction (`ingress_side`: sources
/// of ingress rules; otherwise destinations of egress rules, admin
/// `networks` included), covering the address space, sorted.
pub(crate) fn external_blocks(cluster: &Cluster, ingress_side: bool) -> Vec<Range> {
    let mut referenced = Vec::new();
    for p in &cluster.policies {
        let rules = if ingress_side { &p.ingress } else { &p.egress };
        for peer in rules.iter().flat_map(|r| &r.peers) {
            if let PolicyPeer::IpBlock { cidr, except } = peer {
                referenced.extend(subtract(*cidr, except));
            }
        }
    }
    if !ingress_side {
        for p in cluster.admin.iter().chain(cluster.baseline.as_ref()) {
            for peer in p.egress.iter().flat_map(|r| &r.peers) {
                if let AdminPeer::Networks(nets) = peer {
                    referenced.extend(nets.iter().copied());
                }
            }
        }
    }
    disjoint(referenced)
}

/// `whole` minus the `holes`, as contiguous ranges in address order.
fn subtract(whole: Range, holes: &[Range]) -> Vec<Range> {
    let mut holes: Vec<Range> = holes
        .iter()
        .filter(|h| h.0 <= whole.1 && whole.0 <= h.1)
        .copied()
        .collect();
    holes.sort_unstable();
    let mut out = Vec::new();
    // Next address not yet handed out or excluded; u64 so it can pass 2^32-1.
    let mut next = u64::from(whole.0);
    for (a, b) in holes {
        if u64::from(a) > next {
            out.push((next as u32, a - 1));
        }
        next = next.max(u64::from(b) + 1);
    }
    if next <= u64::from(whole.1) {
        out.push((next as u32, whole.1));
    }
    out
}

fn size(r: Range) -> u64 {
    u64::from(r.1) - u64::from(r.0) + 1
}

/// The partition of the address space that adding `referenced` and then
/// the whole space, smallest first, produces (see the module doc).
fn disjoint(mut referenced: Vec<Range>) -> Vec<Range> {
    referenced.push((0, u32::MAX));
    // Stable: blocks of one size keep the order of the manifests.
    referenced.sort_by_key(|r| size(*r));
    let mut placed: Vec<Range> = Vec::new();
    for new in referenced {
        let mut split_off = Vec::new();
        let mut kept = Vec::with_capacity(placed.len());
        for &old in &placed {
            let (lo, hi) = (old.0.max(new.0), old.1.min(new.1));
            if lo > hi || (lo, hi) == old {
                kept.push(old);
                continue;
            }
            split_off.push((lo, hi));
            kept.extend(subtract(old, &[(lo, hi)]));
        }
        kept.extend(subtract(new, &placed));
        kept.extend(split_off);
        placed = kept;
    }
    placed.sort_unstable();
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::load_str;

    fn ip(s: &str) -> u32 {
        s.parse::<std::net::Ipv4Addr>().map(u32::from).unwrap_or(0)
    }

    fn range(a: &str, b: &str) -> Range {
        (ip(a), ip(b))
    }

    /// The cluster of `yaml` (which must load cleanly) and its listed
    /// connections from external ranges.
    fn inbound_external_lines(yaml: &str) -> (Cluster, Vec<String>) {
        let mut cluster = Cluster::default();
        load_str(&mut cluster, yaml, "t.yaml");
        assert!(cluster.warnings.is_empty(), "{:?}", cluster.warnings);
        let mut lines = crate::k8s::reach::connection_lines(&cluster);
        lines.retain(|l| l.contains("[External] =>"));
        (cluster, lines)
    }

    #[test]
    fn an_except_cuts_where_the_set_changes_not_at_the_cidr_end() {
        // ipBlock 10.0.0.0/8 except 10.128.0.0/9 is the set 10.0.0.0/9:
        // 10.128.0.0-10.255.255.255 and what follows 11.0.0.0 are in no
        // referenced block alike, so they are one peer.
        let blocks = disjoint(subtract(
            range("10.0.0.0", "10.255.255.255"),
            &[range("10.128.0.0", "10.255.255.255")],
        ));
        assert_eq!(
            blocks,
            vec![
                range("0.0.0.0", "9.255.255.255"),
                range("10.0.0.0", "10.127.255.255"),
                range("10.128.0.0", "255.255.255.255"),
            ]
        );
    }

    #[test]
    fn a_smaller_block_inside_a_larger_one_splits_it_and_is_not_merged_back() {
        // 10.0.0.0/9 and 10.0.0.0/8 referenced: the /8's rest is its own
        // peer even where its connectivity equals the /9's.
        let blocks = disjoint(vec![
            range("10.0.0.0", "10.255.255.255"),
            range("10.0.0.0", "10.127.255.255"),
        ]);
        assert_eq!(
            blocks,
            vec![
                range("0.0.0.0", "9.255.255.255"),
                range("10.0.0.0", "10.127.255.255"),
                range("10.128.0.0", "10.255.255.255"),
                range("11.0.0.0", "255.255.255.255"),
            ]
        );
    }

    #[test]
    fn overlapping_blocks_give_their_overlap_and_rests() {
        let blocks = disjoint(vec![
            range("10.0.0.0", "10.0.0.99"),
            range("10.0.0.50", "10.0.0.199"),
        ]);
        assert_eq!(
            blocks,
            vec![
                range("0.0.0.0", "9.255.255.255"),
                range("10.0.0.0", "10.0.0.49"),
                range("10.0.0.50", "10.0.0.99"),
                range("10.0.0.100", "10.0.0.199"),
                range("10.0.0.200", "255.255.255.255"),
            ]
        );
    }

    #[test]
    fn no_blocks_is_the_whole_space() {
        assert_eq!(disjoint(Vec::new()), vec![(0, u32::MAX)]);
        assert_eq!(subtract((0, u32::MAX), &[(0, u32::MAX)]), vec![]);
    }

    #[test]
    fn a_cluster_with_adjacent_excepted_ranges_lists_one_peer_for_them() {
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-ten, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.128.0.0/9]}
"#;
        let (cluster, lines) = inbound_external_lines(yaml);
        assert_eq!(
            lines,
            vec!["10.0.0.0-10.127.255.255[External] => shop/web[Pod] : All Connections"]
        );
        assert_eq!(
            external_blocks(&cluster, true),
            vec![
                range("0.0.0.0", "9.255.255.255"),
                range("10.0.0.0", "10.127.255.255"),
                range("10.128.0.0", "255.255.255.255"),
            ]
        );
    }

    #[test]
    fn adjacent_excepts_leave_one_range_that_the_block_does_not_match() {
        // The shape of netpol-analyzer's ipblockstest_3: everything but
        // 10.0.0.0/9 and 10.128.0.0/9 on port 53. 10.0.0.0/8 is one peer
        // (no referenced set changes at 10.128.0.0), and it is outside the
        // block although no single except contains it.
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: kube-system, labels: {app: dns}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: outside-only, namespace: kube-system}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/9, 10.128.0.0/9]}
    ports: [{port: 53, protocol: UDP}]
"#;
        let (cluster, lines) = inbound_external_lines(yaml);
        assert_eq!(
            lines,
            vec![
                "0.0.0.0-9.255.255.255[External] => kube-system/dns[Pod] : UDP 53",
                "11.0.0.0-255.255.255.255[External] => kube-system/dns[Pod] : UDP 53",
            ]
        );
        assert_eq!(
            external_blocks(&cluster, true),
            vec![
                range("0.0.0.0", "9.255.255.255"),
                range("10.0.0.0", "10.255.255.255"),
                range("11.0.0.0", "255.255.255.255"),
            ]
        );
    }
}
