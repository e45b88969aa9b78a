//! Live rustls endpoints for scenarios (DESIGN.md section 5).
//!
//! [`serve`] starts an [`Endpoint`] for [`ServeSettings`]: a listener and a thread of its own
//! running an event loop over non-blocking sockets (the thread of a stopped endpoint is
//! reused by the next one started; at most [`MAX_CONNECTIONS`] open at a time, the others
//! waiting in a listen queue of [`LISTEN_BACKLOG`]; every connection with its own deadline,
//! [`IO_TIMEOUT`], so slow or idle clients never delay the others). After the handshake it answers `HTTP/1.1 200 OK` with a short body naming
//! the scenario; in plaintext mode it answers anything with `HTTP/1.1 400 Bad Request`. Every
//! connection is logged from the server's side ([`ConnectionLog`]).
//!
//! The server builds its rustls [`CertifiedKey`] itself, so it presents any chain as given
//! (reversed, with an unknown critical extension, with a corrupted signature); it checks
//! itself that the key matches the leaf's public key ([`ServeError::KeyMismatch`]).
//!
//! ```
//! use certlab::pki::{spec, store};
//! use certlab::serve::{serve, ServeSettings};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The lab PKI, in memory; serve its `expired` scenario on a free loopback port.
//! let lab = spec::parse("<lab>", spec::template("lab").unwrap().text)?;
//! let pki = store::build(&lab, time::OffsetDateTime::now_utc())?;
//! let scenario = pki.all_scenarios().into_iter().find(|s| s.name == "expired").unwrap();
//! let endpoint = serve(ServeSettings::from_scenario(&pki, &scenario)?, "127.0.0.1:0".parse()?)?;
//! assert_ne!(endpoint.addr().port(), 0);
//! assert_eq!(endpoint.name(), "expired");
//! endpoint.stop(); // or drop it
//! # Ok(()) }
//! ```
//!
//! Files work the same way: `ServeSettings::from_files("name", chain_pem, key_pem)`.
//!
//! A running endpoint can present a new certificate, key and client CAs to new connections
//! without touching open ones ([`reload`]): [`Endpoint::reload`] re-reads its
//! [`ReloadSource`] (files, or a scenario of a PKI directory), [`Endpoint::replace`] takes
//! settings from memory, and [`Endpoint::watch`] reloads whenever the files change (what
//! `certlab serve --reload` runs). Whatever cannot be served is refused and the old kept.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
};

use crate::pki::Pki;
use crate::pki::scenario::Scenario;
use crate::tls::{ClientAuth, TlsVersion};

mod event;
mod logger;
pub(crate) mod pool;
pub mod reload;

use event::Shared;
pub use logger::LineLog;
pub use reload::{LeafInfo, ReloadError, ReloadEvent, ReloadObserver, ReloadSource, Reloaded};

/// By default at most this many connections are open at a time; further ones wait in the
/// listen queue ([`LISTEN_BACKLOG`]) until one closes.
pub const MAX_CONNECTIONS: usize = 1024;

/// The deadline of every connection, counted from its accept: the handshake and the request
/// must both arrive within it (a client sending a byte now and then gets no longer).
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest request head read before answering.
const MAX_REQUEST: usize = 16 * 1024;

