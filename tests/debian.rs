//! Library identity on real systems (issue 11): real, unmodified Debian binaries
//! (fixtures/debian, see its README), programs gcc linked against Debian's OpenSSL, and two
//! OpenSSL store paths in one process as Nix builds them (fixtures/nix/openssl-twice.nix).
//! libssl and libcrypto are two parts of one OpenSSL, never "twice in the process"; one
//! part twice is the fault, with the evidence of each copy.

use std::path::PathBuf;

use serde_json::Value;

use crate::nix::{nix, stdout_of};
use crate::util::*;

const LINKAGE: [&str; 3] = ["duplicate-library", "mixed-linkage", "duplicate-allocator"];

fn debian(path: &str) -> String {
    fixture(&format!("debian/{path}"))
        .to_str()
        .unwrap()
        .to_string()
}

fn linkage_findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| LINKAGE.iter().any(|kind| f["kind"] == *kind))
        .collect()
}

/// What a file of the report holds: (library, part, flavour, versioned).
fn parts_of(report: &Value, file: &str) -> Vec<(String, String, String, bool)> {
    let binary = report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not a binary of the report"));
    binary["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["library"].as_str().unwrap().to_string(),
                l["part"].as_str().unwrap().to_string(),
                l["flavour"].as_str().unwrap_or("?").to_string(),
                !l["versioned"].as_array().unwrap().is_empty(),
            )
        })
        .collect()
}

#[test]
fn debian_openssl_curl_and_a_program_linked_with_lssl_lcrypto_have_no_linkage_finding() {
    for target in ["usr", "tls"] {
        let run = check_json(&[&debian(target)]);
        assert_eq!(run.code, 0, "{target}: {}", run.stdout);
        let report = run.json();
        assert!(
            linkage_findings(&report).is_empty(),
            "{target}: {:#?}",
            linkage_findings(&report)
        );
    }
    let report = check_json(&[&debian("usr")]).json();
    // The shared parts are themselves, shown by their sonames and symbol versions.
    let crypto = "lib/x86_64-linux-gnu/libcrypto.so.3";
    let ssl = "lib/x86_64-linux-gnu/libssl.so.3";
    assert_eq!(
        parts_of(&report, crypto),
        [("openssl".into(), "libcrypto".into(), "3".into(), true)]
    );
    assert_eq!(
        parts_of(&report, ssl),
        [("openssl".into(), "libssl".into(), "3".into(), true)]
    );
    // The openssl tool holds a version banner and imports: no copy of OpenSSL at all.
    assert_eq!(parts_of(&report, "bin/openssl"), []);
    assert_eq!(parts_of(&report, "bin/curl"), []);
}

#[test]
fn a_static_libcrypto_with_a_shared_one_through_a_library_is_mixed_linkage_of_that_part() {
    let run = check_json(&[&debian("mixed")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = run.json();
    let found = linkage_findings(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    let mixed = found[0];
    assert_eq!(mixed["kind"], "mixed-linkage");
    assert_eq!(
        mixed["message"],
        "openssl (libcrypto) is linked statically and also loaded dynamically in bin/mixed (2 copies)"
    );
    let evidence = mixed["evidence"].as_array().unwrap();
    let static_copy = evidence.iter().find(|e| e["linkage"] == "static").unwrap();
    assert_eq!(static_copy["object"], "bin/mixed");
    assert_eq!(static_copy["part"], "libcrypto");
    assert_eq!(
        static_copy["symbols"],
        serde_json::json!(["OPENSSL_init_crypto", "CRYPTO_malloc"])
    );
    assert_eq!(
        static_copy["strings"],
        serde_json::json!(["OPENSSL_MODULES", "OpenSSL Base Provider"])
    );
    let shared = evidence.iter().find(|e| e["linkage"] == "shared").unwrap();
    assert_eq!(shared["object"], "lib/libcrypto.so.3");
    assert_eq!(shared["soname"], "libcrypto.so.3");
    assert_eq!(
        shared["needed_via"],
        serde_json::json!(["bin/mixed", "libhelper.so"])
    );
    // The human report names the evidence of each copy.
    let human = run_human(&[&debian("mixed")]);
    assert!(
        human.contains("copy     static openssl libcrypto (3) in bin/mixed: defines OPENSSL_init_crypto, CRYPTO_malloc; strings OPENSSL_MODULES, OpenSSL Base Provider"),
        "{human}"
    );
    assert!(
        human.contains("copy     shared openssl libcrypto (3) in lib/libcrypto.so.3, needed by bin/mixed → libhelper.so: soname libcrypto.so.3"),
        "{human}"
    );
}

fn run_human(args: &[&str]) -> String {
    run(stowaway().arg("check").args(args)).stdout
}

/// The psycopg2-binary wheel tests/setup.sh downloads: its OpenSSL 1.1 is the second build.
fn wheel() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cache/pypi");
    let wheel = dir
        .join("psycopg2_binary-2.9.9-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
    assert!(
        wheel.is_file(),
        "{} is missing: run tests/setup.sh (it downloads it with pip)",
        wheel.display()
    );
    wheel
}

fn build_twice(attr: &str) -> String {
    let file = fixtures().join("nix/openssl-twice.nix");
    stdout_of(
        nix("nix-build")
            .arg(&file)
            .args(["--no-out-link", "-A", attr, "--arg", "wheel"])
            .arg(wheel()),
    )
    .trim()
    .to_string()
}

#[test]
fn two_store_paths_of_libcrypto_are_twice_in_the_process_only_when_the_loader_maps_both() {
    // Same soname through two RUNPATHs: the loader maps the first and reuses it.
    let once = check_json(&[&build_twice("openssl-once-by-soname")]).json();
    assert!(
        linkage_findings(&once).is_empty(),
        "{:#?}",
        linkage_findings(&once)
    );
    // A needed path (patchelf --replace-needed) is opened as a second object.
    let twice = check_json(&[&build_twice("openssl-twice-by-path")]).json();
    let found = linkage_findings(&twice);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "duplicate-library");
    let objects: Vec<&str> = found[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["object"].as_str().unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    assert!(
        objects
            .iter()
            .all(|o| o.starts_with("/nix/store/")
                && o.ends_with("-openssl-3.0.19/lib/libcrypto.so.3")),
        "{objects:?}"
    );
    assert_ne!(objects[0], objects[1], "two store paths");
}

#[test]
fn two_builds_of_libcrypto_in_one_process_are_a_duplicate_told_by_their_symbol_versions() {
    let report = check_json(&[&build_twice("openssl-two-builds")]).json();
    let found = linkage_findings(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "duplicate-library");
    let mut builds: Vec<(String, String)> = found[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["flavour"].as_str().unwrap().to_string(),
                e["linkage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    builds.sort();
    assert_eq!(
        builds,
        [
            ("1.1".to_string(), "shared".to_string()),
            ("3".to_string(), "shared".to_string())
        ]
    );
    // The 1.1 build's soname was renamed by auditwheel: its symbol versions tell it.
    let old = found[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["flavour"] == "1.1")
        .unwrap();
    assert_eq!(old["soname"], Value::Null);
    assert_eq!(
        old["versioned"],
        serde_json::json!([
            "OPENSSL_init_crypto@@OPENSSL_1_1_0",
            "CRYPTO_malloc@@OPENSSL_1_1_0"
        ])
    );
}
