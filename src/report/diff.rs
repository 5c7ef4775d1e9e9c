//! The report of `stowaway diff`: the closure before and after, what explains the growth,
//! then the findings added, changed and removed; or the `stowaway.diff/1` JSON.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::{Diff, SideFinding, DIFF_SCHEMA};
use crate::report::human::{Painter, BOLD, GREEN, RED};
use crate::report::DiffFormat;
use crate::units::{human_bytes, plural};

/// Writes the diff in `format`.
pub fn write(out: &mut dyn Write, diff: &Diff, format: DiffFormat, color: bool) -> io::Result<()> {
    match format {
        DiffFormat::Human => write_human(out, diff, color),
        DiffFormat::Json => {
            #[derive(Serialize)]
            struct Envelope<'a> {
                schema: &'static str,
                #[serde(flatten)]
                diff: &'a Diff,
            }
            serde_json::to_writer_pretty(
                &mut *out,
                &Envelope {
                    schema: DIFF_SCHEMA,
                    diff,
                },
            )
            .map_err(io::Error::from)?;
            writeln!(out)
        }
    }
}

fn write_human(out: &mut dyn Write, diff: &Diff, color: bool) -> io::Result<()> {
    let p = Painter { color };
    let alarm = format!("{BOLD}{RED}");
    let size = |bytes: Option<u64>| bytes.map_or_else(|| "unknown".to_string(), human_bytes);
    let (old, new) = (&diff.old.summary, &diff.new.summary);
    let delta = match diff.closure_delta {
        Some(d) if d >= 0 => format!(" (+{})", human_bytes(d as u64)),
        Some(d) => format!(" (-{})", human_bytes(d.unsigned_abs() as u64)),
        None => String::new(),
    };
    writeln!(
        out,
        "closure {} → {}{delta}",
        size(old.closure_bytes),
        size(new.closure_bytes)
    )?;
    writeln!(
        out,
        "store paths referenced {} → {}",
        old.references, new.references
    )?;
    if let Some(image) = &diff.image {
        for (title, sign, paths) in [
            ("added", "+", &image.added),
            ("removed", "-", &image.removed),
        ] {
            writeln!(
                out,
                "store paths {title} ({}){}",
                paths.len(),
                if paths.is_empty() { "" } else { ":" }
            )?;
            for path in paths.iter() {
                writeln!(
                    out,
                    "  {sign} {} ({})",
                    path.store_path,
                    human_bytes(path.nar_bytes)
                )?;
            }
        }
    }
    if let Some(finding) = &diff.explains_growth {
        let of = match diff.closure_delta {
            Some(d) if d > 0 => format!(" of the {} growth", human_bytes(d as u64)),
            _ => String::new(),
        };
        writeln!(
            out,
            "growth explained by: [{}] {}, which costs {}{of}",
            finding.rule,
            subject(finding),
            human_bytes(finding.saves())
        )?;
    }
    for (title, findings) in [("added", &diff.added), ("removed", &diff.removed)] {
        if findings.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title} ({}):", findings.len())?;
        for finding in findings.iter() {
            let sign = if title == "added" { "+" } else { "-" };
            writeln!(out, "  {sign} {}", line(finding))?;
        }
    }
    if !diff.changed.is_empty() {
        writeln!(out)?;
        writeln!(out, "changed ({}):", diff.changed.len())?;
        for change in &diff.changed {
            writeln!(out, "  ~ {}", line(&change.new))?;
            writeln!(out, "      was {}", line(&change.old))?;
        }
    }
    writeln!(out)?;
    for (name, side) in [("old", &diff.old), ("new", &diff.new)] {
        if !side.complete {
            writeln!(
                out,
                "{}: the {name} audit is incomplete (a path could not be read, or a limit was reached; see its report)",
                p.paint(&alarm, "INCOMPLETE")
            )?;
        }
    }
    if diff.new_failing > 0 {
        writeln!(
            out,
            "{}: {} failing the policy",
            p.paint(&alarm, "NEW FAILURES"),
            plural(diff.new_failing, "new finding")
        )
    } else {
        writeln!(
            out,
            "{}: nothing new fails the policy",
            p.paint(&format!("{BOLD}{GREEN}"), "OK")
        )
    }
}

/// `error [store-reference] openssl 3.0.12 (etc) saves 1.2 MiB — in bin/app [.rodata]`.
fn line(finding: &SideFinding) -> String {
    let mut text = format!(
        "{} [{}] {}",
        finding.severity,
        finding.rule,
        subject(finding)
    );
    if let Some(size) = finding.size.and_then(|s| s.exclusive_bytes) {
        text.push_str(&format!(", saves {}", human_bytes(size)));
    }
    if let Some(place) = finding.locations.first() {
        text.push_str(&format!(" — in {}", place.file));
        if let Some(section) = &place.section {
            text.push_str(&format!(" [{section}]"));
        }
    }
    text
}

/// The package with its version and output, or what else the finding is about.
fn subject(finding: &SideFinding) -> String {
    match &finding.reference {
        Some(r) => {
            let version = r
                .version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            let output = if r.output == "out" {
                String::new()
            } else {
                format!(" ({})", r.output)
            };
            format!("{}{version}{output}", r.package)
        }
        None => finding.message.clone(),
    }
}