/// Everything one endpoint needs.
#[derive(Debug)]
pub struct ServeSettings {
    /// The scenario name; the HTTP 200 body names it.
    pub name: String,
    /// The chain presented as is (leaf first normally; reversed etc. on purpose).
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key of the leaf (ignored in plaintext mode).
    pub key: PrivateKeyDer<'static>,
    /// Restrict the server to one TLS version; `None` = TLS 1.2 and 1.3.
    pub tls: Option<TlsVersion>,
    /// rustls cipher-suite names (e.g. `TLS13_AES_256_GCM_SHA384`); empty = provider default.
    pub ciphers: Vec<String>,
    /// ALPN protocols in preference order; `None` = `["http/1.1", "h2"]`, `Some(vec![])` = no
    /// ALPN at all.
    pub alpn: Option<Vec<String>>,
    /// Whether the server asks for client certificates.
    pub client_auth: ClientAuth,
    /// The CAs client certificates must chain to (used when `client_auth` is not `None`).
    pub client_roots: Vec<CertificateDer<'static>>,
    /// CRLs a client certificate is checked against: every certificate of its path, as
    /// `openssl verify -crl_check_all` checks it; a certificate no CRL covers passes (OpenSSL
    /// refuses it: `unable to get certificate CRL`); a CRL past its nextUpdate refuses.
    /// A PKI's scenario has its issuers' CRLs (`certlab revoke`).
    pub client_crls: Vec<CertificateRevocationListDer<'static>>,
    /// No TLS at all: answer anything with HTTP/1.1 400.
    pub plaintext: bool,
    /// The time client certificates are checked at (`None`: the real clock), so a PKI issued
    /// at an injected time (`--now`) is judged at that time on both sides.
    pub now: Option<OffsetDateTime>,
    /// At most this many connections open at a time (default [`MAX_CONNECTIONS`]); further
    /// ones wait in the listen queue.
    pub max_connections: usize,
}

/// The default ALPN protocols, in preference order.
pub const DEFAULT_ALPN: [&str; 2] = ["http/1.1", "h2"];

impl ServeSettings {
    /// Settings that present `chain` with `key`, everything else default (TLS 1.2 and 1.3, the
    /// provider's cipher suites, ALPN `http/1.1` then `h2`, no client certificates).
    pub fn new(
        name: impl Into<String>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        ServeSettings {
            name: name.into(),
            chain,
            key,
            tls: None,
            ciphers: Vec::new(),
            alpn: None,
            client_auth: ClientAuth::None,
            client_roots: Vec::new(),
            client_crls: Vec::new(),
            plaintext: false,
            now: None,
            max_connections: MAX_CONNECTIONS,
        }
    }

    /// Settings for a plaintext endpoint (no TLS; answers anything with HTTP/1.1 400).
    pub fn plaintext(name: impl Into<String>) -> Self {
        let mut s = ServeSettings::new(name, Vec::new(), placeholder_key());
        s.plaintext = true;
        s
    }

    /// The settings of a scenario of a PKI: the server entity's chain and key and the server
    /// side of the scenario; `client_roots` are the scenario's `client_ca` entities or else the
    /// PKI's trusted roots. A plaintext scenario needs no entity.
    pub fn from_scenario(pki: &Pki, scenario: &Scenario) -> Result<Self, ServeError> {
        let server = &scenario.server;
        let mut settings = match &server.entity {
            Some(name) => {
                let entity = pki.entity(name).ok_or_else(|| ServeError::UnknownEntity {
                    scenario: scenario.name.clone(),
                    entity: name.clone(),
                })?;
                let chain = entity.chain_or_cert().to_vec();
                ServeSettings::new(&scenario.name, chain, entity.key.to_private_key_der())
            }
            None if server.plaintext => ServeSettings::plaintext(&scenario.name),
            None => return Err(ServeError::NoEntity(scenario.name.clone())),
        };
        settings.plaintext = server.plaintext;
        settings.tls = server.tls;
        settings.ciphers = server.ciphers.clone();
        settings.alpn = server.alpn.clone();
        settings.client_auth = server.client_auth;
        settings.client_roots = if server.client_ca.is_empty() {
            pki.trusted_roots().map(|e| e.cert.clone()).collect()
        } else {
            server
                .client_ca
                .iter()
                .map(|n| {
                    pki.entity(n)
                        .map(|e| e.cert.clone())
                        .ok_or_else(|| ServeError::UnknownEntity {
                            scenario: scenario.name.clone(),
                            entity: n.clone(),
                        })
                })
                .collect::<Result<_, _>>()?
        };
        settings.client_crls = pki.crls().cloned().collect();
        Ok(settings)
    }

    /// Settings for files: a chain PEM (leaf first, as it is to be presented) and a key PEM
    /// (PKCS#8, SEC1 or PKCS#1), everything else default.
    pub fn from_files(
        name: impl Into<String>,
        chain_pem: &Path,
        key_pem: &Path,
    ) -> Result<Self, ServeError> {
        let chain = crate::pem::read_certs(chain_pem)?;
        let key = crate::pem::read_private_key(key_pem)?;
        Ok(ServeSettings::new(name, chain, key))
    }
}

