//! Process images: which libraries each executable ends up with, and how many copies.
//!
//! For every executable in the audited tree, the needed libraries are resolved as the dynamic
//! loader would (RPATH or RUNPATH with `$ORIGIN`, inside the tree, and in store paths that
//! exist on disk), transitively. Every object of that image contributes the library identities
//! its bytes showed (a static copy), and every object that *is* a library contributes a shared
//! copy, found by its contents or only by its name when it could not be read. Two copies of one
//! library are `duplicate-library` (different flavours, or two static copies) or
//! `mixed-linkage` (one build linked statically and loaded dynamically); two allocators of
//! different families are `duplicate-allocator`; and an executable that was expected to be
//! static but is not is `not-static`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

mod diags;

use diags::{Allocators, Copies, NotStatic};

use crate::inputs::Target;
use crate::model::{Evidence, Finding, Kind, Linkage, Location};
use crate::rules::Catalogue;
use crate::scan::ScanBuffer;
use crate::scan::{self, Outcome, Tools};

/// An object of a process image: a file of the tree, a file outside it, or a name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Object {
    InTree(usize),
    OnDisk(PathBuf),
    Unresolved(String),
}

/// What the linkage analysis found.
pub struct Analysis {
    pub findings: Vec<Finding>,
    /// The executables (as the report names them) whose process image had more objects
    /// than `max_image_objects`: the rest were not followed.
    pub cut: Vec<String>,
}

/// Finds every linkage fault of the audited executables.
pub fn analyse(
    catalogue: &Catalogue,
    tools: &Tools,
    targets: &[Target],
    outcomes: &[Outcome],
    expect_static: bool,
) -> Analysis {
    let mut resolver = Resolver::new(tools, outcomes);
    let executables: Vec<usize> = (0..outcomes.len())
        .filter(|&i| {
            outcomes[i]
                .elf
                .as_ref()
                .is_some_and(|e| e.kind.is_executable())
        })
        .collect();
    let (mut findings, mut cut) = (Vec::new(), Vec::new());
    for exe in executables {
        let outcome = &outcomes[exe];
        let target = &targets[outcome.target];
        let location =
            Location::whole_file(&target.given, &outcome.rel, target.path_of(&outcome.rel));
        if let (true, Some(facts)) = (expect_static, &outcome.elf) {
            if facts.interpreter.is_some() || !facts.needed.is_empty() {
                findings.push(Finding::from(NotStatic {
                    rule: catalogue.get(Kind::NotStatic),
                    facts,
                    executable: location.clone(),
                }));
            }
        }
        let (copies, complete) = resolver.copies(exe);
        if !complete {
            cut.push(location.path.clone());
        }
        findings.extend(duplicates(catalogue, tools, &copies, &location));
    }
    Analysis { findings, cut }
}

/// The findings about the copies of libraries in one image.
fn duplicates(
    catalogue: &Catalogue,
    tools: &Tools,
    copies: &[Evidence],
    location: &Location,
) -> Vec<Finding> {
    let mut by_library: BTreeMap<&str, Vec<&Evidence>> = BTreeMap::new();
    for copy in copies {
        by_library
            .entry(copy.library.as_str())
            .or_default()
            .push(copy);
    }
    let mut findings = Vec::new();
    for (library, copies) in &by_library {
        if copies.len() < 2 {
            continue;
        }
        let flavours: BTreeSet<&str> = copies.iter().map(|c| c.flavour.as_str()).collect();
        let statics = copies
            .iter()
            .filter(|c| c.linkage == Linkage::Static)
            .count();
        let mixed = flavours.len() == 1 && statics > 0 && statics < copies.len();
        let kind = if mixed {
            Kind::MixedLinkage
        } else {
            Kind::DuplicateLibrary
        };
        findings.push(Finding::from(Copies {
            kind,
            rule: catalogue.get(kind),
            library,
            fix: tools
                .signatures
                .library(library)
                .map_or_else(|| catalogue.get(kind).fix_for(""), |l| l.fix.clone()),
            executable: location.clone(),
            copies: copies.iter().map(|&c| c.clone()).collect(),
        }));
    }
    let allocators: Vec<&str> = by_library
        .keys()
        .copied()
        .filter(|id| tools.signatures.library(id).is_some_and(|l| l.allocator))
        .collect();
    if allocators.len() >= 2 {
        findings.push(Finding::from(Allocators {
            rule: catalogue.get(Kind::DuplicateAllocator),
            allocators: allocators.clone(),
            executable: location.clone(),
            copies: copies
                .iter()
                .filter(|c| allocators.contains(&c.library.as_str()))
                .cloned()
                .collect(),
        }));
    }
    findings
}

/// Resolves needed names to objects and remembers what it read outside the tree.
struct Resolver<'a> {
    tools: &'a Tools<'a>,
    outcomes: &'a [Outcome],
    by_path: HashMap<&'a Path, usize>,
    by_name: HashMap<String, Vec<usize>>,
    outside: HashMap<PathBuf, Outcome>,
}

impl<'a> Resolver<'a> {
    fn new(tools: &'a Tools<'a>, outcomes: &'a [Outcome]) -> Resolver<'a> {
        let mut by_path = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            let (Some(path), Some(elf)) = (&outcome.path, &outcome.elf) else {
                continue;
            };
            by_path.insert(path.as_path(), i);
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            for name in file_name.into_iter().chain(elf.soname.clone()) {
                by_name.entry(name).or_default().push(i);
            }
        }
        Resolver {
            tools,
            outcomes,
            by_path,
            by_name,
            outside: HashMap::new(),
        }
    }

