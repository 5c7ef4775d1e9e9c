//! Hostile and broken archives, written here on purpose: each is refused with one line
//! naming what and where, or (for names that can be made safe, and symlinks, which are
//! data) visited safely. None may panic, hang or touch anything outside the archive.

use std::path::Path;
use std::process::Command;

use stowaway::archive::{self, ErrorKind, Limits, MemberKind};

use super::common::*;

/// The error of opening and visiting `path` (reading every member to the end).
fn error_of(path: &Path, limits: &Limits) -> archive::Error {
    let archive = match archive::open(path, limits) {
        Err(e) => return e,
        Ok(None) => panic!("{}: not recognised", path.display()),
        Ok(Some(archive)) => archive,
    };
    let visited = archive.visit(&mut |member| {
        if let MemberKind::File(mut file) = member.kind {
            std::io::copy(&mut file.contents, &mut std::io::sink())?;
        }
        Ok(())
    });
    match visited {
        Err(e) => e,
        Ok(summary) => panic!("{}: accepted ({summary:?})", path.display()),
    }
}

fn assert_error(path: &Path, kind: ErrorKind, text: &str) {
    let error = error_of(path, &Limits::default());
    let line = error.to_string();
    assert_eq!(error.kind(), kind, "{line}");
    assert!(line.contains(text), "expected {text:?} in: {line}");
    assert!(!line.contains('\n'), "{line}");
}

#[test]
fn tar_names_that_climb_out_are_refused_absolute_ones_made_relative() {
    let scratch = Scratch::new();
    let climbing = scratch.write(
        "climb.tar",
        &tar_of(&[
            tar_member(b"ok", b""),
            tar_member(b"a/../../etc/passwd", b"x"),
        ]),
    );
    assert_error(
        &climbing,
        ErrorKind::Malformed,
        "the member at byte 512: member name a/../../etc/passwd climbs out of the archive with ..",
    );
    let absolute = scratch.write("abs.tar", &tar_of(&[tar_member(b"/etc/passwd", b"x")]));
    let visited = visit(&open(&absolute));
    assert_eq!(texts(visited.nodes.keys()), ["etc/passwd"]);
    for (name, text) in [(&b"a\0b"[..], "NUL"), (b"", "empty name")] {
        let records = [
            format!("{} path=", 8 + name.len() + (8 + name.len() >= 10) as usize).into_bytes(),
            name.to_vec(),
            b"\n".to_vec(),
        ]
        .concat();
        let mut pax = tar_header(b"PaxHeader", b'x', records.len() as u64, b"");
        pax.extend(&records);
        pax.resize(1024, 0);
        let path = scratch.write("pax.tar", &tar_of(&[pax, tar_member(b"x", b"")]));
        assert_error(&path, ErrorKind::Malformed, text);
    }
    let deep = scratch.write(
        "deep.tar",
        &tar_of(&[tar_member(
            &b"d/"
                .repeat(49)
                .into_iter()
                .chain(*b"f")
                .collect::<Vec<u8>>(),
            b"",
        )]),
    );
    let limits = Limits {
        max_depth: 20,
        ..Limits::default()
    };
    assert!(error_of(&deep, &limits)
        .to_string()
        .contains("nested deeper than 20"));
}

#[test]
fn symlinks_pointing_outside_are_data_never_followed() {
    let scratch = Scratch::new();
    let tar = tar_of(&[
        tar_header(b"escape", b'2', 0, b"../../../../etc/shadow"),
        tar_header(b"rooted", b'2', 0, b"/etc/shadow"),
        tar_member(b"escape/x", b"through the link?"),
    ]);
    let visited = visit(&open(&scratch.write("links.tar", &tar)));
    assert_eq!(
        visited.nodes[&b"escape"[..]],
        Node::Symlink(b"../../../../etc/shadow".to_vec())
    );
    assert_eq!(
        visited.nodes[&b"rooted"[..]],
        Node::Symlink(b"/etc/shadow".to_vec())
    );
    // The member under the link keeps its literal path: nothing resolves it on the host.
    assert!(visited.nodes.contains_key(&b"escape/x"[..]));
    let nar = nar(nar_directory(&[(
        b"s",
        tokens(&[b"(", b"type", b"symlink", b"target", b"/etc/shadow", b")"]),
    )]));
    let visited = visit(&open(&scratch.write("link.nar", &nar)));
    assert_eq!(
        visited.nodes[&b"s"[..]],
        Node::Symlink(b"/etc/shadow".to_vec())
    );
}

