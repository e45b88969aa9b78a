//! Every fix text: what to do about an outcome, in the user's terms — the collector's `tls:`
//! keys, the `OTEL_EXPORTER_OTLP_*` variables, the certlab command that makes the missing
//! piece. `check`, `probe` and the lab take their fixes from here; [`Outcome::fix`] is the
//! general fix this builds on when there is nothing more specific to say.

use std::net::IpAddr;

use crate::outcome::Outcome;
use crate::tls::TlsVersion;
use crate::verify::classify::Usage;
use crate::verify::inspect::CertSummary;

/// The fix for an outcome about the server's certificate, for a client that checked `name`
/// against the presented `chain` (its summaries); `None` for outcomes that are not about the certificate (the
/// caller then uses [`Outcome::fix`] or its own text).
///
/// ```
/// use certlab::{Outcome, verify::fix::certificate_fix};
/// let fix = certificate_fix(Outcome::HostnameMismatch, "api.test", &[]).unwrap();
/// assert!(fix.contains("server_name_override") && fix.contains("certlab cert api.test"));
/// assert!(certificate_fix(Outcome::Refused, "api.test", &[]).is_none());
/// ```
pub fn certificate_fix(outcome: Outcome, name: &str, chain: &[CertSummary]) -> Option<String> {
    let is_ip = name.parse::<IpAddr>().is_ok();
    Some(match outcome {
        Outcome::UnknownCa => "give the client the CA that issued the server's chain: `tls: ca_file: ca.pem` / OTEL_EXPORTER_OTLP_CERTIFICATE=ca.pem (certlab: `certlab probe --pki DIR`); if the server should have sent an intermediate, serve NAME.chain.pem as its cert_file".to_string(),
        Outcome::SelfSigned => format!(
            "trust that certificate itself (`tls: ca_file` / OTEL_EXPORTER_OTLP_CERTIFICATE = the server's certificate), or issue it from a CA the clients trust: `certlab cert {name}` (local CA; clients trust its ca.pem)"
        ),
        Outcome::IncompleteChain => "serve the full chain: the server's `tls: cert_file` must hold the leaf then the intermediates (NAME.chain.pem, not NAME.pem)".to_string(),
        Outcome::HostnameMismatch => {
            let sans = chain.first().map(|leaf| leaf.sans.as_slice()).unwrap_or_default();
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

/// The fix for `check`: a server certificate's outcome names the host it was checked for
/// (`NAME` without one); client certificates get the outcome's general fix.
pub(crate) fn check_fix(
    outcome: Outcome,
    host: Option<&str>,
    usage: Usage,
    chain: &[CertSummary],
) -> String {
    match usage {
        Usage::Server => certificate_fix(outcome, host.unwrap_or("NAME"), chain),
        Usage::Client => None,
    }
    .unwrap_or_else(|| outcome.fix().to_string())
}

/// What a live endpoint's fix can refer to.
pub(crate) struct EndpointFix<'a> {
    /// The name the certificate was checked against.
    pub(crate) name: &'a str,
    /// The target's host and port.
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    /// The chain as presented, summarised.
    pub(crate) chain: &'a [CertSummary],
    /// The one TLS version the client allowed, if it was restricted.
    pub(crate) allowed_tls: Option<TlsVersion>,
    /// The negotiated ALPN protocol, if the handshake completed with one.
    pub(crate) negotiated_alpn: Option<&'a str>,
}

/// The fix for what `probe` saw at a live endpoint.
pub(crate) fn endpoint_fix(outcome: Outcome, ctx: &EndpointFix<'_>) -> String {
    match outcome {
        Outcome::Ok => "-".to_string(),
        Outcome::Refused => format!(
            "nothing accepts connections on {}: start the server, or point the client (endpoint / OTEL_EXPORTER_OTLP_ENDPOINT) at the right port",
            crate::tls::join_host_port(ctx.host, ctx.port)
        ),
        Outcome::Timeout => format!(
            "{} does not answer: check firewalls, and that this is the TLS port",
            crate::tls::join_host_port(ctx.host, ctx.port)
        ),
        Outcome::NotTls => "the port does not speak TLS (plain HTTP or gRPC, or another protocol): give the server `tls: cert_file` + `key_file`, or talk to it without TLS on purpose (http://, `tls: insecure: true`, OTEL_EXPORTER_OTLP_INSECURE=true)".to_string(),
        Outcome::ProtocolMismatch => {
            let ours = ctx
                .allowed_tls
                .map(|v| format!("this client allowed only TLS {v}; "))
                .unwrap_or_default();
            format!(
                "{ours}align the versions: the client's `tls: min_version` / `max_version` (e.g. min_version: \"1.2\") must overlap what the server enables"
            )
        }
        Outcome::ClientCertRequired => "the server wants a client certificate: set `tls: cert_file` + `key_file` (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE + OTEL_EXPORTER_OTLP_CLIENT_KEY), issued by the CA in the server's `client_ca_file`: `certlab cert --client NAME --ca-cert CLIENT_CA.pem --ca-key CLIENT_CA.key`".to_string(),
        Outcome::ClientCertRejected => "issue the client certificate from the CA in the server's `client_ca_file`, with clientAuth in its EKU and not expired (`certlab cert --client NAME --ca-cert CLIENT_CA.pem --ca-key CLIENT_CA.key`), then set it as `tls: cert_file` + `key_file` / OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE + OTEL_EXPORTER_OTLP_CLIENT_KEY".to_string(),
        Outcome::AlpnMismatch => format!(
            "enable h2 (HTTP/2) on the server's TLS listener (negotiated: {}); gRPC exporters need h2",
            ctx.negotiated_alpn.unwrap_or("none")
        ),
        other => certificate_fix(other, ctx.name, ctx.chain)
            .unwrap_or_else(|| other.fix().to_string()),
    }
}

/// The fix when a server refuses to start because its key file does not hold its
/// certificate's key (the lab's `key-mismatch` row).
pub const KEY_MISMATCH_FIX: &str = "the key file must hold the certificate's own key: keep NAME.pem and NAME.key together (re-issue both with certlab)";
