//! What Python313 printed for each lab scenario, measured by `certlab lab --clients python3.13`.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
pub(super) const CELLS: &[Cell] = &[];
