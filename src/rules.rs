//! The rules findings are reported under: the catalogue of their texts, and rule packs that
//! refine a kind of finding into a more precise rule.
//!
//! `rules/core.toml` describes each kind of finding ([`Kind`]): default severity, title,
//! explanation, fix, links. A rule pack (`rules/*.toml`, embedded; more with `--rules DIR`)
//! adds rules that `refine` one kind under conditions on what the earlier stages know: the
//! referenced package, name and output, the subpath, the file, the ELF section, whether it is
//! loaded, the enclosing symbol, how the hash was recognised. A finding is reported under the
//! most specific rule that matches it (the most conditions; ties go to the smaller id), and
//! under its kind's rule when none does, so every finding carries exactly one rule id.
//!
//! Loading collects every problem of every file before giving up (TOML errors carry their
//! line and column), rejects unknown keys, duplicate ids, bad globs and unknown kinds, and
//! warns about a condition that can never match.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use aho_corasick::AhoCorasick;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use crate::model::{Anchor, Kind, Level, Location, Reference, RuleText};
use crate::toml_file::{self, TomlFile};

/// The texts of the kinds of finding.
const CORE: (&str, &str) = ("rules/core.toml", include_str!("../rules/core.toml"));
/// The built-in rule packs.
const PACKS: [(&str, &str); 5] = [
    (
        "rules/sysconfdir.toml",
        include_str!("../rules/sysconfdir.toml"),
    ),
    ("rules/haskell.toml", include_str!("../rules/haskell.toml")),
    (
        "rules/toolchains.toml",
        include_str!("../rules/toolchains.toml"),
    ),
    ("rules/text.toml", include_str!("../rules/text.toml")),
    ("rules/debug.toml", include_str!("../rules/debug.toml")),
];

/// When a pack rule applies. Globs match the whole text; every list that is given must match.
/// (Unknown keys are problems of the file: see [`crate::toml_file`].)
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Conditions {
    /// The referenced path's package name (`openssl`).
    #[serde(default)]
    pub package: Vec<String>,
    /// Its whole name (`openssl-3.0.12-etc`, `hi.c`).
    #[serde(default)]
    pub name: Vec<String>,
    /// Its output (`out`, `etc`, `dev`…).
    #[serde(default)]
    pub output: Vec<String>,
    /// What follows the name at some location (`/etc/ssl`).
    #[serde(default)]
    pub subpath: Vec<String>,
    /// The file of some location, relative to its target.
    #[serde(default)]
    pub file: Vec<String>,
    /// The ELF section of some location.
    #[serde(default)]
    pub section: Vec<String>,
    /// The enclosing symbol of some location, demangled.
    #[serde(default)]
    pub symbol: Vec<String>,
    /// How the hash was recognised at some location: store-dir, bare-hash, known-hash, file-name.
    #[serde(default)]
    pub anchor: Vec<String>,
    /// The excerpt around some location (`#!/nix/store/*` for a shebang).
    #[serde(default)]
    pub excerpt: Vec<String>,
    /// What the file of some location is: static-executable, static-pie,
    /// dynamic-executable, shared-object, relocatable, archive or other.
    #[serde(default)]
    pub file_kind: Vec<String>,
    /// A library (rules/libraries.toml id) the file of some location contains.
    #[serde(default)]
    pub library: Vec<String>,
    /// Text the file of some location contains (any of them), e.g. "OPENSSLDIR".
    #[serde(default)]
    pub strings: Vec<String>,
    /// `true`: the place is loaded at run time; `false`: no place of the path is (only
    /// debug info, symbol names, comments), which makes it cheap to remove.
    pub loaded: Option<bool>,
}

/// What the audit knows about one file, for rules that look at the whole file.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    pub kind: &'static str,
    /// Ids of the libraries it contains.
    pub libraries: Vec<String>,
    /// Which of the rules' strings ([`StringSearch`]) it contains.
    pub strings: BTreeSet<usize>,
}

/// The texts the rules' `strings` conditions look for, searched in every file's bytes
/// during the scan (only when some rule has such a condition).
#[derive(Debug, Clone)]
pub struct StringSearch {
    automaton: AhoCorasick,
    longest: usize,
}

