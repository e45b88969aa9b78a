//! `certlab inspect` (not built yet).

use super::CmdResult;

/// Arguments of `certlab inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab inspect`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input(
        "`certlab inspect` is not available yet",
    ))
}
