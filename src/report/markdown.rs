//! The Markdown report, for `$GITHUB_STEP_SUMMARY`, a merge-request note or a PR comment: the
//! verdict and totals, a table of findings with their sizes, the fixes, and what could not
//! be read.
//!
//! Every text that came from a file is escaped for Markdown (`text`): each ASCII
//! punctuation character gets a backslash, which CommonMark and GitHub render as the
//! character itself, so a file name can neither close a table cell nor open a link or HTML.

use std::io::{self, Write};

use crate::model::{Finding, ImageSection, Report, Severity, Verdict};
use crate::report::{closure_sentence, subject};
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
    let facts = [
        format!(
            "{} failing, {}",
            report.count(Severity::Error),
            plural(report.count(Severity::Warning) as u64, "warning")
        ),
        text(&closure_sentence(report)),
        format!("{} referenced", plural(s.references, "store path")),
        format!(
            "{} scanned ({})",
            plural(s.files_scanned, "file"),
            human_bytes(s.bytes_scanned)
        ),
    ];
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
    if let Some(image) = &report.image {
        write_image(out, image)?;
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

/// An audited archive: what it holds, then a table of its store paths with their sizes and
/// the chain that brings each in.
fn write_image(out: &mut dyn Write, image: &ImageSection) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "**Archive** {}", text(&super::image::title(image)))?;
    writeln!(out)?;
    writeln!(out, "Holds {}.", text(&super::image::holdings(image)))?;
    if !image.paths.is_empty() {
        writeln!(out)?;
        writeln!(out, "| Store path | Size | Saves | Why it is there |")?;
        writeln!(out, "|---|---:|---:|---|")?;
        for path in &image.paths {
            let dead = if path.reached { "" } else { " (dead weight)" };
            // A store path holds no backtick or bar (its characters are checked when it is
            // parsed).
            writeln!(
                out,
                "| `{}`{dead} | {} | {} | {} |",
                path.store_path,
                human_bytes(path.nar_bytes),
                human_bytes(path.exclusive_bytes),
                text(&super::image::why(path))
            )?;
        }
    }
    if !image.absent.is_empty() {
        writeln!(out)?;
        writeln!(out, "Referenced but not in the archive:")?;
        writeln!(out)?;
        for absent in &image.absent {
            writeln!(out, "- `{absent}`")?;
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
        // A place in a binary is an offset and a section; a line only means something in text.
        let binary = l.section.is_some() || l.member.is_some();
        match (binary, l.offset, l.line) {
            (true, Some(offset), _) => place.push_str(&format!(" \\+{offset:#x}")),
            (false, _, Some(line)) => place.push_str(&format!(" line {line}")),
            _ => {}
        }
        if let Some(member) = &l.member {
            place.push_str(&format!(" {}", text(&format!("({member})"))));
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
    // A finding about a reference has a size, known or not; one about a file has none.
    let size = |bytes: Option<u64>| bytes.map_or_else(|| "unknown".to_string(), human_bytes);
    let (saves, closure) = match finding.size {
        Some(s) => (size(s.exclusive_bytes), size(s.closure_bytes)),
        None if finding.reference.as_ref().is_some_and(|r| r.nuked) => ("0 B".into(), "—".into()),
        None => ("—".into(), "—".into()),
    };
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
