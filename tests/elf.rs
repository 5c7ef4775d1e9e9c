//! Inside binaries: sections, load status, symbols and archive members of each reference;
//! linkage facts; two copies of one library. Every artefact was built by a real toolchain
//! (fixtures/elf/README.md says which, and lists the facts these tests rely on).

use std::fs;

use serde_json::Value;

use crate::util::*;

fn elf(path: &str) -> String {
    fixtures()
        .join("elf")
        .join(path)
        .to_str()
        .unwrap()
        .to_string()
}

fn audit(paths: &[String], extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<&str> = paths.iter().map(String::as_str).collect();
    args.extend(extra);
    let run = check_json(&args);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    (run.code, run.json())
}

/// (rule, file) of every finding about a whole file (the linkage rules).
fn file_findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reference"].is_null())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["locations"][0]["file"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn locations<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    findings(report, rule)
        .into_iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
        .collect()
}

fn binary<'a>(report: &'a Value, file: &str) -> &'a Value {
    report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["file"] == file)
        .unwrap_or_else(|| panic!("no binary {file} in {}", report["binaries"]))
}

#[test]
fn a_path_in_rodata_of_a_static_executable_is_loaded() {
    let (_, report) = audit(
        &[fixture("app-static/bin/app").to_str().unwrap().into()],
        &[],
    );
    let location = locations(&report, "store-reference")[0];
    assert_eq!(location["section"], ".rodata");
    assert_eq!(location["loaded"], true);
    assert_eq!(binary(&report, "app")["type"], "static-executable");
    assert_eq!(binary(&report, "app")["stripped"], false);
}

#[test]
fn a_bare_hash_in_the_symbol_names_is_not_loaded_and_names_its_symbol() {
    let info = fixture("bare-hash.closure.json");
    let (_, report) = audit(
        &[fixture("bare-hash/bin/hi").to_str().unwrap().into()],
        &["--closure-info", info.to_str().unwrap()],
    );
    let location = locations(&report, "store-reference")[0];
    assert_eq!(location["section"], ".strtab");
    assert_eq!(location["loaded"], false);
    let symbol = location["symbol"].as_str().unwrap();
    assert!(
        symbol.ends_with("-hi.c") && symbol.len() == 32 + 5,
        "{symbol}"
    );
}

#[test]
fn static_pie_and_relocatable_objects_are_told_apart() {
    let (_, report) = audit(&[elf("static-pie/static-pie"), elf("reloc/embed.o")], &[]);
    assert_eq!(binary(&report, "static-pie")["type"], "static-pie");
    assert_eq!(binary(&report, "embed.o")["type"], "relocatable");
    for location in locations(&report, "store-reference") {
        assert_eq!(location["section"], ".rodata", "{location}");
        assert_eq!(location["loaded"], true, "{location}");
        if location["file"] == "embed.o" {
            assert_eq!(location["symbol"], "embed_store_path");
        }
    }
}

