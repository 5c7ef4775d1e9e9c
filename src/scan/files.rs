//! Scans the audited entries: every regular file once, every symlink's target, in parallel.
//!
//! The walk streams into the workers (no waiting for a full listing), a file larger than
//! `SPLIT_ABOVE` (16 MiB) is cut into ranges that idle workers take over, and each file's hits
//! are kept within the limits on locations and paths per file. Each entry also yields its share of the target's NAR size,
//! from the same `fstat` that opening it needs, so the target is never walked twice. An ELF
//! file's structure is read once, when its first chunk arrives ([`crate::inspect`]); library
//! strings are searched in the same pass over its bytes ([`crate::libraries`]); its hits are
//! placed in sections and symbols after it. What the hits mean is decided later, in
//! [`crate::attribute`] and [`crate::checks::linkage`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::closure::nar_size::{entry_bytes, NarNode};
use crate::inputs::{self, io_message, Entry, EntryKind, Opened, Target};
use crate::inspect::{sniff, Format, Parsed, Place, Prefixed, ReadAt};
use crate::libraries::{Area, Found, Signatures};
use crate::model::{AuditError, Binary, ElfFacts, Identity, Kind, Skipped, Unparseable};
use crate::model::{Limit, Limits};
use crate::progress::Progress;
use crate::rules::StringSearch;
use crate::scan::{Hit, ScanBuffer, ScanSink, Scanner};
use crate::store_path::is_nuked_hash;

/// Files larger than this are split into ranges that workers scan in parallel, so one big
/// file does not leave the other cores idle.
const SPLIT_ABOVE: u64 = 16 << 20;
/// The length of each such range.
const RANGE_LEN: u64 = 8 << 20;

/// The hits of one file by (rule, referenced path: [`Hit::reference_key`]), within the limits
/// on locations per path and paths per file.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    hits: BTreeMap<(Kind, String), (Vec<Hit>, u64)>,
    /// More distinct paths were seen than `max_paths_per_file`.
    overflow: bool,
}

impl Recorder {
    /// Keeps a hit, or counts it past the limits.
    fn record(&mut self, rule: Kind, hit: Hit, limits: &Limits) {
        let key = (rule, hit.reference_key());
        self.add(key, std::iter::once(hit), 0, limits);
    }

    /// Appends the hits of the range that follows this one.
    fn merge(&mut self, later: Recorder, limits: &Limits) {
        self.overflow |= later.overflow;
        for (key, (hits, more)) in later.hits {
            self.add(key, hits.into_iter(), more, limits);
        }
    }

    fn add(
        &mut self,
        key: (Kind, String),
        hits: impl Iterator<Item = Hit>,
        more: u64,
        limits: &Limits,
    ) {
        if !self.hits.contains_key(&key) && self.hits.len() >= limits.max_paths_per_file {
            self.overflow = true;
            return;
        }
        let (kept, counted) = self.hits.entry(key).or_default();
        *counted += more;
        for hit in hits {
            if kept.len() < limits.max_locations {
                kept.push(hit);
            } else {
                *counted += 1;
            }
        }
    }

    /// Adds `newlines` to the line of every hit kept: those of the ranges before this one.
    fn shift_lines(&mut self, newlines: u64) {
        for hit in self.hits.values_mut().flat_map(|(kept, _)| kept) {
            hit.line = hit.line.map(|line| line + newlines);
        }
    }

    /// The limits these hits reached.
    pub(crate) fn limits_reached(&self) -> impl Iterator<Item = Limit> {
        let paths = self.overflow.then_some(Limit::MaxPathsPerFile);
        let locations = self
            .hits
            .values()
            .any(|(_, more)| *more > 0)
            .then_some(Limit::MaxLocations);
        paths.into_iter().chain(locations)
    }

    /// Each (rule, referenced path) with the hits kept, in offset order, and how many more
    /// there were.
    pub fn iter(&self) -> impl Iterator<Item = (Kind, &str, &[Hit], u64)> {
        self.hits
            .iter()
            .map(|((rule, hash), (hits, more))| (*rule, hash.as_str(), hits.as_slice(), *more))
    }
}

