//! Probe a live endpoint: TCP connect, rustls handshake, capture the presented chain, classify
//! what happened into one [`Outcome`] with the same classifier as `check`, and report it with
//! the evidence and the fix.
//!
//! The probe behaves like a strict real client: its certificate verifier records the chain the
//! server presented, runs [`classify_chain`](crate::verify::classify::classify_chain) on it and lets the handshake go on only when the
//! verdict is `ok`, so the server sees the same abort it would see from curl or a gRPC exporter.
//! Everything that is not a certificate verdict is read from the connection itself: refused and
//! timed-out connects, peers that answer in plain text, resets, the alerts a server sends (and
//! whether it had asked for a client certificate), the negotiated ALPN protocol, and, for TLS 1.3
//! client authentication, what the server says after the handshake.
//!
//! The parts: `session` (connect, handshake loop, the TLS 1.3 client-authentication wait),
//! `recorder` (the recording verifier and client-certificate resolver) and `report` (the
//! [`ProbeReport`] and its text).
//!
//! Probing an endpoint of the lab (any server works the same way; without `trust`, the
//! probe trusts the system's roots, so `probe("example.com:443", &ProbeOptions::default())`
//! judges a public endpoint):
//!
//! ```
//! use std::time::Duration;
//! use certlab::lab::{lab_pki, probe_options};
//! use certlab::serve::{serve, ServeSettings};
//! use certlab::verify::probe::probe;
//! use certlab::Outcome;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = time::OffsetDateTime::now_utc();
//! let pki = lab_pki(now)?;
//! let scenario = pki.all_scenarios().into_iter().find(|s| s.name == "wrong-host").unwrap();
//! let endpoint = serve(ServeSettings::from_scenario(&pki, &scenario)?, scenario.listen_addr())?;
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
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use time::OffsetDateTime;

use crate::outcome::Outcome;
use crate::tls::TlsVersion;
use crate::verify::classify::{TrustStore, Verdict};
use crate::verify::fix::{EndpointFix, endpoint_fix};
use crate::verify::inspect::{CertSummary, lint_chain};
use crate::verify::{Judgement, REPORT_VERSION};

mod recorder;
mod report;
mod session;

use recorder::{Captured, LoadedTrust, client_config, lock};
pub use report::{ClientCertInfo, LINT_EXPIRY_DAYS, ProbeReport, TlsInfo};
use session::Session;

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
    pub now: Option<OffsetDateTime>,
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
#[non_exhaustive]
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

/// Probes `target` (`host:port` or `[v6]:port`) and returns what a client sees. Errors are bad
/// input only; every network result, refused and timed-out connects included, is an outcome.
pub fn probe(target: &str, options: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    probe_loading_trust(target, options, || Ok(options.trust.clone()))
}

/// [`probe`] with the trust store read by `load` (`None`: the system's roots) instead of taken
/// from `options.trust`, while the ClientHello is on its way: reading a PKI directory's or a
/// CA file's certificates (0.2-0.5 ms in a `certlab probe` process) then overlaps the
/// server's work on its answer instead of coming before the connect. `load` runs exactly once,
/// also when the probe ends before any handshake (bad target, refused, timeout), and its error
/// wins over anything else: a probe with unusable trust is reported as that, as if the trust
/// had been read first.
pub fn probe_loading_trust<E: From<ProbeError>>(
    target: &str,
    options: &ProbeOptions,
    load: impl FnOnce() -> Result<Option<TrustStore>, E>,
) -> Result<ProbeReport, E> {
    let mut loader = TrustLoader {
        load: Some(load),
        error: None,
        cell: Arc::new(OnceLock::new()),
    };
    let cell = loader.cell.clone();
    let result = probe_with(target, options, cell, &mut || loader.ensure());
    loader.ensure();
    match loader.error {
        Some(e) => Err(e),
        None => result.map_err(E::from),
    }
}

/// Runs a trust loader once and keeps what it gave (the store, or its error).
struct TrustLoader<F, E> {
    load: Option<F>,
    error: Option<E>,
    cell: Arc<OnceLock<LoadedTrust>>,
}

impl<F: FnOnce() -> Result<Option<TrustStore>, E>, E: From<ProbeError>> TrustLoader<F, E> {
    /// Loads the trust unless done already; whether it is loaded.
    fn ensure(&mut self) -> bool {
        if let Some(load) = self.load.take() {
            let loaded = load().and_then(|t| match t {
                Some(store) => Ok(LoadedTrust {
                    store,
                    explicit: true,
                }),
                None => system_trust()
                    .map(|store| LoadedTrust {
                        store,
                        explicit: false,
                    })
                    .map_err(E::from),
            });
            match loaded {
                Ok(t) => {
                    let _ = self.cell.set(t);
                }
                Err(e) => self.error = Some(e),
            }
        }
        self.error.is_none()
    }
}

