//! The findings of the linkage check: an executable that is not static, one library twice
//! in a process, two allocators.

use crate::model::{ElfFacts, Evidence, Finding, Kind, Location, RuleText};

/// An executable expected to be static that has an interpreter or needed libraries.
pub struct NotStatic<'a> {
    pub rule: &'a RuleText,
    pub facts: &'a ElfFacts,
    pub executable: Location,
}

impl From<NotStatic<'_>> for Finding {
    fn from(not: NotStatic) -> Finding {
        let mut reasons = Vec::new();
        if let Some(interp) = &not.facts.interpreter {
            reasons.push(format!("interpreter {interp}"));
        }
        if !not.facts.needed.is_empty() {
            reasons.push(format!("needs {}", not.facts.needed.join(", ")));
        }
        let message = format!(
            "{} is not static: {}",
            not.executable.file,
            reasons.join("; ")
        );
        Finding::new(Kind::NotStatic, not.rule, message, "").at(vec![not.executable])
    }
}

/// Copies of one part of a library that should be one: `duplicate-library` or
/// `mixed-linkage` (the kind of `rule`).
pub struct Copies<'a> {
    pub kind: Kind,
    pub rule: &'a RuleText,
    pub library: &'a str,
    pub part: &'a str,
    /// What to do: the library's own advice, which is more precise than the rule's.
    pub fix: String,
    pub executable: Location,
    pub copies: Vec<Evidence>,
}

impl From<Copies<'_>> for Finding {
    fn from(copies: Copies) -> Finding {
        let what = match copies.kind {
            Kind::MixedLinkage => "linked statically and also loaded dynamically",
            _ => "in the process twice",
        };
        // "openssl (libcrypto)", or "liburing" when the part is the whole library.
        let name = if copies.part == copies.library {
            copies.library.to_string()
        } else {
            format!("{} ({})", copies.library, copies.part)
        };
        let message = format!(
            "{name} is {what} in {} ({} copies)",
            copies.executable.file,
            copies.copies.len()
        );
        let mut finding =
            Finding::new(copies.kind, copies.rule, message, "").at(vec![copies.executable]);
        finding.fix = Some(copies.fix);
        finding.evidence = copies.copies;
        finding
    }
}

/// Allocators of different families in one process.
pub struct Allocators<'a> {
    pub rule: &'a RuleText,
    pub allocators: Vec<&'a str>,
    pub executable: Location,
    pub copies: Vec<Evidence>,
}

impl From<Allocators<'_>> for Finding {
    fn from(found: Allocators) -> Finding {
        let message = format!(
            "{} has {} allocators: {}",
            found.executable.file,
            found.allocators.len(),
            found.allocators.join(", ")
        );
        let mut finding = Finding::new(Kind::DuplicateAllocator, found.rule, message, "")
            .at(vec![found.executable]);
        finding.evidence = found.copies;
        finding
    }
}