impl StringSearch {
    /// Records the strings that start inside `owned` of `buf` (context around it is there).
    pub fn search(&self, buf: &[u8], owned: Range<usize>, found: &mut BTreeSet<usize>) {
        let to = owned.end.saturating_add(self.longest).min(buf.len());
        if owned.start >= to {
            return;
        }
        for m in self.automaton.find_overlapping_iter(&buf[owned.start..to]) {
            if m.start() < owned.len() {
                found.insert(m.pattern().as_usize());
            }
        }
    }
}

/// Files by (target as given, file relative to it).
pub type FileIndex = std::collections::HashMap<(String, String), FileFacts>;

/// A `[[rule]]` table as written: the rule's text, and for a pack rule its conditions.
#[derive(Debug, Deserialize)]
struct WrittenRule {
    id: String,
    severity: Level,
    title: String,
    explanation: String,
    fix: String,
    #[serde(default)]
    links: Vec<String>,
    refines: Option<String>,
    /// `[rule.match]`, or several `[[rule.match]]` tables: alternatives, any of which may
    /// hold.
    #[serde(rename = "match")]
    conditions: Option<Alternatives>,
}

impl WrittenRule {
    /// The rule's text and its conditions, apart.
    fn split(self) -> (RuleText, Option<Alternatives>) {
        let text = RuleText {
            id: self.id,
            severity: self.severity,
            title: self.title,
            explanation: self.explanation,
            fix: self.fix,
            links: self.links,
            refines: self.refines,
        };
        (text, self.conditions)
    }
}

/// The `match` of a pack rule: one table of conditions, or an array of alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternatives(pub Vec<Conditions>);

/// Read by hand rather than as an untagged enum, so that the unknown keys of each table still
/// reach the reader that reports them ([`crate::toml_file`]).
impl<'de> Deserialize<'de> for Alternatives {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Alternatives;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a [rule.match] table or [[rule.match]] tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Alternatives, A::Error> {
                let one =
                    Conditions::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Alternatives(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Alternatives, A::Error> {
                let all = Vec::<Conditions>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(Alternatives(all))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The compiled conditions of one pack rule.
#[derive(Debug, Clone)]
struct Matcher {
    kind: Kind,
    package: Option<GlobSet>,
    name: Option<GlobSet>,
    output: Option<GlobSet>,
    subpath: Option<GlobSet>,
    file: Option<GlobSet>,
    section: Option<GlobSet>,
    symbol: Option<GlobSet>,
    anchor: Option<GlobSet>,
    excerpt: Option<GlobSet>,
    file_kind: Option<GlobSet>,
    library: Option<GlobSet>,
    /// Indices into [`Catalogue::file_strings`].
    strings: Vec<usize>,
    loaded: Option<bool>,
    /// How many conditions it has: the more, the more specific.
    specificity: usize,
}

/// One place of a finding, with everything a rule may ask about it. Rules are chosen for the
/// places of a path in one file, so that a store path named in a script, a `.la` and a `.pc`
/// file is reported under three rules (issue 11).
pub struct Place<'a> {
    pub kind: Kind,
    pub reference: Option<&'a Reference>,
    pub location: &'a Location,
    /// No place of the reference, in any file, is loaded: what `loaded = false` asks, since
    /// a path that is also loaded somewhere is not cheap to remove.
    pub unloaded_everywhere: bool,
    /// What the file of the location is.
    pub file: Option<&'a FileFacts>,
}

impl Matcher {
    fn matches(&self, place: &Place) -> bool {
        if place.kind != self.kind {
            return false;
        }
        let on = |set: &Option<GlobSet>, text: Option<&str>| match set {
            None => true,
            Some(set) => text.is_some_and(|t| set.is_match(t)),
        };
        let (reference, l, facts) = (place.reference, place.location, place.file);
        let loaded = match self.loaded {
            Some(true) => l.loaded == Some(true),
            Some(false) => place.unloaded_everywhere,
            None => true,
        };
        loaded
            && on(&self.package, reference.map(|r| r.package.as_str()))
            && on(&self.name, reference.map(|r| r.name.as_str()))
            && on(&self.output, reference.map(|r| r.output.as_str()))
            && on(&self.subpath, Some(&l.subpath))
            && on(&self.file, Some(&l.file))
            && on(&self.section, l.section.as_deref())
            && on(&self.symbol, l.symbol.as_deref())
            && on(&self.anchor, Some(l.anchor.map_or("", Anchor::id)))
            && on(&self.excerpt, Some(&l.excerpt))
            && on(&self.file_kind, facts.map(|f| f.kind))
            && self.library.as_ref().is_none_or(|set| {
                facts.is_some_and(|f| f.libraries.iter().any(|l| set.is_match(l)))
            })
            && (self.strings.is_empty()
                || facts.is_some_and(|f| self.strings.iter().any(|s| f.strings.contains(s))))
    }
}

/// Every rule's text and every pack rule's conditions.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// The kinds' texts, in the order of [`Kind::ALL`].
    kinds: Vec<RuleText>,
    /// Pack rules with their alternatives' conditions, in the order they were loaded.
    packs: Vec<(RuleText, Vec<Matcher>)>,
    /// Conditions that can never match, said once at load time.
    pub warnings: Vec<String>,
    /// The rules' `strings`, when some rule has them.
    pub file_strings: Option<StringSearch>,
}

impl Catalogue {
    /// The built-in rules, the packs of `extra` (every `*.toml` in it) if given, and the
    /// `[[rule]]` tables of the policy file (name, text) if there is one. `Err` holds every
    /// problem of every file.
    pub fn load(
        extra: Option<&Path>,
        policy: Option<&(String, String)>,
    ) -> Result<Catalogue, Vec<String>> {
        let mut files: Vec<(String, String)> = std::iter::once(CORE)
            .chain(PACKS)
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        if let Some(dir) = extra {
            files.extend(pack_files(dir).map_err(|e| vec![e])?);
        }
        let mut reader = Reader::default();
        for (name, text) in &files {
            reader.file(name, text, Holds::OnlyRules);
        }
        if let Some((name, text)) = policy {
            // The policy file's other keys are the policy's: only its rules are read here.
            reader.file(name, text, Holds::RulesAmongOthers);
        }
        reader.finish()
    }

