//! The commands: `check`, `diff`, `rules` and `explain`, each from its checked configuration
//! to its output. `main` parses the arguments and maps what `run` returns to an exit code.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::checks::policy::Policy;
use crate::cli::{CheckArgs, Cli, Command, FormatArg};
use crate::config::{use_color, CheckConfig};
use crate::model::{Report, RuleText};
use crate::nix_builder::NixBuild;
use crate::progress::Progress;
use crate::rules::Catalogue;
use crate::{audit, diff, output, report};

/// Runs the command `cli` asks for; its exit code (0 pass, 1 fail, 2 incomplete).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let config = CheckConfig::from_args(args)?;
            warn(&config.catalogue.warnings);
            let report = check(&config)?;
            let rules: Vec<&RuleText> = config.catalogue.all().collect();
            if let Some(build) = &config.nix_build {
                deliver(build, &report)?;
                return Ok(report.exit_code() as u8);
            }
            output::to_stdout(|out| {
                report::write(out, &report, &rules, config.format, config.color)
            })?;
            for extra in &config.outputs {
                output::to_file(&extra.file, "report", |out| {
                    report::write(out, &report, &rules, extra.format, false)
                })?;
            }
            Ok(report.exit_code() as u8)
        }
        Command::Diff(args) => {
            let warned = std::cell::Cell::new(false);
            let audit = |path: &Path| {
                let config = CheckConfig::from_args(CheckArgs {
                    paths: vec![path.to_path_buf()],
                    format: FormatArg::Json,
                    output: Vec::new(),
                    baseline: None,
                    write_baseline: None,
                    nix_builder: false,
                    audit: args.audit.clone(),
                })?;
                if !warned.replace(true) {
                    warn(&config.catalogue.warnings);
                }
                Ok(crate::model::Side::from(&check(&config)?))
            };
            let old = diff::load(&args.old, &audit)?;
            let new = diff::load(&args.new, &audit)?;
            let diff = diff::compare(old, new);
            let color = use_color(args.audit.color);
            output::to_stdout(|out| report::diff::write(out, &diff, args.format.into(), color))?;
            Ok(diff.exit_code() as u8)
        }
        Command::Rules { rules } => {
            let catalogue = catalogue(rules.as_deref())?;
            warn(&catalogue.warnings);
            let rules: Vec<&RuleText> = catalogue.all().collect();
            output::to_stdout(|out| report::catalogue::write_list(out, &rules))?;
            Ok(0)
        }
        Command::Explain { id, rules } => {
            let catalogue = catalogue(rules.as_deref())?;
            let rule = catalogue.find(&id).ok_or_else(|| {
                anyhow::anyhow!("unknown rule id {id:?} (`stowaway rules` lists them)")
            })?;
            output::to_stdout(|out| report::catalogue::write_explanation(out, rule))?;
            Ok(0)
        }
    }
}

/// The exit code of `stowaway check PATH` with the default flags, without writing a report:
/// what the archive fuzz target runs on the inputs the bounded readers accept.
pub fn check_exit_code(path: &Path) -> Result<i32> {
    use clap::Parser;
    let cli = Cli::try_parse_from([
        std::ffi::OsStr::new("stowaway"),
        std::ffi::OsStr::new("check"),
        path.as_os_str(),
    ])?;
    let Command::Check(args) = cli.command else {
        unreachable!("parsed as check")
    };
    Ok(check(&CheckConfig::from_args(args)?)?.exit_code())
}

/// The rules, with those of ./stowaway.toml if there is one.
fn catalogue(extra: Option<&Path>) -> Result<Catalogue> {
    Catalogue::load(extra, Policy::read(None)?.as_ref())
        .map_err(|problems| crate::toml_file::problems_error(&problems, "the rules"))
}

/// Runs one audit, on as many threads as asked, with a progress display on a terminal.
fn check(config: &CheckConfig) -> Result<Report> {
    let progress = Progress::for_stderr(!config.format.is_for_ci());
    match config.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?
            .install(|| audit::check(config, &progress)),
        None => audit::check(config, &progress),
    }
}

/// What a Nix check leaves: the human report in the build log (stderr), so that a failing
/// check says why, and the JSON report as `$out/report.json`.
fn deliver(build: &NixBuild, report: &Report) -> Result<()> {
    report::human::write(&mut io::stderr().lock(), report, false)
        .context("writing the build log")?;
    std::fs::create_dir_all(&build.out)
        .with_context(|| format!("creating {}", build.out.display()))?;
    output::to_file(&build.out.join("report.json"), "report", |out| {
        report::json::write(out, report)
    })
}

/// Says each warning once, on one line.
fn warn(warnings: &[String]) {
    for warning in warnings {
        let _ = writeln!(io::stderr(), "stowaway: warning: {warning}");
    }
}
