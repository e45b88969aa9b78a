//! A (re)generate is a transaction: a PKI directory is all-old or all-new, never mixed.
//!
//! The manifest `certlab.json` is the commit record; a file it does not name is not part of
//! the PKI. A writer (holding the directory's [`DirLock`]):
//!
//! 1. **stages** every new file in `DIR/.certlab.txn/` (same relative paths, final modes,
//!    each synced to disk), and the list of old files the new PKI drops (`.remove.json`);
//! 2. **commits** by writing the new manifest as `DIR/.certlab.txn/certlab.json` (a temporary
//!    file, synced, then renamed): from this instant the staged manifest is the PKI;
//! 3. **rolls forward**: renames each staged file into `DIR`, removes the dropped files,
//!    renames the staged manifest over `DIR/certlab.json` last, and removes the staging
//!    directory.
//!
//! Every step of 3 is idempotent, so a writer killed at any instant leaves a directory that the
//! next writer repairs under the lock ([`recover`]): a staging directory with a manifest is
//! rolled forward, one without is deleted (with the `.certlab-*` temporaries of older
//! versions). Readers take no lock; they read through a [`View`]: the staged manifest when one
//! is committed (each file from the staging directory if it is still there, else from `DIR`,
//! where a rename moves it atomically), else `DIR/certlab.json`. Between steps 2 and 3 the
//! staged view is the new PKI, before 2 the old one; a reader that raced a commit sees
//! manifest hashes that do not match and reads again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use super::lock::DirLock;
use super::manifest::MANIFEST_FILE;
use super::sha256_hex;
use crate::pem::{FileError, TEMP_PREFIX};

/// The staging directory's name inside a PKI directory.
pub const TXN_DIR: &str = ".certlab.txn";
/// The list of files a staged PKI drops (inside [`TXN_DIR`]).
const REMOVE_FILE: &str = ".remove.json";

/// An I/O failure on a path: certlab's own files in a PKI directory (staging, committing,
/// recovering), so each is [`FileError::unwritable`], whether it was a read or a write.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::unwritable(path, source)
}

/// Whether `rel` is a plain relative path inside a directory (no `..`, no root, not empty,
/// no component starting with `.`): what a manifest may name.
pub fn is_safe_relative(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty()
        && path.components().all(|c| match c {
            Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
            _ => false,
        })
}

fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// A transaction in progress: files staged in `DIR/.certlab.txn/`, not yet part of the PKI.
/// Dropping it without [`Txn::commit`] leaves the directory as it was (the staging directory
/// is removed; if the process dies instead, the next writer removes it).
#[derive(Debug)]
pub struct Txn<'l> {
    dir: PathBuf,
    staging: PathBuf,
    staged: BTreeMap<String, String>,
    dirs: BTreeSet<PathBuf>,
    committed: bool,
    _lock: &'l DirLock,
}

impl<'l> Txn<'l> {
    /// Starts a transaction on `dir` (whose lock the caller holds; run [`recover`] first).
    pub fn begin(dir: &Path, lock: &'l DirLock) -> Result<Txn<'l>, FileError> {
        let staging = dir.join(TXN_DIR);
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        crate::pem::create_dir(&staging).map_err(io(&staging))?;
        Ok(Txn {
            dir: dir.to_path_buf(),
            staging,
            staged: BTreeMap::new(),
            dirs: BTreeSet::new(),
            committed: false,
            _lock: lock,
        })
    }

    /// Stages a file at `rel` (relative to the directory) with this mode; [`Txn::commit`]
    /// syncs every staged file to disk before the commit record (one `syncfs` on Linux, not a
    /// sync per file: a fleet of 10,000 identities is 30,000 files). Returns its SHA-256
    /// (lowercase hex). Staging a path twice keeps the last content.
    pub fn put(&mut self, rel: &str, bytes: &[u8], mode: u32) -> Result<String, FileError> {
        if !is_safe_relative(rel) {
            return Err(FileError::unwritable(
                &self.dir.join(rel),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a plain path inside the directory",
                ),
            ));
        }
        let path = self.staging.join(rel);
        if let Some(parent) = path.parent()
            && parent != self.staging
            && !self.dirs.contains(parent)
        {
            crate::pem::create_dirs(parent).map_err(io(parent))?;
            self.dirs.insert(parent.to_path_buf());
        }
        if self.staged.contains_key(rel) {
            fs::remove_file(&path).map_err(io(&path))?;
        }
        write_new(&path, bytes, mode)?;
        let sha = sha256_hex(bytes);
        self.staged.insert(rel.to_string(), sha.clone());
        Ok(sha)
    }

