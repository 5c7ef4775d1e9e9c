//! `stowaway check --nix-builder`: stowaway as the builder of a Nix derivation (the check that
//! `lib.mkCheck` in nix/mkcheck.nix makes), with no shell and no `nix` command in the build.
//!
//! The derivation sets `__structuredAttrs = true` and `exportReferencesGraph.graph` to the
//! audited outputs, so Nix writes their reference graph with real sizes into the attrs file
//! (`$NIX_ATTRS_JSON_FILE`, or `.attrs.json` in the build directory on older Nix): that file
//! is the closure information. Its `outputs.out` is where the JSON report goes
//! (`$out/report.json`); the human report goes to the build log, so a failing check says why.

use std::fs;
use std::io;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};

use crate::findings::Report;
use crate::report;

/// Where a `--nix-builder` run reads its closure and writes its report.
#[derive(Debug, Clone)]
pub struct NixBuild {
    /// The structured-attrs file.
    pub attrs: PathBuf,
    /// The derivation's `out` output.
    pub out: PathBuf,
}

impl NixBuild {
    /// Finds the attrs file of the running build and reads `outputs.out` from it.
    pub fn from_env() -> Result<NixBuild> {
        let attrs = std::env::var_os("NIX_ATTRS_JSON_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".attrs.json"));
        let text = fs::read(&attrs).map_err(|e| {
            anyhow!(
                "--nix-builder: no structured attrs at {} ({e}); the derivation needs __structuredAttrs = true (use lib.mkCheck)",
                attrs.display()
            )
        })?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("--nix-builder: {} is not JSON", attrs.display()))?;
        let out = value["outputs"]["out"]
            .as_str()
            .ok_or_else(|| anyhow!("--nix-builder: {} has no outputs.out", attrs.display()))?;
        Ok(NixBuild {
            attrs,
            out: PathBuf::from(out),
        })
    }

    /// Writes `$out/report.json` and the human report to the build log (stderr).
    pub fn deliver(&self, report: &Report) -> Result<()> {
        report::human::write(&mut io::stderr().lock(), report, false)
            .context("writing the build log")?;
        fs::create_dir_all(&self.out)
            .with_context(|| format!("creating {}", self.out.display()))?;
        crate::output::to_file(&self.out.join("report.json"), "report", |out| {
            report::json::write(out, report)
        })
    }
}
