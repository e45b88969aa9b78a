//! What gRPC (grpcio) printed for each lab scenario, measured by running it against the live lab
//! (`tests/it/clients_programs.rs`; grpcio 1.85.3 on BoringSSL).
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
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER" },
    // tls12-vs-tls13: not applicable: grpcio cannot restrict a channel's TLS version
    // tls13-vs-tls12: not applicable: grpcio cannot restrict a channel's TLS version
    // cipher-mismatch: not applicable: grpcio cannot choose a channel's cipher suites (BoringSSL's TLS 1.3 suites are fixed)
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:10000460:SSL routines:OPENSSL_internal:TLSV1_ALERT_NO_APPLICATION_PROTOCOL" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "Unwrap failed (TSI_DATA_CORRUPTED)" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "Unwrap failed (TSI_DATA_CORRUPTED)" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "Unwrap failed (TSI_DATA_CORRUPTED)" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "Unwrap failed (TSI_DATA_CORRUPTED)" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "Unwrap failed (TSI_DATA_CORRUPTED)" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate is not yet valid" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "Custom verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed." },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "Custom verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed." },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000012e:SSL routines:OPENSSL_internal:KEY_USAGE_BIT_INCORRECT" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unsupported certificate purpose" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: invalid CA certificate" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: path length constraint exceeded" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: permitted subtree violation" },
    Cell { scenario: "revoked", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1a000064:ECDSA routines:OPENSSL_internal:BAD_SIGNATURE: certificate signature failure" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unhandled critical extension" },
];
