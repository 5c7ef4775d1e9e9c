//! stowaway: a closure auditor for static binaries.
//!
//! It walks build outputs, finds every Nix store path they still reference (with the store
//! directory, as a bare hash, or through a symlink), attributes each to its package, prices
//! it in closure bytes, and turns that into a verdict. See `ARCHITECTURE.md` for the data flow:
//! [`cli`] → [`config`] → [`inputs`] → [`file_scan`] / [`scan`] → [`store_path`] → [`closure`] → [`audit`] →
//! [`report`].

pub mod archive;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod closure;
pub mod config;
pub mod diff;
pub mod escape;
pub mod file_scan;
pub mod findings;
pub mod inputs;
pub mod inspect;
pub mod libraries;
pub mod limits;
pub mod linkage;
pub mod nix_builder;
pub mod outcome;
pub mod output;
pub mod policy;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod store_path;
pub mod toml_place;
