//! The lab's throwaway directories: where they go, how they are named, and how the directories
//! of labs that were killed are swept.
//!
//! The lab's PKI goes in memory (`/dev/shm`, a tmpfs on Linux) unless `TMPDIR` names a place,
//! else in the system's temporary directory: on a disk file system creating, syncing and
//! removing the ~100 files of the lab cost more than serving and probing every scenario (ext4
//! inode allocation and discard, seen with `perf`). The real clients' work files
//! (`lab --clients`) and the drills' PKIs go in the system's temporary directory.
//!
//! A lab removes its directories when it ends, on Ctrl-C and SIGTERM too; one killed with
//! SIGKILL (a CI job's timeout, the OOM killer) cannot, and its files, private keys included,
//! would stay (on a tmpfs, holding memory until the next boot). So each directory is named
//! after its process, `certlab-{kind}-{host}.{pid namespace}-{pid}-{random}`, and before
//! making one a lab removes the directories beside it whose process is gone. Only directories
//! of this host and PID namespace are judged (a container sharing `/dev/shm` has other PIDs, a
//! `TMPDIR` shared over NFS holds other machines' labs), and a PID in use by any process keeps
//! its directory (a reused PID only delays the sweep).

use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::owner::{ended, owner_tag};

/// What a throwaway directory holds: the start of its name after `certlab-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The lab's PKI (`certlab lab`).
    Lab,
    /// The real clients' work files (`lab --clients`).
    Clients,
    /// A drill's PKI (`lab --rotation`, `lab --revocation`).
    Drill,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Lab, Kind::Clients, Kind::Drill];

    fn name(self) -> &'static str {
        match self {
            Kind::Lab => "lab",
            Kind::Clients => "clients",
            Kind::Drill => "drill",
        }
    }
}

/// Makes the lab's PKI directory, after sweeping those of killed labs beside it.
pub(crate) fn lab_dir() -> io::Result<TempDir> {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
        sweep(shm);
        if let Ok(dir) = create_in(shm, Kind::Lab) {
            return Ok(dir);
        }
    }
    work_dir(Kind::Lab)
}

/// Makes a directory of `kind` in the system's temporary directory, after sweeping those of
/// killed labs there.
pub(crate) fn work_dir(kind: Kind) -> io::Result<TempDir> {
    let base = std::env::temp_dir();
    sweep(&base);
    create_in(&base, kind)
}

fn create_in(base: &Path, kind: Kind) -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!(
            "certlab-{}-{}-{}-",
            kind.name(),
            owner_tag(),
            std::process::id()
        ))
        .tempdir_in(base)
}

/// Removes the directories of every kind in `base` whose process has ended; returns those
/// removed.
fn sweep(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((tag, pid)) = name.to_str().and_then(owner) else {
            continue;
        };
        if !ended(tag, pid) {
            continue;
        }
        // Not a symbolic link someone planted: only a directory is removed.
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed
}

/// The owner tag ([`owner_tag`]) and PID a throwaway directory's name carries.
fn owner(name: &str) -> Option<(&str, u32)> {
    let rest = name.strip_prefix("certlab-")?;
    let rest = Kind::ALL
        .iter()
        .find_map(|k| rest.strip_prefix(k.name())?.strip_prefix('-'))?;
    crate::owner::parse_owner(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PID no process has: a child that has been waited for.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn names_carry_their_owner() {
        let lab = "certlab-lab-0a1b2c3d.4026531836-42-AbC123";
        assert_eq!(owner(lab), Some(("0a1b2c3d.4026531836", 42)));
        assert_eq!(owner("certlab-drill-ff.7-42-AbC123"), Some(("ff.7", 42)));
        assert_eq!(owner("certlab-lab-4026531836-42-AbC123"), None); // no host: older name
        assert_eq!(owner("certlab-lab-AbC123"), None); // an older lab's name
        assert_eq!(owner("certlab-lab-a.1-2"), None);
        assert_eq!(owner("certlab-labx-a.1-2-x"), None);
        assert_eq!(owner("other-a.1-2-x"), None);
        let dir = tempfile::tempdir().unwrap();
        for kind in Kind::ALL {
            let made = create_in(dir.path(), kind).unwrap();
            let name = made.path().file_name().unwrap().to_string_lossy();
            assert!(
                name.starts_with(&format!("certlab-{}-", kind.name())),
                "{name}"
            );
            assert_eq!(owner(&name), Some((owner_tag(), std::process::id())));
        }
    }

    #[test]
    fn only_directories_of_ended_processes_here_are_swept() {
        let base = tempfile::tempdir().unwrap();
        let ns = owner_tag();
        let other_host = format!("00000000.{}", ns.split_once('.').unwrap().1);
        let dead = dead_pid();
        let mk = |name: String| {
            let p = base.path().join(name);
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("leaf.key"), "key").unwrap();
            p
        };
        let killed = mk(format!("certlab-lab-{ns}-{dead}-aaaaaa"));
        let killed_drill = mk(format!("certlab-drill-{ns}-{dead}-hhhhhh"));
        let running = mk(format!("certlab-lab-{ns}-{}-bbbbbb", std::process::id()));
        let init = mk(format!("certlab-clients-{ns}-1-cccccc"));
        let other_namespace = mk(format!("certlab-lab-{ns}1-{dead}-dddddd"));
        let other_host = mk(format!("certlab-lab-{other_host}-{dead}-iiiiii"));
        let older_lab = mk("certlab-lab-eeeeee".to_string());
        let unrelated = mk(format!("certlab-other-{ns}-{dead}-ffffff"));
        let file = base.path().join(format!("certlab-lab-{ns}-{dead}-gggggg"));
        std::fs::write(&file, "not a directory").unwrap();

        let mut removed = sweep(base.path());
        removed.sort();
        let mut expected = vec![killed.clone(), killed_drill.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(!killed.exists() && !killed_drill.exists());
        for kept in [
            &running,
            &init,
            &other_namespace,
            &other_host,
            &older_lab,
            &unrelated,
            &file,
        ] {
            assert!(kept.exists(), "{}", kept.display());
        }
        // A missing base is no error.
        assert!(sweep(&base.path().join("missing")).is_empty());
    }
}
