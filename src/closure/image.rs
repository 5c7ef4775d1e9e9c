//! An archive as its own closure (issue 14): the store paths a NAR, tar or container image
//! holds, what each weighs and references, why each is there, and what each finding costs
//! the archive. No Nix is asked and no store is read.
//!
//! - **Store paths.** In a tar or an image, every entry `<store-dir>/<hash>-<name>` (the
//!   store directory without its leading `/`, `nix/store/…` by default) of the final
//!   filesystem is a store path; its `narSize` is summed from the listing
//!   ([`crate::archive::nar_node_bytes`]) before any contents are read. A NAR holds one
//!   store path, its own, when its file name says which (`<hash>-<name>.nar…`); its size is
//!   the NAR's length. Everything else in the archive is its *other* part.
//! - **References.** Path A references path B when a file of A (its bytes, a symlink's
//!   target or a name) holds B's hash: the hits the scan found, with every store path of
//!   the archive a candidate hash, as Nix's own scanner looks for its inputs.
//! - **Roots.** The store paths the image config's `Entrypoint` and `Cmd` name, those that
//!   files of the other part name (a customisation layer's `/bin` and `/etc` links), and a
//!   NAR's own path. Whatever no root leads to is dead weight.
//! - **Costs.** One dominator tree ([`super::cost`]) over the graph, rooted at the roots
//!   and at the dead weight's tops, gives each path the bytes the archive would lose
//!   without it. A finding about path B saves that much when its references are cut,
//!   except when the config names B itself, which keeps it, or when the reference is B's
//!   own (a self-reference), which costs nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::cost::{self, Root};
use super::{ClosureGraph, Node};
use crate::archive::{self, nar_node_bytes, Archive, ListedKind};
use crate::model::{
    ChainLink, DeadWeight, Finding, ImageLayer, ImagePath, ImageSection, Severity, Size,
    SizeSource, Via,
};
use crate::scan::{Outcome, Scanner};
use crate::store_path::{is_nuked_hash, StorePath, HASH_LEN};

/// What the closure of an archive is made from.
pub struct ArchiveFacts<'a> {
    /// The target as given.
    pub given: &'a str,
    pub archive: &'a Archive,
    /// A NAR's own store path, from its file name.
    pub nar_path: Option<&'a StorePath>,
    /// A NAR's length.
    pub nar_size: Option<u64>,
    /// The scan of its members.
    pub outcomes: &'a [Outcome],
    pub scanner: &'a Scanner,
    pub store_dir: &'a str,
}

/// Which store path of the archive a member lies in.
pub enum Owners {
    /// A NAR: all of it lies in its own store path, when that is known.
    Nar(Option<String>),
    /// A tree: members under `<prefix><hash>-<name>/`.
    Tree { prefix: String },
}

impl Owners {
    fn new(archive: &Archive, nar_path: Option<&StorePath>, store_dir: &str) -> Owners {
        match archive.format() {
            archive::Format::Nar(_) => Owners::Nar(nar_path.map(|p| p.hash().to_string())),
            _ => Owners::Tree {
                prefix: format!("{}/", store_dir.trim_start_matches('/')),
            },
        }
    }

    /// The hash of the store path the member `rel` (as a location's `file` names it) lies
    /// in, if it lies in one.
    pub fn of<'r>(&'r self, rel: &'r str) -> Option<&'r str> {
        match self {
            Owners::Nar(hash) => hash.as_deref(),
            Owners::Tree { prefix } => {
                let component = rel.strip_prefix(prefix.as_str())?.split('/').next()?;
                let (hash, name) = component.split_once('-')?;
                StorePath::new(hash, name).ok().map(|_| hash)
            }
        }
    }
}

/// One store path the archive holds.
struct Held {
    path: StorePath,
    nar_bytes: u64,
    layer: Option<usize>,
    /// Whether its own entry was listed (a tar may list only what is under it).
    listed: bool,
}

/// The archive's closure: its graph, roots and costs, and the report's `image` section.
pub struct ArchiveClosure {
    pub graph: ClosureGraph,
    pub owners: Owners,
    pub section: ImageSection,
    /// Store paths the config names (or a NAR's own): cutting references never removes them.
    config_roots: HashSet<String>,
    /// Store paths files of the other part name, with the first such file.
    file_roots: BTreeMap<String, String>,
    /// Tops of the dead weight.
    dead_tops: Vec<String>,
    other_bytes: u64,
    /// What each store path would cost the archive (its dominator subtree); `None` if the
    /// graph is not whole.
    dominated: Option<HashMap<String, u64>>,
    closure_bytes: Option<u64>,
}

