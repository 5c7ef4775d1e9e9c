//! The checked configuration of one `stowaway check` run.
//!
//! Built from the raw flags of [`crate::cli`]: the store directory is settled, globs are
//! compiled, the default target is applied. Every problem here means the audit cannot be done
//! as asked (exit 2), so it is reported before any file is read.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::checks::policy::Policy;
use crate::cli::{AuditArgs, CheckArgs, ColorChoice, Output};
use crate::report::Format;
use crate::rules::Catalogue;
use crate::scan::MAX_STORE_DIR_LEN;
use crate::toml_file::problems_error;

/// What `nix build` leaves behind, audited when no path is given.
const DEFAULT_TARGET: &str = "result";

/// Everything a check needs, validated.
#[derive(Debug)]
pub struct CheckConfig {
    pub paths: Vec<PathBuf>,
    pub store_dir: String,
    pub closure_info: Option<PathBuf>,
    /// What is accepted and refused: stowaway.toml (or --config) and --allow.
    pub policy: crate::checks::policy::Policy,
    pub format: Format,
    /// Further reports, each to its file (`--output`).
    pub outputs: Vec<Output>,
    pub color: bool,
    pub threads: Option<usize>,
    pub limits: crate::model::Limits,
    /// Every executable must be static (`not-static` otherwise).
    pub expect_static: bool,
    /// Findings accepted from an earlier run.
    pub baseline: Option<Vec<crate::model::BaselineEntry>>,
    /// Where to record this run's findings.
    pub write_baseline: Option<PathBuf>,
    /// The rules, built-in and from --rules, compiled.
    pub catalogue: crate::rules::Catalogue,
    /// Running as a Nix builder (`--nix-builder`): where the closure and the report are.
    pub nix_build: Option<crate::nix_builder::NixBuild>,
}

/// Whether to colour what goes to stdout: on a terminal, unless `NO_COLOR` is set.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The rules (built-in, `--rules`, the policy file's `[[rule]]`s) and the policy, read
/// together so that one run lists every problem of both.
pub fn rules_and_policy(args: &AuditArgs) -> Result<(Catalogue, Policy)> {
    let file = Policy::read(args.config.as_deref())?;
    let catalogue = Catalogue::load(args.rules.as_deref(), file.as_ref());
    let policy = match &file {
        Some((name, text)) => Policy::parse(name, text, catalogue.as_ref().ok()),
        None => Ok(Policy::default()),
    };
    match (catalogue, policy) {
        (Ok(catalogue), Ok(policy)) => Ok((catalogue, policy.with_allow_flags(&args.allow)?)),
        (Err(rules), Ok(_)) => Err(problems_error(&rules, "the rules")),
        (Ok(_), Err(policy)) => Err(problems_error(&policy, "the policy")),
        (Err(mut rules), Err(policy)) => {
            rules.extend(policy);
            Err(problems_error(&rules, "the rules and the policy"))
        }
    }
}

impl CheckConfig {
    /// Whether some report places results by line.
    pub fn wants_lines(&self) -> bool {
        self.format.wants_lines() || self.outputs.iter().any(|o| o.format.wants_lines())
    }

    pub fn from_args(args: CheckArgs) -> Result<CheckConfig> {
        let (catalogue, policy) = rules_and_policy(&args.audit)?;
        let store_dir = args
            .audit
            .store_dir
            .or_else(|| {
                std::env::var("NIX_STORE_DIR")
                    .ok()
                    .filter(|d| !d.is_empty())
            })
            .unwrap_or_else(|| "/nix/store".to_string());
        let store_dir = store_dir.trim_end_matches('/').to_string();
        // No control characters: a store path's line is counted from its hash's region, which
        // relies on the store directory holding no newline.
        if !store_dir.starts_with('/')
            || store_dir.len() > MAX_STORE_DIR_LEN
            || store_dir.chars().any(char::is_control)
        {
            bail!("store directory {store_dir:?} must be an absolute path of at most {MAX_STORE_DIR_LEN} bytes, without control characters");
        }
        let paths = if args.paths.is_empty() {
            if std::fs::symlink_metadata(DEFAULT_TARGET).is_err() {
                bail!("no ./result here: run `nix build` first, or name what to audit (stowaway check PATH)");
            }
            vec![PathBuf::from(DEFAULT_TARGET)]
        } else {
            args.paths
        };
        if args.audit.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let color = use_color(args.audit.color);
        let nix_build = args
            .nix_builder
            .then(|| crate::nix_builder::NixBuild::from_env(&store_dir))
            .transpose()?;
        let closure_info = match &nix_build {
            Some(build) => Some(build.attrs.clone()),
            None => args.audit.closure_info,
        };
        Ok(CheckConfig {
            paths,
            store_dir,
            closure_info,
            nix_build,
            format: args.format.into(),
            outputs: args.output,
            color,
            threads: args.audit.threads,
            limits: args.audit.limits.limits(),
            expect_static: args.audit.r#static,
            baseline: args
                .baseline
                .as_deref()
                .map(crate::checks::baseline::read)
                .transpose()?,
            write_baseline: args.write_baseline,
            policy,
            catalogue,
        })
    }
}
