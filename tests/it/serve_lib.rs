//! The `certlab::serve` library on its own (no external tools): chains presented as given,
//! key checks, errors, client certificates and session tickets, plaintext, deadlines (load,
//! limits and stopping: `serve_load.rs`).

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certlab::pem::{FileError, FileErrorKind};
use certlab::serve::{ServeError, ServeSettings, serve};
use certlab::tls::TlsVersion;
use common::Lab;
use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::{AlertDescription, ClientConfig, ClientConnection, DigitallySignedStruct, NamedGroup};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts any server certificate and records the chain as presented.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap() = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Counts the TLS 1.3 session tickets the server sends.
#[derive(Debug)]
struct TicketCounter {
    inner: Arc<ClientSessionMemoryCache>,
    tickets: AtomicUsize,
}

impl ClientSessionStore for TicketCounter {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(name, group)
    }
    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(name)
    }
    fn set_tls12_session(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.inner.set_tls12_session(name, value)
    }
    fn tls12_session(
        &self,
        name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.inner.tls12_session(name)
    }
    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.inner.remove_tls12_session(name)
    }
    fn insert_tls13_ticket(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.tickets.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_tls13_ticket(name, value)
    }
    fn take_tls13_ticket(
        &self,
        _name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        None // never resume: every connection is a full handshake
    }
}

/// What our own test client saw.
struct Seen {
    chain: Vec<CertificateDer<'static>>,
    tickets: usize,
    alpn: Option<Vec<u8>>,
    /// The plaintext the server sent, or the error that ended the connection.
    answer: Result<String, rustls::Error>,
}

struct Client {
    tls: Option<TlsVersion>,
    alpn: Vec<&'static str>,
    cert: Option<(
        Vec<CertificateDer<'static>>,
        pki_types::PrivateKeyDer<'static>,
    )>,
}

impl Client {
    fn plain() -> Client {
        Client {
            tls: None,
            alpn: vec!["http/1.1"],
            cert: None,
        }
    }

    /// Connects, handshakes (accepting any certificate), sends a GET and reads to the end.
    fn get(self, addr: SocketAddr) -> Seen {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let recorder = Arc::new(Recorder {
            chain: Mutex::new(Vec::new()),
            provider: provider.clone(),
        });
        let versions: &[&rustls::SupportedProtocolVersion] = match self.tls {
            None => rustls::DEFAULT_VERSIONS,
            Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
            Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone());
        let mut config = match self.cert {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let store = Arc::new(TicketCounter {
            inner: Arc::new(ClientSessionMemoryCache::new(8)),
            tickets: AtomicUsize::new(0),
        });
        config.resumption = Resumption::store(store.clone());
        let mut conn =
            ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
        let mut sock = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(TIMEOUT)).unwrap();
        let mut stream = rustls::Stream::new(&mut conn, &mut sock);
        let mut text = Vec::new();
        let result = stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .and_then(|_| stream.read_to_end(&mut text));
        let answer = match result {
            Ok(_) => Ok(String::from_utf8_lossy(&text).into_owned()),
            Err(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => Err(tls.clone()),
                None if !text.is_empty() => Ok(String::from_utf8_lossy(&text).into_owned()),
                None => Err(rustls::Error::General(e.to_string())),
            },
        };
        Seen {
            chain: recorder.chain.lock().unwrap().clone(),
            tickets: store.tickets.load(Ordering::SeqCst),
            alpn: conn.alpn_protocol().map(|p| p.to_vec()),
            answer,
        }
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn every_chain_is_presented_exactly_as_given() {
    let lab = Lab::new();
    for name in [
        "good",
        "reversed-chain",
        "bad-signature",
        "unknown-critical-extension",
        "self-signed",
        "missing-intermediate",
        "path-len",
    ] {
        let scenario = lab.scenario(name);
        let settings = ServeSettings::from_scenario(&lab.pki, &scenario).unwrap();
        let want = settings.chain.clone();
        let ep = serve(settings, any_port()).unwrap();
        let seen = Client::plain().get(ep.addr());
        assert_eq!(seen.chain, want, "{name}: the chain as presented");
        let entity = lab.pki.entity(name).unwrap();
        assert_eq!(want, entity.chain, "{name}: the entity's served chain");
        if name == "reversed-chain" {
            // A client checks the handshake signature with the first certificate's key, which
            // is the intermediate's: the presented order is real, so that check fails.
            assert_eq!(
                seen.answer,
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::BadSignature
                ))
            );
            continue;
        }
        if name == "unknown-critical-extension" {
            // Checking the handshake signature parses the leaf with webpki, which refuses it.
            let err = seen.answer.unwrap_err().to_string();
            assert!(err.contains("UnsupportedCriticalExtension"), "{err}");
            continue;
        }
        let answer = seen.answer.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n"),
            "{name}: {answer}"
        );
        assert!(
            answer.ends_with(&format!("certlab scenario {name}: TLS handshake ok\n")),
            "{name}: {answer}"
        );
    }
    // The reversed chain really is reversed: its last certificate is the good-style leaf.
    let reversed = &lab.pki.entity("reversed-chain").unwrap().chain;
    assert_eq!(
        reversed.last(),
        Some(&lab.pki.entity("reversed-chain").unwrap().cert)
    );
}

