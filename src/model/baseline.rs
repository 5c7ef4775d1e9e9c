//! Baselines as data: a recorded finding, and what applying a baseline did.

use serde::{Deserialize, Serialize};

/// One recorded finding: what survives a rebuild (no hash, no version).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub rule: String,
    /// The package a reference is about, or the library a linkage finding is about.
    pub subject: String,
    /// The output of the referenced path (`out`, `etc`…); empty for linkage findings.
    pub output: String,
    /// The file it sits in, relative to its target.
    pub file: String,
}

/// What applying a baseline did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Findings the baseline accepted.
    pub matched: u64,
    /// Entries that no finding matched any more.
    pub stale: Vec<BaselineEntry>,
}