#[test]
fn archive_members_are_named_in_gnu_and_bsd_archives() {
    let (_, report) = audit(
        &[elf("archive/libembed.a"), elf("archive/libembed-bsd.a")],
        &[],
    );
    let mut seen = Vec::new();
    for location in locations(&report, "store-reference") {
        seen.push((
            location["file"].as_str().unwrap().to_string(),
            location["member"].as_str().unwrap().to_string(),
            location["symbol"].as_str().unwrap().to_string(),
        ));
        assert_eq!(location["section"], ".rodata");
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("libembed-bsd.a", "embed.o", "embed_store_path"),
            (
                "libembed-bsd.a",
                "zlib-runtime-path-member.o",
                "zlib_store_path"
            ),
            ("libembed.a", "embed.o", "embed_store_path"),
            (
                "libembed.a",
                "zlib-runtime-path-member.o",
                "zlib_store_path"
            ),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
}

#[test]
fn ghc_paths_module_strings_are_attributed_to_their_package_and_module() {
    let (_, report) = audit(
        &[
            elf("ghc-paths/warp-app"),
            elf("ghc-paths/warp-app.stripped"),
        ],
        &[],
    );
    let all = locations(&report, "store-reference");
    assert_eq!(all.len(), 12, "six Paths_ strings in each copy");
    for location in all {
        assert_eq!(location["section"], ".rodata");
        match location["file"].as_str().unwrap() {
            "warp-app" => {
                let symbol = location["symbol"].as_str().unwrap();
                assert!(
                    symbol.starts_with("warp-lite-3.3.25") && symbol.contains("Paths_warp_lite."),
                    "{symbol}"
                );
            }
            _ => assert_eq!(
                location["symbol"],
                Value::Null,
                "no symbols left after strip"
            ),
        }
    }
}

#[test]
fn a_store_interpreter_and_runpath_are_dynamic_linkage() {
    let (code, report) = audit(&[elf("runpath/runpath")], &[]);
    assert_eq!(code, 1);
    let mut sections: Vec<&str> = locations(&report, "dynamic-linkage")
        .iter()
        .map(|l| l["section"].as_str().unwrap())
        .collect();
    sections.sort();
    assert_eq!(sections, [".dynstr", ".interp"]);
    let facts = binary(&report, "runpath");
    let glibc = fs::read_to_string(elf("runpath/runpath.closure.json")).unwrap();
    let interpreter = facts["interpreter"].as_str().unwrap();
    assert!(
        interpreter.ends_with("-glibc-2.36/lib/ld-linux-x86-64.so.2")
            && glibc.contains(&interpreter[..44])
    );
    assert_eq!(facts["runpath"].as_array().unwrap().len(), 1);
    assert_eq!(facts["type"], "dynamic-executable");
}

#[test]
fn jemalloc_static_through_tikv_and_dynamic_through_libjemalloc_is_a_duplicate() {
    let (code, report) = audit(
        &[
            elf("jemalloc-twice/jemalloc-twice"),
            elf("jemalloc-twice/jemalloc-twice.stripped"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(
        file_findings(&report),
        [
            (
                "duplicate-library".to_string(),
                "jemalloc-twice".to_string()
            ),
            ("duplicate-library".into(), "jemalloc-twice.stripped".into())
        ]
    );
    for finding in findings(&report, "duplicate-library") {
        let exe = finding["locations"][0]["file"].as_str().unwrap();
        let evidence = finding["evidence"].as_array().unwrap();
        let copies: Vec<(&str, &str, &str)> = evidence
            .iter()
            .map(|e| {
                (
                    e["linkage"].as_str().unwrap(),
                    e["flavour"].as_str().unwrap(),
                    e["object"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            copies,
            [
                ("static", "tikv", exe),
                ("shared", "unprefixed", "libjemalloc.so.2")
            ]
        );
        assert_eq!(evidence[1]["needed_via"], serde_json::json!([exe]));
        let shown = &evidence[0];
        if exe.ends_with(".stripped") {
            assert_eq!(
                shown["symbols"],
                serde_json::json!([]),
                "strip removes the symbols"
            );
            assert_eq!(
                shown["strings"],
                serde_json::json!(["_RJEM_MALLOC_CONF", "/etc/_rjem_malloc.conf"]),
                "the environment and file names survive strip"
            );
        } else {
            assert_eq!(
                shown["symbols"],
                serde_json::json!(["_rjem_malloc", "_rjem_mallocx", "_rjem_sdallocx"])
            );
        }
        assert!(finding["fix"]
            .as_str()
            .unwrap()
            .contains("JEMALLOC_OVERRIDE"));
    }
}

#[test]
fn liburing_static_in_the_program_and_dynamic_through_a_library_is_mixed_linkage() {
    let (code, report) = audit(&[elf("uring-mixed")], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        file_findings(&report),
        [
            ("mixed-linkage".to_string(), "uring-mixed".to_string()),
            ("mixed-linkage".into(), "uring-mixed.stripped".into())
        ]
    );
    let finding = findings(&report, "mixed-linkage")[0];
    let shared = &finding["evidence"][0];
    assert_eq!(shared["object"], "liburing.so.2");
    assert_eq!(
        shared["needed_via"],
        serde_json::json!(["uring-mixed", "libhelper.so"])
    );
    assert_eq!(finding["evidence"][1]["linkage"], "static");
    assert_eq!(
        binary(&report, "libhelper.so")["needed"],
        serde_json::json!(["liburing.so.2"])
    );
}

#[test]
fn two_allocator_families_in_one_process_are_a_duplicate_allocator() {
    let (code, report) = audit(
        &[
            elf("two-allocators/two-allocators"),
            elf("two-allocators/two-allocators.stripped"),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(
        file_findings(&report),
        [
            (
                "duplicate-allocator".to_string(),
                "two-allocators".to_string()
            ),
            (
                "duplicate-allocator".into(),
                "two-allocators.stripped".into()
            )
        ]
    );
    let libraries: Vec<&str> = findings(&report, "duplicate-allocator")[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["library"].as_str().unwrap())
        .collect();
    assert_eq!(libraries, ["jemalloc", "tcmalloc"]);
}

#[test]
fn one_copy_of_each_library_is_not_a_finding() {
    let controls = [
        "jemalloc-once",
        "uring-dynamic",
        "uring-static",
        "jemalloc-c-static",
    ];
    let (code, report) = audit(&controls.map(elf), &[]);
    assert_eq!(code, 0, "{}", report["findings"]);
    assert!(file_findings(&report).is_empty());
    // The controls still show what they contain.
    let libraries = &binary(&report, "jemalloc-once.stripped")["libraries"];
    assert_eq!(libraries[0]["flavour"], "tikv");
    assert_eq!(
        binary(&report, "uring-static")["libraries"][0]["library"],
        "liburing"
    );
}

#[test]
fn static_is_checked_only_when_asked() {
    let paths = [
        elf("jemalloc-once/jemalloc-once"),
        elf("static-pie/static-pie"),
        fixture("app-static/bin/app").to_str().unwrap().into(),
    ];
    let (_, plain) = audit(&paths, &[]);
    assert!(findings(&plain, "not-static").is_empty());
    let (_, strict) = audit(&paths, &["--static"]);
    let files: Vec<&str> = findings(&strict, "not-static")
        .iter()
        .map(|f| f["locations"][0]["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["jemalloc-once"]);
    assert!(findings(&strict, "not-static")[0]["message"]
        .as_str()
        .unwrap()
        .contains("ld-linux-x86-64.so.2"));
}

/// Copies of a real static executable, broken in the ways hostile files are.
fn hostile_elves() -> Vec<(String, Vec<u8>)> {
    let good = fs::read(fixture("app-static/bin/app")).unwrap();
    let le16 = |bytes: &mut Vec<u8>, at: usize, v: u16| {
        bytes[at..at + 2].copy_from_slice(&v.to_le_bytes())
    };
    let le64 = |bytes: &mut Vec<u8>, at: usize, v: u64| {
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes())
    };
    let shoff = u64::from_le_bytes(good[0x28..0x30].try_into().unwrap()) as usize;
    let mut cases = Vec::new();
    // Truncated at every header boundary and in the middle of each table.
    for cut in [
        4,
        16,
        52,
        63,
        64,
        100,
        120,
        232,
        1000,
        12_300,
        shoff,
        shoff + 100,
        good.len() - 1,
    ] {
        cases.push((format!("cut-{cut}"), good[..cut].to_vec()));
    }
    let mut edit = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        f(&mut bytes);
        cases.push((name.to_string(), bytes));
    };
    edit("shnum-huge", &|b| le16(b, 0x3c, 0xffff));
    edit("shoff-past-end", &|b| le64(b, 0x28, 1 << 40));
    edit("shoff-overflow", &|b| le64(b, 0x28, u64::MAX - 8));
    edit("phnum-huge", &|b| le16(b, 0x38, 0xffff));
    edit("phoff-past-end", &|b| le64(b, 0x20, u64::MAX / 2));
    edit("shstrndx-bad", &|b| le16(b, 0x3e, 0xfff0));
    // The .symtab header (index 23) claims 10^8 symbols.
    edit("symtab-1e8", &|b| {
        le64(b, shoff + 23 * 64 + 0x20, 100_000_000 * 24)
    });
    // Every section claims to overlap every other.
    edit("sections-overlap", &|b| {
        for i in 1..26 {
            le64(b, shoff + i * 64 + 0x18, 0x40);
            le64(b, shoff + i * 64 + 0x20, 0x5000);
        }
    });
    cases
}

#[test]
fn hostile_elf_files_are_still_scanned_and_reported_unparseable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = hostile_elves();
    for (name, bytes) in &cases {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    let before = snapshot(dir.path());
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(snapshot(dir.path()), before, "nothing audited was written");
    assert_eq!(
        run.code, 1,
        "the store path is still found in the copies that keep it: {}",
        run.stderr
    );
    let report = run.json();
    let files: Vec<&str> = locations(&report, "store-reference")
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    for (name, bytes) in &cases {
        let keeps_path = bytes.len() > 12_301 + 80;
        assert_eq!(files.contains(&name.as_str()), keeps_path, "{name}");
    }
    let unparseable: Vec<&str> = report["unparseable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["file"].as_str().unwrap())
        .collect();
    for name in [
        "shnum-huge",
        "shoff-past-end",
        "shoff-overflow",
        "phnum-huge",
        "phoff-past-end",
        "symtab-1e8",
        "cut-100",
        "cut-12300",
    ] {
        assert!(
            unparseable.contains(&name),
            "{name} not reported unparseable: {unparseable:?}"
        );
    }
    for u in report["unparseable"].as_array().unwrap() {
        assert!(!u["reason"].as_str().unwrap().is_empty());
    }
}

#[test]
fn an_archive_with_a_lying_member_size_is_reported_unparseable() {
    let mut bytes = fs::read(elf("archive/libembed.a")).unwrap();
    // The first member's size field (bytes 48..58 of its header, right after the magic).
    bytes[8 + 48..8 + 58].copy_from_slice(b"9999999999");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("liar.a"), &bytes).unwrap();
    let run = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 1, "still byte-scanned");
    let report = run.json();
    assert!(
        report["unparseable"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("past the end"),
        "{}",
        report["unparseable"]
    );
}

/// Every input that once crashed the fuzzer (fuzz/regressions/inspect/), and the hostile
/// copies above, go through the inspection entry point as each format: no panic, and a place
/// for every offset whenever it succeeds.
#[test]
fn fuzz_regressions_and_hostile_inputs_never_panic_inspection() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/inspect");
    let mut inputs: Vec<(String, Vec<u8>)> = hostile_elves();
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            inputs.push((path.display().to_string(), fs::read(&path).unwrap()));
        }
    }
    let wanted: std::collections::HashSet<&str> =
        ["_rjem_mallocx", "io_uring_submit"].into_iter().collect();
    for (name, bytes) in &inputs {
        let len = bytes.len() as u64;
        let offsets = [0, len / 2, len.saturating_sub(1), len + 10];
        for format in [
            stowaway::parts::FileFormat::Elf,
            stowaway::parts::FileFormat::Archive,
        ] {
            let result = std::panic::catch_unwind(|| {
                stowaway::parts::inspect(&bytes.as_slice(), len, format, &offsets, &wanted)
            });
            match result {
                Ok(Ok(inspection)) => assert_eq!(inspection.places.len(), offsets.len(), "{name}"),
                Ok(Err(reason)) => assert!(!reason.is_empty(), "{name}"),
                Err(_) => panic!("inspection panicked on {name} as {format:?}"),
            }
        }
    }
}

/// Each library signature of rules/libraries.toml, on a binary that links that library
/// statically (fixtures/elf/signatures/), unstripped and stripped: exactly that library and
/// flavour is recognised, and by what survives strip when the symbols are gone.
#[test]
#[allow(clippy::type_complexity)]
fn every_library_signature_recognises_its_library_with_and_without_symbols() {
    let dir = tempfile::tempdir().unwrap();
    // The OpenSSL program is 5 MB; its stripped copy is made here rather than committed.
    let openssl = dir.path().join("openssl.stripped");
    let stripped = std::process::Command::new("strip")
        .arg("-o")
        .arg(&openssl)
        .arg(elf("signatures/openssl/openssl"))
        .status()
        .expect("strip (binutils)");
    assert!(stripped.success());
    // (file, what it holds: library, part, flavour when something tells).
    type Part = (&'static str, &'static str, Option<&'static str>);
    let cases: [(&str, &[Part]); 8] = [
        (
            "je-jemalloc/je-jemalloc",
            &[("jemalloc", "jemalloc", Some("je"))],
        ),
        ("mimalloc/mimalloc", &[("mimalloc", "mimalloc", None)]),
        // A static tcmalloc is of no known build: the builds differ by soname only.
        ("tcmalloc/tcmalloc", &[("tcmalloc", "tcmalloc", None)]),
        // Both parts of OpenSSL, each of OpenSSL 3.
        (
            "openssl/openssl",
            &[
                ("openssl", "libcrypto", Some("3")),
                ("openssl", "libssl", Some("3")),
            ],
        ),
        ("zlib/zlib", &[("zlib", "zlib", None)]),
        (
            "../jemalloc-c-static/jemalloc-c-static",
            &[("jemalloc", "jemalloc", Some("unprefixed"))],
        ),
        (
            "../jemalloc-once/jemalloc-once",
            &[("jemalloc", "jemalloc", Some("tikv"))],
        ),
        (
            "../uring-static/uring-static",
            &[("liburing", "liburing", None)],
        ),
    ];
    let mut paths: Vec<String> = vec![openssl.to_str().unwrap().to_string()];
    for (path, _) in cases {
        paths.push(elf(&format!("signatures/{path}")));
        if !path.starts_with("openssl") {
            paths.push(elf(&format!("signatures/{path}.stripped")));
        }
    }
    let (_, report) = audit(&paths, &[]);
    for binary in report["binaries"].as_array().unwrap() {
        let file = binary["file"].as_str().unwrap();
        let base = file.trim_end_matches(".stripped");
        let (_, expected) = cases
            .iter()
            .find(|(path, _)| path.ends_with(&format!("/{base}")))
            .unwrap_or_else(|| panic!("unexpected binary {file}"));
        let found: Vec<(&str, &str, Option<&str>)> = binary["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["library"].as_str().unwrap(),
                    l["part"].as_str().unwrap(),
                    l["flavour"].as_str(),
                )
            })
            .collect();
        if file == "uring-static.stripped" {
            // liburing keeps no strings of its own: stripped of symbols, nothing shows it.
            assert!(found.is_empty(), "{file}: {found:?}");
            continue;
        }
        assert_eq!(found, *expected, "{file}");
        let evidence = &binary["libraries"][0];
        if file.ends_with(".stripped") {
            assert_eq!(evidence["symbols"], serde_json::json!([]), "{file}");
            assert!(
                !evidence["strings"].as_array().unwrap().is_empty(),
                "{file}: a string survives strip"
            );
        } else {
            assert!(
                !evidence["symbols"].as_array().unwrap().is_empty(),
                "{file}"
            );
        }
    }
    assert_eq!(report["binaries"].as_array().unwrap().len(), 16);
}
