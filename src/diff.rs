//! `stowaway diff OLD NEW`: what changed between two builds' audits — the references added,
//! removed and changed, the closure before and after, and which finding explains the growth.
//!
//! Each side is a saved JSON report (`stowaway.report/1`) or a path, audited on the spot with
//! the same flags: a saved report is read through the JSON contract, a fresh audit from the
//! model, into the same [`Side`], so they compare alike. A finding is identified across
//! builds by what survives a rebuild (as in [`crate::checks::baseline`]): its rule, the package (or library, or file) it is
//! about and the output, never the hash or the version, which change with every build.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::model::{
    Changed, Diff, ImageDiff, Side, SideFinding, SideImage, SidePath, REPORT_SCHEMA,
};

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
    let image = match (&old.image, &new.image) {
        (Some(before), Some(after)) => Some(compare_images(before, after)),
        _ => None,
    };
    Diff {
        image,
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

/// The store paths only one of two archives holds.
fn compare_images(old: &SideImage, new: &SideImage) -> ImageDiff {
    let only = |a: &SideImage, b: &SideImage| -> Vec<SidePath> {
        let mut only: Vec<SidePath> = a
            .paths
            .iter()
            .filter(|p| !b.paths.iter().any(|q| q.store_path == p.store_path))
            .cloned()
            .collect();
        only.sort_by(|x, y| (y.nar_bytes, &x.store_path).cmp(&(x.nar_bytes, &y.store_path)));
        only
    };
    ImageDiff {
        total_delta: new.total_bytes as i128 - old.total_bytes as i128,
        added: only(new, old),
        removed: only(old, new),
    }
}
