//! The policy: what an audit accepts and what it refuses, from `stowaway.toml` and flags.
//!
//! ```toml
//! profile = "static"             # the default: no live store reference is accepted;
//!                                # "dynamic" also accepts libc, libgcc and the like
//! [[allow]]                      # accepted, with the reason on record
//! package = "tzdata"
//! reason = "zoneinfo is read from the store on purpose"
//! [[deny]]                       # refused, whatever a rule's severity says
//! package = "gcc*"
//! reason = "no compiler in the closure"
//! [severity]                     # per rule id: deny, warn or info
//! pkg-config-file = "info"
//! [budget]
//! max-closure-size = "60 MiB"    # bytes, or a size with its unit (crate::units)
//! max-reference-size = "10 MiB"
//! ```
//!
//! Every problem of the file is listed at once, each with its line and column; unknown keys,
//! bad globs, unknown rule ids, allow or deny entries without a reason and impossible budgets
//! are errors. This module decides nothing about findings by itself: [`Policy::judge`] is
//! applied by the policy check (`super`), and [`Policy::unused`] lists the allows that matched
//! nothing.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use crate::model::Level;
use crate::model::Severity;
use crate::rules::Catalogue;
use crate::toml_file::{self, TomlFile};
use crate::units::parse_size;

/// The file looked for in the working directory when no `--config` is given.
pub const DEFAULT_FILE: &str = "stowaway.toml";

/// Packages the `dynamic` profile accepts: the C library and the compiler's runtime, which a
/// dynamically linked program needs wherever it runs.
const DYNAMIC_RUNTIME: [&str; 6] = ["glibc", "musl", "libgcc", "gcc", "gcc-unwrapped", "libcxx"];

/// An `[[allow]]` or `[[deny]]` table as written.
#[derive(Debug, Deserialize)]
struct EntryFile {
    package: String,
    output: Option<Vec<String>>,
    reason: Option<String>,
}

/// The `[budget]` table as written: sizes are integers (bytes) or strings with a unit.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BudgetFile {
    max_closure_size: Option<toml::Value>,
    max_reference_size: Option<toml::Value>,
}

/// One allow or deny entry.
#[derive(Debug)]
pub struct Entry {
    /// Where it was written: `stowaway.toml:12:3` or `--allow`.
    pub origin: String,
    /// The policy file and line it was written on; `None` for `--allow`.
    pub place: Option<(String, u64)>,
    pub pattern: String,
    matcher: GlobMatcher,
    outputs: Option<Vec<String>>,
    pub reason: String,
    used: AtomicBool,
}

impl Entry {
    fn new(
        origin: String,
        place: Option<(String, u64)>,
        pattern: &str,
        outputs: Option<Vec<String>>,
        reason: String,
    ) -> Result<Entry, String> {
        let matcher = Glob::new(pattern)
            .map_err(|e| format!("bad glob {pattern:?}: {e}"))?
            .compile_matcher();
        Ok(Entry {
            origin,
            place,
            pattern: pattern.to_string(),
            matcher,
            outputs,
            reason,
            used: AtomicBool::new(false),
        })
    }

    fn matches(&self, package: &str, output: &str) -> bool {
        self.matcher.is_match(package)
            && self
                .outputs
                .as_ref()
                .is_none_or(|o| o.iter().any(|x| x == output))
    }
}

/// The checked policy.
#[derive(Debug, Default)]
pub struct Policy {
    pub allow: Vec<Entry>,
    pub deny: Vec<Entry>,
    /// Severity per rule id.
    pub severity: Vec<(String, Level)>,
    pub max_closure_size: Option<u64>,
    pub max_reference_size: Option<u64>,
}

