//! Cross-validation of `certlab::serve` with a client we did not write: `openssl s_client`
//! against every scenario of the lab PKI (certificate faults, client certificates, server
//! settings), each failing (or succeeding) the way DESIGN.md section 3 and the scenario's
//! `expected_by_client` say.

use crate::common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use certlab::Outcome;
use certlab::pki::Scenario;
use certlab::pki::model::ALL_FAULTS;
use certlab::serve::ClientCertLog;
use certlab::tls::TlsVersion;
use common::{Lab, Ran, expected_for, have_tool, outcomes_of_code, run_timeout};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// Runs `openssl s_client` the way the scenario's client says (name or IP, TLS version,
/// suites, ALPN, client certificate, CRL), sending one HTTP request and ignoring stdin's end
/// so that it reads the server's answer (or alert) before it exits.
fn s_client(lab: &Lab, scenario: &Scenario, addr: SocketAddr, tls: Option<TlsVersion>) -> Ran {
    let client = &scenario.client;
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-ign_eof", "-connect"])
        .arg(addr.to_string())
        .arg("-CAfile")
        .arg(lab.path("ca.pem"))
        .arg("-verify_return_error");
    let host = client.host();
    match host.parse::<IpAddr>() {
        Ok(ip) => {
            cmd.args(["-verify_ip", &ip.to_string()]);
        }
        Err(_) => {
            let name = client.servername.as_deref().unwrap_or(host);
            cmd.args(["-servername", name, "-verify_hostname", name]);
        }
    }
    match tls.or(client.tls) {
        Some(TlsVersion::Tls12) => {
            cmd.arg("-tls1_2");
        }
        Some(TlsVersion::Tls13) => {
            cmd.arg("-tls1_3");
        }
        None => {}
    }
    let tls13: Vec<String> = client
        .ciphers
        .iter()
        .filter_map(|c| c.strip_prefix("TLS13_").map(|rest| format!("TLS_{rest}")))
        .collect();
    if !tls13.is_empty() {
        cmd.args(["-ciphersuites", &tls13.join(":")]);
    }
    if !client.alpn.is_empty() {
        cmd.args(["-alpn", &client.alpn.join(",")]);
    }
    if let Some(cert) = &client.cert {
        cmd.arg("-cert")
            .arg(lab.path(&format!("{cert}.pem")))
            .arg("-key")
            .arg(lab.path(&format!("{cert}.key")));
        if let Some(issuers) = lab.client_chain_file(cert) {
            cmd.arg("-cert_chain").arg(issuers);
        }
    }
    if let Some(issuer) = client.crl.first() {
        cmd.arg("-CRL")
            .arg(lab.path(&format!("{issuer}.crl.pem")))
            .arg("-crl_check");
    }
    run_timeout(&mut cmd, REQUEST, Duration::from_secs(5))
}

/// The first `Verify return code: N (text)` s_client printed.
fn verify_code(out: &str) -> Option<(u32, String)> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Verify return code:"))?;
    let rest = line
        .trim_start()
        .trim_start_matches("Verify return code:")
        .trim();
    let (code, text) = rest.split_once(' ')?;
    Some((
        code.parse().ok()?,
        text.trim_matches(|c| c == '(' || c == ')').to_string(),
    ))
}

