//! Judge certificates and endpoints: inspect certificates, classify verification results into
//! one [`Outcome`], check chains offline and probe live endpoints.
//!
//! `check` and `probe` share one classifier ([`classify`]), one set of fixes ([`fix`]) and one
//! [`Judgement`]: what a client sees, why, the chain it was shown and what to do about it.
//!
//! `verify` never imports `serve`: it must judge any server, not only ours.

use pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use time::OffsetDateTime;

use crate::outcome::Outcome;
use classify::{TrustStore, Usage, Verdict};
use inspect::{CertSummary, Lint};

pub mod check;
pub mod classify;
pub mod fix;
pub mod inspect;
pub mod probe;

/// The `version` field of the `check` and `probe` JSON reports.
pub const REPORT_VERSION: u32 = 1;

/// The verdict on a chain or an endpoint, shared by [`check::CheckReport`] and
/// [`probe::ProbeReport`] (both dereference to it, so `report.outcome` reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    /// What a client sees.
    pub outcome: Outcome,
    /// The outcome's one-line explanation.
    pub explanation: &'static str,
    /// The fix, in the user's terms (collector `tls:` keys, `OTEL_EXPORTER_OTLP_*`, the
    /// certlab command that makes the missing piece).
    pub fix: String,
    /// Specifics: which certificate, which name, which alert, what the peer answered.
    pub detail: Option<String>,
    /// What OpenSSL / curl print for this outcome.
    pub client_says: &'static str,
    /// The chain as presented (empty when none came).
    pub chain: Vec<CertSummary>,
    /// Warnings about the presented chain (order, root included, expiring soon, ...).
    pub lints: Vec<Lint>,
}

impl Judgement {
    /// The judgement of a verdict: the outcome's explanation and client text, with this fix,
    /// chain and lints.
    pub fn new(
        verdict: classify::Verdict,
        fix: String,
        chain: Vec<CertSummary>,
        lints: Vec<Lint>,
    ) -> Self {
        let outcome = verdict.outcome;
        Judgement {
            outcome,
            explanation: outcome.explanation(),
            fix,
            detail: verdict.detail,
            client_says: outcome.client_says(),
            chain,
            lints,
        }
    }
}

/// Classifies a presented chain and summarises it for the report, parsing each certificate
/// once; the signatures webpki verified on the way are returned for the client-rule lints
/// ([`inspect::client_rule_hits_verified`]), so each is checked once.
pub(crate) fn judge_chain(
    chain: &[CertificateDer<'_>],
    trust: &TrustStore,
    name: Option<&ServerName<'_>>,
    usage: Usage,
    now: OffsetDateTime,
) -> (Verdict, Vec<CertSummary>, classify::VerifiedSignatures) {
    let certs = crate::x509::parse_chain(chain);
    let mut verified = classify::VerifiedSignatures::default();
    let verdict =
        classify::classify_parsed(chain, &certs, trust, name, usage, now, Some(&mut verified));
    (
        verdict,
        inspect::summarize_parsed(chain, &certs, now),
        verified,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The top-level keys of a JSON object, in the order written.
    fn keys(json: &str) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
        let mut found: Vec<(usize, String)> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(|k| {
                let at = json.find(&format!("\"{k}\":")).expect("key written");
                (at, k.clone())
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, k)| k).collect()
    }

    #[test]
    fn check_and_probe_json_keep_their_published_fields_and_order() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let spec = crate::pki::spec::template("lab").expect("lab");
        let pki = crate::pki::store::build(
            &crate::pki::spec::parse("<lab>", spec.text).expect("parses"),
            now,
        )
        .expect("builds");
        let trust = TrustStore::from_pki(&pki);
        let options = check::CheckOptions {
            host: Some("localhost".into()),
            expect: Some(Outcome::Expired),
            ..check::CheckOptions::new(trust.clone(), now)
        };
        let report =
            check::check(&pki.entity("expired").expect("leaf").chain, &options).expect("checks");
        assert_eq!(report.outcome, Outcome::Expired);
        assert_eq!(
            keys(&serde_json::to_string(&report).expect("JSON")),
            [
                "version",
                "outcome",
                "explanation",
                "detail",
                "client_says",
                "fix",
                "host",
                "usage",
                "now",
                "expected",
                "chain",
                "warnings",
                "warn_tripped",
                "client_rules",
                "clients"
            ]
        );

        // A port nothing listens on: refused, no handshake needed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = probe::ProbeOptions {
            trust: Some(trust),
            timeout: std::time::Duration::from_secs(2),
            ..probe::ProbeOptions::default()
        };
        let report = probe::probe(&format!("127.0.0.1:{port}"), &options).expect("probes");
        assert_eq!(report.outcome, Outcome::Refused);
        assert_eq!(
            keys(&serde_json::to_string(&report).expect("JSON")),
            [
                "version",
                "target",
                "address",
                "name",
                "outcome",
                "explanation",
                "fix",
                "detail",
                "client_says",
                "chain",
                "lints",
                "tls",
                "client_cert",
                "http",
                "elapsed_ms",
                "client_rules",
                "clients"
            ]
        );
    }
}
