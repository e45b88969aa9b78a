//! One writer at a time per directory: an advisory lock (`flock`) on `DIR/.certlab.lock`.
//!
//! Every command that writes a PKI directory, a local CA directory or `certlab cert`'s output
//! directory holds [`DirLock`] for the whole write, so two `certlab generate -o SAME` (or two
//! first-use `certlab cert`, or two `certlab cert --count -o SAME`, or one of each) never mix
//! their files. A second writer waits up to a bounded time ([`lock_timeout`]), then fails
//! with [`LockError::Busy`] naming the directory. Readers take no lock: they read through the
//! manifest and its hashes (see [`super::txn`]).
//!
//! The lock file is removed when the lock is released; a lock taken on a file that another
//! process has just removed is noticed (the path no longer names the locked file) and taken
//! again, so removing it is safe. A writer killed with `kill -9` releases its lock (the kernel
//! closes the file); the file it leaves is ignored and reused.
//!
//! ```
//! use std::time::Duration;
//! use certlab::pki::lock::{DirLock, LockError};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let held = DirLock::acquire(dir.path(), Duration::from_secs(1)).unwrap();
//! let busy = DirLock::acquire(dir.path(), Duration::from_millis(100)).unwrap_err();
//! assert!(matches!(busy, LockError::Busy { .. }));
//! drop(held);
//! assert!(DirLock::acquire(dir.path(), Duration::from_millis(100)).is_ok());
//! ```

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name inside a locked directory.
pub const LOCK_FILE: &str = ".certlab.lock";

/// How long a writer waits for another one by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`DEFAULT_LOCK_TIMEOUT`] (whole seconds, or a
/// fraction such as `0.5`).
pub const LOCK_TIMEOUT_ENV: &str = "CERTLAB_LOCK_TIMEOUT";

/// How long a writer waits: `$CERTLAB_LOCK_TIMEOUT` seconds when set and valid, else
/// [`DEFAULT_LOCK_TIMEOUT`].
pub fn lock_timeout() -> Duration {
    std::env::var(LOCK_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 86_400.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_LOCK_TIMEOUT)
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another certlab process writes the directory and did not finish in time.
    #[error(
        "{} is busy: another certlab process is writing it (waited {waited:?} for its lock {lock}); try again when it is done, or wait longer with {LOCK_TIMEOUT_ENV}=SECONDS",
        dir.display(),
        lock = dir.join(LOCK_FILE).display()
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file (or the directory).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An exclusive lock on a directory, released (and its file removed) on drop.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Locks `dir` (which must exist), waiting up to `timeout` for another holder.
    pub fn acquire(dir: &Path, timeout: Duration) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let start = Instant::now();
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        loop {
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
            {
                Ok(file) => file,
                // The writer before us created the directory, failed and removed it again:
                // make it anew and take the lock (bounded by the timeout like any wait).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && start.elapsed() < timeout => {
                    crate::pem::create_dirs(dir).map_err(io)?;
                    continue;
                }
                Err(e) => return Err(io(e)),
            };
            // SAFETY: flock on a descriptor this function owns.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                // The holder before us may have removed the file after we opened it: then we
                // hold a lock nobody else can see. Only a lock on what the path names counts.
                let ours = file.metadata().map_err(io)?;
                match std::fs::metadata(&path) {
                    Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {
                        return Ok(DirLock { file, path });
                    }
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(e)),
                }
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK)
                && err.raw_os_error() != Some(libc::EINTR)
            {
                return Err(io(err));
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    waited,
                });
            }
            drop(file);
            std::thread::sleep(Duration::from_millis(20).min(timeout - waited));
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock (a waiter that then locks the removed
        // file notices and retries), then release it.
        let _ = std::fs::remove_file(&self.path);
        // SAFETY: unlock of a descriptor we own; closing it would release the lock anyway.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_removed_by_the_writer_before_is_made_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("gone");
        // What a waiter meets after the writer before it created `dir`, failed and removed it.
        let lock = DirLock::acquire(&dir, Duration::from_secs(2)).expect("locked");
        assert!(dir.join(LOCK_FILE).is_file());
        drop(lock);
    }

    #[test]
    fn threads_take_turns_and_the_file_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::Arc::new(std::sync::Mutex::new((0u32, 0u32)));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (d, c) = (dir.path().to_path_buf(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _l = DirLock::acquire(&d, Duration::from_secs(10)).unwrap();
                        {
                            let mut g = c.lock().unwrap();
                            g.0 += 1;
                            g.1 = g.1.max(g.0);
                        }
                        std::thread::sleep(Duration::from_micros(200));
                        c.lock().unwrap().0 -= 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(counter.lock().unwrap().1, 1, "two holders at once");
        assert!(!dir.path().join(LOCK_FILE).exists());
    }
}
