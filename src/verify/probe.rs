//! Probe a live endpoint: TCP connect, rustls handshake, capture the presented chain, classify
//! what happened into one [`Outcome`] with the same classifier as `check`, and report it with
//! the evidence and the fix (DESIGN.md section 3, "Rules for the verifier").
//!
//! The probe behaves like a strict real client: its certificate verifier records the chain the
//! server presented, runs [`classify_chain`] on it and lets the handshake go on only when the
//! verdict is `ok`, so the server sees the same abort it would see from curl or a gRPC exporter.
//! Everything that is not a certificate verdict is read from the connection itself: refused and
//! timed-out connects, peers that answer in plain text, resets, the alerts a server sends (and
//! whether it had asked for a client certificate), the negotiated ALPN protocol, and, for TLS 1.3
//! client authentication, what the server says after the handshake.
//!
//! Probing an endpoint of the lab (any server works the same way; without `trust`, the
//! probe trusts the system's roots, so `probe("example.com:443", &ProbeOptions::default())`
//! judges a public endpoint):
//!
//! ```
//! use std::time::Duration;
//! use certlab::lab::{lab_pki, listen_addr, probe_options};
//! use certlab::serve::{serve, ServeSettings};
//! use certlab::verify::probe::probe;
//! use certlab::Outcome;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = time::OffsetDateTime::now_utc();
//! let pki = lab_pki(now)?;
//! let scenario = pki.all_scenarios().into_iter().find(|s| s.name == "wrong-host").unwrap();
//! let endpoint = serve(ServeSettings::from_scenario(&pki, &scenario)?, listen_addr(&scenario))?;
//!
//! // Trust the lab's ca.pem, check the name `localhost`, at `now`.
//! let options = probe_options(&pki, &scenario, None, now, Duration::from_secs(5));
//! let report = probe(&format!("localhost:{}", endpoint.addr().port()), &options)?;
//! assert_eq!(report.outcome, Outcome::HostnameMismatch);
//! assert_eq!(report.chain[0].sans, ["DNS:wrong-host.certlab.invalid"]);
//! println!("{}: {}\nfix: {}", report.outcome, report.explanation, report.fix);
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    InvalidMessage, PeerIncompatible, ProtocolVersion, SignatureScheme,
};
use serde::Serialize;
use time::OffsetDateTime;

use super::classify::{TrustStore, Usage, Verdict, classify_chain, outcome_of_rustls_error};
use super::inspect::{CertSummary, Lint, lint_chain, summarize_chain};
use crate::outcome::Outcome;
use crate::pki::scenario::TlsVersion;

/// The `version` field of a [`ProbeReport`].
pub const REPORT_VERSION: u32 = 1;

/// A presented certificate that expires within this many days gets an `expires-soon` lint.
pub const LINT_EXPIRY_DAYS: i64 = 30;

/// How long the probe waits after a completed handshake for what the server says next (an
/// alert about the client certificate, a session ticket, the HTTP answer).
pub const DEFAULT_POST_HANDSHAKE_WAIT: Duration = Duration::from_secs(1);

/// How a probe behaves: what it trusts, the name it checks, what it offers.
pub struct ProbeOptions {
    /// What to trust: `None` trusts the operating system's roots (the ones curl and OpenSSL
    /// on this machine use, locally added CAs included).
    pub trust: Option<TrustStore>,
    /// The name to send as SNI and check the certificate against, instead of the target's
    /// host (like the collector's `server_name_override`). An IP address sends no SNI and is
    /// checked against IP SANs.
    pub servername: Option<String>,
    /// The client certificate chain (leaf first) and its key, sent when the server asks.
    pub client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Restrict the client to one TLS version.
    pub tls: Option<TlsVersion>,
    /// Restrict the client to these rustls cipher-suite names (empty: all of them).
    pub ciphers: Vec<String>,
    /// ALPN protocols to offer, in preference order (empty: none).
    pub alpn: Vec<String>,
    /// Whether a handshake that negotiates no ALPN protocol is `alpn-mismatch` (a gRPC client
    /// offering `h2` fails that way). Only matters when `alpn` is not empty.
    pub require_alpn: bool,
    /// The budget for connect plus handshake.
    pub timeout: Duration,
    /// How long to wait after the handshake for an alert, a ticket or the HTTP answer.
    pub post_handshake_wait: Duration,
    /// The time certificates are checked at (`None`: now).
    pub now: Option<UnixTime>,
    /// Connect to this address instead of resolving the target's host (like curl's
    /// `--connect-to`); the host is still the name checked.
    pub address: Option<SocketAddr>,
    /// Whether to send `GET / HTTP/1.1` after a good handshake and report the answer's first
    /// line (skipped when the negotiated ALPN protocol is not HTTP/1.1).
    pub http_request: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            trust: None,
            servername: None,
            client_cert: None,
            tls: None,
            ciphers: Vec::new(),
            alpn: Vec::new(),
            require_alpn: false,
            timeout: Duration::from_secs(5),
            post_handshake_wait: DEFAULT_POST_HANDSHAKE_WAIT,
            now: None,
            address: None,
            http_request: true,
        }
    }
}

