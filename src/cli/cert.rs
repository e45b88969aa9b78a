//! `certlab cert`: the mkcert-style one-liner — a leaf for some names from a local CA.

use std::path::PathBuf;

use certlab::pki::csr;
use certlab::pki::local_ca::{self, LOCAL_CA_NAME, LocalCa, default_ca_dir, leaf_file_name};
use certlab::pki::model::LeafSpec;
use certlab::pki::{FileLayout, KeyAlg, Role, names, store};

use super::{CmdResult, EXIT_OK, Failure, NowArg, relative_expiry};

/// Arguments of `certlab cert`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Issue as if it were this time (RFC 3339)")))]
#[command(after_help = "Examples:
  certlab cert localhost 127.0.0.1 ::1
  certlab cert localhost --validity 5m                      # short-lived (back-dated 30 s)
  certlab cert '*.dev.test' --key rsa-2048 -o certs
  certlab cert --client alice@example.com spiffe://example.org/alice
  certlab cert --ca-cert corp-ca.pem --ca-key corp-ca.key app.internal   # a CA you already have
  certlab cert localhost --format p12 --password s3cret --alias web
  certlab cert --client --count 1000 --name 'client-{n}' 'spiffe://example.org/client-{n}' -o clients
  certlab cert --client --count 10000 --files combined 'spiffe://example.org/client-{n}' -o clients
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
    /// Issue N certificates from the one CA (on every core): file stems `--name` with `{n}`
    /// replaced by 1..N (or STEM-1..STEM-N; default stem `server` or `client`), and `{n}`
    /// replaced in the names too.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=certlab::pki::model::MAX_COUNT))]
    pub count: Option<u64>,
    /// File layout: `separate` (NAME.pem, NAME.chain.pem, NAME.key) or `combined` (one
    /// NAME.pem, mode 0600: the key, the certificate, then the intermediates; what curl
    /// --cert, openssl -cert, Go's LoadX509KeyPair(f, f) and Python's load_cert_chain read).
    #[arg(long, value_name = "LAYOUT", default_value = "separate")]
    pub files: FileLayout,
    /// How long the certificate is valid (e.g. 90s, 5m, 12h, 30d; default 397d). Short ones
    /// are back-dated by a tenth of their validity at most (one hour for 10h and longer).
    #[arg(long, value_name = "DURATION")]
    pub validity: Option<String>,
    /// Extra formats (PEM files are always written).
    #[command(flatten)]
    pub formats: super::export::FormatArgs,
}

/// `--validity`, parsed (bad input: exit 2, one line).
fn validity(args: &Args) -> Result<Option<certlab::pki::model::Validity>, Failure> {
    args.validity
        .as_deref()
        .map(|t| super::renew::parse_validity(t).map(certlab::pki::model::Validity::For))
        .transpose()
}

