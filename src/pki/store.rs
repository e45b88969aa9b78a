//! Files: write a [`Pki`] to a directory as one transaction (all-old or all-new, see
//! [`super::txn`]), one writer at a time ([`super::lock`]), 0600 keys, no clobbering of CAs;
//! read it back through its manifest, each file checked against the manifest's SHA-256.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;

use super::issue::{Builder, IssueError, ca_spec_digest};
use super::lock::{DirLock, LockError, lock_timeout};
use super::manifest::{
    CA_BUNDLE_FILE, Derived, MANIFEST_FILE, MANIFEST_VERSION, Manifest, ManifestEntity, cert_file,
    chain_file, crl_file, key_file,
};
use super::spec::Spec;
use super::txn::{self, Txn, View};
use super::{Entity, Fault, FileLayout, Pki, SecretKey, sha256_hex};
use crate::pem::{self, FileError, pem_certs};
use crate::x509::Cert;

/// Why reading or writing a PKI directory failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be written (or a directory created, a file removed), or a file given
    /// to certlab (or one a PKI directory should hold, the manifest included) could not be
    /// read or is not what it should be.
    #[error(transparent)]
    File(#[from] FileError),
    /// The directory holds other files and no manifest.
    #[error("{} holds files but no {MANIFEST_FILE}: refusing to write a PKI into it (choose an empty or new directory)", .0.display())]
    NotAPkiDir(PathBuf),
    /// The directory has no manifest (nothing to read).
    #[error("{} is not a certlab PKI directory (no {MANIFEST_FILE})", .0.display())]
    NoManifest(PathBuf),
    /// A kept CA's spec changed.
    #[error(
        "CA `{0}` in the spec differs from the one already generated (replacing it replaces the whole PKI: clients trusting the old CA must be updated)"
    )]
    ChangedCa(String),
    /// A CA of the existing PKI is not in the spec any more (or its name is now a leaf).
    #[error(
        "CA `{0}` of the existing PKI is not a CA of the spec (replacing the PKI would lose its key)"
    )]
    DroppedCa(String),
    /// A kept CA is not valid at the time of issue.
    #[error("CA `{0}` of the existing PKI is not valid at the time of issue")]
    CaNotValidAt(String),
    /// A file of the PKI is not the one its manifest names (changed, replaced or truncated
    /// after certlab wrote it).
    #[error("{}: {message}; it changed after certlab wrote it", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The PKI directory.
        dir: PathBuf,
        /// What does not match.
        message: String,
    },
    /// A kept CA's key is not the key of its certificate.
    #[error("{} does not match {} (not the CA certificate's key)", key.display(), cert.display())]
    CaKeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// The PKI directory.
        dir: PathBuf,
    },
    /// A file certlab would write exists and `--force` was not given.
    #[error("{} exists: refusing to replace it", .0.display())]
    Exists(PathBuf),
    /// The file belongs to a PKI directory's manifest: replacing it would break that PKI.
    #[error("{} belongs to the PKI in {} (its manifest names it): replacing it would break that PKI", path.display(), dir.display())]
    PkiFile {
        /// The file.
        path: PathBuf,
        /// The PKI directory.
        dir: PathBuf,
    },
    /// Another writer holds the directory's lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Issuing failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// A seeded regeneration would lower a CA's CRL number that `certlab revoke` raised
    /// (RFC 5280 section 5.2.3: it never goes backwards for one issuer).
    #[error(
        "regenerating {} with its seed would {}: `certlab revoke` signed that CRL, a CRL number never goes backwards for one CA key (RFC 5280 5.2.3), and a seeded PKI is only what its spec, seed and time make",
        dir.display(),
        if *new == 0 { format!("drop CA `{name}`'s CRL number {old}") } else { format!("lower CA `{name}`'s CRL number from {old} to {new}") }
    )]
    CrlNumberWouldDrop {
        /// The PKI directory.
        dir: PathBuf,
        /// The CA.
        name: String,
        /// Its CRL number on disk.
        old: u64,
        /// The number the regeneration would give (0: no CRL).
        new: u64,
    },
    /// A seeded PKI would replace an unseeded one (its CA keys would be lost), or an unseeded
    /// one a seeded one (which would keep CAs whose keys anyone with the seed has).
    #[error("{}", seeding_message(dir, seeded))]
    Seeding {
        /// The PKI directory.
        dir: PathBuf,
        /// Whether the existing PKI is the seeded one.
        seeded: bool,
    },
}

