//! The commands that reproduce a scenario with real clients (`openssl s_client`, `curl`, an
//! OpenTelemetry exporter's environment): what `certlab lab --serve` prints and the reproduce
//! script runs.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::outcome::Outcome;
use crate::pki::manifest::{CA_BUNDLE_FILE, cert_file, chain_file, crl_file, key_file};
use crate::pki::scenario::Scenario;
use crate::pki::{Entity, Pki};
use crate::tls::{self, TlsVersion};

/// Ready-to-paste commands that reproduce a scenario with real clients against an endpoint at
/// `addr` whose PKI files are in `dir`: `openssl s_client`, `curl`, and the environment of an
/// OpenTelemetry OTLP exporter.
///
/// ```
/// use certlab::render::reproduce::reproduce_commands;
/// use certlab::pki::scenario::{ClientSide, Scenario, ServerSide};
///
/// let scenario = Scenario {
///     name: "expired".into(),
///     server: ServerSide { entity: Some("expired".into()), ..Default::default() },
///     client: ClientSide::default(),
///     expected: Some(certlab::Outcome::Expired),
///     expected_by_client: Default::default(),
///     serve_error: None,
/// };
/// let lines = reproduce_commands(&scenario, "/tmp/lab".as_ref(), "127.0.0.1:4433".parse().unwrap());
/// assert!(lines[0].contains("openssl s_client -connect 127.0.0.1:4433 -servername localhost"));
/// assert!(lines.iter().any(|l| l == "curl --cacert /tmp/lab/ca.pem https://localhost:4433/"));
/// assert!(lines.iter().any(|l| l == "OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:4433"));
/// ```
pub fn reproduce_commands(scenario: &Scenario, dir: &Path, addr: SocketAddr) -> Vec<String> {
    commands(scenario, dir, addr, None)
}

/// [`reproduce_commands`] for a scenario of `pki`: the client certificate's files are the
/// entity's (in its `dir`, or its one `NAME.pem` when its files are combined).
pub fn reproduce_commands_of(
    pki: &Pki,
    scenario: &Scenario,
    dir: &Path,
    addr: SocketAddr,
) -> Vec<String> {
    let entity = scenario.client.cert.as_deref().and_then(|c| pki.entity(c));
    commands(scenario, dir, addr, entity)
}

fn commands(
    scenario: &Scenario,
    dir: &Path,
    addr: SocketAddr,
    entity: Option<&Entity>,
) -> Vec<String> {
    let client = &scenario.client;
    // The client certificate's files (certificate, key, chain), relative to `dir`.
    let client_files = client.cert.as_ref().map(|cert| match entity {
        Some(e) => (
            e.cert_path(),
            e.key_path(),
            e.chain_path().unwrap_or_else(|| e.cert_path()),
        ),
        None => (cert_file(cert), key_file(cert), chain_file(cert)),
    });
    let host = client.host();
    let name = client.servername.as_deref().unwrap_or(host);
    let name_is_ip = name.parse::<IpAddr>().is_ok();
    let port = addr.port();
    let file = |f: String| dir.join(f).display().to_string();
    let ca = file(CA_BUNDLE_FILE.to_string());

    // A request on stdin, and -ign_eof: s_client then reads until the server answers or
    // closes, so an alert the server sends after a TLS 1.3 handshake (client certificates) is
    // printed too. No single quotes: scripts quote these lines with them.
    let mut openssl =
        format!("printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | openssl s_client -connect {addr}");
    if !name_is_ip {
        openssl.push_str(&format!(" -servername {name}"));
    }
    openssl.push_str(&format!(" -CAfile {ca} -verify_return_error"));
    if name_is_ip {
        openssl.push_str(&format!(" -verify_ip {name}"));
    } else {
        openssl.push_str(&format!(" -verify_hostname {name}"));
    }
    match client.tls {
        Some(TlsVersion::Tls12) => openssl.push_str(" -tls1_2"),
        Some(TlsVersion::Tls13) => openssl.push_str(" -tls1_3"),
        None => {}
    }
    let (tls13, tls12) = tls::openssl_suites(&client.ciphers);
    if !tls13.is_empty() {
        openssl.push_str(&format!(" -ciphersuites {}", tls13.join(":")));
    }
    if !tls12.is_empty() {
        openssl.push_str(&format!(" -cipher {}", tls12.join(":")));
    }
    if !client.alpn.is_empty() {
        openssl.push_str(&format!(" -alpn {}", client.alpn.join(",")));
    }
    if let Some((cert, key, chain)) = &client_files {
        openssl.push_str(&format!(
            " -cert {} -key {} -cert_chain {}",
            file(cert.clone()),
            file(key.clone()),
            file(chain.clone())
        ));
    }
    for issuer in &client.crl {
        openssl.push_str(&format!(" -CRL {} -crl_check", file(crl_file(issuer))));
    }
    openssl.push_str(" -ign_eof");

    let url_addr = tls::join_host_port(name, port);
    let mut curl = format!("curl --cacert {ca}");
    let resolves_there =
        name == addr.ip().to_string() || (name == "localhost" && addr.ip().is_loopback());
    if !resolves_there {
        curl.push_str(&format!(" --connect-to {url_addr}:{}", addr.ip()));
    }
    match client.tls {
        Some(TlsVersion::Tls12) => curl.push_str(" --tlsv1.2 --tls-max 1.2"),
        Some(TlsVersion::Tls13) => curl.push_str(" --tlsv1.3"),
        None => {}
    }
    if !tls13.is_empty() {
        curl.push_str(&format!(" --tls13-ciphers {}", tls13.join(":")));
    }
    if !tls12.is_empty() {
        curl.push_str(&format!(" --ciphers {}", tls12.join(":")));
    }
    if let Some((_, key, chain)) = &client_files {
        curl.push_str(&format!(
            " --cert {} --key {}",
            file(chain.clone()),
            file(key.clone())
        ));
    }
    // curl checks the CRL of every certificate of the chain once given one, and the lab's
    // root publishes none: only the scenario about revocation gets the CRL.
    if scenario.expected == Some(Outcome::Revoked) {
        for issuer in &client.crl {
            curl.push_str(&format!(" --crlfile {}", file(crl_file(issuer))));
        }
    }
    curl.push_str(&format!(" https://{url_addr}/"));
    if client.alpn.iter().any(|p| p == "h2") && scenario.expected == Some(Outcome::AlpnMismatch) {
        // curl offers http/1.1 beside h2 and succeeds; a gRPC client offers only h2.
        curl.push_str(" # succeeds: curl also offers http/1.1; gRPC clients offer only h2");
    }

    let mut lines = vec![
        openssl,
        curl,
        format!("OTEL_EXPORTER_OTLP_ENDPOINT=https://{url_addr}"),
        format!("OTEL_EXPORTER_OTLP_CERTIFICATE={ca}"),
    ];
    if let Some((_, key, chain)) = &client_files {
        lines.push(format!(
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={}",
            file(chain.clone())
        ));
        lines.push(format!(
            "OTEL_EXPORTER_OTLP_CLIENT_KEY={}",
            file(key.clone())
        ));
    }
    lines
}
