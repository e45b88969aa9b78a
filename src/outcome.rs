//! The one vocabulary of handshake outcomes (DESIGN.md section 3).
//!
//! The generator says which [`Outcome`] a fault must cause; the verifier observes one. Both sides,
//! the lab, the tests and `probe --expect` compare values of this enum. Every variant has one
//! stable kebab-case name ([`Outcome::name`]), a one-line explanation, what OpenSSL / curl print
//! for it, and the usual fix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a client sees when it connects to an endpoint (or validates a chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// Handshake done, chain valid for the name.
    Ok,
    /// TCP connection refused.
    Refused,
    /// No answer to connect or handshake in time.
    Timeout,
    /// The peer does not speak TLS (plain HTTP or gRPC).
    NotTls,
    /// Closed or reset during the handshake without an alert.
    Reset,
    /// The chain leads to no trusted root.
    UnknownCa,
    /// The leaf is self-signed and not trusted.
    SelfSigned,
    /// The server did not send an intermediate the client needs.
    IncompleteChain,
    /// The server's first certificate is not its own leaf.
    MisorderedChain,
    /// A certificate in the chain (root included) is past notAfter.
    Expired,
    /// A certificate in the chain is before its notBefore.
    NotYetValid,
    /// The SANs do not cover the name or IP used (CN alone does not count).
    HostnameMismatch,
    /// Key usage / extended key usage forbids this use.
    WrongUsage,
    /// An issuer in the chain is not a CA.
    InvalidCa,
    /// A pathLen constraint is exceeded.
    PathLenExceeded,
    /// A name is outside an issuer's permitted subtrees.
    NameConstraintViolation,
    /// Listed in a CRL the client was given.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// Malformed, or uses what the client cannot process.
    BadCertificate,
    /// No TLS version in common.
    ProtocolMismatch,
    /// No cipher suite / group / signature scheme in common.
    HandshakeFailure,
    /// No application protocol in common.
    AlpnMismatch,
    /// The server requires a client certificate and none was sent.
    ClientCertRequired,
    /// The server rejected the client certificate.
    ClientCertRejected,
}

/// Every outcome, in the order of DESIGN.md section 3.
pub const ALL_OUTCOMES: [Outcome; 24] = [
    Outcome::Ok,
    Outcome::Refused,
    Outcome::Timeout,
    Outcome::NotTls,
    Outcome::Reset,
    Outcome::UnknownCa,
    Outcome::SelfSigned,
    Outcome::IncompleteChain,
    Outcome::MisorderedChain,
    Outcome::Expired,
    Outcome::NotYetValid,
    Outcome::HostnameMismatch,
    Outcome::WrongUsage,
    Outcome::InvalidCa,
    Outcome::PathLenExceeded,
    Outcome::NameConstraintViolation,
    Outcome::Revoked,
    Outcome::BadSignature,
    Outcome::BadCertificate,
    Outcome::ProtocolMismatch,
    Outcome::HandshakeFailure,
    Outcome::AlpnMismatch,
    Outcome::ClientCertRequired,
    Outcome::ClientCertRejected,
];

