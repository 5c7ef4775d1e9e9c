//! Helpers: run the binary with a deadline, parse its JSON, find the fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// No single run may take longer than this: a hang is a failure, not a stuck test.
const DEADLINE: Duration = Duration::from_secs(120);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

pub fn stowaway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stowaway"));
    command.env_remove("NIX_STORE_DIR").stdin(Stdio::null());
    command
}

/// `stowaway` as a user that cannot read files without read permission: as root (who reads
/// everything) it runs as `nobody` through setpriv (util-linux).
pub fn stowaway_unprivileged() -> Command {
    if !is_root() {
        return stowaway();
    }
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_stowaway"))
        .env_remove("NIX_STORE_DIR")
        .stdin(Stdio::null());
    command
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `command` to completion, killing it (and failing) past the deadline.
pub fn run(command: &mut Command) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stowaway");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("stowaway did not finish within {DEADLINE:?}: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("collect output");
    let run = Run {
        code: status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {status:?}")),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "stowaway panicked:\n{}",
        run.stderr
    );
    run
}

/// `stowaway check ARGS… --format json`.
pub fn check_json(args: &[&str]) -> Run {
    run(stowaway()
        .arg("check")
        .args(args)
        .args(["--format", "json"]))
}

/// The findings of a JSON report reported under `rule`, or of that kind whatever rule
/// reports them.
pub fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["rule"] == rule || f["kind"] == rule)
        .collect()
}

/// A path-info entry of a `nix path-info --json` array, by store path.
pub fn path_info<'a>(closure: &'a Value, store_path: &str) -> &'a Value {
    closure
        .as_array()
        .expect("path-info array")
        .iter()
        .find(|e| e["path"] == store_path)
        .unwrap_or_else(|| panic!("{store_path} not in path-info"))
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The single-line stderr message, checked to be one line and to contain `needle`.
pub fn assert_one_line_error(run: &Run, needle: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{}",
        run.stderr
    );
    assert!(lines[0].starts_with("stowaway: "), "{}", lines[0]);
    assert!(
        lines[0].contains(needle),
        "{:?} does not contain {needle:?}",
        lines[0]
    );
}