impl ArchiveClosure {
    /// Builds the closure from the listing (sizes) and the scan (references).
    pub fn build(facts: ArchiveFacts<'_>) -> ArchiveClosure {
        let owners = Owners::new(facts.archive, facts.nar_path, facts.store_dir);
        let (held, other_bytes) = held_paths(&facts, &owners);
        let links = References::of(&facts, &owners, &held);

        let mut graph = ClosureGraph::new(SizeSource::Archive);
        for (hash, path) in &held {
            graph.insert(Node {
                path: path.path.clone(),
                nar_size: path.nar_bytes,
                closure_size: None,
                references: links
                    .edges
                    .get(hash)
                    .map(|to| to.keys().cloned().collect())
                    .unwrap_or_default(),
                deriver: None,
            });
        }
        let config = config_roots(&facts, &held);
        let chains = Chains::find(&graph, &held, &config, &links);
        let root = Root {
            own_bytes: Some(other_bytes),
            edges: config
                .iter()
                .map(|(hash, _)| hash.clone())
                .chain(links.file_roots.keys().cloned())
                .chain(chains.dead_tops.iter().cloned())
                .collect(),
        };
        let dominated = cost::dominated(&graph, &root);
        let closure_bytes = cost::costs(&graph, &root).closure_bytes;
        let store_bytes: u64 = held.values().map(|h| h.nar_bytes).sum();

        let mut paths: Vec<ImagePath> = held
            .iter()
            .map(|(hash, h)| ImagePath {
                store_path: h.path.to_path_string(facts.store_dir),
                nar_bytes: h.nar_bytes,
                closure_bytes: cost::path_closure_bytes(&graph, hash).unwrap_or(h.nar_bytes),
                exclusive_bytes: dominated
                    .as_ref()
                    .and_then(|d| d.get(hash).copied())
                    .unwrap_or(h.nar_bytes),
                layer: h.layer,
                reached: !chains.dead.contains(hash),
                chain: chains.chain_of(hash, &held, facts.store_dir),
            })
            .collect();
        paths.sort_by(|a, b| {
            (b.exclusive_bytes, b.nar_bytes, &a.store_path).cmp(&(
                a.exclusive_bytes,
                a.nar_bytes,
                &b.store_path,
            ))
        });
        let unreferenced: Vec<String> = chains
            .dead_tops
            .iter()
            .filter(|hash| !links.referenced.contains(hash.as_str()))
            .map(|hash| held[hash].path.to_path_string(facts.store_dir))
            .collect();
        let dead_weight = DeadWeight {
            bytes: chains.dead.iter().map(|hash| held[hash].nar_bytes).sum(),
            unreferenced,
        };
        let section = section_of(&facts, other_bytes, store_bytes, paths, dead_weight, &links);
        ArchiveClosure {
            graph,
            owners,
            section,
            config_roots: config.into_iter().map(|(hash, _)| hash).collect(),
            file_roots: links.file_roots,
            dead_tops: chains.dead_tops,
            other_bytes,
            dominated,
            closure_bytes,
        }
    }

    /// The hashes the scanner should find anywhere: the store paths the archive holds.
    pub fn candidates(
        archive: &Archive,
        nar_path: Option<&StorePath>,
        store_dir: &str,
    ) -> Vec<String> {
        let owners = Owners::new(archive, nar_path, store_dir);
        match (&owners, archive.listing()) {
            (Owners::Tree { .. }, Some(listing)) => {
                let mut hashes: Vec<String> = listing
                    .filter_map(|listed| {
                        let rel = String::from_utf8_lossy(listed.path);
                        owners.of(&rel).map(str::to_string)
                    })
                    .collect();
                hashes.sort();
                hashes.dedup();
                hashes
            }
            _ => nar_path.map(|p| p.hash().to_string()).into_iter().collect(),
        }
    }

    /// Everything the archive holds, in NAR bytes.
    pub fn closure_bytes(&self) -> Option<u64> {
        self.closure_bytes
    }

