//! Running real clients (curl, Python, Go, Java, ...) against lab endpoints, and recording what
//! each one says.
//!
//! One [`ClientJob`] is one connection attempt: where to connect, the name to verify, the CA
//! file to trust and the client settings of the scenario. [`run`] hands a batch of jobs to one
//! client family and returns one [`ClientAnswer`] per job, in the same order. A client that
//! cannot express a job's setting (a browser cannot be told which cipher suites to offer)
//! answers [`Answer::NotApplicable`] with the reason, never a guess.
//!
//! Programs written for this purpose (the Go, Java, Node and Python clients) live in
//! `templates/clients/` and speak one line protocol on stdin/stdout, see
//! [`run_line_program`].

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::clients::Client;

mod chromium;
mod curl;
mod gnutls;
mod go;
mod grpc;
mod java;
mod node;
mod openssl;
mod programs;
mod python;
mod python313;
mod rustls;
use crate::tls::TlsVersion;

/// One connection attempt by a real client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientJob {
    /// The caller's name for the job (the scenario name); echoed in the answer.
    pub id: String,
    /// The endpoint's address.
    pub addr: SocketAddr,
    /// The name the client connects to and verifies (`localhost`, `127.0.0.1`, ...).
    pub server_name: String,
    /// The CA certificate file (PEM) the client trusts, and nothing else.
    pub ca: PathBuf,
    /// The client certificate chain (PEM) to present, if any.
    pub cert: Option<PathBuf>,
    /// The key of `cert`.
    pub key: Option<PathBuf>,
    /// Restrict the client to this TLS version.
    pub tls: Option<TlsVersion>,
    /// Restrict the client to these cipher suites (rustls names, e.g. `TLS13_AES_128_GCM_SHA256`).
    pub ciphers: Vec<String>,
    /// ALPN protocols to offer (empty: the client's default).
    pub alpn: Vec<String>,
}

/// What one client said about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The handshake (and certificate verification) succeeded.
    Accepted,
    /// The client refused or failed: its own words (one line).
    Rejected(String),
    /// The client cannot express this job's settings: why.
    NotApplicable(String),
}

/// One job's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAnswer {
    /// The job's id.
    pub id: String,
    /// What the client said.
    pub answer: Answer,
}

/// Why a client could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientRunError {
    /// The client's program is not installed.
    #[error("{client} is not installed: {program} not found")]
    NotInstalled {
        /// The family.
        client: Client,
        /// The program looked for.
        program: String,
    },
    /// The client ran but its output could not be read.
    #[error("{client}: {reason}")]
    Failed {
        /// The family.
        client: Client,
        /// What went wrong.
        reason: String,
    },
    /// Running is not implemented for this family yet.
    #[error("{0}: running this client is not implemented")]
    NotImplemented(Client),
}

/// Runs `jobs` with one client family, in order; `workdir` is a scratch directory the caller
/// owns (programs are written and compiled there).
pub fn run(
    client: Client,
    jobs: &[ClientJob],
    workdir: &Path,
) -> Result<Vec<ClientAnswer>, ClientRunError> {
    match client {
        Client::Rustls => rustls::run(jobs, workdir),
        Client::Curl => curl::run(jobs, workdir),
        Client::Openssl => openssl::run(jobs, workdir),
        Client::Python => python::run(jobs, workdir),
        Client::Python313 => python313::run(jobs, workdir),
        Client::Grpc => grpc::run(jobs, workdir),
        Client::Gnutls => gnutls::run(jobs, workdir),
        Client::Go => go::run(jobs, workdir),
        Client::Java => java::run(jobs, workdir),
        Client::Node => node::run(jobs, workdir),
        Client::Chromium => chromium::run(jobs, workdir),
    }
}

/// The line protocol of the client programs in `templates/clients/`.
///
/// The program reads one job per line on stdin, tab-separated:
/// `id host port server_name ca cert key tls ciphers alpn`, where an absent value is `-`,
/// `tls` is `1.2` or `1.3`, and `ciphers` and `alpn` are comma-separated lists. For each job it
/// writes one line on stdout: `id<TAB>ok<TAB>-`, `id<TAB>fail<TAB>WORDS` (the client's own error
/// text, tabs and newlines replaced by spaces) or `id<TAB>na<TAB>WHY`. Every connection
/// must time out on its own (a few seconds).
pub fn run_line_program(
    client: Client,
    mut command: Command,
    jobs: &[ClientJob],
) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let failed = |reason: String| ClientRunError::Failed { client, reason };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot start {:?}: {e}", command.get_program())))?;
    let mut input = String::new();
    for job in jobs {
        input.push_str(&job_line(job));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut answers = Vec::with_capacity(jobs.len());
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| failed(format!("reading its output: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        answers.push(parse_answer(&line).ok_or_else(|| failed(format!("bad line {line:?}")))?);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(format!("waiting for it: {e}")))?;
    let _ = writer.join();
    if answers.len() != jobs.len() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(format!(
            "answered {} of {} jobs ({}): {}",
            answers.len(),
            jobs.len(),
            output.status,
            stderr.lines().last().unwrap_or("")
        )));
    }
    Ok(answers)
}

