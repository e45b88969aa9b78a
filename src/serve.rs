//! Live rustls endpoints for scenarios (DESIGN.md section 5).
//!
//! [`serve`] starts an [`Endpoint`] for [`ServeSettings`]: a listener with an accept thread and
//! one thread per connection (at most [`MAX_CONNECTIONS`] at a time, every socket with
//! [`IO_TIMEOUT`]). After the handshake it answers `HTTP/1.1 200 OK` with a short body naming
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

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, RootCertStore, ServerConfig, ServerConnection};

use crate::pki::Pki;
use crate::pki::scenario::{ClientAuth, Scenario, TlsVersion};

/// At most this many connections are served at a time; further ones are closed at once.
pub const MAX_CONNECTIONS: usize = 64;

/// Handshake, read and write timeout of every accepted socket.
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
    /// No TLS at all: answer anything with HTTP/1.1 400.
    pub plaintext: bool,
    /// The time client certificates are checked at (`None`: the real clock), so a PKI issued
    /// at an injected time (`--now`) is judged at that time on both sides.
    pub now: Option<UnixTime>,
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
            plaintext: false,
            now: None,
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
                let chain = if entity.chain.is_empty() {
                    vec![entity.cert.clone()]
                } else {
                    entity.chain.clone()
                };
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
        Ok(settings)
    }

    /// Settings for files: a chain PEM (leaf first, as it is to be presented) and a key PEM
    /// (PKCS#8, SEC1 or PKCS#1), everything else default.
    pub fn from_files(
        name: impl Into<String>,
        chain_pem: &Path,
        key_pem: &Path,
    ) -> Result<Self, ServeError> {
        let chain = read_certs(chain_pem)?;
        let key = read_key(key_pem)?;
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
            plaintext: self.plaintext,
            now: self.now,
        }
    }
}

fn placeholder_key() -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(Vec::new().into())
}

/// Reads the certificates of a PEM or DER file (at least one), as
/// [`store::read_certs`](crate::pki::store::read_certs) does for every command.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServeError> {
    use crate::pki::store::StoreError;
    crate::pki::store::read_certs(path).map_err(|e| match e {
        StoreError::Io { path, source } | StoreError::Unreadable { path, source } => {
            ServeError::Unreadable { path, source }
        }
        StoreError::Malformed { path, message } => ServeError::Malformed { path, message },
        other => ServeError::Malformed {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    })
}

/// Reads the first private key of a PEM file (`PRIVATE KEY`, `EC PRIVATE KEY` or
/// `RSA PRIVATE KEY`).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ServeError> {
    for p in read_pem(path)? {
        let tag = p.tag().to_string();
        let der = p.into_contents();
        match tag.as_str() {
            "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(der.into())),
            "EC PRIVATE KEY" => return Ok(PrivateKeyDer::Sec1(der.into())),
            "RSA PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs1(der.into())),
            _ => {}
        }
    }
    Err(ServeError::Malformed {
        path: path.to_path_buf(),
        message: "no PRIVATE KEY block".into(),
    })
}

