//! Running `gnutls-cli` (GnuTLS 3.7) against lab endpoints: one process per job.
//!
//! The job's settings map to gnutls-cli's flags: `--x509cafile` (the CA file only: given a CA
//! file, gnutls-cli does not load the system trust), `--port` and the address as host,
//! `--verify-hostname` with the job's server name (an IP address is checked against the IP
//! SANs) and `--sni-hostname` for names, `--x509certfile`/`--x509keyfile` for a client
//! certificate, `--alpn` per offered protocol, and the TLS version and cipher suites as a
//! `--priority` string ([`priority`]; a suite list GnuTLS cannot offer exactly is "not
//! applicable"). When the CA file holds CRLs, its certificates and its CRLs are split into two
//! files (`--x509cafile`, `--x509crlfile`). GnuTLS loads a CRL only when its issuer is in the CA
//! file; when it refuses the CRL, the job is "not applicable" with gnutls-cli's words.
//!
//! A request goes on stdin, so an alert the server sends after a TLS 1.3 handshake (a client
//! certificate it rejects) is read. A job is accepted when the server's HTTP answer arrives.
//! The words are the one line that names the cause ([`words`]): the verification status
//! (`- Status: The certificate is NOT trusted. The certificate issuer is unknown.`), else the
//! alert received (`*** Received alert [48]: CA is unknown`), else the fatal error
//! (`*** Fatal error: Key usage violation in certificate has been detected.`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{
    Answer, ClientAnswer, ClientJob, ClientRunError, answer_each, job_has_crls, require_tool,
    run_program, stable_words,
};
use crate::clients::Client;
use crate::tls::TlsVersion;

const PROGRAM: &str = "gnutls-cli";

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    require_tool(Client::Gnutls, PROGRAM)?;
    answer_each(jobs, |job| {
        Ok(match run_job(job, workdir)? {
            Ok(answer) => answer,
            Err(why) => Answer::NotApplicable(why),
        })
    })
}

/// One job: `Err(why)` when gnutls-cli cannot express it.
fn run_job(job: &ClientJob, workdir: &Path) -> Result<Result<Answer, String>, ClientRunError> {
    let priority = match priority(job.tls, &job.ciphers) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let files = if job_has_crls(job) {
        Some(
            split_ca_file(job, workdir).map_err(|e| ClientRunError::Failed {
                client: Client::Gnutls,
                reason: format!("splitting {}: {e}", job.ca.display()),
            })?,
        )
    } else {
        None
    };
    let ran = run_program(
        Client::Gnutls,
        command(job, priority.as_deref(), files.as_ref()),
        b"GET / HTTP/1.0\r\n\r\n",
        Duration::from_secs(15),
    )?;
    if let Some(line) = ran
        .stderr
        .lines()
        .chain(ran.stdout.lines())
        .find(|l| l.starts_with("Error setting the x509 CRL file"))
    {
        return Ok(Err(format!(
            "gnutls-cli loads a CRL only when its issuer is in the CA file, and the CA file holds the root alone: {}",
            stable_words(line)
        )));
    }
    Ok(Ok(if ran.status.is_none() {
        Answer::Rejected("gnutls-cli did not finish in 15 s".to_string())
    } else {
        answer(&ran.stdout, &ran.stderr)
    }))
}

/// The CA file's certificates and its CRLs, as two files in `workdir`.
fn split_ca_file(job: &ClientJob, workdir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let text = std::fs::read_to_string(&job.ca)?;
    let blocks = ::pem::parse_many(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let (crls, certs): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|b| b.tag() == "X509 CRL");
    let ca = workdir.join(format!("{}.gnutls-ca.pem", job.id));
    let crl = workdir.join(format!("{}.gnutls-crl.pem", job.id));
    let text = |blocks: Vec<::pem::Pem>| -> String {
        blocks
            .iter()
            .map(|b| crate::pem::encode_block(b.tag(), b.contents()))
            .collect()
    };
    std::fs::write(&ca, text(certs))?;
    std::fs::write(&crl, text(crls))?;
    Ok((ca, crl))
}

