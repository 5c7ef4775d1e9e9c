//! Library identities: recognising a library inside a binary, statically or dynamically.
//!
//! The signatures are data, `rules/libraries.toml` (embedded at build time; its header says
//! what each field means). This module compiles them once into one aho-corasick automaton that
//! the scan runs over the bytes of every ELF file, says which symbol names are worth looking
//! up in the file's symbol tables, and turns what was found into [`Identity`]s. It does not
//! decide whether two copies are a fault: that is [`crate::linkage`].

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
    library: Vec<Library>,
}

/// One library and the ways it can be linked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Library {
    pub id: String,
    /// A malloc replacement: two different ones in one process are a fault of their own.
    #[serde(default)]
    pub allocator: bool,
    /// What to do about two copies.
    pub fix: String,
    pub flavour: Vec<Flavour>,
}

/// One build of a library whose symbols differ from the others'.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flavour {
    pub id: String,
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub strings: Vec<String>,
    #[serde(default)]
    pub substrings: Vec<String>,
    #[serde(default)]
    pub sonames: Vec<String>,
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

/// The compiled signatures, shared by reference across workers.
#[derive(Debug, Clone)]
pub struct Signatures {
    libraries: Vec<Library>,
    /// Per pattern: its kind and text.
    patterns: Vec<(Kind, String)>,
    names: Searcher,
    data: Searcher,
    longest: usize,
    sonames: HashMap<String, (usize, usize)>,
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

impl Signatures {
    /// The signatures of `rules/libraries.toml`.
    pub fn builtin() -> Result<Signatures> {
        Signatures::parse(BUILTIN).context("rules/libraries.toml")
    }

    /// Compiles signatures from TOML text.
    pub fn parse(text: &str) -> Result<Signatures> {
        let file: SignatureFile = toml::from_str(text)?;
        let mut patterns: Vec<(Kind, String)> = Vec::new();
        let mut sonames = HashMap::new();
        for (l, library) in file.library.iter().enumerate() {
            for (f, flavour) in library.flavour.iter().enumerate() {
                let texts = [
                    (Kind::Symbol, &flavour.symbols),
                    (Kind::String, &flavour.strings),
                    (Kind::Substring, &flavour.substrings),
                ];
                for (kind, list) in texts {
                    for text in list {
                        if text.is_empty() || text.len() + 2 > crate::scan::CONTEXT {
                            anyhow::bail!(
                                "library {} flavour {}: {text:?} must be 1 to {} bytes long",
                                library.id,
                                flavour.id,
                                crate::scan::CONTEXT - 2
                            );
                        }
                        if !patterns.iter().any(|(k, t)| *k == kind && t == text) {
                            patterns.push((kind, text.clone()));
                        }
                    }
                }
                for soname in &flavour.sonames {
                    sonames.insert(soname.clone(), (l, f));
                }
            }
        }
        Ok(Signatures {
            longest: patterns.iter().map(|(_, t)| t.len()).max().unwrap_or(0),
            libraries: file.library,
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

    /// The libraries a file contains, from the strings it matched and the symbols it defines.
    pub fn identify(&self, found: &Found, defined: &HashSet<String>) -> Vec<Identity> {
        let strings: HashSet<&str> = found
            .0
            .iter()
            .filter(|&&i| self.patterns[i].0 != Kind::Symbol)
            .map(|&i| self.patterns[i].1.as_str())
            .collect();
        let mut identities = Vec::new();
        for library in &self.libraries {
            for flavour in &library.flavour {
                let symbols: Vec<String> = flavour
                    .symbols
                    .iter()
                    .filter(|s| defined.contains(*s))
                    .cloned()
                    .collect();
                let texts: Vec<String> = flavour
                    .strings
                    .iter()
                    .chain(&flavour.substrings)
                    .filter(|s| strings.contains(s.as_str()))
                    .cloned()
                    .collect();
                if !symbols.is_empty() || !texts.is_empty() {
                    identities.push(Identity {
                        library: library.id.clone(),
                        flavour: flavour.id.clone(),
                        symbols,
                        strings: texts,
                    });
                }
            }
        }
        identities
    }

    /// The library and flavour a shared-object name loads, if known.
    pub fn by_soname(&self, soname: &str) -> Option<(&Library, &Flavour)> {
        let &(l, f) = self.sonames.get(soname)?;
        Some((&self.libraries[l], &self.libraries[l].flavour[f]))
    }

    /// The library with this id.
    pub fn library(&self, id: &str) -> Option<&Library> {
        self.libraries.iter().find(|l| l.id == id)
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
            ["jemalloc", "mimalloc", "tcmalloc", "liburing", "openssl", "zlib"]
        );
        assert_eq!(
            signatures
                .by_soname("libjemalloc.so.2")
                .map(|(l, f)| (l.id.as_str(), f.id.as_str())),
            Some(("jemalloc", "unprefixed"))
        );
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
    fn identities_need_defined_symbols_or_strings() {
        let signatures = Signatures::builtin().expect("builtin signatures");
        let mut found = Found::default();
        signatures.search(
            Area::Names,
            b"\0_rjem_mallocx\0io_uring_submit\0",
            0..31,
            &mut found,
        );
        let wanted = signatures.symbols_to_check(&found);
        assert_eq!(wanted, HashSet::from(["_rjem_mallocx", "io_uring_submit"]));
        // Only _rjem_mallocx is defined (io_uring_submit is an import).
        let defined = HashSet::from(["_rjem_mallocx".to_string()]);
        let identities = signatures.identify(&found, &defined);
        assert_eq!(identities.len(), 1);
        assert_eq!(
            (
                identities[0].library.as_str(),
                identities[0].flavour.as_str()
            ),
            ("jemalloc", "tikv")
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Signatures::parse("[[library]]\nid = \"x\"\nfix = \"y\"\nflavor = []\n")
            .expect_err("typo");
        assert!(
            format!("{err:#}").contains("unknown field `flavor`"),
            "{err:#}"
        );
    }
}
