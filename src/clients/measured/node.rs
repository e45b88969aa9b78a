//! What Node.js (tls) printed for each lab scenario, measured by running it against the live lab
//! (`tests/it/clients_programs.rs`; Node.js 20 and its bundled OpenSSL 3).
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
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "ERR_SSL_WRONG_VERSION_NUMBER" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "CERT_HAS_EXPIRED: certificate has expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "CERT_NOT_YET_VALID: certificate is not yet valid" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames:" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list:" },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate" },
    Cell { scenario: "reversed-chain", outcome: Outcome::BadSignature, words: "ERR_SSL_BAD_SIGNATURE" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "INVALID_PURPOSE: unsuitable certificate purpose" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "CERT_HAS_EXPIRED: certificate has expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "CERT_HAS_EXPIRED: certificate has expired" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "INVALID_PURPOSE: unsuitable certificate purpose" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "PATH_LENGTH_EXCEEDED: path length constraint exceeded" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "UNSPECIFIED: permitted subtree violation" },
    Cell { scenario: "revoked", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "CERT_SIGNATURE_FAILURE: certificate signature failure" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "UNSPECIFIED: unhandled critical extension" },
];
