//! Weighted set cover: the cheapest set of candidate rules that covers every
//! malicious conversation.
//!
//! Each candidate covers some elements (malicious conversations) and costs
//! `1 + benign_weight × benign flows it blocks`. Candidates that another
//! covers at no greater cost are dropped, and elements covered by exactly
//! the same candidates are merged; when at most [`EXACT_LIMIT`] element
//! classes remain, a branch-and-bound search finds the optimum. Otherwise
//! the greedy rule (most newly covered elements per unit of cost, then a
//! pass that drops rules the others make redundant) is used, whose cost is
//! at most H(d) = 1 + 1/2 + … + 1/d times the optimum, d being the most
//! elements one candidate covers (Chvátal 1979).

use serde::Serialize;

/// Element classes up to which the search is exact.
pub const EXACT_LIMIT: usize = 64;

/// Search nodes after which the exact search gives up for the greedy answer.
const NODE_LIMIT: u64 = 2_000_000;

/// A set of elements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// No element of `n`.
    pub fn empty(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    /// Add element `i`.
    pub fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    /// Whether element `i` is in.
    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// How many elements.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// The elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + b)
            })
        })
    }
    fn subset_of(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
    fn count_minus(&self, covered: &Bits) -> usize {
        self.0
            .iter()
            .zip(&covered.0)
            .map(|(a, c)| (a & !c).count_ones() as usize)
            .sum()
    }
    fn union_with(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
}

/// How the chosen set was found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum CoverMethod {
    /// Nothing to cover.
    Trivial,
    /// Proven cheapest.
    Exact,
    /// Greedy: cost at most `bound` times the cheapest.
    Greedy {
        /// H(d).
        bound: f64,
    },
}

/// The chosen candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cover {
    /// Indices into the candidate list, ascending.
    pub chosen: Vec<usize>,
    /// Their total cost.
    pub cost: f64,
    /// How they were found.
    pub method: CoverMethod,
    /// Elements no candidate covers (none, when every element has its own
    /// exact candidate).
    pub uncovered: Vec<usize>,
}

/// Choose candidates covering all `elements` elements at least cost.
/// `covers[i]` is what candidate `i` covers and `costs[i]` its cost (> 0).
pub fn cover(elements: usize, covers: &[Bits], costs: &[f64]) -> Cover {
    // One cost per candidate: extra covers or costs are ignored.
    let n = covers.len().min(costs.len());
    let (covers, costs) = (&covers[..n], &costs[..n]);
    let mut reachable = Bits::empty(elements);
    for c in covers {
        reachable.union_with(c);
    }
    let uncovered: Vec<usize> = (0..elements).filter(|&i| !reachable.contains(i)).collect();
    if elements == uncovered.len() {
        return Cover {
            chosen: Vec::new(),
            cost: 0.0,
            method: CoverMethod::Trivial,
            uncovered,
        };
    }
    let live = undominated(covers, costs);
    let greedy = greedy(elements, covers, costs, &live, &reachable);
    let d = live.iter().map(|&i| covers[i].count()).max().unwrap_or(1);
    let bound: f64 = (1..=d).map(|k| 1.0 / k as f64).sum();
    let greedy_cost: f64 = greedy.iter().map(|&i| costs[i]).sum();
    let exact = exact(elements, covers, costs, &live, &reachable, greedy_cost);
    let (mut chosen, method) = match exact {
        Some(set) => (set, CoverMethod::Exact),
        None => (greedy, CoverMethod::Greedy { bound }),
    };
    chosen.sort_unstable();
    Cover {
        cost: chosen.iter().map(|&i| costs[i]).sum(),
        chosen,
        method,
        uncovered,
    }
}

/// Word comparisons past which the quadratic dominance pass is skipped
/// (the greedy rule does not need it; with that many candidates and
/// elements the exact search would not run anyway).
const DOMINANCE_WORK: usize = 20_000_000;

/// Candidates not dominated by another (covering at least as much at no
/// greater cost; of equals, the first). Empty candidates are dropped.
fn undominated(covers: &[Bits], costs: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..covers.len())
        .filter(|&i| covers[i].count() > 0)
        .collect();
    let words = covers.first().map_or(0, |b| b.0.len());
    if order
        .len()
        .saturating_mul(order.len())
        .saturating_mul(words)
        / 2
        > DOMINANCE_WORK
    {
        return order;
    }
    // Big cheap sets first, so a dominated set meets its dominator early.
    order.sort_by(|&a, &b| {
        covers[b]
            .count()
            .cmp(&covers[a].count())
            .then(costs[a].total_cmp(&costs[b]))
            .then(a.cmp(&b))
    });
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let dominated = kept
            .iter()
            .any(|&k| costs[k] <= costs[i] && covers[i].subset_of(&covers[k]));
        if !dominated {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept
}

