//! The one classifier shared by `check` and `probe`: a presented chain, what the verifier trusts
//! and knows, a name, a usage and a time → one [`Outcome`] with what explains it.
//!
//! rustls-webpki does the path validation, and certlab adds what webpki leaves out — chain
//! order, which certificate expired, same-name foreign roots, trust-anchor dates, and telling
//! `self-signed`, `incomplete-chain` and `unknown-ca` apart. What happens on a live connection
//! (a refused connect, the server's alerts, resets, rustls's own errors) is classified here
//! too, so `probe` has no outcome logic of its own.
//!
//! ```
//! use certlab::verify::classify::{classify_chain, TrustStore, Usage};
//! use certlab::Outcome;
//!
//! let now = time::macros::datetime!(2030-01-01 00:00 UTC);
//! let spec = certlab::pki::spec::parse("<spec>", r#"
//!     [[ca]]
//!     name = "root"
//!     [[leaf]]
//!     name = "web"
//!     issuer = "root"
//!     dns = ["localhost"]
//! "#).unwrap();
//! let pki = certlab::pki::store::build(&spec, now).unwrap();
//! let web = pki.entity("web").unwrap();
//! let trust = TrustStore::from_roots(pki.trusted_roots().map(|e| e.cert.clone()).collect());
//! let name = pki_types::ServerName::try_from("localhost").unwrap();
//! let verdict = classify_chain(&web.chain, &trust, Some(&name), Usage::Server, now);
//! assert_eq!(verdict.outcome, Outcome::Ok);
//! let other = pki_types::ServerName::try_from("example.com").unwrap();
//! let verdict = classify_chain(&web.chain, &trust, Some(&other), Usage::Server, now);
//! assert_eq!(verdict.outcome, Outcome::HostnameMismatch);
//! ```

use crate::outcome::Outcome;
use crate::tls::{offset_date_time, unix_time};
use crate::x509::{Cert, parse_chain};
use pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, TrustAnchor};
use time::OffsetDateTime;
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

/// What the certificate is validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Usage {
    /// A TLS server certificate (EKU serverAuth, if the certificate has an EKU).
    #[default]
    Server,
    /// A TLS client certificate (EKU clientAuth, if the certificate has an EKU).
    Client,
}

impl Usage {
    /// `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            Usage::Server => "server",
            Usage::Client => "client",
        }
    }

    fn key_usage(self) -> KeyUsage {
        match self {
            Usage::Server => KeyUsage::server_auth(),
            Usage::Client => KeyUsage::client_auth(),
        }
    }
}

/// What the verifier trusts and knows.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// Trust anchors (`ca.pem`, or the system roots).
    pub roots: Vec<CertificateDer<'static>>,
    /// With `--pki`: intermediates the PKI issued (to tell `incomplete-chain` from `unknown-ca`).
    /// They are never used to build a path: a client only has what the server sent.
    pub known_intermediates: Vec<CertificateDer<'static>>,
    /// CRLs: every certificate of the path is checked against them, as curl `--crlfile` does,
    /// except that a certificate no CRL covers passes (status unknown), where curl refuses
    /// it (`unable to get certificate CRL`). Among several CRLs of one issuer, the one OpenSSL
    /// picks: one a known key of that name signs, current, the newest.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

impl TrustStore {
    /// What a client given this PKI has: its trusted roots (what `ca.pem` holds), every
    /// intermediate it issued as known, and all its CRLs.
    pub fn from_pki(pki: &crate::pki::Pki) -> Self {
        TrustStore {
            roots: pki.trusted_roots().map(|e| e.cert.clone()).collect(),
            known_intermediates: pki.intermediates().map(|e| e.cert.clone()).collect(),
            crls: pki.crls().cloned().collect(),
        }
    }

    /// A store that trusts these roots and knows nothing else.
    pub fn from_roots(roots: Vec<CertificateDer<'static>>) -> Self {
        TrustStore {
            roots,
            ..TrustStore::default()
        }
    }
}

/// The certificate signatures a successful path validation checked, so that later checks of
/// the same chain (the client-rule lints, [`crate::verify::inspect::client_rule_hits`]) need
/// not verify them again. Each entry is a `(certificate, issuer)` pair, both DER, byte for
/// byte: rustls-webpki verified the certificate's signature with that issuer's key. Entries are
/// added only from a path webpki accepted (it verifies every signature of a path before it
/// accepts it), so a certificate with a bad signature is never in it, and a certificate that
/// differs in any byte is not found in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct VerifiedSignatures {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl VerifiedSignatures {
    /// Whether `cert`'s signature was verified with `issuer`'s key (both DER).
    pub(crate) fn contains(&self, cert: &[u8], issuer: &[u8]) -> bool {
        self.pairs
            .iter()
            .any(|(c, i)| c.as_slice() == cert && i.as_slice() == issuer)
    }

    /// Records the signatures of a path webpki accepted: the leaf by the first intermediate,
    /// each intermediate by the next, the last by the anchor (and so by every root of
    /// `roots` that makes that same anchor: the same subject and key).
    fn record(
        &mut self,
        leaf: &[u8],
        path: &webpki::VerifiedPath<'_>,
        anchors: &[TrustAnchor<'_>],
        anchor_roots: &[&[u8]],
    ) {
        let mut child = leaf.to_vec();
        for issuer in path.intermediate_certificates() {
            let der = issuer.der().to_vec();
            self.pairs.push((child, der.clone()));
            child = der;
        }
        for (a, root) in anchors.iter().zip(anchor_roots) {
            if a == path.anchor() {
                self.pairs.push((child.clone(), root.to_vec()));
            }
        }
    }
}

/// An outcome and what explains it (which certificate expired, "same subject as your root,
/// different key", ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// What explains it, in one line, when there is more to say than the outcome's explanation.
    pub detail: Option<String>,
    /// What plain rustls-webpki says of the chain when that differs from `outcome`: the
    /// outcome comes from a check certlab adds beyond webpki, as OpenSSL makes it (the trust
    /// anchor's own dates, basicConstraints, extended key usage or critical extensions, the
    /// leaf's keyUsage), and webpki goes on to the name (`ok` or `hostname-mismatch`).
    /// `None` when webpki agrees.
    pub webpki: Option<Outcome>,
}

impl Verdict {
    /// An outcome with what explains it.
    pub(crate) fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Verdict {
            outcome,
            detail: Some(detail.into()),
            webpki: None,
        }
    }

    /// `ok`, nothing to explain.
    pub(crate) fn ok() -> Self {
        Verdict {
            outcome: Outcome::Ok,
            detail: None,
            webpki: None,
        }
    }

    /// This verdict, from a check beyond webpki, where plain webpki says `plain`.
    fn beyond_webpki(mut self, plain: Outcome) -> Self {
        if plain != self.outcome {
            self.webpki = Some(plain);
        }
        self
    }
}

/// The most intermediates rustls-webpki puts in a path (`MAX_SUB_CA_COUNT` in its
/// `verify_cert.rs`); a longer chain fails with `MaximumPathDepthExceeded`.
pub const WEBPKI_MAX_INTERMEDIATES: usize = 6;

