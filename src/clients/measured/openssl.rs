//! What openssl says for each lab scenario: openssl s_client (OpenSSL 3.0), measured by
//! `certlab lab --clients openssl --print-cells` (rows pasted as printed; an outcome that
//! `explain` misreads is set by hand, with a comment). A row changes only when a real run
//! shows it.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "error:0A00010B:SSL routines:ssl3_get_record:wrong version number" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "error:0A00041B:SSL routines:ssl3_read_bytes:tlsv1 alert decrypt error" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "error:0A000413:SSL routines:ssl3_read_bytes:sslv3 alert unsupported certificate" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "verify error:num=10:certificate has expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "verify error:num=9:certificate is not yet valid" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "verify error:num=62:hostname mismatch" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "verify error:num=64:IP address mismatch" },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "verify error:num=20:unable to get local issuer certificate" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "verify error:num=20:unable to get local issuer certificate" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "verify error:num=18:self-signed certificate" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "verify error:num=20:unable to get local issuer certificate" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "verify error:num=26:unsuitable certificate purpose" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "verify error:num=26:unsuitable certificate purpose" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "verify error:num=10:certificate has expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "verify error:num=10:certificate has expired" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "verify error:num=79:invalid CA certificate" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "verify error:num=25:path length constraint exceeded" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "verify error:num=47:permitted subtree violation" },
    Cell { scenario: "revoked", outcome: Outcome::Revoked, words: "verify error:num=23:certificate revoked" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "verify error:num=7:certificate signature failure" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "verify error:num=34:unhandled critical extension" },
];
