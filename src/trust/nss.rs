//! An NSS database (a Firefox profile, Chromium's `~/.pki/nssdb`), changed with `certutil`.

use std::path::Path;

use super::{Step, Target, TrustError, TrustOptions, TrustedCa, have, io_err, run};

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

/// Adds `cas` to the NSS database `db` (or plans it), appending the steps.
pub(super) fn install(
    db: &Path,
    cas: &[TrustedCa],
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
    let target = Target::Nss(db.to_path_buf());
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
    Ok(())
}

/// Removes `cas` from the NSS database `db` (or plans it), appending the steps.
pub(super) fn uninstall(
    db: &Path,
    cas: &[TrustedCa],
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
    let target = Target::Nss(db.to_path_buf());
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
    Ok(())
}

/// Whether `ca` is in the NSS database `db`, and its nickname (or why not).
pub(super) fn status(db: &Path, ca: &TrustedCa) -> (bool, String) {
    match check_nss(db) {
        Err(e) => (false, e.to_string()),
        Ok(()) => (nss_has(db, ca), format!("nickname {}", ca.label())),
    }
}
