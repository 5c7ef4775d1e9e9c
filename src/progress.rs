//! The progress bar: bytes scanned, on stderr, only on a terminal and only once the audit has
//! taken long enough to be worth watching.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long an audit runs before the bar appears.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// A byte counter that draws itself when it is worth it; shared by reference across workers.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: OnceLock<()>,
}

impl Progress {
    /// A bar that may be shown if stderr is a terminal.
    pub fn for_stderr() -> Progress {
        Progress::new(std::io::stderr().is_terminal())
    }

    /// A bar that never draws.
    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    fn new(enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} scanned {binary_bytes} ({binary_bytes_per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Progress {
            bar,
            started: Instant::now(),
            enabled,
            shown: OnceLock::new(),
        }
    }

    /// Counts `bytes` more as scanned.
    pub fn add(&self, bytes: u64) {
        self.bar.inc(bytes);
        if self.enabled && self.started.elapsed() >= SHOW_AFTER {
            self.shown.get_or_init(|| {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
                self.bar.enable_steady_tick(Duration::from_millis(120));
            });
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
