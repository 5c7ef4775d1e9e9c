//! Findings: what the audit found, where, what it costs and what to do about it.

use std::collections::HashSet;

use serde::{Serialize, Serializer};

use super::named::named;
use super::severity::Severity;
use super::RuleText;

named! {
    /// The kind of fault a finding is about; its id is also its rule's when no rule pack
    /// names it more precisely. Used in every report format.
    pub enum Kind {
        /// A live reference to a store path inside a file.
        StoreReference = "store-reference",
        /// A reference whose hash was overwritten with `e`s (`remove-references-to`).
        NukedReference = "nuked-reference",
        /// A symbolic link whose target lies in the store.
        StoreSymlink = "store-symlink",
        /// A store path in the ELF interpreter, RPATH or RUNPATH.
        DynamicLinkage = "dynamic-linkage",
        /// An executable expected to be static that has an interpreter or needed libraries.
        NotStatic = "not-static",
        /// Two copies of one library in one process image.
        DuplicateLibrary = "duplicate-library",
        /// Two allocators of different families in one process image.
        DuplicateAllocator = "duplicate-allocator",
        /// A library linked statically into a process that also loads it dynamically.
        MixedLinkage = "mixed-linkage",
        /// A policy allow entry that accepted nothing.
        UnusedAllow = "unused-allow",
        /// The closure, or one reference, over the policy's budget.
        OverBudget = "over-budget",
    }
}

/// Where a size came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeSource {
    /// A `--closure-info` file.
    ClosureInfo,
    /// `nix path-info`.
    Nix,
    /// The store on disk (NAR sizes and references computed from the files).
    Disk,
    /// The audited archive itself, which is its own closure: NAR sizes from its listing,
    /// references from scanning its store paths.
    Archive,
    /// No source had this path.
    Unknown,
}

/// The store path a finding is about, attributed to its package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub store_path: String,
    pub hash: String,
    pub name: String,
    pub package: String,
    pub version: Option<String>,
    /// `out` when the name carries no output suffix.
    pub output: String,
    pub platform: Option<String>,
    #[serde(rename = "static")]
    pub is_static: bool,
    pub deriver: Option<String>,
    pub nuked: bool,
}

impl Reference {
    /// What tells two references apart: the hash, and for a nuked one (every nuked hash is
    /// the same 32 `e`s) the name too.
    pub fn identity(&self) -> (&str, &str) {
        if self.nuked {
            (&self.hash, &self.name)
        } else {
            (&self.hash, "")
        }
    }
}

named! {
    /// How a reference was recognised at a place (declared in the order of their ids, which
    /// is how places sort).
    pub enum Anchor {
        /// `<hash>-<name>` with no store dir before it: a probable reference.
        BareHash = "bare-hash",
        /// The hash is in the entry's own name, which Nix scans too.
        FileName = "file-name",
        /// One of the candidate hashes (the known closure), anywhere, as Nix's scanner
        /// finds it.
        KnownHash = "known-hash",
        /// `<store-dir>/<hash>-<name>`.
        StoreDir = "store-dir",
    }
}

/// One place a reference sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// The target as given on the command line.
    pub target: String,
    /// Relative to the target directory; a file target's own name. Escaped (see README).
    pub file: String,
    /// The file as a path from where stowaway ran: `target/file`, or the target itself when
    /// it is a file. Escaped.
    pub path: String,
    /// Byte offset of the match; `null` for a symlink and for a file's name.
    pub offset: Option<u64>,
    /// The 1-based line of the match (newline bytes before it, plus one), as text viewers and
    /// SARIF count. Found only when a report places results by line (sarif, github,
    /// markdown), since it means counting every newline; `null` otherwise.
    pub line: Option<u64>,
    /// Bytes of the match from `offset`: store dir (if any), hash, name and subpath; `null`
    /// where `offset` is.
    pub length: Option<u64>,
    pub subpath: String,
    /// The match with printable context around it, escaped.
    pub excerpt: String,
    /// How the reference was recognised; `None` (an empty string in JSON) for a finding
    /// about a whole file.
    #[serde(serialize_with = "anchor_or_empty")]
    pub anchor: Option<Anchor>,
    /// The ELF section it sits in.
    pub section: Option<String>,
    /// Whether that part of the file is loaded at run time.
    pub loaded: Option<bool>,
    /// The enclosing symbol, demangled.
    pub symbol: Option<String>,
    /// The archive member (`bar.o` of `libfoo.a`).
    pub member: Option<String>,
    /// For a target that is a container image: the index (in the report's
    /// `image.layers`) of the layer the file comes from. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
}