impl fmt::Debug for ProbeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeOptions")
            .field("trust", &self.trust.as_ref().map(|t| t.roots.len()))
            .field("servername", &self.servername)
            .field("client_cert", &self.client_cert.as_ref().map(|c| c.0.len()))
            .field("tls", &self.tls)
            .field("ciphers", &self.ciphers)
            .field("alpn", &self.alpn)
            .field("require_alpn", &self.require_alpn)
            .field("timeout", &self.timeout)
            .field("now", &self.now)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Why a probe could not even start: the input is wrong (exit 2 in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The target is not `HOST:PORT` or `[IPv6]:PORT`.
    #[error("invalid target `{0}`: expected HOST:PORT or [IPv6]:PORT")]
    BadTarget(String),
    /// The host name does not resolve.
    #[error("cannot resolve `{host}`: {message}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's message.
        message: String,
    },
    /// The name to check is neither a DNS name nor an IP address.
    #[error("invalid server name `{0}`: expected a DNS name or an IP address")]
    BadName(String),
    /// A cipher-suite name rustls does not know.
    #[error("unknown cipher suite `{name}` (rustls names: {known})")]
    UnknownCipher {
        /// The name given.
        name: String,
        /// The names rustls knows.
        known: String,
    },
    /// The client settings do not make a usable TLS configuration.
    #[error("unusable client settings: {0}")]
    Config(String),
    /// The client certificate or key cannot be used.
    #[error("client certificate: {0}")]
    ClientCert(String),
    /// The system's root certificates cannot be loaded.
    #[error("no system root certificates could be loaded ({0}); pass --ca FILE or --pki DIR")]
    SystemRoots(String),
}

/// What was negotiated in a completed handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `1.2` or `1.3`.
    pub version: Option<String>,
    /// The rustls cipher-suite name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<String>,
}

/// Whether the server asked for a client certificate and whether one was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClientCertInfo {
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// The probe answered it with a certificate.
    pub sent: bool,
}

/// The result of a probe: the outcome, why, the evidence and the fix (`--json` of
/// `certlab probe`).
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Report format version ([`REPORT_VERSION`]).
    pub version: u32,
    /// The target as given.
    pub target: String,
    /// The socket address connected to (or last tried).
    pub address: Option<String>,
    /// The name the certificate was checked against (SNI unless it is an IP address).
    pub name: String,
    /// What a client sees.
    pub outcome: Outcome,
    /// One line on what happened.
    pub explanation: String,
    /// The fix, in the user's terms.
    pub fix: String,
    /// Specifics: which certificate, which alert, what the peer answered.
    pub detail: Option<String>,
    /// What OpenSSL / curl print for this outcome.
    pub client_says: String,
    /// The chain as the server presented it (empty when none came).
    pub chain: Vec<CertSummary>,
    /// Warnings about the presented chain (order, root included, expiring soon, ...).
    pub lints: Vec<Lint>,
    /// The negotiated parameters, when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// Whether a client certificate was asked for and sent.
    pub client_cert: ClientCertInfo,
    /// The first line of the server's answer to `GET /`, when there was one.
    pub http: Option<String>,
    /// Milliseconds from the connect to the verdict.
    pub elapsed_ms: f64,
    /// The chain as presented, DER (for callers that want to inspect it further).
    #[serde(skip)]
    pub presented: Vec<CertificateDer<'static>>,
}

/// Probes `target` (`host:port` or `[v6]:port`) and returns what a client sees. Errors are bad
/// input only; every network result, refused and timed-out connects included, is an outcome.
pub fn probe(target: &str, options: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let (host, port) = parse_target(target)?;
    let name_text = options.servername.clone().unwrap_or_else(|| host.clone());
    let name = ServerName::try_from(name_text.clone())
        .map_err(|_| ProbeError::BadName(name_text.clone()))?;
    let trust = match &options.trust {
        Some(t) => t.clone(),
        None => system_trust()?,
    };
    let captured = Arc::new(Mutex::new(Captured::default()));
    let config = client_config(options, trust, name.to_owned(), &captured)?;
    let start = Instant::now();
    let deadline = start + options.timeout;
    let addrs: Option<Vec<SocketAddr>> = match options.address {
        Some(a) => Some(vec![a]),
        None => resolve(&host, port, deadline)?,
    };
    if addrs.as_ref().is_some_and(Vec::is_empty) {
        return Err(ProbeError::Resolve {
            host,
            message: "no addresses".to_string(),
        });
    }

    let mut session = Session {
        deadline,
        address: None,
        tls: None,
        http: None,
        first_bytes: Vec::new(),
        captured: captured.clone(),
    };
    let result = match &addrs {
        Some(addrs) => session.run(addrs, config, name.to_owned(), &host, options),
        None => Err(Stop::new(
            Outcome::Timeout,
            format!(
                "the name {host} did not resolve within {} ms",
                options.timeout.as_millis()
            ),
        )),
    };
    let (outcome, detail) = match result {
        Ok(()) => (Outcome::Ok, None),
        Err(Stop { outcome, detail }) => (outcome, detail),
    };
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    let cap = lock(&captured);
    let at = options
        .now
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.as_secs() as i64).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let chain: Vec<CertSummary> = summarize_chain(&cap.chain, at);
    let lints = lint_chain(&chain, at, LINT_EXPIRY_DAYS, true);
    let ctx = FixContext {
        name: &name_text,
        host: &host,
        port,
        chain: &cap.chain,
        tls: options.tls,
        negotiated: session.tls.as_ref(),
    };
    Ok(ProbeReport {
        version: REPORT_VERSION,
        target: target.to_string(),
        address: session.address.map(|a| a.to_string()),
        name: name_text.clone(),
        outcome,
        explanation: outcome.explanation().to_string(),
        fix: fix_for(outcome, &ctx),
        detail,
        client_says: outcome.client_says().to_string(),
        chain,
        lints,
        tls: session.tls.clone(),
        client_cert: ClientCertInfo {
            requested: cap.cert_requested,
            sent: cap.cert_sent,
        },
        http: session.http.clone(),
        elapsed_ms,
        presented: cap.chain.clone(),
    })
}

