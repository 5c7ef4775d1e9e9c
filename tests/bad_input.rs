//! Bad input: each case states its exit code and message; nothing panics or hangs (every run
//! has a deadline in `util::run`), and what is audited is never written.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use serde_json::Value;

use crate::util::*;

const PATH_IN_STORE: &str =
    "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc/etc/ssl";

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

#[test]
fn missing_path_exits_2_with_one_line() {
    let run = check_json(&["/definitely/not/here"]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "/definitely/not/here: No such file or directory");
    assert!(run.stdout.is_empty());
}

#[test]
fn no_result_and_no_path_exits_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(stowaway().current_dir(dir.path()).arg("check"));
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "nix build");
}

#[test]
fn wrong_flags_exit_2() {
    let run = run(stowaway().args(["check", "--no-such-flag"]));
    assert_eq!(run.code, 2);
    let run = run_threads_zero();
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "--threads");
    let run = check_json(&[".", "--allow", "a[b"]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "--allow \"a[b\"");
}

fn run_threads_zero() -> Run {
    run(stowaway().args(["check", ".", "--threads", "0"]))
}

#[test]
fn a_fifo_named_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let run = check_json(&[fifo.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "is a fifo, not a file or directory");
}

#[test]
fn fifos_and_sockets_in_a_tree_are_skipped_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    fs::write(dir.path().join("config"), format!("dir={PATH_IN_STORE}\n")).unwrap();
    let before = snapshot(dir.path());
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(snapshot(dir.path()), before, "nothing audited was written");
    let report = run.json();
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().into(),
                s["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("pipe".into(), "fifo".into()),
            ("sock".into(), "socket".into())
        ]
    );
    assert_eq!(report["summary"]["files_scanned"], 1);
}

#[test]
fn broken_and_looping_symlinks_as_targets_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    symlink(dir.path().join("nothing"), &broken).unwrap();
    let run = check_json(&[broken.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "broken: No such file or directory");

    let a = dir.path().join("a");
    symlink(dir.path().join("b"), &a).unwrap();
    symlink(&a, dir.path().join("b")).unwrap();
    let run = check_json(&[a.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "Too many levels of symbolic links");
}

#[test]
fn symlinks_inside_a_tree_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    // A loop, a dangling link, a link out of the tree to a file with a store path: none is
    // followed; a dangling link *into the store* is itself a reference.
    symlink("loop", tree.join("loop")).unwrap();
    symlink("/nowhere/at/all", tree.join("dangling")).unwrap();
    fs::write(dir.path().join("outside"), PATH_IN_STORE).unwrap();
    symlink(dir.path().join("outside"), tree.join("outward")).unwrap();
    symlink(PATH_IN_STORE, tree.join("into-store")).unwrap();
    let run = check_json(&[tree.to_str().unwrap(), "--store-dir", "/nix/store"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert!(
        findings(&report, "store-reference").is_empty(),
        "outward link was followed"
    );
    let link = findings(&report, "store-symlink");
    assert_eq!(link.len(), 1);
    assert_eq!(link[0]["locations"][0]["file"], "into-store");
    assert_eq!(report["errors"], Value::Array(vec![]));
}

#[test]
fn odd_file_names_are_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\nname\x1b[31m");
    fs::write(dir.path().join(name), PATH_IN_STORE).unwrap();
    let before = snapshot(dir.path());
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(
        findings(&report, "store-reference")[0]["locations"][0]["file"],
        "bad\\xff\\x0aname\\x1b[31m"
    );
    let human = crate::util::run(stowaway().arg("check").arg(dir.path()));
    assert!(
        human.stdout.contains("bad\\xff\\x0aname\\x1b[31m+0x0"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains('\x1b'));
    assert_eq!(snapshot(dir.path()), before, "nothing audited was written");
}

#[test]
fn empty_files_and_empty_directories_pass() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty-dir")).unwrap();
    fs::write(dir.path().join("empty-file"), b"").unwrap();
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0);
    let report = run.json();
    assert_eq!(report["summary"]["files_scanned"], 1);
    assert_eq!(report["summary"]["bytes_scanned"], 0);
}

#[test]
fn malformed_closure_info_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("truncated.json", "[{\"path\": ", "not valid JSON"),
        (
            "no-size.json",
            "[{\"path\":\"/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-x\",\"references\":[]}]",
            "narSize",
        ),
        (
            "bad-path.json",
            "{\"/nix/store/short-x\":{\"narSize\":1,\"references\":[]}}",
            "/nix/store/short-x",
        ),
        // A path from the file is data: its escape sequence and newline are shown escaped.
        (
            "hostile-path.json",
            "{\"/nix/store/x\\u001b[2J\\n::error::y\":{\"narSize\":1,\"references\":[]}}",
            "/nix/store/x\\x1b[2J\\x0a::error::y: ",
        ),
    ];
    for (file, text, needle) in cases {
        let info = dir.path().join(file);
        fs::write(&info, text).unwrap();
        let run = check_json(&[
            fixture("hello-static").to_str().unwrap(),
            "--closure-info",
            info.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2, "{file}");
        assert_one_line_error(&run, file);
        assert_one_line_error(&run, needle);
    }
    let run = check_json(&[
        fixture("hello-static").to_str().unwrap(),
        "--closure-info",
        "/no/such/info.json",
    ]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "/no/such/info.json");
}

