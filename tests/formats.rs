//! The CI formats against the references they must satisfy: SARIF checked by Microsoft's SARIF
//! Multitool (its SARIF and GitHub rules), GitHub workflow commands compared byte for byte
//! with `@actions/core`, and the Markdown table kept intact by hostile file names. The
//! reference tools live in tests/validators (`npm ci --prefix tests/validators`); a missing
//! one fails these tests, it never skips them.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::util::*;

/// File names that try to break out of every format: a newline and a workflow command, `%`,
/// `:` and `,`, a terminal escape, invalid UTF-8, Markdown table and link syntax, HTML.
const HOSTILE_NAMES: [&[u8]; 6] = [
    b"plain-config",
    b"a\n::set-env name=X::1",
    b"100%25 done, really: yes",
    b"esc\x1b[31mred\xff\xfe",
    b"cell|break](x)`code`",
    b"<img src=x onerror=alert(1)>\r",
];

fn validators() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators/node_modules")
}

fn require(path: &Path) -> &Path {
    assert!(
        path.exists(),
        "{} is missing: install the reference tools with `npm ci --prefix tests/validators`",
        path.display()
    );
    path
}

/// A tree whose every file names a different store path of the fixture closure, with a
/// hostile name; a store symlink; and a policy with a budget and an allow entry that is
/// never used, so that every kind of place (byte region, whole file, policy line) appears.
fn hostile_tree() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let store_path = fs::read_to_string(fixture("app-static.store-path")).unwrap();
    let store_path = store_path.trim();
    let mut contents = Vec::new();
    for (n, name) in HOSTILE_NAMES.iter().enumerate() {
        let text = format!("line one\nline two {store_path}/etc/ssl{n} and more\n");
        fs::write(out.join(OsStr::from_bytes(name)), &text).unwrap();
        contents.push(text);
    }
    std::os::unix::fs::symlink(store_path, out.join("link")).unwrap();
    fs::write(
        dir.path().join("policy.toml"),
        "[budget]\nmax-closure-size = \"1 KiB\"\n\n[[allow]]\npackage = \"nothing*\"\nreason = \"kept for the test\"\n",
    )
    .unwrap();
    (dir, contents)
}

fn check_in(dir: &Path, format: &str) -> Run {
    let run = run(stowaway().current_dir(dir).args([
        "check",
        "out",
        "--config",
        "policy.toml",
        "--closure-info",
        fixture("app-static.closure.json").to_str().unwrap(),
        "--format",
        format,
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    run
}

/// `%XX` decoded.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// What Microsoft's SARIF Multitool, with its GitHub rules, objects to in `sarif`.
fn multitool_problems(dir: &Path, sarif: &str) -> Vec<String> {
    let sarif_file = dir.join("report.sarif");
    fs::write(&sarif_file, sarif).unwrap();
    let multitool = validators().join("@microsoft/sarif-multitool-linux/Sarif.Multitool");
    let multitool = require(&multitool);
    // npm may leave out the package's own `chmod u+x` (install scripts not approved).
    let mut mode = fs::metadata(multitool).unwrap().permissions();
    mode.set_mode(mode.mode() | 0o100);
    fs::set_permissions(multitool, mode).unwrap();
    let verdict_file = dir.join("validation.sarif");
    let output = Command::new(multitool)
        .arg("validate")
        .arg(&sarif_file)
        .args(["--rule-kind", "Gh;Sarif", "--level", "Error;Warning"])
        .arg("--output")
        .arg(&verdict_file)
        .args(["--log", "ForceOverwrite"])
        // The multitool is a .NET program; without ICU it needs the invariant mode.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run the SARIF multitool");
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "multitool failed:\n{log}");
    let verdict = read_json(&verdict_file);
    verdict["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        // informationUri (SARIF2005) asks for the tool's home page, which it does not have yet.
        .filter(|r| r["ruleId"] != "SARIF2005")
        .map(|r| format!("{} {}", r["ruleId"], r["message"]))
        .collect()
}

#[test]
fn sarif_passes_the_multitool_with_its_github_rules() {
    let (dir, _) = hostile_tree();
    let run = check_in(dir.path(), "sarif");
    let problems = multitool_problems(dir.path(), &run.stdout);
    assert!(problems.is_empty(), "the multitool objects:\n{problems:#?}");

    // And what the validator cannot know: every result is where the finding is.
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let json = run_json(dir.path());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), json["findings"].as_array().unwrap().len());
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let mut names_seen = Vec::new();
    for result in results {
        let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], result["ruleId"]);
        assert!(rule["help"]["text"].as_str().unwrap().contains("Fix: "));
        let places = result["locations"]
            .as_array()
            .unwrap()
            .iter()
            .chain(result["relatedLocations"].as_array().into_iter().flatten());
        for place in places {
            let physical = &place["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            let path = percent_decode(uri);
            let Some(offset) = physical["region"]["byteOffset"].as_u64() else {
                continue;
            };
            // The URI names the file byte for byte, and the region is the store path in it.
            let path = dir.path().join(OsStr::from_bytes(&path));
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{uri}: {e}"));
            let length = physical["region"]["byteLength"].as_u64().unwrap() as usize;
            let matched = &bytes[offset as usize..offset as usize + length];
            assert!(matched.starts_with(b"/nix/store/"), "{uri}");
            assert!(matched.windows(8).any(|w| w == b"/etc/ssl"), "{uri}");
            assert_eq!(physical["region"]["startLine"], 2, "{uri}");
            names_seen.push(path.file_name().unwrap().as_bytes().to_vec());
        }
    }
    names_seen.sort();
    let mut expected: Vec<Vec<u8>> = HOSTILE_NAMES.iter().map(|n| n.to_vec()).collect();
    expected.sort();
    assert_eq!(
        names_seen, expected,
        "every hostile name survives, losslessly"
    );
}

