//! `lib.mkCheck` (nix/mkcheck.nix) built by the real `nix-build`, with the stowaway binary
//! just built as the builder: a package that embeds another store path fails its check with
//! the finding and its size in the log; a clean one passes with the JSON report in `$out`;
//! bad arguments and broken targets fail with errors that name them. A missing `nix` fails
//! these tests, it never skips them.

use std::process::{Command, Output};

use serde_json::Value;

use crate::nix::{nix, stdout_of};
use crate::util::*;

/// `nix-build fixtures/nix/mkcheck.nix -A attr` with this build's stowaway.
fn build(attr: &str) -> Command {
    let mut command = nix("nix-build");
    command
        .arg(fixtures().join("nix/mkcheck.nix"))
        .args(["--argstr", "stowawayBin", env!("CARGO_BIN_EXE_stowaway")])
        .args(["--no-out-link", "-A", attr]);
    command
}

/// The derivation of attribute `attr`, as `nix-instantiate` evaluates it.
fn drv_of(attr: &str) -> String {
    stdout_of(
        nix("nix-instantiate")
            .arg(fixtures().join("nix/mkcheck.nix"))
            .args(["--argstr", "stowawayBin", env!("CARGO_BIN_EXE_stowaway")])
            .args(["-A", attr]),
    )
    .trim()
    .to_string()
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (nix is required: apt-get install nix-bin)"))
}

fn closure_size(path: &str) -> u64 {
    let info: Value = serde_json::from_str(&stdout_of(nix("nix").args([
        "path-info",
        "--json",
        "--closure-size",
        path,
    ])))
    .unwrap();
    let entry = match &info {
        Value::Array(entries) => &entries[0],
        Value::Object(map) => map.values().next().unwrap(),
        _ => panic!("{info}"),
    };
    entry["closureSize"].as_u64().unwrap()
}

#[test]
fn a_package_that_embeds_a_store_path_fails_its_check_with_the_finding_and_its_size() {
    let etc = stdout_of(&mut build("etc")).trim().to_string();
    let out = output(&mut build("leaky-check"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the check must fail:\n{log}");
    assert!(
        log.contains("error[openssl-sysconfdir] openssl (3.0.12, output etc)"),
        "{log}"
    );
    assert!(log.contains(&format!("path     {etc}")), "{log}");
    let size = stowaway::units::human_bytes(closure_size(&etc));
    assert!(
        log.contains(&format!("saves {size} if removed; its closure is {size}")),
        "the size Nix gave the builder, {size}, is in the log:\n{log}"
    );
    assert!(
        log.contains("stowaway-check-leaky-1.0.drv' failed with exit code 1"),
        "{log}"
    );
    // The exported graph has no derivers: the audited package's comes from mkCheck.
    let leaky = stdout_of(&mut build("leaky")).trim().to_string();
    assert!(
        log.contains(&format!("audited {leaky} (deriver {})", drv_of("leaky"))),
        "{log}"
    );
}

#[test]
fn a_clean_package_passes_with_the_json_report_in_out() {
    let check = stdout_of(&mut build("clean-check")).trim().to_string();
    let report = read_json(&std::path::Path::new(&check).join("report.json"));
    assert_eq!(report["schema"], "stowaway.report/1");
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["complete"], true);
    let clean = stdout_of(&mut build("clean")).trim().to_string();
    assert_eq!(report["targets"], Value::from(vec![clean.clone()]));
    assert_eq!(
        report["target_derivers"],
        serde_json::json!([{ "target": clean, "deriver": drv_of("clean") }])
    );
    assert_eq!(
        report["summary"]["closure_bytes"].as_u64().unwrap(),
        closure_size(&clean)
    );
}

#[test]
fn a_policy_file_given_to_mkcheck_is_applied() {
    let check = stdout_of(&mut build("allowed-check")).trim().to_string();
    let report = read_json(&std::path::Path::new(&check).join("report.json"));
    assert_eq!(report["verdict"], "pass");
    let finding = &findings(&report, "store-reference")[0];
    assert_eq!(finding["severity"], "info");
    assert_eq!(finding["reference"]["package"], "openssl");
}

#[test]
fn a_target_that_fails_to_build_is_named() {
    let out = output(&mut build("broken-check"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        log.contains("broken-1.0.drv' failed with exit code 3"),
        "{log}"
    );
    assert!(log.contains("this build fails on purpose"), "{log}");
}

#[test]
fn something_that_is_not_a_derivation_is_an_evaluation_error_that_says_so() {
    for (attr, says) in [
        (
            "not-a-derivation",
            "stowaway.lib.mkCheck: `package` must be a derivation, got string",
        ),
        (
            "attrs-not-a-derivation",
            "stowaway.lib.mkCheck: `package` must be a derivation, got an attribute set with attributes name",
        ),
    ] {
        let out = output(&mut build(attr));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(log.contains(says), "{attr}: {log}");
    }
}

#[test]
fn outside_a_nix_build_the_builder_mode_says_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(stowaway()
        .current_dir(dir.path())
        .env_remove("NIX_ATTRS_JSON_FILE")
        .args(["check", "--nix-builder", "."]));
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "the derivation needs __structuredAttrs = true");
}

