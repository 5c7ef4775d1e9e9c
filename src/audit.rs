//! One `stowaway check`: inputs → scan → attribution → closure → findings → verdict.
//!
//! This module owns the order of the stages and the turning of raw hits into findings. Each
//! stage lives in its own module and hands back plain data; nothing here prints.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::Result;

use crate::baseline;
use crate::closure::cost::{self, Costs, Root};
use crate::closure::disk::DiskStore;
use crate::closure::nar_size::{self, nar_size};
use crate::closure::{info_file, nix, ClosureGraph};
use crate::config::CheckConfig;
use crate::file_scan::{self, Outcome, Tools};
use crate::inputs::{self, Target};
use crate::libraries::Signatures;
use crate::linkage;
use crate::model::RuleText;
use crate::model::{
    Anchor, AuditError, Binary, Finding, Kind, Location, Reference, Report, Severity, Size,
    SizeSource, Skipped, Summary, TargetDeriver, Unparseable, Verdict,
};
use crate::model::{Limit, Reached};
use crate::policy::Policy;
use crate::progress::Progress;
use crate::rules::{Catalogue, FileFacts, FileIndex, Place};
use crate::scan::Scanner;
use crate::store_path::StorePath;
use crate::units::human_bytes;

/// One referenced store path, gathered over all files.
struct Gathered {
    rule: Kind,
    hash: String,
    /// The name as the first hit spelled it (the graph's name wins when known).
    name: String,
    anchors: HashSet<Anchor>,
    targets: HashSet<usize>,
    locations: Vec<Location>,
    /// Places past `--max-locations`, counted per (target, file).
    more: BTreeMap<(String, String), u64>,
}

