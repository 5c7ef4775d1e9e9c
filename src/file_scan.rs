//! Scans the audited entries: every regular file once, every symlink's target, in parallel.
//!
//! The walk streams into the workers (no waiting for a full listing), a file larger than
//! [`SPLIT_ABOVE`] is cut into ranges that idle workers take over, and each file's hits are
//! kept within the per-file caps. Each entry also yields its share of the target's NAR size,
//! from the same `fstat` that opening it needs, so the target is never walked twice. What the
//! hits mean is decided later, in [`crate::audit`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;

use rayon::prelude::*;

use crate::closure::nar_size::{entry_bytes, NarNode};
use crate::findings::Rule;
use crate::inputs::{self, io_message, Entry, EntryKind, Target};
use crate::progress::Progress;
use crate::scan::{Hit, ScanBuffer, Scanner};
use crate::store_path::is_nuked_hash;

/// Locations kept per referenced path in one file; further occurrences are only counted.
pub const MAX_LOCATIONS_PER_FILE: usize = 16;
/// Distinct store paths recorded per file; past this the file is reported as cut short.
pub const MAX_PATHS_PER_FILE: usize = 4096;
/// Files larger than this are split into ranges that workers scan in parallel, so one big
/// file does not leave the other cores idle.
const SPLIT_ABOVE: u64 = 16 << 20;
/// The length of each such range.
const RANGE_LEN: u64 = 8 << 20;

/// The hits of one file, within the per-file caps, by (rule, hash).
#[derive(Debug, Default)]
pub struct Recorder {
    hits: BTreeMap<(Rule, String), (Vec<Hit>, u64)>,
    /// More than [`MAX_PATHS_PER_FILE`] distinct paths were seen.
    overflow: bool,
}

impl Recorder {
    /// Keeps a hit, or counts it past the caps.
    fn record(&mut self, rule: Rule, hit: Hit) {
        let key = (rule, hit.hash.clone());
        self.add(key, std::iter::once(hit), 0);
    }

    /// Appends the hits of the range that follows this one.
    fn merge(&mut self, later: Recorder) {
        self.overflow |= later.overflow;
        for (key, (hits, more)) in later.hits {
            self.add(key, hits.into_iter(), more);
        }
    }

    fn add(&mut self, key: (Rule, String), hits: impl Iterator<Item = Hit>, more: u64) {
        if !self.hits.contains_key(&key) && self.hits.len() >= MAX_PATHS_PER_FILE {
            self.overflow = true;
            return;
        }
        let (kept, counted) = self.hits.entry(key).or_default();
        *counted += more;
        for hit in hits {
            if kept.len() < MAX_LOCATIONS_PER_FILE {
                kept.push(hit);
            } else {
                *counted += 1;
            }
        }
    }

    /// Each (rule, hash) with the hits kept, in offset order, and how many more there were.
    pub fn iter(&self) -> impl Iterator<Item = (Rule, &str, &[Hit], u64)> {
        self.hits
            .iter()
            .map(|((rule, hash), (hits, more))| (*rule, hash.as_str(), hits.as_slice(), *more))
    }
}

/// What one walked entry contributed.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Index of the target it belongs to.
    pub target: usize,
    pub rel: String,
    /// Its share of the target's NAR size; `None` when it could not be measured.
    pub nar_bytes: Option<u64>,
    pub found: Recorder,
    pub bytes: u64,
    /// A regular file that was read to the end.
    pub read: bool,
    /// Why it could not be read (or was cut short).
    pub error: Option<String>,
    /// The kind of a FIFO, socket or device, which is never opened.
    pub skipped: Option<&'static str>,
}

/// Walks every target and scans what it finds.
pub fn scan_all(
    scanner: &Scanner,
    store_dir: &str,
    targets: &[Target],
    progress: &Progress,
) -> Vec<Outcome> {
    let outcomes = inputs::walk(targets)
        .par_bridge()
        .map_init(ScanBuffer::default, |buffer, entry| {
            scan_entry(scanner, store_dir, entry, buffer, progress)
        })
        .collect();
    progress.finish();
    outcomes
}

