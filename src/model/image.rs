//! The `image` section of a report (issue 14): an archive audited as its own closure — what
//! it is, what each store path in it weighs, what removing it would save, and why it is there
//! (the chain of references from the image's roots), with the paths nothing needs as dead
//! weight. A NAR gets the same section: its own store path is its only root.
//!
//! Part of the JSON contract (`stowaway.report/1`, documented in the README); absent from the
//! report of a target that is not an archive.

use serde::Serialize;

use super::named::named;

/// What an audited archive holds and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSection {
    /// The archive as given on the command line.
    pub target: String,
    /// `nar`, `tar`, `docker-archive` or `oci-layout`.
    pub format: &'static str,
    /// How the archive itself is compressed (`none`, `gzip`, `xz`, `zstd`, `bzip2`); `null`
    /// for an OCI layout that is a directory (its layers say theirs).
    pub compression: Option<&'static str>,
    /// A NAR's own store path, from its file name (`<hash>-<name>.nar…`); `null` when the
    /// name does not say, and for other archives.
    pub store_path: Option<String>,
    /// An image's tags, entrypoint and command, as its metadata says.
    pub repo_tags: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// An image's layers, bottom first.
    pub layers: Vec<ImageLayer>,
    /// The NAR bytes of everything the archive holds: its store paths and the rest.
    pub total_bytes: u64,
    /// The NAR bytes of its store paths (each one's `narSize`).
    pub store_bytes: u64,
    /// The NAR bytes of everything outside its store paths (`/etc`, `/bin` links…).
    pub other_bytes: u64,
    /// Every store path it holds, largest exclusive size first.
    pub paths: Vec<ImagePath>,
    /// The store paths no root leads to.
    pub dead_weight: DeadWeight,
    /// Store paths that something in the archive references but that it does not hold:
    /// they would be missing where it runs.
    pub absent: Vec<String>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageLayer {
    /// Where its blob is inside the archive or layout.
    pub blob: String,
    pub digest: Option<String>,
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    pub compression: &'static str,
    /// The blob's size as stored, and the size of the tar it unpacks to.
    pub stored_bytes: u64,
    pub tar_bytes: u64,
    /// Its members, whiteouts included.
    pub members: u64,
}

/// One store path held in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePath {
    pub store_path: String,
    /// Its `narSize`, computed from the archive's listing.
    pub nar_bytes: u64,
    /// Everything it references within the archive, itself included (its `closureSize`
    /// when the archive holds its whole closure).
    pub closure_bytes: u64,
    /// What the archive would lose without it: itself and every path only it leads to.
    pub exclusive_bytes: u64,
    /// The layer its directory comes from (an image's), else `null`.
    pub layer: Option<usize>,
    /// Whether a root leads to it; `false` is dead weight.
    pub reached: bool,
    /// Why it is there: from a root (or, for dead weight, from a path nothing references)
    /// to this path, one link per store path.
    pub chain: Vec<ChainLink>,
}

named! {
    /// Why a link of a chain is there.
    pub enum Via {
        /// The image config's `Entrypoint` names it.
        Entrypoint = "entrypoint",
        /// The image config's `Cmd` names it.
        Cmd = "cmd",
        /// It is the NAR's own store path.
        Archive = "archive",
        /// A file outside the archive's store paths (`/bin`, `/etc`…) names it.
        File = "file",
        /// A file of the previous path of the chain names it.
        Reference = "reference",
        /// Nothing names it: the top of some dead weight.
        Unreferenced = "unreferenced",
    }
}

/// One step of a chain: a store path and what brings it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    pub store_path: String,
    pub via: Via,
    /// For `file` and `reference`: the file (as a location's `file`) that names it.
    pub file: Option<String>,
}

/// The store paths an archive holds that no root leads to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DeadWeight {
    /// Their NAR bytes together.
    pub bytes: u64,
    /// Those that nothing at all references, each the top of some dead weight.
    pub unreferenced: Vec<String>,
}
