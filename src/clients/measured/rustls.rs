//! What rustls says for each lab scenario: plain rustls 0.23 (rustls-webpki, the CA file as roots, no certlab checks), measured by
//! `certlab lab --clients rustls --print-cells` (rows pasted as printed; an outcome that
//! `explain` misreads is set by hand, with a comment). A row changes only when a real run
//! shows it.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "received corrupt message of type InvalidContentType" },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "received fatal alert: ProtocolVersion" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "received fatal alert: ProtocolVersion" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "received fatal alert: HandshakeFailure" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "received fatal alert: NoApplicationProtocol" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "received fatal alert: CertificateRequired" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "received fatal alert: UnknownCA" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "received fatal alert: DecryptError" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "received fatal alert: CertificateExpired" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "received fatal alert: UnsupportedCertificate" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "invalid peer certificate: certificate expired" },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "invalid peer certificate: certificate not valid yet" },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "invalid peer certificate: certificate not valid for name \"localhost\"; certificate is only valid for DnsName(\"wrong-host.certlab.invalid\")" },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"localhost\")" },
    Cell { scenario: "cn-only", outcome: Outcome::HostnameMismatch, words: "invalid peer certificate: certificate not valid for name \"localhost\"" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "invalid peer certificate: UnknownIssuer" },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "invalid peer certificate: BadSignature" },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "invalid peer certificate: UnknownIssuer" },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "invalid peer certificate: UnknownIssuer" },
    Cell { scenario: "reversed-chain", outcome: Outcome::MisorderedChain, words: "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))" },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "invalid peer certificate: certificate does not allow extended key usage for server authentication, allows client authentication" },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "invalid peer certificate: certificate expired" },
    Cell { scenario: "expired-root", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "invalid peer certificate: Other(OtherError(EndEntityUsedAsCa))" },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "invalid peer certificate: Other(OtherError(PathLenConstraintViolated))" },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "invalid peer certificate: Other(OtherError(NameConstraintViolation))" },
    Cell { scenario: "revoked", outcome: Outcome::Revoked, words: "invalid peer certificate: Revoked" },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "invalid peer certificate: BadSignature" },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "invalid peer certificate: Other(OtherError(UnsupportedCriticalExtension))" },
];
