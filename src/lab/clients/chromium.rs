//! Running Chromium against lab endpoints: headless Chromium (BoringSSL, Chrome's certificate
//! verifier) loads `https://NAME:PORT/` once per job, in a fresh profile whose NSS database
//! (`$HOME/.pki/nssdb`, made with `certutil`) trusts the job's CA file. Chromium also trusts
//! its built-in Chrome Root Store (public CAs; no flag turns it off), which no lab certificate
//! chains to; the system's roots are not read (the NSS database is the profile's own).
//!
//! Chromium says why a page did not load on stderr (`Page load failed: net::ERR_CERT_...`):
//! that line is the client's words. A loaded page (the lab's `200 OK` answer in `--dump-dom`)
//! is an accepted handshake. A client certificate is imported into the NSS database with
//! `pk12util` and selected by the profile's `auto_select_certificate` setting (the
//! `AutoSelectCertificateForUrls` policy's preference); without it headless Chromium would wait
//! for a user to pick one. The name is resolved to the job's address with
//! `--host-resolver-rules`. Chromium cannot restrict its cipher suites or its ALPN offer (it
//! always offers h2 and http/1.1): such jobs are not applicable.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::programs::{find_tool, require_tool};
use super::{Answer, ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;
use crate::tls::TlsVersion;

/// How long one page load may take, Chromium's start included.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// The flags Chromium runs with: headless, no sandbox (root in CI), and nothing that reaches
/// out to the network on its own.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-default-browser-check",
];

/// How many page loads run at once: one. Chromium's reading of a rejected TLS 1.3 client
/// certificate races with its socket's close (see [`TRANSIENT`]), and a loaded machine makes
/// the race likelier.
const PARALLEL: usize = 1;

/// What Chromium says when it lost a race with the server's close after a rejected TLS 1.3
/// client certificate (seen on `client-expired` with two page loads at a time, and on
/// `client-none` three times in a row while the test suite loaded both cores) instead of
/// `net::ERR_BAD_SSL_CLIENT_AUTH_CERT`. The lab's server half-closes and reads on until the
/// client closes (`serve/event.rs`: lingering, so that its alert is not destroyed by a reset),
/// and its endpoints are up and listening, so this never is the scenario's answer: the page is loaded again, up to [`ATTEMPTS`] times, after a pause that
/// grows with each attempt ([`RETRY_PAUSE`]).
const TRANSIENT: &str = "net::ERR_SOCKET_NOT_CONNECTED";

/// How often a page load is tried when Chromium's answer is [`TRANSIENT`].
const ATTEMPTS: usize = 6;

/// The pause before attempt n (n × this), so that a busy machine's burst can pass.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(150);

/// The password of the PKCS#12 file the client certificate travels in.
const P12_PASSWORD: &str = "certlab";

/// The tools a run needs.
struct Tools {
    chromium: PathBuf,
    certutil: PathBuf,
    pk12util: PathBuf,
}

/// Why a job cannot be expressed with Chromium, if it cannot.
fn not_applicable(job: &ClientJob) -> Option<String> {
    if !job.ciphers.is_empty() {
        return Some("Chromium cannot restrict its cipher suites".into());
    }
    if !job.alpn.is_empty() {
        return Some("Chromium always offers its own ALPN list (h2, http/1.1)".into());
    }
    None
}

/// The URL Chromium loads, and the host-resolver rule that sends its name to the job's
/// address (`None` when the name is an IP address).
fn url_and_rule(job: &ClientJob) -> (String, Option<String>) {
    let port = job.addr.port();
    match job.server_name.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => (format!("https://[{ip}]:{port}/"), None),
        Ok(ip) => (format!("https://{ip}:{port}/"), None),
        Err(_) => {
            let ip = match job.addr.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            (
                format!("https://{}:{port}/", job.server_name),
                Some(format!("MAP {} {ip}", job.server_name)),
            )
        }
    }
}

