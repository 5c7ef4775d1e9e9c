//! The findings the policy adds: a budget exceeded, and an allow entry that accepted nothing.

use super::cfg::Entry;
use crate::model::{Finding, Kind, Location, RuleText};
use crate::units::human_bytes;

/// The audited closure is larger than `max-closure-size`.
pub struct ClosureOverBudget<'a> {
    pub rule: &'a RuleText,
    pub closure: u64,
    pub max: u64,
    /// The audited targets: what is over.
    pub targets: Vec<Location>,
}

impl From<ClosureOverBudget<'_>> for Finding {
    fn from(over: ClosureOverBudget) -> Finding {
        let message = format!(
            "the closure is {}, over the budget of {}",
            human_bytes(over.closure),
            human_bytes(over.max)
        );
        Finding::new(Kind::OverBudget, over.rule, message, "").at(over.targets)
    }
}

/// Removing one reference would save more than `max-reference-size`.
pub struct ReferenceOverBudget<'a> {
    pub rule: &'a RuleText,
    /// The referenced path's name.
    pub name: &'a str,
    pub saved: u64,
    pub max: u64,
    /// The first place of the reference.
    pub place: Option<Location>,
}

impl From<ReferenceOverBudget<'_>> for Finding {
    fn from(over: ReferenceOverBudget) -> Finding {
        let message = format!(
            "{} costs {}, over the budget of {} per reference",
            over.name,
            human_bytes(over.saved),
            human_bytes(over.max)
        );
        Finding::new(Kind::OverBudget, over.rule, message, "").at(over.place.into_iter().collect())
    }
}

/// An allow entry that accepted nothing, placed at its line of the policy file.
pub struct UnusedAllow<'a> {
    pub rule: &'a RuleText,
    pub entry: &'a Entry,
}

impl From<UnusedAllow<'_>> for Finding {
    fn from(unused: UnusedAllow) -> Finding {
        let entry = unused.entry;
        let message = format!(
            "allow {:?} ({}) accepted nothing; its reason: {}",
            entry.pattern, entry.origin, entry.reason
        );
        let place = entry.place.as_ref().map(|(file, line)| {
            let mut place = Location::whole_file(file, file, file.clone());
            place.line = Some(*line);
            place
        });
        Finding::new(Kind::UnusedAllow, unused.rule, message, "").at(place.into_iter().collect())
    }
}
