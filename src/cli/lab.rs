//! `certlab lab` (not built yet).

use super::CmdResult;

/// Arguments of `certlab lab`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab lab`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input("`certlab lab` is not available yet"))
}
