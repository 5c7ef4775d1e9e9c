//! One `stowaway check`, stage by stage: the inputs, the scan, attribution, the closure and
//! its prices, the checks, then the report. Each stage is a module that hands the next plain
//! data; this one only puts them in order, and nothing here prints.
//!
//! A target that is an archive (issue 14) takes the same stages with two differences: its
//! members are read from the archive ([`scan::archive`]), and it is its own closure
//! ([`ArchiveClosure`]): no closure-info file, `nix` or store on disk is consulted.

use std::collections::HashSet;

use anyhow::Result;
use rayon::prelude::*;

use crate::attribute::{self, Attribution, Gathered};
use crate::checks::{baseline, linkage, policy};
use crate::closure::cost::{self, Costs, Root};
use crate::closure::image::{ArchiveClosure, ArchiveFacts};
use crate::closure::{price, Before, ClosureGraph};
use crate::config::CheckConfig;
use crate::inputs::{self, Target};
use crate::libraries::Signatures;
use crate::model::{Finding, Limit, Location, Parts, Reached, Report, TargetDeriver};
use crate::progress::Progress;
use crate::scan::archive::ArchiveTarget;
use crate::scan::{self, Outcome, Records, Scanner, Tools};
use crate::store_path::StorePath;

/// Where sizes come from: the closure of the audited paths, or an archive that is its own.
enum Sizes {
    Closure {
        graph: Option<ClosureGraph>,
        root: Option<Root>,
        costs: Option<Costs>,
    },
    Archive(Box<ArchiveClosure>),
}

impl Sizes {
    fn graph(&self) -> Option<&ClosureGraph> {
        match self {
            Sizes::Closure { graph, .. } => graph.as_ref(),
            Sizes::Archive(archive) => Some(&archive.graph),
        }
    }
}

/// Runs the audit.
pub fn check(config: &CheckConfig, progress: &Progress) -> Result<Report> {
    let store_dir = config.store_dir.as_str();
    let mut targets = inputs::resolve_targets(&config.paths, store_dir)?;
    let archive = scan::archive::open(&mut targets, &config.limits)?;
    let target_paths: Vec<StorePath> = match &archive {
        Some(archive) => archive.nar_path.iter().cloned().collect(),
        None => targets
            .iter()
            .filter_map(|t| t.store_path.clone())
            .collect(),
    };

    // What is known of the closure before the scan gives it the bare hashes to look for.
    let mut before = match &archive {
        Some(_) => Before::Nothing,
        None => Before::find(config.closure_info.as_deref(), &target_paths, store_dir)?,
    };
    if let (Some(build), Before::Graph(graph)) = (&config.nix_build, &mut before) {
        build.name_derivers(graph);
    }
    let scanner = match &archive {
        Some(archive) => {
            let held =
                ArchiveClosure::candidates(&archive.archive, archive.nar_path.as_ref(), store_dir);
            Scanner::new(store_dir, held.iter().map(String::as_str))
        }
        None => Scanner::new(store_dir, before.candidates()),
    };
    let signatures = Signatures::builtin()?;
    let catalogue = &config.catalogue;
    let tools = Tools {
        scanner: &scanner,
        signatures: &signatures,
        file_strings: catalogue.file_strings.as_ref(),
        store_dir,
        progress,
        // Only the formats that place results by line pay for counting newlines.
        lines: config.wants_lines(),
        limits: config.limits,
    };
    let self_hashes: HashSet<&str> = target_paths.iter().map(StorePath::hash).collect();
    let (scanned, archived) = match &archive {
        Some(archive) => {
            let (scanned, closure, layers) =
                scan_archive(&tools, &targets, archive, &scanner, store_dir)?;
            (scanned, Some((Box::new(closure), layers)))
        }
        None => (scan::scan_all(&tools, &targets), None),
    };

    // The references found, then the closure they and the targets span (an archive's is
    // known already).
    let own = |outcome: &Outcome, hash: &str| {
        archived
            .as_ref()
            .is_some_and(|(closure, _)| closure.owners.of(&outcome.rel) == Some(hash))
    };
    let gathered = attribute::gather(&targets, &scanned, &own);
    let (sizes, layers) = match archived {
        Some((closure, layers)) => (Sizes::Archive(closure), Some(layers)),
        None => {
            let closure = Closure {
                targets: &targets,
                scanned: &scanned,
                target_paths: &target_paths,
                self_hashes: &self_hashes,
            };
            let sizes = closure.of(before, &gathered, &scanner, store_dir);
            (sizes, None)
        }
    };

    // Findings: attributed, priced, then the checks.
    let files = attribute::file_index(&targets, &scanned);
    let with = Attribution {
        catalogue,
        files: &files,
        graph: sizes.graph(),
        self_hashes: &self_hashes,
        store_dir,
    };
    let mut findings: Vec<Finding> = gathered
        .into_par_iter()
        .flat_map_iter(|g| attribute::findings_of(g, &with))
        .collect();
    match &sizes {
        Sizes::Closure { graph, costs, .. } => {
            price::price(&mut findings, graph.as_ref(), costs.as_ref())
        }
        Sizes::Archive(archive) => archive.price(&mut findings),
    }
    if let (Some(layers), Some(archive)) = (&layers, &archive) {
        layers.name_layers(&targets[archive.index].given, &mut findings);
    }
    let linkage = linkage::analyse(
        catalogue,
        &tools,
        &targets,
        &scanned,
        config.expect_static,
        archive.is_none(),
    );
    findings.extend(linkage.findings);
    policy::judge(&config.policy, &mut findings, &self_hashes);
    if let Some(file) = &config.write_baseline {
        baseline::write(file, &findings)?;
    }
    let applied = config
        .baseline
        .as_deref()
        .map(|entries| baseline::apply(entries, &mut findings));
    let closure_bytes = match &sizes {
        Sizes::Closure { costs, .. } => costs.as_ref().and_then(|c| c.closure_bytes),
        Sizes::Archive(archive) => archive.closure_bytes(),
    };
    let audited = targets
        .iter()
        .map(|t| Location::whole_file(&t.given, &t.given, t.given.clone()))
        .collect();
    findings.extend(policy::afterwards(
        &config.policy,
        catalogue,
        &findings,
        closure_bytes,
        audited,
    ));
    let without_failing = match &sizes {
        Sizes::Closure { graph, root, .. } => graph
            .as_ref()
            .zip(root.as_ref())
            .and_then(|(g, r)| price::without_failing(g, r, &findings)),
        Sizes::Archive(archive) => archive.without_failing(&findings),
    };
    sort(&mut findings);

    // Every limit reached, by the paths that reached it.
    let limit_hits = scanned
        .iter()
        .filter(|o| !o.details().limits.is_empty())
        .flat_map(|o| {
            let path = targets[o.target].path_of(&o.rel);
            o.details()
                .limits
                .iter()
                .map(move |&limit| (limit, path.clone()))
        })
        .chain(
            linkage
                .cut
                .into_iter()
                .map(|exe| (Limit::MaxImageObjects, exe)),
        );
    let limits = Reached::collect(&config.limits, limit_hits);
    let records = Records::of(&targets, &scanned);
    // Freeing an outcome per entry of a large tree takes milliseconds nobody need wait for
    // (where no thread can be started, they are freed here).
    let _ = std::thread::Builder::new().spawn(move || drop(scanned));
    Ok(Report::new(Parts {
        targets: targets.iter().map(|t| t.given.clone()).collect(),
        target_derivers: derivers_of(&targets, sizes.graph()),
        findings,
        errors: records.errors,
        limits,
        skipped: records.skipped,
        binaries: records.binaries,
        unparseable: records.unparseable,
        baseline: applied,
        files_scanned: records.files_scanned,
        bytes_scanned: records.bytes_scanned,
        closure_bytes,
        closure_bytes_without_failing: without_failing,
        image: match sizes {
            Sizes::Archive(archive) => Some(archive.section),
            Sizes::Closure { .. } => None,
        },
    }))
}