/// Scans one entry: a file's bytes, or a symlink's target.
fn scan_entry(
    scanner: &Scanner,
    store_dir: &str,
    entry: Entry,
    buffer: &mut ScanBuffer,
    progress: &Progress,
) -> Outcome {
    let mut outcome = Outcome {
        target: entry.target,
        rel: entry.rel,
        ..Outcome::default()
    };
    let nar = |node| Some(entry_bytes(entry.name_len, node));
    match entry.kind {
        EntryKind::Directory => outcome.nar_bytes = nar(NarNode::Directory),
        EntryKind::Special(kind) => outcome.skipped = Some(kind),
        EntryKind::Error(message) => outcome.error = Some(message),
        EntryKind::Symlink(link) => {
            let text = link.as_os_str().as_bytes();
            outcome.nar_bytes = nar(NarNode::Symlink {
                target_len: text.len() as u64,
            });
            if text.starts_with(format!("{store_dir}/").as_bytes()) {
                for hit in scanner
                    .scan_bytes(text)
                    .into_iter()
                    .filter(|h| h.offset == 0)
                {
                    let excerpt = format!("{} -> {}", outcome.rel, hit.excerpt);
                    outcome
                        .found
                        .record(Rule::StoreSymlink, Hit { excerpt, ..hit });
                }
            }
        }
        EntryKind::File(path) => {
            let opened = match inputs::open_regular(&path) {
                Ok(Some(opened)) => opened,
                Ok(None) => {
                    outcome.error =
                        Some("changed into a special file during the audit; not read".into());
                    return outcome;
                }
                Err(err) => {
                    outcome.error = Some(io_message(Some(&err), ""));
                    return outcome;
                }
            };
            let result = if opened.size <= SPLIT_ABOVE {
                scanner.scan_file_range(&opened.file, opened.size, 0..opened.size, buffer, |hit| {
                    outcome.found.record(content_rule(&hit), hit)
                })
            } else {
                scan_ranges(scanner, &opened.file, opened.size, &mut outcome.found)
            };
            match result {
                Ok(bytes) => {
                    outcome.bytes = bytes;
                    outcome.read = true;
                    outcome.nar_bytes = nar(NarNode::Regular {
                        executable: opened.executable,
                        size: bytes,
                    });
                    progress.add(bytes);
                }
                Err(err) => {
                    outcome.error = Some(format!("read failed: {}", io_message(Some(&err), "")))
                }
            }
            if outcome.found.overflow && outcome.error.is_none() {
                outcome.error = Some(format!(
                    "more than {MAX_PATHS_PER_FILE} distinct store paths; only the first are reported"
                ));
            }
        }
    }
    outcome
}

/// The rule of a hit in file contents.
fn content_rule(hit: &Hit) -> Rule {
    if is_nuked_hash(hit.hash.as_bytes()) {
        Rule::NukedReference
    } else {
        Rule::StoreReference
    }
}

/// Scans a large file as ranges in parallel and merges their hits in file order.
fn scan_ranges(scanner: &Scanner, file: &File, size: u64, found: &mut Recorder) -> io::Result<u64> {
    let starts: Vec<u64> = (0..size).step_by(RANGE_LEN as usize).collect();
    let parts: Vec<(Recorder, io::Result<u64>)> = starts
        .par_iter()
        .map_init(ScanBuffer::default, |buffer, &start| {
            let mut part = Recorder::default();
            let range = start..(start + RANGE_LEN).min(size);
            let result = scanner.scan_file_range(file, size, range, buffer, |hit| {
                part.record(content_rule(&hit), hit)
            });
            (part, result)
        })
        .collect();
    let mut bytes = 0;
    for (part, result) in parts {
        bytes += result?;
        found.merge(part);
    }
    Ok(bytes)
}
