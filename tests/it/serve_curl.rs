//! Cross-validation of `certlab::serve` with curl: every certificate scenario of the lab,
//! client certificates, version and cipher settings, and plaintext.

use crate::common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use certlab::Outcome;
use certlab::pki::Scenario;
use common::{Lab, Ran, expected_for, have_tool, outcomes_of_text, run_timeout};

/// curl against an endpoint: `https://HOST:PORT/` with HOST resolved to the endpoint's address
/// (no DNS), trusting `ca.pem`, plus `extra` arguments.
fn curl(lab: &Lab, host: &str, addr: SocketAddr, extra: &[String]) -> Ran {
    let port = addr.port();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "5", "--cacert"])
        .arg(lab.path("ca.pem"));
    if host.parse::<IpAddr>().is_err() {
        cmd.arg("--resolve")
            .arg(format!("{host}:{port}:{}", addr.ip()));
    }
    let url_host = match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => host.to_string(),
    };
    cmd.args(extra).arg(format!("https://{url_host}:{port}/"));
    run_timeout(&mut cmd, b"", Duration::from_secs(8))
}

/// The outcomes curl's exit code and message mean for a certificate scenario (two for
/// OpenSSL's code 20: `unknown-ca` or `incomplete-chain`).
fn curl_outcomes(ran: &Ran) -> Vec<Outcome> {
    match ran.code {
        Some(0) => vec![Outcome::Ok],
        Some(60) => {
            if ran
                .stderr
                .contains("no alternative certificate subject name matches")
            {
                return vec![Outcome::HostnameMismatch];
            }
            let text = ran
                .stderr
                .split("SSL certificate problem: ")
                .nth(1)
                .and_then(|rest| rest.lines().next())
                .unwrap_or("")
                .trim();
            outcomes_of_text(text)
        }
        // curl on OpenSSL 3.0 reports the flipped signature byte of `bad-signature` as a
        // handshake error (35, "asn1 encoding routines::EVP lib") rather than verify code 7:
        // still the signature check failing, in curl's words.
        Some(35) if ran.stderr.contains("EVP lib") => vec![Outcome::BadSignature],
        _ => vec![],
    }
}

/// A scenario about the server's certificate alone (no client certificate, no settings).
fn is_certificate_scenario(s: &Scenario) -> bool {
    s.server.entity.is_some()
        && !s.server.plaintext
        && s.server.tls.is_none()
        && s.server.ciphers.is_empty()
        && s.server.alpn.is_none()
        && s.server.client_auth == certlab::tls::ClientAuth::None
        && s.client.cert.is_none()
        && s.client.tls.is_none()
        && s.client.ciphers.is_empty()
        && s.client.alpn.is_empty()
}

#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn curl_sees_every_certificate_scenario_as_expected() {
    if !have_tool("curl") {
        return;
    }
    let lab = Lab::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (scenario, ep) in lab.serve_all() {
        if !is_certificate_scenario(&scenario) {
            continue;
        }
        checked += 1;
        let expected = expected_for(&scenario, "curl").expect("expects");
        // curl's --crlfile checks every certificate of the chain (OpenSSL's CRL_CHECK_ALL) and
        // the lab's root has no CRL: elsewhere it fails with "unable to get certificate CRL".
        // So the CRL goes only to the scenario about revocation.
        let mut extra = Vec::new();
        if expected == Outcome::Revoked {
            for issuer in &scenario.client.crl {
                extra.push("--crlfile".to_string());
                extra.push(lab.path(&format!("{issuer}.crl.pem")).display().to_string());
            }
            assert!(!extra.is_empty(), "revoked names its CRL");
        }
        let ran = curl(&lab, scenario.client.host(), ep.addr(), &extra);
        let observed = curl_outcomes(&ran);
        if !observed.contains(&expected) {
            problems.push(format!(
                "{}: expected {expected}, curl exit {:?} ({observed:?}): {}",
                scenario.name,
                ran.code,
                ran.stderr.lines().next().unwrap_or("")
            ));
        }
        if expected == Outcome::Ok {
            let body = format!("certlab scenario {}: TLS handshake ok\n", scenario.name);
            if ran.stdout != body {
                problems.push(format!("{}: body {:?}", scenario.name, ran.stdout));
            }
        } else if !ran.stdout.is_empty() {
            problems.push(format!("{}: answered {:?}", scenario.name, ran.stdout));
        }
    }
    assert!(checked >= 18, "only {checked} certificate scenarios");
    assert!(
        problems.is_empty(),
        "curl disagrees:\n{}",
        problems.join("\n")
    );
    // The brief's fixed points, stated plainly.
    assert_eq!(
        expected_for(&lab.scenario("cn-only"), "curl"),
        Some(Outcome::Ok)
    );
    assert_eq!(
        expected_for(&lab.scenario("expired"), "curl"),
        Some(Outcome::Expired)
    );
}

