//! `stowaway rules` and `stowaway explain ID`: the rule catalogue for people.

use std::io::{self, Write};

use crate::model::RuleText;

/// One line per rule: id, default severity, title, and the kind a pack rule refines.
pub fn write_list(out: &mut dyn Write, rules: &[&RuleText]) -> io::Result<()> {
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for rule in rules {
        let refines = rule
            .refines
            .as_deref()
            .map(|k| format!(" (refines {k})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:width$}  {:4}  {}{refines}",
            rule.id,
            rule.severity.name(),
            rule.title
        )?;
    }
    Ok(())
}

/// The whole text of one rule.
pub fn write_explanation(out: &mut dyn Write, rule: &RuleText) -> io::Result<()> {
    writeln!(
        out,
        "{} ({}): {}",
        rule.id,
        rule.severity.name(),
        rule.title
    )?;
    writeln!(out)?;
    writeln!(out, "{}", rule.explanation.trim())?;
    writeln!(out)?;
    writeln!(out, "Fix: {}", rule.fix_for("<store path>"))?;
    for link in &rule.links {
        writeln!(out, "See: {link}")?;
    }
    Ok(())
}