/// The outcome of a webpki error on its own, without looking at the chain (so without telling
/// `self-signed` / `incomplete-chain` from `unknown-ca`, or a same-name foreign root from a
/// bad signature; [`classify_chain`] does that).
pub fn outcome_of_webpki_error(error: &webpki::Error) -> Outcome {
    use webpki::Error as E;
    #[allow(deprecated)]
    match error {
        E::CertExpired { .. } | E::InvalidCertValidity => Outcome::Expired,
        E::CertNotValidYet { .. } => Outcome::NotYetValid,
        E::CertNotValidForName(_) | E::UnsupportedNameType | E::MalformedDnsIdentifier => {
            Outcome::HostnameMismatch
        }
        E::UnknownIssuer | E::CertDistrusted => Outcome::UnknownCa,
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            Outcome::WrongUsage
        }
        E::CaUsedAsEndEntity | E::EndEntityUsedAsCa => Outcome::InvalidCa,
        E::PathLenConstraintViolated => Outcome::PathLenExceeded,
        // webpki's own limit, not a constraint in the chain: OpenSSL and curl accept such a
        // chain, so it is not `path-len-exceeded` but something this client cannot process.
        E::MaximumPathDepthExceeded => Outcome::BadCertificate,
        E::NameConstraintViolation => Outcome::NameConstraintViolation,
        E::CertRevoked => Outcome::Revoked,
        E::CrlExpired { .. } => Outcome::Expired,
        E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => Outcome::BadSignature,
        _ => Outcome::BadCertificate,
    }
}

/// The outcome of a rustls certificate error (what a rustls client's verifier reported).
/// webpki errors that rustls wraps in `Other` are downcast and classified.
pub fn outcome_of_certificate_error(error: &rustls::CertificateError) -> Outcome {
    use rustls::CertificateError as C;
    #[allow(deprecated)]
    match error {
        C::Expired | C::ExpiredContext { .. } => Outcome::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => Outcome::NotYetValid,
        C::Revoked => Outcome::Revoked,
        C::UnknownIssuer => Outcome::UnknownCa,
        C::BadSignature => Outcome::BadSignature,
        C::NotValidForName | C::NotValidForNameContext { .. } => Outcome::HostnameMismatch,
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => Outcome::WrongUsage,
        C::Other(other) => other
            .0
            .downcast_ref::<webpki::Error>()
            .map(outcome_of_webpki_error)
            .unwrap_or(Outcome::BadCertificate),
        _ => Outcome::BadCertificate,
    }
}

/// The outcome of a rustls error if it is about the peer's certificate (`None` otherwise:
/// alerts, I/O and protocol errors are the caller's to classify).
pub fn outcome_of_rustls_error(error: &rustls::Error) -> Option<Outcome> {
    match error {
        rustls::Error::InvalidCertificate(e) => Some(outcome_of_certificate_error(e)),
        _ => None,
    }
}

// What happens on the connection: a probe's TCP connect, the alerts a server sends, the
// errors rustls reports and the socket's failures, each to one outcome.

/// The largest handshake message a rustls client accepts (`MAX_HANDSHAKE_SIZE` in rustls's
/// deframer: 0xffff bytes), which limits the Certificate message, so the whole chain.
pub const RUSTLS_MAX_HANDSHAKE_MESSAGE: usize = 0xffff;

/// What the client had done about client authentication when the handshake failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ClientAuthState {
    /// The server sent a CertificateRequest.
    pub(crate) requested: bool,
    /// The client answered it with a certificate.
    pub(crate) sent: bool,
}

impl ClientAuthState {
    /// The outcome of a server's complaint that can only be about the client's certificate:
    /// `client-cert-rejected` if one was sent, `client-cert-required` if one was asked for,
    /// `fallback` otherwise.
    fn complaint(self, fallback: Outcome) -> Outcome {
        if self.sent {
            Outcome::ClientCertRejected
        } else if self.requested {
            Outcome::ClientCertRequired
        } else {
            fallback
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The outcome of a failed TCP connect to `addr`. Only a refusal (the host answered with a
/// reset: it is up and nothing listens on the port) is `refused`. "No route to host" and
/// "network unreachable" mean no answer came from the host at all (it is down, or a router or
/// firewall said so), which is `timeout`'s meaning ("no answer to connect") and fix (firewalls,
/// the network), not `refused`'s ("start the server").
pub(crate) fn classify_connect_error(e: &std::io::Error, addr: &str) -> Verdict {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => {
            Verdict::new(Outcome::Refused, format!("connection refused by {addr}"))
        }
        _ if is_timeout(e) => Verdict::new(
            Outcome::Timeout,
            format!("no answer to the TCP connect to {addr}"),
        ),
        K::HostUnreachable => Verdict::new(
            Outcome::Timeout,
            format!(
                "no route to host {addr} (host unreachable: {e}): the host is down or a router or firewall rejects the path; nothing answered on the port"
            ),
        ),
        K::NetworkUnreachable => Verdict::new(
            Outcome::Timeout,
            format!(
                "network unreachable for {addr} ({e}): this machine has no route to that network (VPN, routing, IPv6 connectivity); nothing answered on the port"
            ),
        ),
        _ => Verdict::new(Outcome::Refused, format!("cannot connect to {addr}: {e}")),
    }
}

/// The server closed the connection (`what`: "closed the connection", "reset the
/// connection") during the handshake without an alert. `answered`: whether it had sent
/// anything before.
pub(crate) fn classify_closed_during_handshake(
    what: &str,
    auth: ClientAuthState,
    answered: bool,
) -> Verdict {
    let mut detail = format!("the server {what} during the handshake without an alert");
    if auth.sent {
        detail.push_str(" (after the client certificate was sent)");
    } else if auth.requested {
        detail.push_str(" (it had asked for a client certificate; none was sent)");
    } else if !answered {
        detail = format!("the server {what} before answering the ClientHello");
    }
    Verdict::new(Outcome::Reset, detail)
}

/// A socket error during the handshake: a reset or an early end is the server closing it
/// ([`classify_closed_during_handshake`]), a timeout is `timeout`, anything else `reset`.
pub(crate) fn classify_handshake_io_error(
    e: &std::io::Error,
    auth: ClientAuthState,
    answered: bool,
) -> Verdict {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            classify_closed_during_handshake("reset the connection", auth, answered)
        }
        _ if is_timeout(e) => Verdict::new(Outcome::Timeout, format!("socket: {e}")),
        _ => Verdict::new(Outcome::Reset, format!("socket error: {e}")),
    }
}

/// The server closed the connection right after a TLS 1.3 handshake in which it had asked for
/// a client certificate: it rejected the certificate, or wanted one.
pub(crate) fn classify_closed_after_client_auth(auth: ClientAuthState) -> Verdict {
    Verdict::new(
        auth.complaint(Outcome::ClientCertRequired),
        "the server closed the connection after the handshake without an alert",
    )
}

/// Maps an alert from the server to an outcome, knowing whether it had asked for a client
/// certificate and whether one was sent.
pub(crate) fn classify_alert(alert: rustls::AlertDescription, auth: ClientAuthState) -> Verdict {
    use rustls::AlertDescription as A;
    let detail = format!("the server sent alert {}", crate::tls::alert_text(alert));
    let outcome = match alert {
        A::ProtocolVersion => Outcome::ProtocolMismatch,
        A::CertificateRequired => Outcome::ClientCertRequired,
        A::NoApplicationProtocol => Outcome::AlpnMismatch,
        A::HandshakeFailure if auth.requested && !auth.sent => Outcome::ClientCertRequired,
        A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::DecryptError
        | A::AccessDenied => auth.complaint(Outcome::HandshakeFailure),
        A::CloseNotify => Outcome::Reset,
        _ => Outcome::HandshakeFailure,
    };
    Verdict::new(outcome, detail)
}

/// Classifies a rustls error of a client's handshake that is not the client's own verdict on
/// the server's chain: the server's alert, local incompatibilities, rustls's own checks.
pub(crate) fn classify_tls_error(e: &rustls::Error, auth: ClientAuthState) -> Verdict {
    use rustls::{CertificateError, InvalidMessage, PeerIncompatible};
    match e {
        rustls::Error::AlertReceived(a) => classify_alert(*a, auth),
        rustls::Error::PeerIncompatible(p) => {
            let outcome = match p {
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled => Outcome::ProtocolMismatch,
                _ => Outcome::HandshakeFailure,
            };
            Verdict::new(outcome, format!("rustls: {p:?}"))
        }
        // What is left of certificate errors comes from rustls itself, mostly the server's
        // handshake signature not verifying with the key of its certificate (a server with
        // the wrong key file).
        rustls::Error::InvalidCertificate(c) => {
            let outcome = outcome_of_certificate_error(c);
            let detail = match c {
                CertificateError::BadSignature => format!(
                    "the server's handshake signature does not verify with the key of its certificate (rustls: {e})"
                ),
                _ => format!("rustls: {e}"),
            };
            Verdict::new(outcome, detail)
        }
        rustls::Error::NoCertificatesPresented => Verdict::new(
            Outcome::BadCertificate,
            "the server presented no certificate",
        ),
        rustls::Error::InvalidMessage(
            InvalidMessage::HandshakePayloadTooLarge | InvalidMessage::MessageTooLarge,
        ) => Verdict::new(
            Outcome::BadCertificate,
            format!(
                "a handshake message from the server (its Certificate message, so the chain) is larger than {RUSTLS_MAX_HANDSHAKE_MESSAGE} bytes, the most rustls clients accept (OpenSSL accepts up to 100 KiB, its default max_cert_list): serve a smaller certificate and chain (fewer SANs, no large extensions)"
            ),
        ),
        other => Verdict::new(Outcome::HandshakeFailure, format!("rustls: {other}")),
    }
}

/// One presented or trusted certificate as the classifier sees it: its DER, and its facts
/// when it parses.
#[derive(Clone, Copy)]
struct Facts<'a> {
    der: &'a [u8],
    cert: Option<&'a Cert<'a>>,
}

