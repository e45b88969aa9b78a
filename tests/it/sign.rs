//! `certlab sign` (a CSR made by OpenSSL, signed by a CA we have) and `certlab cert --ca-cert
//! --ca-key` (a CA made by OpenSSL, in its own key formats), cross-validated with
//! `openssl verify` for the host name and the purpose; bad CSRs, bad SANs, non-CA
//! certificates and foreign keys are refused with exit 2.

use crate::common;

use std::path::{Path, PathBuf};

use common::{certlab, dev_pki, have_tool, p, tempdir, tool};

const NOW: &str = "2030-01-01T00:00:00Z";

/// A CSR for `san` (an openssl `subjectAltName` value, or none) with a fresh P-256 key.
fn openssl_csr(dir: &Path, name: &str, san: Option<&str>) -> PathBuf {
    let csr = dir.join(format!("{name}.csr"));
    let key = dir.join(format!("{name}.key"));
    let mut args = vec![
        "openssl",
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=x",
        "-keyout",
        p(&key),
        "-out",
        p(&csr),
    ];
    let ext;
    if let Some(san) = san {
        ext = format!("subjectAltName={san}");
        args.extend(["-addext", &ext]);
    }
    let (ok, out) = tool(&args);
    assert!(ok, "{out}");
    csr
}

/// `openssl verify` of `cert` against `ca` with `untrusted` and extra arguments, at NOW + 1 day.
fn verify(ca: &Path, untrusted: Option<&Path>, cert: &Path, extra: &[&str]) -> (bool, String) {
    // 2030-01-02T00:00:00Z: inside every validity of this test.
    let mut args = vec![
        "openssl",
        "verify",
        "-attime",
        "1893542400",
        "-CAfile",
        p(ca),
    ];
    if let Some(u) = untrusted {
        args.extend(["-untrusted", p(u)]);
    }
    args.extend_from_slice(extra);
    args.push(p(cert));
    tool(&args)
}

