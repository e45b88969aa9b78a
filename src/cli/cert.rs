//! `certlab cert`: the mkcert-style one-liner — a leaf for some names from a local CA.

use std::path::PathBuf;

use certlab::pki::csr;
use certlab::pki::local_ca::{LOCAL_CA_NAME, LocalCa, default_ca_dir, leaf_file_name};
use certlab::pki::model::LeafSpec;
use certlab::pki::{KeyAlg, Role, names, store};

use super::{CmdResult, EXIT_OK, Failure, NowArg, relative_expiry};

/// Arguments of `certlab cert`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Issue as if it were this time (RFC 3339)")))]
#[command(after_help = "Examples:
  certlab cert localhost 127.0.0.1 ::1
  certlab cert '*.dev.test' --key rsa-2048 -o certs
  certlab cert --client alice@example.com spiffe://example.org/alice
  certlab cert --ca-cert corp-ca.pem --ca-key corp-ca.key app.internal   # a CA you already have
  certlab cert localhost --format p12 --password s3cret --alias web
The CA lives in --ca-dir (default: $CERTLAB_CAROOT, else ~/.local/share/certlab); trust its ca.pem.")]
pub struct Args {
    /// Names: DNS names, wildcards (*.example.com), IPv4/IPv6, emails, URIs.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Issue a client certificate (clientAuth) instead of a server certificate.
    #[arg(long)]
    pub client: bool,
    /// Issue from this CA certificate (PEM or DER) instead of the local CA (wins over
    /// --ca-dir and $CERTLAB_CAROOT).
    #[arg(long, requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// The key of --ca-cert (PKCS#8, SEC1 or PKCS#1; PEM or DER).
    #[arg(long, requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Password of an encrypted --ca-key.
    #[arg(long, env = "CERTLAB_CA_KEY_PASSWORD", hide_env_values = true)]
    pub ca_key_password: Option<String>,
    /// Where the local CA lives (created on first use).
    #[arg(long, env = "CERTLAB_CAROOT")]
    pub ca_dir: Option<PathBuf>,
    /// Where to write the leaf files.
    #[arg(long, short = 'o', default_value = ".")]
    pub out: PathBuf,
    /// Key algorithm: ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096.
    #[arg(long, default_value = "ecdsa-p256")]
    pub key: KeyAlg,
    /// File name stem (default: mkcert's, e.g. `localhost+2`).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub now: NowArg,
    /// Replace existing files of the same name in -o (never the files of a PKI there).
    #[arg(long)]
    pub force: bool,
    /// Extra formats (PEM files are always written).
    #[command(flatten)]
    pub formats: super::export::FormatArgs,
}

/// Runs `certlab cert`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.or_clock();
    super::output_dir(&args.out)?;
    let sans = args
        .names
        .iter()
        .map(|n| names::classify(n))
        .collect::<Result<Vec<_>, _>>()?;
    let role = if args.client {
        Role::Client
    } else {
        Role::Server
    };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| leaf_file_name(&sans, args.client));
    // Before anything is created (the local CA included): a valid file name, nothing replaced.
    store::check_leaf_files(&args.out, &name, args.force).map_err(|e| match args.name {
        None if matches!(e, store::StoreError::Issue(_)) => {
            Failure::input(format!("{e}; choose a file name with --name"))
        }
        _ => Failure::from(e),
    })?;
    let mut spec = LeafSpec::new(&name, LOCAL_CA_NAME, role, sans);
    spec.key = args.key;
    let (leaf, ca_note) = match (&args.ca_cert, &args.ca_key) {
        (Some(cert), Some(key)) => {
            let ca = csr::load_ca(cert, key, args.ca_key_password.as_deref())?;
            let signed = csr::issue_from(ca, &spec, now)?;
            for w in &signed.warnings {
                eprintln!("warning: {w}");
            }
            (
                signed.leaf,
                format!("trust {} in your clients", cert.display()),
            )
        }
        _ => {
            let ca_dir = args.ca_dir.clone().or_else(default_ca_dir).ok_or_else(|| {
                Failure::input("no CA directory: give --ca-dir or set CERTLAB_CAROOT")
            })?;
            let mut ca = LocalCa::open_or_create(&ca_dir, now)?;
            if ca.created {
                println!("created a new local CA in {}", ca_dir.display());
            }
            let leaf = ca.issue(&name, spec.sans.clone(), role, args.key)?;
            (
                leaf,
                format!(
                    "trust {}/ca.pem in your clients (curl --cacert, OTEL_EXPORTER_OTLP_CERTIFICATE; or certlab trust install)",
                    ca_dir.display()
                ),
            )
        }
    };
    let files = store::write_leaf_files(&args.out, &name, &leaf, args.force)?;
    let (cert_path, chain_path, key_path) = (files.cert, files.chain, files.key);

    let sans: Vec<_> = leaf.sans.iter().map(|s| s.to_string()).collect();
    println!("issued {} certificate for {}", role.name(), sans.join(", "));
    println!(
        "  certificate  {}  ({})",
        cert_path.display(),
        relative_expiry(leaf.not_after, now)
    );
    println!("  chain        {}", chain_path.display());
    println!("  key          {}", key_path.display());
    let single = certlab::Pki {
        entities: vec![leaf.clone()],
        scenarios: vec![],
        seeded_at: None,
    };
    args.formats.write_extra(&single, &[], &args.out, true)?;
    println!("next: {ca_note}");
    Ok(EXIT_OK)
}
