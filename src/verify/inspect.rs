//! Certificate and key summaries (x509-parser), and chain lints.
//!
//! [`CertSummary`] is what `inspect` prints and what the `chain` entries of `check` and
//! `probe` reports hold. [`inspect_bytes`] reads PEM or DER files holding certificates and
//! private keys (PKCS#8, SEC1, PKCS#1) and says which key matches which certificate.
//! [`lint_chain`] gives the chain warnings: expiring soon, no SAN, CN-only, weak RSA,
//! server validity over 398 days, missing SKI/AKI, chain order, root included.
//! [`client_rule_hits`] finds the client-aligned rules ([`Rule`]) a chain, the trust anchors
//! that issued it and the leaf's CRL break: what some client families reject and rustls does
//! not (`check` and `probe` say which families, from `certlab::clients::rules`).
//!
//! ```
//! use certlab::verify::inspect::summarize;
//!
//! let now = time::macros::datetime!(2030-01-01 00:00 UTC);
//! let spec = certlab::pki::spec::parse("<spec>", r#"
//!     [[ca]]
//!     name = "root"
//!     [[leaf]]
//!     name = "web"
//!     issuer = "root"
//!     dns = ["localhost"]
//!     ip = ["127.0.0.1"]
//! "#).unwrap();
//! let pki = certlab::pki::store::build(&spec, now).unwrap();
//! let s = summarize(&pki.entity("web").unwrap().cert, now).unwrap();
//! assert_eq!(s.sans, ["DNS:localhost", "IP:127.0.0.1"]);
//! assert_eq!(s.key_algorithm, "ecdsa-p256");
//! assert_eq!(s.extended_key_usage, ["serverAuth"]);
//! ```

use std::fmt;
use std::path::Path;

use pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::clients::rules::Rule;
use crate::pem::FileError;
use crate::pki::{KeyAlg, sha256_hex};
use crate::verify::classify::VerifiedSignatures;
use crate::x509::{Cert, Ext, hex_colon, parse_chain};

/// Why a file could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file could not be read, or is not a certificate or key in PEM or DER.
    #[error(transparent)]
    File(#[from] FileError),
}

/// A certificate's summary: what `inspect` shows and what reports list as their chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    /// The subject, e.g. `CN=localhost, O=certlab`.
    pub subject: String,
    /// The issuer's name.
    pub issuer: String,
    /// The serial number, colon-separated hex.
    pub serial: String,
    /// Subject alternative names: `DNS:x`, `IP:y`, `URI:z`, `email:w`.
    pub sans: Vec<String>,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days from `now` to notAfter (negative: expired that many days ago).
    pub days_left: i64,
    /// The key algorithm as certlab names it (`ecdsa-p256`, `rsa-2048`, `ed25519`, ...).
    pub key_algorithm: String,
    /// The key size in bits.
    pub key_bits: usize,
    /// Key usage bits (RFC 5280 names: `digitalSignature`, `keyCertSign`, ...).
    pub key_usage: Vec<String>,
    /// Extended key usages (`serverAuth`, `clientAuth`, ..., or an OID).
    pub extended_key_usage: Vec<String>,
    /// basicConstraints CA flag (`None`: no basicConstraints extension).
    pub ca: Option<bool>,
    /// basicConstraints pathLen.
    pub path_len: Option<u32>,
    /// Name constraints: permitted subtrees.
    pub permitted_subtrees: Vec<String>,
    /// Name constraints: excluded subtrees.
    pub excluded_subtrees: Vec<String>,
    /// Subject key identifier, colon-separated hex.
    pub ski: Option<String>,
    /// Authority key identifier, colon-separated hex.
    pub aki: Option<String>,
    /// Whether subject and issuer are the same name.
    pub self_issued: bool,
    /// Critical extensions certlab does not know (OIDs).
    pub unknown_critical_extensions: Vec<String>,
    /// SHA-256 of the DER, lowercase hex without colons.
    pub sha256: String,
    /// The raw public key (not serialised; for matching keys).
    #[serde(skip)]
    pub public_key: Vec<u8>,
}

impl CertSummary {
    /// Whether this is a CA certificate (basicConstraints CA:true).
    pub fn is_ca(&self) -> bool {
        self.ca == Some(true)
    }

    /// The CN (`CN=x`) or the whole subject.
    pub fn short_name(&self) -> String {
        short(&self.subject)
    }
}

fn short(subject: &str) -> String {
    subject
        .split(", ")
        .find(|p| p.starts_with("CN="))
        .map(str::to_string)
        .unwrap_or_else(|| subject.to_string())
}