impl StoreError {
    /// Whether the error may come from a writer that committed while this process read (a
    /// missing or changed file): such a read is tried again.
    fn is_inconsistency(&self) -> bool {
        match self {
            StoreError::Mismatch { .. } => true,
            StoreError::File(f) => match f.io() {
                Some(e) => e.kind() == std::io::ErrorKind::NotFound,
                None => true,
            },
            _ => false,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| FileError::unwritable(path, source).into()
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| FileError::unreadable(path, source).into()
}

/// Builds the PKI of a spec in memory (no files).
pub fn build(spec: &Spec, now: OffsetDateTime) -> Result<Pki, IssueError> {
    build_keeping(spec, now, &[], &|_| {}, &|_| {})
}

/// Reports progress while a PKI is built: called with the number of leaves just issued, from
/// any of the issuing threads.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Builds the PKI of a spec, reusing the given CAs (certificate and key) where the spec names
/// them.
fn build_keeping(
    spec: &Spec,
    now: OffsetDateTime,
    keep: &[Entity],
    progress: Progress<'_>,
    issued: &(dyn Fn(&Entity) + Sync),
) -> Result<Pki, IssueError> {
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
    builder.add_leaves_streaming(&spec.leaves, progress, issued)?;
    let mut pki = builder.finish()?;
    pki.scenarios = spec
        .scenarios
        .iter()
        .cloned()
        .map(with_client_verdicts)
        .collect();
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
    /// The manifest written.
    pub manifest: Manifest,
}

/// A file derived from a PKI (another format, a rendered config), written with it in one
/// transaction and recorded in the manifest's `derived`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Path relative to the PKI directory.
    pub path: String,
    /// Its content.
    pub bytes: Vec<u8>,
    /// Its mode (0600 for anything holding a key).
    pub mode: u32,
    /// What it is (`der`, `p12`, `combined`, `key`, `config`).
    pub kind: String,
    /// The entities it is made from (`*`: the whole PKI).
    pub source: Vec<String>,
}

/// Generates the PKI of a spec into `dir` ([`Generation::begin`] then
/// [`Generation::commit`]).
pub fn generate(
    spec: &Spec,
    dir: &Path,
    now: OffsetDateTime,
    force: bool,
) -> Result<Generated, StoreError> {
    Generation::begin(spec, dir, now, force)?.commit()
}

/// A generation in progress: `dir` locked, the PKI built, nothing written yet. Add derived
/// files with [`Generation::derive`], then [`Generation::commit`]; dropping it writes nothing
/// (and removes `dir` if this generation created it).
#[derive(Debug)]
pub struct Generation {
    dir: PathBuf,
    lock: Option<DirLock>,
    created: bool,
    old: Option<Manifest>,
    pki: Pki,
    kept: Vec<String>,
    outputs: Vec<Output>,
    /// The files of leaves written while the PKI was built (the transaction's staging).
    prestaged: Option<txn::Prestage>,
}

/// Creates `dir` if needed and locks it; returns the lock and whether `dir` was created.
fn lock_dir(dir: &Path) -> Result<(DirLock, bool), StoreError> {
    let created = !dir.exists();
    crate::pem::create_dirs(dir).map_err(io_err(dir))?;
    match DirLock::acquire(dir, lock_timeout()) {
        Ok(lock) => Ok((lock, created)),
        Err(e) => {
            if created {
                let _ = fs::remove_dir(dir);
            }
            Err(e.into())
        }
    }
}

impl Generation {
    /// Locks `dir` (waiting for another writer up to [`lock_timeout`]), repairs what an
    /// interrupted writer left ([`txn::recover`]), and builds the PKI of `spec`. An existing
    /// PKI there keeps its CAs (verified: files as the manifest says, key matching
    /// certificate) unless `force`; a kept CA whose spec changed is an error; a directory with
    /// other files and no manifest is refused.
    pub fn begin(
        spec: &Spec,
        dir: &Path,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<Generation, StoreError> {
        Generation::begin_with_progress(spec, dir, now, force, &|_| {})
    }

    /// [`Generation::begin`], reporting each leaf issued to `progress` (a progress bar).
    pub fn begin_with_progress(
        spec: &Spec,
        dir: &Path,
        now: OffsetDateTime,
        force: bool,
        progress: Progress<'_>,
    ) -> Result<Generation, StoreError> {
        Generation::start(dir, |old, dir, pre| {
            let keep = match (old, force) {
                (Some(old), false) => {
                    check_seeding(old, spec, dir)?;
                    if spec.seed.is_some() {
                        // A seeded PKI is a function of spec, seed and time: nothing is kept.
                        Vec::new()
                    } else {
                        cas_to_keep(&load_cas(dir)?, spec, now, dir)?
                    }
                }
                _ => Vec::new(),
            };
            // Each leaf's files are written (staged) by the thread that issued it, while the
            // other leaves are issued: writing overlaps issuing.
            let stage = |e: &Entity| {
                thread_local! {
                    static TAILS: std::cell::RefCell<TailCache> = Default::default();
                }
                let files = TAILS.with(|t| entity_files(e, &mut t.borrow_mut()));
                for (rel, bytes, mode) in files {
                    pre.put(&rel, &bytes, mode);
                }
            };
            let pki = build_keeping(spec, now, &keep, progress, &stage)?;
            // Kept CAs continue their CRLs (see `Builder::sign_crls`); a seeded PKI keeps
            // nothing, so it must not go behind a CRL that `revoke` raised.
            if let (Some(old), false, true) = (old, force, spec.seed.is_some())
                && let Some(l) = lowered_crl(old, &pki, dir)
            {
                return Err(StoreError::CrlNumberWouldDrop {
                    dir: dir.to_path_buf(),
                    name: l.name,
                    old: l.old,
                    new: l.new,
                });
            }
            Ok((pki, keep.into_iter().map(|e| e.name).collect()))
        })
    }

    /// Writes a PKI built elsewhere into `dir` (replacing what is there, CAs included).
    pub fn of_pki(pki: Pki, dir: &Path) -> Result<Generation, StoreError> {
        Generation::start(dir, |_, _, _| Ok((pki, vec![])))
    }

    fn start(
        dir: &Path,
        make: impl FnOnce(
            Option<&Manifest>,
            &Path,
            &txn::Prestage,
        ) -> Result<(Pki, Vec<String>), StoreError>,
    ) -> Result<Generation, StoreError> {
        let (lock, created) = lock_dir(dir)?;
        let result = (|| {
            txn::recover(dir, &lock)?;
            let old = existing_manifest(dir)?;
            let pre = txn::Prestage::begin(dir, &lock)?;
            let (pki, kept) = make(old.as_ref(), dir, &pre)?;
            Ok((old, pki, kept, pre))
        })();
        match result {
            Ok((old, pki, kept, pre)) => Ok(Generation {
                prestaged: Some(pre),
                dir: dir.to_path_buf(),
                lock: Some(lock),
                created,
                old,
                pki,
                kept,
                outputs: Vec::new(),
            }),
            Err(e) => {
                drop(lock);
                if created {
                    let _ = fs::remove_dir(dir);
                }
                Err(e)
            }
        }
    }

    /// The PKI that will be written.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The manifest of the PKI already in the directory, if any.
    pub fn existing(&self) -> Option<&Manifest> {
        self.old.as_ref()
    }

    /// Replaces the PKI to write (for a caller that builds it after looking at
    /// [`Generation::existing`] under the lock).
    pub fn replace_pki(&mut self, pki: Pki) {
        self.pki = pki;
        if let Some(pre) = &mut self.prestaged
            && pre.clear().is_err()
        {
            // Could not empty it: stage everything again in a new transaction.
            self.prestaged = None;
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds derived files, written in the same transaction.
    pub fn derive(&mut self, outputs: impl IntoIterator<Item = Output>) {
        self.outputs.extend(outputs);
    }

    /// Writes the PKI as one transaction: every file staged, the manifest committed last, the
    /// files of the old PKI that the new one does not name removed, and derived files whose
    /// sources changed removed unless this generation wrote them again.
    pub fn commit(mut self) -> Result<Generated, StoreError> {
        let lock = self.lock.take().expect("locked until commit");
        let mut txn = match self.prestaged.take() {
            Some(pre) => Txn::adopt(&self.dir, &lock, pre)?,
            None => Txn::begin(&self.dir, &lock)?,
        };
        let mut manifest = Manifest::of(&self.pki);
        let mut tails = TailCache::default();
        for e in &self.pki.entities {
            if txn.staged().contains_key(&e.path(cert_file(&e.name))) {
                // Staged while the PKI was built: the same bytes as below.
                continue;
            }
            for (name, bytes, mode) in entity_files(e, &mut tails) {
                txn.put(&name, &bytes, mode)?;
            }
        }
        let roots: Vec<_> = self.pki.trusted_roots().map(|e| &e.cert).collect();
        txn.put(CA_BUNDLE_FILE, pem_certs(roots).as_bytes(), 0o644)?;
        manifest.files = txn.staged().clone();
        stage_outputs(&mut txn, &mut manifest, &self.outputs, &self.dir)?;
        if let Some(old) = &self.old {
            for d in &old.derived {
                let taken = manifest.derived.iter().any(|n| n.path == d.path)
                    || manifest.files.contains_key(&d.path);
                if !taken && old.source_digest(&d.source) == manifest.source_digest(&d.source) {
                    manifest.derived.push(d.clone());
                }
            }
        }
        let remove: BTreeSet<String> = match &self.old {
            Some(old) => old
                .named_files()
                .difference(&manifest.named_files())
                .cloned()
                .collect(),
            None => BTreeSet::new(),
        };
        let files: Vec<String> = txn.staged().keys().cloned().collect();
        txn.commit(&manifest_bytes(&manifest), &remove)?;
        drop(lock);
        self.created = false;
        Ok(Generated {
            pki: std::mem::take(&mut self.pki),
            kept: std::mem::take(&mut self.kept),
            files,
            manifest,
        })
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        // The staged files go first, while the directory is still locked: removed after the
        // unlock, they could take the staging of the next writer with them.
        drop(self.prestaged.take());
        if let Some(lock) = self.lock.take() {
            drop(lock);
            if self.created {
                let _ = fs::remove_dir(&self.dir);
            }
        }
    }
}

fn manifest_bytes(manifest: &Manifest) -> Vec<u8> {
    (serde_json::to_string_pretty(manifest).expect("serialisable") + "\n").into_bytes()
}

/// Stages derived outputs and records them in `manifest.derived` (an output at the path of a
/// primary file is dropped when it has the same content, refused otherwise).
fn stage_outputs(
    txn: &mut Txn<'_>,
    manifest: &mut Manifest,
    outputs: &[Output],
    dir: &Path,
) -> Result<(), StoreError> {
    for o in outputs {
        if let Some(sha) = manifest.files.get(&o.path) {
            if *sha == sha256_hex(&o.bytes) || same_but_crlf(&dir.join(&o.path), sha, &o.bytes) {
                continue;
            }
            return Err(StoreError::PkiFile {
                path: dir.join(&o.path),
                dir: dir.to_path_buf(),
            });
        }
        let sha = txn.put(&o.path, &o.bytes, o.mode)?;
        let source_sha256 = manifest.source_digest(&o.source);
        manifest.derived.retain(|d| d.path != o.path);
        manifest.derived.push(Derived {
            path: o.path.clone(),
            kind: o.kind.clone(),
            source: o.source.clone(),
            source_sha256,
            sha256: sha,
        });
    }
    Ok(())
}

/// Whether the PKI's file at `path` (whose SHA-256 is `sha`, as its manifest records) holds
/// `bytes` with CRLF line ends: a certlab before LF endings wrote its PEM files so, and an
/// export of the same certificate into that PKI is the PKI's own file, not another one.
fn same_but_crlf(path: &Path, sha: &str, bytes: &[u8]) -> bool {
    fs::read(path).is_ok_and(|disk| {
        disk.len() > bytes.len()
            && sha256_hex(&disk) == sha
            && super::drift::crlf_to_lf(&disk) == bytes
    })
}

/// Adds derived files to the PKI in `dir` (e.g. `certlab export` into the PKI directory) as
/// one transaction: `make` gets the PKI as loaded (each file checked against the manifest);
/// its outputs are written and recorded in the manifest's `derived`. Returns the paths
/// written (relative).
pub fn add_derived<E: From<StoreError>>(
    dir: &Path,
    make: impl FnOnce(&Pki) -> Result<Vec<Output>, E>,
) -> Result<Vec<String>, E> {
    if View::open(dir).map_err(StoreError::from)?.is_none() {
        return Err(StoreError::NoManifest(dir.to_path_buf()).into());
    }
    let lock = DirLock::acquire(dir, lock_timeout()).map_err(StoreError::from)?;
    txn::recover(dir, &lock).map_err(StoreError::from)?;
    let (pki, mut manifest) = load_with_manifest(dir)?;
    let outputs = make(&pki)?;
    let mut txn = Txn::begin(dir, &lock).map_err(StoreError::from)?;
    stage_outputs(&mut txn, &mut manifest, &outputs, dir)?;
    let written: Vec<String> = txn.staged().keys().cloned().collect();
    txn.commit(&manifest_bytes(&manifest), &BTreeSet::new())
        .map_err(StoreError::from)?;
    Ok(written)
}

/// The PEM text of the last chain tail (the intermediates after a leaf), kept: leaves of one
/// issuer share it, so it is encoded once, not once per leaf.
#[derive(Default)]
struct TailCache {
    ders: Vec<CertificateDer<'static>>,
    pem: String,
}

/// The PEM text of a leaf's chain (its certificate first, then the intermediates).
fn chain_pem(e: &Entity, cert: &str, tails: &mut TailCache) -> String {
    match e.chain.split_first() {
        Some((first, tail)) if *first == e.cert => {
            if tails.ders != tail {
                tails.ders = tail.to_vec();
                tails.pem = pem_certs(tail);
            }
            let mut text = String::with_capacity(cert.len() + tails.pem.len());
            text.push_str(cert);
            text.push_str(&tails.pem);
            text
        }
        _ => pem_certs(&e.chain),
    }
}

/// The files of one entity with their modes: `NAME.pem`, `NAME.key` (0600), `NAME.chain.pem`
/// (leaves), `NAME.crl.pem` (issuers with revocations); a leaf with
/// [combined](FileLayout::Combined) files has one, `NAME.pem` (0600): its key, then its chain
/// (which starts with its certificate). With `ca.pem`, the files of a PKI.
fn entity_files(e: &Entity, tails: &mut TailCache) -> Vec<(String, Vec<u8>, u32)> {
    let cert = pem_certs([&e.cert]);
    if !e.role.is_ca() && e.files == FileLayout::Combined {
        let mut text = e.key.to_pem();
        if e.chain.first() == Some(&e.cert) {
            text.push_str(&chain_pem(e, &cert, tails));
        } else {
            // No chain (or one that does not start with the certificate, which the builder
            // refuses): the certificate is the file's first certificate.
            text.push_str(&cert);
        }
        return vec![(e.cert_path(), text.into_bytes(), 0o600)];
    }
    let mut out = Vec::with_capacity(3);
    if !e.role.is_ca() {
        let chain = chain_pem(e, &cert, tails);
        out.push((e.path(chain_file(&e.name)), chain.into_bytes(), 0o644));
    }
    out.insert(0, (e.path(cert_file(&e.name)), cert.into_bytes(), 0o644));
    out.insert(
        1,
        (
            e.path(key_file(&e.name)),
            e.key.to_pem().into_bytes(),
            0o600,
        ),
    );
    if let Some(crl) = &e.crl {
        let text = crate::pem::encode_block("X509 CRL", crl);
        out.push((e.path(crl_file(&e.name)), text.into_bytes(), 0o644));
    }
    out
}

/// The manifest of the PKI in `dir` (`None` for a missing or empty directory); an error for
/// a directory that holds other files and no manifest. certlab's own bookkeeping files (lock,
/// staging directory, temporaries) do not count.
fn existing_manifest(dir: &Path) -> Result<Option<Manifest>, StoreError> {
    if let Some(view) = View::open(dir)? {
        return parse_manifest(&view).map(Some);
    }
    if dir.is_dir() {
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            if !txn::is_bookkeeping(&entry.file_name().to_string_lossy()) {
                return Err(StoreError::NotAPkiDir(dir.to_path_buf()));
            }
        }
    }
    Ok(None)
}

/// The PKI already in `dir`: `None` for a missing or empty directory; an error for a
/// directory that holds other files and no manifest.
pub fn load_existing(dir: &Path) -> Result<Option<Pki>, StoreError> {
    match existing_manifest(dir)? {
        Some(_) => load(dir).map(Some),
        None => Ok(None),
    }
}

/// The CAs of the PKI in `dir` (not the helper CAs of faults), their files checked against
/// the manifest: what a regeneration may keep. Leaves are issued anew, so their files are not
/// read (a damaged leaf does not stop a regenerate, which replaces it).
fn load_cas(dir: &Path) -> Result<Pki, StoreError> {
    read_consistent(dir, |view| {
        let manifest = parse_manifest(view)?;
        let entities = manifest
            .entities
            .iter()
            .filter(|m| m.role.is_ca() && m.fault == Fault::None)
            .map(|m| read_entity(view, &manifest, m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pki {
            entities,
            scenarios: vec![],
            seeded_at: None,
        })
    })
}

fn seeding_message(dir: &Path, seeded: &bool) -> String {
    if *seeded {
        format!(
            "{} holds a seeded PKI: regenerating it needs its seed (or replacing it by one with random keys)",
            dir.display()
        )
    } else {
        format!(
            "{} holds a PKI generated without a seed: a seeded one would replace it (its CA keys would be lost)",
            dir.display()
        )
    }
}

/// Refuses (unless forced) to replace an unseeded PKI's CAs by seeded ones (their keys
/// would be lost) and to keep a seeded PKI's CAs in an unseeded one (its manifest would no
/// longer say that whoever has the seed has the CA keys).
fn check_seeding(old: &Manifest, spec: &Spec, dir: &Path) -> Result<(), StoreError> {
    let has_cas = old.entities.iter().any(|e| e.role.is_ca());
    match (old.seeded, spec.seed.is_some()) {
        (false, true) if has_cas => Err(StoreError::Seeding {
            dir: dir.to_path_buf(),
            seeded: false,
        }),
        (true, false) => Err(StoreError::Seeding {
            dir: dir.to_path_buf(),
            seeded: true,
        }),
        _ => Ok(()),
    }
}

/// The CAs of an existing PKI that a regeneration keeps. Every CA the old spec made (not the
/// helper CAs of faults, which are issued anew) must still be in the spec, unchanged, valid
/// at `now`, and its key must be its certificate's; otherwise regenerating would replace a CA
/// key that clients trust (which only `--force` may do) or issue leaves no client accepts.
fn cas_to_keep(
    old: &Pki,
    spec: &Spec,
    now: OffsetDateTime,
    dir: &Path,
) -> Result<Vec<Entity>, StoreError> {
    let mut keep = Vec::new();
    for e in old
        .entities
        .iter()
        .filter(|e| e.is_ca() && e.fault == Fault::None)
    {
        let Some(ca) = spec.cas.iter().find(|c| c.name == e.name) else {
            return Err(StoreError::DroppedCa(e.name.clone()));
        };
        if !key_matches_cert(&e.key, &e.cert).unwrap_or(false) {
            return Err(StoreError::CaKeyMismatch {
                key: dir.join(key_file(&e.name)),
                cert: dir.join(cert_file(&e.name)),
                dir: dir.to_path_buf(),
            });
        }
        if e.spec_digest.as_deref() != Some(ca_spec_digest(ca).as_str()) {
            return Err(StoreError::ChangedCa(ca.name.clone()));
        }
        if now < e.not_before || now > e.not_after {
            return Err(StoreError::CaNotValidAt(e.name.clone()));
        }
        keep.push(e.clone());
    }
    Ok(keep)
}

/// A CA whose CRL would go backwards: what [`lowered_crl`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoweredCrl {
    /// The CA.
    pub(crate) name: String,
    /// Its CRL number on disk.
    pub(crate) old: u64,
    /// The number the new PKI gives it (0: no CRL at all).
    pub(crate) new: u64,
}

/// The first CA of the PKI on disk in `dir` (its manifest `old`) whose CRL number `new` would
/// lower: the same CA name and key in `new`, with a lower CRL number or none. What cannot be
/// read on disk is passed over (the regeneration replaces it).
pub(crate) fn lowered_crl(old: &Manifest, new: &Pki, dir: &Path) -> Option<LoweredCrl> {
    let spki = |der: &[u8]| Cert::parse(der).ok().map(|c| c.spki().to_vec());
    let number =
        |crl: &CertificateRevocationListDer<'_>| super::issue::read_crl(crl).ok().map(|c| c.number);
    old.entities
        .iter()
        .filter(|m| m.role.is_ca())
        .find_map(|m| {
            let crl = crate::pem::read_crls(&dir.join(m.crl.as_ref()?)).ok()?;
            let old_number = number(crl.first()?)?;
            let ca = new.entity(&m.name).filter(|e| e.is_ca())?;
            let old_cert = crate::pem::read_certs(&dir.join(&m.cert)).ok()?;
            if spki(old_cert.first()?)? != spki(&ca.cert)? {
                return None; // another key: another issuer
            }
            let new_number = match &ca.crl {
                Some(crl) => number(crl)?,
                None => 0,
            };
            (new_number < old_number).then(|| LoweredCrl {
                name: m.name.clone(),
                old: old_number,
                new: new_number,
            })
        })
}

/// Whether a private key is the key of a certificate (same public key). An unreadable key or
/// certificate is an error.
pub fn key_matches_cert(key: &SecretKey, cert: &CertificateDer<'_>) -> Result<bool, String> {
    let pair = key
        .to_key_pair()
        .map_err(|e| format!("not a private key certlab can read: {e}"))?;
    let parsed = Cert::parse(cert).map_err(|e| format!("not a valid certificate: {e}"))?;
    Ok(parsed.public_key() == pair.public_key_raw())
}

/// Writes every file of a PKI into `dir` (created if needed) as one transaction (see
/// [`super::txn`]); keys get mode 0600. A PKI already there is replaced, and its files that
/// the new one does not name are removed. Returns the files written.
pub fn write(pki: &Pki, dir: &Path) -> Result<Vec<String>, StoreError> {
    Ok(Generation::of_pki(pki.clone(), dir)?.commit()?.files)
}

/// The files of one leaf written outside a PKI (`certlab cert`, `certlab sign`). For a leaf
/// whose files are [combined](FileLayout::Combined), all three name the one file `NAME.pem`.
#[derive(Debug, Clone)]
pub struct LeafFiles {
    /// `NAME.pem`.
    pub cert: PathBuf,
    /// `NAME.chain.pem` (`NAME.pem` when combined).
    pub chain: PathBuf,
    /// `NAME.key` (mode 0600; `NAME.pem` when combined, which is 0600 then).
    pub key: PathBuf,
    /// Three files or one.
    pub files: FileLayout,
}

impl LeafFiles {
    /// The distinct files written: `NAME.pem`, `NAME.chain.pem` and `NAME.key`, or the one
    /// combined `NAME.pem`.
    pub fn written(&self) -> Vec<&Path> {
        match self.files {
            FileLayout::Separate => vec![&self.cert, &self.chain, &self.key],
            FileLayout::Combined => vec![&self.cert],
        }
    }
}

/// The three files a leaf named `name` may have in `dir`, whatever its layout: a combined
/// leaf's `NAME.pem` replaces the three (its `NAME.chain.pem` and `NAME.key` from an earlier
/// run would be another identity's).
fn any_leaf_files(dir: &Path, name: &str) -> [(String, PathBuf); 3] {
    [cert_file(name), chain_file(name), key_file(name)].map(|f| {
        let path = dir.join(&f);
        (f, path)
    })
}

/// The files of a leaf (its layout's: see [`entity_files`]) by bare file name.
fn leaf_texts(leaf: &Entity, tails: &mut TailCache) -> Vec<(String, Vec<u8>, u32)> {
    if leaf.dir.is_none() {
        return entity_files(leaf, tails);
    }
    let bare = Entity {
        dir: None,
        ..leaf.clone()
    };
    entity_files(&bare, tails)
}

/// Writes a leaf's `NAME.pem`, `NAME.chain.pem` and `NAME.key` (0600), or its one combined
/// `NAME.pem` (0600, see [`FileLayout::Combined`]), into `dir`: all or none. Holds `dir`'s
/// [lock](super::lock) meanwhile, like `generate` (created if needed), and checks under it:
/// an existing file is not replaced unless `force`, and never a file that the manifest of a
/// PKI in `dir` names (that would break the PKI). A combined leaf also replaces (with `force`)
/// the `NAME.chain.pem` and `NAME.key` of an earlier run, which would not match it. With
/// `force`, a failure part-way puts the replaced files back; a process killed during the
/// renames can still leave a mix, with the old files beside them under hidden names
/// (`.NAME.pem.certlab-old-…`, removed by the next write there). `name` must be a [file name](super::names::file_name), so no
/// file lands outside `dir`.
pub fn write_leaf_files(
    dir: &Path,
    name: &str,
    leaf: &Entity,
    force: bool,
) -> Result<LeafFiles, StoreError> {
    super::names::file_name(name).map_err(IssueError::from)?;
    let lock = lock_output_dir(dir)?;
    sweep_temps(dir);
    sweep_old_copies(dir);
    let files = check_leaf_files(dir, name, leaf.files, force)?;
    let named = Entity {
        name: name.to_string(),
        ..leaf.clone()
    };
    let (mut paths, mut temps) = (Vec::new(), Vec::new());
    for (file, text, mode) in leaf_texts(&named, &mut TailCache::default()) {
        let path = dir.join(file);
        temps.push(pem::stage_as(
            &path,
            &text,
            mode == 0o600,
            true,
            &owned_temp_prefix(),
        )?);
        paths.push(path);
    }
    let stale = stale_files(dir, name, leaf.files, force);
    place_staged(&paths, temps, force, &stale)?;
    drop(lock);
    Ok(files)
}

/// Places staged files at `paths` and removes `stale` ones, all or none: with `force`, each
/// file replaced is first kept under a hidden name (a hard link), so that a failure part-way
/// puts the old files back instead of leaving a new certificate beside an old key, or
/// nothing; without it an existing file is an error ([`StoreError::Exists`]).
fn place_staged(
    paths: &[PathBuf],
    temps: Vec<tempfile::NamedTempFile>,
    force: bool,
    stale: &[PathBuf],
) -> Result<(), StoreError> {
    let mut placing = Placing::default();
    for (path, tmp) in paths.iter().zip(temps) {
        let placed = placing.place(path, force, || {
            if force {
                tmp.persist(path).map(|_| ()).map_err(|e| e.error)
            } else {
                tmp.persist_noclobber(path).map(|_| ()).map_err(|e| e.error)
            }
        });
        if let Err(e) = placed {
            placing.undo();
            return Err(placement_error(path, e));
        }
    }
    for path in stale {
        if let Err(e) = placing.remove(path) {
            placing.undo();
            return Err(FileError::unwritable(path, e).into());
        }
    }
    placing.finish();
    Ok(())
}

/// Writes the certificate of a signed CSR (`certlab sign`) into `dir`: `NAME.pem` and
/// `NAME.chain.pem` (the key stays with whoever made the request), both or neither, with the
/// checks of [`write_leaf_files`] under `dir`'s lock: never a file a PKI's manifest names, no
/// existing file unless `force` (a `NAME.key` there, the requester's, is left alone).
/// Returns the two paths.
pub fn write_signed_files(
    dir: &Path,
    name: &str,
    leaf: &Entity,
    force: bool,
) -> Result<(PathBuf, PathBuf), StoreError> {
    super::names::file_name(name).map_err(IssueError::from)?;
    let lock = lock_output_dir(dir)?;
    sweep_temps(dir);
    sweep_old_copies(dir);
    let (pki, named) = pki_named_files(dir);
    let files = [
        (cert_file(name), pem_certs([&leaf.cert])),
        (chain_file(name), pem_certs(&leaf.chain)),
    ];
    let (mut paths, mut temps) = (Vec::new(), Vec::new());
    for (rel, text) in &files {
        let path = dir.join(rel);
        if named.contains(rel) {
            return Err(StoreError::PkiFile {
                path,
                dir: pki.clone(),
            });
        }
        if !force && fs::symlink_metadata(&path).is_ok() {
            return Err(StoreError::Exists(path));
        }
        temps.push(pem::stage_as(
            &path,
            text.as_bytes(),
            false,
            true,
            &owned_temp_prefix(),
        )?);
        paths.push(path);
    }
    place_staged(&paths, temps, force, &[])?;
    drop(lock);
    let [cert, chain]: [PathBuf; 2] = paths.try_into().expect("two files");
    Ok((cert, chain))
}

/// A placement's error: [`StoreError::Exists`] for a file that is there, else the I/O error.
fn placement_error(path: &Path, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        StoreError::Exists(path.to_path_buf())
    } else {
        FileError::unwritable(path, e).into()
    }
}

/// The `NAME.chain.pem` and `NAME.key` that a combined leaf's `NAME.pem` replaces with `force`
/// (those there).
fn stale_files(dir: &Path, name: &str, files: FileLayout, force: bool) -> Vec<PathBuf> {
    if files != FileLayout::Combined || !force {
        return Vec::new();
    }
    any_leaf_files(dir, name)
        .into_iter()
        .skip(1)
        .map(|(_, path)| path)
        .filter(|p| fs::symlink_metadata(p).is_ok())
        .collect()
}

/// Files put in place one by one; each file a placement replaces is kept under a hidden name
/// until [`Placing::finish`] (which drops the kept ones) or [`Placing::undo`] (which puts them
/// back and removes the new files).
#[derive(Default)]
struct Placing<'a> {
    placed: Vec<(&'a Path, Option<PathBuf>)>,
}

impl<'a> Placing<'a> {
    /// Puts a file at `to` with `put`, first keeping the file there (when `keep`).
    fn place(
        &mut self,
        to: &'a Path,
        keep: bool,
        put: impl FnOnce() -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let old = if keep { keep_old(to)? } else { None };
        let result = put();
        if result.is_ok() || old.is_some() {
            self.placed.push((to, old));
        }
        result
    }

