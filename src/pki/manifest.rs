//! The manifest `certlab.json` (DESIGN.md section 6): the contract between `generate`,
//! `serve`, `probe`, `lab` and tests in other languages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::scenario::Scenario;
use super::{Entity, Fault, KeyAlg, Pki, Role, San};
use crate::outcome::Outcome;

/// The manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// The manifest's file name inside a PKI directory.
pub const MANIFEST_FILE: &str = "certlab.json";

/// The trust bundle's file name inside a PKI directory.
pub const CA_BUNDLE_FILE: &str = "ca.pem";

/// `certlab.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub version: u32,
    /// Every entity, issuers first.
    pub entities: Vec<ManifestEntity>,
    /// Every scenario, explicit and implicit.
    pub scenarios: Vec<Scenario>,
    /// SHA-256 (lowercase hex) of every file of the PKI but the manifest, by relative path:
    /// what a reader checks each file against. Absent in manifests of older versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Files derived from the PKI's files (other formats, rendered configs), rewritten or
    /// removed whenever their sources change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<Derived>,
    /// Whether keys and serials were derived from a seed (the seed itself is never written:
    /// whoever has it has every key). A seeded PKI is for tests only: `trust install` refuses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seeded: bool,
    /// Seeded PKIs: the time they were issued at (`--now`), which `generate --check` needs to
    /// reproduce them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub issued_at: Option<OffsetDateTime>,
    /// Per scenario, per client family of its `expected_by_client`: the words that client
    /// prints (measured, [`crate::clients::cell`]; absent where it accepts). Absent in
    /// manifests of older versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_words: BTreeMap<String, BTreeMap<String, String>>,
}

/// A file derived from entities of the PKI: `export` formats and `configs/*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// Relative path.
    pub path: String,
    /// What it is: `der`, `p12`, `combined`, `key` (another key format) or `config`.
    pub kind: String,
    /// The entities it was made from (`*`: the whole PKI).
    pub source: Vec<String>,
    /// The digest of its sources when it was made ([`Manifest::source_digest`]): a derived
    /// file whose sources now digest differently is stale.
    pub source_sha256: String,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// One entity of the manifest; paths are relative to the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntity {
    /// Entity name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Issuer's name (a root names itself).
    pub issuer: String,
    /// `NAME.pem`.
    pub cert: String,
    /// `NAME.key` (`NAME.pem` for a leaf whose files are
    /// [combined](super::FileLayout::Combined): key, certificate and chain in one file).
    pub key: String,
    /// `NAME.chain.pem` for leaves (`NAME.pem` when combined).
    pub chain: Option<String>,
    /// `NAME.crl.pem` for issuers with revocations.
    pub crl: Option<String>,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// Start of validity, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// SHA-256 of the certificate DER, lowercase hex.
    pub sha256: String,
    /// The fault made on purpose.
    pub fault: Fault,
    /// certlab's strict verdict.
    pub expected: Option<Outcome>,
    /// Per client, what a test ran and saw where it differs.
    #[serde(default)]
    pub expected_by_client: BTreeMap<String, Outcome>,
    /// The key algorithm.
    pub key_algorithm: KeyAlg,
    /// Roots: whether `ca.pem` holds it.
    #[serde(default)]
    pub trusted: bool,
    /// CAs: digest of the spec they were made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_digest: Option<String>,
}

/// The file names of an entity.
pub fn cert_file(name: &str) -> String {
    format!("{name}.pem")
}
/// `NAME.key`.
pub fn key_file(name: &str) -> String {
    format!("{name}.key")
}
/// `NAME.chain.pem`.
pub fn chain_file(name: &str) -> String {
    format!("{name}.chain.pem")
}
/// `NAME.crl.pem`.
pub fn crl_file(name: &str) -> String {
    format!("{name}.crl.pem")
}

/// Files of the whole PKI, not of an entity: the trust bundle in each format, the manifest,
/// the configurations directory.
pub const PKI_FILES: [&str; 5] = ["ca.pem", "ca.der", "ca.p12", "certlab.json", "configs"];

/// Every file an entity named `name` may own: its PEM files and every derived format
/// (`NAME.der`, `NAME.key.der`, `NAME.p12`, `NAME.combined.pem`, keys as `NAME.ec.key`,
/// `NAME.rsa.key`, `NAME.enc.key` and their `.der`). Two entities must not share one.
pub fn files_of(name: &str) -> Vec<String> {
    let mut out = vec![
        cert_file(name),
        chain_file(name),
        crl_file(name),
        format!("{name}.der"),
        format!("{name}.p12"),
        format!("{name}.combined.pem"),
    ];
    for infix in ["", ".enc", ".ec", ".rsa"] {
        out.push(format!("{name}{infix}.key"));
        out.push(format!("{name}{infix}.key.der"));
    }
    out
}

