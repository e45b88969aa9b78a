//! What Chromium printed for each lab scenario, measured by `certlab lab --clients chromium`.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
pub(super) const CELLS: &[Cell] = &[];
