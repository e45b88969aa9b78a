//! Running Node.js against lab endpoints: `templates/clients/client.js` (`tls` module, OpenSSL
//! underneath, Node's own `checkServerIdentity`), one `node` process for the batch.

use std::path::Path;
use std::process::Command;

use super::programs::{
    openssl_cipher, rename_ciphers, require_tool, run_translated, write_program,
};
use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// The Node client program.
const PROGRAM: &str = include_str!("../../../templates/clients/client.js");

/// `job` in Node's terms: OpenSSL's cipher names (TLS 1.3 suites by their IANA names).
fn translate(job: &ClientJob) -> Result<ClientJob, String> {
    rename_ciphers(Client::Node, job, openssl_cipher)
}

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let node = require_tool(Client::Node, "node")?;
    let program = write_program(Client::Node, workdir, "client.js", PROGRAM)?;
    let mut command = Command::new(node);
    command.arg(program);
    run_translated(Client::Node, command, jobs, translate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_takes_openssl_cipher_names() {
        let job = ClientJob {
            id: "x".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            server_name: "localhost".into(),
            ca: "ca.pem".into(),
            cert: None,
            key: None,
            tls: None,
            ciphers: vec![
                "TLS13_CHACHA20_POLY1305_SHA256".into(),
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
            ],
            alpn: vec![],
        };
        let j = translate(&job).unwrap();
        assert_eq!(
            j.ciphers,
            [
                "TLS_CHACHA20_POLY1305_SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
        // One list: Node tells TLS 1.3 suites (TLS_...) from OpenSSL's TLS 1.2 names.
        assert!(PROGRAM.contains("options.ciphers = ciphers.split(',').join(':')"));
    }
}
