//! A target that is an archive (issue 14): a NAR (plain or compressed), a tar, a
//! docker-archive or an OCI image layout, audited like the directory it holds.
//!
//! This module owns two things. [`open`] decides which targets are archives: only a target
//! given on the command line is opened as one (a `.tar.gz` inside an output is a file like
//! any other), by its content ([`crate::archive::open`]); an archive is audited on its own,
//! since it is its own closure. [`scan`] then reads every member of the archive's final
//! filesystem into the same [`Outcome`] a file of a directory gets: the member's path
//! (relative to the archive) is the outcome's `rel`, offsets are the member's own, and an
//! ELF file or `ar` archive is inspected as on disk.
//!
//! Memory stays bounded: nothing is extracted, and the archive is one stream read once by
//! one thread (a tar or an image was listed by [`crate::archive::open`] before). A member
//! whose structure must be read (ELF, `ar`), up to `--max-elf-size`, is read into memory
//! whole, since inspection reads it by position; every other member is scanned in chunks as
//! it streams by. The peak is the largest ELF member plus the decoder's window and the
//! listing.
//!
//! Members are not handed to rayon workers: on the 2-core machine this was measured on
//! (`bench/archive.sh`, 1.4 GiB of real binaries), copying each member out of the stream for a
//! worker made every form as slow or slower (a NAR of 52 000 files: 1.0 s against 0.58 s,
//! its zstd form 1.4 s against 1.35 s), because reading the stream, not scanning, is the
//! work: decompression, or for a plain tar or NAR the kernel's copy out of the page cache.
//!
//! What the members mean together (the store paths in the archive, their sizes and
//! references) is [`crate::closure::image`]'s business.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::bytes::read_full;
use super::files::{conclude, member_sink, record_symlink, Details, Outcome, Tools};
use crate::archive::{self, Archive, FileMember, Format, Member, MemberKind};
use crate::closure::nar_size::{entry_bytes, NarNode};
use crate::escape::escape_bytes;
use crate::inputs::Target;
use crate::inspect::{sniff, Format as FileFormat, Parsed};
use crate::model::{Finding, Limit, Limits};
use crate::scan::ScanBuffer;
use crate::store_path::StorePath;

/// The one archive target of an audit, opened and listed.
pub struct ArchiveTarget {
    /// Its index among the targets.
    pub index: usize,
    pub archive: Archive,
    /// For a NAR: its own store path, when its file name is `<hash>-<name>.nar…`.
    pub nar_path: Option<StorePath>,
}

/// Opens the target that is an archive, if one is. A target that is an archive is then a
/// directory as far as names go (its members are `given/member`). Errors: a corrupt or
/// unreadable archive, and an archive given with other targets.
pub fn open(targets: &mut [Target], limits: &Limits) -> Result<Option<ArchiveTarget>> {
    let archive_limits = archive::Limits {
        max_depth: limits.max_depth,
        ..archive::Limits::default()
    };
    let mut found = None;
    for (index, target) in targets.iter_mut().enumerate() {
        let opened = archive::open(&target.root, &archive_limits)
            .map_err(|e| anyhow::anyhow!("{}: {e}", target.given))?;
        let Some(archive) = opened else {
            continue;
        };
        target.is_dir = true;
        let nar_path = matches!(archive.format(), Format::Nar(_))
            .then(|| nar_store_path(target))
            .flatten();
        found = Some(ArchiveTarget {
            index,
            archive,
            nar_path,
        });
    }
    if let (Some(archive), true) = (&found, targets.len() > 1) {
        bail!(
            "{}: an archive is audited on its own (it is its own closure): give it alone, and the other paths in another run",
            targets[archive.index].given
        );
    }
    Ok(found)
}

