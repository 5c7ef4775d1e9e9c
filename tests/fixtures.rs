//! The committed fixtures (real outputs of real toolchains, built by Nix), audited with the
//! closure data Nix printed for them: every number below is checked against that data or
//! against the bytes of the file, never typed in.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::*;

/// Audits `fixtures/<name>` with `fixtures/<name>.closure.json`.
fn audit(name: &str) -> (Run, Value) {
    let target = fixture(name);
    let info = fixture(&format!("{name}.closure.json"));
    let run = check_json(&[
        target.to_str().unwrap(),
        "--closure-info",
        info.to_str().unwrap(),
    ]);
    let report = run.json();
    (run, report)
}

fn store_path(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("{name}.store-path")))
        .expect("store-path file")
        .trim()
        .to_string()
}

/// The path that the output named `name` references, according to Nix.
fn only_reference(name: &str) -> String {
    let closure = read_json(&fixture(&format!("{name}.closure.json")));
    let refs = path_info(&closure, &store_path(name))["references"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(refs.len(), 1, "{name} has one reference");
    refs[0].as_str().unwrap().to_string()
}

fn nar_size(closure: &Value, path: &str) -> u64 {
    path_info(closure, path)["narSize"].as_u64().unwrap()
}

#[test]
fn static_binary_with_openssldir_fails_with_exit_1() {
    let (run, report) = audit("app-static");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["schema"], "stowaway.report/1");
    assert_eq!(report["verdict"], "fail");
    let etc = only_reference("app-static");
    let found = findings(&report, "store-reference");
    assert_eq!(found.len(), 1);
    let finding = found[0];
    assert_eq!(finding["severity"], "error");
    let reference = &finding["reference"];
    assert_eq!(reference["store_path"], etc.as_str());
    assert_eq!(reference["package"], "openssl");
    assert_eq!(reference["version"], "3.0.12");
    assert_eq!(reference["output"], "etc");
    assert_eq!(reference["nuked"], false);
    assert!(reference["deriver"]
        .as_str()
        .unwrap()
        .ends_with("-openssl-3.0.12.drv"));

    // The location is exact: the bytes at the offset are the path and its subpath.
    let location = &finding["locations"][0];
    assert_eq!(location["file"], "bin/app");
    assert_eq!(location["subpath"], "/etc/ssl");
    let offset = location["offset"].as_u64().unwrap() as usize;
    let bytes = std::fs::read(fixture("app-static/bin/app")).unwrap();
    assert_eq!(
        &bytes[offset..offset + etc.len() + 8],
        format!("{etc}/etc/ssl").as_bytes()
    );
    assert!(location["excerpt"]
        .as_str()
        .unwrap()
        .contains(&format!("{etc}/etc/ssl")));

    // Sizes equal Nix's, to the byte.
    let closure = read_json(&fixture("app-static.closure.json"));
    let app = path_info(&closure, &store_path("app-static"));
    assert_eq!(finding["size"]["source"], "closure-info");
    assert_eq!(
        finding["size"]["closure_bytes"],
        path_info(&closure, &etc)["closureSize"]
    );
    assert_eq!(finding["size"]["exclusive_bytes"], nar_size(&closure, &etc));
    assert_eq!(report["summary"]["closure_bytes"], app["closureSize"]);
    assert_eq!(
        report["summary"]["closure_bytes_without_failing"],
        app["narSize"]
    );
    assert_eq!(report["summary"]["files_scanned"], 1);
    assert_eq!(report["summary"]["bytes_scanned"], bytes.len() as u64);
    assert_eq!(report["summary"]["references"], 1);
}

#[test]
fn clean_static_binary_passes_with_exit_0() {
    let (run, report) = audit("hello-static");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["findings"], Value::Array(vec![]));
    let closure = read_json(&fixture("hello-static.closure.json"));
    assert_eq!(
        report["summary"]["closure_bytes"],
        path_info(&closure, &store_path("hello-static"))["closureSize"]
    );
}

#[test]
fn store_shebang_is_a_reference_at_offset_2() {
    let (run, report) = audit("script");
    assert_eq!(run.code, 1);
    let finding = findings(&report, "store-reference")[0];
    assert_eq!(
        finding["reference"]["store_path"],
        only_reference("script").as_str()
    );
    assert_eq!(finding["reference"]["package"], "bash");
    assert_eq!(finding["locations"][0]["offset"], 2);
    assert_eq!(finding["locations"][0]["subpath"], "/bin/bash");
}

