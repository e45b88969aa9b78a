//! What Go (crypto/tls) printed for each lab scenario, measured by running it against the live lab
//! (`tests/it/clients_programs.rs`; Go 1.19, Debian's golang-go).
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
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "tls: first record does not look like a TLS handshake" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "remote error: tls: protocol version not supported" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "remote error: tls: protocol version not supported" },
    // cipher-mismatch: not applicable: go cannot restrict its cipher suites to TLS13_CHACHA20_POLY1305_SHA256 (Go's crypto/tls does not let a program choose TLS 1.3 suites)
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "remote error: tls: no application protocol" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "remote error: tls: certificate required" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "remote error: tls: certificate required" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "remote error: tls: error decrypting message" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "remote error: tls: expired certificate" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "remote error: tls: unsupported certificate" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "x509: certificate has expired or is not yet valid: current time" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "x509: certificate has expired or is not yet valid: current time" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "x509: certificate is valid for wrong-host.certlab.invalid, not localhost" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs" },
    Cell { scenario: "cn-only", outcome: Outcome::HostnameMismatch, words: "x509: certificate relies on legacy Common Name field, use SANs instead" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "x509: certificate signed by unknown authority" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "x509: certificate signed by unknown authority (possibly because of \"x509: ECDSA verification failure\"" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "x509: certificate signed by unknown authority" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "x509: certificate signed by unknown authority" },
    Cell { scenario: "reversed-chain", outcome: Outcome::HostnameMismatch, words: "x509: certificate is not valid for any names, but wanted to match localhost" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "x509: certificate specifies an incompatible key usage" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "x509: certificate has expired or is not yet valid: current time" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "x509: certificate has expired or is not yet valid: current time" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\"" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "x509: too many intermediates for path length constraint" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"localhost\" is not permitted by any constraint" },
    Cell { scenario: "revoked", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "x509: certificate signed by unknown authority (possibly because of \"x509: ECDSA verification failure\"" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "x509: unhandled critical extension" },
];