/// What one walked entry contributed. The fields here are what every entry has; what only
/// some have (hits, problems, ELF facts) is in [`Details`], boxed and absent when empty, so
/// that the many entries of a large tree stay small to collect, sort and go over (an
/// outcome is a quarter of the size it would be with every field inline).
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Index of the target it belongs to.
    pub target: usize,
    pub rel: String,
    /// Its share of the target's NAR size; `None` when it could not be measured.
    pub nar_bytes: Option<u64>,
    pub bytes: u64,
    /// A regular file that was read to the end.
    pub read: bool,
    /// The executable bit (a NAR records it).
    pub executable: bool,
    /// What the file is: an ELF type, `archive`, or `other` (text and everything else).
    pub file_kind: &'static str,
    details: Option<Box<Details>>,
}

/// What only some entries have.
#[derive(Debug, Default, Clone)]
pub struct Details {
    pub found: Recorder,
    /// Why it could not be read (or was cut short).
    pub error: Option<String>,
    /// The limits it reached.
    pub limits: Vec<Limit>,
    /// The kind of a FIFO, socket or device, which is never opened.
    pub skipped: Option<&'static str>,
    /// An ELF file as opened (for resolving `$ORIGIN` and needed libraries).
    pub path: Option<PathBuf>,
    /// The linkage facts of an ELF file.
    pub elf: Option<ElfFacts>,
    /// Why an ELF file or archive could not be parsed (it was still byte-scanned).
    pub unparseable: Option<String>,
    /// Store references in the entry's own name.
    pub name_hits: Vec<Hit>,
    /// Where each kept hit sits inside the binary, by offset.
    pub places: BTreeMap<u64, Place>,
    /// The libraries an ELF file contains.
    pub libraries: Vec<Identity>,
    /// Which of the rules' strings it contains.
    pub rule_strings: BTreeSet<usize>,
}

/// The details of an entry that has none.
static NO_DETAILS: Details = Details {
    found: Recorder {
        hits: BTreeMap::new(),
        overflow: false,
    },
    error: None,
    limits: Vec::new(),
    skipped: None,
    path: None,
    elf: None,
    unparseable: None,
    name_hits: Vec::new(),
    places: BTreeMap::new(),
    libraries: Vec::new(),
    rule_strings: BTreeSet::new(),
};

impl Details {
    fn is_empty(&self) -> bool {
        // Every field named, so that a new one cannot be forgotten here.
        let Details {
            found,
            error,
            limits,
            skipped,
            path,
            elf,
            unparseable,
            name_hits,
            places,
            libraries,
            rule_strings,
        } = self;
        found.hits.is_empty()
            && !found.overflow
            && error.is_none()
            && limits.is_empty()
            && skipped.is_none()
            && path.is_none()
            && elf.is_none()
            && unparseable.is_none()
            && name_hits.is_empty()
            && places.is_empty()
            && libraries.is_empty()
            && rule_strings.is_empty()
    }
}

impl Outcome {
    /// An entry's outcome with nothing recorded yet.
    pub fn new(target: usize, rel: String) -> Outcome {
        Outcome {
            target,
            rel,
            ..Outcome::default()
        }
    }

    /// Its hits, problems and ELF facts (empty ones if it has none).
    pub fn details(&self) -> &Details {
        self.details.as_deref().unwrap_or(&NO_DETAILS)
    }

    /// Keeps `details`, unless there is nothing in them.
    pub(crate) fn keep(&mut self, details: Details) {
        self.details = (!details.is_empty()).then(|| Box::new(details));
    }
}

/// What the scan of one file (or one range of it) hands back besides the byte count.
pub(crate) struct FileSink<'a> {
    signatures: &'a Signatures,
    file_strings: Option<&'a StringSearch>,
    rule_strings: BTreeSet<usize>,
    progress: &'a Progress,
    limits: Limits,
    found: Recorder,
    strings: Found,
    /// File ranges searched for library strings (string tables and data of an ELF file).
    ranges: Vec<(u64, u64, Area)>,
    /// For a whole-file scan: the file, whose structure is read when its first bytes arrive.
    reader: Option<(&'a File, u64)>,
    parsed: Option<Result<Parsed, String>>,
    /// Present when the lines of hits are wanted.
    lines: Option<LineCounter>,
}

