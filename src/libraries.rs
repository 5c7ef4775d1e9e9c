//! Library identities: recognising the parts of a library inside a binary.
//!
//! The signatures are data, `rules/libraries.toml` (embedded at build time; its header says
//! what each field means and on which real binaries each item was verified). A library has
//! parts (OpenSSL: libcrypto and libssl), and a part has flavours, its different builds
//! (jemalloc with a `_rjem_` or `je_` prefix, OpenSSL 3 and 1.1). This module compiles every
//! item once into one aho-corasick automaton per area that the scan runs over the bytes of
//! each ELF file, says which symbol names are worth looking up in its symbol tables, and turns
//! what was found into [`Identity`]s. It does not decide whether two copies are a fault: that
//! is [`crate::checks::linkage`].
//!
//! Only implementation evidence counts (issue 11): symbols the file *defines*, whole strings
//! and data that only the implementation carries, sonames, and the symbol versions a shared
//! build defines its symbols with. A version banner, an error message or an imported symbol
//! never does.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{Context, Result};
use serde::Deserialize;

use crate::model::Identity;

/// The built-in signatures.
const BUILTIN: &str = include_str!("../rules/libraries.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    library: Vec<LibraryFile>,
}

/// A `[[library]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryFile {
    id: String,
    fix: String,
    part: Vec<PartFile>,
}

/// A `[[library.part]]` or `[[library.part.flavour]]` as written: an id, the items that show
/// it (see [`Items`]), and for a part whether it is an allocator and its flavours.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartFile {
    id: String,
    #[serde(default)]
    allocator: bool,
    #[serde(default)]
    sonames: Vec<String>,
    #[serde(default)]
    symbols: Vec<String>,
    #[serde(default)]
    strings: Vec<String>,
    #[serde(default)]
    substrings: Vec<String>,
    #[serde(default)]
    symbol_versions: Vec<String>,
    #[serde(default)]
    flavour: Vec<PartFile>,
}

impl PartFile {
    fn items(&self) -> Items {
        Items {
            sonames: self.sonames.clone(),
            symbols: self.symbols.clone(),
            strings: self.strings.clone(),
            substrings: self.substrings.clone(),
            symbol_versions: self.symbol_versions.clone(),
        }
    }
}

/// One library, its parts and what to do about two copies.
#[derive(Debug, Clone)]
pub struct Library {
    pub id: String,
    pub fix: String,
    pub part: Vec<Part>,
}

/// What shows a part, or one flavour of it, in a binary.
#[derive(Debug, Clone, Default)]
pub struct Items {
    /// Names that load it dynamically (`DT_NEEDED`, or the file's own `DT_SONAME`).
    pub sonames: Vec<String>,
    /// Names a file that holds it *defines*.
    symbols: Vec<String>,
    /// Whole C strings (a NUL on both sides) only its implementation carries.
    strings: Vec<String>,
    /// Implementation data anywhere (zlib's copyright arrays).
    substrings: Vec<String>,
    /// Version nodes a shared build defines its symbols with (`name@@NODE`).
    symbol_versions: Vec<String>,
}

/// One part of a library: a unit that is either once or twice in a process.
#[derive(Debug, Clone)]
pub struct Part {
    pub id: String,
    /// A malloc replacement: two of different libraries in one process are a fault of their
    /// own.
    pub allocator: bool,
    items: Items,
    flavour: Vec<Flavour>,
}

/// One build of a part whose items differ from the others'.
#[derive(Debug, Clone)]
struct Flavour {
    id: String,
    items: Items,
}