    /// Removes the file at `path` (a stale file the placements make wrong), keeping it
    /// under a hidden name until [`Placing::finish`] or [`Placing::undo`].
    fn remove(&mut self, path: &'a Path) -> std::io::Result<()> {
        if let Some(old) = keep_old(path)? {
            self.placed.push((path, Some(old)));
            fs::remove_file(path)?;
        }
        Ok(())
    }

    /// Puts back what was replaced and removes what was new.
    fn undo(self) {
        for (to, old) in self.placed.into_iter().rev() {
            let _ = match old {
                Some(old) => fs::rename(old, to),
                None => fs::remove_file(to),
            };
        }
    }

    /// Drops the kept files: the placements stand.
    fn finish(self) {
        for old in self.placed.into_iter().filter_map(|(_, old)| old) {
            let _ = fs::remove_file(old);
        }
    }
}

/// The prefix of this process's temporary files (`.certlab-tmp-TAG-PID-`, with the [owner tag
/// and PID](crate::owner)), which [`sweep_temps`] removes once the process has ended.
pub(crate) fn owned_temp_prefix() -> String {
    format!(
        "{}tmp-{}-{}-",
        pem::TEMP_PREFIX,
        crate::owner::owner_tag(),
        std::process::id()
    )
}

/// Removes the temporary files ([`owned_temp_prefix`]) in `dir` whose process has ended (a
/// `certlab cert` or `export -o` killed between writing its files and renaming them leaves
/// them, a private key among them): only files named by this host and PID namespace, never
/// one of a running process ([`crate::owner::ended`]). Returns those removed.
pub(crate) fn sweep_temps(dir: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}tmp-", pem::TEMP_PREFIX);
    // Only a file (not a directory or a link someone planted).
    sweep_ended(
        dir,
        owned_part(|name| name.strip_prefix(prefix.as_str())),
        |t| t.is_file(),
        |p| fs::remove_file(p),
    )
}

/// `f` as the picker of [`sweep_ended`] (a closure borrowing its result from its argument).
fn owned_part<F: for<'n> Fn(&'n str) -> Option<&'n str>>(f: F) -> F {
    f
}

