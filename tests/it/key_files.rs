//! The private keys certlab writes are readable by every client: PKCS#8 v1 (RFC 5208 / RFC 8410,
//! version 0, no public key), the form OpenSSL 3.0, Node, BoringSSL and NSS read. PKCS#8 v2
//! (OneAsymmetricKey with the public key, what aws-lc makes for a fresh Ed25519 key) is read by
//! Go and Java only. Checked for every key algorithm, for `generate`, `cert` and every `export`
//! format (DER, combined PEM, encrypted PKCS#8, PKCS#12), and by OpenSSL itself.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use certlab::pki::keys::ALL_KEY_ALGS;
use common::{certlab, have_tool, mode, p, run, tempdir, text, tool};
use pkcs8::der::Decode;

const NOW: &str = "2030-01-01T00:00:00Z";

/// A spec with a root and a server leaf (and client) per key algorithm in `algs`.
fn spec(algs: &[&str]) -> String {
    let mut s = String::new();
    for alg in algs {
        s.push_str(&format!(
            "[[ca]]\nname = \"root-{alg}\"\nkey = \"{alg}\"\nsubject = {{ cn = \"root {alg}\" }}\n\n\
             [[leaf]]\nname = \"web-{alg}\"\nissuer = \"root-{alg}\"\nrole = \"server-client\"\n\
             key = \"{alg}\"\ndns = [\"localhost\"]\nip = [\"127.0.0.1\"]\n\n"
        ));
    }
    s
}

/// `certlab generate` of [`spec`] into `dir/pki` (at `now`, unseeded: fresh aws-lc keys).
fn generate(dir: &Path, algs: &[&str], now: Option<&str>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let spec_file = dir.join("keys.toml");
    std::fs::write(&spec_file, spec(algs)).unwrap();
    let pki = dir.join("pki");
    let mut cmd = certlab();
    cmd.args(["generate", "-q", "--spec", p(&spec_file), "-o", p(&pki)]);
    if let Some(now) = now {
        cmd.args(["--now", now]);
    }
    cmd.assert().success();
    pki
}

/// The DER of the one `label` PEM block of `path`.
fn pem_der(path: &Path, label: &str) -> Vec<u8> {
    let blocks = pem::parse_many(std::fs::read(path).unwrap()).unwrap();
    let found: Vec<_> = blocks.iter().filter(|b| b.tag() == label).collect();
    assert_eq!(found.len(), 1, "{}: one {label} block", path.display());
    found[0].contents().to_vec()
}

/// Asserts that `der` is PKCS#8 v1: version 0, no public key (RFC 5208; RFC 8410 for Ed25519).
fn assert_pkcs8_v1(der: &[u8], what: &str) {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der)
        .unwrap_or_else(|e| panic!("{what}: not PKCS#8: {e}"));
    assert_eq!(
        info.version(),
        pkcs8::Version::V1,
        "{what}: PKCS#8 v2 (OneAsymmetricKey with a public key) is unreadable by OpenSSL 3.0, \
         Node, BoringSSL and NSS"
    );
    assert!(info.public_key.is_none(), "{what}");
    assert_eq!(der[..2], [0x30, der[1]], "{what}: a SEQUENCE");
}