    /// Builds the catalogue from (file name, TOML text) pairs, the first being the kinds'.
    pub fn parse(files: &[(String, String)]) -> Result<Catalogue, Vec<String>> {
        let mut reader = Reader::default();
        for (name, text) in files {
            reader.file(name, text, Holds::OnlyRules);
        }
        reader.finish()
    }

    /// The text of a kind of finding.
    pub fn get(&self, rule: Kind) -> &RuleText {
        let index = Kind::ALL
            .iter()
            .position(|&r| r == rule)
            .unwrap_or_default();
        &self.kinds[index]
    }

    /// Any rule by id.
    pub fn find(&self, id: &str) -> Option<&RuleText> {
        self.all().find(|r| r.id == id)
    }

    /// Every rule: the kinds, then the pack rules.
    pub fn all(&self) -> impl Iterator<Item = &RuleText> {
        self.kinds
            .iter()
            .chain(self.packs.iter().map(|(text, _)| text))
    }

    /// The most specific pack rule that matches a finding at one of `places`, if any: the
    /// one whose matching alternative has the most conditions (ties go to the smaller id).
    pub fn select(&self, places: &[Place]) -> Option<&RuleText> {
        self.packs
            .iter()
            .filter_map(|(text, alternatives)| {
                let specificity = alternatives
                    .iter()
                    .filter(|m| places.iter().any(|place| m.matches(place)))
                    .map(|m| m.specificity)
                    .max()?;
                Some((text, specificity))
            })
            .max_by(|(a, sa), (b, sb)| sa.cmp(sb).then_with(|| b.id.cmp(&a.id)))
            .map(|(text, _)| text)
    }
}

/// The `*.toml` files of a `--rules` directory, in name order, with their text.
fn pack_files(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("--rules {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// What a file given to the [`Reader`] may hold besides `[[rule]]` tables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// A rule pack: anything else is an unknown key.
    OnlyRules,
    /// The policy file, whose other keys the policy reads.
    RulesAmongOthers,
}

/// Reads rule files one after the other, collecting the rules and every problem.
#[derive(Default)]
struct Reader {
    /// Every rule read, in order, with its pack conditions compiled (`None` for a kind).
    rules: Vec<(RuleText, Option<Vec<Matcher>>)>,
    /// Where each id was first defined (`file:line:column`).
    defined: std::collections::HashMap<String, String>,
    /// The texts of every `strings` condition.
    strings: Vec<String>,
    warnings: Vec<String>,
    problems: Vec<String>,
}

impl Reader {
    fn file(&mut self, name: &str, text: &str, holds: Holds) {
        let mut file = TomlFile::new(name, text);
        for (key, value) in file.table().iter().flat_map(|t| t.iter()) {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("rule", DeValue::Array(items)) => {
                    for item in items.iter() {
                        self.rule(&mut file, item);
                    }
                }
                ("rule", _) => {
                    file.problem(value.span(), "`rule` must be an array of tables ([[rule]])")
                }
                (other, _) if holds == Holds::OnlyRules => file.problem(
                    key.span(),
                    format!("unknown key `{other}` (a rule pack holds [[rule]] tables)"),
                ),
                _ => {}
            }
        }
        self.problems.extend(file.into_problems());
    }

    fn rule(&mut self, file: &mut TomlFile, item: &Spanned<DeValue>) {
        // The id is checked first, so that its problems show even if the rest is unreadable.
        let id_span = toml_file::span_of(item, &["id"]);
        let first = match toml_file::string_at(item, "id") {
            Some(id) => self.check_id(file, id, id_span.clone()),
            None => None,
        };
        let Some((rule, conditions)) = file.read::<WrittenRule>(item).map(WrittenRule::split)
        else {
            return;
        };
        let place = file.position(id_span.start);
        match (&rule.refines, &conditions) {
            (None, None) if Kind::from_id(&rule.id).is_some() => {
                if first.is_none() {
                    self.rules.push((rule, None));
                }
            }
            (None, _) => file.problem(
                id_span,
                format!(
                    "rule {:?} must say which kind of finding it `refines`",
                    rule.id
                ),
            ),
            (Some(_), None) => file.problem(
                id_span,
                format!("rule {:?} has no [rule.match] conditions", rule.id),
            ),
            (Some(refines), Some(alternatives)) => {
                let several = alternatives.0.len() > 1;
                let mut matchers = Vec::new();
                let mut failed = false;
                for (n, conditions) in alternatives.0.iter().enumerate() {
                    match compile(refines, conditions, &mut self.strings) {
                        Ok(matcher) => {
                            self.warnings.extend(
                                never_matches(conditions)
                                    .map(|w| format!("{place}: rule {:?}: {w}", rule.id)),
                            );
                            matchers.push(matcher);
                        }
                        Err(errors) => {
                            failed = true;
                            for (field, error) in errors {
                                let span = match field {
                                    "refines" => toml_file::span_of(item, &["refines"]),
                                    field => match_span(item, several.then_some(n), field),
                                };
                                file.problem(span, format!("rule {:?}: {error}", rule.id));
                            }
                        }
                    }
                }
                if matchers.is_empty() && !failed {
                    file.problem(
                        toml_file::span_of(item, &["match"]),
                        format!("rule {:?}: [[rule.match]] has no alternative", rule.id),
                    );
                } else if !failed && first.is_none() {
                    self.rules.push((rule, Some(matchers)));
                }
            }
        }
    }

    /// Checks that `id` is kebab-case and new; returns where it was first defined if it is
    /// not new (after recording where it is, if it is).
    fn check_id(&mut self, file: &mut TomlFile, id: &str, span: Range<usize>) -> Option<String> {
        if !is_kebab_case(id) {
            file.problem(
                span.clone(),
                format!(
                    "rule id {id:?} is not kebab-case (lowercase letters and digits, in words joined by `-`)"
                ),
            );
        }
        // A second definition is a problem, and is still checked for problems of its own.
        let first = self.defined.get(id).cloned();
        match &first {
            Some(first) => file.problem(span, format!("rule {id:?} is also defined in {first}")),
            None => {
                self.defined
                    .insert(id.to_string(), file.position(span.start));
            }
        }
        first
    }

    fn finish(mut self) -> Result<Catalogue, Vec<String>> {
        let mut kinds = Vec::new();
        for kind in Kind::ALL {
            match self
                .rules
                .iter()
                .find(|(r, m)| r.id == kind.id() && m.is_none())
            {
                Some((text, _)) => kinds.push(text.clone()),
                None => self
                    .problems
                    .push(format!("rule {} has no entry", kind.id())),
            }
        }
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        let file_strings = (!self.strings.is_empty())
            .then(|| {
                AhoCorasick::new(&self.strings).map(|automaton| StringSearch {
                    longest: self.strings.iter().map(String::len).max().unwrap_or(0),
                    automaton,
                })
            })
            .transpose()
            .map_err(|e| vec![format!("the rules' strings: {e}")])?;
        Ok(Catalogue {
            kinds,
            packs: self
                .rules
                .into_iter()
                .filter_map(|(text, matcher)| Some((text, matcher?)))
                .collect(),
            warnings: self.warnings,
            file_strings,
        })
    }
}

/// Where a problem with `field` of a rule's match points: inside alternative `n` of an
/// array of `[[rule.match]]` tables, or the one `[rule.match]` table.
fn match_span(item: &Spanned<DeValue>, n: Option<usize>, field: &str) -> Range<usize> {
    let tables = toml_file::span_of(item, &["match"]);
    let DeValue::Table(rule) = item.get_ref() else {
        return tables;
    };
    let Some((_, matches)) = rule.iter().find(|(k, _)| k.get_ref() == "match") else {
        return tables;
    };
    match (n, matches.get_ref()) {
        (Some(n), DeValue::Array(items)) => items
            .get(n)
            .map_or(tables, |table| toml_file::span_of(table, &[field])),
        _ => toml_file::span_of(matches, &[field]),
    }
}

/// Lowercase letters and digits, in words joined by single dashes: `openssl-sysconfdir`.
fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Compiles a pack rule's conditions, or says everything that is wrong with them.
fn compile(
    refines: &str,
    c: &Conditions,
    registry: &mut Vec<String>,
) -> Result<Matcher, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut strings = Vec::new();
    for text in &c.strings {
        if text.is_empty() || text.len() + 2 > crate::scan::CONTEXT {
            errors.push((
                "strings",
                format!(
                    "strings: {text:?} must be 1 to {} bytes long",
                    crate::scan::CONTEXT - 2
                ),
            ));
            continue;
        }
        strings.push(registry.iter().position(|s| s == text).unwrap_or_else(|| {
            registry.push(text.clone());
            registry.len() - 1
        }));
    }
    let kind = Kind::from_id(refines);
    if kind.is_none() {
        errors.push(("refines", format!("refines unknown kind {refines:?}")));
    }
    let mut set = |field: &'static str, globs: &[String]| -> Option<GlobSet> {
        if globs.is_empty() {
            return None;
        }
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            match Glob::new(glob) {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => errors.push((field, format!("{field}: bad glob {glob:?}: {e}"))),
            }
        }
        builder.build().ok()
    };
    let matcher = Matcher {
        kind: kind.unwrap_or(Kind::StoreReference),
        package: set("package", &c.package),
        name: set("name", &c.name),
        output: set("output", &c.output),
        subpath: set("subpath", &c.subpath),
        file: set("file", &c.file),
        section: set("section", &c.section),
        symbol: set("symbol", &c.symbol),
        anchor: set("anchor", &c.anchor),
        excerpt: set("excerpt", &c.excerpt),
        file_kind: set("file_kind", &c.file_kind),
        library: set("library", &c.library),
        strings,
        loaded: c.loaded,
        specificity: [
            &c.package,
            &c.name,
            &c.output,
            &c.subpath,
            &c.file,
            &c.section,
            &c.symbol,
            &c.anchor,
            &c.excerpt,
            &c.file_kind,
            &c.library,
            &c.strings,
        ]
        .iter()
        .filter(|list| !list.is_empty())
        .count()
            + usize::from(c.loaded.is_some()),
    };
    if matcher.specificity == 0 {
        errors.push(("match", "[rule.match] has no condition".to_string()));
    }
    if errors.is_empty() {
        Ok(matcher)
    } else {
        Err(errors)
    }
}