/// Runs `certlab cert`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.or_clock();
    super::output_dir(&args.out)?;
    if let Some(count) = args.count {
        let role = if args.client {
            Role::Client
        } else {
            Role::Server
        };
        let stem = args.name.as_deref().unwrap_or(role.name());
        return run_count(&args, stem, count, role, now);
    }
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

    if args.files == FileLayout::Combined && args.formats.wants_extra() {
        return Err(Failure::input(
            "--files combined writes the one PEM file; for other formats use certlab export --format on a PKI, or separate files",
        ));
    }
    // Before anything is created (the local CA included): a valid file name, nothing replaced.
    store::check_leaf_files(&args.out, &name, args.files, args.force).map_err(|e| {
        match args.name {
            None if matches!(e, store::StoreError::Issue(_)) => {
                Failure::input(format!("{e}; choose a file name with --name"))
            }
            _ => Failure::from(e),
        }
    })?;
    let mut spec = LeafSpec::new(&name, LOCAL_CA_NAME, role, sans);
    spec.key = args.key;
    spec.files = args.files;
    if let Some(v) = validity(&args)? {
        spec.validity = v;
    }
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
            let leaf = ca
                .issue_all(std::slice::from_ref(&spec), &|_| {})?
                .remove(0);
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
    let (cert_path, chain_path, key_path) = (&files.cert, &files.chain, &files.key);

    let sans: Vec<_> = leaf.sans.iter().map(|s| s.to_string()).collect();
    println!("issued {} certificate for {}", role.name(), sans.join(", "));
    let expiry = relative_expiry(leaf.not_after, now);
    if files.files == FileLayout::Combined {
        println!(
            "  key, certificate and chain  {}  ({expiry})",
            cert_path.display()
        );
    } else {
        println!("  certificate  {}  ({expiry})", cert_path.display());
        println!("  chain        {}", chain_path.display());
        println!("  key          {}", key_path.display());
    }
    let single = certlab::Pki {
        entities: vec![leaf.clone()],
        scenarios: vec![],
        seeded_at: None,
    };
    args.formats.write_extra(&single, &[], &args.out, true)?;
    println!("next: {ca_note}");
    Ok(EXIT_OK)
}

/// `certlab cert --count N`: N leaves from one CA, written as STEM-n.pem, .chain.pem, .key (or
/// one combined STEM-n.pem each).
fn run_count(
    args: &Args,
    stem: &str,
    count: u64,
    role: Role,
    now: time::OffsetDateTime,
) -> CmdResult {
    if args.formats.wants_extra() {
        return Err(Failure::input(
            "--count writes PEM files only; for other formats generate the fleet with a spec ([[leaf]] count) and use certlab export",
        ));
    }
    let mut specs = local_ca::counted_leaves(stem, &args.names, count, role, args.key)?;
    let validity = validity(args)?;
    for spec in &mut specs {
        spec.files = args.files;
        if let Some(v) = validity {
            spec.validity = v;
        }
    }
    // Before anything is issued: valid, distinct file names, nothing replaced.
    let mut seen = std::collections::HashSet::new();
    for spec in &specs {
        if !seen.insert(spec.name.as_str()) {
            return Err(Failure::input(format!(
                "two certificates would be named `{}`; put `{{n}}` in --name",
                spec.name
            )));
        }
        store::check_leaf_files(&args.out, &spec.name, spec.files, args.force)?;
    }
    let bar = super::progress::bar(count);
    let (leaves, ca_note) = match (&args.ca_cert, &args.ca_key) {
        (Some(cert), Some(key)) => {
            let ca = csr::load_ca(cert, key, args.ca_key_password.as_deref())?;
            let (leaves, warnings) = super::progress::with_bar(bar, |progress| {
                csr::issue_all_from(ca, &specs, now, progress)
            })?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            (leaves, format!("trust {} in your clients", cert.display()))
        }
        _ => {
            let ca_dir = args.ca_dir.clone().or_else(default_ca_dir).ok_or_else(|| {
                Failure::input("no CA directory: give --ca-dir or set CERTLAB_CAROOT")
            })?;
            let mut ca = LocalCa::open_or_create(&ca_dir, now)?;
            if ca.created {
                println!("created a new local CA in {}", ca_dir.display());
            }
            let leaves = super::progress::with_bar(bar, |progress| ca.issue_all(&specs, progress))?;
            (
                leaves,
                format!("trust {}/ca.pem in your clients", ca_dir.display()),
            )
        }
    };
    // One transaction: every leaf's files or none.
    store::write_fleet_files(&args.out, &leaves, args.force)?;
    let (first, last) = (&leaves[0], &leaves[leaves.len() - 1]);
    println!(
        "issued {count} {} certificates ({} … {}) in {}  ({})",
        role.name(),
        first.name,
        last.name,
        args.out.display(),
        relative_expiry(first.not_after, now)
    );
    println!("next: {ca_note}");
    Ok(EXIT_OK)
}