/// Removes the entries of `dir` that an ended process of this host left
/// ([`crate::owner::left_by_ended`]): `owned` picks the `TAG-PID-…` part of a name (`None`: not
/// such an entry), `kind` the file types that may go, `remove` removes one. Returns those
/// removed.
fn sweep_ended(
    dir: &Path,
    owned: impl for<'n> Fn(&'n str) -> Option<&'n str>,
    kind: impl Fn(fs::FileType) -> bool,
    remove: impl Fn(&Path) -> std::io::Result<()>,
) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(&owned) else {
            continue;
        };
        if crate::owner::left_by_ended(rest)
            && entry.file_type().is_ok_and(&kind)
            && remove(&entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed
}

/// What the hidden name of a file kept by [`keep_old`] holds after the file's name:
/// `.NAME.pem.certlab-old-TAG-PID-NANOS-N`, with the [owner tag and PID](crate::owner) of its
/// process.
const OLD_INFIX: &str = ".certlab-old-";

/// Removes the files that [`keep_old`] kept in `dir` for processes that have ended: a `cert
/// --force` (or `cert --count --force`) killed while placing its files leaves the files it
/// replaced under hidden names (private keys among them; a killed fleet of 2,000 left
/// thousands), which nothing else removes. Only files named by this host and PID namespace,
/// never one of a running process ([`crate::owner::ended`]). The caller holds `dir`'s lock.
fn sweep_old_copies(dir: &Path) {
    let owned = owned_part(|name| {
        let n = name.strip_prefix('.')?;
        n.rfind(OLD_INFIX).map(|i| &n[i + OLD_INFIX.len()..])
    });
    sweep_ended(
        dir,
        owned,
        |t| t.is_file() || t.is_symlink(),
        |p| fs::remove_file(p),
    );
}

