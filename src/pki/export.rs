//! Formats: the same certificates and keys as DER, PKCS#12 (for Java and .NET), one combined
//! PEM file (key + chain, for servers that want one file), and keys as PKCS#8, SEC1, PKCS#1 or
//! encrypted PKCS#8.
//!
//! PKCS#12 files are written with `p12-keystore`: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an
//! HMAC-SHA256 MAC, which OpenSSL 3 reads without `-legacy`, and Java 11+ and .NET read too.
//!
//! ```
//! use certlab::pki::export::{self, KeyFormat};
//! use certlab::fixture::TestPki;
//!
//! let mut pki = TestPki::new();
//! let server = pki.server(["localhost"]).issue().unwrap();
//! let key = &server.entity().key;
//! let sec1 = export::key_pem(key, KeyFormat::Sec1, None).unwrap();
//! assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
//! let p12 = export::pkcs12(&server.chain_der(), key, "web", "changeit").unwrap();
//! let back = export::read_pkcs12(&p12, "changeit").unwrap();
//! assert_eq!(back.alias.as_deref(), Some("web"));
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pkcs8::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::pkcs5::pbes2;
use pkcs8::{AlgorithmIdentifierRef, PrivateKeyInfoRef};
use pki_types::CertificateDer;

use super::manifest::CA_BUNDLE_FILE;
use super::store::{self, StoreError};
use super::{Entity, Pki, SecretKey};
use crate::pem::{FileError, pem_certs};

/// id-ecPublicKey.
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// rsaEncryption.
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-Ed25519.
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// PBKDF2 iterations for encrypted PKCS#8 keys and PKCS#12 files (what Java's keytool uses;
/// these are test keys).
pub const PBKDF2_ITERATIONS: u32 = 10_000;

/// The PKCS#12 password when none is given (Java's and mkcert's convention).
pub const DEFAULT_P12_PASSWORD: &str = "changeit";

/// Why exporting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The key cannot be written in the requested format (e.g. an Ed25519 key as PKCS#1).
    #[error("{kind} keys cannot be written as {format}")]
    Unsupported {
        /// The key type (`EC`, `RSA`, `Ed25519`).
        kind: &'static str,
        /// The requested format.
        format: KeyFormat,
    },
    /// A password was given for a key format that cannot be encrypted (only PKCS#8 can).
    #[error("only PKCS#8 keys can be encrypted (asked for {0})")]
    EncryptedNeedsPkcs8(KeyFormat),
    /// A key or certificate could not be parsed or encoded.
    #[error("{0}")]
    Encoding(String),
    /// No entity of that name.
    #[error("no entity named `{0}` in this PKI")]
    UnknownEntity(String),
    /// Writing a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// Writing into a PKI directory failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn enc(what: &str) -> impl FnOnce(pkcs8::der::Error) -> ExportError + '_ {
    move |e| ExportError::Encoding(format!("{what}: {e}"))
}

/// How a private key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// PKCS#8 `PRIVATE KEY` (the default; `ENCRYPTED PRIVATE KEY` with a password).
    #[default]
    Pkcs8,
    /// SEC1 `EC PRIVATE KEY` (ECDSA keys only; `openssl ec`).
    Sec1,
    /// PKCS#1 `RSA PRIVATE KEY` (RSA keys only; `openssl rsa -traditional`).
    Pkcs1,
}

impl KeyFormat {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "pkcs8",
            KeyFormat::Sec1 => "sec1",
            KeyFormat::Pkcs1 => "pkcs1",
        }
    }
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pkcs8" => Ok(KeyFormat::Pkcs8),
            "sec1" | "ec" => Ok(KeyFormat::Sec1),
            "pkcs1" | "rsa" => Ok(KeyFormat::Pkcs1),
            _ => Err(format!(
                "unknown key format `{s}` (expected one of: pkcs8, sec1, pkcs1)"
            )),
        }
    }
}

/// The kind of a PKCS#8 key, read from its algorithm identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA, with its named curve.
    Ec(ObjectIdentifier),
    /// RSA.
    Rsa,
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Ec(_) => "EC",
            KeyKind::Rsa => "RSA",
            KeyKind::Ed25519 => "Ed25519",
        }
    }
}