fn sign(
    csr: &Path,
    ca_cert: &Path,
    ca_key: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    certlab()
        .args(["sign", "--now", NOW])
        .arg(csr)
        .arg("--ca-cert")
        .arg(ca_cert)
        .arg("--ca-key")
        .arg(ca_key)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn an_openssl_csr_signed_by_the_root_passes_openssl_verify_for_its_name() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let csr = openssl_csr(tmp.path(), "x", Some("DNS:x.test"));
    let out = tmp.path().join("out");
    let o = sign(
        &csr,
        &pki.join("root.pem"),
        &pki.join("root.key"),
        &out,
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cert = out.join("x.test.pem");
    let ca = pki.join("ca.pem");
    let (ok, text) = verify(
        &ca,
        None,
        &cert,
        &["-verify_hostname", "x.test", "-purpose", "sslserver"],
    );
    assert!(ok, "{text}");
    // Checks that can fail: another name, the client purpose.
    let (ok, _) = verify(&ca, None, &cert, &["-verify_hostname", "y.test"]);
    assert!(!ok, "y.test is not in the CSR");
    let (ok, _) = verify(&ca, None, &cert, &["-purpose", "sslclient"]);
    assert!(!ok, "a server certificate is not a client certificate");

    // The certificate carries the CSR's public key, an AKI, and certlab's validity.
    let (_, csr_pub) = tool(&["openssl", "req", "-in", p(&csr), "-noout", "-pubkey"]);
    let (_, cert_pub) = tool(&["openssl", "x509", "-in", p(&cert), "-noout", "-pubkey"]);
    assert_eq!(csr_pub, cert_pub);
    let (_, text) = tool(&["openssl", "x509", "-in", p(&cert), "-noout", "-text"]);
    assert!(text.contains("Authority Key Identifier"), "{text}");
    assert!(text.contains("Subject Key Identifier"), "{text}");
    assert!(
        text.contains("Not After : Feb  2 00:00:00 2031 GMT"),
        "397 days: {text}"
    );
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn a_client_csr_signed_by_an_intermediate_chains_to_the_root() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let csr = openssl_csr(tmp.path(), "alice", Some("email:alice@example.com"));
    let out = tmp.path().join("out");
    let o = sign(
        &csr,
        &pki.join("intermediate.pem"),
        &pki.join("intermediate.key"),
        &out,
        &["--client", "--name", "alice"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let chain = out.join("alice.chain.pem");
    assert_eq!(
        std::fs::read_to_string(&chain)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2,
        "leaf + intermediate"
    );
    let ca = pki.join("ca.pem");
    let cert = out.join("alice.pem");
    let (ok, text) = verify(
        &ca,
        Some(&chain),
        &cert,
        &[
            "-purpose",
            "sslclient",
            "-verify_email",
            "alice@example.com",
        ],
    );
    assert!(ok, "{text}");
    let (ok, _) = verify(&ca, Some(&chain), &cert, &["-purpose", "sslserver"]);
    assert!(!ok, "--client makes a client-only certificate");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn bad_csrs_are_refused_with_exit_2() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let (ca, key) = (pki.join("root.pem"), pki.join("root.key"));
    let out = tmp.path().join("out");
    let refused = |csr: &Path, why: &str| {
        let o = sign(csr, &ca, &key, &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{why}: {err}");
        assert!(err.starts_with("error:"), "{why}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{why}: {err}");
        err
    };

    // A flipped byte in the signature.
    let good = openssl_csr(tmp.path(), "good", Some("DNS:x.test"));
    let (ok, _) = tool(&[
        "openssl",
        "req",
        "-in",
        p(&good),
        "-outform",
        "DER",
        "-out",
        p(&tmp.path().join("good.der")),
    ]);
    assert!(ok);
    let mut der = std::fs::read(tmp.path().join("good.der")).unwrap();
    let last = der.len() - 5;
    der[last] ^= 0x01;
    let bad_sig = tmp.path().join("bad-sig.der");
    std::fs::write(&bad_sig, &der).unwrap();
    let err = refused(&bad_sig, "bad signature");
    assert!(err.contains("signature"), "{err}");
    // The good DER CSR is accepted (so the refusal was the signature).
    let o = sign(&tmp.path().join("good.der"), &ca, &key, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let err = refused(
        &openssl_csr(tmp.path(), "wild", Some("DNS:foo.*.test")),
        "misplaced wildcard",
    );
    assert!(err.contains("foo.*.test"), "{err}");
    let err = refused(&openssl_csr(tmp.path(), "nosan", None), "no SAN");
    assert!(err.contains("subjectAltName"), "{err}");
    let not_csr = tmp.path().join("not.csr");
    std::fs::write(&not_csr, "hello").unwrap();
    refused(&not_csr, "not a CSR");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn an_encrypted_ca_key_needs_its_password() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    certlab()
        .args(["export", "-e", "root", "--key-password", "ca-pw", "--pki"])
        .arg(&pki)
        .assert()
        .success();
    let key = pki.join("root.enc.key");
    let csr = openssl_csr(tmp.path(), "x", Some("DNS:x.test"));
    let out = tmp.path().join("out");
    let ca = pki.join("root.pem");
    for (extra, ok) in [
        (vec![], false),
        (vec!["--ca-key-password", "wrong"], false),
        (vec!["--ca-key-password", "ca-pw"], true),
    ] {
        let o = sign(&csr, &ca, &key, &out, &extra);
        let err = String::from_utf8_lossy(&o.stderr);
        if ok {
            assert!(o.status.success(), "{err}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
            assert!(err.contains("password"), "{err}");
        }
    }
    let (ok, text) = verify(
        &pki.join("ca.pem"),
        None,
        &out.join("x.test.pem"),
        &["-verify_hostname", "x.test"],
    );
    assert!(ok, "{text}");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn a_leaf_or_a_foreign_key_cannot_act_as_the_ca() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let csr = openssl_csr(tmp.path(), "x", Some("DNS:x.test"));
    let out = tmp.path().join("out");
    for (cert, key, what) in [
        ("localhost.pem", "localhost.key", "not a CA"),
        ("root.pem", "intermediate.key", "is not the key"),
    ] {
        let o = sign(&csr, &pki.join(cert), &pki.join(key), &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(what), "{err}");
    }
    assert!(
        !out.join("x.test.pem").exists(),
        "nothing written on refusal"
    );
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn cert_issues_from_an_openssl_made_ca_with_sec1_and_pkcs1_keys() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    for (alg, keygen) in [
        (
            "ec",
            vec![
                "openssl",
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
            ],
        ),
        ("rsa", vec!["openssl", "genrsa", "-traditional"]),
    ] {
        let dir = tmp.path().join(alg);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("ca.key");
        let ca = dir.join("ca.pem");
        let mut args = keygen.clone();
        args.extend(["-out", p(&key)]);
        if alg == "rsa" {
            args.push("2048"); // numbits comes last
        }
        let (ok, out) = tool(&args);
        assert!(ok, "{out}");
        let header = std::fs::read_to_string(&key).unwrap();
        let expected = if alg == "ec" {
            "EC PRIVATE KEY"
        } else {
            "RSA PRIVATE KEY"
        };
        assert!(header.contains(expected), "{header}");
        let (ok, out) = tool(&[
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            p(&key),
            "-subj",
            "/CN=corp CA",
            "-days",
            "3650",
            "-set_serial",
            "1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            p(&ca),
        ]);
        assert!(ok, "{out}");
        let o = certlab()
            .args(["cert", "app.internal", "127.0.0.1", "-o"])
            .arg(&dir)
            .arg("--ca-cert")
            .arg(&ca)
            .arg("--ca-key")
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let leaf = dir.join("app.internal+1.pem");
        for check in [
            ["-verify_hostname", "app.internal"],
            ["-verify_ip", "127.0.0.1"],
        ] {
            let mut args = vec![
                "openssl",
                "verify",
                "-CAfile",
                p(&ca),
                "-purpose",
                "sslserver",
            ];
            args.extend(check);
            args.push(p(&leaf));
            let (ok, out) = tool(&args);
            assert!(ok, "{alg} {check:?}: {out}");
        }
    }
}

/// A CSR for `x.test` made with rcgen (no outside tool), PEM.
fn rcgen_csr(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["x.test".to_string()]).unwrap();
    let csr = dir.join("x.csr");
    std::fs::write(&csr, params.serialize_request(&key).unwrap().pem().unwrap()).unwrap();
    csr
}

/// `certlab sign` never replaces a file silently: an existing `NAME.pem` / `NAME.chain.pem`
/// needs `--force` (exit 2, both files left as they were), a file of a PKI's manifest is
/// refused even with `--force` (the PKI stays sound), and the requester's `NAME.key` beside
/// them is no obstacle.
#[test]
fn sign_refuses_to_replace_files_without_force_and_never_a_pkis() {
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let csr = rcgen_csr(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("x.test.key"), "the requester's key").unwrap();
    let (root, root_key) = (pki.join("root.pem"), pki.join("root.key"));
    let o = sign(&csr, &root, &root_key, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = std::fs::read(out.join("x.test.pem")).unwrap();
    let first_chain = std::fs::read(out.join("x.test.chain.pem")).unwrap();

    let o = sign(&csr, &root, &root_key, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("x.test.pem") && err.contains("exists"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("x.test.pem")).unwrap(), first);
    assert_eq!(
        std::fs::read(out.join("x.test.chain.pem")).unwrap(),
        first_chain
    );

    let o = sign(&csr, &root, &root_key, &out, &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(out.join("x.test.pem")).unwrap(), first);
    assert_eq!(
        std::fs::read(out.join("x.test.key")).unwrap(),
        b"the requester's key"
    );

    // Into the PKI, over its `localhost` leaf: refused, with or without --force.
    let before = std::fs::read(pki.join("localhost.pem")).unwrap();
    for extra in [
        &["--name", "localhost"][..],
        &["--name", "localhost", "--force"],
    ] {
        let o = sign(&csr, &root, &root_key, &pki, extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert_eq!(std::fs::read(pki.join("localhost.pem")).unwrap(), before);
    }
    certlab()
        .args(["check", "--pki", p(&pki), "--now", NOW])
        .assert()
        .success();
}

/// Two `certlab sign` of the same name into one directory at once, over and over: they take
/// turns on the directory's lock, so one writes and the other is refused (exit 2), and the
/// certificate and chain on disk are of the same run.
#[test]
fn two_signs_at_once_never_mix_their_files() {
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let csr = rcgen_csr(tmp.path());
    let (root, root_key) = (pki.join("root.pem"), pki.join("root.key"));
    for round in 0..5 {
        let out = tmp.path().join(format!("out-{round}"));
        let start = || {
            common::certlab_command()
                .args(["sign", "--now", NOW])
                .arg(&csr)
                .arg("--ca-cert")
                .arg(&root)
                .arg("--ca-key")
                .arg(&root_key)
                .arg("-o")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (start(), start());
        let codes = [a, b].map(|c| c.wait_with_output().unwrap().status.code());
        let mut sorted = codes;
        sorted.sort();
        assert_eq!(sorted, [Some(0), Some(2)], "round {round}: {codes:?}");
        let cert = certlab::pem::read_certs(&out.join("x.test.pem")).unwrap();
        let chain = certlab::pem::read_certs(&out.join("x.test.chain.pem")).unwrap();
        assert_eq!(
            chain.first(),
            cert.first(),
            "round {round}: one run's files"
        );
    }
}
