//! Files: write a [`Pki`] to a directory (atomic writes, 0600 keys, no clobbering of CAs) and
//! read it back.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;

use super::issue::{Builder, IssueError};
use super::manifest::{
    CA_BUNDLE_FILE, MANIFEST_FILE, MANIFEST_VERSION, Manifest, cert_file, chain_file, crl_file,
    key_file,
};
use super::spec::Spec;
use super::{Entity, Fault, Pki, SecretKey};

/// Why reading or writing a PKI directory failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be written (or a directory created, a file removed).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file given to certlab (or one a PKI directory should hold) could not be read.
    #[error("{}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The directory holds other files and no manifest.
    #[error("{} holds files but no {MANIFEST_FILE}: refusing to write a PKI into it (choose an empty or new directory)", .0.display())]
    NotAPkiDir(PathBuf),
    /// A kept CA's spec changed.
    #[error(
        "CA `{0}` in the spec differs from the one already generated; use --force to replace the whole PKI (clients trusting the old CA must be updated)"
    )]
    ChangedCa(String),
    /// A CA of the existing PKI is not in the spec any more (or its name is now a leaf).
    #[error(
        "CA `{0}` of the existing PKI is not a CA of the spec; use --force to replace the whole PKI (its key would be lost)"
    )]
    DroppedCa(String),
    /// A kept CA is not valid at the time of issue.
    #[error(
        "CA `{0}` of the existing PKI is not valid at the time of issue (see --now); use --force to replace the whole PKI"
    )]
    CaNotValidAt(String),
    /// The manifest or a PEM file is unreadable.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Issuing failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// A seeded PKI would replace an unseeded one (or the other way round) without `--force`.
    #[error("{0}")]
    Seeding(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

/// Builds the PKI of a spec in memory (no files).
pub fn build(spec: &Spec, now: OffsetDateTime) -> Result<Pki, IssueError> {
    build_keeping(spec, now, &[])
}

/// Builds the PKI of a spec, reusing the given CAs (certificate and key) where the spec names
/// them.
fn build_keeping(spec: &Spec, now: OffsetDateTime, keep: &[Entity]) -> Result<Pki, IssueError> {
    let mut builder = match &spec.seed {
        Some(seed) => Builder::seeded(now, seed)?,
        None => Builder::new(now),
    };
    for ca in &spec.cas {
        match keep.iter().find(|e| e.name == ca.name) {
            Some(kept) => builder.add_existing_ca(kept.clone())?,
            None => {
                builder.add_ca(ca)?;
            }
        }
    }
    for leaf in &spec.leaves {
        builder.add_leaf(leaf)?;
    }
    let mut pki = builder.finish()?;
    pki.scenarios = spec.scenarios.clone();
    Ok(pki)
}

/// What [`generate`] did.
#[derive(Debug)]
pub struct Generated {
    /// The PKI as written.
    pub pki: Pki,
    /// The CAs kept from a previous run.
    pub kept: Vec<String>,
    /// Every file written, relative to the directory.
    pub files: Vec<String>,
}

/// Generates the PKI of a spec into `dir`. An existing PKI there keeps its CAs (and issues new
/// leaves from them) unless `force`; a kept CA whose spec changed is an error; a directory with
/// other files and no manifest is refused. Nothing is written when an error is returned before
/// issuing.
pub fn generate(
    spec: &Spec,
    dir: &Path,
    now: OffsetDateTime,
    force: bool,
) -> Result<Generated, StoreError> {
    let existing = load_existing(dir)?;
    let keep = match (&existing, force) {
        (Some(old), false) => {
            check_seeding(old, spec, dir)?;
            if spec.seed.is_some() {
                // A seeded PKI is a function of spec, seed and time: nothing is kept.
                Vec::new()
            } else {
                cas_to_keep(old, spec, now)?
            }
        }
        _ => Vec::new(),
    };
    let pki = build_keeping(spec, now, &keep)?;
    let files = write(&pki, dir)?;
    if let Some(old) = &existing {
        remove_stale_files(old, &pki, dir)?;
    }
    Ok(Generated {
        kept: keep.into_iter().map(|e| e.name).collect(),
        pki,
        files,
    })
}

/// The PKI already in `dir`: `None` for a missing or empty directory; an error for a
/// directory that holds other files and no manifest.
pub fn load_existing(dir: &Path) -> Result<Option<Pki>, StoreError> {
    if dir.join(MANIFEST_FILE).exists() {
        return load(dir).map(Some);
    }
    if dir.is_dir() && fs::read_dir(dir).map_err(read_err(dir))?.next().is_some() {
        return Err(StoreError::NotAPkiDir(dir.to_path_buf()));
    }
    Ok(None)
}

/// Removes the files of entities the old PKI had and the new one does not (keys included), so
/// a regenerated directory holds exactly what its manifest names.
fn remove_stale_files(old: &Pki, new: &Pki, dir: &Path) -> Result<(), StoreError> {
    for e in old
        .entities
        .iter()
        .filter(|e| new.entity(&e.name).is_none())
    {
        for file in [
            cert_file(&e.name),
            key_file(&e.name),
            chain_file(&e.name),
            crl_file(&e.name),
        ] {
            let path = dir.join(file);
            match fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::Io { path, source: err });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Refuses (without `--force`) to replace an unseeded PKI's CAs by seeded ones (their keys
/// would be lost) and to keep a seeded PKI's CAs in an unseeded one (its manifest would no
/// longer say that whoever has the seed has the CA keys).
fn check_seeding(old: &Pki, spec: &Spec, dir: &Path) -> Result<(), StoreError> {
    let has_cas = old.entities.iter().any(|e| e.is_ca());
    match (old.seeded_at.is_some(), spec.seed.is_some()) {
        (false, true) if has_cas => Err(StoreError::Seeding(format!(
            "{} holds a PKI generated without a seed: use --force to replace it by a seeded one (its CA keys would be lost)",
            dir.display()
        ))),
        (true, false) => Err(StoreError::Seeding(format!(
            "{} holds a seeded PKI: give the seed (--seed) to regenerate it, or --force to replace it by one with random keys",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// The CAs of an existing PKI that a regeneration keeps. Every CA the old spec made (not the
/// helper CAs of faults, which are issued anew) must still be in the spec, unchanged and valid
/// at `now`; otherwise regenerating would replace a CA key that clients trust, which only
/// `--force` may do.
fn cas_to_keep(old: &Pki, spec: &Spec, now: OffsetDateTime) -> Result<Vec<Entity>, StoreError> {
    let mut keep = Vec::new();
    for e in old
        .entities
        .iter()
        .filter(|e| e.is_ca() && e.fault == Fault::None)
    {
        let Some(ca) = spec.cas.iter().find(|c| c.name == e.name) else {
            return Err(StoreError::DroppedCa(e.name.clone()));
        };
        if e.spec_digest.as_deref() != Some(ca.digest().as_str()) {
            return Err(StoreError::ChangedCa(ca.name.clone()));
        }
        if now < e.not_before || now > e.not_after {
            return Err(StoreError::CaNotValidAt(e.name.clone()));
        }
        keep.push(e.clone());
    }
    Ok(keep)
}

/// Writes every file of a PKI into `dir` (created if needed), each through a temporary file
/// and a rename; keys get mode 0600. Returns the files written.
pub fn write(pki: &Pki, dir: &Path) -> Result<Vec<String>, StoreError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut files = Vec::new();
    let mut put = |name: String, bytes: &[u8], secret: bool| -> Result<(), StoreError> {
        write_atomic(&dir.join(&name), bytes, secret)?;
        files.push(name);
        Ok(())
    };
    for e in &pki.entities {
        put(cert_file(&e.name), pem_certs([&e.cert]).as_bytes(), false)?;
        put(key_file(&e.name), e.key.to_pem().as_bytes(), true)?;
        if !e.role.is_ca() {
            put(chain_file(&e.name), pem_certs(&e.chain).as_bytes(), false)?;
        }
        if let Some(crl) = &e.crl {
            let text = pem::encode(&pem::Pem::new("X509 CRL", crl.to_vec()));
            put(crl_file(&e.name), text.as_bytes(), false)?;
        }
    }
    let roots: Vec<_> = pki.trusted_roots().map(|e| &e.cert).collect();
    put(
        CA_BUNDLE_FILE.to_string(),
        pem_certs(roots).as_bytes(),
        false,
    )?;
    let manifest = serde_json::to_string_pretty(&Manifest::of(pki)).expect("serialisable") + "\n";
    put(MANIFEST_FILE.to_string(), manifest.as_bytes(), false)?;
    Ok(files)
}

/// PEM text of certificates, one block each.
pub fn pem_certs<'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'static>>) -> String {
    certs
        .into_iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.to_vec())))
        .collect()
}

/// Writes a file atomically: a temporary file in the same directory, then a rename. `secret`
/// files get mode 0600 (from creation on, never readable by others) and are synced to disk
/// before the rename; others get 0644.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".certlab-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if secret { 0o600 } else { 0o644 };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(io_err(path))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    tmp.write_all(bytes).map_err(io_err(path))?;
    if secret {
        // A key must survive a crash whole: without it, its certificates are worthless.
        // Certificates and the manifest can be regenerated; the rename alone keeps them atomic.
        tmp.as_file().sync_all().map_err(io_err(path))?;
    }
    tmp.persist(path).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, StoreError> {
    let path = dir.join(name);
    fs::read(&path).map_err(read_err(&path))
}

/// Reads every PEM block of a file (`tag` filters; `None` keeps all).
pub fn read_pem_blocks(path: &Path, tag: Option<&str>) -> Result<Vec<Vec<u8>>, StoreError> {
    let bytes = fs::read(path).map_err(read_err(path))?;
    let blocks = pem::parse_many(&bytes).map_err(|e| StoreError::Malformed {
        path: path.to_path_buf(),
        message: format!("not valid PEM: {e}"),
    })?;
    Ok(blocks
        .into_iter()
        .filter(|p| tag.is_none_or(|t| p.tag() == t))
        .map(|p| p.into_contents())
        .collect())
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
}

/// Reads the certificates of a PEM file (every `CERTIFICATE` block, in order) or a single DER
/// certificate. No certificate is an error.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let bytes = std::fs::read(path).map_err(read_err(path))?;
    let certs: Vec<CertificateDer<'static>> = if is_pem(&bytes) {
        pem::parse_many(&bytes)
            .map_err(|e| malformed(path, format!("not valid PEM: {e}")))?
            .into_iter()
            .filter(|p| p.tag() == "CERTIFICATE")
            .map(|p| CertificateDer::from(p.into_contents()))
            .collect()
    } else if bytes.is_empty() {
        return Err(malformed(path, "the file is empty"));
    } else if x509_parser::parse_x509_certificate(&bytes).is_ok() {
        vec![CertificateDer::from(bytes)]
    } else {
        return Err(malformed(
            path,
            "neither PEM nor a DER certificate (no certificate in the file)",
        ));
    };
    if certs.is_empty() {
        return Err(malformed(path, "no certificate in the file"));
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(c) {
            return Err(malformed(
                path,
                format!("certificate {} is not valid X.509: {e}", i + 1),
            ));
        }
    }
    Ok(certs)
}

/// Reads the CRLs of a PEM (`X509 CRL` blocks) or DER file; each must parse.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, StoreError> {
    let bytes = std::fs::read(path).map_err(read_err(path))?;
    let crls: Vec<Vec<u8>> = if is_pem(&bytes) {
        pem::parse_many(&bytes)
            .map_err(|e| malformed(path, format!("not valid PEM: {e}")))?
            .into_iter()
            .filter(|p| p.tag() == "X509 CRL")
            .map(|p| p.into_contents())
            .collect()
    } else {
        vec![bytes]
    };
    if crls.is_empty() {
        return Err(malformed(path, "no CRL in the file"));
    }
    crls.into_iter()
        .map(|der| {
            webpki::BorrowedCertRevocationList::from_der(&der)
                .map_err(|e| malformed(path, format!("not a CRL certlab can use: {e:?}")))?;
            Ok(CertificateRevocationListDer::from(der))
        })
        .collect()
}