fn greedy(
    elements: usize,
    covers: &[Bits],
    costs: &[f64],
    live: &[usize],
    target: &Bits,
) -> Vec<usize> {
    // Lazy greedy: a candidate's gain only falls as others are chosen, so
    // a stale gain is an upper bound; recompute the best one's and take it
    // if it still leads.
    let mut covered = Bits::empty(elements);
    let goal = target.count();
    let mut chosen = Vec::new();
    let mut heap: std::collections::BinaryHeap<(Gain, std::cmp::Reverse<usize>)> = live
        .iter()
        .map(|&i| {
            (
                Gain(covers[i].count() as f64 / costs[i]),
                std::cmp::Reverse(i),
            )
        })
        .collect();
    let mut done = 0;
    while done < goal {
        let Some((Gain(stale), std::cmp::Reverse(i))) = heap.pop() else {
            break;
        };
        let fresh = covers[i].count_minus(&covered) as f64 / costs[i];
        if fresh <= 0.0 {
            continue;
        }
        let leads = heap.peek().is_none_or(|(Gain(next), _)| fresh >= *next);
        if fresh < stale && !leads {
            heap.push((Gain(fresh), std::cmp::Reverse(i)));
            continue;
        }
        covered.union_with(&covers[i]);
        done = covered.count();
        chosen.push(i);
    }
    // Drop what the others make redundant, dearest first: a rule goes when
    // every element it covers is covered at least twice.
    // Sized by the sets' words: an element past `elements` in the last word
    // cannot index out of it.
    let capacity = covers.first().map_or(0, |b| b.0.len() * 64).max(elements);
    let mut times = vec![0u32; capacity];
    for &i in &chosen {
        for e in covers[i].iter() {
            times[e] += 1;
        }
    }
    let mut by_cost = chosen.clone();
    by_cost.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]));
    for i in by_cost {
        if covers[i].iter().all(|e| times[e] >= 2) {
            for e in covers[i].iter() {
                times[e] -= 1;
            }
            chosen.retain(|&j| j != i);
        }
    }
    chosen
}

/// A gain, ordered as a float (never NaN: costs are positive).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Gain(f64);

impl Eq for Gain {}

