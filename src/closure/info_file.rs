//! Reads closure information saved as JSON, in every shape Nix has printed.
//!
//! * `nix path-info --json --recursive --closure-size` before Nix 2.19: an array of objects,
//!   each with `path`;
//! * the same from Nix 2.19 on: an object keyed by store path (values without `path`; newer
//!   versions print paths without the store dir, and `null` for an invalid path);
//! * a structured-attrs `.attrs.json` inside a Nix build, where `exportReferencesGraph.<name>`
//!   becomes a top-level `<name>` array of `{path, narSize, closureSize, references, …}`.
//!
//! Each entry needs `narSize` and `references`; `deriver` is kept when it is a store path.
//! Any other field is ignored. A malformed file is an error that names the file and the entry
//! (escaped: the file may come from anyone).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};

use super::{ClosureGraph, Node};
use crate::escape::{escape_bytes, escape_path};
use crate::model::SizeSource;
use crate::store_path::StorePath;

/// Loads a closure-info file.
pub fn load(file: &Path, store_dir: &str) -> Result<ClosureGraph> {
    let name = escape_path(file);
    let text = std::fs::read(file).with_context(|| format!("closure info {name}"))?;
    parse(&text, store_dir, SizeSource::ClosureInfo).with_context(|| format!("closure info {name}"))
}

/// Parses closure-info JSON of any known shape, attributing its sizes to `source`.
pub fn parse(text: &[u8], store_dir: &str, source: SizeSource) -> Result<ClosureGraph> {
    let value: Value = serde_json::from_slice(text).map_err(|e| anyhow!("not valid JSON: {e}"))?;
    let mut graph = ClosureGraph::new(source);
    match &value {
        Value::Array(entries) => {
            for (index, entry) in entries.iter().enumerate() {
                let object = entry
                    .as_object()
                    .ok_or_else(|| anyhow!("entry {index}: expected an object"))?;
                let path = object
                    .get("path")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("entry {index}: missing \"path\""))?;
                graph.insert(node(path, object, store_dir)?);
            }
        }
        Value::Object(map) if is_structured_attrs(map) => {
            for (key, entries) in map.iter().filter(|(_, v)| is_reference_graph(v)) {
                let key = escape_bytes(key.as_bytes());
                for (index, entry) in entries.as_array().into_iter().flatten().enumerate() {
                    let object = entry
                        .as_object()
                        .ok_or_else(|| anyhow!("{key}[{index}]: expected an object"))?;
                    let path = object
                        .get("path")
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("{key}[{index}]: missing \"path\""))?;
                    graph.insert(node(path, object, store_dir)?);
                }
            }
        }
        Value::Object(map) => {
            for (path, entry) in map {
                match entry {
                    Value::Null => continue, // an invalid path, as newer Nix prints it
                    Value::Object(object) => graph.insert(node(path, object, store_dir)?),
                    _ => bail!("{}: expected an object", escape_bytes(path.as_bytes())),
                }
            }
        }
        _ => bail!("expected a JSON array or object"),
    }
    Ok(graph)
}

/// Structured attrs carry `outputs` (and other build attributes) next to the graphs.
fn is_structured_attrs(map: &Map<String, Value>) -> bool {
    map.values().any(is_reference_graph) && !map.keys().any(|k| k.contains('/'))
}

/// An array of objects with `path` and `narSize`: an `exportReferencesGraph` result.
fn is_reference_graph(value: &Value) -> bool {
    value.as_array().is_some_and(|entries| {
        entries
            .iter()
            .all(|e| e.get("path").is_some() && e.get("narSize").is_some())
    })
}

