//! Reading the TOML files people write (the policy file, rule packs): every problem of a
//! file at once — syntax errors, unknown keys, values of the wrong type, values a reader
//! rejects — each as `file:line:column: what`, with the line and a marker under the spot.
//!
//! A file is parsed once into a table that keeps the place of every key and value
//! ([`toml::de::DeTable`]); each part of it is then read into its own type on its own
//! ([`TomlFile::read`]), so that one wrong entry does not hide the next, and keys that the
//! type does not know are found with `serde_ignored` rather than stopping at the first.

use std::fmt::Display;
use std::ops::Range;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One TOML file and the problems found in it so far.
pub struct TomlFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
    /// Each problem with the offset it is about, to list them in the file's order.
    problems: Vec<(usize, String)>,
}

/// One step of the way from the top of a file to a key, as `serde_ignored` reports it.
enum Step {
    Key(String),
    Index(usize),
}

impl<'a> TomlFile<'a> {
    pub fn new(name: &'a str, text: &'a str) -> TomlFile<'a> {
        TomlFile {
            name,
            text,
            problems: Vec::new(),
        }
    }

    /// The file's top-level table; `None` after syntax errors (each is a problem), since what
    /// follows an error cannot be trusted.
    pub fn table(&mut self) -> Option<DeTable<'a>> {
        let (table, errors) = DeTable::parse_recoverable(self.text);
        for error in &errors {
            let span = error.span().unwrap_or(0..0);
            self.problem(span, error.message());
        }
        errors.is_empty().then(|| table.into_inner())
    }

    /// Reads `value` as a `T`: every key `T` does not know is a problem, and so is a value
    /// of the wrong type (the first, which ends the reading of this value: `None`).
    pub fn read<T: DeserializeOwned>(&mut self, value: &Spanned<DeValue<'_>>) -> Option<T> {
        let mut unknown: Vec<Vec<Step>> = Vec::new();
        let read = serde_ignored::deserialize(value.clone().into_deserializer(), |path| {
            unknown.push(steps(&path));
        });
        for path in unknown {
            let (span, key) = locate(value, &path);
            self.problem(span, format!("unknown key `{key}`"));
        }
        match read {
            Ok(read) => Some(read),
            Err(error) => {
                let span = error.span().unwrap_or_else(|| value.span());
                self.problem(span, error.message());
                None
            }
        }
    }

    /// Records a problem at `span` of the text.
    pub fn problem(&mut self, span: Range<usize>, message: impl Display) {
        let start = span.start;
        let problem = format!(
            "{}: {message}\n{}",
            self.position(start),
            self.snippet(span)
        );
        self.problems.push((start, problem));
    }

    /// `name:line:column` of the byte at `offset` (lines and columns count from 1).
    pub fn position(&self, offset: usize) -> String {
        let (line, column) = self.line_column(offset);
        format!("{}:{line}:{column}", self.name)
    }

    /// The line (from 1) of the byte at `offset`.
    pub fn line(&self, offset: usize) -> u64 {
        self.line_column(offset).0 as u64
    }

    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text.as_bytes()[..offset.min(self.text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }

    /// The line of `span`'s start with a marker under the span (to the end of that line).
    fn snippet(&self, span: Range<usize>) -> String {
        let bytes = self.text.as_bytes();
        let start = span.start.min(bytes.len());
        let line_start = bytes[..start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        let line_text = String::from_utf8_lossy(&bytes[line_start..line_end]);
        let (number, column) = self.line_column(start);
        let end = span.end.clamp(start, line_end);
        let marks = String::from_utf8_lossy(&bytes[start..end])
            .chars()
            .count()
            .max(1);
        let gutter = " ".repeat(number.to_string().len());
        format!(
            "{gutter} |\n{number} | {}\n{gutter} | {}{}",
            crate::escape::escape_controls(&line_text),
            " ".repeat(column - 1),
            "^".repeat(marks)
        )
    }

    /// The problems, in the order of the places they are about.
    pub fn into_problems(mut self) -> Vec<String> {
        self.problems.sort_by_key(|(at, _)| *at);
        self.problems.into_iter().map(|(_, p)| p).collect()
    }
}

/// Every problem found, under one heading (`3 problems in the policy:`), as one error.
pub fn problems_error(problems: &[String], what: &str) -> anyhow::Error {
    match problems {
        [one] => anyhow::anyhow!("1 problem in {what}:\n{one}"),
        many => anyhow::anyhow!("{} problems in {what}:\n{}", many.len(), many.join("\n")),
    }
}

/// The span of the value at `keys` inside `value` (a table), or of `value` itself when it
/// has none: where a problem about that value points.
pub fn span_of(value: &Spanned<DeValue>, keys: &[&str]) -> Range<usize> {
    let mut at = value;
    for key in keys {
        let DeValue::Table(table) = at.get_ref() else {
            break;
        };
        match table.iter().find(|(k, _)| k.get_ref() == key) {
            Some((_, next)) => at = next,
            None => break,
        }
    }
    at.span()
}

/// The string at `key` of `value` (a table), if it is one.
pub fn string_at<'v>(value: &'v Spanned<DeValue>, key: &str) -> Option<&'v str> {
    let DeValue::Table(table) = value.get_ref() else {
        return None;
    };
    match table.iter().find(|(k, _)| k.get_ref() == key)?.1.get_ref() {
        DeValue::String(text) => Some(text),
        _ => None,
    }
}

