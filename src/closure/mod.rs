//! The reference graph of the audited closure and where it comes from.
//!
//! A [`ClosureGraph`] maps each store path (by hash) to its NAR size, its references and its
//! deriver. It is loaded, in order of preference, from a `--closure-info` file
//! ([`info_file`]), from one batched `nix path-info` call ([`nix`]), or from the store on disk
//! ([`disk`]), as [`Before`] decides; [`cost`] turns it into closure and exclusive sizes and
//! [`price`] puts them on the findings. This module does not scan the audited files.

pub mod cost;
pub mod disk;
pub mod image;
pub mod info_file;
pub mod nar_size;
pub mod nix;
pub mod price;
mod source;

pub use source::Before;

use std::collections::HashMap;

use crate::model::SizeSource;
use crate::store_path::StorePath;

/// One store path of the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: StorePath,
    pub nar_size: u64,
    /// The closure size Nix recorded (`closureSize`), when the source has it.
    pub closure_size: Option<u64>,
    /// Hashes of the paths it references (itself excluded).
    pub references: Vec<String>,
    pub deriver: Option<String>,
}

/// The reference graph: every node reachable from the audited output, keyed by hash.
#[derive(Debug, Clone)]
pub struct ClosureGraph {
    pub source: SizeSource,
    nodes: HashMap<String, Node>,
}

impl ClosureGraph {
    /// An empty graph whose sizes will be attributed to `source`.
    pub fn new(source: SizeSource) -> ClosureGraph {
        ClosureGraph {
            source,
            nodes: HashMap::new(),
        }
    }

    /// Adds a node, dropping a self-reference; a later node with the same hash replaces it.
    pub fn insert(&mut self, mut node: Node) {
        let hash = node.path.hash().to_string();
        node.references.retain(|r| *r != hash);
        node.references.sort();
        node.references.dedup();
        self.nodes.insert(hash, node);
    }

    /// Names the derivation that built the path with this hash, if the graph has it.
    pub fn set_deriver(&mut self, hash: &str, deriver: &str) {
        if let Some(node) = self.nodes.get_mut(hash) {
            node.deriver = Some(deriver.to_string());
        }
    }

    pub fn get(&self, hash: &str) -> Option<&Node> {
        self.nodes.get(hash)
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.nodes.contains_key(hash)
    }

    /// Every hash in the graph: the candidates for a bare-hash search.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}
