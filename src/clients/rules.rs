//! The client-aligned rules: certificate and CRL profile rules that some client families
//! enforce and rustls-webpki does not, and, per rule and family, what that family was seen to
//! do (issue 10). `certlab check` and `probe` find the rules a chain breaks
//! (`verify::inspect::client_rule_hits`) and read this table to say which clients reject it.
//!
//! Every verdict here was measured on this machine, by running the real client on a
//! certificate made with `openssl` alone (`tests/data/strict/make.sh`, one PKI per rule, host
//! `strict.test`) and on the matching x509-limbo cases:
//!
//! - `openssl`: `openssl verify -purpose sslserver -verify_hostname` (OpenSSL 3.0.19), the
//!   library and default flags of `openssl s_client`; CRL rules with `-crl_check -CRLfile`.
//! - `python`: Python 3.11.7 `ssl`, default context, in a loopback handshake; CRL rules with
//!   the CRL loaded and `VERIFY_CRL_CHECK_LEAF`.
//! - `python3.13`: the same Python with `VERIFY_X509_STRICT | VERIFY_X509_PARTIAL_CHAIN`
//!   (Python ≥ 3.13's default; `ssl.VERIFY_X509_STRICT` exists on 3.11). `openssl verify
//!   -x509_strict` agrees on every rule except [`Rule::AnchorNotSelfIssued`] (it has no
//!   partial-chain flag and rejects it).
//! - `curl`: curl 7.88.1 on OpenSSL 3.0.19 against a loopback server (`--cacert`, `--crlfile`).
//! - `gnutls`: `certtool --verify --verify-hostname` (GnuTLS 3.7.9), CRLs with `--load-crl`.
//! - `go`: Go 1.19 `crypto/x509` `Certificate.Verify` (serverAuth, DNS name) in a throwaway
//!   program; Go checks no CRLs.
//! - `node`: Node.js 20 `tls.connect` (`ca`, `crl`) against a loopback server.
//! - `java`: OpenJDK 17's default (PKIX) `X509TrustManager.checkServerTrusted` in a
//!   single-file program, the CA in a KeyStore; no revocation checking (JSSE's default), so
//!   the CRL rules are accepted; no hostname check (every proof leaf is valid for its name).
//! - `rustls`: certlab's own verifier (rustls-webpki) enforces none of the rules: `check` says
//!   `ok` for every proof chain (tests/it/check_strict.rs). Its verdict is the main outcome.
//!
//! Not measured: `grpc` (BoringSSL) and `chromium`; their verdicts say so.

use std::fmt;

use serde::Serialize;

use super::Client;
use crate::outcome::Outcome;

/// One client-aligned rule. Its [`code`](Rule::code) is stable kebab-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A CA certificate (root or intermediate) whose basicConstraints is not critical
    /// (easy-rsa's default).
    CaBasicConstraintsNotCritical,
    /// A certificate other than a self-issued root without an authorityKeyIdentifier key id.
    MissingAki,
    /// A CA certificate without a subjectKeyIdentifier.
    MissingSki,
    /// An intermediate CA whose keyUsage does not assert keyCertSign.
    CaKeyUsageWithoutKeyCertSign,
    /// A CRL for the leaf signed by a CA whose keyUsage does not assert cRLSign.
    CrlIssuerWithoutCrlSign,
    /// A certificate whose authorityKeyIdentifier is marked critical.
    CriticalAki,
    /// A certificate whose subjectKeyIdentifier is marked critical.
    CriticalSki,
    /// A leaf (CA:false or no basicConstraints) whose keyUsage asserts keyCertSign.
    LeafKeyCertSign,
    /// A CA certificate with an empty subject.
    CaEmptySubject,
    /// A certificate with an empty subject whose subjectAltName is not critical.
    EmptySubjectSanNotCritical,
    /// A CRL for the leaf whose CRL number extension is critical.
    CrlNumberCritical,
    /// A root (trust anchor or self-issued CA) without basicConstraints.
    RootMissingBasicConstraints,
    /// A root with CA:true whose keyUsage does not assert keyCertSign.
    RootInconsistentCaExtensions,
    /// A trust anchor that is not self-issued (a cross-signed root, or an intermediate put in
    /// the trust bundle): OpenSSL without partial-chain verification looks for its issuer.
    AnchorNotSelfIssued,
}

