//! What a probe reports: the [`Judgement`] and the connection's evidence, as JSON (serde) and
//! as text for people ([`ProbeReport::text`]).

use std::ops::Deref;

use pki_types::CertificateDer;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use crate::outcome::Outcome;
use crate::verify::Judgement;
use crate::verify::check::{ClientVerdict, disagreement_lines};
use crate::verify::inspect::RuleHit;

/// A presented certificate that expires within this many days gets an `expires-soon` lint.
pub const LINT_EXPIRY_DAYS: i64 = 30;

/// What was negotiated in a completed handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `1.2` or `1.3`.
    pub version: Option<String>,
    /// The rustls cipher-suite name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<String>,
}

/// Whether the server asked for a client certificate and whether one was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClientCertInfo {
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// The probe answered it with a certificate.
    pub sent: bool,
}

/// The result of a probe: the judgement (outcome, why, the chain, the fix) and the evidence
/// from the connection (`--json` of `certlab probe`). It dereferences to its [`Judgement`], so
/// `report.outcome` and `report.fix` read it.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Report format version ([`REPORT_VERSION`](crate::verify::REPORT_VERSION)).
    pub version: u32,
    /// The target as given.
    pub target: String,
    /// The socket address connected to (or last tried).
    pub address: Option<String>,
    /// The name the certificate was checked against (SNI unless it is an IP address).
    pub name: String,
    /// What a client sees, why, the presented chain and its lints, and the fix.
    #[serde(flatten)]
    pub judgement: Judgement,
    /// The negotiated parameters, when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// Whether a client certificate was asked for and sent.
    pub client_cert: ClientCertInfo,
    /// The first line of the server's answer to `GET /`, when there was one.
    pub http: Option<String>,
    /// Milliseconds from the connect to the verdict.
    pub elapsed_ms: f64,
    /// The client-aligned rules the presented chain (and, with explicit trust, its trust
    /// anchors and CRLs; never the system's roots) breaks.
    pub client_rules: Vec<RuleHit>,
    /// What each client family would say
    /// ([`client_verdicts`](crate::verify::check::client_verdicts)).
    pub clients: Vec<ClientVerdict>,
    /// The chain as presented, DER (for callers that want to inspect it further).
    #[serde(skip)]
    pub presented: Vec<CertificateDer<'static>>,
}

impl Deref for ProbeReport {
    type Target = Judgement;

    fn deref(&self) -> &Judgement {
        &self.judgement
    }
}

impl ProbeReport {
    /// The report for people, one fact a line; `expect`: the outcome the caller expected
    /// (`--expect`), `colour`: ANSI colours for the outcome and the warnings.
    pub fn text(&self, expect: Option<Outcome>, colour: bool) -> String {
        let paint = |code: &str, text: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        let mut line = |l: String| {
            out.push_str(&l);
            out.push('\n');
        };
        let outcome = self.outcome.name();
        let shown = paint(if self.outcome.is_ok() { "32" } else { "31" }, outcome);
        line(format!("{shown}: {}", self.explanation));
        if let Some(e) = expect {
            let verdict = if e == self.outcome {
                "as expected"
            } else {
                "NOT as expected"
            };
            line(format!("  expected   {e} ({verdict})"));
        }
        if let Some(d) = &self.detail {
            line(format!("  detail     {d}"));
        }
        let addr = self
            .address
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        line(format!(
            "  target     {}{addr}, name {}",
            self.target, self.name
        ));
        if let Some(tls) = &self.tls {
            line(format!(
                "  tls        {} {} alpn {}",
                tls.version.as_deref().unwrap_or("?"),
                tls.cipher.as_deref().unwrap_or("?"),
                tls.alpn.as_deref().unwrap_or("none")
            ));
        }
        if self.client_cert.requested {
            let sent = if self.client_cert.sent {
                "one was sent"
            } else {
                "none was sent"
            };
            line(format!(
                "  client     the server asked for a certificate; {sent}"
            ));
        }
        if let Some(h) = &self.http {
            line(format!("  answer     {h}"));
        }
        if !self.chain.is_empty() {
            line("  chain as presented:".to_string());
            for (i, c) in self.chain.iter().enumerate() {
                let date = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
                line(format!("    [{i}] subject  {}", c.subject));
                line(format!("        issuer   {}", c.issuer));
                if !c.sans.is_empty() {
                    line(format!("        sans     {}", c.sans.join(", ")));
                }
                line(format!(
                    "        valid    {} .. {}",
                    date(c.not_before),
                    date(c.not_after)
                ));
                line(format!("        sha256   {}", c.sha256));
            }
        }
        for l in &self.lints {
            line(format!("  {} [{}] {l}", paint("33", "warning"), l.index));
        }
        let fallback = crate::verify::check::cn_fallback_line(&self.clients);
        let webpki = crate::verify::check::webpki_line(&self.clients);
        for l in disagreement_lines(self.outcome, &self.client_rules)
            .into_iter()
            .chain(fallback)
            .chain(webpki)
        {
            line(format!("  clients    {l}"));
        }
        if !self.outcome.is_ok() {
            line(format!("  openssl/curl say: {}", self.client_says));
            line(format!("  fix        {}", self.fix));
        }
        out
    }
}
