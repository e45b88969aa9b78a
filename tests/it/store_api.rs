//! The library side of issue 8 part 1: the directory lock (a second writer waits, then fails
//! with a clear message) and readers that never see a mixed PKI while a writer commits.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use certlab::pki::lock::{DirLock, LOCK_FILE};
use certlab::pki::store;
use common::{certlab, tempdir};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

/// While another process holds the lock, `certlab generate` waits up to
/// `CERTLAB_LOCK_TIMEOUT`, then exits 3 naming the directory; once released it proceeds.
#[test]
fn a_second_writer_waits_then_fails_busy() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &[]);
    let manifest = std::fs::read(dir.join("certlab.json")).unwrap();
    let held = DirLock::acquire(&dir, Duration::from_secs(1)).unwrap();
    let start = Instant::now();
    certlab()
        .args(["generate", "-o"])
        .arg(&dir)
        .env("CERTLAB_LOCK_TIMEOUT", "0.5")
        .assert()
        .code(3)
        .stderr(
            contains(format!("{} is busy", dir.display())).and(contains("another certlab process")),
        );
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "did not wait"
    );
    assert_eq!(std::fs::read(dir.join("certlab.json")).unwrap(), manifest);
    // The local CA directory too.
    let caroot = tmp.path().join("caroot");
    std::fs::create_dir(&caroot).unwrap();
    let ca_lock = DirLock::acquire(&caroot, Duration::from_secs(1)).unwrap();
    certlab()
        .args(["cert", "a.test", "-o"])
        .arg(tmp.path().join("out"))
        .env("CERTLAB_CAROOT", &caroot)
        .env("CERTLAB_LOCK_TIMEOUT", "0.2")
        .assert()
        .code(3)
        .stderr(contains("is busy"));
    drop(ca_lock);

    // A writer waiting for the lock gets it when the holder releases it.
    let mut child = common::certlab_command()
        .args(["-q", "generate", "-o"])
        .arg(&dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "did not wait for the lock"
    );
    drop(held);
    assert!(child.wait().unwrap().success());
    assert_ne!(std::fs::read(dir.join("certlab.json")).unwrap(), manifest);
    assert!(!dir.join(LOCK_FILE).exists(), "the lock file stays behind");
}

/// A reader (`store::load`, what `check --pki`, serve, probe and lab use) that runs while
/// regenerates commit, over and over, always reads one whole PKI: no error, every key
/// matching its certificate.
#[test]
fn readers_never_see_a_mixed_pki_while_a_writer_commits() {
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    common::generate(&dir, &["--template", "lab"]);
    let writer = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            for i in 0..6 {
                let force: &[&str] = if i % 2 == 0 { &["--force"] } else { &[] };
                let ok = common::certlab_command()
                    .args(["-q", "generate", "--template", "lab"])
                    .args(force)
                    .arg("-o")
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let pki = store::load(&dir).unwrap_or_else(|e| panic!("read {reads}: {e}"));
        for e in &pki.entities {
            if e.fault != certlab::Fault::KeyMismatch {
                assert_eq!(
                    store::key_matches_cert(&e.key, &e.cert),
                    Ok(true),
                    "read {reads}: {}",
                    e.name
                );
            }
        }
        let audit = store::audit(&dir).unwrap();
        assert!(
            audit.problems.is_empty(),
            "read {reads}: {:?}",
            audit.problems
        );
        reads += 1;
    }
    writer.join().unwrap();
    assert!(reads >= 3, "only {reads} reads");
}

