//! `certlab explain` against what real clients print: the lab's scenarios are served by a plain
//! rustls server (or a plain TCP one for `plaintext`) on loopback, curl, `openssl s_client`,
//! Python's `ssl` and a rustls client connect, and their error text, fed to `explain`, must
//! give the scenario's expected outcome (or name it among the alternatives, for generic texts).

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use certlab::Outcome;
use certlab::explain;
use certlab::pki::manifest::Manifest;
use certlab::pki::scenario::Scenario;
use certlab::tls::{ClientAuth, TlsVersion};
use common::{have_tool, load_certs, load_key, run, tempdir, text};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The lab PKI, issued now (the clients check dates against the real clock), in `dir`.
fn lab(dir: &Path) -> Manifest {
    common::generate(dir, &["--template", "lab"])
}

fn provider(ciphers: &[String]) -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    if !ciphers.is_empty() {
        p.cipher_suites
            .retain(|s| ciphers.iter().any(|c| format!("{:?}", s.suite()) == *c));
    }
    Arc::new(p)
}

fn versions(tls: Option<TlsVersion>) -> Vec<&'static rustls::SupportedProtocolVersion> {
    match tls {
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        Some(TlsVersion::Tls12) => vec![&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => vec![&rustls::version::TLS13],
    }
}

/// A rustls server for a scenario's server side, built from the lab's files (no certlab code),
/// serving one connection; `None` when plain rustls cannot serve the chain.
fn server_config(dir: &Path, s: &Scenario) -> Option<Arc<rustls::ServerConfig>> {
    let entity = s.server.entity.as_ref()?;
    let provider = provider(&s.server.ciphers);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(s.server.tls))
        .ok()?;
    let builder = if s.server.client_auth == ClientAuth::None {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(&dir.join("ca.pem")) {
            roots.add(c).unwrap();
        }
        let v =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(v)
    };
    let mut config = builder
        .with_single_cert(
            load_certs(&dir.join(format!("{entity}.chain.pem"))),
            load_key(&dir.join(format!("{entity}.key"))),
        )
        .ok()?;
    config.alpn_protocols = match &s.server.alpn {
        Some(list) => list.iter().map(|p| p.as_bytes().to_vec()).collect(),
        None => vec![b"http/1.1".to_vec(), b"h2".to_vec()],
    };
    Some(Arc::new(config))
}

/// Serves one connection: TLS with `config`, or plain HTTP 400 when `None`.
fn serve_once(config: Option<Arc<rustls::ServerConfig>>) -> (u16, JoinHandle<()>) {
    serve(config, Duration::ZERO)
}

