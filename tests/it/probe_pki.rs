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

/// The trust part of the manifest is read borrowed from its bytes (issue 12): a path written
/// with a JSON escape is still that path, and a path the `files` map names twice counts with
/// its last hash, as in the map `store::load` reads, so the two readers accept and refuse the
/// same manifests.
#[test]
fn load_trust_reads_escaped_and_repeated_paths_as_load_does() {
    let lab = Lab::new();
    let manifest_path = lab.path("certlab.json");
    let original = std::fs::read_to_string(&manifest_path).unwrap();
    let root_sha = certlab::pki::sha256_hex(&std::fs::read(lab.path("root.pem")).unwrap());
    let wrong = "0".repeat(64);
    let files_at = original.find("\"files\": {").expect("a files map") + "\"files\": {".len();
    let with_first = |entry: &str, text: &str| {
        let mut t = text.to_string();
        t.insert_str(files_at, entry);
        t
    };
    // The root's certificate path and its `files` key written with escapes.
    let escaped = original
        .replace("\"cert\": \"root.pem\"", "\"cert\": \"root\\u002epem\"")
        .replace(
            &format!("\"root.pem\": \"{root_sha}\""),
            &format!("\"ro\\u006ft.pem\": \"{root_sha}\""),
        );
    assert_ne!(escaped, original);
    // A wrong hash first, the right one last: accepted. The right one first, a wrong one
    // last: refused.
    let wrong_then_right = with_first(&format!("\n    \"root.pem\": \"{wrong}\","), &original);
    let right_then_wrong = with_first(
        &format!("\n    \"root.pem\": \"{root_sha}\","),
        &original.replace(
            &format!("\"root.pem\": \"{root_sha}\""),
            &format!("\"root.pem\": \"{wrong}\""),
        ),
    );
    for (what, text, accepted) in [
        ("escaped", escaped, true),
        ("wrong then right", wrong_then_right, true),
        ("right then wrong", right_then_wrong, false),
    ] {
        std::fs::write(&manifest_path, &text).unwrap();
        let whole = store::load(lab.dir.path());
        let trust = store::load_trust(lab.dir.path());
        assert_eq!(whole.is_ok(), accepted, "{what}: load {:?}", whole.err());
        assert_eq!(
            trust.is_ok(),
            accepted,
            "{what}: load_trust {:?}",
            trust.err()
        );
        if let (Ok(whole), Ok(trust)) = (whole, trust) {
            let whole = TrustStore::from_pki(&whole);
            assert_eq!(trust.roots, whole.roots, "{what}");
            assert_eq!(trust.intermediates, whole.known_intermediates, "{what}");
            assert_eq!(trust.crls, whole.crls, "{what}");
        } else {
            let e = store::load_trust(lab.dir.path()).unwrap_err().to_string();
            assert!(e.contains("root.pem"), "{what}: {e}");
        }
    }
    std::fs::write(&manifest_path, original).unwrap();
}

/// `probe --pki` catches an intermediate's certificate changed after certlab wrote it too (the
/// trust files are decoded without the `pem` crate when they are plain PEM, after their hash
/// is checked), and reads one that certlab's manifest records in another PEM layout.
#[test]
fn load_trust_checks_every_ca_file_it_decodes() {
    let lab = Lab::new();
    let original = std::fs::read(lab.path("intermediate.pem")).unwrap();
    std::fs::copy(lab.path("path-len-ca.pem"), lab.path("intermediate.pem")).unwrap();
    let e = store::load_trust(lab.dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("intermediate.pem")
            && e.to_string().contains("changed after certlab wrote it"),
        "{e}"
    );
    let (code, said) = probe_good(&lab);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("intermediate.pem"), "{said}");

    // The same certificate in LF lines of 76 characters with a comment before it, and the
    // manifest updated to its hash: read through the `pem` crate, the same certificate.
    let whole = store::load(lab.dir.path()).ok();
    assert!(whole.is_none(), "still tampered");
    let der = certlab::pem::read_certs(&lab.path("root.pem"))
        .unwrap()
        .remove(0);
    let body = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    };
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let other = format!(
        "a comment\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    std::fs::write(lab.path("intermediate.pem"), &original).unwrap();
    let before = store::load_trust(lab.dir.path()).unwrap();
    let manifest_path = lab.path("certlab.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let old_sha = certlab::pki::sha256_hex(&std::fs::read(lab.path("root.pem")).unwrap());
    let new_sha = certlab::pki::sha256_hex(other.as_bytes());
    std::fs::write(lab.path("root.pem"), &other).unwrap();
    std::fs::write(&manifest_path, text.replace(&old_sha, &new_sha)).unwrap();
    let after = store::load_trust(lab.dir.path()).unwrap();
    assert_eq!(after.roots, before.roots);
    assert_eq!(after.roots[0], der);
}
