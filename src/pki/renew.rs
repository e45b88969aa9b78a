//! Renewing certificates of a PKI directory (`certlab renew`): re-issue leaves (and, when
//! forced, named CAs) from the issuers kept in the directory, with the same subject, names and
//! extensions, a new serial number and a new validity, keeping each key unless asked to make a
//! new one.
//!
//! A renewal is a certificate's own content signed again: the old certificate's
//! `TBSCertificate` with its serial number and validity replaced (and, with
//! [`RenewOptions::rekey`], its public key and subject key identifier), signed by the issuer's
//! key from the directory. Everything else (subject, SANs, key usages, extensions) stays byte
//! for byte, so a renewed CA still issues what it issued: same name, same key.
//!
//! Faulted certificates (made broken on purpose) are not renewed: re-dating an `expired` leaf
//! would make it valid, and re-issuing it with its fault would keep it broken, so neither is a
//! renewal. Renewing every leaf skips them (and says so); naming one is an error.
//!
//! The directory keeps the guarantees of `generate` ([`super::store`]): one writer at a time,
//! all-old or all-new, keys 0600. Chain files, `ca.pem` and the manifest follow; derived files
//! made from a renewed certificate are made again when certlab can reproduce them (DER,
//! combined PEM, other key formats; the rendered configs through [`renew_with`]), else removed
//! as stale.
//!
//! ```
//! use certlab::pki::renew::{renew, RenewOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let now = time::macros::datetime!(2030-01-01 00:00 UTC);
//! let spec = certlab::pki::spec::parse("<spec>", r#"
//!     [[ca]]
//!     name = "root"
//!     [[leaf]]
//!     name = "web"
//!     issuer = "root"
//!     dns = ["localhost"]
//!     validity = "90s"
//! "#).unwrap();
//! certlab::pki::store::generate(&spec, dir.path(), now, false).unwrap();
//! let later = now + time::Duration::seconds(60);
//! let report = renew(dir.path(), &RenewOptions::default(), later).unwrap();
//! assert_eq!(report.renewed[0].name, "web");
//! assert_eq!(report.renewed[0].new_not_after, later + time::Duration::seconds(90));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pki_types::CertificateDer;
use rcgen::{KeyPair, PublicKeyData, SigningKey};
use time::{Duration, OffsetDateTime};

use super::export::{self, ExportOptions, Format, KeyFormat};
use super::manifest::Manifest;
use super::model::{BACKDATE, LATEST_NOT_AFTER, Validity};
use super::store::{self, Generation, Output, StoreError};
use super::{Entity, Fault, Pki, Scenario, SecretKey};
use crate::outcome::Outcome;
use crate::x509::Cert;

/// What to renew and how.
#[derive(Debug, Clone, Default)]
pub struct RenewOptions {
    /// The entities to renew; empty: every leaf without a fault.
    pub names: Vec<String>,
    /// Make a new key (same algorithm) instead of keeping the old one. Leaves only.
    pub rekey: bool,
    /// How long the renewed certificates are valid from the time of renewal; `None`: as long
    /// as each old certificate was ([`validity_of`]).
    pub validity: Option<Duration>,
    /// Allow CAs among [`RenewOptions::names`] (a CA is renewed with its key, so what it
    /// issued still chains to it; clients holding the old certificate keep working until it
    /// expires).
    pub force: bool,
}

/// One certificate renewed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Renewed {
    /// The entity.
    pub name: String,
    /// The old serial number (colon-separated hex).
    pub old_serial: String,
    /// The new serial number.
    pub new_serial: String,
    /// The old end of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub old_not_after: OffsetDateTime,
    /// The new start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub new_not_before: OffsetDateTime,
    /// The new end of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub new_not_after: OffsetDateTime,
    /// Whether it got a new key.
    pub rekeyed: bool,
}

/// A leaf [`renew`] left as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The entity.
    pub name: String,
    /// The fault it carries on purpose.
    pub fault: Fault,
}