/// Keeps the file at `path`, if there is one, under a hidden name beside it (a hard link) and
/// returns that name.
fn keep_old(path: &Path) -> std::io::Result<Option<PathBuf>> {
    match fs::symlink_metadata(path) {
        // A symbolic link is kept as the link (a hard link to a link does not follow it).
        Ok(meta) if meta.is_file() || meta.file_type().is_symlink() => {}
        // Nothing to keep (a directory in the way makes the write itself fail).
        _ => return Ok(None),
    }
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..16u32 {
        let old = path.with_file_name(format!(
            ".{file}{OLD_INFIX}{}-{}-{nanos}-{attempt}",
            crate::owner::owner_tag(),
            std::process::id()
        ));
        match fs::hard_link(path, &old) {
            Ok(()) => return Ok(Some(old)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::ErrorKind::AlreadyExists.into())
}

/// Writes the files of many leaves (`certlab cert --count`) into `dir` as one transaction:
/// every leaf's `NAME.pem`, `NAME.chain.pem` and `NAME.key` (0600), or its one combined
/// `NAME.pem` (0600, see [`FileLayout::Combined`]), or none of them. The names must be
/// distinct [file names](super::names::file_name). Every file is written into a hidden
/// staging directory and synced (one `syncfs`), and nothing has a final name until all are
/// written:
///
/// - when `dir` does not exist, the staging directory is made beside it and renamed to `dir`
///   (one atomic rename: a process killed at any instant leaves no `dir` or a complete one;
///   what a killed run leaves is a hidden `.certlab-fleet-*` directory beside `dir`, which
///   the next fleet staged there removes once its process has ended; another
///   writer cannot come between, the rename fails if `dir` appeared meanwhile);
/// - otherwise (an existing directory keeps its mode, owner and inode) `dir` is
///   [locked](super::lock) like `generate` locks it, so concurrent writers take turns; under
///   the lock the names are checked as [`check_leaf_files`] checks them (the manifest of a
///   PKI in `dir` read once) and the staged files are placed one by one (never over an
///   existing file unless `force`, and then the file replaced is kept under a hidden name
///   until all are placed); an error removes the new files and puts the replaced ones back,
///   so the leaves' files are all new or all as before, except if the process is killed
///   during that last step.
pub fn write_fleet_files(
    dir: &Path,
    leaves: &[Entity],
    force: bool,
) -> Result<Vec<LeafFiles>, StoreError> {
    let mut seen = BTreeSet::new();
    for leaf in leaves {
        super::names::file_name(&leaf.name).map_err(IssueError::from)?;
        if !seen.insert(leaf.name.as_str()) {
            return Err(StoreError::Exists(dir.join(cert_file(&leaf.name))));
        }
    }
    // Only a directory that does not exist yet is made by one rename: an existing one, even
    // empty, keeps its inode, mode, owner and ACLs (and may be a mount point).
    let fresh = match fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(FileError::unwritable(dir, e).into()),
    };
    if fresh {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::pem::create_dirs(parent).map_err(io_err(parent))?;
        let staging = Staging::new(parent)?;
        stage_fleet(&staging, leaves)?;
        if rename_new_dir(&staging.0, dir).is_ok() {
            let _ = fs::File::open(parent).and_then(|d| d.sync_all());
            std::mem::forget(staging);
            return Ok(leaves
                .iter()
                .map(|l| leaf_files(dir, &l.name, l.files))
                .collect());
        }
        // A directory was made meanwhile (another writer's): place the files into it, under
        // its lock.
        let lock = lock_output_dir(dir)?;
        return place_fleet(dir, leaves, force, &staging, &lock);
    }
    let lock = lock_output_dir(dir)?;
    sweep_old_copies(dir);
    // Declared after the lock: removed before the lock is released.
    let staging = Staging::new(dir)?;
    stage_fleet(&staging, leaves)?;
    place_fleet(dir, leaves, force, &staging, &lock)
}

/// Renames the directory `from` to `to`, which must not exist: a plain rename would replace
/// an empty directory made meanwhile (its inode, mode and owner lost), so the rename refuses
/// any `to` (`RENAME_NOREPLACE`; where the file system has no such rename, a `to` seen
/// there).
fn rename_new_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let cstr = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        };
        let (f, t) = (cstr(from)?, cstr(to)?);
        // SAFETY: two NUL-terminated paths that live across the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(err);
        }
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    fs::rename(from, to)
}

/// Writes every leaf's files into the staging directory (bare file names) and syncs them.
fn stage_fleet(staging: &Staging, leaves: &[Entity]) -> Result<(), StoreError> {
    let mut tails = TailCache::default();
    let mut staged = Vec::with_capacity(leaves.len() * 3);
    for leaf in leaves {
        for (file, text, mode) in leaf_texts(leaf, &mut tails) {
            let from = staging.0.join(file);
            txn::write_new(&from, &text, mode)?;
            staged.push(from);
        }
    }
    txn::sync_files(&staging.0, staged.iter().map(PathBuf::as_path))?;
    Ok(())
}

/// Places the staged files of `leaves` into `dir` (locked by the caller), after checking every
/// name under the lock; on an error puts back what they replaced (`force`) and removes the new
/// ones.
fn place_fleet(
    dir: &Path,
    leaves: &[Entity],
    force: bool,
    staging: &Staging,
    _lock: &DirLock,
) -> Result<Vec<LeafFiles>, StoreError> {
    let named = pki_named_files(dir);
    let mut all = Vec::with_capacity(leaves.len());
    let mut stale = Vec::new();
    for leaf in leaves {
        all.push(checked_leaf_files(
            dir, &leaf.name, leaf.files, force, &named,
        )?);
        stale.extend(stale_files(dir, &leaf.name, leaf.files, force));
    }
    let mut placing = Placing::default();
    for to in all.iter().flat_map(LeafFiles::written) {
        let from = staging.0.join(to.file_name().expect("a file name"));
        let placed = placing.place(to, force, || {
            if force {
                fs::rename(&from, to)
            } else {
                fs::hard_link(&from, to)
            }
        });
        if let Err(e) = placed {
            placing.undo();
            return Err(placement_error(to, e));
        }
    }
    for path in &stale {
        if let Err(e) = placing.remove(path) {
            placing.undo();
            return Err(FileError::unwritable(path, e).into());
        }
    }
    placing.finish();
    let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(all)
}

/// A hidden staging directory (`.certlab-fleet-TAG-PID-N`, with the [owner tag and
/// PID](crate::owner) of its process), removed when dropped.
struct Staging(PathBuf);

