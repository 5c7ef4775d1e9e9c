//! Options that change what is searched for and how it is shown.

use std::fs;

use crate::util::*;

const GUIX_PATH: &str = "/gnu/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-guile-3.0.9/bin/guile";

fn tree_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("launcher"), format!("#!{text}\n")).unwrap();
    dir
}

#[test]
fn the_store_dir_comes_from_the_flag_then_nix_store_dir() {
    let dir = tree_with(GUIX_PATH);
    let target = dir.path().to_str().unwrap();
    let anchor_of = |run: Run| {
        let report = run.json();
        let finding = findings(&report, "store-reference")[0].clone();
        (
            finding["reference"]["store_path"]
                .as_str()
                .unwrap()
                .to_string(),
            finding["locations"][0]["anchor"]
                .as_str()
                .unwrap()
                .to_string(),
            finding["locations"][0]["offset"].as_u64().unwrap(),
        )
    };
    let with_flag = anchor_of(check_json(&[target, "--store-dir", "/gnu/store"]));
    assert_eq!(
        with_flag,
        (
            "/gnu/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-guile-3.0.9".into(),
            "store-dir".into(),
            2
        )
    );
    let with_env = anchor_of(run(stowaway()
        .env("NIX_STORE_DIR", "/gnu/store")
        .args(["check", "--format", "json", target])));
    assert_eq!(with_env, with_flag);
    // Under /nix/store the same bytes are only a bare hash: a probable reference.
    let default = anchor_of(check_json(&[target, "--store-dir", "/nix/store"]));
    assert_eq!(default.1, "bare-hash");
    assert_eq!(default.2, 13, "the hash itself, after #!/gnu/store/");
}

#[test]
fn a_relative_store_dir_is_refused() {
    let run = check_json(&[".", "--store-dir", "nix/store"]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "must be an absolute path");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let dir = tree_with("/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-bash-5.2.15/bin/bash");
    let plain = run(stowaway().arg("check").arg(dir.path()));
    assert!(!plain.stdout.contains('\x1b'));
    let coloured = run(stowaway()
        .args(["check", "--color", "always"])
        .arg(dir.path()));
    assert!(
        coloured.stdout.contains("\x1b[1m\x1b[31merror\x1b[0m"),
        "{}",
        coloured.stdout
    );
}