/// The flake's `lib.mkCheck`, used from another flake's `checks` by `nix flake check`.
/// There is no nixpkgs here, so the flake's nixpkgs input follows an empty stub flake: the
/// rest of the flake (packages built with nixpkgs) is not evaluated, `lib.mkCheck` is.
#[test]
fn the_flakes_lib_mkcheck_runs_in_another_flakes_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (stub, flake, consumer) = (
        dir.path().join("stub"),
        dir.path().join("stowaway"),
        dir.path().join("consumer"),
    );
    for d in [&stub, &flake, &consumer, &flake.join("nix")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(stub.join("flake.nix"), "{ outputs = _: { }; }\n").unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["flake.nix", "Cargo.toml", "nix/mkcheck.nix"] {
        std::fs::copy(root.join(file), flake.join(file)).unwrap();
    }
    let targets = fixtures().join("nix/mkcheck.nix");
    std::fs::write(
        consumer.join("flake.nix"),
        format!(
            r#"{{
  inputs.nixpkgs.url = "path:{stub}";
  inputs.stowaway.url = "path:{flake}";
  inputs.stowaway.inputs.nixpkgs.follows = "nixpkgs";
  outputs = {{ self, nixpkgs, stowaway }}:
    let t = import {targets} {{ stowawayBin = {bin}; }};
    in {{
      checks.x86_64-linux = {{
        clean = stowaway.lib.mkCheck {{ package = t.clean; stowaway = t.stowaway; }};
        leaky = stowaway.lib.mkCheck {{ package = t.leaky; stowaway = t.stowaway; }};
      }};
    }};
}}
"#,
            stub = stub.display(),
            flake = flake.display(),
            targets = targets.display(),
            bin = env!("CARGO_BIN_EXE_stowaway"),
        ),
    )
    .unwrap();
    let flake_check = output(nix("nix").current_dir(&consumer).args([
        "flake",
        "check",
        "--impure",
        "--keep-going",
        "--print-build-logs",
    ]));
    let log = String::from_utf8_lossy(&flake_check.stderr);
    assert!(!flake_check.status.success(), "{log}");
    assert!(
        log.contains("error[openssl-sysconfdir] openssl (3.0.12, output etc)"),
        "{log}"
    );
    assert!(log.contains("stowaway-check-leaky-1.0.drv"), "{log}");
    let built: Value = serde_json::from_str(&stdout_of(nix("nix").current_dir(&consumer).args([
        "build",
        "--impure",
        "--no-link",
        "--json",
        ".#checks.x86_64-linux.clean",
    ])))
    .unwrap();
    let out = built[0]["outputs"]["out"].as_str().unwrap();
    let report = read_json(&std::path::Path::new(out).join("report.json"));
    assert_eq!(report["verdict"], "pass");
}
