//! Process images: which parts of which libraries each executable ends up with, and how many
//! copies of each part.
//!
//! For every executable in the audited tree, the needed libraries are resolved as glibc's
//! loader would: RPATH or RUNPATH with `$ORIGIN`, inside the tree and in store paths that
//! exist on disk, breadth first, and one object per name — a name an object was already
//! loaded under (its soname, or the needed name) is never opened again, whatever RUNPATH the
//! next requester has; only a needed name with a slash is opened as a path. Every object of
//! the image then holds parts of libraries ([`crate::libraries`]): a shared copy when the
//! object *is* the part (one of its sonames, or its symbols defined with a shared build's
//! version), a static copy when its defined symbols or implementation strings show the part
//! linked in.
//!
//! One part twice is the fault: `mixed-linkage` when one build is both linked in and loaded,
//! `duplicate-library` for two builds (flavours), two shared copies or two static ones. Two
//! parts of one library (libssl and libcrypto) are the normal case. Allocator parts of two
//! libraries are `duplicate-allocator`; an executable expected to be static that is not is
//! `not-static`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};

mod diags;

use diags::{Allocators, Copies, NotStatic};

use crate::inputs::Target;
use crate::libraries::PartId;
use crate::model::{Evidence, Finding, Kind, Linkage, Location};
use crate::rules::Catalogue;
use crate::scan::{self, Outcome, ScanBuffer, Tools};

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