/// The PKCS#8 bytes of the one key entry of a PKCS#12 file (password `changeit`), as stored.
fn p12_key(path: &Path) -> Vec<u8> {
    let ks = p12_keystore::KeyStore::from_pkcs12(
        &std::fs::read(path).unwrap(),
        "changeit",
        p12_keystore::Pkcs12ImportPolicy::default(),
    )
    .unwrap();
    let keys: Vec<_> = ks
        .entries()
        .filter_map(|(_, e)| match e {
            p12_keystore::KeyStoreEntry::PrivateKeyChain(c) => Some(c.key().as_der().to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 1, "{}: one key entry", path.display());
    keys.into_iter().next().unwrap()
}

#[test]
fn every_key_certlab_writes_is_pkcs8_version_0() {
    let tmp = tempdir();
    // RSA 3072/4096 take long to make in a debug build and are written like RSA 2048.
    let pki = generate(
        tmp.path(),
        &["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-2048"],
        Some(NOW),
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(&pki).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            assert_pkcs8_v1(&pem_der(&path, "PRIVATE KEY"), &path.display().to_string());
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "a root and a leaf key per algorithm");

    // `certlab cert`: its local CA and the leaf.
    let out = tmp.path().join("cert");
    certlab()
        .args(["cert", "-q", "--key", "ed25519", "--name", "ed", "--ca-dir"])
        .arg(out.join("ca"))
        .arg("-o")
        .arg(&out)
        .arg("localhost")
        .assert()
        .success();
    let key = out.join("ed.key");
    assert_pkcs8_v1(&pem_der(&key, "PRIVATE KEY"), "cert --key ed25519");
    assert_eq!(mode(&key), 0o600);

    // `certlab export` of the Ed25519 leaf: DER, combined PEM and PKCS#12.
    let ed = ["-e", "web-ed25519", "--pki", p(&pki)];
    let der = tmp.path().join("der");
    certlab()
        .args(["export", "-q", "--format", "der", "-o", p(&der)])
        .args(ed)
        .assert()
        .success();
    assert_pkcs8_v1(
        &std::fs::read(der.join("web-ed25519.key.der")).unwrap(),
        "export --format der",
    );
    let combined = tmp.path().join("combined");
    certlab()
        .args(["export", "-q", "--format", "combined", "-o", p(&combined)])
        .args(ed)
        .assert()
        .success();
    assert_pkcs8_v1(
        &pem_der(&combined.join("web-ed25519.combined.pem"), "PRIVATE KEY"),
        "export --format combined",
    );
    let p12 = tmp.path().join("p12");
    certlab()
        .args(["export", "-q", "--format", "p12", "-o", p(&p12)])
        .args(ed)
        .assert()
        .success();
    assert_pkcs8_v1(
        &p12_key(&p12.join("web-ed25519.p12")),
        "export --format p12",
    );
    // Ed25519 has no SEC1 or PKCS#1 form: refused in one line, exit 2.
    for format in ["sec1", "pkcs1"] {
        common::fails_with(
            certlab()
                .args(["export", "--key-format", format, "-o", p(&p12)])
                .args(ed),
            "Ed25519 keys cannot be written as",
        );
    }
}

/// A PKI written by an older certlab (an Ed25519 key as PKCS#8 v2) is exported as v1, and a
/// `renew --rekey` writes a v1 key.
#[test]
fn a_pkcs8_v2_key_on_disk_is_exported_and_rekeyed_as_version_0() {
    let tmp = tempdir();
    let pki = generate(tmp.path(), &["ed25519"], None);
    // The same key as PKCS#8 v2 (what aws-lc makes for a fresh Ed25519 key, and what certlab
    // wrote before it wrote v1).
    let key = pki.join("web-ed25519.key");
    let v1 = pem_der(&key, "PRIVATE KEY");
    let v2 = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&v1)
        .unwrap()
        .to_pkcs8()
        .unwrap();
    let v2 = v2.as_ref().to_vec();
    assert_eq!(
        pkcs8::PrivateKeyInfoRef::from_der(&v2).unwrap().version(),
        pkcs8::Version::V2
    );
    let v2_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", v2));
    std::fs::write(&key, &v2_pem).unwrap();
    // ... recorded in the manifest as such, as an older certlab did.
    let manifest = pki.join("certlab.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v2_pem.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    m["files"]["web-ed25519.key"] = serde_json::Value::String(hex);
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let out = tmp.path().join("out");
    for format in ["combined", "p12"] {
        certlab()
            .args([
                "export",
                "-q",
                "--format",
                format,
                "-e",
                "web-ed25519",
                "--pki",
            ])
            .arg(&pki)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
    }
    assert_pkcs8_v1(
        &pem_der(&out.join("web-ed25519.combined.pem"), "PRIVATE KEY"),
        "export of a v2 key",
    );
    assert_pkcs8_v1(
        &p12_key(&out.join("web-ed25519.p12")),
        "PKCS#12 of a v2 key",
    );

    let pki = generate(&tmp.path().join("rekey"), &["ed25519"], None);
    certlab()
        .args(["renew", "-q", "--rekey", "--pki", p(&pki), "web-ed25519"])
        .assert()
        .success();
    assert_pkcs8_v1(
        &pem_der(&pki.join("web-ed25519.key"), "PRIVATE KEY"),
        "renew --rekey",
    );
}

/// The public key (PEM SPKI) that `openssl pkey` reads from a private key file.
fn openssl_pkey_pubout(key: &Path, extra: &[&str]) -> String {
    let mut args = vec!["openssl", "pkey", "-in", p(key), "-pubout"];
    args.extend_from_slice(extra);
    let (ok, out) = tool(&args);
    assert!(ok, "openssl pkey cannot read {}: {out}", key.display());
    out
}

/// The public key (PEM SPKI) of a certificate, as `openssl x509 -pubkey` reads it.
fn openssl_cert_pubkey(cert: &Path) -> String {
    let (ok, out) = tool(&["openssl", "x509", "-in", p(cert), "-noout", "-pubkey"]);
    assert!(ok, "{out}");
    out
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_reads_every_key_algorithm_and_every_export_format() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let algs: Vec<&str> = ALL_KEY_ALGS.iter().map(|a| a.name()).collect();
    let pki = generate(tmp.path(), &algs, Some(NOW));
    for alg in &algs {
        for name in [format!("root-{alg}"), format!("web-{alg}")] {
            let key = pki.join(format!("{name}.key"));
            assert_eq!(
                openssl_pkey_pubout(&key, &[]),
                openssl_cert_pubkey(&pki.join(format!("{name}.pem"))),
                "{name}: the key is the certificate's"
            );
        }
    }
    // Every export format of the Ed25519 leaf.
    let cert_key = openssl_cert_pubkey(&pki.join("web-ed25519.pem"));
    let ed = ["-e", "web-ed25519", "--pki", p(&pki)];
    let out = tmp.path().join("out");
    for args in [
        &["--format", "der"][..],
        &["--format", "combined"],
        &["--format", "p12", "--password", "s3cret"],
        &["--key-password", "s3cret"],
    ] {
        certlab()
            .args(["export", "-q", "-o", p(&out)])
            .args(args)
            .args(ed)
            .assert()
            .success();
    }
    assert_eq!(
        openssl_pkey_pubout(&out.join("web-ed25519.key.der"), &["-inform", "DER"]),
        cert_key,
        "DER"
    );
    assert_eq!(
        openssl_pkey_pubout(&out.join("web-ed25519.combined.pem"), &[]),
        cert_key,
        "combined"
    );
    assert_eq!(
        openssl_pkey_pubout(
            &out.join("web-ed25519.enc.key"),
            &["-passin", "pass:s3cret"]
        ),
        cert_key,
        "encrypted PKCS#8"
    );
    let pem = run(Command::new("openssl")
        .args([
            "pkcs12",
            "-nodes",
            "-nocerts",
            "-passin",
            "pass:s3cret",
            "-in",
        ])
        .arg(out.join("web-ed25519.p12")));
    assert!(pem.status.success(), "openssl pkcs12: {}", text(&pem));
    let from_p12 = tmp.path().join("from-p12.key");
    std::fs::write(&from_p12, &pem.stdout).unwrap();
    assert_eq!(openssl_pkey_pubout(&from_p12, &[]), cert_key, "PKCS#12");
}

/// `openssl s_server -key` loads certlab's Ed25519 key and `openssl s_client` completes a
/// verified TLS 1.3 handshake with it, trusting only the root.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_s_server_serves_an_ed25519_leaf_and_s_client_verifies_it() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    // Issued now: s_client checks dates against the real clock.
    let pki = generate(tmp.path(), &["ed25519"], None);
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-naccept",
            "1",
            "-www",
        ])
        .arg("-cert")
        .arg(pki.join("web-ed25519.pem"))
        .arg("-key")
        .arg(pki.join("web-ed25519.key"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("ACCEPT ") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let Ok(addr) = rx.recv_timeout(Duration::from_secs(10)) else {
        let _ = server.kill();
        let out = server.wait_with_output().unwrap();
        panic!(
            "s_server did not start (cannot load the key?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let port = addr.rsplit(':').next().unwrap().to_string();
    let mut client = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .args(["-verify_return_error", "-tls1_3", "-CAfile"])
        .arg(pki.join("ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = client.stdin.take().unwrap();
        let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("s_client finished within 15 s")
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let all = text(&out);
    assert!(out.status.success(), "s_client: {all}");
    assert!(all.contains("Verify return code: 0 (ok)"), "{all}");
    assert!(
        all.to_lowercase().contains("peer signature type: ed25519"),
        "{all}"
    );
}

/// Under `umask 000` (a container entrypoint, a CI step that sets it), every directory certlab
/// makes is at most 0755 — a PKI, its fleet sub-directory, an export directory — and a new
/// local CA directory ($CERTLAB_CAROOT) is 0700; keys stay 0600. Before, they were 0777: any
/// local user could replace a key or the CA's certificate beside it.
#[test]
fn no_directory_certlab_makes_is_writable_by_others_even_under_umask_000() {
    let tmp = tempdir();
    let umask_000 = |args: &[&str], envs: &[(&str, &Path)]| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", r#"umask 000; exec "$0" "$@""#])
            .arg(common::certlab_bin())
            .args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    };
    let spec = tmp.path().join("fleet.toml");
    std::fs::write(&spec, crate::bulk::fleet_spec(8, None)).unwrap();
    let pki = tmp.path().join("new/pki");
    umask_000(&["generate", "-q", "--spec", p(&spec), "-o", p(&pki)], &[]);
    let exported = tmp.path().join("exported/der");
    umask_000(
        &[
            "export",
            "-q",
            "--pki",
            p(&pki),
            "--format",
            "der",
            "-o",
            p(&exported),
        ],
        &[],
    );
    let caroot = tmp.path().join("caroot");
    let leaves = tmp.path().join("leaves/here");
    umask_000(
        &["cert", "-q", "x.test", "-o", p(&leaves)],
        &[("CERTLAB_CAROOT", &caroot)],
    );
    for dir in [
        tmp.path().join("new"),
        pki.clone(),
        pki.join("clients"),
        tmp.path().join("exported"),
        exported.clone(),
        tmp.path().join("leaves"),
        leaves.clone(),
    ] {
        assert_eq!(
            mode(&dir) & 0o022,
            0,
            "{} is {:o}",
            dir.display(),
            mode(&dir)
        );
    }
    assert_eq!(mode(&caroot), 0o700, "the local CA directory");
    for key in [
        pki.join("root.key"),
        pki.join("clients/client-1.key"),
        caroot.join("root.key"),
    ] {
        if key.exists() {
            assert_eq!(mode(&key), 0o600, "{}", key.display());
        }
    }
    assert!(pki.join("clients/client-1.key").exists());
}
