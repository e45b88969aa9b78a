//! What gnutls-cli says for each lab scenario: gnutls-cli 3.7.9 (GnuTLS 3.7), measured by
//! `certlab lab --clients gnutls --print-cells` (rows pasted as printed). The words are the one
//! line that names the cause: the verification status, the alert received, or the fatal error.
//! `revoked` has no row: gnutls-cli refuses to load a CRL whose issuer is not in its CA file
//! (`Error setting the x509 CRL file: Error in the CRL verification.`), and the lab's CRL is the
//! intermediate's while the CA file holds the root. A row changes only when a real run shows it.

use super::Cell;
#[allow(unused_imports)]
use crate::outcome::Outcome;

/// The measured cells, one per lab scenario.
#[rustfmt::skip]
pub(super) const CELLS: &[Cell] = &[
    Cell { scenario: "plaintext", outcome: Outcome::NotTls, words: "*** Fatal error: An unexpected TLS packet was received." },
    Cell { scenario: "tls12-vs-tls13", outcome: Outcome::ProtocolMismatch, words: "*** Received alert [70]: Error in protocol version" },
    Cell { scenario: "tls13-vs-tls12", outcome: Outcome::ProtocolMismatch, words: "*** Received alert [70]: Error in protocol version" },
    Cell { scenario: "cipher-mismatch", outcome: Outcome::HandshakeFailure, words: "*** Received alert [40]: Handshake failed" },
    Cell { scenario: "alpn-no-h2", outcome: Outcome::AlpnMismatch, words: "*** Received alert [120]: No supported application protocol could be negotiated" },
    Cell { scenario: "client-ok", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "client-none", outcome: Outcome::ClientCertRequired, words: "*** Received alert [116]: Certificate is required" },
    Cell { scenario: "client-unknown-ca", outcome: Outcome::ClientCertRejected, words: "*** Received alert [48]: CA is unknown" },
    Cell { scenario: "client-same-name-root", outcome: Outcome::ClientCertRejected, words: "*** Received alert [51]: Decrypt error" },
    Cell { scenario: "client-expired", outcome: Outcome::ClientCertRejected, words: "*** Received alert [45]: Certificate is expired" },
    Cell { scenario: "client-wrong-eku", outcome: Outcome::ClientCertRejected, words: "*** Received alert [43]: Certificate is not supported" },
    Cell { scenario: "good", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "expired", outcome: Outcome::Expired, words: "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate." },
    Cell { scenario: "not-yet-valid", outcome: Outcome::NotYetValid, words: "- Status: The certificate is NOT trusted. The certificate chain uses not yet valid certificate." },
    Cell { scenario: "wrong-host", outcome: Outcome::HostnameMismatch, words: "- Status: The certificate is NOT trusted. The name in the certificate does not match the expected." },
    Cell { scenario: "ip-mismatch", outcome: Outcome::HostnameMismatch, words: "- Status: The certificate is NOT trusted. The name in the certificate does not match the expected." },
    Cell { scenario: "cn-only", outcome: Outcome::Ok, words: "" },
    Cell { scenario: "unknown-ca", outcome: Outcome::UnknownCa, words: "- Status: The certificate is NOT trusted. The certificate issuer is unknown." },
    Cell { scenario: "same-name-root", outcome: Outcome::UnknownCa, words: "- Status: The certificate is NOT trusted. The certificate issuer is unknown." },
    Cell { scenario: "self-signed", outcome: Outcome::SelfSigned, words: "- Status: The certificate is NOT trusted. The certificate issuer is unknown." },
    Cell { scenario: "missing-intermediate", outcome: Outcome::IncompleteChain, words: "- Status: The certificate is NOT trusted. The certificate issuer is unknown." },
    Cell { scenario: "reversed-chain", outcome: Outcome::MisorderedChain, words: "*** Fatal error: Key usage violation in certificate has been detected." },
    Cell { scenario: "wrong-eku", outcome: Outcome::WrongUsage, words: "- Status: The certificate is NOT trusted. The certificate chain does not match the intended purpose." },
    Cell { scenario: "expired-intermediate", outcome: Outcome::Expired, words: "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate." },
    Cell { scenario: "expired-root", outcome: Outcome::Expired, words: "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate." },
    Cell { scenario: "intermediate-not-ca", outcome: Outcome::InvalidCa, words: "- Status: The certificate is NOT trusted. The certificate issuer is not a CA." },
    Cell { scenario: "path-len", outcome: Outcome::PathLenExceeded, words: "- Status: The certificate is NOT trusted. The certificate chain violates the signer's constraints." },
    Cell { scenario: "name-constraints", outcome: Outcome::NameConstraintViolation, words: "- Status: The certificate is NOT trusted. The certificate chain violates the signer's constraints." },
    Cell { scenario: "bad-signature", outcome: Outcome::BadSignature, words: "- Status: The certificate is NOT trusted. The signature in the certificate is invalid." },
    Cell { scenario: "unknown-critical-extension", outcome: Outcome::BadCertificate, words: "- Status: The certificate is NOT trusted. The certificate contains an unknown critical extension." },
];
