//! The walk: every entry of every target, listed in parallel.
//!
//! Each directory is read whole, its entries sorted by name, and handed out to rayon's
//! workers, a subdirectory being walked as soon as a worker takes it. A directory is opened
//! relative to its parent's descriptor, and the walk hands each file its directory's
//! descriptor, so that opening it costs the kernel one name lookup, not one per level of its
//! path. Opening with `O_NOFOLLOW | O_DIRECTORY` also means a directory swapped for a symlink
//! after its parent was listed is refused, never walked through.
//!
//! Descriptors are kept for the first [`FD_LEVELS`] levels only; below, the walk goes by
//! path (as deep trees are rare, and a chain of descriptors must not run out the process's
//! limit), where the kernel refuses a path longer than `PATH_MAX`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, CWD};

use super::{special_kind, unreadable, Entry, EntryKind, FileRef, Target, SWAPPED};
use crate::escape::{escape_path, push_escaped};

/// Levels below a target whose directories the walk keeps open.
const FD_LEVELS: usize = 32;

/// A directory being walked.
struct Walking<'a> {
    target: usize,
    /// Open, for the first [`FD_LEVELS`] levels.
    fd: Option<Arc<OwnedFd>>,
    path: Arc<PathBuf>,
    /// Relative to the target, escaped; empty for the target itself.
    rel: String,
    depth: usize,
    max_depth: usize,
    visit: &'a (dyn Fn(Entry) + Sync),
}

/// Hands every entry of every target, down to `max_depth` levels below it, to `visit`, on
/// rayon's workers (so in no particular order).
pub fn walk(targets: &[Target], max_depth: usize, visit: &(dyn Fn(Entry) + Sync)) {
    targets
        .par_iter()
        .enumerate()
        .for_each(|(index, target)| walk_target(index, target, max_depth, visit));
}

fn walk_target(index: usize, target: &Target, max_depth: usize, visit: &(dyn Fn(Entry) + Sync)) {
    let entry = |rel: String, kind| Entry {
        target: index,
        rel,
        name: None,
        kind,
    };
    if !target.is_dir {
        let name = target
            .root
            .file_name()
            .map(Path::new)
            .unwrap_or(&target.root);
        let file = EntryKind::File(FileRef::at(&target.root));
        visit(entry(escape_path(name), file));
        return;
    }
    // At depth 0 there is nothing to walk below: the target itself may be too deep.
    if max_depth == 0 {
        let kind = match is_empty(None, &target.root) {
            true => EntryKind::Directory,
            false => EntryKind::TooDeep,
        };
        visit(entry(".".to_string(), kind));
        return;
    }
    match open_dir(None, &target.root) {
        Err(err) => {
            visit(entry(".".to_string(), EntryKind::Directory));
            visit(Entry {
                name: Some(last_name(&target.root)),
                ..entry(".".to_string(), EntryKind::Error(unreadable(&err)))
            });
        }
        Ok(fd) => {
            visit(entry(".".to_string(), EntryKind::Directory));
            let dir = Walking {
                target: index,
                fd: Some(Arc::new(fd)),
                path: Arc::new(target.root.clone()),
                rel: String::new(),
                depth: 0,
                max_depth,
                visit,
            };
            dir.walk();
        }
    }
}

