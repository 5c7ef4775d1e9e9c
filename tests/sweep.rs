//! Real systems as the test (issue 11): this machine's /usr/bin, /usr/sbin, /usr/lib and
//! /usr/libexec, audited whole, must give no linkage finding but those proven real and listed
//! in tests/sweep-accepted.txt. The packages tests/host-packages.txt installs put OpenSSL,
//! curl, libpq, GnuTLS, NSS, every allocator and liburing there, with their users.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::*;

const LINKAGE: [&str; 3] = ["duplicate-library", "mixed-linkage", "duplicate-allocator"];

/// Files the sweep must see, for it to mean something: OpenSSL's users and every allocator and
/// liburing with theirs (each from a package tests/host-packages.txt lists).
const MUST_BE_THERE: &[(&str, &str)] = &[
    (
        "/usr/lib/postgresql/15/bin/psql",
        "libpq with libssl and libcrypto: 23 false findings once",
    ),
    (
        "/usr/lib/x86_64-linux-gnu/libcurl.so.4",
        "libcurl: OpenSSL, GnuTLS (through librtmp) and zlib",
    ),
    (
        "/usr/lib/x86_64-linux-gnu/libxmlsec1-openssl.so.1",
        "an OpenSSL user with its banner",
    ),
    ("/usr/bin/qemu-img", "a dynamic liburing user"),
    ("/usr/lib/x86_64-linux-gnu/liburing.so.2", "liburing"),
    ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "jemalloc"),
    ("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "mimalloc"),
    (
        "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
        "gperftools' tcmalloc",
    ),
    (
        "/usr/bin/heaptrack",
        "heaptrack, whose interposer looks like mimalloc",
    ),
];

/// The accepted findings that apply on this machine: (kind, path). A line may name a file
/// after the path: the finding is expected only where that file exists (a package that some
/// machines have in another build).
fn accepted() -> BTreeSet<(String, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sweep-accepted.txt");
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            match fields[..] {
                [] => None,
                [kind, path] => Some((kind, path)),
                [kind, path, when] => Path::new(when).exists().then_some((kind, path)),
                _ => panic!("tests/sweep-accepted.txt: <kind> <path> [<file>], not {l:?}"),
            }
        })
        .map(|(kind, path)| (kind.to_string(), path.to_string()))
        .collect()
}

#[test]
fn auditing_this_machines_usr_raises_no_linkage_finding_but_those_proven_real() {
    for (file, why) in MUST_BE_THERE {
        assert!(
            Path::new(file).exists(),
            "{file} ({why}) is missing: run tests/setup.sh"
        );
    }
    let dirs: Vec<&str> = ["/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec"]
        .into_iter()
        .filter(|d| Path::new(d).is_dir())
        .collect();
    let run = check_json(&dirs);
    let report = run.json();
    assert!(
        report["summary"]["files_scanned"].as_u64().unwrap() > 10_000,
        "{}",
        report["summary"]
    );
    // The packages the controls come from are there: OpenSSL's users among them.
    let binaries: BTreeSet<&str> = report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["file"].as_str().unwrap())
        .collect();
    for needed in ["curl", "openssl", "x86_64-linux-gnu/libssl.so.3"] {
        assert!(
            binaries.iter().any(|b| b.ends_with(needed)),
            "{needed} is not installed: run tests/setup.sh"
        );
    }
    let found: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| LINKAGE.iter().any(|kind| f["kind"] == *kind))
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["locations"][0]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        accepted(),
        "linkage findings on /usr differ from tests/sweep-accepted.txt"
    );
}