#[test]
fn an_unreadable_file_is_listed_and_the_audit_goes_on_but_cannot_pass() {
    // Root reads everything, so the audit runs as `nobody` (setpriv, util-linux).
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.path().join("secret"), PATH_IN_STORE).unwrap();
    fs::set_permissions(dir.path().join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(dir.path().join("locked")).unwrap();
    fs::write(dir.path().join("locked/inner"), b"x").unwrap();
    fs::set_permissions(dir.path().join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::write(dir.path().join("visible"), PATH_IN_STORE).unwrap();
    fs::set_permissions(
        dir.path().join("visible"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut command = stowaway_unprivileged();
    let run = run(command.args(["check", "--format", "json"]).arg(dir.path()));
    assert_eq!(
        run.code, 2,
        "an incomplete audit never passes: {}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["complete"], false);
    assert_eq!(report["verdict"], "fail");
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().into(),
                e["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("locked".into(), "permission denied".into()),
            ("secret".into(), "permission denied".into())
        ]
    );
    // Named from where stowaway ran too, so that several targets cannot be confused.
    let root = dir.path().to_str().unwrap();
    assert_eq!(report["errors"][0]["target"], root);
    assert_eq!(report["errors"][0]["path"], format!("{root}/locked"));
    assert_eq!(
        findings(&report, "store-reference")[0]["locations"][0]["file"],
        "visible"
    );
}

#[test]
fn a_directory_of_100_000_files_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..100_000u32 {
        let sub = dir.path().join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            fs::create_dir(&sub).unwrap();
        }
        let body: &[u8] = if i == 77_777 {
            PATH_IN_STORE.as_bytes()
        } else {
            b"plain"
        };
        fs::write(sub.join(format!("f{i}")), body).unwrap();
    }
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["summary"]["files_scanned"], 100_000);
    assert_eq!(
        findings(&report, "store-reference")[0]["locations"][0]["file"],
        "d77/f77777"
    );
    // What is kept per file is small: about 0.5 KiB (it was 1 KiB before it was trimmed).
    assert!(
        run.max_rss_kib < 96 << 10,
        "100 000 files audited in {} KiB",
        run.max_rss_kib
    );
}

#[test]
fn the_audited_tree_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bin");
    fs::write(&file, PATH_IN_STORE).unwrap();
    let before = fs::metadata(&file).unwrap();
    let dir_before = fs::metadata(dir.path()).unwrap();
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let after = fs::metadata(&file).unwrap();
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    assert_eq!(fs::read(&file).unwrap(), PATH_IN_STORE.as_bytes());
    assert_eq!(
        dir_before.modified().unwrap(),
        fs::metadata(dir.path()).unwrap().modified().unwrap()
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn many_occurrences_in_one_file_are_capped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{PATH_IN_STORE}\n");
    fs::write(dir.path().join("many"), line.repeat(1000)).unwrap();
    let run = check_json(&[dir.path().to_str().unwrap()]);
    let report = run.json();
    let finding = findings(&report, "store-reference")[0];
    let listed = finding["locations"].as_array().unwrap().len() as u64;
    assert_eq!(listed, 16);
    assert_eq!(listed + finding["more_locations"].as_u64().unwrap(), 1000);
}

#[test]
fn device_nodes_in_a_tree_are_skipped_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    // As root a device node can be made; elsewhere the test uses /dev itself.
    let made = std::process::Command::new("mknod")
        .arg(dir.path().join("null-device"))
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    let target = if made {
        dir.path().to_path_buf()
    } else {
        std::path::PathBuf::from("/dev")
    };
    let run = check_json(&[target.to_str().unwrap()]);
    let report = run.json();
    let kinds: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"character device"), "{kinds:?}");
}

#[test]
fn a_tree_ten_thousand_levels_deep_is_cut_at_max_depth_or_past_path_max_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // Built by a child stepping down one level at a time (relative chdir, no path string to
    // grow): the full path is far longer than PATH_MAX, and this process keeps its own
    // working directory.
    let script = format!(
        "import os\nos.chdir({:?})\nfor _ in range(10000):\n    os.mkdir('d')\n    os.chdir('d')\nopen('deepest', 'w').write({PATH_IN_STORE:?})\n",
        dir.path().display().to_string()
    );
    let built = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(built.success());
    let root = dir.path().to_str().unwrap();
    // At the default depth: the directory 256 levels down is named, and nothing is lost
    // silently.
    let run = check_json(&[root]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    assert_eq!(report["limits"][0]["limit"], "max-depth");
    let cut_at = report["limits"][0]["paths"][0].as_str().unwrap();
    assert_eq!(cut_at, format!("{root}{}", "/d".repeat(256)));
    // Raised past what a path can hold, the walk ends where the kernel refuses the path:
    // an error, never a crash.
    let run = check_json(&[root, "--max-depth", "20000"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["limits"], serde_json::json!([]));
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["message"], "file name too long");
}

#[test]
fn names_with_workflow_command_characters_are_escaped_or_kept_as_data() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a::error file=x::boom", "100%", "tab\tname"] {
        fs::write(dir.path().join(name), PATH_IN_STORE).unwrap();
    }
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let report = run.json();
    let mut files: Vec<&str> = findings(&report, "store-reference")[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["100%", "a::error file=x::boom", "tab\\x09name"]);
}

#[test]
fn a_file_of_nothing_but_nix_base32_finishes_quickly_and_finds_nothing() {
    // Nix's own scanner slows to a few MB/s on such input: every window is a candidate.
    let dir = tempfile::tempdir().unwrap();
    let alphabet = b"0123456789abcdfghijklmnpqrsvwxyz";
    let data: Vec<u8> = (0..64usize << 20)
        .map(|i| alphabet[(i * 7 + i / 33) % 32])
        .collect();
    fs::write(dir.path().join("base32"), &data).unwrap();
    let info = fixture("diamond.closure.json");
    // util::run's deadline fails the test if it hangs; the benchmark measures speed.
    let run = check_json(&[
        dir.path().to_str().unwrap(),
        "--closure-info",
        info.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["summary"]["bytes_scanned"], 64u64 << 20);
}
