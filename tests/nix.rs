//! Agreement with Nix: outputs built on the spot by the real `nix-build` (Debian's nix-bin,
//! no sandbox) from fixtures/nix/fixtures.nix. For each, the store paths stowaway reports
//! must equal `nix-store --query --references` and the sizes must equal `nix path-info`,
//! whether stowaway asks `nix` or measures the store on disk. Nix must be installed: a
//! missing `nix` fails these tests, it never skips them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::util::*;

/// The outputs audited here, by attribute of fixtures.nix.
const AUDITED: [&str; 9] = [
    "app-static",
    "hello-static",
    "script",
    "links",
    "nuked",
    "bare-hash",
    "diamond",
    "selfref",
    "named",
];

const NIX_CONFIG: &str =
    "sandbox = false\nbuild-users-group =\nsubstituters =\nexperimental-features = nix-command flakes";

pub fn nix(program: &str) -> Command {
    let mut command = Command::new(program);
    if std::env::var_os("NIX_CONFIG").is_none() {
        command.env("NIX_CONFIG", NIX_CONFIG);
    }
    command
}

pub fn stdout_of(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (nix is required: apt-get install nix-bin)"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Builds every audited attribute once per test run; returns attribute → output path.
fn outputs() -> &'static BTreeMap<String, String> {
    static OUTPUTS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    OUTPUTS.get_or_init(|| {
        let file = fixtures().join("nix/fixtures.nix");
        let mut command = nix("nix-build");
        command.arg(&file).arg("--no-out-link");
        for attr in AUDITED {
            command.args(["-A", attr]);
        }
        let paths: Vec<String> = stdout_of(&mut command)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(paths.len(), AUDITED.len(), "{paths:?}");
        AUDITED.iter().map(|a| a.to_string()).zip(paths).collect()
    })
}

fn references(path: &str) -> BTreeSet<String> {
    stdout_of(nix("nix-store").args(["--query", "--references", path]))
        .lines()
        .filter(|r| *r != path)
        .map(str::to_string)
        .collect()
}

/// `nix path-info --json --recursive --closure-size`, by path.
fn path_infos(path: &str) -> BTreeMap<String, Value> {
    let text =
        stdout_of(nix("nix").args(["path-info", "--json", "--recursive", "--closure-size", path]));
    match serde_json::from_str(&text).expect("path-info JSON") {
        Value::Array(entries) => entries
            .into_iter()
            .map(|e| (e["path"].as_str().unwrap().to_string(), e))
            .collect(),
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("unexpected path-info: {other}"),
    }
}

/// Runs the audit of `path`; with `disk`, `nix` is hidden from PATH so sizes come from disk.
fn audit(path: &str, disk: bool) -> Value {
    let empty = tempfile::tempdir().unwrap();
    let mut command = stowaway();
    command.args(["check", "--format", "json", path]);
    if disk {
        command.env("PATH", empty.path());
    }
    let run = run(&mut command);
    assert!(
        run.code == 0 || run.code == 1,
        "{path}: exit {}: {}",
        run.code,
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["complete"], true);
    report
}

/// Live references of a report (not nuked, not the output itself) → (finding).
fn live<'a>(report: &'a Value, output: &str) -> BTreeMap<String, &'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reference"]["nuked"] == false)
        .filter(|f| f["reference"]["store_path"] != output)
        .map(|f| {
            (
                f["reference"]["store_path"].as_str().unwrap().to_string(),
                f,
            )
        })
        .collect()
}

fn agree(disk: bool) -> usize {
    let source = if disk { "disk" } else { "nix" };
    let mut compared = 0;
    for (attr, output) in outputs() {
        let report = audit(output, disk);
        let expected = references(output);
        let found = live(&report, output);
        assert_eq!(
            found.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{attr}: references differ ({source})"
        );
        let infos = path_infos(output);
        assert_eq!(
            report["summary"]["closure_bytes"], infos[output]["closureSize"],
            "{attr}: closure ({source})"
        );
        for (path, finding) in &found {
            assert_eq!(finding["size"]["source"], source, "{attr}: {path}");
            assert_eq!(
                finding["size"]["closure_bytes"], infos[path]["closureSize"],
                "{attr}: {path} ({source})"
            );
            compared += 1;
        }
        let expected_verdict = if expected.is_empty() { "pass" } else { "fail" };
        assert_eq!(report["verdict"], expected_verdict, "{attr}");
    }
    compared
}

#[test]
fn references_and_sizes_equal_what_nix_reports() {
    let compared = agree(false);
    assert!(compared >= 7, "compared {compared} references");
}

#[test]
fn the_store_on_disk_gives_the_same_references_and_sizes_as_nix() {
    let compared = agree(true);
    assert!(compared >= 7, "compared {compared} references");
}

