//! Running gRPC against lab endpoints: `templates/clients/grpc_client.py` on `python3` with
//! `grpcio` (gRPC core on BoringSSL), one process for the batch.

use std::path::Path;
use std::process::Command;

use super::programs::{require_tool, run_translated, write_program};
use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// The gRPC client program.
const PROGRAM: &str = include_str!("../../../templates/clients/grpc_client.py");

/// What grpcio can express of `job`: it cannot restrict a channel's TLS version or cipher
/// suites, and always offers its own ALPN list (which has h2).
fn translate(job: &ClientJob) -> Result<ClientJob, String> {
    if job.tls.is_some() {
        return Err("grpcio cannot restrict a channel's TLS version".into());
    }
    if !job.ciphers.is_empty() {
        return Err(
            "grpcio cannot choose a channel's cipher suites (BoringSSL's TLS 1.3 suites are fixed)"
                .into(),
        );
    }
    if !job.alpn.is_empty() && job.alpn != ["h2"] {
        return Err("grpcio always offers its own ALPN list (grpc-exp, h2)".into());
    }
    Ok(job.clone())
}

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let python = require_tool(Client::Grpc, "python3")?;
    let has_grpc = Command::new(&python)
        .args(["-c", "import grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_grpc {
        return Err(ClientRunError::NotInstalled {
            client: Client::Grpc,
            program: "the python3 module grpc (pip install grpcio)".into(),
        });
    }
    let program = write_program(Client::Grpc, workdir, "grpc_client.py", PROGRAM)?;
    let mut command = Command::new(python);
    command.arg(program).env("GRPC_VERBOSITY", "NONE");
    run_translated(Client::Grpc, command, jobs, translate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::TlsVersion;

    #[test]
    fn grpc_cannot_restrict_versions_ciphers_or_alpn() {
        let job = ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec![],
            alpn: vec!["h2".into()],
        };
        assert!(translate(&job).is_ok());
        let mut v = job.clone();
        v.tls = Some(TlsVersion::Tls13);
        assert!(translate(&v).unwrap_err().contains("TLS version"));
        let mut c = job.clone();
        c.ciphers = vec!["TLS13_AES_128_GCM_SHA256".into()];
        assert!(translate(&c).unwrap_err().contains("cipher"));
        let mut a = job;
        a.alpn = vec!["http/1.1".into()];
        assert!(translate(&a).unwrap_err().contains("ALPN"));
    }
}
