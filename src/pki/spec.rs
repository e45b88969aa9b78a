//! The TOML spec: model, validation with `file:line:column` errors, and the built-in templates.
//!
//! ```toml
//! [[ca]]
//! name = "root"
//!
//! [[ca]]
//! name = "intermediate"
//! issuer = "root"
//! path_len = 0
//!
//! [[leaf]]
//! name = "localhost"
//! issuer = "intermediate"
//! role = "server"            # server | client | server-client
//! dns = ["localhost"]
//! ip = ["127.0.0.1", "::1"]
//! ```

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use toml::Spanned;

use super::keys::KeyAlg;
use super::model::{
    COUNT_PLACEHOLDER, CaSpec, DEFAULT_CA_VALIDITY, DEFAULT_LEAF_VALIDITY, Fault, FileLayout,
    IpRange, LeafSpec, MAX_COUNT, NameConstraintSpec, Role, San, Subject, Validity,
};
use super::names;
use super::scenario::Scenario;
use crate::outcome::Outcome;

/// The longest `validity` a spec may ask for (with `--now` up to the year 9000 it still ends
/// before 9999-12-31, the last date X.509 can encode).
pub const MAX_VALIDITY: Duration = Duration::days(1000 * 365);

/// A built-in spec template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Its name (`dev`, `otel`, `lab`).
    pub name: &'static str,
    /// One line on what it makes.
    pub summary: &'static str,
    /// The commented TOML text.
    pub text: &'static str,
}

/// The built-in templates (their files live in `templates/`).
pub const TEMPLATES: [Template; 3] = [
    Template {
        name: "dev",
        summary: "root, intermediate, a localhost server and a client certificate",
        text: include_str!("../../templates/dev.toml"),
    },
    Template {
        name: "otel",
        summary: "OpenTelemetry collector (Kubernetes service names) and an exporter client",
        text: include_str!("../../templates/otel.toml"),
    },
    Template {
        name: "lab",
        summary: "every fault of the catalogue and every scenario of the lab",
        text: include_str!("../../templates/lab.toml"),
    },
];

/// The built-in template with this name.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// The built-in `lab` template, parsed once per process: the lab builds from it, and every
/// PKI's explicit scenarios are matched against its scenarios for their client verdicts.
pub fn lab_template() -> Result<&'static Spec, &'static SpecError> {
    static LAB: std::sync::OnceLock<Result<Spec, SpecError>> = std::sync::OnceLock::new();
    LAB.get_or_init(|| {
        let lab = template("lab").expect("the `lab` template is built in");
        parse(lab.name, lab.text)
    })
    .as_ref()
}

/// A validated spec: CAs in issuing order, leaves, explicit scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// CAs, issuers before what they issue.
    pub cas: Vec<CaSpec>,
    /// Leaves, in spec order.
    pub leaves: Vec<LeafSpec>,
    /// Explicit scenarios.
    pub scenarios: Vec<Scenario>,
    /// `seed = "…"`: derive every key and serial from this seed (a reproducible, test-only
    /// PKI; see [`super::seed`]).
    pub seed: Option<String>,
    /// `now = 2030-01-01T00:00:00Z`: issue as if it were this time (`--now` overrides it).
    pub now: Option<OffsetDateTime>,
}

impl Spec {
    /// The scenarios a PKI built from this spec has, with the outcome each must show, read from the
    /// spec alone (no key is generated): the explicit scenarios, then one implicit scenario per
    /// served server leaf that no explicit scenario already names, as [`Pki::all_scenarios`](super::Pki::all_scenarios) lists
    /// them after building.
    pub fn scenario_outcomes(&self) -> Vec<(String, Option<Outcome>)> {
        let mut all: Vec<(String, Option<Outcome>)> = self
            .scenarios
            .iter()
            .map(|s| (s.name.clone(), s.expected))
            .collect();
        let explicit: HashSet<String> = all.iter().map(|(n, _)| n.clone()).collect();
        for leaf in &self.leaves {
            if leaf.role.is_server() && leaf.fault.is_served() && !explicit.contains(&leaf.name) {
                all.push((leaf.name.clone(), leaf.fault.expected()));
            }
        }
        all
    }
}

