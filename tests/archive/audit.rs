//! Archives audited through the CLI (issue 14): NARs that `nix-store --dump` wrote of test
//! store paths, compressed by the real `xz` and `zstd`; container images that umoci built
//! and skopeo converted (docker-archive plain and gzipped, OCI layout as a directory, with
//! zstd layers, and as a tar). Each is audited like the directory it holds: the same
//! findings under the same rules, offsets within each member file, ELF inspection; an image
//! is its own closure, with sizes equal to what `nix path-info` says and a chain of
//! references for every store path in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::common::{self, compress, nix};
use crate::util::{self, check_json, findings, stowaway};

/// The fixtures of fixtures/nix/fixtures.nix these tests archive.
const ATTRIBUTES: [&str; 10] = [
    "app-static",
    "script",
    "links",
    "bare-hash",
    "selfref",
    "diamond",
    "diamond-check",
    "hello-static",
    "uring-store-runpath",
    "warp-demo",
];

/// Builds [`ATTRIBUTES`] once; attribute → store path.
fn built() -> &'static BTreeMap<&'static str, String> {
    static PATHS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    PATHS.get_or_init(|| common::build_fixtures(&ATTRIBUTES))
}

/// `nix path-info --json --closure-size` of each path: (narSize, closureSize).
fn path_info(paths: &[&str]) -> BTreeMap<String, (u64, u64)> {
    let json = common::run(
        nix("nix")
            .args(["path-info", "--json", "--closure-size"])
            .args(paths),
    );
    let value: Value = serde_json::from_slice(&json).unwrap();
    let entries: Vec<(String, &Value)> = match &value {
        Value::Array(entries) => entries
            .iter()
            .map(|e| (e["path"].as_str().unwrap().to_string(), e))
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        other => panic!("unexpected path-info: {other}"),
    };
    entries
        .into_iter()
        .map(|(path, e)| {
            (
                path,
                (
                    e["narSize"].as_u64().unwrap(),
                    e["closureSize"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The store paths `nix-store --query --requisites` lists for `paths`.
fn requisites(paths: &[&str]) -> Vec<String> {
    let out = common::run(
        nix("nix-store")
            .arg("--query")
            .arg("--requisites")
            .args(paths),
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Everything a finding says about where and what, without the target (which names the
/// archive or the directory) and without sizes (whose source differs).
fn places(report: &Value) -> BTreeSet<String> {
    let mut places = BTreeSet::new();
    for finding in report["findings"].as_array().unwrap() {
        for location in finding["locations"].as_array().unwrap() {
            places.insert(format!(
                "{} {} {} {} | {} +{} len {} [{} {} {} {}] {} {} {}",
                finding["rule"],
                finding["kind"],
                finding["severity"],
                finding["reference"]["store_path"],
                location["file"],
                location["offset"],
                location["length"],
                location["section"],
                location["loaded"],
                location["symbol"],
                location["member"],
                location["anchor"],
                location["subpath"],
                location["excerpt"]
            ));
        }
    }
    places
}

/// The ELF facts of every binary, without the target.
fn binaries(report: &Value) -> Vec<Value> {
    report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let mut b = b.clone();
            b.as_object_mut().unwrap().remove("target");
            b
        })
        .collect()
}

#[test]
fn nars_are_audited_like_the_store_paths_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let attributes = [
        "app-static",
        "script",
        "links",
        "bare-hash",
        "selfref",
        "diamond",
        "diamond-check",
        "warp-demo",
    ];
    for attribute in attributes {
        let store_path = &built()[attribute];
        let (nar_size, _) = path_info(&[store_path])[store_path.as_str()];
        let base = Path::new(store_path).file_name().unwrap().to_str().unwrap();
        let expected = check_json(&[store_path]);
        let expected_report = expected.json();
        assert!(!places(&expected_report).is_empty() || attribute == "hello-static");
        let nar = dir.path().join(format!("{base}.nar"));
        std::fs::write(
            &nar,
            common::run(nix("nix-store").args(["--dump", store_path])),
        )
        .unwrap();
        let forms = [
            nar.clone(),
            compress("/usr/bin/xz", "xz", &nar),
            compress("/usr/bin/zstd", "zst", &nar),
        ];
        for form in &forms {
            let what = format!("{attribute}: {}", form.display());
            let run = check_json(&[form.to_str().unwrap()]);
            let report = run.json();
            assert_eq!(run.code, expected.code, "{what}: {}", run.stderr);
            assert_eq!(places(&report), places(&expected_report), "{what}");
            assert_eq!(binaries(&report), binaries(&expected_report), "{what}");
            let image = &report["image"];
            assert_eq!(image["format"], "nar", "{what}");
            assert_eq!(image["store_path"], store_path.as_str(), "{what}");
            assert_eq!(image["total_bytes"], nar_size, "{what}");
            assert_eq!(image["paths"][0]["nar_bytes"], nar_size, "{what}");
            assert_eq!(image["paths"][0]["chain"][0]["via"], "archive", "{what}");
            assert_eq!(report["summary"]["closure_bytes"], nar_size, "{what}");
            // Every place is in the member file itself, at the file's own offset.
            for finding in report["findings"].as_array().unwrap() {
                let hash = finding["reference"]["hash"].as_str().unwrap_or_default();
                for location in finding["locations"].as_array().unwrap() {
                    let file = location["file"].as_str().unwrap();
                    assert!(!file.ends_with(".nar"), "{what}: {file}");
                    assert_eq!(
                        location["path"].as_str().unwrap(),
                        format!("{}/{file}", form.display()),
                        "{what}"
                    );
                    let Some(offset) = location["offset"].as_u64() else {
                        continue;
                    };
                    let on_disk = if file == base {
                        PathBuf::from(store_path)
                    } else {
                        Path::new(store_path).join(file)
                    };
                    let bytes = std::fs::read(&on_disk).unwrap();
                    let length = location["length"].as_u64().unwrap() as usize;
                    let found = &bytes[offset as usize..offset as usize + length];
                    assert!(
                        found.windows(32).any(|w| w == hash.as_bytes()),
                        "{what}: {file}+{offset} holds {:?}",
                        String::from_utf8_lossy(found)
                    );
                }
            }
        }
    }
}

#[test]
fn a_nar_named_otherwise_holds_an_unknown_store_path_and_its_self_references_count() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = &built()["selfref"];
    let nar = dir.path().join("selfref.nar");
    std::fs::write(
        &nar,
        common::run(nix("nix-store").args(["--dump", store_path])),
    )
    .unwrap();
    let report = check_json(&[nar.to_str().unwrap()]).json();
    assert_eq!(report["image"]["store_path"], Value::Null);
    assert_eq!(report["image"]["paths"], serde_json::json!([]));
    let own: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reference"]["store_path"] == store_path.as_str())
        .collect();
    assert!(!own.is_empty());
    // Nothing says the NAR is that path: its references to itself are references.
    assert!(own.iter().all(|f| f["severity"] == "error"), "{own:?}");
    assert!(report["image"]["absent"]
        .as_array()
        .unwrap()
        .contains(&Value::from(store_path.as_str())));
}

#[test]
fn the_paths_module_of_a_static_ghc_program_in_a_nar_is_placed_in_rodata() {
    // Issue 14's case: `warp-demo.nar` was one file, its offsets the NAR's, and the Paths_
    // strings were not placed in their section.
    let dir = tempfile::tempdir().unwrap();
    let store_path = &built()["warp-demo"];
    let nar_bytes = common::run(nix("nix-store").args(["--dump", store_path]));
    let nar = dir.path().join("warp-demo.nar");
    std::fs::write(&nar, &nar_bytes).unwrap();
    let zst = compress("/usr/bin/zstd", "zst", &nar);
    let binary = std::fs::read(Path::new(store_path).join("bin/warp-demo")).unwrap();
    for form in [&nar, &zst] {
        let run = check_json(&[form.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        let paths = findings(&report, "haskell-paths-module");
        assert_eq!(paths.len(), 1, "{report:#}");
        let locations = paths[0]["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 6);
        for location in locations {
            assert_eq!(location["file"], "bin/warp-demo");
            assert_eq!(location["section"], ".rodata");
            assert!(location["symbol"]
                .as_str()
                .unwrap()
                .contains("Paths_warp_lite"));
            let offset = location["offset"].as_u64().unwrap() as usize;
            assert!(binary[offset..]
                .starts_with(b"/nix/store/1ipgp6l6cn3y6nvpz963z65nd00ygj7s-warp-lite-3.3.25"));
            // Not the NAR's offset of the same bytes.
            assert_ne!(&nar_bytes[offset..offset + 11], b"/nix/store/");
        }
        assert_eq!(report["binaries"][0]["file"], "bin/warp-demo");
    }
}

/// An image built by umoci from store paths and converted by skopeo: two layers, the
/// second a customisation layer with links into the store.
struct Images {
    _dir: tempfile::TempDir,
    forms: Vec<(&'static str, PathBuf)>,
    /// The final root filesystem, unpacked by umoci.
    rootfs: PathBuf,
    /// A docker-archive of the same layout holding only hello-static, its entrypoint.
    small: PathBuf,
    /// The store paths in the image.
    held: Vec<String>,
}

fn umoci(args: &[&str], dir: &Path) {
    common::run(Command::new("umoci").args(args).current_dir(dir));
}

fn skopeo(args: &[&str], dir: &Path) {
    common::run(
        Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet"])
            .args(args)
            .current_dir(dir),
    );
}

/// An OCI layout `name:t` in `at` holding `store_paths` (layer 0) and the links of
/// `customise` (layer 1: path in the image → store path target), with `entrypoint`.
fn oci_image(
    at: &Path,
    name: &str,
    store_paths: &[String],
    links: &[(&str, String)],
    entrypoint: &str,
) {
    let image = format!("{name}:t");
    umoci(&["init", "--layout", name], at);
    umoci(&["new", "--image", &image], at);
    let first = format!("{name}-first");
    umoci(&["unpack", "--image", &image, &first], at);
    let rootfs = at.join(&first).join("rootfs");
    std::fs::create_dir_all(rootfs.join("nix/store")).unwrap();
    common::run(
        Command::new("cp")
            .arg("-a")
            .args(store_paths)
            .arg(rootfs.join("nix/store")),
    );
    umoci(&["repack", "--image", &image, &first], at);
    let second = format!("{name}-second");
    umoci(&["unpack", "--image", &image, &second], at);
    let rootfs = at.join(&second).join("rootfs");
    for (link, target) in links {
        let link = rootfs.join(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/motd"), "hello\n").unwrap();
    umoci(&["repack", "--image", &image, &second], at);
    umoci(
        &[
            "config",
            "--image",
            &image,
            "--config.entrypoint",
            entrypoint,
        ],
        at,
    );
}

fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path();
        let diamond = &built()["diamond"];
        let uring = &built()["uring-store-runpath"];
        let hello = &built()["hello-static"];
        let mut held = requisites(&[diamond, uring]);
        // Nothing references hello-static: dead weight.
        held.push(hello.clone());
        oci_image(
            at,
            "img",
            &held,
            &[
                ("bin/diamond", format!("{diamond}/bin/diamond")),
                ("bin/uring", format!("{uring}/bin/uring-store-runpath")),
            ],
            &format!("{diamond}/bin/diamond"),
        );
        skopeo(
            &["oci:img:t", "docker-archive:image.tar:example/diamond:1"],
            at,
        );
        common::run(
            Command::new("gzip")
                .args(["-k", "image.tar"])
                .current_dir(at),
        );
        skopeo(
            &[
                "--dest-compress-format",
                "zstd",
                "oci:img:t",
                "oci:img-zstd:t",
            ],
            at,
        );
        common::run(
            Command::new("tar")
                .args(["-C", "img-zstd", "-cf", "oci-zstd.tar", "."])
                .current_dir(at),
        );
        umoci(&["unpack", "--image", "img:t", "final"], at);
        oci_image(
            at,
            "small",
            std::slice::from_ref(hello),
            &[],
            &format!("{hello}/bin/hello"),
        );
        skopeo(
            &["oci:small:t", "docker-archive:small.tar:example/hello:1"],
            at,
        );
        Images {
            forms: vec![
                ("docker-archive", at.join("image.tar")),
                ("docker-archive", at.join("image.tar.gz")),
                ("oci-layout", at.join("img")),
                ("oci-layout", at.join("oci-zstd.tar")),
            ],
            rootfs: at.join("final/rootfs"),
            small: at.join("small.tar"),
            held,
            _dir: dir,
        }
    })
}

/// The store path in `report`'s image section whose name ends with `name`.
fn image_path<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["image"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["store_path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no {name} in {:#}", report["image"]))
}

#[test]
fn every_form_of_an_image_gives_the_same_findings_as_its_unpacked_root_filesystem() {
    let images = images();
    let unpacked = check_json(&[images.rootfs.to_str().unwrap()]).json();
    // Unpacked, a store path's own directory name holds its hash, and a path that names
    // itself is not known to be its own: neither is a reference in the image.
    let store_dirs = store_dir_names(&unpacked);
    let expected: BTreeSet<String> = places(&unpacked)
        .into_iter()
        .filter(|p| !store_dirs.iter().any(|d| p.contains(d)))
        .collect();
    let mut first: Option<Value> = None;
    for (format, form) in &images.forms {
        let what = form.display().to_string();
        let run = check_json(&[form.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        let report = run.json();
        assert_eq!(report["image"]["format"], *format, "{what}");
        let got: BTreeSet<String> = places(&report)
            .into_iter()
            .filter(|p| !p.contains("\"info\""))
            .collect();
        let expected: BTreeSet<String> = expected
            .iter()
            .filter(|p| got.contains(*p) || !is_self_reference(p))
            .cloned()
            .collect();
        assert_eq!(got, expected, "{what}");
        assert_eq!(binaries(&report), binaries(&unpacked), "{what}");
        if let Some(first) = &first {
            assert_eq!(places(&report), places(first), "{what}");
            assert_eq!(report["image"]["paths"], first["image"]["paths"], "{what}");
        }
        first = Some(report);
    }
}

/// The `file-name` places of the unpacked tree at store path directories.
fn store_dir_names(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["locations"].as_array().unwrap())
        .filter(|l| l["anchor"] == "file-name")
        .map(|l| format!("| {} +null", l["file"]))
        .collect()
}

/// Whether a place (as [`places`] writes it) is in a file of the store path it names.
fn is_self_reference(place: &str) -> bool {
    let Some((head, tail)) = place.split_once(" | \"nix/store/") else {
        return false;
    };
    let own = tail.split('/').next().unwrap_or_default();
    head.contains(&format!("/nix/store/{own}\""))
}

#[test]
fn an_image_is_its_own_closure_with_the_sizes_nix_reports() {
    let images = images();
    let held: Vec<&str> = images.held.iter().map(String::as_str).collect();
    let info = path_info(&held);
    for (_, form) in &images.forms {
        let what = form.display().to_string();
        let report = check_json(&[form.to_str().unwrap()]).json();
        let image = &report["image"];
        let paths = image["paths"].as_array().unwrap();
        assert_eq!(paths.len(), held.len(), "{what}");
        for path in paths {
            let store_path = path["store_path"].as_str().unwrap();
            let (nar, closure) = info[store_path];
            assert_eq!(path["nar_bytes"], nar, "{what}: {store_path}");
            assert_eq!(path["closure_bytes"], closure, "{what}: {store_path}");
            assert_eq!(path["layer"], 0, "{what}");
        }
        let store_bytes: u64 = info.values().map(|(nar, _)| nar).sum();
        assert_eq!(image["store_bytes"], store_bytes, "{what}");
        assert_eq!(
            report["summary"]["closure_bytes"], image["total_bytes"],
            "{what}"
        );
        // Each finding's size comes from the image.
        for finding in report["findings"].as_array().unwrap() {
            if finding["reference"].is_object() {
                assert_eq!(finding["size"]["source"], "archive", "{what}");
            }
        }
        // Customisation links are in the top layer.
        let link = findings(&report, "store-symlink");
        let layers: BTreeSet<(String, u64)> = link
            .iter()
            .flat_map(|f| f["locations"].as_array().unwrap())
            .map(|l| {
                (
                    l["file"].as_str().unwrap().to_string(),
                    l["layer"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(
            layers.contains(&("bin/diamond".to_string(), 1)),
            "{layers:?}"
        );
    }
}

#[test]
fn every_store_path_in_an_image_has_its_chain_and_unreferenced_ones_are_dead_weight() {
    let images = images();
    let report = check_json(&[images.forms[1].1.to_str().unwrap()]).json();
    let nar = |name: &str| image_path(&report, name)["nar_bytes"].as_u64().unwrap();
    let names = |path: &Value| -> Vec<String> {
        path["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let p = l["store_path"].as_str().unwrap();
                format!("{} {}", l["via"].as_str().unwrap(), &p[44..])
            })
            .collect()
    };
    // diamond ─┬─► liba ─┐, libb ─┴─► base; solo ─► deep (fixtures/nix/fixtures.nix).
    let deep = image_path(&report, "-deep-2.0");
    assert_eq!(
        names(deep),
        [
            "entrypoint diamond-1.0",
            "reference solo-0.3",
            "reference deep-2.0"
        ]
    );
    let diamond = built()["diamond"].trim_start_matches('/').to_string();
    assert_eq!(deep["chain"][1]["file"], format!("{diamond}/bin/diamond"));
    assert_eq!(
        image_path(&report, "-solo-0.3")["exclusive_bytes"],
        nar("-solo-0.3") + nar("-deep-2.0")
    );
    assert_eq!(
        image_path(&report, "-liba-1.0")["exclusive_bytes"],
        nar("-liba-1.0"),
        "base is shared with libb"
    );
    assert_eq!(
        names(image_path(&report, "-liburing-2.3")),
        ["file uring-store-runpath-1.0", "reference liburing-2.3"]
    );
    let hello = image_path(&report, "-hello-static-1.0");
    assert_eq!(hello["reached"], false);
    assert_eq!(names(hello), ["unreferenced hello-static-1.0"]);
    let dead = &report["image"]["dead_weight"];
    assert_eq!(dead["bytes"], nar("-hello-static-1.0"));
    assert_eq!(
        dead["unreferenced"],
        serde_json::json!([built()["hello-static"]])
    );
    assert!(report["image"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["store_path"]
            .as_str()
            .unwrap()
            .ends_with("-hello-static-1.0"))
        .all(|p| p["reached"] == true));
    // Cutting every failing reference leaves the entrypoint, the dead weight and the rest.
    let without = report["summary"]["closure_bytes_without_failing"]
        .as_u64()
        .unwrap();
    assert_eq!(
        without,
        report["image"]["other_bytes"].as_u64().unwrap()
            + nar("-diamond-1.0")
            + nar("-hello-static-1.0")
    );

    // The same in the human and Markdown reports.
    let report_as =
        |args: [&str; 2]| util::run(stowaway().arg("check").arg(&images.forms[1].1).args(args));
    let human = report_as(["--color", "never"]);
    assert!(
        human
            .stdout
            .contains("(docker-archive, gzip; 2 layers; tagged"),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("entrypoint: diamond-1.0 → solo-0.3 (bin/diamond) → deep-2.0 (lib/libsolo.so)"));
    assert!(human.stdout.contains("dead weight"));
    let markdown = report_as(["--format", "markdown"]);
    assert!(markdown
        .stdout
        .contains("| Store path | Size | Saves | Why it is there |"));
    assert!(markdown.stdout.contains("(dead weight)"));

    // And in the CI formats: SARIF carries the section whole, GitHub notices name the dead
    // weight and what the archive lacks.
    let sarif = report_as(["--format", "sarif"]);
    assert_eq!(
        sarif.json()["runs"][0]["properties"]["image"],
        report["image"]
    );
    let github = report_as(["--format", "github"]);
    let notices = |title: &str| -> Vec<&str> {
        let lead = format!("::notice title=stowaway%3A {title}::");
        github
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(lead.as_str()))
            .collect()
    };
    let archive = notices("archive");
    assert_eq!(archive.len(), 1, "{}", github.stdout);
    assert!(archive[0].contains("(docker-archive, gzip; 2 layers; tagged"));
    let dead = notices("dead weight");
    assert_eq!(dead.len(), 1, "{}", github.stdout);
    assert!(dead[0].starts_with(&format!("{} (", built()["hello-static"])));
    assert!(dead[0].ends_with(" is dead weight: no root of the archive leads to it"));
    assert_eq!(
        notices("absent").len(),
        report["image"]["absent"].as_array().unwrap().len()
    );
}

#[test]
fn linkage_inside_an_image_resolves_against_the_image_alone() {
    let images = images();
    let report = check_json(&[images.forms[0].1.to_str().unwrap()]).json();
    let mixed = findings(&report, "mixed-linkage");
    assert_eq!(mixed.len(), 1, "{:#}", report["findings"]);
    let uring = built()["uring-store-runpath"]
        .trim_start_matches('/')
        .to_string();
    assert_eq!(
        mixed[0]["locations"][0]["file"],
        format!("{uring}/bin/uring-store-runpath")
    );
    // The shared copy is the image's, found through the RUNPATH inside it.
    let objects: Vec<&str> = mixed[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["object"].as_str().unwrap())
        .collect();
    assert!(
        objects
            .iter()
            .any(|o| o.starts_with("nix/store/") && o.ends_with("/lib/liburing.so.2")),
        "{objects:?}"
    );
}

#[test]
fn diff_compares_an_old_image_with_a_new_one() {
    let images = images();
    let old = check_json(&[images.small.to_str().unwrap()]).json();
    let new = check_json(&[images.forms[0].1.to_str().unwrap()]).json();
    let run = util::run(
        stowaway()
            .arg("diff")
            .arg(&images.small)
            .arg(&images.forms[0].1)
            .args(["--format", "json"]),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let diff = run.json();
    assert_eq!(
        diff["closure_delta"].as_i64().unwrap(),
        new["image"]["total_bytes"].as_i64().unwrap()
            - old["image"]["total_bytes"].as_i64().unwrap()
    );
    let added: BTreeSet<&str> = diff["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reference"]["package"].as_str().unwrap_or_default())
        .collect();
    for package in ["liba", "libb", "solo", "base", "deep"] {
        assert!(added.contains(package), "{added:?}");
    }
    assert!(diff["new_failing"].as_u64().unwrap() > 0);
    let image_diff = &diff["image"];
    let added_paths: Vec<&str> = image_diff["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["store_path"].as_str().unwrap())
        .collect();
    assert!(
        added_paths.contains(&built()["diamond"].as_str()),
        "{image_diff:#}"
    );
    assert_eq!(image_diff["removed"], serde_json::json!([]));
    // A saved report of an image reads back with its store paths.
    let saved = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(saved.path(), serde_json::to_vec(&old).unwrap()).unwrap();
    let from_saved = util::run(
        stowaway()
            .arg("diff")
            .arg(saved.path())
            .arg(&images.forms[0].1)
            .args(["--format", "json"]),
    );
    assert_eq!(from_saved.json()["image"], diff["image"]);
    let human = util::run(
        stowaway()
            .arg("diff")
            .arg(&images.small)
            .arg(&images.forms[0].1),
    );
    assert!(
        human.stdout.contains("store paths added (8)"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_gibibyte_archive_is_audited_in_bounded_memory() {
    // A tar of: 48 copies of a 1 MiB ELF program and the same program grown to 48 MiB,
    // each held in memory for inspection in turn; and a 1 GiB member (a hole on disk, a
    // store path near its end), scanned from the stream in chunks. Peak memory is bounded
    // by 128 MiB and the largest ELF member, whatever the number of threads.
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("big.tar");
    let elf = std::fs::read(Path::new(&built()["warp-demo"]).join("bin/warp-demo")).unwrap();
    let mut large = elf.clone();
    large.resize(48 << 20, 0);
    let big: u64 = 1 << 30;
    let header = |path: &str, size: u64, mode: u32| {
        let mut header = tar::Header::new_ustar();
        header.set_path(path).unwrap();
        header.set_size(size);
        header.set_mode(mode);
        header.set_cksum();
        header.as_bytes().to_vec()
    };
    let mut bytes = Vec::new();
    let members = (0..48)
        .map(|n| (format!("bin/copy-{n:02}"), &elf))
        .chain([("bin/large".to_string(), &large)]);
    for (path, contents) in members {
        bytes.extend(header(&path, contents.len() as u64, 0o755));
        bytes.extend_from_slice(contents);
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    }
    bytes.extend(header("share/big", big, 0o644));
    let data_at = bytes.len() as u64;
    let planted = format!(
        "/nix/store/{}-openssl-3.0.12-etc/etc/ssl",
        "7xc4vz98chy1iyybyvmv302kr91n2y6a"
    );
    let file = std::fs::File::create(&tar_path).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(&bytes, 0).unwrap();
    file.write_all_at(planted.as_bytes(), data_at + big - 4096)
        .unwrap();
    // The member's padding (none: 1 GiB is a multiple of 512), then the two end blocks.
    file.set_len(data_at + big + 1024).unwrap();
    for threads in ["2", "1"] {
        let run = check_json(&[tar_path.to_str().unwrap(), "--threads", threads]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        let places = places(&report);
        assert!(
            places
                .iter()
                .any(|p| p.contains("\"share/big\" +1073737728")),
            "{places:#?}"
        );
        let paths = findings(&report, "haskell-paths-module");
        let files: BTreeSet<&str> = paths[0]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["file"].as_str().unwrap())
            .collect();
        assert_eq!(files.len(), 49, "{files:?}");
        assert_eq!(report["binaries"].as_array().unwrap().len(), 49);
        assert!(
            run.max_rss_kib < (128 << 10) + (large.len() as u64 >> 10),
            "peak {} KiB with {threads} threads",
            run.max_rss_kib
        );
    }
}

#[test]
fn a_baseline_of_an_image_still_matches_the_image_rebuilt() {
    // Two builds of one image, as GNU tar packs them: the program's store path has another
    // hash and version in the second, and still names the same bash.
    let dir = tempfile::tempdir().unwrap();
    let bash = "/nix/store/xq8kqrprgkvh8g5z4gdn4pczlskxdiqz-bash-5.2/bin/bash";
    let builds = [
        ("0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r", "1.0"),
        ("9z8y7x6w5v4s3r2q1p0n9m8l7k6j5i4h", "1.1"),
    ];
    let images: Vec<PathBuf> = builds
        .iter()
        .enumerate()
        .map(|(n, (hash, version))| {
            let root = dir.path().join(format!("root-{n}"));
            let bin = root.join(format!("nix/store/{hash}-demo-{version}/bin"));
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("app"), format!("#!/bin/sh\nexec {bash} \"$@\"\n")).unwrap();
            let image = dir.path().join(format!("image-{n}.tar"));
            common::run(
                Command::new("tar")
                    .arg("-C")
                    .arg(&root)
                    .arg("-cf")
                    .arg(&image)
                    .arg("nix"),
            );
            image
        })
        .collect();
    let baseline = dir.path().join("baseline.json");
    let first = util::run(
        stowaway()
            .arg("check")
            .arg(&images[0])
            .arg("--write-baseline")
            .arg(&baseline),
    );
    assert_eq!(first.code, 1, "{}", first.stdout);
    let entries = util::read_json(&baseline)["entries"].clone();
    assert_eq!(
        entries[0]["file"], "nix/store/*-demo/bin/app",
        "{entries:#}"
    );
    let rebuilt = util::run(
        stowaway()
            .arg("check")
            .arg(&images[1])
            .arg("--baseline")
            .arg(&baseline)
            .args(["--format", "json"]),
    );
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stdout);
    let applied = &rebuilt.json()["baseline"];
    assert_eq!(applied["matched"], 1, "{applied:#}");
    assert_eq!(applied["stale"], serde_json::json!([]), "{applied:#}");
}
