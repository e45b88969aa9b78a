//! `certlab completions`: shell completion scripts (clap_complete).

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{CmdResult, EXIT_OK, Failure};

/// Arguments of `certlab completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  certlab completions bash > ~/.local/share/bash-completion/completions/certlab
  certlab completions zsh > \"${fpath[1]}/_certlab\"
  certlab completions fish > ~/.config/fish/completions/certlab.fish
  source <(certlab completions bash)          # this shell only")]
pub struct Args {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    pub shell: Shell,
}

/// Runs `certlab completions`: prints the script on stdout.
pub fn run(args: Args) -> CmdResult {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "certlab", &mut script);
    match std::io::stdout().write_all(&script) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::internal(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(EXIT_OK),
    }
}
