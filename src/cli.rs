//! The command line as clap sees it: raw flags, before any validation.
//!
//! [`crate::config`] turns these into a checked configuration; nothing here touches the disk.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::model::Limits;
use crate::report::{DiffFormat, Format};
use crate::units::ByteSize;

/// A closure auditor for static binaries: finds every Nix store path that a build output
/// still references, says whose it is and where it sits, and what it costs.
#[derive(Debug, Parser)]
#[command(
    name = "stowaway",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit build outputs for store references (exit 0 pass, 1 fail, 2 could not audit).
    Check(CheckArgs),
    /// List every rule: id, default severity, title.
    Rules {
        /// Also the rule packs in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Compare two builds: references added and removed, closure before and after, and what
    /// explains the growth (exit 1 when something new fails the policy).
    Diff(DiffArgs),
    /// Explain one rule: what it means and how to fix it.
    Explain {
        /// A rule id, as reports print it (e.g. store-reference).
        id: String,
        /// Also the rule packs in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Files or directories to audit; a top-level symlink such as `result` is followed.
    /// Default: ./result, what `nix build` leaves.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format (on stdout).
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,

    /// Also write the report as FORMAT to FILE (repeatable): several reports from one audit,
    /// e.g. `--output sarif=stowaway.sarif --output markdown=summary.md`.
    #[arg(
        long,
        short = 'o',
        value_name = "FORMAT=FILE",
        conflicts_with = "nix_builder"
    )]
    pub output: Vec<Output>,

    /// Accept the findings recorded in FILE (by --write-baseline): only new ones fail.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record today's findings in FILE, for --baseline later.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Run as the builder of a Nix check derivation (nix/mkcheck.nix): closure from the
    /// structured attrs, JSON report to $out/report.json, human report to the build log.
    #[arg(long, conflicts_with_all = ["format", "closure_info"])]
    pub nix_builder: bool,

    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The earlier build: a path to audit, or a JSON report saved by `check --format json`.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The later build, likewise.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Report format.
    #[arg(long, value_enum, default_value_t = DiffFormatArg::Human)]
    pub format: DiffFormatArg,

    #[command(flatten)]
    pub audit: AuditArgs,
}

/// How to audit: what `check` and `diff` share.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The policy file [default: ./stowaway.toml if there is one].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Accept references to packages whose name matches GLOB (repeatable), e.g. 'glibc*'.
    #[arg(long, value_name = "GLOB")]
    pub allow: Vec<String>,

    /// Closure information: the JSON of `nix path-info --json --recursive --closure-size`
    /// (any Nix version) or a structured-attrs `.attrs.json` with an exportReferencesGraph.
    #[arg(long, value_name = "FILE")]
    pub closure_info: Option<PathBuf>,

    /// Every executable must be static: one with an interpreter or needed libraries is a
    /// `not-static` finding.
    #[arg(long = "static")]
    pub r#static: bool,

    /// Load rule packs from every *.toml in DIR, besides the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// The Nix store directory [default: $NIX_STORE_DIR, else /nix/store].
    #[arg(long, value_name = "DIR")]
    pub store_dir: Option<String>,

    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The resource limits (see `crate::limits`): each one reached is reported, and one that may
/// hide a finding makes the audit incomplete.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits (each one reached is reported)")]
pub struct LimitArgs {
    /// Larger files are byte-scanned but not parsed as ELF or archives (the audit is
    /// incomplete).
    #[arg(long, value_name = "SIZE", default_value_t = ByteSize(Limits::default().max_elf_size))]
    pub max_elf_size: ByteSize,

    /// Directories this many levels below a target are not walked (the audit is incomplete).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,

    /// Places listed per store path per file; the rest are counted.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_locations)]
    pub max_locations: usize,

    /// Distinct store paths recorded per file (past it the audit is incomplete).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_paths_per_file)]
    pub max_paths_per_file: usize,

    /// Objects followed in one executable's process image, itself and the libraries it needs
    /// (past it the audit is incomplete).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_image_objects)]
    pub max_image_objects: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_elf_size: self.max_elf_size.0,
            max_depth: self.max_depth,
            max_locations: self.max_locations,
            max_paths_per_file: self.max_paths_per_file,
            max_image_objects: self.max_image_objects,
        }
    }
}

/// `--format`, as clap reads it (the report's own [`Format`] is what the rest uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Grouped by referenced path, largest saving first.
    Human,
    /// The `stowaway.report/1` contract (see README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions annotations (workflow commands), then the totals.
    Github,
    /// A Markdown summary with a table of findings (for $GITHUB_STEP_SUMMARY or a PR comment).
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

/// A report to write to a file besides stdout: `--output FORMAT=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub file: PathBuf,
}

impl std::str::FromStr for Output {
    type Err = String;

    fn from_str(text: &str) -> Result<Output, String> {
        let (format, file) = text
            .split_once('=')
            .filter(|(_, file)| !file.is_empty())
            .ok_or_else(|| format!("{text:?} is not FORMAT=FILE (e.g. sarif=stowaway.sarif)"))?;
        let format = FormatArg::from_str(format, true).map_err(|_| {
            format!("unknown format {format:?} (human, json, sarif, github or markdown)")
        })?;
        Ok(Output {
            format: format.into(),
            file: PathBuf::from(file),
        })
    }
}

/// `diff --format`, as clap reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormatArg {
    /// Closure before and after, then the findings added, removed and changed.
    Human,
    /// The `stowaway.diff/1` contract (see README).
    Json,
}

impl From<DiffFormatArg> for DiffFormat {
    fn from(format: DiffFormatArg) -> DiffFormat {
        match format {
            DiffFormatArg::Human => DiffFormat::Human,
            DiffFormatArg::Json => DiffFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
