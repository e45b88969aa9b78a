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

#[cfg(test)]
mod tests {
    use super::*;

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
