//! `certlab explain`: every message the issue lists, as clients really print it, maps to the
//! right outcome (table-driven); every pattern of the table resolves to its own outcome; the
//! lab scenarios it suggests exist in the lab with that outcome; the CLI's text, JSON, stdin and
//! exit codes. The live tests in `explain_live.rs` feed it what real curl, OpenSSL, Python and
//! rustls print.

use crate::common;

use certlab::Outcome;
use certlab::explain::{self, Explained, PATTERNS};
use common::{certlab, tempdir};
use predicates::prelude::*;
use predicates::str::contains;

use Outcome::*;

/// (message as a client prints it, expected outcome, client of the pattern that must match).
const MESSAGES: &[(&str, Outcome, &str)] = &[
    // OpenSSL and curl
    (
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        UnknownCa,
        "openssl",
    ),
    (
        "verify error:num=20:unable to get local issuer certificate",
        UnknownCa,
        "openssl",
    ),
    (
        "verify error:num=10:certificate has expired",
        Expired,
        "openssl",
    ),
    (
        "curl: (60) SSL certificate problem: certificate has expired",
        Expired,
        "openssl",
    ),
    (
        "curl: (60) SSL certificate problem: self-signed certificate in certificate chain",
        UnknownCa,
        "openssl",
    ),
    (
        "curl: (60) SSL certificate problem: self signed certificate in certificate chain",
        UnknownCa,
        "openssl",
    ),
    (
        "curl: (60) SSL certificate problem: self-signed certificate",
        SelfSigned,
        "openssl",
    ),
    (
        "curl: (60) SSL certificate problem: certificate is not yet valid",
        NotYetValid,
        "openssl",
    ),
    (
        "curl: (35) error:0A00010B:SSL routines::wrong version number",
        NotTls,
        "openssl",
    ),
    (
        "140245:error:1408F10B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:331:",
        NotTls,
        "openssl",
    ),
    (
        "curl: (56) OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0",
        ClientCertRequired,
        "openssl",
    ),
    (
        "error:0A000418:SSL routines::tlsv1 alert unknown ca",
        ClientCertRejected,
        "openssl",
    ),
    (
        "curl: (35) error:0A000412:SSL routines::sslv3 alert bad certificate",
        ClientCertRejected,
        "openssl",
    ),
    (
        "curl: (60) SSL: no alternative certificate subject name matches target host name 'wrong.test'",
        HostnameMismatch,
        "curl",
    ),
    (
        "curl: (60) SSL: no alternative certificate subject name matches target ipv4 address '127.0.0.1'",
        HostnameMismatch,
        "curl",
    ),
    (
        "verify error:num=26:unsuitable certificate purpose",
        WrongUsage,
        "openssl",
    ),
    (
        "Verify return code: 62 (hostname mismatch)",
        HostnameMismatch,
        "openssl",
    ),
    (
        "verify error:num=79:invalid CA certificate",
        InvalidCa,
        "openssl",
    ),
    (
        "verify error:num=25:path length constraint exceeded",
        PathLenExceeded,
        "openssl",
    ),
    (
        "verify error:num=47:permitted subtree violation",
        NameConstraintViolation,
        "openssl",
    ),
    (
        "verify error:num=23:certificate revoked",
        Revoked,
        "openssl",
    ),
    (
        "verify error:num=7:certificate signature failure",
        BadSignature,
        "openssl",
    ),
    (
        "verify error:num=34:unhandled critical extension",
        BadCertificate,
        "openssl",
    ),
    (
        "error:0A00042E:SSL routines::tlsv1 alert protocol version",
        ProtocolMismatch,
        "openssl",
    ),
    (
        "error:0A000410:SSL routines::sslv3 alert handshake failure",
        HandshakeFailure,
        "openssl",
    ),
    // seen live (tests/it/explain_live.rs): curl against a leaf with a flipped signature byte
    (
        "curl: (35) OpenSSL/3.0.19: error:06880006:asn1 encoding routines::EVP lib",
        BadSignature,
        "openssl",
    ),
    (
        "curl: (56) OpenSSL SSL_read: error:0A000419:SSL routines::tlsv1 alert decrypt error, errno 0",
        ClientCertRejected,
        "openssl",
    ),
    // curl exit codes, bare or with curl's own text
    ("curl: (35)", HandshakeFailure, "curl"),
    (
        "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to localhost:8443",
        HandshakeFailure,
        "curl",
    ),
    ("curl: (56)", Reset, "curl"),
    (
        "curl: (56) Recv failure: Connection reset by peer",
        Reset,
        "go",
    ),
    (
        "curl: (58) unable to set private key file: 'client.key' type PEM",
        BadCertificate,
        "curl",
    ),
    ("curl: (60)", UnknownCa, "curl"),
    (
        "curl: (77) error setting certificate verify locations: CAfile: /nope.pem CApath: none",
        UnknownCa,
        "curl",
    ),
    (
        "curl: (7) Failed to connect to localhost port 1: Connection refused",
        Refused,
        "curl",
    ),
    (
        "curl: (28) Operation timed out after 5001 milliseconds",
        Timeout,
        "curl",
    ),
    // Python ssl
    (
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'wrong.test'. (_ssl.c:1006)",
        HostnameMismatch,
        "python",
    ),
    (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)",
        HostnameMismatch,
        "python",
    ),
    (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
        "python",
    ),
    (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
        "openssl",
    ),
    (
        "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2633)",
        ClientCertRequired,
        "openssl",
    ),
    // gRPC
    (
        "Tls handshake failed (TSI_PROTOCOL_FAILURE)",
        UnknownCa,
        "grpc",
    ),
    (
        "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:4317: Ssl handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED",
        UnknownCa,
        "grpc",
    ),
    (
        "Hostname Verification Check failed.",
        HostnameMismatch,
        "grpc",
    ),
    (
        "Peer name wrong.test is not in peer certificate",
        HostnameMismatch,
        "grpc",
    ),
    (
        "Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRequired,
        "grpc",
    ),
    // Go
    (
        "Get \"https://localhost:8443\": tls: failed to verify certificate: x509: certificate signed by unknown authority",
        UnknownCa,
        "go",
    ),
    (
        "x509: certificate has expired or is not yet valid: current time 2026-11-26T07:00:00Z is after 2025-01-01T00:00:00Z",
        Expired,
        "go",
    ),
    (
        "x509: certificate has expired or is not yet valid: current time 2026-11-26T07:00:00Z is before 2030-01-01T00:00:00Z",
        NotYetValid,
        "go",
    ),
    (
        "tls: failed to verify certificate: x509: certificate is valid for wrong-host.certlab.invalid, not localhost",
        HostnameMismatch,
        "go",
    ),
    (
        "x509: certificate relies on legacy Common Name field, use SANs instead",
        HostnameMismatch,
        "go",
    ),
    (
        "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
        HostnameMismatch,
        "go",
    ),
    (
        "tls: first record does not look like a TLS handshake",
        NotTls,
        "go",
    ),
    (
        "http: server gave HTTP response to HTTPS client",
        NotTls,
        "go",
    ),
    (
        "remote error: tls: bad certificate",
        ClientCertRejected,
        "go",
    ),
    (
        "remote error: tls: certificate required",
        ClientCertRequired,
        "go",
    ),
    (
        "x509: certificate specifies an incompatible key usage",
        WrongUsage,
        "go",
    ),
    // rustls
    (
        "invalid peer certificate: UnknownIssuer",
        UnknownCa,
        "rustls",
    ),
    (
        "invalid peer certificate: NotValidForName",
        HostnameMismatch,
        "rustls",
    ),
    (
        "invalid peer certificate: certificate not valid for name \"wrong.test\"; certificate is only valid for DnsName(\"localhost\")",
        HostnameMismatch,
        "rustls",
    ),
    (
        "invalid peer certificate: certificate expired: verification time 1764140400 (UNIX), but certificate is not valid after 1735689600 (28450800 seconds ago)",
        Expired,
        "rustls",
    ),
    (
        "invalid peer certificate: Other(OtherError(PathLenConstraintViolated))",
        PathLenExceeded,
        "rustls",
    ),
    (
        "received fatal alert: CertificateRequired",
        ClientCertRequired,
        "rustls",
    ),
    (
        "received fatal alert: BadCertificate",
        ClientCertRejected,
        "rustls",
    ),
    (
        "received fatal alert: UnknownCA",
        ClientCertRejected,
        "rustls",
    ),
    (
        "received fatal alert: HandshakeFailure",
        HandshakeFailure,
        "rustls",
    ),
    (
        "received fatal alert: ProtocolVersion",
        ProtocolMismatch,
        "rustls",
    ),
    (
        "received fatal alert: NoApplicationProtocol",
        AlpnMismatch,
        "rustls",
    ),
    // Java
    (
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
        UnknownCa,
        "java",
    ),
    (
        "javax.net.ssl.SSLHandshakeException: No subject alternative names matching IP address 127.0.0.1 found",
        HostnameMismatch,
        "java",
    ),
    (
        "java.security.cert.CertificateException: No subject alternative DNS name matching wrong.test found.",
        HostnameMismatch,
        "java",
    ),
    (
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required",
        ClientCertRequired,
        "java",
    ),
    // seen live (tests/it/explain_live.rs): Java's HttpsURLConnection
    (
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
        Expired,
        "java",
    ),
    (
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: Path does not chain with any of the trust anchors",
        UnknownCa,
        "java",
    ),
    (
        "java.io.IOException: Error writing to server",
        Reset,
        "java",
    ),
    // Node.js
    (
        "Error: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)",
        UnknownCa,
        "openssl",
    ),
    (
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames",
        HostnameMismatch,
        "node",
    ),
    (
        "Error: certificate has expired (CERT_HAS_EXPIRED)",
        Expired,
        "openssl",
    ),
];

