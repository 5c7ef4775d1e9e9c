//! Precision (issue 11): every built-in rule and every library signature has a negative
//! control, a real file of this Debian system that nobody built for a test and that holds
//! something like what the rule or signature looks for, on which it must not fire. The
//! packages are in tests/host-packages.txt; the reasons are beside each entry.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// (rule, what to audit, extra flags, why it is a meaningful control).
const RULES: &[(&str, &[&str], &[&str], &str)] = &[
    ("store-reference", &["/usr/lib/nix/libnixutil.so"], &[],
        "holds Nix's base-32 alphabet as a string: 32 nix-base32 letters, the shape of a bare hash"),
    ("store-reference", &["/usr/lib/x86_64-linux-gnu/libcrypto.so.3"], &[],
        "OPENSSLDIR, ENGINESDIR, MODULESDIR: configured paths in loaded data, none in a store"),
    ("nuked-reference", &["/usr/lib/x86_64-linux-gnu/libproc2.so.0.0.1", "/usr/lib/x86_64-linux-gnu/libunistring.so.2.2.0"], &[],
        "runs of 32 and more `e`, the nuked hash, with no store directory before them"),
    ("store-symlink", &["/usr/lib/x86_64-linux-gnu/libz.so"], &[],
        "an absolute symlink, outside the store"),
    ("dynamic-linkage", &["/usr/bin/apropos"], &[],
        "PT_INTERP and DT_RUNPATH /usr/lib/man-db, neither in a store"),
    ("not-static", &["/usr/sbin/ldconfig"], &["--static"],
        "a static-pie: PT_DYNAMIC and .dynamic, but no interpreter and nothing needed"),
    ("duplicate-library", &["fixtures/debian/usr"], &[],
        "Debian's curl: libssl.so.3 and libcrypto.so.3 in its process, two parts of one OpenSSL"),
    ("mixed-linkage", &["fixtures/debian/usr"], &[],
        "Debian's openssl tool: its version banner next to DT_NEEDED libssl.so.3 and libcrypto.so.3"),
    ("mixed-linkage", &["/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Compress/Raw/Zlib/Zlib.so"], &[],
        "zlib's message table copied into Perl's module, which links libz.so.1"),
    ("over-budget", &["/usr/bin/nix"], &["--config", "fixtures/controls/tight-budget.toml"],
        "a 3.2 MiB program under a 4 MiB budget, whose references are all of unknown size: \
        unknown is not over a 1-byte budget"),
    ("unused-allow", &["/usr/bin/nix"], &["--allow", "hello*"],
        "example paths of hello-2.10 in Nix's manual: the allow entry is used"),
    ("openssl-sysconfdir", &["/usr/lib/x86_64-linux-gnu/libcrypto.so.3"], &[],
        "OPENSSLDIR: \"/usr/lib/ssl\" and ENGINESDIR excerpts, outside the store"),
    ("openssl-module-dir", &["/usr/lib/x86_64-linux-gnu/libcrypto.so.3"], &[],
        "ENGINESDIR and MODULESDIR (lib/engines-3, lib/ossl-modules), outside the store"),
    ("sysconfdir-path", &["/usr/lib/x86_64-linux-gnu/libpq.so.5.15"], &[],
        "SYSCONFDIR, /etc/postgresql-common, pg_service.conf: a real sysconfdir, not in a store"),
    ("haskell-paths-module", &["/usr/bin/shellcheck"], &[],
        "a GHC program with Paths_ShellCheck and lib/x86_64-linux-ghc-9.0.2/… in .rodata"),
    ("c-source-path", &["/usr/lib/x86_64-linux-gnu/libcrypto.so.3"], &[],
        "hundreds of __FILE__ paths (../crypto/aes/aes_ige.c) in loaded data"),
    ("rust-source-path", &["/usr/bin/rg"], &[],
        "Rust panic locations (/usr/src/rustc-1.63.0/library/…/string.rs) in .rodata"),
    ("go-goroot", &["/usr/bin/skopeo"], &[],
        "a Go 1.19 program: .gopclntab, runtime.GOROOT, .go source paths"),
    ("compiler-reference", &["/usr/lib/python3.11/_sysconfigdata__x86_64-linux-gnu.py"], &[],
        "names the compiler (CC = x86_64-linux-gnu-gcc) as a build tool remembers it"),
    ("ghc-reference", &["/usr/bin/shellcheck"], &[],
        "names GHC's library directory x86_64-linux-ghc-9.0.2"),
    ("store-shebang", &["/usr/bin/lsb_release"], &[],
        "a script whose first line is a shebang, outside the store"),
    ("pkg-config-file", &["/usr/lib/x86_64-linux-gnu/pkgconfig/openssl.pc"], &[],
        "a real .pc file with prefix=/usr"),
    ("libtool-archive", &["/usr/lib/x86_64-linux-gnu/libxmlsec1-openssl.la"], &[],
        "a real .la with libdir and dependency_libs"),
    ("cmake-config-file", &["/usr/lib/x86_64-linux-gnu/cmake/expat-2.5.0/expat-config.cmake"], &[],
        "a real <pkg>-config.cmake with include and library directories"),
    ("debug-only-reference", &["/usr/lib/x86_64-linux-gnu/libcrypto.a"], &[],
        "relocatable objects with .symtab, .strtab and .comment, the unloaded sections the rule reads"),
];

/// Rules whose control is not one file: what stands for it.
const ELSEWHERE: &[(&str, &str)] = &[(
    "duplicate-allocator",
    "tests/sweep.rs: no executable under /usr holds two allocators, \
        heaptrack's malloc interposer and gperftools' libraries included (and the signature \
        controls below: the interposer is no mimalloc, libprofiler no tcmalloc allocator)",
)];