    /// The files staged so far, with their SHA-256.
    pub fn staged(&self) -> &BTreeMap<String, String> {
        &self.staged
    }

    /// Commits: writes `manifest` (the new `certlab.json`) as the commit record, then moves
    /// the staged files into place, removes the files of `remove` (old files the new PKI does
    /// not name), and puts the manifest in place last.
    pub fn commit(mut self, manifest: &[u8], remove: &BTreeSet<String>) -> Result<(), FileError> {
        self.sync_staged()?;
        let list = self.staging.join(REMOVE_FILE);
        let text = serde_json::to_vec(remove).expect("serialisable");
        write_synced(&list, &text, 0o644)?;
        for d in &self.dirs {
            sync_dir(d)?;
        }
        let tmp = self.staging.join(format!("{TEMP_PREFIX}manifest"));
        write_synced(&tmp, manifest, 0o644)?;
        let record = self.staging.join(MANIFEST_FILE);
        fs::rename(&tmp, &record).map_err(io(&record))?;
        // Committed from the rename on (readers may already use the staged manifest): an error
        // below must not make Drop discard it; the next writer rolls it forward.
        self.committed = true;
        sync_dir(&self.staging)?;
        roll_forward(&self.dir)?;
        Ok(())
    }
}

/// Files staged before a transaction's [`Txn`] exists, from several threads at once (the
/// files of leaves written while the others are still being issued); [`Txn::adopt`] makes it
/// the transaction. The staging directory is the transaction's: dropped without adoption (or
/// left by a killed process, with no manifest in it) it is discarded.
#[derive(Debug)]
pub struct Prestage {
    staging: PathBuf,
    staged: std::sync::Mutex<(BTreeMap<String, String>, BTreeSet<PathBuf>)>,
    failed: std::sync::Mutex<Option<FileError>>,
    adopted: bool,
}

impl Prestage {
    /// Starts staging in `dir` (whose lock the caller holds; run [`recover`] first).
    pub fn begin(dir: &Path, _lock: &DirLock) -> Result<Prestage, FileError> {
        let staging = dir.join(TXN_DIR);
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        crate::pem::create_dir(&staging).map_err(io(&staging))?;
        Ok(Prestage {
            staging,
            staged: Default::default(),
            failed: Default::default(),
            adopted: false,
        })
    }

    /// Stages a new file at `rel` (from any thread); the first error is kept and returned by
    /// [`Txn::adopt`], and the files after it are not written.
    pub fn put(&self, rel: &str, bytes: &[u8], mode: u32) {
        if self.failed.lock().expect("not poisoned").is_some() {
            return;
        }
        let result = (|| {
            if !is_safe_relative(rel) {
                return Err(FileError::unwritable(
                    &self.staging.join(rel),
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not a plain path inside the directory",
                    ),
                ));
            }
            let path = self.staging.join(rel);
            if let Some(parent) = path.parent()
                && parent != self.staging
            {
                let mut staged = self.staged.lock().expect("not poisoned");
                if !staged.1.contains(parent) {
                    crate::pem::create_dirs(parent).map_err(io(parent))?;
                    staged.1.insert(parent.to_path_buf());
                }
            }
            write_new(&path, bytes, mode)?;
            let sha = sha256_hex(bytes);
            let mut staged = self.staged.lock().expect("not poisoned");
            staged.0.insert(rel.to_string(), sha);
            Ok(())
        })();
        if let Err(e) = result {
            self.failed.lock().expect("not poisoned").get_or_insert(e);
        }
    }

    /// Discards what was staged (the staging directory is emptied).
    pub fn clear(&mut self) -> Result<(), FileError> {
        let staged = self.staged.get_mut().expect("not poisoned");
        if staged.0.is_empty() && staged.1.is_empty() {
            return Ok(());
        }
        fs::remove_dir_all(&self.staging).map_err(io(&self.staging))?;
        crate::pem::create_dir(&self.staging).map_err(io(&self.staging))?;
        *staged = Default::default();
        Ok(())
    }
}