impl Staging {
    /// Makes a staging directory in `home`, after removing those that killed runs left there
    /// (their private keys included; see [`sweep_stagings`]).
    fn new(home: &Path) -> Result<Staging, StoreError> {
        sweep_stagings(home);
        let (tag, pid) = (crate::owner::owner_tag(), std::process::id());
        for n in 0u32.. {
            let path = home.join(format!("{}fleet-{tag}-{pid}-{n}", pem::TEMP_PREFIX));
            match crate::pem::create_dir(&path) {
                Ok(()) => return Ok(Staging(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => continue,
                Err(e) => return Err(FileError::unwritable(&path, e).into()),
            }
        }
        unreachable!("the loop returns")
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes the staging directories in `home` of fleet writes whose process has ended (a
/// `cert --count` killed with SIGKILL cannot remove its own): only directories named by this
/// host and PID namespace, never one of a running process ([`crate::owner::ended`]). Returns
/// those removed.
fn sweep_stagings(home: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}fleet-", pem::TEMP_PREFIX);
    // Not a symbolic link someone planted: only a directory is removed.
    sweep_ended(
        home,
        owned_part(|name| name.strip_prefix(prefix.as_str())),
        |t| t.is_dir(),
        |p| fs::remove_dir_all(p),
    )
}

/// The files the manifest of a PKI names in `dir`, relative to `dir`, and that PKI's
/// directory: the PKI in `dir`, or the one `dir` is a sub-directory of (`pki/clients` holds
/// the files of `pki`'s leaves with `dir = "clients"`). None when there is no PKI there.
fn pki_named_files(dir: &Path) -> (PathBuf, BTreeSet<String>) {
    let named = |view: &View| {
        parse_manifest(view)
            .map(|m| m.named_files())
            .unwrap_or_default()
    };
    if let Ok(Some(view)) = View::open(dir) {
        return (dir.to_path_buf(), named(&view));
    }
    let real = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if let Some(pki) = parent_pki(&real)
        && let Ok(Some(view)) = View::open(&pki)
    {
        let prefix = format!(
            "{}/",
            real.file_name().unwrap_or_default().to_string_lossy()
        );
        let files = named(&view)
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix).map(str::to_string))
            .collect();
        return (pki, files);
    }
    (dir.to_path_buf(), BTreeSet::new())
}

/// The PKI directory `dir` is a sub-directory of (its parent has a manifest and `dir` none);
/// `dir` as given (see [`lock_output_dir`] and [`pki_named_files`], which resolve links).
fn parent_pki(dir: &Path) -> Option<PathBuf> {
    dir.file_name()?;
    if matches!(View::open(dir), Ok(Some(_))) {
        return None;
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    matches!(View::open(parent), Ok(Some(_))).then(|| parent.to_path_buf())
}

/// Locks the directory writes into `dir` take turns on, creating `dir` if needed: `dir`'s own
/// lock, or the PKI's when `dir` is a sub-directory of a PKI (which `generate` writes under
/// the PKI's lock).
fn lock_output_dir(dir: &Path) -> Result<DirLock, StoreError> {
    let real = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    match parent_pki(&real) {
        Some(pki) => {
            let (lock, _) = lock_dir(&pki)?;
            crate::pem::create_dirs(dir).map_err(io_err(dir))?;
            Ok(lock)
        }
        None => Ok(lock_dir(dir)?.0),
    }
}

/// The paths of a leaf's files in `dir` in a layout.
fn leaf_files(dir: &Path, name: &str, files: FileLayout) -> LeafFiles {
    let [(_, cert), (_, chain), (_, key)] = any_leaf_files(dir, name);
    match files {
        FileLayout::Separate => LeafFiles {
            cert,
            chain,
            key,
            files,
        },
        FileLayout::Combined => LeafFiles {
            chain: cert.clone(),
            key: cert.clone(),
            cert,
            files,
        },
    }
}

/// The paths [`write_leaf_files`] would write for a leaf of that layout, checked: a valid
/// name, no file of a PKI's manifest, no existing file unless `force` (`NAME.pem`,
/// `NAME.chain.pem` and `NAME.key` in either layout: a combined leaf's `NAME.pem` replaces
/// the three). Call it before issuing to fail early; the writers check again under the lock.
pub fn check_leaf_files(
    dir: &Path,
    name: &str,
    files: FileLayout,
    force: bool,
) -> Result<LeafFiles, StoreError> {
    checked_leaf_files(dir, name, files, force, &pki_named_files(dir))
}

/// [`check_leaf_files`] with the files of the PKI in `dir` given (`named`).
fn checked_leaf_files(
    dir: &Path,
    name: &str,
    files: FileLayout,
    force: bool,
    (pki, named): &(PathBuf, BTreeSet<String>),
) -> Result<LeafFiles, StoreError> {
    super::names::file_name(name).map_err(IssueError::from)?;
    for (rel, path) in any_leaf_files(dir, name) {
        if named.contains(&rel) {
            return Err(StoreError::PkiFile {
                path,
                dir: pki.clone(),
            });
        }
        if !force && fs::symlink_metadata(&path).is_ok() {
            return Err(StoreError::Exists(path));
        }
    }
    Ok(leaf_files(dir, name, files))
}

/// The view's manifest read as `M` (the whole [`Manifest`], or only the part a reader needs),
/// refused unless its `version` (read by `version`) is [`MANIFEST_VERSION`].
fn parse_manifest_as<'v, M: serde::Deserialize<'v>>(
    view: &'v View,
    version: impl Fn(&M) -> u32,
) -> Result<M, StoreError> {
    let path = view.path(MANIFEST_FILE);
    let manifest: M = serde_json::from_slice(&view.manifest)
        .map_err(|e| FileError::malformed(&path, format!("not a certlab manifest: {e}")))?;
    let found = version(&manifest);
    if found != MANIFEST_VERSION {
        return Err(FileError::malformed(
            &path,
            format!("manifest version {found} is not supported (expected {MANIFEST_VERSION})"),
        )
        .into());
    }
    Ok(manifest)
}

fn parse_manifest(view: &View) -> Result<Manifest, StoreError> {
    let path = view.path(MANIFEST_FILE);
    let manifest = parse_manifest_as(view, |m: &Manifest| m.version)?;
    if let Some(bad) = manifest
        .named_files()
        .into_iter()
        .find(|f| !txn::is_safe_relative(f))
    {
        return Err(FileError::malformed(
            &path,
            format!("names `{bad}`, a path outside the directory"),
        )
        .into());
    }
    check_entities(&manifest).map_err(|message| FileError::malformed(&path, message))?;
    Ok(manifest)
}

/// Whether a manifest's entities are as certlab writes them: distinct names, no file of two
/// entities (nor of an entity and a derived file), each issuer a CA of the PKI (or the entity
/// itself: a self-signed one). A manifest edited otherwise is refused, as a path outside the
/// directory is: readers would call it clean and writers would act on it (`renew` renewed one
/// `client` twice and left a manifest that no longer matched `client.pem`).
fn check_entities(manifest: &Manifest) -> Result<(), String> {
    let mut names = BTreeSet::new();
    let mut owners: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for e in &manifest.entities {
        if !names.insert(e.name.as_str()) {
            return Err(format!("names the entity `{}` twice", e.name));
        }
        let files: BTreeSet<&String> = [
            Some(&e.cert),
            Some(&e.key),
            e.chain.as_ref(),
            e.crl.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        for f in files {
            if let Some(other) = owners.insert(f, &e.name) {
                return Err(format!(
                    "gives `{f}` to two entities, `{other}` and `{}`",
                    e.name
                ));
            }
        }
    }
    owners.insert(MANIFEST_FILE, "the PKI");
    owners.insert(super::manifest::CA_BUNDLE_FILE, "the PKI");
    if let Some((d, owner)) = manifest
        .derived
        .iter()
        .find_map(|d| owners.get(d.path.as_str()).map(|o| (d, o)))
    {
        return Err(format!(
            "names `{}` as a derived file, but it is a file of `{owner}`",
            d.path
        ));
    }
    // A path named as a file and, as a directory, holding another one (`configs` and
    // `configs/reproduce.sh`).
    let named = manifest.named_files();
    if let Some(dir) = named.iter().find(|f| {
        named
            .range(format!("{f}/")..)
            .next()
            .is_some_and(|g| g.starts_with(&format!("{f}/")))
    }) {
        return Err(format!("names `{dir}` as a file and as a directory"));
    }
    let cas: BTreeSet<&str> = manifest
        .entities
        .iter()
        .filter(|e| e.role.is_ca())
        .map(|e| e.name.as_str())
        .collect();
    if let Some(e) = manifest
        .entities
        .iter()
        .find(|e| e.issuer != e.name && !cas.contains(e.issuer.as_str()))
    {
        return Err(format!(
            "gives `{}` the issuer `{}`, which is not a CA of this PKI",
            e.name, e.issuer
        ));
    }
    Ok(())
}

/// Reads one file of a view, checked against the manifest's SHA-256 when it records one.
fn read_checked(view: &View, manifest: &Manifest, rel: &str) -> Result<Vec<u8>, StoreError> {
    read_checked_as(view, manifest.files.get(rel).map(String::as_str), rel)
}

/// [`read_checked`] against the SHA-256 `expected` (`None`: the manifest records none).
fn read_checked_as(view: &View, expected: Option<&str>, rel: &str) -> Result<Vec<u8>, StoreError> {
    let path = view.path(rel);
    let bytes = view.read(rel).map_err(read_err(&path))?;
    if let Some(expected) = expected {
        let actual = sha256_hex(&bytes);
        if expected != actual {
            return Err(StoreError::Mismatch {
                dir: view.dir().to_path_buf(),
                path,
                message: "not the file the manifest records (its SHA-256 differs)".into(),
            });
        }
    }
    Ok(bytes)
}

/// Reads one entity of a view (its certificate, key, chain and CRL), each file checked.
fn read_entity(view: &View, manifest: &Manifest, m: &ManifestEntity) -> Result<Entity, StoreError> {
    // A leaf whose certificate and key are one file (combined): that file is read once.
    let files = if !m.role.is_ca() && m.key == m.cert {
        FileLayout::Combined
    } else {
        FileLayout::Separate
    };
    let combined = match files {
        FileLayout::Combined => Some(read_checked(view, manifest, &m.cert)?),
        FileLayout::Separate => None,
    };
    let bytes_of = |file: &str| -> Result<std::borrow::Cow<'_, [u8]>, StoreError> {
        match &combined {
            Some(bytes) if file == m.cert => Ok(std::borrow::Cow::Borrowed(bytes)),
            _ => read_checked(view, manifest, file).map(std::borrow::Cow::Owned),
        }
    };
    let one = |file: &str, tag: &str| -> Result<Vec<u8>, StoreError> {
        let bytes = bytes_of(file)?;
        let path = view.path(file);
        pem::parse_blocks(&path, &bytes, Some(tag))?
            .into_iter()
            .next()
            .ok_or_else(|| FileError::malformed(&path, format!("no {tag} block")).into())
    };
    let chain = match &m.chain {
        Some(f) => pem::parse_blocks(&view.path(f), &bytes_of(f)?, Some("CERTIFICATE"))?
            .into_iter()
            .map(CertificateDer::from)
            .collect(),
        None => vec![],
    };
    let crl = match &m.crl {
        Some(f) => Some(CertificateRevocationListDer::from(one(f, "X509 CRL")?)),
        None => None,
    };
    let cert = CertificateDer::from(one(&m.cert, "CERTIFICATE")?);
    let actual = sha256_hex(&cert);
    if actual != m.sha256 {
        return Err(StoreError::Mismatch {
            path: view.path(&m.cert),
            dir: view.dir().to_path_buf(),
            message: format!(
                "the certificate's SHA-256 is {actual}, the manifest says {}",
                m.sha256
            ),
        });
    }
    Ok(Entity {
        name: m.name.clone(),
        role: m.role,
        issuer: m.issuer.clone(),
        cert,
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
        dir: m
            .cert
            .rsplit_once('/')
            .map(|(dir, _)| dir.to_string())
            .filter(|d| !d.is_empty()),
        files,
    })
}

fn load_view(view: &View) -> Result<(Pki, Manifest), StoreError> {
    let manifest = parse_manifest(view)?;
    let entities = manifest
        .entities
        .iter()
        .map(|m| read_entity(view, &manifest, m))
        .collect::<Result<Vec<_>, _>>()?;
    let pki = Pki {
        entities,
        scenarios: manifest.scenarios.clone(),
        seeded_at: manifest.issued_at.filter(|_| manifest.seeded),
    };
    Ok((pki, manifest))
}

/// How often a reader that raced a writer reads again, and how long it waits in between.
const READ_ATTEMPTS: u32 = 100;
const READ_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Opens the committed view of `dir` and reads it with `read`, again while a writer commits.
fn read_consistent<T>(
    dir: &Path,
    read: impl Fn(&View) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let view = View::open(dir)?.ok_or_else(|| StoreError::NoManifest(dir.to_path_buf()))?;
        match read(&view) {
            Err(e) if e.is_inconsistency() && view.is_stale() => {
                attempt += 1;
                if attempt >= READ_ATTEMPTS {
                    // Writers kept committing while this read: the directory is busy, not
                    // broken (a mismatch here would blame the files and suggest --force).
                    return Err(StoreError::Lock(LockError::Busy {
                        dir: dir.to_path_buf(),
                        waited: started.elapsed(),
                    }));
                }
                std::thread::sleep(READ_PAUSE);
            }
            other => return other,
        }
    }
}

fn load_with_manifest(dir: &Path) -> Result<(Pki, Manifest), StoreError> {
    read_consistent(dir, load_view)
}

/// Loads a PKI directory written by [`write()`]: the manifest and every file it names for its
/// entities, each checked against the manifest's SHA-256 (a file changed after certlab wrote
/// it is [`StoreError::Mismatch`]). Takes no lock: a writer committing meanwhile is noticed
/// and the directory read again, so the PKI returned is the old one or the new one.
pub fn load(dir: &Path) -> Result<Pki, StoreError> {
    load_with_manifest(dir).map(|(pki, _)| pki)
}

/// What a client of a PKI directory trusts and knows, read by [`load_trust`].
#[derive(Debug, Clone, Default)]
pub struct TrustFiles {
    /// The certificates of the trusted roots (what `ca.pem` holds), in manifest order.
    pub roots: Vec<CertificateDer<'static>>,
    /// The certificates of every intermediate CA, in manifest order.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// Every CRL of the PKI, in manifest order.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

/// Loads only what a client of the PKI in `dir` needs (`certlab probe --pki`): the trusted
/// roots' and the intermediates' certificates, every CRL, and `ca.pem`, each file checked
/// against the manifest's SHA-256 like [`load`] does (a file changed after certlab wrote it is
/// [`StoreError::Mismatch`]). Leaves, keys and chains are not read: a directory of 10,000
/// identities costs a probe the few CA files, not 30,000 reads and hashes. The same roots,
/// intermediates and CRLs as `load` followed by `TrustStore::from_pki`.
pub fn load_trust(dir: &Path) -> Result<TrustFiles, StoreError> {
    read_consistent(dir, load_trust_view)
}

/// What [`load_trust`] reads of the manifest: the version, each entity's role, certificate,
/// CRL and hash, and the files' hashes. The rest (scenarios, client words, dates, names) is
/// skipped by the parser without being built (it must still be JSON: a manifest broken
/// anywhere is refused), and what is read is borrowed from the manifest's bytes, not copied:
/// a `probe --pki` of the lab parsed the whole manifest in ~0.4 ms, its trust part into owned
/// strings and a map in ~0.12 ms. The files it reads are checked as [`load`] checks them
/// (paths inside the directory, SHA-256 of each).
#[derive(serde::Deserialize)]
struct TrustManifest<'a> {
    version: u32,
    #[serde(borrow)]
    entities: Vec<TrustEntry<'a>>,
    #[serde(default, borrow)]
    files: FileHashes<'a>,
}

/// One entity of a [`TrustManifest`].
#[derive(serde::Deserialize)]
struct TrustEntry<'a> {
    role: crate::Role,
    #[serde(borrow)]
    cert: Text<'a>,
    #[serde(default, borrow)]
    crl: Option<Text<'a>>,
    #[serde(borrow)]
    sha256: Text<'a>,
    #[serde(default)]
    trusted: bool,
}

/// A string of the manifest, borrowed from its bytes unless it holds an escape.
#[derive(serde::Deserialize)]
struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// The manifest's `files` (relative path, SHA-256) in the order written, borrowed: a repeated
/// path counts with its last hash, as in the map [`load`] reads.
#[derive(Default)]
struct FileHashes<'a>(Vec<(Text<'a>, Text<'a>)>);

impl FileHashes<'_> {
    /// The SHA-256 the manifest records for `rel`.
    fn get(&self, rel: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(path, _)| path.0 == rel)
            .map(|(_, sha)| sha.0.as_ref())
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for FileHashes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = FileHashes<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of file paths to SHA-256 hashes")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<Text<'a>, Text<'a>>()? {
                    out.push(entry);
                }
                Ok(FileHashes(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

fn parse_trust_manifest(view: &View) -> Result<TrustManifest<'_>, StoreError> {
    parse_manifest_as(view, |m: &TrustManifest<'_>| m.version)
}

fn load_trust_view(view: &View) -> Result<TrustFiles, StoreError> {
    let manifest = parse_trust_manifest(view)?;
    let files = &manifest.files;
    // `ca.pem` is what the roots are handed out as: it must be what certlab wrote too.
    if let Some(expected) = files.get(CA_BUNDLE_FILE) {
        read_checked_as(view, Some(expected), CA_BUNDLE_FILE)?;
    }
    let one = |file: &str, tag: &str| -> Result<Vec<u8>, StoreError> {
        let bytes = read_checked_as(view, files.get(file), file)?;
        let path = view.path(file);
        pem::parse_blocks(&path, &bytes, Some(tag))?
            .into_iter()
            .next()
            .ok_or_else(|| FileError::malformed(&path, format!("no {tag} block")).into())
    };
    let mut out = TrustFiles::default();
    for m in &manifest.entities {
        if let Some(f) = &m.crl {
            out.crls
                .push(CertificateRevocationListDer::from(one(&f.0, "X509 CRL")?));
        }
        let root = m.role == crate::Role::Root && m.trusted;
        if !root && m.role != crate::Role::Intermediate {
            continue;
        }
        let cert = CertificateDer::from(one(&m.cert.0, "CERTIFICATE")?);
        let actual = sha256_hex(&cert);
        if actual != m.sha256.0 {
            return Err(StoreError::Mismatch {
                path: view.path(&m.cert.0),
                dir: view.dir().to_path_buf(),
                message: format!(
                    "the certificate's SHA-256 is {actual}, the manifest says {}",
                    m.sha256.0
                ),
            });
        }
        if root {
            out.roots.push(cert);
        } else {
            out.intermediates.push(cert);
        }
    }
    Ok(out)
}

/// Something wrong in a PKI directory ([`audit`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The manifest has no entities.
    #[error(
        "the PKI is empty: its manifest names no certificate (regenerate it: certlab generate -o DIR)"
    )]
    Empty,
    /// A file the manifest names is missing.
    #[error("{0}: missing (the manifest names it)")]
    Missing(String),
    /// A file is not what the manifest says.
    #[error("{path}: does not match the manifest ({message})")]
    HashMismatch {
        /// The file (relative).
        path: String,
        /// What differs.
        message: String,
    },
    /// A file cannot be read or parsed.
    #[error("{path}: {message}")]
    Unreadable {
        /// The file (relative).
        path: String,
        /// Why.
        message: String,
    },
    /// A key is not its certificate's.
    #[error("{key}: does not match {cert} (not the certificate's key)")]
    KeyMismatch {
        /// The key file.
        key: String,
        /// The certificate file.
        cert: String,
    },
    /// A chain file does not chain.
    #[error("{chain}: does not chain ({message})")]
    BrokenChain {
        /// The chain file.
        chain: String,
        /// Where it breaks.
        message: String,
    },
    /// A derived file is older than its sources.
    #[error("{path}: stale: made from {sources} as they were before a regenerate")]
    StaleDerived {
        /// The derived file.
        path: String,
        /// Its sources.
        sources: String,
    },
}

