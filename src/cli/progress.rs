//! A progress bar on stderr for long issuing runs (fleets of identities): shown only when
//! stderr is a terminal, the run is long enough to notice, and `--quiet` is not given.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Set by `--quiet`: no progress bar either.
pub static QUIET: AtomicBool = AtomicBool::new(false);

/// Fewer leaves than this issue too fast for a bar to help.
const MIN_LEAVES: u64 = 200;

/// A bar of `len` leaves on stderr, or `None` when it must not show.
pub fn bar(len: u64) -> Option<ProgressBar> {
    if len < MIN_LEAVES || QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("issuing {bar:40} {pos}/{len} leaves ({per_sec}, {eta})")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Runs `work` with a progress callback that advances `bar` (if any), then clears the bar.
pub fn with_bar<T>(bar: Option<ProgressBar>, work: impl FnOnce(&(dyn Fn(u64) + Sync)) -> T) -> T {
    let result = match &bar {
        Some(b) => work(&|n| b.inc(n)),
        None => work(&|_| {}),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}
