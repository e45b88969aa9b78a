//! A client's error text → [`Outcome`]: the explanation, the fix, and the lab scenario that
//! reproduces it.
//!
//! The whole mapping is one table of data, [`PATTERNS`]: (pattern, client, outcome, other
//! possible outcomes, note). Matching is on normalised text — lower case, every run of
//! characters other than letters and digits turned into one space — so `CERTIFICATE_VERIFY_FAILED`,
//! `certificate verify failed`, `self-signed` and `self signed` are the same words. A `*` in a
//! pattern stands for any text; every piece must start at a word boundary, in order. When
//! several patterns match, the most specific one wins ([`find`]): a generic head (`curl: (60)`,
//! `certificate verify failed`, gRPC's `TSI_PROTOCOL_FAILURE`, GnuTLS's `Error in the
//! certificate`) yields to the reason that follows it, then the most matched characters decide
//! (the first in the table on a tie), so `curl: (60) SSL certificate problem: certificate has
//! expired` is `expired`, and Python's `certificate verify failed: invalid CA certificate` is
//! `invalid-ca`. [`recognise`] names the client whose output the message is, from its form.
//!
//! The table holds the words of OpenSSL (s_client, curl, Python, Node), OpenSSL's X509_STRICT
//! (Python ≥ 3.13), BoringSSL (gRPC), GnuTLS, Go, rustls, Java (JSSE and
//! `CertPathValidatorException`) and Node.js, as real clients printed them against the lab
//! (`tests/it/explain_clients.rs` feeds every collected message back).
//!
//! ```
//! use certlab::explain::{self, Explained};
//! use certlab::Outcome;
//!
//! let Explained::Known(m) = explain::explain("x509: certificate signed by unknown authority") else {
//!     panic!("known message");
//! };
//! assert_eq!(m.outcome, Outcome::UnknownCa);
//! assert_eq!(m.client, "go");
//! assert!(explain::lab_scenarios(Outcome::UnknownCa).contains(&"unknown-ca".to_string()));
//!
//! let Explained::Unknown(close) = explain::explain("my printer is on fire, certificate") else {
//!     panic!("unknown message");
//! };
//! assert!(!close.is_empty());
//! ```

use std::sync::OnceLock;

use crate::clients::Client;
use crate::outcome::Outcome;

/// One known error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// The text to find, `*` for any text in between (see the module docs).
    pub pattern: &'static str,
    /// Who prints it: `openssl`, `curl`, `python`, `grpc`, `gnutls`, `go`, `rustls`, `java`,
    /// `node` (a [`Client`] name; OpenSSL's words are printed by curl, Python and Node too).
    pub client: &'static str,
    /// The outcome it most often means.
    pub outcome: Outcome,
    /// Other outcomes the same text can mean.
    pub also: &'static [Outcome],
    /// What to look at beyond the outcome's own explanation (may be empty).
    pub note: &'static str,
    /// A generic head ("certificate verify failed", `curl: (60)`, gRPC's
    /// `TSI_PROTOCOL_FAILURE`, GnuTLS's `Error in the certificate`): a reason usually follows
    /// it, and any specific pattern that matches the same message wins over it.
    pub generic: bool,
}

const fn p(
    pattern: &'static str,
    client: &'static str,
    outcome: Outcome,
    also: &'static [Outcome],
    note: &'static str,
) -> Pattern {
    Pattern {
        pattern,
        client,
        outcome,
        also,
        note,
        generic: false,
    }
}

/// A generic head (see [`Pattern::generic`]).
const fn g(
    pattern: &'static str,
    client: &'static str,
    outcome: Outcome,
    also: &'static [Outcome],
    note: &'static str,
) -> Pattern {
    Pattern {
        generic: true,
        ..p(pattern, client, outcome, also, note)
    }
}

use Outcome as O;