fn anchor_or_empty<S: Serializer>(anchor: &Option<Anchor>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(anchor.map_or("", Anchor::id))
}

impl Location {
    /// A place that is a whole file, or a whole target: no offset, no excerpt.
    pub fn whole_file(target: &str, file: &str, path: String) -> Location {
        Location {
            target: target.to_string(),
            file: file.to_string(),
            path,
            offset: None,
            line: None,
            length: None,
            subpath: String::new(),
            excerpt: String::new(),
            anchor: None,
            section: None,
            loaded: None,
            symbol: None,
            member: None,
            layer: None,
        }
    }

    /// Whether it is a place inside a binary (an ELF section or an archive member), where a
    /// line means nothing.
    pub fn is_in_binary(&self) -> bool {
        self.section.is_some() || self.member.is_some()
    }
}

/// What a reference costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// The referenced path's whole closure.
    pub closure_bytes: Option<u64>,
    /// What the audited closure would lose without this reference.
    pub exclusive_bytes: Option<u64>,
    pub source: SizeSource,
}

/// One thing the audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The id it is reported under: its kind's, or that of the most specific rule of a rule
    /// pack that matched it.
    pub rule: String,
    /// The kind of fault, whichever rule reports it.
    pub kind: Kind,
    pub severity: Severity,
    pub message: String,
    pub fix: Option<String>,
    pub reference: Option<Reference>,
    pub locations: Vec<Location>,
    /// Occurrences beyond the locations listed (the per-file cap).
    pub more_locations: u64,
    pub size: Option<Size>,
    /// For linkage findings: each copy of the library and what showed it.
    pub evidence: Vec<Evidence>,
}

impl Finding {
    /// A finding under `rule` (its id, severity and fix, about `path` if given) that says
    /// `message` at `locations`; the rest is filled in by whoever knows it.
    pub fn new(kind: Kind, rule: &RuleText, message: String, path: &str) -> Finding {
        Finding {
            rule: rule.id.clone(),
            kind,
            severity: rule.severity.severity(),
            message,
            fix: Some(rule.fix_for(path)),
            reference: None,
            locations: Vec::new(),
            more_locations: 0,
            size: None,
            evidence: Vec::new(),
        }
    }

    /// Places it at `locations`.
    pub fn at(mut self, locations: Vec<Location>) -> Finding {
        self.locations = locations;
        self
    }
}

/// How many distinct store paths among `findings` have a size no source knew (one path may
/// be several findings, one per rule).
pub fn unknown_size_paths<'a>(findings: impl Iterator<Item = &'a Finding>) -> u64 {
    findings
        .filter(|f| f.size.is_some_and(|s| s.source == SizeSource::Unknown))
        .filter_map(|f| f.reference.as_ref().map(Reference::identity))
        .collect::<HashSet<_>>()
        .len() as u64
}

named! {
    /// How a copy of a library is in a process image.
    pub enum Linkage {
        /// The object is the library, loaded by name.
        Shared = "shared",
        /// Linked into the object.
        Static = "static",
    }
}

/// One copy of a part of a library in a process image, and the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub library: String,
    pub part: String,
    /// The build, when something tells.
    pub flavour: Option<String>,
    pub linkage: Linkage,
    /// The file that holds the copy (relative to its target), or the needed name when it was
    /// not found.
    pub object: String,
    /// The chain of needed libraries that brings `object` in, from the executable.
    pub needed_via: Vec<String>,
    /// A shared copy loaded by this name, which is one of the part's sonames.
    pub soname: Option<String>,
    /// A shared copy shown by its symbol versions (`name@@NODE`).
    pub versioned: Vec<String>,
    /// Defined symbols that showed a copy.
    pub symbols: Vec<String>,
    /// Implementation strings that showed a copy.
    pub strings: Vec<String>,
}