/// Pairs each DER with its parsed certificate.
fn facts<'a>(
    ders: &'a [CertificateDer<'_>],
    certs: &'a [Result<Cert<'a>, String>],
) -> Vec<Facts<'a>> {
    ders.iter()
        .zip(certs)
        .map(|(der, cert)| Facts {
            der: der.as_ref(),
            cert: cert.as_ref().ok(),
        })
        .collect()
}

impl<'a> Facts<'a> {
    fn subject(&self) -> Option<&'a [u8]> {
        self.cert.map(Cert::subject_raw)
    }

    fn issuer(&self) -> Option<&'a [u8]> {
        self.cert.map(Cert::issuer_raw)
    }

    fn is_ca(&self) -> bool {
        self.cert.is_some_and(Cert::is_ca)
    }

    fn self_issued(&self) -> bool {
        self.cert.is_some_and(Cert::self_issued)
    }

    /// The CN, or the whole subject when it has no CN.
    fn name(&self) -> String {
        match self.cert {
            Some(c) => c.display_name(),
            None => "an unparsable certificate".to_string(),
        }
    }

    fn not_after(&self) -> Option<OffsetDateTime> {
        self.cert.map(Cert::not_after)
    }

    fn not_before(&self) -> Option<OffsetDateTime> {
        self.cert.map(Cert::not_before)
    }

    fn ski(&self) -> Option<&'a [u8]> {
        self.cert?.ski()
    }

    fn aki(&self) -> Option<&'a [u8]> {
        self.cert?.aki()
    }

    /// The DER of the SubjectPublicKeyInfo.
    fn spki(&self) -> Option<&'a [u8]> {
        self.cert.map(Cert::spki)
    }

    fn has_san(&self) -> bool {
        self.cert.is_some_and(Cert::has_san)
    }

    /// Whether `issuer`'s key verifies this certificate's signature.
    fn signed_by(&self, issuer: &Facts<'_>) -> bool {
        let Some(cert) = self.cert else {
            return false;
        };
        let issuer_der = CertificateDer::from(issuer.der);
        let Ok(issuer_ee) = EndEntityCert::try_from(&issuer_der) else {
            return false;
        };
        let (tbs, sig) = cert.signed_data();
        webpki::ALL_VERIFICATION_ALGS
            .iter()
            .any(|alg| issuer_ee.verify_signature(*alg, tbs, sig).is_ok())
    }

    /// The OID of a critical extension the verifier does not know, if it has one.
    fn unknown_critical_extension(&self) -> Option<String> {
        self.cert?.unknown_critical_extensions().into_iter().next()
    }
}

fn date(t: OffsetDateTime) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(fmt).unwrap_or_else(|_| t.to_string())
}

/// How long ago / ahead, in days (or hours/seconds when under a day).
fn distance(a: OffsetDateTime, b: OffsetDateTime) -> String {
    let d = (a - b).abs();
    if d.whole_days() >= 1 {
        let n = d.whole_days();
        format!("{n} day{}", if n == 1 { "" } else { "s" })
    } else if d.whole_hours() >= 1 {
        let n = d.whole_hours();
        format!("{n} hour{}", if n == 1 { "" } else { "s" })
    } else {
        let n = d.whole_seconds();
        format!("{n} second{}", if n == 1 { "" } else { "s" })
    }
}

/// The chain as the classifier sees it: presented certificates then trust anchors.
struct Ctx<'a> {
    chain: Vec<Facts<'a>>,
    roots: Vec<Facts<'a>>,
    /// The PKI's known intermediates, parsed only when a failure needs them (an unknown issuer
    /// that one of them is): a chain that validates never parses them.
    known: &'a [CertificateDer<'a>],
    now: OffsetDateTime,
    usage_is_client: bool,
}

