//! `certlab probe` against a server we did not write: `openssl s_server` serving the lab's
//! good certificate and broken ones, asking for client certificates (`-Verify 1`), and
//! restricted to one TLS version, one cipher suite or one ALPN protocol.
//!
//! Needs `openssl` on PATH: without it these tests are skipped loudly, and under `CI=true`
//! they fail. Loopback only; s_server listens on port 0 (its `ACCEPT` line gives the port),
//! serves one connection (`-naccept 1`) and is killed when the test ends.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Lab, have_tool, s};

// The lab (`common::Lab`) is issued now: s_server judges client certificates by the real
// clock, and the probe checks at the same instant.
impl Lab {
    /// Splits `NAME.chain.pem` into the leaf (`-cert`) and the rest (`-cert_chain`), since
    /// s_server takes only the first certificate of `-cert`.
    fn server_files(&self, name: &str) -> (PathBuf, Option<PathBuf>, PathBuf) {
        let chain = std::fs::read(self.path(&format!("{name}.chain.pem"))).expect("chain");
        let blocks = pem::parse_many(chain).expect("PEM");
        let leaf = self.path(&format!("{name}.s_server-leaf.pem"));
        std::fs::write(&leaf, pem::encode(&blocks[0])).expect("write leaf");
        let rest = (blocks.len() > 1).then(|| {
            let p = self.path(&format!("{name}.s_server-rest.pem"));
            std::fs::write(&p, pem::encode_many(&blocks[1..])).expect("write rest");
            p
        });
        (leaf, rest, self.path(&format!("{name}.key")))
    }