impl Walking<'_> {
    /// Lists this directory and walks each of its entries.
    fn walk(&self) {
        let listed = match self.list() {
            Ok(listed) => listed,
            Err(err) => {
                let rel = if self.rel.is_empty() { "." } else { &self.rel };
                (self.visit)(Entry {
                    target: self.target,
                    rel: rel.to_string(),
                    name: Some(last_name(&self.path)),
                    kind: EntryKind::Error(unreadable(&err)),
                });
                return;
            }
        };
        listed
            .into_par_iter()
            .for_each(|(name, kind)| self.entry(name, kind));
    }

    /// Its entries' names and types, sorted by name (so that each run sees the same order).
    fn list(&self) -> io::Result<Vec<(OsString, Option<FileType>)>> {
        let mut listed = Vec::new();
        let mut read = |dir: &mut Dir| -> io::Result<()> {
            while let Some(entry) = dir.read() {
                let entry = entry?;
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                let kind = Some(entry.file_type()).filter(|k| *k != FileType::Unknown);
                listed.push((OsStr::from_bytes(name).to_os_string(), kind));
            }
            Ok(())
        };
        match &self.fd {
            Some(fd) => read(&mut Dir::read_from(&**fd)?)?,
            None => read(&mut Dir::new(open_dir(None, &self.path)?)?)?,
        }
        listed.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(listed)
    }

    /// One entry of this directory, as a walk entry (and walked, if it is a directory).
    fn entry(&self, name: OsString, kind: Option<FileType>) {
        let mut rel = String::with_capacity(self.rel.len() + 1 + name.len());
        if !self.rel.is_empty() {
            rel.push_str(&self.rel);
            rel.push('/');
        }
        push_escaped(&mut rel, name.as_bytes());
        let depth = self.depth + 1;
        let kind = match kind {
            Some(kind) => Ok(kind),
            None => self.type_of(&name),
        };
        let mut child = None;
        let kind = match kind {
            Err(err) => EntryKind::Error(unreadable(&err)),
            Ok(FileType::Directory) if depth >= self.max_depth => {
                match is_empty(self.fd.as_deref(), &self.path.join(&name)) {
                    true => EntryKind::Directory,
                    false => EntryKind::TooDeep,
                }
            }
            Ok(FileType::Directory) => match self.open_child(&name) {
                Ok(opened) => {
                    child = Some(opened);
                    EntryKind::Directory
                }
                // Listed as a directory, and now a symlink (or a file): not followed.
                Err(err) if matches!(err.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                    EntryKind::Error(SWAPPED.to_string())
                }
                Err(err) => {
                    // The directory is an entry of the tree; what it holds could not be read.
                    (self.visit)(Entry {
                        target: self.target,
                        rel: rel.clone(),
                        name: Some(name.clone()),
                        kind: EntryKind::Directory,
                    });
                    EntryKind::Error(unreadable(&err))
                }
            },
            Ok(FileType::Symlink) => match self.read_link(&name) {
                Ok(target) => EntryKind::Symlink(target),
                Err(err) => EntryKind::Error(unreadable(&err)),
            },
            Ok(FileType::RegularFile) => EntryKind::File(FileRef {
                dir: self.fd.clone(),
                dir_path: Arc::clone(&self.path),
                name: name.clone(),
            }),
            Ok(other) => EntryKind::Special(special_kind(other)),
        };
        let below = child.map(|fd| Walking {
            target: self.target,
            fd,
            path: Arc::new(self.path.join(&name)),
            rel: rel.clone(),
            depth,
            max_depth: self.max_depth,
            visit: self.visit,
        });
        (self.visit)(Entry {
            target: self.target,
            rel,
            name: Some(name),
            kind,
        });
        if let Some(below) = below {
            below.walk();
        }
    }

    /// Opens the subdirectory `name`, relative to this one while descriptors are kept.
    /// Below [`FD_LEVELS`] it is walked by path: opening it here only checks that it still
    /// is a directory.
    fn open_child(&self, name: &OsStr) -> io::Result<Option<Arc<OwnedFd>>> {
        let fd = match &self.fd {
            Some(fd) => open_dir_at(fd, name)?,
            None => open_dir(None, &self.path.join(name))?,
        };
        Ok((self.depth + 1 < FD_LEVELS).then(|| Arc::new(fd)))
    }

    fn type_of(&self, name: &OsStr) -> io::Result<FileType> {
        let stat = match &self.fd {
            Some(fd) => rustix::fs::statat(&**fd, name, AtFlags::SYMLINK_NOFOLLOW)?,
            None => rustix::fs::statat(CWD, self.path.join(name), AtFlags::SYMLINK_NOFOLLOW)?,
        };
        Ok(FileType::from_raw_mode(stat.st_mode))
    }

    fn read_link(&self, name: &OsStr) -> io::Result<PathBuf> {
        match &self.fd {
            Some(fd) => {
                let target = rustix::fs::readlinkat(&**fd, name, Vec::new())?;
                Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
            }
            None => fs::read_link(self.path.join(name)),
        }
    }
}

/// Opens the directory `name` of `parent` without following a symlink.
fn open_dir_at(parent: &OwnedFd, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(parent, name, flags, Mode::empty())?)
}

/// Opens the directory at `path` (relative to `parent` when given, by its last name).
fn open_dir(parent: Option<&OwnedFd>, path: &Path) -> io::Result<OwnedFd> {
    match parent {
        Some(parent) => open_dir_at(parent, path.file_name().unwrap_or_default()),
        None => {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(rustix::fs::openat(CWD, path, flags, Mode::empty())?)
        }
    }
}

/// Whether the directory at `path` has no entries; one that cannot be listed counts as not
/// empty.
fn is_empty(parent: Option<&OwnedFd>, path: &Path) -> bool {
    let Ok(fd) = open_dir(parent, path) else {
        return false;
    };
    let Ok(mut dir) = Dir::new(fd) else {
        return false;
    };
    while let Some(entry) = dir.read() {
        match entry {
            Ok(entry) if matches!(entry.file_name().to_bytes(), b"." | b"..") => continue,
            _ => return false,
        }
    }
    true
}

/// The last name of a path, for an entry's NAR name.
fn last_name(path: &Path) -> OsString {
    path.file_name().unwrap_or_default().to_os_string()
}