/// Serves connections: the first, then any more that arrive within `linger` of the previous
/// one (clients such as Java's HttpsURLConnection retry after a failed handshake).
fn serve(config: Option<Arc<rustls::ServerConfig>>, linger: Duration) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        handle_one(tcp, config.clone());
        listener.set_nonblocking(true).unwrap();
        let mut last = std::time::Instant::now();
        while last.elapsed() < linger {
            match listener.accept() {
                Ok((tcp, _)) => {
                    tcp.set_nonblocking(false).unwrap();
                    handle_one(tcp, config.clone());
                    last = std::time::Instant::now();
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (port, handle)
}

fn handle_one(tcp: TcpStream, config: Option<Arc<rustls::ServerConfig>>) {
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 2048];
    match config {
        None => {
            let mut tcp = tcp;
            let _ = tcp.read(&mut buf);
            let _ = tcp.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Some(config) => {
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            if let Ok(n) = tls.read(&mut buf)
                && n > 0
            {
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    }
}

/// The scenarios a plain rustls server can present (it refuses a chain whose first certificate
/// is not the key's, and `cn-only` is accepted by OpenSSL-based clients by design).
fn live_scenarios(m: &Manifest) -> Vec<Scenario> {
    let mut all: Vec<Scenario> = m
        .scenarios
        .iter()
        .filter(|s| s.expected.is_some_and(|o| o != Outcome::Ok))
        .filter(|s| !["reversed-chain", "cn-only", "alpn-no-h2"].contains(&s.name.as_str()))
        .cloned()
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

struct Observed {
    scenario: String,
    expected: Outcome,
    text: String,
}

impl Observed {
    /// What a client printed for a scenario.
    fn of(s: &Scenario, text: impl Into<String>) -> Observed {
        Observed {
            scenario: s.name.clone(),
            expected: s.expected.unwrap(),
            text: text.into(),
        }
    }
}

/// Feeds each observed message to `explain` and asserts the outcome; returns a printable table.
fn check_all(client: &str, observed: &[Observed]) {
    let mut wrong = Vec::new();
    for o in observed {
        let got = explain::find(&o.text);
        let ok = got.is_some_and(|m| {
            m.pattern.outcome == o.expected || m.pattern.also.contains(&o.expected)
        });
        let shown = got.map_or("unknown".to_string(), |m| {
            format!("{} via `{}`", m.pattern.outcome, m.pattern.pattern)
        });
        eprintln!(
            "{client:<8} {:<26} {:<26} {shown}",
            o.scenario,
            o.expected.name()
        );
        if !ok {
            wrong.push(format!(
                "{}: expected {}, {client} said {:?} -> {shown}",
                o.scenario, o.expected, o.text
            ));
        }
    }
    assert!(
        observed.len() >= 5,
        "too few scenarios ran: {}",
        observed.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn host_of(s: &Scenario) -> &str {
    s.client.connect.as_deref().unwrap_or("localhost")
}

#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn curl_messages_explain_to_the_lab_outcomes() {
    if !have_tool("curl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    let m = lab(&dir);
    let mut observed = Vec::new();
    for s in live_scenarios(&m) {
        let config = server_config(&dir, &s);
        if config.is_none() && !s.server.plaintext {
            eprintln!("skip {}: plain rustls cannot serve it", s.name);
            continue;
        }
        let (port, handle) = serve_once(config);
        let host = host_of(&s);
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-o", "/dev/null", "--max-time", "10", "--cacert"])
            .arg(dir.join("ca.pem"));
        if host == "localhost" {
            cmd.arg("--resolve")
                .arg(format!("localhost:{port}:127.0.0.1"));
        }
        if let Some(cert) = &s.client.cert {
            cmd.arg("--cert").arg(dir.join(format!("{cert}.chain.pem")));
            cmd.arg("--key").arg(dir.join(format!("{cert}.key")));
        }
        // curl makes OpenSSL check a CRL for every certificate of the chain once given one
        // ("unable to get certificate CRL" for the intermediate, whose root has none), so the
        // CRL goes only to the scenario about revocation.
        for issuer in s
            .client
            .crl
            .iter()
            .filter(|_| s.expected == Some(Outcome::Revoked))
        {
            cmd.arg("--crlfile")
                .arg(dir.join(format!("{issuer}.crl.pem")));
        }
        match s.client.tls {
            Some(TlsVersion::Tls12) => {
                cmd.args(["--tlsv1.2", "--tls-max", "1.2"]);
            }
            Some(TlsVersion::Tls13) => {
                cmd.arg("--tlsv1.3");
            }
            None => {}
        }
        if !s.client.ciphers.is_empty() {
            let names: Vec<_> = s
                .client
                .ciphers
                .iter()
                .map(|c| c.replace("TLS13_", "TLS_"))
                .collect();
            cmd.arg("--tls13-ciphers").arg(names.join(":"));
        }
        let out = run(cmd.arg(format!("https://{host}:{port}/")));
        let _ = handle.join();
        assert!(!out.status.success(), "{}: curl succeeded", s.name);
        observed.push(Observed::of(
            &s,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    check_all("curl", &observed);
}

/// `openssl s_client -verify_return_error` for the certificate scenarios.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_s_client_messages_explain_to_the_lab_outcomes() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    let m = lab(&dir);
    let mut observed = Vec::new();
    for s in live_scenarios(&m).into_iter().filter(|s| {
        s.server.client_auth == ClientAuth::None && s.server.tls.is_none() && s.client.tls.is_none()
    }) {
        let Some(config) = server_config(&dir, &s) else {
            continue;
        };
        let (port, handle) = serve_once(Some(config));
        let host = host_of(&s);
        let mut cmd = Command::new("openssl");
        cmd.args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(dir.join("ca.pem"));
        if host.parse::<std::net::IpAddr>().is_ok() {
            cmd.args(["-verify_ip", host]);
        } else {
            cmd.args(["-servername", host, "-verify_hostname", host]);
        }
        if !s.client.crl.is_empty() {
            cmd.arg("-crl_check");
            for issuer in &s.client.crl {
                cmd.arg("-CRL").arg(dir.join(format!("{issuer}.crl.pem")));
            }
        }
        let out = run(cmd.stdin(std::process::Stdio::null()));
        let _ = handle.join();
        let text = text(&out);
        // The verify error line is what a person copies.
        let line = text
            .lines()
            .find(|l| l.starts_with("verify error:"))
            .unwrap_or_else(|| panic!("{}: no verify error in\n{text}", s.name));
        observed.push(Observed::of(&s, line.to_string()));
    }
    check_all("openssl", &observed);
}

const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            tls.recv(100)
    print("ok")
except Exception as e:
    print(f"{type(e).__name__}: {e}")
"#;

/// Python's ssl module for the hostname, IP, CA and date scenarios and a missing client
/// certificate.
#[test]
#[ignore = "needs python3 (installed by .ci/run)"]
fn python_ssl_messages_explain_to_the_lab_outcomes() {
    let python = "python3";
    if !have_tool(python) {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    let m = lab(&dir);
    let script = tmp.path().join("client.py");
    std::fs::write(&script, PYTHON_CLIENT).unwrap();
    let wanted = [
        "wrong-host",
        "ip-mismatch",
        "unknown-ca",
        "expired",
        "not-yet-valid",
        "self-signed",
        "client-none",
    ];
    let mut observed = Vec::new();
    for s in live_scenarios(&m)
        .into_iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
    {
        let config = server_config(&dir, &s).unwrap();
        let (port, handle) = serve_once(Some(config));
        let out = run(Command::new(python)
            .arg(&script)
            .arg(host_of(&s))
            .arg(port.to_string())
            .arg(dir.join("ca.pem")));
        let _ = handle.join();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_ne!(text, "ok", "{}: python connected", s.name);
        observed.push(Observed::of(&s, text));
    }
    assert_eq!(observed.len(), wanted.len());
    check_all("python", &observed);
}

/// A plain rustls client (the error's `Display`, as an application would log it).
#[test]
fn rustls_client_messages_explain_to_the_lab_outcomes() {
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    let m = lab(&dir);
    let mut observed = Vec::new();
    for s in live_scenarios(&m) {
        let config = server_config(&dir, &s);
        if config.is_none() && !s.server.plaintext {
            continue;
        }
        if !s.client.crl.is_empty() && s.expected == Some(Outcome::Revoked)
            || s.client.cert.is_some()
        {
            continue; // CRLs and client certificates need more rustls setup than a log line.
        }
        if s.name == "expired-root" {
            continue; // webpki does not check trust-anchor dates: plain rustls connects.
        }
        let (port, handle) = serve_once(config);
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(&dir.join("ca.pem")) {
            roots.add(c).unwrap();
        }
        let client = rustls::ClientConfig::builder_with_provider(provider(&s.client.ciphers))
            .with_protocol_versions(&versions(s.client.tls))
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = pki_types::ServerName::try_from(host_of(&s).to_string()).unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(TIMEOUT)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let result = tls
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .and_then(|_| {
                let mut buf = Vec::new();
                tls.read_to_end(&mut buf).map(|_| buf)
            });
        drop(tls);
        let _ = handle.join();
        let err = result.expect_err(&format!("{}: rustls connected", s.name));
        observed.push(Observed::of(&s, err.to_string()));
    }
    check_all("rustls", &observed);
}

const JAVA_CLIENT: &str = r#"
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class Client {
    public static void main(String[] args) {
        try {
            HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
            c.setConnectTimeout(10000);
            c.setReadTimeout(10000);
            c.getResponseCode();
            System.out.println("ok");
        } catch (Exception e) {
            // As a stack trace shows it: the exception, then its causes.
            StringBuilder text = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) {
                text.append(text.length() == 0 ? "" : " / Caused by: ").append(t);
            }
            System.out.println(text);
        }
    }
}
"#;

/// Java's JSSE (HttpsURLConnection with a PKCS#12 truststore made by keytool from `ca.pem`).
#[test]
#[ignore = "needs java and keytool (installed by .ci/run)"]
fn java_messages_explain_to_the_lab_outcomes() {
    if !have_tool("java") || !have_tool("keytool") {
        return;
    }
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    let m = lab(&dir);
    let store = tmp.path().join("trust.p12");
    let made = run(Command::new("keytool")
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "certlab-root",
            "-storetype",
            "PKCS12",
        ])
        .args(["-storepass", "changeit", "-keystore"])
        .arg(&store)
        .arg("-file")
        .arg(dir.join("ca.pem")));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let source = tmp.path().join("Client.java");
    std::fs::write(&source, JAVA_CLIENT).unwrap();
    let wanted = [
        "wrong-host",
        "ip-mismatch",
        "unknown-ca",
        "self-signed",
        "expired",
        "client-none",
    ];
    let mut observed = Vec::new();
    for s in live_scenarios(&m)
        .into_iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
    {
        let config = server_config(&dir, &s).unwrap();
        let (port, handle) = serve(Some(config), Duration::from_secs(1));
        let out = run(Command::new("java")
            .arg("-Djava.net.preferIPv4Stack=true")
            .arg(format!("-Djavax.net.ssl.trustStore={}", store.display()))
            .arg("-Djavax.net.ssl.trustStorePassword=changeit")
            .arg("-Djavax.net.ssl.trustStoreType=PKCS12")
            .arg(&source)
            .arg(format!("https://{}:{port}/", host_of(&s))));
        let _ = handle.join();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_ne!(text, "ok", "{}: java connected", s.name);
        assert!(
            !text.is_empty(),
            "{}: {}",
            s.name,
            String::from_utf8_lossy(&out.stderr)
        );
        observed.push(Observed::of(&s, text));
    }
    assert_eq!(observed.len(), wanted.len());
    check_all("java", &observed);
}
