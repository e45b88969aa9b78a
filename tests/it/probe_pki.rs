//! `certlab probe --pki DIR` reads only what a client of the PKI needs (the CA certificates,
//! the CRLs and `ca.pem`), and every file it reads is still checked against the manifest.

use std::time::Duration;

use certlab::pki::store;
use certlab::verify::classify::TrustStore;

use crate::common::{Lab, certlab, p, text};

/// Probes `good` of the lab with `--pki`, returning (exit code, stdout + stderr).
fn probe_good(lab: &Lab) -> (i32, String) {
    let endpoint = lab.serve("good");
    let out = certlab()
        .args(["probe", &format!("localhost:{}", endpoint.addr().port())])
        .args(["--pki", p(lab.dir.path()), "--timeout", "5s"])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("certlab probe runs");
    (out.status.code().expect("exit code"), text(&out))
}

#[test]
fn probe_pki_catches_a_tampered_ca_pem_root_or_crl() {
    let lab = Lab::new();
    let (code, said) = probe_good(&lab);
    assert_eq!(code, 0, "{said}");

    // ca.pem replaced by another root of the PKI (a valid PEM, not what certlab wrote).
    for (file, replacement) in [
        ("ca.pem", "unknown-ca-root.pem"),
        ("root.pem", "unknown-ca-root.pem"),
        ("intermediate.crl.pem", "intermediate.pem"),
    ] {
        let original = std::fs::read(lab.path(file)).unwrap();
        std::fs::copy(lab.path(replacement), lab.path(file)).unwrap();
        let (code, said) = probe_good(&lab);
        assert_eq!(code, 2, "tampered {file}: {said}");
        assert!(
            said.contains(file) && said.contains("changed after certlab wrote it"),
            "tampered {file}: {said}"
        );
        std::fs::write(lab.path(file), original).unwrap();
    }
    let (code, said) = probe_good(&lab);
    assert_eq!(code, 0, "restored: {said}");
}

#[test]
fn load_trust_is_the_trust_store_of_the_whole_pki() {
    let lab = Lab::new();
    let whole = TrustStore::from_pki(&store::load(lab.dir.path()).unwrap());
    let trust = store::load_trust(lab.dir.path()).unwrap();
    assert!(!trust.roots.is_empty() && !trust.intermediates.is_empty() && !trust.crls.is_empty());
    assert_eq!(trust.roots, whole.roots);
    assert_eq!(trust.intermediates, whole.known_intermediates);
    assert_eq!(trust.crls, whole.crls);
}
