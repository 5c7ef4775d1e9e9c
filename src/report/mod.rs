//! Reporters: pure functions from a [`Report`] to bytes on a writer.
//!
//! Each format has its own file; none of them decides anything (the verdict and the exit code
//! are already in the report), and none prints anywhere but the writer it is given.

pub mod catalogue;
pub mod diff;
pub mod github;
pub mod human;
mod image;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::io::{self, Write};

use crate::model::{Finding, Report, RuleText, SizeSource};

/// What a finding is about, in a few words: the package it references with its version,
/// output and platform (`openssl (3.0.12, output etc, static)`), else the file it is about.
pub fn subject(finding: &Finding) -> String {
    let Some(r) = &finding.reference else {
        return finding
            .locations
            .first()
            .map_or_else(|| "the whole audit".to_string(), |l| l.file.clone());
    };
    let mut facts = Vec::new();
    if let Some(version) = &r.version {
        facts.push(version.clone());
    }
    if r.output != "out" {
        facts.push(format!("output {}", r.output));
    }
    if r.is_static {
        facts.push("static".to_string());
    }
    if let Some(platform) = &r.platform {
        facts.push(platform.clone());
    }
    if facts.is_empty() {
        r.package.clone()
    } else {
        format!("{} ({})", r.package, facts.join(", "))
    }
}

/// What removing a finding's reference saves and what its closure is, as every format says
/// it: `saves 5.8 KiB if removed; its closure is 64.6 KiB`. `None` when nothing is known of
/// its size.
pub fn cost(finding: &Finding) -> Option<String> {
    let size = finding.size.filter(|s| s.source != SizeSource::Unknown)?;
    let bytes = |b: Option<u64>| b.map_or_else(|| "unknown".to_string(), crate::units::human_bytes);
    Some(format!(
        "saves {} if removed; its closure is {}",
        bytes(size.exclusive_bytes),
        bytes(size.closure_bytes)
    ))
}

/// The closure in one sentence that cannot be misread, as every format says it:
/// `closure 24.6 KiB + 1 path of unknown size; without the failing references 20.1 KiB
/// (saves 4.5 KiB and 1 path of unknown size)`. Paths whose size no source knew are counted
/// apart, on the side they fall (cut with the failing references, or kept).
pub fn closure_sentence(report: &Report) -> String {
    let s = &report.summary;
    let Some(whole) = s.closure_bytes else {
        return "closure size unknown: no closure information (try --closure-info)".to_string();
    };
    let unknown = |n: u64| match n {
        0 => String::new(),
        n => format!(" + {} of unknown size", crate::units::plural(n, "path")),
    };
    let mut sentence = format!(
        "closure {}{}",
        crate::units::human_bytes(whole),
        unknown(s.unknown_size_references)
    );
    let failing_unknown = crate::model::unknown_size_paths(report.failing());
    if let (Some(without), true) = (
        s.closure_bytes_without_failing,
        report.failing().next().is_some(),
    ) {
        let mut saves = crate::units::human_bytes(whole.saturating_sub(without));
        if failing_unknown > 0 {
            saves.push_str(&format!(
                " and {} of unknown size",
                crate::units::plural(failing_unknown, "path")
            ));
        }
        sentence.push_str(&format!(
            "; without the failing references {}{} (saves {saves})",
            crate::units::human_bytes(without),
            unknown(s.unknown_size_references.saturating_sub(failing_unknown))
        ));
    }
    sentence
}

/// A format of the audit's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by referenced path, largest saving first.
    Human,
    /// The `stowaway.report/1` contract (see README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions annotations (workflow commands), then the totals.
    Github,
    /// A Markdown summary with a table of findings.
    Markdown,
}

impl Format {
    /// Whether it places results by line, which costs counting the newlines of every file.
    pub fn wants_lines(self) -> bool {
        self.is_for_ci()
    }

    /// Whether it is made for CI (code scanning, annotations, job summaries) rather than for
    /// a person at a terminal: no progress display goes with it.
    pub fn is_for_ci(self) -> bool {
        matches!(self, Format::Sarif | Format::Github | Format::Markdown)
    }
}

/// A format of `stowaway diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    /// Closure before and after, then the findings added, removed and changed.
    Human,
    /// The `stowaway.diff/1` contract (see README).
    Json,
}

/// Writes `report` in `format`; SARIF describes every rule of `rules`.
pub fn write(
    out: &mut dyn Write,
    report: &Report,
    rules: &[&RuleText],
    format: Format,
    color: bool,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(out, report, color),
        Format::Json => json::write(out, report),
        Format::Sarif => sarif::write(out, report, rules),
        Format::Github => github::write(out, report),
        Format::Markdown => markdown::write(out, report),
    }
}
