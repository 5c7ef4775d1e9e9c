//! `stowaway diff OLD NEW`: saved reports and fresh audits compared, the growth explained,
//! exit 1 only for new failures, and exit 2 with one line for anything that is not a report.
//! (Two outputs built by Nix on the spot are compared in `nix`.)

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// A saved report of the clean static fixture (no references).
fn clean_report(dir: &Path) -> String {
    let run = check_json(&[
        fixture("hello-static").to_str().unwrap(),
        "--closure-info",
        fixture("hello-static.closure.json").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = dir.join("old.json");
    fs::write(&file, &run.stdout).unwrap();
    file.to_str().unwrap().to_string()
}

/// The fixture that embeds its openssl's etc output, audited on the spot.
fn leaky_args() -> Vec<String> {
    vec![
        fixture("app-static").to_str().unwrap().to_string(),
        "--closure-info".into(),
        fixture("app-static.closure.json")
            .to_str()
            .unwrap()
            .to_string(),
    ]
}

fn diff(args: &[&str]) -> Run {
    run(stowaway().arg("diff").args(args))
}

#[test]
fn a_new_reference_fails_and_explains_the_growth() {
    let dir = tempfile::tempdir().unwrap();
    let old = clean_report(dir.path());
    let new = leaky_args();
    let mut args = vec![old.as_str()];
    args.extend(new.iter().map(String::as_str));
    let human = diff(&args);
    assert_eq!(human.code, 1, "{}{}", human.stdout, human.stderr);
    assert!(
        human.stdout.contains(
            "growth explained by: [openssl-sysconfdir] openssl 3.0.12 (etc), which costs 5.8 KiB"
        ),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("NEW FAILURES: 1 new finding failing the policy"));

    args.extend(["--format", "json"]);
    let json = diff(&args).json();
    assert_eq!(json["schema"], "stowaway.diff/1");
    let old_closure = json["old"]["summary"]["closure_bytes"].as_i64().unwrap();
    let new_closure = json["new"]["summary"]["closure_bytes"].as_i64().unwrap();
    assert_eq!(
        json["closure_delta"].as_i64().unwrap(),
        new_closure - old_closure
    );
    let closure_info: Value = read_json(&fixture("app-static.closure.json"));
    let app = fs::read_to_string(fixture("app-static.store-path")).unwrap();
    assert_eq!(
        new_closure,
        path_info(&closure_info, app.trim())["closureSize"]
            .as_i64()
            .unwrap()
    );
    assert_eq!(json["added"].as_array().unwrap().len(), 1);
    assert_eq!(json["added"][0]["reference"]["package"], "openssl");
    assert_eq!(json["explains_growth"]["rule"], "openssl-sysconfdir");
    assert_eq!(json["removed"], Value::Array(vec![]));
    assert_eq!(json["new_failing"], 1);
}

#[test]
fn a_removed_reference_passes() {
    let dir = tempfile::tempdir().unwrap();
    let leaky = dir.path().join("leaky.json");
    let args = leaky_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = check_json(&args);
    assert_eq!(run.code, 1);
    fs::write(&leaky, &run.stdout).unwrap();
    let old = clean_report(dir.path());
    let out = diff(&[leaky.to_str().unwrap(), &old, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["removed"][0]["reference"]["package"], "openssl");
    assert!(json["closure_delta"].as_i64().unwrap() < 0);
    assert_eq!(json["explains_growth"], Value::Null);
}

#[test]
fn the_same_build_twice_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let leaky = leaky_args();
    let run = diff(&[&leaky[0], &leaky[0], &leaky[1], &leaky[2]]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("closure 30.4 KiB → 30.4 KiB (+0 B)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("added"), "{}", run.stdout);
    drop(dir);
}

#[test]
fn a_new_version_of_the_same_reference_is_a_change_not_a_new_failure() {
    let dir = tempfile::tempdir().unwrap();
    let args = leaky_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let old = check_json(&args).stdout;
    // The next build: openssl 3.0.13, a new hash, a larger etc output.
    let mut new: Value = serde_json::from_str(&old).unwrap();
    let reference = &mut new["findings"][0]["reference"];
    let path = reference["store_path"]
        .as_str()
        .unwrap()
        .replace("3.0.12", "3.0.13");
    reference["store_path"] = path.into();
    reference["version"] = "3.0.13".into();
    new["findings"][0]["size"]["exclusive_bytes"] = 10_000.into();
    let (old_file, new_file) = (dir.path().join("old.json"), dir.path().join("new.json"));
    fs::write(&old_file, old).unwrap();
    fs::write(&new_file, new.to_string()).unwrap();
    let run = diff(&[old_file.to_str().unwrap(), new_file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("changed (1):"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("~ error [openssl-sysconfdir] openssl 3.0.13 (etc), saves 9.8 KiB"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("was error [openssl-sysconfdir] openssl 3.0.12 (etc)"),
        "{}",
        run.stdout
    );
}

#[test]
fn what_is_not_a_report_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = clean_report(dir.path());
    let write = |name: &str, text: &str| {
        let file = dir.path().join(name);
        fs::write(&file, text).unwrap();
        file.to_str().unwrap().to_string()
    };
    let other_schema = write(
        "v2.json",
        &fs::read_to_string(&good)
            .unwrap()
            .replace("stowaway.report/1", "stowaway.report/2"),
    );
    let not_a_report = write("package.json", "{\"name\": \"x\"}");
    let broken = write("broken.json", "{\"schema\": ");
    let lying = write(
        "lying.json",
        "{\"schema\": \"stowaway.report/1\", \"findings\": 3}",
    );
    for (old, new, says) in [
        (
            &other_schema,
            &good,
            "is a stowaway.report/2 report; this stowaway reads stowaway.report/1",
        ),
        (&good, &not_a_report, "is JSON but not a stowaway report"),
        (&broken, &good, "is neither a report nor something to audit"),
        (
            &good,
            &lying,
            "claims stowaway.report/1 but does not follow it",
        ),
    ] {
        let run = diff(&[old, new]);
        assert_eq!(run.code, 2, "{old} {new}: {}", run.stdout);
        assert_one_line_error(&run, says);
    }
    let run = diff(&[&good, "/no/such/build"]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "/no/such/build");
}

#[test]
fn an_incomplete_side_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = clean_report(dir.path());
    let partial = dir.path().join("partial.json");
    let text = fs::read_to_string(&good).unwrap();
    fs::write(
        &partial,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let run = diff(&[&good, partial.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("INCOMPLETE: the new audit is incomplete"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_crafted_report_cannot_reach_the_terminal_or_the_log_raw() {
    let dir = tempfile::tempdir().unwrap();
    let old = clean_report(dir.path());
    // A saved report of the leaky build, its strings rewritten as an attacker would.
    let mut args = vec!["check"];
    let leaky = leaky_args();
    args.extend(leaky.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let mut report: Value = serde_json::from_str(&run(stowaway().args(&args)).stdout).unwrap();
    let finding = &mut report["findings"][0];
    finding["reference"]["package"] = "evil\u{1b}[2J\n::error::pwned".into();
    finding["locations"][0]["file"] = "bin/\r\u{202e}app".into();
    finding["rule"] = "rule\u{7}".into();
    let crafted = dir.path().join("crafted.json");
    fs::write(&crafted, report.to_string()).unwrap();
    let human = diff(&[&old, crafted.to_str().unwrap()]);
    assert_eq!(human.code, 1, "{}", human.stderr);
    for bad in ['\u{1b}', '\r', '\u{202e}', '\u{7}'] {
        assert!(!human.stdout.contains(bad), "{bad:?} in\n{}", human.stdout);
    }
    assert!(!human.stdout.contains("\n::error"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("+ error [rule\\x07] evil\\x1b[2J\\x0a::error::pwned"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(" — in bin/\\x0d\\xe2\\x80\\xaeapp"),
        "{}",
        human.stdout
    );
    // A schema name is data too.
    let other = dir.path().join("other.json");
    fs::write(&other, "{\"schema\": \"x\\u001b[31m\\ny\"}").unwrap();
    let run = diff(&[&old, other.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_one_line_error(&run, "is a x\\x1b[31m\\x0ay report");
}
