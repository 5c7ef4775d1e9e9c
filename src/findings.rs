//! The result of an audit as plain data: findings, their places and costs, errors, skipped
//! entries and the summary.
//!
//! Findings are values, never errors: every stage adds to these types and only the reporters
//! read them. The field names are the JSON report contract (`stowaway.report/1`, documented in
//! the README); later capabilities add fields but never rename these.

use serde::Serialize;

/// The stable id of what a finding is about. Used in every report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A live reference to a store path inside a file.
    StoreReference,
    /// A reference whose hash was overwritten with `e`s (`remove-references-to`).
    NukedReference,
    /// A symbolic link whose target lies in the store.
    StoreSymlink,
    /// A store path in the ELF interpreter, RPATH or RUNPATH.
    DynamicLinkage,
    /// An executable expected to be static that has an interpreter or needed libraries.
    NotStatic,
    /// Two copies of one library in one process image.
    DuplicateLibrary,
    /// Two allocators of different families in one process image.
    DuplicateAllocator,
    /// A library linked statically into a process that also loads it dynamically.
    MixedLinkage,
    /// A policy allow entry that accepted nothing.
    UnusedAllow,
    /// The closure, or one reference, over the policy's budget.
    OverBudget,
}

impl Rule {
    /// Every rule, in the order `stowaway rules` lists them.
    pub const ALL: [Rule; 10] = [
        Rule::StoreReference,
        Rule::NukedReference,
        Rule::StoreSymlink,
        Rule::DynamicLinkage,
        Rule::NotStatic,
        Rule::DuplicateLibrary,
        Rule::DuplicateAllocator,
        Rule::MixedLinkage,
        Rule::UnusedAllow,
        Rule::OverBudget,
    ];

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.id() == id)
    }

    /// The kebab-case id printed in reports.
    pub fn id(self) -> &'static str {
        match self {
            Rule::StoreReference => "store-reference",
            Rule::NukedReference => "nuked-reference",
            Rule::StoreSymlink => "store-symlink",
            Rule::DynamicLinkage => "dynamic-linkage",
            Rule::NotStatic => "not-static",
            Rule::DuplicateLibrary => "duplicate-library",
            Rule::DuplicateAllocator => "duplicate-allocator",
            Rule::MixedLinkage => "mixed-linkage",
            Rule::UnusedAllow => "unused-allow",
            Rule::OverBudget => "over-budget",
        }
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
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

/// How many distinct store paths among `findings` have a size no source knew (one path may
/// be several findings, one per rule).
pub fn unknown_size_paths<'a>(findings: impl Iterator<Item = &'a Finding>) -> u64 {
    findings
        .filter(|f| f.size.is_some_and(|s| s.source == SizeSource::Unknown))
        .filter_map(|f| f.reference.as_ref().map(Reference::identity))
        .collect::<std::collections::HashSet<_>>()
        .len() as u64
}

/// An audited target and the derivation that built its store path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetDeriver {
    /// As given on the command line.
    pub target: String,
    /// The `.drv` store path.
    pub deriver: String,
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
    /// How the reference was recognised: `store-dir`, `bare-hash` or `known-hash` in the
    /// bytes, `file-name` in the entry's name; empty for a finding about a whole file.
    pub anchor: &'static str,
    /// The ELF section it sits in.
    pub section: Option<String>,
    /// Whether that part of the file is loaded at run time.
    pub loaded: Option<bool>,
    /// The enclosing symbol, demangled.
    pub symbol: Option<String>,
    /// The archive member (`bar.o` of `libfoo.a`).
    pub member: Option<String>,
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
            anchor: "",
            section: None,
            loaded: None,
            symbol: None,
            member: None,
        }
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
    /// The kind of fault (one of the core rule ids), whichever rule reports it.
    pub kind: Rule,
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

/// One copy of a library in a process image, and how it was recognised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub library: String,
    pub flavour: String,
    /// `static` (linked into `object`) or `shared` (`object` is the library, loaded by name).
    pub linkage: &'static str,
    /// The file that holds the copy (relative to its target), or the needed name when it was
    /// not found.
    pub object: String,
    /// The chain of needed libraries that brings `object` in, from the executable.
    pub needed_via: Vec<String>,
    pub symbols: Vec<String>,
    pub strings: Vec<String>,
}

/// The linkage facts of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binary {
    pub target: String,
    pub file: String,
    #[serde(flatten)]
    pub facts: crate::inspect::elf::ElfFacts,
    pub libraries: Vec<crate::libraries::Identity>,
}

/// A binary that could not be parsed; it was still byte-scanned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unparseable {
    pub target: String,
    pub file: String,
    pub reason: String,
}

/// A file or directory that could not be read; the audit went on without it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AuditError {
    /// Where it is from where stowaway ran: the target joined with `file`, as in a location.
    pub path: String,
    pub message: String,
    /// The target as given.
    pub target: String,
    /// Relative to the target (a file target's own name).
    pub file: String,
}

/// An entry that was deliberately not opened (FIFO, socket, device).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    /// As in [`AuditError`].
    pub path: String,
    pub kind: &'static str,
    pub target: String,
    pub file: String,
}

/// Totals over the whole audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    /// Distinct store paths referenced (live and nuked).
    pub references: u64,
    /// The audited output's whole closure, itself included (paths of unknown size left out).
    pub closure_bytes: Option<u64>,
    /// The closure if every failing reference were removed.
    pub closure_bytes_without_failing: Option<u64>,
    /// Live references whose size no source knew; not counted in the closure sizes.
    pub unknown_size_references: u64,
}

/// The outcome of the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// Everything one audit produced: what the reporters print and the exit code is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub targets: Vec<String>,
    /// The derivation that built each target in the store, where the closure source knows it.
    pub target_derivers: Vec<TargetDeriver>,
    pub verdict: Verdict,
    /// False when some file could not be read: a partial audit never passes silently.
    pub complete: bool,
    pub findings: Vec<Finding>,
    pub errors: Vec<AuditError>,
    /// The limits reached (see [`crate::limits`]).
    pub limits: Vec<crate::limits::Reached>,
    pub skipped: Vec<Skipped>,
    /// Every ELF file: its linkage facts and the libraries it contains.
    pub binaries: Vec<Binary>,
    /// ELF files and archives that could not be parsed.
    pub unparseable: Vec<Unparseable>,
    /// With `--baseline`: how many findings it accepted, and its entries that no longer occur.
    pub baseline: Option<crate::baseline::Applied>,
    pub summary: Summary,
}

impl Report {
    /// The process exit code: 0 pass, 1 fail, 2 when the audit could not read everything.
    pub fn exit_code(&self) -> i32 {
        match (self.complete, self.verdict) {
            (false, _) => 2,
            (true, Verdict::Fail) => 1,
            (true, Verdict::Pass) => 0,
        }
    }

    /// Why the audit is incomplete, as one phrase ("2 paths could not be read; --max-depth
    /// 256 was reached"); `None` when it is complete.
    pub fn incompleteness(&self) -> Option<String> {
        let unread = match self.errors.len() {
            0 => None,
            1 => Some("1 path could not be read".to_string()),
            n => Some(format!("{n} paths could not be read")),
        };
        let limits = self
            .limits
            .iter()
            .filter(|l| l.incomplete)
            .map(|l| format!("{} was reached", l.setting()));
        let reasons: Vec<String> = unread.into_iter().chain(limits).collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The findings that make the verdict fail.
    pub fn failing(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}
