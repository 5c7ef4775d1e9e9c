//! The progress display on stderr: files and bytes done, the rate and the time taken; once
//! the files to audit are counted, a bar against that total.
//!
//! It is drawn only on a terminal, only for the reports people read there (not the CI
//! formats, whose logs it would litter), and only once the audit has run long enough to be
//! worth watching. The audit's own walk streams into the workers and is never waited for, so
//! the total comes from a second, counting walk (names only, no `stat`), started in the
//! background when the display first appears: an audit that ends sooner never pays for it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::units::human_bytes;

/// How long an audit runs before the display appears.
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// While the files are being counted: what is done so far.
const COUNTING: &str = "{spinner} {pos} files, {bytes} ({rate}), {elapsed}";
/// Once they are counted: a bar of files done against the total.
const BAR: &str = "{bar:28} {pos}/{len} files, {bytes} ({rate}), {elapsed}";

/// Counts files and bytes and draws them when it is worth it; shared by reference across
/// workers.
pub struct Progress {
    bar: ProgressBar,
    bytes: Arc<AtomicU64>,
    started: Instant,
    enabled: bool,
    /// What the audit walks (roots and depth), for the counting walk.
    walk: OnceLock<(Vec<PathBuf>, usize)>,
    shown: OnceLock<()>,
    /// Set when the audit is over; the counting walk may no longer touch the display.
    over: Arc<Mutex<bool>>,
}

impl Progress {
    /// A display on stderr if it is a terminal and `for_people` (the report is one people
    /// read on a terminal, not a CI format).
    pub fn for_stderr(for_people: bool) -> Progress {
        Progress::new(for_people && std::io::stderr().is_terminal())
    }

    fn new(enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let bytes = Arc::new(AtomicU64::new(0));
        bar.set_style(style(COUNTING, &bytes));
        Progress {
            bar,
            bytes,
            started: Instant::now(),
            enabled,
            walk: OnceLock::new(),
            shown: OnceLock::new(),
            over: Arc::new(Mutex::new(false)),
        }
    }

    /// The audit is about to walk `roots`, `max_depth` levels down.
    pub fn will_walk(&self, roots: Vec<PathBuf>, max_depth: usize) {
        let _ = self.walk.set((roots, max_depth));
    }

    /// Counts `bytes` more as scanned (as they are read, so that one large file moves it).
    pub fn add(&self, bytes: u64) {
        if !self.enabled {
            return;
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.show_if_worth_it();
    }

    /// One more file is done.
    pub fn file_done(&self) {
        if !self.enabled {
            return;
        }
        self.bar.inc(1);
        self.show_if_worth_it();
    }

    fn show_if_worth_it(&self) {
        if self.enabled && self.started.elapsed() >= SHOW_AFTER {
            self.shown.get_or_init(|| {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
                self.bar.enable_steady_tick(Duration::from_millis(120));
                if let Some((roots, max_depth)) = self.walk.get() {
                    self.count_in_background(roots.clone(), *max_depth);
                }
            });
        }
    }

    /// Counts the regular files under `roots` on a thread of its own, then turns the
    /// display into a bar against that count.
    fn count_in_background(&self, roots: Vec<PathBuf>, max_depth: usize) {
        let (bar, bytes, over) = (
            self.bar.clone(),
            Arc::clone(&self.bytes),
            Arc::clone(&self.over),
        );
        std::thread::spawn(move || {
            let files = roots
                .iter()
                .flat_map(|root| {
                    walkdir::WalkDir::new(root)
                        .follow_links(false)
                        .max_depth(max_depth)
                })
                .filter_map(Result::ok)
                // The root itself may be a file given by a followed symlink.
                .filter(|e| e.file_type().is_file() || (e.depth() == 0 && e.path().is_file()))
                .count() as u64;
            let over = over
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !*over {
                bar.set_length(files);
                bar.set_style(style(BAR, &bytes));
            }
        });
    }

    /// Removes the display from the screen.
    pub fn finish(&self) {
        let mut over = self
            .over
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *over = true;
        self.bar.finish_and_clear();
    }
}

/// `template` with `{bytes}` and `{rate}` read from the byte counter.
fn style(template: &str, bytes: &Arc<AtomicU64>) -> ProgressStyle {
    let (total, per_second) = (Arc::clone(bytes), Arc::clone(bytes));
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "bytes",
            move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&human_bytes(total.load(Ordering::Relaxed)));
            },
        )
        .with_key(
            "rate",
            move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let seconds = state.elapsed().as_secs_f64().max(1e-3);
                let rate = per_second.load(Ordering::Relaxed) as f64 / seconds;
                let _ = write!(out, "{}/s", human_bytes(rate as u64));
            },
        )
        .progress_chars("=> ")
}