impl Drop for Prestage {
    fn drop(&mut self) {
        if !self.adopted {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

impl<'l> Txn<'l> {
    /// Continues a [`Prestage`] as a transaction on `dir` (its files staged already), or
    /// returns the first error it met (and discards it).
    pub fn adopt(dir: &Path, lock: &'l DirLock, mut pre: Prestage) -> Result<Txn<'l>, FileError> {
        if let Some(e) = pre.failed.get_mut().expect("not poisoned").take() {
            return Err(e);
        }
        let (staged, dirs) = std::mem::take(pre.staged.get_mut().expect("not poisoned"));
        pre.adopted = true;
        Ok(Txn {
            dir: dir.to_path_buf(),
            staging: pre.staging.clone(),
            staged,
            dirs,
            committed: false,
            _lock: lock,
        })
    }
}

impl Txn<'_> {
    /// Puts every staged file's content on disk: one `syncfs(2)` of the file system on Linux,
    /// else (or should it fail) a sync per file.
    fn sync_staged(&self) -> Result<(), FileError> {
        let paths: Vec<PathBuf> = self.staged.keys().map(|r| self.staging.join(r)).collect();
        sync_files(&self.staging, paths.iter().map(PathBuf::as_path))
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// The process's umask, read once (from `/proc/self/status` on Linux; reading it with
/// `umask(2)` would change it for a moment, for every thread): `0o777` when unknown.
fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o777)
    })
}

/// Creates a new file (never over an existing one) with `bytes` and exactly `mode`: the mode
/// is given at creation, so a key is never readable by others, and set again only when the
/// umask would have taken bits from it (one `open`, one `write`, one `close` per file).
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    if mode & umask() != 0 {
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(io(path))?;
    }
    f.write_all(bytes).map_err(io(path))
}

/// Puts the content of `files` (all under `dir`) on disk: one `syncfs(2)` of `dir`'s file
/// system on Linux, else (or should it fail) a sync per file.
pub(crate) fn sync_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = &'a Path>,
) -> Result<(), FileError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let d = File::open(dir).map_err(io(dir))?;
        // SAFETY: `d` is an open descriptor for the duration of the call.
        if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    for path in files {
        File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(io(path))?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Every regular file under `root`, relative, skipping `skip` at the top level.
fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), FileError> {
    let here = root.join(rel);
    for entry in fs::read_dir(&here).map_err(io(&here))? {
        let entry = entry.map_err(io(&here))?;
        let name = rel.join(entry.file_name());
        let ty = entry.file_type().map_err(io(&here))?;
        if ty.is_dir() {
            walk(root, &name, out)?;
        } else {
            out.push(name);
        }
    }
    Ok(())
}

