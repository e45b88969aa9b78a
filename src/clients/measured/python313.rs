//! What python3.13 says for each lab scenario: Python >= 3.13's default ssl context (VERIFY_X509_STRICT, emulated on Python 3.11 / OpenSSL 3.0), measured by
//! `certlab lab --clients python3.13 --print-cells` (rows pasted as printed; an outcome that
//! `explain` misreads is set by hand, with a comment). A row changes only when a real run
//! shows it.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "[SSL: WRONG_VERSION_NUMBER] wrong version number" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version" },
    // cipher-mismatch: not applicable: Python's ssl cannot restrict TLS 1.3 cipher suites (set_ciphers is TLS <= 1.2 only)
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "[SSL] tlsv1 alert no application protocol" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "[SSL: TLSV1_ALERT_DECRYPT_ERROR] tlsv1 alert decrypt error" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "[SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "[SSL: SSLV3_ALERT_UNSUPPORTED_CERTIFICATE] sslv3 alert unsupported certificate" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate is not yet valid" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'." },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'." },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: invalid CA certificate" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: path length constraint exceeded" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: permitted subtree violation" },
    Cell { scenario: "revoked", outcome: Outcome::Revoked, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate revoked" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate signature failure" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unhandled critical extension" },
];