/// What [`renew`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RenewReport {
    /// Every certificate renewed, in the PKI's order (issuers first).
    pub renewed: Vec<Renewed>,
    /// Leaves left as they are because they carry a fault on purpose.
    pub skipped: Vec<Skipped>,
    /// Derived files made again from the renewed certificates (relative paths).
    pub rederived: Vec<String>,
    /// Derived files removed because certlab cannot make them again (a PKCS#12 file's salt,
    /// an encrypted key's password): run `certlab export` again for them.
    pub removed: Vec<String>,
}

/// Why a renewal (or a revocation, see [`super::revoke`]) did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenewError {
    /// Reading, locking or writing the directory failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No entity has this name.
    #[error("no certificate named `{name}` in the PKI (it has: {known})")]
    UnknownEntity {
        /// The name given.
        name: String,
        /// The names the PKI has (shortened).
        known: String,
    },
    /// A CA was named without `force`.
    #[error(
        "`{0}` is a CA: renewing it re-signs the certificate every client trusts or chains through (same key, new dates)"
    )]
    CaNeedsForce(String),
    /// A CA with a new key would break every certificate it issued.
    #[error("`{0}` is a CA: a new key would break every certificate it issued")]
    RekeyCa(String),
    /// A certificate made broken on purpose.
    #[error(
        "`{name}` carries the fault `{fault}` on purpose: renewing would either repair it or keep it broken"
    )]
    Faulted {
        /// The entity.
        name: String,
        /// Its fault.
        fault: Fault,
    },
    /// The issuer is not in the PKI (or is the entity itself for a leaf).
    #[error("`{name}`: its issuer `{issuer}` is not a CA of this PKI")]
    NoIssuer {
        /// The entity.
        name: String,
        /// Its issuer.
        issuer: String,
    },
    /// The issuer is not valid at the time of renewal (it signs only while it is valid).
    #[error(
        "`{name}`: its issuer `{issuer}` is not valid at the time of renewal (valid {} to {})",
        rfc3339(*.not_before),
        rfc3339(*.not_after)
    )]
    IssuerNotValid {
        /// The entity.
        name: String,
        /// Its issuer.
        issuer: String,
        /// The issuer's notBefore.
        not_before: OffsetDateTime,
        /// The issuer's notAfter.
        not_after: OffsetDateTime,
    },
    /// A certificate or key of the directory cannot be used to sign again.
    #[error("`{name}`: {message}")]
    Unusable {
        /// The entity.
        name: String,
        /// Why.
        message: String,
    },
    /// The validity is not positive or ends after 9999-12-31.
    #[error("`{name}`: a validity of {seconds} s {why}")]
    Validity {
        /// The entity.
        name: String,
        /// The validity asked for, in seconds.
        seconds: i64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The crypto library failed (making a key, signing).
    #[error("`{name}`: {source}")]
    Crypto {
        /// The entity.
        name: String,
        /// rcgen's error.
        source: rcgen::Error,
    },
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl RenewError {
    /// Whether certlab itself could not work (the crypto library failed, the directory cannot
    /// be written or is busy), as opposed to bad input.
    pub fn is_internal(&self) -> bool {
        matches!(self, RenewError::Crypto { .. })
    }
}

/// The validity a renewal without `--validity` gives: the old certificate's span
/// (notAfter − notBefore) less the back-dating a certificate of that validity gets
/// ([`super::model::backdate_for`]), so a certificate issued for `90s` is renewed for `90s`
/// and one issued for `397d` for `397d`.
///
/// ```
/// use certlab::pki::renew::validity_of;
/// use time::{macros::datetime, Duration};
/// let nb = datetime!(2030-01-01 00:00 UTC);
/// assert_eq!(validity_of(nb, nb + Duration::seconds(99)), Duration::seconds(90));
/// assert_eq!(validity_of(nb, nb + Duration::days(397) + Duration::hours(1)), Duration::days(397));
/// ```
pub fn validity_of(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Duration {
    // A validity d is dated back min(1h, d/10): its span is d + min(1h, floor(d/10)), whose
    // inverse is span − min(1h, floor(span/11)).
    let span = (not_after - not_before).whole_seconds().max(0);
    Duration::seconds(span - (span / 11).min(BACKDATE.whole_seconds()))
}

/// Renews certificates of the PKI in `dir` at `now` (see the module documentation): locks the
/// directory, reads it (each file checked against the manifest), re-signs, and commits the new
/// PKI as one transaction. On any error nothing is written.
pub fn renew(
    dir: &Path,
    options: &RenewOptions,
    now: OffsetDateTime,
) -> Result<RenewReport, RenewError> {
    renew_with(dir, options, now, &[])
}

/// A way to make derived files from a PKI, tried on the files a renewal makes stale beside
/// the export formats: `certlab renew` passes the rendered configs
/// (`|pki| certlab::render::config_outputs(pki, dir)`), which this module cannot call.
pub type Remake<'a> = &'a dyn Fn(&Pki) -> Vec<Output>;

/// [`renew`], also making again the derived files that one of `remakers` reproduces (a
/// derived file it cannot reproduce is removed as stale, and named in the report).
pub fn renew_with(
    dir: &Path,
    options: &RenewOptions,
    now: OffsetDateTime,
    remakers: &[Remake<'_>],
) -> Result<RenewReport, RenewError> {
    let mut report = RenewReport::default();
    transact(dir, remakers, |pki| {
        report = renew_pki(pki, options, now)?;
        Ok(())
    })
    .map(|(rederived, removed)| {
        report.rederived = rederived;
        report.removed = removed;
        report
    })
}

/// Renews certificates of a PKI in memory (no directory, no lock): what [`renew`] does to
/// the PKI it read, for a caller that holds the PKI itself (a test fixture, the rotation
/// drill). The report's `rederived` and `removed` are empty: there are no files.
///
/// ```
/// use certlab::pki::renew::{renew_pki, RenewOptions};
/// let now = time::macros::datetime!(2030-01-01 00:00 UTC);
/// let spec = certlab::pki::spec::parse("<spec>", r#"
///     [[ca]]
///     name = "root"
///     [[leaf]]
///     name = "web"
///     issuer = "root"
///     dns = ["localhost"]
///     validity = "5s"
/// "#).unwrap();
/// let mut pki = certlab::pki::store::build(&spec, now).unwrap();
/// let key = pki.entity("web").unwrap().key.clone();
/// let later = now + time::Duration::seconds(10);
/// renew_pki(&mut pki, &RenewOptions::default(), later).unwrap();
/// let web = pki.entity("web").unwrap();
/// assert_eq!((web.not_after, &web.key), (later + time::Duration::seconds(5), &key));
/// ```
pub fn renew_pki(
    pki: &mut Pki,
    options: &RenewOptions,
    now: OffsetDateTime,
) -> Result<RenewReport, RenewError> {
    let mut report = RenewReport::default();
    {
        let targets = select(pki, options, &mut report.skipped)?;
        let mut replaced: HashMap<Vec<u8>, CertificateDer<'static>> = HashMap::new();
        for name in targets {
            let i = index_of(pki, &name)?;
            let e = &pki.entities[i];
            let issuer = if e.issuer == e.name {
                e
            } else {
                pki.entity(&e.issuer).ok_or_else(|| RenewError::NoIssuer {
                    name: e.name.clone(),
                    issuer: e.issuer.clone(),
                })?
            };
            if issuer.name != e.name && (now < issuer.not_before || now > issuer.not_after) {
                return Err(RenewError::IssuerNotValid {
                    name: e.name.clone(),
                    issuer: issuer.name.clone(),
                    not_before: issuer.not_before,
                    not_after: issuer.not_after,
                });
            }
            let old = Cert::parse(&e.cert).map_err(|m| unusable(e, m))?;
            // The certificate's own dates (whole seconds), not the manifest's copy.
            let validity = options
                .validity
                .unwrap_or_else(|| validity_of(old.not_before(), old.not_after()));
            let (not_before, not_after) = dates(&e.name, validity, now)?;
            let new_key = if options.rekey {
                Some(e.key_alg.generate().map_err(|source| RenewError::Crypto {
                    name: e.name.clone(),
                    source,
                })?)
            } else {
                None
            };
            let issuer_key = if issuer.name == e.name {
                key_pair(e)?
            } else {
                key_pair(issuer)?
            };
            let der = reissue(e, &issuer_key, not_before, not_after, new_key.as_ref())?;
            let new = Cert::parse(&der).map_err(|m| unusable(e, m))?;
            report.renewed.push(Renewed {
                name: e.name.clone(),
                old_serial: old.serial_hex(),
                new_serial: new.serial_hex(),
                old_not_after: old.not_after(),
                new_not_before: new.not_before(),
                new_not_after: new.not_after(),
                rekeyed: new_key.is_some(),
            });
            let (new_nb, new_na) = (new.not_before(), new.not_after());
            let cert = CertificateDer::from(der);
            replaced.insert(e.cert.to_vec(), cert.clone());
            let e = &mut pki.entities[i];
            e.cert = cert;
            e.not_before = new_nb;
            e.not_after = new_na;
            if let Some(k) = new_key {
                e.key = SecretKey::from_pkcs8(k.serialize_der());
            }
            // A leaf revoked by `certlab revoke` is good again under its new serial.
            e.expected = match e.fault {
                Fault::None => Some(Outcome::Ok),
                f => f.expected(),
            };
        }
        // Chains follow: every copy of a renewed certificate is replaced.
        for e in &mut pki.entities {
            for c in &mut e.chain {
                if let Some(new) = replaced.get(c.as_ref()) {
                    *c = new.clone();
                }
            }
        }
        // A leaf below a CA its issuer's CRL lists stays revoked under a new serial (`revoke`
        // marked it so); below a renewed CA (a serial no CRL lists) it is good again.
        let revoked: Vec<bool> = pki
            .entities
            .iter()
            .map(|e| revoked_on_path(pki, &e.name))
            .collect();
        for (e, revoked) in pki.entities.iter_mut().zip(revoked) {
            if !e.is_ca()
                && e.fault == Fault::None
                && matches!(e.expected, Some(Outcome::Ok | Outcome::Revoked))
            {
                e.expected = Some(if revoked {
                    Outcome::Revoked
                } else {
                    Outcome::Ok
                });
            }
        }
    }
    Ok(report)
}

/// Whether a client given the PKI's CRLs finds the certificate of entity `name`, or of a CA
/// above it, listed in its issuer's CRL (a revoked CA revokes every certificate below it).
fn revoked_on_path(pki: &super::Pki, name: &str) -> bool {
    let mut current = pki.entity(name);
    // At most one step per entity: a loop of issuers ends.
    for _ in 0..pki.entities.len() {
        let Some(e) = current else {
            return false;
        };
        if e.issuer == e.name {
            return false;
        }
        let Some(issuer) = pki.entity(&e.issuer) else {
            return false;
        };
        if let Some(crl) = &issuer.crl
            && crate::x509::listed_in_crls(&e.cert, std::slice::from_ref(crl))
        {
            return true;
        }
        current = Some(issuer);
    }
    false
}

fn unusable(e: &Entity, message: String) -> RenewError {
    RenewError::Unusable {
        name: e.name.clone(),
        message,
    }
}

fn index_of(pki: &Pki, name: &str) -> Result<usize, RenewError> {
    pki.entities
        .iter()
        .position(|e| e.name == name)
        .ok_or_else(|| unknown(pki, name))
}

/// [`RenewError::UnknownEntity`] with (up to ten of) the names the PKI has.
pub(crate) fn unknown(pki: &Pki, name: &str) -> RenewError {
    let mut known: Vec<&str> = pki
        .entities
        .iter()
        .map(|e| e.name.as_str())
        .take(10)
        .collect();
    if pki.entities.len() > 10 {
        known.push("…");
    }
    RenewError::UnknownEntity {
        name: name.to_string(),
        known: known.join(", "),
    }
}

/// The entities to renew, in the PKI's order.
fn select(
    pki: &Pki,
    options: &RenewOptions,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<String>, RenewError> {
    if options.names.is_empty() {
        let mut out = Vec::new();
        for e in pki.entities.iter().filter(|e| !e.is_ca()) {
            if e.fault == Fault::None {
                out.push(e.name.clone());
            } else {
                skipped.push(Skipped {
                    name: e.name.clone(),
                    fault: e.fault,
                });
            }
        }
        return Ok(out);
    }
    for name in &options.names {
        let e = pki.entity(name).ok_or_else(|| unknown(pki, name))?;
        if e.fault != Fault::None {
            return Err(RenewError::Faulted {
                name: e.name.clone(),
                fault: e.fault,
            });
        }
        if e.is_ca() && !options.force {
            return Err(RenewError::CaNeedsForce(e.name.clone()));
        }
        if e.is_ca() && options.rekey {
            return Err(RenewError::RekeyCa(e.name.clone()));
        }
    }
    Ok(pki
        .entities
        .iter()
        .filter(|e| options.names.contains(&e.name))
        .map(|e| e.name.clone())
        .collect())
}

/// (notBefore, notAfter) of a certificate valid for `validity` from `now`.
fn dates(
    name: &str,
    validity: Duration,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), RenewError> {
    let bad = |why| RenewError::Validity {
        name: name.to_string(),
        seconds: validity.whole_seconds(),
        why,
    };
    if validity.whole_seconds() <= 0 {
        return Err(bad("is not positive"));
    }
    let now = now.replace_nanosecond(0).unwrap_or(now);
    Validity::For(validity)
        .at(now)
        .filter(|(_, na)| *na <= LATEST_NOT_AFTER)
        .ok_or_else(|| bad("would end after 9999-12-31"))
}

/// The key of an entity as an rcgen key pair (to sign with).
pub(crate) fn key_pair(e: &Entity) -> Result<KeyPair, RenewError> {
    e.key.to_key_pair().map_err(|err| RenewError::Unusable {
        name: e.name.clone(),
        message: format!("its key cannot sign: {err}"),
    })
}

/// Locks `dir`, loads its PKI (the explicit scenarios apart: implicit ones are made again from
/// the changed PKI), lets `change` edit it, then commits it with the derived files made again
/// where they can be. Returns (derived files made again, derived files removed).
pub(crate) fn transact<E: From<StoreError>>(
    dir: &Path,
    remakers: &[Remake<'_>],
    change: impl FnOnce(&mut Pki) -> Result<(), E>,
) -> Result<(Vec<String>, Vec<String>), E> {
    if super::txn::View::open(dir)
        .map_err(StoreError::from)?
        .is_none()
    {
        return Err(StoreError::NoManifest(dir.to_path_buf()).into());
    }
    let mut generation = Generation::of_pki(Pki::default(), dir)?;
    let old_manifest = generation
        .existing()
        .cloned()
        .ok_or_else(|| StoreError::NoManifest(dir.to_path_buf()))?;
    // Under the lock: no writer commits meanwhile.
    let old = store::load(dir)?;
    let mut pki = old.clone();
    pki.scenarios = explicit_scenarios(&old);
    change(&mut pki)?;
    let new_manifest = Manifest::of(&pki);
    let (outputs, removed) = rederive(&old, &pki, &old_manifest, &new_manifest, remakers);
    let rederived = outputs.iter().map(|o| o.path.clone()).collect();
    generation.replace_pki(pki);
    generation.derive(outputs);
    generation.commit()?;
    Ok((rederived, removed))
}

/// The scenarios of a loaded PKI that are not the implicit scenario of their entity (the
/// manifest spells implicit ones out; they must follow a changed entity, e.g. a new CRL).
fn explicit_scenarios(pki: &Pki) -> Vec<Scenario> {
    pki.scenarios
        .iter()
        .filter(|s| match pki.entity(&s.name) {
            Some(e) => pki.implicit_scenario(e) != **s,
            None => true,
        })
        .cloned()
        .collect()
}

/// The derived files whose sources changed, made again where certlab can prove it reproduces
/// them (the old PKI gives the recorded bytes), and the ones it cannot (removed by the commit).
fn rederive(
    old: &Pki,
    new: &Pki,
    old_manifest: &Manifest,
    new_manifest: &Manifest,
    remakers: &[Remake<'_>],
) -> (Vec<Output>, Vec<String>) {
    let stale: Vec<_> = old_manifest
        .derived
        .iter()
        .filter(|d| old_manifest.source_digest(&d.source) != new_manifest.source_digest(&d.source))
        .collect();
    if stale.is_empty() {
        return (vec![], vec![]);
    }
    // Every deterministic way certlab writes derived files, for the old and the new PKI.
    type Make<'a> = Box<dyn Fn(&Pki) -> Vec<Output> + 'a>;
    let mut makers: Vec<Make<'_>> = remakers
        .iter()
        .map(|r| Box::new(move |p: &Pki| r(p)) as Make<'_>)
        .collect();
    for format in [Format::Der, Format::Combined, Format::Pem] {
        for key_format in [KeyFormat::Pkcs8, KeyFormat::Sec1, KeyFormat::Pkcs1] {
            let opts = ExportOptions {
                format,
                key_format,
                ..ExportOptions::default()
            };
            makers.push(Box::new(move |p: &Pki| {
                // Per entity: one that cannot be written in a key format does not stop the rest.
                let mut out = export::outputs(p, &[], &opts).unwrap_or_default();
                if out.is_empty() {
                    for e in &p.entities {
                        out.extend(
                            export::outputs(p, std::slice::from_ref(&e.name), &opts)
                                .unwrap_or_default(),
                        );
                    }
                }
                out
            }));
        }
    }
    let mut outputs = Vec::new();
    let mut removed = Vec::new();
    let mut cache_old: BTreeMap<usize, HashMap<String, Output>> = BTreeMap::new();
    let mut cache_new: BTreeMap<usize, HashMap<String, Output>> = BTreeMap::new();
    let index = |v: Vec<Output>| v.into_iter().map(|o| (o.path.clone(), o)).collect();
    'stale: for d in stale {
        for (i, make) in makers.iter().enumerate() {
            let olds = cache_old.entry(i).or_insert_with(|| index(make(old)));
            let reproduces = olds
                .get(&d.path)
                .is_some_and(|o| super::sha256_hex(&o.bytes) == d.sha256);
            if !reproduces {
                continue;
            }
            let news = cache_new.entry(i).or_insert_with(|| index(make(new)));
            if let Some(o) = news.get(&d.path) {
                let mut o = o.clone();
                o.source = d.source.clone();
                o.kind = d.kind.clone();
                outputs.push(o);
                continue 'stale;
            }
        }
        removed.push(d.path.clone());
    }
    (outputs, removed)
}

// --- The certificate signed again -------------------------------------------------------------

/// One DER element: its tag, and its whole encoding (header and content).
struct Tlv<'a> {
    tag: u8,
    raw: &'a [u8],
    content: &'a [u8],
}

/// Reads the DER element at the start of `der`.
fn tlv(der: &[u8]) -> Result<Tlv<'_>, String> {
    let bad = || "not a DER certificate certlab can re-sign".to_string();
    let tag = *der.first().ok_or_else(bad)?;
    let first = *der.get(1).ok_or_else(bad)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(bad());
        }
        let bytes = der.get(2..2 + n).ok_or_else(bad)?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let raw = der.get(..header + len).ok_or_else(bad)?;
    Ok(Tlv {
        tag,
        raw,
        content: &raw[header..],
    })
}

/// The elements of a constructed element's content.
fn children(content: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let t = tlv(rest)?;
        rest = &rest[t.raw.len()..];
        out.push(t);
    }
    Ok(out)
}

/// Encodes a DER element.
fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A time as RFC 5280 encodes it: UTCTime through 2049, GeneralizedTime from 2050 on.
fn encode_time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if (1950..2050).contains(&t.year()) {
        encode(0x17, format!("{:02}{rest}", t.year() % 100).as_bytes())
    } else {
        encode(0x18, format!("{:04}{rest}", t.year()).as_bytes())
    }
}

/// The subject key identifier extension's OID, DER (2.5.29.14).
const SKI_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x1d, 0x0e];

