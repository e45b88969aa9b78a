//! Running plain rustls (0.23, rustls-webpki's `WebPkiServerVerifier`, aws-lc-rs) in process
//! against lab endpoints: what a Rust program that uses rustls with the CA file as its roots
//! sees, without certlab's extra checks (so it does not check a trust anchor's own dates).
//!
//! The words are rustls's error as a program prints it (`invalid peer certificate: Expired`,
//! `received fatal alert: CertificateRequired`), cut before the times and names that vary.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{Answer, ClientAnswer, ClientJob, ClientRunError};
use crate::tls::TlsVersion;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let _ = workdir;
    Ok(jobs
        .iter()
        .map(|job| ClientAnswer {
            id: job.id.clone(),
            answer: match config(job) {
                Err(answer) => answer,
                Ok(config) => match connect(job, config) {
                    Ok(()) => Answer::Accepted,
                    Err(words) => Answer::Rejected(stable(&words)),
                },
            },
        })
        .collect())
}

fn config(job: &ClientJob) -> Result<Arc<ClientConfig>, Answer> {
    let fail = |what: &str, e: String| Answer::Rejected(format!("{what}: {e}"));
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !job.ciphers.is_empty() {
        let mut suites = Vec::new();
        for name in &job.ciphers {
            suites.push(crate::tls::find_suite(name).ok_or_else(|| {
                Answer::NotApplicable(format!("rustls has no cipher suite {name}"))
            })?);
        }
        provider.cipher_suites = suites;
    }
    let provider = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    let certs = crate::pem::read_certs(&job.ca).map_err(|e| fail("CA file", e.to_string()))?;
    roots.add_parsable_certificates(certs);
    let mut verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    if super::job_has_crls(job) {
        let crls = crate::pem::read_crls(&job.ca).map_err(|e| fail("CRLs", e.to_string()))?;
        verifier = verifier.with_crls(crls).only_check_end_entity_revocation();
    }
    let verifier = verifier
        .build()
        .map_err(|e| fail("verifier", e.to_string()))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(TlsVersion::rustls_versions(job.tls))
        .map_err(|e| fail("versions", e.to_string()))?
        .with_webpki_verifier(verifier);
    let mut config = match (&job.cert, &job.key) {
        (Some(cert), Some(key)) => {
            let chain =
                crate::pem::read_certs(cert).map_err(|e| fail("client cert", e.to_string()))?;
            let key =
                crate::pem::read_private_key(key).map_err(|e| fail("client key", e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| fail("client cert", e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = job.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}

fn connect(job: &ClientJob, config: Arc<ClientConfig>) -> Result<(), String> {
    let name = match job.server_name.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(job.server_name.clone()).map_err(|e| e.to_string())?,
    };
    let tcp = TcpStream::connect_timeout(&job.addr, TIMEOUT).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, tcp);
    let request = format!("GET / HTTP/1.0\r\nHost: {}\r\n\r\n", job.server_name);
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // Read the answer: a server that rejects a TLS 1.3 client certificate says so only after
    // the client's handshake is done.
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) => {}
        // A server that closes without close_notify after its answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    if answer.is_empty() {
        return Err("the server closed the connection without an answer".to_string());
    }
    Ok(())
}

/// rustls's words without what varies between runs (times, serials).
fn stable(words: &str) -> String {
    let cut = [
        ": verification time",
        " (candidates",
        "; certificate is not valid",
    ]
    .iter()
    .filter_map(|m| words.find(m))
    .min();
    match cut {
        Some(i) => words[..i].to_string(),
        None => words.to_string(),
    }
}