/// The probe, its trust loaded by `ensure_trust` (which says whether it could) before the
/// first answer is read.
fn probe_with(
    target: &str,
    options: &ProbeOptions,
    trust: Arc<OnceLock<LoadedTrust>>,
    ensure_trust: &mut dyn FnMut() -> bool,
) -> Result<ProbeReport, ProbeError> {
    let (host, port) = parse_target(target)?;
    let name_text = options.servername.clone().unwrap_or_else(|| host.clone());
    let name = ServerName::try_from(name_text.clone())
        .map_err(|_| ProbeError::BadName(name_text.clone()))?;
    let captured = Arc::new(Mutex::new(Captured::default()));
    let config = client_config(options, trust.clone(), name.to_owned(), &captured)?;
    let start = Instant::now();
    let deadline = deadline_after(start, options.timeout);
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

    let mut session = Session::new(deadline, captured.clone());
    let result = match &addrs {
        Some(addrs) => session.run(addrs, config, name.to_owned(), &host, options, ensure_trust),
        None => Err(Verdict::new(
            Outcome::Timeout,
            format!(
                "the name {host} did not resolve within {} ms",
                options.timeout.as_millis()
            ),
        )),
    };
    let verdict = result.err().unwrap_or_else(Verdict::ok);
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    let cap = lock(&captured);
    let at = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    // The verifier summarised the chain when it judged it (each certificate parsed once).
    let chain: Vec<CertSummary> = cap.summaries.clone();
    let lints = lint_chain(&chain, at, LINT_EXPIRY_DAYS, true);
    let fix = endpoint_fix(
        verdict.outcome,
        &EndpointFix {
            name: &name_text,
            host: &host,
            port,
            chain: &chain,
            allowed_tls: options.tls,
            negotiated_alpn: session.tls.as_ref().and_then(|t| t.alpn.as_deref()),
        },
    );
    // The signatures webpki verified when the verifier judged the chain are not checked again.
    // Only explicit trust is looked at (never the system's roots).
    let (roots, crls) = match trust.get().filter(|t| t.explicit) {
        Some(t) => (t.store.roots.as_slice(), t.store.crls.as_slice()),
        None => (&[][..], &[][..]),
    };
    let client_rules =
        crate::verify::inspect::client_rule_hits_verified(&cap.chain, roots, crls, &cap.verified);
    let mut clients =
        crate::verify::check::client_verdicts(verdict.outcome, verdict.webpki, &client_rules);
    crate::verify::check::apply_cn_fallback(&mut clients, &chain, &name_text);
    Ok(ProbeReport {
        version: REPORT_VERSION,
        target: target.to_string(),
        address: session.address.map(|a| a.to_string()),
        name: name_text,
        judgement: Judgement::new(verdict, fix, chain, lints),
        tls: session.tls.clone(),
        client_cert: ClientCertInfo {
            requested: cap.auth.requested,
            sent: cap.auth.sent,
        },
        http: session.http.clone(),
        elapsed_ms,
        client_rules,
        clients,
        presented: cap.chain.clone(),
    })
}

