//! The x509-limbo conformance suite (`../shared/conformance/x509-limbo.json`) through the same
//! code path as `certlab check`: [`certlab::verify::check::check`] → `classify_chain`.
//!
//! Each case's chain is presented as a server would send it (the peer certificate, then the
//! untrusted intermediates), its `trusted_certs` are the roots, its `crls` the CRLs. A case
//! agrees when certlab's outcome is `ok` exactly when limbo expects `SUCCESS`. Cases with
//! features certlab does not support are skipped, as the suite's own rustls-webpki harness does
//! (max chain depth, an explicit signature-algorithm policy, EKUs other than serverAuth /
//! clientAuth, RFC 822 peer names). CLIENT cases run with client usage. A `key_usage`
//! requirement is not enforced (rustls does not check the leaf's key usage either); those
//! cases run and count like any other.
//!
//! The agreement numbers are printed; a floor (measured) makes regressions fail. The cases that
//! disagree, with the reason, are in `tests/it/limbo-disagreements.md`; a test keeps that file in
//! step with what this run measures.
//!
//! Missing suite file: loud skip; under `CI=true`, failure.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use certlab::Outcome;
use certlab::verify::check::{CheckOptions, check};
use certlab::verify::classify::{TrustStore, Usage};
use pki_types::{CertificateDer, CertificateRevocationListDer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

/// Cases without a `validation_time` are validated at this fixed time (the suite's
/// certificates are valid from 1970 to 2969 unless a case says otherwise), so the test never
/// depends on today's date.
const DEFAULT_TIME: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);

/// Measured agreement (cases run, and agreeing); the test fails below these.
const FLOOR_RUN: usize = 202;
const FLOOR_AGREE: usize = 143;

/// Case ids → the outcome certlab must classify them to.
const OUTCOMES: &[(&str, &[Outcome])] = &[
    ("rfc5280::validity::expired-leaf", &[Outcome::Expired]),
    (
        "rfc5280::validity::not-yet-valid-1-second",
        &[Outcome::NotYetValid],
    ),
    (
        "webpki::san::mismatch-domain-san",
        &[Outcome::HostnameMismatch],
    ),
    ("rfc5280::chain-untrusted-root", &[Outcome::UnknownCa]),
    (
        "webpki::cryptographydotio-chain-missing-intermediate",
        &[Outcome::UnknownCa, Outcome::IncompleteChain],
    ),
    ("rfc5280::eku::ee-wrong-eku", &[Outcome::WrongUsage]),
    (
        "rfc5280::intermediate-ca-without-ca-bit",
        &[Outcome::InvalidCa],
    ),
    (
        "pathlen::intermediate-violates-pathlen-0",
        &[Outcome::PathLenExceeded],
    ),
    (
        "rfc5280::nc::permitted-dns-mismatch",
        &[Outcome::NameConstraintViolation],
    ),
    ("webpki::san::no-san", &[Outcome::HostnameMismatch]),
    ("crl::revoked-certificate-with-crl", &[Outcome::Revoked]),
    (
        "rfc5280::validity::expired-intermediate",
        &[Outcome::Expired],
    ),
    (
        "rfc5280::unknown-critical-extension-ee",
        &[Outcome::BadCertificate],
    ),
    (
        "rfc5280::unknown-critical-extension-root",
        &[Outcome::BadCertificate],
    ),
    (
        "rfc5280::nc::excluded-dns-match",
        &[Outcome::NameConstraintViolation],
    ),
    (
        "rfc5280::nc::permitted-ip-mismatch",
        &[Outcome::NameConstraintViolation],
    ),
    // The suite leaves the faulty intermediate out of the chain: its issuer is unknown.
    (
        "rfc5280::intermediate-ca-missing-basic-constraints",
        &[Outcome::UnknownCa],
    ),
    ("rfc5280::validity::expired-root", &[Outcome::Expired]),
];

fn suite_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/x509-limbo.json")
}

fn load_suite() -> Option<Value> {
    let path = suite_path();
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("x509-limbo.json parses")),
        Err(e) => {
            common::missing(&format!("{} is unreadable ({e})", path.display()));
            None
        }
    }
}

fn der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).expect("limbo PEM").into_contents()
}