/// The kind of a PKCS#8 DER key.
pub fn key_kind(pkcs8_der: &[u8]) -> Result<KeyKind, ExportError> {
    let info = PrivateKeyInfoRef::from_der(pkcs8_der).map_err(enc("PKCS#8 key"))?;
    let oid = info.algorithm.oid;
    if oid == OID_EC {
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|e| ExportError::Encoding(format!("EC key without a named curve: {e}")))?;
        Ok(KeyKind::Ec(curve))
    } else if oid == OID_RSA {
        Ok(KeyKind::Rsa)
    } else if oid == OID_ED25519 {
        Ok(KeyKind::Ed25519)
    } else {
        Err(ExportError::Encoding(format!(
            "unsupported key algorithm {oid}"
        )))
    }
}

/// The key as DER in `format`; with a `password`, PKCS#8 is encrypted (PBES2: PBKDF2-SHA256,
/// AES-256-CBC). SEC1 and PKCS#1 cannot be encrypted here (their PEM encryption is legacy).
pub fn key_der(
    key: &SecretKey,
    format: KeyFormat,
    password: Option<&str>,
) -> Result<Vec<u8>, ExportError> {
    let der = key.pkcs8_der();
    let kind = key_kind(der)?;
    if password.is_some() && format != KeyFormat::Pkcs8 {
        return Err(ExportError::EncryptedNeedsPkcs8(format));
    }
    let info = PrivateKeyInfoRef::from_der(der).map_err(enc("PKCS#8 key"))?;
    match (format, kind) {
        (KeyFormat::Pkcs8, _) => match password {
            None => Ok(der.to_vec()),
            Some(pw) => {
                let mut salt = [0u8; 16];
                let mut iv = [0u8; 16];
                aws_lc_rs::rand::fill(&mut salt)
                    .and_then(|_| aws_lc_rs::rand::fill(&mut iv))
                    .map_err(|_| ExportError::Encoding("system random failed".into()))?;
                let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
                    PBKDF2_ITERATIONS,
                    &salt,
                    iv,
                )
                .map_err(|e| ExportError::Encoding(format!("PBES2 parameters: {e}")))?;
                let doc = info
                    .encrypt_with_params(params, pw)
                    .map_err(|e| ExportError::Encoding(format!("encrypting the key: {e}")))?;
                Ok(doc.as_bytes().to_vec())
            }
        },
        (KeyFormat::Sec1, KeyKind::Ec(curve)) => {
            let mut ec = sec1::EcPrivateKey::from_der(info.private_key.as_bytes())
                .map_err(enc("SEC1 key inside PKCS#8"))?;
            ec.parameters = Some(sec1::EcParameters::NamedCurve(curve));
            if ec.public_key.is_none() {
                ec.public_key = info.public_key.as_ref().and_then(|k| k.as_bytes());
            }
            ec.to_der().map_err(enc("SEC1 key"))
        }
        (KeyFormat::Pkcs1, KeyKind::Rsa) => Ok(info.private_key.as_bytes().to_vec()),
        (format, kind) => Err(ExportError::Unsupported {
            kind: kind.name(),
            format,
        }),
    }
}

/// The PEM label of a key in `format`.
fn key_label(format: KeyFormat, encrypted: bool) -> &'static str {
    match (format, encrypted) {
        (KeyFormat::Pkcs8, false) => "PRIVATE KEY",
        (KeyFormat::Pkcs8, true) => "ENCRYPTED PRIVATE KEY",
        (KeyFormat::Sec1, _) => "EC PRIVATE KEY",
        (KeyFormat::Pkcs1, _) => "RSA PRIVATE KEY",
    }
}

/// The key as PEM text in `format` (see [`key_der`]).
pub fn key_pem(
    key: &SecretKey,
    format: KeyFormat,
    password: Option<&str>,
) -> Result<String, ExportError> {
    let der = key_der(key, format, password)?;
    Ok(crate::pem::encode_block(
        key_label(format, password.is_some()),
        &der,
    ))
}