impl Policy {
    /// The text of the policy file: `file` if given, else `./stowaway.toml` if there is one.
    pub fn read(file: Option<&Path>) -> Result<Option<(String, String)>> {
        let path = match file {
            Some(file) => file,
            None if Path::new(DEFAULT_FILE).is_file() => Path::new(DEFAULT_FILE),
            None => return Ok(None),
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(Some((path.display().to_string(), text)))
    }

    /// Adds the `--allow` globs.
    pub fn with_allow_flags(mut self, flags: &[String]) -> Result<Policy> {
        for pattern in flags {
            let entry = Entry::new(
                "--allow".to_string(),
                None,
                pattern,
                None,
                "given with --allow".to_string(),
            )
            .map_err(|e| anyhow::anyhow!("--allow {pattern:?}: {e}"))?;
            self.allow.push(entry);
        }
        Ok(self)
    }

    /// Reads a policy; `name` names the file in messages. Rule ids in `[severity]` are
    /// checked against `catalogue` when there is one (there is none when the rules
    /// themselves could not be read). `Err` holds every problem of the file.
    pub fn parse(
        name: &str,
        text: &str,
        catalogue: Option<&Catalogue>,
    ) -> Result<Policy, Vec<String>> {
        let mut file = TomlFile::new(name, text);
        let mut policy = Policy::default();
        for (key, value) in file.table().iter().flat_map(|t| t.iter()) {
            match key.get_ref().as_ref() {
                "profile" => policy.read_profile(&mut file, value),
                "allow" => policy.allow.extend(read_entries(&mut file, value)),
                "deny" => policy.deny.extend(read_entries(&mut file, value)),
                "severity" => policy.read_severities(&mut file, value, catalogue),
                "budget" => policy.read_budget(&mut file, value),
                // The project's own rules: read by [`crate::rules::Catalogue::load`].
                "rule" => {}
                other => file.problem(
                    key.span(),
                    format!(
                        "unknown key `{other}` (profile, allow, deny, severity, budget or rule)"
                    ),
                ),
            }
        }
        let problems = file.into_problems();
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems)
        }
    }

    fn read_profile(&mut self, file: &mut TomlFile, value: &Spanned<DeValue>) {
        match file.read::<String>(value).as_deref() {
            None | Some("static") => {}
            Some("dynamic") => {
                let origin = file.position(value.span().start);
                for package in DYNAMIC_RUNTIME {
                    let entry = Entry::new(
                        origin.clone(),
                        None,
                        package,
                        None,
                        "the dynamic profile accepts the C runtime".into(),
                    );
                    self.allow.extend(entry.ok());
                }
            }
            Some(other) => file.problem(
                value.span(),
                format!("unknown profile {other:?} (static or dynamic)"),
            ),
        }
    }

    fn read_severities(
        &mut self,
        file: &mut TomlFile,
        value: &Spanned<DeValue>,
        catalogue: Option<&Catalogue>,
    ) {
        let DeValue::Table(table) = value.get_ref() else {
            file.problem(
                value.span(),
                "`severity` must be a table of rule id = level",
            );
            return;
        };
        for (rule, level) in table.iter() {
            let level = file.read::<Level>(level);
            let rule_id = rule.get_ref().to_string();
            if catalogue.is_some_and(|c| c.find(&rule_id).is_none()) {
                file.problem(
                    rule.span(),
                    format!("unknown rule id {rule_id:?} (`stowaway rules` lists them)"),
                );
            } else if let Some(level) = level {
                self.severity.push((rule_id, level));
            }
        }
    }

    fn read_budget(&mut self, file: &mut TomlFile, value: &Spanned<DeValue>) {
        let Some(budget) = file.read::<BudgetFile>(value) else {
            return;
        };
        for (key, written, slot) in [
            (
                "max-closure-size",
                &budget.max_closure_size,
                &mut self.max_closure_size,
            ),
            (
                "max-reference-size",
                &budget.max_reference_size,
                &mut self.max_reference_size,
            ),
        ] {
            if let Some(written) = written {
                match budget_size(written) {
                    Ok(bytes) => *slot = Some(bytes),
                    Err(e) => file.problem(toml_file::span_of(value, &[key]), e),
                }
            }
        }
    }

    /// The severity of a finding under `rule` about `package`/`output` (if any), and why it
    /// changed, if the policy changed it.
    pub fn judge(
        &self,
        rule: &str,
        reference: Option<(&str, &str)>,
        severity: Severity,
    ) -> (Severity, Option<String>) {
        if let Some((package, output)) = reference {
            if let Some(deny) = self.deny.iter().find(|d| d.matches(package, output)) {
                return (Severity::Error, Some(format!("denied: {}", deny.reason)));
            }
        }
        let severity = self
            .severity
            .iter()
            .find(|(id, _)| id == rule)
            .map_or(severity, |(_, level)| level.severity());
        if severity == Severity::Error {
            if let Some((package, output)) = reference {
                if let Some(allow) = self.allow.iter().find(|a| a.matches(package, output)) {
                    allow.used.store(true, Ordering::Relaxed);
                    return (Severity::Info, Some(format!("allowed: {}", allow.reason)));
                }
            }
        }
        (severity, None)
    }

    /// The allow entries no finding used.
    pub fn unused(&self) -> impl Iterator<Item = &Entry> {
        self.allow.iter().filter(|a| {
            !a.used.load(Ordering::Relaxed) && !a.reason.starts_with("the dynamic profile")
        })
    }
}