impl Clone for ServeSettings {
    fn clone(&self) -> Self {
        ServeSettings {
            name: self.name.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            tls: self.tls,
            ciphers: self.ciphers.clone(),
            alpn: self.alpn.clone(),
            client_auth: self.client_auth,
            client_roots: self.client_roots.clone(),
            client_crls: self.client_crls.clone(),
            plaintext: self.plaintext,
            now: self.now,
            max_connections: self.max_connections,
        }
    }
}

fn placeholder_key() -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(Vec::new().into())
}

/// Why an endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The private key does not belong to the leaf certificate (the `key-mismatch` fault).
    #[error("key-mismatch: the private key of `{0}` does not match its certificate's public key")]
    KeyMismatch(String),
    /// The private key could not be loaded.
    #[error("`{name}`: unusable private key: {message}")]
    BadKey {
        /// The endpoint.
        name: String,
        /// Why.
        message: String,
    },
    /// The leaf certificate could not be parsed far enough to read its public key.
    #[error("`{name}`: the leaf certificate cannot be parsed: {message}")]
    BadCertificate {
        /// The endpoint.
        name: String,
        /// Why.
        message: String,
    },
    /// A TLS endpoint without certificates.
    #[error("`{0}`: no certificate to present")]
    NoCertificate(String),
    /// A cipher-suite name the provider does not know.
    #[error(
        "unknown cipher suite `{0}` (expected rustls names such as TLS13_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)"
    )]
    UnknownCipher(String),
    /// A scenario names an entity the PKI does not have.
    #[error("scenario `{scenario}` names entity `{entity}`, which is not in the PKI")]
    UnknownEntity {
        /// The scenario.
        scenario: String,
        /// The missing entity.
        entity: String,
    },
    /// A TLS scenario without a server entity.
    #[error("scenario `{0}` has no server entity to serve")]
    NoEntity(String),
    /// A certificate or key file could not be read or is not what it should be.
    #[error(transparent)]
    File(#[from] crate::pem::FileError),
    /// The listen address could not be bound (in use, not permitted, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: io::Error,
    },
    /// The TLS settings are inconsistent (e.g. TLS 1.2 with only TLS 1.3 cipher suites).
    #[error("`{name}`: invalid TLS settings: {message}")]
    Config {
        /// The endpoint.
        name: String,
        /// Why.
        message: String,
    },
    /// Starting a thread or another system call failed.
    #[error("cannot start the endpoint: {0}")]
    Io(#[from] io::Error),
}

/// What the server saw of a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCertLog {
    /// The server did not ask for one.
    NotAsked,
    /// The server asked, the client sent none.
    NoneSent,
    /// The client sent one and the server accepted it.
    Accepted,
    /// The client sent one and the server rejected it, for this reason.
    Rejected(String),
    /// Asked, but the handshake ended before the client answered.
    Unknown,
}

impl fmt::Display for ClientCertLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCertLog::NotAsked => f.write_str("not asked"),
            ClientCertLog::NoneSent => f.write_str("none sent"),
            ClientCertLog::Accepted => f.write_str("accepted"),
            ClientCertLog::Rejected(why) => write!(f, "rejected ({why})"),
            ClientCertLog::Unknown => f.write_str("asked, no answer"),
        }
    }
}

/// One connection, from the server's side.
#[derive(Debug, Clone)]
pub struct ConnectionLog {
    /// The client's address.
    pub peer: SocketAddr,
    /// The negotiated TLS version (`TLSv1_3`, ...), when it got that far.
    pub version: Option<String>,
    /// The negotiated cipher suite, when it got that far.
    pub cipher: Option<String>,
    /// The SNI name the client sent.
    pub sni: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<String>,
    /// Client certificate: asked? sent? accepted?
    pub client_cert: ClientCertLog,
    /// What the server did: `200 sent`, `400 sent (plaintext)`, `handshake failed`, ...
    pub result: String,
    /// The alert the server sent, e.g. `116 (certificate_required)`.
    pub alert_sent: Option<String>,
    /// The error that ended the connection, if any.
    pub error: Option<String>,
    /// How long the connection lasted.
    pub duration: Duration,
}