/// Every known message, in one place. Tested message by message in `tests/it/explain.rs`.
pub static PATTERNS: &[Pattern] = &[
    // ---- OpenSSL (s_client, verify, and everything built on it) ----
    p(
        "unable to get local issuer certificate",
        "openssl",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "verify error 20: no trusted issuer found; if the issuer is an intermediate of your own PKI, the server did not send it (certlab probe --pki DIR tells which)",
    ),
    p(
        "unable to get issuer certificate",
        "openssl",
        O::IncompleteChain,
        &[O::UnknownCa],
        "verify error 2: an issuer in the middle of the chain is missing",
    ),
    p(
        "unable to verify the first certificate",
        "openssl",
        O::IncompleteChain,
        &[O::UnknownCa],
        "verify error 21: the leaf's issuer was neither sent nor trusted",
    ),
    p(
        "self-signed certificate in certificate chain",
        "openssl",
        O::UnknownCa,
        &[],
        "verify error 19: the chain ends at a root the client does not trust (often a root with your root's name but another key)",
    ),
    p(
        "self-signed certificate",
        "openssl",
        O::SelfSigned,
        &[],
        "verify error 18: the server's own certificate signs itself",
    ),
    p(
        "certificate has expired",
        "openssl",
        O::Expired,
        &[],
        "verify error 10: the leaf, an intermediate or the root is past notAfter (certlab inspect shows which)",
    ),
    p(
        "certificate is not yet valid",
        "openssl",
        O::NotYetValid,
        &[],
        "verify error 9: check the client's clock",
    ),
    p(
        "hostname mismatch",
        "openssl",
        O::HostnameMismatch,
        &[],
        "verify error 62: the name used is not among the SANs (a CN alone does not count)",
    ),
    p(
        "ip address mismatch",
        "openssl",
        O::HostnameMismatch,
        &[],
        "verify error 64: connecting by IP needs an IP SAN",
    ),
    p(
        "unsuitable certificate purpose",
        "openssl",
        O::WrongUsage,
        &[O::MisorderedChain, O::InvalidCa],
        "verify error 26: a server certificate without serverAuth, or a client certificate without clientAuth; OpenSSL also says it when the server sends an intermediate first (it takes it for the leaf), and Node.js when an intermediate is not a CA",
    ),
    // OpenSSL's X509_STRICT checks: Python >= 3.13's default context and `openssl verify
    // -x509_strict` refuse what other clients accept.
    p(
        "basic constraints of ca cert not marked critical",
        "openssl",
        O::InvalidCa,
        &[],
        "verify error 89 under X509_STRICT (Python >= 3.13, openssl verify -x509_strict; easy-rsa's default CA): other clients accept it; re-issue the CA with a critical basicConstraints",
    ),
    p(
        "ca cert does not include key usage extension",
        "openssl",
        O::InvalidCa,
        &[],
        "verify error 92 under X509_STRICT (Python >= 3.13): give the CA keyUsage keyCertSign, cRLSign",
    ),
    p(
        "path length given without key usage keycertsign",
        "openssl",
        O::InvalidCa,
        &[],
        "under X509_STRICT (Python >= 3.13): a CA with pathLen needs keyUsage keyCertSign",
    ),
    p(
        "missing authority key identifier",
        "openssl",
        O::BadCertificate,
        &[],
        "verify error 85 under X509_STRICT (Python >= 3.13): re-issue with an authorityKeyIdentifier",
    ),
    p(
        "missing subject key identifier",
        "openssl",
        O::BadCertificate,
        &[],
        "verify error 86 under X509_STRICT (Python >= 3.13): a CA needs a subjectKeyIdentifier",
    ),
    p(
        "authority key identifier marked critical",
        "openssl",
        O::BadCertificate,
        &[],
        "under X509_STRICT (Python >= 3.13): RFC 5280 forbids a critical authorityKeyIdentifier",
    ),
    p(
        "subject key identifier marked critical",
        "openssl",
        O::BadCertificate,
        &[],
        "under X509_STRICT (Python >= 3.13): RFC 5280 forbids a critical subjectKeyIdentifier",
    ),
    p(
        "key usage keycertsign invalid for non-ca cert",
        "openssl",
        O::BadCertificate,
        &[O::WrongUsage],
        "under X509_STRICT (Python >= 3.13): a leaf with keyCertSign",
    ),
    p(
        "subject empty and subject alt name extension not critical",
        "openssl",
        O::BadCertificate,
        &[],
        "under X509_STRICT (Python >= 3.13): a certificate without a subject needs a critical SAN",
    ),
    p(
        "issuer name empty",
        "openssl",
        O::BadCertificate,
        &[O::InvalidCa],
        "under X509_STRICT (Python >= 3.13): a CA with an empty subject",
    ),
    p(
        "unable to get certificate crl",
        "openssl",
        O::Revoked,
        &[],
        "verify error 3: the client checks revocation and has no CRL for a certificate of the chain (Node.js's `crl` option checks every CA too): give it every CA's CRL",
    ),
    p(
        "tls process cert verify * bad signature",
        "openssl",
        O::MisorderedChain,
        &[O::BadSignature],
        "the server's handshake signature does not verify with the first certificate it sent: that certificate is not the server's own (an intermediate sent first, or a key that does not match the certificate)",
    ),
    p(
        "invalid ca certificate",
        "openssl",
        O::InvalidCa,
        &[],
        "verify error 79 (24 in OpenSSL 1.1)",
    ),
    p(
        "path length constraint exceeded",
        "openssl",
        O::PathLenExceeded,
        &[],
        "verify error 25",
    ),
    p(
        "permitted subtree violation",
        "openssl",
        O::NameConstraintViolation,
        &[],
        "verify error 47",
    ),
    p(
        "certificate revoked",
        "openssl",
        O::Revoked,
        &[],
        "verify error 23",
    ),
    p(
        "CRL has expired",
        "openssl",
        O::Expired,
        &[],
        "verify error 12: a CRL the client was given is past its nextUpdate (the certificates may be fine): give a current CRL",
    ),
    p(
        "certificate signature failure",
        "openssl",
        O::BadSignature,
        &[],
        "verify error 7",
    ),
    p(
        "unhandled critical extension",
        "openssl",
        O::BadCertificate,
        &[],
        "verify error 34",
    ),
    p(
        "asn1 encoding routines * evp lib",
        "openssl",
        O::BadSignature,
        &[O::BadCertificate],
        "OpenSSL could not process a signature of the server's certificate during the handshake (curl exit 35): the certificate is corrupted",
    ),
    p(
        "wrong version number",
        "openssl",
        O::NotTls,
        &[],
        "the port answered something that is not TLS: plain HTTP or gRPC, or the wrong port",
    ),
    p(
        "packet length too long",
        "openssl",
        O::NotTls,
        &[],
        "the port answered something that is not TLS",
    ),
    p(
        "unexpected eof while reading",
        "openssl",
        O::Reset,
        &[O::ClientCertRequired],
        "the server hung up without an alert; some servers do so for a missing client certificate",
    ),
    p(
        "tlsv13 alert certificate required",
        "openssl",
        O::ClientCertRequired,
        &[],
        "alert 116 from the server: it requires a client certificate and none was sent",
    ),
    p(
        "alert unknown ca",
        "openssl",
        O::ClientCertRejected,
        &[],
        "alert 48 from the server: your client certificate is not from a CA in its client_ca_file",
    ),
    p(
        "alert bad certificate",
        "openssl",
        O::ClientCertRejected,
        &[],
        "alert 42 from the server: it rejected your client certificate",
    ),
    p(
        "alert certificate expired",
        "openssl",
        O::ClientCertRejected,
        &[],
        "alert 45 from the server: your client certificate has expired",
    ),
    p(
        "alert unsupported certificate",
        "openssl",
        O::ClientCertRejected,
        &[],
        "alert 43 from the server: your client certificate lacks clientAuth",
    ),
    p(
        "alert decrypt error",
        "openssl",
        O::ClientCertRejected,
        &[O::HandshakeFailure],
        "alert 51 from the server: a signature of your client certificate does not verify: a key that does not match the certificate, or a client CA with the name of the server's CA but another key (certlab's client-same-name-root)",
    ),
    p(
        "alert handshake failure",
        "openssl",
        O::HandshakeFailure,
        &[O::ClientCertRequired],
        "alert 40: no cipher suite or group in common; from an OpenSSL server on TLS 1.2 also a missing client certificate",
    ),
    p(
        "alert protocol version",
        "openssl",
        O::ProtocolMismatch,
        &[],
        "alert 70: no TLS version in common",
    ),
    p(
        "unsupported protocol",
        "openssl",
        O::ProtocolMismatch,
        &[],
        "no TLS version in common",
    ),
    p(
        "no protocols available",
        "openssl",
        O::ProtocolMismatch,
        &[],
        "the client's own min/max versions leave nothing",
    ),
    p(
        "no shared cipher",
        "openssl",
        O::HandshakeFailure,
        &[],
        "no cipher suite in common",
    ),
    p(
        "alert no application protocol",
        "openssl",
        O::AlpnMismatch,
        &[],
        "alert 120: no ALPN protocol in common",
    ),
    g(
        "certificate verify failed",
        "openssl",
        O::UnknownCa,
        &[O::Expired, O::HostnameMismatch, O::SelfSigned],
        "a generic verification failure: the text after it (or the verify error number) names the reason",
    ),
    // ---- curl ----
    p(
        "no alternative certificate subject name matches",
        "curl",
        O::HostnameMismatch,
        &[],
        "the host or IP in the URL is not among the certificate's SANs",
    ),
    p(
        "curl: (7)",
        "curl",
        O::Refused,
        &[O::Timeout],
        "failed to connect: nothing listens there",
    ),
    p("curl: (28)", "curl", O::Timeout, &[], "operation timed out"),
    g(
        "curl: (35)",
        "curl",
        O::HandshakeFailure,
        &[
            O::NotTls,
            O::Reset,
            O::ProtocolMismatch,
            O::ClientCertRequired,
        ],
        "exit 35 is any TLS handshake failure: the text after it names the reason (wrong version number = not TLS, alert ... = the server's complaint)",
    ),
    g(
        "curl: (56)",
        "curl",
        O::Reset,
        &[O::ClientCertRequired, O::ClientCertRejected],
        "exit 56 is a receive failure after connecting; with TLS 1.3 and mTLS it is the server's alert about the client certificate, which arrives after the handshake",
    ),
    p(
        "curl: (58)",
        "curl",
        O::BadCertificate,
        &[],
        "exit 58: curl could not use the local client certificate or key (--cert/--key: wrong path or format, or the key does not match the certificate)",
    ),
    g(
        "curl: (60)",
        "curl",
        O::UnknownCa,
        &[
            O::Expired,
            O::HostnameMismatch,
            O::SelfSigned,
            O::IncompleteChain,
        ],
        "exit 60 is any server-certificate verification failure: the text after it names the reason",
    ),
    p(
        "curl: (77)",
        "curl",
        O::UnknownCa,
        &[],
        "exit 77: curl could not read the CA file (--cacert / CURL_CA_BUNDLE): check the path",
    ),
    p(
        "failed to connect to",
        "curl",
        O::Refused,
        &[O::Timeout],
        "nothing listens on that host and port",
    ),
    // ---- Python ssl ----
    p(
        "certificate_verify_failed * hostname mismatch",
        "python",
        O::HostnameMismatch,
        &[],
        "the server_hostname is not among the certificate's SANs",
    ),
    p(
        "certificate_verify_failed * ip address mismatch",
        "python",
        O::HostnameMismatch,
        &[],
        "connecting by IP needs an IP SAN",
    ),
    p(
        "certificate_verify_failed * unable to get local issuer certificate",
        "python",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "pass the CA: ssl.create_default_context(cafile=\"ca.pem\") or REQUESTS_CA_BUNDLE / SSL_CERT_FILE",
    ),
    g(
        "certificate_verify_failed",
        "python",
        O::UnknownCa,
        &[O::Expired, O::HostnameMismatch, O::SelfSigned],
        "the text after the colon names the reason",
    ),
    p(
        "sslv3_alert_certificate_required",
        "python",
        O::ClientCertRequired,
        &[],
        "load_cert_chain(certfile, keyfile) on the context",
    ),
    p(
        "tlsv13_alert_certificate_required",
        "python",
        O::ClientCertRequired,
        &[],
        "load_cert_chain(certfile, keyfile) on the context",
    ),
    // ---- gRPC (C core: Python, C++, Ruby, PHP, ...) ----
    g(
        "handshake failed (tsi_protocol_failure)",
        "grpc",
        O::UnknownCa,
        &[
            O::HostnameMismatch,
            O::AlpnMismatch,
            O::Expired,
            O::HandshakeFailure,
        ],
        "gRPC hides the reason: the log line before it (ssl_transport_security) says CERTIFICATE_VERIFY_FAILED (the CA, or an expired certificate) or an ALPN problem (gRPC needs h2)",
    ),
    p(
        "hostname verification check failed",
        "grpc",
        O::HostnameMismatch,
        &[],
        "the target name is not among the SANs; set grpc.ssl_target_name_override to a name that is",
    ),
    p(
        "peer name * is not in peer certificate",
        "grpc",
        O::HostnameMismatch,
        &[],
        "the target name is not among the SANs; set grpc.ssl_target_name_override to a name that is",
    ),
    g(
        "unwrap failed (tsi_data_corrupted)",
        "grpc",
        O::ClientCertRequired,
        &[O::ClientCertRejected],
        "seen after a TLS 1.3 handshake when the server refused the client: no client certificate sent (or one it rejected); configure the certificate and key",
    ),
    p(
        "cannot check peer: missing selected alpn property",
        "grpc",
        O::AlpnMismatch,
        &[],
        "the server did not negotiate h2",
    ),
    g(
        "failed to connect to all addresses",
        "grpc",
        O::UnknownCa,
        &[
            O::Refused,
            O::HandshakeFailure,
            O::Expired,
            O::HostnameMismatch,
        ],
        "gRPC's status: the reason follows `last error:` (or is in the ssl_transport_security log line before it)",
    ),
    p(
        "key_usage_bit_incorrect",
        "grpc",
        O::WrongUsage,
        &[O::MisorderedChain],
        "BoringSSL: the first certificate's keyUsage forbids signing the handshake; when the server sends an intermediate first, BoringSSL takes it for the leaf and says this",
    ),
    p(
        "unsupported certificate purpose",
        "grpc",
        O::WrongUsage,
        &[],
        "BoringSSL's wording of OpenSSL's error 26: the certificate lacks serverAuth (or clientAuth)",
    ),
    p(
        "alert certificate required",
        "grpc",
        O::ClientCertRequired,
        &[],
        "alert 116 (BoringSSL spells it TLSV1_ALERT_CERTIFICATE_REQUIRED): the server requires a client certificate and none was sent",
    ),
    // ---- GnuTLS (gnutls-cli and programs on it) ----
    g(
        "pki verification of server certificate failed",
        "gnutls",
        O::UnknownCa,
        &[
            O::Expired,
            O::HostnameMismatch,
            O::SelfSigned,
            O::IncompleteChain,
        ],
        "the `- Status: The certificate is NOT trusted.` line before it names the reason",
    ),
    g(
        "error in the certificate",
        "gnutls",
        O::UnknownCa,
        &[
            O::Expired,
            O::HostnameMismatch,
            O::SelfSigned,
            O::IncompleteChain,
        ],
        "GnuTLS's fatal error after a failed verification: the `- Status:` line names the reason",
    ),
    g(
        "the certificate is not trusted",
        "gnutls",
        O::UnknownCa,
        &[
            O::Expired,
            O::HostnameMismatch,
            O::SelfSigned,
            O::IncompleteChain,
        ],
        "the reason follows on the same line",
    ),
    g(
        "a tls fatal alert has been received",
        "gnutls",
        O::HandshakeFailure,
        &[
            O::ProtocolMismatch,
            O::AlpnMismatch,
            O::ClientCertRequired,
            O::ClientCertRejected,
        ],
        "the `*** Received alert [N]` line before it names the alert",
    ),
    g(
        "server has terminated the connection abnormally",
        "gnutls",
        O::Reset,
        &[O::ClientCertRequired, O::ClientCertRejected],
        "the server closed the connection; an alert line before it says why",
    ),
    p(
        "the certificate issuer is unknown",
        "gnutls",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "no trusted CA issued the chain; GnuTLS says the same for a self-signed server certificate and for a missing intermediate",
    ),
    p(
        "the certificate chain uses expired certificate",
        "gnutls",
        O::Expired,
        &[],
        "the leaf, an intermediate or the root is past notAfter (certlab inspect shows which)",
    ),
    p(
        "the certificate chain uses not yet valid certificate",
        "gnutls",
        O::NotYetValid,
        &[],
        "check the clock",
    ),
    p(
        "the name in the certificate does not match the expected",
        "gnutls",
        O::HostnameMismatch,
        &[],
        "the host or IP is not among the SANs (GnuTLS still accepts a CN alone)",
    ),
    p(
        "the certificate chain does not match the intended purpose",
        "gnutls",
        O::WrongUsage,
        &[],
        "the EKU lacks serverAuth (or clientAuth)",
    ),
    p(
        "key usage violation in certificate has been detected",
        "gnutls",
        O::WrongUsage,
        &[O::MisorderedChain],
        "the first certificate's keyUsage forbids signing the handshake; when the server sends an intermediate first, GnuTLS takes it for the leaf and says this",
    ),
    p(
        "the certificate issuer is not a ca",
        "gnutls",
        O::InvalidCa,
        &[],
        "",
    ),
    p(
        "the certificate chain violates the signer's constraints",
        "gnutls",
        O::PathLenExceeded,
        &[O::NameConstraintViolation],
        "GnuTLS says this for a pathLen constraint and for name constraints alike (certlab inspect shows which)",
    ),
    p(
        "the certificate chain is revoked",
        "gnutls",
        O::Revoked,
        &[],
        "",
    ),
    p(
        "the signature in the certificate is invalid",
        "gnutls",
        O::BadSignature,
        &[],
        "",
    ),
    p(
        "the certificate contains an unknown critical extension",
        "gnutls",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "an unexpected tls packet was received",
        "gnutls",
        O::NotTls,
        &[],
        "the port does not speak TLS",
    ),
    p(
        "received alert [70]",
        "gnutls",
        O::ProtocolMismatch,
        &[],
        "alert 70 (Error in protocol version): no TLS version in common",
    ),
    p(
        "received alert [40]",
        "gnutls",
        O::HandshakeFailure,
        &[O::ClientCertRequired],
        "alert 40 (Handshake failed): no cipher suite or group in common",
    ),
    p(
        "received alert [120]",
        "gnutls",
        O::AlpnMismatch,
        &[],
        "alert 120 (No supported application protocol could be negotiated)",
    ),
    p(
        "received alert [116]",
        "gnutls",
        O::ClientCertRequired,
        &[],
        "alert 116 (Certificate is required): give gnutls-cli --x509certfile and --x509keyfile",
    ),
    p(
        "received alert [48]",
        "gnutls",
        O::ClientCertRejected,
        &[],
        "alert 48 (CA is unknown): your client certificate is not from a CA the server trusts",
    ),
    p(
        "received alert [51]",
        "gnutls",
        O::ClientCertRejected,
        &[O::HandshakeFailure],
        "alert 51 (Decrypt error): the server could not verify your client certificate's signature (a client CA with the server's CA's name but another key, or a mismatched key)",
    ),
    p(
        "received alert [45]",
        "gnutls",
        O::ClientCertRejected,
        &[],
        "alert 45 (Certificate is expired): your client certificate has expired",
    ),
    p(
        "received alert [43]",
        "gnutls",
        O::ClientCertRejected,
        &[],
        "alert 43 (Certificate is not supported): your client certificate lacks clientAuth",
    ),
    p(
        "received alert [42]",
        "gnutls",
        O::ClientCertRejected,
        &[],
        "alert 42 (Certificate is bad): the server rejected your client certificate",
    ),
    // ---- Go crypto/tls and crypto/x509 ----
    p(
        "signed by unknown authority (possibly because of *verification failure",
        "go",
        O::BadSignature,
        &[O::UnknownCa],
        "a CA with the issuer's name was found but its key does not verify the signature: a tampered certificate, or a root with your root's name and another key",
    ),
    p(
        "x509: certificate signed by unknown authority",
        "go",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "give the client the CA (tls.Config.RootCAs, SSL_CERT_FILE, the collector's ca_file); if the CA is there, the server did not send its intermediate",
    ),
    p(
        "possibly because of * verification failure * while trying to verify candidate authority certificate",
        "go",
        O::BadSignature,
        &[O::UnknownCa],
        "a CA with the issuer's name was found but its key does not verify the signature: a corrupted certificate, or a root with your root's name and another key (two CAs with one name: certlab's same-name-root)",
    ),
    p(
        "parent certificate cannot sign this kind of certificate",
        "go",
        O::InvalidCa,
        &[],
        "the issuer in the chain is not a CA (basicConstraints CA:false, or no keyCertSign)",
    ),
    p(
        "x509: certificate is not valid for any names",
        "go",
        O::HostnameMismatch,
        &[O::MisorderedChain],
        "the first certificate has no SAN at all; when the server sends an intermediate first, Go takes it for the leaf and says this",
    ),
    p(
        "x509: a root or intermediate certificate is not authorized to sign for this name",
        "go",
        O::NameConstraintViolation,
        &[],
        "a CA's name constraints exclude the name",
    ),
    p(
        "x509: certificate has expired or is not yet valid",
        "go",
        O::Expired,
        &[O::NotYetValid],
        "Go's text then says `current time X is after Y` (expired) or `is before` (not yet valid)",
    ),
    p(
        "x509: certificate has expired or is not yet valid * is before",
        "go",
        O::NotYetValid,
        &[],
        "the certificate starts in the future: check the clock",
    ),
    p(
        "x509: certificate is valid for * not",
        "go",
        O::HostnameMismatch,
        &[],
        "the name after `not` is what the client asked for; the ones before are the SANs",
    ),
    p(
        "x509: certificate relies on legacy common name field",
        "go",
        O::HostnameMismatch,
        &[],
        "the host is only in the CN; Go needs it as a SAN (certlab's cn-only fault)",
    ),
    p(
        "x509: cannot validate certificate for * because it doesn't contain any ip sans",
        "go",
        O::HostnameMismatch,
        &[],
        "connecting by IP needs an IP SAN",
    ),
    p(
        "x509: certificate specifies an incompatible key usage",
        "go",
        O::WrongUsage,
        &[],
        "the EKU lacks serverAuth (or clientAuth)",
    ),
    p(
        "x509: certificate is not authorized to sign other certificates",
        "go",
        O::InvalidCa,
        &[],
        "",
    ),
    p(
        "x509: too many intermediates for path length constraint",
        "go",
        O::PathLenExceeded,
        &[],
        "",
    ),
    p(
        "is not permitted by any constraint",
        "go",
        O::NameConstraintViolation,
        &[],
        "",
    ),
    p(
        "x509: certificate is not permitted for this usage",
        "go",
        O::WrongUsage,
        &[],
        "",
    ),
    p(
        "x509: unhandled critical extension",
        "go",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "tls: first record does not look like a tls handshake",
        "go",
        O::NotTls,
        &[],
        "the port speaks plain HTTP or gRPC: use https only against a TLS port",
    ),
    p(
        "remote error: tls: bad certificate",
        "go",
        O::ClientCertRejected,
        &[],
        "the server rejected your client certificate (alert 42)",
    ),
    p(
        "remote error: tls: certificate required",
        "go",
        O::ClientCertRequired,
        &[O::ClientCertRejected],
        "alert 116; Go sends no certificate whose issuer is not among the CAs the server asks for, so a client certificate from the wrong CA ends here too",
    ),
    p(
        "remote error: tls: error decrypting message",
        "go",
        O::ClientCertRejected,
        &[O::HandshakeFailure],
        "alert 51 (decrypt_error): the server could not verify your client certificate's signature: a client CA with the server's CA's name but another key (certlab's client-same-name-root), or a key that does not match the certificate",
    ),
    p(
        "remote error: tls: unknown certificate authority",
        "go",
        O::ClientCertRejected,
        &[],
        "alert 48",
    ),
    p(
        "remote error: tls: expired certificate",
        "go",
        O::ClientCertRejected,
        &[],
        "alert 45",
    ),
    p(
        "remote error: tls: unsupported certificate",
        "go",
        O::ClientCertRejected,
        &[],
        "alert 43",
    ),
    p(
        "remote error: tls: handshake failure",
        "go",
        O::HandshakeFailure,
        &[O::ClientCertRequired],
        "alert 40",
    ),
    p(
        "remote error: tls: protocol version not supported",
        "go",
        O::ProtocolMismatch,
        &[],
        "alert 70",
    ),
    p(
        "tls: server selected unsupported protocol version",
        "go",
        O::ProtocolMismatch,
        &[],
        "",
    ),
    p(
        "tls: no application protocol",
        "go",
        O::AlpnMismatch,
        &[],
        "alert 120",
    ),
    p(
        "http: server gave http response to https client",
        "go",
        O::NotTls,
        &[],
        "the port speaks plain HTTP: use https only against a TLS port",
    ),
    p("connection refused", "go", O::Refused, &[], ""),
    p("i/o timeout", "go", O::Timeout, &[], ""),
    p("connection reset by peer", "go", O::Reset, &[], ""),
    // ---- rustls ----
    p(
        "causedasendentity",
        "rustls",
        O::MisorderedChain,
        &[O::InvalidCa],
        "the first certificate the server sent is a CA: the chain is in the wrong order (leaf first), or a CA certificate is served as the leaf",
    ),
    p(
        "invalid peer certificate: unknownissuer",
        "rustls",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "no path to a root in the client's root store",
    ),
    p(
        "notvalidforname",
        "rustls",
        O::HostnameMismatch,
        &[],
        "the server name is not among the SANs",
    ),
    p(
        "invalid peer certificate: certificate not valid for name",
        "rustls",
        O::HostnameMismatch,
        &[],
        "the server name is not among the SANs listed after `only valid for`",
    ),
    p(
        "invalid peer certificate: expired",
        "rustls",
        O::Expired,
        &[],
        "",
    ),
    p(
        "invalid peer certificate: certificate expired",
        "rustls",
        O::Expired,
        &[],
        "",
    ),
    p(
        "invalid peer certificate: notvalidyet",
        "rustls",
        O::NotYetValid,
        &[],
        "",
    ),
    p(
        "invalid peer certificate: certificate not valid yet",
        "rustls",
        O::NotYetValid,
        &[],
        "check the clock",
    ),
    p(
        "invalid peer certificate: badsignature",
        "rustls",
        O::BadSignature,
        &[O::UnknownCa],
        "webpki also says BadSignature when an issuer has the name of a trusted root but another key (a foreign root with the same name): then it is unknown-ca; certlab probe tells which",
    ),
    p(
        "invalid peer certificate: revoked",
        "rustls",
        O::Revoked,
        &[],
        "",
    ),
    p(
        "invalid peer certificate: invalidpurpose",
        "rustls",
        O::WrongUsage,
        &[],
        "",
    ),
    p(
        "certificate does not allow extended key usage for",
        "rustls",
        O::WrongUsage,
        &[],
        "",
    ),
    p(
        "invalid peer certificate: badencoding",
        "rustls",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "unhandledcriticalextension",
        "rustls",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "unsupportedcriticalextension",
        "rustls",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "pathlenconstraintviolated",
        "rustls",
        O::PathLenExceeded,
        &[],
        "",
    ),
    p(
        "nameconstraintviolation",
        "rustls",
        O::NameConstraintViolation,
        &[],
        "",
    ),
    p(
        "endentityusedasca",
        "rustls",
        O::InvalidCa,
        &[],
        "an issuer in the chain is not a CA",
    ),
    g(
        "received fatal alert",
        "rustls",
        O::HandshakeFailure,
        &[
            O::ClientCertRequired,
            O::ClientCertRejected,
            O::ProtocolMismatch,
        ],
        "the peer refused the handshake: the alert's name says why",
    ),
    p(
        "received fatal alert: certificaterequired",
        "rustls",
        O::ClientCertRequired,
        &[],
        "alert 116",
    ),
    p(
        "received fatal alert: badcertificate",
        "rustls",
        O::ClientCertRejected,
        &[],
        "alert 42",
    ),
    p(
        "received fatal alert: unknownca",
        "rustls",
        O::ClientCertRejected,
        &[],
        "alert 48",
    ),
    p(
        "received fatal alert: certificateexpired",
        "rustls",
        O::ClientCertRejected,
        &[],
        "alert 45",
    ),
    p(
        "received fatal alert: unsupportedcertificate",
        "rustls",
        O::ClientCertRejected,
        &[],
        "alert 43",
    ),
    p(
        "received fatal alert: decrypterror",
        "rustls",
        O::ClientCertRejected,
        &[],
        "alert 51",
    ),
    p(
        "received fatal alert: handshakefailure",
        "rustls",
        O::HandshakeFailure,
        &[O::ClientCertRequired],
        "alert 40",
    ),
    p(
        "received fatal alert: protocolversion",
        "rustls",
        O::ProtocolMismatch,
        &[],
        "alert 70",
    ),
    p(
        "received fatal alert: noapplicationprotocol",
        "rustls",
        O::AlpnMismatch,
        &[],
        "alert 120",
    ),
    g(
        "peer is incompatible",
        "rustls",
        O::HandshakeFailure,
        &[O::ProtocolMismatch],
        "the reason follows: no cipher suites, versions or groups in common",
    ),
    p(
        "received corrupt message of type invalidcontenttype",
        "rustls",
        O::NotTls,
        &[],
        "the peer does not speak TLS",
    ),
    p(
        "peer sent no certificates",
        "rustls",
        O::ClientCertRequired,
        &[],
        "the server side saw a client without a certificate",
    ),
    // ---- Java (JSSE) ----
    p(
        "pkix path building failed",
        "java",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "import the CA into the truststore (keytool -importcert -file ca.pem), or javax.net.ssl.trustStore",
    ),
    p(
        "unable to find valid certification path to requested target",
        "java",
        O::UnknownCa,
        &[O::IncompleteChain, O::SelfSigned],
        "",
    ),
    p(
        "pkix path validation failed * validity check failed",
        "java",
        O::Expired,
        &[O::NotYetValid],
        "a certificate of the chain is outside its validity dates (Java does not say which: certlab inspect does)",
    ),
    p(
        "path does not chain with any of the trust anchors",
        "java",
        O::UnknownCa,
        &[],
        "the chain ends at a certificate with a trusted root's name but another key (a foreign root with the same name)",
    ),
    p(
        "ioexception: error writing to server",
        "java",
        O::Reset,
        &[O::ClientCertRequired, O::ClientCertRejected],
        "the server closed the connection while Java sent the request; HttpsURLConnection to a TLS 1.3 server that requires a client certificate says only this (set javax.net.ssl.keyStore)",
    ),
    p(
        "no subject alternative names matching",
        "java",
        O::HostnameMismatch,
        &[],
        "the host or IP is not among the SANs",
    ),
    p(
        "no subject alternative dns name matching",
        "java",
        O::HostnameMismatch,
        &[],
        "the host is not among the DNS SANs",
    ),
    p(
        "no subject alternative names present",
        "java",
        O::HostnameMismatch,
        &[],
        "the certificate has no SAN extension (CN only)",
    ),
    p(
        "no name matching * found",
        "java",
        O::HostnameMismatch,
        &[],
        "",
    ),
    p("certificateexpiredexception", "java", O::Expired, &[], ""),
    p(
        "certificatenotyetvalidexception",
        "java",
        O::NotYetValid,
        &[],
        "",
    ),
    p(
        "extended key usage does not permit use for tls",
        "java",
        O::WrongUsage,
        &[],
        "",
    ),
    p(
        "received fatal alert: certificate_required",
        "java",
        O::ClientCertRequired,
        &[O::ClientCertRejected],
        "set javax.net.ssl.keyStore to a keystore with the client certificate; JSSE sends no certificate whose issuer is not among the CAs the server asks for, so one from the wrong CA ends here too",
    ),
    p(
        "received fatal alert: decrypt_error",
        "java",
        O::ClientCertRejected,
        &[O::HandshakeFailure],
        "alert 51: the server could not verify your client certificate's signature (a client CA with the server's CA's name but another key, or a mismatched key)",
    ),
    p(
        "received fatal alert: unknown_ca",
        "java",
        O::ClientCertRejected,
        &[],
        "alert 48: your client certificate is not from a CA the server trusts",
    ),
    p(
        "received fatal alert: certificate_expired",
        "java",
        O::ClientCertRejected,
        &[],
        "alert 45: your client certificate has expired",
    ),
    p(
        "received fatal alert: unsupported_certificate",
        "java",
        O::ClientCertRejected,
        &[],
        "alert 43: your client certificate lacks clientAuth",
    ),
    p(
        "received fatal alert: no_application_protocol",
        "java",
        O::AlpnMismatch,
        &[],
        "alert 120: no ALPN protocol in common",
    ),
    g(
        "pkix path validation failed",
        "java",
        O::UnknownCa,
        &[
            O::Expired,
            O::InvalidCa,
            O::PathLenExceeded,
            O::NameConstraintViolation,
            O::Revoked,
            O::BadSignature,
            O::BadCertificate,
        ],
        "the CertPathValidatorException's text after it names the reason",
    ),
    p(
        "validity check failed * certificateexpiredexception",
        "java",
        O::Expired,
        &[],
        "",
    ),
    p(
        "validity check failed * certificatenotyetvalidexception",
        "java",
        O::NotYetValid,
        &[],
        "check the clock",
    ),
    p(
        "basic constraints check failed: this is not a ca certificate",
        "java",
        O::InvalidCa,
        &[],
        "",
    ),
    p(
        "basic constraints check failed: pathlenconstraint violated",
        "java",
        O::PathLenExceeded,
        &[],
        "",
    ),
    p(
        "name constraints check failed",
        "java",
        O::NameConstraintViolation,
        &[],
        "",
    ),
    p("certificate has been revoked", "java", O::Revoked, &[], ""),
    p(
        "could not determine revocation status",
        "java",
        O::Revoked,
        &[],
        "revocation checking is on and Java found no CRL (or OCSP answer) for a certificate of the chain: give it every CA's CRL, or check only the leaf (PKIXRevocationChecker.Option.ONLY_END_ENTITY)",
    ),
    p(
        "certpathvalidatorexception: signature check failed",
        "java",
        O::BadSignature,
        &[],
        "",
    ),
    p(
        "unrecognized critical extension",
        "java",
        O::BadCertificate,
        &[],
        "",
    ),
    p(
        "keyusage does not allow digital signatures",
        "java",
        O::WrongUsage,
        &[O::MisorderedChain],
        "the first certificate may not sign the handshake; when the server sends an intermediate first, JSSE takes it for the leaf and says this",
    ),
    p(
        "received fatal alert: bad_certificate",
        "java",
        O::ClientCertRejected,
        &[],
        "",
    ),
    p(
        "received fatal alert: handshake_failure",
        "java",
        O::HandshakeFailure,
        &[O::ClientCertRequired],
        "",
    ),
    p(
        "received fatal alert: protocol_version",
        "java",
        O::ProtocolMismatch,
        &[],
        "",
    ),
    p(
        "unsupported or unrecognized ssl message",
        "java",
        O::NotTls,
        &[],
        "the port does not speak TLS",
    ),
    p(
        "remote host terminated the handshake",
        "java",
        O::Reset,
        &[],
        "",
    ),
    // ---- Node.js ----
    p(
        "err_ssl_bad_signature",
        "node",
        O::BadSignature,
        &[O::MisorderedChain],
        "the server's handshake signature does not verify with the first certificate it sent: a chain served in the wrong order, or a key that does not match the certificate",
    ),
    p(
        "unable_to_get_issuer_cert_locally",
        "node",
        O::UnknownCa,
        &[O::IncompleteChain],
        "NODE_EXTRA_CA_CERTS=ca.pem",
    ),
    p(
        "unable_to_verify_leaf_signature",
        "node",
        O::IncompleteChain,
        &[O::UnknownCa],
        "",
    ),
    p("self_signed_cert_in_chain", "node", O::UnknownCa, &[], ""),
    p(
        "depth_zero_self_signed_cert",
        "node",
        O::SelfSigned,
        &[],
        "",
    ),
    p("cert_has_expired", "node", O::Expired, &[], ""),
    p("cert_not_yet_valid", "node", O::NotYetValid, &[], ""),
    p(
        "err_tls_cert_altname_invalid",
        "node",
        O::HostnameMismatch,
        &[],
        "",
    ),
    p(
        "does not match certificate's altnames",
        "node",
        O::HostnameMismatch,
        &[],
        "",
    ),
    p("econnrefused", "node", O::Refused, &[], ""),
    p("econnreset", "node", O::Reset, &[], ""),
    // ---- Chromium (net::ERR_* on the error page and in the console) ----
    p(
        "net::ERR_CERT_AUTHORITY_INVALID",
        "chromium",
        O::UnknownCa,
        &[O::SelfSigned, O::IncompleteChain, O::BadSignature],
        "Chromium reads trust from its NSS database (~/.pki/nssdb): certutil -A -n lab -t C,, -i ca.pem -d sql:$HOME/.pki/nssdb",
    ),
    p(
        "net::ERR_CERT_DATE_INVALID",
        "chromium",
        O::Expired,
        &[O::NotYetValid],
        "",
    ),
    p(
        "net::ERR_CERT_COMMON_NAME_INVALID",
        "chromium",
        O::HostnameMismatch,
        &[],
        "Chromium ignores the subject CN: the name must be a SAN",
    ),
    p(
        "net::ERR_CERT_INVALID",
        "chromium",
        O::BadCertificate,
        &[
            O::WrongUsage,
            O::InvalidCa,
            O::PathLenExceeded,
            O::NameConstraintViolation,
        ],
        "",
    ),
    p(
        "net::ERR_CERT_NAME_CONSTRAINT_VIOLATION",
        "chromium",
        O::NameConstraintViolation,
        &[],
        "",
    ),
    p("net::ERR_CERT_REVOKED", "chromium", O::Revoked, &[], ""),
    p(
        "net::ERR_SSL_KEY_USAGE_INCOMPATIBLE",
        "chromium",
        O::WrongUsage,
        &[O::MisorderedChain],
        "",
    ),
    p(
        "net::ERR_BAD_SSL_CLIENT_AUTH_CERT",
        "chromium",
        O::ClientCertRejected,
        &[O::ClientCertRequired],
        "",
    ),
    p(
        "net::ERR_SSL_CLIENT_AUTH_CERT_NEEDED",
        "chromium",
        O::ClientCertRequired,
        &[],
        "",
    ),
    p(
        "net::ERR_SSL_DECRYPT_ERROR_ALERT",
        "chromium",
        O::ClientCertRejected,
        &[O::BadSignature],
        "the peer could not verify a signature: often a client certificate from a CA with the trusted CA's name but another key",
    ),
    p(
        "net::ERR_SSL_PROTOCOL_ERROR",
        "chromium",
        O::NotTls,
        &[O::HandshakeFailure, O::ProtocolMismatch],
        "",
    ),
    p(
        "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
        "chromium",
        O::ProtocolMismatch,
        &[O::HandshakeFailure],
        "",
    ),
    p(
        "net::ERR_CONNECTION_REFUSED",
        "chromium",
        O::Refused,
        &[],
        "",
    ),
    p("net::ERR_CONNECTION_RESET", "chromium", O::Reset, &[], ""),
    p("net::ERR_TIMED_OUT", "chromium", O::Timeout, &[], ""),
];