fn read_pem(path: &Path) -> Result<Vec<pem::Pem>, ServeError> {
    let bytes = std::fs::read(path).map_err(|source| ServeError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    pem::parse_many(&bytes).map_err(|e| ServeError::Malformed {
        path: path.to_path_buf(),
        message: format!("not valid PEM: {e}"),
    })
}

/// Why an endpoint could not start.
#[derive(Debug, thiserror::Error)]
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
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file is not what it should be.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
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
    /// The alert the server sent, e.g. `certificate_required (116)`.
    pub alert_sent: Option<String>,
    /// The error that ended the connection, if any.
    pub error: Option<String>,
    /// How long the connection lasted.
    pub duration: Duration,
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

/// A function told about every finished connection.
pub type Observer = Arc<dyn Fn(&ConnectionLog) + Send + Sync>;

/// The most log entries an endpoint keeps (the oldest are dropped).
const MAX_LOG: usize = 10_000;

struct Shared {
    name: String,
    stop: AtomicBool,
    active: AtomicUsize,
    next_id: AtomicU64,
    log: Mutex<Vec<ConnectionLog>>,
    sockets: Mutex<HashMap<u64, TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    observer: Option<Observer>,
}

/// A running endpoint; stops (and joins its threads) on drop.
pub struct Endpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
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

    /// The connections finished so far, oldest first.
    pub fn connections(&self) -> Vec<ConnectionLog> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// Stops accepting, closes open connections and joins every thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let wake_ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let woke =
            TcpStream::connect_timeout(&SocketAddr::new(wake_ip, self.addr.port()), IO_TIMEOUT)
                .is_ok();
        if woke {
            let _ = accept.join();
        }
        for (_, s) in self.shared.sockets.lock().expect("sockets lock").drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads: Vec<_> = std::mem::take(&mut *self.shared.threads.lock().expect("lock"));
        for t in threads {
            let _ = t.join();
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
    let listener = TcpListener::bind(listen).map_err(|source| ServeError::Bind {
        addr: listen,
        source,
    })?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        name: settings.name.clone(),
        stop: AtomicBool::new(false),
        active: AtomicUsize::new(0),
        next_id: AtomicU64::new(0),
        log: Mutex::new(Vec::new()),
        sockets: Mutex::new(HashMap::new()),
        threads: Mutex::new(Vec::new()),
        observer,
    });
    let accept = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(format!("certlab-serve-{}", settings.name))
            .spawn(move || accept_loop(listener, config, shared))?
    };
    Ok(Endpoint {
        addr,
        shared,
        accept: Some(accept),
    })
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
                    .find(|s| {
                        crate::tls_names::suite_name(s.suite()).eq_ignore_ascii_case(want.trim())
                    })
                    .copied()
                    .ok_or_else(|| ServeError::UnknownCipher(want.clone()))
            })
            .collect::<Result<_, _>>()?;
    }
    let provider = Arc::new(provider);
    let certified = certified_key(settings, &provider)?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.tls {
        None => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
    };
    let config_err = |e: &dyn fmt::Display| ServeError::Config {
        name: name.clone(),
        message: e.to_string(),
    };
    let builder = match settings.now {
        None => ServerConfig::builder_with_provider(provider.clone()),
        Some(now) => {
            ServerConfig::builder_with_details(provider.clone(), Arc::new(FixedClock(now)))
        }
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
            builder.with_client_cert_verifier(vb.build().map_err(|e| config_err(&e))?)
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(AlwaysResolves(Arc::new(certified))));
    config.alpn_protocols = match &settings.alpn {
        None => DEFAULT_ALPN.iter().map(|p| p.as_bytes().to_vec()).collect(),
        Some(list) => list.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    Ok(Arc::new(config))
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
    let signing_key = provider
        .key_provider
        .load_private_key(settings.key.clone_key())
        .map_err(|e| ServeError::BadKey {
            name: name.clone(),
            message: crate::pki::keys::KeyKind::of_private_key(&settings.key)
                .and_then(|k| k.unsupported())
                .unwrap_or_else(|| e.to_string()),
        })?;
    // The certificates' SPKIs, read with x509-parser (lenient: a corrupted signature or an
    // unknown critical extension still parses, where webpki would refuse the certificate).
    let mut parsed = Vec::new();
    for der in &settings.chain {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| ServeError::BadCertificate {
                name: name.clone(),
                message: e.to_string(),
            })?;
        parsed.push(cert);
    }
    // The leaf is the first certificate that is not a CA (a reversed chain presents its
    // intermediates first on purpose), or else the first one.
    let leaf = parsed.iter().find(|c| !c.is_ca()).unwrap_or(&parsed[0]);
    if let Some(spki) = signing_key.public_key()
        && spki.as_ref() != leaf.tbs_certificate.subject_pki.raw
    {
        return Err(ServeError::KeyMismatch(name.clone()));
    }
    Ok(CertifiedKey::new(settings.chain.clone(), signing_key))
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

