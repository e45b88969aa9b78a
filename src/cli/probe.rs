//! `certlab probe` (not built yet).

use super::CmdResult;

/// Arguments of `certlab probe`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab probe`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input(
        "`certlab probe` is not available yet",
    ))
}
