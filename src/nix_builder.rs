//! `stowaway check --nix-builder`: stowaway as the builder of a Nix derivation (the check that
//! `lib.mkCheck` in nix/mkcheck.nix makes), with no shell and no `nix` command in the build.
//!
//! The derivation sets `__structuredAttrs = true` and `exportReferencesGraph.graph` to the
//! audited outputs, so Nix writes their reference graph with real sizes into the attrs file
//! (`$NIX_ATTRS_JSON_FILE`, or `.attrs.json` in the build directory on older Nix): that file
//! is the closure information. Its `outputs.out` is where the JSON report goes
//! (`$out/report.json`); the human report goes to the build log, so a failing check says why.
//!
//! Nix exports the graph without derivers, so `lib.mkCheck` also passes `audited`: the
//! audited package's `drvPath` and its outputs. [`NixBuild::name_derivers`] puts that
//! derivation on the audited outputs' nodes, and the report names it.

use std::fs;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::closure::ClosureGraph;
use crate::escape::{escape_bytes, escape_path};
use crate::store_path::StorePath;

/// Where a `--nix-builder` run reads its closure and writes its report.
#[derive(Debug, Clone)]
pub struct NixBuild {
    /// The structured-attrs file.
    pub attrs: PathBuf,
    /// The derivation's `out` output.
    pub out: PathBuf,
    /// The audited package, when the derivation says which (`lib.mkCheck` does).
    pub audited: Option<Audited>,
}

/// The package a check audits, as `lib.mkCheck` passes it in (`audited` in the attrs).
#[derive(Debug, Clone)]
pub struct Audited {
    /// The derivation that builds it: a `.drv` store path.
    pub drv_path: String,
    /// Its outputs.
    pub outputs: Vec<StorePath>,
}

impl NixBuild {
    /// Finds the attrs file of the running build and reads `outputs.out` and `audited` from
    /// it; store paths are checked against `store_dir`.
    pub fn from_env(store_dir: &str) -> Result<NixBuild> {
        let attrs = std::env::var_os("NIX_ATTRS_JSON_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".attrs.json"));
        let text = fs::read(&attrs).map_err(|e| {
            anyhow!(
                "--nix-builder: no structured attrs at {} ({e}); the derivation needs __structuredAttrs = true (use lib.mkCheck)",
                attrs.display()
            )
        })?;
        let value: Value = serde_json::from_slice(&text)
            .with_context(|| format!("--nix-builder: {} is not JSON", attrs.display()))?;
        let out = value["outputs"]["out"]
            .as_str()
            .ok_or_else(|| anyhow!("--nix-builder: {} has no outputs.out", attrs.display()))?;
        let audited = Audited::read(&value["audited"], store_dir)
            .with_context(|| format!("--nix-builder: {}", escape_path(&attrs)))?;
        Ok(NixBuild {
            out: PathBuf::from(out),
            attrs,
            audited,
        })
    }

    /// Records the audited derivation as the deriver of each audited output in `graph`.
    pub fn name_derivers(&self, graph: &mut ClosureGraph) {
        if let Some(audited) = &self.audited {
            for output in &audited.outputs {
                graph.set_deriver(output.hash(), &audited.drv_path);
            }
        }
    }
}

impl Audited {
    /// Reads `{drvPath, outputs: {name: path}}`. Absent, or without a `drvPath` (a package
    /// that has none), it names nothing; anything else malformed is an error.
    fn read(value: &Value, store_dir: &str) -> Result<Option<Audited>> {
        let drv_path = match value.get("drvPath") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(path)) => path,
            Some(other) => bail!("audited.drvPath is not a string: {other}"),
        };
        let is_derivation = StorePath::parse(drv_path, store_dir)
            .is_ok_and(|p| p.is_derivation() && p.to_path_string(store_dir) == *drv_path);
        if !is_derivation {
            bail!(
                "audited.drvPath is not a derivation in {store_dir}: {}",
                escape_bytes(drv_path.as_bytes())
            );
        }
        let outputs = value["outputs"]
            .as_object()
            .ok_or_else(|| anyhow!("audited.outputs is not an object of output paths"))?
            .iter()
            .map(|(name, path)| {
                let path = path.as_str().unwrap_or_default();
                StorePath::parse(path, store_dir)
                    .ok()
                    .filter(|p| p.to_path_string(store_dir) == path)
                    .ok_or_else(|| {
                        anyhow!(
                            "audited.outputs.{} is not a store path in {store_dir}: {}",
                            escape_bytes(name.as_bytes()),
                            escape_bytes(path.as_bytes())
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Audited {
            drv_path: drv_path.clone(),
            outputs,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRV: &str = "/nix/store/vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv";
    const OUT: &str = "/nix/store/jgawiwb6yq4b803z440n388s8w2w59za-app-1.0";

    fn read(json: &str) -> Result<Option<Audited>> {
        Audited::read(&serde_json::from_str(json).unwrap(), "/nix/store")
    }

    #[test]
    fn the_audited_derivation_and_its_outputs_are_read() {
        let audited = read(&format!(
            r#"{{"drvPath":"{DRV}","outputs":{{"out":"{OUT}"}}}}"#
        ))
        .unwrap()
        .unwrap();
        assert_eq!(audited.drv_path, DRV);
        assert_eq!(audited.outputs[0].to_path_string("/nix/store"), OUT);
    }

    #[test]
    fn without_a_drv_path_nothing_is_named() {
        assert!(read("null").unwrap().is_none());
        assert!(read(r#"{"drvPath":null,"outputs":{}}"#).unwrap().is_none());
    }

    #[test]
    fn a_malformed_audited_entry_is_an_error_that_names_the_field() {
        for (json, says) in [
            (
                format!(r#"{{"drvPath":"{OUT}","outputs":{{}}}}"#),
                "not a derivation",
            ),
            (
                r#"{"drvPath":"vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv","outputs":{}}"#
                    .to_string(),
                "not a derivation",
            ),
            (
                format!(r#"{{"drvPath":"{DRV}"}}"#),
                "audited.outputs is not an object",
            ),
            (
                format!(r#"{{"drvPath":"{DRV}","outputs":{{"out":"/tmp/x\u001b"}}}}"#),
                "audited.outputs.out is not a store path in /nix/store: /tmp/x\\x1b",
            ),
        ] {
            let err = read(&json).expect_err(&json);
            assert!(format!("{err:#}").contains(says), "{json}: {err:#}");
        }
    }
}
