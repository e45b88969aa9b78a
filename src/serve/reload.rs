//! Hot reload of a running endpoint: swap its certificate, key and client CAs for new
//! connections without touching open ones.
//!
//! Every accepted connection takes the endpoint's current rustls [`ServerConfig`] (an `Arc`)
//! when it is accepted and keeps it to the end; a reload builds a new configuration and
//! replaces the current one, so connections accepted before it finish with the old
//! certificate and connections accepted after it get the new one. Nothing is dropped.
//!
//! A reload is refused, and the old configuration kept, when the new files are not usable:
//! a PEM block that is not finished (a file caught half-written), a key that does not match
//! the leaf, a file that cannot be read or parsed, a PKI directory caught mid-commit. A
//! watcher ([`Endpoint::watch`](super::Endpoint::watch)) reads the files every interval and
//! reloads when their bytes change; it reports each reload and each refusal once (a later good
//! write is picked up on the next tick).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use pki_types::CertificateDer;
use rustls::ServerConfig;
use time::OffsetDateTime;

use super::{ServeError, ServeSettings, server_config};
use crate::pem::FileError;
use crate::pki::store::StoreError;
use crate::tls::ClientAuth;

/// The shortest interval a watcher accepts.
pub const MIN_RELOAD_INTERVAL: Duration = Duration::from_millis(10);

/// The default interval of `certlab serve --reload`.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Where an endpoint reloads its certificate, key and client CAs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadSource {
    /// Files: the chain to present (PEM, leaf first), its key, and optionally the CAs client
    /// certificates must chain to.
    Files {
        /// The chain (PEM or one DER certificate).
        cert: PathBuf,
        /// The private key (PEM).
        key: PathBuf,
        /// The client CA certificates (PEM), when the endpoint asks for client certificates.
        client_ca: Option<PathBuf>,
    },
    /// A scenario of a PKI directory written by `certlab generate`: the directory is loaded
    /// whole (all-old-or-all-new, files checked against the manifest) and the scenario's
    /// server entity and client CAs taken from it.
    Pki {
        /// The PKI directory.
        dir: PathBuf,
        /// The scenario name.
        scenario: String,
    },
}

impl ReloadSource {
    /// The files whose bytes the watcher compares between ticks.
    fn watched(&self) -> Vec<PathBuf> {
        match self {
            ReloadSource::Files {
                cert,
                key,
                client_ca,
            } => {
                let mut files = vec![cert.clone(), key.clone()];
                files.extend(client_ca.iter().cloned());
                files
            }
            // Every commit rewrites the manifest (it holds every file's hash).
            ReloadSource::Pki { dir, .. } => {
                vec![dir.join(crate::pki::manifest::MANIFEST_FILE)]
            }
        }
    }

    /// Reads the source and returns `base` with its chain, key and client CAs replaced (every
    /// other setting — TLS versions, ciphers, ALPN, client-auth mode, time — kept).
    pub fn load(&self, base: &ServeSettings) -> Result<ServeSettings, ReloadError> {
        let mut next = base.clone();
        match self {
            ReloadSource::Files {
                cert,
                key,
                client_ca,
            } => {
                complete_pem(cert)?;
                complete_pem(key)?;
                next.chain = crate::pem::read_certs(cert)?;
                next.key = crate::pem::read_private_key(key)?;
                if let Some(ca) = client_ca {
                    complete_pem(ca)?;
                    next.client_roots = crate::pem::read_certs(ca)?;
                }
            }
            ReloadSource::Pki { dir, scenario } => {
                let pki = crate::pki::store::load(dir).map_err(Box::new)?;
                let found = pki
                    .all_scenarios()
                    .into_iter()
                    .find(|s| &s.name == scenario)
                    .ok_or_else(|| ReloadError::NoScenario {
                        dir: dir.clone(),
                        scenario: scenario.clone(),
                    })?;
                let fresh = ServeSettings::from_scenario(&pki, &found)?;
                next.chain = fresh.chain;
                next.key = fresh.key;
                next.client_roots = fresh.client_roots;
            }
        }
        Ok(next)
    }
}

/// Refuses a file caught half-written: a PEM block begun and not ended.
fn complete_pem(path: &Path) -> Result<(), ReloadError> {
    let bytes = crate::pem::read(path)?;
    let begins = count(&bytes, b"-----BEGIN ");
    let ends = count(&bytes, b"-----END ");
    if begins != ends {
        return Err(ReloadError::Unfinished {
            path: path.to_path_buf(),
            begins,
            ends,
        });
    }
    Ok(())
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| w == &needle)
        .count()
}