/// The TLS version flags of a job.
fn version_flags(tls: Option<TlsVersion>) -> Vec<String> {
    let v = match tls {
        None => return Vec::new(),
        Some(TlsVersion::Tls12) => "tls1.2",
        Some(TlsVersion::Tls13) => "tls1.3",
    };
    vec![
        format!("--ssl-version-min={v}"),
        format!("--ssl-version-max={v}"),
    ]
}

/// Whether a dumped DOM has a body with some text (what the server answered), not the empty
/// document of a load that never got an answer.
fn has_text(dom: &str) -> bool {
    let Some(start) = dom.find("<body") else {
        return false;
    };
    let body = &dom[start..];
    let body = &body[..body.find("</body>").unwrap_or(body.len())];
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    !text.trim().is_empty()
}

/// What Chromium's stderr and `--dump-dom` output say about one page load.
fn read_result(stdout: &str, stderr: &str) -> Answer {
    if let Some(line) = stderr.lines().find(|l| l.contains("Page load failed: ")) {
        let words = line
            .split("Page load failed: ")
            .nth(1)
            .unwrap_or(line)
            .trim();
        return Answer::Rejected(words.to_string());
    }
    if has_text(stdout) {
        return Answer::Accepted;
    }
    let last = stderr
        .lines()
        .rfind(|l| !l.contains("dbus") && !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Answer::Rejected(format!("chromium loaded no page: {last}"))
}

/// The `Default/Preferences` of a profile that picks any client certificate for `origin`
/// without asking.
fn auto_select_preferences(origin: &str) -> String {
    serde_json::json!({
        "profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
            format!("{origin},*"): {"setting": {"filters": [{}]}}
        }}}}
    })
    .to_string()
}

fn failed(reason: String) -> ClientRunError {
    ClientRunError::Failed {
        client: Client::Chromium,
        reason,
    }
}

/// Runs a setup tool, failing with its stderr.
/// Runs a setup tool (certutil, pk12util) with an empty stdin, its output bounded and a time
/// limit: a tool that prompts in a loop fails the job instead of hanging the lab.
fn setup(command: Command) -> Result<(), ClientRunError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let ran = super::run_program(Client::Chromium, command, b"", SETUP_TIMEOUT)?;
    match ran.status {
        None => Err(failed(format!(
            "{program} did not finish in {} s",
            SETUP_TIMEOUT.as_secs()
        ))),
        Some(status) if !status.success() => {
            Err(failed(format!("{program} failed: {}", ran.stderr.trim())))
        }
        Some(_) => Ok(()),
    }
}

/// The time limit of one setup tool run.
const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A fresh HOME whose NSS database trusts the job's CA file (every certificate in it).
fn make_home(tools: &Tools, job: &ClientJob, dir: &Path) -> Result<PathBuf, ClientRunError> {
    let io = |e: std::io::Error| failed(format!("cannot prepare {}: {e}", dir.display()));
    let home = dir.join("home");
    let db_dir = home.join(".pki").join("nssdb");
    std::fs::create_dir_all(&db_dir).map_err(io)?;
    let db = format!("sql:{}", db_dir.display());
    let mut new_db = Command::new(&tools.certutil);
    new_db.args(["-N", "-d", &db, "--empty-password"]);
    setup(new_db)?;
    let cas = crate::pem::read_certs(&job.ca).map_err(|e| failed(e.to_string()))?;
    for (i, ca) in cas.iter().enumerate() {
        let file = dir.join(format!("ca-{i}.pem"));
        std::fs::write(&file, crate::pem::pem_certs([ca])).map_err(io)?;
        let mut add = Command::new(&tools.certutil);
        add.args([
            "-A",
            "-d",
            &db,
            "-t",
            "C,,",
            "-n",
            &format!("certlab ca {i}"),
            "-i",
        ])
        .arg(&file);
        setup(add)?;
    }
    Ok(home)
}

