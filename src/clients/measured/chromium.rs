//! What Chromium (headless) printed for each lab scenario, measured by running it against the live
//! lab (`tests/it/clients_programs.rs`; Debian's chromium 156: BoringSSL and Chrome's verifier, the
//! CA in a fresh NSS database).
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
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "net::ERR_SSL_PROTOCOL_ERROR" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH" },
    // cipher-mismatch: not applicable: Chromium cannot restrict its cipher suites
    // alpn-no-h2: not applicable: Chromium always offers its own ALPN list (h2, http/1.1)
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "net::ERR_BAD_SSL_CLIENT_AUTH_CERT" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "net::ERR_BAD_SSL_CLIENT_AUTH_CERT" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "net::ERR_SSL_DECRYPT_ERROR_ALERT" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "net::ERR_BAD_SSL_CLIENT_AUTH_CERT" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "net::ERR_BAD_SSL_CLIENT_AUTH_CERT" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "net::ERR_CERT_DATE_INVALID" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "net::ERR_CERT_DATE_INVALID" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "net::ERR_CERT_COMMON_NAME_INVALID" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "net::ERR_CERT_COMMON_NAME_INVALID" },
    Cell { scenario: "cn-only", outcome: Outcome::HostnameMismatch, words: "net::ERR_CERT_COMMON_NAME_INVALID" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "net::ERR_CERT_AUTHORITY_INVALID" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "net::ERR_CERT_AUTHORITY_INVALID" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "net::ERR_CERT_AUTHORITY_INVALID" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "net::ERR_CERT_AUTHORITY_INVALID" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "net::ERR_SSL_KEY_USAGE_INCOMPATIBLE" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "net::ERR_CERT_INVALID" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "net::ERR_CERT_DATE_INVALID" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "net::ERR_CERT_DATE_INVALID" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "net::ERR_CERT_INVALID" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "net::ERR_CERT_INVALID" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "net::ERR_CERT_INVALID" },
    Cell { scenario: "revoked", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "net::ERR_CERT_AUTHORITY_INVALID" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "net::ERR_CERT_INVALID" },
];
