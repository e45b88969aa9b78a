//! Worked examples of `certlab::fixture` for Rust integration tests: a real rustls client and
//! server over loopback — a good server, an expired one that must fail, and mutual TLS.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use certlab::Fault;
use certlab::fixture::TestPki;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

/// Serves one connection: reads a line, answers "pong". Returns what the server saw.
fn serve_once(config: ServerConfig) -> (u16, JoinHandle<Result<String, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(config)).unwrap(), tcp);
        let mut buf = [0u8; 16];
        let n = tls.read(&mut buf).map_err(|e| e.to_string())?;
        tls.write_all(b"pong").map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    });
    (port, handle)
}

/// Connects, sends "ping", returns the answer or the TLS error.
fn ping(config: ClientConfig, port: u16) -> Result<String, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let conn = ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(b"ping").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer)
}

#[test]
fn a_good_server_certificate_completes_the_handshake() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let (port, handle) = serve_once(server.server_config());
    assert_eq!(ping(pki.client_config(), port).unwrap(), "pong");
    assert_eq!(handle.join().unwrap().unwrap(), "ping");
}

#[test]
fn an_expired_server_certificate_fails_the_handshake() {
    let mut pki = TestPki::new();
    let server = pki
        .server(["localhost"])
        .fault(Fault::Expired)
        .issue()
        .unwrap();
    assert_eq!(server.entity().expected, Some(certlab::Outcome::Expired));
    let (port, handle) = serve_once(server.server_config());
    let err = ping(pki.client_config(), port).unwrap_err();
    assert!(
        err.contains("invalid peer certificate") && err.contains("expired"),
        "{err}"
    );
    assert!(
        handle.join().unwrap().is_err(),
        "the server must see the handshake fail"
    );
}

#[test]
fn a_wrong_host_certificate_fails_with_not_valid_for_name() {
    let mut pki = TestPki::new();
    let server = pki
        .server(["localhost"])
        .fault(Fault::WrongHost)
        .issue()
        .unwrap();
    let (port, handle) = serve_once(server.server_config());
    let err = ping(pki.client_config(), port).unwrap_err();
    assert!(err.contains("not valid for name \"localhost\""), "{err}");
    let _ = handle.join();
}

#[test]
fn mutual_tls_accepts_the_pki_client_and_refuses_none() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let alice = pki.client("alice").issue().unwrap();

    let (port, handle) = serve_once(server.server_config_requiring_clients());
    assert_eq!(ping(alice.client_config(&pki), port).unwrap(), "pong");
    assert_eq!(handle.join().unwrap().unwrap(), "ping");

    // Without a client certificate the server refuses (TLS 1.3: the alert arrives on read).
    let (port, handle) = serve_once(server.server_config_requiring_clients());
    let err = ping(pki.client_config(), port).unwrap_err();
    assert!(err.contains("CertificateRequired"), "{err}");
    let server_err = handle.join().unwrap().unwrap_err();
    assert!(
        server_err.contains("peer sent no certificates"),
        "{server_err}"
    );
}

#[test]
fn a_client_from_another_pki_is_rejected() {
    let mut pki = TestPki::new();
    let mut other = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let mallory = other.client("mallory").issue().unwrap();
    let (port, handle) = serve_once(server.server_config_requiring_clients());
    let err = ping(mallory.client_config(&pki), port).unwrap_err();
    assert!(
        err.contains("UnknownCA") || err.contains("unknown"),
        "{err}"
    );
    assert!(
        handle
            .join()
            .unwrap()
            .unwrap_err()
            .contains("UnknownIssuer")
    );
}

/// A client written as one combined file (`combined_file()`: key, certificate, intermediates,
/// mode 0600) holds `key_and_chain_pem()`, and what is read back from that one file completes
/// mutual TLS with the fixture's server.
#[test]
fn a_combined_client_file_completes_mutual_tls() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let agent = pki
        .client("agent")
        .name("agent")
        .combined_file()
        .issue()
        .unwrap();
    let dir = pki.write_to_tempdir().unwrap();
    let file = dir.path().join("agent.pem");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        agent.key_and_chain_pem()
    );
    assert_eq!(crate::common::mode(&file), 0o600);
    assert!(!dir.path().join("agent.key").exists());
    assert!(!dir.path().join("agent.chain.pem").exists());

    let certs = certlab::pem::read_certs(&file).unwrap();
    assert_eq!(certs, agent.chain_der());
    let key = certlab::pki::export::read_key(&std::fs::read(&file).unwrap(), None).unwrap();
    let config = ClientConfig::builder()
        .with_root_certificates(pki.root_store())
        .with_client_auth_cert(certs, key.to_private_key_der())
        .unwrap();
    let (port, handle) = serve_once(server.server_config_requiring_clients());
    assert_eq!(ping(config, port).unwrap(), "pong");
    assert_eq!(handle.join().unwrap().unwrap(), "ping");
}