/// The entity's certificate with a new serial and validity (and a new public key and subject
/// key identifier when `new_key` is given), signed by `issuer_key`.
fn reissue(
    e: &Entity,
    issuer_key: &KeyPair,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    new_key: Option<&KeyPair>,
) -> Result<Vec<u8>, RenewError> {
    let err = |m: String| unusable(e, m);
    let outer = tlv(&e.cert).map_err(err)?;
    let parts = children(outer.content).map_err(err)?;
    let [tbs, alg, _sig] = parts.as_slice() else {
        return Err(err("not an X.509 certificate".into()));
    };
    let fields = children(tbs.content).map_err(err)?;
    // version [0], serial, signature, issuer, validity, subject, spki, extensions...
    let at = usize::from(fields.first().is_some_and(|f| f.tag == 0xa0));
    if fields.len() < at + 6 || fields[at].tag != 0x02 || fields[at + 3].tag != 0x30 {
        return Err(err("not an X.509 certificate".into()));
    }
    let mut serial = super::issue::random_serial().to_bytes();
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        serial.insert(0, 0);
    }
    let mut validity = encode_time(not_before);
    validity.extend(encode_time(not_after));
    let mut content = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let n = i.wrapping_sub(at);
        match (n, new_key) {
            (0, _) => content.extend(encode(0x02, &serial)),
            (3, _) => content.extend(encode(0x30, &validity)),
            (5, Some(k)) => content.extend(k.subject_public_key_info()),
            _ if f.tag == 0xa3 && new_key.is_some() => {
                let k = new_key.expect("checked");
                let id = rcgen::CertificateParams::default().key_identifier(k);
                content.extend(replace_ski(f, &id).map_err(err)?);
            }
            _ => content.extend_from_slice(f.raw),
        }
    }
    let tbs = encode(0x30, &content);
    let signature = issuer_key.sign(&tbs).map_err(|source| RenewError::Crypto {
        name: e.name.clone(),
        source,
    })?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut cert = tbs;
    cert.extend_from_slice(alg.raw);
    cert.extend(encode(0x03, &bits));
    Ok(encode(0x30, &cert))
}

