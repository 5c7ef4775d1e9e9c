//! The human report: one block per referenced path, largest saving first, each with its
//! places, its cost and what to do; totals and the verdict at the end.
//!
//! Colour is added only when asked (the caller decides from the terminal and `NO_COLOR`).
//! Every string that came from a file was escaped before it got here.

use std::io::{self, Write};

use crate::model::{
    Anchor, Evidence, Finding, ImageSection, Location, Report, Severity, SizeSource, Verdict,
};
use crate::units::{human_bytes, plural};

pub(super) const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
pub(super) const GREEN: &str = "\x1b[32m";
pub(super) const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Adds terminal styles to text, or not, as the caller decided.
pub(super) struct Painter {
    pub(super) color: bool,
}

impl Painter {
    pub(super) fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Writes the human report.
pub fn write(out: &mut dyn Write, report: &Report, color: bool) -> io::Result<()> {
    let p = Painter { color };
    let many_targets = report.targets.len() > 1;
    for finding in &report.findings {
        write_finding(out, &p, finding, many_targets)?;
    }
    for error in &report.errors {
        writeln!(
            out,
            "{}: {}: {}",
            p.paint(RED, "error"),
            error.path,
            error.message
        )?;
    }
    for skipped in &report.skipped {
        writeln!(
            out,
            "{}: {} ({}, not opened)",
            p.paint(DIM, "skipped"),
            skipped.path,
            skipped.kind
        )?;
    }
    for unparseable in &report.unparseable {
        writeln!(
            out,
            "{}: {}: {}",
            p.paint(DIM, "unparseable"),
            unparseable.file,
            unparseable.reason
        )?;
    }
    for limit in &report.limits {
        let style = if limit.incomplete { RED } else { YELLOW };
        writeln!(out, "{}: {}", p.paint(style, "limit"), limit.describe())?;
    }
    if !report.errors.is_empty()
        || !report.skipped.is_empty()
        || !report.unparseable.is_empty()
        || !report.limits.is_empty()
    {
        writeln!(out)?;
    }
    if let Some(image) = &report.image {
        write_image(out, &p, image)?;
    }
    write_totals(out, report, color)
}

/// An audited archive: what it is and holds, then each store path with its size, what
/// removing it saves and why it is there; dead weight and absent paths are marked.
fn write_image(out: &mut dyn Write, p: &Painter, image: &ImageSection) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        p.paint(BOLD, "archive"),
        super::image::title(image)
    )?;
    for (label, words) in [("entrypoint", &image.entrypoint), ("cmd", &image.cmd)] {
        if !words.is_empty() {
            writeln!(out, "  {}  {}", p.paint(DIM, label), words.join(" "))?;
        }
    }
    writeln!(
        out,
        "  {}       {}",
        p.paint(DIM, "holds"),
        super::image::holdings(image)
    )?;
    if !image.paths.is_empty() {
        writeln!(
            out,
            "  {}",
            p.paint(
                DIM,
                "      size      saves  store path, and why it is there"
            )
        )?;
    }
    for path in &image.paths {
        let dead = if path.reached {
            String::new()
        } else {
            format!("  {}", p.paint(YELLOW, "dead weight"))
        };
        writeln!(
            out,
            "  {:>10} {:>10}  {}{dead}",
            human_bytes(path.nar_bytes),
            human_bytes(path.exclusive_bytes),
            path.store_path
        )?;
        writeln!(
            out,
            "  {:>21}  {}",
            "",
            p.paint(DIM, &super::image::why(path))
        )?;
    }
    for absent in &image.absent {
        writeln!(
            out,
            "  {}      {absent} (referenced, not in the archive)",
            p.paint(YELLOW, "absent")
        )?;
    }
    writeln!(out)
}

fn write_finding(
    out: &mut dyn Write,
    p: &Painter,
    finding: &Finding,
    many_targets: bool,
) -> io::Result<()> {
    let (label, style) = match finding.severity {
        Severity::Error => ("error", RED),
        Severity::Warning => ("warning", YELLOW),
        Severity::Info => ("info", BLUE),
    };
    let title = super::subject(finding);
    writeln!(
        out,
        "{}{} {}",
        p.paint(&format!("{BOLD}{style}"), label),
        p.paint(DIM, &format!("[{}]", finding.rule)),
        p.paint(BOLD, &title)
    )?;
    writeln!(out, "  {}", finding.message)?;
    for copy in &finding.evidence {
        writeln!(
            out,
            "  {}     {}",
            p.paint(DIM, "copy"),
            describe_copy(copy)
        )?;
    }
    if let Some(r) = &finding.reference {
        writeln!(out, "  {}     {}", p.paint(DIM, "path"), r.store_path)?;
        if let Some(deriver) = &r.deriver {
            writeln!(out, "  {}  {}", p.paint(DIM, "deriver"), deriver)?;
        }
    }
    if let Some(size) = finding.size {
        let cost = match super::cost(finding) {
            Some(cost) => format!("{cost} ({})", source_name(size.source)),
            None => "unknown (no closure information for this path)".to_string(),
        };
        writeln!(out, "  {}     {}", p.paint(DIM, "cost"), cost)?;
    }
    // A finding about a whole file (linkage) names it in the title; no offsets to list.
    let locations = if finding.reference.is_some() {
        finding.locations.as_slice()
    } else {
        &[]
    };
    for (n, location) in locations.iter().enumerate() {
        let lead = if n == 0 { "at" } else { "  " };
        writeln!(
            out,
            "  {}       {}",
            p.paint(DIM, lead),
            place(location, many_targets)
        )?;
        writeln!(out, "           {}", p.paint(DIM, &location.excerpt))?;
    }
    if finding.more_locations > 0 {
        writeln!(
            out,
            "           … and {} more in the same files",
            finding.more_locations
        )?;
    }
    if let Some(fix) = &finding.fix {
        writeln!(out, "  {}      {}", p.paint(GREEN, "fix"), fix)?;
    }
    writeln!(out)
}

