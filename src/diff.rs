//! `stowaway diff OLD NEW`: what changed between two builds' audits — the references added,
//! removed and changed, the closure before and after, and which finding explains the growth.
//!
//! Each side is a saved JSON report (`stowaway.report/1`) or a path, audited on the spot with
//! the same flags; both are read through the JSON contract, so a report saved by an earlier
//! run and a fresh audit compare alike. A finding is identified across builds by what survives
//! a rebuild (as in [`crate::baseline`]): its rule, the package (or library, or file) it is
//! about and the output, never the hash or the version, which change with every build.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::report::json::SCHEMA as REPORT_SCHEMA;

/// The schema id of the JSON diff.
pub const SCHEMA: &str = "stowaway.diff/1";

/// What the diff reads of a report: the fields of `stowaway.report/1` it needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Side {
    pub targets: Vec<String>,
    pub verdict: String,
    pub complete: bool,
    pub findings: Vec<SideFinding>,
    pub summary: SideSummary,
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
    fn key(&self) -> (String, String, String) {
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

/// One side of the diff: a saved report when `path` is a JSON file, else the audit of `path`
/// by `audit`.
pub fn load(path: &Path, audit: &dyn Fn(&Path) -> Result<Side>) -> Result<Side> {
    let is_file = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if is_file && starts_like_json(path) {
        let text = std::fs::read(path)
            .with_context(|| format!("reading {}", crate::escape::escape_path(path)))?;
        return read_report(path, &text);
    }
    audit(path)
}

/// Whether the file's first non-blank byte opens a JSON object (only its head is read).
fn starts_like_json(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..read].trim_ascii_start().starts_with(b"{")
}

/// A fresh audit as the diff reads it.
pub fn side_of(report: &crate::model::Report) -> Result<Side> {
    Ok(serde_json::from_value(crate::report::json::to_value(
        report,
    ))?)
}

/// Reads a saved report, refusing anything that is not `stowaway.report/1`. A report may
/// come from anyone (a pull request's artifact): control characters in its strings are
/// escaped before anything is shown.
pub fn read_report(path: &Path, text: &[u8]) -> Result<Side> {
    let name = crate::escape::escape_path(path);
    let mut value: serde_json::Value = serde_json::from_slice(text)
        .with_context(|| format!("{name} is neither a report nor something to audit"))?;
    defang(&mut value);
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(REPORT_SCHEMA) => {}
        Some(other) => bail!(
            "{name} is a {other} report; this stowaway reads {REPORT_SCHEMA} (audit the build again, or use the stowaway that wrote it)"
        ),
        None => bail!("{name} is JSON but not a stowaway report (no \"schema\": {REPORT_SCHEMA:?})"),
    }
    serde_json::from_value(value)
        .with_context(|| format!("{name} claims {REPORT_SCHEMA} but does not follow it"))
}

/// Escapes the control characters of every string in `value` (serde_json's nesting limit
/// bounds the recursion).
fn defang(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            if let std::borrow::Cow::Owned(escaped) = crate::escape::escape_controls(text) {
                *text = escaped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(defang),
        Value::Object(fields) => fields.values_mut().for_each(defang),
        _ => {}
    }
}

/// Compares two audits.
pub fn compare(old: Side, new: Side) -> Diff {
    let mut before: BTreeMap<_, Vec<&SideFinding>> = BTreeMap::new();
    for finding in &old.findings {
        before.entry(finding.key()).or_default().push(finding);
    }
    let (mut added, mut changed) = (Vec::new(), Vec::new());
    for finding in &new.findings {
        match before.get_mut(&finding.key()).and_then(|same| same.pop()) {
            Some(earlier) => {
                let same_path = earlier.reference.as_ref().map(|r| &r.store_path)
                    == finding.reference.as_ref().map(|r| &r.store_path);
                if !same_path
                    || earlier.saves() != finding.saves()
                    || earlier.severity != finding.severity
                {
                    changed.push(Changed {
                        old: earlier.clone(),
                        new: finding.clone(),
                    });
                }
            }
            None => added.push(finding.clone()),
        }
    }
    let removed: Vec<SideFinding> = before.into_values().flatten().cloned().collect();
    let new_failing = added.iter().filter(|f| f.fails()).count()
        + changed
            .iter()
            .filter(|c| c.new.fails() && !c.old.fails())
            .count();
    let explains_growth = added
        .iter()
        .map(|f| (f.saves(), f))
        .chain(
            changed
                .iter()
                .map(|c| (c.new.saves().saturating_sub(c.old.saves()), &c.new)),
        )
        .filter(|(grew, _)| *grew > 0)
        .max_by_key(|(grew, _)| *grew)
        .map(|(_, f)| f.clone());
    let closure_delta = match (old.summary.closure_bytes, new.summary.closure_bytes) {
        (Some(a), Some(b)) => Some(b as i128 - a as i128),
        _ => None,
    };
    Diff {
        old,
        new,
        closure_delta,
        added,
        removed,
        changed,
        explains_growth,
        new_failing: new_failing as u64,
    }
}