/// Resolves `host` on a thread and waits for it until `deadline` at most: `Ok(None)` when the
/// resolver did not answer in time (the thread is left to finish on its own).
fn resolve(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Option<Vec<SocketAddr>>, ProbeError> {
    let name = host.to_string();
    resolve_within(host, deadline, move || {
        (name.as_str(), port).to_socket_addrs().map(|a| a.collect())
    })
}

/// Runs `lookup` on a thread and waits for its answer until `deadline` at most.
fn resolve_within(
    host: &str,
    deadline: Instant,
    lookup: impl FnOnce() -> io::Result<Vec<SocketAddr>> + Send + 'static,
) -> Result<Option<Vec<SocketAddr>>, ProbeError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("certlab-resolve".to_string())
        .spawn(move || {
            let _ = tx.send(lookup());
        })
        .map_err(|e| ProbeError::Resolve {
            host: host.to_string(),
            message: format!("cannot start the resolver thread: {e}"),
        })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(Some(addrs)),
        Ok(Err(e)) => Err(ProbeError::Resolve {
            host: host.to_string(),
            message: e.to_string(),
        }),
        Err(_) => Ok(None),
    }
}

/// Splits `host:port`, `[v6]:port` or `v4:port` into host (without brackets) and port.
pub fn parse_target(target: &str) -> Result<(String, u16), ProbeError> {
    let bad = || ProbeError::BadTarget(target.to_string());
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, p)
    } else {
        let (h, p) = target.rsplit_once(':').ok_or_else(bad)?;
        if h.contains(':') {
            return Err(bad());
        }
        (h, p)
    };
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(bad)?;
    Ok((host.to_string(), port))
}

/// The operating system's trusted roots, as a trust store (no intermediates, no CRLs).
///
/// certlab uses `rustls-native-certs` rather than a compiled-in Mozilla list: a probe should
/// trust what curl and OpenSSL on the same machine trust, CAs a company or a developer added
/// with `update-ca-certificates` included.
pub fn system_trust() -> Result<TrustStore, ProbeError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "the system store is empty".to_string());
        return Err(ProbeError::SystemRoots(why));
    }
    Ok(TrustStore {
        roots: found.certs,
        known_intermediates: Vec::new(),
        crls: Vec::new(),
    })
}

/// The cipher suites with these rustls names (case-insensitive).
fn select_suites(names: &[String]) -> Result<Vec<rustls::SupportedCipherSuite>, ProbeError> {
    names
        .iter()
        .map(|n| {
            crate::tls_names::find_suite(n).ok_or_else(|| ProbeError::UnknownCipher {
                name: n.clone(),
                known: crate::tls_names::cipher_suite_names().join(", "),
            })
        })
        .collect()
}

/// What the verifier and the client-certificate resolver saw during the handshake.
#[derive(Default)]
struct Captured {
    chain: Vec<CertificateDer<'static>>,
    verdict: Option<Verdict>,
    cert_requested: bool,
    cert_sent: bool,
}

fn lock(m: &Mutex<Captured>) -> MutexGuard<'_, Captured> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server-certificate verifier that records the chain, classifies it with the shared
/// classifier, and accepts only an `ok` verdict.
struct RecordingVerifier {
    trust: TrustStore,
    name: ServerName<'static>,
    now: Option<UnixTime>,
    provider: Arc<CryptoProvider>,
    captured: Arc<Mutex<Captured>>,
}

impl fmt::Debug for RecordingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingVerifier")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The rustls certificate error that makes rustls send the fitting alert to the server.
fn rustls_error_for(outcome: Outcome) -> rustls::Error {
    let e = match outcome {
        Outcome::Expired => CertificateError::Expired,
        Outcome::NotYetValid => CertificateError::NotValidYet,
        Outcome::HostnameMismatch => CertificateError::NotValidForName,
        Outcome::UnknownCa | Outcome::SelfSigned | Outcome::IncompleteChain => {
            CertificateError::UnknownIssuer
        }
        Outcome::Revoked => CertificateError::Revoked,
        Outcome::BadSignature => CertificateError::BadSignature,
        Outcome::WrongUsage => CertificateError::InvalidPurpose,
        Outcome::BadCertificate => CertificateError::BadEncoding,
        _ => CertificateError::ApplicationVerificationFailure,
    };
    rustls::Error::InvalidCertificate(e)
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let verdict = classify_chain(
            &chain,
            &self.trust,
            Some(&self.name),
            Usage::Server,
            self.now.unwrap_or(now),
        );
        let outcome = verdict.outcome;
        let mut cap = lock(&self.captured);
        cap.chain = chain;
        cap.verdict = Some(verdict);
        if outcome == Outcome::Ok {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls_error_for(outcome))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client-certificate resolver that records whether the server asked and whether a
/// certificate was sent.
struct RecordingResolver {
    key: Option<Arc<CertifiedKey>>,
    captured: Arc<Mutex<Captured>>,
}

impl fmt::Debug for RecordingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingResolver")
            .field("has_key", &self.key.is_some())
            .finish()
    }
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let mut cap = lock(&self.captured);
        cap.cert_requested = true;
        let key = self
            .key
            .clone()
            .filter(|k| k.key.choose_scheme(sigschemes).is_some());
        cap.cert_sent = key.is_some();
        key
    }

    fn has_certs(&self) -> bool {
        // Always keep the transcript needed for client authentication, so a request for a
        // certificate is answered (possibly empty) and recorded rather than failing.
        true
    }
}

