//! Certificate and key summaries (x509-parser), and chain lints.
//!
//! [`CertSummary`] is what `inspect` prints and what the `chain` entries of `check` and
//! `probe` reports hold. [`inspect_bytes`] reads PEM or DER files holding certificates and
//! private keys (PKCS#8, SEC1, PKCS#1) and says which key matches which certificate.
//! [`lint_chain`] gives the chain warnings: expiring soon, no SAN, CN-only, weak RSA,
//! server validity over 398 days, missing SKI/AKI, chain order, root included.
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

use crate::pem::FileError;
use crate::pki::{KeyAlg, sha256_hex};
use crate::x509::{Cert, hex_colon, parse_chain};

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
