//! The lab: build the `lab` PKI, serve every scenario on loopback, probe each with the client
//! its scenario describes, and compare what was observed with what was expected.
//!
//! This is certlab's main job in one call: every classic TLS handshake error, reproduced on a
//! live endpoint and named by the same verifier a user would point at their own server.
//!
//! ```
//! use certlab::lab::{run, LabOptions};
//!
//! let report = run(&LabOptions {
//!     only: vec!["good".into(), "expired".into(), "client-none".into()],
//!     ..LabOptions::default()
//! })
//! .expect("the lab runs");
//! for row in &report.scenarios {
//!     println!("{:12} expected {:?}, observed {:?}", row.name, row.expected, row.observed);
//! }
//! assert!(report.all_matched());
//! ```

pub mod clients;
pub mod drill;
pub mod revocation;
pub mod rotation;
pub(crate) mod scratch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pki_types::PrivateKeyDer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::clients::Client;
use crate::outcome::Outcome;
use crate::pki::model::{Expectation, ServeRefusal};
use crate::pki::scenario::Scenario;
use crate::pki::store::{self, StoreError};
use crate::pki::{Pki, spec};
use crate::serve::{Endpoint, ServeError, ServeSettings, serve};
use crate::verify::classify::TrustStore;
use crate::verify::probe::{ProbeError, ProbeOptions, ProbeReport, probe};
use clients::{Answer, ClientAnswer, ClientRunError};

/// The `version` field of a [`LabReport`].
pub const LAB_REPORT_VERSION: u32 = 1;

/// The built-in template the lab builds.
pub const LAB_TEMPLATE: &str = "lab";

/// How to run the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// The time the PKI is issued at, and that the probes and the servers (for client
    /// certificates) check at (`None`: now).
    pub now: Option<OffsetDateTime>,
    /// Run only the scenarios with these names (empty: all).
    pub only: Vec<String>,
    /// Write the PKI into this directory and keep it (`None`: a temporary directory, removed
    /// with the report).
    pub keep: Option<PathBuf>,
    /// Keep every endpoint running in the report ([`LabReport::endpoints`]) instead of stopping
    /// them after the probes.
    pub keep_serving: bool,
    /// The budget of each probe (connect plus handshake).
    pub timeout: Duration,
    /// How many scenarios are served and probed at once (default: twice the cores, as each
    /// worker waits on its server half of the time; on 2 cores 4 was ~1.5 ms faster than 8
    /// and than 2, hyperfine).
    pub parallel: usize,
    /// Real clients to run against every served scenario as well ([`ClientCell`]s per row);
    /// empty: none (the lab then runs only certlab's probe).
    pub clients: Vec<Client>,
    /// Skip a client that is not installed (and say so in [`LabReport::skipped_clients`])
    /// instead of failing with [`LabError::Client`].
    pub skip_missing_clients: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            now: None,
            only: Vec::new(),
            keep: None,
            keep_serving: false,
            timeout: Duration::from_secs(5),
            parallel: crate::pki::issue::available_cores() * 2,
            clients: Vec::new(),
            skip_missing_clients: false,
        }
    }
}

/// Why the lab could not run at all (a failing scenario is a row, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// `--only` names a scenario the lab does not have.
    #[error("unknown scenario `{name}` (the lab has: {known})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The lab's scenario names.
        known: String,
    },
    /// The built-in template does not build.
    #[error("the lab template does not build: {0}")]
    Build(String),
    /// Writing or reusing the PKI directory failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A temporary directory could not be made.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    /// The PKI read back from its files is not the one that was served (a bug of certlab's
    /// writer or reader: every served scenario is suspect).
    #[error("the lab PKI read back from its files differs from the one served: {0}")]
    ReadBack(String),
    /// A real client asked for could not run (not installed, or its output unreadable).
    #[error(transparent)]
    Client(#[from] ClientRunError),
}

