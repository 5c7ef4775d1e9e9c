//! The CI assets in `ci/`. The Nix post-build-hook runs under a real `nix-build` (Debian's
//! nix-bin, single-user, as root) on fixtures/nix/post-build-hook.nix, and every shell script
//! passes `shellcheck`. Every tool here must be installed: a missing one fails these tests
//! with how to install it, it never skips them.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::nix::{nix, stdout_of};
use crate::util::*;

const SHELLCHECK: &str = "apt-get install shellcheck";

fn ci(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ci").join(path)
}

/// Runs a tool that these tests need; its absence is a failure that says how to install it.
fn tool(command: &mut Command, install: &str) -> Output {
    command.output().unwrap_or_else(|e| {
        if e.kind() == ErrorKind::NotFound {
            panic!("{command:?}: not installed ({install})")
        }
        panic!("{command:?}: {e}")
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `'…'` for a shell, whatever the text holds.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/bash\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

// ------------------------------------------------------------------ post-build-hook

/// A tag no other test run has used: new derivations, so Nix builds them and runs the hook.
fn unique_tag(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

fn hook_nix() -> PathBuf {
    fixtures().join("nix/post-build-hook.nix")
}

/// A hook that sets the hook's variables itself and runs ci/nix/post-build-hook.sh, so the
/// tests do not depend on Nix passing its environment on (a daemon would not).
fn hook_wrapper(dir: &Path, reports: &Path, enforce: bool) -> PathBuf {
    let wrapper = dir.join(if enforce { "enforce-hook" } else { "hook" });
    let mut body = format!(
        "export STOWAWAY={}\nexport STOWAWAY_REPORT_DIR={}\n",
        quote(env!("CARGO_BIN_EXE_stowaway")),
        quote(reports.to_str().unwrap())
    );
    if enforce {
        body.push_str("export STOWAWAY_ENFORCE=1\n");
    }
    body.push_str(&format!(
        "exec {}\n",
        quote(ci("nix/post-build-hook.sh").to_str().unwrap())
    ));
    write_script(&wrapper, &body);
    wrapper
}

/// `nix-build fixtures/nix/post-build-hook.nix --argstr tag TAG -A ATTR…` with `hook` as the
/// post-build-hook. The hook's own variables are removed from what nix-build passes on: Nix
/// 2.8 keeps an inherited DRV_PATH or OUT_PATHS rather than set its own.
fn build_with_hook(tag: &str, attrs: &[&str], hook: &Path) -> Command {
    // Fails with how to install Nix when it is missing.
    stdout_of(nix("nix-build").arg("--version"));
    let mut command = nix("nix-build");
    command
        .arg(hook_nix())
        .args(["--argstr", "tag", tag, "--no-out-link"])
        .args(["--option", "post-build-hook"])
        .arg(hook);
    for attr in attrs {
        command.args(["-A", attr]);
    }
    for var in [
        "DRV_PATH",
        "OUT_PATHS",
        "STOWAWAY",
        "STOWAWAY_ARGS",
        "STOWAWAY_ENFORCE",
        "STOWAWAY_REPORT_DIR",
    ] {
        command.env_remove(var);
    }
    command
}

fn derivation(tag: &str, attr: &str) -> String {
    stdout_of(
        nix("nix-instantiate")
            .arg(hook_nix())
            .args(["--argstr", "tag", tag, "-A", attr]),
    )
    .trim()
    .to_string()
}

/// The output paths of an attribute, built or not.
fn outputs(tag: &str, attr: &str) -> Vec<String> {
    let drv = derivation(tag, attr);
    stdout_of(nix("nix-store").args(["--query", "--outputs", &drv]))
        .lines()
        .map(str::to_string)
        .collect()
}

fn output(tag: &str, attr: &str, suffix: &str) -> String {
    outputs(tag, attr)
        .into_iter()
        .find(|o| o.ends_with(suffix))
        .unwrap_or_else(|| panic!("no output of {attr} ends with {suffix}"))
}

fn report_of(reports: &Path, path: &str) -> PathBuf {
    reports.join(format!("{}.json", path.rsplit('/').next().unwrap()))
}

/// The report files in `reports` (and nothing else: no temporary file may be left behind).
fn report_names(reports: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn assert_fails_on(report: &Value, referenced: &str) {
    assert_eq!(report["verdict"], "fail", "{report:#}");
    let found = findings(report, "store-reference");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["rule"], "store-reference");
    assert_eq!(found[0]["severity"], "error");
    assert_eq!(found[0]["reference"]["store_path"], referenced);
}

#[test]
fn the_post_build_hook_reports_every_output_and_lets_the_build_pass() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let hook = hook_wrapper(dir.path(), &reports, false);
    let tag = unique_tag("report");

    let built = run(&mut build_with_hook(&tag, &["dirty"], &hook));
    assert_eq!(built.code, 0, "{}", built.stderr);

    let clean = output(&tag, "clean", "_1.0");
    let dirty = output(&tag, "dirty", "-dirty-1.0");
    let doc = output(&tag, "dirty", "-doc");
    assert!(clean.contains("clean+odd=name?_1.0"), "{clean}");
    // Two builds ran the hook: clean's (one output), then dirty's (two outputs).
    let mut expected: Vec<String> = [&clean, &dirty, &doc]
        .iter()
        .map(|p| format!("{}.json", p.rsplit('/').next().unwrap()))
        .collect();
    expected.sort();
    assert_eq!(report_names(&reports), expected);

    assert_fails_on(&read_json(&report_of(&reports, &dirty)), &clean);
    for path in [&clean, &doc] {
        let report = read_json(&report_of(&reports, path));
        assert_eq!(report["verdict"], "pass", "{path}: {report:#}");
        assert_eq!(report["targets"][0], path.as_str());
    }

    // One line per output, in the build log.
    for (verdict, path) in [("pass", &clean), ("FAIL", &dirty), ("pass", &doc)] {
        let line = format!(
            "post-build-hook: stowaway: {verdict} {path} (report: {})",
            report_of(&reports, path).display()
        );
        assert!(built.stderr.contains(&line), "{line}\n{}", built.stderr);
    }
}

#[test]
fn with_stowaway_enforce_a_failing_audit_fails_nix_build_and_nothing_more_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let hook = hook_wrapper(dir.path(), &reports, true);
    let tag = unique_tag("enforce");

    let built = run(&mut build_with_hook(&tag, &["after"], &hook));
    assert_ne!(built.code, 0, "{}", built.stderr);

    // clean passed, so the build went on to dirty, whose audit failed.
    let clean = output(&tag, "clean", "_1.0");
    let dirty = output(&tag, "dirty", "-dirty-1.0");
    assert_eq!(read_json(&report_of(&reports, &clean))["verdict"], "pass");
    assert_fails_on(&read_json(&report_of(&reports, &dirty)), &clean);
    let message = format!(
        "post-build-hook: stowaway: 1 of 2 outputs of {} failed the audit; failing the build (STOWAWAY_ENFORCE=1)",
        derivation(&tag, "dirty")
    );
    assert!(built.stderr.contains(&message), "{}", built.stderr);
    assert!(
        built.stderr.contains(&format!(
            "program '{}' failed with exit code 1",
            hook.display()
        )),
        "{}",
        built.stderr
    );

    // What the hook's comment promises about Nix: the output just built stays valid, and
    // nothing more is built.
    let valid = nix("nix-store")
        .args(["--check-validity", &dirty])
        .status()
        .unwrap();
    assert!(valid.success(), "{dirty} is not valid");
    let after = output(&tag, "after", "-after-1.0");
    assert!(!Path::new(&after).exists(), "{after} was built");
}

#[test]
fn a_hook_that_cannot_audit_says_why_and_fails_the_build_only_when_enforcing() {
    // No wrapper: the variables go to nix-build, which (single-user, no daemon) runs the hook
    // with its own environment.
    let dir = tempfile::tempdir().unwrap();
    let hook = ci("nix/post-build-hook.sh");
    let missing = "/nonexistent/stowaway";
    let line =
        format!("post-build-hook: stowaway: STOWAWAY={missing} is not executable; nothing audited");

    let tag = unique_tag("missing");
    let built = run(build_with_hook(&tag, &["dirty"], &hook)
        .env("STOWAWAY", missing)
        .env("STOWAWAY_REPORT_DIR", dir.path()));
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert_eq!(built.stderr.matches(&line).count(), 2, "{}", built.stderr);

    let tag = unique_tag("missing-enforced");
    let built = run(build_with_hook(&tag, &["dirty"], &hook)
        .env("STOWAWAY", missing)
        .env("STOWAWAY_REPORT_DIR", dir.path())
        .env("STOWAWAY_ENFORCE", "1"));
    assert_ne!(built.code, 0, "{}", built.stderr);
    assert_eq!(built.stderr.matches(&line).count(), 1, "{}", built.stderr);
    assert!(report_names(dir.path()).is_empty());
}

#[test]
fn the_hook_audits_out_paths_and_passes_stowaway_args_unglobbed() {
    // Nix 2.8.0 leaves OUT_PATHS empty (so the tests above take the hook's DRV_PATH route);
    // later versions set it. Run the hook as they do, from a directory where the glob in
    // STOWAWAY_ARGS would match a file if the hook let the shell expand it.
    let tag = unique_tag("out-paths");
    stdout_of(nix("nix-build").arg(hook_nix()).args([
        "--argstr",
        "tag",
        &tag,
        "--no-out-link",
        "-A",
        "dirty",
    ]));
    let clean = output(&tag, "clean", "_1.0");
    let dirty = output(&tag, "dirty", "-dirty-1.0");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("clean-looking-file"), "").unwrap();
    let reports = dir.path().join("reports");

    let mut command = Command::new(ci("nix/post-build-hook.sh"));
    command
        .current_dir(dir.path())
        .env_remove("DRV_PATH")
        .env("OUT_PATHS", format!("{dirty} {clean}"))
        .env("STOWAWAY", env!("CARGO_BIN_EXE_stowaway"))
        .env("STOWAWAY_REPORT_DIR", &reports)
        .env("STOWAWAY_ARGS", "--allow clean*");
    let hooked = run(&mut command);
    assert_eq!(hooked.code, 0, "{}", hooked.stderr);
    assert_eq!(hooked.stderr.lines().count(), 2, "{}", hooked.stderr);

    let report = read_json(&report_of(&reports, &dirty));
    assert_eq!(report["verdict"], "pass", "{report:#}");
    let accepted = findings(&report, "store-reference");
    assert_eq!(accepted[0]["reference"]["store_path"], clean.as_str());
    assert_eq!(accepted[0]["severity"], "info");
    assert_eq!(read_json(&report_of(&reports, &clean))["verdict"], "pass");
}

// ------------------------------------------------------------------ shell

fn shellcheck(shell: &str, file: &Path) {
    let checked = tool(
        Command::new("shellcheck")
            .args(["--shell", shell, "--external-sources"])
            .arg(file),
        SHELLCHECK,
    );
    assert!(
        checked.status.success(),
        "shellcheck {}:\n{}{}",
        file.display(),
        text(&checked.stdout),
        text(&checked.stderr)
    );
}

fn shell_scripts(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            shell_scripts(&path, found);
        } else if path.extension().is_some_and(|e| e == "sh") {
            found.push(path);
        }
    }
}

#[test]
fn every_shell_script_in_ci_passes_bash_n_and_shellcheck() {
    let mut scripts = Vec::new();
    shell_scripts(&ci(""), &mut scripts);
    assert!(!scripts.is_empty());
    for script in &scripts {
        let parsed = Command::new("bash").arg("-n").arg(script).output().unwrap();
        assert!(parsed.status.success(), "{}", text(&parsed.stderr));
        shellcheck("bash", script);
    }
}
