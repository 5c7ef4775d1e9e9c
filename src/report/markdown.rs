//! The Markdown report, for `$GITHUB_STEP_SUMMARY`, a merge-request note or a PR comment: the
//! verdict and totals, a table of findings with their sizes, the fixes, and what could not
//! be read.
//!
//! Every text that came from a file is escaped for Markdown (`text`): each ASCII
//! punctuation character gets a backslash, which CommonMark and GitHub render as the
//! character itself, so a file name can neither close a table cell nor open a link or HTML.

use std::io::{self, Write};

use crate::findings::{Finding, Report, Severity, Verdict};
use crate::report::subject;
use crate::units::{human_bytes, plural};

/// Writes the report.
pub fn write(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    let verdict = match (report.incompleteness(), report.verdict) {
        (Some(why), _) => format!("❌ INCOMPLETE ({})", text(&why)),
        (None, Verdict::Fail) => "❌ FAIL".to_string(),
        (None, Verdict::Pass) => "✅ PASS".to_string(),
    };
    writeln!(out, "## stowaway: {verdict}")?;
    writeln!(out)?;
    let closure = match (s.closure_bytes, s.closure_bytes_without_failing) {
        (Some(whole), Some(without)) if report.count(Severity::Error) > 0 => format!(
            "closure **{}**, {} without the failing references",
            human_bytes(whole),
            human_bytes(without)
        ),
        (Some(whole), _) => format!("closure **{}**", human_bytes(whole)),
        (None, _) => "closure size unknown".to_string(),
    };
    let mut facts = vec![
        format!(
            "{} failing, {}",
            report.count(Severity::Error),
            plural(report.count(Severity::Warning) as u64, "warning")
        ),
        closure,
        format!("{} referenced", plural(s.references, "store path")),
        format!(
            "{} scanned ({})",
            plural(s.files_scanned, "file"),
            human_bytes(s.bytes_scanned)
        ),
    ];
    if s.unknown_size_references > 0 {
        facts.push(format!(
            "{} of unknown size",
            plural(s.unknown_size_references, "path")
        ));
    }
    writeln!(out, "{}", facts.join(" · "))?;
    if !report.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| # | Severity | Rule | About | Where | Saves | Closure |"
        )?;
        writeln!(out, "|---:|---|---|---|---|---:|---:|")?;
        for (n, finding) in report.findings.iter().enumerate() {
            write_row(out, n + 1, finding)?;
        }
        writeln!(out)?;
        writeln!(out, "<details><summary>How to fix each</summary>")?;
        writeln!(out)?;
        for (n, finding) in report.findings.iter().enumerate() {
            if let Some(fix) = &finding.fix {
                writeln!(out, "{}. {}", n + 1, text(fix))?;
            }
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Could not be read:**")?;
        writeln!(out)?;
        for error in &report.errors {
            writeln!(out, "- {}: {}", text(&error.path), text(&error.message))?;
        }
    }
    if !report.limits.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Limits reached:**")?;
        writeln!(out)?;
        for limit in &report.limits {
            writeln!(out, "- {}", text(&limit.describe()))?;
        }
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, n: usize, finding: &Finding) -> io::Result<()> {
    let severity = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let mut about = text(&subject(finding));
    if let Some(reference) = &finding.reference {
        // A store path holds no backtick or bar (its characters are checked when it is parsed).
        about.push_str(&format!("<br>`{}`", reference.store_path));
    }
    let place = finding.locations.first().map_or(String::new(), |l| {
        let mut place = text(&l.path);
        if let Some(line) = l.line {
            place.push_str(&format!(" line {line}"));
        }
        if let Some(section) = &l.section {
            place.push_str(&format!(" {}", text(&format!("[{section}]"))));
        }
        let more = finding.locations.len() as u64 - 1 + finding.more_locations;
        if more > 0 {
            place.push_str(&format!(" \\(\\+{more} more\\)"));
        }
        place
    });
    let size = |bytes: Option<u64>| bytes.map_or(String::new(), human_bytes);
    let (saves, closure) = finding.size.map_or((String::new(), String::new()), |s| {
        (size(s.exclusive_bytes), size(s.closure_bytes))
    });
    writeln!(
        out,
        "| {n} | {severity} | {} | {about} | {place} | {saves} | {closure} |",
        text(&finding.rule)
    )
}

/// Text that Markdown shows as it is: every ASCII punctuation character backslash-escaped.
fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_break_a_table_or_open_html() {
        assert_eq!(
            text("a|b<script>`x`[l](u)"),
            "a\\|b\\<script\\>\\`x\\`\\[l\\]\\(u\\)"
        );
        assert_eq!(text("bin/app\\x1b"), "bin\\/app\\\\x1b");
    }
}