#[test]
fn a_key_that_does_not_match_the_leaf_stops_serve() {
    let lab = Lab::new();
    let scenario = lab.scenario("key-mismatch");
    assert_eq!(
        scenario.serve_error,
        Some(certlab::pki::model::ServeRefusal::KeyMismatch)
    );
    let settings = ServeSettings::from_scenario(&lab.pki, &scenario).unwrap();
    let err = serve(settings, any_port()).unwrap_err();
    assert!(matches!(err, ServeError::KeyMismatch(_)), "{err:?}");
    assert!(err.to_string().starts_with("key-mismatch"), "{err}");
    // Another certificate's (matching) key is fine; the good leaf with the client's key is not.
    let good = lab.pki.entity("good").unwrap();
    let client = lab.pki.entity("client").unwrap();
    let wrong = ServeSettings::new("x", good.chain.clone(), client.key.to_private_key_der());
    assert!(matches!(
        serve(wrong, any_port()),
        Err(ServeError::KeyMismatch(_))
    ));
}

#[test]
fn errors_for_bad_settings_and_files() {
    let lab = Lab::new();
    let good = || ServeSettings::from_scenario(&lab.pki, &lab.scenario("good")).unwrap();
    let ep = serve(good(), any_port()).unwrap();
    // Address in use.
    let err = serve(good(), ep.addr()).unwrap_err();
    assert!(matches!(err, ServeError::Bind { .. }), "{err:?}");
    // Unknown cipher suite.
    let mut s = good();
    s.ciphers = vec!["TLS13_NOPE".into()];
    let err = serve(s, any_port()).unwrap_err();
    assert!(matches!(err, ServeError::UnknownCipher(ref c) if c == "TLS13_NOPE"));
    // TLS 1.2 with TLS 1.3 suites only: nothing left to offer.
    let mut s = good();
    s.tls = Some(TlsVersion::Tls12);
    s.ciphers = vec!["TLS13_AES_128_GCM_SHA256".into()];
    assert!(matches!(
        serve(s, any_port()),
        Err(ServeError::Config { .. })
    ));
    // Files: fine, missing, not PEM.
    let ok = ServeSettings::from_files("files", &lab.path("good.chain.pem"), &lab.path("good.key"))
        .unwrap();
    assert_eq!(ok.chain, lab.pki.entity("good").unwrap().chain);
    let missing = ServeSettings::from_files("x", &lab.path("nope.pem"), &lab.path("good.key"));
    assert!(matches!(
        missing,
        Err(ServeError::File(FileError {
            kind: FileErrorKind::Unreadable(_),
            ..
        }))
    ));
    std::fs::write(lab.path("junk.pem"), "not pem").unwrap();
    let junk = ServeSettings::from_files("x", &lab.path("junk.pem"), &lab.path("good.key"));
    assert!(
        matches!(
            junk,
            Err(ServeError::File(FileError {
                kind: FileErrorKind::Malformed(_),
                ..
            }))
        ),
        "{junk:?}"
    );
    let key_as_chain = ServeSettings::from_files("x", &lab.path("good.key"), &lab.path("good.key"));
    assert!(matches!(
        key_as_chain,
        Err(ServeError::File(FileError {
            kind: FileErrorKind::NoBlock(_),
            ..
        }))
    ));
}

#[test]
fn client_certificates_accepted_with_a_ticket_rejected_with_the_alert() {
    let lab = Lab::new();
    let client = |entity: &str| {
        let e = lab.pki.entity(entity).unwrap();
        Client {
            tls: None,
            alpn: vec!["http/1.1"],
            cert: Some((e.chain.clone(), e.key.to_private_key_der())),
        }
    };
    // Accepted: a TLS 1.3 session ticket arrives, then the 200.
    let ep = lab.serve("client-ok");
    let seen = client("client").get(ep.addr());
    assert!(seen.answer.as_ref().unwrap().starts_with("HTTP/1.1 200 OK"));
    assert!(seen.tickets >= 1, "a session ticket after accepting");
    // Rejected: the alert arrives (our client's handshake already ended in TLS 1.3).
    for (scenario, entity, alert) in [
        (
            "client-unknown-ca",
            "client-unknown-ca",
            AlertDescription::UnknownCA,
        ),
        (
            "client-same-name-root",
            "client-same-name-root",
            AlertDescription::DecryptError,
        ),
        (
            "client-expired",
            "client-expired",
            AlertDescription::CertificateExpired,
        ),
        (
            "client-wrong-eku",
            "server-as-client",
            AlertDescription::UnsupportedCertificate,
        ),
    ] {
        let ep = lab.serve(scenario);
        let seen = client(entity).get(ep.addr());
        assert_eq!(
            seen.answer,
            Err(rustls::Error::AlertReceived(alert)),
            "{scenario}"
        );
        assert_eq!(
            seen.tickets, 0,
            "{scenario}: no ticket for a rejected client"
        );
        let logs = wait_logs(&ep, 1);
        assert!(
            matches!(
                logs[0].client_cert,
                certlab::serve::ClientCertLog::Rejected(_)
            ),
            "{scenario}: {}",
            logs[0]
        );
    }
    // None sent.
    let ep = lab.serve("client-none");
    let seen = Client::plain().get(ep.addr());
    assert_eq!(
        seen.answer,
        Err(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
        ))
    );
}