/// Reads a private key in any of the formats certlab writes (PKCS#8, SEC1, PKCS#1; PEM or DER;
/// encrypted PKCS#8 with `password`) and returns it as PKCS#8.
pub fn read_key(bytes: &[u8], password: Option<&str>) -> Result<SecretKey, ExportError> {
    let (label, der) = match pem::parse(bytes) {
        Ok(p) => (p.tag().to_string(), p.into_contents()),
        Err(_) => (String::new(), bytes.to_vec()),
    };
    let need_password = || ExportError::Encoding("the key is encrypted: give its password".into());
    match label.as_str() {
        "PRIVATE KEY" => Ok(SecretKey::from_pkcs8(der)),
        "ENCRYPTED PRIVATE KEY" => {
            let pw = password.ok_or_else(need_password)?;
            decrypt_pkcs8(&der, pw)
        }
        "EC PRIVATE KEY" => sec1_to_pkcs8(&der),
        "RSA PRIVATE KEY" => pkcs1_to_pkcs8(&der),
        "" => {
            if PrivateKeyInfoRef::from_der(&der).is_ok() {
                Ok(SecretKey::from_pkcs8(der))
            } else if pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der).is_ok() {
                decrypt_pkcs8(&der, password.ok_or_else(need_password)?)
            } else if sec1::EcPrivateKey::from_der(&der).is_ok() {
                sec1_to_pkcs8(&der)
            } else {
                pkcs1_to_pkcs8(&der)
            }
        }
        other => Err(ExportError::Encoding(format!(
            "expected a private key, found a PEM `{other}` block"
        ))),
    }
}

fn decrypt_pkcs8(der: &[u8], password: &str) -> Result<SecretKey, ExportError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der).map_err(enc("encrypted key"))?;
    let doc = info
        .decrypt(password)
        .map_err(|_| ExportError::Encoding("cannot decrypt the key: wrong password?".into()))?;
    Ok(SecretKey::from_pkcs8(doc.as_bytes().to_vec()))
}

fn sec1_to_pkcs8(der: &[u8]) -> Result<SecretKey, ExportError> {
    let ec = sec1::EcPrivateKey::from_der(der).map_err(enc("SEC1 key"))?;
    let Some(sec1::EcParameters::NamedCurve(curve)) = ec.parameters else {
        return Err(ExportError::Encoding(
            "SEC1 key without a named curve".into(),
        ));
    };
    // PKCS#8 carries the curve in the algorithm identifier (RFC 5915 section 3).
    let inner = sec1::EcPrivateKey {
        parameters: None,
        ..ec
    };
    let inner = inner.to_der().map_err(enc("SEC1 key"))?;
    let curve_der = curve.to_der().map_err(enc("curve"))?;
    let info = PrivateKeyInfoRef::new(
        AlgorithmIdentifierRef {
            oid: OID_EC,
            parameters: Some(AnyRef::from_der(&curve_der).map_err(enc("curve"))?),
        },
        OctetStringRef::new(&inner).map_err(enc("SEC1 key"))?,
    );
    Ok(SecretKey::from_pkcs8(info.to_der().map_err(enc("PKCS#8"))?))
}

fn pkcs1_to_pkcs8(der: &[u8]) -> Result<SecretKey, ExportError> {
    let info = PrivateKeyInfoRef::new(
        AlgorithmIdentifierRef {
            oid: OID_RSA,
            parameters: Some(AnyRef::NULL),
        },
        OctetStringRef::new(der).map_err(enc("PKCS#1 key"))?,
    );
    let pkcs8 = SecretKey::from_pkcs8(info.to_der().map_err(enc("PKCS#8"))?);
    pkcs8
        .to_key_pair()
        .map_err(|e| ExportError::Encoding(format!("not a usable private key: {e}")))?;
    Ok(pkcs8)
}

