//! Hostile and broken archives given to `stowaway check` (issue 14): every one is refused
//! with one line on stderr and exit 2, never a pass, a panic or a hang (each run has a
//! deadline in `util::run`); names that can be made safe are, and symlinks are data that
//! nothing follows.

use std::path::Path;
use std::process::Command;

use super::common::{
    self, compress, nar, nar_directory, nar_file, nix, tar_header, tar_member, tar_of, token,
    tokens, Scratch,
};
use crate::util::{assert_one_line_error, check_json, findings, Run};

const ETC: &str = "/nix/store/7xc4vz98chy1iyybyvmv302kr91n2y6a-openssl-3.0.12-etc";

fn audit(path: &Path) -> Run {
    check_json(&[path.to_str().unwrap()])
}

/// Exit 2 with one line that names the archive and contains `needle`, and no report.
fn refused(path: &Path, needle: &str) {
    let run = audit(path);
    assert_eq!(run.code, 2, "{}: {}", path.display(), run.stderr);
    assert_one_line_error(&run, needle);
    assert!(
        run.stderr.contains(&path.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_decompression_bomb_stops_at_the_bound() {
    let scratch = Scratch::new();
    // A NAR holding one file of 1 GiB of zeros, zstd-compressed to a few tens of KiB.
    let mut header = nar(tokens(&[b"(", b"type", b"regular", b"contents"]));
    header.extend((1u64 << 30).to_le_bytes());
    let head = scratch.write("head", &header);
    let bomb = scratch.path("bomb.nar.zst");
    common::run(Command::new("bash").arg("-c").arg(format!(
        "(cat {}; head -c 1073741824 /dev/zero) | zstd -q -19 -o {}",
        head.display(),
        bomb.display()
    )));
    refused(&bomb, "bound on expansion: a decompression bomb?");
}

#[test]
fn names_that_climb_out_are_refused_and_absolute_ones_made_relative() {
    let scratch = Scratch::new();
    let climbing = scratch.write(
        "climb.tar",
        &tar_of(&[tar_member(b"a/../../etc/passwd", ETC.as_bytes())]),
    );
    refused(&climbing, "climbs out of the archive with ..");
    let absolute = scratch.write(
        "abs.tar",
        &tar_of(&[tar_member(b"/etc/passwd", ETC.as_bytes())]),
    );
    let run = audit(&absolute);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let location = &findings(&report, "store-reference")[0]["locations"][0];
    assert_eq!(location["file"], "etc/passwd");
    assert_eq!(location["offset"], 0);
}

#[test]
fn symlinks_pointing_outside_are_data_and_never_followed() {
    let scratch = Scratch::new();
    // On the host, beside the archive: a file that names a store path.
    let secret = scratch.write("secret", format!("dir={ETC}/etc/ssl\n").as_bytes());
    let climbing = format!("../../../../../../..{}", secret.display());
    let tar = tar_of(&[
        tar_header(b"escape", b'2', 0, climbing.as_bytes()),
        tar_header(b"rooted", b'2', 0, secret.to_str().unwrap().as_bytes()),
        tar_member(b"escape/x", b"under the link"),
        tar_header(b"store", b'2', 0, format!("{ETC}/etc/ssl").as_bytes()),
    ]);
    let path = scratch.write("links.tar", &tar);
    let nar_links = nar(nar_directory(&[
        (
            b"escape",
            tokens(&[
                b"(",
                b"type",
                b"symlink",
                b"target",
                climbing.as_bytes(),
                b")",
            ]),
        ),
        (
            b"store",
            tokens(&[
                b"(",
                b"type",
                b"symlink",
                b"target",
                format!("{ETC}/etc/ssl").as_bytes(),
                b")",
            ]),
        ),
    ]));
    let nar_path = scratch.write("links.nar", &nar_links);
    for path in [path, nar_path] {
        let run = audit(&path);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        // Only the link into the store is a finding: what the others point at is never read.
        let all = report["findings"].as_array().unwrap();
        assert_eq!(all.len(), 1, "{all:#?}");
        assert_eq!(all[0]["rule"], "store-symlink");
        assert_eq!(all[0]["locations"][0]["file"], "store");
    }
}

#[test]
fn huge_declared_sizes_are_truncation_not_allocation() {
    let scratch = Scratch::new();
    let tar = tar_of(&[tar_header(b"big", b'0', 1 << 60, b"")]);
    refused(&scratch.write("big.tar", &tar), "truncated");
    let mut bytes = nar(tokens(&[b"(", b"type", b"regular", b"contents"]));
    bytes.extend((1u64 << 62).to_le_bytes());
    bytes.extend(b"\x7fELF only this");
    refused(&scratch.write("big.nar", &bytes), "truncated");
    // An ELF file declared just under --max-elf-size: held, but the archive ends first.
    let mut elf = tar_header(b"bin/app", b'0', 1 << 30, b"");
    elf.extend(b"\x7fELF\x02\x01\x01");
    refused(
        &scratch.write("elf.tar", &elf),
        "the tar is truncated at byte 519 inside a member's data",
    );
}

#[test]
fn truncated_and_corrupt_nars_are_refused_plain_and_compressed() {
    let scratch = Scratch::new();
    let store_path = &common::store_paths()["app-static"];
    let whole = common::run(nix("nix-store").args(["--dump", store_path]));
    let cut = whole.len() / 2;
    let path = scratch.write("cut.nar", &whole[..cut]);
    refused(&path, &format!("truncated at byte {cut}"));
    refused(&compress("/usr/bin/xz", "xz", &path), "truncated");
    // A whole NAR, xz-compressed, then damaged in its middle.
    let whole_path = scratch.write("whole.nar", &whole);
    let mut xz = std::fs::read(compress("/usr/bin/xz", "xz", &whole_path)).unwrap();
    let middle = xz.len() / 2;
    for byte in &mut xz[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    refused(&scratch.write("damaged.nar.xz", &xz), "damaged.nar.xz: ");
    let mut garbage = whole.clone();
    garbage.extend(b"appended");
    refused(
        &scratch.write("garbage.nar", &garbage),
        &format!("data after the end of the NAR at byte {}", whole.len()),
    );
}

#[test]
fn nars_with_unsorted_or_duplicate_entries_are_refused() {
    let scratch = Scratch::new();
    let unsorted = nar(nar_directory(&[
        (b"b", nar_file(ETC.as_bytes())),
        (b"a", nar_file(b"")),
    ]));
    refused(
        &scratch.write("u.nar", &unsorted),
        "NAR entries are sorted and unique",
    );
    let duplicate = nar(nar_directory(&[
        (b"a", nar_file(ETC.as_bytes())),
        (b"a", nar_file(b"")),
    ]));
    refused(
        &scratch.write("d.nar", &duplicate),
        "entry a at byte 376 is not after a",
    );
    let mut name = nar(tokens(&[
        b"(",
        b"type",
        b"directory",
        b"entry",
        b"(",
        b"name",
    ]));
    name.extend(token(b"../x"));
    refused(&scratch.write("n.nar", &name), "directory entry with");
}

#[test]
fn a_compressed_file_that_is_no_archive_is_refused_never_passed() {
    let scratch = Scratch::new();
    let text = scratch.write("notes.txt", format!("{ETC}\n").repeat(100).as_bytes());
    for (tool, extension) in [
        ("/usr/bin/gzip", "gz"),
        ("/usr/bin/xz", "xz"),
        ("/usr/bin/zstd", "zst"),
        ("/usr/bin/bzip2", "bz2"),
    ] {
        let compressed = compress(tool, extension, &text);
        let name = tool.trim_start_matches("/usr/bin/");
        refused(
            &compressed,
            &format!("{name} compressed file that holds neither a NAR nor a tar"),
        );
    }
}

#[test]
fn only_a_target_is_opened_as_an_archive() {
    let scratch = Scratch::new();
    let out = scratch.path("out");
    std::fs::create_dir_all(&out).unwrap();
    // A corrupt .tar.gz inside an output is a file like any other.
    std::fs::write(out.join("broken.tar.gz"), b"\x1f\x8b\x08\0 not really gzip").unwrap();
    let tar = tar_of(&[tar_member(b"etc/conf", ETC.as_bytes())]);
    std::fs::write(out.join("inner.tar"), &tar).unwrap();
    let run = audit(&out);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["summary"]["files_scanned"], 2);
    assert!(report.get("image").is_none());
    let location = &findings(&report, "store-reference")[0]["locations"][0];
    assert_eq!(location["file"], "inner.tar");
    // An archive is audited on its own.
    let archive = scratch.write("alone.tar", &tar);
    let run = check_json(&[archive.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "an archive is audited on its own");
}

#[test]
fn an_elf_member_over_max_elf_size_is_scanned_but_the_audit_is_incomplete() {
    let scratch = Scratch::new();
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(4096, 0);
    elf.extend(ETC.as_bytes());
    let tar = tar_of(&[tar_member(b"bin/app", &elf)]);
    let path = scratch.write("elf.tar", &tar);
    let run = check_json(&[path.to_str().unwrap(), "--max-elf-size", "1K"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    assert_eq!(report["limits"][0]["limit"], "max-elf-size");
    assert_eq!(
        report["limits"][0]["paths"][0],
        format!("{}/bin/app", path.display())
    );
    let location = &findings(&report, "store-reference")[0]["locations"][0];
    assert_eq!(location["offset"], 4096);
    assert_eq!(location["section"], serde_json::Value::Null);
}
