//! The probe's recording client: a server-certificate verifier that records the presented
//! chain and judges it with the shared classifier, a client-certificate resolver that records
//! whether the server asked for a certificate, and the rustls client configuration that
//! installs both.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::{ProbeError, ProbeOptions};
use crate::outcome::Outcome;
use crate::tls::TlsVersion;
use crate::verify::classify::{ClientAuthState, TrustStore, Usage, Verdict, VerifiedSignatures};
use crate::verify::inspect::CertSummary;
use crate::verify::judge_chain;

/// What the verifier and the client-certificate resolver saw during the handshake.
#[derive(Default)]
pub(super) struct Captured {
    /// The chain the server presented.
    pub(super) chain: Vec<CertificateDer<'static>>,
    /// Its summaries, at the time it was judged.
    pub(super) summaries: Vec<CertSummary>,
    /// The classifier's verdict on it.
    pub(super) verdict: Option<Verdict>,
    /// The signatures the classifier's path validation verified (for the client-rule lints).
    pub(super) verified: VerifiedSignatures,
    /// Whether the server asked for a client certificate and whether one was sent.
    pub(super) auth: ClientAuthState,
}

pub(super) fn lock(m: &Mutex<Captured>) -> MutexGuard<'_, Captured> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server-certificate verifier that records the chain, classifies it with the shared
/// classifier, and accepts only an `ok` verdict.
struct RecordingVerifier {
    /// Filled while the ClientHello is on its way ([`super::probe_loading_trust`]), before the
    /// first answer is read.
    trust: Arc<OnceLock<LoadedTrust>>,
    name: ServerName<'static>,
    now: Option<time::OffsetDateTime>,
    provider: Arc<CryptoProvider>,
    captured: Arc<Mutex<Captured>>,
}

impl fmt::Debug for RecordingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingVerifier")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The rustls certificate error that makes rustls send the fitting alert to the server.
fn rustls_error_for(outcome: Outcome) -> rustls::Error {
    let e = match outcome {
        Outcome::Expired => CertificateError::Expired,
        Outcome::NotYetValid => CertificateError::NotValidYet,
        Outcome::HostnameMismatch => CertificateError::NotValidForName,
        Outcome::UnknownCa | Outcome::SelfSigned | Outcome::IncompleteChain => {
            CertificateError::UnknownIssuer
        }
        Outcome::Revoked => CertificateError::Revoked,
        Outcome::BadSignature => CertificateError::BadSignature,
        Outcome::WrongUsage => CertificateError::InvalidPurpose,
        Outcome::BadCertificate => CertificateError::BadEncoding,
        _ => CertificateError::ApplicationVerificationFailure,
    };
    rustls::Error::InvalidCertificate(e)
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let at = self
            .now
            .unwrap_or_else(|| crate::tls::offset_date_time(now));
        let Some(trust) = self.trust.get() else {
            // Not reached: the probe reads no answer before its trust is loaded.
            return Err(rustls::Error::General("no trust store loaded".to_string()));
        };
        let (verdict, summaries, verified) =
            judge_chain(&chain, &trust.store, Some(&self.name), Usage::Server, at);
        let outcome = verdict.outcome;
        let mut cap = lock(&self.captured);
        cap.chain = chain;
        cap.summaries = summaries;
        cap.verdict = Some(verdict);
        cap.verified = verified;
        if outcome == Outcome::Ok {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls_error_for(outcome))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client-certificate resolver that records whether the server asked and whether a
/// certificate was sent.
struct RecordingResolver {
    key: Option<Arc<CertifiedKey>>,
    captured: Arc<Mutex<Captured>>,
}

impl fmt::Debug for RecordingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingResolver")
            .field("has_key", &self.key.is_some())
            .finish()
    }
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let mut cap = lock(&self.captured);
        cap.auth.requested = true;
        let key = self
            .key
            .clone()
            .filter(|k| k.key.choose_scheme(sigschemes).is_some());
        cap.auth.sent = key.is_some();
        key
    }

    fn has_certs(&self) -> bool {
        // Always keep the transcript needed for client authentication, so a request for a
        // certificate is answered (possibly empty) and recorded rather than failing.
        true
    }
}

