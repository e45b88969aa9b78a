//! Trust stores: put a PKI's root certificates where clients look for them, take them out
//! again, and tell whether they are there (what `mkcert -install` does).
//!
//! Three kinds of store:
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

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pki_types::CertificateDer;

use crate::pki::sha256_hex;
use crate::pki::store::{self, StoreError};

/// Why a trust-store change failed.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The input is unusable (no certificate, not an NSS database ...).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{}: {source}{}", path.display(), permission_hint(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

fn permission_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (the system store needs root: run with sudo)"
    } else {
        ""
    }
}

impl TrustError {
    /// Whether the error is the user's input (exit 2) rather than a failure to work (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, TrustError::Invalid(_))
    }
}

impl From<StoreError> for TrustError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Io { path, source } => TrustError::Io { path, source },
            other => TrustError::Invalid(other.to_string()),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    }
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
        let subject = x509_parser::parse_x509_certificate(&cert)
            .map_err(|e| TrustError::Invalid(format!("not a certificate: {e}")))?
            .1
            .subject()
            .to_string();
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
        store::pem_certs([&self.cert])
    }
}

/// Reads every certificate of a PEM file (e.g. a PKI's `ca.pem`).
pub fn read_cas(path: &Path) -> Result<Vec<TrustedCa>, TrustError> {
    let blocks = store::read_pem_blocks(path, Some("CERTIFICATE"))?;
    if blocks.is_empty() {
        return Err(TrustError::Invalid(format!(
            "{}: no certificate in it",
            path.display()
        )));
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
    fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    fn prefixed(&self) -> bool {
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

/// Which system store this machine (or prefix) has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemKind {
    Debian,
    Fedora,
    MacOs,
    Windows,
    Unknown,
}

const DEBIAN_DIR: &str = "/usr/local/share/ca-certificates";
const DEBIAN_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
const FEDORA_DIR: &str = "/etc/pki/ca-trust/source/anchors";
const FEDORA_BUNDLE: &str = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem";

fn have(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()))
        || ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(cmd).is_file())
}

fn system_kind(opts: &TrustOptions) -> SystemKind {
    if cfg!(target_os = "macos") {
        return SystemKind::MacOs;
    }
    if cfg!(windows) {
        return SystemKind::Windows;
    }
    if opts.path(DEBIAN_DIR).is_dir() || (!opts.prefixed() && have("update-ca-certificates")) {
        SystemKind::Debian
    } else if opts.path(FEDORA_DIR).is_dir() || (!opts.prefixed() && have("update-ca-trust")) {
        SystemKind::Fedora
    } else if opts.prefixed() {
        // A fresh scratch tree: lay it out the Debian way.
        SystemKind::Debian
    } else {
        SystemKind::Unknown
    }
}

fn system_file(kind: SystemKind, ca: &TrustedCa, opts: &TrustOptions) -> PathBuf {
    match kind {
        SystemKind::Fedora => opts.path(&format!("{FEDORA_DIR}/{}.pem", ca.label())),
        _ => opts.path(&format!("{DEBIAN_DIR}/{}.crt", ca.label())),
    }
}