impl Ctx<'_> {
    /// "the leaf CN=x", "intermediate CN=y", "root CN=z" for a certificate found by a predicate.
    fn describe(&self, pick: impl Fn(&Facts<'_>) -> bool) -> Option<String> {
        if let Some(i) = self.chain.iter().position(&pick) {
            let f = &self.chain[i];
            let role = if i == 0 {
                "the leaf"
            } else if f.self_issued() {
                "the root (sent in the chain)"
            } else {
                "intermediate"
            };
            return Some(format!("{role} {}", f.name()));
        }
        self.roots
            .iter()
            .find(|f| pick(f))
            .map(|f| format!("the trusted root {}", f.name()))
    }

    fn expired(&self, at: OffsetDateTime) -> Verdict {
        let which = self
            .describe(|f| f.not_after() == Some(at))
            .unwrap_or_else(|| "a certificate in the chain".to_string());
        Verdict::new(
            Outcome::Expired,
            format!(
                "{which} expired on {} ({} ago)",
                date(at),
                distance(self.now, at)
            ),
        )
    }

    fn not_yet_valid(&self, at: OffsetDateTime) -> Verdict {
        let which = self
            .describe(|f| f.not_before() == Some(at))
            .unwrap_or_else(|| "a certificate in the chain".to_string());
        Verdict::new(
            Outcome::NotYetValid,
            format!(
                "{which} is valid only from {} ({} from now)",
                date(at),
                distance(at, self.now)
            ),
        )
    }

    /// The last certificate reachable from the leaf by following issuer names through the
    /// presented chain.
    fn top(&self) -> usize {
        let mut current = 0;
        let mut seen = vec![0];
        loop {
            let cur = &self.chain[current];
            if cur.self_issued() {
                return current;
            }
            let next = self.chain.iter().enumerate().position(|(j, f)| {
                !seen.contains(&j) && f.subject().is_some() && f.subject() == cur.issuer()
            });
            match next {
                Some(j) => {
                    seen.push(j);
                    current = j;
                }
                None => return current,
            }
        }
    }

    fn unknown_issuer(&self) -> Verdict {
        let leaf = &self.chain[0];
        if leaf.self_issued() && leaf.signed_by(leaf) {
            return Verdict::new(
                Outcome::SelfSigned,
                format!(
                    "{} is signed by its own key and is not in your trust store",
                    leaf.name()
                ),
            );
        }
        let top = &self.chain[self.top()];
        if top.self_issued() {
            return Verdict::new(
                Outcome::UnknownCa,
                format!(
                    "the chain ends at the root {}, which your trust store does not hold",
                    top.name()
                ),
            );
        }
        let missing = top
            .cert
            .map(Cert::issuer_display_name)
            .unwrap_or_else(|| "its issuer".to_string());
        let known_certs = parse_chain(self.known);
        let known_facts = facts(self.known, &known_certs);
        if let Some(known) = known_facts
            .iter()
            .find(|k| k.subject().is_some() && k.subject() == top.issuer() && top.signed_by(k))
        {
            return Verdict::new(
                Outcome::IncompleteChain,
                format!(
                    "the intermediate {} that issued {} was not sent; this PKI issued it",
                    known.name(),
                    top.name()
                ),
            );
        }
        let mut detail = format!(
            "no trusted root issued {missing}, the issuer of {}",
            top.name()
        );
        if self.known.is_empty() {
            detail.push_str(" (or the server did not send an intermediate)");
        }
        Verdict::new(Outcome::UnknownCa, detail)
    }

    fn bad_signature(&self) -> Verdict {
        // A self-issued certificate sent in the chain with a trust anchor's name but another key
        // is a foreign root, whatever webpki tried to verify with it.
        // (A self-issued intermediate that the trusted root signed is no foreign root.)
        for cert in self.chain.iter().filter(|f| f.self_issued()) {
            if let Some(root) = self.roots.iter().find(|r| {
                r.subject().is_some() && r.subject() == cert.subject() && r.spki() != cert.spki()
            }) && !self.roots.iter().any(|r| cert.signed_by(r))
                && !self
                    .roots
                    .iter()
                    .any(|r| r.subject() == cert.subject() && r.spki() == cert.spki())
            {
                return Verdict::new(
                    Outcome::UnknownCa,
                    format!(
                        "the chain was sent with another root named {}: same subject as your root, different key",
                        root.name()
                    ),
                );
            }
        }
        for (i, cert) in self.chain.iter().enumerate() {
            if cert.cert.is_none() {
                continue;
            }
            let candidates_in_chain: Vec<&Facts<'_>> = self
                .chain
                .iter()
                .enumerate()
                .filter(|(j, f)| *j != i && f.subject().is_some() && f.subject() == cert.issuer())
                .map(|(_, f)| f)
                .collect();
            let candidate_roots: Vec<&Facts<'_>> = self
                .roots
                .iter()
                .filter(|f| f.subject().is_some() && f.subject() == cert.issuer())
                .collect();
            let self_check = cert.self_issued() && candidates_in_chain.is_empty();
            if candidates_in_chain.is_empty() && candidate_roots.is_empty() && !self_check {
                continue;
            }
            if candidates_in_chain.iter().any(|c| cert.signed_by(c))
                || candidate_roots.iter().any(|c| cert.signed_by(c))
                || (self_check && cert.signed_by(cert))
            {
                continue;
            }
            // An issuer whose key the verifier refuses (RSA under 2048 bits): a weak key, not
            // a bad signature (webpki cannot tell whether the signature is sound).
            if let Some((issuer, bits)) = candidates_in_chain
                .iter()
                .chain(candidate_roots.iter())
                .find_map(|c| {
                    let (alg, bits) = c.cert?.key_algorithm();
                    (alg.starts_with("rsa") && bits < 2048).then_some((c, bits))
                })
            {
                let role = self
                    .describe(|f| f.der == issuer.der)
                    .unwrap_or_else(|| issuer.name());
                return Verdict::new(
                    Outcome::BadCertificate,
                    format!(
                        "{role}, the issuer of {}, has a weak key: {bits}-bit RSA; rustls-webpki accepts RSA signatures only from keys of 2048 bits or more",
                        cert.name()
                    ),
                );
            }
            if let Some(root) = candidate_roots.first() {
                let same_key = cert.aki().is_some() && cert.aki() == root.ski();
                if !same_key && candidates_in_chain.is_empty() {
                    return Verdict::new(
                        Outcome::UnknownCa,
                        format!(
                            "{} was issued by another CA named {}: same subject as your root, different key",
                            cert.name(),
                            root.name()
                        ),
                    );
                }
            }
            let issuer = candidates_in_chain
                .first()
                .or(candidate_roots.first())
                .map(|f| f.name())
                .unwrap_or_else(|| cert.name());
            return Verdict::new(
                Outcome::BadSignature,
                format!(
                    "the signature of {} does not verify with the key of its issuer {issuer}",
                    cert.name()
                ),
            );
        }
        // Every signature verifies with an issuer the chain or the trust store holds: webpki
        // failed while trying other candidates. With a self-issued intermediate in the chain,
        // the cause is RFC 5280's exemptions for self-issued certificates, which webpki does
        // not make (pathLen 4.2.1.9, name constraints 4.2.1.10).
        let self_issued_ca = self
            .chain
            .iter()
            .skip(1)
            .find(|f| f.self_issued() && f.is_ca() && !f.signed_by(f));
        if let Some(si) = self_issued_ca {
            let constrained = self
                .chain
                .iter()
                .chain(self.roots.iter())
                .find(|f| f.cert.is_some_and(|c| c.name_constraints().is_some()));
            if let Some(nc) = constrained {
                return Verdict::new(
                    Outcome::NameConstraintViolation,
                    format!(
                        "rustls-webpki applies the name constraints of {} to the self-issued intermediate {}, which RFC 5280 4.2.1.10 exempts; every signature in the chain verifies",
                        nc.name(),
                        si.name()
                    ),
                );
            }
            if self
                .chain
                .iter()
                .any(|f| f.cert.is_some_and(Cert::has_path_len))
            {
                return Verdict::new(
                    Outcome::PathLenExceeded,
                    format!(
                        "rustls-webpki counts the self-issued intermediate {} against pathLen, which RFC 5280 4.2.1.9 does not; every signature in the chain verifies",
                        si.name()
                    ),
                );
            }
        }
        Verdict::new(
            Outcome::BadSignature,
            "a signature in the chain does not verify",
        )
    }

    fn classify_error(&self, error: webpki::Error, name: Option<&ServerName<'_>>) -> Verdict {
        use webpki::Error as E;
        let leaf = &self.chain[0];
        #[allow(deprecated)]
        match error {
            E::CertExpired { not_after, .. } => self.expired(offset_date_time(not_after)),
            E::CertNotValidYet { not_before, .. } => {
                self.not_yet_valid(offset_date_time(not_before))
            }
            E::UnknownIssuer => self.unknown_issuer(),
            E::InvalidSignatureForPublicKey => self.bad_signature(),
            E::CertNotValidForName(_) => self.name_mismatch(name),
            E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
                let needed = if self.usage_is_client {
                    "clientAuth"
                } else {
                    "serverAuth"
                };
                let lacks = |f: &Facts<'_>| {
                    f.cert
                        .and_then(Cert::extended_key_usage)
                        .is_some_and(|ekus| !ekus.iter().any(|e| e == needed))
                };
                // webpki checks the EKU of every certificate of the path: the leaf's, or an
                // intermediate's that lacks it.
                if !lacks(leaf)
                    && let Some(ca) = self.chain.iter().skip(1).find(|f| lacks(f))
                {
                    let ekus = ca
                        .cert
                        .and_then(Cert::extended_key_usage)
                        .unwrap_or_default();
                    let which = self
                        .describe(|f| f.der == ca.der)
                        .unwrap_or_else(|| ca.name());
                    return Verdict::new(
                        Outcome::WrongUsage,
                        format!(
                            "{which}'s extended key usage is {}; every certificate of the path that has one needs {needed}",
                            if ekus.is_empty() {
                                "empty".to_string()
                            } else {
                                ekus.join(", ")
                            }
                        ),
                    );
                }
                let ekus = match leaf.cert.and_then(Cert::extended_key_usage) {
                    Some(ekus) if ekus.is_empty() => "empty".to_string(),
                    Some(ekus) => ekus.join(", "),
                    None => "not what is needed".to_string(),
                };
                Verdict::new(
                    Outcome::WrongUsage,
                    format!(
                        "{}'s extended key usage is {ekus}; a certificate a TLS {} presents needs {needed}",
                        leaf.name(),
                        if self.usage_is_client {
                            "client"
                        } else {
                            "server"
                        },
                    ),
                )
            }
            E::CaUsedAsEndEntity => Verdict::new(
                Outcome::InvalidCa,
                format!(
                    "{} is a CA certificate (CA:true) used as an end entity",
                    leaf.name()
                ),
            ),
            E::EndEntityUsedAsCa => {
                let which = self
                    .describe(|f| !f.is_ca() && f.der != leaf.der && f.cert.is_some())
                    .unwrap_or_else(|| "an issuer".to_string());
                Verdict::new(
                    Outcome::InvalidCa,
                    format!(
                        "{which} issues certificates but is not a CA (no basicConstraints CA:true)"
                    ),
                )
            }
            E::PathLenConstraintViolated => {
                let which = self
                    .describe(|f| f.cert.is_some_and(Cert::has_path_len))
                    .unwrap_or_else(|| "a CA in the chain".to_string());
                Verdict::new(
                    Outcome::PathLenExceeded,
                    format!("the path below {which} is longer than its pathLen constraint allows"),
                )
            }
            E::MaximumPathDepthExceeded => {
                let intermediates = self
                    .chain
                    .iter()
                    .skip(1)
                    .filter(|f| !f.self_issued())
                    .count();
                Verdict::new(
                    Outcome::BadCertificate,
                    format!(
                        "the chain has {intermediates} intermediates; rustls-webpki (certlab's verifier, and every rustls client) builds paths through at most {WEBPKI_MAX_INTERMEDIATES} (its MaximumPathDepthExceeded error); no pathLen constraint is exceeded, and OpenSSL and curl accept it: shorten the chain for rustls clients"
                    ),
                )
            }
            E::NameConstraintViolation => {
                let which = self
                    .describe(|f| {
                        f.cert
                            .as_ref()
                            .is_some_and(|c| c.name_constraints().is_some())
                    })
                    .unwrap_or_else(|| "a CA in the chain".to_string());
                Verdict::new(
                    Outcome::NameConstraintViolation,
                    format!(
                        "a name of {} is outside the name constraints of {which}",
                        leaf.name()
                    ),
                )
            }
            E::CertRevoked => Verdict::new(
                Outcome::Revoked,
                format!("{} is listed in its issuer's CRL", leaf.name()),
            ),
            E::UnsupportedCriticalExtension => {
                let found = self
                    .chain
                    .iter()
                    .find_map(|f| f.unknown_critical_extension().map(|oid| (f, oid)));
                let detail = match found {
                    Some((f, oid)) => {
                        let which = self
                            .describe(|g| g.der == f.der)
                            .unwrap_or_else(|| f.name());
                        format!("{which} has a critical extension ({oid}) the verifier does not know")
                    }
                    None => "a certificate in the chain has a critical extension the verifier does not know".to_string(),
                };
                Verdict::new(Outcome::BadCertificate, detail)
            }
            other => Verdict::new(
                outcome_of_webpki_error(&other),
                format!("the verifier says: {other:?}"),
            ),
        }
    }

    /// The constraint of the trusted root `root` that the path breaks, if any
    /// ([`Cert::anchor_problem`]).
    fn anchor_constraint(&self, root: &Facts<'_>, below: usize, usage: Usage) -> Option<Verdict> {
        let (outcome, detail) = root.cert?.anchor_problem(below, usage == Usage::Client)?;
        Some(Verdict::new(outcome, detail))
    }

    /// A CRL given for a certificate of the path is past its nextUpdate (`at`).
    fn crl_expired(&self, at: OffsetDateTime) -> Verdict {
        Verdict::new(
            Outcome::Expired,
            format!(
                "a CRL given for the chain is past its nextUpdate, {} ({} ago): a client checking revocation (curl --crlfile, openssl -crl_check) refuses it as `CRL has expired`; give a current CRL (certlab revoke re-signs its issuer's)",
                date(at),
                distance(self.now, at)
            ),
        )
    }

    /// The verdict on a revoked path: which certificate of the chain a CRL lists (the leaf,
    /// or an intermediate, which revokes every certificate below it).
    fn revoked(&self, crls: &[CertRevocationList<'_>]) -> Verdict {
        let listed = |f: &Facts<'_>| {
            f.cert.is_some_and(|c| {
                crls.iter().any(|crl| {
                    // webpki gives the CRL's issuer without the SEQUENCE header.
                    c.issuer_raw().ends_with(crl.issuer())
                        && matches!(crl.find_serial(c.raw_serial()), Ok(Some(_)))
                })
            })
        };
        match self.chain.iter().position(listed) {
            Some(i) if i > 0 => Verdict::new(
                Outcome::Revoked,
                format!(
                    "intermediate {} is listed in its issuer's CRL: a revoked CA revokes every certificate below it",
                    self.chain[i].name()
                ),
            ),
            _ => Verdict::new(
                Outcome::Revoked,
                format!("{} is listed in its issuer's CRL", self.chain[0].name()),
            ),
        }
    }

    fn name_mismatch(&self, name: Option<&ServerName<'_>>) -> Verdict {
        let leaf = &self.chain[0];
        let wanted = name.map(server_name_text).unwrap_or_default();
        if !leaf.has_san() {
            let cn = leaf.name();
            return Verdict::new(
                Outcome::HostnameMismatch,
                format!(
                    "the certificate has no subjectAltName; its subject {cn} does not count for `{wanted}`"
                ),
            );
        }
        let sans = leaf.cert.map(Cert::sans).unwrap_or_default();
        Verdict::new(
            Outcome::HostnameMismatch,
            format!(
                "`{wanted}` is not among the certificate's SANs ({})",
                sans.join(", ")
            ),
        )
    }
}

