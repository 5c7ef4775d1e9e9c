//! Helpers: run the binary with a deadline, parse its JSON, find the fixtures.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    /// The peak resident memory of the process as last seen while it ran (VmHWM), in KiB.
    pub max_rss_kib: u64,
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

/// Runs `command` to completion, killing it (and failing) past the deadline. Its output is
/// drained while it runs, so a large report cannot block it on a full pipe, and its peak
/// memory is sampled every few milliseconds. (`wait4`'s maxrss would not do: it keeps the
/// memory of the test process the child was forked from.)
pub fn run(command: &mut Command) -> Run {
    run_while(command, |_| {})
}

/// [`run`], calling `meanwhile` with the process id once it has started: how a test changes
/// the audited files under a running audit.
// The child is reaped by `waitpid` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_while(command: &mut Command, meanwhile: impl FnOnce(u32) + Send) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stowaway");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read output");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = std::thread::scope(|scope| {
        scope.spawn(move || meanwhile(pid as u32));
        loop {
            peak_kib = peak_kib.max(high_water_kib(pid));
            let mut status = 0;
            // SAFETY: `status` outlives the call.
            let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            assert!(waited >= 0, "waitpid: {}", std::io::Error::last_os_error());
            if waited == pid {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("stowaway did not finish within {DEADLINE:?}: {command:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    assert!(
        libc::WIFEXITED(status),
        "killed by signal {}: {command:?}",
        libc::WTERMSIG(status)
    );
    let run = Run {
        code: libc::WEXITSTATUS(status),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        max_rss_kib: peak_kib,
    };
    assert!(
        !run.stderr.contains("panicked"),
        "stowaway panicked:\n{}",
        run.stderr
    );
    run
}

/// The high-water mark of the resident memory of process `pid` (VmHWM of its current
/// program), in KiB; 0 once it has exited.
fn high_water_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
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

/// Every entry under `dir` (symlinks not followed) with its modification time and, for a
/// regular file, its contents: what an audit must leave exactly as it found it.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime, Vec<u8>)> {
    let mut entries = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        let meta = entry.path().symlink_metadata().expect("metadata");
        let contents = if meta.is_file() {
            std::fs::read(entry.path()).expect("read")
        } else {
            Vec::new()
        };
        entries.push((entry.into_path(), meta.modified().expect("mtime"), contents));
    }
    entries
}