fn node(raw_path: &str, object: &Map<String, Value>, store_dir: &str) -> Result<Node> {
    let path = escape_bytes(raw_path.as_bytes());
    let store_path = StorePath::parse(raw_path, store_dir).map_err(|e| anyhow!("{path}: {e}"))?;
    let nar_size = object
        .get("narSize")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("{path}: missing or invalid \"narSize\""))?;
    let references = object
        .get("references")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{path}: missing or invalid \"references\""))?
        .iter()
        .map(|r| {
            let text = r
                .as_str()
                .ok_or_else(|| anyhow!("{path}: a reference is not a string"))?;
            StorePath::parse(text, store_dir)
                .map(|p| p.hash().to_string())
                .map_err(|e| anyhow!("{path}: reference {}: {e}", escape_bytes(text.as_bytes())))
        })
        .collect::<Result<Vec<_>>>()?;
    // Newer Nix prints it without the store dir. Shown in reports, so only a store path.
    let deriver = object
        .get("deriver")
        .and_then(Value::as_str)
        .map(|d| match d.starts_with('/') {
            true => d.to_string(),
            false => format!("{store_dir}/{d}"),
        })
        .filter(|d| StorePath::parse(d, store_dir).is_ok());
    Ok(Node {
        path: store_path,
        nar_size,
        closure_size: object.get("closureSize").and_then(Value::as_u64),
        references,
        deriver,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "/nix/store/jgawiwb6yq4b803z440n388s8w2w59za-app-1.0";
    const ETC: &str = "/nix/store/yfqnqgyp8z830l3yf8pa8nglgapq7yk1-openssl-3.0.12-etc";

    fn check(graph: &ClosureGraph) {
        let app = graph.get("jgawiwb6yq4b803z440n388s8w2w59za").expect("app");
        assert_eq!(app.nar_size, 520);
        assert_eq!(app.references, vec!["yfqnqgyp8z830l3yf8pa8nglgapq7yk1"]);
        let etc = graph.get("yfqnqgyp8z830l3yf8pa8nglgapq7yk1").expect("etc");
        assert_eq!(etc.nar_size, 632);
        assert!(etc.references.is_empty());
    }

    #[test]
    fn reads_the_array_shape_of_nix_2_8() {
        let text = format!(
            r#"[{{"path":"{APP}","narHash":"sha256-x","narSize":520,"references":["{ETC}"],"closureSize":1152,"deriver":"/nix/store/vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv"}},
               {{"path":"{ETC}","narSize":632,"references":[],"closureSize":632}}]"#
        );
        let graph = parse(text.as_bytes(), "/nix/store", SizeSource::ClosureInfo).expect("parse");
        check(&graph);
        let app = graph.get("jgawiwb6yq4b803z440n388s8w2w59za").expect("app");
        assert_eq!(
            app.deriver.as_deref(),
            Some("/nix/store/vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv")
        );
    }

    #[test]
    fn a_deriver_is_kept_only_when_it_is_a_store_path() {
        for (deriver, kept) in [
            ("vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv", true),
            (
                "/nix/store/vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app-1.0.drv",
                true,
            ),
            (
                "/nix/store/vyg778d2zqxj9cqs8vq9jycy12d2f1rr-app\\u001b[2J.drv",
                false,
            ),
            ("unknown-deriver", false),
        ] {
            let text =
                format!(r#"{{"{APP}":{{"narSize":520,"references":[],"deriver":"{deriver}"}}}}"#);
            let graph = parse(text.as_bytes(), "/nix/store", SizeSource::ClosureInfo).unwrap();
            let node = graph.get("jgawiwb6yq4b803z440n388s8w2w59za").unwrap();
            assert_eq!(node.deriver.is_some(), kept, "{deriver}");
        }
    }

    #[test]
    fn reads_the_keyed_shape_with_full_and_bare_paths() {
        let full = format!(
            r#"{{"{APP}":{{"narSize":520,"references":["{ETC}"]}},"{ETC}":{{"narSize":632,"references":[]}}}}"#
        );
        check(&parse(full.as_bytes(), "/nix/store", SizeSource::Nix).expect("parse"));
        let bare = full.replace("/nix/store/", "");
        let with_invalid =
            bare.replacen('{', r#"{"0000000000000000000000000000000a-gone":null,"#, 1);
        check(&parse(with_invalid.as_bytes(), "/nix/store", SizeSource::Nix).expect("parse"));
    }

    #[test]
    fn reads_structured_attrs() {
        let text = format!(
            r#"{{"outputs":{{"out":"/nix/store/9i7m2ivaqqf6n6c9gnxw4zkcp6vh2r6j-check"}},"name":"check",
               "graph":[{{"path":"{APP}","narSize":520,"closureSize":1152,"references":["{ETC}"],"narHash":"sha256-x"}},
                        {{"path":"{ETC}","narSize":632,"closureSize":632,"references":[]}}]}}"#
        );
        check(&parse(text.as_bytes(), "/nix/store", SizeSource::ClosureInfo).expect("parse"));
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let cases = [
            ("[", "not valid JSON"),
            ("42", "expected a JSON array or object"),
            (
                r#"[{"narSize":1,"references":[]}]"#,
                "entry 0: missing \"path\"",
            ),
            (
                r#"[{"path":"/nix/store/short-x","narSize":1,"references":[]}]"#,
                "/nix/store/short-x",
            ),
            (
                &format!(r#"[{{"path":"{APP}","references":[]}}]"#),
                "narSize",
            ),
            (
                &format!(r#"[{{"path":"{APP}","narSize":-1,"references":[]}}]"#),
                "narSize",
            ),
            (
                &format!(r#"[{{"path":"{APP}","narSize":1,"references":[7]}}]"#),
                "not a string",
            ),
        ];
        for (text, expected) in cases {
            let err =
                parse(text.as_bytes(), "/nix/store", SizeSource::ClosureInfo).expect_err(text);
            assert!(format!("{err:#}").contains(expected), "{text}: {err:#}");
        }
    }
}