/// The `gnutls-cli` command of one job; `files` are the CA and CRL files split from a CA file
/// that holds CRLs.
fn command(job: &ClientJob, priority: Option<&str>, files: Option<&(PathBuf, PathBuf)>) -> Command {
    let mut c = Command::new(PROGRAM);
    match files {
        Some((ca, crl)) => {
            c.arg("--x509cafile").arg(ca).arg("--x509crlfile").arg(crl);
        }
        None => {
            c.arg("--x509cafile").arg(&job.ca);
        }
    }
    c.arg("--port").arg(job.addr.port().to_string());
    let name = &job.server_name;
    c.arg("--verify-hostname").arg(name);
    if name.parse::<IpAddr>().is_err() {
        c.arg("--sni-hostname").arg(name);
    }
    if let Some(p) = priority {
        c.arg("--priority").arg(p);
    }
    for proto in &job.alpn {
        c.arg("--alpn").arg(proto);
    }
    if let (Some(cert), Some(key)) = (&job.cert, &job.key) {
        c.arg("--x509certfile")
            .arg(cert)
            .arg("--x509keyfile")
            .arg(key);
    }
    c.arg(job.addr.ip().to_string());
    c
}

/// The GnuTLS name of the cipher of a rustls suite, and its key exchange (TLS 1.2 suites).
fn gnutls_suite(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    let cipher = |s: &str| match s {
        "AES_128_GCM_SHA256" => Some("AES-128-GCM"),
        "AES_256_GCM_SHA384" => Some("AES-256-GCM"),
        "CHACHA20_POLY1305_SHA256" => Some("CHACHA20-POLY1305"),
        "AES_128_CCM_SHA256" => Some("AES-128-CCM"),
        _ => None,
    };
    if let Some(rest) = name.strip_prefix("TLS13_") {
        return cipher(rest).map(|c| (c, None));
    }
    let (kx, rest) = name.strip_prefix("TLS_")?.split_once("_WITH_")?;
    let kx = match kx {
        "ECDHE_ECDSA" => "ECDHE-ECDSA",
        "ECDHE_RSA" => "ECDHE-RSA",
        "DHE_RSA" => "DHE-RSA",
        _ => return None,
    };
    cipher(rest).map(|c| (c, Some(kx)))
}

/// The `--priority` string for a TLS version and a list of rustls cipher-suite names
/// (`TLS13_CHACHA20_POLY1305_SHA256` → `NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305`);
/// `None` when neither is restricted. Like rustls, a version none of the listed suites is for
/// is not offered. A priority string chooses ciphers and key exchanges separately (TLS 1.2
/// offers every pair): a list that is no such product, or a suite GnuTLS has no name for, is
/// `Err(why)`.
pub(super) fn priority(
    tls: Option<TlsVersion>,
    ciphers: &[String],
) -> Result<Option<String>, String> {
    let mut versions: BTreeSet<&str> = match tls {
        Some(TlsVersion::Tls12) => ["TLS1.2"].into(),
        Some(TlsVersion::Tls13) => ["TLS1.3"].into(),
        None => ["TLS1.2", "TLS1.3"].into(),
    };
    if ciphers.is_empty() {
        return Ok(tls.map(|_| {
            let v = versions.iter().next().expect("one version");
            format!("NORMAL:-VERS-ALL:+VERS-{v}")
        }));
    }
    let mut cipher_names: Vec<&str> = Vec::new();
    let mut tls13 = BTreeSet::new();
    let mut kxs: Vec<&str> = Vec::new();
    let mut tls12 = BTreeSet::new();
    for name in ciphers {
        let (cipher, kx) = gnutls_suite(name.trim())
            .ok_or_else(|| format!("GnuTLS has no name for the cipher suite {name}"))?;
        if !cipher_names.contains(&cipher) {
            cipher_names.push(cipher);
        }
        match kx {
            None => {
                tls13.insert(cipher);
            }
            Some(kx) => {
                if !kxs.contains(&kx) {
                    kxs.push(kx);
                }
                tls12.insert((kx, cipher));
            }
        }
    }
    if tls13.is_empty() {
        versions.remove("TLS1.3");
    }
    if tls12.is_empty() {
        versions.remove("TLS1.2");
    }
    let list = ciphers.join(", ");
    if versions.is_empty() {
        return Err(format!(
            "none of the cipher suites {list} is for the job's TLS version"
        ));
    }
    let inexact = || {
        Err(format!(
            "a GnuTLS priority string chooses ciphers and key exchanges separately: it cannot offer exactly {list}"
        ))
    };
    let all: BTreeSet<&str> = cipher_names.iter().copied().collect();
    if versions.contains("TLS1.3") && tls13 != all {
        return inexact();
    }
    if versions.contains("TLS1.2") {
        let product: BTreeSet<(&str, &str)> = kxs
            .iter()
            .flat_map(|&k| cipher_names.iter().map(move |&c| (k, c)))
            .collect();
        if product != tls12 {
            return inexact();
        }
    }
    let mut p = String::from("NORMAL:-VERS-ALL");
    for v in &versions {
        p.push_str(&format!(":+VERS-{v}"));
    }
    p.push_str(":-CIPHER-ALL");
    for c in &cipher_names {
        p.push_str(&format!(":+{c}"));
    }
    if versions.contains("TLS1.2") {
        p.push_str(":-KX-ALL");
        for k in &kxs {
            p.push_str(&format!(":+{k}"));
        }
    }
    Ok(Some(p))
}

