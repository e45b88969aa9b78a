//! Helpers shared by the `serve_*` integration tests: the lab PKI on disk, every scenario
//! served, external tools run with a timeout, and what OpenSSL's texts mean as outcomes.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use certlab::Outcome;
use certlab::pki::{Pki, Scenario, spec, store};
use certlab::serve::{Endpoint, ServeSettings, serve};

/// Whether an external tool can run. Missing: a loud skip, or under `CI=true` a failure.
pub fn tool(name: &str, version_arg: &str) -> bool {
    let ok = Command::new(name)
        .arg(version_arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("`{name}` is required under CI=true but cannot run");
        }
        eprintln!("\n!!! SKIPPED: `{name}` is not installed; this test proves nothing here !!!\n");
    }
    ok
}

/// The lab PKI, built now (real clients check at the real time) and written to a temporary
/// directory.
pub struct Lab {
    /// The directory (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The PKI.
    pub pki: Pki,
}

impl Lab {
    /// Builds and writes the lab template.
    pub fn new() -> Lab {
        let template = spec::template("lab").expect("lab template");
        let spec = spec::parse("<lab>", template.text).expect("lab spec parses");
        let now = time::OffsetDateTime::now_utc();
        let pki = store::build(&spec, now).expect("lab builds");
        let dir = tempfile::tempdir().expect("tempdir");
        store::write(&pki, dir.path()).expect("lab writes");
        Lab { dir, pki }
    }

    /// A file of the PKI directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The scenario with this name.
    pub fn scenario(&self, name: &str) -> Scenario {
        self.pki
            .all_scenarios()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}"))
    }

    /// Serves one scenario on 127.0.0.1, port 0.
    pub fn serve(&self, name: &str) -> Endpoint {
        let settings = ServeSettings::from_scenario(&self.pki, &self.scenario(name))
            .expect("settings of the scenario");
        serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves")
    }

    /// Serves every scenario that can be served (those without `serve_error`).
    pub fn serve_all(&self) -> Vec<(Scenario, Endpoint)> {
        self.pki
            .all_scenarios()
            .into_iter()
            .filter(|s| s.serve_error.is_none())
            .map(|s| {
                let settings = ServeSettings::from_scenario(&self.pki, &s).expect("settings");
                let ep = serve(settings, "127.0.0.1:0".parse().unwrap())
                    .unwrap_or_else(|e| panic!("serving {}: {e}", s.name));
                (s, ep)
            })
            .collect()
    }

    /// Writes the issuers of a client entity (what the client sends after its leaf) to a file
    /// and returns its path; `None` when the leaf is sent alone.
    pub fn client_chain_file(&self, entity: &str) -> Option<PathBuf> {
        let e = self.pki.entity(entity).expect("entity");
        let rest: Vec<_> = e.chain.iter().skip(1).collect();
        if rest.is_empty() {
            return None;
        }
        let path = self.path(&format!("{entity}.issuers.test.pem"));
        std::fs::write(&path, store::pem_certs(rest)).unwrap();
        Some(path)
    }
}

/// What a finished (or killed) child printed.
pub struct Ran {
    /// The exit code; `None` when it was killed after the timeout.
    pub code: Option<i32>,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Ran {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs a command with `input` on stdin (then closed), killing it after `timeout`.
pub fn run(cmd: &mut Command, input: &[u8], timeout: Duration) -> Ran {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out.reopen().unwrap()))
        .stderr(Stdio::from(err.reopen().unwrap()))
        .spawn()
        .expect("spawn");
    {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input);
    }
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        code,
        stdout: std::fs::read_to_string(out.path()).unwrap_or_default(),
        stderr: std::fs::read_to_string(err.path()).unwrap_or_default(),
    }
}

/// OpenSSL's verify codes and texts (as s_client and curl print them) and the outcome each
/// means (DESIGN.md section 3). Code 20 is `unknown-ca` or `incomplete-chain` alike.
pub const VERIFY_CODES: &[(u32, &str, &[Outcome])] = &[
    (0, "ok", &[Outcome::Ok]),
    (
        20,
        "unable to get local issuer certificate",
        &[Outcome::UnknownCa, Outcome::IncompleteChain],
    ),
    (
        19,
        "self-signed certificate in certificate chain",
        &[Outcome::UnknownCa],
    ),
    (18, "self-signed certificate", &[Outcome::SelfSigned]),
    (10, "certificate has expired", &[Outcome::Expired]),
    (9, "certificate is not yet valid", &[Outcome::NotYetValid]),
    (62, "hostname mismatch", &[Outcome::HostnameMismatch]),
    (64, "IP address mismatch", &[Outcome::HostnameMismatch]),
    (26, "unsuitable certificate purpose", &[Outcome::WrongUsage]),
    (79, "invalid CA certificate", &[Outcome::InvalidCa]),
    (24, "invalid CA certificate", &[Outcome::InvalidCa]),
    (
        25,
        "path length constraint exceeded",
        &[Outcome::PathLenExceeded],
    ),
    (
        47,
        "permitted subtree violation",
        &[Outcome::NameConstraintViolation],
    ),
    (23, "certificate revoked", &[Outcome::Revoked]),
    (7, "certificate signature failure", &[Outcome::BadSignature]),
    (
        34,
        "unhandled critical extension",
        &[Outcome::BadCertificate],
    ),
];

/// The outcomes a verify code means (empty when unknown).
pub fn outcomes_of_code(code: u32) -> Vec<Outcome> {
    VERIFY_CODES
        .iter()
        .filter(|(c, _, _)| *c == code)
        .flat_map(|(_, _, o)| o.iter().copied())
        .collect()
}

/// The outcomes a verify text means (empty when unknown).
pub fn outcomes_of_text(text: &str) -> Vec<Outcome> {
    VERIFY_CODES
        .iter()
        .filter(|(_, t, _)| *t == text)
        .flat_map(|(_, _, o)| o.iter().copied())
        .collect()
}

/// What a real client (`openssl`, `curl`) must see for a scenario: its entry in
/// `expected_by_client`, or else `expected`.
pub fn expected_for(scenario: &Scenario, client: &str) -> Option<Outcome> {
    scenario
        .expected_by_client
        .get(client)
        .copied()
        .or(scenario.expected)
}

/// The path as a string (for command arguments).
pub fn s(path: &Path) -> String {
    path.display().to_string()
}
