//! The JSON report, `stowaway.report/1`.
//!
//! The wire format is the serde form of [`crate::model::Report`] with a schema id and the
//! tool's name and version in front. The README documents every field; later versions add
//! fields and never rename or remove one. Strings that come from files (file names, excerpts)
//! are escaped as described in [`crate::escape`], so the JSON is valid for any input.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::{Report, REPORT_SCHEMA};

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    schema: &'static str,
    tool: Tool,
    #[serde(flatten)]
    report: &'a Report,
}

fn envelope(report: &Report) -> Envelope<'_> {
    Envelope {
        schema: REPORT_SCHEMA,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        report,
    }
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    // Serialised into memory first: serde_json writes in pieces of a few bytes, each of
    // which would be a call through `dyn Write`.
    let mut json = serde_json::to_vec_pretty(&envelope(report)).map_err(io::Error::from)?;
    json.push(b'\n');
    out.write_all(&json)
}
