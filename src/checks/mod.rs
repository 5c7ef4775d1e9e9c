//! The checks: what the audit decides about the findings and the files once they are known.
//!
//! Each check is a folder or file of its own, the way cargo-deny keeps its checks: its
//! configuration (`cfg`), the findings it adds (`diags`, each a type turned into a
//! [`crate::model::Finding`] with `From`), and the check itself.
//!
//! - [`policy`]: stowaway.toml and `--allow`: severities, allows and denies, budgets.
//! - [`linkage`]: process images: duplicate, mixed and allocator faults, and `--static`.
//! - [`baseline`]: findings accepted from an earlier run.

pub mod baseline;
pub mod linkage;
pub mod policy;
