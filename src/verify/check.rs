//! Offline checks: validate a chain at a time, for a name and usage, against a trust bundle or
//! a generated PKI directory, and report one [`Outcome`] with the chain and its lints
//! (`certlab check`, issue 3). Also [`check_pki`]: every certificate of a PKI at once, the CI
//! guard against fixtures that silently expire.
//!
//! ```
//! use certlab::verify::check::{check, CheckOptions};
//! use certlab::verify::classify::TrustStore;
//! use certlab::Outcome;
//!
//! let now = time::macros::datetime!(2030-01-01 00:00 UTC);
//! let spec = certlab::pki::spec::parse("<spec>", r#"
//!     [[ca]]
//!     name = "root"
//!     [[leaf]]
//!     name = "web"
//!     issuer = "root"
//!     dns = ["localhost"]
//! "#).unwrap();
//! let pki = certlab::pki::store::build(&spec, now).unwrap();
//! let trust = TrustStore::from_roots(pki.trusted_roots().map(|e| e.cert.clone()).collect());
//! let options = CheckOptions { host: Some("localhost".into()), ..CheckOptions::new(trust, now) };
//! let report = check(&pki.entity("web").unwrap().chain, &options).unwrap();
//! assert_eq!(report.outcome, Outcome::Ok);
//! let later = CheckOptions { now: now + time::Duration::days(500), ..options };
//! assert_eq!(check(&pki.entity("web").unwrap().chain, &later).unwrap().outcome, Outcome::Expired);
//! ```

use std::path::Path;

use pki_types::{CertificateDer, CertificateRevocationListDer, ServerName};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::clients::rules::{self, Rule, RuleVerdict};
use crate::clients::{ALL_CLIENTS, Client};
use crate::outcome::Outcome;
use crate::pem::FileError;
use crate::pki::{Pki, Role, San, store};
use crate::verify::classify::{TrustStore, Usage};
use crate::verify::fix::check_fix;
use crate::verify::inspect::{
    CertSummary, Lint, LintCode, RuleHit, client_rule_hits_verified, lint_chain_within, summarize,
};
use crate::verify::{Judgement, REPORT_VERSION, judge_chain};

/// Days within which an expiring certificate gets a warning when `--warn-days` is not given.
pub const DEFAULT_WARN_DAYS: i64 = 30;

/// Why a check could not run (all bad input: exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A file could not be read or holds no usable content.
    #[error(transparent)]
    File(#[from] FileError),
    /// `--host` is neither a DNS name nor an IP address.
    #[error("invalid --host `{0}`: expected a DNS name or an IP address")]
    BadHost(String),
    /// The PKI directory could not be loaded.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// What to check a chain against.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Trust anchors, known intermediates, CRLs.
    pub trust: TrustStore,
    /// The DNS name or IP address the client uses (`None`: no name check).
    pub host: Option<String>,
    /// Server or client certificate.
    pub usage: Usage,
    /// The validation time.
    pub now: OffsetDateTime,
    /// Warn about certificates expiring within this many days (`None`: [`DEFAULT_WARN_DAYS`],
    /// and the warning does not trip [`CheckReport::warn_tripped`]).
    pub warn_days: Option<i64>,
    /// Warn about certificates expiring within this long (`--warn 90s`); when given it takes
    /// the place of `warn_days` (and trips [`CheckReport::warn_tripped`] like it).
    pub warn: Option<Duration>,
    /// The outcome the caller expects (`--expect`).
    pub expect: Option<Outcome>,
    /// Judge as this client family would (`--client`): its outcome decides
    /// [`CheckReport::passed`].
    pub client: Option<Client>,
}

impl CheckOptions {
    /// Options with this trust and time; server usage, no name, no expectation.
    pub fn new(trust: TrustStore, now: OffsetDateTime) -> Self {
        CheckOptions {
            trust,
            host: None,
            usage: Usage::Server,
            now,
            warn_days: None,
            warn: None,
            expect: None,
            client: None,
        }
    }
}

