//! What the runners of the client programs share (Go, Java, Node, gRPC, Chromium): finding a
//! tool on `PATH`, writing a program into the work directory, translating rustls cipher-suite
//! names into a client's names, and answering the jobs a client cannot express without
//! starting it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Answer, ClientAnswer, ClientJob, ClientRunError, run_line_program};
pub(super) use super::{find_tool, require_tool};
use crate::clients::Client;

/// Writes `text` to `workdir/file` (creating `workdir`) and returns its path.
pub(super) fn write_program(
    client: Client,
    workdir: &Path,
    file: &str,
    text: &str,
) -> Result<PathBuf, ClientRunError> {
    let failed = |e: std::io::Error| ClientRunError::Failed {
        client,
        reason: format!("cannot write {file} into {}: {e}", workdir.display()),
    };
    std::fs::create_dir_all(workdir).map_err(failed)?;
    let path = workdir.join(file);
    std::fs::write(&path, text).map_err(failed)?;
    Ok(path)
}

/// A cipher suite rustls names, as the IANA registry names it, and whether it is a TLS 1.3
/// suite. `None` for a name rustls does not have.
pub(super) fn iana_cipher(rustls: &str) -> Option<(String, bool)> {
    const TLS13: &[&str] = &[
        "TLS13_AES_128_GCM_SHA256",
        "TLS13_AES_256_GCM_SHA384",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ];
    const TLS12: &[&str] = &[
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ];
    let name = rustls.trim().to_ascii_uppercase();
    if TLS13.contains(&name.as_str()) {
        return Some((name.replacen("TLS13_", "TLS_", 1), true));
    }
    TLS12.contains(&name.as_str()).then_some((name, false))
}

/// A cipher suite rustls names, as OpenSSL names it (TLS 1.3 suites keep their IANA names,
/// which OpenSSL's `ciphersuites` list uses). `None` for a name rustls does not have.
pub(super) fn openssl_cipher(rustls: &str) -> Option<String> {
    let (iana, tls13) = iana_cipher(rustls)?;
    if tls13 {
        return Some(iana);
    }
    let rest = iana.strip_prefix("TLS_ECDHE_")?;
    let (auth, bulk) = rest.split_once("_WITH_")?;
    let bulk = match bulk {
        "AES_128_GCM_SHA256" => "AES128-GCM-SHA256",
        "AES_256_GCM_SHA384" => "AES256-GCM-SHA384",
        "CHACHA20_POLY1305_SHA256" => "CHACHA20-POLY1305",
        _ => return None,
    };
    Some(format!("ECDHE-{auth}-{bulk}"))
}

/// Runs the jobs `translate` can express with the line program `command`, in order, and
/// answers the others [`Answer::NotApplicable`] with `translate`'s reason. The program is not
/// started when no job is left.
pub(super) fn run_translated(
    client: Client,
    command: Command,
    jobs: &[ClientJob],
    translate: impl Fn(&ClientJob) -> Result<ClientJob, String>,
) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let translated: Vec<Result<ClientJob, String>> = jobs.iter().map(&translate).collect();
    let runnable: Vec<ClientJob> = translated.iter().filter_map(|t| t.clone().ok()).collect();
    let mut ran = if runnable.is_empty() {
        Vec::new()
    } else {
        run_line_program(client, command, &runnable)?
    }
    .into_iter();
    let mut answers = Vec::with_capacity(jobs.len());
    for (job, t) in jobs.iter().zip(translated) {
        let answer = match t {
            Ok(_) => {
                let a = ran.next().ok_or_else(|| ClientRunError::Failed {
                    client,
                    reason: "fewer answers than jobs".into(),
                })?;
                ClientAnswer {
                    id: job.id.clone(),
                    answer: a.answer,
                }
            }
            Err(why) => ClientAnswer {
                id: job.id.clone(),
                answer: Answer::NotApplicable(why),
            },
        };
        answers.push(answer);
    }
    Ok(answers)
}

/// `job` with its cipher suites renamed by `rename`; `Err` names the first suite it cannot
/// express.
pub(super) fn rename_ciphers(
    client: Client,
    job: &ClientJob,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<ClientJob, String> {
    let mut out = job.clone();
    out.ciphers = job
        .ciphers
        .iter()
        .map(|c| {
            rename(c).ok_or_else(|| format!("{client} cannot restrict its cipher suites to {c}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_names_map_to_iana_and_openssl_names() {
        assert_eq!(
            iana_cipher("TLS13_CHACHA20_POLY1305_SHA256"),
            Some(("TLS_CHACHA20_POLY1305_SHA256".into(), true))
        );
        assert_eq!(
            iana_cipher("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            Some(("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(), false))
        );
        assert_eq!(iana_cipher("TLS_RSA_WITH_AES_128_CBC_SHA"), None);
        assert_eq!(
            openssl_cipher("TLS13_AES_256_GCM_SHA384").as_deref(),
            Some("TLS_AES_256_GCM_SHA384")
        );
        assert_eq!(
            openssl_cipher("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256").as_deref(),
            Some("ECDHE-ECDSA-AES128-GCM-SHA256")
        );
        assert_eq!(
            openssl_cipher("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256").as_deref(),
            Some("ECDHE-RSA-CHACHA20-POLY1305")
        );
        assert_eq!(openssl_cipher("NOPE"), None);
    }

    #[test]
    fn a_missing_tool_is_not_installed() {
        assert!(find_tool("sh").is_some());
        let err = require_tool(Client::Go, "certlab-no-such-tool").unwrap_err();
        assert!(matches!(err, ClientRunError::NotInstalled { .. }));
        assert_eq!(
            err.to_string(),
            "go is not installed: certlab-no-such-tool not found"
        );
    }

    fn job(id: &str, ciphers: &[&str]) -> ClientJob {
        ClientJob {
            id: id.into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "/nonexistent/ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: ciphers.iter().map(|c| c.to_string()).collect(),
            alpn: vec![],
        }
    }

    #[test]
    fn jobs_a_client_cannot_express_are_answered_without_running_it() {
        let jobs = [job("a", &["TLS13_AES_128_GCM_SHA256"]), job("b", &["X"])];
        // The command does not exist: running it would fail, so nothing may run.
        let command = Command::new("/nonexistent/certlab-client");
        let answers = run_translated(Client::Go, command, &jobs, |j| {
            rename_ciphers(Client::Go, j, |_| None)
        })
        .expect("no program started");
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1].id, "b");
        assert_eq!(
            answers[0].answer,
            Answer::NotApplicable(
                "go cannot restrict its cipher suites to TLS13_AES_128_GCM_SHA256".into()
            )
        );
    }

    #[test]
    fn answers_of_the_program_and_not_applicable_ones_keep_the_job_order() {
        // A stand-in program: answers every job line `ID ok -`.
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "while IFS= read -r l; do printf '%s\\tok\\t-\\n' \"${l%%\t*}\"; done",
        ]);
        let jobs = [
            job("a", &[]),
            job("b", &["NOPE"]),
            job("c", &["TLS13_AES_128_GCM_SHA256"]),
        ];
        let answers = run_translated(Client::Node, command, &jobs, |j| {
            rename_ciphers(Client::Node, j, openssl_cipher)
        })
        .expect("the stand-in runs");
        let ids: Vec<&str> = answers.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(answers[0].answer, Answer::Accepted);
        assert!(matches!(&answers[1].answer, Answer::NotApplicable(w) if w.contains("NOPE")));
        assert_eq!(answers[2].answer, Answer::Accepted);
    }
}
