//! `certlab new`: write a commented spec to start from.

use std::path::PathBuf;

use certlab::pki::spec;

use super::{CmdResult, EXIT_OK, Failure};

/// Arguments of `certlab new`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  certlab new                  # certlab.toml from the dev template
  certlab new --template otel otel.toml
  certlab new -                # print to stdout")]
pub struct Args {
    /// Template to start from: dev, otel or lab.
    #[arg(long, short = 't', default_value = "dev")]
    pub template: String,
    /// Where to write it (`-` for stdout).
    #[arg(default_value = "certlab.toml")]
    pub file: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `certlab new`.
pub fn run(args: Args) -> CmdResult {
    let t = spec::template(&args.template).ok_or_else(|| {
        Failure::input(format!(
            "unknown template `{}` (expected dev, otel or lab)",
            args.template
        ))
    })?;
    if args.file.as_os_str() == "-" {
        print!("{}", t.text);
        return Ok(EXIT_OK);
    }
    if args.file.exists() && !args.force {
        return Err(Failure::input(format!(
            "{} exists; use --force to overwrite it",
            args.file.display()
        )));
    }
    certlab::pem::write_atomic(&args.file, t.text.as_bytes(), false)?;
    println!(
        "wrote {} ({} template: {})",
        args.file.display(),
        t.name,
        t.summary
    );
    println!(
        "next: certlab generate --spec {} -o pki",
        args.file.display()
    );
    Ok(EXIT_OK)
}
