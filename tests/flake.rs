//! The flake (flake.nix) evaluated by the real Nix against fixtures/nix/stub-nixpkgs, a stand-in
//! that has only the attributes flake.nix uses, under nixpkgs's names (there is no nixpkgs
//! here). What this proves: the flake evaluates for every system it lists; each source holds
//! the files its build reads and no others; the Linux-only outputs are absent elsewhere; the
//! clippy check turns cargo-auditable off and sees clippy.toml; every test the tests check
//! skips exists; the formatter is nixfmt; mkCheck picks its stowaway per system and names the
//! audited derivation without depending on its build closure. What it cannot: nothing is built
//! with nixpkgs, so cargo, clippy and the test run inside a nixpkgs build are not exercised.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::nix::{nix, stdout_of};

/// A copy of the repository's files, and a consumer flake beside it that points the copy's
/// nixpkgs input at the stub and whose `probe` output is what the tests look at.
struct Flake {
    dir: tempfile::TempDir,
}

impl Flake {
    fn new() -> Flake {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let copy = dir.path().join("stowaway");
        std::fs::create_dir(&copy).unwrap();
        // What a clone has: tracked files and new ones, not what .gitignore leaves out (build
        // output, node_modules). Debian's git, as tests/host-packages.txt lists it.
        let listed = Command::new("/usr/bin/git")
            .current_dir(root)
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .output()
            .expect("/usr/bin/git (apt-get install git)");
        assert!(listed.status.success());
        let files: Vec<&str> = std::str::from_utf8(&listed.stdout)
            .unwrap()
            .split('\0')
            .filter(|f| !f.is_empty() && root.join(f).symlink_metadata().is_ok())
            .collect();
        let copied = Command::new("cp")
            .current_dir(root)
            .args(["-a", "--parents"])
            .args(&files)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(copied.success(), "cp -a --parents … {}", copy.display());
        let consumer = dir.path().join("consumer");
        std::fs::create_dir(&consumer).unwrap();
        std::fs::write(
            consumer.join("flake.nix"),
            format!(
                r#"{{
  inputs.nixpkgs.url = "path:{stub}";
  inputs.stowaway.url = "path:{flake}";
  inputs.stowaway.inputs.nixpkgs.follows = "nixpkgs";
  outputs = {{ self, nixpkgs, stowaway }}: {{
    probe = import ./probe.nix {{ inherit nixpkgs stowaway; }};
  }};
}}
"#,
                stub = stub().display(),
                flake = copy.display(),
            ),
        )
        .unwrap();
        std::fs::copy(
            root.join("fixtures/nix/flake-probe.nix"),
            consumer.join("probe.nix"),
        )
        .unwrap();
        Flake { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// `nix flake check --no-build` of the copy, with the stub as nixpkgs.
    fn check(&self) -> std::process::Output {
        nix("nix")
            .current_dir(self.path("stowaway"))
            .args([
                "flake",
                "check",
                "--no-build",
                "--override-input",
                "nixpkgs",
            ])
            .arg(format!("path:{}", stub().display()))
            .output()
            .unwrap()
    }

    fn probe(&self) -> Value {
        serde_json::from_str(&stdout_of(
            nix("nix")
                .current_dir(self.path("consumer"))
                .args(["eval", "--json", ".#probe"]),
        ))
        .unwrap()
    }
}

fn stub() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nix/stub-nixpkgs")
}

