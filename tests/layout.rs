//! The layout of `src/` as issue 13 asks for it: no import cycles between files, a data model
//! that depends on no stage, reporters that depend on the model alone.
//!
//! Each file's references to other files are read from its source: `use` trees and inline
//! paths that start with `crate::`, `super::` or `self::`. A name is followed to the file that
//! defines it, through `pub use` re-exports, so that a module's facade (`model/mod.rs`
//! re-exporting `model/finding.rs`) is no dependency of its own. Test modules are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file as a module: its path (`["model", "finding"]`), what it defines and
/// re-exports, and the paths it refers to.
struct Module {
    file: PathBuf,
    path: Vec<String>,
    defines: BTreeSet<String>,
    /// Re-exported name → the path it comes from.
    reexports: BTreeMap<String, Vec<String>>,
    /// Absolute paths (crate-relative segments) it refers to.
    refers: Vec<Vec<String>>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments and without `#[cfg(test)]` modules.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its full paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    // `X as Y` keeps X: mark the alias before the spaces go.
    let tree: String = tree
        .replace(" as ", "@")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    fn walk(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        match tree.find('{') {
            None => {
                let mut path = prefix.to_vec();
                let tree = tree.split('@').next().unwrap_or(tree);
                path.extend(
                    tree.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                out.push(path);
            }
            Some(open) => {
                let mut path = prefix.to_vec();
                path.extend(
                    tree[..open]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            walk(&path, &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                if start < inner.len() {
                    walk(&path, &inner[start..], out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&[], &tree, &mut out);
    out
}

/// A path written in `module` made absolute; `None` for paths outside the crate. A path that
/// starts with a name the module defines (`files::Records` in `scan/mod.rs`) is relative to it.
fn absolute(module: &[String], defines: &BTreeSet<String>, path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some(first) if defines.contains(first) => {}
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn read_modules() -> Vec<Module> {
    let mut files = Vec::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") && !path.ends_with("main.rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let code = code_of(&fs::read_to_string(&file).unwrap());
            let path = module_path(&file);
            let mut module = Module {
                file: file.clone(),
                path: path.clone(),
                defines: BTreeSet::new(),
                reexports: BTreeMap::new(),
                refers: Vec::new(),
            };
            let words: Vec<&str> = code.split_whitespace().collect();
            for pair in words.windows(2) {
                if matches!(
                    pair[0],
                    "struct" | "enum" | "fn" | "const" | "static" | "trait" | "type" | "mod"
                ) || pair[0] == "macro_rules!"
                {
                    let name: String = pair[1]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    module.defines.insert(name);
                }
            }
            // `use` trees, whole statements.
            let mut at = 0;
            while let Some(found) = code[at..].find("use ") {
                let start = at + found;
                let before = code[..start].chars().next_back();
                let end = start + code[start..].find(';').unwrap_or(code.len() - start);
                at = end.max(start + 4);
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let public = code[..start].trim_end().ends_with("pub")
                    || code[..start].trim_end().ends_with("pub(crate)");
                for written in expand(&code[start + 4..end]) {
                    let Some(full) = absolute(&path, &module.defines, &written) else {
                        continue;
                    };
                    if public {
                        if let Some(name) = written.last() {
                            module.reexports.insert(name.clone(), full.clone());
                        }
                    }
                    module.refers.push(full);
                }
            }
            // Inline paths: crate::a::b, super::x, self::y.
            for anchor in ["crate::", "super::", "self::"] {
                for (found, _) in code.match_indices(anchor) {
                    let before = code[..found].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                        continue;
                    }
                    let written: Vec<String> = code[found..]
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .next()
                        .unwrap_or_default()
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if let Some(full) = absolute(&path, &module.defines, &written) {
                        module.refers.push(full);
                    }
                }
            }
            module
        })
        .collect()
}

/// The file that defines what `path` names, following re-exports.
fn defining_file<'m>(
    modules: &'m [Module],
    by_path: &BTreeMap<Vec<String>, usize>,
    path: &[String],
    depth: usize,
) -> Option<&'m Module> {
    if depth > 16 {
        return None;
    }
    // The longest prefix that is a module.
    let (module, rest) = (0..=path.len())
        .rev()
        .find_map(|n| by_path.get(&path[..n]).map(|&i| (&modules[i], &path[n..])))?;
    let Some(name) = rest.first() else {
        return Some(module);
    };
    if module.defines.contains(name) {
        return Some(module);
    }
    match module.reexports.get(name) {
        Some(from) if from.as_slice() != path => {
            let mut target = from.clone();
            target.extend(rest[1..].iter().cloned());
            defining_file(modules, by_path, &target, depth + 1).or(Some(module))
        }
        _ => Some(module),
    }
}

/// Every file's dependencies on other files (by module path).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let modules = read_modules();
    let by_path: BTreeMap<Vec<String>, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let name = |m: &Module| m.file.strip_prefix(src()).unwrap().display().to_string();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        let from = name(module);
        let entry = graph.entry(from.clone()).or_default();
        for path in &module.refers {
            // A re-export is the module's facade, not a dependency of it.
            if module.reexports.values().any(|r| r == path) {
                continue;
            }
            if let Some(to) = defining_file(&modules, &by_path, path, 0) {
                let to = name(to);
                if to != from {
                    entry.insert(to);
                }
            }
        }
    }
    graph
}

/// The strongly connected components of more than one file (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, node: &'g str) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        for next in s.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !s.index.contains_key(next) {
                visit(s, next);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.push(top.to_string());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_file_imports_from_a_file_that_imports_it_back() {
    let graph = dependencies();
    assert!(graph.len() > 40, "the sources were not found: {graph:?}");
    // The reader sees what it should: the audit depends on the stages.
    assert!(
        graph["audit.rs"].contains("scan/files.rs"),
        "{:?}",
        graph["audit.rs"]
    );
    let found = cycles(&graph);
    assert!(found.is_empty(), "import cycles between files: {found:#?}");
}

#[test]
fn the_model_depends_on_no_stage_and_reporters_on_the_model_alone() {
    let graph = dependencies();
    let allowed = |file: &str, on: &str| match file.split('/').next() {
        Some("model") => on.starts_with("model/") || on == "units.rs",
        Some("report") => {
            on.starts_with("model/")
                || on.starts_with("report/")
                || on == "units.rs"
                || on == "escape.rs"
        }
        _ => true,
    };
    let wrong: Vec<String> = graph
        .iter()
        .flat_map(|(file, on)| {
            on.iter()
                .filter(|to| !allowed(file, to))
                .map(move |to| format!("{file} → {to}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
