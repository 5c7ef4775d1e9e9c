//! Pricing: the audited output as the root of the reference graph, what each reference
//! costs (its path's closure, and what cutting it would save), and the closure without the
//! failing references.

use std::collections::HashSet;
use std::path::Path;

use super::cost::{self, Costs, Root};
use super::nar_size::{self, nar_size};
use super::ClosureGraph;
use crate::inputs::Target;
use crate::model::{Finding, Severity, Size, SizeSource};

/// The audited output as the root of the graph: each target that is a store path in the graph
/// brings its recorded size and references; any other target brings its `scanned` NAR bytes
/// (measured as its entries were scanned; `None` if some could not be) and the live hashes the
/// scan found in it (`referenced`: target index and hash).
pub fn root_of(
    graph: &ClosureGraph,
    targets: &[Target],
    scanned: &[Option<u64>],
    referenced: &[(usize, &str)],
    self_hashes: &HashSet<&str>,
    store_dir: &str,
) -> Root {
    let mut root = Root {
        own_bytes: Some(0),
        edges: Vec::new(),
    };
    let mut counted: HashSet<&str> = HashSet::new();
    for (index, target) in targets.iter().enumerate() {
        match target.store_path.as_ref().and_then(|p| graph.get(p.hash())) {
            Some(node) => {
                if counted.insert(node.path.hash()) {
                    root.own_bytes = root.own_bytes.map(|b| b + node.nar_size);
                    root.edges.extend(node.references.iter().cloned());
                }
            }
            None => {
                let measured = match &target.store_path {
                    // Only part of a store path was audited: measure all of it.
                    Some(path) if target.root != Path::new(&path.to_path_string(store_dir)) => {
                        nar_size(Path::new(&path.to_path_string(store_dir))).ok()
                    }
                    // What was audited is the whole thing: its entries were measured as scanned.
                    _ => scanned[index].map(|bytes| nar_size::HEADER + bytes),
                };
                root.own_bytes = root.own_bytes.zip(measured).map(|(b, m)| b + m);
            }
        }
        root.edges.extend(
            referenced
                .iter()
                .filter(|(of, _)| *of == index)
                .map(|(_, hash)| hash.to_string()),
        );
    }
    root.edges.retain(|h| !self_hashes.contains(h.as_str()));
    root.edges.sort();
    root.edges.dedup();
    root
}

/// Fills in each finding's sizes from the graph.
pub fn price(findings: &mut [Finding], graph: Option<&ClosureGraph>, costs: Option<&Costs>) {
    for finding in findings.iter_mut() {
        let Some(reference) = &finding.reference else {
            continue;
        };
        if reference.nuked {
            continue;
        }
        let known = graph.filter(|g| g.contains(&reference.hash));
        finding.size = Some(match known {
            Some(graph) => Size {
                closure_bytes: cost::path_closure_bytes(graph, &reference.hash),
                // A path the root does not reference (itself) costs nothing to cut.
                exclusive_bytes: costs
                    .filter(|c| c.closure_bytes.is_some())
                    .map(|c| c.exclusive.get(&reference.hash).copied().unwrap_or(0)),
                source: graph.source,
            },
            None => Size {
                closure_bytes: None,
                exclusive_bytes: None,
                source: SizeSource::Unknown,
            },
        });
    }
}

/// The root's closure with every failing reference cut.
pub fn without_failing(graph: &ClosureGraph, root: &Root, findings: &[Finding]) -> Option<u64> {
    let failing: HashSet<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .filter_map(|f| f.reference.as_ref().map(|r| r.hash.as_str()))
        .collect();
    cost::closure_without(graph, root, &failing)
}
