//! What a fresh machine needs, stated once and checked: the Debian packages the tests and
//! the fixtures they build use (tests/host-packages.txt, which tests/setup.sh installs), and
//! the Rust version the lock file needs (Cargo.toml's `rust-version`).
//!
//! Issue 15: the suite once read liburing.h, liburing.a and /usr/bin/python3 from packages
//! setup.sh never installed, and passed only where they happened to be. Here every host file
//! a test or a test-built fixture reads (a tool by absolute path or by name, a library, a
//! header) is traced to its Debian package with `dpkg-query -S`, and that package must be on
//! the list; a package on the list that nothing uses is an error too.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The list: Debian packages, and tools the machine provides outside Debian (`tool NAME`).
struct Listed {
    packages: BTreeSet<String>,
    tools: BTreeSet<String>,
}

fn listed() -> Listed {
    let text = fs::read_to_string(root().join("tests/host-packages.txt")).unwrap();
    let mut listed = Listed {
        packages: BTreeSet::new(),
        tools: BTreeSet::new(),
    };
    for line in text.lines() {
        let words: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        match words.as_slice() {
            [] => {}
            ["tool", name] => assert!(listed.tools.insert(name.to_string()), "{name} twice"),
            [package] => assert!(
                listed.packages.insert(package.to_string()),
                "{package} twice"
            ),
            _ => panic!("tests/host-packages.txt: cannot read {line:?}"),
        }
    }
    listed
}

/// The fixture files the tests build with Nix: every `nix/NAME.nix` a test names, and what
/// those import, transitively.
fn test_built_nix_files() -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    let mut queue: Vec<PathBuf> = Vec::new();
    for test in rust_sources() {
        let text = fs::read_to_string(&test).unwrap();
        for (at, _) in text.match_indices("nix/") {
            let name: String = text[at + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if text[at + 4 + name.len()..].starts_with(".nix") {
                queue.push(root().join("fixtures/nix").join(format!("{name}.nix")));
            }
        }
    }
    while let Some(file) = queue.pop() {
        let Ok(canonical) = file.canonicalize() else {
            continue;
        };
        if !files.insert(canonical.clone()) {
            continue;
        }
        let text = fs::read_to_string(&canonical).unwrap();
        for (at, _) in text.match_indices("import ") {
            let target: String = text[at + 7..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ';' && *c != ')')
                .collect();
            if target.starts_with('.') {
                queue.push(canonical.parent().unwrap().join(target));
            }
        }
    }
    files
}

/// The test sources: tests/*.rs and the modules in its folders (not node_modules or caches).
fn rust_sources() -> Vec<PathBuf> {
    let mut sources = Vec::new();
    let mut dirs = vec![root().join("tests")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() && !matches!(name.as_str(), "validators" | "cache") {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                sources.push(path);
            }
        }
    }
    sources.sort();
    sources
}

/// Absolute host paths in `text` (`/usr/…`, `/bin/…`, `/lib/…`, `/sbin/…`): not those after
/// `}` or a word character, which are paths inside store paths or outputs (`${out}/lib`).
fn host_paths(text: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for prefix in ["/usr/", "/bin/", "/lib/", "/lib64/", "/sbin/"] {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || "}$/._-".contains(c)) {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._+-".contains(*c))
                .collect();
            if path.trim_end_matches('/').matches('/').count() >= 2 {
                paths.insert(path.trim_end_matches(['.', '/']).to_string());
            }
        }
    }
    paths
}

/// The sources a Nix file copies into its builds: `${./x.c}`, `${../elf/src/uring/main.c}`.
fn sources_of(nix_file: &Path, text: &str) -> Vec<PathBuf> {
    text.match_indices("${.")
        .filter_map(|(at, _)| {
            let rel = &text[at + 2..];
            let rel = &rel[..rel.find('}')?];
            let path = nix_file.parent()?.join(rel);
            path.is_file().then_some(path)
        })
        .collect()
}

/// The directories gcc looks for `#include <…>` in, in order.
fn include_dirs() -> Vec<PathBuf> {
    let output = Command::new("/usr/bin/gcc")
        .args(["-xc", "-E", "-Wp,-v", "/dev/null"])
        .output()
        .expect("gcc (apt-get install gcc)");
    let text = String::from_utf8_lossy(&output.stderr);
    text.lines()
        .skip_while(|l| !l.starts_with("#include <...>"))
        .skip(1)
        .take_while(|l| !l.starts_with("End of search list"))
        .map(|l| PathBuf::from(l.trim()))
        .collect()
}