impl ManifestEntity {
    /// The manifest entry of an entity.
    pub fn of(e: &Entity) -> Self {
        ManifestEntity {
            name: e.name.clone(),
            role: e.role,
            issuer: e.issuer.clone(),
            cert: e.cert_path(),
            key: e.key_path(),
            chain: e.chain_path(),
            crl: e.crl.as_ref().map(|_| e.path(crl_file(&e.name))),
            sans: e.sans.clone(),
            not_before: e.not_before,
            not_after: e.not_after,
            sha256: e.sha256(),
            fault: e.fault,
            expected: e.expected,
            expected_by_client: e.expected_by_client.clone(),
            key_algorithm: e.key_alg,
            trusted: e.trusted,
            spec_digest: e.spec_digest.clone(),
        }
    }
}

/// The measured words of every client verdict of `scenarios`: a served entity's implicit
/// scenario speaks with the words of its fault's lab scenario, an explicit one with its own
/// name's; only where the recorded verdict is the measured one.
fn client_words(pki: &Pki, scenarios: &[Scenario]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in scenarios {
        let lab_name = match pki.entity(&s.name) {
            Some(e) if s.server.entity.as_deref() == Some(e.name.as_str()) => {
                super::scenario::lab_scenario_of(e.role, e.fault)
            }
            _ => Some(s.name.as_str()),
        };
        let Some(lab_name) = lab_name else { continue };
        let words: BTreeMap<String, String> = s
            .expected_by_client
            .iter()
            .filter_map(|(client, outcome)| {
                let cell = crate::clients::cell(client.parse().ok()?, lab_name)?;
                (cell.outcome == *outcome && !cell.words.is_empty())
                    .then(|| (client.clone(), cell.words.to_string()))
            })
            .collect();
        if !words.is_empty() {
            out.insert(s.name.clone(), words);
        }
    }
    out
}

impl Manifest {
    /// The manifest of a PKI (with its implicit scenarios spelled out).
    pub fn of(pki: &Pki) -> Self {
        let scenarios = pki.all_scenarios();
        Manifest {
            version: MANIFEST_VERSION,
            entities: pki.entities.iter().map(ManifestEntity::of).collect(),
            client_words: client_words(pki, &scenarios),
            scenarios,
            files: BTreeMap::new(),
            derived: Vec::new(),
            seeded: pki.seeded_at.is_some(),
            issued_at: pki.seeded_at,
        }
    }

    /// Every file the manifest names, but itself: the entities' files, `ca.pem`, the derived
    /// files (and any file of [`Manifest::files`]).
    pub fn named_files(&self) -> std::collections::BTreeSet<String> {
        let mut all: std::collections::BTreeSet<String> = self.files.keys().cloned().collect();
        for e in &self.entities {
            all.insert(e.cert.clone());
            all.insert(e.key.clone());
            all.extend(e.chain.iter().cloned());
            all.extend(e.crl.iter().cloned());
        }
        if !self.entities.is_empty() {
            all.insert(CA_BUNDLE_FILE.to_string());
        }
        all.extend(self.derived.iter().map(|d| d.path.clone()));
        all
    }

    /// The digest of some entities (`*`: all) as this manifest records them: SHA-256 over
    /// their names and certificate hashes. Unknown names count as absent.
    pub fn source_digest(&self, source: &[String]) -> String {
        let all = source.iter().any(|s| s == "*");
        let source: std::collections::HashSet<&str> = source.iter().map(String::as_str).collect();
        let text: String = self
            .entities
            .iter()
            .filter(|e| all || source.contains(e.name.as_str()))
            .map(|e| format!("{}={}\n", e.name, e.sha256))
            .collect();
        super::sha256_hex(text.as_bytes())
    }
}

#[derive(Deserialize)]
struct Seeding {
    #[serde(default)]
    seeded: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    issued_at: Option<OffsetDateTime>,
}

/// The seeding fields of `dir`'s manifest, read on their own (the other files may be missing).
fn seeding(dir: &std::path::Path) -> Option<Seeding> {
    let bytes = std::fs::read(dir.join(MANIFEST_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether the PKI directory `dir` holds a manifest that says it is seeded (`false` when there
/// is no readable manifest).
pub fn is_seeded_dir(dir: &std::path::Path) -> bool {
    seeding(dir).is_some_and(|m| m.seeded)
}

/// The time a seeded PKI in `dir` was issued at, from its manifest alone (`None` when the
/// manifest is missing, unreadable or not seeded).
pub fn seeded_issued_at(dir: &std::path::Path) -> Option<OffsetDateTime> {
    seeding(dir).filter(|m| m.seeded).and_then(|m| m.issued_at)
}