#[test]
fn exclusive_sizes_match_the_graph_nix_reports() {
    let output = &outputs()["diamond"];
    let infos = path_infos(output);
    let nar = |suffix: &str| {
        infos
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .map(|(_, e)| e["narSize"].as_u64().unwrap())
            .unwrap()
    };
    let report = audit(output, false);
    let exclusive: BTreeMap<String, u64> = live(&report, output)
        .values()
        .map(|f| {
            (
                f["reference"]["package"].as_str().unwrap().to_string(),
                f["size"]["exclusive_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(exclusive["liba"], nar("-liba-1.0"));
    assert_eq!(exclusive["libb"], nar("-libb-1.0"));
    assert_eq!(exclusive["solo"], nar("-solo-0.3") + nar("-deep-2.0"));
    assert_eq!(
        report["summary"]["closure_bytes_without_failing"],
        nar("-diamond-1.0"),
        "removing every failing reference leaves the output alone"
    );
}

#[test]
fn a_self_reference_costs_nothing_and_never_fails() {
    let output = &outputs()["selfref"];
    let report = audit(output, false);
    let own: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reference"]["store_path"] == output.as_str())
        .collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["severity"], "info");
    assert_eq!(own[0]["size"]["exclusive_bytes"], 0);
    // With bash allowed, the self-reference alone passes.
    let run = run(stowaway().args(["check", "--format", "json", "--allow", "bash", output]));
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn result_symlink_left_by_nix_build_is_audited_as_its_store_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures().join("nix/fixtures.nix");
    stdout_of(
        nix("nix-build")
            .current_dir(dir.path())
            .arg(&file)
            .args(["-A", "app-static"]),
    );
    assert!(Path::new(&dir.path().join("result")).exists());
    let run = run(stowaway()
        .current_dir(dir.path())
        .args(["check", "--format", "json"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let output = &outputs()["app-static"];
    assert_eq!(report["targets"][0], "result");
    assert_eq!(
        report["summary"]["closure_bytes"],
        path_infos(output)[output.as_str()]["closureSize"]
    );
    assert_eq!(
        findings(&report, "store-reference")[0]["size"]["source"],
        "nix"
    );
}

#[test]
fn a_shared_copy_found_through_a_store_runpath_is_read_from_disk() {
    let file = fixtures().join("nix/fixtures.nix");
    let output =
        stdout_of(
            nix("nix-build")
                .arg(&file)
                .args(["--no-out-link", "-A", "uring-store-runpath"]),
        );
    let output = output.trim();
    let report = audit(output, false);
    let finding = findings(&report, "mixed-linkage")[0];
    let shared = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["linkage"] == "shared")
        .expect("a shared copy");
    let object = shared["object"].as_str().unwrap();
    assert!(
        object.starts_with("/nix/store/") && object.ends_with("-liburing-2.3/lib/liburing.so.2"),
        "{object}"
    );
    assert!(
        !shared["symbols"].as_array().unwrap().is_empty(),
        "read from disk: its own symbols show it"
    );
    // The RUNPATH into the store is a reference of its own.
    assert_eq!(
        findings(&report, "dynamic-linkage")[0]["locations"][0]["section"],
        ".dynstr"
    );
}

/// Issue 11: nixpkgs' static OpenSSL puts OPENSSLDIR (and ENGINESDIR) in its `etc` output
/// and nukes what is left of `out`; a program linked with it names both.
#[test]
fn openssl_directories_in_the_layout_nixpkgs_builds() {
    let file = fixtures().join("nix/fixtures.nix");
    let output = stdout_of(
        nix("nix-build")
            .arg(&file)
            .args(["--no-out-link", "-A", "tls-static"]),
    );
    let report = audit(output.trim(), false);
    let sysconfdir = findings(&report, "openssl-sysconfdir");
    assert_eq!(sysconfdir.len(), 1, "{report}");
    let etc = &sysconfdir[0]["reference"];
    assert_eq!(etc["package"], "openssl");
    assert_eq!(etc["output"], "etc");
    assert_eq!(etc["static"], true);
    assert_eq!(etc["platform"], "x86_64-unknown-linux-musl");
    assert!(
        references(output.trim()).contains(etc["store_path"].as_str().unwrap()),
        "the etc output is a real reference of the program"
    );
    let subpaths: Vec<&str> = sysconfdir[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["subpath"].as_str().unwrap())
        .collect();
    assert_eq!(
        subpaths,
        ["/etc/ssl/engines-3", "/etc/ssl"],
        "ENGINESDIR, then OPENSSLDIR"
    );
    // MODULESDIR into `out`, nuked as remove-references-to left it: information only.
    let nuked = findings(&report, "nuked-reference");
    assert_eq!(nuked.len(), 1, "{report}");
    assert_eq!(nuked[0]["reference"]["output"], "out");
    assert_eq!(nuked[0]["locations"][0]["subpath"], "/lib/ossl-modules");
    assert!(findings(&report, "openssl-module-dir").is_empty());
}

#[test]
fn diff_of_two_nix_builds_prices_the_growth_with_nix_path_info() {
    let (old, new) = (&outputs()["hello-static"], &outputs()["app-static"]);
    let run = run(stowaway().args(["diff", old, new, "--format", "json"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let diff = run.json();
    let closure = |path: &str| path_infos(path)[path]["closureSize"].as_i64().unwrap();
    assert_eq!(
        diff["closure_delta"].as_i64().unwrap(),
        closure(new) - closure(old)
    );
    let grown = &diff["explains_growth"];
    let referenced = grown["reference"]["store_path"].as_str().unwrap();
    assert!(references(new).contains(referenced), "{referenced}");
    assert_eq!(
        grown["size"]["closure_bytes"].as_i64().unwrap(),
        closure(referenced)
    );
}
