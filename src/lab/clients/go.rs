//! Running Go against lab endpoints: `templates/clients/client.go` (standard library only),
//! built once per batch with `go build`.

use std::path::Path;
use std::process::Command;

use super::programs::{iana_cipher, rename_ciphers, require_tool, run_translated, write_program};
use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// The Go client program.
const PROGRAM: &str = include_str!("../../../templates/clients/client.go");

/// `job` in Go's terms: TLS 1.2 suites by their IANA names; Go cannot restrict TLS 1.3 suites.
fn translate(job: &ClientJob) -> Result<ClientJob, String> {
    rename_ciphers(Client::Go, job, |c| match iana_cipher(c)? {
        (_, true) => None,
        (name, false) => Some(name),
    })
    .map_err(|e| format!("{e} (Go's crypto/tls does not let a program choose TLS 1.3 suites)"))
}

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let go = require_tool(Client::Go, "go")?;
    let source = write_program(Client::Go, workdir, "client.go", PROGRAM)?;
    let binary = workdir.join("certlab-go-client");
    let mut build = Command::new(go);
    build
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .current_dir(workdir)
        .env("GO111MODULE", "off");
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        build.env("GOCACHE", workdir.join("go-cache"));
    }
    let built = build.output().map_err(|e| ClientRunError::Failed {
        client: Client::Go,
        reason: format!("cannot run go build: {e}"),
    })?;
    if !built.status.success() {
        return Err(ClientRunError::Failed {
            client: Client::Go,
            reason: format!(
                "go build failed: {}",
                String::from_utf8_lossy(&built.stderr).trim()
            ),
        });
    }
    run_translated(Client::Go, Command::new(binary), jobs, translate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(ciphers: &[&str]) -> ClientJob {
        ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: ciphers.iter().map(|c| c.to_string()).collect(),
            alpn: vec![],
        }
    }

    #[test]
    fn go_takes_tls12_suites_by_iana_name_and_no_tls13_suites() {
        let j = translate(&job(&["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])).unwrap();
        assert_eq!(j.ciphers, ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
        let why = translate(&job(&["TLS13_CHACHA20_POLY1305_SHA256"])).unwrap_err();
        assert!(why.contains("TLS 1.3"), "{why}");
        assert!(translate(&job(&[])).is_ok());
    }

    #[test]
    fn the_program_speaks_the_line_protocol() {
        assert!(PROGRAM.contains("package main"));
        assert!(PROGRAM.contains("len(f) != 10"));
    }
}
