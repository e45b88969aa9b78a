//! Running Java against lab endpoints: `templates/clients/Client.java`, launched as a
//! single-file program (`java Client.java`), one JVM for the batch.

use std::path::Path;
use std::process::Command;

use super::programs::{iana_cipher, rename_ciphers, require_tool, run_translated, write_program};
use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// The Java client program.
const PROGRAM: &str = include_str!("../../../templates/clients/Client.java");

/// `job` in JSSE's terms: cipher suites by their IANA names.
fn translate(job: &ClientJob) -> Result<ClientJob, String> {
    rename_ciphers(Client::Java, job, |c| iana_cipher(c).map(|(name, _)| name))
}

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let java = require_tool(Client::Java, "java")?;
    let program = write_program(Client::Java, workdir, "Client.java", PROGRAM)?;
    let mut command = Command::new(java);
    // C1 only: the batch is short, the JVM starts faster.
    command.arg("-XX:TieredStopAtLevel=1").arg(program);
    run_translated(Client::Java, command, jobs, translate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_takes_iana_cipher_names() {
        let job = ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec!["TLS13_AES_256_GCM_SHA384".into()],
            alpn: vec![],
        };
        assert_eq!(translate(&job).unwrap().ciphers, ["TLS_AES_256_GCM_SHA384"]);
        let mut bad = job.clone();
        bad.ciphers = vec!["TLS_RSA_WITH_RC4_128_MD5".into()];
        assert!(
            translate(&bad)
                .unwrap_err()
                .contains("TLS_RSA_WITH_RC4_128_MD5")
        );
    }
}