/// One scenario of the lab: what was expected, what was observed.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    /// The scenario name.
    pub name: String,
    /// The expected outcome, or for a server that must refuse to start, its refusal
    /// (`key-mismatch`); serialized as the name.
    pub expected: Option<Expectation>,
    /// The observed outcome, or the refusal when the server did not start; `None` when
    /// neither was seen (the server failed otherwise, or the probe could not run: `detail`
    /// says why).
    pub observed: Option<Expectation>,
    /// Whether observed equals expected.
    pub matched: bool,
    /// The endpoint's address, when it was served.
    pub address: Option<String>,
    /// What OpenSSL / curl print for the observed outcome (and where a real client differs,
    /// the manifest's `expected_by_client`).
    pub client_says: String,
    /// The fix, in the user's terms.
    pub fix: String,
    /// Specifics: which certificate, which alert, the serve error.
    pub detail: Option<String>,
    /// What each real client asked for said (`--clients`), in the order asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientCell>,
    /// The full probe report, when a probe ran.
    #[serde(skip)]
    pub report: Option<ProbeReport>,
    /// The scenario itself.
    #[serde(skip)]
    pub scenario: Scenario,
}

impl ScenarioResult {
    /// The observed outcome, when a probe ran.
    pub fn observed_outcome(&self) -> Option<Outcome> {
        self.report.as_ref().map(|r| r.outcome)
    }
}

/// The lab's result: one row per scenario (`certlab lab --json`).
#[derive(Debug, Serialize)]
pub struct LabReport {
    /// Report format version ([`LAB_REPORT_VERSION`]).
    pub version: u32,
    /// One row per scenario, in the lab's order.
    pub scenarios: Vec<ScenarioResult>,
    /// How many scenarios ran.
    pub total: usize,
    /// How many matched their expectation.
    pub matched: usize,
    /// Where the PKI files are: the `keep` directory, or a temporary directory that lives as
    /// long as the report when real clients or `keep_serving` use it (otherwise it is removed
    /// once read back).
    pub dir: PathBuf,
    /// Whether `dir` is temporary (removed with the report).
    pub temporary: bool,
    /// Milliseconds the whole run took.
    pub elapsed_ms: f64,
    /// The real clients that ran (`--clients`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// The real clients asked for that were skipped, and why (`--clients installed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_clients: Vec<SkippedClient>,
    /// How many client cells there are, and how many matched the measured table.
    pub client_cells: usize,
    /// How many client cells matched.
    pub client_cells_matched: usize,
    /// The running endpoints (scenario name, endpoint), when asked to keep serving.
    #[serde(skip)]
    pub endpoints: Vec<(String, Endpoint)>,
    /// The PKI that was served.
    #[serde(skip)]
    pub pki: Pki,
    #[serde(skip)]
    _tempdir: Option<tempfile::TempDir>,
}

impl LabReport {
    /// Whether every scenario matched, and every real client's cell.
    pub fn all_matched(&self) -> bool {
        self.matched == self.total && self.client_cells_matched == self.client_cells
    }
}

/// Builds the lab PKI at `now` (in memory).
pub fn lab_pki(now: OffsetDateTime) -> Result<Pki, LabError> {
    let spec = lab_spec()?;
    store::build(spec, now).map_err(|e| LabError::Build(e.to_string()))
}

fn lab_spec() -> Result<&'static spec::Spec, LabError> {
    spec::lab_template().map_err(|e| LabError::Build(e.to_string()))
}

/// The probe a scenario's client makes: it trusts `ca.pem` (the PKI's trusted roots) and knows
/// the PKI's intermediates, checks the CRLs of the issuers the scenario names, and uses the
/// scenario's servername, TLS version, cipher suites, ALPN and client certificate. `address`
/// is where the endpoint listens (the host is still the name checked).
pub fn probe_options(
    pki: &Pki,
    scenario: &Scenario,
    address: Option<SocketAddr>,
    now: OffsetDateTime,
    timeout: Duration,
) -> ProbeOptions {
    let client = &scenario.client;
    let crls = client
        .crl
        .iter()
        .filter_map(|n| pki.entity(n).and_then(|e| e.crl.clone()))
        .collect();
    let client_cert = client.cert.as_ref().and_then(|n| pki.entity(n)).map(|e| {
        let chain = e.chain_or_cert().to_vec();
        let key: PrivateKeyDer<'static> = e.key.to_private_key_der();
        (chain, key)
    });
    ProbeOptions {
        // Only the CRLs the scenario names: a client without them does not see revocations.
        trust: Some(TrustStore {
            crls,
            ..TrustStore::from_pki(pki)
        }),
        servername: client.servername.clone(),
        client_cert,
        tls: client.tls,
        ciphers: client.ciphers.clone(),
        alpn: client.alpn.clone(),
        require_alpn: !client.alpn.is_empty(),
        timeout,
        now: Some(now),
        address,
        ..ProbeOptions::default()
    }
}