/// Why a TLS peer cannot sign with this leaf's key in a rustls handshake (aws-lc-rs
/// provider: ECDSA P-256/P-384/P-521, Ed25519, RSA 2048 to 8192 bits), if it cannot.
fn leaf_key_problem(cert: &Cert<'_>) -> Option<String> {
    let (alg, bits) = cert.key_algorithm();
    if let Some(rest) = alg.strip_prefix("rsa-") {
        if rest.starts_with("pss") {
            return Some(format!(
                "its key is {alg} (an RSASSA-PSS key), which rustls cannot use"
            ));
        }
        if !(2048..=8192).contains(&bits) {
            return Some(format!(
                "its key is RSA with {bits} bits; clients need 2048 to 8192"
            ));
        }
        if bits % 8 != 0 {
            return Some(format!(
                "its RSA modulus has {bits} bits, not a whole number of bytes"
            ));
        }
        return None;
    }
    match alg.as_str() {
        "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ed25519" => None,
        _ => Some(format!(
            "its key algorithm ({alg}) is one TLS clients do not support"
        )),
    }
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// Validates `chain` (as presented: `[0]` should be the leaf) for `name` (`None`: no name
/// check) and `usage` at `now`, and says which [`Outcome`] a strict client sees, and why.
///
/// Times compare at the granularity certificates encode, whole seconds (`now` is truncated),
/// as webpki does: a certificate whose notAfter is 00:00:00 is still valid at 00:00:00.005.
///
/// Path building uses only `chain` and `trust.roots`; `trust.known_intermediates` only helps
/// to explain a failure (a missing intermediate the PKI issued is `incomplete-chain`).
pub fn classify_chain(
    chain: &[CertificateDer<'_>],
    trust: &TrustStore,
    name: Option<&ServerName<'_>>,
    usage: Usage,
    now: OffsetDateTime,
) -> Verdict {
    classify_parsed(chain, &parse_chain(chain), trust, name, usage, now, None)
}

/// [`classify_chain`] for a chain whose certificates the caller has parsed already (`certs[i]`
/// is `chain[i]`), so a report parses each certificate once. With `verified`, the signatures
/// of the path webpki accepted are recorded in it (nothing when it accepted none).
pub(crate) fn classify_parsed<'a>(
    chain: &'a [CertificateDer<'_>],
    certs: &'a [Result<Cert<'a>, String>],
    trust: &TrustStore,
    name: Option<&ServerName<'_>>,
    usage: Usage,
    now: OffsetDateTime,
    verified: Option<&mut VerifiedSignatures>,
) -> Verdict {
    // Whole seconds, as certificates encode them and webpki compares (see classify_chain).
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let Some(leaf_der) = chain.first() else {
        return Verdict::new(Outcome::BadCertificate, "no certificate was presented");
    };
    let root_certs = parse_chain(&trust.roots);
    let ctx = Ctx {
        chain: facts(chain, certs),
        roots: facts(&trust.roots, &root_certs),
        known: &trust.known_intermediates,
        now,
        usage_is_client: usage == Usage::Client,
    };

    // The first certificate must be the leaf.
    if ctx.chain[0].is_ca()
        && let Some(pos) = ctx
            .chain
            .iter()
            .position(|f| f.cert.is_some() && !f.is_ca())
    {
        return Verdict::new(
            Outcome::MisorderedChain,
            format!(
                "the first certificate, {}, is a CA; the leaf {} comes at position {}",
                ctx.chain[0].name(),
                ctx.chain[pos].name(),
                pos + 1
            ),
        );
    }

    let ee = match EndEntityCert::try_from(leaf_der) {
        Ok(ee) => ee,
        Err(webpki::Error::UnsupportedCriticalExtension) => {
            return ctx.classify_error(webpki::Error::UnsupportedCriticalExtension, name);
        }
        Err(e) => {
            return Verdict::new(
                Outcome::BadCertificate,
                format!("the leaf certificate cannot be parsed: {e:?}"),
            );
        }
    };
    let mut anchors: Vec<TrustAnchor<'_>> = Vec::new();
    let mut anchor_index = Vec::new();
    for (i, root) in trust.roots.iter().enumerate() {
        if let Ok(a) = webpki::anchor_from_trusted_cert(root) {
            anchors.push(a);
            anchor_index.push(i);
        }
    }
    let issuers: Vec<CertificateDer<'_>> = chain.iter().chain(&trust.roots).cloned().collect();
    let ordered = crate::x509::crls_in_client_order(&trust.crls, &issuers, now);
    let crls: Vec<CertRevocationList<'_>> = ordered
        .iter()
        .filter_map(|c| BorrowedCertRevocationList::from_der(c.as_ref()).ok())
        .map(CertRevocationList::from)
        .collect();
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    // Every certificate of the path is looked up in the CRLs given, as curl `--crlfile` does
    // (OpenSSL's CRL_CHECK_ALL): a leaf below a revoked intermediate is revoked too. A
    // certificate no CRL covers passes (unknown status allowed).
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            // A CRL past its nextUpdate is no answer: OpenSSL's `CRL has expired` (error 12).
            .with_expiration_policy(ExpirationPolicy::Enforce)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .build()
    });

    let intermediates = &chain[1..];
    // How many CAs of the path sit below the anchor, self-issued ones not counted (RFC 5280
    // 4.2.1.9): what the anchor's own pathLen limits.
    let (anchor, below_anchor) = match ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        unix_time(now),
        usage.key_usage(),
        revocation,
        None,
    ) {
        Ok(path) => {
            if let Some(v) = verified {
                let anchor_roots: Vec<&[u8]> = anchor_index
                    .iter()
                    .map(|&i| trust.roots[i].as_ref())
                    .collect();
                v.record(leaf_der, &path, &anchors, &anchor_roots);
            }
            let below = path
                .intermediate_certificates()
                .filter(|c| {
                    !ctx.chain
                        .iter()
                        .any(|f| f.der == c.der().as_ref() && f.self_issued())
                })
                .count();
            (anchors.iter().position(|a| a == path.anchor()), below)
        }
        Err(webpki::Error::CertRevoked) => return ctx.revoked(&crls),
        Err(webpki::Error::CrlExpired { next_update, .. }) => {
            return ctx.crl_expired(offset_date_time(next_update));
        }
        Err(e) => return ctx.classify_error(e, name),
    };

    // What plain webpki says from here on: only the name is left to check.
    let plain = || match name.map(|n| ee.verify_is_valid_for_subject_name(n)) {
        None | Some(Ok(())) => Outcome::Ok,
        Some(Err(webpki::Error::CertNotValidForName(_))) => Outcome::HostnameMismatch,
        Some(Err(e)) => outcome_of_webpki_error(&e),
    };

    // webpki ignores the trust anchor's own dates. Several root certificates can make the same
    // anchor (a renewed root beside its old copy): it is out of date only if all of them are.
    if let Some(root) = anchor.map(|i| &ctx.roots[anchor_index[i]]) {
        let copies: Vec<&Facts<'_>> = ctx
            .roots
            .iter()
            .filter(|r| r.subject() == root.subject() && r.spki() == root.spki())
            .collect();
        let in_date = |r: &&Facts<'_>| {
            r.not_after().is_none_or(|t| t >= now) && r.not_before().is_none_or(|t| t <= now)
        };
        if !copies.iter().any(in_date) {
            if let Some(t) = copies
                .iter()
                .filter_map(|r| r.not_after())
                .filter(|t| *t < now)
                .max()
            {
                return ctx.expired(t).beyond_webpki(plain());
            }
            if let Some(t) = copies
                .iter()
                .filter_map(|r| r.not_before())
                .filter(|t| *t > now)
                .min()
            {
                return ctx.not_yet_valid(t).beyond_webpki(plain());
            }
        }
    }

    // webpki keeps of a trust anchor only its name, key and name constraints: its own
    // basicConstraints (CA:false, pathLen) and extended key usage are checked here, as OpenSSL
    // and curl check them (verify errors 79, 25, 26). A self-signed server certificate trusted
    // as itself (pinned) issued nothing: only its dates count.
    if let Some(root) = anchor.map(|i| &ctx.roots[anchor_index[i]])
        && !(root.subject() == ctx.chain[0].subject() && root.spki() == ctx.chain[0].spki())
        && let Some(v) = ctx.anchor_constraint(root, below_anchor, usage)
    {
        return v.beyond_webpki(plain());
    }

    if let Some(root) = anchor.map(|i| &ctx.roots[anchor_index[i]])
        && let Some(oid) = root.unknown_critical_extension()
    {
        return Verdict::new(
            Outcome::BadCertificate,
            format!(
                "the trusted root {} has a critical extension ({oid}) the verifier does not know",
                root.name()
            ),
        )
        .beyond_webpki(plain());
    }

    // webpki does not look at the leaf's own key; a TLS peer must sign with it.
    if let Some(problem) = ctx.chain[0].cert.and_then(leaf_key_problem) {
        return Verdict::new(
            Outcome::BadCertificate,
            format!("{}: {problem}", ctx.chain[0].name()),
        );
    }

    // webpki does not look at the leaf's keyUsage either; OpenSSL (curl, Python, Node) refuses a
    // leaf whose keyUsage allows no TLS use.
    if let Some(problem) = ctx.chain[0]
        .cert
        .and_then(|c| c.tls_key_usage_problem(usage == Usage::Client))
    {
        return Verdict::new(Outcome::WrongUsage, problem).beyond_webpki(plain());
    }

    if let Some(name) = name
        && let Err(e) = ee.verify_is_valid_for_subject_name(name)
    {
        return match e {
            webpki::Error::CertNotValidForName(_) => ctx.name_mismatch(Some(name)),
            other => ctx.classify_error(other, Some(name)),
        };
    }
    Verdict::ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Fault, Pki, spec, store};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2030-06-01 12:00 UTC);

    fn lab() -> Pki {
        let t = spec::template("lab").expect("lab template");
        let s = spec::parse("<template lab>", t.text).expect("lab spec parses");
        store::build(&s, NOW).expect("lab builds")
    }

    fn roots(pki: &Pki) -> Vec<CertificateDer<'static>> {
        pki.trusted_roots().map(|e| e.cert.clone()).collect()
    }

    fn run(pki: &Pki, name: &str, trust: &TrustStore) -> Verdict {
        let e = pki.entity(name).expect("entity");
        let host = if e.fault.connects_by_ip() {
            "127.0.0.1"
        } else {
            "localhost"
        };
        let server_name = ServerName::try_from(host).expect("valid name");
        let usage = if e.fault.is_client_side() || (e.role.is_client() && !e.role.is_server()) {
            Usage::Client
        } else {
            Usage::Server
        };
        let name = (usage == Usage::Server).then_some(&server_name);
        classify_chain(&e.chain, trust, name, usage, NOW)
    }

    #[test]
    fn every_lab_fault_classifies_to_its_expected_outcome() {
        let pki = lab();
        let trust = TrustStore {
            roots: roots(&pki),
            known_intermediates: vec![],
            crls: pki.crls().cloned().collect(),
        };
        let mut checked = 0;
        for e in pki.entities.iter().filter(|e| !e.is_ca()) {
            let Some(expected) = e.expected else { continue };
            if e.fault == Fault::MissingIntermediate {
                continue; // below, with and without known intermediates
            }
            let v = run(&pki, &e.name, &trust);
            assert_eq!(v.outcome, expected, "{}: {:?}", e.name, v.detail);
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} leaves checked");
    }

    #[test]
    fn missing_intermediate_is_incomplete_chain_only_when_the_pki_knows_it() {
        let pki = lab();
        let mut trust = TrustStore::from_roots(roots(&pki));
        let v = run(&pki, "missing-intermediate", &trust);
        assert_eq!(v.outcome, Outcome::UnknownCa);
        assert!(v.detail.unwrap().contains("did not send an intermediate"));
        trust.known_intermediates = pki.intermediates().map(|e| e.cert.clone()).collect();
        let v = run(&pki, "missing-intermediate", &trust);
        assert_eq!(v.outcome, Outcome::IncompleteChain);
        assert!(v.detail.unwrap().contains("certlab lab intermediate"));
    }

    #[test]
    fn revoked_needs_the_crl() {
        let pki = lab();
        let trust = TrustStore::from_roots(roots(&pki));
        assert_eq!(run(&pki, "revoked", &trust).outcome, Outcome::Ok);
    }

    #[test]
    fn details_name_the_culprit() {
        let pki = lab();
        let trust = TrustStore::from_roots(roots(&pki));
        let d = run(&pki, "expired-intermediate", &trust).detail.unwrap();
        assert!(
            d.starts_with("intermediate CN=certlab expired-intermediate CA"),
            "{d}"
        );
        let d = run(&pki, "expired-root", &trust).detail.unwrap();
        assert!(
            d.contains("the trusted root CN=certlab expired-root root"),
            "{d}"
        );
        let d = run(&pki, "same-name-root", &trust).detail.unwrap();
        assert!(
            d.contains("same subject as your root, different key"),
            "{d}"
        );
        let d = run(&pki, "cn-only", &trust).detail.unwrap();
        assert!(d.contains("no subjectAltName"), "{d}");
        let d = run(&pki, "reversed-chain", &trust).detail.unwrap();
        assert!(d.contains("position 2"), "{d}");
    }

    #[test]
    fn empty_chain_is_bad_certificate() {
        let v = classify_chain(&[], &TrustStore::default(), None, Usage::Server, NOW);
        assert_eq!(v.outcome, Outcome::BadCertificate);
    }

    #[test]
    fn good_leaf_is_ok_at_now_and_expired_later() {
        let pki = lab();
        let trust = TrustStore::from_roots(roots(&pki));
        let good = pki.entity("good").unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let at = |t| classify_chain(&good.chain, &trust, Some(&name), Usage::Server, t);
        assert_eq!(at(NOW).outcome, Outcome::Ok);
        let later = at(NOW + time::Duration::days(800));
        assert_eq!(later.outcome, Outcome::Expired);
        assert!(later.detail.unwrap().starts_with("the leaf"));
        assert_eq!(
            at(NOW - time::Duration::days(3)).outcome,
            Outcome::NotYetValid
        );
    }

    #[test]
    fn webpki_other_errors_downcast() {
        let err = rustls::CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            webpki::Error::PathLenConstraintViolated,
        )));
        assert_eq!(outcome_of_certificate_error(&err), Outcome::PathLenExceeded);
        let err = rustls::CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            webpki::Error::NameConstraintViolation,
        )));
        assert_eq!(
            outcome_of_certificate_error(&err),
            Outcome::NameConstraintViolation
        );
        assert_eq!(
            outcome_of_webpki_error(&webpki::Error::EndEntityUsedAsCa),
            Outcome::InvalidCa
        );
    }

    #[test]
    fn same_name_foreign_root_sent_in_the_chain_is_unknown_ca() {
        let pki = lab();
        let trust = TrustStore::from_roots(roots(&pki));
        let leaf = pki.entity("same-name-root").unwrap();
        let foreign = pki.entity("same-name-root-root").unwrap();
        let mut chain = leaf.chain.clone();
        chain.push(foreign.cert.clone());
        let name = ServerName::try_from("localhost").unwrap();
        let v = classify_chain(&chain, &trust, Some(&name), Usage::Server, NOW);
        assert_eq!(v.outcome, Outcome::UnknownCa, "{:?}", v.detail);
        let d = v.detail.unwrap();
        assert!(
            d.contains("same subject as your root, different key"),
            "{d}"
        );
    }

    #[test]
    fn alerts_map_to_outcomes() {
        use rustls::AlertDescription as A;
        let o = |a, requested, sent| classify_alert(a, ClientAuthState { requested, sent }).outcome;
        assert_eq!(
            o(A::ProtocolVersion, false, false),
            Outcome::ProtocolMismatch
        );
        assert_eq!(
            o(A::HandshakeFailure, false, false),
            Outcome::HandshakeFailure
        );
        assert_eq!(
            o(A::HandshakeFailure, true, false),
            Outcome::ClientCertRequired
        );
        assert_eq!(
            o(A::CertificateRequired, true, false),
            Outcome::ClientCertRequired
        );
        assert_eq!(o(A::UnknownCA, true, true), Outcome::ClientCertRejected);
        assert_eq!(
            o(A::NoApplicationProtocol, false, false),
            Outcome::AlpnMismatch
        );
        let both = ClientAuthState {
            requested: true,
            sent: true,
        };
        let d = classify_alert(A::UnsupportedCertificate, both).detail;
        assert_eq!(
            d.as_deref(),
            Some("the server sent alert 43 (unsupported_certificate)")
        );
    }

    #[test]
    fn no_route_to_host_is_not_refused() {
        use std::io;
        let addr = "192.0.2.1:443";
        let mut errors = vec![
            io::Error::from(io::ErrorKind::HostUnreachable),
            io::Error::from(io::ErrorKind::NetworkUnreachable),
        ];
        // EHOSTUNREACH and ENETUNREACH as the OS reports them.
        #[cfg(target_os = "linux")]
        errors.extend([113, 101].map(io::Error::from_raw_os_error));
        for e in errors {
            let v = classify_connect_error(&e, addr);
            let detail = v.detail.unwrap_or_default();
            assert_eq!(v.outcome, Outcome::Timeout, "{e}: {detail}");
            assert!(
                detail.contains(addr)
                    && (detail.contains("unreachable") || detail.contains("no route")),
                "{detail}"
            );
        }
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            classify_connect_error(&refused, addr).outcome,
            Outcome::Refused
        );
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(
            classify_connect_error(&timed_out, addr).outcome,
            Outcome::Timeout
        );
        #[cfg(target_os = "linux")]
        {
            // ECONNREFUSED, ETIMEDOUT
            let v = classify_connect_error(&io::Error::from_raw_os_error(111), addr);
            assert_eq!(v.outcome, Outcome::Refused);
            let v = classify_connect_error(&io::Error::from_raw_os_error(110), addr);
            assert_eq!(v.outcome, Outcome::Timeout);
        }
    }

    #[test]
    fn wrong_usage_names_every_extended_key_usage_of_the_leaf() {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair,
        };
        let key = KeyPair::generate().unwrap();
        let mut rp = CertificateParams::default();
        rp.distinguished_name.push(DnType::CommonName, "eku root");
        rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root = rp.self_signed(&key).unwrap().der().clone();
        let issuer = Issuer::new(rp, &key);
        let name = ServerName::try_from("localhost").unwrap();
        let trust = TrustStore::from_roots(vec![root]);
        let detail = |ekus: Vec<ExtendedKeyUsagePurpose>| {
            let mut lp = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            lp.distinguished_name.push(DnType::CommonName, "stamp");
            lp.extended_key_usages = ekus;
            let leaf = lp
                .signed_by(&KeyPair::generate().unwrap(), &issuer)
                .unwrap();
            let v = classify_chain(
                &[leaf.der().clone()],
                &trust,
                Some(&name),
                Usage::Server,
                OffsetDateTime::now_utc(),
            );
            assert_eq!(v.outcome, Outcome::WrongUsage, "{:?}", v.detail);
            v.detail.unwrap()
        };
        // A time-stamping certificate has an extended key usage, not an empty one.
        let d = detail(vec![ExtendedKeyUsagePurpose::TimeStamping]);
        assert!(d.contains("extended key usage is timeStamping;"), "{d}");
        let d = detail(vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::OcspSigning,
        ]);
        assert!(d.contains("is clientAuth, OCSPSigning;"), "{d}");
    }

    #[test]
    fn a_root_is_out_of_date_only_if_every_copy_of_it_is() {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let key = KeyPair::generate().unwrap();
        let root = |not_before: OffsetDateTime, not_after: OffsetDateTime| {
            let mut p = CertificateParams::default();
            p.distinguished_name
                .push(DnType::CommonName, "renewed root");
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.not_before = not_before;
            p.not_after = not_after;
            (p.self_signed(&key).unwrap().der().clone(), p)
        };
        let (old, _) = root(
            NOW - time::Duration::days(800),
            NOW - time::Duration::days(10),
        );
        let (renewed, renewed_params) = root(
            NOW - time::Duration::days(20),
            NOW + time::Duration::days(800),
        );
        let (future, _) = root(
            NOW + time::Duration::days(5),
            NOW + time::Duration::days(900),
        );
        let issuer = Issuer::new(renewed_params, &key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut lp = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        lp.not_before = NOW - time::Duration::days(1);
        lp.not_after = NOW + time::Duration::days(30);
        let leaf = lp.signed_by(&leaf_key, &issuer).unwrap().der().clone();
        let name = ServerName::try_from("localhost").unwrap();
        let check = |roots: Vec<CertificateDer<'static>>| {
            let trust = TrustStore::from_roots(roots);
            classify_chain(
                std::slice::from_ref(&leaf),
                &trust,
                Some(&name),
                Usage::Server,
                NOW,
            )
        };
        // The expired copy first: webpki's anchor matches it as well as the renewed one.
        assert_eq!(
            check(vec![old.clone(), renewed.clone()]).outcome,
            Outcome::Ok
        );
        assert_eq!(
            check(vec![renewed.clone(), old.clone()]).outcome,
            Outcome::Ok
        );
        assert_eq!(check(vec![old.clone()]).outcome, Outcome::Expired);
        assert_eq!(
            check(vec![old.clone(), future.clone()]).outcome,
            Outcome::Expired
        );
        assert_eq!(check(vec![future]).outcome, Outcome::NotYetValid);
    }

    #[test]
    fn times_compare_in_whole_seconds_as_certificates_encode_them() {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "root");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.not_before = NOW - time::Duration::days(10);
        // The trust anchor ends exactly at NOW too: webpki does not check its dates, certlab does.
        p.not_after = NOW;
        let root = p.self_signed(&key).unwrap().der().clone();
        let issuer = Issuer::new(p, &key);
        // A leaf whose notAfter is exactly NOW (whole seconds, as X.509 encodes it).
        let leaf_key = KeyPair::generate().unwrap();
        let mut lp = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        lp.not_before = NOW - time::Duration::days(1);
        lp.not_after = NOW;
        let leaf = lp.signed_by(&leaf_key, &issuer).unwrap().der().clone();
        let trust = TrustStore::from_roots(vec![root]);
        let name = ServerName::try_from("localhost").unwrap();
        let at = |t: OffsetDateTime| {
            let chain = std::slice::from_ref(&leaf);
            classify_chain(chain, &trust, Some(&name), Usage::Server, t).outcome
        };
        assert_eq!(at(NOW + time::Duration::milliseconds(5)), Outcome::Ok);
        assert_eq!(at(NOW + time::Duration::seconds(1)), Outcome::Expired);
    }
}