fn client_config(
    options: &ProbeOptions,
    trust: TrustStore,
    name: ServerName<'static>,
    captured: &Arc<Mutex<Captured>>,
) -> Result<Arc<ClientConfig>, ProbeError> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !options.ciphers.is_empty() {
        provider.cipher_suites = select_suites(&options.ciphers)?;
    }
    let provider = Arc::new(provider);
    let versions: &[&'static rustls::SupportedProtocolVersion] = match options.tls {
        None => rustls::ALL_VERSIONS,
        Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
    };
    check_alpn(&options.alpn)?;
    let key = match &options.client_cert {
        None => None,
        Some((chain, key)) => Some(Arc::new(client_key(&provider, chain, key)?)),
    };
    let verifier = Arc::new(RecordingVerifier {
        trust,
        name,
        now: options.now,
        provider: provider.clone(),
        captured: captured.clone(),
    });
    let resolver = Arc::new(RecordingResolver {
        key,
        captured: captured.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| ProbeError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(resolver);
    config.alpn_protocols = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}

/// Refuses ALPN protocol names that cannot be sent: empty (`--alpn ""`, `--alpn h2,`) or
/// longer than 255 bytes. rustls would send them and the server would answer with an alert that
/// looks like the server's fault.
fn check_alpn(alpn: &[String]) -> Result<(), ProbeError> {
    for p in alpn {
        if p.is_empty() {
            return Err(ProbeError::Config(
                "an ALPN protocol name is empty: give names such as h2 or http/1.1".to_string(),
            ));
        }
        if p.len() > 255 {
            return Err(ProbeError::Config(format!(
                "the ALPN protocol name `{}…` is longer than 255 bytes",
                p.chars().take(20).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// The client's certificate and key, checked before connecting: a key rustls cannot sign with
/// or one that is not the certificate's would make the server reject the client, and the
/// report blame the server.
fn client_key(
    provider: &CryptoProvider,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<CertifiedKey, ProbeError> {
    let Some(leaf) = chain.first() else {
        return Err(ProbeError::ClientCert("no certificate given".to_string()));
    };
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| {
            let unsupported =
                crate::pki::keys::KeyKind::of_private_key(key).and_then(|k| k.unsupported());
            ProbeError::ClientCert(unsupported.unwrap_or_else(|| format!("unusable key: {e}")))
        })?;
    let cert_spki = crate::x509::Cert::parse(leaf)
        .map(|c| c.spki().to_vec())
        .map_err(|e| ProbeError::ClientCert(format!("the certificate cannot be parsed: {e}")))?;
    if let Some(key_spki) = signing.public_key()
        && key_spki.as_ref() != cert_spki.as_slice()
    {
        return Err(ProbeError::ClientCert(
            "the private key is not the key of the certificate (their public keys differ): give the key of the first certificate of the chain".to_string(),
        ));
    }
    Ok(CertifiedKey::new(chain.to_vec(), signing))
}

/// Why a probe stopped before a clean `ok`.
struct Stop {
    outcome: Outcome,
    detail: Option<String>,
}

impl Stop {
    fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Stop {
            outcome,
            detail: Some(detail.into()),
        }
    }
}

/// What one read from the socket produced.
enum Pumped {
    /// Bytes were processed.
    Progress,
    /// The peer closed the connection.
    Eof,
    /// Nothing arrived in time.
    Timeout,
    /// The socket failed (reset, broken pipe).
    Io(io::Error),
    /// rustls rejected what arrived (an alert, a bad message, our own verdict).
    Tls(rustls::Error),
    /// The first bytes are not a TLS record.
    NotTls(String),
}

/// One probe's connection state.
struct Session {
    deadline: Instant,
    address: Option<SocketAddr>,
    tls: Option<TlsInfo>,
    http: Option<String>,
    first_bytes: Vec<u8>,
    captured: Arc<Mutex<Captured>>,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Session {
    fn run(
        &mut self,
        addrs: &[SocketAddr],
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        host: &str,
        options: &ProbeOptions,
    ) -> Result<(), Stop> {
        let mut sock = self.connect(addrs)?;
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| Stop::new(Outcome::HandshakeFailure, format!("rustls: {e}")))?;
        let result = self.exchange(&mut conn, &mut sock, host, options);
        if result.is_ok() {
            conn.send_close_notify();
        }
        let _ = flush(&mut conn, &mut sock);
        let _ = sock.shutdown(Shutdown::Both);
        result
    }

    fn connect(&mut self, addrs: &[SocketAddr]) -> Result<TcpStream, Stop> {
        let mut last = None;
        for addr in addrs {
            self.address = Some(*addr);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(addr, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    // Every socket has a timeout (DESIGN.md section 7): the rest of the budget,
                    // renewed before each read and write.
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    let left = left.max(Duration::from_millis(1));
                    let _ = s.set_read_timeout(Some(left));
                    let _ = s.set_write_timeout(Some(left));
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => connect_error(&e, &self.addr()),
            None => Stop::new(Outcome::Timeout, "no time left to connect"),
        })
    }

    fn addr(&self) -> String {
        self.address.map(|a| a.to_string()).unwrap_or_default()
    }

    /// Handshake, then what the server says after it.
    fn exchange(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        host: &str,
        options: &ProbeOptions,
    ) -> Result<(), Stop> {
        while conn.is_handshaking() {
            match self.pump(conn, sock, self.deadline) {
                Pumped::Progress => {}
                Pumped::Eof => {
                    return Err(self.closed_during_handshake("closed the connection"));
                }
                Pumped::Io(e) => return Err(self.io_during_handshake(e)),
                Pumped::Timeout => {
                    return Err(Stop::new(
                        Outcome::Timeout,
                        format!(
                            "no answer to the TLS handshake within {} ms",
                            options.timeout.as_millis()
                        ),
                    ));
                }
                Pumped::NotTls(what) => return Err(Stop::new(Outcome::NotTls, what)),
                Pumped::Tls(e) => return Err(self.tls_error(e)),
            }
        }
        if let Err(e) = flush(conn, sock) {
            return Err(self.io_during_handshake(e));
        }
        let version = conn.protocol_version();
        self.tls = Some(TlsInfo {
            version: version.map(version_name),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite())),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        });
        if options.require_alpn && !options.alpn.is_empty() && conn.alpn_protocol().is_none() {
            return Err(Stop::new(
                Outcome::AlpnMismatch,
                format!(
                    "offered {}; the server completed the handshake without choosing one",
                    options.alpn.join(", ")
                ),
            ));
        }
        let wait_until = (Instant::now() + options.post_handshake_wait).min(
            self.deadline
                .max(Instant::now() + Duration::from_millis(100)),
        );
        let (requested, sent) = {
            let cap = lock(&self.captured);
            (cap.cert_requested, cap.cert_sent)
        };
        // TLS 1.3 client authentication: the server judges our certificate after our Finished.
        // Wait for its verdict (an alert, or a ticket / data once it accepted us).
        if requested && version == Some(ProtocolVersion::TLSv1_3) {
            loop {
                if conn.tls13_tickets_received() > 0 || has_plaintext(conn) {
                    break;
                }
                match self.pump(conn, sock, wait_until) {
                    Pumped::Progress => {}
                    Pumped::Timeout => break,
                    Pumped::Eof | Pumped::Io(_) => {
                        let outcome = if sent {
                            Outcome::ClientCertRejected
                        } else {
                            Outcome::ClientCertRequired
                        };
                        return Err(Stop::new(
                            outcome,
                            "the server closed the connection after the handshake without an alert",
                        ));
                    }
                    Pumped::Tls(e) => return Err(self.tls_error(e)),
                    Pumped::NotTls(what) => return Err(Stop::new(Outcome::NotTls, what)),
                }
            }
        }
        let http = matches!(conn.alpn_protocol(), None | Some(b"http/1.1"));
        if options.http_request && http {
            self.http_exchange(conn, sock, host, wait_until)?;
        }
        Ok(())
    }

    /// Sends `GET /` and records the answer's first line. Only an alert about the client
    /// certificate changes the outcome here (servers that send no tickets).
    fn http_exchange(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        host: &str,
        until: Instant,
    ) -> Result<(), Stop> {
        let host_header = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: certlab-probe\r\nConnection: close\r\n\r\n"
        );
        if conn.writer().write_all(request.as_bytes()).is_err() {
            return Ok(());
        }
        let mut answer = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            match conn.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.contains(&b'\n') || answer.len() > 512 {
                        break;
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
            match self.pump(conn, sock, until) {
                Pumped::Progress => {}
                Pumped::Tls(rustls::Error::AlertReceived(a)) => {
                    let requested = lock(&self.captured).cert_requested;
                    if requested && a != AlertDescription::CloseNotify {
                        return Err(self.tls_error(rustls::Error::AlertReceived(a)));
                    }
                    break;
                }
                _ => break,
            }
        }
        if !answer.is_empty() {
            let text = String::from_utf8_lossy(&answer);
            let line = text.lines().next().unwrap_or_default();
            self.http = Some(printable(line, 120));
        }
        Ok(())
    }

    /// Writes what rustls wants to send, reads once (until `until`), and feeds rustls.
    fn pump(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        until: Instant,
    ) -> Pumped {
        // Writes may block too (a peer that does not read): they get what is left of the budget.
        let write_left = until
            .max(self.deadline)
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if let Err(e) = sock.set_write_timeout(Some(write_left)) {
            return Pumped::Io(e);
        }
        if let Err(e) = flush(conn, sock) {
            return Pumped::Io(e);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Pumped::Timeout;
        }
        if let Err(e) = sock.set_read_timeout(Some(left)) {
            return Pumped::Io(e);
        }
        let mut buf = [0u8; 16 * 1024];
        let n = match sock.read(&mut buf) {
            Ok(0) => return Pumped::Eof,
            Ok(n) => n,
            Err(e) if is_timeout(&e) => return Pumped::Timeout,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Pumped::Progress,
            Err(e) => return Pumped::Io(e),
        };
        if self.first_bytes.len() < 64 {
            let take = n.min(64 - self.first_bytes.len());
            let first_read = self.first_bytes.is_empty();
            self.first_bytes.extend_from_slice(&buf[..take]);
            if first_read && !looks_like_tls(&self.first_bytes) {
                return Pumped::NotTls(format!(
                    "the peer answered in plain text: `{}`",
                    printable(&String::from_utf8_lossy(&self.first_bytes), 60)
                ));
            }
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            if let Err(e) = conn.read_tls(&mut data) {
                // rustls refuses to buffer more than one maximal handshake message: not the
                // socket's fault.
                if e.kind() == io::ErrorKind::InvalidData && conn.is_handshaking() {
                    return Pumped::Tls(rustls::Error::InvalidMessage(
                        InvalidMessage::HandshakePayloadTooLarge,
                    ));
                }
                return Pumped::Io(e);
            }
            if let Err(e) = conn.process_new_packets() {
                let _ = flush(conn, sock);
                // Garbage where the ServerHello should be: whatever answered is not a TLS server
                // (alerts, such as 40 and 70, are `AlertReceived` and stay with `tls_error`).
                if conn.protocol_version().is_none()
                    && matches!(
                        e,
                        rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_)
                    )
                {
                    return Pumped::NotTls(format!(
                        "the peer's answer is not valid TLS (rustls: {e}); first bytes: `{}`",
                        printable(&String::from_utf8_lossy(&self.first_bytes), 60)
                    ));
                }
                return Pumped::Tls(e);
            }
        }
        Pumped::Progress
    }

    fn closed_during_handshake(&self, what: &str) -> Stop {
        let cap = lock(&self.captured);
        let mut detail = format!("the server {what} during the handshake without an alert");
        if cap.cert_sent {
            detail.push_str(" (after the client certificate was sent)");
        } else if cap.cert_requested {
            detail.push_str(" (it had asked for a client certificate; none was sent)");
        } else if self.first_bytes.is_empty() {
            detail = format!("the server {what} before answering the ClientHello");
        }
        Stop::new(Outcome::Reset, detail)
    }

    fn io_during_handshake(&self, e: io::Error) -> Stop {
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => self.closed_during_handshake("reset the connection"),
            _ if is_timeout(&e) => Stop::new(Outcome::Timeout, format!("socket: {e}")),
            _ => Stop::new(Outcome::Reset, format!("socket error: {e}")),
        }
    }

    /// Classifies a rustls error: our own verdict first, then the server's alert, then local
    /// incompatibilities.
    fn tls_error(&self, e: rustls::Error) -> Stop {
        let cap = lock(&self.captured);
        if let Some(v) = cap.verdict.as_ref().filter(|v| v.outcome != Outcome::Ok) {
            return Stop {
                outcome: v.outcome,
                detail: v.detail.clone(),
            };
        }
        match e {
            rustls::Error::AlertReceived(a) => classify_alert(a, cap.cert_requested, cap.cert_sent),
            rustls::Error::PeerIncompatible(p) => {
                let outcome = match p {
                    PeerIncompatible::ServerDoesNotSupportTls12Or13
                    | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                    | PeerIncompatible::SupportedVersionsExtensionRequired
                    | PeerIncompatible::Tls12NotOffered
                    | PeerIncompatible::Tls12NotOfferedOrEnabled => Outcome::ProtocolMismatch,
                    _ => Outcome::HandshakeFailure,
                };
                Stop::new(outcome, format!("rustls: {p:?}"))
            }
            // Our verifier's own verdicts are handled above; what is left comes from rustls
            // itself, mostly the server's handshake signature not verifying with the key of
            // its certificate (a server with the wrong key file).
            e @ rustls::Error::InvalidCertificate(_) => {
                let outcome = outcome_of_rustls_error(&e).unwrap_or(Outcome::BadCertificate);
                let detail = match &e {
                    rustls::Error::InvalidCertificate(CertificateError::BadSignature) => format!(
                        "the server's handshake signature does not verify with the key of its certificate (rustls: {e})"
                    ),
                    _ => format!("rustls: {e}"),
                };
                Stop::new(outcome, detail)
            }
            rustls::Error::NoCertificatesPresented => Stop::new(
                Outcome::BadCertificate,
                "the server presented no certificate",
            ),
            rustls::Error::InvalidMessage(
                InvalidMessage::HandshakePayloadTooLarge | InvalidMessage::MessageTooLarge,
            ) => too_large(),
            other => Stop::new(Outcome::HandshakeFailure, format!("rustls: {other}")),
        }
    }
}

/// The outcome of a failed TCP connect. Only a refusal (the host answered with a reset: it is up
/// and nothing listens on the port) is `refused`. "No route to host" and "network unreachable"
/// mean no answer came from the host at all (it is down, or a router or firewall said so), which
/// is `timeout`'s meaning ("no answer to connect") and fix (firewalls, the network), not
/// `refused`'s ("start the server").
fn connect_error(e: &io::Error, addr: &str) -> Stop {
    let raw = e.raw_os_error();
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            Stop::new(Outcome::Refused, format!("connection refused by {addr}"))
        }
        _ if is_timeout(e) => Stop::new(
            Outcome::Timeout,
            format!("no answer to the TCP connect to {addr}"),
        ),
        io::ErrorKind::HostUnreachable => Stop::new(
            Outcome::Timeout,
            format!(
                "no route to host {addr} (host unreachable: {e}): the host is down or a router or firewall rejects the path; nothing answered on the port"
            ),
        ),
        io::ErrorKind::NetworkUnreachable => Stop::new(
            Outcome::Timeout,
            format!(
                "network unreachable for {addr} ({e}): this machine has no route to that network (VPN, routing, IPv6 connectivity); nothing answered on the port"
            ),
        ),
        _ if raw == Some(libc::EHOSTUNREACH) || raw == Some(libc::ENETUNREACH) => Stop::new(
            Outcome::Timeout,
            format!("no route to {addr} ({e}); nothing answered on the port"),
        ),
        _ => Stop::new(Outcome::Refused, format!("cannot connect to {addr}: {e}")),
    }
}

