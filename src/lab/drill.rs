//! What the drills ([`super::rotation`], [`super::revocation`]) share: a timeline of steps in
//! real time, a server (in this process or a `certlab serve` process) serving a scenario of a
//! PKI directory, and a probe step that asks certlab's probe and real clients what they see.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clients::Client;
use crate::outcome::Outcome;
use crate::pki::renew::RenewError;
use crate::pki::store::StoreError;
use crate::serve::{Endpoint, ReloadEvent, ReloadSource, ServeError, ServeSettings};
use crate::verify::classify::TrustStore;
use crate::verify::probe::{ProbeOptions, probe};

use super::clients::{self, Answer, ClientJob, ClientRunError};

/// The name the drills' leaves are issued for and the clients connect to.
pub const DRILL_HOST: &str = "localhost";

/// Where a drill's server runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DrillServer {
    /// An [`Endpoint`] in this process, watching the PKI directory
    /// ([`Endpoint::watch`] on a [`ReloadSource::Pki`]), as `certlab serve --reload` does.
    #[default]
    InProcess,
    /// A `certlab serve --pki DIR --scenario NAME [--reload --reload-interval D]` process of
    /// this executable (the drill reads its address from its first line and its reloads from
    /// its log on stderr).
    Process(PathBuf),
}

/// What one step of a drill was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// The server started presenting a certificate.
    Served,
    /// A client connected and said what it saw.
    Probe,
    /// A connection opened earlier (or being opened and kept).
    Connection,
    /// certlab renewed the certificate in the PKI directory.
    Renewed,
    /// The server presents the new certificate to new connections.
    Reloaded,
    /// A new root and intermediate were made; `ca.pem` holds old and new roots.
    NewCa,
    /// The server's leaf was re-issued by the new CA.
    CutOver,
    /// certlab revoked the certificate.
    Revoked,
    /// Waiting, or what the drill concluded.
    Note,
}

impl StepKind {
    /// The step's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Served => "served",
            StepKind::Probe => "probe",
            StepKind::Connection => "connection",
            StepKind::Renewed => "renewed",
            StepKind::Reloaded => "reloaded",
            StepKind::NewCa => "new-ca",
            StepKind::CutOver => "cut-over",
            StepKind::Revoked => "revoked",
            StepKind::Note => "note",
        }
    }
}

/// One step of a drill's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Seconds since the drill started.
    pub t: f64,
    /// What happened.
    pub kind: StepKind,
    /// For probes: the client (`certlab probe`, `curl`, `openssl`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// For probes: what the client was given to trust (`ca.pem`, `old bundle`, `ca.pem + CRL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// For probes: the outcome the client saw (`None`: its words name no outcome certlab knows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Outcome>,
    /// For probes: the outcome the drill expects at this point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// What happened, in words (a client's own error line for a failed probe).
    pub text: String,
}

impl Step {
    /// Whether a probe saw what was expected (steps without an expectation always do).
    pub fn matched(&self) -> bool {
        self.expected.is_none() || self.observed == self.expected
    }

    /// The step as one line of a printed timeline: `t+1.2s  probe  curl  ok  ...`.
    pub fn line(&self) -> String {
        let mut line = format!("t+{:.1}s  {:10}", self.t, self.kind.name());
        if let Some(c) = &self.client {
            let who = match &self.trust {
                Some(t) => format!("{c} ({t})"),
                None => c.clone(),
            };
            let seen = self.observed.map(|o| o.name()).unwrap_or("?");
            line.push_str(&format!("  {who:34} {seen:12}"));
            if !self.matched() {
                let want = self.expected.map(|o| o.name()).unwrap_or("-");
                line.push_str(&format!(" (expected {want})"));
            }
        }
        if !self.text.is_empty() {
            line.push_str("  ");
            line.push_str(&self.text);
        }
        line.trim_end().to_string()
    }
}

/// A timeline being recorded (shared by threads: the steps carry their own times).
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    start: Instant,
    steps: Arc<Mutex<Vec<Step>>>,
}

impl Timeline {
    pub(crate) fn new(start: Instant) -> Self {
        Timeline {
            start,
            steps: Arc::default(),
        }
    }

