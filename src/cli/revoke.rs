//! `certlab revoke`: add a certificate to its issuer's CRL (issue 11).

use std::path::PathBuf;

use certlab::pki::revoke::{self, Reason};

use super::{CmdResult, EXIT_OK, Failure, NowArg};

/// Arguments of `certlab revoke`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Revoke as if it were this time (RFC 3339) instead of now")))]
#[command(after_help = "Examples:
  certlab revoke --pki pki localhost
  certlab revoke --pki pki client --reason keyCompromise
  certlab check --pki pki              # the revoked leaf: revoked, exit 1

The issuer's CRL (ISSUER.crl.pem) gets the serial, its CRL number goes up by one, and it is
signed again with the issuer's key. Revoking a certificate the CRL already lists changes
nothing (exit 0). Reasons (RFC 5280): unspecified, keyCompromise, cACompromise,
affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn,
aACompromise.
Exit codes: 0 revoked (or already), 2 bad input, 3 certlab could not write or the directory is busy.")]
pub struct Args {
    /// The PKI directory.
    #[arg(long, value_name = "DIR")]
    pub pki: PathBuf,
    /// The certificate to revoke.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The reason the CRL gives (RFC 5280 name).
    #[arg(long, value_name = "REASON", default_value = "unspecified")]
    pub reason: String,
    #[command(flatten)]
    pub now: NowArg,
    /// Print JSON (`{"version": 1, "name", "issuer", "serial", ...}`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `certlab revoke`.
pub fn run(args: Args) -> CmdResult {
    super::require_pki_dir(&args.pki)?;
    let reason: Reason = args
        .reason
        .parse()
        .map_err(|e| Failure::input(format!("--reason: {e}")))?;
    let r = revoke::revoke(&args.pki, &args.name, reason, args.now.or_clock())?;
    if args.json {
        let mut v = serde_json::to_value(&r).expect("serialisable");
        v["version"] = 1.into();
        v["reason"] = r.reason.name().into();
        super::print_json(&v);
    } else if r.already {
        println!(
            "{}: serial {} is already revoked by {} (CRL number {}); nothing changed",
            r.name, r.serial, r.issuer, r.crl_number
        );
    } else {
        println!(
            "{}: serial {} revoked by {} ({}), CRL number {} in {}",
            r.name,
            r.serial,
            r.issuer,
            r.reason,
            r.crl_number,
            args.pki.join(&r.crl).display()
        );
    }
    Ok(EXIT_OK)
}