impl ConnectionLog {
    /// A connection from `peer` about which nothing is known yet.
    pub fn new(peer: SocketAddr) -> ConnectionLog {
        ConnectionLog {
            peer,
            version: None,
            cipher: None,
            sni: None,
            alpn: None,
            client_cert: ClientCertLog::NotAsked,
            result: String::new(),
            alert_sent: None,
            error: None,
            duration: Duration::ZERO,
        }
    }
}

impl fmt::Display for ConnectionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        write!(
            f,
            "{} version={} cipher={} sni={} alpn={} client-cert={}: {}",
            self.peer,
            opt(&self.version),
            opt(&self.cipher),
            opt(&self.sni),
            opt(&self.alpn),
            self.client_cert,
            self.result
        )?;
        if let Some(a) = &self.alert_sent {
            write!(f, "; alert sent: {a}")?;
        }
        if let Some(e) = &self.error {
            write!(f, "; error: {e}")?;
        }
        write!(f, " ({} ms)", self.duration.as_millis())
    }
}

/// A function told about every finished connection. It runs on the endpoint's own thread, so
/// it must not block (the CLI queues a line for a [`LineLog`]).
pub type Observer = Arc<dyn Fn(&ConnectionLog) + Send + Sync>;

/// The most log entries an endpoint keeps (a ring: the oldest are dropped).
pub const MAX_LOG: usize = 10_000;

/// The listen backlog: connections beyond [`MAX_CONNECTIONS`] wait there (the kernel caps it
/// at `net.core.somaxconn`).
pub const LISTEN_BACKLOG: i32 = 1024;

/// A running endpoint; stops (and waits for its event loop to end) on drop.
pub struct Endpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    waker: Arc<mio::Waker>,
    /// The event loop, on a thread of the pool (`serve/pool.rs`).
    thread: Option<pool::Running>,
    reload: Arc<reload::State>,
    watcher: Option<reload::Watcher>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.shared.name)
            .field("addr", &self.addr)
            .finish()
    }
}

impl Endpoint {
    /// The bound address (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The scenario name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The connections finished so far, oldest first (the last [`MAX_LOG`]).
    pub fn connections(&self) -> Vec<ConnectionLog> {
        let log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }

