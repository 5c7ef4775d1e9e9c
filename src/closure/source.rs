//! Where the closure comes from, in order of preference: a `--closure-info` file, `nix
//! path-info` of the targets, or — once the scan has said what is referenced — `nix
//! path-info` of those paths or the store on disk.
//!
//! What is known before the scan also gives the scanner the hashes to look for anywhere
//! (bare hashes, as Nix's own scanner finds them).

use std::path::Path;

use anyhow::Result;

use super::disk::DiskStore;
use super::{info_file, nix, ClosureGraph};
use crate::model::SizeSource;
use crate::store_path::StorePath;

/// What is known of the closure before the scan.
pub enum Before {
    /// The graph itself.
    Graph(ClosureGraph),
    /// Only the store on disk, to compute a graph from once the references are known.
    Disk(DiskStore),
    /// Nothing: sizes stay unknown.
    Nothing,
}

impl Before {
    /// A `--closure-info` file if given, else `nix path-info` of the targets that are store
    /// paths, else the store on disk if it can be listed.
    pub fn find(
        closure_info: Option<&Path>,
        targets: &[StorePath],
        store_dir: &str,
    ) -> Result<Before> {
        let graph = match closure_info {
            Some(file) => Some(info_file::load(file, store_dir)?),
            None if !targets.is_empty() && nix::available() => {
                nix::path_info(&path_strings(targets, store_dir), store_dir).ok()
            }
            None => None,
        };
        Ok(match graph {
            Some(graph) => Before::Graph(graph),
            None => DiskStore::open(store_dir).map_or(Before::Nothing, Before::Disk),
        })
    }

    /// The hashes a scanner should find anywhere: those of the graph, or of the store.
    pub fn candidates(&self) -> Vec<&str> {
        match self {
            Before::Graph(graph) => graph.hashes().collect(),
            Before::Disk(disk) => disk.hashes().collect(),
            Before::Nothing => Vec::new(),
        }
    }

    /// The graph, once the scan has found the `live` hashes the targets reference: the one
    /// known already, else one batched `nix path-info` of the targets and those paths, else
    /// the store on disk (`scan_store` reads a store path's references from its files).
    pub fn after_scan(
        self,
        targets: &[StorePath],
        live: &[&str],
        store_dir: &str,
        scan_store: impl FnOnce(&DiskStore, &[StorePath]) -> ClosureGraph,
    ) -> Option<ClosureGraph> {
        let disk = match self {
            Before::Graph(graph) => return Some(graph),
            Before::Nothing => return None,
            Before::Disk(disk) => disk,
        };
        let mut wanted: Vec<StorePath> = targets.to_vec();
        wanted.extend(live.iter().filter_map(|hash| disk.get(hash).cloned()));
        if wanted.is_empty() {
            return Some(ClosureGraph::new(SizeSource::Disk));
        }
        if nix::available() {
            if let Ok(graph) = nix::path_info(&path_strings(&wanted, store_dir), store_dir) {
                return Some(graph);
            }
        }
        Some(scan_store(&disk, &wanted))
    }
}

fn path_strings(paths: &[StorePath], store_dir: &str) -> Vec<String> {
    paths.iter().map(|p| p.to_path_string(store_dir)).collect()
}
