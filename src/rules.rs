//! The catalogue of rules: for every rule id, its default severity, title, explanation, fix
//! hint and links.
//!
//! The texts are data, `rules/core.toml`, embedded at build time; loading checks that every
//! [`Rule`] has exactly one entry and nothing else is there, so an id can never be reported
//! without its explanation. This module does not decide which rule a finding falls under:
//! the stages that make findings do.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::findings::{Rule, Severity};

/// The built-in rule texts.
const CORE: &str = include_str!("../rules/core.toml");

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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleText {
    pub id: String,
    pub severity: Level,
    pub title: String,
    pub explanation: String,
    /// `{path}` stands for the store path a finding is about.
    pub fix: String,
    pub links: Vec<String>,
}

impl RuleText {
    /// The fix hint for a finding about `path` (a store path, or empty).
    pub fn fix_for(&self, path: &str) -> String {
        self.fix.replace("{path}", path)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    rule: Vec<RuleText>,
}

/// Every rule's text, in the order of [`Rule::ALL`].
#[derive(Debug, Clone)]
pub struct Catalogue {
    rules: Vec<RuleText>,
}

impl Catalogue {
    /// The catalogue of `rules/core.toml`.
    pub fn builtin() -> Result<Catalogue> {
        Catalogue::parse(CORE).context("rules/core.toml")
    }

    /// Reads a catalogue, which must describe each rule id exactly once.
    pub fn parse(text: &str) -> Result<Catalogue> {
        let file: CatalogueFile = toml::from_str(text)?;
        let mut rules = Vec::with_capacity(Rule::ALL.len());
        for rule in Rule::ALL {
            let mut entries = file.rule.iter().filter(|t| t.id == rule.id());
            match (entries.next(), entries.next()) {
                (Some(text), None) => rules.push(text.clone()),
                (None, _) => bail!("rule {} has no entry", rule.id()),
                (Some(_), Some(_)) => bail!("rule {} has more than one entry", rule.id()),
            }
        }
        if let Some(unknown) = file.rule.iter().find(|t| Rule::from_id(&t.id).is_none()) {
            bail!("unknown rule id {:?}", unknown.id);
        }
        Ok(Catalogue { rules })
    }

    /// The text of `rule`.
    pub fn get(&self, rule: Rule) -> &RuleText {
        let index = Rule::ALL
            .iter()
            .position(|&r| r == rule)
            .unwrap_or_default();
        &self.rules[index]
    }

    /// Every rule's text, in a stable order.
    pub fn all(&self) -> &[RuleText] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_one_text_and_the_ids_are_unique() {
        let catalogue = Catalogue::builtin().expect("rules/core.toml");
        assert_eq!(catalogue.all().len(), Rule::ALL.len());
        for rule in Rule::ALL {
            let text = catalogue.get(rule);
            assert_eq!(text.id, rule.id());
            assert!(
                !text.title.is_empty()
                    && !text.explanation.trim().is_empty()
                    && !text.fix.is_empty()
            );
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
        }
    }

    #[test]
    fn a_catalogue_must_match_the_rule_ids() {
        let one = "[[rule]]\nid = \"store-reference\"\nseverity = \"deny\"\ntitle = \"t\"\nexplanation = \"e\"\nfix = \"f\"\nlinks = []\n";
        let err = Catalogue::parse(one).expect_err("the other rules are missing");
        assert!(format!("{err:#}").contains("has no entry"), "{err:#}");
        let unknown_key = one.replace("links = []", "links = []\nseverty = \"deny\"");
        let err = Catalogue::parse(&unknown_key).expect_err("typo");
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }

    #[test]
    fn fixes_name_the_path() {
        let catalogue = Catalogue::builtin().expect("rules/core.toml");
        let fix = catalogue
            .get(Rule::StoreReference)
            .fix_for("/nix/store/x-foo");
        assert!(
            fix.contains("remove-references-to -t /nix/store/x-foo"),
            "{fix}"
        );
    }
}