/// A spec error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct SpecError {
    /// The file (or `<template NAME>`).
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    seed: Option<S<String>>,
    now: Option<S<RawTime>>,
    #[serde(default)]
    ca: Vec<RawCa>,
    #[serde(default)]
    leaf: Vec<RawLeaf>,
    #[serde(default)]
    scenario: Vec<Spanned<Scenario>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    cn: Option<String>,
    o: Option<String>,
    ou: Option<String>,
    c: Option<String>,
    st: Option<String>,
    l: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTime {
    Toml(toml::value::Datetime),
    Text(String),
}

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCa {
    name: S<String>,
    issuer: Option<S<String>>,
    key: Option<S<String>>,
    subject: Option<RawSubject>,
    validity: Option<S<String>>,
    not_before: Option<S<RawTime>>,
    not_after: Option<S<RawTime>>,
    path_len: Option<S<i64>>,
    #[serde(default)]
    permitted_dns: Vec<S<String>>,
    #[serde(default)]
    excluded_dns: Vec<S<String>>,
    #[serde(default)]
    permitted_ip: Vec<S<String>>,
    #[serde(default)]
    excluded_ip: Vec<S<String>>,
    trusted: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeaf {
    name: S<String>,
    issuer: S<String>,
    role: Option<S<String>>,
    key: Option<S<String>>,
    subject: Option<RawSubject>,
    validity: Option<S<String>>,
    not_before: Option<S<RawTime>>,
    not_after: Option<S<RawTime>>,
    #[serde(default)]
    dns: Vec<S<String>>,
    #[serde(default)]
    ip: Vec<S<String>>,
    #[serde(default)]
    uri: Vec<S<String>>,
    #[serde(default)]
    email: Vec<S<String>>,
    #[serde(default)]
    k8s_service: Vec<S<String>>,
    fault: Option<S<String>>,
    count: Option<S<i64>>,
    dir: Option<S<String>>,
    files: Option<S<String>>,
}

/// Positions in one source text.
struct Source<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> SpecError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        SpecError {
            origin: self.origin.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> SpecError {
        self.error(value.span(), message)
    }
}

/// Parses and validates a spec. `origin` names it in errors (a path, or `<template dev>`).
///
/// ```
/// let spec = certlab::pki::spec::parse("my.toml", r#"
/// [[ca]]
/// name = "root"
/// [[leaf]]
/// name = "web"
/// issuer = "root"
/// dns = ["web.test"]
/// "#).unwrap();
/// assert_eq!(spec.leaves[0].name, "web");
///
/// let err = certlab::pki::spec::parse("my.toml", "[[leaf]]\nname = \"x\"\nissuer = \"nope\"\ndns = [\"x.test\"]\n")
///     .unwrap_err();
/// assert_eq!(err.to_string(), "my.toml:3:10: unknown issuer `nope` (no [[ca]] has this name)");
/// ```
pub fn parse(origin: &str, text: &str) -> Result<Spec, SpecError> {
    let src = Source { origin, text };
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        src.error(e.span().unwrap_or(0..0), message)
    })?;

    // Counted leaves (`count = N`, `name = "client-{n}"`) expand to N leaves here.
    let mut instances: Vec<(&RawLeaf, Option<u64>)> = Vec::with_capacity(raw.leaf.len());
    for leaf in &raw.leaf {
        match leaf_count(&src, leaf)? {
            None => instances.push((leaf, None)),
            Some(count) => instances.extend((1..=count).map(|n| (leaf, Some(n)))),
        }
    }
    let leaf_names: Vec<String> = instances
        .iter()
        .map(|(leaf, n)| substitute(leaf.name.get_ref(), *n))
        .collect();

    // Names are unique across CAs and leaves.
    let all_names = || {
        raw.ca
            .iter()
            .map(|c| (c.name.get_ref().as_str(), c.name.span()))
            .chain(
                instances
                    .iter()
                    .zip(&leaf_names)
                    .map(|((l, _), name)| (name.as_str(), l.name.span())),
            )
    };
    let mut seen = HashSet::new();
    for (name, span) in all_names() {
        check_entity_name(&src, name, span.clone())?;
        if !seen.insert(name) {
            return Err(src.error(span, format!("duplicate name `{name}`")));
        }
    }
    check_file_collisions(&src, all_names())?;
    for leaf in &raw.leaf {
        if let Some(dir) = &leaf.dir {
            check_dir(&src, dir)?;
        }
    }
    if raw.ca.is_empty() && raw.leaf.is_empty() {
        return Err(src.error(
            0..0,
            "the spec is empty: give at least one [[ca]] (and [[leaf]]s it issues); `certlab new` writes a commented one",
        ));
    }
    let leaf_names: HashSet<&str> = leaf_names.iter().map(String::as_str).collect();
    let ca_names: HashSet<&str> = raw.ca.iter().map(|c| c.name.get_ref().as_str()).collect();
    let check_issuer = |issuer: &S<String>| -> Result<(), SpecError> {
        let name = issuer.get_ref().as_str();
        if leaf_names.contains(name) {
            Err(src.at(
                issuer,
                format!(
                    "`{name}` is a leaf and cannot issue certificates (issuer must be a [[ca]])"
                ),
            ))
        } else if !ca_names.contains(name) {
            Err(src.at(
                issuer,
                format!("unknown issuer `{name}` (no [[ca]] has this name)"),
            ))
        } else {
            Ok(())
        }
    };

    let mut cas = Vec::new();
    for ca in &raw.ca {
        if let Some(issuer) = &ca.issuer {
            check_issuer(issuer)?;
        }
        cas.push((ca, ca_spec(&src, ca)?));
    }
    let cas = issuing_order(&src, cas)?;

    let mut leaves = Vec::with_capacity(instances.len());
    for leaf in &raw.leaf {
        check_issuer(&leaf.issuer)?;
    }
    for (leaf, n) in &instances {
        leaves.push(leaf_spec(&src, leaf, *n)?);
    }

    let mut scenarios: Vec<Scenario> = Vec::new();
    for s in &raw.scenario {
        let scenario = s.get_ref();
        let known = |name: &String| seen.contains(name.as_str());
        let unknown = [&scenario.server.entity, &scenario.client.cert]
            .into_iter()
            .flatten()
            .chain(&scenario.server.client_ca)
            .chain(&scenario.client.crl)
            .find(|n| !known(n));
        if let Some(name) = unknown {
            return Err(src.at(
                s,
                format!("scenario `{}` names unknown entity `{name}`", scenario.name),
            ));
        }
        if scenarios.iter().any(|o| o.name == scenario.name) {
            return Err(src.at(s, format!("duplicate scenario name `{}`", scenario.name)));
        }
        if scenario.server.entity.is_none() && !scenario.server.plaintext {
            return Err(src.at(
                s,
                format!(
                    "scenario `{}`: server needs an `entity` to serve (or plaintext = true)",
                    scenario.name
                ),
            ));
        }
        scenarios.push(scenario.clone());
    }

    let seed = match &raw.seed {
        Some(s) if s.get_ref().is_empty() => {
            return Err(src.at(s, "`seed` is empty: give a non-empty text"));
        }
        Some(s) => Some(s.get_ref().clone()),
        None => None,
    };
    let now = match &raw.now {
        Some(n) => {
            let t = time_of(&src, n)?;
            if !(1970..=9000).contains(&t.year()) {
                return Err(src.at(
                    n,
                    "`now` is out of range: give a time between 1970 and 9000",
                ));
            }
            Some(t)
        }
        None => None,
    };

    Ok(Spec {
        cas,
        leaves,
        scenarios,
        seed,
        now,
    })
}