/// `start + wait`, or a time about a century later when the clock cannot go that far (a
/// timeout of `Duration::MAX`, or `--timeout 9223372036854775807s`): as good as never, and no
/// overflow panic.
pub(crate) fn deadline_after(start: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    start
        .checked_add(wait.min(CENTURY))
        .or_else(|| start.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(start)
}

/// Resolves `host` on a thread and waits for it until `deadline` at most: `Ok(None)` when the
/// resolver did not answer in time (the thread is left to finish on its own). An IP address
/// and the loopback names need no resolver and no thread ([`known_addresses`]).
fn resolve(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Option<Vec<SocketAddr>>, ProbeError> {
    if let Some(addrs) = known_addresses(host, port) {
        return Ok(Some(addrs));
    }
    let name = host.to_string();
    resolve_within(host, deadline, move || {
        (name.as_str(), port).to_socket_addrs().map(|a| a.collect())
    })
}

/// The addresses of `host` that are known without asking the resolver: an IP address is
/// itself, and `localhost` and the names under `.localhost` are the loopback addresses,
/// 127.0.0.1 then ::1 (RFC 6761 section 6.3 reserves them for loopback), whatever
/// `/etc/hosts` says, as curl does (measured with curl 7.88.1, `/etc/hosts` naming only
/// 127.0.0.1 for `localhost`: `localhost:1` and `foo.localhost:1` try 127.0.0.1, then ::1).
/// `None`: the resolver must be asked.
fn known_addresses(host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .len()
            .checked_sub(".localhost".len())
            .and_then(|at| name.get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"));
    loopback.then(|| {
        vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]
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
    match crate::tls::split_host_port(target) {
        Some((host, Some(port))) => Ok((host, port)),
        _ => Err(ProbeError::BadTarget(target.to_string())),
    }
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

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    }

    #[derive(Debug, PartialEq)]
    enum Failed {
        Trust(&'static str),
        Probe(String),
    }

    impl From<ProbeError> for Failed {
        fn from(e: ProbeError) -> Self {
            Failed::Probe(e.to_string())
        }
    }

    #[test]
    fn the_trust_is_loaded_once_and_its_error_wins_wherever_the_probe_ends() {
        let options = ProbeOptions {
            timeout: Duration::from_secs(2),
            ..ProbeOptions::default()
        };
        let refused = format!("127.0.0.1:{}", closed_port());
        for target in [refused.as_str(), "no-port", "bad name:443"] {
            let mut calls = 0;
            let got = probe_loading_trust(target, &options, || {
                calls += 1;
                Err::<Option<TrustStore>, _>(Failed::Trust("unreadable ca.pem"))
            });
            assert_eq!(calls, 1, "{target}");
            assert_eq!(
                got.unwrap_err(),
                Failed::Trust("unreadable ca.pem"),
                "{target}"
            );
        }
        // Good trust: loaded once, and the probe's own result comes through.
        let mut calls = 0;
        let report = probe_loading_trust(&refused, &options, || {
            calls += 1;
            Ok::<_, Failed>(Some(TrustStore::default()))
        })
        .expect("a report");
        assert_eq!(calls, 1);
        assert_eq!(report.outcome, Outcome::Refused);
        let got = probe_loading_trust("no-port", &options, || {
            Ok::<_, Failed>(Some(TrustStore::default()))
        });
        assert!(matches!(got, Err(Failed::Probe(m)) if m.contains("invalid target")));
    }

    #[test]
    fn the_trust_is_read_while_the_client_hello_is_out() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut record = [0u8; 5];
            s.read_exact(&mut record).expect("a ClientHello");
            tx.send(record[0]).expect("send");
        });
        let options = ProbeOptions {
            timeout: Duration::from_secs(5),
            ..ProbeOptions::default()
        };
        let report = probe_loading_trust(&format!("127.0.0.1:{port}"), &options, || {
            // The server has the ClientHello before the trust is read (if the trust were read
            // first, nothing would have been sent yet and this would time out).
            let first = rx
                .recv_timeout(Duration::from_secs(3))
                .map_err(|_| Failed::Trust("the trust was read before the ClientHello went out"))?;
            assert_eq!(first, 0x16, "a TLS handshake record");
            Ok::<_, Failed>(Some(TrustStore::default()))
        })
        .expect("a report");
        assert_ne!(report.outcome, Outcome::Ok);
        server.join().expect("server");
    }

    #[test]
    fn addresses_and_loopback_names_need_no_resolver() {
        let v4 = |p| SocketAddr::new(Ipv4Addr::LOCALHOST.into(), p);
        let v6 = |p| SocketAddr::new(Ipv6Addr::LOCALHOST.into(), p);
        assert_eq!(known_addresses("127.0.0.1", 443), Some(vec![v4(443)]));
        assert_eq!(known_addresses("::1", 8443), Some(vec![v6(8443)]));
        for name in [
            "localhost",
            "LocalHost",
            "localhost.",
            "api.localhost",
            "a.b.LOCALHOST",
        ] {
            assert_eq!(
                known_addresses(name, 4317),
                Some(vec![v4(4317), v6(4317)]),
                "{name}"
            );
        }
        for name in [
            "example.com",
            "notlocalhost",
            "localhost.example",
            "localhostx",
            "fe80::1%lo",
        ] {
            assert_eq!(known_addresses(name, 1), None, "{name}");
        }
        // Even with no time left: nothing to wait for.
        let got = resolve("localhost", 1, Instant::now()).unwrap();
        assert_eq!(got, Some(vec![v4(1), v6(1)]));
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
