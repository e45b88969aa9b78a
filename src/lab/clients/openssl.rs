//! Running `openssl s_client` (OpenSSL 3) against lab endpoints: one process per job, as
//! `certlab lab --serve` prints it: `-CAfile`, `-verify_return_error`, `-verify_hostname` or
//! `-verify_ip`, `-servername` for names, `-tls1_2`/`-tls1_3`, `-ciphersuites`/`-cipher`,
//! `-alpn`, `-cert`/`-key`/`-cert_chain`, `-crl_check` when the CA file holds CRLs, and a request
//! on stdin with `-ign_eof` so that an alert the server sends after a TLS 1.3 handshake is read.
//!
//! A job is accepted when the server's HTTP answer arrives. The words are the verify error
//! (`verify error:num=10:certificate has expired`), else OpenSSL's first error line without its
//! thread id and source location (`error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert
//! unknown ca`).

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

const PROGRAM: &str = "openssl";

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let _ = workdir;
    require_tool(Client::Openssl, PROGRAM)?;
    answer_each(jobs, |job| {
        let ran = run_program(
            Client::Openssl,
            command(job),
            b"GET / HTTP/1.0\r\n\r\n",
            Duration::from_secs(15),
        )?;
        Ok(if ran.status.is_none() {
            Answer::Rejected("openssl s_client did not finish in 15 s".to_string())
        } else {
            answer(&ran.stdout, &ran.stderr)
        })
    })
}

/// The `openssl s_client` command of one job.
pub(super) fn command(job: &ClientJob) -> Command {
    let mut c = Command::new(PROGRAM);
    c.arg("s_client").arg("-connect").arg(job.addr.to_string());
    let name = &job.server_name;
    let is_ip = name.parse::<IpAddr>().is_ok();
    if !is_ip {
        c.arg("-servername").arg(name);
    }
    c.arg("-CAfile").arg(&job.ca).arg("-verify_return_error");
    c.arg(if is_ip {
        "-verify_ip"
    } else {
        "-verify_hostname"
    })
    .arg(name);
    match job.tls {
        Some(TlsVersion::Tls12) => {
            c.arg("-tls1_2");
        }
        Some(TlsVersion::Tls13) => {
            c.arg("-tls1_3");
        }
        None => {}
    }
    let (tls13, tls12) = tls::openssl_suites(&job.ciphers);
    if !tls13.is_empty() {
        c.arg("-ciphersuites").arg(tls13.join(":"));
    }
    if !tls12.is_empty() {
        c.arg("-cipher").arg(tls12.join(":"));
    }
    if !job.alpn.is_empty() {
        c.arg("-alpn").arg(job.alpn.join(","));
    }
    if let (Some(cert), Some(key)) = (&job.cert, &job.key) {
        c.arg("-cert").arg(cert).arg("-key").arg(key);
        c.arg("-cert_chain").arg(cert);
    }
    if job_has_crls(job) {
        c.arg("-crl_check");
    }
    c.arg("-ign_eof");
    c
}

/// Accepted when the HTTP answer arrived and OpenSSL printed no error; else its words.
fn answer(stdout: &str, stderr: &str) -> Answer {
    let verify = stderr
        .lines()
        .chain(stdout.lines())
        .find_map(|l| l.find("verify error:").map(|i| stable_words(&l[i..])));
    let error = stderr
        .lines()
        .find(|l| l.contains(":error:") || l.starts_with("error:"))
        .map(stable_words);
    let answered = stdout.lines().any(|l| l.starts_with("HTTP/1."));
    match (verify, error) {
        (Some(v), _) => Answer::Rejected(v),
        (None, Some(e)) => Answer::Rejected(e),
        (None, None) if answered => Answer::Accepted,
        (None, None) => Answer::Rejected(
            stderr
                .lines()
                .chain(stdout.lines())
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .map_or_else(|| "no answer from the server".to_string(), stable_words),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_client_checks_names_and_ips_and_reads_the_verify_error_first() {
        let mut job = ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:4433".parse().unwrap(),
            server_name: "127.0.0.1".into(),
            ca: "/nonexistent/ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec!["TLS13_CHACHA20_POLY1305_SHA256".into()],
            alpn: vec![],
        };
        let args = |c: Command| -> Vec<String> {
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let a = args(command(&job));
        assert!(
            a.windows(2).any(|w| w == ["-verify_ip", "127.0.0.1"]),
            "{a:?}"
        );
        assert!(!a.contains(&"-servername".to_string()));
        assert!(
            a.windows(2)
                .any(|w| w == ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"])
        );
        job.server_name = "localhost".into();
        let a = args(command(&job));
        assert!(
            a.windows(2).any(|w| w == ["-verify_hostname", "localhost"]),
            "{a:?}"
        );
        assert!(
            a.windows(2).any(|w| w == ["-servername", "localhost"]),
            "{a:?}"
        );

        let stderr = "depth=0 CN = x\nverify error:num=10:certificate has expired\n40E7:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:\n";
        assert_eq!(
            answer("", stderr),
            Answer::Rejected("verify error:num=10:certificate has expired".into())
        );
        assert_eq!(
            answer(
                "CONNECTED(00000003)\nHTTP/1.1 200 OK\n",
                "verify return:1\n"
            ),
            Answer::Accepted
        );
        assert_eq!(
            answer(
                "CONNECTED(00000003)\n",
                "40E7:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1586:SSL alert number 48\n"
            ),
            Answer::Rejected(
                "error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca".into()
            )
        );
    }
}