/// The TLS alert number s_client reported receiving.
fn alert_number(out: &str) -> Option<u32> {
    let at = out.find("SSL alert number ")?;
    out[at + "SSL alert number ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What the server really sends for each client-certificate rejection (asserted below):
/// rustls's alert for the webpki error. `client-unknown-ca`'s root has a name of its own
/// (unknown_ca); `client-same-name-root`'s has the trusted root's name, so webpki finds a name
/// match and reports a bad signature (decrypt_error).
const REJECTION_ALERTS: &[(&str, u32, &str)] = &[
    ("client-unknown-ca", 48, "unknown ca"),
    ("client-same-name-root", 51, "decrypt error"),
    ("client-expired", 45, "certificate expired"),
    ("client-wrong-eku", 43, "unsupported certificate"),
];

/// Checks what s_client printed against the outcome it must see; returns the problem.
fn check(scenario: &Scenario, outcome: Outcome, ran: &Ran) -> Result<(), String> {
    let out = ran.all();
    let alert = alert_number(&out);
    let fail = |what: &str| {
        Err(format!(
            "{}: expected {outcome} ({what}); s_client exit {:?}, alert {alert:?}, verify {:?}",
            scenario.name,
            ran.code,
            verify_code(&out)
        ))
    };
    match outcome {
        Outcome::Ok => {
            let body = format!("certlab scenario {}: TLS handshake ok", scenario.name);
            if verify_code(&out).map(|c| c.0) != Some(0)
                || !ran.stdout.contains("HTTP/1.1 200 OK")
                || !ran.stdout.contains(&body)
            {
                return fail("verify code 0 and the 200 body");
            }
        }
        Outcome::NotTls => {
            if !out.contains("wrong version number") {
                return fail("`wrong version number`");
            }
        }
        Outcome::ProtocolMismatch => {
            if alert != Some(70) || !out.contains("alert protocol version") {
                return fail("alert 70 protocol version");
            }
        }
        Outcome::HandshakeFailure => {
            if alert != Some(40) || !out.contains("alert handshake failure") {
                return fail("alert 40 handshake failure");
            }
        }
        Outcome::AlpnMismatch => {
            if alert != Some(120) || !out.contains("alert no application protocol") {
                return fail("alert 120 no application protocol");
            }
        }
        Outcome::ClientCertRequired => {
            if alert != Some(116) || !out.contains("alert certificate required") {
                return fail("alert 116 certificate required");
            }
        }
        Outcome::ClientCertRejected => {
            let Some((_, number, text)) = REJECTION_ALERTS
                .iter()
                .find(|(name, _, _)| *name == scenario.name)
            else {
                return fail("a known scenario");
            };
            if alert != Some(*number) || !out.contains(&format!("alert {text}")) {
                return fail(&format!("alert {number} {text}"));
            }
            if out.contains("HTTP/1.1 200") {
                return fail("no 200 answer");
            }
        }
        certificate => {
            let Some((code, text)) = verify_code(&out) else {
                return fail("a verify code");
            };
            if !outcomes_of_code(code).contains(&certificate) {
                return fail(&format!("a verify code meaning it, got {code} ({text})"));
            }
            if ran.code == Some(0) || out.contains("HTTP/1.1 200") {
                return fail("a failed handshake");
            }
        }
    }
    Ok(())
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn s_client_sees_every_scenario_as_expected() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    let endpoints = lab.serve_all();
    assert!(endpoints.len() >= 25, "the lab has at least 25 scenarios");
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for (scenario, ep) in &endpoints {
        let outcome = expected_for(scenario, "openssl").expect("a served scenario expects");
        let ran = s_client(&lab, scenario, ep.addr(), None);
        if let Err(p) = check(scenario, outcome, &ran) {
            problems.push(p);
        }
        seen.insert(scenario.name.clone(), outcome);
        // Client certificates: the same over TLS 1.2 (rustls sends the same alerts).
        if scenario.client.cert.is_some() || scenario.expected == Some(Outcome::ClientCertRequired)
        {
            let ran = s_client(&lab, scenario, ep.addr(), Some(TlsVersion::Tls12));
            if let Err(p) = check(scenario, outcome, &ran) {
                problems.push(format!("(TLS 1.2) {p}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "s_client disagrees:\n{}",
        problems.join("\n")
    );
    // Every served certificate fault was checked, and the table's `openssl` entries are real
    // disagreements with `expected` (an entry equal to `expected` would be noise).
    for fault in ALL_FAULTS {
        for (client, outcome) in fault.expected_by_client() {
            assert_ne!(Some(*outcome), fault.expected(), "{fault}: {client}");
        }
        if fault.is_served() && fault.serve_error().is_none() {
            let name = if fault == certlab::Fault::None {
                "good"
            } else {
                fault.name()
            };
            assert!(seen.contains_key(name), "fault {fault} was not served");
        }
    }
    assert_eq!(seen["cn-only"], Outcome::Ok);
    assert_eq!(seen["reversed-chain"], Outcome::WrongUsage);
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn the_server_logs_what_it_decided() {
    if !have_tool("openssl") {
        return;
    }
    let lab = Lab::new();
    for (name, client_cert, alert) in [
        ("good", ClientCertLog::NotAsked, None),
        (
            "client-none",
            ClientCertLog::NoneSent,
            Some("116 (certificate_required)"),
        ),
        ("client-ok", ClientCertLog::Accepted, None),
        (
            "tls13-vs-tls12",
            ClientCertLog::NotAsked,
            Some("70 (protocol_version)"),
        ),
    ] {
        let ep = lab.serve(name);
        let scenario = lab.scenario(name);
        let _ = s_client(&lab, &scenario, ep.addr(), None);
        // The connection thread records the log as it ends; wait for it.
        let mut logs = ep.connections();
        for _ in 0..200 {
            if !logs.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            logs = ep.connections();
        }
        assert_eq!(logs.len(), 1, "{name}: {logs:?}");
        let log = &logs[0];
        assert_eq!(log.sni.as_deref(), Some("localhost"), "{name}: {log}");
        assert_eq!(log.client_cert, client_cert, "{name}: {log}");
        assert_eq!(log.alert_sent.as_deref(), alert, "{name}: {log}");
        if alert.is_none() {
            assert_eq!(log.result, "200 sent", "{name}: {log}");
            assert_eq!(log.version.as_deref(), Some("TLSv1_3"), "{name}: {log}");
            assert!(log.cipher.is_some(), "{name}: {log}");
        }
        ep.stop();
    }
}