    /// How many connections are open right now (accepted and not yet closed).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Relaxed)
    }

    /// The leaf presented to new connections now (its serial and end of validity).
    pub fn presented(&self) -> LeafInfo {
        let current = self
            .reload
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        LeafInfo::of(&current.chain)
    }

    /// Sets where [`Endpoint::reload`] reads new certificates from (the files or PKI scenario
    /// the endpoint was started from).
    pub fn set_reload_source(&self, source: ReloadSource) {
        *self.reload.source.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// Reads the reload source again and, when it holds something new, presents it to new
    /// connections from now on; connections already open keep the old certificate. A source
    /// that cannot be served (a half-written file, a key that does not match, ...) is refused
    /// and the old certificate kept. Returns what changed (serial old → new), or why not.
    ///
    /// ```
    /// use certlab::fixture::TestPki;
    /// use certlab::serve::{ReloadError, ReloadSource};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut pki = TestPki::new();
    /// let (first, second) = (pki.server(["localhost"]).issue()?, pki.server(["localhost"]).issue()?);
    /// let dir = tempfile::tempdir()?;
    /// let (cert, key) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
    /// std::fs::write(&cert, first.chain_pem())?;
    /// std::fs::write(&key, first.key_pem())?;
    /// let endpoint = pki.serve(&first)?;
    /// endpoint.set_reload_source(ReloadSource::Files { cert: cert.clone(), key: key.clone(), client_ca: None });
    ///
    /// std::fs::write(&cert, second.chain_pem())?;           // the key is still the first's
    /// assert!(matches!(endpoint.reload(), Err(ReloadError::Refused(_))));
    /// std::fs::write(&key, second.key_pem())?;
    /// let reloaded = endpoint.reload()?;
    /// assert!(reloaded.changed && reloaded.old != reloaded.new);
    /// assert_eq!(endpoint.presented(), reloaded.new);
    /// # Ok(()) }
    /// ```
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        self.reload.swap(&self.shared.config, None)
    }

    /// Presents `settings`' chain, key and client CAs to new connections from now on (the
    /// other settings — versions, ciphers, ALPN, client-auth mode — stay those the endpoint
    /// started with); connections already open keep the old ones. Refused (and the old kept)
    /// when the key does not match the leaf or the settings cannot be served.
    pub fn replace(&self, settings: ServeSettings) -> Result<Reloaded, ReloadError> {
        let next = {
            let current = self
                .reload
                .current
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            ServeSettings {
                chain: settings.chain,
                key: settings.key,
                client_roots: settings.client_roots,
                ..current.clone()
            }
        };
        self.reload.swap(&self.shared.config, Some(next))
    }

    /// Watches `source` from now on: every `interval` it reads the files and, when their bytes
    /// changed, reloads ([`Endpoint::reload`]); `observer` is told about every reload and
    /// every refusal (once per distinct content and reason). A refused file is retried at
    /// every tick, so a later good write is picked up. Replaces an earlier watcher.
    pub fn watch(
        &mut self,
        source: ReloadSource,
        interval: Duration,
        observer: Option<ReloadObserver>,
    ) -> Result<(), ServeError> {
        self.stop_watching();
        self.set_reload_source(source.clone());
        self.watcher = Some(reload::Watcher::start(
            self.reload.clone(),
            self.shared.clone(),
            source,
            interval,
            observer,
        )?);
        Ok(())
    }

    /// Stops the watcher of [`Endpoint::watch`], if any.
    pub fn stop_watching(&mut self) {
        if let Some(mut w) = self.watcher.take() {
            w.stop();
        }
    }

    /// Stops accepting, closes open connections and waits for the endpoint's event loop to
    /// end (its listener is closed when this returns).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop_watching();
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::SeqCst);
        if self.waker.wake().is_ok() {
            thread.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts an endpoint for `settings` on `listen` (port 0: any free port).
pub fn serve(settings: ServeSettings, listen: SocketAddr) -> Result<Endpoint, ServeError> {
    serve_observed(settings, listen, None)
}

/// Serves a scenario of a PKI: [`ServeSettings::from_scenario`] then [`serve`]. A scenario
/// whose server cannot start (`serve_error`, e.g. `key-mismatch`) returns that error.
pub fn serve_scenario(
    pki: &Pki,
    scenario: &Scenario,
    listen: SocketAddr,
) -> Result<Endpoint, ServeError> {
    serve(ServeSettings::from_scenario(pki, scenario)?, listen)
}

/// [`serve`], also calling `observer` with every finished connection (the CLI prints them).
pub fn serve_observed(
    settings: ServeSettings,
    listen: SocketAddr,
    observer: Option<Observer>,
) -> Result<Endpoint, ServeError> {
    let config = if settings.plaintext {
        None
    } else {
        Some((
            server_config(&settings)?,
            settings.client_auth != ClientAuth::None,
        ))
    };
    let reload = Arc::new(reload::State {
        name: settings.name.clone(),
        current: Mutex::new(settings.clone()),
        source: Mutex::new(None),
    });
    let listener = TcpListener::bind(listen).map_err(|source| ServeError::Bind {
        addr: listen,
        source,
    })?;
    widen_backlog(&listener);
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let poll = mio::Poll::new()?;
    let waker = Arc::new(mio::Waker::new(poll.registry(), event::WAKER)?);
    let shared = Arc::new(Shared {
        name: settings.name.clone(),
        stop: AtomicBool::new(false),
        open: AtomicUsize::new(0),
        log: Mutex::new(VecDeque::new()),
        observer,
        config: std::sync::RwLock::new(config),
    });
    let event_loop = event::EventLoop::new(
        poll,
        mio::net::TcpListener::from_std(listener),
        shared.clone(),
        settings.max_connections,
    )?;
    let thread = pool::spawn(format!("certlab-serve-{}", settings.name), move || {
        event_loop.run()
    })?;
    Ok(Endpoint {
        addr,
        shared,
        waker,
        thread: Some(thread),
        reload,
        watcher: None,
    })
}

/// Raises this process's soft limit of open files to its hard limit (at most 65,536), so that
/// [`MAX_CONNECTIONS`] sockets fit; returns the soft limit now in force. (Beyond the limit an
/// endpoint still works: it pauses accepting and connections wait in the listen queue.)
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let want = limit.rlim_max.min(65_536);
        if limit.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    let soft = limit.rlim_cur as u64;
    soft
}