/// The audited paths whose closure is to be found.
struct Closure<'a> {
    targets: &'a [Target],
    scanned: &'a [Outcome],
    target_paths: &'a [StorePath],
    self_hashes: &'a HashSet<&'a str>,
}

impl Closure<'_> {
    /// What is known before the scan, completed with what the scan found the targets
    /// reference (`gathered`), with the targets as its root.
    fn of(
        &self,
        before: Before,
        gathered: &[Gathered],
        scanner: &Scanner,
        store_dir: &str,
    ) -> Sizes {
        let live = attribute::live(gathered);
        let live_hashes: Vec<&str> = live.iter().map(|&(_, hash)| hash).collect();
        let graph = before.after_scan(
            self.target_paths,
            &live_hashes,
            store_dir,
            |disk, wanted| disk.closure(scanner, wanted),
        );
        let root = graph.as_ref().map(|g| {
            let measured = scan::scanned_nar_bytes(self.targets, self.scanned);
            price::root_of(
                g,
                self.targets,
                &measured,
                &live,
                self.self_hashes,
                store_dir,
            )
        });
        let costs = graph
            .as_ref()
            .zip(root.as_ref())
            .map(|(g, r)| cost::costs(g, r));
        Sizes::Closure { graph, root, costs }
    }
}

/// Reads the archive target's members, and the archive's own closure from them.
fn scan_archive(
    tools: &Tools,
    targets: &[Target],
    archive: &ArchiveTarget,
    scanner: &Scanner,
    store_dir: &str,
) -> Result<(Vec<Outcome>, ArchiveClosure, scan::archive::ArchiveScan)> {
    let target = &targets[archive.index];
    let mut scan = scan::archive::scan(tools, target, archive, store_dir)?;
    let outcomes = std::mem::take(&mut scan.outcomes);
    let closure = ArchiveClosure::build(ArchiveFacts {
        given: &target.given,
        archive: &archive.archive,
        nar_path: archive.nar_path.as_ref(),
        nar_size: scan.nar_size,
        outcomes: &outcomes,
        scanner,
        store_dir,
    });
    Ok((outcomes, closure, scan))
}

/// The derivation that built each target that lies in a store path, as far as the closure
/// source knows it.
fn derivers_of(targets: &[Target], graph: Option<&ClosureGraph>) -> Vec<TargetDeriver> {
    targets
        .iter()
        .filter_map(|t| {
            let node = graph?.get(t.store_path.as_ref()?.hash())?;
            Some(TargetDeriver {
                target: t.given.clone(),
                deriver: node.deriver.clone()?,
            })
        })
        .collect()
}

/// Failing first, largest saving first, then by path and place: the same order every run.
fn sort(findings: &mut [Finding]) {
    findings.sort_by_cached_key(|f| {
        (
            f.severity,
            std::cmp::Reverse(f.size.and_then(|s| s.exclusive_bytes)),
            f.reference.as_ref().map(|r| r.store_path.clone()),
            f.rule.clone(),
            f.locations
                .first()
                .map(|l| (l.target.clone(), l.file.clone())),
        )
    });
}