/// Every rule, in the order reports list them.
pub const ALL_RULES: &[Rule] = &[
    Rule::CaBasicConstraintsNotCritical,
    Rule::MissingAki,
    Rule::MissingSki,
    Rule::CaKeyUsageWithoutKeyCertSign,
    Rule::CrlIssuerWithoutCrlSign,
    Rule::CriticalAki,
    Rule::CriticalSki,
    Rule::LeafKeyCertSign,
    Rule::CaEmptySubject,
    Rule::EmptySubjectSanNotCritical,
    Rule::CrlNumberCritical,
    Rule::RootMissingBasicConstraints,
    Rule::RootInconsistentCaExtensions,
    Rule::AnchorNotSelfIssued,
];

impl Rule {
    /// The stable kebab-case code.
    pub fn code(self) -> &'static str {
        match self {
            Rule::CaBasicConstraintsNotCritical => "ca-basic-constraints-not-critical",
            Rule::MissingAki => "missing-aki",
            Rule::MissingSki => "missing-ski",
            Rule::CaKeyUsageWithoutKeyCertSign => "ca-key-usage-without-keycertsign",
            Rule::CrlIssuerWithoutCrlSign => "crl-issuer-without-crlsign",
            Rule::CriticalAki => "critical-aki",
            Rule::CriticalSki => "critical-ski",
            Rule::LeafKeyCertSign => "leaf-keycertsign",
            Rule::CaEmptySubject => "ca-empty-subject",
            Rule::EmptySubjectSanNotCritical => "empty-subject-san-not-critical",
            Rule::CrlNumberCritical => "crl-number-critical",
            Rule::RootMissingBasicConstraints => "root-missing-basic-constraints",
            Rule::RootInconsistentCaExtensions => "root-inconsistent-ca-extensions",
            Rule::AnchorNotSelfIssued => "anchor-not-self-issued",
        }
    }

    /// What is wrong, in the words of the strictest measured client (OpenSSL X509_STRICT
    /// where it has words for it).
    pub fn words(self) -> &'static str {
        match self {
            Rule::CaBasicConstraintsNotCritical => {
                "Basic Constraints of CA cert not marked critical"
            }
            Rule::MissingAki => "Missing Authority Key Identifier",
            Rule::MissingSki => "Missing Subject Key Identifier",
            Rule::CaKeyUsageWithoutKeyCertSign => "invalid CA certificate",
            Rule::CrlIssuerWithoutCrlSign => "key usage does not include CRL signing",
            Rule::CriticalAki | Rule::CriticalSki => "unhandled critical extension",
            Rule::LeafKeyCertSign => "Key usage keyCertSign invalid for non-CA cert",
            Rule::CaEmptySubject => "Issuer name empty",
            Rule::EmptySubjectSanNotCritical => {
                "Subject empty and Subject Alt Name extension not critical"
            }
            Rule::CrlNumberCritical => "unhandled critical CRL extension",
            Rule::RootMissingBasicConstraints | Rule::RootInconsistentCaExtensions => {
                "invalid CA certificate"
            }
            Rule::AnchorNotSelfIssued => "unable to get issuer certificate",
        }
    }

    /// What to change in the certificate (or CRL) so every client accepts it.
    pub fn fix(self) -> &'static str {
        match self {
            Rule::CaBasicConstraintsNotCritical => {
                "mark basicConstraints critical on every CA (basicConstraints=critical,CA:TRUE)"
            }
            Rule::MissingAki => "add authorityKeyIdentifier=keyid to every certificate a CA issues",
            Rule::MissingSki => "add subjectKeyIdentifier=hash to every CA certificate",
            Rule::CaKeyUsageWithoutKeyCertSign | Rule::RootInconsistentCaExtensions => {
                "give the CA keyUsage=critical,keyCertSign,cRLSign"
            }
            Rule::CrlIssuerWithoutCrlSign => "give the CRL's issuer the cRLSign key usage",
            Rule::CriticalAki | Rule::CriticalSki => {
                "do not mark the key identifier extensions critical"
            }
            Rule::LeafKeyCertSign => "remove keyCertSign from the leaf's keyUsage",
            Rule::CaEmptySubject => "give the CA a subject name (for example CN=...)",
            Rule::EmptySubjectSanNotCritical => {
                "mark the subjectAltName critical, or give the certificate a subject"
            }
            Rule::CrlNumberCritical => "issue the CRL with a non-critical CRL number",
            Rule::RootMissingBasicConstraints => "give the root basicConstraints=critical,CA:TRUE",
            Rule::AnchorNotSelfIssued => {
                "trust the self-signed root at the top of the chain, not an intermediate or a cross-signed copy"
            }
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What one client family was seen to do with a chain that breaks one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleVerdict {
    /// The client rejects it with this outcome and these words.
    Rejects {
        /// The outcome its words name.
        outcome: Outcome,
        /// The client's own words.
        words: &'static str,
    },
    /// The client accepts it.
    Accepts,
    /// Nobody ran this client on it.
    NotMeasured,
}

use RuleVerdict::{Accepts, NotMeasured};

const fn rejects(outcome: Outcome, words: &'static str) -> RuleVerdict {
    RuleVerdict::Rejects { outcome, words }
}

/// What `client` does with a chain that breaks `rule` (measured: see the module docs).
pub fn verdict(rule: Rule, client: Client) -> RuleVerdict {
    use Client as C;
    use Outcome as O;
    use Rule as R;
    match (rule, client) {
        // rustls-webpki checks none of these profile rules.
        (_, C::Rustls) => Accepts,
        (_, C::Grpc | C::Chromium) => NotMeasured,

        // Java rejects some certificates while parsing them, before any path validation.
        (R::CaEmptySubject, C::Java) => rejects(
            O::BadCertificate,
            "java.security.cert.CertificateParsingException: Empty issuer DN not allowed in X509Certificates",
        ),
        (R::EmptySubjectSanNotCritical, C::Java) => rejects(
            O::BadCertificate,
            "java.security.cert.CertificateParsingException: X.509 Certificate is incomplete: SubjectAlternativeName extension MUST be marked critical when subject field is empty",
        ),
        (R::CaKeyUsageWithoutKeyCertSign, C::Java) => rejects(
            O::InvalidCa,
            "PKIX path validation failed: java.security.cert.CertPathValidatorException: CA key usage check failed: keyCertSign bit is not set",
        ),
        (R::RootInconsistentCaExtensions, C::Java) => rejects(
            O::InvalidCa,
            "PKIX path validation failed: sun.security.validator.ValidatorException: TrustAnchor with subject \"...\" does not have keyCertSign bit set in KeyUsage extension",
        ),
        (R::RootMissingBasicConstraints, C::Java) => rejects(
            O::InvalidCa,
            "PKIX path validation failed: sun.security.validator.ValidatorException: TrustAnchor with subject \"...\" is not a CA certificate",
        ),
        (_, C::Java) => Accepts,

        (R::CaBasicConstraintsNotCritical, C::Python313) => rejects(
            O::InvalidCa,
            "Basic Constraints of CA cert not marked critical",
        ),
        (R::CaBasicConstraintsNotCritical, _) => Accepts,

        (R::MissingAki, C::Python313) => {
            rejects(O::BadCertificate, "Missing Authority Key Identifier")
        }
        (R::MissingAki, _) => Accepts,

        (R::MissingSki, C::Python313) => {
            rejects(O::BadCertificate, "Missing Subject Key Identifier")
        }
        (R::MissingSki, _) => Accepts,

        (R::CaKeyUsageWithoutKeyCertSign | R::RootInconsistentCaExtensions, C::Gnutls) => rejects(
            O::InvalidCa,
            "The certificate chain violates the signer's constraints.",
        ),
        (R::CaKeyUsageWithoutKeyCertSign | R::RootInconsistentCaExtensions, C::Go) => rejects(
            O::UnknownCa,
            "x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\" ...)",
        ),
        (R::CaKeyUsageWithoutKeyCertSign | R::RootInconsistentCaExtensions, C::Node) => rejects(
            O::InvalidCa,
            "key usage does not include certificate signing",
        ),
        (R::CaKeyUsageWithoutKeyCertSign | R::RootInconsistentCaExtensions, _) => {
            rejects(O::InvalidCa, "invalid CA certificate")
        }

        // Measured with CRL checking on (the CRL given to the client); Go checks no CRLs.
        (R::CrlIssuerWithoutCrlSign, C::Gnutls | C::Go) => Accepts,
        (R::CrlIssuerWithoutCrlSign, _) => {
            rejects(O::BadCertificate, "key usage does not include CRL signing")
        }
        (R::CrlNumberCritical, C::Gnutls | C::Go) => Accepts,
        (R::CrlNumberCritical, _) => rejects(O::BadCertificate, "unhandled critical CRL extension"),

        // Measured on a root with a critical AKI / SKI: OpenSSL 3.0 rejects it even without
        // X509_STRICT. (On limbo's critical-ski root OpenSSL says "unable to get local issuer
        // certificate" and GnuTLS "The certificate issuer is unknown."; on a leaf, rustls
        // rejects a critical AKI / SKI itself, so the main outcome already says so.)
        (R::CriticalAki | R::CriticalSki, C::Gnutls | C::Go) => Accepts,
        (R::CriticalAki | R::CriticalSki, _) => {
            rejects(O::BadCertificate, "unhandled critical extension")
        }

        (R::LeafKeyCertSign, C::Python313) => rejects(
            O::BadCertificate,
            "Key usage keyCertSign invalid for non-CA cert",
        ),
        (R::LeafKeyCertSign, _) => Accepts,

        // Measured with an intermediate of empty subject. (limbo's ca-empty-subject has a
        // trust anchor of empty subject: there OpenSSL without X509_STRICT rejects too, with
        // "unable to get issuer certificate".) certtool fails printing the empty issuer name
        // before it verifies: not a verdict.
        (R::CaEmptySubject, C::Python313) => rejects(O::BadCertificate, "Issuer name empty"),
        (R::CaEmptySubject, C::Curl) => {
            rejects(O::BadCertificate, "SSL: couldn't get X509-issuer name")
        }
        (R::CaEmptySubject, C::Gnutls) => NotMeasured,
        (R::CaEmptySubject, _) => Accepts,

        (R::EmptySubjectSanNotCritical, C::Python313) => rejects(
            O::BadCertificate,
            "Subject empty and Subject Alt Name extension not critical",
        ),
        (R::EmptySubjectSanNotCritical, _) => Accepts,

        (R::RootMissingBasicConstraints, C::Python313) => {
            rejects(O::InvalidCa, "invalid CA certificate")
        }
        (R::RootMissingBasicConstraints, C::Go) => rejects(
            O::UnknownCa,
            "x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\" ...)",
        ),
        (R::RootMissingBasicConstraints, _) => Accepts,

        // Clients without partial-chain verification look for the anchor's issuer; curl and
        // Python ≥ 3.13 turn partial-chain on.
        (R::AnchorNotSelfIssued, C::Openssl | C::Python | C::Node) => {
            rejects(O::UnknownCa, "unable to get issuer certificate")
        }
        (R::AnchorNotSelfIssued, _) => Accepts,
    }
}

/// The exit status of the tool each family was measured with when it rejects a chain (`None`
/// for families not run).
pub fn reject_exit(client: Client) -> Option<i32> {
    match client {
        Client::Curl => Some(60),
        Client::Openssl => Some(2),
        Client::Python
        | Client::Python313
        | Client::Gnutls
        | Client::Go
        | Client::Node
        | Client::Java => Some(1),
        Client::Rustls => Some(1),
        _ => None,
    }
}

/// The tool each family was measured with, as the per-client lines name it.
pub fn measured_with(client: Client) -> &'static str {
    match client {
        Client::Rustls => "certlab check (rustls-webpki)",
        Client::Curl => "curl",
        Client::Openssl => "`openssl verify`",
        Client::Python => "Python ssl (default context)",
        Client::Python313 => "Python ssl with VERIFY_X509_STRICT | VERIFY_X509_PARTIAL_CHAIN",
        Client::Gnutls => "`certtool --verify`",
        Client::Go => "Go crypto/x509",
        Client::Node => "Node.js tls",
        Client::Java => "Java X509TrustManager (PKIX)",
        _ => "not run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::ALL_CLIENTS;

    #[test]
    fn every_rule_has_a_measured_rejecting_family_and_rustls_accepts_all() {
        for &r in ALL_RULES {
            assert!(
                ALL_CLIENTS
                    .iter()
                    .any(|&c| matches!(verdict(r, c), RuleVerdict::Rejects { .. })),
                "{r}: no family rejects it"
            );
            assert_eq!(verdict(r, Client::Rustls), RuleVerdict::Accepts);
            assert_eq!(verdict(r, Client::Grpc), RuleVerdict::NotMeasured);
            assert!(!r.words().is_empty() && !r.fix().is_empty());
        }
        let codes: std::collections::BTreeSet<_> = ALL_RULES.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), 14);
    }
}
