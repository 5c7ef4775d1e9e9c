//! The `stowaway` command: parse arguments, run the library, map the outcome to an exit code
//! (0 pass, 1 fail, 2 the audit could not be done), print an error once.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use stowaway::cli::{Cli, Command};
use stowaway::config::CheckConfig;
use stowaway::progress::Progress;
use stowaway::{audit, report};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(io::stderr(), "stowaway: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let config = CheckConfig::from_args(args)?;
            let progress = Progress::for_stderr();
            let report = match config.threads {
                Some(threads) => rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()?
                    .install(|| audit::check(&config, &progress))?,
                None => audit::check(&config, &progress)?,
            };
            let mut out = io::BufWriter::new(io::stdout().lock());
            let written = report::write(&mut out, &report, config.format, config.color)
                .and_then(|()| out.flush());
            match written {
                // `stowaway check | head` stops reading early: not an error of the audit.
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
                Err(err) => return Err(anyhow::Error::new(err).context("writing the report")),
                Ok(()) => {}
            }
            Ok(report.exit_code() as u8)
        }
    }
}
