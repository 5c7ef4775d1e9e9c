//! The resource limits of an audit: what each one bounds, its default, the flag that changes
//! it, and the record of each one reached, so that no cut is ever silent.
//!
//! A limit that may hide a finding (a directory not walked, store paths not recorded, a binary
//! not parsed, libraries not followed) makes the audit incomplete (exit 2): a check that passes
//! must have seen everything. Only `--max-locations` cuts nothing but detail (the places past
//! it are counted); it is reported in every format and leaves the verdict alone.

use std::collections::BTreeMap;

use serde::Serialize;

use super::named::named;
use crate::units::{counted, human_bytes, ByteSize};

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are byte-scanned but not parsed as ELF or archives.
    pub max_elf_size: u64,
    /// Directories this many levels below a target are not walked.
    pub max_depth: usize,
    /// Locations kept per referenced path in one file; further occurrences are counted.
    pub max_locations: usize,
    /// Distinct store paths recorded per file.
    pub max_paths_per_file: usize,
    /// Objects (the executable and the libraries it needs) followed in one process image.
    pub max_image_objects: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_elf_size: 2 << 30,
            max_depth: 256,
            max_locations: 16,
            max_paths_per_file: 4096,
            max_image_objects: 4096,
        }
    }
}

named! {
    /// One of the [`Limits`]; its id is also its flag without the dashes.
    #[allow(clippy::enum_variant_names)] // named after their flags
    pub enum Limit {
        MaxDepth = "max-depth",
        MaxPathsPerFile = "max-paths-per-file",
        MaxElfSize = "max-elf-size",
        MaxLocations = "max-locations",
        MaxImageObjects = "max-image-objects",
    }
}

impl Limit {
    /// Whether reaching it may hide a finding, so that the audit is incomplete.
    pub fn may_hide_findings(self) -> bool {
        self != Limit::MaxLocations
    }

    fn value(self, limits: &Limits) -> u64 {
        match self {
            Limit::MaxDepth => limits.max_depth as u64,
            Limit::MaxPathsPerFile => limits.max_paths_per_file as u64,
            Limit::MaxElfSize => limits.max_elf_size,
            Limit::MaxLocations => limits.max_locations as u64,
            Limit::MaxImageObjects => limits.max_image_objects as u64,
        }
    }
}

/// Paths listed per limit reached; the rest are counted.
const PATHS_LISTED: usize = 16;

/// A limit that was reached, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    pub limit: Limit,
    /// The flag that changes it.
    pub flag: String,
    pub value: u64,
    /// How many paths reached it.
    pub hits: u64,
    /// The first of them (in path order), as the report names files.
    pub paths: Vec<String>,
    /// Whether what it cut may hide a finding (the audit is then incomplete).
    pub incomplete: bool,
    /// What was cut, in one sentence.
    pub effect: String,
}

impl Reached {
    /// The flag and its value as one would type them: `--max-elf-size 1G`.
    pub fn setting(&self) -> String {
        match self.limit {
            Limit::MaxElfSize => format!("{} {}", self.flag, ByteSize(self.value)),
            _ => format!("{} {}", self.flag, self.value),
        }
    }

    /// What was cut and the first paths it was cut at, in one sentence.
    pub fn describe(&self) -> String {
        let mut text = format!("{} reached: {}", self.setting(), self.effect);
        if let Some((first, rest)) = self.paths.split_first() {
            text.push_str(&format!(": {first}"));
            for path in rest {
                text.push_str(&format!(", {path}"));
            }
            let unlisted = self.hits - self.paths.len() as u64;
            if unlisted > 0 {
                text.push_str(&format!(" and {unlisted} more"));
            }
        }
        text
    }

    /// The records of every limit reached, from each path that reached one.
    pub fn collect(
        limits: &Limits,
        hits: impl IntoIterator<Item = (Limit, String)>,
    ) -> Vec<Reached> {
        let mut by_limit: BTreeMap<Limit, Vec<String>> = BTreeMap::new();
        for (limit, path) in hits {
            by_limit.entry(limit).or_default().push(path);
        }
        by_limit
            .into_iter()
            .map(|(limit, mut paths)| {
                paths.sort();
                paths.dedup();
                let hits = paths.len() as u64;
                paths.truncate(PATHS_LISTED);
                let value = limit.value(limits);
                Reached {
                    limit,
                    flag: format!("--{}", limit.id()),
                    value,
                    hits,
                    paths,
                    incomplete: limit.may_hide_findings(),
                    effect: effect(limit, value, hits),
                }
            })
            .collect()
    }
}

fn effect(limit: Limit, value: u64, hits: u64) -> String {
    match limit {
        Limit::MaxDepth => format!(
            "the entries of {} {} down were not read",
            counted(hits, "directory", "directories"),
            counted(value, "level", "levels"),
        ),
        Limit::MaxPathsPerFile => format!(
            "{} more than {value} distinct store paths; only the first {value} of each are reported",
            counted(hits, "file holds", "files hold")
        ),
        Limit::MaxElfSize => format!(
            "{} larger than {} {} byte-scanned but not parsed (no sections, symbols or linkage)",
            counted(hits, "binary", "binaries"),
            human_bytes(value),
            if hits == 1 { "was" } else { "were" }
        ),
        Limit::MaxLocations => format!(
            "{} a store path more than {}; the rest are counted, not listed",
            counted(hits, "file holds", "files hold"),
            counted(value, "time", "times"),
        ),
        Limit::MaxImageObjects => format!(
            "{} more than {value} objects; the rest were not followed",
            counted(hits, "executable's process image has", "executables' process images have")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_grouped_per_limit_counted_and_listed_in_order() {
        let limits = Limits::default();
        let mut hits: Vec<(Limit, String)> = (0..20)
            .map(|i| (Limit::MaxLocations, format!("out/f{i:02}")))
            .collect();
        hits.push((Limit::MaxDepth, "out/deep".into()));
        hits.push((Limit::MaxDepth, "out/deep".into()));
        let reached = Reached::collect(&limits, hits);
        assert_eq!(reached.len(), 2);
        let depth = &reached[0];
        assert_eq!(depth.limit, Limit::MaxDepth);
        assert_eq!((depth.hits, depth.value, depth.incomplete), (1, 256, true));
        assert_eq!(depth.flag, "--max-depth");
        assert_eq!(
            depth.effect,
            "the entries of 1 directory 256 levels down were not read"
        );
        let locations = &reached[1];
        assert_eq!(locations.hits, 20);
        assert_eq!(locations.paths.len(), PATHS_LISTED);
        assert_eq!(locations.paths[0], "out/f00");
        assert!(!locations.incomplete);
        assert_eq!(
            locations.effect,
            "20 files hold a store path more than 16 times; the rest are counted, not listed"
        );
    }
}