#[test]
fn every_listed_message_maps_to_its_outcome() {
    let mut wrong = Vec::new();
    for (message, outcome, client) in MESSAGES {
        match explain::find(message) {
            Some(m) if m.pattern.outcome == *outcome && m.pattern.client == *client => {}
            Some(m) => wrong.push(format!(
                "{message:?}: got {} from {} `{}`, expected {outcome} from {client}",
                m.pattern.outcome, m.pattern.client, m.pattern.pattern
            )),
            None => wrong.push(format!("{message:?}: unknown, expected {outcome}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// No pattern is shadowed: each one's own text (with `*` filled in) resolves to its outcome.
#[test]
fn every_pattern_resolves_to_its_own_outcome() {
    for p in PATTERNS {
        let text = p.pattern.replace('*', " something ");
        let m =
            explain::find(&text).unwrap_or_else(|| panic!("`{}` does not match itself", p.pattern));
        assert_eq!(
            m.pattern.outcome, p.outcome,
            "`{}` is shadowed by `{}`",
            p.pattern, m.pattern.pattern
        );
    }
}

/// Every client the issue names has patterns, and every pattern names a known client.
#[test]
fn the_table_covers_every_client() {
    let clients = [
        "openssl", "curl", "python", "grpc", "gnutls", "go", "rustls", "java", "node", "chromium",
    ];
    for c in clients {
        assert!(PATTERNS.iter().any(|p| p.client == c), "no pattern for {c}");
    }
    for p in PATTERNS {
        assert!(
            clients.contains(&p.client),
            "{}: unknown client {}",
            p.pattern,
            p.client
        );
        assert!(
            !p.also.contains(&p.outcome),
            "{}: also repeats the outcome",
            p.pattern
        );
    }
}

/// The scenarios `explain` suggests are derived from the lab template: compare with the
/// manifest `certlab generate --template lab` writes. Every outcome a handshake with a
/// certificate or a setting can cause has one; refused, timeout and reset have none.
#[test]
fn suggested_scenarios_exist_in_the_lab_with_that_outcome() {
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    certlab()
        .args([
            "generate",
            "--template",
            "lab",
            "--now",
            "2030-01-01T00:00:00Z",
            "-o",
        ])
        .arg(&dir)
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("certlab.json")).unwrap()).unwrap();
    let scenarios = manifest["scenarios"].as_array().unwrap();
    for outcome in certlab::outcome::ALL_OUTCOMES {
        let names = explain::lab_scenarios(outcome);
        let on_disk: Vec<&str> = scenarios
            .iter()
            .filter(|s| s["expected"] == outcome.name())
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, on_disk, "{outcome}");
        let none = matches!(outcome, Refused | Timeout | Reset);
        assert_eq!(names.is_empty(), none, "{outcome}: {names:?}");
    }
}

#[test]
fn cli_text_names_outcome_fix_and_reproduction() {
    certlab()
        .args(["explain", "x509: certificate signed by unknown authority"])
        .assert()
        .code(0)
        .stdout(
            contains("outcome      unknown-ca")
                .and(contains(UnknownCa.fix()))
                .and(contains("certlab lab --only unknown-ca --serve"))
                .and(contains("incomplete-chain")),
        );
    // Unquoted words are joined.
    certlab()
        .args(["explain", "remote", "error:", "tls:", "bad", "certificate"])
        .assert()
        .code(0)
        .stdout(contains("client-cert-rejected").and(contains("--only client-unknown-ca")));
}

#[test]
fn cli_json_and_stdin() {
    let out = certlab()
        .args(["explain", "--json"])
        .write_stdin("curl: (60) SSL certificate problem: certificate has expired\n")
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["known"], true);
    assert_eq!(v["outcome"], "expired");
    assert_eq!(v["fix"], Expired.fix());
    assert_eq!(v["explanation"], Expired.explanation());
    let scenarios: Vec<&str> = v["reproduce"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        scenarios,
        ["expired", "expired-intermediate", "expired-root"]
    );
    assert_eq!(
        v["reproduce"][0]["command"],
        "certlab lab --only expired --serve"
    );
}

#[test]
fn unknown_messages_exit_1_with_candidates_and_no_message_exits_2() {
    let out = certlab()
        .args([
            "explain",
            "--json",
            "the certificate chain of my printer is purple",
        ])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["known"], false);
    let candidates = v["candidates"].as_array().unwrap();
    assert!(!candidates.is_empty());
    assert!(
        candidates
            .iter()
            .all(|c| c["pattern"].as_str().unwrap().contains("certificate")),
        "{candidates:?}"
    );
    certlab()
        .args(["explain", "zzz qqq"])
        .assert()
        .code(1)
        .stdout(contains("unknown message").and(contains("no known message shares a word")));
    certlab()
        .args(["explain"])
        .write_stdin("   \n")
        .assert()
        .code(2)
        .stderr(contains("error: the message is empty"));
    // Only a known message's outcome is printed: an unknown one never claims one.
    match explain::explain("purple printer") {
        Explained::Unknown(c) => assert!(c.is_empty()),
        other => panic!("{other:?}"),
    }
}

/// A log in another encoding (here Latin-1) is still explained: the error words are ASCII.
#[test]
fn stdin_that_is_not_utf8_is_still_explained() {
    let mut log =
        b"d\xe9j\xe0 vu: curl: (60) SSL certificate problem: certificate has expired".to_vec();
    log.push(b'\n');
    certlab()
        .arg("explain")
        .write_stdin(log)
        .assert()
        .success()
        .stdout(contains("expired"));
}