    /// The outcome of an object that could be read.
    fn outcome(&self, object: &Object) -> Option<&Outcome> {
        match object {
            Object::InTree(i) => self.outcomes.get(*i),
            Object::OnDisk(path) => self.outside.get(path),
            Object::Unresolved(_) => None,
        }
    }

    /// Where the loader would find `name` for `requester`.
    fn resolve(&mut self, name: &str, requester: &Object) -> Object {
        if let Some(outcome) = self.outcome(requester) {
            let facts = outcome.elf.as_ref();
            let origin = outcome
                .path
                .as_ref()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf);
            let dirs: Vec<String> = facts
                .map(|f| {
                    if f.runpath.is_empty() {
                        f.rpath.clone()
                    } else {
                        f.runpath.clone()
                    }
                })
                .unwrap_or_default();
            for dir in dirs {
                let dir = match &origin {
                    Some(origin) => dir
                        .replace("${ORIGIN}", &origin.to_string_lossy())
                        .replace("$ORIGIN", &origin.to_string_lossy()),
                    None => dir,
                };
                let candidate = Path::new(&dir).join(name);
                if let Some(&i) = self.by_path.get(candidate.as_path()) {
                    return Object::InTree(i);
                }
                if dir.starts_with(&format!("{}/", self.tools.store_dir)) && candidate.is_file() {
                    return self.read_outside(candidate);
                }
            }
        }
        match self.by_name.get(name).and_then(|found| found.first()) {
            Some(&i) => Object::InTree(i),
            None => Object::Unresolved(name.to_string()),
        }
    }

    fn read_outside(&mut self, path: PathBuf) -> Object {
        if !self.outside.contains_key(&path) {
            let mut outcome = Outcome {
                rel: path.to_string_lossy().into_owned(),
                ..Outcome::default()
            };
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            scan::scan_file(
                self.tools,
                &canonical,
                &mut ScanBuffer::default(),
                &mut outcome,
            );
            outcome.path = Some(path.clone());
            self.outside.insert(path.clone(), outcome);
        }
        Object::OnDisk(path)
    }

    /// Every copy of every known library in the image of executable `exe`, and whether
    /// the whole image was followed (false past `max_image_objects`).
    fn copies(&mut self, exe: usize) -> (Vec<Evidence>, bool) {
        let max_objects = self.tools.limits.max_image_objects;
        let mut complete = true;
        let mut copies = BTreeSet::new();
        let mut seen = BTreeSet::from([Object::InTree(exe)]);
        // Each object with the chain of needed names that led to it (the last is its own).
        let mut queue = VecDeque::from([(Object::InTree(exe), Vec::<String>::new())]);
        let exe_name = self.outcomes[exe].rel.clone();
        while let Some((object, chain)) = queue.pop_front() {
            // Who needed it: the executable, then each library on the way.
            let needed_via: Vec<String> = match chain.split_last() {
                Some((_, before)) => std::iter::once(exe_name.clone())
                    .chain(before.iter().cloned())
                    .collect(),
                None => Vec::new(),
            };
            let (label, needed, libraries, own_names) = match self.outcome(&object) {
                Some(o) => (
                    o.rel.clone(),
                    o.elf.as_ref().map(|e| e.needed.clone()).unwrap_or_default(),
                    o.libraries.clone(),
                    o.elf
                        .as_ref()
                        .and_then(|e| e.soname.clone())
                        .into_iter()
                        .chain(chain.last().cloned())
                        .collect::<Vec<_>>(),
                ),
                None => (
                    String::new(),
                    Vec::new(),
                    Vec::new(),
                    chain.last().cloned().into_iter().collect(),
                ),
            };
            // The file when it was found, else the name it was needed by.
            let shown = match (label.is_empty(), own_names.last()) {
                (true, Some(name)) => name.clone(),
                _ => label.clone(),
            };
            // The library this object is, by any of its names (soname, or the needed name).
            let is = own_names
                .iter()
                .find_map(|n| self.tools.signatures.by_soname(n));
            let mut counted_as_itself = false;
            for identity in libraries {
                let itself = is.is_some_and(|(l, _)| l.id == identity.library);
                counted_as_itself |= itself;
                copies.insert(Evidence {
                    library: identity.library,
                    flavour: identity.flavour,
                    linkage: if itself {
                        Linkage::Shared
                    } else {
                        Linkage::Static
                    },
                    object: shown.clone(),
                    needed_via: needed_via.clone(),
                    symbols: identity.symbols,
                    strings: identity.strings,
                });
            }
            if let (Some((library, flavour)), false) = (is, counted_as_itself) {
                copies.insert(Evidence {
                    library: library.id.clone(),
                    flavour: flavour.id.clone(),
                    linkage: Linkage::Shared,
                    object: shown.clone(),
                    needed_via: needed_via.clone(),
                    symbols: Vec::new(),
                    strings: Vec::new(),
                });
            }
            for name in needed {
                let next = self.resolve(&name, &object);
                if seen.contains(&next) {
                    continue;
                }
                if seen.len() >= max_objects {
                    complete = false;
                    break;
                }
                seen.insert(next.clone());
                let mut chain = chain.clone();
                chain.push(name);
                queue.push_back((next, chain));
            }
        }
        (copies.into_iter().collect(), complete)
    }
}