/// The entries of an `[[allow]]` or `[[deny]]` array; each without a reason is a problem.
fn read_entries(file: &mut TomlFile, value: &Spanned<DeValue>) -> Vec<Entry> {
    let DeValue::Array(items) = value.get_ref() else {
        file.problem(
            value.span(),
            "must be an array of tables ([[allow]], [[deny]])",
        );
        return Vec::new();
    };
    let mut entries = Vec::new();
    for item in items.iter() {
        let Some(written) = file.read::<EntryFile>(item) else {
            continue;
        };
        let span = toml_file::span_of(item, &["package"]);
        let origin = file.position(span.start);
        let Some(reason) = written.reason.filter(|r| !r.trim().is_empty()) else {
            file.problem(span, format!("{:?} needs a reason", written.package));
            continue;
        };
        let place = Some((file.name.to_string(), file.line(span.start)));
        match Entry::new(origin, place, &written.package, written.output, reason) {
            Ok(entry) => entries.push(entry),
            Err(e) => file.problem(span, e),
        }
    }
    entries
}

/// A budget in bytes: a positive integer, or a size with its unit ([`crate::units`]).
fn budget_size(value: &toml::Value) -> Result<u64, String> {
    let bytes = match value {
        toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| format!("{n} is not a size")),
        toml::Value::String(text) => parse_size(text),
        other => Err(format!(
            "{other} is not a size (a number of bytes, or e.g. \"60 MiB\")"
        )),
    }?;
    if bytes == 0 {
        return Err("a budget of 0 bytes can never be met".to_string());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::load(None, None).expect("built-in rules")
    }

    #[test]
    fn a_policy_reads_whole() {
        let text = r#"
profile = "dynamic"
[[allow]]
package = "tzdata"
reason = "zoneinfo"
[[deny]]
package = "gcc*"
output = ["out"]
reason = "no compiler"
[severity]
pkg-config-file = "info"
[budget]
max-closure-size = "60 MiB"
max-reference-size = 1048576
"#;
        let policy = Policy::parse("p.toml", text, Some(&catalogue())).expect("valid");
        assert_eq!(policy.max_closure_size, Some(60 << 20));
        assert_eq!(policy.max_reference_size, Some(1 << 20));
        assert_eq!(
            policy.judge("store-reference", Some(("glibc", "out")), Severity::Error),
            (
                Severity::Info,
                Some("allowed: the dynamic profile accepts the C runtime".into())
            )
        );
        assert_eq!(
            policy.judge("store-reference", Some(("gcc", "out")), Severity::Warning),
            (Severity::Error, Some("denied: no compiler".into()))
        );
        assert_eq!(
            policy.judge("pkg-config-file", Some(("zlib", "dev")), Severity::Warning),
            (Severity::Info, None)
        );
        let unused: Vec<&str> = policy.unused().map(|e| e.pattern.as_str()).collect();
        assert_eq!(unused, ["tzdata"]);
    }

    #[test]
    fn every_problem_is_listed_with_its_place_and_snippet_unknown_keys_included() {
        let text = "profile = \"tiny\"\ncolour = \"red\"\n[[allow]]\npackage = \"a[\"\nreason = \"x\"\n[[deny]]\npackage = \"b\"\n[[deny]]\npakage = \"c\"\nreason = \"typo\"\n[severity]\nno-such-rule = \"deny\"\nstore-reference = \"fatal\"\n[budget]\nmax-closure-size = \"60 MeB\"\nmax-cloture-size = 1\n";
        let problems = Policy::parse("p.toml", text, Some(&catalogue())).expect_err("broken");
        let text = problems.join("\n");
        for needle in [
            "p.toml:1:11: unknown profile \"tiny\"",
            "p.toml:2:1: unknown key `colour`",
            "p.toml:4:11: bad glob \"a[\"",
            "p.toml:7:11: \"b\" needs a reason",
            "p.toml:9:1: unknown key `pakage`",
            "missing field `package`",
            "p.toml:12:1: unknown rule id \"no-such-rule\"",
            "p.toml:13:19: unknown variant `fatal`, expected one of `deny`, `warn`, `info`",
            "p.toml:15:20: \"60 MeB\" is not a size",
            "p.toml:16:1: unknown key `max-cloture-size`",
            // The snippet: the line, and a marker under what is wrong.
            "   |\n16 | max-cloture-size = 1\n   | ^^^^^^^^^^^^^^^^",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        assert_eq!(problems.len(), 10, "{text}");
    }

    #[test]
    fn budgets_are_sizes_in_the_units_flags_use() {
        let s = |t: &str| budget_size(&toml::Value::String(t.into()));
        assert_eq!(s("60 MiB"), Ok(60 << 20));
        assert_eq!(s("60M"), Ok(60 << 20));
        assert_eq!(s("5MB"), Ok(5_000_000));
        assert!(s("0").is_err());
        assert!(s("-1 MiB").is_err());
        assert!(budget_size(&toml::Value::Integer(-5)).is_err());
        assert_eq!(budget_size(&toml::Value::Integer(4096)), Ok(4096));
    }
}
