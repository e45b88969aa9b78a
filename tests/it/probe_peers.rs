//! `certlab probe` against peers that never get as far as a certificate — a plain HTTP port,
//! a closed port, a server that hangs up, one that says nothing — and its bad-input paths.
//! Loopback only, port 0, every socket with a timeout.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use certlab::Outcome;
use certlab::verify::probe::{ProbeOptions, probe};
use common::{certlab, probe_json};

/// A one-connection TCP peer on 127.0.0.1:0 doing `behave` with the accepted socket.
fn peer(
    behave: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> (std::net::SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).ok();
        if let Ok((sock, _)) = listener.accept() {
            sock.set_read_timeout(Some(Duration::from_secs(5))).ok();
            sock.set_write_timeout(Some(Duration::from_secs(5))).ok();
            behave(sock);
        }
    });
    (addr, handle)
}

#[test]
fn plain_http_port_is_not_tls() {
    let (addr, h) = peer(|mut s| {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let (code, r) = probe_json(&addr.to_string(), &[]);
    h.join().unwrap();
    assert_eq!(r["outcome"], "not-tls", "{r}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP/1.1 400 Bad Request")
    );
    assert_eq!(r["explanation"], Outcome::NotTls.explanation());
    assert_eq!(r["client_says"], Outcome::NotTls.client_says());
    assert_eq!(code, 1);
}

#[test]
fn closed_port_is_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, r) = probe_json(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(r["outcome"], "refused", "{r}");
    assert_eq!(code, 1);
    // And --expect refused makes it a success.
    let (code, _) = probe_json(&format!("127.0.0.1:{port}"), &["--expect", "refused"]);
    assert_eq!(code, 0);
}

#[test]
fn hang_up_during_the_handshake_is_reset() {
    let (addr, h) = peer(|s| {
        drop(s);
    });
    let (code, r) = probe_json(&addr.to_string(), &[]);
    h.join().unwrap();
    assert_eq!(r["outcome"], "reset", "{r}");
    assert_eq!(code, 1);

    // Reading the ClientHello first and then closing is a reset too.
    let (addr, h) = peer(|mut s| {
        let mut buf = [0u8; 2048];
        let _ = s.read(&mut buf);
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let (_, r) = probe_json(&addr.to_string(), &[]);
    h.join().unwrap();
    assert_eq!(r["outcome"], "reset", "{r}");
}

#[test]
fn silence_is_a_timeout() {
    let (addr, h) = peer(|mut s| {
        // Read the ClientHello and say nothing until the probe gives up.
        let mut buf = [0u8; 2048];
        let _ = s.read(&mut buf);
        let _ = s.read(&mut buf);
    });
    let started = std::time::Instant::now();
    let (code, r) = probe_json(&addr.to_string(), &["--timeout", "300ms"]);
    let took = started.elapsed();
    h.join().unwrap();
    assert_eq!(r["outcome"], "timeout", "{r}");
    assert!(r["detail"].as_str().unwrap().contains("300 ms"), "{r}");
    assert!(took < Duration::from_secs(10), "gave up in time: {took:?}");
    assert_eq!(code, 1);
}

#[test]
fn library_probe_of_a_tls_less_peer() {
    let (addr, h) = peer(|mut s| {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
    });
    let report = probe(
        &addr.to_string(),
        &ProbeOptions {
            trust: Some(Default::default()),
            timeout: Duration::from_secs(5),
            ..ProbeOptions::default()
        },
    )
    .expect("valid target");
    h.join().unwrap();
    assert_eq!(report.outcome, Outcome::NotTls);
    assert!(report.detail.as_deref().unwrap().contains("SSH-2.0"));
    assert!(report.chain.is_empty());
    assert!(report.tls.is_none());
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = common::tempdir();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["localhost"], "invalid target `localhost`"),
        (vec!["localhost:0"], "invalid target"),
        (vec!["[::1:443"], "invalid target"),
        (
            vec!["localhost:1", "--expect", "expird"],
            "unknown outcome `expird`",
        ),
        (vec!["localhost:1", "--timeout", "soon"], "invalid duration"),
        (vec!["localhost:1", "--tls", "1.1"], "1.1"),
        (
            vec!["localhost:1", "--ciphers", "TLS_NOPE"],
            "unknown cipher suite `TLS_NOPE`",
        ),
        (
            vec!["localhost:1", "--ca", "/nonexistent/ca.pem"],
            "/nonexistent/ca.pem",
        ),
        (vec!["localhost:1", "--ca", &empty], "the file is empty"),
        (
            vec!["localhost:1", "--pki", "/nonexistent/dir"],
            "/nonexistent/dir",
        ),
        (
            vec!["localhost:1", "--crl", &empty],
            "--crl needs --ca or --pki",
        ),
        (
            vec!["localhost:1", "--servername", "bad name"],
            "invalid server name `bad name`",
        ),
        (vec!["localhost:1", "--now", "tomorrow"], "invalid --now"),
        (vec!["localhost:1", "--cert", &empty], "--key"),
    ];
    for (args, message) in cases {
        let out = certlab()
            .arg("probe")
            .args(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn ipv6_targets_use_brackets() {
    let listener = match TcpListener::bind("[::1]:0") {
        Ok(l) => l,
        Err(e) => {
            common::skip(&format!("no IPv6 loopback here ({e})"));
            return;
        }
    };
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let (code, r) = probe_json(&format!("[::1]:{}", addr.port()), &[]);
    h.join().unwrap();
    assert_eq!(r["outcome"], "not-tls", "{r}");
    assert_eq!(r["address"], format!("[::1]:{}", addr.port()));
    assert_eq!(r["name"], "::1");
    assert_eq!(code, 1);
}

#[test]
#[ignore = "needs the system trust store (ca-certificates, installed by .ci/run)"]
fn without_ca_the_system_roots_are_trusted_and_do_not_know_the_lab() {
    if !std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        common::missing("the system trust store (ca-certificates) is missing");
        return;
    }
    let now = time::OffsetDateTime::now_utc();
    let pki = certlab::lab::lab_pki(now).expect("lab PKI");
    let scenario = pki
        .all_scenarios()
        .into_iter()
        .find(|s| s.name == "good")
        .unwrap();
    let settings = certlab::serve::ServeSettings::from_scenario(&pki, &scenario).unwrap();
    let ep = certlab::serve::serve(settings, "127.0.0.1:0".parse().unwrap()).unwrap();
    let (code, r) = probe_json(&format!("localhost:{}", ep.addr().port()), &[]);
    assert_eq!(r["outcome"], "unknown-ca", "{r}");
    assert_eq!(code, 1);
    assert_eq!(r["chain"].as_array().map(Vec::len), Some(2), "{r}");
}

#[test]
fn corrupt_tls_record_is_not_tls() {
    // A handshake record header followed by five bytes that are no handshake message.
    let (addr, h) = peer(|mut s| {
        let mut buf = [0u8; 2048];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"\x16\x03\x03\x00\x05hello");
        std::thread::sleep(Duration::from_millis(200));
    });
    let (code, r) = probe_json(&addr.to_string(), &[]);
    h.join().unwrap();
    assert_eq!(r["outcome"], "not-tls", "{r}");
    let detail = r["detail"].as_str().unwrap();
    assert!(detail.contains("not valid TLS"), "{r}");
    assert_eq!(code, 1);
}

/// Serves one TLS connection with the lab's `good` chain but another key: the handshake
/// signature cannot verify with the certificate's key.
#[derive(Debug)]
struct WrongKey(std::sync::Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for WrongKey {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[test]
fn handshake_signature_from_the_wrong_key_is_bad_signature() {
    use std::sync::Arc;
    let now = time::OffsetDateTime::now_utc();
    let pki = certlab::lab::lab_pki(now).expect("lab PKI");
    let good = pki.entity("good").unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let other = rcgen::KeyPair::generate().unwrap();
    let key = provider
        .key_provider
        .load_private_key(pki_types::PrivateKeyDer::Pkcs8(
            other.serialize_der().into(),
        ))
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(good.chain.clone(), key);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(WrongKey(Arc::new(certified))));
    let config = Arc::new(config);
    let (addr, h) = peer(move |mut s| {
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut s).is_err() {
                break;
            }
        }
    });
    let trust = certlab::verify::classify::TrustStore::from_roots(
        pki.trusted_roots().map(|e| e.cert.clone()).collect(),
    );
    let report = probe(
        &format!("localhost:{}", addr.port()),
        &ProbeOptions {
            trust: Some(trust),
            timeout: Duration::from_secs(5),
            ..ProbeOptions::default()
        },
    )
    .expect("valid target");
    h.join().unwrap();
    assert_eq!(report.outcome, Outcome::BadSignature, "{:?}", report.detail);
    assert!(
        report
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("handshake signature"),
        "{:?}",
        report.detail
    );
}