#[test]
fn huge_declared_sizes_are_truncation_not_allocation() {
    let scratch = Scratch::new();
    let tar = tar_of(&[tar_header(b"big", b'0', 1 << 60, b"")]);
    assert_error(
        &scratch.write("big.tar", &tar),
        ErrorKind::Malformed,
        "truncated",
    );
    let mut nar_bytes = nar(tokens(&[b"(", b"type", b"regular", b"contents"]));
    nar_bytes.extend((1u64 << 62).to_le_bytes());
    nar_bytes.extend(b"only this");
    assert_error(
        &scratch.write("big.nar", &nar_bytes),
        ErrorKind::Malformed,
        "truncated",
    );
    let mut long_name = nar(tokens(&[
        b"(",
        b"type",
        b"directory",
        b"entry",
        b"(",
        b"name",
    ]));
    long_name.extend((1u64 << 40).to_le_bytes());
    assert_error(
        &scratch.write("name.nar", &long_name),
        ErrorKind::Malformed,
        "an entry name of at most 4096 bytes",
    );
    let long_link = tar_header(b"././@LongLink", b'L', 1 << 40, b"");
    assert_error(
        &scratch.write("longlink.tar", &tar_of(&[long_link])),
        ErrorKind::Limit,
        "over the",
    );
}

#[test]
fn truncated_nars_fail_at_their_offset_plain_and_compressed() {
    let scratch = Scratch::new();
    let whole = run(nix("nix-store").args(["--dump", &store_paths()["links"]]));
    for cut in [whole.len() / 3, whole.len() / 2, whole.len() - 8] {
        let path = scratch.write("cut.nar", &whole[..cut]);
        assert_error(
            &path,
            ErrorKind::Malformed,
            &format!("truncated at byte {cut}"),
        );
        run(Command::new("xz").args(["-f", "-k"]).arg(&path));
        let error = error_of(&path.with_extension("nar.xz"), &Limits::default());
        assert_eq!(error.kind(), ErrorKind::Malformed, "{error}");
    }
}

#[test]
fn unsorted_duplicate_and_badly_named_nar_entries_are_refused() {
    let scratch = Scratch::new();
    let unsorted = nar(nar_directory(&[
        (b"b", nar_file(b"")),
        (b"a", nar_file(b"")),
    ]));
    assert_error(
        &scratch.write("u.nar", &unsorted),
        ErrorKind::Malformed,
        "entry a at byte",
    );
    let duplicate = nar(nar_directory(&[
        (b"a", nar_file(b"1")),
        (b"a", nar_file(b"2")),
    ]));
    assert_error(
        &scratch.write("d.nar", &duplicate),
        ErrorKind::Malformed,
        "not after a (NAR entries are sorted and unique)",
    );
    for name in [&b"a/b"[..], b".", b"..", b"", b"x\0"] {
        let bad = nar(nar_directory(&[(name, nar_file(b""))]));
        assert_error(
            &scratch.write("n.nar", &bad),
            ErrorKind::Malformed,
            "directory entry with",
        );
    }
    let mut node = nar_file(b"");
    for _ in 0..300 {
        node = nar_directory(&[(b"d", node)]);
    }
    assert_error(
        &scratch.write("deep.nar", &nar(node)),
        ErrorKind::Limit,
        "nested deeper than 256",
    );
}

#[test]
fn garbage_after_the_end_is_an_error() {
    let scratch = Scratch::new();
    let mut nar_bytes = nar(nar_file(b"x"));
    let end = nar_bytes.len();
    nar_bytes.extend(b"appended");
    assert_error(
        &scratch.write("g.nar", &nar_bytes),
        ErrorKind::Malformed,
        &format!("data after the end of the NAR at byte {end}"),
    );
    let mut tar = tar_of(&[tar_member(b"a", b"x")]);
    tar.extend(b"appended");
    assert_error(
        &scratch.write("g.tar", &tar),
        ErrorKind::Malformed,
        "data after the end of the tar at byte 2048",
    );
    let clean = scratch.write("c.nar", &nar(nar_file(b"x")));
    run(Command::new("zstd").args(["-q", "-f", "-k"]).arg(&clean));
    let mut compressed = std::fs::read(clean.with_extension("nar.zst")).unwrap();
    compressed.extend(b"not a zstd frame");
    let error = error_of(&scratch.write("g.nar.zst", &compressed), &Limits::default());
    assert_eq!(error.kind(), ErrorKind::Malformed, "{error}");
}

