//! `certlab sign`: sign a certificate signing request with a CA you already have.

use std::path::PathBuf;

use certlab::pem;
use certlab::pki::Role;
use certlab::pki::csr;

use super::{CmdResult, EXIT_OK, NowArg, relative_expiry};

/// Arguments of `certlab sign`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Sign as if it were this time (RFC 3339)")))]
#[command(after_help = "Examples:
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout app.key \\
      -subj /CN=app.test -addext subjectAltName=DNS:app.test -out app.csr
  certlab sign app.csr --ca-cert ca.pem --ca-key ca.key -o certs
  certlab sign alice.csr --ca-cert ca.pem --ca-key ca.key --client
SANs come from the CSR (and are checked); certlab sets usages, validity (397 days), serial and key identifiers.")]
pub struct Args {
    /// The certificate signing request (PEM or DER).
    pub csr: PathBuf,
    /// The CA certificate (PEM or DER).
    #[arg(long)]
    pub ca_cert: PathBuf,
    /// The CA's private key (PKCS#8, SEC1 or PKCS#1; PEM or DER).
    #[arg(long)]
    pub ca_key: PathBuf,
    /// Password of an encrypted CA key.
    #[arg(long, env = "CERTLAB_CA_KEY_PASSWORD", hide_env_values = true)]
    pub ca_key_password: Option<String>,
    /// Issue a client certificate (clientAuth) instead of a server certificate.
    #[arg(long)]
    pub client: bool,
    /// Where to write the certificate files.
    #[arg(long, short = 'o', default_value = ".")]
    pub out: PathBuf,
    /// File name stem (default: mkcert's, from the CSR's SANs).
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing NAME.pem / NAME.chain.pem (never a file of a PKI's manifest).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub now: NowArg,
}

/// Runs `certlab sign`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.or_clock();
    super::output_dir(&args.out)?;
    let ca = csr::load_ca(&args.ca_cert, &args.ca_key, args.ca_key_password.as_deref())?;
    let request = pem::read(&args.csr)?;
    let role = if args.client {
        Role::Client
    } else {
        Role::Server
    };
    let signed = csr::sign_csr(&request, &ca, role, now)?;
    let leaf = signed.leaf;
    let name = args.name.unwrap_or_else(|| leaf.name.clone());
    let (cert_path, chain_path) =
        certlab::pki::store::write_signed_files(&args.out, &name, &leaf, args.force)?;
    for w in &signed.warnings {
        eprintln!("warning: {w}");
    }
    let sans: Vec<_> = leaf.sans.iter().map(|s| s.to_string()).collect();
    println!("signed {} certificate for {}", role.name(), sans.join(", "));
    println!(
        "  certificate  {}  ({})",
        cert_path.display(),
        relative_expiry(leaf.not_after, now)
    );
    println!("  chain        {}", chain_path.display());
    println!("  key          stays with the requester (the CSR's key)");
    Ok(EXIT_OK)
}