    pub(crate) fn t(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub(crate) fn push(&self, kind: StepKind, text: impl Into<String>) {
        self.push_step(Step {
            t: self.t(),
            kind,
            client: None,
            trust: None,
            observed: None,
            expected: None,
            text: text.into(),
        });
    }

    pub(crate) fn push_step(&self, step: Step) {
        self.steps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(step);
    }

    pub(crate) fn steps(&self) -> Vec<Step> {
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner()).clone();
        steps.sort_by(|a, b| a.t.total_cmp(&b.t));
        steps
    }
}

/// Why a drill could not run (a probe seeing an unexpected outcome is not an error: it is in
/// the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// The PKI directory could not be written or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Renewing, revoking or re-issuing failed.
    #[error(transparent)]
    Renew(#[from] RenewError),
    /// Issuing the drill's certificates failed.
    #[error(transparent)]
    Issue(#[from] crate::pki::issue::IssueError),
    /// The server could not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A real client could not be run.
    #[error(transparent)]
    Client(#[from] ClientRunError),
    /// A file, a process or a socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The `certlab serve` process did not say where it listens.
    #[error("`certlab serve` did not start: {0}")]
    Process(String),
    /// The drill's PKI is not what the drill needs (a name taken, a scenario missing).
    #[error("{0}")]
    Setup(String),
}

/// A drill's base directory: `keep` (created if needed) or a throwaway one (its [`TempDir`],
/// swept like the lab's when a killed drill leaves it), with its `work` and `bundles`
/// sub-directories made.
///
/// [`TempDir`]: tempfile::TempDir
pub(crate) fn drill_base(
    keep: Option<&std::path::Path>,
) -> Result<(std::path::PathBuf, Option<tempfile::TempDir>), DrillError> {
    let (base, temp) = match keep {
        Some(dir) => (dir.to_path_buf(), None),
        None => {
            let temp = super::scratch::work_dir(super::scratch::Kind::Drill)
                .map_err(io("cannot make a temporary directory"))?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    for sub in ["work", "bundles"] {
        let d = base.join(sub);
        std::fs::create_dir_all(&d).map_err(io(format!("cannot create {}", d.display())))?;
    }
    Ok((base, temp))
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DrillError {
    let what = what.into();
    move |source| DrillError::Io { what, source }
}

/// A server for a scenario of a PKI directory, in this process or as a process, with the
/// reload lines it logged.
pub(crate) struct Server {
    addr: SocketAddr,
    reloads: Arc<Mutex<Vec<String>>>,
    endpoint: Option<Endpoint>,
    child: Option<Child>,
}

impl Server {
    /// Starts serving `scenario` of `dir`, watching the directory every `interval` when given.
    pub(crate) fn start(
        how: &DrillServer,
        dir: &Path,
        scenario: &str,
        reload: Option<Duration>,
    ) -> Result<Server, DrillError> {
        let reloads: Arc<Mutex<Vec<String>>> = Arc::default();
        match how {
            DrillServer::InProcess => {
                let pki = crate::pki::store::load(dir)?;
                let found = pki
                    .all_scenarios()
                    .into_iter()
                    .find(|s| s.name == scenario)
                    .ok_or_else(|| DrillError::Setup(format!("no scenario `{scenario}`")))?;
                let settings = ServeSettings::from_scenario(&pki, &found)?;
                let mut endpoint =
                    crate::serve::serve(settings, SocketAddr::from(([127, 0, 0, 1], 0)))?;
                if let Some(interval) = reload {
                    let seen = reloads.clone();
                    endpoint.watch(
                        ReloadSource::Pki {
                            dir: dir.to_path_buf(),
                            scenario: scenario.to_string(),
                        },
                        interval,
                        Some(Arc::new(move |e: &ReloadEvent| {
                            seen.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(e.to_string());
                        })),
                    )?;
                }
                Ok(Server {
                    addr: endpoint.addr(),
                    reloads,
                    endpoint: Some(endpoint),
                    child: None,
                })
            }
            DrillServer::Process(exe) => {
                let mut cmd = Command::new(exe);
                cmd.arg("serve").arg("--pki").arg(dir).args([
                    "--scenario",
                    scenario,
                    "--listen",
                    "127.0.0.1:0",
                ]);
                if let Some(interval) = reload {
                    cmd.arg("--reload")
                        .arg("--reload-interval")
                        .arg(format!("{}ms", interval.as_millis().max(10)));
                }
                end_with_this_process(&mut cmd);
                let mut child = cmd
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(io(format!("cannot run {}", exe.display())))?;
                let stderr = child.stderr.take().expect("piped");
                let seen = reloads.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        if line.contains("reload") {
                            seen.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                        }
                    }
                });
                let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
                let mut first = String::new();
                let read = stdout.read_line(&mut first);
                // Drain the rest, so the server never blocks on a full pipe.
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut stdout, &mut std::io::sink());
                });
                let addr = first
                    .split_whitespace()
                    .find_map(|w| w.parse::<SocketAddr>().ok());
                match (read, addr) {
                    (Ok(_), Some(addr)) => Ok(Server {
                        addr,
                        reloads,
                        endpoint: None,
                        child: Some(child),
                    }),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(DrillError::Process(format!(
                            "its first line was {:?}",
                            first.trim()
                        )))
                    }
                }
            }
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the server logs a reload to `serial`, at most `budget`; returns the line.
    pub(crate) fn wait_reload(&self, serial: &str, budget: Duration) -> Option<String> {
        let until = Instant::now() + budget;
        loop {
            let found = self
                .reloads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|l| l.contains("reloaded:") && l.contains(serial))
                .cloned();
            if found.is_some() || Instant::now() >= until {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Makes the server process end (SIGTERM) when the thread that started it ends, whatever ends
/// it: a drill killed by a signal (SIGTERM, SIGKILL, a reader gone) must not leave `certlab
/// serve` processes behind. A server lives inside the drill step that started it, on that
/// step's thread, so the thread outlives it.
fn end_with_this_process(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and raise are async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then no signal would ever come.
            if libc::getppid() != parent {
                libc::raise(libc::SIGTERM);
            }
            Ok(())
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(e) = self.endpoint.take() {
            e.stop();
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The real clients a drill runs at every probe, besides certlab's probe.
#[derive(Debug, Clone, Default)]
pub struct DrillClients {
    /// The client families (curl, openssl, ...).
    pub list: Vec<Client>,
    /// Leave out a client that is not installed instead of failing the drill.
    pub skip_missing: bool,
}

/// What the clients of a probe step trust: a label and a PEM file (certificates, and CRLs
/// when the clients should check revocation).
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    pub label: String,
    pub file: PathBuf,
}

/// Probes `addr` with certlab's probe and each real client, every one trusting `trust`, and
/// records one step each with the outcome `expected`.
pub(crate) fn probe_step(
    timeline: &Timeline,
    addr: SocketAddr,
    trust: &Trust,
    clients: &DrillClients,
    workdir: &Path,
    expected: Outcome,
) -> Result<(), DrillError> {
    let roots = crate::pem::read_certs(&trust.file).unwrap_or_default();
    let crls = crate::pem::read_crls(&trust.file).unwrap_or_default();
    let t = timeline.t();
    let options = ProbeOptions {
        trust: Some(TrustStore {
            roots,
            crls,
            ..TrustStore::default()
        }),
        address: Some(addr),
        timeout: Duration::from_secs(5),
        ..ProbeOptions::default()
    };
    let target = crate::tls::join_host_port(DRILL_HOST, addr.port());
    let (observed, text) = match probe(&target, &options) {
        Ok(r) => {
            let serial = r
                .chain
                .first()
                .map(|c| short(&c.serial))
                .unwrap_or_default();
            let words = match r.outcome {
                Outcome::Ok => format!("serial {serial}"),
                _ => format!(
                    "serial {serial}: {}",
                    r.detail.as_deref().unwrap_or(r.explanation)
                ),
            };
            (Some(r.outcome), words)
        }
        Err(e) => (None, e.to_string()),
    };
    timeline.push_step(Step {
        t,
        kind: StepKind::Probe,
        client: Some("certlab probe".into()),
        trust: Some(trust.label.clone()),
        observed,
        expected: Some(expected),
        text,
    });
    for &client in &clients.list {
        let t = timeline.t();
        let job = ClientJob {
            id: "drill".into(),
            addr,
            server_name: DRILL_HOST.into(),
            ca: trust.file.clone(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec![],
            alpn: vec![],
        };
        let answers = match clients::run(client, &[job], workdir) {
            Err(ClientRunError::NotInstalled { .. } | ClientRunError::NotImplemented(_))
                if clients.skip_missing =>
            {
                continue;
            }
            other => other?,
        };
        let (observed, text) = match answers.into_iter().next().map(|a| a.answer) {
            Some(Answer::Accepted) => (Some(Outcome::Ok), String::new()),
            Some(Answer::Rejected(words)) => (
                super::observed_outcome(&words, observed.filter(|o| *o != Outcome::Ok)),
                words,
            ),
            Some(Answer::NotApplicable(why)) => (None, format!("not applicable: {why}")),
            None => (None, "no answer".into()),
        };
        timeline.push_step(Step {
            t,
            kind: StepKind::Probe,
            client: Some(client.to_string()),
            trust: Some(trust.label.clone()),
            observed,
            expected: client_expectation(client, expected),
            text,
        });
    }
    Ok(())
}

/// What a real client must see where certlab's probe must see `expected`. A revoked leaf is
/// the one case where families differ even when handed the CRL: the measured `revoked` cell of
/// the client matrix says what each does (grpc, go, node and chromium take no CRL file and
/// accept; gnutls-cli cannot load this CRL: no cell, the step is not judged).
fn client_expectation(client: Client, expected: Outcome) -> Option<Outcome> {
    if expected != Outcome::Revoked {
        return Some(expected);
    }
    crate::clients::cell(client, "revoked").map(|c| c.outcome)
}

/// A serial number shortened for a timeline: `3f:a0:…:9c`.
pub(crate) fn short(serial: &str) -> String {
    let parts: Vec<&str> = serial.split(':').collect();
    if parts.len() <= 4 {
        return serial.to_string();
    }
    format!("{}:{}:…:{}", parts[0], parts[1], parts[parts.len() - 1])
}

/// A TLS connection opened and kept, to be used after a rotation.
pub(crate) struct HeldConnection {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    /// The serial of the leaf presented at the handshake.
    pub serial: String,
}

impl HeldConnection {
    /// Connects to `addr` as `localhost`, trusting the certificates of `ca`, and finishes the
    /// handshake (verifying at the real time).
    pub(crate) fn open(addr: SocketAddr, ca: &Path) -> Result<HeldConnection, String> {
        let mut roots = rustls::RootCertStore::empty();
        for c in crate::pem::read_certs(ca).map_err(|e| e.to_string())? {
            roots.add(c).map_err(|e| e.to_string())?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = DRILL_HOST.try_into().map_err(|_| "bad name".to_string())?;
        let conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let tcp =
            TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| e.to_string())?;
        }
        let serial = tls
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| crate::x509::Cert::parse(c).ok())
            .map(|c| c.serial_hex())
            .unwrap_or_default();
        Ok(HeldConnection { tls, serial })
    }

    /// Sends `GET /` over the connection and returns the status line of the answer.
    pub(crate) fn request(mut self) -> Result<String, String> {
        self.tls
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .map_err(|e| e.to_string())?;
        self.tls.flush().map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        match self.tls.read_to_end(&mut answer) {
            Ok(_) => {}
            // What came before an unclean close is still the answer.
            Err(e) if !answer.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(e.to_string()),
        }
        let text = String::from_utf8_lossy(&answer);
        text.lines()
            .next()
            .map(str::to_string)
            .filter(|l| l.starts_with("HTTP/"))
            .ok_or_else(|| format!("no HTTP answer ({} bytes)", answer.len()))
    }
}

/// Sleeps until `at` (real time), if it is in the future.
pub(crate) fn sleep_until(at: time::OffsetDateTime) {
    let left = at - time::OffsetDateTime::now_utc();
    if left.is_positive() {
        std::thread::sleep(left.unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_given_the_crl_is_judged_by_its_measured_revoked_cell() {
        assert_eq!(
            client_expectation(Client::Curl, Outcome::Revoked),
            Some(Outcome::Revoked)
        );
        assert_eq!(
            client_expectation(Client::Go, Outcome::Revoked),
            Some(Outcome::Ok)
        );
        assert_eq!(client_expectation(Client::Gnutls, Outcome::Revoked), None);
        assert_eq!(
            client_expectation(Client::Go, Outcome::Expired),
            Some(Outcome::Expired)
        );
    }
}
