//! NARs of real store paths (`nix-store --dump`), plain and compressed by the real `xz`,
//! `zstd`, `bzip2` and `gzip`, and tars of them by GNU tar in each of its formats: the
//! visit yields exactly the files, symlinks, executable bits and contents on disk, the
//! NAR's length and the sum of its nodes equal `nix path-info`'s narSize, and each file's
//! offset points at its bytes in the NAR.

use std::path::Path;
use std::process::Command;

use stowaway::archive::{nar_node_bytes, Compression, Format, ListedKind};

use super::common::*;

const COMPRESSORS: [(&str, &str, Compression); 4] = [
    ("/usr/bin/xz", "xz", Compression::Xz),
    ("/usr/bin/zstd", "zst", Compression::Zstd),
    ("/usr/bin/bzip2", "bz2", Compression::Bzip2),
    ("/usr/bin/gzip", "gz", Compression::Gzip),
];

/// The NAR node sizes of what a visit saw (the root is the empty path).
fn nar_size_of(visited: &Visited) -> u64 {
    visited
        .nodes
        .iter()
        .map(|(path, node)| {
            let name = path.rsplit(|&b| b == b'/').next().unwrap();
            let kind = match node {
                Node::Directory => ListedKind::Directory,
                Node::Symlink(target) => ListedKind::Symlink {
                    target: target.clone(),
                },
                Node::File {
                    executable,
                    contents,
                } => ListedKind::File {
                    size: contents.len() as u64,
                    executable: *executable,
                },
            };
            nar_node_bytes((!path.is_empty()).then_some(name), &kind)
        })
        .sum()
}

#[test]
fn nars_of_store_paths_plain_and_compressed_visit_as_the_store_path() {
    let dir = tempfile::tempdir().unwrap();
    for (attribute, store_path) in store_paths() {
        let on_disk = walk(Path::new(store_path), true);
        let expected_size = nar_size(store_path);
        let nar_file = dir.path().join(format!("{attribute}.nar"));
        let nar_bytes = run(nix("nix-store").args(["--dump", store_path]));
        std::fs::write(&nar_file, &nar_bytes).unwrap();
        let mut files = vec![(nar_file.clone(), Compression::None)];
        for (tool, extension, compression) in COMPRESSORS {
            files.push((compress(tool, extension, &nar_file), compression));
        }
        for (file, compression) in files {
            let what = format!("{attribute} as {}", file.display());
            let archive = open(&file);
            assert_eq!(archive.format(), Format::Nar(compression), "{what}");
            assert!(archive.image().is_none() && archive.listing().is_none());
            let visited = visit(&archive);
            assert_eq!(texts(visited.nodes.keys()), texts(on_disk.keys()), "{what}");
            assert_eq!(visited.nodes, on_disk, "{what}");
            let summary = visited.summary.clone().unwrap();
            assert_eq!(summary.nar_size, Some(expected_size), "{what}");
            assert_eq!(summary.members, on_disk.len() as u64, "{what}");
            assert_eq!(nar_size_of(&visited), expected_size, "{what}");
            for (path, offset) in &visited.offsets {
                let Node::File { contents, .. } = &visited.nodes[path] else {
                    unreachable!()
                };
                let at = *offset as usize;
                assert_eq!(
                    &nar_bytes[at..at + contents.len()],
                    &contents[..],
                    "{what}: {path:?}"
                );
            }
        }
    }
}

/// The tree GNU tar packs: the store path under its own name.
fn as_packed(store_path: &str) -> std::collections::BTreeMap<Vec<u8>, Node> {
    let name = Path::new(store_path).file_name().unwrap().to_str().unwrap();
    walk(Path::new(store_path), true)
        .into_iter()
        .map(|(path, node)| {
            let mut packed = name.as_bytes().to_vec();
            if !path.is_empty() {
                packed.push(b'/');
                packed.extend(path);
            }
            (packed, node)
        })
        .collect()
}

#[test]
fn tars_by_gnu_tar_in_every_format_visit_as_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = &store_paths()["links"];
    let bash = &store_paths()["bash"];
    let expected: std::collections::BTreeMap<_, _> = as_packed(store_path)
        .into_iter()
        .chain(as_packed(bash))
        .collect();
    // v7 cannot hold the 42-byte store path names plus a long file name? It can (100
    // bytes); it is the format without magic that detection must still recognise.
    for format in ["gnu", "oldgnu", "pax", "ustar", "v7"] {
        let tar_file = dir.path().join(format!("{format}.tar"));
        run(Command::new("tar")
            .arg(format!("--format={format}"))
            .arg("-cf")
            .arg(&tar_file)
            .arg("-C")
            .arg("/nix/store")
            .arg(Path::new(store_path).file_name().unwrap())
            .arg(Path::new(bash).file_name().unwrap()));
        let mut files = vec![(tar_file.clone(), Compression::None)];
        for (tool, extension, compression) in COMPRESSORS {
            files.push((compress(tool, extension, &tar_file), compression));
        }
        for (file, compression) in files {
            let what = format!("{format} tar {}", file.display());
            let archive = open(&file);
            assert_eq!(archive.format(), Format::Tar(compression), "{what}");
            let visited = visit(&archive);
            assert_eq!(visited.nodes, expected, "{what}");
            let listed: Vec<Vec<u8>> = archive
                .listing()
                .unwrap()
                .map(|l| l.path.to_vec())
                .collect();
            assert_eq!(texts(&listed), texts(expected.keys()), "{what}");
            assert!(visited.layers.values().all(Option::is_none), "{what}");
        }
    }
}

#[test]
fn plain_files_are_not_archives_and_compressed_non_archives_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bash = Path::new(&store_paths()["bash"]).join("bin/bash");
    let copy = dir.path().join("bash");
    std::fs::copy(&bash, &copy).unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "no archive here\n".repeat(100)).unwrap();
    for plain in [&copy, &text] {
        assert!(stowaway::archive::open(plain, &Default::default())
            .unwrap()
            .is_none());
    }
    assert!(stowaway::archive::open(dir.path(), &Default::default())
        .unwrap()
        .is_none());
    for (tool, extension, _) in COMPRESSORS {
        let compressed = compress(tool, extension, &copy);
        let error = match stowaway::archive::open(&compressed, &Default::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{tool}: a compressed ELF file was accepted"),
        };
        let name = tool.trim_start_matches("/usr/bin/");
        assert_eq!(
            error,
            format!("{name} compressed file that holds neither a NAR nor a tar")
        );
    }
}
