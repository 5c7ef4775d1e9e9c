//! The SARIF 2.1.0 report, for GitHub code scanning and every other SARIF viewer.
//!
//! One run: the tool with every rule it was given (id, title, explanation and fix as help
//! text, default level), one result per finding at its first location (the others are
//! `relatedLocations`), each with its file as a URI and its byte region and line. A partial
//! audit says so in `invocations` (`executionSuccessful: false`, one notification per
//! unreadable file). The run's properties carry the verdict, the summary and, for an audited
//! archive, its `image` section. Checked against Microsoft's SARIF Multitool, including its
//! GitHub rules, in `tests/formats.rs`.
//!
//! File names arrive escaped ([`crate::escape`]); a URI carries the original bytes,
//! percent-encoded, so it stays exact for any name.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::escape::unescape;
use crate::model::RuleText;
use crate::model::{Finding, Location, Report, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Value,
    invocations: [Value; 1],
    results: Vec<Value>,
    properties: Value,
}

/// Writes the report as one SARIF log.
pub fn write(out: &mut dyn Write, report: &Report, rules: &[&RuleText]) -> io::Result<()> {
    let results = report
        .findings
        .iter()
        .map(|finding| result(finding, rules))
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: json!({
                "driver": {
                    "name": env!("CARGO_PKG_NAME"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|r| descriptor(r)).collect::<Vec<_>>(),
                }
            }),
            invocations: [invocation(report)],
            results,
            properties: properties(report),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::from)?;
    writeln!(out)
}

/// The run's own properties: the verdict, the summary and, for an audited archive, its
/// `image` section as the JSON report has it.
fn properties(report: &Report) -> Value {
    let mut properties = json!({
        "verdict": report.verdict,
        "complete": report.complete,
        "summary": report.summary,
    });
    if let Some(image) = &report.image {
        properties["image"] = json!(image);
    }
    properties
}

/// A rule as a `reportingDescriptor`.
fn descriptor(rule: &RuleText) -> Value {
    let fix = rule.fix_for("<store path>");
    let explanation = rule.explanation.trim();
    let links: String = rule.links.iter().map(|l| format!("\nSee: {l}")).collect();
    let markdown_links: String = rule.links.iter().map(|l| format!("\n- <{l}>")).collect();
    let mut descriptor = json!({
        "id": rule.id,
        "name": pascal_case(&rule.id),
        "shortDescription": { "text": sentence(&rule.title) },
        "fullDescription": { "text": explanation },
        "help": {
            "text": format!("{explanation}\n\nFix: {fix}{links}"),
            "markdown": format!("{explanation}\n\n**Fix:** {fix}\n{markdown_links}"),
        },
        "defaultConfiguration": { "level": level(rule.severity.severity()) },
        "properties": { "tags": ["nix", "closure"] },
    });
    if let Some(link) = rule.links.first() {
        descriptor["helpUri"] = json!(link);
    }
    if let Some(kind) = &rule.refines {
        descriptor["properties"]["refines"] = json!(kind);
    }
    descriptor
}

/// One finding as a `result`.
fn result(finding: &Finding, rules: &[&RuleText]) -> Value {
    let mut text = sentence(&finding.message);
    if let Some(reference) = &finding.reference {
        text.push_str(&format!(" Store path: {}.", reference.store_path));
    }
    if let Some(cost) = super::cost(finding) {
        text.push_str(&format!(" Cost: {cost}."));
    }
    if let Some(fix) = &finding.fix {
        text.push_str(&format!(" Fix: {}", sentence(fix)));
    }
    let mut result = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": text },
        "partialFingerprints": { "stowaway/v1": fingerprint(finding) },
    });
    if let Some(index) = rules.iter().position(|r| r.id == finding.rule) {
        result["ruleIndex"] = json!(index);
    }
    let mut places = finding.locations.iter().map(location);
    if let Some(first) = places.next() {
        result["locations"] = json!([first]);
        let related: Vec<Value> = places
            .enumerate()
            .map(|(n, mut place)| {
                place["id"] = json!(n + 1);
                place
            })
            .collect();
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
    }
    let mut properties = Map::new();
    if let Some(reference) = &finding.reference {
        properties.insert("reference".into(), json!(reference));
    }
    if let Some(size) = &finding.size {
        properties.insert("size".into(), json!(size));
    }
    if finding.more_locations > 0 {
        properties.insert("moreLocations".into(), json!(finding.more_locations));
    }
    if !finding.evidence.is_empty() {
        properties.insert("evidence".into(), json!(finding.evidence));
    }
    if !properties.is_empty() {
        result["properties"] = Value::Object(properties);
    }
    result
}

/// A place as a SARIF `location`: the file, its byte region and line, and the symbol and
/// archive member as logical locations.
fn location(place: &Location) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri(place) } });
    // A whole file (a symlink, a name, a linkage fact) is placed at its first line: code
    // scanning shows nothing without a line.
    physical["region"] = match (place.offset, place.line, place.length) {
        (Some(offset), Some(line), Some(length)) => json!({
            "startLine": line,
            "byteOffset": offset,
            "byteLength": length,
        }),
        (_, line, _) => json!({ "startLine": line.unwrap_or(1) }),
    };
    let mut location = json!({ "physicalLocation": physical });
    let mut logical = Vec::new();
    if let Some(member) = &place.member {
        logical.push(json!({ "name": member, "kind": "module" }));
    }
    if let Some(symbol) = &place.symbol {
        logical.push(json!({ "fullyQualifiedName": symbol, "kind": "function" }));
    }
    if !logical.is_empty() {
        location["logicalLocations"] = json!(logical);
    }
    if let Some(section) = &place.section {
        location["properties"] = json!({ "section": section, "loaded": place.loaded });
    }
    location
}

/// The file's URI: a relative reference for a relative target, `file://` for an absolute
/// one; every byte outside the unreserved set percent-encoded.
fn uri(place: &Location) -> String {
    let path = unescape(&place.path);
    let mut uri = String::with_capacity(path.len() + 7);
    if path.first() == Some(&b'/') {
        uri.push_str("file://");
    }
    for byte in path {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

/// What identifies a finding across builds: never the store hash, which changes with every
/// rebuild, so that code scanning keeps one alert per fault.
fn fingerprint(finding: &Finding) -> String {
    let subject = finding
        .reference
        .as_ref()
        .map_or(String::new(), |r| format!("{}:{}", r.package, r.output));
    let file = finding.locations.first().map_or("", |l| l.file.as_str());
    format!("{}:{subject}:{file}", finding.rule)
}

fn invocation(report: &Report) -> Value {
    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": sentence(&format!("{}: {}", e.path, e.message)) },
            })
        })
        .collect();
    notifications.extend(report.limits.iter().map(|l| {
        json!({
            "level": if l.incomplete { "error" } else { "warning" },
            "message": { "text": sentence(&l.describe()) },
        })
    }));
    notifications.extend(report.skipped.iter().map(|s| {
        json!({
            "level": "note",
            "message": { "text": format!("{}: {}, not opened.", s.path, s.kind) },
        })
    }));
    json!({
        "executionSuccessful": report.complete,
        "exitCode": report.exit_code(),
        "toolExecutionNotifications": notifications,
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `store-reference` → `StoreReference`, the form SARIF suggests for a rule's name.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect()
}

/// A text that ends like a sentence, as SARIF asks of messages.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}