/// A message matched to a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// The pattern that matched.
    pub pattern: &'static Pattern,
    /// How much of the message it matched (normalised characters): the tie-breaker.
    pub score: usize,
    /// The client whose output the message is, when its form tells ([`recognise`]).
    pub client: Option<Client>,
}

/// A pattern that shares words with an unknown message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The pattern.
    pub pattern: &'static Pattern,
    /// The share of the pattern's words found in the message, 0 to 1.
    pub score: f64,
}

/// What [`explain`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Explained {
    /// The message is known.
    Known(&'static Pattern),
    /// Not known: the closest patterns, best first (may be empty).
    Unknown(Vec<Candidate>),
}

/// Lower case, every run of other characters than letters and digits one space, with a leading
/// and trailing space (so that every word starts after a space).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// The normalised pieces of a pattern (split at `*`), each with its leading space.
fn pieces(pattern: &str) -> Vec<String> {
    pattern
        .split('*')
        .map(|piece| normalise(piece).trim_end().to_string())
        .filter(|piece| !piece.trim().is_empty())
        .collect()
}

/// Where a pattern matches normalised text: (matched length, start, end).
fn match_span(pattern: &Pattern, text: &str) -> Option<(usize, usize, usize)> {
    let mut from = 0;
    let mut len = 0;
    let mut start = None;
    for piece in pieces(pattern.pattern) {
        let at = text[from..].find(&piece)?;
        start.get_or_insert(from + at);
        from += at + piece.len();
        len += piece.trim().len();
    }
    Some((len, start.unwrap_or(0), from))
}

