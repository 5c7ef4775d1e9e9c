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
//! max-closure-size = "60 MiB"    # bytes, or a number with B, KiB, MiB, GiB (or kB, MB, GB)
//! max-reference-size = "10 MiB"
//! ```
//!
//! Every problem of the file is listed at once, each with its line and column; unknown keys,
//! bad globs, unknown rule ids, allow or deny entries without a reason and impossible budgets
//! are errors. This module decides nothing about findings by itself: [`Policy::judge`] is
//! applied by the audit, and [`Policy::unused`] reports the allows that matched nothing.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Result};
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::findings::Severity;
use crate::rules::{Catalogue, Level};
use crate::toml_place;

/// The file looked for in the working directory when no `--config` is given.
pub const DEFAULT_FILE: &str = "stowaway.toml";

/// Packages the `dynamic` profile accepts: the C library and the compiler's runtime, which a
/// dynamically linked program needs wherever it runs.
const DYNAMIC_RUNTIME: [&str; 6] = ["glibc", "musl", "libgcc", "gcc", "gcc-unwrapped", "libcxx"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PolicyFile {
    profile: Option<Spanned<String>>,
    #[serde(default)]
    allow: Vec<EntryFile>,
    #[serde(default)]
    deny: Vec<EntryFile>,
    #[serde(default)]
    severity: std::collections::BTreeMap<Spanned<String>, Spanned<String>>,
    budget: Option<BudgetFile>,
    /// The project's own rules: read into the catalogue by [`crate::rules::Catalogue::load`].
    #[serde(default, rename = "rule")]
    _rules: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    package: Spanned<String>,
    output: Option<Vec<String>>,
    reason: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BudgetFile {
    max_closure_size: Option<Spanned<toml::Value>>,
    max_reference_size: Option<Spanned<toml::Value>>,
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

    /// The policy of the file [`Policy::read`] read, with the `--allow` globs added.
    pub fn load(
        file: Option<&(String, String)>,
        flags: &[String],
        catalogue: &Catalogue,
    ) -> Result<Policy> {
        let mut policy = match file {
            Some((name, text)) => Policy::parse(name, text, catalogue)?,
            None => Policy::default(),
        };
        for pattern in flags {
            let entry = Entry::new(
                "--allow".to_string(),
                None,
                pattern,
                None,
                "given with --allow".to_string(),
            )
            .map_err(|e| anyhow::anyhow!("--allow {pattern:?}: {e}"))?;
            policy.allow.push(entry);
        }
        Ok(policy)
    }

    /// Reads a policy; `name` names the file in messages.
    pub fn parse(name: &str, text: &str, catalogue: &Catalogue) -> Result<Policy> {
        let file: PolicyFile = match toml::from_str(text) {
            Ok(file) => file,
            Err(e) => bail!("{}", toml_place::error(name, &e)),
        };
        let at = |span: Range<usize>| toml_place::position(name, text, span.start);
        let mut problems = Vec::new();
        let mut policy = Policy::default();
        match file
            .profile
            .as_ref()
            .map(|p| (p.get_ref().as_str(), p.span()))
        {
            None | Some(("static", _)) => {}
            Some(("dynamic", span)) => {
                for package in DYNAMIC_RUNTIME {
                    let entry = Entry::new(
                        at(span.clone()),
                        None,
                        package,
                        None,
                        "the dynamic profile accepts the C runtime".into(),
                    );
                    policy.allow.extend(entry.ok());
                }
            }
            Some((other, span)) => problems.push(format!(
                "{}: unknown profile {other:?} (static or dynamic)",
                at(span)
            )),
        }
        for (list, entries) in [
            (&mut policy.allow, &file.allow),
            (&mut policy.deny, &file.deny),
        ] {
            for entry in entries {
                let origin = at(entry.package.span());
                let Some(reason) = entry
                    .reason
                    .as_ref()
                    .filter(|r| !r.get_ref().trim().is_empty())
                else {
                    problems.push(format!(
                        "{origin}: {:?} needs a reason",
                        entry.package.get_ref()
                    ));
                    continue;
                };
                let line = toml_place::line(text, entry.package.span().start) as u64;
                match Entry::new(
                    origin.clone(),
                    Some((name.to_string(), line)),
                    entry.package.get_ref(),
                    entry.output.clone(),
                    reason.get_ref().clone(),
                ) {
                    Ok(entry) => list.push(entry),
                    Err(e) => problems.push(format!("{origin}: {e}")),
                }
            }
        }
        for (rule, level) in &file.severity {
            let level = match level.get_ref().as_str() {
                "deny" => Some(Level::Deny),
                "warn" => Some(Level::Warn),
                "info" => Some(Level::Info),
                other => {
                    problems.push(format!(
                        "{}: severity {other:?} is not deny, warn or info",
                        at(level.span())
                    ));
                    None
                }
            };
            if catalogue.find(rule.get_ref()).is_none() {
                problems.push(format!(
                    "{}: unknown rule id {:?} (`stowaway rules` lists them)",
                    at(rule.span()),
                    rule.get_ref()
                ));
            } else if let Some(level) = level {
                policy.severity.push((rule.get_ref().clone(), level));
            }
        }
        if let Some(budget) = &file.budget {
            for (value, slot) in [
                (&budget.max_closure_size, &mut policy.max_closure_size),
                (&budget.max_reference_size, &mut policy.max_reference_size),
            ] {
                if let Some(value) = value {
                    match size(value.get_ref()) {
                        Ok(bytes) => *slot = Some(bytes),
                        Err(e) => problems.push(format!("{}: {e}", at(value.span()))),
                    }
                }
            }
        }
        if !problems.is_empty() {
            bail!(
                "{} problem(s) in the policy:\n  {}",
                problems.len(),
                problems.join("\n  ")
            );
        }
        Ok(policy)
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

/// A size in bytes: an integer, or a string such as "60 MiB" or "5MB".
fn size(value: &toml::Value) -> Result<u64, String> {
    let bytes = match value {
        toml::Value::Integer(n) if *n > 0 => Some(*n as u64),
        toml::Value::String(text) => {
            let text = text.trim();
            let split = text
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let factor: Option<f64> = match unit.trim() {
                "" | "B" => Some(1.0),
                "KiB" => Some(1024.0),
                "MiB" => Some(1024.0 * 1024.0),
                "GiB" => Some(1024.0 * 1024.0 * 1024.0),
                "kB" | "KB" => Some(1e3),
                "MB" => Some(1e6),
                "GB" => Some(1e9),
                _ => None,
            };
            number
                .parse::<f64>()
                .ok()
                .zip(factor)
                .map(|(n, f)| n * f)
                .filter(|b| b.is_finite() && *b >= 1.0 && *b < 1e18)
                .map(|b| b as u64)
        }
        _ => None,
    };
    bytes.ok_or_else(|| {
        format!("{value} is not a size (a positive number of bytes, or e.g. \"60 MiB\")")
    })
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
        let policy = Policy::parse("p.toml", text, &catalogue()).expect("valid");
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
    fn every_problem_is_listed_with_line_and_column() {
        let text = "profile = \"tiny\"\n[[allow]]\npackage = \"a[\"\nreason = \"x\"\n[[deny]]\npackage = \"b\"\n[severity]\nno-such-rule = \"deny\"\nstore-reference = \"fatal\"\n[budget]\nmax-closure-size = \"60 MeB\"\n";
        let err = Policy::parse("p.toml", text, &catalogue()).expect_err("broken");
        let text = format!("{err:#}");
        for needle in [
            "6 problem(s)",
            "p.toml:1:11: unknown profile \"tiny\"",
            "p.toml:3:11: bad glob \"a[\"",
            "p.toml:6:11: \"b\" needs a reason",
            "unknown rule id \"no-such-rule\"",
            "severity \"fatal\"",
            "p.toml:11:20: \"60 MeB\" is not a size",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        let err =
            Policy::parse("p.toml", "[[allow]]\npakage = \"x\"\n", &catalogue()).expect_err("typo");
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        let s = |t: &str| size(&toml::Value::String(t.into()));
        assert_eq!(s("60 MiB"), Ok(60 << 20));
        assert_eq!(s("5MB"), Ok(5_000_000));
        assert_eq!(s("1.5 GiB"), Ok(3 << 29));
        assert!(s("0").is_err());
        assert!(s("-1 MiB").is_err());
        assert!(size(&toml::Value::Integer(-5)).is_err());
    }
}
