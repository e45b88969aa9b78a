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