/// The store path a NAR holds, from its file name (`<hash>-<name>.nar`, `.nar.xz`, …):
/// what `nix-store --dump /nix/store/<hash>-<name> > <hash>-<name>.nar` leaves. A binary
/// cache names its NARs by their file hash, which says nothing: `None`.
fn nar_store_path(target: &Target) -> Option<StorePath> {
    let names = [
        target.root.file_name(),
        Path::new(&target.given).file_name(),
    ];
    names.into_iter().flatten().find_map(|name| {
        let name = name.to_str()?;
        let stem = [".nar", ".nar.xz", ".nar.zst", ".nar.bz2", ".nar.gz"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))?;
        let (hash, rest) = stem.split_once('-')?;
        let path = StorePath::new(hash, rest).ok()?;
        // A nuked hash names nothing.
        (!crate::store_path::is_nuked_hash(hash.as_bytes())).then_some(path)
    })
}

/// What scanning an archive produced besides its outcomes.
pub struct ArchiveScan {
    pub outcomes: Vec<Outcome>,
    /// A NAR's size, as read.
    pub nar_size: Option<u64>,
    /// The layer of each member of an image, by its `rel`.
    layers: HashMap<String, usize>,
}

impl ArchiveScan {
    /// Names the image layer of every location in a member of the archive `given`.
    pub fn name_layers(&self, given: &str, findings: &mut [Finding]) {
        for location in findings.iter_mut().flat_map(|f| &mut f.locations) {
            if location.target == given {
                location.layer = self.layers.get(&location.file).copied();
            }
        }
    }
}

/// How the members of one archive are named in the report, and where the dynamic loader
/// would see them.
struct Naming {
    /// The `rel` of a NAR whose root is a single file or symlink (a NAR of such a store
    /// path).
    root_file: String,
    /// What a member's path is joined to for resolving needed libraries: `/` for a tar or
    /// an image (its members are the root filesystem), the store path of a NAR that says
    /// which it is, else the archive's own path (only `$ORIGIN` means anything there).
    virtual_root: PathBuf,
    /// In a tree (not a NAR): `<store-dir>/`, relative, under which its store paths are.
    store_prefix: Option<Vec<u8>>,
}

impl Naming {
    fn new(target: &Target, opened: &ArchiveTarget, store_dir: &str) -> Naming {
        let is_nar = matches!(opened.archive.format(), Format::Nar(_));
        let virtual_root = match (&opened.nar_path, is_nar) {
            (Some(path), _) => PathBuf::from(path.to_path_string(store_dir)),
            (None, true) => target.root.clone(),
            (None, false) => PathBuf::from("/"),
        };
        let file_name = target
            .root
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let root_file = match &opened.nar_path {
            Some(path) => format!("{}-{}", path.hash(), path.name()),
            None => escape_bytes(&file_name),
        };
        Naming {
            root_file,
            virtual_root,
            store_prefix: (!is_nar)
                .then(|| format!("{}/", store_dir.trim_start_matches('/')).into_bytes()),
        }
    }

    /// Whether `path` is the directory (or file) of a store path, whose name is its own
    /// hash: not a reference (a store path's NAR does not hold its own name).
    fn is_store_path(&self, path: &[u8]) -> bool {
        let Some(name) = self
            .store_prefix
            .as_ref()
            .and_then(|prefix| path.strip_prefix(prefix.as_slice()))
        else {
            return false;
        };
        let text = String::from_utf8_lossy(name);
        !name.contains(&b'/')
            && text
                .split_once('-')
                .is_some_and(|(hash, rest)| StorePath::new(hash, rest).is_ok())
    }

    /// The `rel` of the member at `path`: the root of a NAR is `.` when it is a directory,
    /// else (a file or a symlink) named as a file target is.
    fn rel(&self, path: &[u8], named_as_file: bool) -> String {
        match (path.is_empty(), named_as_file) {
            (true, true) => self.root_file.clone(),
            (true, false) => ".".to_string(),
            (false, _) => escape_bytes(path),
        }
    }

    fn virtual_path(&self, path: &[u8]) -> PathBuf {
        self.virtual_root.join(OsStr::from_bytes(path))
    }
}