fn steps(path: &serde_ignored::Path) -> Vec<Step> {
    let mut steps = match path {
        serde_ignored::Path::Root => return Vec::new(),
        serde_ignored::Path::Seq { parent, .. }
        | serde_ignored::Path::Map { parent, .. }
        | serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => steps(parent),
    };
    match path {
        serde_ignored::Path::Seq { index, .. } => steps.push(Step::Index(*index)),
        serde_ignored::Path::Map { key, .. } => steps.push(Step::Key(key.clone())),
        _ => {}
    }
    steps
}

/// The span of the key at the end of `path` inside `value`, and the key as written.
fn locate(value: &Spanned<DeValue>, path: &[Step]) -> (Range<usize>, String) {
    let mut at = value;
    let mut found = (value.span(), String::new());
    for step in path {
        let next = match (step, at.get_ref()) {
            (Step::Key(key), DeValue::Table(table)) => table
                .iter()
                .find(|(k, _)| k.get_ref() == key)
                .map(|(k, v)| {
                    found = (k.span(), key.clone());
                    v
                }),
            (Step::Index(index), DeValue::Array(items)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Entry {
        package: String,
        count: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        ok: bool,
    }

    fn problems(text: &str) -> Vec<String> {
        let mut file = TomlFile::new("f.toml", text);
        if let Some(table) = file.table() {
            for (_, value) in table.iter() {
                if let DeValue::Array(items) = value.get_ref() {
                    for item in items.iter() {
                        let _: Option<Entry> = file.read(item);
                    }
                }
            }
        }
        file.into_problems()
    }

    #[test]
    fn every_unknown_key_and_every_bad_entry_is_a_problem_with_its_place() {
        let text = "[[e]]\npakage = \"x\"\ncolour = 1\n\n[[e]]\npackage = \"y\"\ncount = \"many\"\n\n[[e]]\npackage = \"z\"\n[e.inner]\nok = true\nnope = 2\n";
        let found = problems(text);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("f.toml:1:1: missing field `package`"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with(
                "f.toml:2:1: unknown key `pakage`\n  |\n2 | pakage = \"x\"\n  | ^^^^^^"
            ),
            "{}",
            found[1]
        );
        assert!(
            found[2].starts_with("f.toml:3:1: unknown key `colour`"),
            "{}",
            found[2]
        );
        assert!(found[3].starts_with("f.toml:7:9: "), "{}", found[3]);
        assert!(
            found[3].contains("count = \"many\"\n  |         ^^^^^^"),
            "{}",
            found[3]
        );
        assert!(
            found[4].starts_with("f.toml:13:1: unknown key `nope`"),
            "{}",
            found[4]
        );
    }

    #[test]
    fn syntax_errors_are_all_listed_and_nothing_is_read() {
        let found = problems("a = \nb = [1,\n");
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("f.toml:1:5: string values must be quoted"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("f.toml:2:8: unclosed array"),
            "{found:#?}"
        );
        assert!(
            found[1].ends_with("2 | b = [1,\n  |        ^"),
            "{found:#?}"
        );
    }

    #[test]
    fn problems_are_counted_under_one_heading() {
        let message = format!(
            "{:#}",
            problems_error(&["a".into(), "b".into()], "the policy")
        );
        assert_eq!(message, "2 problems in the policy:\na\nb");
    }
}