fn run_json(dir: &Path) -> Value {
    check_in(dir, "json").json()
}

/// What `@actions/core` prints for each `[level, title, file, line, message]`.
fn actions_core(cases: &[Value]) -> Vec<String> {
    let core = validators().join("@actions/core/lib/core.js");
    let core = require(&core);
    let script = format!(
        "import * as core from {core:?};
         let input = '';
         process.stdin.on('data', d => input += d);
         process.stdin.on('end', () => {{
           for (const [level, title, file, line, message] of JSON.parse(input)) {{
             const properties = {{ title, file }};
             if (line !== null) properties.startLine = line;
             core[level](message, properties);
           }}
         }});",
        core = core.display().to_string()
    );
    let mut child = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is required (apt-get install nodejs npm)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(cases.to_vec()).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn github_commands_are_escaped_exactly_as_actions_core_escapes_them() {
    let every_ascii: String = (1u8..0x80).map(char::from).collect();
    let texts = [
        "plain",
        "a:b,c%d",
        "%25 already escaped %0A",
        "line\nbreak\r\nand ::set-env name=A::1",
        "::error::",
        "caf\u{e9} \u{202e} \u{1f600}",
        every_ascii.as_str(),
    ];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        for level in ["error", "warning", "notice"] {
            let line = (n % 2 == 0).then(|| (n + 1).to_string());
            let title = format!("t{text}");
            let mut properties = vec![("title", title.as_str()), ("file", *text)];
            if let Some(line) = &line {
                properties.push(("line", line.as_str()));
            }
            ours.push(stowaway::parts::github_command(level, &properties, text));
            cases.push(json!([
                level,
                title,
                text,
                line.map(|l| l.parse::<u64>().unwrap()),
                text
            ]));
        }
    }
    assert_eq!(ours, actions_core(&cases));
}

#[test]
fn github_annotations_stay_one_per_finding_whatever_the_names() {
    let (dir, _) = hostile_tree();
    let run = check_in(dir.path(), "github");
    let json = run_json(dir.path());
    let commands: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        commands.len(),
        json["findings"].as_array().unwrap().len(),
        "{}",
        run.stdout
    );
    for line in &commands {
        let (head, _) = line[2..].split_once("::").expect("a command has two `::`");
        let name = head.split(' ').next().unwrap();
        assert!(["error", "warning", "notice"].contains(&name), "{line}");
        assert!(!line.contains('\r') && !line.contains('\x1b'), "{line:?}");
    }
    // The lines that are not commands are the totals, ending with the verdict.
    assert!(
        run.stdout
            .trim_end()
            .ends_with("FAIL: 3 failing, 1 warning"),
        "{}",
        run.stdout
    );
    let unused = commands
        .iter()
        .find(|l| l.starts_with("::warning"))
        .unwrap();
    assert!(unused.contains(",file=policy.toml,line=5::"), "{unused}");
}