fn malformed(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Loads a PKI directory written by [`write()`]: the manifest and every file it names.
pub fn load(dir: &Path) -> Result<Pki, StoreError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest: Manifest =
        serde_json::from_slice(&read(dir, MANIFEST_FILE)?).map_err(|e| StoreError::Malformed {
            path: manifest_path.clone(),
            message: format!("not a certlab manifest: {e}"),
        })?;
    if manifest.version != MANIFEST_VERSION {
        return Err(StoreError::Malformed {
            path: manifest_path,
            message: format!(
                "manifest version {} is not supported (expected {MANIFEST_VERSION})",
                manifest.version
            ),
        });
    }
    let one = |file: &str, tag: &str| -> Result<Vec<u8>, StoreError> {
        let path = dir.join(file);
        read_pem_blocks(&path, Some(tag))?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Malformed {
                path: path.clone(),
                message: format!("no {tag} block"),
            })
    };
    let mut entities = Vec::new();
    let mut by_name = HashMap::new();
    for m in &manifest.entities {
        let chain = match &m.chain {
            Some(f) => read_pem_blocks(&dir.join(f), Some("CERTIFICATE"))?
                .into_iter()
                .map(CertificateDer::from)
                .collect(),
            None => vec![],
        };
        let crl = match &m.crl {
            Some(f) => Some(CertificateRevocationListDer::from(one(f, "X509 CRL")?)),
            None => None,
        };
        by_name.insert(m.name.clone(), entities.len());
        entities.push(Entity {
            name: m.name.clone(),
            role: m.role,
            issuer: m.issuer.clone(),
            cert: CertificateDer::from(one(&m.cert, "CERTIFICATE")?),
            key: SecretKey::from_pkcs8(one(&m.key, "PRIVATE KEY")?),
            key_alg: m.key_algorithm,
            chain,
            crl,
            sans: m.sans.clone(),
            not_before: m.not_before,
            not_after: m.not_after,
            fault: m.fault,
            expected: m.expected,
            expected_by_client: m.expected_by_client.clone(),
            trusted: m.trusted,
            spec_digest: m.spec_digest.clone(),
        });
    }
    Ok(Pki {
        entities,
        scenarios: manifest.scenarios,
        seeded_at: manifest.issued_at.filter(|_| manifest.seeded),
    })
}