#[test]
fn symlink_into_the_store_is_a_reference_without_offset() {
    let (run, report) = audit("links");
    assert_eq!(run.code, 1);
    assert!(findings(&report, "store-reference").is_empty());
    let finding = findings(&report, "store-symlink")[0];
    assert_eq!(
        finding["reference"]["store_path"],
        only_reference("links").as_str()
    );
    let location = &finding["locations"][0];
    assert_eq!(location["file"], "lib/libz.so.1");
    assert_eq!(location["offset"], Value::Null);
    assert_eq!(location["subpath"], "/lib/libz.so.1");
    let closure = read_json(&fixture("links.closure.json"));
    assert_eq!(
        report["summary"]["closure_bytes"],
        path_info(&closure, &store_path("links"))["closureSize"]
    );
}

#[test]
fn nuked_reference_is_information_and_costs_nothing() {
    let (run, report) = audit("nuked");
    assert_eq!(run.code, 0, "a nuked reference alone does not fail");
    assert_eq!(report["verdict"], "pass");
    let finding = findings(&report, "nuked-reference")[0];
    assert_eq!(finding["severity"], "info");
    assert_eq!(finding["reference"]["nuked"], true);
    assert_eq!(finding["reference"]["hash"], "e".repeat(32));
    assert_eq!(finding["reference"]["package"], "openssl");
    assert_eq!(finding["size"], Value::Null);
    assert_eq!(report["summary"]["references"], 1);
}

/// Issue 11: every nuked hash is the same 32 `e`s, so a reference is its hash *and* name: a
/// program that names both a nuked `openssl` and a nuked `openssl-…-etc` has two.
#[test]
fn two_nuked_outputs_in_one_binary_are_two_findings() {
    let dir = tempfile::tempdir().unwrap();
    let nuked = "e".repeat(32);
    let out = format!("/nix/store/{nuked}-openssl-static-x86_64-unknown-linux-gnu-3.6.3");
    let source = dir.path().join("tls.c");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\nconst char *engines = \"{out}/lib/engines-3\";\nconst char *ssl = \"{out}-etc/ssl\";\nint main(void) {{ puts(engines); puts(ssl); return 0; }}\n"
        ),
    )
    .unwrap();
    let status = std::process::Command::new("/usr/bin/gcc")
        .args(["-O2", "-o"])
        .arg(dir.path().join("tls"))
        .arg(&source)
        .status()
        .expect("gcc");
    assert!(status.success());
    std::fs::remove_file(&source).unwrap();
    let report = check_json(&[dir.path().to_str().unwrap()]).json();
    let mut names: Vec<(String, String, String)> = findings(&report, "nuked-reference")
        .iter()
        .map(|f| {
            (
                f["reference"]["name"].as_str().unwrap().to_string(),
                f["reference"]["output"].as_str().unwrap().to_string(),
                f["locations"][0]["subpath"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            (
                "openssl-static-x86_64-unknown-linux-gnu-3.6.3".to_string(),
                "out".to_string(),
                "/lib/engines-3".to_string()
            ),
            (
                "openssl-static-x86_64-unknown-linux-gnu-3.6.3-etc".to_string(),
                "etc".to_string(),
                "/ssl".to_string()
            ),
        ]
    );
    assert_eq!(report["summary"]["references"], 2);
}

#[test]
fn bare_hash_in_symtab_is_found_when_the_closure_is_known() {
    let (run, report) = audit("bare-hash");
    assert_eq!(run.code, 1);
    let source = only_reference("bare-hash");
    let finding = findings(&report, "store-reference")[0];
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["reference"]["store_path"], source.as_str());
    let location = &finding["locations"][0];
    let offset = location["offset"].as_u64().unwrap() as usize;
    let bytes = std::fs::read(fixture("bare-hash/bin/hi")).unwrap();
    let base = source.trim_start_matches("/nix/store/");
    assert_eq!(&bytes[offset..offset + base.len()], base.as_bytes());
    assert!(
        !bytes.windows(11).any(|w| w == b"/nix/store/"),
        "no prefix anywhere"
    );
    assert_eq!(finding["size"]["closure_bytes"], 312);
}

#[test]
fn bare_hash_without_a_closure_is_a_probable_reference() {
    let target = fixture("bare-hash");
    let run = check_json(&[
        target.to_str().unwrap(),
        "--store-dir",
        "/nonexistent/store",
    ]);
    assert_eq!(run.code, 1);
    let report = run.json();
    let finding = findings(&report, "store-reference")[0];
    assert!(
        finding["message"].as_str().unwrap().contains("probable"),
        "{finding}"
    );
    assert_eq!(finding["locations"][0]["anchor"], "bare-hash");
    assert_eq!(finding["size"]["source"], "unknown");
    assert_eq!(report["summary"]["closure_bytes"], Value::Null);
}

