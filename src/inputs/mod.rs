//! Turns the paths given on the command line into the entries to audit.
//!
//! This module owns what counts as an input: a top-level path (a file, a directory, or a
//! symlink to either, such as `result`) is followed; inside a tree nothing is followed, a
//! symlink is an entry of its own, and FIFOs, sockets and devices are listed as skipped,
//! never opened. [`walk`](fn@walk) lists the trees in parallel, each directory opened relative to its
//! parent's descriptor; [`open`] opens files for reading, safely (`O_NOFOLLOW | O_NONBLOCK`,
//! checked again with `fstat`), so a file swapped for a FIFO or a symlink during the walk
//! cannot hang or mislead the audit. It does not read file contents.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;

use rustix::fs::FileType;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::escape::escape_path;
use crate::store_path::StorePath;

/// One path given on the command line, resolved.
#[derive(Debug, Clone)]
pub struct Target {
    /// As given, escaped for display.
    pub given: String,
    /// The canonical path the audit reads (a top-level symlink followed).
    pub root: PathBuf,
    pub is_dir: bool,
    /// The store path the target lies in, when it does (`result` → `/nix/store/…-foo`).
    pub store_path: Option<StorePath>,
}

mod open;
mod walk;

pub use open::{open_regular, FileRef, Opened};
pub use walk::walk;

/// One entry the walk found, with what its NAR serialisation needs.
#[derive(Debug)]
pub struct Entry {
    /// Index of the target it belongs to.
    pub target: usize,
    /// Relative to the target directory (a file target's own name), escaped.
    pub rel: String,
    /// Its name inside its directory; `None` for the target's root.
    pub name: Option<OsString>,
    pub kind: EntryKind,
}

/// What kind of entry it is.
#[derive(Debug)]
pub enum EntryKind {
    /// A regular file, opened with [`FileRef::open`].
    File(FileRef),
    /// A symbolic link and its target (never followed).
    Symlink(PathBuf),
    Directory,
    /// A directory at the deepest level walked, with entries that were not walked.
    TooDeep,
    /// A FIFO, socket or device: never opened.
    Special(&'static str),
    /// It could not be listed or read.
    Error(String),
}

/// Resolves every path given; a path that is missing or not a file or directory is an error
/// (the audit cannot be done as asked).
pub fn resolve_targets(paths: &[PathBuf], store_dir: &str) -> Result<Vec<Target>> {
    let canonical_store = fs::canonicalize(store_dir).ok();
    paths
        .iter()
        .map(|path| resolve_target(path, store_dir, canonical_store.as_deref()))
        .collect()
}

fn resolve_target(path: &Path, store_dir: &str, canonical_store: Option<&Path>) -> Result<Target> {
    let given = escape_path(path);
    let root = fs::canonicalize(path).with_context(|| given.clone())?;
    let meta = fs::metadata(&root).with_context(|| given.clone())?;
    let kind = meta.file_type();
    if !kind.is_dir() && !kind.is_file() {
        bail!(
            "{given}: is a {}, not a file or directory",
            special_kind(FileType::from_raw_mode(meta.mode()))
        );
    }
    let store_path = std::iter::once(Path::new(store_dir))
        .chain(canonical_store)
        .find_map(|store| store_path_of(&root, store));
    Ok(Target {
        given,
        root,
        is_dir: kind.is_dir(),
        store_path,
    })
}

/// The store path that `path` lies in, if it lies in `store`.
pub fn store_path_of(path: &Path, store: &Path) -> Option<StorePath> {
    let first = path.strip_prefix(store).ok()?.components().next()?;
    let text = first.as_os_str().to_str()?;
    let (hash, name) = text.split_once('-')?;
    StorePath::new(hash, name).ok()
}

/// Why an entry is not read: it was listed as a file or directory, and is a symlink now.
pub const SWAPPED: &str =
    "changed into a symlink during the audit, not followed; audit a finished build";

impl Target {
    /// The path of the entry `rel` (as [`Entry::rel`] names it) from where stowaway ran.
    pub fn path_of(&self, rel: &str) -> String {
        match (self.is_dir, rel) {
            (false, _) => self.given.clone(),
            (true, ".") => self.given.clone(),
            (true, rel) if self.given.ends_with('/') => format!("{}{rel}", self.given),
            (true, rel) => format!("{}/{rel}", self.given),
        }
    }
}

/// A short name for a file type that is neither file, directory nor symlink.
pub fn special_kind(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::BlockDevice => "block device",
        FileType::CharacterDevice => "character device",
        _ => "special file",
    }
}

/// Why an entry the walk listed could not be read: one that is gone was removed during the
/// audit, and a file that `O_NOFOLLOW` refuses was replaced by a symlink meanwhile.
pub fn unreadable(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOENT) => "disappeared during the audit; audit a finished build".to_string(),
        Some(libc::ELOOP) => SWAPPED.to_string(),
        _ => io_message(err),
    }
}

/// The one-line text of an I/O error, without Rust's "(os error N)" suffix.
pub fn io_message(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_lowercase(),
        None => text,
    }
}