impl PartialOrd for Gain {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Gain {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Branch and bound over element classes; `None` when there are too many
/// classes or the search runs out of nodes.
fn exact(
    elements: usize,
    covers: &[Bits],
    costs: &[f64],
    live: &[usize],
    target: &Bits,
    upper: f64,
) -> Option<Vec<usize>> {
    // Element classes: elements with the same set of covering candidates.
    let mut classes: Vec<(Vec<usize>, usize)> = Vec::new();
    for e in (0..elements).filter(|&e| target.contains(e)) {
        let by: Vec<usize> = live
            .iter()
            .copied()
            .filter(|&i| covers[i].contains(e))
            .collect();
        match classes.iter_mut().find(|(c, _)| *c == by) {
            Some(_) => {}
            None => classes.push((by, e)),
        }
        if classes.len() > EXACT_LIMIT {
            return None;
        }
    }
    let n = classes.len();
    let full: u64 = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let masks: Vec<(usize, u64)> = live
        .iter()
        .map(|&i| {
            let mut m = 0u64;
            for (k, (by, _)) in classes.iter().enumerate() {
                if by.contains(&i) {
                    m |= 1 << k;
                }
            }
            (i, m)
        })
        .filter(|(_, m)| *m != 0)
        .collect();
    let mut search = Search {
        masks: &masks,
        costs,
        best_cost: upper + 1e-9,
        best: None,
        nodes: 0,
    };
    let mut path = Vec::new();
    search.run(0, full, 0.0, &mut path);
    if search.nodes > NODE_LIMIT {
        return None;
    }
    // The greedy answer is in the search space and costs less than the
    // starting bound, so a completed search always has a best.
    search.best
}

struct Search<'a> {
    masks: &'a [(usize, u64)],
    costs: &'a [f64],
    best_cost: f64,
    best: Option<Vec<usize>>,
    nodes: u64,
}

impl Search<'_> {
    fn run(&mut self, covered: u64, full: u64, cost: f64, path: &mut Vec<usize>) {
        self.nodes += 1;
        if self.nodes > NODE_LIMIT || cost >= self.best_cost {
            return;
        }
        if covered == full {
            self.best_cost = cost;
            self.best = Some(path.clone());
            return;
        }
        // Branch on the uncovered class with the fewest candidates.
        let open = full & !covered;
        let mut pick = None;
        let mut fewest = usize::MAX;
        let mut bits = open;
        while bits != 0 {
            let k = bits.trailing_zeros();
            bits &= bits - 1;
            let n = self.masks.iter().filter(|(_, m)| m & (1 << k) != 0).count();
            if n < fewest {
                fewest = n;
                pick = Some(k);
            }
        }
        let Some(k) = pick else { return };
        let mut options: Vec<(usize, u64)> = self
            .masks
            .iter()
            .copied()
            .filter(|(_, m)| m & (1 << k) != 0)
            .collect();
        options.sort_by(|a, b| {
            let ra = f64::from((a.1 & open).count_ones()) / self.costs[a.0];
            let rb = f64::from((b.1 & open).count_ones()) / self.costs[b.0];
            rb.total_cmp(&ra)
        });
        for (i, m) in options {
            path.push(i);
            self.run(covered | m, full, cost + self.costs[i], path);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize, items: &[usize]) -> Bits {
        let mut b = Bits::empty(n);
        for &i in items {
            b.insert(i);
        }
        b
    }

    #[test]
    fn one_broad_rule_beats_many_narrow_ones() {
        let n = 100;
        let mut covers: Vec<Bits> = (0..n).map(|i| set(n, &[i])).collect();
        let mut costs = vec![1.0; n];
        covers.push(set(n, &(0..n).collect::<Vec<_>>()));
        costs.push(1.0);
        let c = cover(n, &covers, &costs);
        assert_eq!(c.chosen, vec![n]);
        assert_eq!(c.method, CoverMethod::Exact);
    }

    #[test]
    fn a_broad_rule_that_blocks_benign_traffic_loses_to_two_narrow_ones() {
        // elements 0..4; broad covers all but costs 1 + 5 benign flows
        let covers = vec![set(4, &[0, 1, 2, 3]), set(4, &[0, 1]), set(4, &[2, 3])];
        let costs = vec![6.0, 1.0, 1.0];
        let c = cover(4, &covers, &costs);
        assert_eq!(c.chosen, vec![1, 2]);
        assert_eq!(c.cost, 2.0);
    }

    #[test]
    fn exact_finds_what_greedy_misses() {
        // The classic greedy trap: greedy takes the big set {0..5} (6 for
        // cost 1) then needs two more; the optimum is the two halves.
        let n = 12;
        let covers = vec![
            set(n, &[0, 1, 2, 3, 4, 5]),
            set(n, &[0, 1, 2, 6, 7, 8]),
            set(n, &[3, 4, 5, 9, 10, 11]),
            set(n, &[6, 7, 8, 9]),
            set(n, &[10, 11]),
        ];
        let costs = vec![0.9, 1.0, 1.0, 1.0, 1.0];
        let c = cover(n, &covers, &costs);
        assert_eq!(c.chosen, vec![1, 2]);
        assert_eq!(c.method, CoverMethod::Exact);
    }

    #[test]
    fn elements_nobody_covers_are_reported() {
        let covers = vec![set(3, &[0, 1])];
        let c = cover(3, &covers, &[1.0]);
        assert_eq!(c.chosen, vec![0]);
        assert_eq!(c.uncovered, vec![2]);
    }

    #[test]
    fn many_classes_fall_back_to_greedy_with_its_bound() {
        let n = 200;
        let covers: Vec<Bits> = (0..n).map(|i| set(n, &[i, (i + 1) % n])).collect();
        let costs = vec![1.0; n];
        let c = cover(n, &covers, &costs);
        let mut covered = Bits::empty(n);
        for &i in &c.chosen {
            covered.union_with(&covers[i]);
        }
        assert_eq!(covered.count(), n);
        match c.method {
            CoverMethod::Greedy { bound } => assert!((bound - 1.5).abs() < 1e-9),
            other => panic!("expected greedy, got {other:?}"),
        }
        assert!(c.chosen.len() <= 150, "{}", c.chosen.len());
    }
}