/// Counts the newlines a sink is handed, so that each hit gets its line in the scan's own
/// pass. Lines are relative to the start of the sink's range until [`Recorder::shift_lines`]
/// adds the newlines of the ranges before it.
#[derive(Debug, Default)]
struct LineCounter {
    /// Newlines in the regions handed so far, the current one included.
    total: u64,
    /// A file offset in the current region, and the newlines before it.
    at: u64,
    before_at: u64,
}

impl LineCounter {
    fn region(&mut self, buf: &[u8], owned: Range<usize>, base: u64) {
        self.at = base + owned.start as u64;
        self.before_at = self.total;
        self.total += buf.get(owned).map_or(0, newlines);
    }

    /// The line of `offset`, which lies in `buf` (`buf[0]` at file offset `base`); the
    /// offsets asked about in one region rise, so each byte is counted about once more.
    fn line_of(&mut self, offset: u64, buf: &[u8], base: u64) -> u64 {
        let (from, to) = (self.at.min(offset) - base, self.at.max(offset) - base);
        let counted = buf.get(from as usize..to as usize).map_or(0, newlines);
        // A store path that starts before its region differs from it by the store directory
        // only, which holds no newline (see `config`).
        self.before_at = if offset >= self.at {
            self.before_at + counted
        } else {
            self.before_at.saturating_sub(counted)
        };
        self.at = offset;
        self.before_at + 1
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytecount::count(bytes, b'\n') as u64
}

impl<'a> FileSink<'a> {
    fn new(tools: &'a Tools) -> FileSink<'a> {
        FileSink {
            signatures: tools.signatures,
            file_strings: tools.file_strings,
            rule_strings: BTreeSet::new(),
            progress: tools.progress,
            limits: tools.limits,
            found: Recorder::default(),
            strings: Found::default(),
            ranges: Vec::new(),
            reader: None,
            parsed: None,
            lines: tools.lines.then(LineCounter::default),
        }
    }
}

impl ScanSink for FileSink<'_> {
    fn hit(&mut self, mut hit: Hit, buf: &[u8], base: u64) {
        if let Some(lines) = &mut self.lines {
            hit.line = Some(lines.line_of(hit.offset, buf, base));
        }
        self.found.record(content_rule(&hit), hit, &self.limits);
    }

    fn region(&mut self, buf: &[u8], owned: Range<usize>, base: u64) {
        // Counted as it is read, so that one large file moves the bar too.
        self.progress.add(owned.len() as u64);
        if let Some(lines) = &mut self.lines {
            lines.region(buf, owned.clone(), base);
        }
        if let Some(search) = self.file_strings {
            search.search(buf, owned.clone(), &mut self.rule_strings);
        }
        if let Some((file, len)) = self.reader.take() {
            // The structure is read through the bytes already in memory where it lies there.
            let prefix = buf.get(..owned.end).unwrap_or(buf);
            let parsed = Parsed::read(&Prefixed { prefix, file }, len, sniff(buf));
            self.ranges = parsed
                .as_ref()
                .map(|p| p.string_ranges(len))
                .unwrap_or_default();
            self.parsed = Some(parsed);
        }
        let (start, end) = (base + owned.start as u64, base + owned.end as u64);
        for &(from, to, area) in &self.ranges {
            let (from, to) = (from.max(start), to.min(end));
            if from < to {
                let sub = (from - base) as usize..(to - base) as usize;
                self.signatures.search(area, buf, sub, &mut self.strings);
            }
        }
    }
}

/// What every worker needs to scan and inspect a file.
pub struct Tools<'a> {
    pub scanner: &'a Scanner,
    pub signatures: &'a Signatures,
    /// The texts rules look for in whole files, if any rule does.
    pub file_strings: Option<&'a StringSearch>,
    pub store_dir: &'a str,
    pub progress: &'a Progress,
    /// Find the line of every kept hit (newlines are counted as the bytes are scanned).
    pub lines: bool,
    pub limits: Limits,
}

/// What the scan says of the audit as a whole: what could not be read, what was skipped, the
/// binaries, and how much was read.
pub struct Records {
    pub errors: Vec<AuditError>,
    pub skipped: Vec<Skipped>,
    pub binaries: Vec<Binary>,
    pub unparseable: Vec<Unparseable>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
}