/// Names become file names: two entities must not write one file (`web` and `web.chain` both
/// own `web.chain.pem`), and no entity a file of the whole PKI (`ca.pem`, `certlab.json`).
fn check_file_collisions<'a>(
    src: &Source,
    names: impl Iterator<Item = (&'a str, Range<usize>)>,
) -> Result<(), SpecError> {
    use super::manifest::{PKI_FILES, files_of};
    // What each file adds to its entity's name (`.pem`, `.chain.pem`, …). A file of `n` is
    // an earlier name's when stripping one of these from it leaves that name: a few string
    // comparisons per file, no map of every file (10,000 leaves own 140,000 file names).
    let suffixes: Vec<String> = files_of("x")
        .into_iter()
        .map(|f| f["x".len()..].to_string())
        .collect();
    let mut earlier: HashSet<&str> = HashSet::new();
    let mut file = String::new();
    for (n, span) in names {
        for suffix in &suffixes {
            file.clear();
            file.push_str(n);
            file.push_str(suffix);
            let other = if PKI_FILES.contains(&file.as_str()) {
                Some("certlab's own file".to_string())
            } else {
                suffixes
                    .iter()
                    .filter_map(|t| file.strip_suffix(t.as_str()))
                    .find(|m| *m != n && earlier.contains(m))
                    .map(|m| format!("a file of `{m}`"))
            };
            if let Some(whose) = other {
                return Err(src.error(
                    span,
                    format!(
                        "name `{n}` collides: its file `{file}` is {whose}; choose another name"
                    ),
                ));
            }
        }
        earlier.insert(n);
    }
    Ok(())
}

fn check_entity_name(src: &Source, n: &str, span: Range<usize>) -> Result<(), SpecError> {
    if let Err(e @ names::NameError::Entity(..)) = names::file_name(n)
        && (n.chars().count() > names::MAX_NAME_LEN || names::RESERVED_NAMES.contains(&n))
    {
        return Err(src.error(span, e.to_string()));
    }
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || n.starts_with('.')
    {
        return Err(src.error(
            span,
            format!(
                "invalid name `{n}`: use letters, digits, `-`, `_` and `.` (it becomes a file name)"
            ),
        ));
    }
    Ok(())
}

/// The `count` of a `[[leaf]]`: `None` without one; checks its range and that the name holds
/// the `{n}` placeholder when it makes more than one leaf.
fn leaf_count(src: &Source, leaf: &RawLeaf) -> Result<Option<u64>, SpecError> {
    let Some(count) = &leaf.count else {
        if leaf.name.get_ref().contains(COUNT_PLACEHOLDER) {
            return Err(src.at(
                &leaf.name,
                format!(
                    "name `{}` holds `{COUNT_PLACEHOLDER}` but the leaf has no `count`",
                    leaf.name.get_ref()
                ),
            ));
        }
        return Ok(None);
    };
    let n = *count.get_ref();
    if n < 1 || n as u64 > MAX_COUNT {
        return Err(src.at(
            count,
            format!("count must be between 1 and {MAX_COUNT} (got {n})"),
        ));
    }
    if n > 1 && !leaf.name.get_ref().contains(COUNT_PLACEHOLDER) {
        return Err(src.at(
            &leaf.name,
            format!(
                "name `{}` needs the placeholder `{COUNT_PLACEHOLDER}` with count = {n} (e.g. `client-{{n}}`), or every leaf would have one name",
                leaf.name.get_ref()
            ),
        ));
    }
    Ok(Some(n as u64))
}