/// Raises the listen backlog of a bound listener (std listens with 128); Linux applies a
/// second `listen` to a listening socket as a new backlog.
fn widen_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on a socket we own; a failure leaves the old backlog in place.
    unsafe {
        libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG);
    }
}

/// Builds the rustls server configuration of the settings (checking that the key matches the
/// leaf). Exposed so other code can run the same server on its own sockets.
pub fn server_config(settings: &ServeSettings) -> Result<Arc<ServerConfig>, ServeError> {
    let name = &settings.name;
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !settings.ciphers.is_empty() {
        let all = provider.cipher_suites.clone();
        provider.cipher_suites = settings
            .ciphers
            .iter()
            .map(|want| {
                all.iter()
                    .find(|s| crate::tls::suite_name(s.suite()).eq_ignore_ascii_case(want.trim()))
                    .copied()
                    .ok_or_else(|| ServeError::UnknownCipher(want.clone()))
            })
            .collect::<Result<_, _>>()?;
    }
    let provider = Arc::new(provider);
    let certified = certified_key(settings, &provider)?;
    let versions = TlsVersion::rustls_versions(settings.tls);
    let config_err = |e: &dyn fmt::Display| ServeError::Config {
        name: name.clone(),
        message: e.to_string(),
    };
    let builder = match settings.now {
        None => ServerConfig::builder_with_provider(provider.clone()),
        Some(now) => ServerConfig::builder_with_details(
            provider.clone(),
            Arc::new(FixedClock(crate::tls::unix_time(now))),
        ),
    };
    let builder = builder
        .with_protocol_versions(versions)
        .map_err(|e| config_err(&e))?;
    let builder = match settings.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let mut roots = RootCertStore::empty();
            for c in &settings.client_roots {
                roots.add(c.clone()).map_err(|e| ServeError::Config {
                    name: name.clone(),
                    message: format!("client CA certificate: {e}"),
                })?;
            }
            let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if auth == ClientAuth::Optional {
                vb = vb.allow_unauthenticated();
            }
            if !settings.client_crls.is_empty() {
                vb = vb
                    // Several CRLs of one issuer: the one OpenSSL would pick first (webpki
                    // reads the first of the issuer's name).
                    .with_crls(crate::x509::crls_in_client_order(
                        &settings.client_crls,
                        &settings.client_roots,
                        settings.now.unwrap_or_else(time::OffsetDateTime::now_utc),
                    ))
                    .allow_unknown_revocation_status()
                    // A CRL past its nextUpdate is no answer (OpenSSL: `CRL has expired`).
                    .enforce_revocation_expiration();
            }
            builder.with_client_cert_verifier(Arc::new(ClientVerifier {
                inner: vb.build().map_err(|e| config_err(&e))?,
                roots: settings.client_roots.clone(),
            }))
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(AlwaysResolves(Arc::new(certified))));
    config.alpn_protocols = match &settings.alpn {
        None => DEFAULT_ALPN.iter().map(|p| p.as_bytes().to_vec()).collect(),
        Some(list) => list.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    Ok(Arc::new(config))
}

/// The client-certificate verifier of `serve`: rustls-webpki's, then what OpenSSL also
/// refuses and webpki does not look at, by the rules `check --usage client` applies: a leaf
/// whose keyUsage allows no TLS client use and the trusted root's own extended key usage
/// (`wrong-usage`: alert 43), basicConstraints and pathLen (alert 48).
#[derive(Debug)]
struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    roots: Vec<CertificateDer<'static>>,
}