/// The headers a C source includes, as gcc finds them: each `#include <…>` of the source
/// (which may not preprocess on its own: fixtures pass defines), then what that header
/// includes in turn (`gcc -M` on it). A header gcc cannot find is `Err`.
fn headers(source: &Path, dirs: &[PathBuf]) -> Result<BTreeSet<String>, String> {
    let text = fs::read_to_string(source).unwrap();
    let mut headers = BTreeSet::new();
    for line in text.lines() {
        let Some(name) = line
            .trim_start()
            .strip_prefix("#include <")
            .and_then(|rest| rest.split('>').next())
        else {
            continue;
        };
        let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) else {
            return Err(format!(
                "{} includes <{name}>, which is not installed: install its package and list it in tests/host-packages.txt",
                source.display()
            ));
        };
        let output = Command::new("/usr/bin/gcc")
            .args(["-M", "-xc"])
            .arg(&found)
            .output()
            .expect("gcc");
        headers.insert(found.display().to_string());
        headers.extend(
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter(|w| w.starts_with('/') && w.ends_with(".h"))
                .map(str::to_string),
        );
    }
    Ok(headers)
}

/// The commands the tests run by name (`Command::new("setpriv")`), as PATH resolves them.
fn tools_run_by_name() -> BTreeMap<String, Option<PathBuf>> {
    let mut tools = BTreeMap::new();
    for test in rust_sources()
        .into_iter()
        .filter(|t| !t.ends_with("prerequisites.rs"))
    {
        let text = fs::read_to_string(&test).unwrap();
        // `nix("nix-build")` is tests/nix.rs's Command::new with Nix's settings.
        let calls = text
            .match_indices("Command::new(\"")
            .chain(text.match_indices(" nix(\""))
            .chain(text.match_indices("(nix(\""));
        for (at, call) in calls {
            let name: String = text[at + call.len()..]
                .chars()
                .take_while(|&c| c != '"')
                .collect();
            if !name.contains('/') {
                let found = which(&name);
                tools.insert(name, found);
            }
        }
    }
    tools
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The Debian packages that own each of `paths`: the path as written, where it leads, and
/// their other spelling on a merged-/usr system (dpkg knows /bin/bash, not /usr/bin/bash).
/// One `dpkg-query` call for all of them.
fn owners(paths: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut spelled: Vec<(String, &str)> = Vec::new();
    for &path in paths {
        let mut spellings = vec![path.to_string()];
        if let Ok(canonical) = Path::new(path).canonicalize() {
            spellings.push(canonical.display().to_string());
        }
        for spelling in spellings.clone() {
            match spelling.strip_prefix("/usr") {
                Some(rest) => spellings.push(rest.to_string()),
                None => spellings.push(format!("/usr{spelling}")),
            }
        }
        spelled.extend(spellings.into_iter().map(|s| (s, path)));
    }
    let output = Command::new("dpkg-query")
        .arg("-S")
        .args(spelled.iter().map(|(s, _)| s))
        .output()
        .expect("dpkg-query");
    // A spelling may stand for several paths (/bin/bash and /usr/bin/bash).
    let mut of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (spelling, path) in &spelled {
        of.entry(spelling.as_str()).or_default().insert(path);
    }
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        // "pkg1, pkg2:amd64: /path"; "diversion by dash from: /bin/sh" names no owner.
        let Some((names, owned)) = line.rsplit_once(": ") else {
            continue;
        };
        if names.starts_with("diversion by ") {
            continue;
        }
        for &path in of.get(owned).into_iter().flatten() {
            for name in names.split(", ") {
                let name = name.split(':').next().unwrap_or(name);
                owners
                    .entry(path.to_string())
                    .or_default()
                    .insert(name.to_string());
            }
        }
    }
    owners
}

