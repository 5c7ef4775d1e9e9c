//! What a rule says: the text `stowaway explain` prints and SARIF describes, and the level a
//! finding under it has by default.

use super::severity::Level;

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
