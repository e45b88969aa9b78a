//! Helpers shared by the integration tests: finding outside tools (a test that needs one is
//! `#[ignore = "needs TOOL"]`, and fails when it is run without the tool), running the certlab
//! binary and other programs (with a timeout where a child may hang), the lab PKI on disk
//! (served in-process where a test needs it), and what OpenSSL's verify texts mean as outcomes.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use certlab::Outcome;
use certlab::pki::manifest::Manifest;
use certlab::pki::{Pki, Scenario, spec, store};
use certlab::serve::{Endpoint, ServeSettings, serve};

// ----- outside tools ----------------------------------------------------------------------

/// The loud line a test prints when it cannot do a part of its work here (IPv6 loopback
/// missing, not Linux): for conditions of the machine, never for a missing tool.
pub fn skip(reason: &str) {
    eprintln!("\n!!! SKIPPED: {reason}; this test proves nothing here !!!\n");
}

/// Something the test needs is missing (`reason` says what): always a failure. Tests that
/// need an outside tool or data are `#[ignore = "needs …"]`, so a plain `cargo test` lists
/// them as ignored; running them (`--include-ignored`, as .ci/run does) without what they
/// need must fail, never pass having tested nothing.
pub fn missing(reason: &str) {
    panic!("{reason}: this test needs it (.ci/run installs the outside tools)");
}

/// Whether an outside tool is installed (an executable of that name on `PATH`); a missing one
/// fails the test (see [`missing`]), so the answer is `true` whenever the test goes on.
pub fn have_tool(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !found {
        missing(&format!("`{tool}` is not installed"));
    }
    found
}

// ----- running programs -------------------------------------------------------------------

/// The path of the certlab binary under test (for a child the test spawns itself).
pub fn certlab_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("certlab")
}

/// The certlab binary under test, as a plain command (for a child the test spawns itself).
pub fn certlab_command() -> Command {
    Command::new(certlab_bin())
}

/// The certlab binary under test.
pub fn certlab() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("certlab").expect("the binary is built")
}

/// Runs a command and returns its output (stdout and stderr captured).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// stdout then stderr of a finished command, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `certlab probe TARGET --json ARGS...` (killed after 30 s) and returns (exit code,
/// report).
pub fn probe_json(target: &str, args: &[&str]) -> (i32, serde_json::Value) {
    let out = certlab()
        .args(["probe", target, "--json"])
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("certlab probe runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report)
}

/// Asserts that certlab refuses: exit 2 and one line `error: ...` holding `message` on
/// stderr. Returns the output for further checks.
pub fn fails_with(cmd: &mut assert_cmd::Command, message: &str) -> Output {
    let out = cmd.assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains(message),
        "stderr: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    out
}

/// Runs `args[0]` with the other arguments; returns (success, stdout + stderr).
pub fn tool(args: &[&str]) -> (bool, String) {
    let out = run(Command::new(args[0]).args(&args[1..]));
    (out.status.success(), text(&out))
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
pub fn run_timeout(cmd: &mut Command, input: &[u8], timeout: Duration) -> Ran {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out.reopen().unwrap()))
        .stderr(Stdio::from(err.reopen().unwrap()))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
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

/// `openssl verify` of `cert` against `dir/ca.pem` with `untrusted` intermediates and extra
/// arguments; returns (success, combined output).
pub fn openssl_verify(
    dir: &Path,
    cert: &Path,
    untrusted: Option<&Path>,
    extra: &[&str],
) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CAfile").arg(dir.join("ca.pem"));
    if let Some(u) = untrusted {
        cmd.arg("-untrusted").arg(u);
    }
    cmd.args(extra).arg(cert);
    let out = run(&mut cmd);
    (out.status.success(), text(&out))
}

// ----- files ------------------------------------------------------------------------------

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `dir/name`.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The path as a `&str` (for command arguments).
pub fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The path as a `String` (for command arguments that outlive the path).
pub fn s(path: &Path) -> String {
    path.display().to_string()
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ----- PKIs on disk -----------------------------------------------------------------------

/// `certlab generate ARGS -o DIR` (asserted to succeed); returns the manifest it wrote.
pub fn generate(dir: &Path, args: &[&str]) -> Manifest {
    certlab()
        .arg("generate")
        .args(args)
        .arg("-o")
        .arg(dir)
        .assert()
        .success();
    read_manifest(dir)
}

/// The manifest (`certlab.json`) of a PKI directory.
pub fn read_manifest(dir: &Path) -> Manifest {
    let text = std::fs::read_to_string(dir.join("certlab.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest parses")
}

/// A dev PKI (the default template: root → intermediate → `localhost` server, `client`),
/// issued at `now`, in `dir/pki`.
pub fn dev_pki(dir: &Path, now: &str) -> PathBuf {
    let pki = dir.join("pki");
    generate(&pki, &["--now", now]);
    pki
}

/// The lab PKI, built in-process now (real clients check at the real time) and written to a
/// temporary directory.
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
        let dir = tempdir();
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
        std::fs::write(&path, certlab::pem::pem_certs(rest)).unwrap();
        Some(path)
    }
}

/// The certificates of a PEM file, for rustls.
pub fn load_certs(path: &Path) -> Vec<pki_types::CertificateDer<'static>> {
    pem::parse_many(std::fs::read(path).unwrap())
        .unwrap()
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| pki_types::CertificateDer::from(p.into_contents()))
        .collect()
}

/// The PKCS#8 private key of a PEM file, for rustls.
pub fn load_key(path: &Path) -> pki_types::PrivateKeyDer<'static> {
    let p = pem::parse(std::fs::read(path).unwrap()).unwrap();
    assert_eq!(p.tag(), "PRIVATE KEY");
    pki_types::PrivateKeyDer::Pkcs8(p.into_contents().into())
}

// ----- what clients print -----------------------------------------------------------------

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

// ----- a served process ---------------------------------------------------------------

/// A running `certlab serve` (stderr piped, read by [`Running::terminate`]), killed on drop
/// if still running.
pub struct Running {
    /// The process.
    pub child: std::process::Child,
    /// Its first line on stdout (`listening on ADDR …`).
    pub first_line: String,
}

impl Running {
    /// Starts `certlab ARGS` and reads its first line.
    pub fn start(args: &[&str]) -> Running {
        let mut child = certlab_command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        Running { child, first_line }
    }

    /// The address of its first line.
    pub fn addr(&self) -> std::net::SocketAddr {
        // "listening on 127.0.0.1:PORT (scenario NAME)"
        self.first_line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("first line: {:?}", self.first_line))
    }

    /// Sends SIGTERM and waits (bounded) for the exit code and the stderr.
    pub fn terminate(mut self) -> (Option<i32>, String, Duration) {
        let start = Instant::now();
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: a plain syscall on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if start.elapsed() > Duration::from_secs(10) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = start.elapsed();
        let mut err = String::new();
        if code.is_some() {
            self.child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
        }
        (code, err, took)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Held by every test that runs Chromium: two headless Chromium runs at once on a 2-core CI
/// machine slow page loads past their deadline, so they take turns.
pub static CHROMIUM: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`CHROMIUM`] (a test that panicked while holding it does not block the others).
pub fn chromium_turn() -> std::sync::MutexGuard<'static, ()> {
    CHROMIUM.lock().unwrap_or_else(|e| e.into_inner())
}
