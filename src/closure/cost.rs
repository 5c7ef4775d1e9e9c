//! Closure sizes and what each reference costs.
//!
//! The audited output is a root whose own bytes and edges are known (a store path in the
//! graph, or a directory measured on disk with the references the scan found). A path's
//! closure size is the sum of NAR sizes over everything it reaches — what Nix prints as
//! `closureSize`. A reference's *exclusive* size is what the root's closure loses when that
//! one edge is cut: the bytes reachable only through it.
//!
//! All exclusive sizes come from one dominator tree. Each root edge `root → R` gets a node of
//! its own (`root → e_R → R`); the paths that only `e_R` leads to are exactly those its
//! dominator subtree holds, so summing NAR sizes up the tree prices every edge at once. The
//! dominators are computed with the iterative algorithm of Cooper, Harvey and Kennedy
//! ("A Simple, Fast Dominance Algorithm", 2001), near-linear on reference graphs.
//!
//! Root edges to paths the graph does not hold are left out (their findings say the size is
//! unknown and the summary counts them); a graph that is missing a path some known path
//! references is incomplete, and then no size is claimed at all.

use std::collections::{HashMap, HashSet};

use super::ClosureGraph;

/// The audited output, as a node outside (or on top of) the graph.
#[derive(Debug, Clone, Default)]
pub struct Root {
    /// The root's own NAR bytes; `None` when unknown.
    pub own_bytes: Option<u64>,
    /// Hashes the root references directly.
    pub edges: Vec<String>,
}

/// What the audited closure weighs and what each root edge costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Costs {
    /// The root's whole closure, itself included; `None` if unknown.
    pub closure_bytes: Option<u64>,
    /// Exclusive bytes by referenced hash, for the edges whose path the graph holds.
    pub exclusive: HashMap<String, u64>,
}

/// A compact copy of the part of the graph the root reaches: index 0 is the root, then one
/// node per known root edge, then the store paths.
struct Reach {
    successors: Vec<Vec<usize>>,
    sizes: Vec<u64>,
    /// Root edge hash → its edge node.
    edge_nodes: Vec<(String, usize)>,
    /// Store path hash → its node.
    path_nodes: HashMap<String, usize>,
    complete: bool,
}

impl Reach {
    fn new(graph: &ClosureGraph, root: &Root) -> Reach {
        let mut reach = Reach {
            successors: vec![Vec::new()],
            sizes: vec![0],
            edge_nodes: Vec::new(),
            path_nodes: HashMap::new(),
            complete: true,
        };
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut stack: Vec<&str> = Vec::new();
        for hash in root.edges.iter().filter(|h| graph.contains(h)) {
            let edge = reach.push(0);
            reach.successors[0].push(edge);
            reach.edge_nodes.push((hash.clone(), edge));
            let target = reach.intern(graph, &mut index, &mut stack, hash);
            reach.successors[edge].push(target);
        }
        while let Some(hash) = stack.pop() {
            let from = index[hash];
            let Some(node) = graph.get(hash) else {
                continue;
            };
            for reference in &node.references {
                if !graph.contains(reference) {
                    reach.complete = false;
                    continue;
                }
                let to = reach.intern(graph, &mut index, &mut stack, reference);
                reach.successors[from].push(to);
            }
        }
        reach.path_nodes = index.into_iter().map(|(h, i)| (h.to_string(), i)).collect();
        reach
    }

    fn push(&mut self, size: u64) -> usize {
        self.successors.push(Vec::new());
        self.sizes.push(size);
        self.successors.len() - 1
    }

