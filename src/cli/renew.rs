//! `certlab renew`: re-issue certificates of a PKI directory from its kept issuers (issue 11).

use std::path::PathBuf;

use certlab::pki::renew::{self, RenewError, RenewOptions};

use super::{CmdResult, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, Failure, NowArg, ProcessExitCode};

/// Arguments of `certlab renew`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Renew as if it were this time (RFC 3339) instead of now")))]
#[command(after_help = "Examples:
  certlab renew --pki pki                       # every leaf (faulted ones are skipped)
  certlab renew --pki pki localhost --validity 5m
  certlab renew --pki pki localhost --rekey     # a new key too
  certlab renew --pki pki intermediate --force  # a CA: same key, new dates

Each certificate keeps its subject, names, extensions and (unless --rekey) its key; it gets a
new serial number and validity. Without --validity it is valid as long as before.
Exit codes: 0 renewed, 2 bad input (unknown name, a CA without --force, a faulted
certificate, a bad --validity), 3 certlab could not write or the directory is busy.")]
pub struct Args {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pub pki: PathBuf,
    /// The certificates to renew (default: every leaf without a fault).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Make a new key (same algorithm) instead of keeping the old one (leaves only).
    #[arg(long)]
    pub rekey: bool,
    /// How long the renewed certificates are valid (e.g. 90s, 5m, 12h, 30d, 1y).
    #[arg(long, value_name = "DURATION")]
    pub validity: Option<String>,
    /// Allow renewing CAs named on the command line.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub now: NowArg,
    /// Print JSON (`{"version": 1, "renewed": [...], ...}`).
    #[arg(long)]
    pub json: bool,
}

/// Parses a `--validity` value: a positive duration of at most 1000 years.
pub fn parse_validity(text: &str) -> Result<time::Duration, Failure> {
    let d = certlab::pki::spec::parse_duration(text)
        .map_err(|e| Failure::input(format!("--validity: {e}")))?;
    if d <= time::Duration::ZERO {
        return Err(Failure::input(format!(
            "--validity `{text}` is not positive"
        )));
    }
    if d > certlab::pki::spec::MAX_VALIDITY {
        return Err(Failure::input(format!(
            "--validity `{text}` is longer than 1000 years"
        )));
    }
    Ok(d)
}

/// Runs `certlab renew`.
pub fn run(args: Args) -> CmdResult {
    super::require_pki_dir(&args.pki)?;
    let validity = args.validity.as_deref().map(parse_validity).transpose()?;
    let now = args.now.or_clock();
    let options = RenewOptions {
        names: args.names.clone(),
        rekey: args.rekey,
        validity,
        force: args.force,
    };
    // The rendered configs (`configs/*`) are made again too, naming the files as `--pki` does.
    let configs =
        |pki: &certlab::Pki| certlab::render::config_outputs(pki, &args.pki).unwrap_or_default();
    let report = renew::renew_with(&args.pki, &options, now, &[&configs])?;
    if args.json {
        let mut v = serde_json::to_value(&report).expect("serialisable");
        v["version"] = 1.into();
        super::print_json(&v);
        return Ok(EXIT_OK);
    }
    for r in &report.renewed {
        println!(
            "{}: serial {} -> {}, expires {} -> {}{}",
            r.name,
            r.old_serial,
            r.new_serial,
            super::rfc3339(r.old_not_after),
            super::rfc3339(r.new_not_after),
            if r.rekeyed { " (new key)" } else { "" }
        );
    }
    for s in &report.skipped {
        println!("{}: skipped (fault `{}` on purpose)", s.name, s.fault);
    }
    for f in &report.rederived {
        println!("{f}: made again");
    }
    for f in &report.removed {
        println!("{f}: removed (stale; run certlab export again to remake it)");
    }
    if report.renewed.is_empty() {
        println!("nothing to renew");
    }
    Ok(EXIT_OK)
}

impl ProcessExitCode for RenewError {
    fn process_exit_code(&self) -> u8 {
        match self {
            RenewError::Store(e) => e.process_exit_code(),
            e if e.is_internal() => EXIT_INTERNAL,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            RenewError::Store(e) => e.hint(),
            RenewError::CaNeedsForce(_) => Some("add --force to renew it".into()),
            RenewError::RekeyCa(_) => Some(
                "renew it without --rekey, or replace the whole PKI with `certlab generate --force`"
                    .into(),
            ),
            RenewError::IssuerNotValid { issuer, .. } => Some(format!(
                "renew `{issuer}` first (certlab renew --force {issuer}, in the same run is fine)"
            )),
            RenewError::Faulted { .. } => {
                Some("regenerate it with `certlab generate` (same spec, new time)".into())
            }
            _ => None,
        }
    }
}
