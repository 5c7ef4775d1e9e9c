//! Builds the closure from the store on disk, the way Nix computes it at build time.
//!
//! When neither a closure-info file nor `nix` is at hand but the store directory exists, a
//! path's NAR size is computed from its files ([`super::nar_size`]) and its references by
//! scanning its NAR contents (file contents, symlink targets and entry names) for the hashes
//! of the store's entries, as Nix's reference scanner does with a build's inputs.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rayon::prelude::*;

use super::nar_size::nar_size;
use super::{ClosureGraph, Node};
use crate::inputs::open_regular;
use crate::model::SizeSource;
use crate::scan::{ScanBuffer, Scanner};
use crate::store_path::StorePath;

/// The store directory on disk: its entries by hash.
#[derive(Debug, Clone)]
pub struct DiskStore {
    dir: String,
    by_hash: HashMap<String, StorePath>,
}

impl DiskStore {
    /// Lists `store_dir`; `None` if it cannot be listed.
    pub fn open(store_dir: &str) -> Option<DiskStore> {
        let by_hash = fs::read_dir(store_dir)
            .ok()?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                let (hash, name) = name.to_str()?.split_once('-')?;
                let path = StorePath::new(hash, name).ok()?;
                Some((hash.to_string(), path))
            })
            .collect();
        Some(DiskStore {
            dir: store_dir.to_string(),
            by_hash,
        })
    }

    /// The hashes of every entry: the candidates of a reference scan.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        self.by_hash.keys().map(String::as_str)
    }

    /// The store path with this hash, if the store holds one.
    pub fn get(&self, hash: &str) -> Option<&StorePath> {
        self.by_hash.get(hash)
    }

    /// The closure of `roots`, read from disk; `scanner` must know [`DiskStore::hashes`].
    /// A path that cannot be read is left out, so sizes that need it come out unknown.
    pub fn closure(&self, scanner: &Scanner, roots: &[StorePath]) -> ClosureGraph {
        let mut graph = ClosureGraph::new(SizeSource::Disk);
        let mut seen: HashSet<String> = roots.iter().map(|p| p.hash().to_string()).collect();
        let mut frontier: Vec<StorePath> = roots.to_vec();
        while !frontier.is_empty() {
            let nodes: Vec<Node> = frontier
                .par_iter()
                .filter_map(|path| node(&self.dir, scanner, path))
                .collect();
            frontier = Vec::new();
            for mut node in nodes {
                node.references
                    .retain(|hash| self.by_hash.contains_key(hash));
                for hash in &node.references {
                    if seen.insert(hash.clone()) {
                        frontier.extend(self.get(hash).cloned());
                    }
                }
                graph.insert(node);
            }
        }
        graph
    }
}

fn node(store_dir: &str, scanner: &Scanner, path: &StorePath) -> Option<Node> {
    let root = Path::new(&path.to_path_string(store_dir)).to_path_buf();
    let nar_size = nar_size(&root).ok()?;
    let mut found: HashSet<String> = HashSet::new();
    let mut buffer = ScanBuffer::default();
    for item in walkdir::WalkDir::new(&root).follow_links(false) {
        let entry = item.ok()?;
        let mut note = |hash: String| {
            found.insert(hash);
        };
        for hit in scanner.scan_bytes(entry.file_name().as_bytes()) {
            note(hit.hash);
        }
        let kind = entry.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(entry.path()).ok()?;
            for hit in scanner.scan_bytes(target.as_os_str().as_bytes()) {
                note(hit.hash);
            }
        } else if kind.is_file() {
            let opened = open_regular(entry.path()).ok()??;
            scanner
                .scan_file_range(
                    &opened.file,
                    opened.size,
                    0..opened.size,
                    &mut buffer,
                    &mut |hit: crate::scan::Hit| note(hit.hash),
                )
                .ok()?;
        }
    }
    found.remove(path.hash());
    Some(Node {
        path: path.clone(),
        nar_size,
        closure_size: None,
        references: found.into_iter().collect(),
        deriver: None,
    })
}