    /// The node of a store path, created (and queued for its references) on first sight.
    fn intern<'g>(
        &mut self,
        graph: &'g ClosureGraph,
        index: &mut HashMap<&'g str, usize>,
        stack: &mut Vec<&'g str>,
        hash: &str,
    ) -> usize {
        let Some(node) = graph.get(hash) else {
            return 0;
        };
        let key = node.path.hash();
        if let Some(&at) = index.get(key) {
            return at;
        }
        let at = self.push(node.nar_size);
        index.insert(key, at);
        stack.push(key);
        at
    }

    /// Reverse postorder from the root (every node is reachable by construction).
    fn reverse_postorder(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.sizes.len());
        let mut visited = vec![false; self.sizes.len()];
        let mut stack = vec![(0usize, 0usize)];
        visited[0] = true;
        while let Some((node, next)) = stack.pop() {
            if let Some(&child) = self.successors[node].get(next) {
                stack.push((node, next + 1));
                if !visited[child] {
                    visited[child] = true;
                    stack.push((child, 0));
                }
            } else {
                order.push(node);
            }
        }
        order.reverse();
        order
    }

    /// The immediate dominator of every node (the root's is itself).
    fn dominators(&self, order: &[usize]) -> Vec<usize> {
        const UNDEFINED: usize = usize::MAX;
        let mut rank = vec![0usize; self.sizes.len()];
        for (r, &node) in order.iter().enumerate() {
            rank[node] = r;
        }
        let mut predecessors = vec![Vec::new(); self.sizes.len()];
        for (from, tos) in self.successors.iter().enumerate() {
            for &to in tos {
                predecessors[to].push(from);
            }
        }
        let mut idom = vec![UNDEFINED; self.sizes.len()];
        idom[0] = 0;
        let intersect = |idom: &[usize], mut a: usize, mut b: usize| {
            while a != b {
                while rank[a] > rank[b] {
                    a = idom[a];
                }
                while rank[b] > rank[a] {
                    b = idom[b];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &node in order.iter().skip(1) {
                let mut new = UNDEFINED;
                for &p in &predecessors[node] {
                    if idom[p] != UNDEFINED {
                        new = if new == UNDEFINED {
                            p
                        } else {
                            intersect(&idom, p, new)
                        };
                    }
                }
                if new != UNDEFINED && idom[node] != new {
                    idom[node] = new;
                    changed = true;
                }
            }
        }
        idom
    }
}

impl Reach {
    /// The bytes of each node's subtree in the dominator tree: what only it leads to,
    /// itself included.
    fn dominated_bytes(&self) -> Vec<u64> {
        let order = self.reverse_postorder();
        let idom = self.dominators(&order);
        let mut subtree = self.sizes.clone();
        for &node in order.iter().skip(1).rev() {
            subtree[idom[node]] += subtree[node];
        }
        subtree
    }
}

/// The closure of the root and the exclusive size of each of its edges.
pub fn costs(graph: &ClosureGraph, root: &Root) -> Costs {
    let reach = Reach::new(graph, root);
    let mut costs = Costs::default();
    if !reach.complete {
        return costs;
    }
    let subtree = reach.dominated_bytes();
    costs.closure_bytes = root.own_bytes.map(|own| own + subtree[0]);
    costs.exclusive = reach
        .edge_nodes
        .iter()
        .map(|(hash, node)| (hash.clone(), subtree[*node]))
        .collect();
    costs
}

/// For every store path the root reaches, what the root's closure loses without that path:
/// its bytes and those of every path only it leads to (the subtree of the dominator tree
/// under it). `None` if the graph does not hold everything the root reaches.
pub fn dominated(graph: &ClosureGraph, root: &Root) -> Option<HashMap<String, u64>> {
    let reach = Reach::new(graph, root);
    if !reach.complete {
        return None;
    }
    let subtree = reach.dominated_bytes();
    Some(
        reach
            .path_nodes
            .iter()
            .map(|(hash, &node)| (hash.clone(), subtree[node]))
            .collect(),
    )
}

/// The root's closure with some of its edges cut (unknown paths left out, as in [`costs`]).
pub fn closure_without(graph: &ClosureGraph, root: &Root, cut: &HashSet<&str>) -> Option<u64> {
    let kept = Root {
        own_bytes: root.own_bytes,
        edges: root
            .edges
            .iter()
            .filter(|h| !cut.contains(h.as_str()))
            .cloned()
            .collect(),
    };
    costs(graph, &kept).closure_bytes
}

/// The closure size of one path: what Nix recorded, else the sum over what it reaches;
/// `None` if the graph does not hold all of it.
pub fn path_closure_bytes(graph: &ClosureGraph, hash: &str) -> Option<u64> {
    let node = graph.get(hash)?;
    if let Some(recorded) = node.closure_size {
        return Some(recorded);
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![node.path.hash()];
    let mut total = 0u64;
    while let Some(hash) = stack.pop() {
        if !seen.insert(hash) {
            continue;
        }
        let node = graph.get(hash)?;
        total += node.nar_size;
        stack.extend(node.references.iter().map(String::as_str));
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closure::Node;
    use crate::model::SizeSource;
    use crate::store_path::StorePath;

    fn hash(c: char) -> String {
        c.to_string().repeat(32)
    }

    fn graph(nodes: &[(char, u64, &[char])]) -> ClosureGraph {
        let mut graph = ClosureGraph::new(SizeSource::ClosureInfo);
        for &(c, size, refs) in nodes {
            graph.insert(Node {
                path: StorePath::new(&hash(c), &format!("p{c}")).expect("valid"),
                nar_size: size,
                closure_size: None,
                references: refs.iter().map(|&r| hash(r)).collect(),
                deriver: None,
            });
        }
        graph
    }

    fn root(own: u64, edges: &[char]) -> Root {
        Root {
            own_bytes: Some(own),
            edges: edges.iter().map(|&c| hash(c)).collect(),
        }
    }

    /// Cycles, shared subgraphs, an edge into the middle of a chain.
    fn tangled() -> ClosureGraph {
        graph(&[
            ('a', 1, &['b', 'c']),
            ('b', 2, &['d']),
            ('c', 4, &['d', 'f']),
            ('d', 8, &['g', 'b']),
            ('f', 16, &['g']),
            ('g', 32, &['h']),
            ('h', 64, &['g']),
            ('i', 128, &['h', 'j']),
            ('j', 256, &[]),
            ('k', 512, &['a']),
        ])
    }

    /// The definition, by brute force: the closure minus the closure with the edge cut.
    fn brute_force(g: &ClosureGraph, root: &Root, edge: &str) -> u64 {
        let whole = closure_without(g, root, &HashSet::new()).expect("known");
        whole - closure_without(g, root, &HashSet::from([edge])).expect("known")
    }

    #[test]
    fn exclusive_sizes_on_a_diamond() {
        // root → a, b, s; a → z; b → z; s → d.
        let g = graph(&[
            ('a', 10, &['z']),
            ('b', 20, &['z']),
            ('z', 1000, &[]),
            ('s', 3, &['d']),
            ('d', 400, &[]),
        ]);
        let r = root(5, &['a', 'b', 's']);
        let costs = costs(&g, &r);
        assert_eq!(costs.closure_bytes, Some(5 + 10 + 20 + 1000 + 3 + 400));
        assert_eq!(costs.exclusive[&hash('a')], 10);
        assert_eq!(costs.exclusive[&hash('b')], 20);
        assert_eq!(costs.exclusive[&hash('s')], 403);
        let both = HashSet::from([hash('a'), hash('b')]);
        let both: HashSet<&str> = both.iter().map(String::as_str).collect();
        assert_eq!(closure_without(&g, &r, &both), Some(5 + 3 + 400));
        assert_eq!(path_closure_bytes(&g, &hash('a')), Some(1010));
    }

    #[test]
    fn an_edge_to_a_path_also_reached_another_way_saves_nothing() {
        // root → a → b and root → b directly: cutting root → b saves nothing.
        let g = graph(&[('a', 10, &['b']), ('b', 20, &['c']), ('c', 5, &[])]);
        let r = root(1, &['a', 'b']);
        let costs = costs(&g, &r);
        assert_eq!(costs.exclusive[&hash('b')], 0);
        assert_eq!(
            costs.exclusive[&hash('a')],
            10,
            "b stays reachable directly"
        );
    }

    #[test]
    fn dominators_agree_with_brute_force_on_tangled_graphs() {
        let g = tangled();
        let r = root(3, &['a', 'i', 'd', 'k']);
        let costs = costs(&g, &r);
        for edge in &r.edges {
            assert_eq!(
                costs.exclusive[edge],
                brute_force(&g, &r, edge),
                "edge {}",
                &edge[..1]
            );
        }
    }

    #[test]
    fn each_path_dominates_what_removing_it_would_lose() {
        let g = tangled();
        let r = root(3, &['a', 'i', 'k']);
        let whole = costs(&g, &r).closure_bytes.expect("known");
        let dominated = dominated(&g, &r).expect("whole");
        assert_eq!(dominated.len(), 10);
        for (hash, bytes) in &dominated {
            // By brute force: the graph with every edge into the path cut, the root's too.
            let mut cut = ClosureGraph::new(SizeSource::ClosureInfo);
            for other in g.hashes() {
                let mut node = g.get(other).expect("listed").clone();
                node.references.retain(|r| r != hash);
                cut.insert(node);
            }
            let kept = Root {
                own_bytes: r.own_bytes,
                edges: r.edges.iter().filter(|e| *e != hash).cloned().collect(),
            };
            let without = costs(&cut, &kept).closure_bytes.expect("known");
            assert_eq!(*bytes, whole - without, "path {}", &hash[..1]);
        }
        assert_eq!(dominated[&hash('j')], 256);
        assert_eq!(dominated[&hash('k')], 512, "a is also a root");
    }

    #[test]
    fn unknown_edges_are_left_out_and_incomplete_graphs_claim_nothing() {
        let g = graph(&[('a', 1, &[]), ('c', 4, &['x'])]);
        let costs_known = costs(&g, &root(2, &['a', 'q']));
        assert_eq!(costs_known.closure_bytes, Some(3));
        assert_eq!(costs_known.exclusive.len(), 1);
        let incomplete = costs(&g, &root(2, &['a', 'c']));
        assert_eq!(incomplete.closure_bytes, None);
        assert!(incomplete.exclusive.is_empty());
        assert_eq!(path_closure_bytes(&g, &hash('c')), None);
        assert_eq!(path_closure_bytes(&g, &hash('q')), None);
    }

    #[test]
    fn recorded_closure_sizes_are_used_as_nix_printed_them() {
        let mut g = graph(&[('a', 1, &[])]);
        let mut node = g.get(&hash('a')).expect("a").clone();
        node.closure_size = Some(77);
        g.insert(node);
        assert_eq!(path_closure_bytes(&g, &hash('a')), Some(77));
    }
}