impl From<LibraryFile> for Library {
    fn from(file: LibraryFile) -> Library {
        Library {
            id: file.id,
            fix: file.fix,
            part: file
                .part
                .iter()
                .map(|part| Part {
                    id: part.id.clone(),
                    allocator: part.allocator,
                    items: part.items(),
                    flavour: part
                        .flavour
                        .iter()
                        .map(|f| Flavour {
                            id: f.id.clone(),
                            items: f.items(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// What a pattern of the automaton stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A symbol name, seen in a string table; confirmed later in the symbol tables.
    Symbol,
    /// A whole C string.
    String,
    /// Text anywhere.
    Substring,
}

/// The patterns a file's bytes matched (indices into the automaton's patterns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found(BTreeSet<usize>);

impl Found {
    pub fn merge(&mut self, other: Found) {
        self.0.extend(other.0);
    }
}

/// Where in a binary a pattern is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// String tables, where symbol names are.
    Names,
    /// Loaded data, where a program's strings are.
    Data,
}

/// One automaton over the patterns of one area.
#[derive(Debug, Clone)]
struct Searcher {
    automaton: AhoCorasick,
    /// The index in [`Signatures::patterns`] of each of its patterns.
    patterns: Vec<usize>,
}

impl Searcher {
    /// An automaton over the patterns of `kinds`. Leftmost-longest, so that
    /// "_RJEM_MALLOC_CONF" is found whole, not as "MALLOC_CONF" inside it.
    fn new(patterns: &[(Kind, String)], kinds: &[Kind]) -> Result<Searcher> {
        let chosen: Vec<usize> = (0..patterns.len())
            .filter(|&i| kinds.contains(&patterns[i].0))
            .collect();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(chosen.iter().map(|&i| &patterns[i].1))?;
        Ok(Searcher {
            automaton,
            patterns: chosen,
        })
    }
}

/// A part as the linkage check knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartId {
    pub library: usize,
    pub part: usize,
}

/// The compiled signatures, shared by reference across workers.
#[derive(Debug, Clone)]
pub struct Signatures {
    libraries: Vec<Library>,
    /// Per pattern: its kind and text.
    patterns: Vec<(Kind, String)>,
    names: Searcher,
    data: Searcher,
    longest: usize,
    /// Soname → the parts it loads, and the flavour when a flavour names it.
    sonames: HashMap<String, Vec<(PartId, Option<usize>)>>,
}

impl Signatures {
    /// The signatures of `rules/libraries.toml`.
    pub fn builtin() -> Result<Signatures> {
        Signatures::parse(BUILTIN).context("rules/libraries.toml")
    }

    /// Compiles signatures from TOML text.
    pub fn parse(text: &str) -> Result<Signatures> {
        let file: SignatureFile = toml::from_str(text)?;
        let libraries: Vec<Library> = file.library.into_iter().map(Library::from).collect();
        let mut patterns: Vec<(Kind, String)> = Vec::new();
        let mut sonames: HashMap<String, Vec<(PartId, Option<usize>)>> = HashMap::new();
        for (l, library) in libraries.iter().enumerate() {
            for (p, part) in library.part.iter().enumerate() {
                let id = PartId {
                    library: l,
                    part: p,
                };
                let all = std::iter::once((None, &part.items)).chain(
                    part.flavour
                        .iter()
                        .enumerate()
                        .map(|(f, fl)| (Some(f), &fl.items)),
                );
                for (flavour, items) in all {
                    let texts = [
                        (Kind::Symbol, &items.symbols),
                        (Kind::String, &items.strings),
                        (Kind::Substring, &items.substrings),
                    ];
                    for (kind, list) in texts {
                        for text in list {
                            if text.is_empty() || text.len() + 2 > crate::scan::CONTEXT {
                                anyhow::bail!(
                                    "library {} part {}: {text:?} must be 1 to {} bytes long",
                                    library.id,
                                    part.id,
                                    crate::scan::CONTEXT - 2
                                );
                            }
                            if !patterns.iter().any(|(k, t)| *k == kind && t == text) {
                                patterns.push((kind, text.clone()));
                            }
                        }
                    }
                    for soname in &items.sonames {
                        sonames
                            .entry(soname.clone())
                            .or_default()
                            .push((id, flavour));
                    }
                }
            }
        }
        Ok(Signatures {
            longest: patterns.iter().map(|(_, t)| t.len()).max().unwrap_or(0),
            libraries,
            names: Searcher::new(&patterns, &[Kind::Symbol])?,
            data: Searcher::new(&patterns, &[Kind::String, Kind::Substring])?,
            patterns,
            sonames,
        })
    }

    /// Records the patterns of `area` that start inside `owned` of `buf` (with whole-string
    /// patterns checked for a NUL or the edge of the buffer on both sides).
    pub fn search(&self, area: Area, buf: &[u8], owned: Range<usize>, found: &mut Found) {
        let searcher = match area {
            Area::Names => &self.names,
            Area::Data => &self.data,
        };
        let from = owned.start.saturating_sub(1);
        let to = owned.end.saturating_add(self.longest + 1).min(buf.len());
        if from >= to {
            return;
        }
        for m in searcher.automaton.find_iter(&buf[from..to]) {
            let start = from + m.start();
            let end = from + m.end();
            if !owned.contains(&start) {
                continue;
            }
            let index = searcher.patterns[m.pattern().as_usize()];
            let whole = start.checked_sub(1).is_none_or(|b| buf[b] == 0)
                && buf.get(end).is_none_or(|&b| b == 0);
            if self.patterns[index].0 == Kind::Substring || whole {
                found.0.insert(index);
            }
        }
    }

    /// The symbol names seen in a file's bytes: the ones to confirm in its symbol tables.
    pub fn symbols_to_check<'a>(&'a self, found: &Found) -> HashSet<&'a str> {
        found
            .0
            .iter()
            .filter(|&&i| self.patterns[i].0 == Kind::Symbol)
            .map(|&i| self.patterns[i].1.as_str())
            .collect()
    }

    /// The parts a file holds, from the strings it matched, the symbols it defines, and the
    /// version each of those is defined with in its dynamic symbols (`versions`: symbol →
    /// version node, for the default `@@` versions only).
    pub fn identify(
        &self,
        found: &Found,
        defined: &HashSet<String>,
        versions: &HashMap<String, String>,
    ) -> Vec<Identity> {
        let strings: HashSet<&str> = found
            .0
            .iter()
            .filter(|&&i| self.patterns[i].0 != Kind::Symbol)
            .map(|&i| self.patterns[i].1.as_str())
            .collect();
        let shown = |items: &Items| -> (Vec<String>, Vec<String>) {
            let symbols = items
                .symbols
                .iter()
                .filter(|s| defined.contains(*s))
                .cloned()
                .collect();
            let texts = items
                .strings
                .iter()
                .chain(&items.substrings)
                .filter(|s| strings.contains(s.as_str()))
                .cloned()
                .collect();
            (symbols, texts)
        };
        let mut identities = Vec::new();
        for library in &self.libraries {
            for part in &library.part {
                let (mut symbols, mut texts) = shown(&part.items);
                // The flavour whose own items show, else the one whose symbol versions do.
                let mut flavour = None;
                for candidate in &part.flavour {
                    let (own_symbols, own_texts) = shown(&candidate.items);
                    if !own_symbols.is_empty() || !own_texts.is_empty() {
                        flavour.get_or_insert_with(|| candidate.id.clone());
                    }
                    symbols.extend(own_symbols);
                    texts.extend(own_texts);
                }
                if symbols.is_empty() && texts.is_empty() {
                    continue;
                }
                // In the order the signatures list them, once each.
                let mut listed = HashSet::new();
                symbols.retain(|s| listed.insert(s.clone()));
                texts.retain(|s| listed.insert(s.clone()));
                // A shared build defines the part's symbols `@@` its version node.
                let mut versioned = Vec::new();
                for symbol in &symbols {
                    let Some(node) = versions.get(symbol) else {
                        continue;
                    };
                    if let Some(built) = part
                        .flavour
                        .iter()
                        .find(|f| f.items.symbol_versions.contains(node))
                    {
                        versioned.push(format!("{symbol}@@{node}"));
                        flavour = Some(built.id.clone());
                    }
                }
                identities.push(Identity {
                    library: library.id.clone(),
                    part: part.id.clone(),
                    flavour,
                    versioned,
                    symbols,
                    strings: texts,
                });
            }
        }
        identities
    }

    /// The parts a shared-object name loads, each with its flavour when a flavour's soname
    /// it is.
    pub fn by_soname(&self, soname: &str) -> impl Iterator<Item = (PartId, Option<&str>)> + '_ {
        self.sonames
            .get(soname)
            .into_iter()
            .flatten()
            .map(|&(id, flavour)| {
                let flavour = flavour.map(|f| self.part(id).flavour[f].id.as_str());
                (id, flavour)
            })
    }

    /// The part with these indices.
    pub fn part(&self, id: PartId) -> &Part {
        &self.libraries[id.library].part[id.part]
    }

    /// The library a part belongs to.
    pub fn library_of(&self, id: PartId) -> &Library {
        &self.libraries[id.library]
    }

    /// The part with these ids.
    pub fn find_part(&self, library: &str, part: &str) -> Option<PartId> {
        let l = self.libraries.iter().position(|l| l.id == library)?;
        let p = self.libraries[l].part.iter().position(|p| p.id == part)?;
        Some(PartId {
            library: l,
            part: p,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found_in(signatures: &Signatures, bytes: &[u8]) -> Vec<String> {
        let mut found = Found::default();
        for area in [Area::Names, Area::Data] {
            signatures.search(area, bytes, 0..bytes.len(), &mut found);
        }
        found
            .0
            .iter()
            .map(|&i| signatures.patterns[i].1.clone())
            .collect()
    }

    #[test]
    fn the_builtin_signatures_load() {
        let signatures = Signatures::builtin().expect("builtin signatures");
        let ids: Vec<&str> = signatures.libraries.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            ["openssl", "jemalloc", "mimalloc", "tcmalloc", "liburing", "zlib"]
        );
        let loaded = |soname: &str| -> Vec<(String, Option<String>)> {
            signatures
                .by_soname(soname)
                .map(|(id, f)| (signatures.part(id).id.clone(), f.map(str::to_string)))
                .collect()
        };
        assert_eq!(
            loaded("libjemalloc.so.2"),
            [("jemalloc".to_string(), Some("unprefixed".to_string()))]
        );
        assert_eq!(
            loaded("libcrypto.so.3"),
            [("libcrypto".to_string(), Some("3".to_string()))]
        );
        // One file, two parts: the allocator and the profiler of gperftools.
        assert_eq!(loaded("libtcmalloc_and_profiler.so.4").len(), 2);
        assert!(loaded("libssl3.so").is_empty(), "NSS, not OpenSSL");
    }

    #[test]
    fn whole_strings_need_a_nul_on_each_side() {
        let signatures = Signatures::builtin().expect("builtin signatures");
        assert_eq!(
            found_in(&signatures, b"\0_RJEM_MALLOC_CONF\0"),
            ["_RJEM_MALLOC_CONF"]
        );
        assert_eq!(found_in(&signatures, b"\0MALLOC_CONF\0"), ["MALLOC_CONF"]);
        assert!(found_in(&signatures, b"the value of MALLOC_CONF is").is_empty());
        assert_eq!(
            found_in(&signatures, b"xx deflate 1.2.13 Copyright"),
            [" deflate 1."]
        );
        // A version banner is no evidence at all.
        assert!(found_in(&signatures, b"\0OpenSSL 3.0.19 27 Jan 2026\0").is_empty());
    }

    #[test]
    fn matches_across_region_edges_are_owned_by_one_region() {
        let signatures = Signatures::builtin().expect("builtin signatures");
        let bytes = b"\0\0\0\0_RJEM_MALLOC_CONF\0\0\0";
        let mut first = Found::default();
        let mut second = Found::default();
        signatures.search(Area::Data, bytes, 0..4, &mut first);
        signatures.search(Area::Data, bytes, 4..bytes.len(), &mut second);
        assert_eq!(first, Found::default());
        assert_ne!(second, Found::default());
    }

    #[test]
    fn identities_need_defined_symbols_or_strings_and_versions_tell_the_build() {
        let signatures = Signatures::builtin().expect("builtin signatures");
        let mut found = Found::default();
        let names = b"\0_rjem_mallocx\0io_uring_submit\0OPENSSL_init_crypto\0";
        signatures.search(Area::Names, names, 0..names.len(), &mut found);
        let wanted = signatures.symbols_to_check(&found);
        assert_eq!(
            wanted,
            HashSet::from(["_rjem_mallocx", "io_uring_submit", "OPENSSL_init_crypto"])
        );
        // Only _rjem_mallocx is defined (io_uring_submit is an import).
        let defined = HashSet::from(["_rjem_mallocx".to_string()]);
        let identities = signatures.identify(&found, &defined, &HashMap::new());
        assert_eq!(identities.len(), 1);
        let tikv = &identities[0];
        assert_eq!(
            (
                tikv.library.as_str(),
                tikv.part.as_str(),
                tikv.flavour.as_deref()
            ),
            ("jemalloc", "jemalloc", Some("tikv"))
        );
        // OPENSSL_init_crypto defined @@OPENSSL_1_1_0: a shared OpenSSL 1.1 libcrypto.
        let defined = HashSet::from(["OPENSSL_init_crypto".to_string()]);
        let versions = HashMap::from([(
            "OPENSSL_init_crypto".to_string(),
            "OPENSSL_1_1_0".to_string(),
        )]);
        let identities = signatures.identify(&found, &defined, &versions);
        assert_eq!(identities.len(), 1);
        assert_eq!(identities[0].part, "libcrypto");
        assert_eq!(identities[0].flavour.as_deref(), Some("1.1"));
        assert_eq!(
            identities[0].versioned,
            ["OPENSSL_init_crypto@@OPENSSL_1_1_0"]
        );
        // Unversioned (a static copy): no flavour is told by the symbol alone.
        let identities = signatures.identify(&found, &defined, &HashMap::new());
        assert_eq!(identities[0].flavour, None);
        assert!(identities[0].versioned.is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Signatures::parse("[[library]]\nid = \"x\"\nfix = \"y\"\nparts = []\n")
            .expect_err("typo");
        assert!(
            format!("{err:#}").contains("unknown field `parts`"),
            "{err:#}"
        );
    }
}
