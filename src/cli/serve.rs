//! `certlab serve` (not built yet).

use super::CmdResult;

/// Arguments of `certlab serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab serve`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input(
        "`certlab serve` is not available yet",
    ))
}
