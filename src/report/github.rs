//! GitHub Actions workflow commands: one annotation per finding (`::error`, `::warning`,
//! `::notice`) on the file and line it is about, one per unreadable file; for an audited
//! archive, notices of what it holds, its dead weight and the paths it lacks; then the totals
//! as plain log lines.
//!
//! Values are escaped exactly as GitHub's own toolkit escapes them (`@actions/core`,
//! `command.ts`: `%`, `\r` and `\n` in messages; also `:` and `,` in properties), so no file
//! name or excerpt can end a command early or start another; `tests/formats.rs` compares
//! [`command`] with the toolkit's output byte for byte.

use std::io::{self, Write};

use crate::model::{Finding, ImageSection, Report, Severity};
use crate::report::human::write_totals;
use crate::report::{image, subject};
use crate::units::human_bytes;

/// Writes the annotations and the totals.
pub fn write(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    for finding in &report.findings {
        writeln!(out, "{}", annotation(finding))?;
    }
    for error in &report.errors {
        let title = "stowaway: unreadable";
        writeln!(
            out,
            "{}",
            command(
                "error",
                &[("title", title), ("file", &error.path)],
                &error.message
            )
        )?;
    }
    for limit in &report.limits {
        let level = if limit.incomplete { "error" } else { "warning" };
        let title = format!("stowaway: {} reached", limit.flag);
        let mut properties = vec![("title", title.as_str())];
        if let Some(first) = limit.paths.first() {
            properties.push(("file", first));
        }
        writeln!(out, "{}", command(level, &properties, &limit.describe()))?;
    }
    if let Some(why) = report.incompleteness() {
        writeln!(
            out,
            "{}",
            command(
                "error",
                &[("title", "stowaway: incomplete audit")],
                &format!("the audit is incomplete and cannot pass: {why}")
            )
        )?;
    }
    if let Some(section) = &report.image {
        write_image(out, section)?;
    }
    write_totals(out, report, false)
}

/// Notices of an audited archive: what it holds, each store path nothing leads to, and each
/// one it references but lacks.
fn write_image(out: &mut dyn Write, section: &ImageSection) -> io::Result<()> {
    let title = format!("{}: {}", image::title(section), image::holdings(section));
    writeln!(
        out,
        "{}",
        command("notice", &[("title", "stowaway: archive")], &title)
    )?;
    for path in section.paths.iter().filter(|p| !p.reached) {
        let mut message = format!(
            "{} ({}) is dead weight: no root of the archive leads to it",
            path.store_path,
            human_bytes(path.nar_bytes)
        );
        if path.chain.len() > 1 {
            message.push_str(&format!(" ({})", image::why(path)));
        }
        let properties = [("title", "stowaway: dead weight")];
        writeln!(out, "{}", command("notice", &properties, &message))?;
    }
    for absent in &section.absent {
        let message = format!("{absent} is referenced, but not in the archive");
        let properties = [("title", "stowaway: absent")];
        writeln!(out, "{}", command("notice", &properties, &message))?;
    }
    Ok(())
}

/// The annotation of one finding: its rule and subject as the title, its first place as the
/// file and line, and what it costs and how to fix it as the message.
fn annotation(finding: &Finding) -> String {
    let level = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let title = format!("stowaway {}: {}", finding.rule, subject(finding));
    let place = finding.locations.first();
    let line = place.and_then(|l| l.line).map(|l| l.to_string());
    let mut properties = vec![("title", title.as_str())];
    if let Some(place) = place {
        properties.push(("file", &place.path));
    }
    if let Some(line) = &line {
        properties.push(("line", line));
    }
    let mut message = finding.message.clone();
    if let Some(reference) = &finding.reference {
        message.push_str(&format!("\npath: {}", reference.store_path));
    }
    if let Some(cost) = super::cost(finding) {
        message.push_str(&format!("\ncost: {cost}"));
    }
    if let Some(place) = place.filter(|p| !p.excerpt.is_empty()) {
        message.push_str(&format!("\nexcerpt: {}", place.excerpt));
    }
    let more = finding.locations.len().saturating_sub(1) as u64 + finding.more_locations;
    if more > 0 {
        message.push_str(&format!(
            "\nalso at {more} more places (see the full report)"
        ));
    }
    if let Some(fix) = &finding.fix {
        message.push_str(&format!("\nfix: {fix}"));
    }
    command(level, &properties, &message)
}

/// One workflow command, `::name key=value,…::message`, built as `@actions/core` builds it:
/// a property with an empty value is left out, the space after the name is not.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut line = format!("::{name}");
    if !properties.is_empty() {
        line.push(' ');
        let set: Vec<String> = properties
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={}", escape_property(value)))
            .collect();
        line.push_str(&set.join(","));
    }
    line.push_str("::");
    line.push_str(&escape_data(message));
    line
}

/// `escapeData` of `@actions/core`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `escapeProperty` of `@actions/core`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_can_start_a_second_command() {
        let line = command(
            "error",
            &[("title", "a::b"), ("file", "x,y%\n::set-env name=A::1")],
            "m\r\n::stop-commands::t%0A",
        );
        assert_eq!(
            line,
            "::error title=a%3A%3Ab,file=x%2Cy%25%0A%3A%3Aset-env name=A%3A%3A1\
             ::m%0D%0A::stop-commands::t%250A"
        );
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
}