    /// Puts on each finding what its path costs the archive.
    pub fn price(&self, findings: &mut [Finding]) {
        for finding in findings.iter_mut() {
            let Some(reference) = &finding.reference else {
                continue;
            };
            if reference.nuked {
                continue;
            }
            let hash = reference.hash.as_str();
            if !self.graph.contains(hash) {
                finding.size = Some(Size {
                    closure_bytes: None,
                    exclusive_bytes: None,
                    source: SizeSource::Unknown,
                });
                continue;
            }
            let own = finding
                .locations
                .iter()
                .all(|l| self.owners.of(&l.file) == Some(hash));
            let exclusive = if own || self.config_roots.contains(hash) {
                Some(0)
            } else {
                self.dominated.as_ref().and_then(|d| d.get(hash).copied())
            };
            finding.size = Some(Size {
                closure_bytes: cost::path_closure_bytes(&self.graph, hash),
                exclusive_bytes: exclusive,
                source: SizeSource::Archive,
            });
        }
    }

    /// What the archive would hold with every failing reference cut: a reference from a
    /// file of A (or of the other part) to B is cut when the failing findings about B name
    /// that file and no finding that does not fail names a file of A there too.
    pub fn without_failing(&self, findings: &[Finding]) -> Option<u64> {
        self.closure_bytes?;
        let mut cut: HashSet<(Option<&str>, &str)> = HashSet::new();
        let mut kept: HashSet<(Option<&str>, &str)> = HashSet::new();
        for finding in findings {
            let Some(reference) = finding.reference.as_ref().filter(|r| !r.nuked) else {
                continue;
            };
            for location in &finding.locations {
                let edge = (self.owners.of(&location.file), reference.hash.as_str());
                if finding.severity == Severity::Error {
                    cut.insert(edge);
                } else {
                    kept.insert(edge);
                }
            }
        }
        let cut: HashSet<(Option<&str>, &str)> = cut.difference(&kept).copied().collect();
        let mut queue: VecDeque<&str> = self
            .config_roots
            .iter()
            .map(String::as_str)
            .chain(
                self.file_roots
                    .keys()
                    .map(String::as_str)
                    .filter(|b| !cut.contains(&(None, *b))),
            )
            .chain(self.dead_tops.iter().map(String::as_str))
            .collect();
        let mut reached: HashSet<&str> = queue.iter().copied().collect();
        let mut bytes = self.other_bytes;
        while let Some(hash) = queue.pop_front() {
            let node = self.graph.get(hash)?;
            bytes += node.nar_size;
            for to in &node.references {
                if !cut.contains(&(Some(hash), to.as_str())) && reached.insert(to.as_str()) {
                    queue.push_back(to.as_str());
                }
            }
        }
        Some(bytes)
    }
}

/// The store paths the archive holds, by hash, and the NAR bytes of everything else.
fn held_paths(facts: &ArchiveFacts<'_>, owners: &Owners) -> (BTreeMap<String, Held>, u64) {
    let mut held: BTreeMap<String, Held> = BTreeMap::new();
    let root_directory = nar_node_bytes(None, &ListedKind::Directory);
    let Some(listing) = facts.archive.listing() else {
        // A NAR: one store path if its name says which, else all of it is the other part.
        let nar_size = facts.nar_size.unwrap_or(0);
        return match facts.nar_path {
            Some(path) => {
                held.insert(
                    path.hash().to_string(),
                    Held {
                        path: path.clone(),
                        nar_bytes: nar_size,
                        layer: None,
                        listed: true,
                    },
                );
                (held, 0)
            }
            None => (held, nar_size),
        };
    };
    let Owners::Tree { prefix } = owners else {
        unreachable!("a listed archive is a tree")
    };
    let mut other = root_directory;
    for listed in listing {
        let name = last_name(listed.path);
        let in_store = listed
            .path
            .strip_prefix(prefix.as_bytes())
            .and_then(|rest| {
                let (component, inner) = match rest.iter().position(|&b| b == b'/') {
                    Some(slash) => (&rest[..slash], Some(&rest[slash + 1..])),
                    None => (rest, None),
                };
                let (hash, store_name) = std::str::from_utf8(component).ok()?.split_once('-')?;
                Some((StorePath::new(hash, store_name).ok()?, inner))
            });
        match in_store {
            Some((path, inner)) => {
                let entry = held.entry(path.hash().to_string()).or_insert(Held {
                    path,
                    nar_bytes: 0,
                    layer: None,
                    listed: false,
                });
                match inner {
                    None => {
                        entry.nar_bytes += nar_node_bytes(None, listed.kind);
                        entry.layer = listed.layer;
                        entry.listed = true;
                    }
                    Some(_) => entry.nar_bytes += nar_node_bytes(Some(name), listed.kind),
                }
            }
            None => other += nar_node_bytes(Some(name), listed.kind),
        }
    }
    for entry in held.values_mut().filter(|h| !h.listed) {
        // Only its contents were listed: its directory is implied.
        entry.nar_bytes += root_directory;
    }
    (held, other)
}