/// Summarises one DER certificate; `now` gives `days_left`.
pub fn summarize(der: &[u8], now: OffsetDateTime) -> Result<CertSummary, String> {
    let cert = Cert::parse(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    Ok(summary_of(&cert, der, now))
}

/// The summary of a parsed certificate (`der` is what it was parsed from).
pub(crate) fn summary_of(cert: &Cert<'_>, der: &[u8], now: OffsetDateTime) -> CertSummary {
    let (key_algorithm, key_bits) = cert.key_algorithm();
    let (ca, path_len) = match cert.basic_constraints() {
        Some((ca, path_len)) => (Some(ca), path_len),
        None => (None, None),
    };
    let (permitted, excluded) = cert.name_constraints().unwrap_or_default();
    let not_before = cert.not_before();
    let not_after = cert.not_after();
    CertSummary {
        subject: cert.subject(),
        issuer: cert.issuer(),
        serial: cert.serial_hex(),
        sans: cert.sans(),
        not_before,
        not_after,
        days_left: (not_after - now).whole_days(),
        key_algorithm,
        key_bits,
        key_usage: cert.key_usage(),
        extended_key_usage: cert.extended_key_usage().unwrap_or_default(),
        ca,
        path_len,
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
        ski: cert.ski().map(hex_colon),
        aki: cert.aki().map(hex_colon),
        self_issued: cert.self_issued(),
        unknown_critical_extensions: cert.unknown_critical_extensions(),
        sha256: sha256_hex(der),
        public_key: cert.public_key().to_vec(),
    }
}

/// The summaries of a chain; certificates that do not parse get a placeholder summary with
/// only the fingerprint (a report must still show what was sent).
pub fn summarize_chain(chain: &[CertificateDer<'_>], now: OffsetDateTime) -> Vec<CertSummary> {
    summarize_parsed(chain, &parse_chain(chain), now)
}

/// [`summarize_chain`] for certificates the caller has parsed already (`certs[i]` is
/// `chain[i]`).
pub(crate) fn summarize_parsed(
    chain: &[CertificateDer<'_>],
    certs: &[Result<Cert<'_>, String>],
    now: OffsetDateTime,
) -> Vec<CertSummary> {
    chain
        .iter()
        .zip(certs)
        .map(|(der, cert)| match cert {
            Ok(cert) => summary_of(cert, der, now),
            Err(e) => unparsable(der, &format!("not an X.509 certificate: {e}")),
        })
        .collect()
}

/// The placeholder summary of a certificate that does not parse: the error and the fingerprint.
fn unparsable(der: &[u8], error: &str) -> CertSummary {
    CertSummary {
        subject: format!("<unparsable: {error}>"),
        issuer: String::new(),
        serial: String::new(),
        sans: vec![],
        not_before: OffsetDateTime::UNIX_EPOCH,
        not_after: OffsetDateTime::UNIX_EPOCH,
        days_left: 0,
        key_algorithm: String::new(),
        key_bits: 0,
        key_usage: vec![],
        extended_key_usage: vec![],
        ca: None,
        path_len: None,
        permitted_subtrees: vec![],
        excluded_subtrees: vec![],
        ski: None,
        aki: None,
        self_issued: false,
        unknown_critical_extensions: vec![],
        sha256: sha256_hex(der),
        public_key: vec![],
    }
}

/// A private key's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// `PKCS#8`, `SEC1` or `PKCS#1`.
    pub format: String,
    /// The key algorithm as certlab names it.
    pub key_algorithm: String,
    /// The certificates of the same invocation whose public key is this key's
    /// (`FILE #N (CN=...)`).
    pub matches: Vec<String>,
    /// The raw public key (not serialised).
    #[serde(skip)]
    pub public_key: Vec<u8>,
}

/// Reads a private key (PKCS#8, SEC1 or PKCS#1 DER).
pub fn summarize_key(key: &PrivateKeyDer<'_>) -> Result<KeySummary, String> {
    let format = match key {
        PrivateKeyDer::Pkcs8(_) => "PKCS#8",
        PrivateKeyDer::Sec1(_) => "SEC1",
        PrivateKeyDer::Pkcs1(_) => "PKCS#1",
        _ => "unknown",
    };
    let kp = match rcgen::KeyPair::try_from(key) {
        Ok(kp) => kp,
        Err(e) => {
            // A valid key of a kind certlab cannot use (RSA-PSS, secp256k1, RSA-1024 ...) is
            // described as such, not called unreadable.
            return match crate::pki::keys::KeyKind::of_private_key(key)
                .filter(|k| k.unsupported().is_some())
            {
                Some(kind) => Ok(KeySummary {
                    format: format.to_string(),
                    key_algorithm: format!("{kind} (unsupported: certlab cannot sign with it)"),
                    matches: vec![],
                    public_key: vec![],
                }),
                None => Err(format!(
                    "not a private key certlab can read ({format}): {e}"
                )),
            };
        }
    };
    let key_algorithm = KeyAlg::of(&kp)
        .map(|a| a.name().to_string())
        .unwrap_or_else(|| format!("{:?}", kp.algorithm()));
    Ok(KeySummary {
        format: format.to_string(),
        key_algorithm,
        matches: vec![],
        public_key: kp.public_key_raw().to_vec(),
    })
}

/// One file's contents.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// Every certificate, in file order.
    pub certificates: Vec<CertSummary>,
    /// Every private key, in file order.
    pub keys: Vec<KeySummary>,
    /// Number of CRLs in the file (not summarised further).
    pub crls: usize,
}

/// What `inspect` found in all its files, keys matched against certificates.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The report format version.
    pub version: u32,
    /// One entry per file.
    pub files: Vec<FileReport>,
}

/// Reads the certificates and keys of one file's bytes (PEM with any number of blocks, or a
/// single DER certificate or PKCS#8/SEC1/PKCS#1 key).
pub fn inspect_bytes(
    path: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<FileReport, InspectError> {
    let bad = |message: String| InspectError::from(FileError::malformed(Path::new(path), message));
    let mut report = FileReport {
        path: path.to_string(),
        certificates: vec![],
        keys: vec![],
        crls: 0,
    };
    if crate::pem::is_pem(bytes) {
        let blocks = pem::parse_many(bytes).map_err(|e| bad(format!("not valid PEM: {e}")))?;
        for (i, block) in blocks.iter().enumerate() {
            let n = i + 1;
            let contents = block.contents().to_vec();
            match block.tag() {
                "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => report
                    .certificates
                    .push(summarize(&contents, now).map_err(|e| bad(format!("block {n}: {e}")))?),
                "PRIVATE KEY" => report.keys.push(
                    summarize_key(&PrivateKeyDer::Pkcs8(contents.into()))
                        .map_err(|e| bad(format!("block {n}: {e}")))?,
                ),
                "EC PRIVATE KEY" => report.keys.push(
                    summarize_key(&PrivateKeyDer::Sec1(contents.into()))
                        .map_err(|e| bad(format!("block {n}: {e}")))?,
                ),
                "RSA PRIVATE KEY" => report.keys.push(
                    summarize_key(&PrivateKeyDer::Pkcs1(contents.into()))
                        .map_err(|e| bad(format!("block {n}: {e}")))?,
                ),
                "X509 CRL" => report.crls += 1,
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(bad(format!(
                        "block {n}: an encrypted private key; decrypt it first (openssl pkey -in FILE)"
                    )));
                }
                _ => {}
            }
        }
        if report.certificates.is_empty() && report.keys.is_empty() && report.crls == 0 {
            return Err(bad("no certificate, private key or CRL in the file".into()));
        }
        return Ok(report);
    }
    if bytes.is_empty() {
        return Err(bad("the file is empty".into()));
    }
    if let Ok(summary) = summarize(bytes, now) {
        report.certificates.push(summary);
        return Ok(report);
    }
    if let Ok(key) = PrivateKeyDer::try_from(bytes.to_vec())
        && let Ok(summary) = summarize_key(&key)
    {
        report.keys.push(summary);
        return Ok(report);
    }
    Err(bad(
        "neither PEM nor a DER certificate or private key".into()
    ))
}

/// Reads every file and matches each key against every certificate of the invocation.
pub fn inspect_files(paths: &[String], now: OffsetDateTime) -> Result<Inspection, InspectError> {
    let mut files = Vec::new();
    for path in paths {
        let bytes = crate::pem::read(Path::new(path))?;
        files.push(inspect_bytes(path, &bytes, now)?);
    }
    let certs: Vec<(String, Vec<u8>)> = files
        .iter()
        .flat_map(|f| {
            f.certificates.iter().enumerate().map(move |(i, c)| {
                (
                    format!("{} #{} ({})", f.path, i + 1, c.short_name()),
                    c.public_key.clone(),
                )
            })
        })
        .collect();
    for f in &mut files {
        for k in &mut f.keys {
            k.matches = certs
                .iter()
                .filter(|(_, pk)| !pk.is_empty() && *pk == k.public_key)
                .map(|(label, _)| label.clone())
                .collect();
        }
    }
    Ok(Inspection { version: 1, files })
}

/// What a [`Lint`] is about: one stable kebab-case code per kind of warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LintCode {
    /// `expires-soon`: A certificate expires within the warning window.
    ExpiresSoon,
    /// `weak-rsa`: An RSA key under 2048 bits.
    WeakRsa,
    /// `missing-ski`: No subject key identifier.
    MissingSki,
    /// `missing-aki`: No authority key identifier (on a certificate that is not self-issued).
    MissingAki,
    /// `root-included`: A self-issued CA certificate is sent in the chain after the leaf.
    RootIncluded,
    /// `chain-order`: A certificate does not issue the one before it.
    ChainOrder,
    /// `cn-only`: A server leaf names its host only in the subject CN, with no SAN.
    CnOnly,
    /// `no-san`: A server leaf has no subjectAltName extension.
    NoSan,
    /// `long-validity`: A server leaf is valid for longer than the 398 days browsers accept.
    LongValidity,
}