/// Imports the job's client certificate and key into the NSS database under `home` (as a
/// PKCS#12 file, with `pk12util`). `Err` says why it could not: a key form NSS cannot take
/// makes the job not applicable, not the batch fail.
fn import_client_cert(
    tools: &Tools,
    cert: &Path,
    key: &Path,
    home: &Path,
    dir: &Path,
) -> Result<(), String> {
    let chain = crate::pem::read_certs(cert).map_err(|e| e.to_string())?;
    let key_bytes = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let key = crate::pki::export::read_key(&key_bytes, None)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let p12 = crate::pki::export::pkcs12(&chain, &key, "certlab client", P12_PASSWORD)
        .map_err(|e| e.to_string())?;
    let p12_file = dir.join("client.p12");
    std::fs::write(&p12_file, p12).map_err(|e| format!("{}: {e}", p12_file.display()))?;
    let db = format!("sql:{}", home.join(".pki").join("nssdb").display());
    let mut import = Command::new(&tools.pk12util);
    import
        .arg("-i")
        .arg(&p12_file)
        .args(["-d", &db, "-W", P12_PASSWORD]);
    setup(import).map_err(|e| e.to_string())
}

/// Loads one job's page and reads what Chromium said.
fn one(tools: &Tools, job: &ClientJob, dir: &Path) -> Result<Answer, ClientRunError> {
    if let Some(why) = not_applicable(job) {
        return Ok(Answer::NotApplicable(why));
    }
    let io = |e: std::io::Error| failed(format!("cannot prepare {}: {e}", dir.display()));
    // Every page load starts from an empty directory: `certutil -N` on the NSS database a
    // previous run (a drill step, a second batch in the same workdir) left there prompts for
    // its password forever.
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    let home = make_home(tools, job, dir)?;
    let profile = dir.join("profile");
    let (url, rule) = url_and_rule(job);
    if let (Some(cert), Some(key)) = (&job.cert, &job.key) {
        if let Err(why) = import_client_cert(tools, cert, key, &home, dir) {
            return Ok(Answer::NotApplicable(format!(
                "Chromium's NSS database cannot take the client certificate: {why}"
            )));
        }
        let origin = url.trim_end_matches('/');
        std::fs::create_dir_all(profile.join("Default")).map_err(io)?;
        std::fs::write(
            profile.join("Default").join("Preferences"),
            auto_select_preferences(origin),
        )
        .map_err(io)?;
    }
    let out_file = dir.join("dom.html");
    let err_file = dir.join("stderr.txt");
    let mut command = Command::new(&tools.chromium);
    command
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(version_flags(job.tls))
        .args(rule.map(|r| format!("--host-resolver-rules={r}")))
        .arg("--dump-dom")
        .arg(&url)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).map_err(io)?)
        .stderr(std::fs::File::create(&err_file).map_err(io)?);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start chromium: {e}")))?;
    let group = child.id() as libc::pid_t;
    let started = Instant::now();
    let timed_out = loop {
        match child.try_wait() {
            Ok(Some(_)) => break false,
            Ok(None) if started.elapsed() > PAGE_TIMEOUT => break true,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(failed(format!("waiting for chromium: {e}"))),
        }
    };
    // Chromium's helpers (zygote, network service) are in the group this run made: end them.
    // SAFETY: kill(2) on the process group of the child this function started.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    let _ = child.wait();
    if timed_out {
        return Ok(Answer::Rejected(format!(
            "chromium loaded no page within {} s",
            PAGE_TIMEOUT.as_secs()
        )));
    }
    let stdout = std::fs::read_to_string(&out_file).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_file).unwrap_or_default();
    Ok(read_result(&stdout, &stderr))
}