/// The refusal a serve error stands for, if it is one a scenario can expect.
pub fn serve_refusal(e: &ServeError) -> Option<ServeRefusal> {
    match e {
        ServeError::KeyMismatch(_) => Some(ServeRefusal::KeyMismatch),
        _ => None,
    }
}

/// What a real client prints for an outcome, with the clients the manifest says differ.
fn client_says(outcome: Outcome, scenario: &Scenario) -> String {
    let mut text = outcome.client_says().to_string();
    let differ: Vec<String> = scenario
        .expected_by_client
        .iter()
        .filter(|(_, o)| **o != outcome)
        .map(|(client, o)| format!("{client}: {o}"))
        .collect();
    if !differ.is_empty() {
        text.push_str(&format!(" ({})", differ.join(", ")));
    }
    text
}

/// Refuses an `--only` name the lab's PKI has no scenario for.
fn check_only(pki: &Pki, only: &[String]) -> Result<(), LabError> {
    let all = pki.all_scenarios();
    match only
        .iter()
        .find(|name| !all.iter().any(|s| &s.name == *name))
    {
        None => Ok(()),
        Some(name) => Err(LabError::UnknownScenario {
            name: name.clone(),
            known: all
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// What serving and probing every scenario produced: the scenarios (those of `--only`), and
/// per scenario its endpoint (or why it did not start) and its probe.
type Probed = (
    Vec<Scenario>,
    Vec<Result<Served, ServeError>>,
    Vec<Option<Result<ProbeReport, ProbeError>>>,
);

/// Serves every scenario of `pki` and probes it as soon as it listens, on every core: each
/// worker takes the next scenario, starts its endpoint, probes it. An endpoint nothing uses
/// after its probe (no real clients, no `keep_serving`) is stopped at once, so that the next
/// scenario of the worker takes its thread (serve/pool.rs) instead of starting one.
fn serve_and_probe(options: &LabOptions, pki: &Pki, now: OffsetDateTime) -> Probed {
    let scenarios: Vec<Scenario> = pki
        .all_scenarios()
        .into_iter()
        .filter(|s| options.only.is_empty() || options.only.contains(&s.name))
        .collect();
    let keep_endpoints = options.keep_serving || !options.clients.is_empty();
    type Slot = Option<(
        Result<Served, ServeError>,
        Option<Result<ProbeReport, ProbeError>>,
    )>;
    let slots: Vec<Mutex<Slot>> = scenarios.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = options.parallel.clamp(1, scenarios.len().max(1));
    std::thread::scope(|probes| {
        for _ in 0..workers {
            probes.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = scenarios.get(i) else { break };
                    let served = ServeSettings::from_scenario(pki, s).and_then(|mut settings| {
                        settings.now = options.now;
                        serve(settings, s.listen_addr())
                    });
                    let report = served.as_ref().ok().map(|ep| {
                        let addr = ep.addr();
                        let opts = probe_options(pki, s, Some(addr), now, options.timeout);
                        let target = crate::tls::join_host_port(s.client.host(), addr.port());
                        probe(&target, &opts)
                    });
                    let served = served.map(|ep| Served {
                        addr: ep.addr(),
                        endpoint: if keep_endpoints {
                            Some(ep)
                        } else {
                            ep.stop();
                            None
                        },
                    });
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some((served, report));
                }
            });
        }
    });
    let (served, reports) = slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every scenario was taken by a worker")
        })
        .unzip();
    (scenarios, served, reports)
}

/// Where the PKI read back from the lab's files differs from the one served, if anywhere:
/// every entity's name, role, certificate, key, chain, CRL and trust, and every scenario.
fn readback_difference(served: &Pki, read: &Pki) -> Option<String> {
    if served.entities.len() != read.entities.len() {
        return Some(format!(
            "{} entities served, {} read back",
            served.entities.len(),
            read.entities.len()
        ));
    }
    for (a, b) in served.entities.iter().zip(&read.entities) {
        if a.name != b.name {
            return Some(format!("`{}` read back as `{}`", a.name, b.name));
        }
        let differs = [
            ("role", a.role != b.role),
            ("certificate", a.cert != b.cert),
            ("key", a.key != b.key),
            ("chain", a.chain != b.chain),
            ("CRL", a.crl != b.crl),
            ("trust", a.trusted != b.trusted),
        ];
        if let Some((what, _)) = differs.iter().find(|(_, d)| *d) {
            return Some(format!("the {what} of `{}`", a.name));
        }
    }
    let (a, b) = (served.all_scenarios(), read.all_scenarios());
    match a.iter().zip(&b).find(|(x, y)| x != y) {
        Some((x, _)) => Some(format!("the scenario `{}`", x.name)),
        None if a.len() != b.len() => Some(format!(
            "{} scenarios served, {} read back",
            a.len(),
            b.len()
        )),
        None => None,
    }
}