/// `text` with `{n}` replaced by the leaf's number (unchanged for an uncounted leaf).
fn substitute(text: &str, n: Option<u64>) -> String {
    match n {
        Some(n) if text.contains(COUNT_PLACEHOLDER) => {
            text.replace(COUNT_PLACEHOLDER, &n.to_string())
        }
        _ => text.to_string(),
    }
}

/// A SAN of a leaf (`dns`, `ip`, `uri`, `email`, `k8s_service`) with `{n}` replaced by the
/// leaf's number; `{n}` in a leaf without `count` is an error at the item.
fn pattern_text(src: &Source, item: &S<String>, n: Option<u64>) -> Result<String, SpecError> {
    if n.is_none() && item.get_ref().contains(COUNT_PLACEHOLDER) {
        return Err(src.at(
            item,
            format!(
                "`{}` holds `{COUNT_PLACEHOLDER}` but the leaf has no `count`",
                item.get_ref()
            ),
        ));
    }
    Ok(substitute(item.get_ref(), n))
}

/// The error of a SAN that is invalid: for a pattern, which number made it invalid (e.g.
/// `10.0.0.{n}` with n = 256), at the item's line and column.
fn pattern_error(src: &Source, item: &S<String>, n: Option<u64>, e: names::NameError) -> SpecError {
    match n {
        Some(n) if item.get_ref().contains(COUNT_PLACEHOLDER) => src.at(
            item,
            format!(
                "{e} (the pattern `{}` with n = {n}; the count must stay within the values it allows)",
                item.get_ref()
            ),
        ),
        _ => src.at(item, e.to_string()),
    }
}

/// A leaf's `dir`: one plain name (it becomes a sub-directory), not one of certlab's own files.
fn check_dir(src: &Source, dir: &S<String>) -> Result<(), SpecError> {
    let d = dir.get_ref().as_str();
    if d.is_empty()
        || !d
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || d.starts_with('.')
        || d.chars().count() > names::MAX_NAME_LEN
    {
        return Err(src.at(
            dir,
            format!(
                "invalid dir `{d}`: one directory name of letters, digits, `-`, `_` and `.` (no `/`)"
            ),
        ));
    }
    if super::manifest::PKI_FILES.contains(&d) {
        return Err(src.at(
            dir,
            format!("dir `{d}` is certlab's own file; choose another name"),
        ));
    }
    Ok(())
}

/// Orders CAs so that every issuer comes before what it issues; reports the first cycle.
fn issuing_order(src: &Source, cas: Vec<(&RawCa, CaSpec)>) -> Result<Vec<CaSpec>, SpecError> {
    let index: HashMap<&str, usize> = cas
        .iter()
        .enumerate()
        .map(|(i, (raw, _))| (raw.name.get_ref().as_str(), i))
        .collect();
    let mut order = Vec::new();
    let mut state = vec![0u8; cas.len()]; // 0 new, 1 visiting, 2 done
    fn visit(
        i: usize,
        cas: &[(&RawCa, CaSpec)],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
        src: &Source,
    ) -> Result<(), SpecError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let raw = cas[i].0;
                let issuer = raw.issuer.as_ref().expect("a cycle has issuers");
                return Err(src.at(
                    issuer,
                    format!(
                        "issuer cycle: `{}` is (indirectly) its own issuer",
                        raw.name.get_ref()
                    ),
                ));
            }
            _ => {}
        }
        state[i] = 1;
        if let Some(issuer) = &cas[i].0.issuer {
            visit(
                index[issuer.get_ref().as_str()],
                cas,
                index,
                state,
                order,
                src,
            )?;
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..cas.len() {
        visit(i, &cas, &index, &mut state, &mut order, src)?;
    }
    let mut slots: Vec<Option<CaSpec>> = cas.into_iter().map(|(_, spec)| Some(spec)).collect();
    Ok(order
        .into_iter()
        .map(|i| slots[i].take().expect("once"))
        .collect())
}

