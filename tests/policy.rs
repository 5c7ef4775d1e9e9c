//! The policy file: profiles, allow and deny with reasons, severity per rule, budgets, and
//! allow entries that accept nothing.

use std::fs;

use serde_json::Value;

use crate::util::*;

/// Audits the diamond fixture (three references: liba, libb, solo) from `dir`, where a
/// stowaway.toml may be waiting.
fn diamond_in(dir: &std::path::Path, extra: &[&str]) -> Run {
    let target = fixture("diamond");
    let info = fixture("diamond.closure.json");
    run(stowaway()
        .current_dir(dir)
        .args([
            "check",
            "--format",
            "json",
            target.to_str().unwrap(),
            "--closure-info",
            info.to_str().unwrap(),
        ])
        .args(extra))
}

fn severities(report: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let subject = f["reference"]["package"]
                .as_str()
                .unwrap_or(f["rule"].as_str().unwrap());
            (
                subject.to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_policy_in_the_working_directory_allows_denies_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("stowaway.toml"),
        r#"
[[allow]]
package = "lib*"
reason = "the plugin libraries are part of the product"
[[allow]]
package = "tzdata"
reason = "zoneinfo, once"
[severity]
store-reference = "warn"
"#,
    )
    .unwrap();
    let run = diamond_in(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.json();
    assert_eq!(
        severities(&report),
        [
            ("liba".to_string(), "warning".to_string()),
            ("libb".into(), "warning".into()),
            ("solo".into(), "warning".into()),
            ("unused-allow".into(), "warning".into()),
            ("unused-allow".into(), "warning".into())
        ],
        "store-reference lowered to warn everywhere; so nothing needed the lib* allow either"
    );
    let unused: Vec<&str> = findings(&report, "unused-allow")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(unused.len(), 2, "{unused:?}");
    assert!(
        unused
            .iter()
            .any(|m| m.contains("\"tzdata\" (stowaway.toml:6:11)")),
        "{unused:?}"
    );
}

#[test]
fn deny_wins_and_allow_records_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    fs::write(
        &policy,
        r#"
[[allow]]
package = "lib*"
reason = "the plugin libraries are part of the product"
[[deny]]
package = "libb"
reason = "libb was replaced by liba"
"#,
    )
    .unwrap();
    let report = diamond_in(dir.path(), &["--config", policy.to_str().unwrap()]).json();
    assert_eq!(
        severities(&report),
        [
            ("liba".to_string(), "info".to_string()),
            ("libb".into(), "error".into()),
            ("solo".into(), "error".into())
        ]
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("(allowed: the plugin libraries are part of the product)")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("(denied: libb was replaced by liba)")),
        "{messages:?}"
    );
}

#[test]
fn budgets_fail_the_audit_when_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("budget.toml");
    // The diamond's closure is 422864 bytes; solo alone saves 225232.
    fs::write(&policy, "[[allow]]\npackage = \"*\"\nreason = \"sizes only\"\n[budget]\nmax-closure-size = \"400 KiB\"\nmax-reference-size = 200000\n").unwrap();
    let run = diamond_in(dir.path(), &["--config", policy.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let report = run.json();
    let over: Vec<&str> = findings(&report, "over-budget")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        over,
        ["the closure is 413.0 KiB, over the budget of 400.0 KiB"]
    );
    // Allowed references are not counted against the per-reference budget; unallowed are.
    fs::write(&policy, "[budget]\nmax-reference-size = 200000\n").unwrap();
    let report = diamond_in(dir.path(), &["--config", policy.to_str().unwrap()]).json();
    let over: Vec<&str> = findings(&report, "over-budget")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        over,
        ["solo-0.3 costs 220.0 KiB, over the budget of 195.3 KiB per reference"]
    );
}

#[test]
fn the_dynamic_profile_accepts_the_c_runtime() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("lib"),
        "/nix/store/0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f-glibc-2.39-52/lib/libc.so.6\n",
    )
    .unwrap();
    let strict = check_json(&[dir.path().to_str().unwrap()]);
    assert_eq!(strict.code, 1, "the static profile is the default");
    let policy = dir.path().join("p.toml");
    fs::write(&policy, "profile = \"dynamic\"\n").unwrap();
    let lenient = check_json(&[
        dir.path().join("lib").to_str().unwrap(),
        "--config",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    assert!(
        findings(&lenient.json(), "unused-allow").is_empty(),
        "the profile's own entries are not reported"
    );
}

#[test]
fn a_broken_policy_exits_2_listing_every_problem_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("stowaway.toml"),
        "profile = \"tiny\"\n[[allow]]\npackage = \"glibc\"\n[severity]\nno-such-rule = \"warn\"\n[budget]\nmax-closure-size = -3\n",
    )
    .unwrap();
    let run = diamond_in(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    for needle in [
        "4 problems in the policy",
        "stowaway.toml:1:11: unknown profile",
        "stowaway.toml:3:11: \"glibc\" needs a reason",
        "stowaway.toml:5:1: unknown rule id \"no-such-rule\"",
        "stowaway.toml:7:20: -3 is not a size",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            run.stderr
        );
    }
    // Unknown keys do not hide the other problems (issue 15), and a broken rule pack's
    // problems come in the same run.
    fs::write(
        dir.path().join("stowaway.toml"),
        "[[allow]]\npackage = \"x\"\nreason = \"y\"\ncolour = 1\n[budget]\nmax-closure-size = \"5 MeB\"\n",
    )
    .unwrap();
    let rules = tempfile::tempdir().unwrap();
    fs::write(rules.path().join("p.toml"), "[[rule]]\nid = \"Bad_Id\"\n").unwrap();
    let run = diamond_in(dir.path(), &["--rules", rules.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    for needle in [
        "stowaway: 4 problems in the rules and the policy:\n",
        "p.toml:1:1: missing field `severity`",
        "p.toml:2:6: rule id \"Bad_Id\" is not kebab-case",
        "stowaway.toml:4:1: unknown key `colour`\n  |\n4 | colour = 1\n  | ^^^^^^\n",
        "stowaway.toml:6:20: \"5 MeB\" is not a size",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn the_policy_file_can_carry_rules_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("stowaway.toml"),
        r#"
[severity]
our-plugin-path = "warn"

[[rule]]
id = "our-plugin-path"
refines = "store-reference"
severity = "deny"
title = "A plugin directory of ours"
explanation = "Our plugins are loaded from their store paths on purpose."
fix = "see docs/plugins.md"
links = []
[rule.match]
package = ["solo"]
"#,
    )
    .unwrap();
    let report = diamond_in(dir.path(), &[]).json();
    let solo = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reference"]["package"] == "solo")
        .unwrap();
    assert_eq!(solo["rule"], "our-plugin-path");
    assert_eq!(
        solo["severity"], "warning",
        "the policy's severity overrides the rule's"
    );
    let listed = run(stowaway().current_dir(dir.path()).arg("rules")).stdout;
    assert!(listed.contains("our-plugin-path"), "{listed}");
}