fn run(program: &str, args: &[String]) -> Result<String, TrustError> {
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

/// The refresh command of a system store, with its directories inside the prefix.
/// Debian: `--fresh` after a removal, so the certificate's links in `/etc/ssl/certs` go too.
fn refresh_command(
    kind: SystemKind,
    opts: &TrustOptions,
    fresh: bool,
) -> Option<(String, Vec<String>)> {
    let mut args: Vec<String> = if fresh {
        vec!["--fresh".into()]
    } else {
        vec![]
    };
    match kind {
        SystemKind::Debian if !opts.prefixed() => Some(("update-ca-certificates".into(), args)),
        SystemKind::Debian => {
            let p = |s: &str| opts.path(s).display().to_string();
            args.extend([
                "--certsconf".into(),
                p("/etc/ca-certificates.conf"),
                "--certsdir".into(),
                p("/usr/share/ca-certificates"),
                "--localcertsdir".into(),
                p(DEBIAN_DIR),
                "--etccertsdir".into(),
                p("/etc/ssl/certs"),
                "--hooksdir".into(),
                p("/etc/ca-certificates/update.d"),
            ]);
            Some(("update-ca-certificates".into(), args))
        }
        SystemKind::Fedora if !opts.prefixed() => {
            Some(("update-ca-trust".into(), vec!["extract".into()]))
        }
        _ => None,
    }
}

fn refresh(
    kind: SystemKind,
    opts: &TrustOptions,
    fresh: bool,
    steps: &mut Vec<Step>,
    undo: &str,
) -> Result<(), TrustError> {
    let Some((program, args)) = refresh_command(kind, opts, fresh) else {
        return Ok(());
    };
    let line = format!("{program} {}", args.join(" ")).trim().to_string();
    if !opts.dry_run {
        if opts.prefixed() {
            for d in [
                "/usr/share/ca-certificates",
                "/etc/ssl/certs",
                "/etc/ca-certificates/update.d",
            ] {
                std::fs::create_dir_all(opts.path(d)).map_err(io_err(&opts.path(d)))?;
            }
        }
        if !have(&program) {
            return Err(TrustError::Invalid(format!(
                "`{program}` is not installed (Debian/Ubuntu: apt-get install ca-certificates)"
            )));
        }
        run(&program, &args)?;
    }
    steps.push(Step {
        target: Target::System,
        done: format!("ran {line}"),
        undo: undo.to_string(),
        manual: false,
    });
    Ok(())
}

fn manual_system_steps(kind: SystemKind, ca_file: &str, install: bool) -> Step {
    let (done, undo) = match (kind, install) {
        (SystemKind::MacOs, true) => (
            format!(
                "manual: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {ca_file}"
            ),
            format!("sudo security remove-trusted-cert -d {ca_file}"),
        ),
        (SystemKind::MacOs, false) => (
            format!("manual: sudo security remove-trusted-cert -d {ca_file}"),
            String::new(),
        ),
        (SystemKind::Windows, true) => (
            format!("manual (administrator prompt): certutil -addstore -f ROOT {ca_file}"),
            "certutil -delstore ROOT <serial or subject>".into(),
        ),
        (SystemKind::Windows, false) => (
            "manual (administrator prompt): certutil -delstore ROOT <serial or subject>".into(),
            String::new(),
        ),
        _ => (
            format!(
                "manual: no known system store here (looked for {DEBIAN_DIR} and {FEDORA_DIR}); copy {ca_file} into your distribution's anchors directory and run its update command, or use --bundle / --nss"
            ),
            String::new(),
        ),
    };
    Step {
        target: Target::System,
        done,
        undo,
        manual: true,
    }
}

fn nss_args(db: &Path, rest: &[&str]) -> Vec<String> {
    let mut v = vec!["-d".to_string(), format!("sql:{}", db.display())];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

fn check_nss(db: &Path) -> Result<(), TrustError> {
    if !db.join("cert9.db").is_file() {
        return Err(TrustError::Invalid(format!(
            "{}: not an NSS database (no cert9.db); a Firefox profile directory has one, or create one with: certutil -N -d sql:{} --empty-password",
            db.display(),
            db.display()
        )));
    }
    if !have("certutil") {
        return Err(TrustError::Invalid(
            "`certutil` is not installed (Debian/Ubuntu: apt-get install libnss3-tools)".into(),
        ));
    }
    Ok(())
}

fn nss_has(db: &Path, ca: &TrustedCa) -> bool {
    run("certutil", &nss_args(db, &["-L", "-n", &ca.label()])).is_ok()
}

/// Returns a PEM bundle's text with every certificate block equal to one of `ders` (and the
/// certlab comment line just above it) removed, every other line kept; and how many were
/// removed.
fn strip_from_bundle(text: &str, ders: &[&[u8]]) -> (String, usize) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out: Vec<&str> = Vec::new();
    let mut removed = 0;
    let mut i = 0;
    while i < lines.len() {
        let end = (lines[i].trim_end() == "-----BEGIN CERTIFICATE-----")
            .then(|| (i..lines.len()).find(|&j| lines[j].trim_end() == "-----END CERTIFICATE-----"))
            .flatten();
        if let Some(end) = end {
            let block: String = lines[i..=end].concat();
            let ours = pem::parse(&block)
                .map(|p| ders.contains(&p.contents()))
                .unwrap_or(false);
            if ours {
                if out.last().is_some_and(|l| l.starts_with("# certlab-")) {
                    out.pop();
                }
                removed += 1;
                i = end + 1;
                continue;
            }
        }
        out.push(lines[i]);
        i += 1;
    }
    (out.concat(), removed)
}

fn not_a_bundle(path: &Path, why: &str) -> TrustError {
    TrustError::Invalid(format!(
        "{}: not a PEM bundle ({why}); fix the file or give another --bundle",
        path.display()
    ))
}

fn bundle_has(path: &Path, ca: &TrustedCa) -> bool {
    store::read_pem_blocks(path, Some("CERTIFICATE"))
        .map(|blocks| blocks.iter().any(|b| b[..] == ca.cert[..]))
        .unwrap_or(false)
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
            Target::System => {
                let kind = system_kind(opts);
                if matches!(
                    kind,
                    SystemKind::MacOs | SystemKind::Windows | SystemKind::Unknown
                ) {
                    steps.push(manual_system_steps(
                        kind,
                        &ca_file.display().to_string(),
                        true,
                    ));
                    continue;
                }
                let mut files = Vec::new();
                for ca in cas {
                    let file = system_file(kind, ca, opts);
                    if !opts.dry_run {
                        let dir = file.parent().expect("a directory");
                        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                        store::write_atomic(&file, ca.pem().as_bytes(), false)?;
                    }
                    steps.push(Step {
                        target: Target::System,
                        done: format!("wrote {} ({})", file.display(), ca.subject),
                        undo: format!("rm {}", file.display()),
                        manual: false,
                    });
                    files.push(file);
                }
                let undo = refresh_command(kind, opts, true)
                    .map(|(p, a)| format!("{p} {}", a.join(" ")).trim().to_string())
                    .unwrap_or_default();
                refresh(
                    kind,
                    opts,
                    false,
                    &mut steps,
                    &format!("after the rm: {undo}"),
                )?;
            }
            Target::Nss(db) => {
                if !opts.dry_run {
                    check_nss(db)?;
                }
                for ca in cas {
                    let label = ca.label();
                    if !opts.dry_run {
                        let tmp = tempfile::Builder::new()
                            .prefix("certlab-ca-")
                            .suffix(".pem")
                            .tempfile()
                            .map_err(io_err(Path::new("temporary file")))?;
                        std::fs::write(tmp.path(), ca.pem()).map_err(io_err(tmp.path()))?;
                        let file = tmp.path().display().to_string();
                        run(
                            "certutil",
                            &nss_args(db, &["-A", "-t", "C,,", "-n", &label, "-i", &file]),
                        )?;
                    }
                    steps.push(Step {
                        target: target.clone(),
                        done: format!(
                            "certutil -A -d sql:{} -t C,, -n {label} ({})",
                            db.display(),
                            ca.subject
                        ),
                        undo: format!("certutil -D -d sql:{} -n {label}", db.display()),
                        manual: false,
                    });
                }
            }
            Target::Bundle(path) => {
                let old = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        return Err(not_a_bundle(path, "it is not text"));
                    }
                    Err(e) => return Err(io_err(path)(e)),
                };
                let mut text = old.clone();
                for ca in cas {
                    if bundle_has(path, ca) {
                        steps.push(Step {
                            target: target.clone(),
                            done: format!("already in {} ({})", path.display(), ca.subject),
                            undo: String::new(),
                            manual: false,
                        });
                        continue;
                    }
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&format!(
                        "# {}: {} (added by certlab; remove: certlab trust uninstall --bundle {})\n{}",
                        ca.label(),
                        ca.subject,
                        path.display(),
                        ca.pem()
                    ));
                    steps.push(Step {
                        target: target.clone(),
                        done: format!("appended {} to {}", ca.subject, path.display()),
                        undo: format!(
                            "certlab trust uninstall --bundle {} (or delete the block under `# {}`)",
                            path.display(),
                            ca.label()
                        ),
                        manual: false,
                    });
                }
                // Appending to a file that is not valid PEM (a block without its END line) can
                // leave the CA unreadable, and `status` would not find it: refuse, change nothing.
                if text != old {
                    let blocks = pem::parse_many(&text)
                        .map_err(|e| not_a_bundle(path, &format!("not valid PEM: {e}")))?;
                    if let Some(ca) = cas
                        .iter()
                        .find(|ca| !blocks.iter().any(|b| b.contents() == &ca.cert[..]))
                    {
                        return Err(not_a_bundle(
                            path,
                            &format!("{} would not be readable in it", ca.subject),
                        ));
                    }
                }
                if !opts.dry_run && text != old {
                    store::write_atomic(path, text.as_bytes(), false)?;
                }
            }
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
            Target::System => {
                let kind = system_kind(opts);
                if matches!(
                    kind,
                    SystemKind::MacOs | SystemKind::Windows | SystemKind::Unknown
                ) {
                    steps.push(manual_system_steps(
                        kind,
                        &ca_file.display().to_string(),
                        false,
                    ));
                    continue;
                }
                let mut any = false;
                for ca in cas {
                    let file = system_file(kind, ca, opts);
                    if !file.exists() {
                        continue;
                    }
                    if !opts.dry_run {
                        std::fs::remove_file(&file).map_err(io_err(&file))?;
                    }
                    any = true;
                    steps.push(Step {
                        target: Target::System,
                        done: format!("removed {}", file.display()),
                        undo: "certlab trust install".into(),
                        manual: false,
                    });
                }
                if any {
                    refresh(kind, opts, true, &mut steps, "certlab trust install")?;
                }
            }
            Target::Nss(db) => {
                if !opts.dry_run {
                    check_nss(db)?;
                }
                for ca in cas {
                    if !opts.dry_run {
                        if !nss_has(db, ca) {
                            continue;
                        }
                        run("certutil", &nss_args(db, &["-D", "-n", &ca.label()]))?;
                    }
                    steps.push(Step {
                        target: target.clone(),
                        done: format!("certutil -D -d sql:{} -n {}", db.display(), ca.label()),
                        undo: "certlab trust install".into(),
                        manual: false,
                    });
                }
            }
            Target::Bundle(path) => {
                let old = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err(path)(e)),
                };
                let ders: Vec<&[u8]> = cas.iter().map(|c| &c.cert[..]).collect();
                let (text, removed) = strip_from_bundle(&old, &ders);
                if removed > 0 {
                    if !opts.dry_run {
                        store::write_atomic(path, text.as_bytes(), false)?;
                    }
                    steps.push(Step {
                        target: target.clone(),
                        done: format!("removed {removed} certificate(s) from {}", path.display()),
                        undo: "certlab trust install".into(),
                        manual: false,
                    });
                }
            }
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
                Target::System => {
                    let kind = system_kind(opts);
                    match kind {
                        SystemKind::Debian | SystemKind::Fedora => {
                            let file = system_file(kind, ca, opts);
                            let bundle = opts.path(if kind == SystemKind::Debian {
                                DEBIAN_BUNDLE
                            } else {
                                FEDORA_BUNDLE
                            });
                            match (file.exists(), bundle_has(&bundle, ca)) {
                                (true, true) => {
                                    (true, format!("{} and {}", file.display(), bundle.display()))
                                }
                                (true, false) => (
                                    false,
                                    format!(
                                        "{} is there but {} lacks it: run the update command",
                                        file.display(),
                                        bundle.display()
                                    ),
                                ),
                                (false, true) => (
                                    true,
                                    format!("in {} (not installed by certlab)", bundle.display()),
                                ),
                                (false, false) => (false, format!("not in {}", bundle.display())),
                            }
                        }
                        _ => (false, "cannot tell on this system".into()),
                    }
                }
                Target::Nss(db) => match check_nss(db) {
                    Err(e) => (false, e.to_string()),
                    Ok(()) => {
                        let has = nss_has(db, ca);
                        (has, format!("nickname {}", ca.label()))
                    }
                },
                Target::Bundle(path) => (bundle_has(path, ca), path.display().to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_a_bundle_removes_only_our_block_and_its_comment() {
        let a = crate::fixture::TestPki::new().ca_der();
        let b = crate::fixture::TestPki::new().ca_der();
        let pem_a = store::pem_certs([&a]);
        let pem_b = store::pem_certs([&b]);
        let text = format!("# someone else's\n{pem_b}# certlab-0011: x\n{pem_a}tail\n");
        let (out, n) = strip_from_bundle(&text, &[&a[..]]);
        assert_eq!(n, 1);
        assert_eq!(out, format!("# someone else's\n{pem_b}tail\n"));
        let (same, n) = strip_from_bundle(&out, &[&a[..]]);
        assert_eq!((same, n), (out, 0));
    }
}