/// Maps an alert from the server to an outcome, knowing whether it had asked for a client
/// certificate and whether one was sent.
fn classify_alert(a: AlertDescription, requested: bool, sent: bool) -> Stop {
    use AlertDescription as A;
    let detail = format!(
        "the server sent alert {} ({})",
        u8::from(a),
        crate::tls_names::alert_name(a)
    );
    let about_client_cert = || {
        if sent {
            Outcome::ClientCertRejected
        } else if requested {
            Outcome::ClientCertRequired
        } else {
            Outcome::HandshakeFailure
        }
    };
    let outcome = match a {
        A::ProtocolVersion => Outcome::ProtocolMismatch,
        A::CertificateRequired => Outcome::ClientCertRequired,
        A::NoApplicationProtocol => Outcome::AlpnMismatch,
        A::HandshakeFailure if requested && !sent => Outcome::ClientCertRequired,
        A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::DecryptError
        | A::AccessDenied => about_client_cert(),
        A::CloseNotify => Outcome::Reset,
        _ => Outcome::HandshakeFailure,
    };
    Stop::new(outcome, detail)
}

/// The largest handshake message a rustls client accepts (`MAX_HANDSHAKE_SIZE` in rustls's
/// deframer: 0xffff bytes), which limits the Certificate message, so the whole chain.
pub const RUSTLS_MAX_HANDSHAKE_MESSAGE: usize = 0xffff;