/// Runs `jobs` with this family (see [`super::run`]), [`PARALLEL`] page loads at a time.
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let chromium = find_tool("chromium")
        .or_else(|| find_tool("chromium-browser"))
        .ok_or_else(|| ClientRunError::NotInstalled {
            client: Client::Chromium,
            program: "chromium".into(),
        })?;
    let tools = Tools {
        chromium,
        certutil: require_tool(Client::Chromium, "certutil")?,
        pk12util: require_tool(Client::Chromium, "pk12util")?,
    };
    let answers: Vec<Mutex<Option<Result<Answer, ClientRunError>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(jobs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let mut answer = Err(failed("a page load did not run".into()));
                    for attempt in 0..ATTEMPTS {
                        std::thread::sleep(RETRY_PAUSE * attempt as u32);
                        let dir = workdir.join(format!("chromium-{i}-{attempt}"));
                        answer = one(&tools, job, &dir);
                        if !matches!(&answer, Ok(Answer::Rejected(w)) if w == TRANSIENT) {
                            break;
                        }
                    }
                    *answers[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
                }
            });
        }
    });
    jobs.iter()
        .zip(answers)
        .map(|(job, a)| {
            let a = a.into_inner().unwrap_or_else(|e| e.into_inner());
            Ok(ClientAnswer {
                id: job.id.clone(),
                answer: a.unwrap_or_else(|| Err(failed("a page load did not run".into())))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, addr: &str) -> ClientJob {
        ClientJob {
            id: "x".into(),
            addr: addr.parse().unwrap(),
            server_name: name.into(),
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec![],
            alpn: vec![],
        }
    }

    #[test]
    fn names_go_to_the_job_address_and_ips_are_loaded_directly() {
        let (url, rule) = url_and_rule(&job("localhost", "127.0.0.1:4433"));
        assert_eq!(url, "https://localhost:4433/");
        assert_eq!(rule.as_deref(), Some("MAP localhost 127.0.0.1"));
        let (url, rule) = url_and_rule(&job("::1", "[::1]:4433"));
        assert_eq!(url, "https://[::1]:4433/");
        assert_eq!(rule, None);
        let (_, rule) = url_and_rule(&job("localhost", "[::1]:4433"));
        assert_eq!(rule.as_deref(), Some("MAP localhost [::1]"));
    }

    #[test]
    fn chromium_words_come_from_its_page_load_line() {
        let stderr = "[1:1:1130/040505.70:ERROR:net/socket/ssl_client_socket_impl.cc:949] \
            handshake failed; returned -1, SSL error code 1, net_error -201\n\
            [1:1:1130/040505.75:ERROR:components/headless/command_handler/\
            headless_command_handler.cc:403] Page load failed: net::ERR_CERT_DATE_INVALID\n";
        assert_eq!(
            read_result("", stderr),
            Answer::Rejected("net::ERR_CERT_DATE_INVALID".into())
        );
        assert_eq!(
            read_result(
                "<html><body>certlab scenario good</body></html>",
                "dbus noise\n"
            ),
            Answer::Accepted
        );
        assert!(matches!(read_result("", "dbus\n"), Answer::Rejected(w) if w.contains("no page")));
        let empty = "<html><head></head><body></body></html>";
        assert!(matches!(read_result(empty, ""), Answer::Rejected(w) if w.contains("no page")));
    }

    #[test]
    fn ciphers_and_alpn_are_not_applicable_versions_are() {
        let mut j = job("localhost", "127.0.0.1:1");
        assert_eq!(not_applicable(&j), None);
        j.tls = Some(TlsVersion::Tls12);
        assert_eq!(
            version_flags(j.tls),
            ["--ssl-version-min=tls1.2", "--ssl-version-max=tls1.2"]
        );
        j.alpn = vec!["h2".into()];
        assert!(not_applicable(&j).unwrap().contains("ALPN"));
        j.alpn.clear();
        j.ciphers = vec!["TLS13_AES_128_GCM_SHA256".into()];
        assert!(not_applicable(&j).unwrap().contains("cipher"));
    }

    #[test]
    fn the_auto_select_preference_names_the_origin() {
        let prefs: serde_json::Value =
            serde_json::from_str(&auto_select_preferences("https://localhost:4433")).unwrap();
        let setting = &prefs["profile"]["content_settings"]["exceptions"]["auto_select_certificate"]
            ["https://localhost:4433,*"]["setting"];
        assert_eq!(setting["filters"], serde_json::json!([{}]));
    }
}
