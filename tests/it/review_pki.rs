//! Review of how certlab writes and reads PKI directories: regressions found reviewing the
//! PKI changes (LF line endings, manifests checked, owner-tagged temporaries, capped reads).

use std::fs;
use std::path::Path;

use crate::common::*;

/// `dir`'s certificate files (`*.pem`: certificates, chains, the CA bundle) rewritten with
/// CRLF line ends, as a certlab before LF endings wrote them (the pem crate's default), their
/// SHA-256 recorded in the manifest: a PKI written by an older certlab.
fn as_written_by_crlf_certlab(dir: &Path) {
    use sha2::Digest;
    let path = dir.join("certlab.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let files = manifest["files"].as_object_mut().unwrap();
    let mut converted = 0;
    for (file, sha) in files.iter_mut() {
        if !file.ends_with(".pem") {
            continue;
        }
        let text = fs::read_to_string(dir.join(file)).unwrap();
        assert!(!text.contains('\r'), "{file} already has CRs");
        let crlf = text.replace('\n', "\r\n");
        fs::write(dir.join(file), &crlf).unwrap();
        *sha = serde_json::Value::String(hex(&sha2::Sha256::digest(crlf.as_bytes())));
        converted += 1;
    }
    assert!(converted >= 5, "{converted}");
    fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `export --pki DIR` (PEM into the PKI itself) skips the files identical to the PKI's own;
/// a PKI written by a certlab that wrote CRLF holds the same certificates with CRLF line ends:
/// export refused them as "belongs to the PKI" (exit 2) after LF endings came in, where it
/// worked before.
#[test]
fn export_pem_into_a_pki_an_older_certlab_wrote_with_crlf() {
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), "2026-01-01T00:00:00Z");
    as_written_by_crlf_certlab(&pki);
    certlab()
        .args(["check", "--pki"])
        .arg(&pki)
        .assert()
        .success();
    let before = fs::read(pki.join("localhost.pem")).unwrap();
    certlab()
        .args(["-q", "export", "--pki"])
        .arg(&pki)
        .args(["--format", "pem"])
        .assert()
        .success();
    certlab()
        .args(["-q", "export", "--pki"])
        .arg(&pki)
        .args(["--format", "pem", "-e", "localhost"])
        .assert()
        .success();
    // The PKI's own files are left as they are, and the PKI is still whole.
    assert_eq!(fs::read(pki.join("localhost.pem")).unwrap(), before);
    certlab()
        .args(["check", "--pki"])
        .arg(&pki)
        .assert()
        .success();
}

/// A new local CA directory is 0700, but the directories made on the way to it are not the
/// CA's: `cert --ca-dir proj/certs/ca -o proj/certs` made `proj` and `proj/certs` 0700 too,
/// so the certificate it wrote there (0644) could be read by no other user (a server running
/// as its own user); they were 0755 under umask 022 before the 0700 CA directory came in.
#[test]
fn only_the_new_ca_directory_is_0700_not_the_directories_above_it() {
    let tmp = tempdir();
    let proj = tmp.path().join("proj");
    let certs = proj.join("certs");
    let ca = certs.join("ca");
    let out = run(std::process::Command::new("sh")
        .args(["-c", r#"umask 022; exec "$0" "$@""#])
        .arg(certlab_bin())
        .args([
            "cert",
            "-q",
            "localhost",
            "--ca-dir",
            p(&ca),
            "-o",
            p(&certs),
        ])
        .env_remove("CERTLAB_CAROOT"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(mode(&ca), 0o700, "the CA directory");
    for dir in [&proj, &certs] {
        assert_eq!(mode(dir), 0o755, "{}", dir.display());
    }
    assert_eq!(mode(&certs.join("localhost.pem")), 0o644);
}
