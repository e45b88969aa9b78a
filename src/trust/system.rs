//! The operating system's trust store: Debian/Ubuntu (`update-ca-certificates`), Fedora/RHEL
//! (`update-ca-trust`); macOS and Windows get the manual steps.

use std::path::{Path, PathBuf};

use super::bundle::bundle_has;
use super::{Step, Target, TrustError, TrustOptions, TrustedCa, have, io_err, run};

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

/// Installs `cas` into the system store (or plans it), appending the steps.
pub(super) fn install(
    cas: &[TrustedCa],
    ca_file: &Path,
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
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
        return Ok(());
    }
    for ca in cas {
        let file = system_file(kind, ca, opts);
        if !opts.dry_run {
            let dir = file.parent().expect("a directory");
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            crate::pem::write_atomic(&file, ca.pem().as_bytes(), false)?;
        }
        steps.push(Step {
            target: Target::System,
            done: format!("wrote {} ({})", file.display(), ca.subject),
            undo: format!("rm {}", file.display()),
            manual: false,
        });
    }
    let undo = refresh_command(kind, opts, true)
        .map(|(p, a)| format!("{p} {}", a.join(" ")).trim().to_string())
        .unwrap_or_default();
    refresh(kind, opts, false, steps, &format!("after the rm: {undo}"))?;
    Ok(())
}

/// Removes `cas` from the system store (or plans it), appending the steps.
pub(super) fn uninstall(
    cas: &[TrustedCa],
    ca_file: &Path,
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
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
        return Ok(());
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
        refresh(kind, opts, true, steps, "certlab trust install")?;
    }
    Ok(())
}

/// Whether `ca` is in the system store, and where (or why not).
pub(super) fn status(ca: &TrustedCa, opts: &TrustOptions) -> (bool, String) {
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
                (true, true) => (true, format!("{} and {}", file.display(), bundle.display())),
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