#[test]
fn markdown_table_rows_keep_their_cells_whatever_the_names() {
    let (dir, _) = hostile_tree();
    let run = check_in(dir.path(), "markdown");
    let json = run_json(dir.path());
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
        .collect();
    assert_eq!(rows.len(), json["findings"].as_array().unwrap().len());
    for row in rows {
        let cells = row.split('|').count() - row.matches("\\|").count();
        assert_eq!(cells, 9, "a row has 7 cells: {row}");
        let opened = row.matches('<').count() - row.matches("\\<").count();
        assert_eq!(
            opened,
            row.matches("<br>").count(),
            "only <br> is HTML: {row}"
        );
        assert!(!row.contains('\x1b') && !row.contains('\r'), "{row:?}");
    }
    assert!(
        run.stdout.starts_with("## stowaway: ❌ FAIL\n"),
        "{}",
        run.stdout
    );
    let closure = json["summary"]["closure_bytes"].as_u64().unwrap();
    // Markdown escapes the dot of the size.
    let closure = stowaway::units::human_bytes(closure).replace('.', "\\.");
    assert!(
        run.stdout.contains(&format!("closure {closure}")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_partial_audit_says_so_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("secret"), "x").unwrap();
    fs::set_permissions(out.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let mut mode = fs::metadata(dir.path()).unwrap().permissions();
    mode.set_mode(0o755);
    fs::set_permissions(dir.path(), mode).unwrap();
    for (format, says) in [
        ("human", "INCOMPLETE"),
        ("json", "\"complete\": false"),
        ("sarif", "\"executionSuccessful\": false"),
        ("github", "::error title=stowaway%3A incomplete audit::"),
        ("markdown", "## stowaway: ❌ INCOMPLETE"),
    ] {
        let run = run(stowaway_unprivileged()
            .arg("check")
            .arg(&out)
            .args(["--format", format]));
        assert_eq!(run.code, 2, "{format}: {}", run.stderr);
        assert!(run.stdout.contains(says), "{format}:\n{}", run.stdout);
        if format == "github" {
            // The annotation is on the file as named from where stowaway ran.
            let on = format!(
                "::error title=stowaway%3A unreadable,file={}/secret::",
                out.display()
            );
            assert!(run.stdout.contains(&on), "{}", run.stdout);
        }
    }
}

#[test]
fn limits_reached_are_reported_in_every_format_and_sarif_stays_valid() {
    let (dir, _) = hostile_tree();
    let out = dir.path().join("out");
    let store_path = fs::read_to_string(fixture("app-static.store-path")).unwrap();
    fs::write(out.join("twice"), format!("{0}\n{0}\n", store_path.trim())).unwrap();
    fs::create_dir_all(out.join("deep/deeper")).unwrap();
    fs::write(out.join("deep/deeper/file"), "x").unwrap();
    let limits = ["--max-depth", "1", "--max-locations", "1"];
    for (format, says) in [
        ("human", "limit: --max-depth 1 reached: the entries of 1 directory 1 level down were not read: out/deep\n"),
        ("human", "limit: --max-locations 1 reached: 1 file holds a store path more than 1 time; the rest are counted, not listed: out/twice\n"),
        ("human", "INCOMPLETE: "),
        ("json", "\"limit\": \"max-depth\""),
        ("sarif", "\"text\": \"--max-depth 1 reached: the entries of 1 directory 1 level down were not read: out/deep.\""),
        ("github", "::error title=stowaway%3A --max-depth reached,file=out/deep::--max-depth 1 reached"),
        ("github", "::warning title=stowaway%3A --max-locations reached,file=out/twice::"),
        ("github", "::error title=stowaway%3A incomplete audit::the audit is incomplete and cannot pass: --max-depth 1 was reached\n"),
        ("markdown", "## stowaway: ❌ INCOMPLETE (\\-\\-max\\-depth 1 was reached)\n"),
        ("markdown", "**Limits reached:**\n\n- \\-\\-max\\-depth 1 reached"),
    ] {
        let run = run(stowaway()
            .current_dir(dir.path())
            .args(["check", "out", "--format", format])
            .args(limits));
        assert_eq!(run.code, 2, "{format}: {}", run.stderr);
        assert!(run.stdout.contains(says), "{format}: {says}\n{}", run.stdout);
        if format == "sarif" {
            let problems = multitool_problems(dir.path(), &run.stdout);
            assert!(problems.is_empty(), "the multitool objects:\n{problems:#?}");
        }
    }
}

#[test]
fn one_audit_writes_every_report_asked_for_each_as_its_own_format_would() {
    let (dir, _) = hostile_tree();
    let run = run(stowaway().current_dir(dir.path()).args([
        "check",
        "out",
        "--config",
        "policy.toml",
        "--closure-info",
        fixture("app-static.closure.json").to_str().unwrap(),
        "--format",
        "json",
        "--output",
        "sarif=report.sarif",
        "-o",
        "markdown=summary.md",
        "-o",
        "github=annotations.txt",
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The JSON is the JSON of a run of its own, with the lines the other reports needed.
    let mut combined: Value = serde_json::from_str(&run.stdout).unwrap();
    let alone: Value = serde_json::from_str(&check_in(dir.path(), "json").stdout).unwrap();
    for (finding, alone) in combined["findings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(alone["findings"].as_array().unwrap())
    {
        for (place, alone) in finding["locations"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(alone["locations"].as_array().unwrap())
        {
            if alone["line"].is_null() && place["offset"].is_u64() {
                assert_eq!(place["line"], 2, "{place}");
                place["line"] = Value::Null;
            }
        }
    }
    assert_eq!(combined, alone);
    for (file, format) in [
        ("report.sarif", "sarif"),
        ("summary.md", "markdown"),
        ("annotations.txt", "github"),
    ] {
        let written = fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(written, check_in(dir.path(), format).stdout, "{file}");
    }
    // Lines are found for the files even though stdout (JSON) does not need them.
    assert!(
        read_json(&dir.path().join("report.sarif"))["runs"][0]["results"][0]["locations"][0]
            ["physicalLocation"]["region"]["startLine"]
            .is_u64()
    );
}

#[test]
fn an_output_that_cannot_be_written_is_exit_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bin"), "plain").unwrap();
    let run = run(stowaway()
        .arg("check")
        .arg(dir.path())
        .args(["--output", "sarif=/nonexistent/dir/report.sarif"]));
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.ends_with("PASS: 0 failing, 0 warnings\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        ["stowaway: writing report /nonexistent/dir/report.sarif: No such file or directory (os error 2)"]
    );
}
