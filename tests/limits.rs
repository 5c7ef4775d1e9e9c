//! The resource limits: each flag changes its limit, each limit reached is reported with the
//! paths that reached it, and every limit but `--max-locations` makes the audit incomplete.

use std::fs;
use std::os::unix::fs::FileExt;

use serde_json::Value;

use crate::util::*;

const PATH_IN_STORE: &str =
    "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc/etc/ssl";

/// The one limit a report says was reached.
fn only_limit(report: &Value) -> &Value {
    let limits = report["limits"].as_array().unwrap();
    assert_eq!(limits.len(), 1, "{limits:#?}");
    &limits[0]
}

fn paths_of(limit: &Value) -> Vec<&str> {
    limit["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

fn elf(path: &str) -> String {
    fixture("elf").join(path).to_str().unwrap().to_string()
}

#[test]
fn a_directory_past_max_depth_is_named_and_the_audit_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b/c/d");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("f"), PATH_IN_STORE).unwrap();
    let root = dir.path().to_str().unwrap();

    let whole = check_json(&[root]);
    assert_eq!(whole.code, 1, "found at the default depth");
    assert_eq!(whole.json()["limits"], serde_json::json!([]));

    let cut = check_json(&[root, "--max-depth", "2"]);
    assert_eq!(cut.code, 2, "{}", cut.stdout);
    let report = cut.json();
    assert_eq!(report["complete"], false);
    assert_eq!(report["findings"], serde_json::json!([]));
    let limit = only_limit(&report);
    assert_eq!(limit["limit"], "max-depth");
    assert_eq!(limit["flag"], "--max-depth");
    assert_eq!(
        (limit["value"].as_u64(), limit["hits"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(paths_of(limit), [format!("{root}/a/b")]);
    assert_eq!(limit["incomplete"], true);

    let human = run(stowaway().arg("check").arg(root).args(["--max-depth", "2"]));
    assert_eq!(human.code, 2);
    assert!(
        human.stdout.contains(&format!(
            "limit: --max-depth 2 reached: the entries of 1 directory 2 levels down were not read: {root}/a/b\n"
        )),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .ends_with("INCOMPLETE: 0 failing, 0 warnings (--max-depth 2 was reached)\n"),
        "{}",
        human.stdout
    );
}

#[test]
fn an_empty_directory_at_max_depth_cuts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("a/b")).unwrap();
    let run = check_json(&[dir.path().to_str().unwrap(), "--max-depth", "2"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.json()["limits"], serde_json::json!([]));
}

#[test]
fn max_locations_lists_that_many_and_counts_the_rest_without_failing_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("many"),
        format!("{PATH_IN_STORE}\n").repeat(100),
    )
    .unwrap();
    let run = check_json(&[dir.path().to_str().unwrap(), "--max-locations", "3"]);
    assert_eq!(run.code, 1, "a finding, and a complete audit");
    let report = run.json();
    assert_eq!(report["complete"], true);
    let finding = findings(&report, "store-reference")[0];
    assert_eq!(finding["locations"].as_array().unwrap().len(), 3);
    assert_eq!(finding["more_locations"], 97);
    let limit = only_limit(&report);
    assert_eq!(limit["limit"], "max-locations");
    assert_eq!(limit["incomplete"], false);
    assert_eq!(
        paths_of(limit),
        [format!("{}/many", dir.path().to_str().unwrap())]
    );
}

#[test]
fn more_distinct_store_paths_than_max_paths_per_file_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let hashes = "0123456789abcdfghijklmnpqrsvwxyz";
    let text: String = (0..10)
        .map(|n| {
            let hash: String = (0..32)
                .map(|i| hashes.as_bytes()[(n * 3 + i) % 32] as char)
                .collect();
            format!("/nix/store/{hash}-pkg{n}-1.0\n")
        })
        .collect();
    fs::write(dir.path().join("paths"), text).unwrap();
    let root = dir.path().to_str().unwrap();
    assert_eq!(
        findings(&check_json(&[root]).json(), "store-reference").len(),
        10
    );
    let run = check_json(&[root, "--max-paths-per-file", "4"]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(findings(&report, "store-reference").len(), 4);
    let limit = only_limit(&report);
    assert_eq!(limit["limit"], "max-paths-per-file");
    assert_eq!(
        limit["effect"],
        "1 file holds more than 4 distinct store paths; only the first 4 of each are reported"
    );
}

#[test]
fn a_binary_over_max_elf_size_is_byte_scanned_but_not_parsed() {
    let binary = fixture("hello-static");
    let binary = binary.to_str().unwrap();
    let parsed = check_json(&[binary]).json();
    assert_eq!(parsed["binaries"].as_array().unwrap().len(), 1);

    let run = check_json(&[binary, "--max-elf-size", "1K"]);
    assert_eq!(run.code, 2, "not parsed, so linkage faults may hide");
    let report = run.json();
    assert_eq!(report["binaries"], serde_json::json!([]));
    assert_eq!(
        report["summary"]["bytes_scanned"], parsed["summary"]["bytes_scanned"],
        "every byte is still scanned"
    );
    let limit = only_limit(&report);
    assert_eq!(limit["limit"], "max-elf-size");
    assert_eq!(limit["value"], 1024);
    assert_eq!(paths_of(limit), [format!("{binary}/bin/hello")]);
    let human = run_human(&[binary, "--max-elf-size", "1K"]);
    assert!(human.contains("limit: --max-elf-size 1K reached: 1 binary larger than 1.0 KiB was byte-scanned but not parsed"), "{human}");

    // A text file is never parsed, so its size reaches no limit.
    let script = fixture("script");
    let text = check_json(&[script.to_str().unwrap(), "--max-elf-size", "1"]);
    assert_eq!(text.json()["limits"], serde_json::json!([]));
}

fn run_human(args: &[&str]) -> String {
    run(stowaway().arg("check").args(args)).stdout
}

#[test]
fn max_image_objects_cuts_the_libraries_followed_and_says_where() {
    let mixed = elf("uring-mixed");
    let (whole, cut) = (
        check_json(&[&mixed]),
        check_json(&[&mixed, "--max-image-objects", "2"]),
    );
    assert_eq!(whole.code, 1);
    assert_eq!(findings(&whole.json(), "mixed-linkage").len(), 2);
    // Past the executable and libhelper.so, liburing.so.2 is never reached: the finding it
    // makes is gone, so the audit cannot pass.
    assert_eq!(cut.code, 2);
    let report = cut.json();
    assert_eq!(findings(&report, "mixed-linkage").len(), 0);
    let limit = only_limit(&report);
    assert_eq!(limit["limit"], "max-image-objects");
    assert_eq!(
        paths_of(limit),
        [
            format!("{mixed}/uring-mixed"),
            format!("{mixed}/uring-mixed.stripped")
        ]
    );
}

#[test]
fn limit_flags_take_sizes_with_units_and_refuse_nonsense() {
    let script = fixture("script");
    let script = script.to_str().unwrap();
    for size in ["512M", "2GiB", "4096", "1t"] {
        let run = check_json(&[script, "--max-elf-size", size]);
        assert_eq!(run.code, 1, "{size}: {}", run.stderr);
    }
    for (flag, says) in [
        ("--max-elf-size=12Q", "unknown unit \"Q\""),
        ("--max-elf-size=1.2.3G", "is not a size"),
        ("--max-elf-size=99999999T", "too large"),
        ("--max-depth=-1", "invalid digit"),
        ("--max-locations=many", "invalid digit"),
    ] {
        let run = check_json(&[script, flag]);
        assert_eq!(run.code, 2, "{flag}");
        assert!(run.stdout.is_empty());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid value") && first.contains(says),
            "{flag}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_4_gib_sparse_elf_file_reaches_max_elf_size_and_is_still_scanned_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge");
    let len: u64 = (4 << 30) + 4096;
    let header = b"\x7fELF\x02\x01\x01";
    let at = [
        (3u64 << 30) + 123,
        (4u64 << 30) - 20,
        len - PATH_IN_STORE.len() as u64,
    ];
    {
        let out = fs::File::create(&file).unwrap();
        out.set_len(len).unwrap();
        out.write_all_at(header, 0).unwrap();
        for offset in at {
            out.write_all_at(PATH_IN_STORE.as_bytes(), offset).unwrap();
        }
    }
    let before = fs::metadata(&file).unwrap().modified().unwrap();
    let run = check_json(&[file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["summary"]["bytes_scanned"], len);
    let offsets: Vec<u64> = findings(&report, "store-reference")[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, at, "found past 4 GiB, across it, and at the end");
    assert_eq!(only_limit(&report)["limit"], "max-elf-size");
    assert!(
        run.max_rss_kib < 64 << 10,
        "4 GiB read in {} KiB of memory",
        run.max_rss_kib
    );
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), before);
    assert_eq!(fs::metadata(&file).unwrap().len(), len);
}