/// Reads every member of the archive target and scans it; an archive that cannot be read
/// to the end is an error (the audit cannot be done), never a partial pass.
pub fn scan(
    tools: &Tools,
    target: &Target,
    opened: &ArchiveTarget,
    store_dir: &str,
) -> Result<ArchiveScan> {
    let naming = Naming::new(target, opened, store_dir);
    let mut hard_links = Vec::new();
    let mut layers = HashMap::new();
    let mut visitor = Visitor {
        tools,
        index: opened.index,
        naming: &naming,
        outcomes: Vec::new(),
        buffer: ScanBuffer::default(),
    };
    let visited = opened.archive.visit(&mut |member| {
        if let Some(layer) = member.layer {
            layers.insert(visitor.naming.rel(member.path, false), layer);
        }
        if let MemberKind::HardLink { target, .. } = &member.kind {
            hard_links.push((member.path.to_vec(), target.to_vec()));
            return Ok(());
        }
        visitor.member(member)
    });
    tools.progress.finish();
    let summary = visited.map_err(|e| anyhow::anyhow!("{}: {e}", target.given))?;
    let mut outcomes = visitor.outcomes;
    let linked = link_outcomes(tools, opened.index, &naming, &outcomes, hard_links);
    outcomes.extend(linked);
    // In path order, as the entries of a directory reach the stages after the scan.
    outcomes.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok(ArchiveScan {
        outcomes,
        nar_size: summary.nar_size,
        layers,
    })
}

/// What each member visit needs, and the outcomes so far.
struct Visitor<'a> {
    tools: &'a Tools<'a>,
    index: usize,
    naming: &'a Naming,
    outcomes: Vec<Outcome>,
    /// For members scanned straight from the stream.
    buffer: ScanBuffer,
}

impl Visitor<'_> {
    /// One member: its name, and what it is.
    fn member(&mut self, member: Member<'_>) -> anyhow::Result<()> {
        let is_directory = matches!(member.kind, MemberKind::Directory);
        let (mut outcome, mut details) = self.outcome_of(member.path, !is_directory);
        let name_len = outcome_name_len(member.path);
        match member.kind {
            MemberKind::Directory => {
                outcome.nar_bytes = Some(entry_bytes(name_len, NarNode::Directory));
            }
            MemberKind::Symlink { target } => {
                outcome.nar_bytes = Some(entry_bytes(
                    name_len,
                    NarNode::Symlink {
                        target_len: target.len() as u64,
                    },
                ));
                // Data, never followed: only what it says is looked at.
                record_symlink(self.tools, target, &outcome.rel, &mut details);
            }
            MemberKind::Special => details.skipped = Some("special file"),
            MemberKind::HardLink { .. } => unreachable!("hard links are linked after the visit"),
            MemberKind::File(file) => {
                return self.file(file, outcome, details, member.path);
            }
        }
        self.done(outcome, details);
        Ok(())
    }

    fn outcome_of(&self, path: &[u8], named_as_file: bool) -> (Outcome, Details) {
        let outcome = Outcome::new(self.index, self.naming.rel(path, named_as_file));
        let mut details = Details::default();
        // Nix scans a NAR, names included: a name that carries a store hash is a reference.
        if let Some(name) = last_name(path).filter(|_| !self.naming.is_store_path(path)) {
            details.name_hits = self.tools.scanner.scan_bytes(name);
        }
        (outcome, details)
    }

    fn done(&mut self, mut outcome: Outcome, mut details: Details) {
        details.limits.extend(details.found.limits_reached());
        outcome.keep(details);
        self.outcomes.push(outcome);
    }

    /// A regular file: held whole when it is ELF or `ar` (to be inspected), else scanned
    /// from the stream.
    fn file(
        &mut self,
        mut file: FileMember<'_>,
        mut outcome: Outcome,
        mut details: Details,
        path: &[u8],
    ) -> anyhow::Result<()> {
        outcome.executable = file.executable;
        let mut head = [0u8; 8];
        let head_len = read_full(&mut file.contents, &mut head)?;
        let format = sniff(&head[..head_len]);
        if format != FileFormat::Other && file.size <= self.tools.limits.max_elf_size {
            let mut bytes = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
            bytes.extend_from_slice(&head[..head_len]);
            file.contents.read_to_end(&mut bytes)?;
            let held = Held {
                bytes,
                format,
                name_len: outcome_name_len(path),
                virtual_path: self.naming.virtual_path(path),
            };
            held.scan(self.tools, &mut outcome, &mut details);
            self.done(outcome, details);
            return Ok(());
        }
        if format != FileFormat::Other {
            // Past the limit a binary is only byte-scanned: its structure is never read.
            details.limits.push(Limit::MaxElfSize);
        }
        let mut sink = member_sink(self.tools, None);
        let reader = (&head[..head_len]).chain(&mut file.contents);
        outcome.bytes =
            self.tools
                .scanner
                .scan_stream(reader, 0, 0..u64::MAX, &mut self.buffer, &mut sink)?;
        outcome.read = true;
        conclude(self.tools, sink, &&[][..], &mut outcome, &mut details);
        outcome.nar_bytes = Some(entry_bytes(
            outcome_name_len(path),
            NarNode::Regular {
                executable: outcome.executable,
                size: outcome.bytes,
            },
        ));
        self.tools.progress.file_done();
        self.done(outcome, details);
        Ok(())
    }
}