#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn curl_exit_codes_for_expired_and_wrong_host_are_60() {
    if !have_tool("curl") {
        return;
    }
    let lab = Lab::new();
    for name in ["expired", "wrong-host", "unknown-ca"] {
        let ep = lab.serve(name);
        let ran = curl(&lab, "localhost", ep.addr(), &[]);
        assert_eq!(ran.code, Some(60), "{name}: {}", ran.stderr);
    }
    let ep = lab.serve("good");
    let ran = curl(&lab, "localhost", ep.addr(), &[]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.stdout, "certlab scenario good: TLS handshake ok\n");
}

#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn curl_against_settings_and_client_certificates() {
    if !have_tool("curl") {
        return;
    }
    let lab = Lab::new();
    let cert_args = |entity: &str| {
        vec![
            "--cert".to_string(),
            lab.path(&format!("{entity}.chain.pem"))
                .display()
                .to_string(),
            "--key".to_string(),
            lab.path(&format!("{entity}.key")).display().to_string(),
        ]
    };
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // (scenario, curl arguments, exit code, message)
    let cases: Vec<(&str, Vec<String>, i32, &str)> = vec![
        (
            "client-ok",
            cert_args("client"),
            0,
            "certlab scenario client-ok",
        ),
        ("client-none", vec![], 56, "alert certificate required"),
        (
            "client-unknown-ca",
            cert_args("client-unknown-ca"),
            56,
            "alert unknown ca",
        ),
        (
            "client-same-name-root",
            cert_args("client-same-name-root"),
            56,
            "alert decrypt error",
        ),
        (
            "client-expired",
            cert_args("client-expired"),
            56,
            "alert certificate expired",
        ),
        (
            "client-wrong-eku",
            cert_args("server-as-client"),
            56,
            "alert unsupported certificate",
        ),
        (
            "tls13-vs-tls12",
            strs(&["--tlsv1.2", "--tls-max", "1.2"]),
            35,
            "alert protocol version",
        ),
        (
            "tls12-vs-tls13",
            strs(&["--tlsv1.3"]),
            35,
            "alert protocol version",
        ),
        (
            "cipher-mismatch",
            strs(&["--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"]),
            35,
            "alert handshake failure",
        ),
        ("plaintext", vec![], 35, "wrong version number"),
    ];
    let mut problems = Vec::new();
    for (name, args, code, message) in cases {
        let ep = lab.serve(name);
        let ran = curl(&lab, "localhost", ep.addr(), &args);
        if ran.code != Some(code) || !ran.all().contains(message) {
            problems.push(format!(
                "{name}: expected exit {code} and `{message}`, got {:?}: {}",
                ran.code,
                ran.all().trim()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn plaintext_answers_http_with_400() {
    if !have_tool("curl") {
        return;
    }
    let lab = Lab::new();
    let ep = lab.serve("plaintext");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ])
    .arg(format!("http://{}/", ep.addr()));
    let ran = run_timeout(&mut cmd, b"", Duration::from_secs(8));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.stdout, "400");
}