#[test]
fn every_host_file_the_tests_and_their_fixtures_read_comes_from_a_listed_package() {
    let listed = listed();
    // Each host file, with what reads it.
    let mut reads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let nix_files = test_built_nix_files();
    assert!(
        nix_files
            .iter()
            .any(|f| f.ends_with("fixtures/nix/fixtures.nix")),
        "the scan of tests/*.rs found no fixture file: {nix_files:?}"
    );
    let dirs = include_dirs();
    let mut problems = Vec::new();
    for file in &nix_files {
        let shown = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        let text = fs::read_to_string(file).unwrap();
        // What a comment names is not read.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        for path in host_paths(&code) {
            reads.entry(path).or_default().insert(shown.clone());
        }
        for source in sources_of(file, &text) {
            if source.extension().is_some_and(|x| x == "c") {
                match headers(&source, &dirs) {
                    Ok(headers) => {
                        for header in headers {
                            reads.entry(header).or_default().insert(shown.clone());
                        }
                    }
                    Err(problem) => problems.push(problem),
                }
            }
        }
    }
    // This file names the tools it checks with; they are not what the tests need.
    for test in rust_sources()
        .into_iter()
        .filter(|t| !t.ends_with("prerequisites.rs"))
    {
        let shown = test.strip_prefix(root()).unwrap().display().to_string();
        for path in host_paths(&fs::read_to_string(&test).unwrap()) {
            if Path::new(&path).exists() || path.starts_with("/usr/bin/") {
                reads.entry(path).or_default().insert(shown.clone());
            }
        }
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (tool, found) in tools_run_by_name() {
        if listed.tools.contains(&tool) {
            used.insert(format!("tool {tool}"));
            continue;
        }
        match found {
            Some(path) => {
                reads
                    .entry(path.display().to_string())
                    .or_default()
                    .insert(format!("tests run `{tool}`"));
            }
            None => problems.push(format!(
                "tests run `{tool}`, which is not installed: name its package in tests/host-packages.txt"
            )),
        }
    }
    // What is read is a file: a directory (`PATH=/usr/bin:/bin`) is not.
    reads.retain(|path, _| !Path::new(path).is_dir());
    let paths: Vec<&str> = reads.keys().map(String::as_str).collect();
    let owners = owners(&paths);
    for (path, readers) in &reads {
        let readers: Vec<&str> = readers.iter().map(String::as_str).collect();
        let Some(owners) = owners.get(path) else {
            problems.push(format!(
                "{path} (read by {}) belongs to no installed Debian package: install the one that provides it and list it in tests/host-packages.txt",
                readers.join(", ")
            ));
            continue;
        };
        for owner in owners {
            if !listed.packages.contains(owner) {
                problems.push(format!(
                    "{path} (read by {}) comes from package {owner}, which tests/host-packages.txt does not list",
                    readers.join(", ")
                ));
            }
            used.insert(owner.clone());
        }
    }
    for package in &listed.packages {
        if !used.contains(package) {
            problems.push(format!(
                "tests/host-packages.txt lists {package}, but no test or test-built fixture reads a file of it"
            ));
        }
    }
    for tool in &listed.tools {
        if !used.contains(&format!("tool {tool}")) {
            problems.push(format!(
                "tests/host-packages.txt lists tool {tool}, but no test runs it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn setup_installs_exactly_the_listed_packages() {
    let script = fs::read_to_string(root().join("tests/setup.sh")).unwrap();
    assert!(
        script.contains("tests/host-packages.txt"),
        "tests/setup.sh must install from tests/host-packages.txt"
    );
    // The list as setup.sh reads it, by running the very command it uses.
    let run = run(Command::new("bash")
        .arg(root().join("tests/setup.sh"))
        .arg("--print-packages"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed: BTreeSet<String> = run.stdout.split_whitespace().map(str::to_string).collect();
    assert_eq!(printed, listed().packages);
}

/// `major.minor` of a Rust version, as Cargo.toml and `cargo metadata` write it.
fn version(text: &str) -> (u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

#[test]
fn the_declared_rust_version_is_the_one_the_lock_file_needs() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let ours = packages.iter().find(|p| p["name"] == "stowaway").unwrap();
    let declared = version(ours["rust_version"].as_str().expect("rust-version is set"));
    let (needed, by) = packages
        .iter()
        .filter(|p| p["name"] != "stowaway")
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p["name"].as_str()?)))
        .max()
        .unwrap();
    assert_eq!(
        declared, needed,
        "Cargo.toml says rust-version {declared:?}, but {by} in Cargo.lock needs {needed:?}"
    );
}