/// Runs the lab: build, write, serve, probe, compare.
pub fn run(options: &LabOptions) -> Result<LabReport, LabError> {
    let started = std::time::Instant::now();
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let spec = lab_spec()?;

    // Built in memory first, so a bad `--only` stops before anything is written.
    let built = store::build(spec, now).map_err(|e| LabError::Build(e.to_string()))?;
    check_only(&built, &options.only)?;

    // Then through the files, as every other certlab command sees a PKI. A kept directory is
    // generated (reusing the CAs already there) and what is served is what is read back from
    // its manifest. A temporary directory is made, written and read back on a thread of its
    // own while the PKI built in memory is served and probed (writing and reading the ~100
    // files took ~5 ms of a ~25 ms lab), and the lab fails unless what was read back is
    // exactly what was served.
    let kept = match &options.keep {
        Some(dir) => {
            store::generate(spec, dir, now, false)?;
            Some((dir.clone(), store::load(dir)?))
        }
        None => None,
    };
    let serving = kept.as_ref().map_or(&built, |(_, pki)| pki);
    let ((scenarios, served, reports), read_back) = std::thread::scope(|s| {
        let reading = kept.is_none().then(|| {
            s.spawn(|| {
                let tmp = scratch::lab_dir().map_err(LabError::TempDir)?;
                store::write(&built, tmp.path())?;
                let read = store::load(tmp.path())?;
                // Read back, the files are needed only by real clients and `keep_serving`:
                // otherwise they go now, while the probes run, instead of at the end.
                if options.clients.is_empty() && !options.keep_serving {
                    let _ = std::fs::remove_dir_all(tmp.path());
                }
                Ok::<_, LabError>((tmp, read))
            })
        });
        let probed = serve_and_probe(options, serving, now);
        let read_back = reading.map(|r| r.join().expect("the read-back thread panicked"));
        (probed, read_back)
    });
    let (dir, tempdir, pki) = match (read_back, kept) {
        (Some(read), _) => {
            let (tmp, read) = read?;
            if let Some(difference) = readback_difference(&built, &read) {
                return Err(LabError::ReadBack(difference));
            }
            (tmp.path().to_path_buf(), Some(tmp), read)
        }
        (None, Some((dir, kept))) => (dir, None, kept),
        (None, None) => unreachable!("the PKI is either read back or kept"),
    };

    // Real clients, while the endpoints are up.
    let (ran_clients, skipped_clients, mut answers) =
        run_clients(options, &pki, &dir, &scenarios, &served)?;

    let mut rows = Vec::new();
    let mut endpoints = Vec::new();
    for (i, ((s, served), report)) in scenarios.iter().zip(served).zip(reports).enumerate() {
        let mut r = row(s, &served, report);
        r.clients = ran_clients
            .iter()
            .zip(answers.iter_mut())
            .filter_map(|(client, per_scenario)| {
                per_scenario[i]
                    .take()
                    .map(|answer| ClientCell::of(*client, &s.name, s.expected, answer))
            })
            .collect();
        rows.push(r);
        if let Ok(Served {
            endpoint: Some(ep), ..
        }) = served
            && options.keep_serving
        {
            endpoints.push((s.name.clone(), ep));
        }
    }
    let matched = rows.iter().filter(|r| r.matched).count();
    let cells = rows.iter().flat_map(|r| &r.clients);
    let client_cells = cells.clone().count();
    let client_cells_matched = cells.filter(|c| c.matched).count();
    Ok(LabReport {
        clients: ran_clients.iter().map(|c| c.name().to_string()).collect(),
        skipped_clients,
        client_cells,
        client_cells_matched,
        version: LAB_REPORT_VERSION,
        total: rows.len(),
        matched,
        scenarios: rows,
        dir,
        temporary: tempdir.is_some(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        endpoints,
        pki,
        _tempdir: tempdir,
    })
}

/// A scenario's endpoint as it started: where it listened, and the endpoint itself while it
/// is kept (for real clients or `keep_serving`).
struct Served {
    addr: SocketAddr,
    endpoint: Option<Endpoint>,
}

/// One row: the scenario's expectation against what serving and probing produced.
fn row(
    s: &Scenario,
    served: &Result<Served, ServeError>,
    report: Option<Result<ProbeReport, ProbeError>>,
) -> ScenarioResult {
    let mut result = ScenarioResult {
        name: s.name.clone(),
        expected: s.expectation(),
        observed: None,
        matched: false,
        address: None,
        client_says: "-".to_string(),
        fix: "-".to_string(),
        detail: None,
        clients: Vec::new(),
        report: None,
        scenario: s.clone(),
    };
    match served {
        Err(e) => {
            let refusal = serve_refusal(e);
            result.observed = refusal.map(Expectation::ServeRefuses);
            result.detail = Some(e.to_string());
            result.matched = refusal.is_some() && s.serve_error == refusal;
            if refusal == Some(ServeRefusal::KeyMismatch) {
                result.client_says = "- (the server does not start)".to_string();
                result.fix = crate::verify::fix::KEY_MISMATCH_FIX.to_string();
            }
        }
        Ok(ep) => {
            result.address = Some(ep.addr.to_string());
            match report {
                Some(Ok(r)) => {
                    result.observed = Some(Expectation::Outcome(r.outcome));
                    result.matched = result.expected == result.observed;
                    result.client_says = client_says(r.outcome, s);
                    result.fix = r.fix.clone();
                    result.detail = r.detail.clone();
                    result.report = Some(r);
                }
                Some(Err(e)) => result.detail = Some(format!("probe: {e}")),
                None => result.detail = Some("not probed".to_string()),
            }
            if s.serve_error.is_some() && result.detail.is_none() {
                result.detail = Some("the server started although it should have refused".into());
            }
        }
    }
    result
}

/// A real client asked for that did not run.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedClient {
    /// The family.
    pub client: String,
    /// Why (`curl is not installed: curl not found`).
    pub reason: String,
}