impl Outcome {
    /// The stable kebab-case name, as used in the manifest, JSON reports and `--expect`.
    pub fn name(self) -> &'static str {
        self.text().0
    }

    /// One line saying what happened, in a user's terms.
    pub fn explanation(self) -> &'static str {
        self.text().1
    }

    /// What OpenSSL 3 / curl print for this outcome (verify code in parentheses).
    pub fn client_says(self) -> &'static str {
        self.text().2
    }

    /// The usual fix, in a user's terms.
    pub fn fix(self) -> &'static str {
        self.text().3
    }

    /// Whether this is a successful handshake with a valid chain.
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }

    /// (name, explanation, what clients say, fix) for every variant, in one table.
    fn text(self) -> (&'static str, &'static str, &'static str, &'static str) {
        use Outcome::*;
        match self {
            Ok => ("ok", "handshake done, chain valid for the name", "-", "-"),
            Refused => (
                "refused",
                "the TCP connection was refused: nothing listens on that port",
                "curl: (7) Failed to connect",
                "start the server, check the host and port",
            ),
            Timeout => (
                "timeout",
                "no answer to connect or handshake in time",
                "curl: (28) Connection timed out",
                "check firewalls and that the port is the TLS port",
            ),
            NotTls => (
                "not-tls",
                "the peer does not speak TLS (a plain HTTP or gRPC port)",
                "wrong version number; curl: (35)",
                "enable TLS on the server, or use http:// / insecure on purpose",
            ),
            Reset => (
                "reset",
                "the peer closed or reset the connection during the handshake without an alert",
                "unexpected eof while reading; curl: (35) or (56)",
                "look at the server's log: it dropped the handshake",
            ),
            UnknownCa => (
                "unknown-ca",
                "the chain leads to no trusted root",
                "unable to get local issuer certificate (20); curl: (60)",
                "give the client the CA: ca_file / OTEL_EXPORTER_OTLP_CERTIFICATE = ca.pem",
            ),
            SelfSigned => (
                "self-signed",
                "the server's certificate is self-signed and not trusted",
                "self-signed certificate (18); curl: (60)",
                "trust that certificate explicitly, or issue it from a CA",
            ),
            IncompleteChain => (
                "incomplete-chain",
                "the server did not send an intermediate certificate the client needs",
                "unable to get local issuer certificate (20); curl: (60)",
                "serve the full chain: leaf then intermediates (NAME.chain.pem as cert_file)",
            ),
            MisorderedChain => (
                "misordered-chain",
                "the server's first certificate is not its own leaf",
                "varies by client; often unable to get local issuer certificate (20)",
                "send the leaf first, then the intermediates",
            ),
            Expired => (
                "expired",
                "a certificate in the chain is past its notAfter date",
                "certificate has expired (10); curl: (60)",
                "renew the certificate (certlab generate issues a fresh one)",
            ),
            NotYetValid => (
                "not-yet-valid",
                "a certificate in the chain is not valid yet (often clock skew)",
                "certificate is not yet valid (9); curl: (60)",
                "fix the clock, or issue with a notBefore in the past",
            ),
            HostnameMismatch => (
                "hostname-mismatch",
                "the certificate's SANs do not cover the name or IP the client used",
                "hostname mismatch (62) / IP address mismatch (64); curl: (60)",
                "add the name as a SAN, connect by a name it has, or set server_name_override",
            ),
            WrongUsage => (
                "wrong-usage",
                "the key usage or extended key usage forbids this use",
                "unsuitable certificate purpose (26)",
                "issue server certificates with serverAuth, client certificates with clientAuth",
            ),
            InvalidCa => (
                "invalid-ca",
                "an issuer in the chain is not a CA",
                "invalid CA certificate (79; 24 in OpenSSL 1.1)",
                "issue intermediates with basicConstraints CA:true",
            ),
            PathLenExceeded => (
                "path-len-exceeded",
                "a pathLen constraint in the chain is exceeded",
                "path length constraint exceeded (25)",
                "raise pathLen on the CA or flatten the hierarchy",
            ),
            NameConstraintViolation => (
                "name-constraint-violation",
                "a name is outside an issuer's permitted subtrees",
                "permitted subtree violation (47)",
                "issue the certificate within the CA's name constraints",
            ),
            Revoked => (
                "revoked",
                "the certificate is listed in a CRL the client was given",
                "certificate revoked (23)",
                "issue a new certificate",
            ),
            BadSignature => (
                "bad-signature",
                "a signature in the chain does not verify",
                "certificate signature failure (7)",
                "re-issue the certificate: the file was altered",
            ),
            BadCertificate => (
                "bad-certificate",
                "a certificate is malformed or uses what the client cannot process",
                "unhandled critical extension (34)",
                "re-issue with standard extensions and algorithms",
            ),
            ProtocolMismatch => (
                "protocol-mismatch",
                "client and server have no TLS version in common",
                "unsupported protocol; alert 70 (protocol_version)",
                "align min_version / max_version on both sides",
            ),
            HandshakeFailure => (
                "handshake-failure",
                "no cipher suite, group or signature scheme in common",
                "sslv3 alert handshake failure; alert 40",
                "align the cipher suites on both sides",
            ),
            AlpnMismatch => (
                "alpn-mismatch",
                "no application protocol in common (gRPC needs h2)",
                "no application protocol; alert 120",
                "enable h2 (HTTP/2) on the server's TLS listener",
            ),
            ClientCertRequired => (
                "client-cert-required",
                "the server requires a client certificate and none was sent",
                "tlsv13 alert certificate required (alert 116)",
                "configure the client certificate: cert_file + key_file / OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE + _CLIENT_KEY",
            ),
            ClientCertRejected => (
                "client-cert-rejected",
                "the server rejected the client certificate",
                "tlsv1 alert unknown ca (48) / bad certificate (42) / certificate expired (45)",
                "issue the client certificate from the server's client_ca_file, and renew it",
            ),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An outcome name that is not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown outcome `{0}` (expected one of: {list})", list = outcome_names())]
pub struct UnknownOutcome(pub String);

fn outcome_names() -> String {
    ALL_OUTCOMES.map(Outcome::name).join(", ")
}

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_OUTCOMES
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| UnknownOutcome(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for o in ALL_OUTCOMES {
            assert_eq!(o.name().parse::<Outcome>().unwrap(), o);
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.name()));
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<_> = ALL_OUTCOMES.iter().map(|o| o.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL_OUTCOMES.len());
    }

    #[test]
    fn unknown_name_lists_the_vocabulary() {
        let err = "expird".parse::<Outcome>().unwrap_err();
        assert!(err.to_string().contains("unknown outcome `expird`"));
        assert!(err.to_string().contains("not-yet-valid"));
    }
}
