//! One `stowaway check`, stage by stage: the inputs, the scan, attribution, the closure and
//! its prices, the checks, then the report. Each stage is a module that hands the next plain
//! data; this one only puts them in order, and nothing here prints.

use std::collections::HashSet;

use anyhow::Result;

use crate::attribute::{self, Attribution};
use crate::checks::{baseline, linkage, policy};
use crate::closure::cost::{self, Costs};
use crate::closure::{price, Before, ClosureGraph};
use crate::config::CheckConfig;
use crate::inputs::{self, Target};
use crate::libraries::Signatures;
use crate::model::{Finding, Limit, Location, Parts, Reached, Report, TargetDeriver};
use crate::progress::Progress;
use crate::scan::{self, Records, Scanner, Tools};
use crate::store_path::StorePath;

/// Runs the audit.
pub fn check(config: &CheckConfig, progress: &Progress) -> Result<Report> {
    let store_dir = config.store_dir.as_str();
    let targets = inputs::resolve_targets(&config.paths, store_dir)?;
    let target_paths: Vec<StorePath> = targets
        .iter()
        .filter_map(|t| t.store_path.clone())
        .collect();

    // What is known of the closure before the scan gives it the bare hashes to look for.
    let mut before = Before::find(config.closure_info.as_deref(), &target_paths, store_dir)?;
    if let (Some(build), Before::Graph(graph)) = (&config.nix_build, &mut before) {
        build.name_derivers(graph);
    }
    let scanner = Scanner::new(store_dir, before.candidates());
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
    let scanned = scan::scan_all(&tools, &targets);

    // The references found, then the closure they and the targets span.
    let gathered = attribute::gather(&targets, &scanned);
    let live = attribute::live(&gathered);
    let live_hashes: Vec<&str> = live.iter().map(|&(_, hash)| hash).collect();
    let graph = before.after_scan(&target_paths, &live_hashes, store_dir, |disk, wanted| {
        disk.closure(&scanner, wanted)
    });
    let self_hashes: HashSet<&str> = target_paths.iter().map(StorePath::hash).collect();
    let root = graph.as_ref().map(|g| {
        let measured = scan::scanned_nar_bytes(&targets, &scanned);
        price::root_of(g, &targets, &measured, &live, &self_hashes, store_dir)
    });
    let costs: Option<Costs> = graph
        .as_ref()
        .zip(root.as_ref())
        .map(|(g, r)| cost::costs(g, r));

    // Findings: attributed, priced, then the checks.
    let files = attribute::file_index(&targets, &scanned);
    let with = Attribution {
        catalogue,
        files: &files,
        graph: graph.as_ref(),
        self_hashes: &self_hashes,
        store_dir,
    };
    let mut findings: Vec<Finding> = gathered
        .into_iter()
        .flat_map(|g| attribute::findings_of(g, &with))
        .collect();
    price::price(&mut findings, graph.as_ref(), costs.as_ref());
    let linkage = linkage::analyse(catalogue, &tools, &targets, &scanned, config.expect_static);
    findings.extend(linkage.findings);
    policy::judge(&config.policy, &mut findings, &self_hashes);
    if let Some(file) = &config.write_baseline {
        baseline::write(file, &findings)?;
    }
    let applied = config
        .baseline
        .as_deref()
        .map(|entries| baseline::apply(entries, &mut findings));
    let closure_bytes = costs.as_ref().and_then(|c| c.closure_bytes);
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
    let without_failing = graph
        .as_ref()
        .zip(root.as_ref())
        .and_then(|(g, r)| price::without_failing(g, r, &findings));
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
    let records = Records::of(&targets, &scanned);
    Ok(Report::new(Parts {
        targets: targets.iter().map(|t| t.given.clone()).collect(),
        target_derivers: derivers_of(&targets, graph.as_ref()),
        findings,
        errors: records.errors,
        limits: Reached::collect(&config.limits, limit_hits),
        skipped: records.skipped,
        binaries: records.binaries,
        unparseable: records.unparseable,
        baseline: applied,
        files_scanned: records.files_scanned,
        bytes_scanned: records.bytes_scanned,
        closure_bytes,
        closure_bytes_without_failing: without_failing,
    }))
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