impl Records {
    /// The records of `outcomes`, each list in path order (one pass: a tree of many files
    /// has many outcomes).
    pub fn of(targets: &[Target], outcomes: &[Outcome]) -> Records {
        let mut records = Records {
            errors: Vec::new(),
            skipped: Vec::new(),
            binaries: Vec::new(),
            unparseable: Vec::new(),
            files_scanned: 0,
            bytes_scanned: 0,
        };
        for o in outcomes {
            records.files_scanned += u64::from(o.read);
            records.bytes_scanned += o.bytes;
            let target = || targets[o.target].given.clone();
            let details = o.details();
            if let Some(message) = &details.error {
                records.errors.push(AuditError {
                    message: message.clone(),
                    path: targets[o.target].path_of(&o.rel),
                    target: target(),
                    file: o.rel.clone(),
                });
            }
            if let Some(kind) = details.skipped {
                records.skipped.push(Skipped {
                    kind,
                    path: targets[o.target].path_of(&o.rel),
                    target: target(),
                    file: o.rel.clone(),
                });
            }
            if let Some(facts) = &details.elf {
                records.binaries.push(Binary {
                    target: target(),
                    file: o.rel.clone(),
                    facts: facts.clone(),
                    libraries: details.libraries.clone(),
                });
            }
            if let Some(reason) = &details.unparseable {
                records.unparseable.push(Unparseable {
                    target: target(),
                    file: o.rel.clone(),
                    reason: reason.clone(),
                });
            }
        }
        records.errors.sort();
        records.skipped.sort();
        records
            .binaries
            .sort_by(|a, b| (&a.target, &a.file).cmp(&(&b.target, &b.file)));
        records.unparseable.sort();
        records
    }
}

/// The NAR bytes of each target's entries as they were scanned; `None` for a target some of
/// whose entries could not be measured.
pub fn scanned_nar_bytes(targets: &[Target], outcomes: &[Outcome]) -> Vec<Option<u64>> {
    (0..targets.len())
        .map(|index| {
            outcomes
                .iter()
                .filter(|o| o.target == index)
                .try_fold(0, |sum, o| Some(sum + o.nar_bytes?))
        })
        .collect()
}

/// Walks every target and scans what it finds: first the outcomes with details, in path
/// order (by target, then relative path), then those without, in no order.
pub fn scan_all(tools: &Tools, targets: &[Target]) -> Vec<Outcome> {
    // One vector that grows in place, rather than rayon's collect, which holds every
    // outcome twice while it joins the workers' lists: a tree of many files peaks lower.
    let outcomes = std::sync::Mutex::new(Vec::new());
    let progress = tools.progress;
    progress.will_walk(
        targets.iter().map(|t| t.root.clone()).collect(),
        tools.limits.max_depth,
    );
    inputs::walk(targets, tools.limits.max_depth, &|entry| {
        let is_file = matches!(entry.kind, EntryKind::File(_));
        // One read buffer per worker thread, reused for every file it scans.
        let outcome = BUFFER.with_borrow_mut(|buffer| scan_entry(tools, entry, buffer));
        if is_file {
            progress.file_done();
        }
        outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(outcome);
    });
    tools.progress.finish();
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Workers finish in any order. Only the entries with details are put in path order: the
    // others count only by their sizes, and a tree's many plain files need no sorting.
    let with_details = partition_details_first(&mut outcomes);
    outcomes[..with_details]
        .par_sort_unstable_by(|a, b| (a.target, &a.rel).cmp(&(b.target, &b.rel)));
    outcomes
}

/// Moves the outcomes that have details before those that have none, and says how many
/// have them.
fn partition_details_first(outcomes: &mut [Outcome]) -> usize {
    let mut with_details = 0;
    for i in 0..outcomes.len() {
        if outcomes[i].details.is_some() {
            outcomes.swap(with_details, i);
            with_details += 1;
        }
    }
    with_details
}

thread_local! {
    /// The read buffer of each worker thread.
    static BUFFER: std::cell::RefCell<ScanBuffer> = std::cell::RefCell::new(ScanBuffer::default());
}