impl LintCode {
    /// The stable kebab-case code.
    pub fn name(self) -> &'static str {
        match self {
            LintCode::ExpiresSoon => "expires-soon",
            LintCode::WeakRsa => "weak-rsa",
            LintCode::MissingSki => "missing-ski",
            LintCode::MissingAki => "missing-aki",
            LintCode::RootIncluded => "root-included",
            LintCode::ChainOrder => "chain-order",
            LintCode::CnOnly => "cn-only",
            LintCode::NoSan => "no-san",
            LintCode::LongValidity => "long-validity",
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chain lint: a warning about a certificate that does not make verification fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// What it is about.
    pub code: LintCode,
    /// Position in the chain (0: the first certificate presented).
    pub index: usize,
    /// One line for people.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// CA/Browser Forum limit on a server certificate's validity (days).
pub const MAX_SERVER_VALIDITY_DAYS: i64 = 398;

/// The lints of a chain as presented (`[0]` should be the leaf). `warn_days`: warn about
/// certificates that expire within that many days (already expired ones are the outcome's
/// business, not a lint). `server`: the leaf is a server certificate (SAN lints, 398-day
/// rule).
pub fn lint_chain(
    chain: &[CertSummary],
    now: OffsetDateTime,
    warn_days: i64,
    server: bool,
) -> Vec<Lint> {
    lint_chain_within(chain, now, Duration::days(warn_days), server)
}

/// A warning window as text: `N days` when it is whole days, else seconds (`90 s`).
pub fn window_text(d: Duration) -> String {
    if d.whole_seconds() % 86_400 == 0 {
        format!("{} days", d.whole_days())
    } else {
        format!("{} s", d.whole_seconds())
    }
}

/// [`lint_chain`] with a warning window of any length (`check --warn 90s`): certificates
/// that expire within `warn` get an `expires-soon` lint.
pub fn lint_chain_within(
    chain: &[CertSummary],
    now: OffsetDateTime,
    warn: Duration,
    server: bool,
) -> Vec<Lint> {
    let mut lints = Vec::new();
    let mut push = |code, index, message: String| {
        lints.push(Lint {
            code,
            index,
            message,
        })
    };
    for (i, c) in chain.iter().enumerate() {
        let name = c.short_name();
        if c.not_after > now && c.not_after - now < warn {
            let left = c.not_after - now;
            let message = if warn.whole_seconds() % 86_400 == 0 {
                format!(
                    "{name} expires in {} days (within {})",
                    left.whole_days(),
                    warn.whole_days()
                )
            } else {
                format!(
                    "{name} expires in {} s (within {})",
                    left.whole_seconds(),
                    window_text(warn)
                )
            };
            push(LintCode::ExpiresSoon, i, message);
        }
        if c.key_algorithm.starts_with("rsa") && c.key_bits > 0 && c.key_bits < 2048 {
            push(
                LintCode::WeakRsa,
                i,
                format!("{name} has a {}-bit RSA key (under 2048)", c.key_bits),
            );
        }
        if c.ski.is_none() && !c.key_algorithm.is_empty() {
            push(
                LintCode::MissingSki,
                i,
                format!("{name} has no subject key identifier"),
            );
        }
        if c.aki.is_none() && !c.self_issued && !c.key_algorithm.is_empty() {
            push(
                LintCode::MissingAki,
                i,
                format!("{name} has no authority key identifier"),
            );
        }
        if i > 0 && c.self_issued && c.is_ca() {
            push(
                LintCode::RootIncluded,
                i,
                format!("the root {name} is sent in the chain; clients ignore it, leave it out"),
            );
        }
        if i > 0 && chain[i - 1].issuer != c.subject && !chain[i - 1].self_issued {
            push(
                LintCode::ChainOrder,
                i,
                format!(
                    "{name} does not issue the certificate before it ({}); send leaf, then its issuer, and so on",
                    chain[i - 1].short_name()
                ),
            );
        }
    }
    if let Some(leaf) = chain.first().filter(|c| !c.is_ca()) {
        let name = leaf.short_name();
        if server && leaf.sans.is_empty() {
            let cn = leaf.subject.split(", ").find_map(|p| p.strip_prefix("CN="));
            match cn {
                Some(cn) if looks_like_host(cn) => push(
                    LintCode::CnOnly,
                    0,
                    format!("{name}: the host `{cn}` is only in the CN; modern clients need a SAN"),
                ),
                _ => push(
                    LintCode::NoSan,
                    0,
                    format!("{name} has no subjectAltName extension"),
                ),
            }
        }
        let validity = leaf.not_after - leaf.not_before;
        if server && validity > Duration::days(MAX_SERVER_VALIDITY_DAYS) {
            push(
                LintCode::LongValidity,
                0,
                format!(
                    "{name} is valid for {} days; clients such as Safari and Chrome refuse server certificates valid for over {MAX_SERVER_VALIDITY_DAYS}",
                    validity.whole_days()
                ),
            );
        }
    }
    lints
}

/// A client-aligned rule ([`Rule`]) that a certificate of the chain, a trust anchor that
/// issued it, or the leaf's CRL breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule.
    pub rule: Rule,
    /// Position in the chain as presented (`None`: a trust anchor or a CRL).
    pub index: Option<usize>,
    /// Which certificate or CRL: "the leaf CN=x", "intermediate CN=y", "the trusted root CN=z",
    /// "the CRL of CN=z".
    pub certificate: String,
    /// One line for people: what is wrong, in the clients' words.
    pub message: String,
}

impl fmt::Display for RuleHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.rule,
            self.certificate,
            self.rule.words()
        )
    }
}

