//! Large files: split into ranges that workers scan in parallel, with every hit found once
//! at its exact offset, wherever the range boundaries fall.

use std::fs;

use crate::util::*;

const MIB: u64 = 1 << 20;

#[test]
fn paths_across_range_boundaries_of_a_large_file_are_found_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let path = "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc/etc/ssl";
    let size = 40 * MIB + 123;
    let mut data = vec![0x90u8; size as usize];
    // Around each 8 MiB range boundary and each 1 MiB read, one path starts just before,
    // one across, one just after; plus the very start and end of the file.
    let mut offsets = vec![0, size - path.len() as u64];
    for boundary in (MIB..size - MIB).step_by(MIB as usize) {
        offsets.extend([boundary - 200, boundary - 30, boundary + 300]);
    }
    for &at in &offsets {
        data[at as usize..at as usize + path.len()].copy_from_slice(path.as_bytes());
    }
    fs::write(&file, &data).unwrap();
    let run = check_json(&[file.to_str().unwrap(), "--store-dir", "/nix/store"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let finding = findings(&report, "store-reference")[0];
    let listed = finding["locations"].as_array().unwrap().len() as u64;
    assert_eq!(
        listed + finding["more_locations"].as_u64().unwrap(),
        offsets.len() as u64
    );
    let found: Vec<u64> = finding["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["offset"].as_u64().unwrap())
        .collect();
    let mut expected = offsets.clone();
    expected.sort();
    assert_eq!(
        found,
        expected[..found.len()],
        "the first locations, in file order"
    );
    assert_eq!(report["summary"]["bytes_scanned"], size);
}

#[test]
fn lines_are_counted_exactly_across_ranges_chunks_and_workers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("text.log");
    let path = "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc/etc/ssl";
    let size = 40 * MIB + 321;
    // Lines of uneven length, so that no boundary falls on a line start by design.
    let mut data: Vec<u8> = (0..size)
        .map(|i| {
            if i % 97 == 0 || i % 1013 == 0 {
                b'\n'
            } else {
                b'.'
            }
        })
        .collect();
    let mut offsets = vec![0, size - path.len() as u64];
    for boundary in (MIB..size - MIB).step_by(MIB as usize) {
        // Before, across (the store dir in one range, the hash in the next) and after.
        offsets.extend([boundary - 200, boundary - 5, boundary + 300]);
    }
    for &at in &offsets {
        data[at as usize..at as usize + path.len()].copy_from_slice(path.as_bytes());
    }
    fs::write(&file, &data).unwrap();
    let mut expected: Vec<(u64, u64)> = Vec::new();
    let (mut at, mut newlines) = (0usize, 0u64);
    let mut sorted = offsets.clone();
    sorted.sort();
    for offset in sorted {
        newlines += data[at..offset as usize]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        at = offset as usize;
        expected.push((offset, newlines + 1));
    }
    for threads in ["1", "2"] {
        let markdown = dir.path().join("report.md");
        let run = check_json(&[
            file.to_str().unwrap(),
            "-j",
            threads,
            "--max-locations",
            "1000",
            "--output",
            &format!("markdown={}", markdown.display()),
        ]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        let found: Vec<(u64, u64)> = findings(&report, "store-reference")[0]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["offset"].as_u64().unwrap(), l["line"].as_u64().unwrap()))
            .collect();
        assert_eq!(found, expected, "-j {threads}");
    }
}