fn last_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// The references the scan found, between the archive's store paths and into them.
#[derive(Default)]
struct References {
    /// From A to B (both held), with the first file of A that names B.
    edges: BTreeMap<String, BTreeMap<String, String>>,
    /// Held paths that files of the other part name, with the first such file.
    file_roots: BTreeMap<String, String>,
    /// Held paths that anything at all names (another path, a file of the other part).
    referenced: HashSet<String>,
    /// Paths named but not held, by hash, with the name they were named by.
    absent: BTreeMap<String, String>,
}

impl References {
    fn of(facts: &ArchiveFacts<'_>, owners: &Owners, held: &BTreeMap<String, Held>) -> References {
        let mut references = References::default();
        for outcome in facts.outcomes {
            let owner = owners.of(&outcome.rel);
            let details = outcome.details();
            let found = details
                .found
                .iter()
                .map(|(_, key, hits, _)| (key, hits.first().map_or("", |hit| hit.name.as_str())));
            let named = details
                .name_hits
                .iter()
                .map(|hit| (hit.hash.as_str(), hit.name.as_str()));
            for (key, name) in found.chain(named) {
                let Some(hash) = key.get(..HASH_LEN) else {
                    continue;
                };
                if is_nuked_hash(hash.as_bytes()) || owner == Some(hash) {
                    continue;
                }
                if !held.contains_key(hash) {
                    let known = references.absent.entry(hash.to_string()).or_default();
                    if known.is_empty() || (!name.is_empty() && name < known.as_str()) {
                        *known = name.to_string();
                    }
                    continue;
                }
                references.referenced.insert(hash.to_string());
                let first = match owner {
                    Some(from) => references
                        .edges
                        .entry(from.to_string())
                        .or_default()
                        .entry(hash.to_string())
                        .or_insert_with(|| outcome.rel.clone()),
                    None => references
                        .file_roots
                        .entry(hash.to_string())
                        .or_insert_with(|| outcome.rel.clone()),
                };
                if outcome.rel < *first {
                    *first = outcome.rel.clone();
                }
            }
        }
        references
    }
}

/// The held store paths the image config names (`Entrypoint`, then `Cmd`), or a NAR's own
/// path, in that order, each once.
fn config_roots(facts: &ArchiveFacts<'_>, held: &BTreeMap<String, Held>) -> Vec<(String, Via)> {
    let mut roots: Vec<(String, Via)> = Vec::new();
    if let Some(path) = facts.nar_path {
        roots.push((path.hash().to_string(), Via::Archive));
    }
    if let Some(image) = facts.archive.image() {
        let words = image
            .entrypoint
            .iter()
            .map(|w| (w, Via::Entrypoint))
            .chain(image.cmd.iter().map(|w| (w, Via::Cmd)));
        for (word, via) in words {
            for hit in facts.scanner.scan_bytes(word.as_bytes()) {
                if held.contains_key(&hit.hash) && !roots.iter().any(|(h, _)| *h == hit.hash) {
                    roots.push((hit.hash, via));
                }
            }
        }
    }
    roots
}

/// Why each held path is there: the first way a breadth-first walk from the roots reaches
/// it, so each chain is a shortest one.
struct Chains {
    /// Each reached path: the path it was reached from (none for a root), how, and the
    /// file that names it.
    parent: HashMap<String, (Option<String>, Via, Option<String>)>,
    /// Paths no root leads to.
    dead: BTreeSet<String>,
    /// Where the walk of the dead weight started: paths nothing references first, then (in
    /// a cycle of dead paths) the smallest hash left.
    dead_tops: Vec<String>,
}

