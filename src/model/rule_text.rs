//! What a rule says: the text `stowaway explain` prints and SARIF describes, and the level a
//! finding under it has by default.

use serde::Deserialize;

use super::Severity;

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

/// What a rule means and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    /// Kebab-case: lowercase letters and digits in words joined by `-`.
    pub id: String,
    pub severity: Level,
    pub title: String,
    pub explanation: String,
    /// `{path}` stands for the store path a finding is about.
    pub fix: String,
    pub links: Vec<String>,
    /// For a pack rule: the kind of finding it refines.
    pub refines: Option<String>,
}

impl RuleText {
    /// The fix hint for a finding about `path` (a store path, or empty).
    pub fn fix_for(&self, path: &str) -> String {
        self.fix.replace("{path}", path)
    }
}