/// The trust a probe judges with, once loaded.
pub(super) struct LoadedTrust {
    /// The roots (and known intermediates and CRLs).
    pub(super) store: TrustStore,
    /// Whether it is explicit trust (`--ca`, `--pki`, a caller's store), not the system's roots:
    /// only explicit roots are looked at by the client-rule lints.
    pub(super) explicit: bool,
}

pub(super) fn client_config(
    options: &ProbeOptions,
    trust: Arc<OnceLock<LoadedTrust>>,
    name: ServerName<'static>,
    captured: &Arc<Mutex<Captured>>,
) -> Result<Arc<ClientConfig>, ProbeError> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !options.ciphers.is_empty() {
        provider.cipher_suites = select_suites(&options.ciphers)?;
    }
    let provider = Arc::new(provider);
    let versions = TlsVersion::rustls_versions(options.tls);
    check_alpn(&options.alpn)?;
    let key = match &options.client_cert {
        None => None,
        Some((chain, key)) => Some(Arc::new(client_key(&provider, chain, key)?)),
    };
    let verifier = Arc::new(RecordingVerifier {
        trust,
        name,
        now: options.now,
        provider: provider.clone(),
        captured: captured.clone(),
    });
    let resolver = Arc::new(RecordingResolver {
        key,
        captured: captured.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| ProbeError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(resolver);
    config.alpn_protocols = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}

/// Refuses ALPN protocol names that cannot be sent: empty (`--alpn ""`, `--alpn h2,`) or
/// longer than 255 bytes. rustls would send them and the server would answer with an alert that
/// looks like the server's fault.
fn check_alpn(alpn: &[String]) -> Result<(), ProbeError> {
    for p in alpn {
        if p.is_empty() {
            return Err(ProbeError::Config(
                "an ALPN protocol name is empty: give names such as h2 or http/1.1".to_string(),
            ));
        }
        if p.len() > 255 {
            return Err(ProbeError::Config(format!(
                "the ALPN protocol name `{}…` is longer than 255 bytes",
                p.chars().take(20).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// The client's certificate and key, checked before connecting: a key rustls cannot sign with
/// or one that is not the certificate's would make the server reject the client, and the
/// report blame the server.
fn client_key(
    provider: &CryptoProvider,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<CertifiedKey, ProbeError> {
    let Some(leaf) = chain.first() else {
        return Err(ProbeError::ClientCert("no certificate given".to_string()));
    };
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| {
            let unsupported =
                crate::pki::keys::KeyKind::of_private_key(key).and_then(|k| k.unsupported());
            ProbeError::ClientCert(unsupported.unwrap_or_else(|| format!("unusable key: {e}")))
        })?;
    let cert_spki = crate::x509::Cert::parse(leaf)
        .map(|c| c.spki().to_vec())
        .map_err(|e| ProbeError::ClientCert(format!("the certificate cannot be parsed: {e}")))?;
    if let Some(key_spki) = signing.public_key()
        && key_spki.as_ref() != cert_spki.as_slice()
    {
        return Err(ProbeError::ClientCert(
            "the private key is not the key of the certificate (their public keys differ): give the key of the first certificate of the chain".to_string(),
        ));
    }
    Ok(CertifiedKey::new(chain.to_vec(), signing))
}

/// The cipher suites with these rustls names (case-insensitive).
fn select_suites(names: &[String]) -> Result<Vec<rustls::SupportedCipherSuite>, ProbeError> {
    names
        .iter()
        .map(|n| {
            crate::tls::find_suite(n).ok_or_else(|| ProbeError::UnknownCipher {
                name: n.clone(),
                known: crate::tls::cipher_suite_names().join(", "),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_oversized_alpn_names_are_refused() {
        assert!(check_alpn(&["h2".into(), "http/1.1".into()]).is_ok());
        assert!(check_alpn(&[]).is_ok());
        for bad in [
            vec![String::new()],
            vec!["h2".into(), String::new()],
            vec!["x".repeat(256)],
        ] {
            assert!(
                matches!(check_alpn(&bad), Err(ProbeError::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_cipher_is_bad_input() {
        let err = select_suites(&["TLS_NOPE".to_string()]).unwrap_err();
        assert!(err.to_string().contains("TLS13_AES_256_GCM_SHA384"));
        assert_eq!(
            select_suites(&["tls13_aes_128_gcm_sha256".to_string()])
                .unwrap()
                .len(),
            1
        );
    }
}