impl Chains {
    fn find(
        graph: &ClosureGraph,
        held: &BTreeMap<String, Held>,
        config: &[(String, Via)],
        links: &References,
    ) -> Chains {
        let mut chains = Chains {
            parent: HashMap::new(),
            dead: BTreeSet::new(),
            dead_tops: Vec::new(),
        };
        let roots = config
            .iter()
            .map(|(hash, via)| (hash.clone(), *via, None))
            .chain(
                links
                    .file_roots
                    .iter()
                    .map(|(hash, file)| (hash.clone(), Via::File, Some(file.clone()))),
            );
        chains.walk(graph, links, roots.collect());
        chains.dead = held
            .keys()
            .filter(|hash| !chains.parent.contains_key(*hash))
            .cloned()
            .collect();
        let unreferenced: Vec<String> = chains
            .dead
            .iter()
            .filter(|hash| !links.referenced.contains(*hash))
            .cloned()
            .collect();
        chains.dead_tops.extend(unreferenced.iter().cloned());
        chains.walk(
            graph,
            links,
            unreferenced
                .into_iter()
                .map(|hash| (hash, Via::Unreferenced, None))
                .collect(),
        );
        // Dead paths that only other dead paths reference, in a cycle: start anywhere.
        while let Some(hash) = chains
            .dead
            .iter()
            .find(|hash| !chains.parent.contains_key(*hash))
            .cloned()
        {
            chains.dead_tops.push(hash.clone());
            chains.walk(graph, links, vec![(hash, Via::Unreferenced, None)]);
        }
        chains
    }

    fn walk(
        &mut self,
        graph: &ClosureGraph,
        links: &References,
        roots: Vec<(String, Via, Option<String>)>,
    ) {
        let mut queue = VecDeque::new();
        for (hash, via, file) in roots {
            if !self.parent.contains_key(&hash) {
                self.parent.insert(hash.clone(), (None, via, file));
                queue.push_back(hash);
            }
        }
        while let Some(hash) = queue.pop_front() {
            let Some(node) = graph.get(&hash) else {
                continue;
            };
            for to in &node.references {
                if self.parent.contains_key(to) {
                    continue;
                }
                let file = links.edges.get(&hash).and_then(|e| e.get(to)).cloned();
                self.parent
                    .insert(to.clone(), (Some(hash.clone()), Via::Reference, file));
                queue.push_back(to.clone());
            }
        }
    }

    /// The chain from a root (or a dead weight's top) down to `hash`.
    fn chain_of(
        &self,
        hash: &str,
        held: &BTreeMap<String, Held>,
        store_dir: &str,
    ) -> Vec<ChainLink> {
        let mut chain = Vec::new();
        let mut at = Some(hash.to_string());
        while let Some(hash) = at {
            let Some((parent, via, file)) = self.parent.get(&hash) else {
                break;
            };
            chain.push(ChainLink {
                store_path: held[&hash].path.to_path_string(store_dir),
                via: *via,
                file: file.clone(),
            });
            at = parent.clone();
            if chain.len() > held.len() {
                break;
            }
        }
        chain.reverse();
        chain
    }
}