/// Why certlab cannot run a case, if it cannot.
fn unsupported(tc: &Value) -> Option<String> {
    let features: Vec<&str> = tc["features"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if features.contains(&"max-chain-depth") || !tc["max_chain_depth"].is_null() {
        return Some("max-chain-depth: no such knob in certlab check".into());
    }
    if tc["signature_algorithms"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        return Some("explicit signature_algorithms policy".into());
    }
    let ekus: Vec<&str> = tc["extended_key_usage"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ekus
        .iter()
        .any(|e| *e != "serverAuth" && *e != "clientAuth")
    {
        return Some(format!("extended_key_usage {ekus:?}"));
    }
    match tc["expected_peer_name"]["kind"].as_str() {
        None | Some("DNS") | Some("IP") => None,
        Some(other) => Some(format!("{other} peer names")),
    }
}

struct Run {
    outcome: Outcome,
    detail: Option<String>,
}

fn run_case(tc: &Value) -> Run {
    let mut chain = vec![CertificateDer::from(der(tc["peer_certificate"]
        .as_str()
        .unwrap()))];
    for ic in tc["untrusted_intermediates"].as_array().unwrap() {
        chain.push(CertificateDer::from(der(ic.as_str().unwrap())));
    }
    let trust = TrustStore {
        roots: tc["trusted_certs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| CertificateDer::from(der(c.as_str().unwrap())))
            .collect(),
        known_intermediates: vec![],
        crls: tc["crls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| CertificateRevocationListDer::from(der(c.as_str().unwrap())))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let now = tc["validation_time"]
        .as_str()
        .map(|t| OffsetDateTime::parse(t, &Rfc3339).expect("validation_time"))
        .unwrap_or(DEFAULT_TIME);
    let usage = if tc["validation_kind"] == "CLIENT" {
        Usage::Client
    } else {
        Usage::Server
    };
    let options = CheckOptions {
        host: tc["expected_peer_name"]["value"]
            .as_str()
            .map(str::to_string),
        usage,
        ..CheckOptions::new(trust, now)
    };
    match check(&chain, &options) {
        Ok(report) => Run {
            outcome: report.outcome,
            detail: report.judgement.detail,
        },
        Err(e) => Run {
            outcome: Outcome::BadCertificate,
            detail: Some(format!("certlab could not check it: {e}")),
        },
    }
}

/// Runs the whole suite: (run, agree, skipped, disagreements: id → (expected, outcome, detail)).
struct Tally {
    run: usize,
    agree: usize,
    skipped: BTreeMap<String, String>,
    disagree: BTreeMap<String, (String, Outcome, Option<String>)>,
    outcomes: BTreeMap<String, Outcome>,
}

fn tally(suite: &Value) -> Tally {
    let mut t = Tally {
        run: 0,
        agree: 0,
        skipped: BTreeMap::new(),
        disagree: BTreeMap::new(),
        outcomes: BTreeMap::new(),
    };
    for tc in suite["testcases"].as_array().expect("testcases") {
        let id = tc["id"].as_str().unwrap().to_string();
        if let Some(why) = unsupported(tc) {
            t.skipped.insert(id, why);
            continue;
        }
        let r = run_case(tc);
        t.run += 1;
        let expected = tc["expected_result"].as_str().unwrap().to_string();
        if (expected == "SUCCESS") == r.outcome.is_ok() {
            t.agree += 1;
        } else {
            t.disagree
                .insert(id.clone(), (expected, r.outcome, r.detail));
        }
        t.outcomes.insert(id, r.outcome);
    }
    t
}

#[test]
#[ignore = "needs ../shared/conformance/x509-limbo.json (CI has it)"]
fn limbo_agreement_and_named_outcomes() {
    let Some(suite) = load_suite() else { return };
    let total = suite["testcases"].as_array().unwrap().len();
    let t = tally(&suite);
    eprintln!(
        "x509-limbo: {total} cases, {} run, {} skipped, {} agree with expected_result ({:.1}%), {} disagree",
        t.run,
        t.skipped.len(),
        t.agree,
        100.0 * t.agree as f64 / t.run.max(1) as f64,
        t.disagree.len()
    );
    for (id, (expected, outcome, detail)) in &t.disagree {
        eprintln!("  disagree: {id}: limbo {expected}, certlab {outcome} ({detail:?})");
    }
    for (id, why) in &t.skipped {
        eprintln!("  skipped: {id}: {why}");
    }
    assert!(
        t.run >= FLOOR_RUN,
        "only {} cases ran (floor {FLOOR_RUN})",
        t.run
    );
    assert!(
        t.agree >= FLOOR_AGREE,
        "agreement fell to {} (floor {FLOOR_AGREE})",
        t.agree
    );
    if std::env::var_os("LIMBO_DUMP").is_some() {
        for (id, o) in &t.outcomes {
            eprintln!("  outcome: {id} → {o}");
        }
    }
    for (id, allowed) in OUTCOMES {
        let got = t
            .outcomes
            .get(*id)
            .unwrap_or_else(|| panic!("case {id} is not in the suite or was skipped"));
        assert!(
            allowed.contains(got),
            "{id}: certlab says {got}, expected one of {allowed:?}"
        );
    }
}

/// `tests/it/limbo-disagreements.md` lists exactly the cases that disagree in this run.
#[test]
#[ignore = "needs ../shared/conformance/x509-limbo.json (CI has it)"]
fn disagreements_file_is_current() {
    let Some(suite) = load_suite() else { return };
    let t = tally(&suite);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/limbo-disagreements.md");
    let text = std::fs::read_to_string(&path).expect("tests/it/limbo-disagreements.md exists");
    let listed: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let measured: Vec<String> = t.disagree.keys().cloned().collect();
    assert_eq!(
        listed, measured,
        "update tests/it/limbo-disagreements.md (sorted by id)"
    );
}