/// Finishes a committed transaction of `dir` (idempotent): moves the staged files into place,
/// removes the dropped ones, puts the manifest in place, removes the staging directory.
fn roll_forward(dir: &Path) -> Result<(), FileError> {
    let staging = dir.join(TXN_DIR);
    let record = staging.join(MANIFEST_FILE);
    let mut touched = BTreeSet::new();
    // A staged sub-directory (a fleet's `clients/`) that `dir` does not have moves in one
    // rename, not one per file: 30,000 renames fewer for 10,000 identities. Readers find each
    // of its files in the staging directory or, after the rename, in `dir`.
    for entry in fs::read_dir(&staging).map_err(io(&staging))? {
        let entry = entry.map_err(io(&staging))?;
        let name = entry.file_name();
        let is_dir = entry.file_type().map_err(io(&staging))?.is_dir();
        if is_dir && is_safe_relative(&name.to_string_lossy()) {
            let to = dir.join(&name);
            if fs::symlink_metadata(&to).is_err() {
                fs::rename(entry.path(), &to).map_err(io(&to))?;
                touched.insert(dir.to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    walk(&staging, Path::new(""), &mut files)?;
    for rel in &files {
        let top = rel.to_string_lossy();
        if top == MANIFEST_FILE || top == REMOVE_FILE || top.starts_with(TEMP_PREFIX) {
            continue;
        }
        let to = dir.join(rel);
        if let Some(parent) = to.parent()
            && !touched.contains(parent)
        {
            crate::pem::create_dirs(parent).map_err(io(parent))?;
            touched.insert(parent.to_path_buf());
        }
        fs::rename(staging.join(rel), &to).map_err(io(&to))?;
    }
    // Dropped files: safe to remove now, since readers read the staged manifest, which does
    // not name them.
    let list = staging.join(REMOVE_FILE);
    let remove: BTreeSet<String> = match fs::read(&list) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => BTreeSet::new(),
    };
    for rel in remove.iter().filter(|r| is_safe_relative(r)) {
        let path = dir.join(rel);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
            _ => {}
        }
        // Prune the subdirectories this empties (`configs/NAME/`), never `dir` itself.
        let mut parent = path.parent();
        while let Some(p) = parent {
            if p == dir || fs::remove_dir(p).is_err() {
                break;
            }
            parent = p.parent();
        }
    }
    for d in &touched {
        sync_dir(d)?;
    }
    let to = dir.join(MANIFEST_FILE);
    fs::rename(&record, &to).map_err(io(&to))?;
    sync_dir(dir)?;
    fs::remove_dir_all(&staging).map_err(io(&staging))?;
    Ok(())
}

/// What [`recover`] found and repaired.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// A committed transaction was finished.
    pub rolled_forward: bool,
    /// An uncommitted staging directory was removed.
    pub discarded: bool,
    /// Temporary files removed (relative paths).
    pub temporaries: Vec<String>,
}

/// Repairs what an interrupted writer left in `dir` (the caller holds its lock): rolls a
/// committed transaction forward, removes an uncommitted one and any `.certlab-*` temporary
/// file in `dir` or its subdirectories.
pub fn recover(dir: &Path, _lock: &DirLock) -> Result<Recovered, FileError> {
    let mut done = Recovered::default();
    let staging = dir.join(TXN_DIR);
    if staging.join(MANIFEST_FILE).is_file() {
        roll_forward(dir)?;
        done.rolled_forward = true;
    } else if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
        done.discarded = true;
    }
    if dir.is_dir() {
        let mut files = Vec::new();
        walk(dir, Path::new(""), &mut files)?;
        for rel in files {
            let is_temp = rel
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX));
            if is_temp {
                let path = dir.join(&rel);
                fs::remove_file(&path).map_err(io(&path))?;
                done.temporaries.push(rel.display().to_string());
            }
        }
    }
    Ok(done)
}

/// What a reader reads: the committed manifest of a directory and its files.
#[derive(Debug, Clone)]
pub struct View {
    dir: PathBuf,
    staged: bool,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
}

impl View {
    /// The committed state of `dir`: `None` when it has no manifest (not a PKI, or one whose
    /// first generation never committed).
    pub fn open(dir: &Path) -> Result<Option<View>, FileError> {
        let record = dir.join(TXN_DIR).join(MANIFEST_FILE);
        match fs::read(&record) {
            Ok(manifest) => {
                return Ok(Some(View {
                    dir: dir.to_path_buf(),
                    staged: true,
                    manifest,
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {}
            // Reading a manifest that is there but unreadable: the directory's problem (exit 2).
            Err(e) => return Err(FileError::unreadable(&record, e)),
        }
        let path = dir.join(MANIFEST_FILE);
        match fs::read(&path) {
            Ok(manifest) => Ok(Some(View {
                dir: dir.to_path_buf(),
                staged: false,
                manifest,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileError::unreadable(&path, e)),
        }
    }

    /// Whether this view is a committed transaction still being rolled forward.
    pub fn is_staged(&self) -> bool {
        self.staged
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path a file of the PKI is known by (`DIR/rel`), for messages.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Reads a file the manifest names (refusing paths that leave the directory).
    pub fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        if !is_safe_relative(rel) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the manifest names a path outside the directory",
            ));
        }
        if self.staged {
            match fs::read(self.dir.join(TXN_DIR).join(rel)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                other => return other,
            }
        }
        fs::read(self.dir.join(rel))
    }

    /// Whether the committed state changed since this view was opened (a writer committed or
    /// finished rolling forward): a reader that saw a mismatch then reads again. A staging
    /// directory left by a dead writer does not change anything.
    pub fn is_stale(&self) -> bool {
        match View::open(&self.dir) {
            Ok(Some(now)) => now.manifest != self.manifest || now.staged != self.staged,
            _ => true,
        }
    }
}

/// Whether a file name in a PKI directory is certlab's own bookkeeping (the lock, the staging
/// directory, temporaries), not content.
pub fn is_bookkeeping(name: &str) -> bool {
    name == super::lock::LOCK_FILE || name == TXN_DIR || name.starts_with(TEMP_PREFIX)
}