/// Runs the audit.
pub fn check(config: &CheckConfig, progress: &Progress) -> Result<Report> {
    let store_dir = config.store_dir.as_str();
    let targets = inputs::resolve_targets(&config.paths, store_dir)?;
    let target_paths: Vec<StorePath> = targets
        .iter()
        .filter_map(|t| t.store_path.clone())
        .collect();

    // The closure, when it can be known before the scan, supplies the bare hashes to look for.
    let mut graph = closure_before_scan(config, &target_paths)?;
    let disk = if graph.is_none() {
        DiskStore::open(store_dir)
    } else {
        None
    };
    let scanner = match (&graph, &disk) {
        (Some(graph), _) => Scanner::new(store_dir, graph.hashes()),
        (None, Some(disk)) => Scanner::new(store_dir, disk.hashes()),
        (None, None) => Scanner::new(store_dir, []),
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
    let outcomes = file_scan::scan_all(&tools, &targets);
    let gathered = gather(&targets, &outcomes);

    // Otherwise the closure of what was found, from Nix or from the disk.
    if graph.is_none() {
        let live: Vec<&str> = gathered
            .iter()
            .filter(|g| g.rule != Kind::NukedReference)
            .map(|g| g.hash.as_str())
            .collect();
        graph = closure_after_scan(store_dir, &scanner, disk.as_ref(), &target_paths, &live);
    }

    let self_hashes: HashSet<&str> = target_paths.iter().map(StorePath::hash).collect();
    // What each file with a reference is, for rules about the files findings sit in.
    let files: FileIndex = outcomes
        .iter()
        .filter(|o| o.read && (o.found.iter().next().is_some() || !o.name_hits.is_empty()))
        .map(|o| {
            let facts = FileFacts {
                kind: o.file_kind,
                libraries: o.libraries.iter().map(|l| l.library.clone()).collect(),
                strings: o.rule_strings.clone(),
            };
            ((targets[o.target].given.clone(), o.rel.clone()), facts)
        })
        .collect();
    let root = graph
        .as_ref()
        .map(|g| root_of(g, &targets, &outcomes, &gathered, &self_hashes, store_dir));
    let mut findings: Vec<Finding> = gathered
        .into_iter()
        .flat_map(|g| {
            findings_of(
                catalogue,
                &files,
                g,
                graph.as_ref(),
                &self_hashes,
                store_dir,
            )
        })
        .collect();
    let costs = graph
        .as_ref()
        .zip(root.as_ref())
        .map(|(g, r)| cost::costs(g, r));
    price(&mut findings, graph.as_ref(), costs.as_ref());
    let linkage = linkage::analyse(catalogue, &tools, &targets, &outcomes, config.expect_static);
    findings.extend(linkage.findings);
    judge(&config.policy, &mut findings, &self_hashes);
    if let Some(file) = &config.write_baseline {
        baseline::write(file, &findings)?;
    }
    let applied = config
        .baseline
        .as_deref()
        .map(|entries| baseline::apply(entries, &mut findings));
    // Budgets and allow entries are judged on the findings the policy has already seen.
    let closure_bytes = costs.as_ref().and_then(|c| c.closure_bytes);
    findings.extend(over_budget(
        &config.policy,
        catalogue,
        &findings,
        closure_bytes,
        &targets,
    ));
    findings.extend(unused_allows(&config.policy, catalogue));
    let without_failing = match (&graph, &root) {
        (Some(graph), Some(root)) => {
            let failing: HashSet<&str> = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .filter_map(|f| f.reference.as_ref().map(|r| r.hash.as_str()))
                .collect();
            cost::closure_without(graph, root, &failing)
        }
        _ => None,
    };
    sort(&mut findings);
    let closure = (closure_bytes, without_failing);
    // Every limit reached, by the paths that reached it.
    let limit_hits = outcomes
        .iter()
        .flat_map(|o| {
            let path = targets[o.target].path_of(&o.rel);
            o.limits.iter().map(move |&limit| (limit, path.clone()))
        })
        .chain(
            linkage
                .cut
                .into_iter()
                .map(|exe| (Limit::MaxImageObjects, exe)),
        );
    let limits = Reached::collect(&config.limits, limit_hits);
    let mut report = report(&targets, &outcomes, findings, closure, limits);
    report.baseline = applied;
    report.target_derivers = derivers_of(&targets, graph.as_ref());
    Ok(report)
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

/// The closure known before scanning: a `--closure-info` file, or `nix path-info` of the
/// targets that are store paths.
fn closure_before_scan(
    config: &CheckConfig,
    target_paths: &[StorePath],
) -> Result<Option<ClosureGraph>> {
    let store_dir = config.store_dir.as_str();
    Ok(match &config.closure_info {
        Some(file) => {
            let mut graph = info_file::load(file, store_dir)?;
            if let Some(build) = &config.nix_build {
                build.name_derivers(&mut graph);
            }
            Some(graph)
        }
        None if !target_paths.is_empty() && nix::available() => {
            let paths: Vec<String> = target_paths
                .iter()
                .map(|p| p.to_path_string(store_dir))
                .collect();
            nix::path_info(&paths, store_dir).ok()
        }
        None => None,
    })
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

/// Puts the report together: the lists of what could not be read or parsed, the binaries,
/// the totals and the verdict (from the same data the reporters print).
fn report(
    targets: &[Target],
    outcomes: &[Outcome],
    findings: Vec<Finding>,
    closure: (Option<u64>, Option<u64>),
    limits: Vec<Reached>,
) -> Report {
    let target = |o: &Outcome| targets[o.target].given.clone();
    let mut errors: Vec<AuditError> = outcomes
        .iter()
        .filter_map(|o| {
            Some(AuditError {
                message: o.error.clone()?,
                path: targets[o.target].path_of(&o.rel),
                target: target(o),
                file: o.rel.clone(),
            })
        })
        .collect();
    errors.sort();
    let mut skipped: Vec<Skipped> = outcomes
        .iter()
        .filter_map(|o| {
            Some(Skipped {
                kind: o.skipped?,
                path: targets[o.target].path_of(&o.rel),
                target: target(o),
                file: o.rel.clone(),
            })
        })
        .collect();
    skipped.sort();
    let mut binaries: Vec<Binary> = outcomes
        .iter()
        .filter_map(|o| {
            Some(Binary {
                target: target(o),
                file: o.rel.clone(),
                facts: o.elf.as_deref()?.clone(),
                libraries: o.libraries.clone(),
            })
        })
        .collect();
    binaries.sort_by(|a, b| (&a.target, &a.file).cmp(&(&b.target, &b.file)));
    let mut unparseable: Vec<Unparseable> = outcomes
        .iter()
        .filter_map(|o| {
            Some(Unparseable {
                target: target(o),
                file: o.rel.clone(),
                reason: o.unparseable.clone()?,
            })
        })
        .collect();
    unparseable.sort();
    let summary = Summary {
        files_scanned: outcomes.iter().filter(|o| o.read).count() as u64,
        bytes_scanned: outcomes.iter().map(|o| o.bytes).sum(),
        references: findings
            .iter()
            .filter_map(|f| f.reference.as_ref().map(Reference::identity))
            .collect::<HashSet<_>>()
            .len() as u64,
        closure_bytes: closure.0,
        closure_bytes_without_failing: closure.1,
        unknown_size_references: crate::model::unknown_size_paths(findings.iter()),
    };
    let mut report = Report {
        targets: targets.iter().map(|t| t.given.clone()).collect(),
        target_derivers: Vec::new(),
        verdict: Verdict::Fail,
        complete: false,
        findings,
        errors,
        limits,
        skipped,
        binaries,
        unparseable,
        baseline: None,
        summary,
    };
    // Complete unless the report can say why not; passing only if complete and nothing fails.
    report.complete = report.incompleteness().is_none();
    if report.complete && report.failing().next().is_none() {
        report.verdict = Verdict::Pass;
    }
    report
}

/// Groups the hits of every file by referenced path.
fn gather(targets: &[Target], outcomes: &[Outcome]) -> Vec<Gathered> {
    let mut by_path: BTreeMap<(Kind, String), Gathered> = BTreeMap::new();
    for outcome in outcomes {
        for (rule, key, hits, more) in outcome.found.iter() {
            for hit in hits {
                let place = outcome.places.get(&hit.offset).cloned().unwrap_or_default();
                // A path in the interpreter or search path is a fault of its own.
                let rule = if place.dynamic.is_some() && rule == Kind::StoreReference {
                    Kind::DynamicLinkage
                } else {
                    rule
                };
                let gathered = slot(&mut by_path, rule, key, outcome.target);
                // Outcomes arrive in any order: keep the same name whatever it is.
                if gathered.name.is_empty() || hit.name < gathered.name {
                    gathered.name = hit.name.clone();
                }
                gathered.anchors.insert(hit.anchor);
                gathered.locations.push(Location {
                    path: targets[outcome.target].path_of(&outcome.rel),
                    target: targets[outcome.target].given.clone(),
                    file: outcome.rel.clone(),
                    offset: (rule != Kind::StoreSymlink).then_some(hit.offset),
                    line: hit.line,
                    length: (rule != Kind::StoreSymlink).then_some(hit.len),
                    subpath: hit.subpath.clone(),
                    excerpt: hit.excerpt.clone(),
                    anchor: Some(hit.anchor),
                    section: place.section,
                    loaded: place.loaded,
                    symbol: place.symbol,
                    member: place.member,
                });
            }
            if more > 0 {
                let file = (targets[outcome.target].given.clone(), outcome.rel.clone());
                *slot(&mut by_path, rule, key, outcome.target)
                    .more
                    .entry(file)
                    .or_default() += more;
            }
        }
        for hit in &outcome.name_hits {
            let key = hit.reference_key();
            let gathered = slot(&mut by_path, Kind::StoreReference, &key, outcome.target);
            gathered.anchors.insert(hit.anchor);
            if gathered.name.is_empty() || hit.name < gathered.name {
                gathered.name = hit.name.clone();
            }
            gathered.locations.push(Location {
                path: targets[outcome.target].path_of(&outcome.rel),
                target: targets[outcome.target].given.clone(),
                file: outcome.rel.clone(),
                offset: None,
                line: None,
                length: None,
                subpath: hit.subpath.clone(),
                excerpt: hit.excerpt.clone(),
                anchor: Some(Anchor::FileName),
                section: None,
                loaded: None,
                symbol: None,
                member: None,
            });
        }
    }
    by_path.into_values().collect()
}

/// The gathered entry of one (rule, path), created on first use.
fn slot<'m>(
    by_path: &'m mut BTreeMap<(Kind, String), Gathered>,
    rule: Kind,
    key: &str,
    target: usize,
) -> &'m mut Gathered {
    let gathered = by_path
        .entry((rule, key.to_string()))
        .or_insert_with(|| Gathered {
            rule,
            // A key starts with the 32 characters of the hash.
            hash: key
                .get(..crate::store_path::HASH_LEN)
                .unwrap_or(key)
                .to_string(),
            name: String::new(),
            anchors: HashSet::new(),
            targets: HashSet::new(),
            locations: Vec::new(),
            more: BTreeMap::new(),
        });
    gathered.targets.insert(target);
    gathered
}

/// The closure of what the scan found, when it was not known before: one batched
/// `nix path-info` call if the paths exist, else the store on disk.
fn closure_after_scan(
    store_dir: &str,
    scanner: &Scanner,
    disk: Option<&DiskStore>,
    target_paths: &[StorePath],
    live: &[&str],
) -> Option<ClosureGraph> {
    let disk = disk?;
    let mut wanted: Vec<StorePath> = target_paths.to_vec();
    wanted.extend(live.iter().filter_map(|hash| disk.get(hash).cloned()));
    if wanted.is_empty() {
        return Some(ClosureGraph::new(SizeSource::Disk));
    }
    if nix::available() {
        let paths: Vec<String> = wanted.iter().map(|p| p.to_path_string(store_dir)).collect();
        if let Ok(graph) = nix::path_info(&paths, store_dir) {
            return Some(graph);
        }
    }
    Some(disk.closure(scanner, &wanted))
}

/// The audited output as the root of the graph: each target that is a store path in the graph
/// brings its recorded size and references; any other target is measured on disk and brings
/// the references the scan found in it.
fn root_of(
    graph: &ClosureGraph,
    targets: &[Target],
    outcomes: &[Outcome],
    gathered: &[Gathered],
    self_hashes: &HashSet<&str>,
    store_dir: &str,
) -> Root {
    let mut root = Root {
        own_bytes: Some(0),
        edges: Vec::new(),
    };
    let mut counted: HashSet<&str> = HashSet::new();
    for (index, target) in targets.iter().enumerate() {
        match target.store_path.as_ref().and_then(|p| graph.get(p.hash())) {
            Some(node) => {
                if counted.insert(node.path.hash()) {
                    root.own_bytes = root.own_bytes.map(|b| b + node.nar_size);
                    root.edges.extend(node.references.iter().cloned());
                }
            }
            None => {
                let measured = match &target.store_path {
                    // Only part of a store path was audited: measure all of it.
                    Some(path) if target.root != Path::new(&path.to_path_string(store_dir)) => {
                        nar_size(Path::new(&path.to_path_string(store_dir))).ok()
                    }
                    // What was audited is the whole thing: its entries were measured as scanned.
                    _ => outcomes
                        .iter()
                        .filter(|o| o.target == index)
                        .try_fold(nar_size::HEADER, |sum, o| Some(sum + o.nar_bytes?)),
                };
                root.own_bytes = root.own_bytes.zip(measured).map(|(b, m)| b + m);
            }
        }
        root.edges.extend(
            gathered
                .iter()
                .filter(|g| g.rule != Kind::NukedReference && g.targets.contains(&index))
                .map(|g| g.hash.clone()),
        );
    }
    root.edges.retain(|h| !self_hashes.contains(h.as_str()));
    root.edges.sort();
    root.edges.dedup();
    root
}

/// Turns one gathered path into its findings, one per rule its places fall under (sizes
/// come later, in [`price`]).
fn findings_of(
    catalogue: &Catalogue,
    files: &FileIndex,
    gathered: Gathered,
    graph: Option<&ClosureGraph>,
    self_hashes: &HashSet<&str>,
    store_dir: &str,
) -> Vec<Finding> {
    let node = graph.and_then(|g| g.get(&gathered.hash));
    // A nuked hash names no path the graph could know: its own name is all there is.
    let nuked = gathered.rule == Kind::NukedReference;
    let name = match node {
        Some(node) if !nuked => node.path.name(),
        _ => gathered.name.as_str(),
    }
    .to_string();
    let store_path = StorePath::new(&gathered.hash, &name).ok();
    let package = store_path
        .as_ref()
        .map(StorePath::package)
        .unwrap_or_default();
    let reference = Reference {
        store_path: format!("{store_dir}/{}-{name}", gathered.hash),
        hash: gathered.hash.clone(),
        name: name.clone(),
        package: package.package.clone(),
        version: package.version.clone(),
        output: package.output.clone().unwrap_or_else(|| "out".to_string()),
        platform: package.platform.clone(),
        is_static: package.is_static,
        deriver: node.and_then(|n| n.deriver.clone()),
        nuked,
    };
    let only_bare = !gathered.anchors.contains(&Anchor::StoreDir);
    let in_closure = graph.is_some_and(|g| g.contains(&gathered.hash));
    let text = catalogue.get(gathered.rule);
    let mut severity = text.severity.severity();
    let mut fix = Some(text.fix_for(&reference.store_path));
    let mut message = match gathered.rule {
        Kind::NukedReference => {
            format!("nuked reference to {name}: costs nothing, but names a path that will not exist")
        }
        Kind::StoreSymlink => format!("symlink into the store: pulls in {name} and everything it references"),
        Kind::DynamicLinkage => format!(
            "the dynamic loader is told to look in {name}: its closure ships, and the program fails where it is missing"
        ),
        _ => format!("references {name}: its whole closure ships with this output"),
    };
    if gathered.rule == Kind::StoreReference && only_bare && !in_closure {
        if graph.is_some() {
            // Nix would not count a hash outside the closure: it cannot keep anything alive.
            severity = Severity::Warning;
            message = format!("looks like the hash of {name}, but that path is not in the closure");
            fix = None;
        } else {
            message = format!(
                "probable reference to {name}: a bare store hash, without the store directory"
            );
            fix = Some(
                "find what embeds this hash (a file name in a symbol table, a path built by string concatenation)"
                    .to_string(),
            );
        }
    }
    let itself = self_hashes.contains(gathered.hash.as_str()) && !nuked;
    if itself {
        severity = Severity::Info;
        message = format!("refers to the audited output itself ({name}): costs nothing");
    }
    // The rule of each file's places: the most specific rule of a rule pack that matches at
    // one of them, else the kind's own. The places of one path in one file are most often
    // one cause (a Paths_ module's five directories, __FILE__ in code and in debug info), so
    // they share a rule; places in different files get their own. One finding per rule.
    let mut locations = gathered.locations;
    locations.sort();
    let unloaded_everywhere = locations.iter().all(|l| l.loaded == Some(false));
    let mut by_rule: Vec<(Option<&RuleText>, Vec<Location>)> = Vec::new();
    for in_file in locations.chunk_by(|a, b| (&a.target, &a.file) == (&b.target, &b.file)) {
        let file = files.get(&(in_file[0].target.clone(), in_file[0].file.clone()));
        let places: Vec<Place> = in_file
            .iter()
            .map(|location| Place {
                kind: gathered.rule,
                reference: Some(&reference),
                location,
                unloaded_everywhere,
                file,
            })
            .collect();
        let rule = catalogue.select(&places);
        match by_rule
            .iter_mut()
            .find(|(r, _)| r.map(|r| &r.id) == rule.map(|r| &r.id))
        {
            Some((_, kept)) => kept.extend_from_slice(in_file),
            None => by_rule.push((rule, in_file.to_vec())),
        }
    }
    if by_rule.is_empty() {
        // Every place was past --max-locations: the finding stands under its kind's rule.
        by_rule.push((None, Vec::new()));
    }
    // The places not listed are counted with the finding that holds their file.
    let mut more_of = vec![0u64; by_rule.len()];
    for ((target, file), more) in &gathered.more {
        let holder = by_rule
            .iter()
            .position(|(_, places)| {
                places
                    .iter()
                    .any(|l| &l.target == target && &l.file == file)
            })
            .unwrap_or(0);
        more_of[holder] += more;
    }
    by_rule
        .into_iter()
        .zip(more_of)
        .map(|((rule, locations), more_locations)| {
            let mut finding = Finding {
                rule: gathered.rule.id().to_string(),
                kind: gathered.rule,
                severity,
                message: message.clone(),
                fix: fix.clone(),
                reference: Some(reference.clone()),
                locations,
                more_locations,
                size: None,
                evidence: Vec::new(),
            };
            // A rule pack's rule names the finding and its fix.
            if let Some(rule) = rule {
                finding.rule = rule.id.clone();
                finding.severity = rule.severity.severity();
                finding.fix = Some(rule.fix_for(&reference.store_path));
            }
            if itself {
                finding.severity = Severity::Info;
                finding.fix = None;
            }
            finding
        })
        .collect()
}

/// Applies the policy to every finding but the target's references to itself.
fn judge(policy: &Policy, findings: &mut [Finding], self_hashes: &HashSet<&str>) {
    for finding in findings.iter_mut() {
        let reference = finding.reference.as_ref();
        if reference.is_some_and(|r| self_hashes.contains(r.hash.as_str())) {
            continue;
        }
        let subject = reference.map(|r| (r.package.as_str(), r.output.as_str()));
        let (severity, note) = policy.judge(&finding.rule, subject, finding.severity);
        // Accepted by the policy: nothing to fix. (A rule that is info by itself, such as a
        // nuked reference, keeps its advice.)
        if severity == Severity::Info && finding.severity != Severity::Info {
            finding.fix = None;
        }
        finding.severity = severity;
        if let Some(note) = note {
            finding.message = format!("{} ({note})", finding.message);
        }
    }
}

/// A finding about the whole audit, with no store path and no place.
fn audit_finding(catalogue: &Catalogue, kind: Kind, message: String) -> Finding {
    let text = catalogue.get(kind);
    Finding {
        rule: kind.id().to_string(),
        kind,
        severity: text.severity.severity(),
        message,
        fix: Some(text.fix_for("")),
        reference: None,
        locations: Vec::new(),
        more_locations: 0,
        size: None,
        evidence: Vec::new(),
    }
}

/// The budgets of the policy, checked against the closure and each reference's saving.
fn over_budget(
    policy: &Policy,
    catalogue: &Catalogue,
    findings: &[Finding],
    closure: Option<u64>,
    targets: &[Target],
) -> Vec<Finding> {
    let mut over = Vec::new();
    if let (Some(max), Some(closure)) = (policy.max_closure_size, closure) {
        if closure > max {
            let mut finding = audit_finding(
                catalogue,
                Kind::OverBudget,
                format!(
                    "the closure is {}, over the budget of {}",
                    human_bytes(closure),
                    human_bytes(max)
                ),
            );
            // The audited outputs are what is over.
            finding.locations = targets
                .iter()
                .map(|t| Location::whole_file(&t.given, &t.given, t.given.clone()))
                .collect();
            over.push(finding);
        }
    }
    if let Some(max) = policy.max_reference_size {
        for finding in findings.iter().filter(|f| f.severity != Severity::Info) {
            let (Some(reference), Some(saved)) = (
                &finding.reference,
                finding.size.and_then(|s| s.exclusive_bytes),
            ) else {
                continue;
            };
            if saved > max {
                let mut over_one = audit_finding(
                    catalogue,
                    Kind::OverBudget,
                    format!(
                        "{} costs {}, over the budget of {} per reference",
                        reference.name,
                        human_bytes(saved),
                        human_bytes(max)
                    ),
                );
                // The places of the reference that costs too much.
                over_one.locations = finding.locations.iter().take(1).cloned().collect();
                over.push(over_one);
            }
        }
    }
    over
}

/// One finding per allow entry that accepted nothing, placed at its line of the policy file.
fn unused_allows(policy: &Policy, catalogue: &Catalogue) -> Vec<Finding> {
    policy
        .unused()
        .map(|entry| {
            let mut finding = audit_finding(
                catalogue,
                Kind::UnusedAllow,
                format!(
                    "allow {:?} ({}) accepted nothing; its reason: {}",
                    entry.pattern, entry.origin, entry.reason
                ),
            );
            if let Some((file, line)) = &entry.place {
                let mut place = Location::whole_file(file, file, file.clone());
                place.line = Some(*line);
                finding.locations.push(place);
            }
            finding
        })
        .collect()
}

/// Fills in each finding's sizes from the graph.
fn price(findings: &mut [Finding], graph: Option<&ClosureGraph>, costs: Option<&Costs>) {
    for finding in findings.iter_mut() {
        let Some(reference) = &finding.reference else {
            continue;
        };
        if reference.nuked {
            continue;
        }
        let known = graph.filter(|g| g.contains(&reference.hash));
        finding.size = Some(match known {
            Some(graph) => Size {
                closure_bytes: cost::path_closure_bytes(graph, &reference.hash),
                // A path the root does not reference (itself) costs nothing to cut.
                exclusive_bytes: costs
                    .filter(|c| c.closure_bytes.is_some())
                    .map(|c| c.exclusive.get(&reference.hash).copied().unwrap_or(0)),
                source: graph.source,
            },
            None => Size {
                closure_bytes: None,
                exclusive_bytes: None,
                source: SizeSource::Unknown,
            },
        });
    }
}