/// What one real client said for one scenario, against the measured table
/// ([`crate::clients::cell`]).
#[derive(Debug, Clone, Serialize)]
pub struct ClientCell {
    /// The family (`curl`, `python3.13`, ...).
    pub client: String,
    /// The measured outcome for this scenario; `None` when the table has none (not measured,
    /// or the client cannot express the scenario).
    pub expected: Option<Outcome>,
    /// The measured words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_words: Option<String>,
    /// The outcome observed: `ok` for an accepted handshake, else read from the client's words
    /// (the measured cell's outcome when the words contain its words, else
    /// [`crate::explain::find`]); `None` when unrecognised or not applicable.
    pub observed: Option<Outcome>,
    /// The client's own words (empty when it accepted).
    pub words: String,
    /// Why the client cannot express this scenario, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// Whether the observation equals the measured cell (outcome, and words contained).
    pub matched: bool,
}

impl ClientCell {
    /// Compares one client's answer for `scenario` (whose certlab verdict is `certlab`) with
    /// the measured table.
    pub fn of(
        client: Client,
        scenario: &str,
        certlab: Option<Outcome>,
        answer: Answer,
    ) -> ClientCell {
        let cell = crate::clients::cell(client, scenario);
        let mut out = ClientCell {
            client: client.name().to_string(),
            expected: cell.map(|c| c.outcome),
            expected_words: cell
                .filter(|c| !c.words.is_empty())
                .map(|c| c.words.to_string()),
            observed: None,
            words: String::new(),
            not_applicable: None,
            matched: false,
        };
        match answer {
            Answer::Accepted => {
                out.observed = Some(Outcome::Ok);
                out.matched = cell.is_some_and(|c| c.outcome == Outcome::Ok && c.words.is_empty());
            }
            Answer::Rejected(words) => {
                let recorded = cell.filter(|c| !c.words.is_empty() && words.contains(c.words));
                out.observed = match recorded {
                    Some(c) => Some(c.outcome),
                    None => observed_outcome(&words, certlab),
                };
                out.matched = recorded.is_some();
                out.words = words;
            }
            Answer::NotApplicable(why) => {
                out.matched = cell.is_none();
                out.not_applicable = Some(why);
            }
        }
        out
    }

