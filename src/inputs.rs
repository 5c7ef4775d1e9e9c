//! Turns the paths given on the command line into the entries to audit.
//!
//! This module owns what counts as an input: a top-level path (a file, a directory, or a
//! symlink to either, such as `result`) is followed; inside a tree nothing is followed, a
//! symlink is an entry of its own, and FIFOs, sockets and devices are listed as skipped,
//! never opened. It also opens files for reading, safely (`O_NOFOLLOW | O_NONBLOCK`, checked
//! again with `fstat`), so a file swapped for a FIFO during the walk cannot hang the audit.
//! It does not read file contents.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    /// A regular file, to be opened with [`open_regular`].
    File(PathBuf),
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
            special_kind(kind)
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
const SWAPPED: &str =
    "changed into a symlink during the audit, not followed; audit a finished build";

/// Every entry of every target down to `max_depth` levels below it, in name order so that runs
/// repeat, as the walk finds it (lazily: the consumer may run in parallel).
pub fn walk(targets: &[Target], max_depth: usize) -> impl Iterator<Item = Entry> + Send + '_ {
    targets.iter().enumerate().flat_map(move |(index, target)| {
        let mut entries = walkdir::WalkDir::new(&target.root)
            .follow_links(false)
            .max_depth(max_depth)
            .sort_by_file_name()
            .into_iter();
        std::iter::from_fn(move || {
            Some(match entries.next()? {
                // walkdir opens a directory by its path, which follows a symlink put in its
                // place after the listing; what it read then is not walked.
                Ok(entry) if swapped_for_symlink(&entry) => {
                    entries.skip_current_dir();
                    error_entry(index, target, Some(entry.path()), SWAPPED.to_string())
                }
                Ok(entry) => classify(index, target, entry, max_depth),
                Err(err) => {
                    let message = match err.io_error() {
                        Some(io) => unreadable(io),
                        None => err.to_string(),
                    };
                    error_entry(index, target, err.path(), message)
                }
            })
        })
    })
}

/// The entry at `path` (the target itself when there is none) that could not be read.
fn error_entry(index: usize, target: &Target, path: Option<&Path>, message: String) -> Entry {
    Entry {
        target: index,
        rel: path.map_or_else(|| ".".to_string(), |p| relative(target, p)),
        name: path.and_then(Path::file_name).map(OsStr::to_os_string),
        kind: EntryKind::Error(message),
    }
}

/// A directory below the target that the listing saw and that is a symlink now.
fn swapped_for_symlink(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0
        && entry.file_type().is_dir()
        && fs::symlink_metadata(entry.path()).is_ok_and(|m| m.file_type().is_symlink())
}

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

fn classify(index: usize, target: &Target, entry: walkdir::DirEntry, max_depth: usize) -> Entry {
    let root = entry.depth() == 0;
    let rel = if root && !target.is_dir {
        let name = target
            .root
            .file_name()
            .map(Path::new)
            .unwrap_or(&target.root);
        escape_path(name)
    } else {
        relative(target, entry.path())
    };
    let name = (!root).then(|| entry.file_name().to_os_string());
    let kind = entry.file_type();
    let kind = if kind.is_dir() && entry.depth() == max_depth && !is_empty_dir(entry.path()) {
        EntryKind::TooDeep
    } else if kind.is_dir() {
        EntryKind::Directory
    } else if kind.is_symlink() {
        match fs::read_link(entry.path()) {
            Ok(link) => EntryKind::Symlink(link),
            Err(err) => EntryKind::Error(unreadable(&err)),
        }
    } else if kind.is_file() {
        EntryKind::File(entry.into_path())
    } else {
        EntryKind::Special(special_kind(kind))
    };
    Entry {
        target: index,
        rel,
        name,
        kind,
    }
}

/// Whether a directory has no entries; one that cannot be listed counts as not empty.
fn is_empty_dir(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

fn relative(target: &Target, path: &Path) -> String {
    let rel = path.strip_prefix(&target.root).unwrap_or(path);
    if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        escape_path(rel)
    }
}

/// A regular file opened for reading, with what its NAR serialisation needs.
pub struct Opened {
    pub file: File,
    /// The size at open time: nothing past it is read, so a growing file cannot stall us.
    pub size: u64,
    pub executable: bool,
    /// The modification time at open time.
    modified: Option<SystemTime>,
}

impl Opened {
    /// Fails unless `read` bytes were read and the file is still as it was when opened: what
    /// was scanned is then exactly the file, not a mix of two versions of it.
    pub fn unchanged(&self, read: u64) -> Result<(), String> {
        let now = self.file.metadata().map_err(|e| io_message(&e))?;
        let changed = if read < self.size {
            format!("it shrank from {} to {read} bytes", self.size)
        } else if now.len() != self.size {
            format!("its size went from {} to {} bytes", self.size, now.len())
        } else if now.modified().ok() != self.modified {
            "it was modified".to_string()
        } else {
            return Ok(());
        };
        Err(format!(
            "changed while it was read ({changed}); audit a finished build"
        ))
    }
}

/// Opens a regular file for reading without following a symlink or blocking on a FIFO;
/// `None` if it is no longer a regular file.
pub fn open_regular(path: &Path) -> io::Result<Option<Opened>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok(meta.is_file().then(|| Opened {
        size: meta.len(),
        executable: meta.permissions().mode() & 0o100 != 0,
        modified: meta.modified().ok(),
        file,
    }))
}

/// A short name for a file type that is neither file, directory nor symlink.
fn special_kind(kind: fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_char_device() {
        "character device"
    } else {
        "special file"
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