#[test]
fn alpn_default_prefers_http11_and_completes_h2() {
    let lab = Lab::new();
    let ep = lab.serve("good");
    let mut c = Client::plain();
    c.alpn = vec!["h2", "http/1.1"];
    assert_eq!(c.get(ep.addr()).alpn.as_deref(), Some(&b"http/1.1"[..]));
    let mut c = Client::plain();
    c.alpn = vec!["h2"];
    let seen = c.get(ep.addr());
    assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(seen.answer, Ok(String::new()), "h2: clean close, no answer");
    let ep = lab.serve("alpn-no-h2");
    let mut c = Client::plain();
    c.alpn = vec!["h2"];
    assert_eq!(
        c.get(ep.addr()).answer,
        Err(rustls::Error::AlertReceived(
            AlertDescription::NoApplicationProtocol
        ))
    );
}

#[test]
fn versions_are_restricted() {
    let lab = Lab::new();
    let ep = lab.serve("tls12-vs-tls13");
    let mut c = Client::plain();
    c.tls = Some(TlsVersion::Tls13);
    assert_eq!(
        c.get(ep.addr()).answer,
        Err(rustls::Error::AlertReceived(
            AlertDescription::ProtocolVersion
        ))
    );
    let mut c = Client::plain();
    c.tls = Some(TlsVersion::Tls12);
    assert!(c.get(ep.addr()).answer.unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn plaintext_answers_anything_with_400() {
    let ep = serve(ServeSettings::plaintext("plain"), any_port()).unwrap();
    for request in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"\x16\x03\x01\x00\x05hello",
    ] {
        let mut sock = TcpStream::connect_timeout(&ep.addr(), TIMEOUT).unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock.write_all(request).unwrap();
        let mut answer = String::new();
        sock.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
    }
}

fn wait_logs(ep: &certlab::serve::Endpoint, n: usize) -> Vec<certlab::serve::ConnectionLog> {
    let start = Instant::now();
    loop {
        let logs = ep.connections();
        if logs.len() >= n || start.elapsed() > TIMEOUT {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_dripping_client_is_closed_at_the_deadline() {
    let lab = Lab::new();
    let ep = lab.serve("good");
    let mut sock = TcpStream::connect_timeout(&ep.addr(), TIMEOUT).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    // The start of a TLS record header, one byte at a time: every read gets something, but
    // the handshake never completes.
    let start = Instant::now();
    let drip = [0x16u8, 0x03, 0x01, 0x40, 0x00];
    let mut closed = None;
    let mut buf = [0u8; 64];
    for i in 0..40 {
        let _ = sock.write_all(&drip[i % drip.len()..][..1]);
        match sock.read(&mut buf) {
            Ok(0) => {
                closed = Some(start.elapsed());
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed = Some(start.elapsed());
                break;
            }
        }
    }
    let closed = closed.expect("the server closed the connection");
    assert!(
        closed >= Duration::from_secs(4) && closed < Duration::from_secs(8),
        "closed after {closed:?}"
    );
    let logs = wait_logs(&ep, 1);
    assert_eq!(logs[0].result, "handshake failed", "{}", logs[0]);
}

#[test]
fn serve_scenario_serves_or_refuses() {
    let lab = Lab::new();
    let any = any_port();
    let ep = certlab::serve::serve_scenario(&lab.pki, &lab.scenario("good"), any).unwrap();
    assert_eq!(ep.name(), "good");
    assert!(
        Client::plain()
            .get(ep.addr())
            .answer
            .unwrap()
            .contains("certlab scenario good")
    );
    let err = certlab::serve::serve_scenario(&lab.pki, &lab.scenario("key-mismatch"), any);
    assert!(matches!(err, Err(ServeError::KeyMismatch(_))));
    // A scenario naming an entity the PKI does not have is bad input.
    let mut broken = lab.scenario("good");
    broken.server.entity = Some("nobody".into());
    let err = certlab::serve::serve_scenario(&lab.pki, &broken, any).unwrap_err();
    assert!(matches!(err, ServeError::UnknownEntity { .. }));
}