/// The staged files of an uncommitted transaction are not part of the PKI, and the next
/// writer removes them; a committed one is what readers see, and the next writer finishes it.
#[test]
fn recovery_discards_uncommitted_and_rolls_committed_forward() {
    use certlab::pki::txn::{self, TXN_DIR, Txn};
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &[]);
    let before = store::load(&dir).unwrap();
    let lock = DirLock::acquire(&dir, Duration::from_secs(1)).unwrap();
    // Uncommitted: a staged file, no staged manifest; dropped without commit by a "kill".
    let mut t = Txn::begin(&dir, &lock).unwrap();
    t.put("localhost.pem", b"garbage", 0o644).unwrap();
    std::mem::forget(t);
    assert_eq!(
        store::load(&dir).unwrap().entities[0].cert,
        before.entities[0].cert
    );
    let done = txn::recover(&dir, &lock).unwrap();
    assert!(done.discarded && !dir.join(TXN_DIR).exists());
    drop(lock);
    // A temporary of an interrupted atomic write goes too.
    std::fs::write(dir.join(".certlab-Ab12Cd"), "half").unwrap();
    common::generate(&dir, &[]);
    assert!(!Path::new(&dir.join(".certlab-Ab12Cd")).exists());
}

/// A writer killed after its commit point (the staged manifest written) and halfway through
/// moving the files into place: readers see the new PKI, and the next writer's recovery
/// finishes the move.
#[test]
fn a_commit_interrupted_halfway_reads_as_the_new_pki_and_rolls_forward() {
    use certlab::pki::txn::{self, TXN_DIR};
    let tmp = tempdir();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    common::generate(&old, &[]);
    common::generate(&new, &[]);
    // `old` mid-roll-forward to `new`: every file of `new` staged, half of them moved.
    let staging = old.join(TXN_DIR);
    std::fs::create_dir(&staging).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pem") || n.ends_with(".key"))
        .collect();
    names.sort();
    for (i, n) in names.iter().enumerate() {
        let to = if i % 2 == 0 { &old } else { &staging };
        std::fs::copy(new.join(n), to.join(n)).unwrap();
    }
    for server in std::fs::read_dir(new.join("configs")).unwrap() {
        let server = server.unwrap().path();
        let rel = server.strip_prefix(&new).unwrap();
        if server.is_dir() {
            std::fs::create_dir_all(staging.join(rel)).unwrap();
            for f in std::fs::read_dir(&server).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, staging.join(f.strip_prefix(&new).unwrap())).unwrap();
            }
        } else {
            std::fs::copy(&server, old.join(rel)).unwrap();
        }
    }
    std::fs::copy(new.join("certlab.json"), staging.join("certlab.json")).unwrap();
    let want = store::load(&new).unwrap();
    let seen = store::load(&old).unwrap();
    assert_eq!(want.entities.len(), seen.entities.len());
    for (a, b) in want.entities.iter().zip(&seen.entities) {
        assert_eq!(a.cert, b.cert, "{}", a.name);
    }
    certlab()
        .args(["check", "--pki"])
        .arg(&old)
        .assert()
        .success();
    let lock = DirLock::acquire(&old, Duration::from_secs(1)).unwrap();
    assert!(txn::recover(&old, &lock).unwrap().rolled_forward);
    drop(lock);
    assert!(!staging.exists());
    assert_eq!(
        std::fs::read(old.join("certlab.json")).unwrap(),
        std::fs::read(new.join("certlab.json")).unwrap()
    );
    assert!(store::audit(&old).unwrap().problems.is_empty());
}

/// Library errors carry data, not command-line advice: a Rust test author has no `--force`
/// (the binary adds its flag hints itself, tested through the binary in generate.rs).
#[test]
fn library_errors_name_no_command_line_flags() {
    use certlab::fixture::TestPki;
    let dir = tempfile::tempdir().unwrap();
    TestPki::new().write_to(dir.path()).unwrap();
    let err = TestPki::new().write_to(dir.path()).unwrap_err().to_string();
    assert!(err.contains("root"), "{err}");
    for flag in ["--force", "--now", "--name", " -o ", "certlab generate"] {
        assert!(!err.contains(flag), "`{flag}` in a library error: {err}");
    }
    let err = certlab::pki::store::load(&dir.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a certlab PKI directory"), "{err}");
    assert!(!err.contains("certlab generate"), "{err}");
}