    /// The cell as one row of a `measured/FAMILY.rs` table (what `--print-cells` prints): the
    /// observed outcome and the words. An outcome that `explain` cannot read from the words is
    /// marked for a person to decide.
    pub fn rust_row(&self, scenario: &str) -> String {
        if let Some(why) = &self.not_applicable {
            return format!("    // {scenario}: not applicable: {why}");
        }
        let outcome = match self.observed {
            Some(o) => format!("Outcome::{o:?}"),
            None => "Outcome::Ok /* FIXME: explain does not know these words */".to_string(),
        };
        format!(
            "    Cell {{ scenario: {scenario:?}, outcome: {outcome}, words: {:?} }},",
            self.words
        )
    }
}

/// The outcome a client's words stand for, as `explain` reads them: the pattern's outcome, or
/// `certlab` (the scenario's own verdict) when that is one of the outcomes the pattern can mean
/// (`unable to get local issuer certificate` is `incomplete-chain` for a server that did not
/// send its intermediate).
pub fn observed_outcome(words: &str, certlab: Option<Outcome>) -> Option<Outcome> {
    let m = crate::explain::find(words)?;
    match certlab {
        Some(c) if m.pattern.outcome == c || m.pattern.also.contains(&c) => Some(c),
        _ => Some(m.pattern.outcome),
    }
}

type ClientRuns = (Vec<Client>, Vec<SkippedClient>, Vec<Vec<Option<Answer>>>);

