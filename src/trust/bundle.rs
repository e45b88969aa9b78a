//! A plain PEM bundle file (for `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`,
//! `CURL_CA_BUNDLE`): our block is appended, or removed with its comment line.

use std::path::Path;

use super::{Step, Target, TrustError, TrustOptions, TrustedCa};
use crate::pem;

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
            let ours = ::pem::parse(&block)
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

/// The text of a bundle file, `None` when it does not exist yet. A directory or a file that is
/// not text (a DER certificate, a PKCS#12 file ...) is the user's mistake, not a file to append
/// PEM to.
fn read_bundle(path: &Path) -> Result<Option<String>, TrustError> {
    if path.is_dir() {
        return Err(TrustError::Invalid(format!(
            "--bundle {}: is a directory; give the PEM bundle file (e.g. {}/ca-bundle.pem)",
            path.display(),
            path.display()
        )));
    }
    match pem::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            TrustError::Invalid(format!(
                "--bundle {}: not a PEM bundle (binary data): certlab appends PEM certificates to a text file",
                path.display()
            ))
        }),
        Err(e) if e.io().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The error for a bundle file certlab must not append to.
fn not_a_bundle(path: &Path, why: &str) -> TrustError {
    TrustError::Invalid(format!("{}: not a PEM bundle ({why})", path.display()))
}

pub(super) fn bundle_has(path: &Path, ca: &TrustedCa) -> bool {
    pem::read_blocks(path, Some("CERTIFICATE"))
        .map(|blocks| blocks.iter().any(|b| b[..] == ca.cert[..]))
        .unwrap_or(false)
}

/// Appends `cas` to the bundle file `path` (or plans it), appending the steps.
pub(super) fn install(
    path: &Path,
    cas: &[TrustedCa],
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
    let target = Target::Bundle(path.to_path_buf());
    let old = read_bundle(path)?.unwrap_or_default();
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
    // Appending to a file that is not valid PEM (a block without its END line) can leave the
    // CA unreadable, and `status` would not find it: refuse, change nothing.
    if text != old {
        let blocks = ::pem::parse_many(&text)
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
        pem::write_atomic(path, text.as_bytes(), false)?;
    }
    Ok(())
}

/// Removes `cas` from the bundle file `path` (or plans it), appending the steps.
pub(super) fn uninstall(
    path: &Path,
    cas: &[TrustedCa],
    opts: &TrustOptions,
    steps: &mut Vec<Step>,
) -> Result<(), TrustError> {
    let target = Target::Bundle(path.to_path_buf());
    let Some(old) = read_bundle(path)? else {
        return Ok(());
    };
    let ders: Vec<&[u8]> = cas.iter().map(|c| &c.cert[..]).collect();
    let (text, removed) = strip_from_bundle(&old, &ders);
    if removed > 0 {
        if !opts.dry_run {
            pem::write_atomic(path, text.as_bytes(), false)?;
        }
        steps.push(Step {
            target: target.clone(),
            done: format!("removed {removed} certificate(s) from {}", path.display()),
            undo: "certlab trust install".into(),
            manual: false,
        });
    }
    Ok(())
}

/// Whether `ca` is in the bundle file `path`, and the file.
pub(super) fn status(path: &Path, ca: &TrustedCa) -> (bool, String) {
    (bundle_has(path, ca), path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_a_bundle_removes_only_our_block_and_its_comment() {
        let a = crate::fixture::TestPki::new().ca_der();
        let b = crate::fixture::TestPki::new().ca_der();
        let pem_a = pem::pem_certs([&a]);
        let pem_b = pem::pem_certs([&b]);
        let text = format!("# someone else's\n{pem_b}# certlab-0011: x\n{pem_a}tail\n");
        let (out, n) = strip_from_bundle(&text, &[&a[..]]);
        assert_eq!(n, 1);
        assert_eq!(out, format!("# someone else's\n{pem_b}tail\n"));
        let (same, n) = strip_from_bundle(&out, &[&a[..]]);
        assert_eq!((same, n), (out, 0));
    }
}
