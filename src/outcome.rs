//! How a run ends: its exit code, whatever happened inside it.
//!
//! A check that crashes must never look like a pass (issue 6): an error is exit 2 with its
//! chain on one line, and so is a panic anywhere in the audit, including in a worker thread
//! (rayon hands a worker's panic to the thread that waits for it).

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `run` and turns what it returns into an exit code, writing any error to `stderr`:
/// its code on success, 2 for an error or a panic.
pub fn exit_code(stderr: &mut dyn Write, run: impl FnOnce() -> anyhow::Result<u8>) -> u8 {
    // The closure owns nothing that outlives a panic: the process ends right after.
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            let _ = writeln!(stderr, "stowaway: {err:#}");
            2
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            let _ = writeln!(
                stderr,
                "stowaway: internal error, the audit was not completed (please report it): {}",
                crate::escape::escape_bytes(what.as_bytes())
            );
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn a_panic_in_a_worker_is_exit_2_never_a_pass() {
        let mut stderr = Vec::new();
        let code = exit_code(&mut stderr, || {
            let sum: u64 = (0..64u64)
                .into_par_iter()
                .map(|n| {
                    if n == 37 {
                        panic!("worker {n} broke")
                    } else {
                        n
                    }
                })
                .sum();
            Ok(u8::from(sum == 0))
        });
        assert_eq!(code, 2);
        let text = String::from_utf8(stderr).unwrap();
        assert_eq!(
            text,
            "stowaway: internal error, the audit was not completed (please report it): worker 37 broke\n"
        );
    }

    #[test]
    fn errors_are_exit_2_on_one_line_and_codes_pass_through() {
        let mut stderr = Vec::new();
        assert_eq!(exit_code(&mut stderr, || Ok(1)), 1);
        assert!(stderr.is_empty());
        let code = exit_code(&mut stderr, || {
            Err(anyhow::anyhow!("inner").context("reading x"))
        });
        assert_eq!(code, 2);
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            "stowaway: reading x: inner\n"
        );
    }
}