/// Scans one entry: a file's bytes, or a symlink's target.
fn scan_entry(tools: &Tools, entry: Entry, buffer: &mut ScanBuffer) -> Outcome {
    let scanner = tools.scanner;
    let mut outcome = Outcome::new(entry.target, entry.rel);
    let mut details = Details::default();
    let name_len = entry.name.as_ref().map(|n| n.len() as u64);
    let nar = |node| Some(entry_bytes(name_len, node));
    // Nix scans a NAR, names included: a name that carries a store hash is a reference.
    if let Some(name) = &entry.name {
        details.name_hits = scanner.scan_bytes(name.as_bytes());
    }
    match entry.kind {
        EntryKind::Directory => outcome.nar_bytes = nar(NarNode::Directory),
        EntryKind::TooDeep => {
            outcome.nar_bytes = nar(NarNode::Directory);
            details.limits.push(Limit::MaxDepth);
        }
        EntryKind::Special(kind) => details.skipped = Some(kind),
        EntryKind::Error(message) => details.error = Some(message),
        EntryKind::Symlink(link) => {
            let text = link.as_os_str().as_bytes();
            outcome.nar_bytes = nar(NarNode::Symlink {
                target_len: text.len() as u64,
            });
            record_symlink(tools, text, &outcome.rel, &mut details);
        }
        EntryKind::File(file) => {
            scan_opened(tools, file.open(), buffer, &mut outcome, &mut details);
            if outcome.read {
                outcome.nar_bytes = nar(NarNode::Regular {
                    executable: outcome.executable,
                    size: outcome.bytes,
                });
            }
            // Kept only where linkage needs it, so a tree of many files costs less memory.
            details.path = details.elf.is_some().then(|| file.path());
        }
    }
    details.limits.extend(details.found.limits_reached());
    outcome.keep(details);
    outcome
}

/// Records a symlink (of the entry `rel`) whose target (`text`) lies in the store as a
/// `store-symlink` hit.
pub(crate) fn record_symlink(tools: &Tools, text: &[u8], rel: &str, details: &mut Details) {
    if text.starts_with(format!("{}/", tools.store_dir).as_bytes()) {
        for hit in tools
            .scanner
            .scan_bytes(text)
            .into_iter()
            .filter(|h| h.offset == 0)
        {
            let excerpt = format!("{rel} -> {}", hit.excerpt);
            details
                .found
                .record(Kind::StoreSymlink, Hit { excerpt, ..hit }, &tools.limits);
        }
    }
}

/// Reads, scans and (if it is ELF or an archive) inspects the regular file at `path`, which
/// the outcome calls `rel`.
pub fn scan_file(tools: &Tools, rel: String, path: &Path, buffer: &mut ScanBuffer) -> Outcome {
    let mut outcome = Outcome::new(0, rel);
    let mut details = Details::default();
    let opened = inputs::open_regular(path);
    scan_opened(tools, opened, buffer, &mut outcome, &mut details);
    outcome.keep(details);
    outcome
}

/// Reads, scans and inspects one file as it was opened.
fn scan_opened(
    tools: &Tools,
    opened: io::Result<Option<Opened>>,
    buffer: &mut ScanBuffer,
    outcome: &mut Outcome,
    details: &mut Details,
) {
    let opened = match opened {
        Ok(Some(opened)) => opened,
        Ok(None) => {
            details.error = Some("changed into a special file during the audit; not read".into());
            return;
        }
        Err(err) => {
            details.error = Some(inputs::unreadable(&err));
            return;
        }
    };
    outcome.executable = opened.executable;
    let parse = opened.size <= tools.limits.max_elf_size;
    let mut sink = FileSink::new(tools);
    let result = if parse && opened.size <= SPLIT_ABOVE {
        sink.reader = Some((&opened.file, opened.size));
        tools
            .scanner
            .scan_file_range(&opened.file, opened.size, 0..opened.size, buffer, &mut sink)
    } else {
        format_of(&opened.file).and_then(|format| {
            // Past the limit a binary is only byte-scanned: its structure is never read.
            let structure = parse.then_some(format);
            if structure.is_none() && format != Format::Other {
                details.limits.push(Limit::MaxElfSize);
            }
            scan_ranges(tools, &opened.file, opened.size, structure, &mut sink)
        })
    };
    match result {
        Ok(bytes) => outcome.bytes = bytes,
        Err(err) => {
            details.error = Some(format!("read failed: {}", io_message(&err)));
            return;
        }
    }
    if let Err(change) = opened.unchanged(outcome.bytes) {
        details.error = Some(change);
        return;
    }
    outcome.read = true;
    conclude(tools, sink, &opened.file, outcome, details);
}

