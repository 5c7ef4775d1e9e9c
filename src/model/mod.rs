//! The data model of an audit: what the stages produce and the verdict and the reporters
//! read. It depends on no stage.
//!
//! Findings are values, never errors: every stage adds to these types and only the reporters
//! read them. The field names are the JSON report contract (`stowaway.report/1`, documented in
//! the README); later versions add fields but never rename these.

mod baseline;
mod binary;
mod diff;
mod finding;
mod image;
mod limit;
mod named;
mod rule_text;
mod severity;

use serde::Serialize;

/// The schema id every JSON report starts with.
pub const REPORT_SCHEMA: &str = "stowaway.report/1";

pub use baseline::{Applied, BaselineEntry};
pub use binary::{Binary, ElfFacts, ElfType, Identity};
pub use diff::{Changed, Diff, ImageDiff, Side, SideFinding, SideImage, SidePath, DIFF_SCHEMA};
pub use finding::{
    unknown_size_paths, Anchor, Evidence, Finding, Kind, Linkage, Location, Reference, Size,
    SizeSource,
};
pub use image::{ChainLink, DeadWeight, ImageLayer, ImagePath, ImageSection, Via};
pub use limit::{Limit, Limits, Reached};
pub use rule_text::RuleText;
pub use severity::{Level, Severity};

/// An audited target and the derivation that built its store path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetDeriver {
    /// As given on the command line.
    pub target: String,
    /// The `.drv` store path.
    pub deriver: String,
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

named::named! {
    /// The outcome of the audit.
    pub enum Verdict {
        Pass = "pass",
        Fail = "fail",
    }
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
    /// The limits reached (see [`Limits`]).
    pub limits: Vec<Reached>,
    pub skipped: Vec<Skipped>,
    /// Every ELF file: its linkage facts and the libraries it contains.
    pub binaries: Vec<Binary>,
    /// ELF files and archives that could not be parsed.
    pub unparseable: Vec<Unparseable>,
    /// With `--baseline`: how many findings it accepted, and its entries that no longer occur.
    pub baseline: Option<Applied>,
    pub summary: Summary,
    /// For an archive target: what it holds and why (absent for any other target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSection>,
}

/// What a report is made of: [`Report::new`] adds the totals, whether it is complete, and the
/// verdict, from this same data, so that what the reporters print and the exit code agree.
pub struct Parts {
    pub targets: Vec<String>,
    pub target_derivers: Vec<TargetDeriver>,
    pub findings: Vec<Finding>,
    pub errors: Vec<AuditError>,
    pub limits: Vec<Reached>,
    pub skipped: Vec<Skipped>,
    pub binaries: Vec<Binary>,
    pub unparseable: Vec<Unparseable>,
    pub baseline: Option<Applied>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub closure_bytes: Option<u64>,
    pub closure_bytes_without_failing: Option<u64>,
    pub image: Option<ImageSection>,
}

impl Report {
    pub fn new(parts: Parts) -> Report {
        let summary = Summary {
            files_scanned: parts.files_scanned,
            bytes_scanned: parts.bytes_scanned,
            references: parts
                .findings
                .iter()
                .filter_map(|f| f.reference.as_ref().map(Reference::identity))
                .collect::<std::collections::HashSet<_>>()
                .len() as u64,
            closure_bytes: parts.closure_bytes,
            closure_bytes_without_failing: parts.closure_bytes_without_failing,
            unknown_size_references: unknown_size_paths(parts.findings.iter()),
        };
        let mut report = Report {
            targets: parts.targets,
            target_derivers: parts.target_derivers,
            verdict: Verdict::Fail,
            complete: false,
            findings: parts.findings,
            errors: parts.errors,
            limits: parts.limits,
            skipped: parts.skipped,
            binaries: parts.binaries,
            unparseable: parts.unparseable,
            baseline: parts.baseline,
            summary,
            image: parts.image,
        };
        // Complete unless the report can say why not; passing only if complete and nothing
        // fails.
        report.complete = report.incompleteness().is_none();
        if report.complete && report.failing().next().is_none() {
            report.verdict = Verdict::Pass;
        }
        report
    }

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