/// What `certlab check` reports: the [`Judgement`] on the chain and what it was checked for.
/// It dereferences to its judgement, so `report.outcome` and `report.fix` read it; its lints
/// are the JSON's `warnings`.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Always [`REPORT_VERSION`].
    pub version: u32,
    /// The outcome, why, the chain as presented, its lints and the fix.
    pub judgement: Judgement,
    /// The name checked, if any.
    pub host: Option<String>,
    /// `server` or `client`.
    pub usage: &'static str,
    /// The validation time.
    pub now: OffsetDateTime,
    /// `--expect`, if given.
    pub expected: Option<Outcome>,
    /// Whether `--warn-days` was given and an `expires-soon` warning fired.
    pub warn_tripped: bool,
    /// The client-aligned rules the chain, its trust anchors or the leaf's CRL break.
    pub rules: Vec<RuleHit>,
    /// What each client family would say ([`client_verdicts`]).
    pub clients: Vec<ClientVerdict>,
    /// `--client`, if given.
    pub client: Option<Client>,
}

impl std::ops::Deref for CheckReport {
    type Target = Judgement;

    fn deref(&self) -> &Judgement {
        &self.judgement
    }
}

/// The JSON of a [`CheckReport`], field by field in its published order.
#[derive(Serialize)]
struct CheckJson<'a> {
    version: u32,
    outcome: Outcome,
    explanation: &'static str,
    detail: &'a Option<String>,
    client_says: &'static str,
    fix: &'a str,
    host: &'a Option<String>,
    usage: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    now: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Outcome>,
    chain: &'a [CertSummary],
    warnings: &'a [Lint],
    warn_tripped: bool,
    client_rules: &'a [RuleHit],
    clients: &'a [ClientVerdict],
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a ClientVerdict>,
}

impl Serialize for CheckReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let j = &self.judgement;
        CheckJson {
            version: self.version,
            outcome: j.outcome,
            explanation: j.explanation,
            detail: &j.detail,
            client_says: j.client_says,
            fix: &j.fix,
            host: &self.host,
            usage: self.usage,
            now: self.now,
            expected: self.expected,
            chain: &j.chain,
            warnings: &j.lints,
            warn_tripped: self.warn_tripped,
            client_rules: &self.rules,
            clients: &self.clients,
            client: self.client_verdict(),
        }
        .serialize(serializer)
    }
}

impl CheckReport {
    /// Whether the check passed: the outcome (with `--client`, that client's) is `ok` (or the
    /// expected one) and no `--warn-days` warning tripped. This decides exit code 0 versus 1.
    pub fn passed(&self) -> bool {
        let outcome = self.client_verdict().map_or(self.outcome, |v| v.outcome);
        outcome == self.expected.unwrap_or(Outcome::Ok) && !self.warn_tripped
    }

    /// The verdict of the `--client` family, if one was asked for.
    pub fn client_verdict(&self) -> Option<&ClientVerdict> {
        let wanted = self.client?;
        self.clients.iter().find(|v| v.client == wanted)
    }

    /// One line per rule on which some client family disagrees with the main outcome.
    pub fn disagreements(&self) -> Vec<String> {
        let mut lines = disagreement_lines(self.outcome, &self.rules);
        lines.extend(cn_fallback_line(&self.clients));
        lines.extend(webpki_line(&self.clients));
        lines
    }
}

/// What one client family would say about a chain: the main (rustls) verdict, unless a
/// client-aligned rule it was seen to enforce is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientVerdict {
    /// The family (`python3.13`, `curl`, ...).
    #[serde(serialize_with = "client_name")]
    pub client: Client,
    /// The TLS library it stands for.
    pub library: &'static str,
    /// What it shows.
    pub outcome: Outcome,
    /// Its own words (empty when it accepts).
    pub words: String,
    /// The exit status of the tool it was measured with (`None`: not run here).
    pub exit: Option<i32>,
    /// The rule it rejects the chain for, if any.
    pub rule: Option<Rule>,
    /// Where the verdict comes from: `rule` (a measured rejection), `rustls` (certlab's own
    /// verifier; for the `rustls` family, plain rustls-webpki's verdict when certlab's stricter
    /// one comes from a check beyond webpki), `as-rustls` (it was seen to accept every rule the
    /// chain breaks, so it says what rustls says), `as-openssl` (curl and openssl on a check
    /// certlab adds beyond webpki: measured with them), `not-measured` (the chain breaks a rule
    /// nobody ran this client on; certlab's verdict is shown), `cn-fallback` (the name is only
    /// in the subject CN, and the family's measured `cn-only` cell accepts that).
    pub basis: &'static str,
}