/// Conditions that no finding can satisfy.
fn never_matches(c: &Conditions) -> impl Iterator<Item = String> + '_ {
    let sections = c
        .section
        .iter()
        .filter(|s| {
            !s.starts_with('.') && !s.starts_with('*') && !s.starts_with('?') && !s.starts_with('[')
        })
        .map(|s| format!("section {s:?} can never match: ELF section names start with a dot"));
    let anchors = c
        .anchor
        .iter()
        .filter(|a| {
            !Anchor::ALL
                .iter()
                .any(|k| Glob::new(a).is_ok_and(|g| g.compile_matcher().is_match(k.id())))
        })
        .map(|a| format!("anchor {a:?} can never match: anchors are store-dir, bare-hash, known-hash, file-name"));
    sections.chain(anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(extra: &str) -> Vec<(String, String)> {
        vec![
            (CORE.0.to_string(), CORE.1.to_string()),
            ("extra.toml".to_string(), extra.to_string()),
        ]
    }

    #[test]
    fn the_built_in_rules_load_without_warnings() {
        let catalogue = Catalogue::load(None, None).expect("built-in rules");
        assert!(catalogue.warnings.is_empty(), "{:?}", catalogue.warnings);
        for &rule in Kind::ALL {
            assert_eq!(catalogue.get(rule).id, rule.id());
        }
        assert!(catalogue.all().count() > Kind::ALL.len());
    }

    #[test]
    fn every_problem_is_listed_at_once_with_its_place() {
        let bad = r#"
[[rule]]
id = "store-reference"
severity = "deny"
title = "t"
explanation = "e"
fix = "f"
refines = "store-reference"
[rule.match]
package = ["a[b"]
section = ["rodata"]

[[rule]]
id = "x"
severity = "deny"
title = "t"
explanation = "e"
fix = "f"
refines = "no-such-kind"
[rule.match]
package = ["x"]
pakage = ["y"]

[[rule]]
id = "Not_Kebab"
severty = "deny"
colour = "red"

[[rule]]
id = "fine-without-links"
severity = "warn"
title = "t"
explanation = "e"
fix = "f"
refines = "store-reference"
[rule.match]
file = ["*.x"]
"#;
        let problems = Catalogue::parse(&files(bad)).expect_err("broken");
        let text = problems.join("\n");
        for needle in [
            "extra.toml:3:6: rule \"store-reference\" is also defined in rules/core.toml:8:6",
            "extra.toml:10:11: rule \"store-reference\": package: bad glob \"a[b\"",
            "extra.toml:19:11: rule \"x\": refines unknown kind \"no-such-kind\"",
            "extra.toml:22:1: unknown key `pakage`",
            "extra.toml:24:1: missing field `severity`",
            "extra.toml:26:1: unknown key `severty`",
            "extra.toml:27:1: unknown key `colour`",
            // The snippet under each.
            "   |\n22 | pakage = [\"y\"]\n   | ^^^^^^",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        assert!(
            text.contains("extra.toml:25:6: rule id \"Not_Kebab\" is not kebab-case"),
            "{text}"
        );
        assert_eq!(problems.len(), 8, "{text}");
        // A rule pack with the rule above alone loads: `links` may be left out.
        let fine = &bad[bad.find("[[rule]]\nid = \"fine").unwrap()..];
        let catalogue = Catalogue::parse(&files(fine)).expect("loads");
        assert!(catalogue
            .find("fine-without-links")
            .is_some_and(|r| r.links.is_empty()));
    }

    #[test]
    fn rule_ids_are_kebab_case() {
        for (id, ok) in [
            ("openssl-sysconfdir", true),
            ("c-source-path", true),
            ("x2", true),
            ("Store-Reference", false),
            ("store_reference", false),
            ("store--reference", false),
            ("-store", false),
            ("store-", false),
            ("", false),
        ] {
            assert_eq!(is_kebab_case(id), ok, "{id:?}");
        }
        let rule = "[[rule]]\nid = \"Odd_Id\"\nseverity = \"warn\"\ntitle = \"t\"\nexplanation = \"e\"\nfix = \"f\"\nrefines = \"store-reference\"\n[rule.match]\nfile = [\"*.x\"]\n";
        let problems = Catalogue::parse(&files(rule)).expect_err("not kebab-case");
        assert!(
            problems[0].starts_with("extra.toml:2:6: rule id \"Odd_Id\" is not kebab-case"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_condition_that_can_never_match_is_a_warning() {
        let odd = "[[rule]]\nid = \"odd\"\nseverity = \"warn\"\ntitle = \"t\"\nexplanation = \"e\"\nfix = \"f\"\nlinks = []\nrefines = \"store-reference\"\n[rule.match]\nsection = [\"rodata\"]\n";
        let catalogue = Catalogue::parse(&files(odd)).expect("loads");
        assert_eq!(catalogue.warnings.len(), 1);
        assert!(
            catalogue.warnings[0].contains("can never match"),
            "{:?}",
            catalogue.warnings
        );
    }

    #[test]
    fn fixes_name_the_path() {
        let catalogue = Catalogue::load(None, None).expect("built-in rules");
        let fix = catalogue
            .get(Kind::StoreReference)
            .fix_for("/nix/store/x-foo");
        assert!(
            fix.contains("remove-references-to -t /nix/store/x-foo"),
            "{fix}"
        );
    }
}