/// Where a certificate sits, for the rules that depend on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Leaf,
    Intermediate,
    /// A self-issued CA sent in the chain.
    SentRoot,
    /// A trust anchor (from `--ca` / `--pki`) that issued a certificate of the chain.
    Anchor,
}

/// The client-aligned rules the chain (as presented, leaf first), the trust anchors among
/// `roots` that issued one of its certificates, and the CRLs of the leaf's issuer break.
/// `roots` are the explicit trust (`--ca`, `--pki`): never pass the system's roots.
pub fn client_rule_hits(
    chain: &[CertificateDer<'_>],
    roots: &[CertificateDer<'_>],
    crls: &[pki_types::CertificateRevocationListDer<'_>],
) -> Vec<RuleHit> {
    client_rule_hits_verified(chain, roots, crls, &VerifiedSignatures::default())
}

/// [`client_rule_hits`], taking as verified the signatures the classifier's path validation
/// checked already (`verified`): a signature found there is not checked a second time, any
/// other is checked here. Entries are exact DER pairs from a path webpki accepted, so a
/// certificate with a bad signature is never taken as signed.
pub(crate) fn client_rule_hits_verified(
    chain: &[CertificateDer<'_>],
    roots: &[CertificateDer<'_>],
    crls: &[pki_types::CertificateRevocationListDer<'_>],
    verified: &VerifiedSignatures,
) -> Vec<RuleHit> {
    let parsed = parse_chain(chain);
    let root_certs = parse_chain(roots);
    let presented: Vec<(Place, Option<usize>, &Cert<'_>)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().ok().map(|c| (i, c)))
        .map(|(i, c)| {
            let place = if i == 0 {
                Place::Leaf
            } else if c.self_issued() {
                Place::SentRoot
            } else {
                Place::Intermediate
            };
            (place, Some(i), c)
        })
        .collect();
    let mut all = presented.clone();
    for (root_der, r) in roots
        .iter()
        .zip(&root_certs)
        .filter_map(|(d, r)| r.as_ref().ok().map(|r| (d, r)))
    {
        let issued_one = presented.iter().any(|(_, i, c)| {
            c.issuer_raw() == r.subject_raw()
                && c.spki() != r.spki()
                && (i.is_some_and(|i| verified.contains(&chain[i], root_der)) || c.signed_by(r))
        });
        let sent = presented
            .iter()
            .any(|(_, _, c)| c.subject_raw() == r.subject_raw() && c.spki() == r.spki());
        if issued_one && !sent {
            all.push((Place::Anchor, None, r));
        }
    }
    let mut hits = Vec::new();
    for &(place, index, c) in &all {
        let role = match place {
            Place::Leaf => "the leaf",
            Place::Intermediate => "intermediate",
            Place::SentRoot => "the root (sent in the chain)",
            Place::Anchor => "the trusted root",
        };
        let certificate = if c.subject_is_empty() {
            format!("{role} with an empty subject")
        } else {
            format!("{role} {}", c.display_name())
        };
        let mut hit = |rule: Rule, message: String| {
            hits.push(RuleHit {
                rule,
                index,
                certificate: certificate.clone(),
                message,
            })
        };
        let name = c.display_name();
        let is_ca = c.is_ca();
        let v3 = c.version() >= 2;
        let ku = c.key_usage();
        let has_ku = c.critical(Ext::KeyUsage).is_some();
        let root = matches!(place, Place::SentRoot | Place::Anchor);
        if is_ca && c.critical(Ext::BasicConstraints) == Some(false) {
            hit(
                Rule::CaBasicConstraintsNotCritical,
                format!("{name} is a CA whose basicConstraints is not marked critical"),
            );
        }
        // Whether it is self-signed matters only here: checked last (a signature check).
        if v3 && place != Place::Anchor && c.aki().is_none() && !(c.self_issued() && c.signed_by(c))
        {
            hit(
                Rule::MissingAki,
                format!("{name} has no authority key identifier (key id)"),
            );
        }
        if v3 && is_ca && c.ski().is_none() {
            hit(
                Rule::MissingSki,
                format!("{name} is a CA without a subject key identifier"),
            );
        }
        if is_ca && has_ku && !ku.iter().any(|u| u == "keyCertSign") {
            let rule = if root {
                Rule::RootInconsistentCaExtensions
            } else {
                Rule::CaKeyUsageWithoutKeyCertSign
            };
            hit(
                rule,
                format!(
                    "{name} is a CA whose keyUsage ({}) does not include keyCertSign",
                    if ku.is_empty() {
                        "empty".to_string()
                    } else {
                        ku.join(", ")
                    }
                ),
            );
        }
        if c.critical(Ext::AuthorityKeyIdentifier) == Some(true) {
            hit(
                Rule::CriticalAki,
                format!("{name} marks its authority key identifier critical"),
            );
        }
        if c.critical(Ext::SubjectKeyIdentifier) == Some(true) {
            hit(
                Rule::CriticalSki,
                format!("{name} marks its subject key identifier critical"),
            );
        }
        if place == Place::Leaf && !is_ca && ku.iter().any(|u| u == "keyCertSign") {
            hit(
                Rule::LeafKeyCertSign,
                format!("{name} is not a CA but its keyUsage asserts keyCertSign"),
            );
        }
        if is_ca && c.subject_is_empty() {
            hit(
                Rule::CaEmptySubject,
                "a CA certificate has an empty subject".to_string(),
            );
        }
        if c.subject_is_empty() && c.critical(Ext::SubjectAltName) == Some(false) {
            hit(
                Rule::EmptySubjectSanNotCritical,
                "a certificate with an empty subject has a subjectAltName not marked critical"
                    .to_string(),
            );
        }
        if root && c.basic_constraints().is_none() {
            hit(
                Rule::RootMissingBasicConstraints,
                format!("the root {name} has no basicConstraints extension"),
            );
        }
        if place == Place::Anchor && !c.self_issued() {
            hit(
                Rule::AnchorNotSelfIssued,
                format!(
                    "the trusted {name} is not self-issued (issuer {}); a client without partial-chain verification looks for its issuer",
                    c.issuer_display_name()
                ),
            );
        }
    }
    // The CRLs that speak for the leaf: issued under the leaf's issuer name.
    if let Some((_, _, leaf)) = presented.first().filter(|(p, _, _)| *p == Place::Leaf) {
        for crl in crls.iter().filter_map(|c| crate::x509::crl_facts(c)) {
            if crl.issuer_raw != leaf.issuer_raw() {
                continue;
            }
            let issuer = all
                .iter()
                .map(|(_, _, c)| *c)
                .find(|c| c.subject_raw() == crl.issuer_raw.as_slice());
            let issuer_name = issuer
                .map(|c| c.display_name())
                .unwrap_or_else(|| leaf.issuer_display_name());
            let certificate = format!("the CRL of {issuer_name}");
            if let Some(c) = issuer
                && c.critical(Ext::KeyUsage).is_some()
                && !c.key_usage().iter().any(|u| u == "cRLSign")
            {
                hits.push(RuleHit {
                    rule: Rule::CrlIssuerWithoutCrlSign,
                    index: None,
                    certificate: certificate.clone(),
                    message: format!(
                        "the CRL is signed by {issuer_name}, whose keyUsage does not include cRLSign"
                    ),
                });
            }
            if crl.crl_number_critical {
                hits.push(RuleHit {
                    rule: Rule::CrlNumberCritical,
                    index: None,
                    certificate,
                    message: format!(
                        "the CRL of {issuer_name} marks its CRL number extension critical"
                    ),
                });
            }
        }
    }
    hits
}

fn looks_like_host(cn: &str) -> bool {
    cn.parse::<std::net::IpAddr>().is_ok()
        || (!cn.is_empty()
            && !cn.contains(' ')
            && cn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{spec, store};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2030-06-01 12:00 UTC);

    fn lab() -> crate::pki::Pki {
        let t = spec::template("lab").unwrap();
        store::build(&spec::parse("<lab>", t.text).unwrap(), NOW).unwrap()
    }

    #[test]
    fn lab_leaf_summary() {
        let pki = lab();
        let good = pki.entity("good").unwrap();
        let s = summarize(&good.cert, NOW).unwrap();
        assert_eq!(s.sans, ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]);
        assert_eq!(s.sha256, good.sha256());
        assert_eq!(s.not_after, good.not_after);
        assert_eq!(s.ca, Some(false));
        assert!(s.ski.is_some() && s.aki.is_some());
        let int = summarize(&pki.entity("intermediate").unwrap().cert, NOW).unwrap();
        assert_eq!(int.path_len, Some(0));
        assert_eq!(int.ca, Some(true));
        assert_eq!(int.ski, s.aki);
        assert!(int.key_usage.contains(&"keyCertSign".to_string()));
        let nc = summarize(&pki.entity("name-constraints-ca").unwrap().cert, NOW).unwrap();
        assert_eq!(nc.permitted_subtrees, ["DNS:elsewhere.certlab.invalid"]);
        let ext = summarize(&pki.entity("unknown-critical-extension").unwrap().cert, NOW).unwrap();
        assert_eq!(ext.unknown_critical_extensions, ["1.3.6.1.4.1.32473.1.1"]);
    }

    #[test]
    fn lints_of_lab_chains() {
        let pki = lab();
        let lints = |name: &str| {
            let e = pki.entity(name).unwrap();
            lint_chain(&summarize_chain(&e.chain, NOW), NOW, 30, true)
                .into_iter()
                .map(|l| l.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(lints("good"), Vec::<LintCode>::new());
        assert_eq!(lints("cn-only"), [LintCode::CnOnly]);
        assert_eq!(lints("reversed-chain"), [LintCode::ChainOrder]);
        let soon = lint_chain(
            &summarize_chain(&pki.entity("good").unwrap().chain, NOW),
            NOW + Duration::days(380),
            30,
            true,
        );
        assert_eq!(soon.len(), 1, "{soon:?}");
        assert_eq!(soon[0].code, LintCode::ExpiresSoon);
    }

    #[test]
    fn every_lint_fires_on_its_own_defect() {
        let pki = lab();
        let good = pki.entity("good").unwrap();
        let root = pki.entity("root").unwrap();
        let chain = || summarize_chain(&good.chain, NOW);
        let codes = |c: &[CertSummary], server| {
            lint_chain(c, NOW, 30, server)
                .into_iter()
                .map(|l| (l.code, l.index))
                .collect::<Vec<_>>()
        };
        let mut with_root = chain();
        with_root.push(summarize(&root.cert, NOW).unwrap());
        assert_eq!(codes(&with_root, true), [(LintCode::RootIncluded, 2)]);
        let mut long = chain();
        long[0].not_after = long[0].not_before + Duration::days(399);
        assert_eq!(codes(&long, true), [(LintCode::LongValidity, 0)]);
        assert_eq!(codes(&long, false), []);
        let mut weak = chain();
        weak[1].key_algorithm = "rsa-1024".into();
        weak[1].key_bits = 1024;
        assert_eq!(codes(&weak, true), [(LintCode::WeakRsa, 1)]);
        let mut no_ids = chain();
        no_ids[0].ski = None;
        no_ids[1].aki = None;
        assert_eq!(
            codes(&no_ids, true),
            [(LintCode::MissingSki, 0), (LintCode::MissingAki, 1)]
        );
        let mut no_san = chain();
        no_san[0].sans.clear();
        no_san[0].subject = "O=certlab, CN=certlab web server".into();
        assert_eq!(codes(&no_san, true), [(LintCode::NoSan, 0)]);
        assert_eq!(codes(&no_san, false), []);
    }

    /// A root, an intermediate and a leaf made with rcgen; `int_ext` / `leaf_ext` tweak the
    /// intermediate's and the leaf's parameters. Returns (chain DER, root DER).
    fn rcgen_chain(
        int_ext: impl FnOnce(&mut rcgen::CertificateParams),
        leaf_ext: impl FnOnce(&mut rcgen::CertificateParams),
    ) -> (Vec<CertificateDer<'static>>, CertificateDer<'static>) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
        let ca = |cn: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            p.use_authority_key_identifier_extension = true;
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root = rcgen::CertifiedIssuer::self_signed(ca("rules root"), root_key).unwrap();
        let mut int_params = ca("rules intermediate");
        int_ext(&mut int_params);
        let int =
            rcgen::CertifiedIssuer::signed_by(int_params, KeyPair::generate().unwrap(), &root)
                .unwrap();
        let mut leaf = CertificateParams::new(vec!["rules.test".to_string()]).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "rules.test");
        leaf.use_authority_key_identifier_extension = true;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_ext(&mut leaf);
        let leaf = leaf.signed_by(&KeyPair::generate().unwrap(), &int).unwrap();
        (
            vec![leaf.der().clone(), int.der().clone()],
            root.der().clone(),
        )
    }

    fn rules_of(chain: &[CertificateDer<'static>], root: &CertificateDer<'static>) -> Vec<Rule> {
        client_rule_hits(chain, std::slice::from_ref(root), &[])
            .into_iter()
            .map(|h| h.rule)
            .collect()
    }

    #[test]
    fn client_rules_fire_on_their_defect_only() {
        let (chain, root) = rcgen_chain(|_| {}, |_| {});
        assert_eq!(rules_of(&chain, &root), [], "a sound chain breaks no rule");

        // An intermediate whose basicConstraints is not critical (written by hand: rcgen
        // always marks its own critical).
        let (chain, root) = rcgen_chain(
            |p| {
                p.is_ca = rcgen::IsCa::NoCa;
                let mut bc = rcgen::CustomExtension::from_oid_content(
                    &[2, 5, 29, 19],
                    vec![0x30, 0x03, 0x01, 0x01, 0xff],
                );
                bc.set_criticality(false);
                p.custom_extensions.push(bc);
            },
            |_| {},
        );
        // (rcgen, taking it for no CA, writes no SKI either.)
        let hits = client_rule_hits(&chain, std::slice::from_ref(&root), &[]);
        assert_eq!(
            hits.iter().map(|h| h.rule).collect::<Vec<_>>(),
            [Rule::CaBasicConstraintsNotCritical, Rule::MissingSki]
        );
        assert_eq!(hits[0].index, Some(1));
        assert_eq!(hits[0].certificate, "intermediate CN=rules intermediate");

        // keyCertSign on the leaf; a leaf without AKI.
        let (chain, root) = rcgen_chain(
            |_| {},
            |p| p.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign),
        );
        assert_eq!(rules_of(&chain, &root), [Rule::LeafKeyCertSign]);
        let (chain, root) =
            rcgen_chain(|_| {}, |p| p.use_authority_key_identifier_extension = false);
        assert_eq!(rules_of(&chain, &root), [Rule::MissingAki]);

        // An intermediate CA without keyCertSign; the same defect on a root is its own rule.
        let (chain, root) = rcgen_chain(
            |p| p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature],
            |_| {},
        );
        assert_eq!(
            rules_of(&chain, &root),
            [Rule::CaKeyUsageWithoutKeyCertSign]
        );

        // The intermediate given as the trust anchor: not self-issued.
        let (chain, _) = rcgen_chain(|_| {}, |_| {});
        assert_eq!(
            rules_of(&chain[..1], &chain[1]),
            [Rule::AnchorNotSelfIssued]
        );
        // Trust that did not issue the chain is not looked at.
        let (other, other_root) = rcgen_chain(|_| {}, |_| {});
        let _ = other;
        assert_eq!(rules_of(&chain[..1], &other_root), []);
    }

    /// The certificate with the last byte of its signature value flipped: it still parses,
    /// and its signature no longer verifies.
    fn with_bad_signature(der: &CertificateDer<'static>) -> CertificateDer<'static> {
        let mut bytes = der.to_vec();
        *bytes.last_mut().expect("a certificate") ^= 0x01;
        CertificateDer::from(bytes)
    }

    #[test]
    fn signatures_the_classifier_verified_are_shared_and_a_bad_one_is_still_caught() {
        use crate::outcome::Outcome;
        use crate::verify::classify::{TrustStore, Usage};
        // The intermediate as the trust anchor: the lints look at an anchor only when it
        // signed a certificate of the chain, and then say it is not self-issued.
        let (chain, _) = rcgen_chain(|_| {}, |_| {});
        let leaf = vec![chain[0].clone()];
        let anchor = chain[1].clone();
        let trust = TrustStore::from_roots(vec![anchor.clone()]);
        let name = pki_types::ServerName::try_from("rules.test").unwrap();
        let judge = |c: &[CertificateDer<'static>]| {
            crate::verify::judge_chain(c, &trust, Some(&name), Usage::Server, NOW)
        };
        let rules = |c: &[CertificateDer<'static>], v: &VerifiedSignatures| {
            client_rule_hits_verified(c, std::slice::from_ref(&anchor), &[], v)
                .into_iter()
                .map(|h| h.rule)
                .collect::<Vec<_>>()
        };

        let (verdict, _, verified) = judge(&leaf);
        assert_eq!(verdict.outcome, Outcome::Ok);
        assert!(verified.contains(&leaf[0], &anchor), "{verified:?}");
        assert_eq!(rules(&leaf, &verified), [Rule::AnchorNotSelfIssued]);
        assert_eq!(
            rules(&leaf, &VerifiedSignatures::default()),
            [Rule::AnchorNotSelfIssued],
            "the same verdict when the lints check the signature themselves"
        );

        // A bad signature: the classifier says so and records nothing ...
        let forged = vec![with_bad_signature(&leaf[0])];
        let (verdict, _, recorded) = judge(&forged);
        assert_eq!(verdict.outcome, Outcome::BadSignature, "{verdict:?}");
        assert!(!recorded.contains(&forged[0], &anchor));
        assert!(!recorded.contains(&leaf[0], &anchor));
        // ... and the lints, even handed the good leaf's verified signatures, check the forged
        // one themselves: the anchor did not sign it.
        assert_eq!(rules(&forged, &recorded), []);
        assert_eq!(rules(&forged, &verified), []);
        assert_eq!(
            client_rule_hits(&forged, std::slice::from_ref(&anchor), &[]),
            []
        );
    }

    #[test]
    fn lab_chains_break_no_client_rule() {
        let pki = lab();
        let roots: Vec<CertificateDer<'static>> =
            pki.trusted_roots().map(|e| e.cert.clone()).collect();
        let crls: Vec<_> = pki.crls().cloned().collect();
        let leaves = pki.entities.iter().filter(|e| {
            matches!(
                e.role,
                crate::pki::Role::Server
                    | crate::pki::Role::Client
                    | crate::pki::Role::ServerClient
            )
        });
        for e in leaves {
            let hits = client_rule_hits(e.chain_or_cert(), &roots, &crls);
            assert!(hits.is_empty(), "{}: {hits:?}", e.name);
        }
    }

    #[test]
    fn keys_match_their_certificates() {
        let pki = lab();
        let good = pki.entity("good").unwrap();
        let mismatch = pki.entity("key-mismatch").unwrap();
        let mut pem = crate::pem::pem_certs([&good.cert, &mismatch.cert]);
        pem.push_str(&good.key.to_pem());
        pem.push_str(&mismatch.key.to_pem());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("both.pem");
        std::fs::write(&path, pem).unwrap();
        let r = inspect_files(&[path.display().to_string()], NOW).unwrap();
        let keys = &r.files[0].keys;
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].matches.len(), 1);
        assert!(
            keys[0].matches[0].ends_with("#1 (CN=localhost)"),
            "{:?}",
            keys[0]
        );
        assert!(keys[1].matches.is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        let e = inspect_bytes("x.pem", b"hello", NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.pem: neither PEM nor a DER certificate or private key"
        );
        let e = inspect_bytes(
            "y.pem",
            b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
            NOW,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
    }
}
