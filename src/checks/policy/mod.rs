//! The policy check: the severities, allows and denies of stowaway.toml and `--allow` applied
//! to every finding, then its budgets and its unused allows as findings of their own.
//!
//! [`cfg`](mod@cfg) reads the policy; [`diags`] holds the findings it adds.

pub mod cfg;
mod diags;

use std::collections::HashSet;

pub use cfg::Policy;
use diags::{ClosureOverBudget, ReferenceOverBudget, UnusedAllow};

use crate::model::{Finding, Kind, Location, Severity};
use crate::rules::Catalogue;

/// Applies the policy to every finding but the target's references to itself.
pub fn judge(policy: &Policy, findings: &mut [Finding], self_hashes: &HashSet<&str>) {
    for finding in findings.iter_mut() {
        let reference = finding.reference.as_ref();
        if reference.is_some_and(|r| self_hashes.contains(r.hash.as_str())) {
            continue;
        }
        let subject = reference.map(|r| (r.package.as_str(), r.output.as_str()));
        let (severity, note) = policy.judge(&finding.rule, subject, finding.severity);
        // Accepted by the policy: nothing to fix. (A rule that is info by itself, such as a
        // nuked reference, keeps its advice.)
        if severity == Severity::Info && finding.severity != Severity::Info {
            finding.fix = None;
        }
        finding.severity = severity;
        if let Some(note) = note {
            finding.message = format!("{} ({note})", finding.message);
        }
    }
}

/// The budgets of the policy, checked against the closure and each reference's saving, and
/// the allow entries that accepted nothing; judged on the findings the policy has seen.
pub fn afterwards(
    policy: &Policy,
    catalogue: &Catalogue,
    findings: &[Finding],
    closure: Option<u64>,
    targets: Vec<Location>,
) -> Vec<Finding> {
    let mut added = Vec::new();
    let over = catalogue.get(Kind::OverBudget);
    if let (Some(max), Some(closure)) = (policy.max_closure_size, closure) {
        if closure > max {
            added.push(Finding::from(ClosureOverBudget {
                rule: over,
                closure,
                max,
                targets,
            }));
        }
    }
    if let Some(max) = policy.max_reference_size {
        for finding in findings.iter().filter(|f| f.severity != Severity::Info) {
            let (Some(reference), Some(saved)) = (
                &finding.reference,
                finding.size.and_then(|s| s.exclusive_bytes),
            ) else {
                continue;
            };
            if saved > max {
                added.push(Finding::from(ReferenceOverBudget {
                    rule: over,
                    name: &reference.name,
                    saved,
                    max,
                    place: finding.locations.first().cloned(),
                }));
            }
        }
    }
    let unused = catalogue.get(Kind::UnusedAllow);
    added.extend(policy.unused().map(|entry| {
        Finding::from(UnusedAllow {
            rule: unused,
            entry,
        })
    }));
    added
}