#[test]
fn decompression_bombs_stop_at_the_bound() {
    let scratch = Scratch::new();
    // A NAR holding one file of 1 GiB of zeros, zstd-compressed to a few tens of KiB.
    let mut header = nar(tokens(&[b"(", b"type", b"regular", b"contents"]));
    header.extend((1u64 << 30).to_le_bytes());
    let head = scratch.write("head", &header);
    let bomb = scratch.path("bomb.nar.zst");
    run(Command::new("bash").arg("-c").arg(format!(
        "(cat {}; head -c 1073741824 /dev/zero) | zstd -q -19 -o {}",
        head.display(),
        bomb.display()
    )));
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    let error = error_of(&bomb, &Limits::default());
    assert_eq!(error.kind(), ErrorKind::Limit, "{error}");
    assert!(
        error
            .to_string()
            .contains("over the 1000:1 bound on expansion"),
        "{error}"
    );
    let limits = Limits {
        max_unpacked_bytes: 64 << 20,
        ..Limits::default()
    };
    let error = error_of(&bomb, &limits);
    assert!(
        error.to_string().contains("more than 67108864 bytes"),
        "{error}"
    );
}

#[test]
fn broken_images_are_refused_with_the_layer() {
    let scratch = Scratch::new();
    let layer = tar_of(&[tar_member(b"bin/app", b"\x7fELF")]);
    let config = br#"{"config":{"Entrypoint":["/bin/app"]},"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#;
    let docker = |manifest: &[u8], members: Vec<Vec<u8>>| {
        let mut all = vec![
            tar_member(b"manifest.json", manifest),
            tar_member(b"c.json", config),
        ];
        all.extend(members);
        tar_of(&all)
    };
    let missing = docker(br#"[{"Config":"c.json","Layers":["nowhere.tar"]}]"#, vec![]);
    assert_error(
        &scratch.write("m.tar", &missing),
        ErrorKind::Malformed,
        "layer 0 (nowhere.tar): the archive has no such member",
    );
    let climbing = docker(
        br#"[{"Config":"c.json","Layers":["../l.tar"]}]"#,
        vec![tar_member(b"l.tar", &layer)],
    );
    assert_error(
        &scratch.write("c.tar", &climbing),
        ErrorKind::Malformed,
        "manifest.json Layers: member name ../l.tar climbs out",
    );
    let two = docker(
        br#"[{"Config":"c.json","Layers":["l.tar"]},{"Config":"c.json","Layers":["l.tar"]}]"#,
        vec![tar_member(b"l.tar", &layer)],
    );
    assert_error(
        &scratch.write("two.tar", &two),
        ErrorKind::Unsupported,
        "manifest.json lists 2 images",
    );
    let broken_layer = docker(
        br#"[{"Config":"c.json","Layers":["l.tar"]}]"#,
        vec![tar_member(b"l.tar", &layer[..700])],
    );
    assert_error(
        &scratch.write("b.tar", &broken_layer),
        ErrorKind::Malformed,
        "layer 0 (l.tar): member l.tar: the tar",
    );
    // A manifest.json of another shape is just a file of a plain tar.
    let other = tar_of(&[tar_member(b"manifest.json", br#"{"name":"web app"}"#)]);
    let archive = open(&scratch.write("webapp.tar", &other));
    assert_eq!(
        archive.format(),
        archive::Format::Tar(archive::Compression::None)
    );

    // OCI layouts: a digest that would climb out of blobs/, and a symlinked blob.
    let layout = scratch.path("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(layout.join("index.json"), br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../etc/passwd","size":1}]}"#).unwrap();
    assert_error(&layout, ErrorKind::Malformed, "is not a digest");
    std::os::unix::fs::symlink("/etc/passwd", layout.join("blobs/sha256/aa")).unwrap();
    std::fs::write(layout.join("index.json"), br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1}]}"#).unwrap();
    assert_error(&layout, ErrorKind::Unsupported, "is a symlink");
}

#[test]
fn a_visitor_error_comes_back_as_the_visitors() {
    let scratch = Scratch::new();
    let path = scratch.write(
        "v.tar",
        &tar_of(&[tar_member(b"a", b"1"), tar_member(b"b", b"2")]),
    );
    let archive = open(&path);
    let error = archive
        .visit(&mut |member| {
            anyhow::ensure!(member.path != b"b", "cannot audit this one");
            Ok(())
        })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Visitor);
    assert_eq!(error.to_string(), "member b: cannot audit this one");
    assert_eq!(
        error.into_visitor_error().unwrap().to_string(),
        "cannot audit this one"
    );
}
