//! The CI assets in `ci/`. The Nix post-build-hook runs under a real `nix-build` (Debian's
//! nix-bin, single-user, as root) on fixtures/nix/post-build-hook.nix. The GitHub and GitLab
//! jobs are checked against their schemas by `check-jsonschema`, their shell by `shellcheck`,
//! and the shell that runs the audit is run with a stand-in `stowaway` for each exit code.
//! Every tool here must be installed: a missing one fails these tests with how to install it,
//! it never skips them.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::nix::{nix, stdout_of};
use crate::util::*;

/// The version `.ci/run` installs.
const CHECK_JSONSCHEMA: &str = "pip install check-jsonschema==0.39.0";
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

// ------------------------------------------------------------------ workflows

/// A YAML file as JSON, read by the YAML library check-jsonschema reads it with.
fn yaml(path: &Path) -> Value {
    let output = tool(
        Command::new("python3")
            .arg("-c")
            .arg(
                "import json, sys\nfrom ruamel.yaml import YAML\n\
             print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))",
            )
            .arg(path),
        CHECK_JSONSCHEMA,
    );
    assert!(
        output.status.success(),
        "reading {} (ruamel.yaml comes with {CHECK_JSONSCHEMA}): {}",
        path.display(),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn check_jsonschema(schema: &str, file: &Path) -> Output {
    tool(
        Command::new("check-jsonschema")
            .args(["--builtin-schema", schema])
            .arg(file),
        CHECK_JSONSCHEMA,
    )
}

#[test]
fn the_github_and_gitlab_jobs_are_valid_by_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    for (schema, file, broken) in [
        (
            "vendor.github-workflows",
            ci("github/stowaway.yml"),
            "on: push\njobs:\n  audit:\n    runs-on: ubuntu-latest\n    steps:\n      - run: [true]\n",
        ),
        (
            "vendor.gitlab-ci",
            ci("gitlab/stowaway.gitlab-ci.yml"),
            "audit:\n  script: [true]\n  artifacts:\n    when: sometimes\n",
        ),
    ] {
        let checked = check_jsonschema(schema, &file);
        assert!(
            checked.status.success(),
            "{}: {}{}",
            file.display(),
            text(&checked.stdout),
            text(&checked.stderr)
        );
        // The validator does reject what its schema forbids.
        let bad = dir.path().join("broken.yml");
        fs::write(&bad, broken).unwrap();
        assert!(!check_jsonschema(schema, &bad).status.success(), "{schema}");
    }
}

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

/// The `run` of each step of the GitHub workflow, by step name.
fn github_runs(workflow: &Value) -> Vec<(String, String)> {
    workflow["jobs"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_array().unwrap())
        .filter_map(|step| {
            let run = step["run"].as_str()?;
            Some((step["name"].as_str()?.to_string(), run.to_string()))
        })
        .collect()
}

/// The shell of the GitLab job: `before_script` then `script`, as the runner runs them.
fn gitlab_script(job: &Value, keys: &[&str]) -> String {
    keys.iter()
        .flat_map(|k| job[*k].as_array().unwrap())
        .map(|line| line.as_str().unwrap().to_string() + "\n")
        .collect()
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

    // The shell inside the YAML too (GitHub runs `shell: bash`; the GitLab job keeps to sh).
    let dir = tempfile::tempdir().unwrap();
    let workflow = yaml(&ci("github/stowaway.yml"));
    for (name, run) in github_runs(&workflow) {
        // Expressions in a script are a way in for injected text; they go through env.
        assert!(!run.contains("${{"), "step {name} expands an expression");
        let file = dir.path().join("step.sh");
        fs::write(&file, &run).unwrap();
        shellcheck("bash", &file);
    }
    let gitlab = yaml(&ci("gitlab/stowaway.gitlab-ci.yml"));
    let file = dir.path().join("job.sh");
    fs::write(
        &file,
        gitlab_script(&gitlab["stowaway"], &["before_script", "script"]),
    )
    .unwrap();
    shellcheck("sh", &file);
}

/// A stand-in for stowaway that exits with `$STAND_IN_STATUS`, prints which format it was
/// asked for and writes each `--output FORMAT=FILE` (nothing for exit 2: no report), and logs
/// each call's format and outputs.
fn stand_in(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir(&bin).unwrap();
    write_script(
        &bin.join("stowaway"),
        r#"format=human
outputs=()
while (($#)); do
    case $1 in
        --format) format=$2; shift ;;
        --output|-o) outputs+=("$2"); shift ;;
    esac
    shift
done
echo "$format ${outputs[*]}" >> "$STAND_IN_LOG"
if [[ $STAND_IN_STATUS != 2 ]]; then
    echo "report as $format"
    for output in "${outputs[@]}"; do echo "report as ${output%%=*}" > "${output#*=}"; done
fi
exit "$STAND_IN_STATUS"
"#,
    );
    bin
}

/// Runs `script` as the CI runs it (bash -eo pipefail) in a fresh directory with a `result`
/// and the stand-in first on PATH; returns the run and the directory.
fn run_job_script(script: &str, status: i32) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bin = stand_in(dir.path());
    fs::create_dir(dir.path().join("result")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let ran = run(Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("STAND_IN_STATUS", status.to_string())
        .env("STAND_IN_LOG", dir.path().join("calls"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md")));
    (ran, dir)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_github_audit_step_writes_every_report_then_exits_with_stowaways_code() {
    let workflow = yaml(&ci("github/stowaway.yml"));
    let job = &workflow["jobs"]["closure-audit"];
    assert_eq!(job["permissions"]["security-events"], "write");
    let steps = job["steps"].as_array().unwrap();
    let audit = steps.iter().position(|s| s["id"] == "audit").unwrap();
    assert_eq!(steps[audit]["shell"], "bash");
    // Every action at its current major version (CodeQL Action v3 is deprecated in December
    // 2026).
    let actions: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "actions/checkout@v7",
            "cachix/install-nix-action@v31",
            "github/codeql-action/upload-sarif@v4"
        ]
    );
    let upload = steps
        .iter()
        .position(|s| s["uses"] == "github/codeql-action/upload-sarif@v4")
        .unwrap();
    assert!(upload > audit);
    assert_eq!(steps[upload]["with"]["sarif_file"], "stowaway.sarif");
    // The upload runs when the audit step has failed the job.
    let condition = steps[upload]["if"].as_str().unwrap();
    assert!(condition.starts_with("always() && "), "{condition}");

    let script = steps[audit]["run"].as_str().unwrap();
    for status in [0, 1, 2] {
        let (ran, dir) = run_job_script(script, status);
        assert_eq!(ran.code, status, "{}", ran.stderr);
        assert_eq!(
            read(&dir.path().join("calls")),
            "github sarif=stowaway.sarif markdown=stowaway.md\n",
            "one audit"
        );
        assert_eq!(ran.stdout.contains("report as github"), status != 2);
        let summary = read(&dir.path().join("summary.md"));
        assert_eq!(summary.contains("report as markdown"), status != 2);
        // No report, no upload.
        let sarif = dir.path().join("stowaway.sarif");
        assert_eq!(sarif.exists(), status != 2, "exit {status}");
    }
}

#[test]
fn the_gitlab_job_keeps_the_json_report_and_exits_with_stowaways_code() {
    let pipeline = yaml(&ci("gitlab/stowaway.gitlab-ci.yml"));
    let job = &pipeline["stowaway"];
    assert_eq!(job["artifacts"]["when"], "always");
    assert_eq!(job["artifacts"]["paths"][0], "stowaway.json");

    let script = gitlab_script(job, &["script"]);
    for status in [0, 1, 2] {
        let (ran, dir) = run_job_script(&script, status);
        assert_eq!(ran.code, status, "{}", ran.stderr);
        assert_eq!(
            read(&dir.path().join("calls")),
            "human json=stowaway.json\n",
            "one audit"
        );
        assert_eq!(ran.stdout.contains("report as human"), status != 2);
        assert_eq!(
            read(&dir.path().join("stowaway.json")).contains("report as json"),
            status != 2
        );
    }
}

#[test]
fn the_github_audit_step_with_the_real_stowaway_fills_every_report() {
    let workflow = yaml(&ci("github/stowaway.yml"));
    let steps = workflow["jobs"]["closure-audit"]["steps"]
        .as_array()
        .unwrap();
    let audit = steps.iter().find(|s| s["id"] == "audit").unwrap();
    let script = audit["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(fixture("app-static"), dir.path().join("result")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_stowaway")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let ran = run(Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md")));
    assert_eq!(
        ran.code, 1,
        "the fixture's sysconfdir reference fails: {}",
        ran.stderr
    );
    assert!(
        ran.stdout
            .starts_with("::error title=stowaway openssl-sysconfdir%3A "),
        "{}",
        ran.stdout
    );
    assert!(read(&dir.path().join("summary.md")).starts_with("## stowaway: ❌ FAIL\n"));
    let sarif: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("stowaway.sarif"))).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "openssl-sysconfdir"
    );
}
