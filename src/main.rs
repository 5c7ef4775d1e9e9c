//! The `stowaway` command: parse the arguments, run the library, map the outcome to an exit
//! code (0 pass, 1 fail, 2 the audit could not be done), print an error once.

use std::process::ExitCode;

use clap::Parser as _;
use stowaway::{outcome, Cli};

fn main() -> ExitCode {
    outcome::exit_2_when_cancelled();
    let cli = Cli::parse();
    ExitCode::from(outcome::exit_code(&mut std::io::stderr(), || {
        stowaway::run(cli)
    }))
}
