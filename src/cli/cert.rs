//! `certlab cert` (not built yet).

use super::CmdResult;

/// Arguments of `certlab cert`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `certlab cert`.
pub fn run(_args: Args) -> CmdResult {
    Err(super::Failure::input("`certlab cert` is not available yet"))
}
