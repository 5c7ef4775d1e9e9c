//! Turns the paths given on the command line into the entries to audit.
//!
//! This module owns what counts as an input: a top-level path (a file, a directory, or a
//! symlink to either, such as `result`) is followed; inside a tree nothing is followed, a
//! symlink is an entry of its own, and FIFOs, sockets and devices are listed as skipped,
//! never opened. It also opens files for reading, safely (`O_NOFOLLOW | O_NONBLOCK`, checked
//! again with `fstat`), so a file swapped for a FIFO during the walk cannot hang the audit.
//! It does not read file contents.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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

/// What the walk found.
#[derive(Debug)]
pub enum Entry {
    File {
        target: usize,
        path: PathBuf,
        rel: String,
    },
    Symlink {
        target: usize,
        rel: String,
        link: PathBuf,
    },
    Skipped {
        rel: String,
        kind: &'static str,
    },
    Error {
        rel: String,
        message: String,
    },
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

/// Lists every entry of every target, in a stable order.
pub fn walk(targets: &[Target]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        if !target.is_dir {
            let name = target
                .root
                .file_name()
                .map(Path::new)
                .unwrap_or(&target.root);
            entries.push(Entry::File {
                target: index,
                path: target.root.clone(),
                rel: escape_path(name),
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(&target.root)
            .follow_links(false)
            .sort_by_file_name();
        for item in walker {
            entries.push(match item {
                Ok(entry) if entry.file_type().is_dir() => continue,
                Ok(entry) => classify(index, target, entry),
                Err(err) => Entry::Error {
                    rel: err
                        .path()
                        .map(|p| relative(target, p))
                        .unwrap_or_else(|| target.given.clone()),
                    message: io_message(err.io_error(), &err.to_string()),
                },
            });
        }
    }
    entries
}

fn classify(index: usize, target: &Target, entry: walkdir::DirEntry) -> Entry {
    let kind = entry.file_type();
    let rel = relative(target, entry.path());
    if kind.is_symlink() {
        return match fs::read_link(entry.path()) {
            Ok(link) => Entry::Symlink {
                target: index,
                rel,
                link,
            },
            Err(err) => Entry::Error {
                rel,
                message: io_message(Some(&err), ""),
            },
        };
    }
    if kind.is_file() {
        return Entry::File {
            target: index,
            path: entry.into_path(),
            rel,
        };
    }
    Entry::Skipped {
        rel,
        kind: special_kind(kind),
    }
}

fn relative(target: &Target, path: &Path) -> String {
    let rel = path.strip_prefix(&target.root).unwrap_or(path);
    if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        escape_path(rel)
    }
}

/// Opens a regular file for reading without following a symlink or blocking on a FIFO;
/// returns the file and its size at open time, or `None` if it is no longer a regular file.
pub fn open_regular(path: &Path) -> io::Result<Option<(File, u64)>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta.len())))
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

/// The one-line text of an I/O error, without Rust's "(os error N)" suffix.
pub fn io_message(err: Option<&io::Error>, fallback: &str) -> String {
    let Some(err) = err else {
        return fallback.to_string();
    };
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_lowercase(),
        None => text,
    }
}