fn client_name<S: serde::Serializer>(c: &Client, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

/// The verdict of every client family, given the main outcome (certlab's verifier), what plain
/// rustls-webpki says when it differs ([`Verdict::webpki`](crate::verify::classify::Verdict))
/// and the rules the chain breaks.
pub fn client_verdicts(
    main: Outcome,
    webpki: Option<Outcome>,
    hits: &[RuleHit],
) -> Vec<ClientVerdict> {
    ALL_CLIENTS
        .iter()
        .map(|&client| client_verdict(client, main, webpki, hits))
        .collect()
}

fn client_verdict(
    client: Client,
    main: Outcome,
    webpki: Option<Outcome>,
    hits: &[RuleHit],
) -> ClientVerdict {
    let mut unmeasured = false;
    for hit in hits {
        match rules::verdict(hit.rule, client) {
            RuleVerdict::Rejects { outcome, words } => {
                return ClientVerdict {
                    client,
                    library: client.library(),
                    outcome,
                    words: words.to_string(),
                    exit: rules::reject_exit(client),
                    rule: Some(hit.rule),
                    basis: "rule",
                };
            }
            RuleVerdict::NotMeasured => unmeasured = true,
            RuleVerdict::Accepts => {}
        }
    }
    let (main, basis) = match (client, webpki) {
        (Client::Rustls, Some(plain)) => (plain, "rustls"),
        (Client::Rustls, None) => (main, "rustls"),
        // A check certlab adds beyond webpki, as OpenSSL makes it: measured with openssl and
        // curl (tests/it/hunt_verify.rs), not with the other families.
        (Client::Openssl | Client::Curl, Some(_)) => (main, "as-openssl"),
        (_, Some(_)) => (main, "not-measured"),
        (_, None) if unmeasured => (main, "not-measured"),
        (_, None) => (main, "as-rustls"),
    };
    ClientVerdict {
        client,
        library: client.library(),
        outcome: main,
        words: if main.is_ok() {
            String::new()
        } else {
            measured_words(client, main)
                .unwrap_or(main.client_says())
                .to_string()
        },
        exit: if main.is_ok() {
            Some(0)
        } else {
            rules::reject_exit(client)
        },
        rule: None,
        basis,
    }
}

/// Whether a leaf has no subjectAltName at all and its subject CN is `host`: the `cn-only`
/// case, which clients on OpenSSL, GnuTLS and Java still accept (they fall back to the CN) and
/// rustls, Go and Chromium refuse.
pub fn cn_only_match(chain: &[CertSummary], host: &str) -> bool {
    let Some(leaf) = chain.first() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    leaf.sans.is_empty()
        && leaf
            .subject
            .split(", ")
            .filter_map(|part| part.strip_prefix("CN="))
            .any(|cn| cn.eq_ignore_ascii_case(host))
}

/// Where the main outcome is a hostname mismatch only because the name is in the CN alone,
/// every family whose measured `cn-only` cell accepts is predicted to accept.
pub fn apply_cn_fallback(clients: &mut [ClientVerdict], chain: &[CertSummary], host: &str) {
    if !cn_only_match(chain, host) {
        return;
    }
    for v in clients.iter_mut() {
        let accepts = crate::clients::cell(v.client, "cn-only").is_some_and(|c| c.outcome.is_ok());
        if v.outcome == Outcome::HostnameMismatch && v.rule.is_none() && accepts {
            v.outcome = Outcome::Ok;
            v.words = String::new();
            v.exit = Some(0);
            v.basis = "cn-fallback";
        }
    }
}

/// The line naming the families that accept a name found only in the CN (see
/// [`apply_cn_fallback`]), if any do.
pub fn cn_fallback_line(clients: &[ClientVerdict]) -> Option<String> {
    let (accept, refuse): (Vec<&ClientVerdict>, Vec<&ClientVerdict>) =
        clients.iter().partition(|v| v.basis == "cn-fallback");
    if accept.is_empty() {
        return None;
    }
    let names = |vs: &[&ClientVerdict]| {
        and_list(
            &vs.iter()
                .map(|v| v.client.name().to_string())
                .collect::<Vec<_>>(),
        )
    };
    Some(format!(
        "{} accept this: with no subjectAltName they fall back to the subject CN (measured: lab scenario cn-only); {} refuse it",
        names(&accept),
        names(&refuse)
    ))
}

/// The line saying that plain rustls differs when the main outcome comes from a check certlab
/// adds beyond rustls-webpki (see [`client_verdicts`]).
pub fn webpki_line(clients: &[ClientVerdict]) -> Option<String> {
    let rustls = clients.iter().find(|v| v.client == Client::Rustls)?;
    let main = clients.iter().find(|v| v.basis == "as-openssl")?;
    (rustls.outcome != main.outcome).then(|| {
        format!(
            "plain rustls says {}: rustls-webpki does not check this; openssl and curl do (measured), the other families are not measured",
            rustls.outcome.name()
        )
    })
}

/// The words `client` printed when a real run showed it `outcome` (the first such cell of its
/// measured matrix, in lab order: `expired` before `expired-intermediate`).
fn measured_words(client: Client, outcome: Outcome) -> Option<&'static str> {
    crate::clients::cells(client)
        .iter()
        .find(|c| c.outcome == outcome && !c.words.is_empty())
        .map(|c| c.words)
}