/// Whether a pattern matches normalised text; returns the matched length.
#[cfg(test)]
fn match_len(pattern: &Pattern, text: &str) -> Option<usize> {
    match_span(pattern, text).map(|(len, _, _)| len)
}

/// The most specific pattern that matches a message, if any:
/// 1. a match that lies inside a longer match of the same text is dropped (`failed to connect
///    to` inside gRPC's `failed to connect to all addresses`);
/// 2. a generic head ([`Pattern::generic`]: `certificate verify failed`, `curl: (60)`, gRPC's
///    `TSI_PROTOCOL_FAILURE`, ...) yields to any specific match, so the reason decides
///    (`certificate verify failed: invalid CA certificate` is `invalid-ca`);
/// 3. among the rest the one that matched the most text wins, the first in the table on a tie.
///
/// The match also names the client the message came from, when its form tells ([`recognise`]).
pub fn find(message: &str) -> Option<Match> {
    let text = normalise(message);
    let found: Vec<(&'static Pattern, usize, usize, usize)> = PATTERNS
        .iter()
        .filter_map(|pattern| {
            match_span(pattern, &text).map(|(score, start, end)| (pattern, score, start, end))
        })
        .collect();
    let kept = found.iter().filter(|(_, score, start, end)| {
        !found
            .iter()
            .any(|(_, s, st, en)| s > score && st <= start && end <= en)
    });
    let best = |generic: bool| {
        kept.clone()
            .filter(|(p, ..)| p.generic == generic)
            // `max_by_key` keeps the last of equal keys: reverse so the first in the table wins.
            .rev()
            .max_by_key(|(_, score, ..)| *score)
    };
    let (pattern, score, ..) = best(false).or_else(|| best(true))?;
    Some(Match {
        pattern,
        score: *score,
        client: recognise(message),
    })
}

/// Marks of each client's output, in the order they are tried (the first found names the
/// client): curl's, gRPC's, Java's, Python's and Node's forms wrap OpenSSL's or BoringSSL's
/// words, so they come before OpenSSL's own (and Java's `javax.net.ssl.SSL…` before Python's
/// `ssl.SSL…`).
const MARKS: &[(&str, Client)] = &[
    ("curl: (", Client::Curl),
    ("ssl_transport_security", Client::Grpc),
    ("openssl_internal", Client::Grpc),
    ("(tsi_", Client::Grpc),
    ("statuscode.", Client::Grpc),
    ("grpc", Client::Grpc),
    ("javax.net.ssl", Client::Java),
    ("java.security", Client::Java),
    ("java.io.", Client::Java),
    ("sun.security", Client::Java),
    ("pkix path", Client::Java),
    ("_ssl.c:", Client::Python),
    ("ssl.ssl", Client::Python),
    ("sslcertverificationerror", Client::Python),
    ("[ssl: ", Client::Python),
    ("node:_tls_wrap", Client::Node),
    ("node:tls", Client::Node),
    ("deps/openssl", Client::Node),
    ("[err_tls_", Client::Node),
    ("err_ssl_", Client::Node),
    ("code: '", Client::Node),
    ("*** fatal error", Client::Gnutls),
    ("*** received alert", Client::Gnutls),
    ("*** pki verification", Client::Gnutls),
    ("- status: the certificate", Client::Gnutls),
    ("gnutls", Client::Gnutls),
    ("net::err_", Client::Chromium),
    ("x509: ", Client::Go),
    ("remote error: tls: ", Client::Go),
    ("tls: first record", Client::Go),
    ("http: server gave http response", Client::Go),
    ("tls: failed to verify", Client::Go),
    ("invalid peer certificate", Client::Rustls),
    ("peer is incompatible", Client::Rustls),
    ("invalidcontenttype", Client::Rustls),
    ("verify error:num=", Client::Openssl),
    ("verify return code", Client::Openssl),
    ("verification error:", Client::Openssl),
    (":ssl routines:", Client::Openssl),
    ("s_client", Client::Openssl),
];

/// The client family whose output this message is, when its form tells: curl's `curl: (N)`,
/// Python's `[SSL: …] … (_ssl.c:N)`, gRPC's `TSI_…` and `OPENSSL_internal`, Node's
/// `node:_tls_wrap` frames and `code: '…'`, Java's `javax.net.ssl.…`, GnuTLS's `*** …` lines,
/// Go's `x509: …` and `remote error: tls: …`, rustls's `invalid peer certificate` and
/// CamelCase alert names, OpenSSL's `verify error:num=N`. `None` when the words alone do not
/// tell (a bare `certificate has expired` is printed by several clients).
///
/// ```
/// use certlab::clients::Client;
/// use certlab::explain::recognise;
/// assert_eq!(recognise("curl: (60) SSL certificate problem: certificate has expired"), Some(Client::Curl));
/// assert_eq!(recognise("received fatal alert: CertificateRequired"), Some(Client::Rustls));
/// assert_eq!(recognise("Received fatal alert: certificate_required"), Some(Client::Java));
/// assert_eq!(recognise("certificate has expired"), None);
/// ```
pub fn recognise(message: &str) -> Option<Client> {
    let lower = message.to_lowercase();
    if let Some((_, client)) = MARKS.iter().find(|(mark, _)| lower.contains(mark)) {
        return Some(*client);
    }
    // `received fatal alert: NAME`: rustls writes the alert's name in CamelCase
    // (`CertificateRequired`), Java in snake_case (`certificate_required`).
    // Found in the ASCII-lowercased text: `to_lowercase` may change a character's length
    // (`Ⱥ` is 2 bytes, `ⱥ` 3), so an index into `lower` is none into `message` (a panic on
    // `Ⱥ received fatal alert: é`).
    let at = message
        .to_ascii_lowercase()
        .find("received fatal alert: ")?;
    let name = &message[at + "received fatal alert: ".len()..];
    let word: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if word.contains('_') || word.chars().all(|c| c.is_lowercase()) {
        Some(Client::Java)
    } else {
        Some(Client::Rustls)
    }
}

/// Words too common to tell messages apart.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "on", "in", "of", "to", "for", "by", "or", "and", "not",
    "no", "it", "at", "with", "error", "failed", "x509", "tls", "ssl",
];

