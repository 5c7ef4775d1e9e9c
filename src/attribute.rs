//! Attribution: the hits of every file, grouped by the store path they name, become
//! findings. Each path is parsed into its package (with the graph's name and deriver when the
//! closure is known), and each file's places are put under the most specific rule that
//! matches there. Sizes come later ([`crate::closure::price`]); the policy later still.

use std::collections::{BTreeMap, HashSet};

use crate::closure::ClosureGraph;
use crate::inputs::Target;
use crate::model::{Anchor, Finding, Kind, Location, Reference, RuleText, Severity};
use crate::rules::{Catalogue, FileFacts, FileIndex, Place};
use crate::scan::{Hit, Outcome};
use crate::store_path::{StorePath, HASH_LEN};

/// One referenced store path, gathered over all files.
pub struct Gathered {
    rule: Kind,
    pub hash: String,
    /// The name as the first hit spelled it (the graph's name wins when known).
    name: String,
    anchors: HashSet<Anchor>,
    targets: HashSet<usize>,
    /// Its places lie in files of the store path it names (in an archive that holds store
    /// paths): a self-reference, which costs nothing.
    own: bool,
    locations: Vec<Location>,
    /// Places past `--max-locations`, counted per (target, file).
    more: BTreeMap<(String, String), u64>,
}

impl Gathered {
    /// Notes how `hit` spelled and anchored the path. Outcomes arrive in any order: the name
    /// kept is the same whatever it is (the smallest non-empty one).
    fn saw(&mut self, hit: &Hit) {
        if self.name.is_empty() || hit.name < self.name {
            self.name = hit.name.clone();
        }
        self.anchors.insert(hit.anchor);
    }

    /// The target indices it is referenced from, if it is a live reference (not nuked).
    fn live_in(&self) -> impl Iterator<Item = usize> + '_ {
        let live = self.rule != Kind::NukedReference;
        self.targets.iter().copied().filter(move |_| live)
    }
}

/// Every live reference: the target that holds it and the referenced hash.
pub fn live(gathered: &[Gathered]) -> Vec<(usize, &str)> {
    gathered
        .iter()
        .flat_map(|g| g.live_in().map(move |target| (target, g.hash.as_str())))
        .collect()
}

/// What each file with a reference is, for rules about the files findings sit in.
pub fn file_index(targets: &[Target], outcomes: &[Outcome]) -> FileIndex {
    outcomes
        .iter()
        .filter(|o| {
            let details = o.details();
            o.read && (details.found.iter().next().is_some() || !details.name_hits.is_empty())
        })
        .map(|o| {
            let details = o.details();
            let facts = FileFacts {
                kind: o.file_kind,
                libraries: details
                    .libraries
                    .iter()
                    .map(|l| l.library.clone())
                    .collect(),
                strings: details.rule_strings.clone(),
            };
            ((targets[o.target].given.clone(), o.rel.clone()), facts)
        })
        .collect()
}

/// What turning gathered paths into findings needs to know.
pub struct Attribution<'a> {
    pub catalogue: &'a Catalogue,
    pub files: &'a FileIndex,
    pub graph: Option<&'a ClosureGraph>,
    /// The targets' own store paths: a reference to one of them costs nothing.
    pub self_hashes: &'a HashSet<&'a str>,
    pub store_dir: &'a str,
}

/// Whether a hit in an entry names the store path the entry itself lies in (by hash): only
/// an archive that holds store paths knows (see [`crate::closure::image::Owners`]).
pub type OwnPath<'a> = &'a dyn Fn(&Outcome, &str) -> bool;

/// Groups the hits of every file by referenced path (and apart, the places where a path
/// names itself: `own`).
pub fn gather(targets: &[Target], outcomes: &[Outcome], own: OwnPath) -> Vec<Gathered> {
    let mut by_path: BTreeMap<(Kind, String, bool), Gathered> = BTreeMap::new();
    for outcome in outcomes {
        let details = outcome.details();
        for (rule, key, hits, more) in details.found.iter() {
            let is_own = own(outcome, key.get(..HASH_LEN).unwrap_or(key));
            for hit in hits {
                let place = details.places.get(&hit.offset).cloned().unwrap_or_default();
                // A path in the interpreter or search path is a fault of its own.
                let rule = if place.dynamic.is_some() && rule == Kind::StoreReference {
                    Kind::DynamicLinkage
                } else {
                    rule
                };
                let gathered = slot(&mut by_path, (rule, key, is_own), outcome.target);
                gathered.saw(hit);
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
                    layer: None,
                });
            }
            if more > 0 {
                let file = (targets[outcome.target].given.clone(), outcome.rel.clone());
                *slot(&mut by_path, (rule, key, is_own), outcome.target)
                    .more
                    .entry(file)
                    .or_default() += more;
            }
        }
        for hit in &details.name_hits {
            let key = hit.reference_key();
            let is_own = own(outcome, &hit.hash);
            let gathered = slot(
                &mut by_path,
                (Kind::StoreReference, &key, is_own),
                outcome.target,
            );
            gathered.saw(hit);
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
                layer: None,
            });
        }
    }
    by_path.into_values().collect()
}

/// The gathered entry of one (rule, path, own), created on first use.
fn slot<'m>(
    by_path: &'m mut BTreeMap<(Kind, String, bool), Gathered>,
    (rule, key, own): (Kind, &str, bool),
    target: usize,
) -> &'m mut Gathered {
    let gathered = by_path
        .entry((rule, key.to_string(), own))
        .or_insert_with(|| Gathered {
            rule,
            // A key starts with the 32 characters of the hash.
            hash: key.get(..HASH_LEN).unwrap_or(key).to_string(),
            name: String::new(),
            anchors: HashSet::new(),
            targets: HashSet::new(),
            own,
            locations: Vec::new(),
            more: BTreeMap::new(),
        });
    gathered.targets.insert(target);
    gathered
}

/// Turns one gathered path into its findings, one per rule its places fall under (sizes
/// come later).
pub fn findings_of(gathered: Gathered, with: &Attribution) -> Vec<Finding> {
    let Attribution {
        catalogue,
        files,
        graph,
        self_hashes,
        store_dir,
    } = *with;
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
    let audited = self_hashes.contains(gathered.hash.as_str());
    let itself = (audited || gathered.own) && !nuked;
    if itself {
        severity = Severity::Info;
        message = if audited {
            format!("refers to the audited output itself ({name}): costs nothing")
        } else {
            format!("refers to its own store path ({name}): costs nothing")
        };
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
            // A rule pack's rule names the finding, with its own severity and fix; else the
            // kind's, as adjusted above.
            let mut finding = match rule {
                Some(rule) => {
                    Finding::new(gathered.rule, rule, message.clone(), &reference.store_path)
                }
                None => {
                    let mut finding = Finding::new(gathered.rule, text, message.clone(), "");
                    finding.severity = severity;
                    finding.fix = fix.clone();
                    finding
                }
            }
            .at(locations);
            finding.reference = Some(reference.clone());
            finding.more_locations = more_locations;
            if itself {
                finding.severity = Severity::Info;
                finding.fix = None;
            }
            finding
        })
        .collect()
}