#[test]
fn probe_ca_takes_der_and_crl_files_with_several_crls() {
    let lab = common::Lab::new();
    let good = lab.serve("good");
    let revoked = lab.serve("revoked");
    // The lab's root as DER.
    let root = lab.pki.entity("root").expect("the lab's root");
    let der = lab.path("root.test.der");
    std::fs::write(&der, root.cert.as_ref()).unwrap();
    let der = der.display().to_string();
    let (code, r) = probe_json(
        &format!("localhost:{}", good.addr().port()),
        &["--ca", &der],
    );
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(code, 0);

    // A CRL file holding another CA's CRL first, then the one that revokes the leaf.
    let other_key = rcgen::KeyPair::generate().unwrap();
    let mut other = rcgen::CertificateParams::default();
    other
        .distinguished_name
        .push(rcgen::DnType::CommonName, "another CA");
    other.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    other.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let issuer = rcgen::Issuer::new(other, other_key);
    let now = time::OffsetDateTime::now_utc();
    let other_crl = rcgen::CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(30),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    let mut crls = other_crl.pem().unwrap();
    crls.push_str(&std::fs::read_to_string(lab.path("intermediate.crl.pem")).unwrap());
    let crl_file = lab.path("two.test.crl.pem");
    std::fs::write(&crl_file, crls).unwrap();
    let crl_file = crl_file.display().to_string();
    let ca = lab.path("ca.pem").display().to_string();
    let target = format!("localhost:{}", revoked.addr().port());
    let (_, r) = probe_json(&target, &["--ca", &ca]);
    assert_eq!(
        r["outcome"], "ok",
        "without the CRL the leaf looks fine: {r}"
    );
    let (code, r) = probe_json(&target, &["--ca", &ca, "--crl", &crl_file]);
    assert_eq!(r["outcome"], "revoked", "{r}");
    assert_eq!(code, 1);
}