/// A handshake message over rustls's limit: in practice the server's certificate chain.
fn too_large() -> Stop {
    Stop::new(
        Outcome::BadCertificate,
        format!(
            "a handshake message from the server (its Certificate message, so the chain) is larger than {RUSTLS_MAX_HANDSHAKE_MESSAGE} bytes, the most rustls clients accept (OpenSSL accepts up to 100 KiB, its default max_cert_list): serve a smaller certificate and chain (fewer SANs, no large extensions)"
        ),
    )
}

fn flush(conn: &mut ClientConnection, sock: &mut TcpStream) -> io::Result<()> {
    while conn.wants_write() {
        conn.write_tls(sock)?;
    }
    Ok(())
}

fn has_plaintext(conn: &mut ClientConnection) -> bool {
    conn.process_new_packets()
        .map(|s| s.plaintext_bytes_to_read() > 0)
        .unwrap_or(false)
}

/// Whether the first bytes from the peer can start a TLS record: a content type of 20..=24
/// and a major version of 3.
fn looks_like_tls(bytes: &[u8]) -> bool {
    match bytes {
        [] => true,
        [t] => (20..=24).contains(t),
        [t, v, ..] => (20..=24).contains(t) && *v == 3,
    }
}

/// Text safe to print on one line: control characters escaped, cut at `max` characters.
fn printable(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line
        .chars()
        .take(max)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_2 => "1.2".to_string(),
        ProtocolVersion::TLSv1_3 => "1.3".to_string(),
        other => format!("{other:?}"),
    }
}