fn words(text: &str) -> Vec<String> {
    normalise(text)
        .split_whitespace()
        .filter(|w| !STOPWORDS.contains(w))
        .map(str::to_string)
        .collect()
}

/// The patterns sharing the most words with a message (the share of each pattern's words found
/// in the message; common words such as "the" or "ssl" do not count), best first, at most `n`,
/// none without a shared word.
pub fn candidates(message: &str, n: usize) -> Vec<Candidate> {
    let message_words: std::collections::HashSet<String> = words(message).into_iter().collect();
    let mut out: Vec<(Candidate, usize)> = PATTERNS
        .iter()
        .filter_map(|pattern| {
            let pw = words(pattern.pattern);
            let shared = pw.iter().filter(|w| message_words.contains(*w)).count();
            (shared > 0).then(|| {
                let score = shared as f64 / pw.len() as f64;
                (Candidate { pattern, score }, shared)
            })
        })
        .collect();
    out.sort_by(|(a, sa), (b, sb)| b.score.total_cmp(&a.score).then(sb.cmp(sa)));
    out.truncate(n);
    out.into_iter().map(|(c, _)| c).collect()
}

/// Maps a client's error message to its pattern, or the closest candidates when none matches.
pub fn explain(message: &str) -> Explained {
    match find(message) {
        Some(m) => Explained::Known(m.pattern),
        None => Explained::Unknown(candidates(message, 5)),
    }
}