fn ca_spec(src: &Source, raw: &RawCa) -> Result<CaSpec, SpecError> {
    let path_len = match &raw.path_len {
        Some(p) if !(0..=255).contains(p.get_ref()) => {
            return Err(src.at(p, "path_len must be between 0 and 255"));
        }
        Some(p) => Some(*p.get_ref() as u8),
        None => None,
    };
    if let (Some(t), Some(_)) = (&raw.trusted, &raw.issuer) {
        return Err(src.at(t, "`trusted` applies to roots only (this CA has an issuer)"));
    }
    let dns = |list: &[S<String>]| -> Result<Vec<String>, SpecError> {
        list.iter()
            .map(|d| {
                let name = d.get_ref().trim_start_matches('.');
                names::dns(name)
                    .map(|_| d.get_ref().clone())
                    .map_err(|e| src.at(d, e.to_string()))
            })
            .collect()
    };
    let ips = |list: &[S<String>]| -> Result<Vec<IpRange>, SpecError> {
        list.iter()
            .map(|r| ip_range(r.get_ref()).map_err(|m| src.at(r, m)))
            .collect()
    };
    Ok(CaSpec {
        name: raw.name.get_ref().clone(),
        issuer: raw.issuer.as_ref().map(|i| i.get_ref().clone()),
        key: key_alg(src, &raw.key)?,
        subject: subject(&raw.subject),
        validity: validity(
            src,
            &raw.validity,
            &raw.not_before,
            &raw.not_after,
            DEFAULT_CA_VALIDITY,
        )?,
        path_len,
        name_constraints: NameConstraintSpec {
            permitted_dns: dns(&raw.permitted_dns)?,
            excluded_dns: dns(&raw.excluded_dns)?,
            permitted_ip: ips(&raw.permitted_ip)?,
            excluded_ip: ips(&raw.excluded_ip)?,
        },
        trusted: raw.trusted.as_ref().is_none_or(|t| *t.get_ref()),
        fault: Fault::None,
    })
}

fn leaf_spec(src: &Source, raw: &RawLeaf, n: Option<u64>) -> Result<LeafSpec, SpecError> {
    let role = match &raw.role {
        None => Role::Server,
        Some(r) => match r.get_ref().as_str() {
            "server" => Role::Server,
            "client" => Role::Client,
            "server-client" | "both" => Role::ServerClient,
            other => {
                return Err(src.at(
                    r,
                    format!("unknown role `{other}` (expected server, client or server-client)"),
                ));
            }
        },
    };
    let fault = match &raw.fault {
        None => Fault::None,
        Some(f) => f.get_ref().parse::<Fault>().map_err(|m| src.at(f, m))?,
    };
    let mut sans = Vec::new();
    let mut add = |list: &[S<String>],
                   check: fn(&str) -> Result<San, names::NameError>|
     -> Result<(), SpecError> {
        for item in list {
            let text = pattern_text(src, item, n)?;
            sans.push(check(&text).map_err(|e| pattern_error(src, item, n, e))?);
        }
        Ok(())
    };
    add(&raw.dns, names::dns)?;
    add(&raw.ip, names::ip)?;
    add(&raw.uri, names::uri)?;
    add(&raw.email, names::email)?;
    for svc in &raw.k8s_service {
        let text = pattern_text(src, svc, n)?;
        let expanded =
            names::k8s_service_names(&text).map_err(|e| pattern_error(src, svc, n, e))?;
        sans.extend(expanded.into_iter().map(San::Dns));
    }
    if role.is_server() && sans.is_empty() {
        return Err(src.at(&raw.name, format!("server `{}` has no SANs: give dns, ip or k8s_service (clients match SANs, not the CN)", raw.name.get_ref())));
    }
    let files = match &raw.files {
        None => FileLayout::Separate,
        Some(f) => f
            .get_ref()
            .parse::<FileLayout>()
            .map_err(|m| src.at(f, m))?,
    };
    if let (Some(f), FileLayout::Combined, Fault::ReversedChain) = (&raw.files, files, fault) {
        return Err(src.at(
            f,
            "files = \"combined\" puts the leaf's certificate first, and the fault `reversed-chain` sends another certificate first: use separate files for it",
        ));
    }
    let mut subject = subject(&raw.subject);
    if let Some(cn) = &mut subject.cn {
        *cn = substitute(cn, n);
    }
    Ok(LeafSpec {
        name: substitute(raw.name.get_ref(), n),
        issuer: raw.issuer.get_ref().clone(),
        role,
        key: key_alg(src, &raw.key)?,
        subject,
        validity: validity(
            src,
            &raw.validity,
            &raw.not_before,
            &raw.not_after,
            DEFAULT_LEAF_VALIDITY,
        )?,
        sans,
        fault,
        dir: raw.dir.as_ref().map(|d| d.get_ref().clone()),
        files,
    })
}

fn subject(raw: &Option<RawSubject>) -> Subject {
    raw.as_ref()
        .map(|s| Subject {
            cn: s.cn.clone(),
            o: s.o.clone(),
            ou: s.ou.clone(),
            c: s.c.clone(),
            st: s.st.clone(),
            l: s.l.clone(),
        })
        .unwrap_or_default()
}

fn key_alg(src: &Source, raw: &Option<S<String>>) -> Result<KeyAlg, SpecError> {
    match raw {
        None => Ok(KeyAlg::default()),
        Some(k) => k.get_ref().parse().map_err(|m: String| src.at(k, m)),
    }
}