/// Hands what the scan of a whole file found to its outcome: the hits, placed in the file's
/// structure (read from `source`) when it is ELF or an archive, and the libraries it holds.
pub(crate) fn conclude(
    tools: &Tools,
    mut sink: FileSink,
    source: &dyn ReadAt,
    outcome: &mut Outcome,
    details: &mut Details,
) {
    let offsets: BTreeSet<u64> = sink
        .found
        .iter()
        .flat_map(|(_, _, hits, _)| hits.iter().map(|h| h.offset))
        .collect();
    outcome.file_kind = "other";
    match sink.parsed.take().unwrap_or(Ok(Parsed::Other)) {
        Ok(Parsed::Other) => {}
        Ok(parsed) => {
            let offsets: Vec<u64> = offsets.into_iter().collect();
            let wanted = tools.signatures.symbols_to_check(&sink.strings);
            match parsed.inspect(source, outcome.bytes, &offsets, &wanted) {
                Ok(inspection) => {
                    outcome.file_kind =
                        inspection.elf.as_ref().map_or("archive", |e| e.kind.name());
                    details.places = offsets.into_iter().zip(inspection.places).collect();
                    details.libraries = tools.signatures.identify(
                        &sink.strings,
                        &inspection.defined,
                        &inspection.versions,
                    );
                    details.elf = inspection.elf;
                }
                Err(reason) => details.unparseable = Some(reason),
            }
        }
        Err(reason) => details.unparseable = Some(reason),
    }
    details.rule_strings = std::mem::take(&mut sink.rule_strings);
    details.found = sink.found;
}

/// A sink for bytes that do not come from a file on disk (an archive member): `parsed` is
/// the structure of the `len` bytes, read before the scan, or `None` to scan bytes alone.
pub(crate) fn member_sink<'a>(
    tools: &'a Tools,
    parsed: Option<(Result<Parsed, String>, u64)>,
) -> FileSink<'a> {
    let mut sink = FileSink::new(tools);
    if let Some((parsed, len)) = parsed {
        sink.ranges = parsed
            .as_ref()
            .map(|p| p.string_ranges(len))
            .unwrap_or_default();
        sink.parsed = Some(parsed);
    }
    sink
}

/// The rule of a hit in file contents.
fn content_rule(hit: &Hit) -> Kind {
    if is_nuked_hash(hit.hash.as_bytes()) {
        Kind::NukedReference
    } else {
        Kind::StoreReference
    }
}

/// What a file's first bytes say it is.
fn format_of(file: &File) -> io::Result<Format> {
    let mut magic = [0u8; 8];
    let peeked = file.read_at(&mut magic, 0)?;
    Ok(sniff(&magic[..peeked]))
}

/// Scans a file as ranges in parallel and merges what they found in file order. Its
/// structure is read first, as `format` says it is; `None` scans its bytes alone.
fn scan_ranges(
    tools: &Tools,
    file: &File,
    size: u64,
    format: Option<Format>,
    sink: &mut FileSink,
) -> io::Result<u64> {
    let parsed = Parsed::read(file, size, format.unwrap_or(Format::Other));
    let ranges = parsed
        .as_ref()
        .map(|p| p.string_ranges(size))
        .unwrap_or_default();
    sink.parsed = Some(parsed);
    let starts: Vec<u64> = (0..size).step_by(RANGE_LEN as usize).collect();
    let parts: Vec<(FileSink, io::Result<u64>)> = starts
        .par_iter()
        .map_init(ScanBuffer::default, |buffer, &start| {
            let mut part = FileSink::new(tools);
            part.ranges = ranges.clone();
            let range = start..(start + RANGE_LEN).min(size);
            let result = tools
                .scanner
                .scan_file_range(file, size, range, buffer, &mut part);
            (part, result)
        })
        .collect();
    let (mut bytes, mut newlines) = (0, 0);
    for (mut part, result) in parts {
        bytes += result?;
        part.found.shift_lines(newlines);
        newlines += part.lines.as_ref().map_or(0, |l| l.total);
        sink.found.merge(part.found, &tools.limits);
        sink.strings.merge(part.strings);
        sink.rule_strings.extend(part.rule_strings);
    }
    Ok(bytes)
}
