//! Integration tests: each runs the real `stowaway` binary on real input (fixtures built by
//! Nix with real toolchains, temporary trees, and, in `nix`, outputs built by Nix on the spot).

mod archive;
mod bad_input;
mod ci;
mod cli;
mod controls;
mod debian;
mod diff;
mod elf;
mod fixtures;
mod flake;
mod formats;
mod large;
mod layout;
mod limits;
mod mkcheck;
mod nix;
mod policy;
mod prerequisites;
mod races;
mod rules;
mod sweep;
mod util;