impl ClientVerifier {
    /// What OpenSSL refuses beyond webpki in the path webpki accepted, if anything.
    fn openssl_rules(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<crate::Outcome> {
        let leaf = crate::x509::Cert::parse(end_entity).ok()?;
        if leaf.tls_key_usage_problem(true).is_some() {
            return Some(crate::Outcome::WrongUsage);
        }
        let ee = webpki::EndEntityCert::try_from(end_entity).ok()?;
        let anchors: Vec<_> = self
            .roots
            .iter()
            .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok().map(|a| (a, r)))
            .collect();
        let only: Vec<_> = anchors.iter().map(|(a, _)| a.clone()).collect();
        let path = ee
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &only,
                intermediates,
                now,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .ok()?;
        let (_, root) = anchors.iter().find(|(a, _)| a == path.anchor())?;
        let root = crate::x509::Cert::parse(root).ok()?;
        // A self-signed certificate trusted as itself issued nothing.
        if root.subject_raw() == leaf.subject_raw() && root.spki() == leaf.spki() {
            return None;
        }
        let below = path
            .intermediate_certificates()
            .filter(|c| !crate::x509::Cert::parse(c.der().as_ref()).is_ok_and(|c| c.self_issued()))
            .count();
        root.anchor_problem(below, true).map(|(outcome, _)| outcome)
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        match self.openssl_rules(end_entity, intermediates, now) {
            Some(crate::Outcome::WrongUsage) => Err(CertificateError::InvalidPurpose.into()),
            Some(_) => Err(CertificateError::UnknownIssuer.into()),
            None => Ok(verified),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A clock stopped at one time: what the server checks client certificates against when the
/// settings inject a time.
#[derive(Debug)]
struct FixedClock(UnixTime);

impl rustls::time_provider::TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

fn certified_key(
    settings: &ServeSettings,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, ServeError> {
    let name = &settings.name;
    if settings.chain.is_empty() {
        return Err(ServeError::NoCertificate(name.clone()));
    }
    let signing_key =
        load_signing_key(provider, &settings.key).map_err(|e| ServeError::BadKey {
            name: name.clone(),
            message: crate::pki::keys::KeyKind::of_private_key(&settings.key)
                .and_then(|k| k.unsupported())
                .unwrap_or_else(|| e.to_string()),
        })?;
    // The certificates' SPKIs, read with x509-parser (lenient: a corrupted signature or an
    // unknown critical extension still parses, where webpki would refuse the certificate).
    let mut parsed = Vec::new();
    for der in &settings.chain {
        parsed.push(crate::x509::Cert::parse(der).map_err(|message| {
            ServeError::BadCertificate {
                name: name.clone(),
                message,
            }
        })?);
    }
    // The leaf is the first certificate that is not a CA (a reversed chain presents its
    // intermediates first on purpose), or else the first one.
    let leaf = parsed.iter().find(|c| !c.is_ca()).unwrap_or(&parsed[0]);
    if let Some(spki) = signing_key.public_key()
        && spki.as_ref() != leaf.spki()
    {
        return Err(ServeError::KeyMismatch(name.clone()));
    }
    Ok(CertifiedKey::new(settings.chain.clone(), signing_key))
}

/// Loads a private key with the loader of its algorithm, read from its PKCS#8 or SEC1 header.
/// The provider's generic loader tries RSA first, so every ECDSA key cost a failed RSA parse
/// (~1 % of `certlab lab`'s CPU, seen with perf); anything not recognised here still goes
/// through the generic loader, which also gives the error.
fn load_signing_key(
    provider: &CryptoProvider,
    key: &PrivateKeyDer<'static>,
) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
    use crate::pki::keys::KeyKind;
    use rustls::crypto::aws_lc_rs::sign;
    let typed = match (KeyKind::of_private_key(key), key) {
        (Some(KeyKind::Ec(_)), _) => sign::any_ecdsa_type(key).ok(),
        (Some(KeyKind::Ed25519), PrivateKeyDer::Pkcs8(der)) => sign::any_eddsa_type(der).ok(),
        _ => None,
    };
    match typed {
        Some(k) => Ok(k),
        None => provider.key_provider.load_private_key(key.clone_key()),
    }
}

/// A certificate resolver that always presents the one certified key, whatever the client
/// asks for.
#[derive(Debug)]
struct AlwaysResolves(Arc<CertifiedKey>);

impl ResolvesServerCert for AlwaysResolves {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn http_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nServer: certlab\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The alert rustls sends for an error it raised itself (None for errors the peer caused by an
/// alert or plain I/O).
fn alert_for(err: &rustls::Error) -> Option<AlertDescription> {
    use rustls::{Error, PeerIncompatible};
    Some(match err {
        Error::InvalidCertificate(e) => AlertDescription::from(e.clone()),
        Error::NoCertificatesPresented => AlertDescription::CertificateRequired,
        Error::NoApplicationProtocol => AlertDescription::NoApplicationProtocol,
        Error::InvalidMessage(m) => AlertDescription::from(*m),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            AlertDescription::UnexpectedMessage
        }
        Error::DecryptError => AlertDescription::DecryptError,
        Error::PeerIncompatible(p) => match p {
            PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::Tls13RequiredForQuic => AlertDescription::ProtocolVersion,
            PeerIncompatible::NullCompressionRequired
            | PeerIncompatible::UncompressedEcPointsRequired => AlertDescription::IllegalParameter,
            _ => AlertDescription::HandshakeFailure,
        },
        Error::PeerMisbehaved(_) => AlertDescription::IllegalParameter,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::KeyAlg;

    /// A connection still open when its endpoint stops is logged too (closed, "the server
    /// stopped"): before, it vanished from the log.
    #[test]
    fn a_connection_open_at_stop_is_logged() {
        let logs = Arc::new(Mutex::new(Vec::<ConnectionLog>::new()));
        let seen = logs.clone();
        let observer: Observer = Arc::new(move |log: &ConnectionLog| {
            seen.lock().unwrap().push(log.clone());
        });
        let endpoint = serve_observed(
            ServeSettings::plaintext("quiet"),
            "127.0.0.1:0".parse().unwrap(),
            Some(observer),
        )
        .unwrap();
        // A client that connects and says nothing.
        let _client = std::net::TcpStream::connect(endpoint.addr()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while endpoint.open_connections() == 0 {
            assert!(std::time::Instant::now() < deadline, "never accepted");
            std::thread::sleep(Duration::from_millis(2));
        }
        endpoint.stop();
        let logs = logs.lock().unwrap();
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].result, "closed: the server stopped");
        assert_eq!(logs[0].error.as_deref(), Some("the server stopped"));
    }

    /// The loader by algorithm gives what the provider's generic loader gives: the same
    /// signature algorithm and public key for every kind of key certlab writes, and the same
    /// refusal for bytes that are no key.
    #[test]
    fn keys_load_by_their_algorithm_as_the_generic_loader_loads_them() {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        for alg in [
            KeyAlg::EcdsaP256,
            KeyAlg::EcdsaP384,
            KeyAlg::Ed25519,
            KeyAlg::Rsa2048,
        ] {
            let pair = alg.generate().unwrap();
            let der = PrivateKeyDer::Pkcs8(pair.serialize_der().into());
            let typed = load_signing_key(&provider, &der).unwrap();
            let generic = provider
                .key_provider
                .load_private_key(der.clone_key())
                .unwrap();
            assert_eq!(typed.algorithm(), generic.algorithm(), "{alg}");
            assert_eq!(
                typed.public_key().map(|k| k.to_vec()),
                generic.public_key().map(|k| k.to_vec()),
                "{alg}"
            );
            assert!(typed.public_key().is_some(), "{alg}");
        }
        let garbage = PrivateKeyDer::Pkcs8(vec![0x30, 0x03, 0x02, 0x01, 0x00].into());
        let generic = provider
            .key_provider
            .load_private_key(garbage.clone_key())
            .err()
            .map(|e| e.to_string());
        let typed = load_signing_key(&provider, &garbage)
            .err()
            .map(|e| e.to_string());
        assert!(generic.is_some());
        assert_eq!(typed, generic);
    }
}
