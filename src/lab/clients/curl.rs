//! Running curl (on OpenSSL 3) against lab endpoints: one `curl` process per job.
//!
//! The job's settings map to curl's flags: `--cacert` (and `--crlfile` when the CA file holds
//! CRLs), `--resolve` to reach the endpoint by the name verified, `--tlsv1.2 --tls-max 1.2` /
//! `--tlsv1.3`, `--tls13-ciphers` / `--ciphers`, `--cert`/`--key`. ALPN: curl cannot offer `h2`
//! alone; a job offering `h2` gets `--http2` (curl offers `h2` and `http/1.1`, and falls back),
//! one offering only `http/1.1` gets `--http1.1`, one offering none `--no-alpn`. The words are
//! curl's error line (`curl: (60) SSL certificate problem: certificate has expired`).

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{
    Answer, ClientAnswer, ClientJob, ClientRunError, answer_each, job_has_crls, require_tool,
    run_program, stable_words,
};
use crate::clients::Client;
use crate::tls::{self, TlsVersion};

const PROGRAM: &str = "curl";

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let _ = workdir;
    require_tool(Client::Curl, PROGRAM)?;
    answer_each(jobs, |job| {
        let ran = run_program(Client::Curl, command(job), b"", Duration::from_secs(15))?;
        Ok(match ran.status {
            None => Answer::Rejected("curl did not finish in 15 s".to_string()),
            Some(s) if s.success() => Answer::Accepted,
            Some(s) => Answer::Rejected(
                words(&ran.stderr)
                    .unwrap_or_else(|| format!("curl exited with {s} without an error line")),
            ),
        })
    })
}

/// The curl command of one job.
pub(super) fn command(job: &ClientJob) -> Command {
    let mut c = Command::new(PROGRAM);
    c.args(["-sS", "--max-time", "10", "-o", "/dev/null"]);
    c.arg("--cacert").arg(&job.ca);
    if job_has_crls(job) {
        c.arg("--crlfile").arg(&job.ca);
    }
    let port = job.addr.port();
    let name = &job.server_name;
    if name.parse::<IpAddr>().is_err() {
        let ip = match job.addr.ip() {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        c.arg("--resolve").arg(format!("{name}:{port}:{ip}"));
    } else if name.parse::<IpAddr>().ok() != Some(job.addr.ip()) {
        c.arg("--connect-to")
            .arg(format!("{}:{}", tls::join_host_port(name, port), job.addr));
    }
    match job.tls {
        Some(TlsVersion::Tls12) => {
            c.args(["--tlsv1.2", "--tls-max", "1.2"]);
        }
        Some(TlsVersion::Tls13) => {
            c.arg("--tlsv1.3");
        }
        None => {}
    }
    let (tls13, tls12) = tls::openssl_suites(&job.ciphers);
    if !tls13.is_empty() {
        c.arg("--tls13-ciphers").arg(tls13.join(":"));
    }
    if !tls12.is_empty() {
        c.arg("--ciphers").arg(tls12.join(":"));
    }
    if job.alpn.iter().any(|p| p == "h2") {
        c.arg("--http2");
    } else if job.alpn.is_empty() {
        c.arg("--no-alpn");
    } else {
        c.arg("--http1.1");
    }
    if let (Some(cert), Some(key)) = (&job.cert, &job.key) {
        c.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    c.arg(format!("https://{}/", tls::join_host_port(name, port)));
    c
}

/// curl's error line (`curl: (NN) ...`), without what varies between runs.
fn words(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.starts_with("curl: ("))
        .map(stable_words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(server_name: &str, addr: &str) -> ClientJob {
        ClientJob {
            id: "x".into(),
            addr: addr.parse().unwrap(),
            server_name: server_name.into(),
            ca: "/nonexistent/ca.pem".into(),
            cert: None,
            key: None,
            tls: Some(TlsVersion::Tls12),
            ciphers: vec![],
            alpn: vec!["h2".into()],
        }
    }

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn curl_reaches_the_endpoint_by_the_name_it_verifies() {
        let a = args(&command(&job("localhost", "127.0.0.1:4433")));
        assert!(
            a.windows(2)
                .any(|w| w == ["--resolve", "localhost:4433:127.0.0.1"]),
            "{a:?}"
        );
        assert_eq!(a.last().unwrap(), "https://localhost:4433/");
        assert!(a.contains(&"--http2".to_string()) && a.contains(&"--tls-max".to_string()));
        let a = args(&command(&job("::1", "[::1]:4433")));
        assert_eq!(a.last().unwrap(), "https://[::1]:4433/");
        assert!(
            !a.iter().any(|x| x == "--resolve" || x == "--connect-to"),
            "{a:?}"
        );
        let a = args(&command(&job("10.0.0.1", "127.0.0.1:4433")));
        assert!(
            a.windows(2)
                .any(|w| w == ["--connect-to", "10.0.0.1:4433:127.0.0.1:4433"]),
            "{a:?}"
        );
        let a = args(&command(&job("localhost", "[::1]:4433")));
        assert!(
            a.windows(2)
                .any(|w| w == ["--resolve", "localhost:4433:[::1]"]),
            "{a:?}"
        );
    }
}