/// The entries of a directory, sorted.
fn entries(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn the_flake_evaluates_for_every_system_with_the_linux_only_outputs_on_linux_alone() {
    let flake = Flake::new();
    let checked = flake.check();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let probe = flake.probe();
    for linux in ["x86_64-linux", "aarch64-linux"] {
        assert_eq!(probe["packages"][linux], json!(["default", "static"]));
        assert_eq!(
            probe["checks"][linux],
            json!(["clippy", "self-audit", "tests"])
        );
    }
    for darwin in ["x86_64-darwin", "aarch64-darwin"] {
        assert_eq!(probe["packages"][darwin], json!(["default"]), "{darwin}");
        assert_eq!(probe["checks"][darwin], json!(["clippy"]), "{darwin}");
    }
    for system in ["x86_64-linux", "aarch64-darwin"] {
        assert_eq!(probe["formatter"][system], "nixfmt");
        assert_eq!(probe["devShell"][system], "shell");
        assert_eq!(probe["app"][system], probe["mkCheck"][system]["default"]);
    }
    assert_eq!(probe["overlay"], "stowaway-0.1.0");
}

#[test]
fn each_source_holds_what_its_build_reads_and_nothing_else() {
    let probe = Flake::new().probe();
    let sources = &probe["sources"];
    let package = ["Cargo.lock", "Cargo.toml", "rules", "src"];
    assert_eq!(entries(sources["package"].as_str().unwrap()), package);
    let with = |more: &[&str]| {
        let mut all: Vec<String> = package.iter().chain(more).map(|s| s.to_string()).collect();
        all.sort();
        all
    };
    // Clippy compiles the tests (--all-targets) and reads its lints from clippy.toml.
    assert_eq!(
        entries(sources["clippy"].as_str().unwrap()),
        with(&["clippy.toml", "tests"])
    );
    let tests = sources["tests"].as_str().unwrap();
    assert_eq!(entries(tests), with(&["fixtures", "fuzz", "tests"]));
    assert_eq!(entries(&format!("{tests}/fuzz")), ["regressions"]);
    // Every file of those directories, as in the repository.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src", "rules", "fixtures/elf", "fuzz/regressions/inspect"] {
        assert_eq!(
            entries(&format!("{tests}/{dir}")),
            entries(root.join(dir).to_str().unwrap()),
            "{dir}"
        );
    }
}

#[test]
fn clippy_tests_and_mkcheck_use_what_nixpkgs_reads() {
    let probe = Flake::new().probe();

    // Plain cargo (no cargo-auditable wrapper), with clippy on the PATH.
    let clippy = &probe["clippy"];
    assert_eq!(clippy["auditable"], false);
    assert_eq!(clippy["nativeBuildInputs"], json!(["clippy"]));
    let build = clippy["buildPhase"].as_str().unwrap();
    assert!(
        build.contains("cargo clippy --all-targets --frozen -- -D warnings"),
        "{build}"
    );

    // Every name the tests check skips is a test here; the strip test only off x86-64.
    let listed = Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    let tests: BTreeSet<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    assert!(tests.len() > 100, "{tests:?}");
    let strip_test = "elf::every_library_signature_recognises_its_library_with_and_without_symbols";
    for (system, strips) in [("x86_64-linux", true), ("aarch64-linux", false)] {
        let tested = &probe["tests"][system];
        assert_eq!(
            tested["nativeCheckInputs"],
            json!(["util-linux", "python3"])
        );
        assert_eq!(tested["cargoTestFlags"], json!([]));
        let skips: Vec<&str> = tested["checkFlags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f.as_str()
                    .unwrap()
                    .strip_prefix("--skip=")
                    .expect("--skip=")
            })
            .collect();
        for skip in &skips {
            assert!(
                tests.iter().any(|t| t.contains(skip)),
                "{system}: --skip={skip} matches no test"
            );
        }
        assert_eq!(!skips.contains(&strip_test), strips, "{system}");
        // The tests that build with nix are skipped; the others of their modules are not.
        let skipped = |t: &str| skips.iter().any(|s| t.contains(s));
        assert!(skipped("nix::references_and_sizes_equal_what_nix_reports"));
        assert!(skipped(
            "flake::clippy_tests_and_mkcheck_use_what_nixpkgs_reads"
        ));
        assert!(!skipped(
            "mkcheck::outside_a_nix_build_the_builder_mode_says_what_it_needs"
        ));
        assert!(!skipped(
            "formats::markdown_table_rows_keep_their_cells_whatever_the_names"
        ));
    }

    // mkCheck's stowaway: the static build on Linux, the default package elsewhere.
    let linux = &probe["mkCheck"]["x86_64-linux"];
    assert_eq!(
        linux["builder"],
        format!("{}/bin/stowaway", linux["static"].as_str().unwrap())
    );
    let mac = &probe["mkCheck"]["aarch64-darwin"];
    assert_eq!(mac["static"], Value::Null);
    assert_eq!(
        mac["builder"],
        format!("{}/bin/stowaway", mac["default"].as_str().unwrap())
    );
    // The audited derivation is named, without its build closure as an input.
    let audited = &probe["audited"];
    assert_eq!(audited["drvPath"], audited["expected"]);
    assert!(
        audited["drvPath"]
            .as_str()
            .unwrap()
            .ends_with("-stowaway-0.1.0-static.drv"),
        "{audited}"
    );
    assert_eq!(audited["context"], json!({}));
    assert_eq!(audited["outputs"], json!(["out"]));
}
