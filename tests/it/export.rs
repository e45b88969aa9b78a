//! `certlab export` and `--format` on `generate` / `cert`, cross-validated by implementations we
//! did not write: OpenSSL 3 reads the PKCS#12 files without `-legacy` (and finds the alias),
//! Java's keytool reads them as a key store and a trust store, OpenSSL reads the DER files and
//! every key format, and the keys it reads are the certificates' keys.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{certlab, dev_pki, have_tool, mode, p, run, tempdir, tool};

const NOW: &str = "2030-01-01T00:00:00Z";

/// The public key (PEM SPKI) of a certificate file, as OpenSSL reads it.
fn cert_pubkey(cert: &Path, inform: &str) -> String {
    let (ok, out) = tool(&[
        "openssl",
        "x509",
        "-inform",
        inform,
        "-in",
        p(cert),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok, "{out}");
    out
}

/// The public key (PEM SPKI) of a private key file, as OpenSSL reads it.
fn key_pubkey(key: &Path, extra: &[&str]) -> String {
    let mut args = vec!["openssl", "pkey", "-in", p(key), "-pubout"];
    args.extend_from_slice(extra);
    let (ok, out) = tool(&args);
    assert!(ok, "{}: {out}", key.display());
    out
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn p12_is_read_by_openssl_3_without_legacy_with_the_alias_and_the_right_key() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let out = tmp.path().join("out");
    certlab()
        .args(["export", "--format", "p12", "--entity", "localhost"])
        .args(["--alias", "web-server", "--password", "s3cret", "--pki"])
        .arg(&pki)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let p12 = out.join("localhost.p12");
    assert_eq!(mode(&p12), 0o600, "a PKCS#12 file holds the key");

    let (ok, info) = tool(&[
        "openssl",
        "pkcs12",
        "-info",
        "-noout",
        "-in",
        p(&p12),
        "-passin",
        "pass:s3cret",
    ]);
    assert!(ok, "openssl 3 must read it without -legacy: {info}");
    assert!(info.contains("AES-256-CBC"), "{info}");
    assert!(!info.contains("RC2"), "{info}");

    let (ok, dump) = tool(&[
        "openssl",
        "pkcs12",
        "-in",
        p(&p12),
        "-passin",
        "pass:s3cret",
        "-nodes",
    ]);
    assert!(ok, "{dump}");
    assert!(dump.contains("friendlyName: web-server"), "{dump}");
    // Leaf and intermediate, like localhost.chain.pem.
    assert_eq!(dump.matches("BEGIN CERTIFICATE").count(), 2, "{dump}");

    // The key inside is the leaf's key.
    let keyfile = tmp.path().join("from-p12.key");
    let (ok, out_txt) = tool(&[
        "openssl",
        "pkcs12",
        "-in",
        p(&p12),
        "-passin",
        "pass:s3cret",
        "-nocerts",
        "-nodes",
        "-out",
        p(&keyfile),
    ]);
    assert!(ok, "{out_txt}");
    assert_eq!(
        key_pubkey(&keyfile, &[]),
        cert_pubkey(&pki.join("localhost.pem"), "PEM")
    );

    let (ok, _) = tool(&[
        "openssl",
        "pkcs12",
        "-info",
        "-noout",
        "-in",
        p(&p12),
        "-passin",
        "pass:wrong",
    ]);
    assert!(!ok, "a wrong password must not open it");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn p12_default_password_and_trust_store_open_in_openssl() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    certlab()
        .args(["export", "--format", "p12", "--pki"])
        .arg(&pki)
        .assert()
        .success()
        .stdout(predicates::str::contains("changeit"));
    for f in ["localhost.p12", "client.p12", "ca.p12"] {
        let (ok, info) = tool(&[
            "openssl",
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            p(&pki.join(f)),
            "-passin",
            "pass:changeit",
        ]);
        assert!(ok, "{f}: {info}");
    }
    // The trust store holds the root only, no key.
    let (ok, dump) = tool(&[
        "openssl",
        "pkcs12",
        "-in",
        p(&pki.join("ca.p12")),
        "-passin",
        "pass:changeit",
        "-nokeys",
    ]);
    assert!(ok, "{dump}");
    assert_eq!(dump.matches("BEGIN CERTIFICATE").count(), 1, "{dump}");
    assert!(dump.contains("certlab dev root"), "{dump}");
}

#[test]
#[ignore = "needs keytool (installed by .ci/run)"]
fn java_keytool_reads_the_key_store_and_the_trust_store() {
    if !have_tool("keytool") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    certlab()
        .args(["export", "--format", "p12", "--password", "s3cret", "--pki"])
        .arg(&pki)
        .assert()
        .success();
    let list = |file: &str| {
        tool(&[
            "keytool",
            "-list",
            "-storetype",
            "PKCS12",
            "-keystore",
            p(&pki.join(file)),
            "-storepass",
            "s3cret",
        ])
    };
    let (ok, out) = list("localhost.p12");
    assert!(ok, "{out}");
    assert!(
        out.contains("localhost,") && out.contains("PrivateKeyEntry"),
        "{out}"
    );
    let (ok, out) = list("ca.p12");
    assert!(ok, "{out}");
    assert!(
        out.contains("root,") && out.contains("trustedCertEntry"),
        "{out}"
    );
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn der_files_are_the_same_certificates_and_keys() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let der = tmp.path().join("der");
    certlab()
        .args(["export", "--format", "der", "--pki"])
        .arg(&pki)
        .arg("-o")
        .arg(&der)
        .assert()
        .success();
    for name in ["root", "intermediate", "localhost", "client"] {
        let from_der = cert_pubkey(&der.join(format!("{name}.der")), "DER");
        assert_eq!(
            from_der,
            cert_pubkey(&pki.join(format!("{name}.pem")), "PEM")
        );
        let key = der.join(format!("{name}.key.der"));
        assert_eq!(mode(&key), 0o600);
        assert_eq!(key_pubkey(&key, &["-inform", "DER"]), from_der, "{name}");
    }
    // ca.der is the trusted root.
    let (ok, a) = tool(&[
        "openssl",
        "x509",
        "-inform",
        "DER",
        "-in",
        p(&der.join("ca.der")),
        "-noout",
        "-fingerprint",
    ]);
    assert!(ok, "{a}");
    let (_, b) = tool(&[
        "openssl",
        "x509",
        "-in",
        p(&pki.join("ca.pem")),
        "-noout",
        "-fingerprint",
    ]);
    assert_eq!(a, b);
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn key_formats_sec1_pkcs1_and_encrypted_pkcs8_read_back_in_openssl() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let leaf_pub = cert_pubkey(&pki.join("localhost.pem"), "PEM");

    // SEC1
    certlab()
        .args(["export", "--key-format", "sec1", "-e", "localhost", "--pki"])
        .arg(&pki)
        .arg("-o")
        .arg(tmp.path().join("sec1"))
        .assert()
        .success();
    let sec1 = tmp.path().join("sec1/localhost.ec.key");
    let text = std::fs::read_to_string(&sec1).unwrap();
    assert!(text.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{text}");
    assert_eq!(mode(&sec1), 0o600);
    let (ok, out) = tool(&["openssl", "ec", "-in", p(&sec1), "-check", "-noout"]);
    assert!(ok && out.contains("EC Key valid"), "{out}");
    assert_eq!(key_pubkey(&sec1, &[]), leaf_pub);

    // Encrypted PKCS#8
    certlab()
        .args([
            "export",
            "--key-password",
            "pw-123",
            "-e",
            "localhost",
            "--pki",
        ])
        .arg(&pki)
        .arg("-o")
        .arg(tmp.path().join("enc"))
        .assert()
        .success();
    let enc = tmp.path().join("enc/localhost.enc.key");
    let text = std::fs::read_to_string(&enc).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{text}"
    );
    assert_eq!(key_pubkey(&enc, &["-passin", "pass:pw-123"]), leaf_pub);
    let (ok, _) = tool(&[
        "openssl",
        "pkey",
        "-in",
        p(&enc),
        "-passin",
        "pass:wrong",
        "-noout",
    ]);
    assert!(!ok, "a wrong password must not decrypt the key");

    // PKCS#1 needs an RSA key: `cert` with --key rsa-2048 --key-format pkcs1.
    let certs = tmp.path().join("rsa");
    certlab()
        .args([
            "cert",
            "rsa.test",
            "--key",
            "rsa-2048",
            "--key-format",
            "pkcs1",
        ])
        .args(["--now", NOW, "--ca-dir"])
        .arg(tmp.path().join("ca"))
        .arg("-o")
        .arg(&certs)
        .assert()
        .success();
    let rsa = certs.join("rsa.test.rsa.key");
    let text = std::fs::read_to_string(&rsa).unwrap();
    assert!(
        text.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{text}"
    );
    let (ok, out) = tool(&["openssl", "rsa", "-in", p(&rsa), "-check", "-noout"]);
    assert!(ok && out.contains("RSA key ok"), "{out}");
    assert_eq!(
        key_pubkey(&rsa, &[]),
        cert_pubkey(&certs.join("rsa.test.pem"), "PEM")
    );
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn combined_pem_holds_the_served_chain_then_the_matching_key() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    certlab()
        .args(["export", "--format", "combined", "-e", "localhost", "--pki"])
        .arg(&pki)
        .assert()
        .success();
    let combined = pki.join("localhost.combined.pem");
    assert_eq!(mode(&combined), 0o600);
    let text = std::fs::read_to_string(&combined).unwrap();
    let chain = std::fs::read_to_string(pki.join("localhost.chain.pem")).unwrap();
    assert!(text.starts_with(&chain), "the chain comes first, as served");
    assert!(text.trim_end().ends_with("-----END PRIVATE KEY-----"));
    // OpenSSL reads the certificate and the key from the one file, and they match.
    assert_eq!(key_pubkey(&combined, &[]), cert_pubkey(&combined, "PEM"));
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn generate_and_cert_take_format_options() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki = tmp.path().join("pki");
    certlab()
        .args(["generate", "--format", "der", "--now", NOW, "-o"])
        .arg(&pki)
        .assert()
        .success();
    assert!(
        pki.join("localhost.pem").exists(),
        "PEM files are always written"
    );
    assert!(pki.join("localhost.der").exists() && pki.join("ca.der").exists());

    let out = tmp.path().join("leaf");
    certlab()
        .args(["cert", "app.test", "--format", "p12", "--password", "pw"])
        .args(["--alias", "app", "--now", NOW, "--ca-dir"])
        .arg(tmp.path().join("ca"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let (ok, dump) = tool(&[
        "openssl",
        "pkcs12",
        "-in",
        p(&out.join("app.test.p12")),
        "-passin",
        "pass:pw",
        "-nodes",
    ]);
    assert!(ok, "{dump}");
    assert!(dump.contains("friendlyName: app"), "{dump}");
}

#[test]
fn bad_export_requests_exit_2_with_one_line() {
    let tmp = tempdir();
    let pki = dev_pki(tmp.path(), NOW);
    let cases: &[&[&str]] = &[
        &["--key-format", "pkcs1", "-e", "localhost"], // an EC key as PKCS#1
        &["-e", "no-such-entity"],
        &["--format", "jks"],
        &[
            "--key-format",
            "sec1",
            "--key-password",
            "x",
            "-e",
            "localhost",
        ],
        &["--format", "p12", "--alias", "a"], // one alias, several leaves
    ];
    for args in cases {
        let out = certlab()
            .arg("export")
            .args(*args)
            .arg("--pki")
            .arg(&pki)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        if !args.contains(&"jks") {
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        }
    }
    let out = certlab()
        .args(["export", "--pki"])
        .arg(tmp.path().join("missing"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}

/// A real server reads the combined file: `openssl s_server` takes the key, the leaf and the
/// chain from it, and curl trusting only `ca.pem` completes a verified request to it.
#[test]
#[ignore = "needs openssl and curl (installed by .ci/run)"]
fn openssl_s_server_serves_the_combined_pem_and_curl_verifies_it() {
    use std::io::BufRead;
    use std::process::Stdio;
    if !have_tool("openssl") || !have_tool("curl") {
        return;
    }
    let tmp = tempdir();
    // Issued now (curl checks dates against the real clock).
    let pki = tmp.path().join("pki");
    common::generate(&pki, &[]);
    certlab()
        .args(["export", "--format", "combined", "-e", "localhost", "--pki"])
        .arg(&pki)
        .assert()
        .success();
    let combined = pki.join("localhost.combined.pem");
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-naccept",
            "1",
            "-www",
            "-cert",
        ])
        .arg(&combined)
        .arg("-cert_chain")
        .arg(&combined)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("s_server printed no ACCEPT line")
            .unwrap();
        if let Some(addr) = line.strip_prefix("ACCEPT ") {
            break addr.rsplit(':').next().unwrap().to_string();
        }
    };
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "10", "--noproxy", "*", "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg("--cacert")
        .arg(pki.join("ca.pem"))
        .arg(format!("https://localhost:{port}/")));
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "curl exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // s_server -www answers with its session report.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Cipher"));
}
