//! What curl says for each lab scenario: curl 7.88 on OpenSSL 3.0, measured by
//! `certlab lab --clients curl --print-cells` (rows pasted as printed; an outcome that
//! `explain` misreads is set by hand, with a comment). A row changes only when a real run
//! shows it.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "curl: (35) error:0A00010B:SSL routines::wrong version number" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "curl: (35) error:0A00042E:SSL routines::tlsv1 alert protocol version" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "curl: (35) error:0A00042E:SSL routines::tlsv1 alert protocol version" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "curl: (35) error:0A000410:SSL routines::sslv3 alert handshake failure" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "curl: (56) OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "curl: (56) OpenSSL SSL_read: error:0A000418:SSL routines::tlsv1 alert unknown ca, errno 0" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "curl: (56) OpenSSL SSL_read: error:0A00041B:SSL routines::tlsv1 alert decrypt error, errno 0" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "curl: (56) OpenSSL SSL_read: error:0A000415:SSL routines::sslv3 alert certificate expired, errno 0" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "curl: (56) OpenSSL SSL_read: error:0A000413:SSL routines::sslv3 alert unsupported certificate, errno 0" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "curl: (60) SSL certificate problem: certificate has expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "curl: (60) SSL certificate problem: certificate is not yet valid" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "curl: (60) SSL: no alternative certificate subject name matches target host name 'localhost'" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "curl: (60) SSL: no alternative certificate subject name matches target host name '127.0.0.1'" },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "curl: (60) SSL certificate problem: unable to get local issuer certificate" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "curl: (60) SSL certificate problem: unable to get local issuer certificate" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "curl: (60) SSL certificate problem: self-signed certificate" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "curl: (60) SSL certificate problem: unable to get local issuer certificate" },
    Cell { scenario: "reversed-chain", outcome: Outcome::WrongUsage, words: "curl: (60) SSL certificate problem: unsuitable certificate purpose" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "curl: (60) SSL certificate problem: unsuitable certificate purpose" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "curl: (60) SSL certificate problem: certificate has expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "curl: (60) SSL certificate problem: certificate has expired" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "curl: (60) SSL certificate problem: invalid CA certificate" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "curl: (60) SSL certificate problem: path length constraint exceeded" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "curl: (60) SSL certificate problem: permitted subtree violation" },
    Cell { scenario: "revoked", outcome: Outcome::Revoked, words: "curl: (60) SSL certificate problem: certificate revoked" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "curl: (35) error:06880006:asn1 encoding routines::EVP lib" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "curl: (60) SSL certificate problem: unhandled critical extension" },
];
