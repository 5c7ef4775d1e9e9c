//! stowaway: a closure auditor for static binaries.
//!
//! It walks build outputs, finds every Nix store path they still reference (with the store
//! directory, as a bare hash, or through a symlink), attributes each to its package, prices
//! it in closure bytes, and turns that into a verdict. docs/ARCHITECTURE.md describes the
//! flow; in the code it is [`audit::check`]:
//!
//! ```text
//! cli → config ─► inputs → scan (bytes, files, inspect, libraries) → attribute (rules)
//!               → closure (source, cost, price) → checks (linkage, policy, baseline)
//!               → model::Report → report (human, json, sarif, github, markdown)
//! ```
//!
//! Every module is private: what the binary, the tests and the fuzz targets use is re-exported
//! here, and nothing else. The documentation worth reading is therefore that of the private
//! items too (`cargo doc --document-private-items`), whose links may point anywhere.
#![allow(rustdoc::private_intra_doc_links)]

mod app;
pub mod archive;
mod attribute;
mod audit;
mod checks;
mod cli;
mod closure;
mod config;
mod diff;
mod escape;
mod inputs;
mod inspect;
mod libraries;
mod model;
mod nix_builder;
pub mod outcome;
mod output;
mod progress;
mod report;
mod rules;
mod scan;
mod store_path;
mod toml_file;
pub mod units;

pub use app::run;
pub use cli::Cli;

/// What the fuzz targets and the tests reach into: the readers of untrusted input and the
/// pure functions compared with reference tools.
pub mod parts {
    pub use crate::app::check_exit_code;
    pub use crate::checks::baseline::parse as parse_baseline;
    pub use crate::checks::policy::Policy;
    pub use crate::closure::info_file::parse as parse_closure_info;
    pub use crate::diff::{compare, read_report};
    pub use crate::escape::{escape_bytes, unescape};
    pub use crate::inspect::{inspect, sniff, Format as FileFormat};
    pub use crate::model::SizeSource;
    pub use crate::report::diff::write as write_diff;
    pub use crate::report::github::command as github_command;
    pub use crate::report::DiffFormat;
    pub use crate::rules::Catalogue;
    pub use crate::scan::{Hit, ScanBuffer, Scanner};
    pub use crate::store_path::{parse_name, StorePath};
}