#[test]
fn one_thread_or_many_give_the_same_report() {
    let target = fixture("diamond");
    let info = fixture("diamond.closure.json");
    let args = |threads: &str| {
        let run = check_json(&[
            target.to_str().unwrap(),
            "--closure-info",
            info.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        run.stdout
    };
    assert_eq!(args("1"), args("4"));
}

#[test]
fn a_terminal_shows_files_and_bytes_done_then_a_bar_against_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let big = dir.path().join("sparse.bin");
    // Long enough to outlast the half second before the display appears, in a debug build.
    fs::File::create(&big).unwrap().set_len(768 << 20).unwrap();
    for n in 0..40 {
        fs::write(dir.path().join(format!("small-{n}")), "plain").unwrap();
    }
    // `script` (bsdutils) gives the audit a terminal and records what it shows there.
    let on_a_terminal = |args: &str, log: &str| {
        let log = logs.path().join(log);
        let command = format!(
            "{} check {} {args} > /dev/null",
            env!("CARGO_BIN_EXE_stowaway"),
            dir.path().display()
        );
        let status = std::process::Command::new("script")
            .args(["-qfec", &command])
            .arg(&log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("script (bsdutils)");
        assert!(status.code().is_some(), "script ended by a signal");
        String::from_utf8_lossy(&fs::read(&log).unwrap()).into_owned()
    };
    let shown = on_a_terminal("--format json", "json.log");
    assert!(
        shown.contains(" files, ") && shown.contains("B/s)"),
        "no files, bytes and rate on a terminal:\n{shown}"
    );
    assert!(
        shown.contains("/41 files, "),
        "no bar against the total:\n{shown}"
    );
    // The CI formats never get one, terminal or not.
    for format in ["sarif", "github", "markdown"] {
        let shown = on_a_terminal(&format!("--format {format}"), &format!("{format}.log"));
        assert!(
            !shown.contains(" files, "),
            "{format}: a progress display:\n{shown}"
        );
    }
    // Without a terminal, nothing at all on stderr.
    let quiet = check_json(&[big.to_str().unwrap()]);
    assert_eq!(quiet.stderr, "");
    // A short audit on a terminal shows nothing either.
    let short = format!(
        "{} check {} --format json > /dev/null",
        env!("CARGO_BIN_EXE_stowaway"),
        fixture("script").display()
    );
    let short_log = logs.path().join("short.log");
    std::process::Command::new("script")
        .args(["-qfec", &short])
        .arg(&short_log)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script (bsdutils)");
    let shown = String::from_utf8_lossy(&fs::read(&short_log).unwrap()).into_owned();
    assert!(
        !shown.contains(" files, "),
        "a display for a short audit:\n{shown}"
    );
}

#[test]
fn rules_lists_every_rule_and_explain_prints_one() {
    let listed = run(stowaway().arg("rules"));
    assert_eq!(listed.code, 0);
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        ids[..8],
        [
            "store-reference",
            "nuked-reference",
            "store-symlink",
            "dynamic-linkage",
            "not-static",
            "duplicate-library",
            "duplicate-allocator",
            "mixed-linkage"
        ]
    );
    for pack_rule in [
        "openssl-sysconfdir",
        "haskell-paths-module",
        "c-source-path",
        "rust-source-path",
        "store-shebang",
        "debug-only-reference",
    ] {
        let line = listed
            .stdout
            .lines()
            .find(|l| l.starts_with(pack_rule))
            .unwrap_or_else(|| panic!("{pack_rule} not listed"));
        assert!(line.ends_with("(refines store-reference)"), "{line}");
    }
    for id in ids {
        let explained = run(stowaway().args(["explain", id]));
        assert_eq!(explained.code, 0, "{id}");
        assert!(
            explained.stdout.starts_with(&format!("{id} (")),
            "{}",
            explained.stdout
        );
        assert!(explained.stdout.contains("\nFix: "), "{}", explained.stdout);
    }
    let unknown = run(stowaway().args(["explain", "no-such-rule"]));
    assert_eq!(unknown.code, 2);
    assert_one_line_error(&unknown, "unknown rule id \"no-such-rule\"");
}

/// The fix line `stowaway explain` prints for `id`, for `path`.
fn explained_fix(id: &str, path: &str) -> String {
    let explained = run(stowaway().args(["explain", id])).stdout;
    explained
        .lines()
        .find_map(|l| l.strip_prefix("Fix: "))
        .unwrap()
        .replace("<store path>", path)
}

#[test]
fn findings_take_their_severity_and_fix_from_the_rule_catalogue() {
    // A kind of finding no pack rule refines further.
    let info = fixture("diamond.closure.json");
    let report = check_json(&[
        fixture("diamond").to_str().unwrap(),
        "--closure-info",
        info.to_str().unwrap(),
    ])
    .json();
    let finding = findings(&report, "store-reference")[0];
    assert_eq!(finding["rule"], "store-reference");
    let path = finding["reference"]["store_path"].as_str().unwrap();
    assert_eq!(finding["fix"], explained_fix("store-reference", path));
    assert_eq!(finding["severity"], "error", "deny");
    // A pack rule that is more specific takes over the id and the fix.
    let info = fixture("app-static.closure.json");
    let report = check_json(&[
        fixture("app-static").to_str().unwrap(),
        "--closure-info",
        info.to_str().unwrap(),
    ])
    .json();
    let finding = findings(&report, "store-reference")[0];
    assert_eq!(finding["rule"], "openssl-sysconfdir");
    assert_eq!(finding["kind"], "store-reference");
    let path = finding["reference"]["store_path"].as_str().unwrap();
    assert_eq!(finding["fix"], explained_fix("openssl-sysconfdir", path));
    let nuked = check_json(&[fixture("nuked").to_str().unwrap()]).json();
    assert_eq!(
        findings(&nuked, "nuked-reference")[0]["severity"],
        "info",
        "a nuked reference costs nothing: information"
    );
}

#[test]
fn a_baseline_accepts_todays_findings_and_fails_only_on_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let info = fixture("diamond.closure.json");
    let info = info.to_str().unwrap();
    // Today's state, recorded.
    let tree = dir.path().join("out");
    fs::create_dir_all(tree.join("bin")).unwrap();
    fs::copy(fixture("diamond/bin/diamond"), tree.join("bin/diamond")).unwrap();
    let tree = tree.to_str().unwrap();
    let first = check_json(&[
        tree,
        "--closure-info",
        info,
        "--write-baseline",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(
        first.code, 1,
        "writing a baseline does not change the verdict"
    );
    let recorded = read_json(&baseline);
    assert_eq!(recorded["schema"], "stowaway.baseline/1");
    assert_eq!(recorded["entries"].as_array().unwrap().len(), 3);
    // Written beside itself and renamed: nothing else is left in the directory.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["baseline.json", "out"]);
    // The same findings again: accepted.
    let again = check_json(&[
        tree,
        "--closure-info",
        info,
        "--baseline",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    let report = again.json();
    assert_eq!(report["baseline"]["matched"], 3);
    assert_eq!(report["baseline"]["stale"], serde_json::json!([]));
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "info"));
    // A new reference fails; the old ones stay accepted.
    fs::write(
        dir.path().join("out/bin/launcher"),
        format!("#!{GUIX_PATH}\n").replace("/gnu/store", "/nix/store"),
    )
    .unwrap();
    let grown = check_json(&[
        tree,
        "--closure-info",
        info,
        "--baseline",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(grown.code, 1);
    let failing: Vec<String> = grown.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["locations"][0]["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failing, ["bin/launcher"]);
    // Fixed in a later build: the entries are reported as no longer found.
    fs::remove_file(dir.path().join("out/bin/launcher")).unwrap();
    fs::copy(
        fixture("hello-static/bin/hello"),
        dir.path().join("out/bin/diamond"),
    )
    .unwrap();
    let fixed = check_json(&[tree, "--baseline", baseline.to_str().unwrap()]);
    assert_eq!(fixed.code, 0);
    let stale = &fixed.json()["baseline"]["stale"];
    assert_eq!(stale.as_array().unwrap().len(), 3);
    assert_eq!(stale[0]["file"], "bin/diamond");
    let human = run(stowaway()
        .arg("check")
        .arg(tree)
        .arg("--baseline")
        .arg(&baseline));
    assert!(
        human
            .stdout
            .contains("baseline: 0 findings accepted; 3 of its entries no longer found"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_baseline_that_is_not_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("b.json");
    fs::write(&bad, r#"{"schema":"stowaway.report/1","entries":[]}"#).unwrap();
    let run = check_json(&[".", "--baseline", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "expected \"stowaway.baseline/1\"");
}