fn accept_loop(
    listener: TcpListener,
    config: Option<(Arc<ServerConfig>, bool)>,
    shared: Arc<Shared>,
) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((sock, peer)) = accepted else {
            // Transient failures (EMFILE, aborted connections): back off briefly.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        shared
            .threads
            .lock()
            .expect("threads lock")
            .retain(|t| !t.is_finished());
        if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            let _ = sock.shutdown(Shutdown::Both);
            record(
                &shared,
                ConnectionLog {
                    peer,
                    version: None,
                    cipher: None,
                    sni: None,
                    alpn: None,
                    client_cert: ClientCertLog::NotAsked,
                    result: format!("closed: over {MAX_CONNECTIONS} connections at once"),
                    alert_sent: None,
                    error: None,
                    duration: Duration::ZERO,
                },
            );
            continue;
        }
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = sock.try_clone() {
            shared
                .sockets
                .lock()
                .expect("sockets lock")
                .insert(id, clone);
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        let conn_shared = shared.clone();
        let config = config.clone();
        let spawned = std::thread::Builder::new()
            .name("certlab-conn".into())
            .spawn(move || {
                let log = handle(sock, peer, config, &conn_shared.name);
                conn_shared
                    .sockets
                    .lock()
                    .expect("sockets lock")
                    .remove(&id);
                conn_shared.active.fetch_sub(1, Ordering::SeqCst);
                record(&conn_shared, log);
            });
        match spawned {
            Ok(t) => shared.threads.lock().expect("threads lock").push(t),
            Err(_) => {
                shared.active.fetch_sub(1, Ordering::SeqCst);
                if let Some(s) = shared.sockets.lock().expect("sockets lock").remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

fn record(shared: &Shared, log: ConnectionLog) {
    if let Some(observer) = &shared.observer {
        observer(&log);
    }
    let mut all = shared.log.lock().expect("log lock");
    if all.len() >= MAX_LOG {
        all.remove(0);
    }
    all.push(log);
}

fn handle(
    mut sock: TcpStream,
    peer: SocketAddr,
    config: Option<(Arc<ServerConfig>, bool)>,
    name: &str,
) -> ConnectionLog {
    let start = Instant::now();
    let mut log = ConnectionLog {
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
    };
    let _ = sock.set_read_timeout(Some(IO_TIMEOUT));
    let _ = sock.set_write_timeout(Some(IO_TIMEOUT));
    let _ = sock.set_nodelay(true);
    {
        // The handshake and the request must both arrive within IO_TIMEOUT of the accept.
        let mut io = Deadline {
            sock: &mut sock,
            deadline: start + IO_TIMEOUT,
        };
        match config {
            None => plaintext(&mut io, &mut log),
            Some((config, asks)) => tls(&mut io, config, asks, name, &mut log),
        }
    }
    linger_close(&mut sock);
    log.duration = start.elapsed();
    log
}

/// A socket whose reads share one deadline (a client sending a byte now and then cannot
/// hold a connection open longer than that).
struct Deadline<'a> {
    sock: &'a mut TcpStream,
    deadline: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        self.sock.set_read_timeout(Some(left))?;
        self.sock.read(buf)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// Closes our side, then reads (briefly) until the client closes, so that what we sent last
/// (an alert, a response) is not destroyed by a reset caused by unread data.
fn linger_close(sock: &mut TcpStream) {
    let _ = sock.flush();
    let _ = sock.shutdown(Shutdown::Write);
    let _ = sock.set_read_timeout(Some(Duration::from_millis(500)));
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Reads a request head: until a blank line, EOF, a TLS record start, the size limit or the
/// timeout.
fn read_request(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.first() == Some(&0x16)
            || buf.windows(4).any(|w| w == b"\r\n\r\n")
            || buf.windows(2).any(|w| w == b"\n\n")
            || buf.len() >= MAX_REQUEST
        {
            return Ok(buf);
        }
    }
}

fn http_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nServer: certlab\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn plaintext(sock: &mut Deadline<'_>, log: &mut ConnectionLog) {
    let request = read_request(sock);
    let looks_tls = matches!(&request, Ok(r) if r.first() == Some(&0x16));
    let body = "this endpoint does not speak TLS (certlab plaintext scenario)\n";
    match sock.write_all(&http_response("400 Bad Request", body)) {
        Ok(()) => {
            log.result = if looks_tls {
                "400 sent (plaintext; the client started a TLS handshake)".into()
            } else {
                "400 sent (plaintext)".into()
            }
        }
        Err(e) => {
            log.result = "failed to answer (plaintext)".into();
            log.error = Some(e.to_string());
        }
    }
}

fn tls(
    sock: &mut Deadline<'_>,
    config: Arc<ServerConfig>,
    asks_client_cert: bool,
    name: &str,
    log: &mut ConnectionLog,
) {
    let mut conn = match ServerConnection::new(config) {
        Ok(c) => c,
        Err(e) => {
            log.result = "internal error".into();
            log.error = Some(e.to_string());
            return;
        }
    };
    let handshake = handshake(&mut conn, sock);
    log.sni = conn.server_name().map(str::to_string);
    log.version = conn.protocol_version().map(|v| format!("{v:?}"));
    log.cipher = conn
        .negotiated_cipher_suite()
        .map(|s| crate::tls_names::suite_name(s.suite()));
    log.alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    if let Err(err) = handshake {
        log.result = "handshake failed".into();
        if let Some(tls_err) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            log.alert_sent = alert_for(tls_err).map(alert_text);
            if asks_client_cert {
                log.client_cert = match tls_err {
                    rustls::Error::NoCertificatesPresented => ClientCertLog::NoneSent,
                    rustls::Error::InvalidCertificate(e) => ClientCertLog::Rejected(format!("{e}")),
                    _ => ClientCertLog::Unknown,
                };
            }
            log.error = Some(tls_err.to_string());
        } else {
            if asks_client_cert {
                log.client_cert = ClientCertLog::Unknown;
            }
            log.error = Some(err.to_string());
        }
        return;
    }
    if asks_client_cert {
        log.client_cert = if conn.peer_certificates().is_some_and(|c| !c.is_empty()) {
            ClientCertLog::Accepted
        } else {
            ClientCertLog::NoneSent
        };
    }
    if log.alpn.as_deref() == Some("h2") {
        conn.send_close_notify();
        let _ = flush_tls(&mut conn, sock);
        log.result = "handshake done (h2: closed without a response)".into();
        return;
    }
    let mut stream = rustls::Stream::new(&mut conn, sock);
    match read_request(&mut stream) {
        Ok(req) if req.is_empty() => {
            log.result = "handshake done; the client sent no request".into();
        }
        Ok(_) => {
            let body = format!("certlab scenario {name}: TLS handshake ok\n");
            match stream
                .write_all(&http_response("200 OK", &body))
                .and_then(|_| stream.flush())
            {
                Ok(()) => log.result = "200 sent".into(),
                Err(e) => {
                    log.result = "handshake done; failed to answer".into();
                    log.error = Some(e.to_string());
                }
            }
        }
        Err(e) => {
            log.result = "handshake done; no request".into();
            if e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut {
                log.error = Some(e.to_string());
            } else {
                log.error = Some("timed out waiting for a request".into());
            }
        }
    }
    conn.send_close_notify();
    let _ = flush_tls(&mut conn, sock);
}

/// Runs the handshake to its end and then writes whatever is queued (session tickets); on a
/// TLS error, writes the queued alert before returning.
fn handshake(conn: &mut ServerConnection, sock: &mut Deadline<'_>) -> io::Result<()> {
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(sock) {
            let _ = flush_tls(conn, sock);
            return Err(e);
        }
    }
    flush_tls(conn, sock)
}

fn flush_tls(conn: &mut ServerConnection, sock: &mut Deadline<'_>) -> io::Result<()> {
    while conn.wants_write() {
        if conn.write_tls(sock)? == 0 {
            break;
        }
    }
    sock.flush()
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

fn alert_text(alert: AlertDescription) -> String {
    format!(
        "{} ({})",
        crate::tls_names::alert_name(alert),
        u8::from(alert)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_the_rfc_ones() {
        assert_eq!(
            alert_text(AlertDescription::CertificateRequired),
            "certificate_required (116)"
        );
        assert_eq!(alert_text(AlertDescription::UnknownCA), "unknown_ca (48)");
    }
}