/// The diamond: diamond → liba, libb, solo; liba → base; libb → base; solo → deep.
fn diamond_costs(info: &str) -> BTreeMap<String, (u64, u64)> {
    let target = fixture("diamond");
    let run = check_json(&[
        target.to_str().unwrap(),
        "--closure-info",
        fixture(info).to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    findings(&report, "store-reference")
        .iter()
        .map(|f| {
            (
                f["reference"]["package"].as_str().unwrap().to_string(),
                (
                    f["size"]["exclusive_bytes"].as_u64().unwrap(),
                    f["size"]["closure_bytes"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn exclusive_sizes_count_only_what_each_reference_alone_brings() {
    let closure = read_json(&fixture("diamond.closure.json"));
    let by_name = |name: &str| {
        closure
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    let nar = |name: &str| by_name(name)["narSize"].as_u64().unwrap();
    let closure_size = |name: &str| by_name(name)["closureSize"].as_u64().unwrap();
    let costs = diamond_costs("diamond.closure.json");
    // base is shared by liba and libb, so neither saves it alone; solo alone brings deep.
    assert_eq!(costs["liba"], (nar("-liba-1.0"), closure_size("-liba-1.0")));
    assert_eq!(costs["libb"], (nar("-libb-1.0"), closure_size("-libb-1.0")));
    assert_eq!(
        costs["solo"],
        (
            nar("-solo-0.3") + nar("-deep-2.0"),
            closure_size("-solo-0.3")
        )
    );
}

#[test]
fn every_closure_info_shape_gives_the_same_costs() {
    let array = diamond_costs("diamond.closure.json");
    assert_eq!(diamond_costs("diamond.closure-keyed.json"), array);
    assert_eq!(diamond_costs("diamond.attrs.json"), array);
}

#[test]
fn findings_are_ordered_by_what_removing_them_saves() {
    let target = fixture("diamond");
    let run = check_json(&[
        target.to_str().unwrap(),
        "--closure-info",
        fixture("diamond.closure.json").to_str().unwrap(),
    ]);
    let report = run.json();
    let saved: Vec<u64> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["size"]["exclusive_bytes"].as_u64().unwrap())
        .collect();
    let mut sorted = saved.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(saved, sorted);
}

#[test]
fn allow_globs_accept_packages_by_name() {
    let target = fixture("diamond");
    let info = fixture("diamond.closure.json");
    let args = |allow: &'static [&'static str]| {
        let mut args = vec![
            target.to_str().unwrap().to_string(),
            "--closure-info".into(),
            info.to_str().unwrap().into(),
        ];
        for glob in allow {
            args.push("--allow".into());
            args.push(glob.to_string());
        }
        args
    };
    let some = args(&["lib*"]);
    let run = check_json(&some.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 1, "solo still fails");
    let report = run.json();
    let severity: BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["reference"]["package"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(severity["liba"], "info");
    assert_eq!(severity["libb"], "info");
    assert_eq!(severity["solo"], "error");
    // Without the failing reference only solo's exclusive cost goes.
    let all = args(&["lib*", "solo"]);
    let run = check_json(&all.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["verdict"], "pass");
}

#[test]
fn json_report_has_every_field_of_the_contract() {
    let (_, report) = audit("app-static");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let has = |v: &Value, fields: &[&str]| {
        for field in fields {
            assert!(v.get(field).is_some(), "missing {field} in {v}");
        }
    };
    has(
        &report,
        &[
            "schema", "tool", "targets", "verdict", "findings", "errors", "summary",
        ],
    );
    has(&report["tool"], &["name", "version"]);
    assert_eq!(report["tool"]["name"], "stowaway");
    has(
        &report["summary"],
        &[
            "files_scanned",
            "bytes_scanned",
            "references",
            "closure_bytes",
            "closure_bytes_without_failing",
        ],
    );
    let finding = &report["findings"][0];
    has(
        finding,
        &[
            "rule",
            "severity",
            "message",
            "fix",
            "reference",
            "locations",
            "size",
        ],
    );
    has(
        &finding["reference"],
        &[
            "store_path",
            "hash",
            "name",
            "package",
            "version",
            "output",
            "platform",
            "deriver",
            "nuked",
        ],
    );
    has(
        &finding["locations"][0],
        &["file", "offset", "subpath", "excerpt"],
    );
    has(
        &finding["size"],
        &["closure_bytes", "exclusive_bytes", "source"],
    );
    assert!(keys(&report).iter().all(|k| !k.is_empty()));
}

#[test]
fn human_report_groups_by_package_and_totals_the_closure() {
    let target = fixture("diamond");
    let run = run(stowaway()
        .arg("check")
        .arg(&target)
        .arg("--closure-info")
        .arg(fixture("diamond.closure.json")));
    assert_eq!(run.code, 1);
    let text = &run.stdout;
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let solo = text
        .find("error[store-reference] solo (0.3)")
        .expect("solo block");
    let libb = text
        .find("error[store-reference] libb (1.0)")
        .expect("libb block");
    let liba = text
        .find("error[store-reference] liba (1.0)")
        .expect("liba block");
    assert!(solo < libb && libb < liba, "largest saving first:\n{text}");
    assert!(text.contains("at       bin/diamond+0x"), "{text}");
    assert!(
        text.contains(
            "closure 413.0 KiB; without the failing references 24.6 KiB (saves 388.4 KiB)"
        ),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("FAIL: 3 failing, 0 warnings"),
        "{text}"
    );
}

#[test]
fn several_targets_are_audited_together() {
    let run = check_json(&[
        fixture("hello-static").to_str().unwrap(),
        fixture("script").to_str().unwrap(),
        fixture("nuked").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["targets"].as_array().unwrap().len(), 3);
    assert_eq!(report["summary"]["files_scanned"], 3);
    assert_eq!(findings(&report, "store-reference").len(), 1);
    assert_eq!(findings(&report, "nuked-reference").len(), 1);
}

#[test]
fn default_target_is_the_result_symlink() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(fixture("script"), dir.path().join("result")).unwrap();
    let run = run(stowaway()
        .current_dir(dir.path())
        .args(["check", "--format", "json"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["targets"][0], "result");
    assert_eq!(
        findings(&report, "store-reference")[0]["locations"][0]["file"],
        "bin/greet"
    );
}

#[test]
fn a_file_target_is_named_by_its_own_name() {
    let run = check_json(&[fixture("app-static/bin/app").to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(
        findings(&run.json(), "store-reference")[0]["locations"][0]["file"],
        "app"
    );
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let mut child = stowaway()
        .arg("check")
        .arg(fixture("diamond"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "the verdict still decides the exit code"
    );
}

#[test]
fn paths_of_unknown_size_are_left_out_of_the_totals_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("app-static/bin/app"), dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("notes"),
        "/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-mystery-1.0/share\n",
    )
    .unwrap();
    let info = fixture("app-static.closure.json");
    let json = check_json(&[
        dir.path().to_str().unwrap(),
        "--closure-info",
        info.to_str().unwrap(),
    ])
    .json();
    assert_eq!(json["summary"]["unknown_size_references"], 1);
    let etc = only_reference("app-static");
    let closure = read_json(&info);
    let known = path_info(&closure, &etc)["narSize"].as_u64().unwrap();
    let own = json["summary"]["closure_bytes"].as_u64().unwrap() - known;
    assert!(own > 24_728, "the directory's own NAR bytes: {own}");
    let human = run(stowaway()
        .arg("check")
        .arg(dir.path())
        .arg("--closure-info")
        .arg(&info));
    // Removing the failing references saves the known bytes and the path of unknown size:
    // the sentence says both, and cannot read as "saves nothing" (issue 15).
    let saved = json["summary"]["closure_bytes"].as_u64().unwrap()
        - json["summary"]["closure_bytes_without_failing"]
            .as_u64()
            .unwrap();
    let expected = format!(
        "closure {} + 1 path of unknown size; without the failing references {} (saves {} and 1 path of unknown size)",
        stowaway::units::human_bytes(json["summary"]["closure_bytes"].as_u64().unwrap()),
        stowaway::units::human_bytes(own),
        stowaway::units::human_bytes(saved),
    );
    assert!(
        human.stdout.contains(&expected),
        "{expected:?} not in:\n{}",
        human.stdout
    );
    assert_eq!(saved, known);
    // Markdown: a size no source knows is "unknown", never an empty cell; a place in a
    // binary is its offset and section, not a line.
    let markdown = run(stowaway()
        .arg("check")
        .arg(dir.path())
        .arg("--closure-info")
        .arg(&info)
        .args(["--format", "markdown"]))
    .stdout;
    let mystery = markdown
        .lines()
        .find(|l| l.contains("mystery"))
        .expect("mystery row");
    assert!(mystery.ends_with("| unknown | unknown |"), "{mystery}");
    assert!(mystery.contains("notes line 1"), "{mystery}");
    let openssl = markdown
        .lines()
        .find(|l| l.contains("openssl"))
        .expect("openssl row");
    let offset = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reference"]["package"] == "openssl")
        .unwrap()["locations"][0]["offset"]
        .as_u64()
        .unwrap();
    assert!(
        openssl.contains(&format!("app \\+{offset:#x} \\[\\.rodata\\]")),
        "{openssl}"
    );
    assert!(!openssl.contains(" line "), "{openssl}");
    assert!(
        human
            .stdout
            .contains("inspected 1 ELF file: 1 executable (0 dynamic)"),
        "{}",
        human.stdout
    );
}
