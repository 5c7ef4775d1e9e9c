//! Rule packs: each built-in pack rule names the findings it should on a real artefact, and
//! leaves the others to less specific rules. The artefacts were built by Nix with real
//! toolchains (fixtures/rules/README.md, fixtures/elf/README.md).

use std::fs;

use serde_json::Value;

use crate::util::*;

/// Audits a fixture (under fixtures/) with its saved closure, if it has one.
fn audit(path: &str) -> Value {
    let target = fixtures().join(path);
    let info = fixtures().join(format!("{path}.closure.json"));
    let mut args = vec![target.to_str().unwrap().to_string()];
    if info.exists() {
        args.extend([
            "--closure-info".to_string(),
            info.to_str().unwrap().to_string(),
        ]);
    }
    let run = check_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        run.code == 0 || run.code == 1,
        "{path}: exit {}: {}",
        run.code,
        run.stderr
    );
    run.json()
}

/// The rule of every finding, with the package it is about.
fn rules(report: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["reference"]["package"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

fn has(report: &Value, rule: &str) -> bool {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == rule)
}

#[test]
fn openssl_sysconfdir_names_openssldir_and_nothing_else() {
    for path in [
        "app-static",
        "elf/static-pie/static-pie",
        "elf/archive/libembed.a",
    ] {
        let report = audit(path);
        assert!(
            rules(&report).contains(&("openssl-sysconfdir".into(), "openssl".into())),
            "{path}: {:?}",
            rules(&report)
        );
    }
    // zlib's lib directory and the diamond's libraries are plain references.
    assert!(rules(&audit("elf/archive/libembed.a"))
        .contains(&("store-reference".into(), "zlib".into())));
    assert!(!has(&audit("diamond"), "openssl-sysconfdir"));
}

#[test]
fn haskell_paths_module_is_recognised_with_and_without_symbols() {
    for path in ["elf/ghc-paths/warp-app", "elf/ghc-paths/warp-app.stripped"] {
        let target = fixtures().join(path);
        let info = fixtures().join("elf/ghc-paths/warp-app.closure.json");
        let report = check_json(&[
            target.to_str().unwrap(),
            "--closure-info",
            info.to_str().unwrap(),
        ])
        .json();
        assert_eq!(
            rules(&report),
            [("haskell-paths-module".to_string(), "warp-lite".to_string())],
            "{path}"
        );
        let fix = report["findings"][0]["fix"].as_str().unwrap();
        assert!(fix.contains("-split-sections"), "{fix}");
    }
    assert!(!has(&audit("app-static"), "haskell-paths-module"));
}

#[test]
fn toolchain_paths_are_told_apart() {
    assert_eq!(
        rules(&audit("rules/c-file-macro")),
        [("c-source-path".to_string(), "logger.c".to_string())]
    );
    assert_eq!(
        rules(&audit("rules/rust-panic-path")),
        [("rust-source-path".to_string(), "rustpanic".to_string())]
    );
    assert_eq!(
        rules(&audit("rules/go-goroot")),
        [("go-goroot".to_string(), "go".to_string())]
    );
    // The C source only in debug sections is the cheap kind of reference, not __FILE__.
    assert_eq!(
        rules(&audit("rules/debug-only")),
        [(
            "debug-only-reference".to_string(),
            "debugonly.c".to_string()
        )]
    );
}

#[test]
fn debug_only_needs_every_place_to_be_unloaded() {
    // hi.c's hash sits only in .strtab: debug-only. logger.c is also in .rodata: not.
    assert!(has(&audit("bare-hash"), "debug-only-reference"));
    assert!(!has(&audit("rules/c-file-macro"), "debug-only-reference"));
    let report = audit("rules/debug-only");
    let fix = report["findings"][0]["fix"].as_str().unwrap();
    assert!(fix.contains("separateDebugInfo"), "{fix}");
}

#[test]
fn text_files_shebangs_and_build_metadata() {
    let report = audit("rules/text-files");
    let found = rules(&report);
    assert!(
        found.contains(&("store-shebang".into(), "bash".into())),
        "{found:?}"
    );
    // The output's own path sits in three files of three kinds: three rules.
    for rule in ["libtool-archive", "pkg-config-file", "cmake-config-file"] {
        assert!(
            found.contains(&(rule.into(), "text-files".into())),
            "{rule}: {found:?}"
        );
    }
    assert!(has(&audit("script"), "store-shebang"));
    // A shebang and a path a script prints at run time are errors; build metadata only
    // warns, even for a path the script names too (foo-headers).
    for finding in report["findings"].as_array().unwrap() {
        let file = finding["locations"][0]["file"].as_str().unwrap();
        let expected = if file == "bin/tool" {
            "error"
        } else {
            "warning"
        };
        assert_eq!(finding["severity"], expected, "{finding}");
        let files: Vec<&str> = finding["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["file"].as_str().unwrap())
            .collect();
        assert!(
            files.iter().all(|f| *f == file),
            "one file per rule here: {files:?}"
        );
    }
    assert_eq!(
        rules(&report)
            .iter()
            .filter(|(_, package)| package == "foo-headers")
            .count(),
        3,
        "foo-headers: the script's echo, the .pc and the .cmake file: {found:?}"
    );
}

/// Issue 11: an output's own path in a script, a `.la` and a `.pc` file was one
/// `libtool-archive` finding, so the script line and the `.pc` file were reported as libtool
/// archives. The rule is chosen per file: three files, three rules, in every format, the
/// baseline and `diff`.
#[test]
fn one_path_in_three_kinds_of_file_gives_three_rules_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = "/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-text-demo-1.0";
    fs::create_dir_all(dir.path().join("bin")).unwrap();
    fs::create_dir_all(dir.path().join("lib/pkgconfig")).unwrap();
    fs::write(
        dir.path().join("bin/demo"),
        format!("# a shell script of the output\necho \"running from {store_path}\"\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("lib/libdemo.la"),
        format!("# libdemo.la\ndlname='libdemo.so.1'\nlibdir='{store_path}/lib'\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("lib/pkgconfig/demo.pc"),
        format!("prefix={store_path}\nlibdir=${{prefix}}/lib\n\nName: demo\n"),
    )
    .unwrap();
    let target = dir.path().to_str().unwrap();
    let report = check_json(&[target]).json();
    let by_file: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["locations"][0]["file"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = by_file.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("bin/demo".to_string(), "store-reference".to_string()),
            ("lib/libdemo.la".to_string(), "libtool-archive".to_string()),
            (
                "lib/pkgconfig/demo.pc".to_string(),
                "pkg-config-file".to_string()
            ),
        ]
    );
    assert_eq!(
        report["summary"]["references"], 1,
        "one path, three findings"
    );
    assert_eq!(report["summary"]["unknown_size_references"], 1);
    // SARIF: three results, one rule each; GitHub: three annotations.
    let sarif: Value =
        serde_json::from_str(&run(stowaway().args(["check", target, "--format", "sarif"])).stdout)
            .unwrap();
    let mut rule_ids: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    rule_ids.sort();
    assert_eq!(
        rule_ids,
        ["libtool-archive", "pkg-config-file", "store-reference"]
    );
    let github = run(stowaway().args(["check", target, "--format", "github"])).stdout;
    for (file, rule) in &by_file {
        assert!(
            github.lines().any(|l| l.contains(&format!("/{file},"))
                && l.contains(&format!("title=stowaway {rule}%3A"))),
            "{file} {rule}:\n{github}"
        );
    }
    // The baseline records three entries; accepting it accepts all three.
    let saved = tempfile::tempdir().unwrap();
    let baseline = saved.path().join("baseline.json");
    let written = run(stowaway()
        .args(["check", target, "--format", "json", "--write-baseline"])
        .arg(&baseline));
    assert_eq!(written.code, 1);
    let entries = read_json(&baseline)["entries"].as_array().unwrap().clone();
    let mut recorded: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    recorded.sort();
    assert_eq!(recorded, sorted);
    let accepted = run(stowaway()
        .args(["check", target, "--format", "json", "--baseline"])
        .arg(&baseline));
    assert_eq!(accepted.code, 0, "{}", accepted.stdout);
    // diff: removing the .pc file removes exactly the pkg-config-file finding.
    let before = saved.path().join("before.json");
    fs::write(&before, &check_json(&[target]).stdout).unwrap();
    fs::remove_file(dir.path().join("lib/pkgconfig/demo.pc")).unwrap();
    let diff: Value = serde_json::from_str(
        &run(stowaway()
            .args(["diff", "--format", "json"])
            .arg(&before)
            .arg(target))
        .stdout,
    )
    .unwrap();
    let removed: Vec<&str> = diff["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["pkg-config-file"]);
    assert!(diff["added"].as_array().unwrap().is_empty(), "{diff}");
}

#[test]
fn the_most_specific_rule_wins_and_user_packs_extend_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A user rule more specific than openssl-sysconfdir (three conditions against two).
    fs::write(
        dir.path().join("mine.toml"),
        r#"
[[rule]]
id = "our-openssl-in-app"
refines = "store-reference"
severity = "warn"
title = "Our app's OpenSSL directory, accepted until the next release"
explanation = "Tracked in our issue 123."
fix = "none yet"
links = []
[rule.match]
package = ["openssl"]
subpath = ["/etc/ssl"]
file = ["bin/app"]
"#,
    )
    .unwrap();
    let target = fixture("app-static");
    let run = check_json(&[
        target.to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "a warn rule does not fail: {}", run.stdout);
    assert_eq!(run.json()["findings"][0]["rule"], "our-openssl-in-app");
    let listed = run_rules(dir.path());
    assert!(listed.contains("our-openssl-in-app"), "{listed}");
}

fn run_rules(dir: &std::path::Path) -> String {
    run(stowaway().arg("rules").arg("--rules").arg(dir)).stdout
}

#[test]
fn broken_rule_packs_exit_2_listing_every_problem_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.toml"),
        "[[rule]]\nid = \"x\"\nseverity = \"deny\"\ntitel = \"typo\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("b.toml"),
        "[[rule]]\nid = \"store-shebang\"\nrefines = \"store-reference\"\nseverity = \"deny\"\ntitle = \"t\"\nexplanation = \"e\"\nfix = \"f\"\nlinks = []\n[rule.match]\nfile = [\"a[\"]\n",
    )
    .unwrap();
    let run = check_json(&[
        fixture("script").to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("4 problems in the rules"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("a.toml:4:1: unknown key `titel`")
            && run.stderr.contains("a.toml:1:1: missing field `title`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("b.toml:2:6: rule \"store-shebang\" is also defined in rules/text.toml:4:6"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("bad glob \"a[\""), "{}", run.stderr);
}

#[test]
fn a_condition_that_never_matches_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("odd.toml"),
        "[[rule]]\nid = \"odd\"\nrefines = \"store-reference\"\nseverity = \"deny\"\ntitle = \"t\"\nexplanation = \"e\"\nfix = \"f\"\nlinks = []\n[rule.match]\nsection = [\"rodata\"]\n",
    )
    .unwrap();
    let run = check_json(&[
        fixture("script").to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("stowaway: warning: ") && run.stderr.contains("can never match"),
        "{}",
        run.stderr
    );
}

#[test]
fn compilers_ghc_and_sysconfdir_paths_baked_in_at_build_time() {
    let tool = rules(&audit("rules/compiler-paths"));
    assert_eq!(
        tool,
        [
            ("compiler-reference".to_string(), "gcc".to_string()),
            ("ghc-reference".into(), "ghc".into())
        ]
    );
    assert_eq!(
        rules(&audit("rules/pg-client")),
        [("sysconfdir-path".to_string(), "libpq".to_string())]
    );
    // OpenSSL's directory is the more specific rule; GHC's Paths_ module claims its own etc.
    assert!(!has(&audit("app-static"), "sysconfdir-path"));
    let ghc = audit("elf/ghc-paths/warp-app");
    assert!(has(&ghc, "haskell-paths-module") && !has(&ghc, "sysconfdir-path"));
    assert!(!has(&audit("diamond"), "compiler-reference"));
}

#[test]
fn rules_can_ask_what_the_file_is_and_which_libraries_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    fs::create_dir(&pack).unwrap();
    fs::write(
        pack.join("whole-file.toml"),
        r#"
[[rule]]
id = "path-in-static-pie"
refines = "store-reference"
severity = "warn"
title = "t"
explanation = "e"
fix = "f"
links = []
[rule.match]
file_kind = ["static-pie"]
package = ["openssl"]
section = [".rodata"]

[[rule]]
id = "path-next-to-jemalloc"
refines = "store-reference"
severity = "warn"
title = "t"
explanation = "e"
fix = "f"
links = []
[rule.match]
library = ["jemalloc"]
anchor = ["store-dir"]
"#,
    )
    .unwrap();
    let pack = pack.to_str().unwrap();
    let check = |path: &std::path::Path| -> Vec<(String, String)> {
        let report = check_json(&[path.to_str().unwrap(), "--rules", pack]).json();
        rules(&report)
    };
    let pie = check(&fixtures().join("elf/static-pie/static-pie"));
    assert_eq!(
        pie,
        [("path-in-static-pie".to_string(), "openssl".to_string())]
    );
    let plain_static = check(&fixtures().join("app-static/bin/app"));
    assert_eq!(
        plain_static,
        [("openssl-sysconfdir".to_string(), "openssl".to_string())]
    );
    // A real static program with jemalloc in it, and the same path appended to it and to one
    // without jemalloc.
    let path = b"\0/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-plugins-1.0/lib\0";
    for (name, source) in [
        ("with", "elf/jemalloc-c-static/jemalloc-c-static"),
        ("without", "hello-static/bin/hello"),
    ] {
        let mut bytes = fs::read(fixtures().join(source)).unwrap();
        bytes.extend_from_slice(path);
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    assert_eq!(
        check(&dir.path().join("with")),
        [("path-next-to-jemalloc".to_string(), "plugins".to_string())]
    );
    // Appended bytes lie outside every loaded segment: without jemalloc, that is all it is.
    assert_eq!(
        check(&dir.path().join("without")),
        [("debug-only-reference".to_string(), "plugins".to_string())]
    );
}

#[test]
fn rules_can_ask_for_text_anywhere_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("strings.toml"),
        r#"
[[rule]]
id = "openssldir-printed"
refines = "store-reference"
severity = "warn"
title = "t"
explanation = "e"
fix = "f"
links = []
[rule.match]
package = ["openssl"]
subpath = ["/etc/*"]
strings = ["OPENSSLDIR"]
"#,
    )
    .unwrap();
    let pack = dir.path().to_str().unwrap();
    let check = |path: &std::path::Path| {
        rules(&check_json(&[path.to_str().unwrap(), "--rules", pack]).json())
    };
    // app-static prints "OPENSSLDIR: …"; static-pie names the same directory without the word.
    assert_eq!(
        check(&fixtures().join("app-static/bin/app")),
        [("openssldir-printed".to_string(), "openssl".to_string())]
    );
    assert_eq!(
        check(&fixtures().join("elf/static-pie/static-pie")),
        [("openssl-sysconfdir".to_string(), "openssl".to_string())]
    );
}

/// Issue 11: OpenSSL's configuration directory is recognised by the `etc` output's name and by
/// the `OPENSSLDIR:` that introduces it, whatever its subpath; ENGINESDIR and MODULESDIR into
/// `out` are a rule of their own, and `explain` says which.
#[test]
fn openssl_sysconfdir_by_output_and_excerpt_and_module_dirs_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, out, unsplit) = (
        "/nix/store/1b4m8n2q5r7s9v0w3x6y1z4a7c9d2f5g-openssl-3.6.3-etc",
        "/nix/store/yfqnqgyp8z830l3yf8pa8nglgapq7yk1-openssl-3.6.3",
        "/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-libressl-4.0.0",
    );
    let source = dir.path().join("tls.c");
    fs::write(
        &source,
        format!(
            r#"#include <stdio.h>
const char *dir = "OPENSSLDIR: \"{etc}/ssl\"";
const char *engines = "ENGINESDIR: \"{out}/lib/engines-3\"";
const char *cnf = "OPENSSLDIR: \"{unsplit}/share/ssl\"";
int main(void) {{ puts(dir); puts(engines); puts(cnf); return 0; }}
"#
        ),
    )
    .unwrap();
    let built = std::process::Command::new("/usr/bin/gcc")
        .args(["-O2", "-o"])
        .arg(dir.path().join("tls"))
        .arg(&source)
        .status()
        .expect("gcc");
    assert!(built.success());
    fs::remove_file(&source).unwrap();
    let report = check_json(&[dir.path().to_str().unwrap()]).json();
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["reference"]["store_path"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (unsplit.to_string(), "openssl-sysconfdir".to_string()),
            (etc.to_string(), "openssl-sysconfdir".to_string()),
            (out.to_string(), "openssl-module-dir".to_string()),
        ]
    );
    let explained = run(stowaway().args(["explain", "openssl-sysconfdir"])).stdout;
    assert!(
        explained.contains("ENGINESDIR and MODULESDIR")
            && explained.contains("`openssl-module-dir`"),
        "{explained}"
    );
}
