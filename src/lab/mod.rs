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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pki_types::PrivateKeyDer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::outcome::Outcome;
use crate::pki::model::{Expectation, ServeRefusal};
use crate::pki::scenario::Scenario;
use crate::pki::store::{self, StoreError};
use crate::pki::{Pki, spec};
use crate::serve::{Endpoint, ServeError, ServeSettings, serve};
use crate::verify::classify::TrustStore;
use crate::verify::probe::{ProbeError, ProbeOptions, ProbeReport, probe};

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
    /// How many probes run at once.
    pub parallel: usize,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            now: None,
            only: Vec::new(),
            keep: None,
            keep_serving: false,
            timeout: Duration::from_secs(5),
            parallel: 8,
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
    /// long as the report.
    pub dir: PathBuf,
    /// Whether `dir` is temporary (removed with the report).
    pub temporary: bool,
    /// Milliseconds the whole run took.
    pub elapsed_ms: f64,
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
    /// Whether every scenario matched.
    pub fn all_matched(&self) -> bool {
        self.matched == self.total
    }
}

/// Builds the lab PKI at `now` (in memory).
pub fn lab_pki(now: OffsetDateTime) -> Result<Pki, LabError> {
    let spec = lab_spec()?;
    store::build(&spec, now).map_err(|e| LabError::Build(e.to_string()))
}

fn lab_spec() -> Result<spec::Spec, LabError> {
    let template = spec::template(LAB_TEMPLATE)
        .ok_or_else(|| LabError::Build("no built-in `lab` template".to_string()))?;
    spec::parse(template.name, template.text).map_err(|e| LabError::Build(e.to_string()))
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

/// What a real client prints for an outcome, with the manifest's per-client differences.
fn client_says(outcome: Outcome, scenario: &Scenario) -> String {
    let mut text = outcome.client_says().to_string();
    if !scenario.expected_by_client.is_empty() {
        let differ: Vec<String> = scenario
            .expected_by_client
            .iter()
            .map(|(client, o)| format!("{client}: {o}"))
            .collect();
        text.push_str(&format!(" ({})", differ.join(", ")));
    }
    text
}

/// Runs the lab: build, write, serve, probe, compare.
pub fn run(options: &LabOptions) -> Result<LabReport, LabError> {
    let started = std::time::Instant::now();
    let now = options.now.unwrap_or_else(OffsetDateTime::now_utc);
    let spec = lab_spec()?;

    // Built in memory first, so a bad `--only` stops before anything is written.
    let built = store::build(&spec, now).map_err(|e| LabError::Build(e.to_string()))?;
    let all = built.all_scenarios();
    for name in &options.only {
        if !all.iter().any(|s| &s.name == name) {
            return Err(LabError::UnknownScenario {
                name: name.clone(),
                known: all
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }

    // Then through the files, as every other certlab command sees a PKI: written to the kept
    // directory (reusing the CAs already there) or to a temporary one, and read back from its
    // manifest. What is served and probed is what was read back.
    let (dir, tempdir) = match &options.keep {
        Some(dir) => {
            store::generate(&spec, dir, now, false)?;
            (dir.clone(), None)
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("certlab-lab-")
                .tempdir()
                .map_err(LabError::TempDir)?;
            store::write(&built, tmp.path())?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let pki = store::load(&dir)?;
    let scenarios: Vec<Scenario> = pki
        .all_scenarios()
        .into_iter()
        .filter(|s| options.only.is_empty() || options.only.contains(&s.name))
        .collect();

    // Serve every scenario.
    let served: Vec<Result<Endpoint, ServeError>> = scenarios
        .iter()
        .map(|s| {
            ServeSettings::from_scenario(&pki, s).and_then(|mut settings| {
                settings.now = options.now;
                serve(settings, s.listen_addr())
            })
        })
        .collect();

    // Probe the served ones, in parallel.
    let reports: Vec<Mutex<Option<Result<ProbeReport, ProbeError>>>> =
        scenarios.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = options.parallel.clamp(1, scenarios.len().max(1));
    std::thread::scope(|probes| {
        for _ in 0..workers {
            probes.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = scenarios.get(i) else { break };
                    let Ok(ep) = &served[i] else { continue };
                    let addr = ep.addr();
                    let opts = probe_options(&pki, s, Some(addr), now, options.timeout);
                    let target = crate::tls::join_host_port(s.client.host(), addr.port());
                    let r = probe(&target, &opts);
                    *reports[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });

    let mut rows = Vec::new();
    let mut endpoints = Vec::new();
    for ((s, served), report) in scenarios.iter().zip(served).zip(reports) {
        let report = report.into_inner().unwrap_or_else(|e| e.into_inner());
        rows.push(row(s, &served, report));
        if let Ok(ep) = served
            && options.keep_serving
        {
            endpoints.push((s.name.clone(), ep));
        }
    }
    let matched = rows.iter().filter(|r| r.matched).count();
    Ok(LabReport {
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

/// One row: the scenario's expectation against what serving and probing produced.
fn row(
    s: &Scenario,
    served: &Result<Endpoint, ServeError>,
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
            result.address = Some(ep.addr().to_string());
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