fn dash(value: Option<&str>) -> &str {
    match value {
        Some(v) if !v.is_empty() => v,
        _ => "-",
    }
}

/// One job as a line of the protocol of [`run_line_program`] (without the newline).
pub fn job_line(job: &ClientJob) -> String {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let tls = job.tls.map(|v| match v {
        TlsVersion::Tls12 => "1.2",
        TlsVersion::Tls13 => "1.3",
    });
    [
        job.id.clone(),
        job.addr.ip().to_string(),
        job.addr.port().to_string(),
        job.server_name.clone(),
        job.ca.display().to_string(),
        dash(path(&job.cert).as_deref()).to_string(),
        dash(path(&job.key).as_deref()).to_string(),
        dash(tls).to_string(),
        dash(Some(&job.ciphers.join(","))).to_string(),
        dash(Some(&job.alpn.join(","))).to_string(),
    ]
    .join("\t")
}

/// Parses one answer line of the protocol of [`run_line_program`].
pub fn parse_answer(line: &str) -> Option<ClientAnswer> {
    let mut parts = line.splitn(3, '\t');
    let id = parts.next()?.to_string();
    let kind = parts.next()?;
    let words = parts.next().unwrap_or("-").trim().to_string();
    let answer = match kind {
        "ok" => Answer::Accepted,
        "fail" => Answer::Rejected(words),
        "na" => Answer::NotApplicable(words),
        _ => return None,
    };
    Some(ClientAnswer { id, answer })
}

/// The jobs of one lab scenario for real clients: connect to `addr` by the scenario's host,
/// verify its servername (or host), trust `dir/ca.pem`, present the scenario's client
/// certificate (`NAME.chain.pem` and `NAME.key` in `dir`) and use its TLS version, cipher
/// suites and ALPN. A scenario about revocation (its served leaf is revoked) gets its CRLs
/// appended to a copy of the CA file written in `workdir` (OpenSSL-based clients read CRLs from
/// their CA file; the runners turn CRL checking on when the file holds one). Only that
/// scenario: curl checks the CRL of every certificate of the chain once given one, and the
/// lab's root publishes none.
pub fn job_for(
    pki: &crate::pki::Pki,
    dir: &Path,
    scenario: &crate::pki::scenario::Scenario,
    addr: SocketAddr,
    workdir: &Path,
) -> std::io::Result<ClientJob> {
    use crate::pki::manifest::CA_BUNDLE_FILE;
    let client = &scenario.client;
    let server_name = client
        .servername
        .clone()
        .unwrap_or_else(|| client.host().to_string());
    let mut ca = dir.join(CA_BUNDLE_FILE);
    let revoked = scenario
        .server
        .entity
        .as_ref()
        .and_then(|n| pki.entity(n))
        .is_some_and(|e| e.fault == crate::pki::model::Fault::Revoked);
    if revoked && !client.crl.is_empty() {
        let mut text = std::fs::read_to_string(&ca)?;
        for issuer in &client.crl {
            if let Some(crl) = pki.entity(issuer).and_then(|e| e.crl.as_ref()) {
                text.push_str(&crate::pem::encode_block("X509 CRL", crl));
            }
        }
        ca = workdir.join(format!("{}.ca+crl.pem", scenario.name));
        std::fs::write(&ca, text)?;
    }
    let (cert, key) = match client.cert.as_ref().and_then(|n| pki.entity(n)) {
        Some(e) => (
            Some(dir.join(e.chain_path().unwrap_or_else(|| e.cert_path()))),
            Some(dir.join(e.key_path())),
        ),
        None => (None, None),
    };
    Ok(ClientJob {
        id: scenario.name.clone(),
        addr,
        server_name,
        ca,
        cert,
        key,
        tls: client.tls,
        ciphers: client.ciphers.clone(),
        alpn: client.alpn.clone(),
    })
}

/// Whether a job's CA file holds CRLs (then the client checks the leaf against them).
pub fn job_has_crls(job: &ClientJob) -> bool {
    std::fs::read_to_string(&job.ca).is_ok_and(|t| t.contains("-----BEGIN X509 CRL-----"))
}

