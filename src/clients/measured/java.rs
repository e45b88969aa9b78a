//! What Java (JSSE) printed for each lab scenario, measured by running it against the live lab
//! (`tests/it/clients_programs.rs`; OpenJDK 17).
//!
//! The outcome is what the client's words mean for that scenario: where the words are generic
//! ("unknown authority" for a missing intermediate) the scenario's cause stands; where the
//! client failed a different check, or accepted, that is the outcome. The words are the stable
//! part of the client's error line (no ports, times or thread ids). A scenario the client
//! cannot express (a cipher list, an ALPN offer) has no cell.

use super::Cell;
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario the client can run.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "javax.net.ssl.SSLException: Unsupported or unrecognized SSL message" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: no_application_protocol" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: decrypt_error" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "javax.net.ssl.SSLHandshakeException: Received fatal alert: unsupported_certificate" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed: java.security.cert.CertificateExpiredException: NotAfter:" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed: java.security.cert.CertificateNotYetValidException: NotBefore:" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching localhost found." },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "javax.net.ssl.SSLHandshakeException: No subject alternative names matching IP address 127.0.0.1 found" },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: Path does not chain with any of the trust anchors" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "javax.net.ssl.SSLHandshakeException: KeyUsage does not allow digital signatures" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "javax.net.ssl.SSLHandshakeException: Extended key usage does not permit use for TLS server authentication" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed: java.security.cert.CertificateExpiredException: NotAfter:" },
    Cell { scenario: "expired-root", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: basic constraints check failed: this is not a CA certificate" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: basic constraints check failed: pathLenConstraint violated - this cert must be the last cert in the certification path" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: name constraints check failed" },
    Cell { scenario: "revoked", outcome: Outcome::Revoked, words: "java.security.cert.CertPathValidatorException: Certificate has been revoked, reason: KEY_COMPROMISE" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: signature check failed: java.security.SignatureException: Signature does not match." },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: unrecognized critical extension(s)" },
];
