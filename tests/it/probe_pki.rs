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

/// `probe --pki` reads only the trust part of the manifest, and still refuses a manifest of
/// another version, one naming a CA certificate outside the directory, and one that is not
/// JSON at all (in the sections it skips too), exit 2 each.
#[test]
fn probe_pki_reads_the_trust_of_the_manifest_and_refuses_a_bad_one() {
    let lab = Lab::new();
    let manifest_path = lab.path("certlab.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&original).unwrap();

    let mut other_version = manifest.clone();
    other_version["version"] = serde_json::json!(99);
    let mut outside = manifest.clone();
    let root = outside["entities"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["role"] == "root" && e["trusted"] == true)
        .expect("a trusted root");
    root["cert"] = serde_json::json!("../root.pem");
    let mut broken = serde_json::to_string(&manifest).unwrap();
    let at = broken.find("\"scenarios\"").expect("scenarios");
    broken.insert_str(at + "\"scenarios\"".len() + 1, "[{,");
    for (what, text, says) in [
        (
            "version",
            serde_json::to_string(&other_version).unwrap(),
            "manifest version 99 is not supported",
        ),
        (
            "outside",
            serde_json::to_string(&outside).unwrap(),
            "outside the directory",
        ),
        ("broken", broken, "not a certlab manifest"),
    ] {
        std::fs::write(&manifest_path, text).unwrap();
        let (code, said) = probe_good(&lab);
        assert_eq!(code, 2, "{what}: {said}");
        assert!(said.contains(says), "{what}: {said}");
    }
    std::fs::write(&manifest_path, original).unwrap();
    let (code, said) = probe_good(&lab);
    assert_eq!(code, 0, "restored: {said}");
}