/// A member read whole into memory, to be scanned and inspected.
struct Held {
    bytes: Vec<u8>,
    format: FileFormat,
    name_len: Option<u64>,
    virtual_path: PathBuf,
}

impl Held {
    /// Scans and (for ELF or `ar`) inspects the bytes, as a file on disk would be.
    fn scan(self, tools: &Tools, outcome: &mut Outcome, details: &mut Details) {
        let source: &[u8] = &self.bytes;
        let len = source.len() as u64;
        let parsed = (self.format != FileFormat::Other)
            .then(|| (Parsed::read(&source, len, self.format), len));
        let mut sink = member_sink(tools, parsed);
        outcome.bytes = tools.scanner.scan_held(source, &mut sink);
        outcome.read = true;
        conclude(tools, sink, &source, outcome, details);
        outcome.nar_bytes = Some(entry_bytes(
            self.name_len,
            NarNode::Regular {
                executable: outcome.executable,
                size: len,
            },
        ));
        // Kept where linkage needs it: the path the dynamic loader would see.
        details.path = details.elf.is_some().then_some(self.virtual_path);
        tools.progress.file_done();
    }
}

/// A tar's hard links: each is the file it links to under its own name, as a directory
/// audit reads both.
fn link_outcomes(
    tools: &Tools,
    index: usize,
    naming: &Naming,
    outcomes: &[Outcome],
    links: Vec<(Vec<u8>, Vec<u8>)>,
) -> Vec<Outcome> {
    let by_rel: HashMap<&str, &Outcome> = outcomes.iter().map(|o| (o.rel.as_str(), o)).collect();
    links
        .into_iter()
        .map(|(path, target)| {
            let rel = naming.rel(&path, true);
            let (mut outcome, mut details) = match by_rel.get(naming.rel(&target, true).as_str()) {
                Some(&linked) => {
                    let mut details = linked.details().clone();
                    details.path = details.path.as_ref().map(|_| naming.virtual_path(&path));
                    let mut outcome = linked.clone();
                    outcome.rel = rel;
                    (outcome, details)
                }
                None => {
                    let details = Details {
                        error: Some(format!(
                            "a hard link to {}, which the archive does not hold",
                            escape_bytes(&target)
                        )),
                        ..Details::default()
                    };
                    (Outcome::new(index, rel), details)
                }
            };
            details.name_hits = match last_name(&path).filter(|_| !naming.is_store_path(&path)) {
                Some(name) => tools.scanner.scan_bytes(name),
                None => Vec::new(),
            };
            outcome.nar_bytes = outcome.read.then(|| {
                entry_bytes(
                    outcome_name_len(&path),
                    NarNode::Regular {
                        executable: outcome.executable,
                        size: outcome.bytes,
                    },
                )
            });
            outcome.keep(details);
            outcome
        })
        .collect()
}

/// The last component of a member path; `None` for the root.
fn last_name(path: &[u8]) -> Option<&[u8]> {
    (!path.is_empty()).then(|| path.rsplit(|&b| b == b'/').next().unwrap_or(path))
}

fn outcome_name_len(path: &[u8]) -> Option<u64> {
    last_name(path).map(|n| n.len() as u64)
}