/// Accepted when the HTTP answer arrived and gnutls-cli printed no error; else its words.
fn answer(stdout: &str, stderr: &str) -> Answer {
    match words(stdout, stderr) {
        Some(w) => Answer::Rejected(w),
        None if stdout.lines().any(|l| l.starts_with("HTTP/1.")) => Answer::Accepted,
        None => Answer::Rejected(
            stderr
                .lines()
                .chain(stdout.lines())
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .map_or_else(|| "no answer from the server".to_string(), stable_words),
        ),
    }
}

/// The one line of gnutls-cli's output that names why it failed: the verification status
/// (`- Status: The certificate is NOT trusted. …`), else the alert it received
/// (`*** Received alert [N]: …`), else its fatal error (`*** Fatal error: …`); `None` when it
/// printed none of these.
pub(super) fn words(stdout: &str, stderr: &str) -> Option<String> {
    let lines = || stdout.lines().chain(stderr.lines()).map(str::trim);
    let first = |prefix: &str| lines().find(|l| l.starts_with(prefix)).map(stable_words);
    first("- Status: The certificate is NOT trusted")
        .or_else(|| first("*** Received alert"))
        .or_else(|| first("*** Fatal error"))
        .or_else(|| first("*** PKI verification"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn priority_strings_map_versions_and_suites() {
        assert_eq!(priority(None, &[]), Ok(None));
        assert_eq!(
            priority(Some(TlsVersion::Tls12), &[]).unwrap().as_deref(),
            Some("NORMAL:-VERS-ALL:+VERS-TLS1.2")
        );
        assert_eq!(
            priority(Some(TlsVersion::Tls13), &[]).unwrap().as_deref(),
            Some("NORMAL:-VERS-ALL:+VERS-TLS1.3")
        );
        // The lab's cipher-mismatch client: TLS 1.3 alone, as rustls offers it.
        assert_eq!(
            priority(None, &s(&["TLS13_CHACHA20_POLY1305_SHA256"]))
                .unwrap()
                .as_deref(),
            Some("NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305")
        );
        assert_eq!(
            priority(
                None,
                &s(&[
                    "TLS13_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
                ])
            )
            .unwrap()
            .as_deref(),
            Some(
                "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-KX-ALL:+ECDHE-ECDSA"
            )
        );
        // Every key exchange with every cipher: a product GnuTLS can offer.
        assert!(
            priority(
                Some(TlsVersion::Tls12),
                &s(&[
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
                ])
            )
            .unwrap()
            .unwrap()
            .ends_with(":-CIPHER-ALL:+AES-256-GCM:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA")
        );
        // Not a product: GnuTLS would also offer ECDHE-RSA with AES-128-GCM.
        let err = priority(
            None,
            &s(&[
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            ]),
        )
        .unwrap_err();
        assert!(err.contains("cannot offer exactly"), "{err}");
        // A TLS 1.2 suite's cipher would be offered in TLS 1.3 as well.
        assert!(
            priority(
                None,
                &s(&[
                    "TLS13_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
                ])
            )
            .is_err()
        );
        assert!(
            priority(Some(TlsVersion::Tls12), &s(&["TLS13_AES_128_GCM_SHA256"]))
                .unwrap_err()
                .contains("TLS version")
        );
        assert!(
            priority(None, &s(&["TLS_RSA_WITH_RC4_128_SHA"]))
                .unwrap_err()
                .contains("no name for the cipher suite TLS_RSA_WITH_RC4_128_SHA")
        );
    }

    #[test]
    fn the_command_checks_the_name_and_sends_sni_only_for_names() {
        let mut job = ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:4433".parse().unwrap(),
            server_name: "127.0.0.1".into(),
            ca: "/nonexistent/ca.pem".into(),
            cert: Some("/c.chain.pem".into()),
            key: Some("/c.key".into()),
            tls: None,
            ciphers: vec![],
            alpn: vec!["h2".into(), "http/1.1".into()],
        };
        let args = |c: Command| -> Vec<String> {
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let a = args(command(&job, Some("NORMAL"), None));
        assert_eq!(
            a,
            [
                "--x509cafile",
                "/nonexistent/ca.pem",
                "--port",
                "4433",
                "--verify-hostname",
                "127.0.0.1",
                "--priority",
                "NORMAL",
                "--alpn",
                "h2",
                "--alpn",
                "http/1.1",
                "--x509certfile",
                "/c.chain.pem",
                "--x509keyfile",
                "/c.key",
                "127.0.0.1"
            ]
        );
        job.server_name = "localhost".into();
        let files = (PathBuf::from("/w/ca.pem"), PathBuf::from("/w/crl.pem"));
        let a = args(command(&job, None, Some(&files)));
        assert!(a.windows(2).any(|w| w == ["--sni-hostname", "localhost"]));
        assert!(
            a.windows(2)
                .any(|w| w == ["--verify-hostname", "localhost"])
        );
        assert!(a.windows(2).any(|w| w == ["--x509crlfile", "/w/crl.pem"]));
        assert!(a.windows(2).any(|w| w == ["--x509cafile", "/w/ca.pem"]));
    }

    // gnutls-cli 3.7.9's output, captured against `certlab lab --serve`.
    const UNKNOWN_CA_STDOUT: &str = "Processed 2 CA certificate(s).\nResolving '127.0.0.1:39893'...\nConnecting to '127.0.0.1:39893'...\n- Certificate type: X.509\n- Got a certificate list of 1 certificates.\n- Certificate[0] info:\n - subject `CN=localhost', issuer `CN=certlab unknown-ca root,O=certlab', serial 0x01\n- Status: The certificate is NOT trusted. The certificate issuer is unknown. \n";
    const UNKNOWN_CA_STDERR: &str = "*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.\n";
    const CLIENT_UNKNOWN_CA_STDOUT: &str = "- Status: The certificate is trusted. \n- Description: (TLS1.3-X.509)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)\n- Handshake was completed\n\n- Simple Client Mode:\n\n";
    const CLIENT_UNKNOWN_CA_STDERR: &str = "*** Fatal error: A TLS fatal alert has been received.\n*** Received alert [48]: CA is unknown\n*** Server has terminated the connection abnormally.\n";
    const GOOD_STDOUT: &str = "- Status: The certificate is trusted. \n- Handshake was completed\n\n- Simple Client Mode:\n\nHTTP/1.1 200 OK\nContent-Type: text/plain; charset=utf-8\n\ncertlab scenario good: TLS handshake ok\n";

    #[test]
    fn words_name_the_cause() {
        assert_eq!(
            answer(UNKNOWN_CA_STDOUT, UNKNOWN_CA_STDERR),
            Answer::Rejected(
                "- Status: The certificate is NOT trusted. The certificate issuer is unknown."
                    .into()
            )
        );
        assert_eq!(
            answer(CLIENT_UNKNOWN_CA_STDOUT, CLIENT_UNKNOWN_CA_STDERR),
            Answer::Rejected("*** Received alert [48]: CA is unknown".into())
        );
        assert_eq!(
            answer(
                "Connecting to '127.0.0.1:38803'...\n",
                "*** Fatal error: Key usage violation in certificate has been detected.\n"
            ),
            Answer::Rejected(
                "*** Fatal error: Key usage violation in certificate has been detected.".into()
            )
        );
        assert_eq!(answer(GOOD_STDOUT, ""), Answer::Accepted);
        assert_eq!(
            answer("Connecting to '127.0.0.1:1'...\n", ""),
            Answer::Rejected("Connecting to '127.0.0.1:1'...".into())
        );
    }
}