    /// `openssl s_server` presenting `name`'s chain, with extra arguments.
    fn s_server(&self, name: &str, extra: &[&str]) -> SServer {
        let (leaf, rest, key) = self.server_files(name);
        let mut args: Vec<String> = ["s_server", "-accept", "0", "-naccept", "1", "-www"]
            .map(String::from)
            .to_vec();
        args.extend(["-cert".into(), leaf.display().to_string()]);
        args.extend(["-key".into(), key.display().to_string()]);
        if let Some(rest) = rest {
            args.extend(["-cert_chain".into(), rest.display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        SServer::start(&args)
    }
}

/// A running `openssl s_server`, killed on drop.
struct SServer {
    child: Child,
    port: u16,
}

impl SServer {
    fn start(args: &[String]) -> SServer {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("openssl {args:?} printed no ACCEPT line within 10 s");
            }
        };
        // `ACCEPT 0.0.0.0:PORT` or `ACCEPT [::]:PORT`.
        let port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in ACCEPT {addr}"));
        SServer { child, port }
    }

    fn target(&self) -> String {
        format!("localhost:{}", self.port)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `certlab probe TARGET --json --timeout 10s ARGS...` and returns (exit code, report).
fn probe(target: &str, args: &[&str]) -> (i32, serde_json::Value) {
    common::probe_json(target, &[&["--timeout", "10s"], args].concat())
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn server_certificates_good_and_broken() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let pki = s(lab.dir.path());
    let ca = s(&lab.path("ca.pem"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lab.path("certlab.json")).unwrap()).unwrap();
    let sha256_of = |name: &str| {
        manifest["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["sha256"].as_str())
            .unwrap()
            .to_string()
    };
    let cases = [
        ("good", "--pki", &pki, "ok"),
        ("good", "--ca", &ca, "ok"),
        ("expired", "--pki", &pki, "expired"),
        ("not-yet-valid", "--pki", &pki, "not-yet-valid"),
        ("wrong-host", "--pki", &pki, "hostname-mismatch"),
        ("self-signed", "--pki", &pki, "self-signed"),
        ("missing-intermediate", "--pki", &pki, "incomplete-chain"),
        ("missing-intermediate", "--ca", &ca, "unknown-ca"),
        ("unknown-ca", "--pki", &pki, "unknown-ca"),
        ("expired-intermediate", "--pki", &pki, "expired"),
        ("bad-signature", "--pki", &pki, "bad-signature"),
    ];
    for (name, trust_flag, trust, expected) in cases {
        let server = lab.s_server(name, &[]);
        let (code, r) = probe(&server.target(), &[trust_flag, trust]);
        assert_eq!(r["outcome"], expected, "{name} with {trust_flag}: {r}");
        assert_eq!(code, if expected == "ok" { 0 } else { 1 }, "{name}");
        // The chain is captured even when it is rejected: the first certificate is the one
        // s_server was given.
        assert_eq!(
            r["chain"][0]["sha256"].as_str(),
            Some(sha256_of(name).as_str()),
            "{name}: the presented leaf"
        );
        if expected == "ok" {
            assert_eq!(r["tls"]["version"], "1.3", "{r}");
            assert!(
                r["http"].as_str().unwrap_or("").contains("200"),
                "s_server -www answered: {r}"
            );
        } else {
            assert!(r["tls"].is_null(), "the probe aborted the handshake: {r}");
            assert!(r["fix"].as_str().is_some_and(|f| f.len() > 10));
        }
    }
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn expect_turns_the_outcome_into_the_exit_code() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let pki = s(lab.dir.path());
    let server = lab.s_server("expired", &[]);
    let (code, r) = probe(&server.target(), &["--pki", &pki, "--expect", "expired"]);
    assert_eq!(r["outcome"], "expired");
    assert_eq!(code, 0, "the outcome was the expected one");
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn client_certificates_tls13() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let pki = s(lab.dir.path());
    let ca = s(&lab.path("ca.pem"));
    let verify = ["-Verify", "1", "-verify_return_error", "-CAfile", &ca];
    let cert = |n: &str| {
        (
            s(&lab.path(&format!("{n}.chain.pem"))),
            s(&lab.path(&format!("{n}.key"))),
        )
    };

    let server = lab.s_server("good", &verify);
    let (code, r) = probe(&server.target(), &["--pki", &pki]);
    assert_eq!(r["outcome"], "client-cert-required", "{r}");
    assert_eq!(r["client_cert"]["requested"], true);
    assert_eq!(r["client_cert"]["sent"], false);
    assert!(r["detail"].as_str().unwrap_or("").contains("116"), "{r}");
    assert_eq!(code, 1);

    let (c, k) = cert("client");
    let server = lab.s_server("good", &verify);
    let (code, r) = probe(
        &server.target(),
        &["--pki", &pki, "--cert", &c, "--key", &k],
    );
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(r["client_cert"]["sent"], true);
    assert_eq!(code, 0);

    for name in ["client-unknown-ca", "client-expired", "server-as-client"] {
        let (c, k) = cert(name);
        let server = lab.s_server("good", &verify);
        let (code, r) = probe(
            &server.target(),
            &["--pki", &pki, "--cert", &c, "--key", &k],
        );
        assert_eq!(r["outcome"], "client-cert-rejected", "{name}: {r}");
        assert!(
            r["detail"].as_str().unwrap_or("").contains("alert"),
            "{name}: the alert is the detail: {r}"
        );
        assert_eq!(code, 1);
    }
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn client_certificates_tls12() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let pki = s(lab.dir.path());
    let ca = s(&lab.path("ca.pem"));
    let verify = [
        "-Verify",
        "1",
        "-verify_return_error",
        "-CAfile",
        &ca,
        "-tls1_2",
    ];

    // On TLS 1.2 an OpenSSL server answers a missing client certificate with alert 40
    // (handshake_failure): the probe knows the server had asked, so it is not a cipher problem.
    let server = lab.s_server("good", &verify);
    let (_, r) = probe(&server.target(), &["--pki", &pki]);
    assert_eq!(r["outcome"], "client-cert-required", "{r}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap_or("")
            .contains("40 (handshake_failure)"),
        "{r}"
    );

    let c = s(&lab.path("client-expired.chain.pem"));
    let k = s(&lab.path("client-expired.key"));
    let server = lab.s_server("good", &verify);
    let (_, r) = probe(
        &server.target(),
        &["--pki", &pki, "--cert", &c, "--key", &k],
    );
    assert_eq!(r["outcome"], "client-cert-rejected", "{r}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap_or("")
            .contains("45 (certificate_expired)"),
        "{r}"
    );

    let c = s(&lab.path("client.chain.pem"));
    let k = s(&lab.path("client.key"));
    let server = lab.s_server("good", &verify);
    let (code, r) = probe(
        &server.target(),
        &["--pki", &pki, "--cert", &c, "--key", &k],
    );
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(r["tls"]["version"], "1.2");
    assert_eq!(code, 0);
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn versions_ciphers_and_alpn() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let pki = s(lab.dir.path());
    let cases: [(&[&str], &[&str], &str); 5] = [
        (&["-tls1_2"], &["--tls", "1.3"], "protocol-mismatch"),
        (&["-tls1_3"], &["--tls", "1.2"], "protocol-mismatch"),
        (
            &["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
            &["--ciphers", "TLS13_CHACHA20_POLY1305_SHA256"],
            "handshake-failure",
        ),
        // s_server without h2 ignores the client's ALPN and completes the handshake; a gRPC
        // client (which needs h2) still fails.
        (&["-alpn", "http/1.1"], &["--alpn", "h2"], "alpn-mismatch"),
        (&["-alpn", "h2"], &["--alpn", "h2"], "ok"),
    ];
    for (server_args, probe_args, expected) in cases {
        let server = lab.s_server("good", server_args);
        let mut args = vec!["--pki", pki.as_str()];
        args.extend_from_slice(probe_args);
        let (code, r) = probe(&server.target(), &args);
        assert_eq!(
            r["outcome"], expected,
            "{server_args:?} vs {probe_args:?}: {r}"
        );
        assert_eq!(code, if expected == "ok" { 0 } else { 1 });
        if expected == "protocol-mismatch" {
            assert!(
                r["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("70 (protocol_version)"),
                "{r}"
            );
        }
        if expected == "ok" {
            assert_eq!(r["tls"]["alpn"], "h2", "{r}");
        }
    }
}