/// The leaf an endpoint presents, as a reload reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    /// The serial number, colon-separated hex.
    pub serial: String,
    /// The end of its validity.
    pub not_after: Option<OffsetDateTime>,
}

impl LeafInfo {
    /// The leaf of a chain as a server presents it (the first certificate that is not a CA,
    /// else the first one).
    pub fn of(chain: &[CertificateDer<'_>]) -> LeafInfo {
        let parsed: Vec<_> = chain
            .iter()
            .filter_map(|c| crate::x509::Cert::parse(c).ok())
            .collect();
        match parsed.iter().find(|c| !c.is_ca()).or(parsed.first()) {
            Some(leaf) => LeafInfo {
                serial: leaf.serial_hex(),
                not_after: Some(leaf.not_after()),
            },
            None => LeafInfo {
                serial: "-".into(),
                not_after: None,
            },
        }
    }
}

impl fmt::Display for LeafInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serial)
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The endpoint.
    pub name: String,
    /// Whether anything changed (false: the files hold what is served already, nothing was
    /// swapped).
    pub changed: bool,
    /// The leaf presented before.
    pub old: LeafInfo,
    /// The leaf presented to new connections from now on.
    pub new: LeafInfo,
    /// Whether the key changed (a renewal that kept the key leaves it false).
    pub key_changed: bool,
    /// Whether the client CAs changed.
    pub client_ca_changed: bool,
}

impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.changed {
            return write!(f, "reload: unchanged (serial {})", self.old);
        }
        write!(f, "reloaded: serial {} -> {}", self.old, self.new)?;
        if let Some(t) = self.new.not_after
            && let Ok(text) = t.format(&time::format_description::well_known::Rfc3339)
        {
            write!(f, " (not after {text})")?;
        }
        let mut what = Vec::new();
        if self.key_changed {
            what.push("new key");
        }
        if self.client_ca_changed {
            what.push("new client CAs");
        }
        if !what.is_empty() {
            write!(f, "; {}", what.join(", "))?;
        }
        f.write_str("; open connections keep the old certificate")
    }
}

/// Why a reload was refused (the endpoint keeps presenting what it presented).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The endpoint was started without a [`ReloadSource`].
    #[error("`{0}` has no files to reload from (started from memory)")]
    NoSource(String),
    /// A plaintext endpoint has nothing to reload.
    #[error("`{0}` is a plaintext endpoint: no certificate to reload")]
    Plaintext(String),
    /// A PEM block begun and not ended: the file is being written.
    #[error(
        "{}: unfinished PEM ({begins} BEGIN, {ends} END lines): the file is being written or was cut short",
        path.display()
    )]
    Unfinished {
        /// The file.
        path: PathBuf,
        /// `-----BEGIN` lines.
        begins: usize,
        /// `-----END` lines.
        ends: usize,
    },
    /// A file cannot be read or is not what it should be.
    #[error(transparent)]
    File(#[from] FileError),
    /// The PKI directory cannot be loaded (mid-commit, damaged, gone).
    #[error(transparent)]
    Store(#[from] Box<StoreError>),
    /// The PKI no longer has the scenario.
    #[error("{}: the PKI has no scenario `{scenario}` any more", dir.display())]
    NoScenario {
        /// The directory.
        dir: PathBuf,
        /// The scenario.
        scenario: String,
    },
    /// The new certificate and key cannot be served (a key that does not match the leaf, an
    /// unusable key, no certificate, ...).
    #[error(transparent)]
    Refused(#[from] ServeError),
}

/// A reload or a refusal, as a watcher reports it.
#[derive(Debug)]
pub enum ReloadEvent {
    /// New connections get the new certificate.
    Reloaded(Reloaded),
    /// The files were refused; the endpoint keeps presenting `kept`.
    Refused {
        /// The endpoint.
        name: String,
        /// The leaf still presented.
        kept: LeafInfo,
        /// Why.
        error: ReloadError,
    },
}

impl fmt::Display for ReloadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadEvent::Reloaded(r) => write!(f, "{r}"),
            ReloadEvent::Refused { kept, error, .. } => {
                write!(f, "reload refused, keeping serial {kept}: {error}")
            }
        }
    }
}

/// A function told about every reload and refusal of a watcher (it runs on the watcher's
/// thread; the CLI queues a log line).
pub type ReloadObserver = Arc<dyn Fn(&ReloadEvent) + Send + Sync>;

