//! Cross-validation of what `generate`, `cert` and the fixture make, by OpenSSL: every good
//! certificate passes `openssl verify` for its purpose and every SAN, and a real
//! `openssl s_client` handshake against a rustls server with a generated chain verifies.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use certlab::fixture::TestPki;
use certlab::pki::manifest::Manifest;
use certlab::{Role, San};
use common::{certlab, have_tool, openssl_verify, p, tempdir};

/// Verifies every good leaf of a PKI directory with OpenSSL for its purpose and every SAN.
fn verify_every_leaf(dir: &Path) -> usize {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("certlab.json")).unwrap()).unwrap();
    let mut checked = 0;
    for e in manifest
        .entities
        .iter()
        .filter(|e| !e.role.is_ca() && e.fault == certlab::Fault::None)
    {
        let chain = dir.join(e.chain.as_ref().unwrap());
        let cert = dir.join(&e.cert);
        let purposes: &[&str] = match e.role {
            Role::Server => &["sslserver"],
            Role::Client => &["sslclient"],
            _ => &["sslserver", "sslclient"],
        };
        for purpose in purposes {
            let (ok, out) = openssl_verify(dir, &cert, Some(&chain), &["-purpose", purpose]);
            assert!(ok, "{} -purpose {purpose}: {out}", e.name);
            checked += 1;
        }
        for san in &e.sans {
            let (flag, value) = match san {
                San::Dns(d) => ("-verify_hostname", d.replace('*', "wild")),
                San::Ip(ip) => ("-verify_ip", ip.to_string()),
                San::Email(m) => ("-verify_email", m.clone()),
                San::Uri(_) => continue,
            };
            let (ok, out) = openssl_verify(dir, &cert, Some(&chain), &[flag, &value]);
            assert!(ok, "{} {flag} {value}: {out}", e.name);
            checked += 1;
        }
    }
    checked
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn dev_and_otel_templates_pass_openssl_verify() {
    if !have_tool("openssl") {
        return;
    }
    for template in ["dev", "otel"] {
        let tmp = tempdir();
        let dir = tmp.path().join(template);
        certlab()
            .args(["generate", "--template", template, "-o"])
            .arg(&dir)
            .assert()
            .success();
        let checked = verify_every_leaf(&dir);
        assert!(checked >= 4, "{template}: only {checked} checks");
        // A wrong name must fail, so the checks above can fail too.
        let leaf = if template == "dev" {
            "localhost"
        } else {
            "otel-collector"
        };
        let (ok, out) = openssl_verify(
            &dir,
            &dir.join(format!("{leaf}.pem")),
            Some(&dir.join(format!("{leaf}.chain.pem"))),
            &["-verify_hostname", "other.test"],
        );
        assert!(!ok && out.contains("hostname mismatch"), "{out}");
    }
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn every_key_algorithm_passes_openssl_verify() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let mut spec = String::from("[[ca]]\nname = \"root\"\n");
    for alg in certlab::pki::keys::ALL_KEY_ALGS {
        spec += &format!(
            "\n[[ca]]\nname = \"ca-{alg}\"\nissuer = \"root\"\nkey = \"{alg}\"\n\n[[leaf]]\nname = \"leaf-{alg}\"\nissuer = \"ca-{alg}\"\nrole = \"server-client\"\nkey = \"{alg}\"\ndns = [\"{alg}.test\"]\nip = [\"192.0.2.1\"]\n"
        );
    }
    let spec_path = tmp.path().join("algs.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--spec", p(&spec_path)]);
    assert_eq!(verify_every_leaf(&dir), 6 * 4);
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn cert_command_leaves_pass_openssl_verify() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let ca = tmp.path().join("ca");
    certlab()
        .args([
            "cert",
            "app.test",
            "*.app.test",
            "127.0.0.1",
            "--name",
            "app",
            "--ca-dir",
        ])
        .arg(&ca)
        .arg("-o")
        .arg(tmp.path())
        .assert()
        .success();
    let cert = tmp.path().join("app.pem");
    for args in [
        vec!["-purpose", "sslserver", "-verify_hostname", "app.test"],
        vec!["-purpose", "sslserver", "-verify_hostname", "x.app.test"],
        vec!["-purpose", "sslserver", "-verify_ip", "127.0.0.1"],
    ] {
        let (ok, out) = openssl_verify(&ca, &cert, None, &args);
        assert!(ok, "{args:?}: {out}");
    }
    certlab()
        .args([
            "cert",
            "--client",
            "bob@app.test",
            "--name",
            "bob",
            "--ca-dir",
        ])
        .arg(&ca)
        .arg("-o")
        .arg(tmp.path())
        .assert()
        .success();
    let (ok, out) = openssl_verify(
        &ca,
        &tmp.path().join("bob.pem"),
        None,
        &["-purpose", "sslclient", "-verify_email", "bob@app.test"],
    );
    assert!(ok, "{out}");
    let (ok, _) = openssl_verify(
        &ca,
        &tmp.path().join("bob.pem"),
        None,
        &["-purpose", "sslserver"],
    );
    assert!(!ok, "a clientAuth-only leaf must not pass as a server");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn fixture_certificates_pass_openssl_verify() {
    if !have_tool("openssl") {
        return;
    }
    let mut pki = TestPki::new();
    let server = pki
        .server(["localhost", "127.0.0.1"])
        .name("web")
        .issue()
        .unwrap();
    pki.client("alice").name("alice").issue().unwrap();
    let tmp = pki.write_to_tempdir().unwrap();
    assert_eq!(verify_every_leaf(tmp.path()), 4);
    assert_eq!(server.entity().name, "web");
}

/// A real OpenSSL client against a rustls server presenting a generated chain.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_s_client_verifies_a_rustls_server_with_the_generated_chain() {
    if !have_tool("openssl") {
        return;
    }
    let mut pki = TestPki::new();
    let server = pki.server(["localhost", "127.0.0.1"]).issue().unwrap();
    let tmp = pki.write_to_tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::new(server.server_config());
    let server_thread = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut buf = [0u8; 64];
        let n = tls.read(&mut buf).unwrap_or(0);
        let _ = tls.write_all(b"pong");
        tls.conn.send_close_notify();
        let _ = tls.flush();
        n
    });
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-CAfile",
        ])
        .arg(tmp.path().join("ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ping\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Verify return code: 0 (ok)"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server_thread.join().unwrap() > 0, "the server read nothing");
}
