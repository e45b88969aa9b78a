//! The `certlab` binary: parse, call the library, print, exit.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
