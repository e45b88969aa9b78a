//! Trust stores: put a PKI's root certificates where clients look for them, take them out
//! again, and tell whether they are there (what `mkcert -install` does).
//!
//! Three kinds of store, one file each (`system.rs`, `nss.rs`, `bundle.rs`), each with its
//! install, uninstall and status:
//! - [`Target::System`]: the Linux system store. Debian/Ubuntu: a file
//!   `/usr/local/share/ca-certificates/certlab-<fingerprint>.crt` and `update-ca-certificates`
//!   (which rebuilds `/etc/ssl/certs/ca-certificates.crt`, what curl, OpenSSL, Python, Go and
//!   Node read). Fedora/RHEL: `/etc/pki/ca-trust/source/anchors/` and `update-ca-trust`.
//!   macOS and Windows: only the manual steps are given.
//! - [`Target::Nss`]: an NSS database (a Firefox profile, Chromium's `~/.pki/nssdb`), changed
//!   with `certutil`.
//! - [`Target::Bundle`]: a plain PEM bundle file (for `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`,
//!   `NODE_EXTRA_CA_CERTS`, `CURL_CA_BUNDLE`): our block is appended, or removed.
//!
//! Every change is a [`Step`] that says what it did and how to undo it; with
//! [`TrustOptions::dry_run`] the steps are only planned. [`TrustOptions::root`] is a filesystem
//! prefix for the system store (tests work on a scratch tree; `update-ca-certificates` is then
//! run with its directories inside that tree).

mod bundle;
mod nss;
mod system;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pki_types::CertificateDer;

use crate::pem::{self, FileError, FileErrorKind};
use crate::pki::sha256_hex;

/// Why a trust-store change failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The input is unusable (no certificate, not an NSS database ...).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written, or is not what it should be.
    #[error(transparent)]
    File(#[from] FileError),
    /// A command failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| FileError::unwritable(path, source).into()
}

/// A CA certificate to trust.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// Its subject, for people.
    pub subject: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
}

impl TrustedCa {
    /// A CA from its DER certificate.
    pub fn new(cert: CertificateDer<'static>) -> Result<Self, TrustError> {
        let subject = crate::x509::Cert::parse(&cert)
            .map_err(|e| TrustError::Invalid(format!("not a certificate: {e}")))?
            .subject();
        Ok(TrustedCa {
            sha256: sha256_hex(&cert),
            subject,
            cert,
        })
    }

    /// The name certlab uses for it in stores: `certlab-` and 16 hex digits of the fingerprint.
    pub fn label(&self) -> String {
        format!("certlab-{}", &self.sha256[..16])
    }

    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        pem::pem_certs([&self.cert])
    }
}

/// Reads every certificate of a PEM file (e.g. a PKI's `ca.pem`).
pub fn read_cas(path: &Path) -> Result<Vec<TrustedCa>, TrustError> {
    let blocks = pem::read_blocks(path, Some("CERTIFICATE"))?;
    if blocks.is_empty() {
        return Err(FileError {
            path: path.to_path_buf(),
            kind: FileErrorKind::NoBlock("certificate"),
        }
        .into());
    }
    blocks
        .into_iter()
        .map(|b| TrustedCa::new(CertificateDer::from(b)))
        .collect()
}

/// A trust store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The operating system's store.
    System,
    /// An NSS database directory (`cert9.db`).
    Nss(PathBuf),
    /// A PEM bundle file.
    Bundle(PathBuf),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::System => f.write_str("system store"),
            Target::Nss(d) => write!(f, "NSS database {}", d.display()),
            Target::Bundle(b) => write!(f, "bundle {}", b.display()),
        }
    }
}

/// How to change the stores.
#[derive(Debug, Clone)]
pub struct TrustOptions {
    /// Filesystem prefix for the system store (`/` normally).
    pub root: PathBuf,
    /// Only plan: change nothing.
    pub dry_run: bool,
}

impl Default for TrustOptions {
    fn default() -> Self {
        TrustOptions {
            root: PathBuf::from("/"),
            dry_run: false,
        }
    }
}

impl TrustOptions {
    pub(super) fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    pub(super) fn prefixed(&self) -> bool {
        self.root != Path::new("/")
    }
}

/// One change to a store (done, or planned with `dry_run`).
#[derive(Debug, Clone)]
pub struct Step {
    /// The store.
    pub target: Target,
    /// What was (or would be) done, e.g. `wrote /usr/local/share/ca-certificates/certlab-….crt`.
    pub done: String,
    /// How to undo it by hand.
    pub undo: String,
    /// Whether this is a manual step certlab cannot do (macOS, Windows).
    pub manual: bool,
}

/// Whether a CA is in a store.
#[derive(Debug, Clone)]
pub struct Status {
    /// The store.
    pub target: Target,
    /// The CA.
    pub ca: TrustedCa,
    /// Whether it is installed.
    pub installed: bool,
    /// Where (or why not).
    pub detail: String,
}

/// Whether a program is installed (on `PATH` or in the system binary directories).
pub(super) fn have(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()))
        || ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(cmd).is_file())
}

/// Runs a program; its output, or an error with what it printed.
pub(super) fn run(program: &str, args: &[String]) -> Result<String, TrustError> {
    let line = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| TrustError::Command {
            command: line.clone(),
            output: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(TrustError::Command {
            command: line,
            output: text.trim().replace('\n', "; "),
        })
    }
}

/// Installs `cas` into `targets`. Returns the steps, in order.
pub fn install(
    cas: &[TrustedCa],
    ca_file: &Path,
    targets: &[Target],
    opts: &TrustOptions,
) -> Result<Vec<Step>, TrustError> {
    let mut steps = Vec::new();
    for target in targets {
        match target {
            Target::System => system::install(cas, ca_file, opts, &mut steps)?,
            Target::Nss(db) => nss::install(db, cas, opts, &mut steps)?,
            Target::Bundle(path) => bundle::install(path, cas, opts, &mut steps)?,
        }
    }
    Ok(steps)
}

/// Removes `cas` from `targets` (what [`install`] did). Returns the steps, in order.
pub fn uninstall(
    cas: &[TrustedCa],
    ca_file: &Path,
    targets: &[Target],
    opts: &TrustOptions,
) -> Result<Vec<Step>, TrustError> {
    let mut steps = Vec::new();
    for target in targets {
        match target {
            Target::System => system::uninstall(cas, ca_file, opts, &mut steps)?,
            Target::Nss(db) => nss::uninstall(db, cas, opts, &mut steps)?,
            Target::Bundle(path) => bundle::uninstall(path, cas, opts, &mut steps)?,
        }
    }
    Ok(steps)
}

/// Whether each CA is in each store.
pub fn status(cas: &[TrustedCa], targets: &[Target], opts: &TrustOptions) -> Vec<Status> {
    let mut out = Vec::new();
    for target in targets {
        for ca in cas {
            let (installed, detail) = match target {
                Target::System => system::status(ca, opts),
                Target::Nss(db) => nss::status(db, ca),
                Target::Bundle(path) => bundle::status(path, ca),
            };
            out.push(Status {
                target: target.clone(),
                ca: ca.clone(),
                installed,
                detail,
            });
        }
    }
    out
}
