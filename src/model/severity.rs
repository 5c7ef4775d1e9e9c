//! How much a finding matters, and the level a rule gives its findings by default.

use serde::{Deserialize, Serialize};

use super::named::named;

named! {
    /// How much a finding matters.
    pub enum Severity {
        /// Fails the audit.
        Error = "error",
        Warning = "warning",
        Info = "info",
    }
}

/// The severity a rule has unless something (an allow, a self-reference) lowers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails the audit.
    Deny,
    Warn,
    Info,
}

impl Level {
    pub fn severity(self) -> Severity {
        match self {
            Level::Deny => Severity::Error,
            Level::Warn => Severity::Warning,
            Level::Info => Severity::Info,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Deny => "deny",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}
