//! Baselines: today's findings recorded, so that a later audit fails only on new ones.
//!
//! An entry names a finding by what survives a rebuild: the rule, the package and output it
//! is about (not the hash, not the version), and the file it sits in, relative to the target,
//! with every store path in that file's path named without its hash and version (an image's
//! members sit under `nix/store/<hash>-<name>/`, and a rebuild changes both).
//! Findings that match an entry are kept in the report but lowered to `info`; entries that
//! match nothing are listed as stale, so the baseline shrinks as faults are fixed.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::escape::escape_controls;
use crate::model::{Applied, BaselineEntry, Finding, Severity};
use crate::store_path::{StorePath, HASH_LEN};

/// The schema id every baseline file starts with.
pub const SCHEMA: &str = "stowaway.baseline/1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    schema: String,
    entries: Vec<BaselineEntry>,
}

/// The entries a finding stands for: one per file it sits in.
fn entries_of(finding: &Finding) -> BTreeSet<BaselineEntry> {
    let (subject, output) = match &finding.reference {
        Some(r) => (r.package.clone(), r.output.clone()),
        None => (
            finding
                .evidence
                .first()
                .map(|e| e.library.clone())
                .unwrap_or_default(),
            String::new(),
        ),
    };
    finding
        .locations
        .iter()
        .map(|l| BaselineEntry {
            rule: finding.rule.clone(),
            subject: subject.clone(),
            output: output.clone(),
            file: rebuilt_file(&l.file),
        })
        .collect()
}

/// `file` as a rebuild leaves it: each component that is a store path's base name loses its
/// hash and version, so `nix/store/<hash>-demo-1.0/bin/app` is `nix/store/*-demo/bin/app`
/// and `<hash>-openssl-static-x86_64-unknown-linux-musl-3.0.12-etc` is
/// `*-openssl-static-x86_64-unknown-linux-musl-etc`.
fn rebuilt_file(file: &str) -> String {
    let rebuilt = |component: &str| {
        let store_path = component
            .split_at_checked(HASH_LEN)
            .and_then(|(hash, rest)| StorePath::new(hash, rest.strip_prefix('-')?).ok());
        let Some(store_path) = store_path else {
            return component.to_string();
        };
        let name = store_path.package();
        let mut stable = format!("*-{}", name.package);
        if name.is_static {
            stable.push_str("-static");
        }
        for part in name.platform.iter().chain(&name.output) {
            stable.push('-');
            stable.push_str(part);
        }
        stable
    };
    file.split('/').map(rebuilt).collect::<Vec<_>>().join("/")
}

/// Writes the baseline of every finding that is not already `info`.
pub fn write(file: &Path, findings: &[Finding]) -> Result<()> {
    let entries: BTreeSet<BaselineEntry> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .flat_map(entries_of)
        .collect();
    let text = serde_json::to_string_pretty(&BaselineFile {
        schema: SCHEMA.to_string(),
        entries: entries.into_iter().collect(),
    })?;
    crate::output::to_file(file, "baseline", |out| writeln!(out, "{text}"))
}

/// Reads a baseline file.
pub fn read(file: &Path) -> Result<Vec<BaselineEntry>> {
    let name = crate::escape::escape_path(file);
    let text = std::fs::read(file).with_context(|| format!("baseline {name}"))?;
    parse(&name, &text)
}

/// The entries of a baseline's bytes; `name` says where they came from in errors. A baseline
/// is committed next to the code, so a pull request may change it: control characters in its
/// strings are escaped (the entries stowaway writes have none, so they match as written).
pub fn parse(name: &str, text: &[u8]) -> Result<Vec<BaselineEntry>> {
    let parsed: BaselineFile = serde_json::from_slice(text)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("baseline {name}"))?;
    if parsed.schema != SCHEMA {
        bail!(
            "baseline {name}: schema {:?}, expected {SCHEMA:?}",
            parsed.schema
        );
    }
    let shown = |text: String| escape_controls(&text).into_owned();
    Ok(parsed
        .entries
        .into_iter()
        .map(|e| BaselineEntry {
            rule: shown(e.rule),
            subject: shown(e.subject),
            output: shown(e.output),
            file: shown(e.file),
        })
        .collect())
}

/// Lowers every finding whose entries are all in the baseline to `info`, and says which
/// entries matched nothing.
pub fn apply(entries: &[BaselineEntry], findings: &mut [Finding]) -> Applied {
    let known: BTreeSet<&BaselineEntry> = entries.iter().collect();
    let mut used: BTreeSet<BaselineEntry> = BTreeSet::new();
    let mut matched = 0;
    for finding in findings.iter_mut().filter(|f| f.severity != Severity::Info) {
        let own = entries_of(finding);
        if !own.is_empty() && own.iter().all(|e| known.contains(e)) {
            finding.severity = Severity::Info;
            finding.message.push_str(" (in the baseline)");
            matched += 1;
        }
        used.extend(own.into_iter().filter(|e| known.contains(e)));
    }
    Applied {
        matched,
        stale: entries
            .iter()
            .filter(|e| !used.contains(*e))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_under_a_store_path_is_named_without_its_hash_and_version() {
        let hash = "0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r";
        assert_eq!(
            rebuilt_file(&format!("nix/store/{hash}-demo-1.0/bin/app")),
            "nix/store/*-demo/bin/app"
        );
        assert_eq!(
            rebuilt_file(&format!(
                "nix/store/{hash}-openssl-static-x86_64-unknown-linux-musl-3.0.12-etc/ssl"
            )),
            "nix/store/*-openssl-static-x86_64-unknown-linux-musl-etc/ssl"
        );
        assert_eq!(rebuilt_file(&format!("{hash}-tool")), "*-tool");
        // Not a store path's base name: kept as it is.
        for file in [
            "bin/app",
            "lib/libz.so.1.2.13",
            "share/0a1b2c3d-x",
            "bin/a\\x0ab",
        ] {
            assert_eq!(rebuilt_file(file), file);
        }
    }

    #[test]
    fn entries_are_read_with_control_characters_escaped_and_escapes_kept() {
        let text = br#"{"schema":"stowaway.baseline/1","entries":[
            {"rule":"store-reference","subject":"evil\u001b[2J\n::error::x","output":"out","file":"bin/a\\x0ab"}]}"#;
        let entries = parse("b.json", text).unwrap();
        assert_eq!(entries[0].subject, "evil\\x1b[2J\\x0a::error::x");
        assert_eq!(
            entries[0].file, "bin/a\\x0ab",
            "what stowaway escaped is kept"
        );
        let other = br#"{"schema":"stowaway.baseline/9","entries":[]}"#;
        let message = format!("{:#}", parse("b.json", other).unwrap_err());
        assert_eq!(
            message,
            "baseline b.json: schema \"stowaway.baseline/9\", expected \"stowaway.baseline/1\""
        );
    }
}
