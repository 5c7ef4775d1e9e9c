//! What happens under a running audit: a file truncated or rewritten while it is read, entries
//! removed after the walk listed them, and the run cancelled by a signal. The audit cannot vouch
//! for what it read, so each ends in exit 2, never a quiet pass.
//!
//! Each test starts the audit on a large sparse file, waits until the process has read part of
//! it (`rchar` in /proc/PID/io), then acts while the rest is still being read.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

const PATH_IN_STORE: &str =
    "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc/etc/ssl";
const GIB: u64 = 1 << 30;
/// Big enough that reading it takes seconds even on a fast machine (it costs no disk).
const SPARSE_LEN: u64 = 8 * GIB;

fn sparse(path: &Path) {
    fs::File::create(path).unwrap().set_len(SPARSE_LEN).unwrap();
}

/// Waits until process `pid` has read `bytes`, then does `change`.
fn once_read(pid: u32, bytes: u64, change: impl FnOnce()) {
    let started = Instant::now();
    loop {
        let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
        let read: u64 = io
            .lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if read >= bytes {
            return change();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the audit never read {bytes} bytes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `stowaway check PATH ARGS… --format json`, doing `change` once it has read 1 GiB.
fn audit_while(path: &Path, args: &[&str], change: impl FnOnce() + Send) -> Run {
    run_while(
        stowaway()
            .arg("check")
            .arg(path)
            .args(args)
            .args(["--format", "json"]),
        |pid| once_read(pid, GIB, change),
    )
}

fn errors(run: &Run) -> Vec<(String, String)> {
    let report = run.json();
    assert_eq!(report["complete"], false);
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_file_truncated_while_it_is_read_makes_the_audit_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    sparse(&file);
    let run = audit_while(&file, &[], || {
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(GIB)
            .unwrap()
    });
    assert_eq!(run.code, 2, "{}", run.stdout);
    let errors = errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "big");
    let message = &errors[0].1;
    assert!(
        message.starts_with(&format!(
            "changed while it was read (it shrank from {SPARSE_LEN} to "
        )),
        "{message}"
    );
    assert!(
        message.ends_with("bytes); audit a finished build"),
        "{message}"
    );
}

#[test]
fn a_store_path_written_into_a_part_already_read_is_not_missed_silently() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    sparse(&file);
    let run = audit_while(&file, &["-j", "1"], || {
        let writer = fs::File::options().write(true).open(&file).unwrap();
        writer.write_all_at(PATH_IN_STORE.as_bytes(), 4096).unwrap();
    });
    // The reference now at offset 4096 was read as zeros: a pass would be a lie.
    assert_eq!(run.code, 2, "{}", run.stdout);
    let errors = errors(&run);
    assert_eq!(
        errors,
        [(
            "big".to_string(),
            "changed while it was read (it was modified); audit a finished build".to_string()
        )]
    );
    let again = check_json(&[file.to_str().unwrap()]);
    assert_eq!(again.code, 1, "audited again, the reference is found");
}

#[test]
fn entries_removed_or_swapped_after_the_walk_listed_them_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Walked in name order by one worker: the big file first, the rest while it is read.
    sparse(&dir.path().join("a-big"));
    fs::create_dir(dir.path().join("b-dir")).unwrap();
    fs::write(dir.path().join("b-dir/inside"), PATH_IN_STORE).unwrap();
    fs::write(dir.path().join("c-file"), PATH_IN_STORE).unwrap();
    fs::write(dir.path().join("d-file"), PATH_IN_STORE).unwrap();
    fs::create_dir(dir.path().join("e-dir")).unwrap();
    fs::write(dir.path().join("e-dir/inside"), "plain").unwrap();
    // What a directory swapped for a symlink would lead to: never walked.
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("outside"), PATH_IN_STORE).unwrap();
    let run = audit_while(dir.path(), &["-j", "1"], || {
        fs::remove_dir_all(dir.path().join("b-dir")).unwrap();
        fs::remove_file(dir.path().join("c-file")).unwrap();
        fs::remove_file(dir.path().join("d-file")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("d-file")).unwrap();
        fs::remove_dir_all(dir.path().join("e-dir")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("e-dir")).unwrap();
    });
    assert_eq!(run.code, 2, "{}", run.stdout);
    let gone = "disappeared during the audit; audit a finished build".to_string();
    let swapped = "changed into a symlink during the audit, not followed; audit a finished build";
    assert_eq!(
        errors(&run),
        [
            ("b-dir".to_string(), gone.clone()),
            ("c-file".to_string(), gone),
            ("d-file".to_string(), swapped.to_string()),
            ("e-dir".to_string(), swapped.to_string())
        ]
    );
    assert_eq!(run.json()["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn a_cancelled_audit_exits_2_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big");
    sparse(&file);
    for (signal, says) in [
        (
            libc::SIGINT,
            "stowaway: interrupted (SIGINT), the audit was not completed\n",
        ),
        (
            libc::SIGTERM,
            "stowaway: terminated (SIGTERM), the audit was not completed\n",
        ),
        (
            libc::SIGHUP,
            "stowaway: hung up (SIGHUP), the audit was not completed\n",
        ),
    ] {
        let run = run_while(stowaway().arg("check").arg(&file), |pid| {
            once_read(pid, GIB, || {
                // SAFETY: kill has no memory-safety preconditions.
                assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
            })
        });
        assert_eq!(run.code, 2, "{says}");
        assert_eq!(run.stderr, says);
        assert!(
            run.stdout.is_empty(),
            "no report of a run that did not finish"
        );
    }
}