/// The TLS configuration new connections take: `None` in plaintext mode; the flag says
/// whether it asks for client certificates.
pub(super) type CurrentConfig = RwLock<Option<(Arc<ServerConfig>, bool)>>;

/// What reloading needs: the settings served now and where new ones come from.
pub(super) struct State {
    pub name: String,
    /// The settings served now; held for the whole of a reload (reloads do not interleave).
    pub current: Mutex<ServeSettings>,
    pub source: Mutex<Option<ReloadSource>>,
}

impl State {
    /// Builds a configuration for `next` and makes it current, unless it presents what is
    /// presented already.
    pub(super) fn swap(
        &self,
        config: &CurrentConfig,
        next: Option<ServeSettings>,
    ) -> Result<Reloaded, ReloadError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let next = match next {
            Some(n) => n,
            None => {
                let source = self
                    .source
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                    .ok_or_else(|| ReloadError::NoSource(self.name.clone()))?;
                source.load(&current)?
            }
        };
        if current.plaintext || next.plaintext {
            return Err(ReloadError::Plaintext(self.name.clone()));
        }
        let old = LeafInfo::of(&current.chain);
        let key_changed = current.key.secret_der() != next.key.secret_der();
        let client_ca_changed = current.client_roots != next.client_roots;
        let changed = key_changed || client_ca_changed || current.chain != next.chain;
        if !changed {
            return Ok(Reloaded {
                name: self.name.clone(),
                changed,
                new: old.clone(),
                old,
                key_changed,
                client_ca_changed,
            });
        }
        // Checks the key against the leaf, loads it, builds the client verifier.
        let built = server_config(&next)?;
        let asks = next.client_auth != ClientAuth::None;
        *config.write().unwrap_or_else(|e| e.into_inner()) = Some((built, asks));
        let new = LeafInfo::of(&next.chain);
        *current = next;
        Ok(Reloaded {
            name: self.name.clone(),
            changed,
            old,
            new,
            key_changed,
            client_ca_changed,
        })
    }

    fn presented(&self) -> LeafInfo {
        LeafInfo::of(&self.current.lock().unwrap_or_else(|e| e.into_inner()).chain)
    }
}

/// A thread that reads the source's files every interval and reloads when they change.
pub(super) struct Watcher {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    pub(super) fn start(
        state: Arc<State>,
        shared: Arc<super::event::Shared>,
        source: ReloadSource,
        interval: Duration,
        observer: Option<ReloadObserver>,
    ) -> std::io::Result<Watcher> {
        let (stop, stopped) = std::sync::mpsc::channel();
        let interval = interval.max(MIN_RELOAD_INTERVAL);
        let thread = std::thread::Builder::new()
            .name(format!("certlab-reload-{}", state.name))
            .spawn(move || watch_loop(&state, &shared, &source, interval, observer, &stopped))?;
        Ok(Watcher {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub(super) fn stop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The bytes of the watched files (`None`: unreadable or missing).
fn snapshot(files: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    files.iter().map(|f| std::fs::read(f).ok()).collect()
}

fn watch_loop(
    state: &State,
    shared: &super::event::Shared,
    source: &ReloadSource,
    interval: Duration,
    observer: Option<ReloadObserver>,
    stopped: &Receiver<()>,
) {
    let files = source.watched();
    // The files' bytes when they were last loaded. Unknown at first: the files may have
    // changed between the endpoint's start and this thread's, so the first tick loads them
    // (and reports nothing when they hold what is served).
    let mut served = None;
    // The last refusal reported (the files' bytes and the reason), so that a file that stays
    // bad is reported once, not every tick.
    let mut reported: Option<(Vec<Option<Vec<u8>>>, String)> = None;
    loop {
        match stopped.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stopped, or the endpoint is gone.
            _ => return,
        }
        let now = snapshot(&files);
        if served.as_ref() == Some(&now) {
            continue;
        }
        match state.swap(&shared.config, None) {
            Ok(reloaded) => {
                served = Some(now);
                reported = None;
                if reloaded.changed
                    && let Some(o) = &observer
                {
                    o(&ReloadEvent::Reloaded(reloaded));
                }
            }
            Err(error) => {
                // Retried every tick until the files change to something good; reported once
                // per distinct content and reason.
                let key = (now, error.to_string());
                if reported.as_ref() != Some(&key) {
                    reported = Some(key);
                    if let Some(o) = &observer {
                        o(&ReloadEvent::Refused {
                            name: state.name.clone(),
                            kept: state.presented(),
                            error,
                        });
                    }
                }
            }
        }
    }
}