/// "a", "a and b", "a, b and c".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The families' names for a line; python3.13 stands for `openssl verify -x509_strict` too
/// when that agrees (every rule but [`Rule::AnchorNotSelfIssued`]).
fn family_names(clients: &[Client], rule: Rule) -> Vec<String> {
    clients
        .iter()
        .map(|c| {
            if *c == Client::Python313 && rule != Rule::AnchorNotSelfIssued {
                "python3.13 (`openssl verify -x509_strict`)".to_string()
            } else {
                c.name().to_string()
            }
        })
        .collect()
}

/// One line per broken rule on which some family's outcome differs from `main`: "python3.13
/// (`openssl verify -x509_strict`) reject this: Basic Constraints of CA cert not marked
/// critical (intermediate CN=x); rustls, curl, openssl, python, gnutls, go, java and node
/// accept it (not measured: grpc, chromium)".
pub fn disagreement_lines(main: Outcome, hits: &[RuleHit]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen: Vec<Rule> = Vec::new();
    for hit in hits {
        if seen.contains(&hit.rule) {
            continue;
        }
        seen.push(hit.rule);
        let mut rejecting = Vec::new();
        let mut accepting = Vec::new();
        let mut unmeasured = Vec::new();
        for &c in ALL_CLIENTS {
            match rules::verdict(hit.rule, c) {
                RuleVerdict::Rejects { outcome, .. } if outcome != main => rejecting.push(c),
                RuleVerdict::Rejects { .. } => {}
                RuleVerdict::Accepts => accepting.push(c),
                RuleVerdict::NotMeasured => unmeasured.push(c),
            }
        }
        if rejecting.is_empty() {
            continue;
        }
        let verb = match (main.is_ok(), accepting.len()) {
            (true, 1) => "accepts it",
            (true, _) => "accept it",
            (false, 1) => "says what rustls says",
            (false, _) => "say what rustls says",
        };
        let mut line = format!(
            "{} {} this: {} ({})",
            and_list(&family_names(&rejecting, hit.rule)),
            if rejecting.len() == 1 && rejecting[0] != Client::Python313 {
                "rejects"
            } else {
                "reject"
            },
            hit.rule.words(),
            hit.certificate
        );
        if matches!(
            hit.rule,
            Rule::CrlIssuerWithoutCrlSign | Rule::CrlNumberCritical
        ) {
            line.push_str(" when they check this CRL");
        }
        if !accepting.is_empty() {
            line.push_str(&format!(
                "; {} {verb}",
                and_list(&family_names(&accepting, hit.rule))
            ));
        }
        if !unmeasured.is_empty() {
            line.push_str(&format!(
                " (not measured: {})",
                unmeasured
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        lines.push(line);
    }
    lines
}

/// Parses `--host` into the name webpki checks.
pub fn server_name(host: &str) -> Result<ServerName<'static>, CheckError> {
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(trimmed.to_string()).map_err(|_| CheckError::BadHost(host.to_string()))
}

/// Checks a chain (as presented, leaf first) and reports its outcome, chain and lints.
pub fn check(
    chain: &[CertificateDer<'_>],
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let name = options.host.as_deref().map(server_name).transpose()?;
    let (verdict, summaries, verified) = judge_chain(
        chain,
        &options.trust,
        name.as_ref(),
        options.usage,
        options.now,
    );
    let given = options.warn.or(options.warn_days.map(Duration::days));
    let warnings = lint_chain_within(
        &summaries,
        options.now,
        given.unwrap_or(Duration::days(DEFAULT_WARN_DAYS)),
        options.usage == Usage::Server,
    );
    let warn_tripped = given.is_some() && warnings.iter().any(|w| w.code == LintCode::ExpiresSoon);
    let fix = check_fix(
        verdict.outcome,
        options.host.as_deref(),
        options.usage,
        &summaries,
    );
    let rules =
        client_rule_hits_verified(chain, &options.trust.roots, &options.trust.crls, &verified);
    let mut clients = client_verdicts(verdict.outcome, verdict.webpki, &rules);
    if let Some(host) = options.host.as_deref() {
        apply_cn_fallback(&mut clients, &summaries, host);
    }
    Ok(CheckReport {
        version: REPORT_VERSION,
        judgement: Judgement::new(verdict, fix, summaries, warnings),
        host: options.host.clone(),
        usage: options.usage.name(),
        now: options.now,
        expected: options.expect,
        warn_tripped,
        rules,
        clients,
        client: options.client,
    })
}

/// The trust of `--ca BUNDLE.pem`: its certificates as roots, nothing else known.
pub fn trust_from_ca_file(path: &Path) -> Result<TrustStore, CheckError> {
    let roots = crate::pem::read_certs(path)?;
    for (i, r) in roots.iter().enumerate() {
        webpki::anchor_from_trusted_cert(r).map_err(|e| {
            FileError::malformed(
                path,
                format!("certificate {} cannot be a trust anchor: {e:?}", i + 1),
            )
        })?;
    }
    Ok(TrustStore::from_roots(roots))
}

/// The trust of `--pki DIR`: [`TrustStore::from_pki`] (its trusted roots, which `ca.pem`
/// holds; its intermediates as known intermediates; its CRLs). Returns the loaded PKI too.
pub fn trust_from_pki(dir: &Path) -> Result<(TrustStore, Pki), CheckError> {
    let pki = store::load(dir)?;
    Ok((TrustStore::from_pki(&pki), pki))
}

/// The trust store of a PKI directory alone ([`store::load_trust`]): the same roots,
/// intermediates and CRLs as [`trust_from_pki`], reading only the CA files and `ca.pem` (each
/// checked against the manifest), not every leaf and key. What `certlab probe --pki` uses.
pub fn trust_store_from_pki(dir: &Path) -> Result<TrustStore, CheckError> {
    let t = store::load_trust(dir)?;
    Ok(TrustStore {
        roots: t.roots,
        known_intermediates: t.intermediates,
        crls: t.crls,
    })
}

/// One entity's line of [`check_pki`].
#[derive(Debug, Clone, Serialize)]
pub struct EntityCheck {
    /// The entity's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The outcome at `now` (for CAs: only their own dates).
    pub outcome: Outcome,
    /// What explains it.
    pub detail: Option<String>,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days left until notAfter.
    pub days_left: i64,
    /// Lints of this certificate (for leaves, of its chain).
    pub warnings: Vec<Lint>,
}

/// What `certlab check --pki DIR` without a certificate reports.
#[derive(Debug, Clone, Serialize)]
pub struct PkiCheckReport {
    /// Always [`REPORT_VERSION`].
    pub version: u32,
    /// The validation time.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// The warning window in whole days (rounded down).
    pub warn_days: i64,
    /// The warning window in seconds.
    pub warn_seconds: i64,
    /// Every entity checked.
    pub entities: Vec<EntityCheck>,
    /// Entities skipped because they carry a fault on purpose (and the helper CAs of faults).
    pub skipped: Vec<String>,
    /// Entities whose outcome is not `ok` or that expire within `warn_days`.
    pub failed: usize,
    /// What is broken in the directory itself ([`store::audit`]: missing files, files that do
    /// not match the manifest, keys that do not match their certificates, chains that do not
    /// chain, stale derived files, an empty PKI), one line each.
    pub problems: Vec<String>,
}

impl PkiCheckReport {
    /// Whether the directory is sound, every checked certificate is valid and none expires
    /// within the window.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.problems.is_empty()
    }
}

/// `certlab check --pki DIR` (the CI guard): [`store::audit`] of the directory, then
/// [`check_pki`] of every entity that could be read, with `crls` added to the PKI's own. Only
/// a directory without a readable manifest is an error; everything else broken is a problem
/// in the report.
pub fn check_pki_dir(
    dir: &Path,
    crls: Vec<CertificateRevocationListDer<'static>>,
    now: OffsetDateTime,
    warn: Duration,
) -> Result<PkiCheckReport, CheckError> {
    let audit = store::audit(dir)?;
    let mut trust = TrustStore::from_pki(&audit.pki);
    trust.crls.extend(crls);
    let mut report = check_pki_within(&audit.pki, &trust, now, warn);
    report.problems = audit.problems.iter().map(|p| p.to_string()).collect();
    Ok(report)
}

fn first_host(sans: &[San]) -> Option<String> {
    sans.iter().find_map(|s| match s {
        San::Dns(d) if !d.starts_with("*.") => Some(d.clone()),
        San::Ip(ip) => Some(ip.to_string()),
        _ => None,
    })
}

/// Checks every certificate of a PKI at `now` (skipping entities with a fault on purpose):
/// leaves through their served chain for their first SAN and their usage, CAs by their own
/// dates and by the CRLs of `trust` (a revoked intermediate). Anything not `ok`, or expiring
/// within `warn_days`, counts as failed.
pub fn check_pki(
    pki: &Pki,
    trust: &TrustStore,
    now: OffsetDateTime,
    warn_days: i64,
) -> PkiCheckReport {
    check_pki_within(pki, trust, now, Duration::days(warn_days))
}

/// [`check_pki`] with a warning window of any length (`check --pki DIR --warn 90s`).
pub fn check_pki_within(
    pki: &Pki,
    trust: &TrustStore,
    now: OffsetDateTime,
    warn: Duration,
) -> PkiCheckReport {
    let mut entities = Vec::new();
    let mut skipped = Vec::new();
    let mut failed = 0;
    for e in &pki.entities {
        if e.fault != crate::pki::Fault::None {
            skipped.push(e.name.clone());
            continue;
        }
        let (outcome, detail, warnings) = if e.is_ca() {
            let summary = summarize(&e.cert, now).ok();
            let (outcome, detail) = if e.issuer != e.name
                && crate::x509::listed_in_crls(&e.cert, &trust.crls)
            {
                (
                    Outcome::Revoked,
                    Some(format!(
                        "{} is listed in its issuer's CRL: every certificate below it is revoked",
                        e.name
                    )),
                )
            } else if e.not_after < now {
                (Outcome::Expired, Some(format!("{} expired", e.name)))
            } else if e.not_before > now {
                (
                    Outcome::NotYetValid,
                    Some(format!("{} is not valid yet", e.name)),
                )
            } else {
                (Outcome::Ok, None)
            };
            let warnings = summary
                .map(|s| {
                    lint_chain_within(&[s], now, warn, false)
                        .into_iter()
                        .filter(|l| l.code == LintCode::ExpiresSoon)
                        .collect()
                })
                .unwrap_or_default();
            (outcome, detail, warnings)
        } else {
            let usage = if e.role == Role::Client {
                Usage::Client
            } else {
                Usage::Server
            };
            let options = CheckOptions {
                host: (usage == Usage::Server)
                    .then(|| first_host(&e.sans))
                    .flatten(),
                usage,
                warn: Some(warn),
                ..CheckOptions::new(trust.clone(), now)
            };
            match check(e.chain_or_cert(), &options) {
                Ok(r) => (r.outcome, r.judgement.detail, r.judgement.lints),
                Err(err) => (Outcome::BadCertificate, Some(err.to_string()), vec![]),
            }
        };
        if outcome != Outcome::Ok || warnings.iter().any(|w| w.code == LintCode::ExpiresSoon) {
            failed += 1;
        }
        // The certificate's own notAfter (whole seconds), not the manifest's copy.
        let not_after = summarize(&e.cert, now)
            .map(|s| s.not_after)
            .unwrap_or(e.not_after);
        entities.push(EntityCheck {
            name: e.name.clone(),
            role: e.role,
            outcome,
            detail,
            not_after,
            days_left: (not_after - now).whole_days(),
            warnings,
        });
    }
    PkiCheckReport {
        version: REPORT_VERSION,
        now,
        warn_days: warn.whole_days(),
        warn_seconds: warn.whole_seconds(),
        entities,
        skipped,
        failed,
        problems: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Fault, spec};
    use time::macros::datetime;

    #[test]
    fn a_clients_words_come_from_its_measured_matrix() {
        let verdicts = client_verdicts(Outcome::Expired, None, &[]);
        let go = verdicts.iter().find(|v| v.client == Client::Go).unwrap();
        assert_eq!(go.outcome, Outcome::Expired);
        assert!(
            go.words.starts_with("x509: certificate has expired"),
            "{}",
            go.words
        );
        let java = verdicts.iter().find(|v| v.client == Client::Java).unwrap();
        assert!(
            java.words.contains("CertificateExpiredException"),
            "{}",
            java.words
        );
        // An outcome no run showed for the family keeps the generic words.
        let ok = client_verdicts(Outcome::Ok, None, &[]);
        assert!(ok.iter().all(|v| v.words.is_empty()));
    }

    const NOW: OffsetDateTime = datetime!(2030-06-01 12:00 UTC);

    fn lab() -> Pki {
        let t = spec::template("lab").unwrap();
        store::build(&spec::parse("<lab>", t.text).unwrap(), NOW).unwrap()
    }

    #[test]
    fn pki_check_passes_now_and_trips_near_expiry() {
        let pki = lab();
        let trust = TrustStore {
            roots: pki.trusted_roots().map(|e| e.cert.clone()).collect(),
            known_intermediates: pki.intermediates().map(|e| e.cert.clone()).collect(),
            crls: pki.crls().cloned().collect(),
        };
        let r = check_pki(&pki, &trust, NOW, 30);
        assert!(r.passed(), "{:#?}", r.entities);
        assert!(r.skipped.contains(&"expired".to_string()));
        assert!(r.entities.iter().any(|e| e.name == "good"));
        assert!(r.entities.iter().any(|e| e.name == "client"));
        let good = pki.entity("good").unwrap();
        let near = good.not_after - time::Duration::days(10);
        let r = check_pki(&pki, &trust, near, 30);
        assert!(!r.passed());
        let g = r.entities.iter().find(|e| e.name == "good").unwrap();
        assert_eq!(g.outcome, Outcome::Ok);
        assert!(g.warnings.iter().any(|w| w.code == LintCode::ExpiresSoon));
        let r = check_pki(&pki, &trust, good.not_after + time::Duration::days(1), 30);
        let g = r.entities.iter().find(|e| e.name == "good").unwrap();
        assert_eq!(g.outcome, Outcome::Expired);
    }

    #[test]
    fn expect_and_warn_days_decide_passed() {
        let pki = lab();
        let trust = TrustStore::from_roots(pki.trusted_roots().map(|e| e.cert.clone()).collect());
        let e = pki.entity("expired").unwrap();
        assert_eq!(e.fault, Fault::Expired);
        let mut o = CheckOptions {
            host: Some("localhost".into()),
            ..CheckOptions::new(trust, NOW)
        };
        let r = check(&e.chain, &o).unwrap();
        assert_eq!(r.outcome, Outcome::Expired);
        assert!(!r.passed());
        o.expect = Some(Outcome::Expired);
        assert!(check(&e.chain, &o).unwrap().passed());
        let good = pki.entity("good").unwrap();
        o.expect = None;
        o.now = good.not_after - time::Duration::days(5);
        assert!(
            check(&good.chain, &o).unwrap().passed(),
            "default window only warns"
        );
        o.warn_days = Some(10);
        let r = check(&good.chain, &o).unwrap();
        assert!(r.warn_tripped && !r.passed());
    }

    fn hit(rule: Rule) -> RuleHit {
        RuleHit {
            rule,
            index: Some(1),
            certificate: "intermediate CN=x".into(),
            message: String::new(),
        }
    }

    #[test]
    fn client_verdicts_follow_the_rules_table() {
        let v = client_verdicts(
            Outcome::Ok,
            None,
            &[hit(Rule::CaBasicConstraintsNotCritical)],
        );
        let of = |c: Client| v.iter().find(|x| x.client == c).unwrap().clone();
        let strict = of(Client::Python313);
        assert_eq!(strict.outcome, Outcome::InvalidCa);
        assert_eq!(
            strict.words,
            "Basic Constraints of CA cert not marked critical"
        );
        assert_eq!(strict.rule, Some(Rule::CaBasicConstraintsNotCritical));
        assert_eq!((strict.basis, strict.exit), ("rule", Some(1)));
        assert_eq!(of(Client::Curl).outcome, Outcome::Ok);
        assert_eq!(of(Client::Curl).basis, "as-rustls");
        assert_eq!(of(Client::Rustls).basis, "rustls");
        assert_eq!(of(Client::Grpc).basis, "not-measured");
        assert_eq!(of(Client::Grpc).exit, Some(0));

        let lines = disagreement_lines(Outcome::Ok, &[hit(Rule::CaBasicConstraintsNotCritical)]);
        assert_eq!(
            lines,
            [
                "python3.13 (`openssl verify -x509_strict`) reject this: Basic Constraints of CA cert not marked critical (intermediate CN=x); rustls, curl, openssl, python, gnutls, go, java and node accept it (not measured: grpc, chromium)"
            ]
        );
        // No rule broken, or every family that rejects says what rustls says: no line.
        assert!(disagreement_lines(Outcome::Ok, &[]).is_empty());
        assert!(
            client_verdicts(Outcome::Expired, None, &[])
                .iter()
                .all(|v| v.outcome == Outcome::Expired)
        );
        let lines = disagreement_lines(
            Outcome::InvalidCa,
            &[hit(Rule::RootMissingBasicConstraints)],
        );
        assert_eq!(lines.len(), 1, "go says unknown-ca: {lines:?}");
        assert!(lines[0].starts_with("go rejects this"), "{lines:?}");
    }

    #[test]
    fn bad_host_is_an_error() {
        let err = server_name("not a host").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid --host `not a host`: expected a DNS name or an IP address"
        );
        assert!(server_name("[::1]").is_ok());
    }
}