fn validity(
    src: &Source,
    duration: &Option<S<String>>,
    not_before: &Option<S<RawTime>>,
    not_after: &Option<S<RawTime>>,
    default: Duration,
) -> Result<Validity, SpecError> {
    match (duration, not_before, not_after) {
        (Some(d), None, None) => {
            let parsed = parse_duration(d.get_ref()).map_err(|m| src.at(d, m))?;
            if parsed <= Duration::ZERO {
                return Err(src.at(d, format!("validity `{}` is not positive", d.get_ref())));
            }
            if parsed > MAX_VALIDITY {
                return Err(src.at(
                    d,
                    format!("validity `{}` is longer than 1000 years", d.get_ref()),
                ));
            }
            Ok(Validity::For(parsed))
        }
        (None, None, None) => Ok(Validity::For(default)),
        (None, Some(a), Some(b)) => {
            let (start, end) = (time_of(src, a)?, time_of(src, b)?);
            if end <= start {
                return Err(src.at(
                    b,
                    "not_after must be later than not_before (validity is not positive)",
                ));
            }
            Ok(Validity::Between(start, end))
        }
        (Some(d), _, _) => Err(src.at(
            d,
            "give either `validity` or `not_before` + `not_after`, not both",
        )),
        (None, Some(a), None) => Err(src.at(a, "`not_before` needs `not_after`")),
        (None, None, Some(b)) => Err(src.at(b, "`not_after` needs `not_before`")),
    }
}

fn time_of(src: &Source, raw: &S<RawTime>) -> Result<OffsetDateTime, SpecError> {
    let text = match raw.get_ref() {
        RawTime::Toml(dt) => dt.to_string(),
        RawTime::Text(s) => s.clone(),
    };
    OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
        src.at(
            raw,
            format!(
                "invalid time `{text}`: expected RFC 3339 with an offset, e.g. 2030-01-01T00:00:00Z"
            ),
        )
    })
}

/// Parses a duration such as `90d`, `10y`, `12h`, `2w`, `30m`, `45s` (a year is 365 days).
///
/// ```
/// use certlab::pki::spec::parse_duration;
/// assert_eq!(parse_duration("10y").unwrap(), time::Duration::days(3650));
/// assert!(parse_duration("10 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .ok_or_else(|| {
            format!("invalid duration `{text}`: expected a number and a unit, e.g. 90d or 10y")
        })?;
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| {
        format!("invalid duration `{text}`: expected a number and a unit, e.g. 90d or 10y")
    })?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit in `{text}` (expected s, m, h, d, w or y)"
            ));
        }
    };
    n.checked_mul(seconds)
        .map(Duration::seconds)
        .ok_or_else(|| format!("duration `{text}` is too long"))
}