/// What a program printed, when it ran within its time.
#[derive(Debug)]
pub(crate) struct Ran {
    /// Its exit status (`None`: killed after the timeout).
    pub status: Option<std::process::ExitStatus>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// How much of a program's stdout and stderr [`run_program`] keeps (the rest is read and
/// dropped).
pub(crate) const MAX_OUTPUT: u64 = 1 << 20;

/// Runs one program with `input` on stdin, killing it (by its own pid) after `timeout`.
pub(crate) fn run_program(
    client: Client,
    mut command: Command,
    input: &[u8],
    timeout: std::time::Duration,
) -> Result<Ran, ClientRunError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ClientRunError::NotInstalled {
                client,
                program: program.clone(),
            },
            _ => ClientRunError::Failed {
                client,
                reason: format!("cannot start {program}: {e}"),
            },
        })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        // Keep stdin open a moment: s_client with -ign_eof reads the server's answer.
        drop(stdin);
    });
    let read = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                // Keep the first MAX_OUTPUT bytes and drain the rest, so that a program that
                // loops printing (a tool prompting on a closed stdin) cannot fill the memory.
                let _ = std::io::Read::read_to_end(
                    &mut std::io::Read::take(&mut r, MAX_OUTPUT),
                    &mut buf,
                );
                let _ = std::io::copy(&mut r, &mut std::io::sink());
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read(child.stdout.take().map(|s| Box::new(s) as _));
    let err = read(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = writer.join();
    Ok(Ran {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The executable `name`: a path as given, else the first executable file of that name on
/// `PATH`.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return executable(Path::new(name)).then(|| PathBuf::from(name));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// The executable `name` (see [`find_tool`]), or [`ClientRunError::NotInstalled`].
pub(crate) fn require_tool(client: Client, name: &str) -> Result<PathBuf, ClientRunError> {
    find_tool(name).ok_or_else(|| ClientRunError::NotInstalled {
        client,
        program: name.to_string(),
    })
}

/// Answers every job in order with `answer` (one process per job), as [`run`] returns them.
pub(crate) fn answer_each(
    jobs: &[ClientJob],
    mut answer: impl FnMut(&ClientJob) -> Result<Answer, ClientRunError>,
) -> Result<Vec<ClientAnswer>, ClientRunError> {
    jobs.iter()
        .map(|job| {
            Ok(ClientAnswer {
                id: job.id.clone(),
                answer: answer(job)?,
            })
        })
        .collect()
}

/// Removes what varies between runs from a client's words: addresses and ports, paths of
/// temporary files, source locations (`../ssl/statem/statem_clnt.c:1889`, `(_ssl.c:1006)`),
/// OpenSSL's thread-id prefix, trailing separators.
pub fn stable_words(text: &str) -> String {
    // curl names its TLS library's version: "curl: (35) OpenSSL/3.0.19: error:...".
    let out: Vec<&str> = text
        .split(' ')
        .filter(|t| !(t.starts_with("OpenSSL/") && t.ends_with(':')))
        .collect();
    let mut s = out.join(" ");
    // OpenSSL error lines: "40E7...:error:0A000086:SSL routines:fn:reason:../ssl/x.c:1889:"
    if let Some(i) = s.find(":error:") {
        let head = &s[..i];
        if !head.is_empty() && head.chars().all(|c| c.is_ascii_hexdigit()) {
            s = s[i + 1..].to_string();
        }
    }
    if let Some(i) = s.find(":../") {
        s.truncate(i);
    }
    if let Some(i) = s.find(" (_ssl.c:") {
        let rest = &s[i + " (_ssl.c:".len()..];
        let end = rest
            .find(')')
            .map_or(s.len(), |j| i + " (_ssl.c:".len() + j + 1);
        s.replace_range(i..end, "");
    }
    s.trim().trim_end_matches([':', ',']).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_prints_forever_is_stopped_with_its_output_bounded() {
        // `yes` stands for a tool prompting in a loop on a closed stdin.
        let ran = run_program(
            Client::Chromium,
            Command::new("yes"),
            b"",
            std::time::Duration::from_millis(300),
        )
        .expect("yes runs");
        assert!(ran.status.is_none(), "killed after its time");
        assert_eq!(ran.stdout.len() as u64, MAX_OUTPUT);
        assert!(ran.stdout.starts_with("y\ny\n"));
    }

    #[test]
    fn job_lines_use_dashes_for_absent_values() {
        let job = ClientJob {
            id: "good".into(),
            addr: "127.0.0.1:4433".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "/tmp/ca.pem".into(),
            cert: None,
            key: None,
            tls: Some(TlsVersion::Tls13),
            ciphers: vec![],
            alpn: vec!["h2".into(), "http/1.1".into()],
        };
        assert_eq!(
            job_line(&job),
            "good\t127.0.0.1\t4433\tlocalhost\t/tmp/ca.pem\t-\t-\t1.3\t-\th2,http/1.1"
        );
    }

    #[test]
    fn answers_parse() {
        assert_eq!(
            parse_answer("x\tfail\tcertificate has expired")
                .unwrap()
                .answer,
            Answer::Rejected("certificate has expired".into())
        );
        assert_eq!(parse_answer("x\tok\t-").unwrap().answer, Answer::Accepted);
        assert!(parse_answer("x\tmaybe\t-").is_none());
    }
}

#[cfg(test)]
mod words_tests {
    use super::stable_words;

    #[test]
    fn stable_words_drop_what_varies_between_runs() {
        assert_eq!(
            stable_words(
                "40E7D0F3B37F0000:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:"
            ),
            "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed"
        );
        assert_eq!(
            stable_words(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)"
            ),
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
        );
        assert_eq!(
            stable_words(
                "curl: (35) OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number"
            ),
            "curl: (35) error:0A00010B:SSL routines::wrong version number"
        );
        // Words that hold nothing variable stay as they are.
        assert_eq!(
            stable_words("verify error:num=62:hostname mismatch"),
            "verify error:num=62:hostname mismatch"
        );
    }
}
