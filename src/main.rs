//! The `stowaway` command: parse arguments, run the library, map the outcome to an exit code
//! (0 pass, 1 fail, 2 the audit could not be done), print an error once.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use std::path::Path;

use stowaway::cli::{CheckArgs, Cli, Command, Format};
use stowaway::config::{use_color, CheckConfig};
use stowaway::model::Report;
use stowaway::policy::Policy;
use stowaway::progress::Progress;
use stowaway::rules::Catalogue;
use stowaway::{audit, diff, outcome, output, report};

fn main() -> ExitCode {
    outcome::exit_2_when_cancelled();
    let cli = Cli::parse();
    ExitCode::from(outcome::exit_code(&mut io::stderr(), || run(cli)))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let config = CheckConfig::from_args(args)?;
            warn(&config.catalogue.warnings);
            let report = check(&config)?;
            if let Some(build) = &config.nix_build {
                build.deliver(&report)?;
                return Ok(report.exit_code() as u8);
            }
            output::to_stdout(|out| {
                report::write(out, &report, &config.catalogue, config.format, config.color)
            })?;
            for extra in &config.outputs {
                output::to_file(&extra.file, "report", |out| {
                    report::write(out, &report, &config.catalogue, extra.format, false)
                })?;
            }
            Ok(report.exit_code() as u8)
        }
        Command::Diff(args) => {
            let warned = std::cell::Cell::new(false);
            let audit = |path: &Path| {
                let config = CheckConfig::from_args(CheckArgs {
                    paths: vec![path.to_path_buf()],
                    format: Format::Json,
                    output: Vec::new(),
                    baseline: None,
                    write_baseline: None,
                    nix_builder: false,
                    audit: args.audit.clone(),
                })?;
                if !warned.replace(true) {
                    warn(&config.catalogue.warnings);
                }
                diff::side_of(&check(&config)?)
            };
            let old = diff::load(&args.old, &audit)?;
            let new = diff::load(&args.new, &audit)?;
            let diff = diff::compare(old, new);
            let color = use_color(args.audit.color);
            output::to_stdout(|out| report::diff::write(out, &diff, args.format, color))?;
            Ok(diff.exit_code() as u8)
        }
        Command::Rules { rules } => {
            let catalogue = catalogue(rules.as_deref())?;
            warn(&catalogue.warnings);
            output::to_stdout(|out| report::catalogue::write_list(out, &catalogue))?;
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

/// The rules, with those of ./stowaway.toml if there is one.
fn catalogue(extra: Option<&Path>) -> anyhow::Result<Catalogue> {
    Catalogue::load(extra, Policy::read(None)?.as_ref())
        .map_err(|problems| stowaway::toml_file::problems_error(&problems, "the rules"))
}

/// Runs one audit, on as many threads as asked, with a progress bar on a terminal.
fn check(config: &CheckConfig) -> anyhow::Result<Report> {
    let progress = Progress::for_stderr(!config.format.is_for_ci());
    match config.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?
            .install(|| audit::check(config, &progress)),
        None => audit::check(config, &progress),
    }
}

/// Says each warning once, on one line.
fn warn(warnings: &[String]) {
    for warning in warnings {
        let _ = writeln!(io::stderr(), "stowaway: warning: {warning}");
    }
}
