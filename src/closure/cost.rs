//! Closure sizes and what each reference costs.
//!
//! The audited output is a root whose own bytes and edges are known (a store path in the
//! graph, or a directory measured on disk with the references the scan found). A path's
//! closure size is the sum of NAR sizes over everything it reaches — what Nix prints as
//! `closureSize`. A reference's *exclusive* size is what the root's closure loses when that
//! one edge is cut: the bytes reachable only through it. Each is one graph search, which is
//! cheap next to the scan (closures have thousands of paths, not millions).

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

/// The sums over the reachable set: `None` if some reached path is missing from the graph.
fn closure_bytes<'a>(
    graph: &ClosureGraph,
    start: impl IntoIterator<Item = &'a str>,
) -> Option<u64> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = start.into_iter().collect();
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

/// The closure size of one path in the graph.
pub fn path_closure_bytes(graph: &ClosureGraph, hash: &str) -> Option<u64> {
    closure_bytes(graph, [hash])
}

/// The root's closure, optionally with some of its edges cut.
pub fn root_closure_bytes(graph: &ClosureGraph, root: &Root, cut: &HashSet<&str>) -> Option<u64> {
    let own = root.own_bytes?;
    let kept = root
        .edges
        .iter()
        .map(String::as_str)
        .filter(|h| !cut.contains(h));
    Some(own + closure_bytes(graph, kept)?)
}

/// The exclusive size of each of `references` (a subset of the root's edges).
pub fn exclusive_bytes(
    graph: &ClosureGraph,
    root: &Root,
    references: &[&str],
) -> HashMap<String, Option<u64>> {
    let whole = root_closure_bytes(graph, root, &HashSet::new());
    references
        .iter()
        .map(|&hash| {
            let without = root_closure_bytes(graph, root, &HashSet::from([hash]));
            let saved = match (whole, without, graph.contains(hash)) {
                (Some(whole), Some(without), true) => Some(whole - without),
                _ => None,
            };
            (hash.to_string(), saved)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closure::Node;
    use crate::findings::SizeSource;
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
                references: refs.iter().map(|&r| hash(r)).collect(),
                deriver: None,
            });
        }
        graph
    }

    #[test]
    fn exclusive_sizes_on_a_diamond() {
        // root → a, b, s; a → base; b → base; s → d.
        let g = graph(&[
            ('a', 10, &['z']),
            ('b', 20, &['z']),
            ('z', 1000, &[]),
            ('s', 3, &['d']),
            ('d', 400, &[]),
        ]);
        let root = Root {
            own_bytes: Some(5),
            edges: vec![hash('a'), hash('b'), hash('s')],
        };
        assert_eq!(
            root_closure_bytes(&g, &root, &HashSet::new()),
            Some(5 + 10 + 20 + 1000 + 3 + 400)
        );
        let (a, b, s) = (hash('a'), hash('b'), hash('s'));
        let exclusive = exclusive_bytes(&g, &root, &[&a, &b, &s]);
        assert_eq!(exclusive[&a], Some(10));
        assert_eq!(exclusive[&b], Some(20));
        assert_eq!(exclusive[&s], Some(403));
        let both: HashSet<&str> = HashSet::from([a.as_str(), b.as_str()]);
        assert_eq!(root_closure_bytes(&g, &root, &both), Some(5 + 3 + 400));
        assert_eq!(path_closure_bytes(&g, &a), Some(1010));
    }

    #[test]
    fn cycles_and_missing_paths() {
        let g = graph(&[('a', 1, &['b']), ('b', 2, &['a']), ('c', 4, &['x'])]);
        assert_eq!(path_closure_bytes(&g, &hash('a')), Some(3));
        assert_eq!(path_closure_bytes(&g, &hash('c')), None);
        assert_eq!(path_closure_bytes(&g, &hash('q')), None);
    }
}