/// A PKCS#12 file holding `key` and its `chain` (leaf first) under the friendly name `alias`,
/// encrypted with `password` (PBES2 AES-256, HMAC-SHA256 MAC).
pub fn pkcs12(
    chain: &[CertificateDer<'_>],
    key: &SecretKey,
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, ExportError> {
    let p12 = |e: p12_keystore::error::Error| ExportError::Encoding(format!("PKCS#12: {e}"));
    let certs = chain
        .iter()
        .map(|c| p12_keystore::Certificate::from_der(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(p12)?;
    let key = p12_keystore::PrivateKey::from_der(key.pkcs8_der()).map_err(p12)?;
    // The local key id ties the key bag to the leaf's certificate bag.
    let key_id = chain
        .first()
        .map(|c| super::sha256_hex(c)[..40].to_string())
        .unwrap_or_default();
    let entry = p12_keystore::PrivateKeyChain::new(key_id, key, certs);
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry(alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(entry));
    write_keystore(&ks, password)
}

/// A PKCS#12 trust store (certificates only, each marked trusted for Java) of `certs`, each
/// under its alias.
pub fn pkcs12_truststore(
    certs: &[(String, CertificateDer<'_>)],
    password: &str,
) -> Result<Vec<u8>, ExportError> {
    let mut ks = p12_keystore::KeyStore::new();
    for (alias, cert) in certs {
        let cert = p12_keystore::Certificate::from_der(cert)
            .map_err(|e| ExportError::Encoding(format!("PKCS#12: {e}")))?;
        ks.add_entry(alias, p12_keystore::KeyStoreEntry::Certificate(cert));
    }
    write_keystore(&ks, password)
}

fn write_keystore(ks: &p12_keystore::KeyStore, password: &str) -> Result<Vec<u8>, ExportError> {
    ks.writer(password)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .encryption_iterations(PBKDF2_ITERATIONS)
        .mac_iterations(PBKDF2_ITERATIONS)
        .write()
        .map_err(|e| ExportError::Encoding(format!("PKCS#12: {e}")))
}

/// What a PKCS#12 file holds, read back (to check what was written).
#[derive(Debug, Clone)]
pub struct Pkcs12Contents {
    /// The key entry's alias (friendly name), if it has a key.
    pub alias: Option<String>,
    /// The key, PKCS#8.
    pub key: Option<SecretKey>,
    /// The key entry's chain, or the trusted certificates of a trust store.
    pub certs: Vec<CertificateDer<'static>>,
}

/// Reads a PKCS#12 file (as written by [`pkcs12`] or [`pkcs12_truststore`]).
pub fn read_pkcs12(bytes: &[u8], password: &str) -> Result<Pkcs12Contents, ExportError> {
    let ks = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| ExportError::Encoding(format!("PKCS#12: {e}")))?;
    let mut out = Pkcs12Contents {
        alias: None,
        key: None,
        certs: vec![],
    };
    for (alias, entry) in ks.entries() {
        match entry {
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                out.alias = Some(alias.clone());
                out.key = Some(SecretKey::from_pkcs8(chain.key().as_der().to_vec()));
                out.certs = chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect();
            }
            p12_keystore::KeyStoreEntry::Certificate(c) => {
                out.certs.push(CertificateDer::from(c.as_der().to_vec()))
            }
            p12_keystore::KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(out)
}

/// One PEM file for servers that want everything in one place (`openssl s_server -cert`, as
/// `tests/it/export.rs` serves it): the certificates a server sends (leaf first), then the
/// key.
pub fn combined_pem(
    entity: &Entity,
    format: KeyFormat,
    password: Option<&str>,
) -> Result<String, ExportError> {
    Ok(pem_certs(entity.chain_or_cert()) + &key_pem(&entity.key, format, password)?)
}

/// The output format of `generate`, `cert` and `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// PEM files (`NAME.pem`, `NAME.chain.pem`, `NAME.key`).
    #[default]
    Pem,
    /// DER files (`NAME.der`, `NAME.key.der`, `ca.der`).
    Der,
    /// PKCS#12 files (`NAME.p12` per leaf, `ca.p12` trust store).
    P12,
    /// One PEM per leaf with chain and key (`NAME.combined.pem`).
    Combined,
}

impl Format {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pem => "pem",
            Format::Der => "der",
            Format::P12 => "p12",
            Format::Combined => "combined",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pem" => Ok(Format::Pem),
            "der" => Ok(Format::Der),
            "p12" | "pkcs12" | "pfx" => Ok(Format::P12),
            "combined" => Ok(Format::Combined),
            _ => Err(format!(
                "unknown format `{s}` (expected one of: pem, der, p12, combined)"
            )),
        }
    }
}

/// What [`export`] writes.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The format.
    pub format: Format,
    /// How keys are written (PEM, DER and combined formats).
    pub key_format: KeyFormat,
    /// Encrypt keys (PKCS#8 only) with this password.
    pub key_password: Option<String>,
    /// The PKCS#12 password ([`DEFAULT_P12_PASSWORD`] when `None`).
    pub p12_password: Option<String>,
    /// The PKCS#12 friendly name; default: the entity's name. Only with a single entity.
    pub alias: Option<String>,
    /// One file for every selected leaf instead of files per entity (a fleet of identities):
    /// `NAME.p12` with one key entry per leaf (aliased by its name) for `p12`, `NAME.pem` with
    /// each leaf's chain then key for `pem` and `combined`.
    pub bundle: Option<String>,
    /// Select the entities whose files are in this sub-directory (`clients`, see
    /// [`Entity::dir`]) in addition to `only`.
    pub dir: Option<String>,
}

/// The key file name of an entity in a key format (`NAME.key`, `NAME.ec.key`, `NAME.rsa.key`,
/// `NAME.enc.key`).
pub fn key_file_name(name: &str, format: KeyFormat, encrypted: bool) -> String {
    let infix = match (format, encrypted) {
        (KeyFormat::Pkcs8, false) => "",
        (KeyFormat::Pkcs8, true) => ".enc",
        (KeyFormat::Sec1, _) => ".ec",
        (KeyFormat::Pkcs1, _) => ".rsa",
    };
    format!("{name}{infix}.key")
}

/// Writes the entities named in `only` (every entity when empty) of `pki` into `dir` in
/// `opts.format` ([`outputs`]). Keys are written 0600, every file atomically. Returns the files
/// written. To write into the PKI's own directory, recorded in its manifest, use
/// [`export_into_pki`].
pub fn export(
    pki: &Pki,
    only: &[String],
    dir: &Path,
    opts: &ExportOptions,
) -> Result<Vec<PathBuf>, ExportError> {
    let files = outputs(pki, only, opts)?;
    crate::pem::create_dirs(dir).map_err(|e| FileError::unwritable(dir, e))?;
    let mut written = Vec::new();
    let mut swept = std::collections::BTreeSet::new();
    for o in files {
        let path = dir.join(&o.path);
        // What an export killed there left (its temporaries, keys among them) goes first.
        if let Some(parent) = path.parent()
            && swept.insert(parent.to_path_buf())
        {
            store::sweep_temps(parent);
        }
        crate::pem::write_atomic_as(
            &path,
            &o.bytes,
            o.mode & 0o077 == 0,
            &store::owned_temp_prefix(),
        )?;
        written.push(path);
    }
    Ok(written)
}

/// Exports into the PKI directory `dir` itself, as one transaction: the files are recorded in
/// its manifest as derived files, rewritten or removed when a regenerate changes their
/// sources. Files identical to the PKI's own (`NAME.pem`, `NAME.key`) are not written again.
pub fn export_into_pki(
    dir: &Path,
    only: &[String],
    opts: &ExportOptions,
) -> Result<Vec<PathBuf>, ExportError> {
    let written = store::add_derived(dir, |pki| outputs(pki, only, opts))?;
    Ok(written.into_iter().map(|f| dir.join(f)).collect())
}

/// The files [`export`] writes, in memory (paths relative to the output directory):
///
/// - `pem`: `NAME.pem`, `NAME.chain.pem` (leaves), the key (see [`key_file_name`]).
/// - `der`: `NAME.der`, `NAME.key.der` (or `.ec.key.der`, ...), and `ca.der` when the PKI has
///   exactly one trusted root.
/// - `p12`: `NAME.p12` per leaf (key + the chain of `NAME.chain.pem`) and `ca.p12`, a trust
///   store of the trusted roots.
/// - `combined`: `NAME.combined.pem` per leaf (see [`combined_pem`]).
pub fn outputs(
    pki: &Pki,
    only: &[String],
    opts: &ExportOptions,
) -> Result<Vec<store::Output>, ExportError> {
    // Sets, not scans: a fleet selects thousands of entities.
    let names: HashSet<&str> = pki.entities.iter().map(|e| e.name.as_str()).collect();
    if let Some(name) = only.iter().find(|n| !names.contains(n.as_str())) {
        return Err(ExportError::UnknownEntity(name.clone()));
    }
    let wanted: HashSet<&str> = only.iter().map(String::as_str).collect();
    let all = only.is_empty() && opts.dir.is_none();
    let selected: Vec<&Entity> = pki
        .entities
        .iter()
        .filter(|e| {
            all || wanted.contains(e.name.as_str()) || (opts.dir.is_some() && e.dir == opts.dir)
        })
        .collect();
    if let Some(dir) = &opts.dir
        && selected.is_empty()
    {
        return Err(ExportError::Encoding(format!(
            "no entity of this PKI has its files in `{dir}/`"
        )));
    }
    if let Some(bundle) = &opts.bundle {
        return bundle_outputs(&selected, bundle, opts).map(|o| vec![o]);
    }
    if opts.alias.is_some() && selected.iter().filter(|e| !e.is_ca()).count() > 1 {
        return Err(ExportError::Encoding(
            "--alias names one key entry: choose one entity with --entity".into(),
        ));
    }
    let pw = opts.key_password.as_deref();
    let mut written = Vec::new();
    let mut put = |path: String, bytes: &[u8], secret: bool, kind: &str, source: Vec<String>| {
        written.push(store::Output {
            path,
            bytes: bytes.to_vec(),
            mode: if secret { 0o600 } else { 0o644 },
            kind: kind.to_string(),
            source,
        });
    };
    let roots: Vec<&Entity> = pki.trusted_roots().collect();
    let root_names = || roots.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let of = |e: &Entity| vec![e.name.clone()];
    match opts.format {
        Format::Pem => {
            for e in &selected {
                put(
                    format!("{}.pem", e.name),
                    pem_certs([&e.cert]).as_bytes(),
                    false,
                    "pem",
                    of(e),
                );
                if !e.is_ca() {
                    put(
                        format!("{}.chain.pem", e.name),
                        pem_certs(&e.chain).as_bytes(),
                        false,
                        "pem",
                        of(e),
                    );
                }
                let key = key_pem(&e.key, opts.key_format, pw)?;
                put(
                    key_file_name(&e.name, opts.key_format, pw.is_some()),
                    key.as_bytes(),
                    true,
                    "key",
                    of(e),
                );
            }
        }
        Format::Der => {
            for e in &selected {
                put(format!("{}.der", e.name), &e.cert, false, "der", of(e));
                let key = key_der(&e.key, opts.key_format, pw)?;
                put(
                    format!(
                        "{}.der",
                        key_file_name(&e.name, opts.key_format, pw.is_some())
                    ),
                    &key,
                    true,
                    "der",
                    of(e),
                );
            }
            if all && roots.len() == 1 {
                put("ca.der".into(), &roots[0].cert, false, "der", root_names());
            }
        }
        Format::P12 => {
            let password = opts.p12_password.as_deref().unwrap_or(DEFAULT_P12_PASSWORD);
            for e in selected.iter().filter(|e| !e.is_ca()) {
                let alias = opts.alias.as_deref().unwrap_or(&e.name);
                put(
                    format!("{}.p12", e.name),
                    &pkcs12(e.chain_or_cert(), &e.key, alias, password)?,
                    true,
                    "p12",
                    of(e),
                );
            }
            if all && !roots.is_empty() {
                let certs: Vec<_> = roots
                    .iter()
                    .map(|r| (r.name.clone(), r.cert.clone()))
                    .collect();
                let bundle = CA_BUNDLE_FILE.trim_end_matches(".pem");
                put(
                    format!("{bundle}.p12"),
                    &pkcs12_truststore(&certs, password)?,
                    false,
                    "p12",
                    root_names(),
                );
            }
        }
        Format::Combined => {
            for e in selected.iter().filter(|e| !e.is_ca()) {
                put(
                    format!("{}.combined.pem", e.name),
                    combined_pem(e, opts.key_format, pw)?.as_bytes(),
                    true,
                    "combined",
                    of(e),
                );
            }
        }
    }
    Ok(written)
}

/// The one file of [`ExportOptions::bundle`]: every selected leaf (CAs are left out: they are
/// in `ca.pem`) in one PKCS#12 or one PEM.
fn bundle_outputs(
    selected: &[&Entity],
    bundle: &str,
    opts: &ExportOptions,
) -> Result<store::Output, ExportError> {
    super::names::file_name(bundle).map_err(|e| ExportError::Encoding(format!("--bundle: {e}")))?;
    let leaves: Vec<&&Entity> = selected.iter().filter(|e| !e.is_ca()).collect();
    if leaves.is_empty() {
        return Err(ExportError::Encoding(
            "a bundle holds leaves, and none is selected".into(),
        ));
    }
    let chain_of = |e: &Entity| {
        if e.chain.is_empty() {
            vec![e.cert.clone()]
        } else {
            e.chain.clone()
        }
    };
    let (path, bytes, kind) = match opts.format {
        Format::P12 => {
            let password = opts.p12_password.as_deref().unwrap_or(DEFAULT_P12_PASSWORD);
            let mut ks = p12_keystore::KeyStore::new();
            let p12 =
                |e: p12_keystore::error::Error| ExportError::Encoding(format!("PKCS#12: {e}"));
            for e in &leaves {
                let certs = chain_of(e)
                    .iter()
                    .map(|c| p12_keystore::Certificate::from_der(c))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(p12)?;
                let key = p12_keystore::PrivateKey::from_der(e.key.pkcs8_der()).map_err(p12)?;
                let key_id = super::sha256_hex(&e.cert)[..40].to_string();
                let entry = p12_keystore::PrivateKeyChain::new(key_id, key, certs);
                ks.add_entry(&e.name, p12_keystore::KeyStoreEntry::PrivateKeyChain(entry));
            }
            (
                format!("{bundle}.p12"),
                write_keystore(&ks, password)?,
                "p12",
            )
        }
        Format::Pem | Format::Combined => {
            let pw = opts.key_password.as_deref();
            let mut text = String::new();
            for e in &leaves {
                text.push_str(&combined_pem(e, opts.key_format, pw)?);
            }
            (format!("{bundle}.pem"), text.into_bytes(), "combined")
        }
        Format::Der => {
            return Err(ExportError::Encoding(
                "a bundle is PKCS#12 (--format p12) or PEM (--format pem), not DER".into(),
            ));
        }
    };
    Ok(store::Output {
        path,
        bytes,
        mode: 0o600,
        kind: kind.to_string(),
        source: leaves.iter().map(|e| e.name.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::KeyAlg;

    fn key(alg: KeyAlg) -> SecretKey {
        SecretKey::from_pkcs8(alg.generate().unwrap().serialize_der())
    }

    #[test]
    fn sec1_and_pkcs1_round_trip_to_the_same_pkcs8_key() {
        for (alg, format) in [
            (KeyAlg::EcdsaP256, KeyFormat::Sec1),
            (KeyAlg::EcdsaP384, KeyFormat::Sec1),
            (KeyAlg::Rsa2048, KeyFormat::Pkcs1),
        ] {
            let k = key(alg);
            let pem = key_pem(&k, format, None).unwrap();
            let back = read_key(pem.as_bytes(), None).unwrap();
            let (a, b) = (k.to_key_pair().unwrap(), back.to_key_pair().unwrap());
            assert_eq!(a.public_key_raw(), b.public_key_raw(), "{alg} {format}");
        }
    }

    #[test]
    fn wrong_kind_is_refused() {
        assert!(matches!(
            key_der(&key(KeyAlg::Ed25519), KeyFormat::Pkcs1, None),
            Err(ExportError::Unsupported { .. })
        ));
        assert!(matches!(
            key_der(&key(KeyAlg::Rsa2048), KeyFormat::Sec1, None),
            Err(ExportError::Unsupported { .. })
        ));
        assert!(key_der(&key(KeyAlg::EcdsaP256), KeyFormat::Sec1, Some("pw")).is_err());
    }

    #[test]
    fn encrypted_pkcs8_needs_the_right_password() {
        let k = key(KeyAlg::EcdsaP256);
        let pem = key_pem(&k, KeyFormat::Pkcs8, Some("s3cret")).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(read_key(pem.as_bytes(), None).is_err());
        assert!(read_key(pem.as_bytes(), Some("wrong")).is_err());
        assert_eq!(read_key(pem.as_bytes(), Some("s3cret")).unwrap(), k);
    }

    #[test]
    fn format_names_parse() {
        for f in [Format::Pem, Format::Der, Format::P12, Format::Combined] {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("jks".parse::<Format>().unwrap_err().contains("p12"));
    }
}