/// (library, part, file, why): the file must not be taken for that part.
const SIGNATURES: &[(&str, &str, &str, &str)] = &[
    (
        "openssl",
        "libcrypto",
        "/usr/bin/openssl",
        "the banner `OpenSSL 3.0.x`, imports of OPENSSL_init_ssl and OpenSSL_version",
    ),
    (
        "openssl",
        "libcrypto",
        "/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so",
        "OpenSSL's own provider module: libcrypto's cpuid code and OPENSSL_ia32cap",
    ),
    (
        "openssl",
        "libcrypto",
        "/usr/lib/python3/dist-packages/cryptography/hazmat/bindings/_openssl.abi3.so",
        "the banner and hundreds of OpenSSL imports",
    ),
    (
        "openssl",
        "libssl",
        "/usr/lib/x86_64-linux-gnu/libgnutls-openssl.so.27.0.2",
        "GnuTLS's OpenSSL compatibility layer defines SSL_CTX_new, SSL_new and 72 more",
    ),
    (
        "openssl",
        "libssl",
        "/usr/lib/x86_64-linux-gnu/libssl3.so",
        "NSS's TLS library: one letter from an OpenSSL soname, TLS 1.3 key-log labels",
    ),
    (
        "openssl",
        "libssl",
        "/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3",
        "TLS 1.3 key-log labels, loaded beside libssl.so.3 by curl and libpq",
    ),
    (
        "jemalloc",
        "jemalloc",
        "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10",
        "another malloc replacement: defines malloc, posix_memalign",
    ),
    (
        "jemalloc",
        "jemalloc",
        "/usr/lib/heaptrack/libheaptrack_preload.so",
        "defines malloc and free (an interposer)",
    ),
    (
        "mimalloc",
        "mimalloc",
        "/usr/lib/heaptrack/libheaptrack_preload.so",
        "defines mi_malloc, mi_free, mi_calloc, mi_realloc",
    ),
    (
        "tcmalloc",
        "tcmalloc",
        "/usr/lib/x86_64-linux-gnu/libprofiler.so.0.5.5",
        "gperftools' CPU profiler: gperftools' strings, no allocator",
    ),
    (
        "tcmalloc",
        "profiler",
        "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10",
        "the whole strings CPUPROFILE and HEAPPROFILE, no profiler",
    ),
    (
        "liburing",
        "liburing",
        "/usr/bin/strace",
        "io_uring_setup, io_uring_enter, io_uring_register as strings (a syscall decoder)",
    ),
    (
        "zlib",
        "zlib",
        "/usr/lib/x86_64-linux-gnu/perl/5.36.0/auto/Compress/Raw/Zlib/Zlib.so",
        "zlib's messages (need dictionary, stream end) in its own table",
    ),
    (
        "zlib",
        "zlib",
        "/usr/bin/curl",
        "ZLIB_VERSION from zlib.h, and DT_NEEDED libz.so.1: a dynamic user",
    ),
];

fn root(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(path)
            .display()
            .to_string()
    }
}

fn audit(targets: &[&str], flags: &[&str]) -> Value {
    let mut args: Vec<String> = targets.iter().map(|t| root(t)).collect();
    // A flag's value that names a file of the repository is given from its root.
    args.extend(flags.iter().map(|f| match f.starts_with("fixtures/") {
        true => root(f),
        false => f.to_string(),
    }));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = check_json(&args);
    assert!(
        run.code == 0 || run.code == 1,
        "{targets:?}: {}",
        run.stderr
    );
    run.json()
}

#[test]
fn no_rule_fires_on_its_negative_control() {
    for (rule, targets, flags, why) in RULES {
        let report = audit(targets, flags);
        let fired: Vec<&Value> = findings(&report, rule);
        assert!(
            fired.is_empty(),
            "{rule} fired on {targets:?}, its control ({why}): {fired:#?}"
        );
    }
}

#[test]
fn no_signature_takes_its_negative_control_for_its_part() {
    for (library, part, file, why) in SIGNATURES {
        let report = audit(&[file], &[]);
        let binary = &report["binaries"][0];
        assert_eq!(
            binary["file"].as_str(),
            Path::new(file).file_name().and_then(|n| n.to_str())
        );
        let taken = binary["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["library"] == *library && l["part"] == *part);
        assert!(
            !taken,
            "{file} was taken for {library}/{part} ({why}): {binary}"
        );
    }
}

#[test]
fn every_rule_and_every_part_has_a_control() {
    let listed = run(stowaway().arg("rules")).stdout;
    let rules: BTreeSet<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let controlled: BTreeSet<&str> = RULES
        .iter()
        .map(|(rule, ..)| *rule)
        .chain(ELSEWHERE.iter().map(|(rule, _)| *rule))
        .collect();
    assert_eq!(
        rules, controlled,
        "rules without a negative control, or controls of no rule"
    );
    // The parts of rules/libraries.toml: `[[library]]` then `id`, `[[library.part]]` then `id`.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/libraries.toml"))
            .unwrap();
    let mut parts = BTreeSet::new();
    let (mut library, mut table) = (String::new(), "");
    for line in text.lines().map(str::trim) {
        if line.starts_with("[[") {
            table = line;
            continue;
        }
        if let Some(id) = line
            .strip_prefix("id = \"")
            .and_then(|r| r.strip_suffix('"'))
        {
            match table {
                "[[library]]" => library = id.to_string(),
                "[[library.part]]" => {
                    parts.insert((library.clone(), id.to_string()));
                }
                _ => {}
            }
        }
    }
    let controlled: BTreeSet<(String, String)> = SIGNATURES
        .iter()
        .map(|(l, p, ..)| (l.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        parts, controlled,
        "library parts without a negative control"
    );
}