/// The extensions element ([3]) with the subject key identifier's value replaced by `id`.
fn replace_ski(exts: &Tlv<'_>, id: &[u8]) -> Result<Vec<u8>, String> {
    let seq = tlv(exts.content)?;
    let mut content = Vec::new();
    for ext in children(seq.content)? {
        if ext.content.starts_with(&SKI_OID) {
            let mut inner = SKI_OID.to_vec();
            inner.extend(encode(0x04, &encode(0x04, id)));
            content.extend(encode(0x30, &inner));
        } else {
            content.extend_from_slice(ext.raw);
        }
    }
    Ok(encode(0xa3, &encode(0x30, &content)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn validity_of_inverts_the_backdating() {
        let nb = datetime!(2030-01-01 00:00 UTC);
        for secs in [
            1i64, 5, 9, 10, 11, 90, 95, 299, 300, 3599, 35_999, 36_000, 36_001, 86_400,
        ] {
            let d = Duration::seconds(secs);
            let (start, end) = Validity::For(d).at(nb).unwrap();
            assert_eq!(validity_of(start, end), d, "{secs} s");
        }
    }

    #[test]
    fn times_encode_as_rfc_5280_says() {
        assert_eq!(
            encode_time(datetime!(2049-12-31 23:59:59 UTC)),
            encode(0x17, b"491231235959Z")
        );
        assert_eq!(
            encode_time(datetime!(2050-01-01 00:00:00 UTC)),
            encode(0x18, b"20500101000000Z")
        );
    }

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let der = encode(0x04, &content);
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv(&der).unwrap().content, content.as_slice());
    }
}