/// What [`audit`] found: the entities that could be read, and every problem.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The entities whose files could be read (the others are named in `problems`).
    pub pki: Pki,
    /// The manifest.
    pub manifest: Manifest,
    /// Everything wrong, one entry per problem.
    pub problems: Vec<Problem>,
}

/// Checks a PKI directory as a whole without stopping at the first problem: every file the
/// manifest names exists and matches its SHA-256 (derived files included), every key matches
/// its certificate (but the `key-mismatch` faults), every chain starts with its certificate
/// and chains (each certificate signed by the next; the faults that break chains on purpose
/// excepted), derived files are not stale, and the PKI is not empty. An error only when there
/// is no readable manifest.
pub fn audit(dir: &Path) -> Result<Audit, StoreError> {
    let mut attempt = 0;
    loop {
        let view = View::open(dir)?.ok_or_else(|| StoreError::NoManifest(dir.to_path_buf()))?;
        let audit = audit_view(&view)?;
        // A reader that raced a commit sees problems that are not there: read again.
        if audit.problems.is_empty() || attempt + 1 >= READ_ATTEMPTS || !view.is_stale() {
            return Ok(audit);
        }
        attempt += 1;
        std::thread::sleep(READ_PAUSE);
    }
}

fn audit_view(view: &View) -> Result<Audit, StoreError> {
    let manifest = parse_manifest(view)?;
    let mut problems = Vec::new();
    if manifest.entities.is_empty() {
        problems.push(Problem::Empty);
    }
    let mut reported = BTreeSet::new();
    let check_file =
        |rel: &str, expected: Option<&String>, problems: &mut Vec<Problem>| match view.read(rel) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(Problem::Missing(rel.to_string()));
                false
            }
            Err(e) => {
                problems.push(Problem::Unreadable {
                    path: rel.to_string(),
                    message: e.to_string(),
                });
                false
            }
            Ok(bytes) => match expected {
                Some(sha) if *sha != sha256_hex(&bytes) => {
                    problems.push(Problem::HashMismatch {
                        path: rel.to_string(),
                        message: format!("SHA-256 {}, expected {sha}", sha256_hex(&bytes)),
                    });
                    false
                }
                _ => true,
            },
        };
    let mut bad_files = BTreeSet::new();
    for (rel, sha) in &manifest.files {
        if !check_file(rel, Some(sha), &mut problems) {
            bad_files.insert(rel.clone());
        }
        reported.insert(rel.clone());
    }
    for d in &manifest.derived {
        if reported.insert(d.path.clone()) {
            check_file(&d.path, Some(&d.sha256), &mut problems);
        }
        if manifest.source_digest(&d.source) != d.source_sha256 {
            problems.push(Problem::StaleDerived {
                path: d.path.clone(),
                sources: d.source.join(", "),
            });
        }
    }
    let mut entities = Vec::new();
    for m in &manifest.entities {
        let files = [
            Some(&m.cert),
            Some(&m.key),
            m.chain.as_ref(),
            m.crl.as_ref(),
        ];
        if files.iter().flatten().any(|f| bad_files.contains(*f)) {
            continue; // already reported
        }
        let e = match read_entity(view, &manifest, m) {
            Ok(e) => e,
            Err(err) => {
                let rel = files
                    .iter()
                    .flatten()
                    .find(|f| match &err {
                        StoreError::File(file) => file.path == view.path(f),
                        other => other
                            .to_string()
                            .starts_with(&view.path(f).display().to_string()),
                    })
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| m.name.clone());
                let message = match &err {
                    StoreError::File(f) => f.kind.to_string(),
                    other => {
                        let message = other.to_string();
                        message
                            .strip_prefix(&format!("{}: ", view.path(&rel).display()))
                            .unwrap_or(&message)
                            .to_string()
                    }
                };
                match &err {
                    StoreError::File(f)
                        if f.io()
                            .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
                    {
                        problems.push(Problem::Missing(rel))
                    }
                    StoreError::Mismatch { .. } => {
                        problems.push(Problem::HashMismatch { path: rel, message })
                    }
                    _ => problems.push(Problem::Unreadable { path: rel, message }),
                }
                continue;
            }
        };
        if e.fault != Fault::KeyMismatch && !key_matches_cert(&e.key, &e.cert).unwrap_or(false) {
            problems.push(Problem::KeyMismatch {
                key: m.key.clone(),
                cert: m.cert.clone(),
            });
        }
        if let Some(chain_rel) = &m.chain
            && e.fault == Fault::None
            && let Err(message) = chains(&e.chain, &e.cert)
        {
            problems.push(Problem::BrokenChain {
                chain: chain_rel.clone(),
                message,
            });
        }
        entities.push(e);
    }
    // The last certificate of a chain is signed by one of the entity's issuers.
    let pki = Pki {
        entities,
        scenarios: manifest.scenarios.clone(),
        seeded_at: manifest.issued_at.filter(|_| manifest.seeded),
    };
    // By name: one lookup per entity, not a scan of the PKI (fleets have thousands).
    let by_name: std::collections::HashMap<&str, &Entity> =
        pki.entities.iter().map(|e| (e.name.as_str(), e)).collect();
    for m in &manifest.entities {
        let (Some(e), Some(chain_rel)) = (by_name.get(m.name.as_str()).copied(), &m.chain) else {
            continue;
        };
        // Only where every issuer could be read (an unreadable one is a problem already).
        let mut issuers = Vec::new();
        let mut issuer = m.issuer.as_str();
        let mut all_read = true;
        for _ in 0..manifest.entities.len() {
            match by_name.get(issuer) {
                None => {
                    all_read = false;
                    break;
                }
                Some(i) => {
                    issuers.push(*i);
                    if i.issuer == i.name {
                        break;
                    }
                    issuer = i.issuer.as_str();
                }
            }
        }
        if e.fault != Fault::None || e.issuer == e.name || !all_read {
            continue;
        }
        let Some(last) = e.chain.last() else {
            continue;
        };
        if !issuers.iter().any(|i| signed_by(last, &i.cert)) {
            problems.push(Problem::BrokenChain {
                chain: chain_rel.clone(),
                message: format!(
                    "its last certificate is not signed by `{}` or its issuers",
                    e.issuer
                ),
            });
        }
    }
    Ok(Audit {
        pki,
        manifest,
        problems,
    })
}