fn ip_range(text: &str) -> Result<IpRange, String> {
    let bad = || format!("invalid IP range `{text}`: expected ADDRESS/PREFIX, e.g. 10.0.0.0/8");
    let (addr, prefix) = text.split_once('/').ok_or_else(bad)?;
    let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(bad());
    }
    Ok(IpRange { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_alone_lists_the_scenarios_the_built_pki_has() {
        for name in ["lab", "dev", "otel"] {
            let spec =
                parse(name, template(name).expect("a built-in template").text).expect("it parses");
            let now = time::macros::datetime!(2030-01-01 00:00 UTC);
            let pki = crate::pki::store::build(&spec, now).expect("it builds");
            let built: Vec<_> = pki
                .all_scenarios()
                .into_iter()
                .map(|s| (s.name, s.expected))
                .collect();
            assert_eq!(spec.scenario_outcomes(), built, "template {name}");
        }
    }

    const HEAD: &str = "[[ca]]\nname = \"root\"\n\n";

    /// Parses `HEAD + body` and returns the error as `line:column: message` (origin stripped).
    fn err(body: &str) -> String {
        let e = parse("t.toml", &format!("{HEAD}{body}")).expect_err("must fail");
        assert_eq!(e.origin, "t.toml");
        format!("{}:{}: {}", e.line, e.column, e.message)
    }

    #[test]
    fn every_template_parses() {
        for t in TEMPLATES {
            let spec = parse(t.name, t.text).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !spec.cas.is_empty() && !spec.leaves.is_empty(),
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn seed_and_now_at_the_top() {
        let spec = parse(
            "t.toml",
            &format!("seed = \"ci\"\nnow = 2030-01-01T00:00:00Z\n{HEAD}"),
        )
        .unwrap();
        assert_eq!(spec.seed.as_deref(), Some("ci"));
        assert_eq!(
            spec.now,
            Some(time::macros::datetime!(2030-01-01 00:00 UTC))
        );
        let quoted = parse("t.toml", &format!("now = \"2031-05-06T07:08:09Z\"\n{HEAD}")).unwrap();
        assert_eq!(quoted.now.map(|t| t.year()), Some(2031));
        assert_eq!(quoted.seed, None);
        let e = |text: &str| {
            let e = parse("t.toml", &format!("{text}{HEAD}")).expect_err("must fail");
            format!("{}:{}: {}", e.line, e.column, e.message)
        };
        assert_eq!(
            e("seed = \"\"\n"),
            "1:8: `seed` is empty: give a non-empty text"
        );
        assert!(
            e("seed = 3\n").starts_with("1:8: invalid type"),
            "{}",
            e("seed = 3\n")
        );
        assert!(
            e("now = \"tomorrow\"\n").starts_with("1:7: invalid time `tomorrow`"),
            "{}",
            e("now = \"tomorrow\"\n")
        );
        assert_eq!(
            e("now = 1900-01-01T00:00:00Z\n"),
            "1:7: `now` is out of range: give a time between 1970 and 9000"
        );
    }

    #[test]
    fn unknown_issuer() {
        assert_eq!(
            err("[[leaf]]\nname = \"a\"\nissuer = \"nope\"\ndns = [\"a.test\"]\n"),
            "6:10: unknown issuer `nope` (no [[ca]] has this name)"
        );
    }

    #[test]
    fn counted_leaves_expand_in_order_with_dir_and_substituted_names() {
        let spec = parse(
            "t.toml",
            &format!(
                "{HEAD}[[leaf]]\nname = \"client-{{n}}\"\nissuer = \"root\"\nrole = \"client\"\ncount = 3\ndir = \"clients\"\nuri = [\"spiffe://t/c{{n}}\"]\nsubject = {{ cn = \"Client {{n}}\" }}\n"
            ),
        )
        .unwrap();
        let names: Vec<_> = spec.leaves.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["client-1", "client-2", "client-3"]);
        assert_eq!(spec.leaves[2].sans, [San::Uri("spiffe://t/c3".into())]);
        assert_eq!(spec.leaves[1].subject.cn.as_deref(), Some("Client 2"));
        assert!(
            spec.leaves
                .iter()
                .all(|l| l.dir.as_deref() == Some("clients"))
        );
        // count = 1 without a placeholder is one leaf of that name.
        let one = parse(
            "t.toml",
            &format!(
                "{HEAD}[[leaf]]\nname = \"solo\"\nissuer = \"root\"\nrole = \"client\"\ncount = 1\n"
            ),
        )
        .unwrap();
        assert_eq!(one.leaves[0].name, "solo");
    }

    #[test]
    fn counted_leaf_errors_have_positions() {
        let leaf = |extra: &str| {
            err(&format!(
                "[[leaf]]\nname = \"client\"\nissuer = \"root\"\nrole = \"client\"\n{extra}"
            ))
        };
        assert_eq!(
            leaf("count = 5\n"),
            "5:8: name `client` needs the placeholder `{n}` with count = 5 (e.g. `client-{n}`), or every leaf would have one name"
        );
        assert_eq!(
            leaf("count = 0\n"),
            "8:9: count must be between 1 and 1000000 (got 0)"
        );
        assert_eq!(
            leaf("count = 2000000\n"),
            "8:9: count must be between 1 and 1000000 (got 2000000)"
        );
        assert_eq!(
            leaf("dir = \"a/b\"\n"),
            "8:7: invalid dir `a/b`: one directory name of letters, digits, `-`, `_` and `.` (no `/`)"
        );
        assert_eq!(
            leaf("dir = \"configs\"\n"),
            "8:7: dir `configs` is certlab's own file; choose another name"
        );
        assert_eq!(
            err("[[leaf]]\nname = \"c-{n}\"\nissuer = \"root\"\nrole = \"client\"\n"),
            "5:8: name `c-{n}` holds `{n}` but the leaf has no `count`"
        );
        // An expanded name must still be a valid, unique name.
        assert_eq!(
            err(
                "[[leaf]]\nname = \"c-{n}\"\nissuer = \"root\"\nrole = \"client\"\ncount = 3\n[[leaf]]\nname = \"c-2\"\nissuer = \"root\"\nrole = \"client\"\n"
            ),
            "10:8: duplicate name `c-2`"
        );
        assert_eq!(
            err("[[leaf]]\nname = \"c {n}\"\nissuer = \"root\"\nrole = \"client\"\ncount = 2\n"),
            "5:8: invalid name `c 1`: use letters, digits, `-`, `_` and `.` (it becomes a file name)"
        );
        // A substituted SAN is checked like any other.
        assert!(
            err("[[leaf]]\nname = \"s-{n}\"\nissuer = \"root\"\ncount = 2\ndns = [\"bad {n}.test\"]\n")
                .starts_with("8:8: ")
        );
    }

    #[test]
    fn counted_ip_and_k8s_service_patterns() {
        let spec = parse(
            "t",
            &format!(
                "{HEAD}[[leaf]]\nname = \"c-{{n}}\"\nissuer = \"root\"\ncount = 3\nip = [\"10.0.0.{{n}}\", \"fd00::{{n}}\"]\nk8s_service = [\"api-{{n}}.prod\"]\n"
            ),
        )
        .unwrap();
        let sans: Vec<_> = spec.leaves[2].sans.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            sans,
            [
                "IP:10.0.0.3",
                "IP:fd00::3",
                "DNS:api-3",
                "DNS:api-3.prod",
                "DNS:api-3.prod.svc",
                "DNS:api-3.prod.svc.cluster.local"
            ]
        );
        // A pattern that is no IP for some n: a spec error at the item, naming that n.
        assert_eq!(
            err(
                "[[leaf]]\nname = \"c-{n}\"\nissuer = \"root\"\ncount = 300\nip = [\"10.0.0.{n}\"]\n"
            ),
            "8:7: invalid IP address `10.0.0.256` (the pattern `10.0.0.{n}` with n = 256; the count must stay within the values it allows)"
        );
        assert_eq!(
            err(
                "[[leaf]]\nname = \"c-{n}\"\nissuer = \"root\"\ncount = 2\nk8s_service = [\"a.b.{n}\"]\n"
            ),
            "8:16: invalid DNS name `a.b.1`: a k8s_service is `name.namespace` (the pattern `a.b.{n}` with n = 1; the count must stay within the values it allows)"
        );
        // `{n}` without `count`: an error, not a literal `{n}` in a certificate.
        assert_eq!(
            err(
                "[[leaf]]\nname = \"c\"\nissuer = \"root\"\nrole = \"client\"\nuri = [\"spiffe://t/{n}\"]\n"
            ),
            "8:8: `spiffe://t/{n}` holds `{n}` but the leaf has no `count`"
        );
        assert_eq!(
            err("[[leaf]]\nname = \"c\"\nissuer = \"root\"\nip = [\"10.0.0.{n}\"]\n"),
            "7:7: `10.0.0.{n}` holds `{n}` but the leaf has no `count`"
        );
    }

    #[test]
    fn issuer_cycle() {
        let e =
            err("[[ca]]\nname = \"a\"\nissuer = \"b\"\n\n[[ca]]\nname = \"b\"\nissuer = \"a\"\n");
        // Reported at the issuer of the first CA of the cycle in file order.
        assert_eq!(e, "6:10: issuer cycle: `a` is (indirectly) its own issuer");
    }

    #[test]
    fn leaf_used_as_issuer() {
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\n\n[[leaf]]\nname = \"b\"\nissuer = \"a\"\ndns = [\"b.test\"]\n",
        );
        assert_eq!(
            e,
            "11:10: `a` is a leaf and cannot issue certificates (issuer must be a [[ca]])"
        );
    }

    #[test]
    fn invalid_dns_name() {
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"ok.test\", \"bad name.test\"]\n",
        );
        assert!(
            e.starts_with("7:19: invalid DNS name `bad name.test`"),
            "{e}"
        );
    }

    #[test]
    fn invalid_ip() {
        let e = err("[[leaf]]\nname = \"a\"\nissuer = \"root\"\nip = [\"10.0.0.300\"]\n");
        assert_eq!(e, "7:7: invalid IP address `10.0.0.300`");
    }

    #[test]
    fn misplaced_wildcard() {
        let e = err("[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"api.*.test\"]\n");
        assert!(
            e.starts_with("7:8: misplaced wildcard in `api.*.test`"),
            "{e}"
        );
    }

    #[test]
    fn server_without_sans() {
        let e = err("[[leaf]]\nname = \"web\"\nissuer = \"root\"\n");
        assert!(e.starts_with("5:8: server `web` has no SANs"), "{e}");
    }

    #[test]
    fn non_positive_validity() {
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nvalidity = \"0d\"\n",
        );
        assert_eq!(e, "8:12: validity `0d` is not positive");
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nnot_before = 2030-01-01T00:00:00Z\nnot_after = 2029-01-01T00:00:00Z\n",
        );
        assert!(
            e.starts_with("9:13: not_after must be later than not_before"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_algorithm() {
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nkey = \"rsa-1024\"\n",
        );
        assert!(
            e.starts_with("8:7: unknown key algorithm `rsa-1024`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field() {
        let e =
            err("[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nsans = [\"x\"]\n");
        assert!(e.starts_with("8:1: unknown field `sans`"), "{e}");
    }

    #[test]
    fn unknown_fault_and_role() {
        let e = err(
            "[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nfault = \"broken\"\n",
        );
        assert!(e.starts_with("8:9: unknown fault `broken`"), "{e}");
        let e =
            err("[[leaf]]\nname = \"a\"\nissuer = \"root\"\ndns = [\"a.test\"]\nrole = \"peer\"\n");
        assert!(e.starts_with("8:8: unknown role `peer`"), "{e}");
    }

    #[test]
    fn duplicate_name() {
        let e = err("[[ca]]\nname = \"root\"\n");
        assert_eq!(e, "5:8: duplicate name `root`");
    }

    #[test]
    fn k8s_service_expands() {
        let spec = parse(
            "t",
            &format!(
                "{HEAD}[[leaf]]\nname = \"c\"\nissuer = \"root\"\nk8s_service = [\"otel.obs\"]\n"
            ),
        )
        .unwrap();
        let dns: Vec<_> = spec.leaves[0].sans.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            dns,
            [
                "DNS:otel",
                "DNS:otel.obs",
                "DNS:otel.obs.svc",
                "DNS:otel.obs.svc.cluster.local"
            ]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_duration("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_duration("-1d").unwrap(), Duration::days(-1));
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }
}
