//! A comparison of two audits, as `stowaway diff` reports it: what each side says, and the
//! findings added, removed and changed. [`Side`] holds the fields of `stowaway.report/1` a
//! diff needs, read from a saved report or from a fresh [`Report`].

use serde::{Deserialize, Serialize};

use super::{Finding, Report};

/// The schema id of the JSON diff.
pub const DIFF_SCHEMA: &str = "stowaway.diff/1";

/// What the diff reads of a report: the fields of `stowaway.report/1` it needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Side {
    pub targets: Vec<String>,
    pub verdict: String,
    pub complete: bool,
    pub findings: Vec<SideFinding>,
    pub summary: SideSummary,
    /// For an audited archive: its size and store paths (the report's `image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<SideImage>,
}

/// What the diff reads of an audited archive's `image` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideImage {
    pub total_bytes: u64,
    pub paths: Vec<SidePath>,
}

/// A store path held in an archive, as the diff compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub struct SidePath {
    pub store_path: String,
    pub nar_bytes: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideSummary {
    pub references: u64,
    pub closure_bytes: Option<u64>,
}

/// A finding as the diff shows it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideFinding {
    pub rule: String,
    pub severity: String,
    pub message: String,
    pub reference: Option<SideReference>,
    #[serde(default)]
    pub locations: Vec<SideLocation>,
    pub size: Option<SideSize>,
    #[serde(default)]
    pub evidence: Vec<SideEvidence>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideReference {
    pub store_path: String,
    pub package: String,
    pub version: Option<String>,
    pub output: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideLocation {
    pub file: String,
    pub offset: Option<u64>,
    pub section: Option<String>,
    pub symbol: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct SideSize {
    pub closure_bytes: Option<u64>,
    pub exclusive_bytes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SideEvidence {
    pub library: String,
}

impl SideFinding {
    /// What identifies it across builds: rule, subject, output.
    pub fn key(&self) -> (String, String, String) {
        let (subject, output) = match &self.reference {
            Some(r) => (r.package.clone(), r.output.clone()),
            None => (
                self.evidence
                    .first()
                    .map(|e| e.library.clone())
                    .or_else(|| self.locations.first().map(|l| l.file.clone()))
                    .unwrap_or_default(),
                String::new(),
            ),
        };
        (self.rule.clone(), subject, output)
    }

    /// What removing it would save, 0 when unknown.
    pub fn saves(&self) -> u64 {
        self.size.and_then(|s| s.exclusive_bytes).unwrap_or(0)
    }

    pub fn fails(&self) -> bool {
        self.severity == "error"
    }
}

/// A finding found on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub old: SideFinding,
    pub new: SideFinding,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    /// NEW's closure minus OLD's, when both are known.
    pub closure_delta: Option<i128>,
    pub added: Vec<SideFinding>,
    pub removed: Vec<SideFinding>,
    /// On both sides, with another store path (version or hash) or another cost.
    pub changed: Vec<Changed>,
    /// The added or grown finding that saves the most: what explains the growth.
    pub explains_growth: Option<SideFinding>,
    /// Findings that fail NEW's policy and were not failing in OLD.
    pub new_failing: u64,
    /// When both sides are archives: the store paths one holds and the other does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageDiff>,
}

/// How the store paths of two archives differ (a path is the same only with the same hash).
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff {
    /// NEW's total size minus OLD's.
    pub total_delta: i128,
    /// In NEW only, largest first.
    pub added: Vec<SidePath>,
    /// In OLD only, largest first.
    pub removed: Vec<SidePath>,
}

impl Diff {
    /// 0 nothing new fails, 1 something new fails the policy, 2 a side is incomplete.
    pub fn exit_code(&self) -> i32 {
        if !self.old.complete || !self.new.complete {
            2
        } else if self.new_failing > 0 {
            1
        } else {
            0
        }
    }
}

impl From<&Report> for Side {
    /// A fresh audit as the diff reads it.
    fn from(report: &Report) -> Side {
        Side {
            targets: report.targets.clone(),
            verdict: report.verdict.id().to_string(),
            complete: report.complete,
            findings: report.findings.iter().map(SideFinding::from).collect(),
            summary: SideSummary {
                references: report.summary.references,
                closure_bytes: report.summary.closure_bytes,
            },
            image: report.image.as_ref().map(|image| SideImage {
                total_bytes: image.total_bytes,
                paths: image
                    .paths
                    .iter()
                    .map(|p| SidePath {
                        store_path: p.store_path.clone(),
                        nar_bytes: p.nar_bytes,
                    })
                    .collect(),
            }),
        }
    }
}

impl From<&Finding> for SideFinding {
    fn from(finding: &Finding) -> SideFinding {
        SideFinding {
            rule: finding.rule.clone(),
            severity: finding.severity.id().to_string(),
            message: finding.message.clone(),
            reference: finding.reference.as_ref().map(|r| SideReference {
                store_path: r.store_path.clone(),
                package: r.package.clone(),
                version: r.version.clone(),
                output: r.output.clone(),
            }),
            locations: finding
                .locations
                .iter()
                .map(|l| SideLocation {
                    file: l.file.clone(),
                    offset: l.offset,
                    section: l.section.clone(),
                    symbol: l.symbol.clone(),
                })
                .collect(),
            size: finding.size.map(|s| SideSize {
                closure_bytes: s.closure_bytes,
                exclusive_bytes: s.exclusive_bytes,
            }),
            evidence: finding
                .evidence
                .iter()
                .map(|e| SideEvidence {
                    library: e.library.clone(),
                })
                .collect(),
        }
    }
}