/// The scenarios of the built-in `lab` template (implicit ones included) and their expected
/// outcomes, read from the template's spec (nothing is issued).
pub fn lab_scenario_table() -> &'static [(String, Option<Outcome>)] {
    static TABLE: OnceLock<Vec<(String, Option<Outcome>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::pki::spec::template("lab")
            .and_then(|t| crate::pki::spec::parse("<template lab>", t.text).ok())
            .map(|spec| spec.scenario_outcomes())
            .unwrap_or_default()
    })
}

/// The lab scenarios whose expected outcome is `outcome`.
pub fn lab_scenarios(outcome: Outcome) -> Vec<String> {
    lab_scenario_table()
        .iter()
        .filter(|(_, o)| *o == Some(outcome))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The command that serves a lab scenario so the error can be seen again.
pub fn reproduce_command(scenario: &str) -> String {
    format!("certlab lab --only {scenario} --serve")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_unifies_spelling() {
        assert_eq!(
            normalise("[SSL: CERTIFICATE_VERIFY_FAILED]"),
            " ssl certificate verify failed "
        );
        assert_eq!(normalise("self-signed"), normalise("Self signed"));
    }

    #[test]
    fn pieces_start_at_word_boundaries() {
        // A piece must start a word (a prefix of a word is enough: rustls's
        // `NotValidForNameContext`), so "ca" never matches inside "local".
        let unknown_ca = PATTERNS
            .iter()
            .find(|p| p.pattern == "alert unknown ca")
            .unwrap();
        assert!(match_len(unknown_ca, &normalise("alert unknown cable")).is_some());
        assert!(match_len(unknown_ca, &normalise("xalert unknown ca")).is_none());
    }
}