fn section_of(
    facts: &ArchiveFacts<'_>,
    other_bytes: u64,
    store_bytes: u64,
    paths: Vec<ImagePath>,
    dead_weight: DeadWeight,
    links: &References,
) -> ImageSection {
    let (format, compression) = match facts.archive.format() {
        archive::Format::Nar(c) => ("nar", Some(c.name())),
        archive::Format::Tar(c) => ("tar", Some(c.name())),
        archive::Format::DockerArchive(c) => ("docker-archive", Some(c.name())),
        archive::Format::OciLayout { tar } => ("oci-layout", tar.map(|c| c.name())),
    };
    let image = facts.archive.image();
    ImageSection {
        target: facts.given.to_string(),
        format,
        compression,
        store_path: facts.nar_path.map(|p| p.to_path_string(facts.store_dir)),
        repo_tags: image.map(|i| i.repo_tags.clone()).unwrap_or_default(),
        entrypoint: image.map(|i| i.entrypoint.clone()).unwrap_or_default(),
        cmd: image.map(|i| i.cmd.clone()).unwrap_or_default(),
        layers: image
            .map(|i| {
                i.layers
                    .iter()
                    .map(|l| ImageLayer {
                        blob: l.blob.clone(),
                        digest: l.digest.clone(),
                        diff_id: l.diff_id.clone(),
                        media_type: l.media_type.clone(),
                        compression: l.compression.name(),
                        stored_bytes: l.stored_bytes,
                        tar_bytes: l.tar_bytes,
                        members: l.members,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        total_bytes: other_bytes + store_bytes,
        store_bytes,
        other_bytes,
        paths,
        dead_weight,
        absent: links
            .absent
            .iter()
            .map(|(hash, name)| match name.is_empty() {
                true => format!("{}/{hash}", facts.store_dir),
                false => format!("{}/{hash}-{name}", facts.store_dir),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::resolve_targets;
    use crate::libraries::Signatures;
    use crate::model::Limits;
    use crate::progress::Progress;
    use crate::scan::Tools;

    fn store(c: char, name: &str) -> String {
        format!("nix/store/{}-{name}", c.to_string().repeat(32))
    }

    /// A tar of four store paths: a (named by the link `bin/a`) references b; c and d
    /// reference each other and nothing else references them.
    fn tar_of_four(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("four.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        let mut add = |member: String, contents: String| {
            let mut header = tar::Header::new_ustar();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, member, contents.as_bytes())
                .unwrap();
        };
        add(
            format!("{}/bin/a", store('a', "a")),
            format!("/{}/lib/b", store('b', "b")),
        );
        add(format!("{}/lib/b", store('b', "b")), "no references".into());
        add(
            format!("{}/x", store('c', "c")),
            format!("/{}", store('d', "d")),
        );
        add(
            format!("{}/y", store('d', "d")),
            format!("/{}", store('c', "c")),
        );
        let mut link = tar::Header::new_ustar();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "bin/a", format!("/{}/bin/a", store('a', "a")))
            .unwrap();
        builder.finish().unwrap();
        path
    }

    #[test]
    fn roots_chains_dead_weight_and_what_each_path_would_cost() {
        let dir = tempfile::tempdir().unwrap();
        let path = tar_of_four(dir.path());
        let mut targets = resolve_targets(&[path], "/nix/store").unwrap();
        let limits = Limits::default();
        let opened = crate::scan::archive::open(&mut targets, &limits)
            .unwrap()
            .unwrap();
        let held = ArchiveClosure::candidates(&opened.archive, None, "/nix/store");
        assert_eq!(held.len(), 4);
        let scanner = Scanner::new("/nix/store", held.iter().map(String::as_str));
        let signatures = Signatures::builtin().unwrap();
        let progress = Progress::for_stderr(false);
        let tools = Tools {
            scanner: &scanner,
            signatures: &signatures,
            file_strings: None,
            store_dir: "/nix/store",
            progress: &progress,
            lines: false,
            limits,
        };
        let scan = crate::scan::archive::scan(&tools, &targets[0], &opened, "/nix/store").unwrap();
        let closure = ArchiveClosure::build(ArchiveFacts {
            given: "four.tar",
            archive: &opened.archive,
            nar_path: None,
            nar_size: None,
            outcomes: &scan.outcomes,
            scanner: &scanner,
            store_dir: "/nix/store",
        });
        let path = |c: char| {
            closure
                .section
                .paths
                .iter()
                .find(|p| p.store_path.contains(&c.to_string().repeat(32)))
                .unwrap()
        };
        let chain = |c: char| -> Vec<(Via, Option<String>)> {
            path(c)
                .chain
                .iter()
                .map(|l| (l.via, l.file.clone()))
                .collect()
        };
        assert_eq!(chain('a'), [(Via::File, Some("bin/a".to_string()))]);
        assert_eq!(
            chain('b'),
            [
                (Via::File, Some("bin/a".to_string())),
                (Via::Reference, Some(format!("{}/bin/a", store('a', "a"))))
            ]
        );
        // c and d only reference each other: dead weight, whose walk starts at c.
        assert!(!path('c').reached && !path('d').reached);
        assert_eq!(chain('c'), [(Via::Unreferenced, None)]);
        assert_eq!(chain('d').len(), 2);
        assert!(closure.section.dead_weight.unreferenced.is_empty());
        assert_eq!(
            closure.section.dead_weight.bytes,
            path('c').nar_bytes + path('d').nar_bytes
        );
        assert_eq!(
            path('a').exclusive_bytes,
            path('a').nar_bytes + path('b').nar_bytes
        );
        assert_eq!(
            path('c').exclusive_bytes,
            path('c').nar_bytes + path('d').nar_bytes
        );
        assert_eq!(path('d').exclusive_bytes, path('d').nar_bytes);
        assert_eq!(
            closure.closure_bytes(),
            Some(closure.section.total_bytes),
            "everything the archive holds"
        );
        // A store path's own files lie in it.
        assert_eq!(
            closure.owners.of(&format!("{}/bin/a", store('a', "a"))),
            Some(&*"a".repeat(32))
        );
        assert_eq!(closure.owners.of("bin/a"), None);
        assert_eq!(closure.owners.of("nix/store/not-a-store-path/x"), None);
    }
}
