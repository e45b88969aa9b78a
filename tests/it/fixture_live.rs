//! Live fixtures: every server-side fault of the catalogue served by `TestPki::serve` and
//! probed through the library (`TestPki::probe`, the same probe as `certlab probe`) gives the
//! outcome the fault promises; a plain rustls client sees the handshake fail; mTLS cases.

use certlab::fixture::TestPki;
use certlab::pki::model::ALL_FAULTS;
use certlab::tls::ClientAuth;
use certlab::{Fault, Outcome};

#[test]
fn every_served_fault_gives_its_expected_outcome() {
    let mut pki = TestPki::new();
    let mut checked = 0;
    for fault in ALL_FAULTS {
        if !fault.is_served() || fault.serve_error().is_some() {
            continue;
        }
        let leaf = pki
            .server(["localhost", "127.0.0.1"])
            .fault(fault)
            .issue()
            .unwrap();
        let endpoint = pki.serve(&leaf).unwrap();
        let name = if fault.connects_by_ip() {
            "127.0.0.1"
        } else {
            "localhost"
        };
        let report = pki.probe_as(&endpoint, name, pki.probe_options());
        assert_eq!(
            Some(report.outcome),
            fault.expected(),
            "{fault}: {:?}",
            report.detail
        );
        if fault == Fault::None {
            assert_eq!(report.http.as_deref(), Some("HTTP/1.1 200 OK"));
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        ALL_FAULTS.len() - 2,
        "server-as-client and key-mismatch are not served"
    );
}

#[test]
fn assert_outcome_passes_on_the_expected_outcome_and_panics_otherwise() {
    let mut pki = TestPki::new();
    let wrong_host = pki
        .server(["localhost"])
        .fault(Fault::WrongHost)
        .issue()
        .unwrap();
    let endpoint = pki.serve(&wrong_host).unwrap();
    let report = pki.assert_outcome(&endpoint, Outcome::HostnameMismatch);
    assert_eq!(
        report.chain.len(),
        2,
        "leaf and intermediate were presented"
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pki.assert_outcome(&endpoint, Outcome::Ok);
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("expected `ok`") && message.contains("observed `hostname-mismatch`"),
        "{message}"
    );
}

#[test]
fn key_mismatch_is_refused_by_serve() {
    let mut pki = TestPki::new();
    let leaf = pki
        .server(["localhost"])
        .fault(Fault::KeyMismatch)
        .issue()
        .unwrap();
    let err = pki.serve(&leaf).unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
}

#[test]
fn a_rustls_client_fails_against_a_served_expired_certificate() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    let mut pki = TestPki::new();
    let expired = pki
        .server(["localhost"])
        .fault(Fault::Expired)
        .issue()
        .unwrap();
    let endpoint = pki.serve(&expired).unwrap();
    let conn = rustls::ClientConnection::new(
        Arc::new(pki.client_config()),
        "localhost".try_into().unwrap(),
    )
    .unwrap();
    let tcp = std::net::TcpStream::connect(endpoint.addr()).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let result = tls
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .and_then(|_| tls.read(&mut [0u8; 64]));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
}

#[test]
fn mutual_tls_outcomes_through_the_probe() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let alice = pki.client("alice").issue().unwrap();
    let expired = pki.client("old").fault(Fault::Expired).issue().unwrap();
    let endpoint = pki.serve_with(&server, ClientAuth::Required).unwrap();

    pki.assert_outcome(&endpoint, Outcome::ClientCertRequired);
    let with = |client: &certlab::fixture::Issued| {
        let mut options = pki.probe_options();
        options.client_cert = Some(client.client_cert());
        pki.probe_as(&endpoint, "localhost", options)
    };
    assert_eq!(with(&alice).outcome, Outcome::Ok);
    let rejected = with(&expired);
    assert_eq!(rejected.outcome, Outcome::ClientCertRejected);
    assert!(
        rejected
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("expired")
    );
}

/// `expected_by_client` says plain rustls accepts an expired trust anchor; this is the test
/// that saw it (and the probe, with certlab's extra check, says `expired`).
#[test]
fn plain_rustls_accepts_an_expired_root_that_certlab_reports() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    let mut pki = TestPki::new();
    let leaf = pki
        .server(["localhost"])
        .fault(Fault::ExpiredRoot)
        .issue()
        .unwrap();
    let endpoint = pki.serve(&leaf).unwrap();

    let mut roots = rustls::RootCertStore::empty();
    for root in pki.pki().trusted_roots() {
        roots.add(root.cert.clone()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = std::net::TcpStream::connect(endpoint.addr()).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 15];
    tls.read_exact(&mut answer).unwrap();
    let rustls_saw = if &answer == b"HTTP/1.1 200 OK" {
        Outcome::Ok
    } else {
        Outcome::Expired
    };

    assert_eq!(
        Fault::ExpiredRoot.expected_by_client(),
        &[("rustls", rustls_saw)]
    );
    assert_eq!(
        leaf.entity().expected_by_client.get("rustls"),
        Some(&rustls_saw)
    );
    pki.assert_outcome(&endpoint, Outcome::Expired);
}