/// A place in one line: `bin/app+0x3000 [.rodata, loaded, in main]  → /etc/ssl`; with
/// several targets, the file's path names its target.
fn place(location: &Location, many_targets: bool) -> String {
    let file = if many_targets {
        &location.path
    } else {
        &location.file
    };
    let file = match &location.member {
        Some(member) => format!("{file}({member})"),
        None => file.clone(),
    };
    let mut place = match location.offset {
        Some(offset) => format!("{file}+{offset:#x}"),
        None if location.anchor == Some(Anchor::FileName) => format!("{file} (its name)"),
        None => format!("{file} (symlink)"),
    };
    let mut inside = Vec::new();
    if let Some(section) = &location.section {
        inside.push(section.clone());
    }
    match location.loaded {
        Some(true) => inside.push("loaded".to_string()),
        Some(false) => inside.push("not loaded".to_string()),
        None => {}
    }
    if let Some(symbol) = &location.symbol {
        inside.push(format!("in {symbol}"));
    }
    if !inside.is_empty() {
        place = format!("{place} [{}]", inside.join(", "));
    }
    if !location.subpath.is_empty() {
        place = format!("{place}  → {}", location.subpath);
    }
    place
}

/// One copy of a part of a library and what it rests on: "static openssl libcrypto (3) in
/// bin/app: defines OPENSSL_init_crypto; strings OPENSSL_MODULES".
fn describe_copy(copy: &Evidence) -> String {
    let mut text = format!("{} {}", copy.linkage.id(), copy.library);
    if copy.part != copy.library {
        text.push_str(&format!(" {}", copy.part));
    }
    if let Some(flavour) = &copy.flavour {
        text.push_str(&format!(" ({flavour})"));
    }
    text.push_str(&format!(" in {}", copy.object));
    if !copy.needed_via.is_empty() {
        text.push_str(&format!(", needed by {}", copy.needed_via.join(" → ")));
    }
    let mut evidence = Vec::new();
    if let Some(soname) = &copy.soname {
        evidence.push(format!("soname {soname}"));
    }
    if !copy.versioned.is_empty() {
        evidence.push(format!("defines {}", copy.versioned.join(", ")));
    }
    if !copy.symbols.is_empty() {
        evidence.push(format!("defines {}", copy.symbols.join(", ")));
    }
    if !copy.strings.is_empty() {
        evidence.push(format!("strings {}", copy.strings.join(", ")));
    }
    if !evidence.is_empty() {
        text.push_str(&format!(": {}", evidence.join("; ")));
    }
    text
}

fn source_name(source: SizeSource) -> &'static str {
    match source {
        SizeSource::ClosureInfo => "from the closure-info file",
        SizeSource::Nix => "from nix path-info",
        SizeSource::Disk => "measured on disk",
        SizeSource::Archive => "within the archive",
        SizeSource::Unknown => "unknown",
    }
}

/// The closing lines: the derivations that built the targets, what was scanned and
/// inspected, the closure with and without the failing references, and the verdict.
pub fn write_totals(out: &mut dyn Write, report: &Report, color: bool) -> io::Result<()> {
    let p = &Painter { color };
    let s = &report.summary;
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    for built in &report.target_derivers {
        writeln!(out, "audited {} (deriver {})", built.target, built.deriver)?;
    }
    writeln!(
        out,
        "scanned {} ({}); {} referenced",
        plural(s.files_scanned, "file"),
        human_bytes(s.bytes_scanned),
        plural(s.references, "store path")
    )?;
    if let Some(baseline) = &report.baseline {
        writeln!(
            out,
            "baseline: {} accepted; {} of its entries no longer found",
            plural(baseline.matched, "finding"),
            baseline.stale.len()
        )?;
        for entry in &baseline.stale {
            writeln!(
                out,
                "  fixed: {} {} ({}) in {}",
                entry.rule, entry.subject, entry.output, entry.file
            )?;
        }
    }
    if !report.binaries.is_empty() || !report.unparseable.is_empty() {
        let executables = report
            .binaries
            .iter()
            .filter(|b| b.facts.kind.is_executable());
        let dynamic = executables
            .clone()
            .filter(|b| b.facts.interpreter.is_some())
            .count();
        let mut line = format!(
            "inspected {}: {} ({} dynamic)",
            plural(report.binaries.len() as u64, "ELF file"),
            plural(executables.count() as u64, "executable"),
            dynamic
        );
        if !report.unparseable.is_empty() {
            line.push_str(&format!(
                ", {} could not be parsed",
                report.unparseable.len()
            ));
        }
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}", super::closure_sentence(report))?;
    let verdict = match (report.complete, report.verdict) {
        (false, _) => p.paint(&format!("{BOLD}{RED}"), "INCOMPLETE"),
        (true, Verdict::Fail) => p.paint(&format!("{BOLD}{RED}"), "FAIL"),
        (true, Verdict::Pass) => p.paint(&format!("{BOLD}{GREEN}"), "PASS"),
    };
    let mut tail = format!("{errors} failing, {}", plural(warnings as u64, "warning"));
    if let Some(why) = report.incompleteness() {
        tail.push_str(&format!(" ({why})"));
    }
    writeln!(out, "{verdict}: {tail}")
}
