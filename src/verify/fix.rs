//! The fix for a certificate outcome in the user's terms — the collector's `tls:` keys, the
//! `OTEL_EXPORTER_OTLP_*` variables, the certlab command that makes the missing piece — shared
//! by `check` and `probe`.

use std::net::IpAddr;

use pki_types::CertificateDer;

use crate::outcome::Outcome;
use crate::x509::Cert;

/// The fix for an outcome about the server's certificate, for a client that checked `name`
/// against the presented `chain`; `None` for outcomes that are not about the certificate (the
/// caller then uses [`Outcome::fix`] or its own text).
///
/// ```
/// use certlab::{Outcome, verify::fix::certificate_fix};
/// let fix = certificate_fix(Outcome::HostnameMismatch, "api.test", &[]).unwrap();
/// assert!(fix.contains("server_name_override") && fix.contains("certlab cert api.test"));
/// assert!(certificate_fix(Outcome::Refused, "api.test", &[]).is_none());
/// ```
pub fn certificate_fix(
    outcome: Outcome,
    name: &str,
    chain: &[CertificateDer<'_>],
) -> Option<String> {
    let is_ip = name.parse::<IpAddr>().is_ok();
    Some(match outcome {
        Outcome::UnknownCa => "give the client the CA that issued the server's chain: `tls: ca_file: ca.pem` / OTEL_EXPORTER_OTLP_CERTIFICATE=ca.pem (certlab: `certlab probe --pki DIR`); if the server should have sent an intermediate, serve NAME.chain.pem as its cert_file".to_string(),
        Outcome::SelfSigned => format!(
            "trust that certificate itself (`tls: ca_file` / OTEL_EXPORTER_OTLP_CERTIFICATE = the server's certificate), or issue it from a CA the clients trust: `certlab cert {name}` (local CA; clients trust its ca.pem)"
        ),
        Outcome::IncompleteChain => "serve the full chain: the server's `tls: cert_file` must hold the leaf then the intermediates (NAME.chain.pem, not NAME.pem)".to_string(),
        Outcome::HostnameMismatch => {
            let sans = leaf_sans(chain);
            let covered = if sans.is_empty() {
                "no SAN at all (a name only in the CN does not count)".to_string()
            } else {
                sans.join(", ")
            };
            format!(
                "the certificate covers {covered}, not {kind} `{name}`: connect by a name it has, set `tls: server_name_override` to one of them, or re-issue it with {kind} `{name}` as a SAN (`certlab cert {name} --ca-cert ISSUER.pem --ca-key ISSUER.key`)",
                kind = if is_ip { "IP" } else { "DNS name" }
            )
        }
        Outcome::Expired => format!(
            "renew the certificate the detail names; a fresh server certificate: `certlab cert {name} --ca-cert ISSUER.pem --ca-key ISSUER.key`"
        ),
        Outcome::NotYetValid => format!(
            "check the clocks of both sides (this one included), or re-issue with a notBefore in the past: `certlab cert {name} --ca-cert ISSUER.pem --ca-key ISSUER.key` backdates it by an hour"
        ),
        Outcome::WrongUsage => format!(
            "the server's certificate must allow serverAuth: re-issue it with `certlab cert {name} --ca-cert ISSUER.pem --ca-key ISSUER.key` (server certificates by default)"
        ),
        _ => return None,
    })
}

/// The leaf's SANs as `DNS:x` / `IP:y` text.
fn leaf_sans(chain: &[CertificateDer<'_>]) -> Vec<String> {
    chain
        .first()
        .and_then(|leaf| Cert::parse(leaf).ok())
        .map(|cert| cert.sans())
        .unwrap_or_default()
}
