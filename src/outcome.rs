//! How a run ends: its exit code, whatever happened inside it.
//!
//! A check that crashes must never look like a pass (issue 6): an error is exit 2 with its
//! chain on one line, and so is a panic anywhere in the audit, including in a worker thread
//! (rayon hands a worker's panic to the thread that waits for it), and so is a run cancelled
//! by SIGINT, SIGTERM or SIGHUP.

use std::io::{IsTerminal, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether stderr is a terminal, where a progress bar may be on the current line.
static STDERR_IS_TERMINAL: AtomicBool = AtomicBool::new(false);

/// Makes SIGINT, SIGTERM and SIGHUP end the run at once with exit 2 and one line on stderr:
/// a cancelled audit is not a pass, and the log says why it stopped. Nothing is left half
/// written in what is audited, which is only ever read.
pub fn exit_2_when_cancelled() {
    STDERR_IS_TERMINAL.store(std::io::stderr().is_terminal(), Ordering::Relaxed);
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe
        // functions (write, _exit) and reads an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_cancel as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_cancel(signal: libc::c_int) {
    let message: &[u8] = match signal {
        libc::SIGINT => b"stowaway: interrupted (SIGINT), the audit was not completed\n",
        libc::SIGTERM => b"stowaway: terminated (SIGTERM), the audit was not completed\n",
        _ => b"stowaway: hung up (SIGHUP), the audit was not completed\n",
    };
    // On a terminal, clear the line the progress bar (or ^C) is on first.
    let clear: &[u8] = if STDERR_IS_TERMINAL.load(Ordering::Relaxed) {
        b"\r\x1b[2K"
    } else {
        b""
    };
    // SAFETY: write and _exit are async-signal-safe; the buffers are static.
    unsafe {
        libc::write(2, clear.as_ptr().cast(), clear.len());
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(2);
    }
}

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