/// Runs every client of `options` against the served scenarios, one thread per family;
/// returns the families that ran, those skipped, and per family one answer per scenario.
fn run_clients(
    options: &LabOptions,
    pki: &Pki,
    dir: &std::path::Path,
    scenarios: &[Scenario],
    served: &[Result<Served, ServeError>],
) -> Result<ClientRuns, LabError> {
    if options.clients.is_empty() {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let workdir = scratch::work_dir(scratch::Kind::Clients).map_err(LabError::TempDir)?;
    let mut jobs = Vec::new();
    let mut index = Vec::new();
    for (i, (s, ep)) in scenarios.iter().zip(served).enumerate() {
        if let Ok(ep) = ep {
            let job = clients::job_for(pki, dir, s, ep.addr, workdir.path())
                .map_err(LabError::TempDir)?;
            jobs.push(job);
            index.push(i);
        }
    }
    let mut families: Vec<Client> = Vec::new();
    for c in &options.clients {
        if !families.contains(c) {
            families.push(*c);
        }
    }
    let results: Vec<Result<Vec<ClientAnswer>, ClientRunError>> = std::thread::scope(|t| {
        let handles: Vec<_> = families
            .iter()
            .map(|&c| {
                let jobs = &jobs;
                let workdir = workdir.path();
                t.spawn(move || clients::run(c, jobs, workdir))
            })
            .collect();
        handles
            .into_iter()
            .zip(&families)
            .map(|(h, &c)| {
                h.join().unwrap_or_else(|_| {
                    Err(ClientRunError::Failed {
                        client: c,
                        reason: "its runner panicked".to_string(),
                    })
                })
            })
            .collect()
    });
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    let mut answers = Vec::new();
    for (c, result) in families.into_iter().zip(results) {
        match result {
            Ok(list) => {
                let mut per_scenario: Vec<Option<Answer>> =
                    scenarios.iter().map(|_| None).collect();
                for (answer, &i) in list.into_iter().zip(&index) {
                    per_scenario[i] = Some(answer.answer);
                }
                ran.push(c);
                answers.push(per_scenario);
            }
            Err(e @ (ClientRunError::NotInstalled { .. } | ClientRunError::NotImplemented(_)))
                if options.skip_missing_clients =>
            {
                skipped.push(SkippedClient {
                    client: c.name().to_string(),
                    reason: e.to_string(),
                })
            }
            Err(e) => return Err(LabError::Client(e)),
        }
    }
    Ok((ran, skipped, answers))
}

/// The client matrix as a Markdown table: one row per scenario, one column per family of
/// `clients` (in that order), each cell the measured outcome and the client's words, from the
/// measured table ([`crate::clients::cell`]) alone; `-` where a family has no cell (it cannot
/// express the scenario, or the server does not start). This is the README's "Client matrix".
pub fn matrix_table(scenarios: &[String], clients: &[Client]) -> String {
    matrix_rows(scenarios, clients, |c, name| {
        crate::clients::cell(c, name).map(|cell| (cell.outcome.to_string(), cell.words.to_string()))
    })
}

/// The families that have measured cells, in table order.
pub fn measured_clients() -> Vec<Client> {
    crate::clients::ALL_CLIENTS
        .iter()
        .copied()
        .filter(|&c| !crate::clients::cells(c).is_empty())
        .collect()
}

/// The matrix a lab run with clients observed, as [`matrix_table`] prints the measured one:
/// the families that ran, every scenario of the run, each cell the observed outcome and the
/// client's words (a matched cell: the measured words it contains, without the ports and
/// times that vary). When every cell matched, the two are equal (`certlab lab --clients ...
/// --markdown` regenerates the README's matrix).
pub fn matrix_markdown(report: &LabReport) -> String {
    let clients: Vec<Client> = report
        .clients
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let names: Vec<String> = report.scenarios.iter().map(|s| s.name.clone()).collect();
    matrix_rows(&names, &clients, |c, name| {
        let row = report.scenarios.iter().find(|s| s.name == name)?;
        let cell = row.clients.iter().find(|x| x.client == c.name())?;
        // A matched cell's words contain the measured ones; print those (no ports or times).
        let words = match &cell.expected_words {
            Some(w) if cell.matched => w.clone(),
            _ => cell.words.clone(),
        };
        match (cell.observed, &cell.not_applicable) {
            (Some(o), _) => Some((o.to_string(), words)),
            (None, Some(_)) => None,
            // Words no pattern reads: shown, so that a failed run says what the client said.
            (None, None) => Some(("unread".to_string(), words)),
        }
    })
}

fn matrix_rows(
    scenarios: &[String],
    clients: &[Client],
    cell: impl Fn(Client, &str) -> Option<(String, String)>,
) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    out.push_str("| scenario | certlab |");
    for c in clients {
        out.push_str(&format!(" {} |", c.name()));
    }
    out.push_str("\n| --- | --- |");
    for _ in clients {
        out.push_str(" --- |");
    }
    out.push('\n');
    let expected = crate::explain::lab_scenario_table();
    for name in scenarios {
        let certlab = expected
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, o)| *o)
            .map_or("-".to_string(), |o| format!("`{o}`"));
        out.push_str(&format!("| `{name}` | {certlab} |"));
        for &c in clients {
            let text = match cell(c, name) {
                None => "-".to_string(),
                Some((outcome, words)) if words.is_empty() => format!("`{outcome}`"),
                Some((outcome, words)) => format!("`{outcome}`: `{}`", escape(&words)),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod client_cell_tests {
    use super::*;

    /// The check that makes serving the in-memory PKI while its files are written honest: a
    /// PKI read back equal to the served one passes, and any difference in what a scenario
    /// serves or trusts is named.
    #[test]
    fn a_read_back_pki_must_be_the_served_one() {
        let now = OffsetDateTime::now_utc();
        let built = lab_pki(now).unwrap();
        let dir = tempfile::tempdir().unwrap();
        store::write(&built, dir.path()).unwrap();
        let read = store::load(dir.path()).unwrap();
        assert_eq!(readback_difference(&built, &read), None);

        let other = lab_pki(now).unwrap(); // new keys, new certificates
        let i = built
            .entities
            .iter()
            .position(|e| e.name == "good")
            .unwrap();
        let tamper = |change: &dyn Fn(&mut Pki)| {
            let mut read = read.clone();
            change(&mut read);
            readback_difference(&built, &read)
        };
        let said = |what: &str| Some(format!("the {what} of `good`"));
        assert_eq!(
            tamper(&|p| p.entities[i].key = other.entities[i].key.clone()),
            said("key")
        );
        assert_eq!(
            tamper(&|p| p.entities[i].cert = other.entities[i].cert.clone()),
            said("certificate")
        );
        assert_eq!(tamper(&|p| p.entities[i].chain.clear()), said("chain"));
        assert_eq!(
            tamper(&|p| p.entities[i].trusted = !p.entities[i].trusted),
            said("trust")
        );
        let revoked = built.entities.iter().position(|e| e.crl.is_some()).unwrap();
        assert!(tamper(&|p| p.entities[revoked].crl = None).is_some());
        assert!(
            tamper(&|p| {
                p.entities.pop();
            })
            .is_some()
        );
        assert!(tamper(&|p| p.entities[i].name = "bad".into()).is_some());
        assert_eq!(
            tamper(&|p| p.scenarios[0].client.servername = Some("elsewhere".into())),
            Some(format!("the scenario `{}`", built.scenarios[0].name))
        );
    }

    /// The temporary PKI is removed once read back when nothing needs its files, and kept
    /// while the endpoints are kept (their reproduce commands name its files).
    #[test]
    fn the_temporary_pki_lives_only_as_long_as_something_uses_it() {
        let only = vec!["good".to_string()];
        let report = run(&LabOptions {
            only: only.clone(),
            ..LabOptions::default()
        })
        .unwrap();
        assert!(report.all_matched() && report.temporary);
        assert!(!report.dir.exists(), "{}", report.dir.display());
        let report = run(&LabOptions {
            only,
            keep_serving: true,
            ..LabOptions::default()
        })
        .unwrap();
        assert!(report.dir.join("certlab.json").is_file());
        assert!(report.dir.join("good.key").is_file());
        let dir = report.dir.clone();
        drop(report);
        assert!(!dir.exists(), "{}", dir.display());
    }

    /// Each worker stops an endpoint after its probe, so the next scenario takes its thread:
    /// 32 scenarios on the default workers start a handful of threads, not one each. (Other
    /// tests of this binary may start a few pool threads meanwhile: the bound allows them.)
    #[test]
    fn the_lab_reuses_the_threads_of_its_endpoints() {
        let before = crate::serve::pool::threads_started();
        let report = run(&LabOptions::default()).unwrap();
        let started = crate::serve::pool::threads_started() - before;
        assert!(report.all_matched(), "{:?}", report.scenarios);
        assert!(report.total >= 30, "{}", report.total);
        assert!(
            started <= 12,
            "{started} threads started for {} scenarios",
            report.total
        );
        assert!(report.endpoints.is_empty());
    }

    #[test]
    fn a_cell_matches_on_the_measured_outcome_and_words() {
        let expired = Some(Outcome::Expired);
        // The measured words, within longer output: matched, the measured outcome.
        let c = ClientCell::of(
            Client::Curl,
            "expired",
            expired,
            Answer::Rejected(
                "curl: (60) SSL certificate problem: certificate has expired (more)".into(),
            ),
        );
        assert!(c.matched, "{c:?}");
        assert_eq!(c.observed, Some(Outcome::Expired));
        assert_eq!(c.expected, Some(Outcome::Expired));
        // Other words: explain reads them; no match.
        let c = ClientCell::of(
            Client::Curl,
            "expired",
            expired,
            Answer::Rejected(
                "curl: (60) SSL certificate problem: certificate is not yet valid".into(),
            ),
        );
        assert!(!c.matched);
        assert_eq!(c.observed, Some(Outcome::NotYetValid));
        // Accepted where the table says it refuses.
        let c = ClientCell::of(Client::Curl, "expired", expired, Answer::Accepted);
        assert!(!c.matched);
        assert_eq!(c.observed, Some(Outcome::Ok));
        // Accepted where the table says so (curl falls back to http/1.1).
        let c = ClientCell::of(
            Client::Curl,
            "alpn-no-h2",
            Some(Outcome::AlpnMismatch),
            Answer::Accepted,
        );
        assert!(c.matched, "{c:?}");
        // Not applicable: a match only where the table has no cell.
        let na = |scenario| {
            ClientCell::of(
                Client::Python,
                scenario,
                None,
                Answer::NotApplicable("cannot".into()),
            )
        };
        assert!(na("cipher-mismatch").matched);
        assert!(!na("expired").matched);
        assert_eq!(na("expired").observed, None);
    }

    #[test]
    fn words_read_as_the_scenarios_verdict_when_they_allow_it() {
        let words = "unable to get local issuer certificate";
        assert_eq!(
            observed_outcome(words, Some(Outcome::IncompleteChain)),
            Some(Outcome::IncompleteChain)
        );
        assert_eq!(
            observed_outcome(words, Some(Outcome::Expired)),
            Some(Outcome::UnknownCa)
        );
        assert_eq!(observed_outcome("printer on fire", None), None);
    }
}
