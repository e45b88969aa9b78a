//! `certlab check` (not built yet).

use super::CmdResult;

/// Arguments of `certlab check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab check`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input(
        "`certlab check` is not available yet",
    ))
}
