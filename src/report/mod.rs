//! Reporters: pure functions from a [`Report`] to bytes on a writer.
//!
//! Each format has its own file; none of them decides anything (the verdict and the exit code
//! are already in the report), and none prints anywhere but the writer it is given.

pub mod catalogue;
pub mod human;
pub mod json;

use std::io::{self, Write};

use crate::cli::Format;
use crate::findings::Report;

/// Writes `report` in `format`.
pub fn write(out: &mut dyn Write, report: &Report, format: Format, color: bool) -> io::Result<()> {
    match format {
        Format::Human => human::write(out, report, color),
        Format::Json => json::write(out, report),
    }
}
