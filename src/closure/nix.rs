//! Asks Nix for the closure: one batched `nix path-info --json --recursive --closure-size`.
//!
//! Used when no `--closure-info` file is given, `nix` is on `PATH` and the paths exist. The
//! output is parsed by [`super::info_file`], which accepts every shape Nix has printed.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

use super::{info_file, ClosureGraph};
use crate::model::SizeSource;

/// The closure of `paths` (store paths that exist) according to the Nix database.
pub fn path_info(paths: &[String], store_dir: &str) -> Result<ClosureGraph> {
    if paths.is_empty() {
        return Ok(ClosureGraph::new(SizeSource::Nix));
    }
    if let Some(missing) = paths.iter().find(|p| !Path::new(p).exists()) {
        bail!("{missing} does not exist");
    }
    let output = Command::new("nix")
        .args(["--extra-experimental-features", "nix-command"])
        .args(["path-info", "--json", "--recursive", "--closure-size"])
        .args(paths)
        .stdin(Stdio::null())
        .output()
        .context("running nix path-info")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        bail!("nix path-info failed: {first}");
    }
    info_file::parse(&output.stdout, store_dir, SizeSource::Nix)
        .map_err(|e| anyhow!("nix path-info printed something unexpected: {e:#}"))
}

/// Whether a `nix` executable is on `PATH`.
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("nix").is_file()))
}