/// Whether `cert` carries a valid signature by `issuer`'s key.
fn signed_by(cert: &[u8], issuer: &[u8]) -> bool {
    let (Ok(c), Ok(i)) = (Cert::parse(cert), Cert::parse(issuer)) else {
        return false;
    };
    c.signed_by(&i)
}

/// Whether a chain starts with `cert` and each certificate is signed by the next.
fn chains(chain: &[CertificateDer<'_>], cert: &CertificateDer<'_>) -> Result<(), String> {
    match chain.first() {
        None => return Err("it holds no certificate".into()),
        Some(first) if **first != **cert => {
            return Err("its first certificate is not the entity's certificate".into());
        }
        _ => {}
    }
    for (i, pair) in chain.windows(2).enumerate() {
        if !signed_by(&pair[0], &pair[1]) {
            return Err(format!(
                "certificate {} is not signed by certificate {}",
                i + 1,
                i + 2
            ));
        }
    }
    Ok(())
}

/// The lab template's explicit scenarios (parsed once).
fn lab_explicit_scenarios() -> &'static [super::scenario::Scenario] {
    super::spec::lab_template().map_or(&[], |s| s.scenarios.as_slice())
}

/// An explicit scenario with every measured family's verdict in `expected_by_client`, when it
/// is one of the lab's (same name, same server and client); entries the spec gave win.
fn with_client_verdicts(mut scenario: super::scenario::Scenario) -> super::scenario::Scenario {
    if crate::clients::verdicts(&scenario.name).is_empty() {
        return scenario;
    }
    let is_lab = lab_explicit_scenarios().iter().any(|l| {
        l.name == scenario.name && l.server == scenario.server && l.client == scenario.client
    });
    if is_lab {
        let mut all = crate::clients::verdicts(&scenario.name);
        all.append(&mut scenario.expected_by_client);
        scenario.expected_by_client = all;
    }
    scenario
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A placement undone puts back exactly what was there: a file's content, and a symbolic
    /// link as a link; what was new goes.
    #[test]
    fn an_undone_placement_puts_back_files_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let (file, link, new) = (
            tmp.path().join("a.pem"),
            tmp.path().join("b.pem"),
            tmp.path().join("c.pem"),
        );
        fs::write(&file, "old").unwrap();
        std::os::unix::fs::symlink("elsewhere.pem", &link).unwrap();
        let put = |to: &Path| {
            let staged = to.with_extension("staged");
            fs::write(&staged, "new").unwrap();
            fs::rename(&staged, to)
        };
        let mut placing = Placing::default();
        for to in [&file, &link, &new] {
            placing.place(to, true, || put(to)).unwrap();
        }
        assert_eq!(fs::read_to_string(&link).unwrap(), "new");
        placing.undo();
        assert_eq!(fs::read_to_string(&file).unwrap(), "old");
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("elsewhere.pem"));
        assert!(!new.exists());
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "nothing hidden is left"
        );
    }

    /// Only the staging directories of ended processes of this host and PID namespace are
    /// swept; a running process's, another host's, an older name and a plain file stay.
    #[test]
    fn only_stagings_of_ended_processes_here_are_swept() {
        let home = tempfile::tempdir().unwrap();
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let tag = crate::owner::owner_tag();
        let other_host = format!("00000000.{}", tag.split_once('.').unwrap().1);
        let mk = |name: String| {
            let p = home.path().join(name);
            fs::create_dir(&p).unwrap();
            fs::write(p.join("c-1.key"), "key").unwrap();
            p
        };
        let killed = mk(format!(".certlab-fleet-{tag}-{dead}-0"));
        let running = mk(format!(".certlab-fleet-{tag}-{}-0", std::process::id()));
        let init = mk(format!(".certlab-fleet-{tag}-1-3"));
        let elsewhere = mk(format!(".certlab-fleet-{other_host}-{dead}-0"));
        let older = mk(format!(".certlab-fleet-{dead}-0"));
        let file = home.path().join(format!(".certlab-fleet-{tag}-{dead}-1"));
        fs::write(&file, "not a directory").unwrap();
        assert_eq!(sweep_stagings(home.path()), vec![killed.clone()]);
        assert!(!killed.exists());
        for kept in [&running, &init, &elsewhere, &older, &file] {
            assert!(kept.exists(), "{}", kept.display());
        }
    }

    /// A fleet's staging directory is renamed to a fresh output directory only while there is
    /// none: an empty directory made meanwhile is not replaced (it keeps its inode and what it
    /// holds stays).
    #[test]
    fn a_fresh_fleet_directory_does_not_replace_one_made_meanwhile() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let (staging, dir) = (tmp.path().join(".staging"), tmp.path().join("out"));
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join("c.pem"), "x").unwrap();
        fs::create_dir(&dir).unwrap();
        let ino = fs::metadata(&dir).unwrap().ino();
        assert!(rename_new_dir(&staging, &dir).is_err());
        assert_eq!(fs::metadata(&dir).unwrap().ino(), ino, "replaced");
        assert!(staging.join("c.pem").is_file());
        fs::remove_dir(&dir).unwrap();
        rename_new_dir(&staging, &dir).unwrap();
        assert!(dir.join("c.pem").is_file());
    }

    /// A file removed by a placement (the stale `NAME.key` of a combined leaf) comes back on
    /// undo, and is gone for good (nothing hidden left) on finish.
    #[test]
    fn a_removal_is_undone_or_finished_like_a_placement() {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("c.key");
        for finish in [false, true] {
            fs::write(&key, "old key").unwrap();
            let mut placing = Placing::default();
            placing.remove(&key).unwrap();
            assert!(!key.exists());
            if finish {
                placing.finish();
                assert!(!key.exists());
            } else {
                placing.undo();
                assert_eq!(fs::read_to_string(&key).unwrap(), "old key");
            }
            let left = fs::read_dir(tmp.path()).unwrap().count();
            assert_eq!(left, usize::from(!finish), "nothing hidden is left");
        }
    }

    /// A generation dropped without its commit removes what it staged while the directory is
    /// still locked, and a directory it created goes with it.
    #[test]
    fn a_dropped_generation_leaves_nothing_behind() {
        let spec =
            super::super::spec::parse("<dev>", super::super::spec::template("dev").unwrap().text)
                .unwrap();
        let now = OffsetDateTime::now_utc();
        let tmp = tempfile::tempdir().unwrap();

        let fresh = tmp.path().join("fresh");
        drop(Generation::begin(&spec, &fresh, now, false).unwrap());
        assert!(!fresh.exists(), "the directory it created is left");

        let existing = tmp.path().join("existing");
        generate(&spec, &existing, now, false).unwrap();
        drop(Generation::begin(&spec, &existing, now, false).unwrap());
        assert!(!existing.join(txn::TXN_DIR).exists(), "its staging is left");
        load(&existing).unwrap();
    }
}