/// What the fix text can refer to.
struct FixContext<'a> {
    name: &'a str,
    host: &'a str,
    port: u16,
    chain: &'a [CertificateDer<'static>],
    tls: Option<TlsVersion>,
    negotiated: Option<&'a TlsInfo>,
}

/// The fix for an outcome, in the user's terms: the collector's `tls:` keys, the
/// `OTEL_EXPORTER_OTLP_*` variables, the certlab command that makes the missing piece.
fn fix_for(outcome: Outcome, ctx: &FixContext<'_>) -> String {
    match outcome {
        Outcome::Ok => "-".to_string(),
        Outcome::Refused => format!(
            "nothing accepts connections on {}:{}: start the server, or point the client (endpoint / OTEL_EXPORTER_OTLP_ENDPOINT) at the right port",
            ctx.host, ctx.port
        ),
        Outcome::Timeout => format!(
            "{}:{} does not answer: check firewalls, and that this is the TLS port",
            ctx.host, ctx.port
        ),
        Outcome::NotTls => "the port does not speak TLS (plain HTTP or gRPC, or another protocol): give the server `tls: cert_file` + `key_file`, or talk to it without TLS on purpose (http://, `tls: insecure: true`, OTEL_EXPORTER_OTLP_INSECURE=true)".to_string(),
        Outcome::ProtocolMismatch => {
            let ours = ctx
                .tls
                .map(|v| format!("this client allowed only TLS {v}; "))
                .unwrap_or_default();
            format!(
                "{ours}align the versions: the client's `tls: min_version` / `max_version` (e.g. min_version: \"1.2\") must overlap what the server enables"
            )
        }
        Outcome::ClientCertRequired => "the server wants a client certificate: set `tls: cert_file` + `key_file` (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE + OTEL_EXPORTER_OTLP_CLIENT_KEY), issued by the CA in the server's `client_ca_file`: `certlab cert --client NAME --ca-cert CLIENT_CA.pem --ca-key CLIENT_CA.key`".to_string(),
        Outcome::ClientCertRejected => "issue the client certificate from the CA in the server's `client_ca_file`, with clientAuth in its EKU and not expired (`certlab cert --client NAME --ca-cert CLIENT_CA.pem --ca-key CLIENT_CA.key`), then set it as `tls: cert_file` + `key_file` / OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE + OTEL_EXPORTER_OTLP_CLIENT_KEY".to_string(),
        Outcome::AlpnMismatch => {
            let got = ctx
                .negotiated
                .and_then(|t| t.alpn.clone())
                .unwrap_or_else(|| "none".to_string());
            format!(
                "enable h2 (HTTP/2) on the server's TLS listener (negotiated: {got}); gRPC exporters need h2"
            )
        }
        other => super::fix::certificate_fix(other, ctx.name, ctx.chain)
            .unwrap_or_else(|| other.fix().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("localhost:443").unwrap(),
            ("localhost".to_string(), 443)
        );
        assert_eq!(
            parse_target("127.0.0.1:8443").unwrap(),
            ("127.0.0.1".to_string(), 8443)
        );
        assert_eq!(
            parse_target("[::1]:4317").unwrap(),
            ("::1".to_string(), 4317)
        );
        for bad in [
            "localhost",
            "::1:443",
            "[::1]443",
            ":443",
            "host:0",
            "host:x",
            "a b:1",
        ] {
            assert!(parse_target(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn tls_record_detection() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x03]));
        assert!(looks_like_tls(&[0x15, 0x03]));
        assert!(!looks_like_tls(b"HTTP/1.1 400 Bad Request"));
        assert!(!looks_like_tls(&[0x16, 0x01]));
    }

    #[test]
    fn alerts_map_to_outcomes() {
        use AlertDescription as A;
        let o = |a, req, sent| classify_alert(a, req, sent).outcome;
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
        let d = classify_alert(A::UnsupportedCertificate, true, true).detail;
        assert_eq!(
            d.as_deref(),
            Some("the server sent alert 43 (unsupported_certificate)")
        );
    }

    #[test]
    fn no_route_to_host_is_not_refused() {
        let addr = "192.0.2.1:443";
        for e in [
            io::Error::from_raw_os_error(libc::EHOSTUNREACH),
            io::Error::from_raw_os_error(libc::ENETUNREACH),
            io::Error::from(io::ErrorKind::HostUnreachable),
            io::Error::from(io::ErrorKind::NetworkUnreachable),
        ] {
            let stop = connect_error(&e, addr);
            let detail = stop.detail.unwrap_or_default();
            assert_eq!(stop.outcome, Outcome::Timeout, "{e}: {detail}");
            assert!(
                detail.contains(addr)
                    && (detail.contains("unreachable") || detail.contains("no route")),
                "{detail}"
            );
        }
        let refused = connect_error(&io::Error::from_raw_os_error(libc::ECONNREFUSED), addr);
        assert_eq!(refused.outcome, Outcome::Refused);
        let timed_out = connect_error(&io::Error::from_raw_os_error(libc::ETIMEDOUT), addr);
        assert_eq!(timed_out.outcome, Outcome::Timeout);
    }

    #[test]
    fn empty_or_oversized_alpn_names_are_refused() {
        assert!(check_alpn(&["h2".into(), "http/1.1".into()]).is_ok());
        assert!(check_alpn(&[]).is_ok());
        for bad in [
            vec![String::new()],
            vec!["h2".into(), String::new()],
            vec!["x".repeat(256)],
        ] {
            assert!(
                matches!(check_alpn(&bad), Err(ProbeError::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_cipher_is_bad_input() {
        let err = select_suites(&["TLS_NOPE".to_string()]).unwrap_err();
        assert!(err.to_string().contains("TLS13_AES_256_GCM_SHA384"));
        assert_eq!(
            select_suites(&["tls13_aes_128_gcm_sha256".to_string()])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_slow_resolver_is_waited_for_only_until_the_deadline() {
        let started = Instant::now();
        let got = resolve_within("slow.example", started + Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(3));
            Ok(vec!["127.0.0.1:1".parse().unwrap()])
        })
        .unwrap();
        assert!(got.is_none(), "{got:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let got = resolve_within(
            "fast.example",
            Instant::now() + Duration::from_secs(5),
            || Ok(vec!["127.0.0.1:1".parse().unwrap()]),
        )
        .unwrap();
        assert_eq!(got.unwrap().len(), 1);
        let err = resolve_within(
            "bad.example",
            Instant::now() + Duration::from_secs(5),
            || Err(io::Error::other("no such host")),
        );
        assert!(matches!(err, Err(ProbeError::Resolve { .. })));
    }
}