/// Finds every linkage fault of the audited executables. `on_disk`: whether a needed
/// library may be looked for in store paths on this machine; an archive's executables
/// (issue 14) see only what the archive holds.
pub fn analyse(
    catalogue: &Catalogue,
    tools: &Tools,
    targets: &[Target],
    outcomes: &[Outcome],
    expect_static: bool,
    on_disk: bool,
) -> Analysis {
    let mut resolver = Resolver::new(tools, outcomes, on_disk);
    let executables: Vec<usize> = (0..outcomes.len())
        .filter(|&i| {
            outcomes[i]
                .details()
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
        if let (true, Some(facts)) = (expect_static, &outcome.details().elf) {
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
        findings.extend(faults(catalogue, tools, &copies, &location));
    }
    Analysis { findings, cut }
}

/// The findings about the copies of parts in one image.
fn faults(
    catalogue: &Catalogue,
    tools: &Tools,
    copies: &[(PartId, Evidence)],
    location: &Location,
) -> Vec<Finding> {
    let mut by_part: BTreeMap<PartId, Vec<&Evidence>> = BTreeMap::new();
    for (part, copy) in copies {
        by_part.entry(*part).or_default().push(copy);
    }
    let mut findings = Vec::new();
    for (&part, copies) in &by_part {
        if copies.len() < 2 {
            continue;
        }
        let builds: BTreeSet<&str> = copies.iter().filter_map(|c| c.flavour.as_deref()).collect();
        let statics = copies
            .iter()
            .filter(|c| c.linkage == Linkage::Static)
            .count();
        let kind = if builds.len() < 2 && statics > 0 && statics < copies.len() {
            Kind::MixedLinkage
        } else {
            Kind::DuplicateLibrary
        };
        let library = tools.signatures.library_of(part);
        findings.push(Finding::from(Copies {
            kind,
            rule: catalogue.get(kind),
            library: &library.id,
            part: &tools.signatures.part(part).id,
            // The library's own advice is more precise than the rule's.
            fix: library.fix.clone(),
            executable: location.clone(),
            copies: copies.iter().map(|&c| c.clone()).collect(),
        }));
    }
    let allocators: BTreeSet<usize> = by_part
        .keys()
        .filter(|&&part| tools.signatures.part(part).allocator)
        .map(|part| part.library)
        .collect();
    if allocators.len() >= 2 {
        let names: Vec<&str> = allocators
            .iter()
            .map(|&l| {
                tools
                    .signatures
                    .library_of(PartId {
                        library: l,
                        part: 0,
                    })
                    .id
                    .as_str()
            })
            .collect();
        findings.push(Finding::from(Allocators {
            rule: catalogue.get(Kind::DuplicateAllocator),
            allocators: names,
            executable: location.clone(),
            copies: copies
                .iter()
                .filter(|(part, _)| tools.signatures.part(*part).allocator)
                .map(|(_, copy)| copy.clone())
                .collect(),
        }));
    }
    findings
}

/// `path` with `.` and `..` taken out, without touching the disk (as the loader joins
/// `$ORIGIN/../lib` and a name).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolves needed names to objects and remembers what it read outside the tree.
struct Resolver<'a> {
    tools: &'a Tools<'a>,
    outcomes: &'a [Outcome],
    by_path: HashMap<&'a Path, usize>,
    by_name: HashMap<String, Vec<usize>>,
    outside: HashMap<PathBuf, Outcome>,
    /// Whether store paths on disk may be read.
    on_disk: bool,
}

impl<'a> Resolver<'a> {
    fn new(tools: &'a Tools<'a>, outcomes: &'a [Outcome], on_disk: bool) -> Resolver<'a> {
        let mut by_path = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            let details = outcome.details();
            let (Some(path), Some(elf)) = (&details.path, &details.elf) else {
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
            on_disk,
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

    /// The path the loader opened an object by.
    fn path_of<'b>(&'b self, object: &'b Object) -> Option<&'b Path> {
        match object {
            Object::InTree(i) => self.outcomes.get(*i)?.details().path.as_deref(),
            Object::OnDisk(path) => Some(path),
            Object::Unresolved(_) => None,
        }
    }

    /// Where the loader would find `name` for `requester`.
    fn resolve(&mut self, name: &str, requester: &Object) -> Object {
        if let Some(outcome) = self.outcome(requester) {
            let facts = outcome.details().elf.as_ref();
            let origin = self
                .path_of(requester)
                .and_then(Path::parent)
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
            // A name with a slash is a path, opened as it is; any other is looked for in the
            // search path.
            let dirs = if name.contains('/') {
                vec![String::new()]
            } else {
                dirs
            };
            for dir in dirs {
                let dir = match &origin {
                    Some(origin) => dir
                        .replace("${ORIGIN}", &origin.to_string_lossy())
                        .replace("$ORIGIN", &origin.to_string_lossy()),
                    None => dir,
                };
                let candidate = lexical(&Path::new(&dir).join(name));
                if let Some(&i) = self.by_path.get(candidate.as_path()) {
                    return Object::InTree(i);
                }
                let in_store = candidate.starts_with(format!("{}/", self.tools.store_dir));
                if in_store && self.on_disk && candidate.is_file() {
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
            let rel = path.to_string_lossy().into_owned();
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            let outcome = scan::scan_file(self.tools, rel, &canonical, &mut ScanBuffer::default());
            self.outside.insert(path.clone(), outcome);
        }
        Object::OnDisk(path)
    }

    /// Every copy of every part of a known library in the image of executable `exe`, and
    /// whether the whole image was followed (false past `max_image_objects`).
    fn copies(&mut self, exe: usize) -> (Vec<(PartId, Evidence)>, bool) {
        let max_objects = self.tools.limits.max_image_objects;
        let mut complete = true;
        let mut copies = BTreeSet::new();
        let mut seen = BTreeSet::from([Object::InTree(exe)]);
        // The names objects were loaded under: the loader opens no name twice.
        let mut loaded: HashMap<String, Object> = HashMap::new();
        if let Some(soname) = self.outcomes[exe]
            .details()
            .elf
            .as_ref()
            .and_then(|e| e.soname.clone())
        {
            loaded.insert(soname, Object::InTree(exe));
        }
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
            let outcome = self.outcome(&object);
            let needed = outcome
                .and_then(|o| o.details().elf.as_ref())
                .map(|e| e.needed.clone())
                .unwrap_or_default();
            // Its names: its soname, and the name it was needed by.
            let own_names: Vec<String> = outcome
                .and_then(|o| o.details().elf.as_ref())
                .and_then(|e| e.soname.clone())
                .into_iter()
                .chain(chain.last().cloned())
                .collect();
            // The file when it was found, else the name it was needed by.
            let shown = match outcome {
                Some(o) => o.rel.clone(),
                None => own_names.last().cloned().unwrap_or_default(),
            };
            let copy = |part: &str, library: &str| Evidence {
                library: library.to_string(),
                part: part.to_string(),
                flavour: None,
                linkage: Linkage::Shared,
                object: shown.clone(),
                needed_via: needed_via.clone(),
                soname: None,
                versioned: Vec::new(),
                symbols: Vec::new(),
                strings: Vec::new(),
            };
            // The parts it is, by any of its names.
            let mut itself: BTreeMap<PartId, Evidence> = BTreeMap::new();
            for name in &own_names {
                for (part, flavour) in self.tools.signatures.by_soname(name) {
                    let library = &self.tools.signatures.library_of(part).id;
                    let entry = itself
                        .entry(part)
                        .or_insert_with(|| copy(&self.tools.signatures.part(part).id, library));
                    entry.soname.get_or_insert_with(|| name.clone());
                    if entry.flavour.is_none() {
                        entry.flavour = flavour.map(str::to_string);
                    }
                }
            }
            for identity in outcome
                .map(|o| o.details().libraries.clone())
                .unwrap_or_default()
            {
                let Some(part) = self
                    .tools
                    .signatures
                    .find_part(&identity.library, &identity.part)
                else {
                    continue;
                };
                // A part it is by name, or by a shared build's symbol versions, is its shared
                // copy; anything else shown in it is a copy linked in.
                let shared = itself.contains_key(&part) || !identity.versioned.is_empty();
                let entry = itself.entry(part).or_insert_with(|| {
                    let mut evidence = copy(&identity.part, &identity.library);
                    if !shared {
                        evidence.linkage = Linkage::Static;
                    }
                    evidence
                });
                if entry.flavour.is_none() {
                    entry.flavour = identity.flavour.clone();
                }
                entry.versioned = identity.versioned;
                entry.symbols = identity.symbols;
                entry.strings = identity.strings;
            }
            copies.extend(itself);
            for name in needed {
                let next = match loaded.get(&name) {
                    Some(already) if !name.contains('/') => already.clone(),
                    _ => self.resolve(&name, &object),
                };
                if seen.contains(&next) {
                    continue;
                }
                if seen.len() >= max_objects {
                    complete = false;
                    break;
                }
                seen.insert(next.clone());
                if !name.contains('/') {
                    loaded.insert(name.clone(), next.clone());
                }
                if let Some(soname) = self
                    .outcome(&next)
                    .and_then(|o| o.details().elf.as_ref())
                    .and_then(|e| e.soname.clone())
                {
                    loaded.entry(soname).or_insert_with(|| next.clone());
                }
                let mut chain = chain.clone();
                chain.push(name);
                queue.push_back((next, chain));
            }
        }
        (copies.into_iter().collect(), complete)
    }
}
