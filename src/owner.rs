//! Which process left a file behind, and whether it is still running: the names of certlab's
//! throwaway directories (the lab's scratch directories, a fleet's staging directory) carry
//! their process's owner tag and PID, so that a later run can remove what a killed one
//! (SIGKILL, a CI job's timeout, the OOM killer) could not, private keys included, and nothing
//! of a process that still runs.
//!
//! A PID means something only in its process table: the tag names the host (8 hex digits of
//! the SHA-256 of its name: a directory shared between machines, over NFS, holds other hosts'
//! files) and the PID namespace (a container sharing `/dev/shm` has other PIDs). Only files of
//! this tag are judged, and a PID in use by any process keeps its files (a reused PID only
//! delays their removal).

use std::io;

/// This process's owner tag, `HOST.NAMESPACE`: the first 8 hex digits of the SHA-256 of the
/// host name and the inode of the PID namespace (read once per process).
pub(crate) fn owner_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, host.trim().as_bytes());
        let hex: String = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{hex}.{}", pid_namespace())
    })
}

/// The inode of this process's PID namespace (0 where there is none to read).
fn pid_namespace() -> u64 {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|link| {
            let text = link.to_string_lossy().into_owned();
            text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
        })
        .unwrap_or(0)
}

/// Whether a process with this PID exists (ours or not).
pub(crate) fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether what a process of owner tag `tag` and PID `pid` left may be removed: it is of this
/// host and PID namespace, not of this process, and that process has ended.
pub(crate) fn ended(tag: &str, pid: u32) -> bool {
    pid != std::process::id() && tag == owner_tag() && !alive(pid)
}

/// The owner tag and PID that start `rest` (`TAG-PID-…`, as certlab names what a process
/// leaves behind), when it is such a name.
pub(crate) fn parse_owner(rest: &str) -> Option<(&str, u32)> {
    let mut parts = rest.splitn(3, '-');
    let tag = parts.next().filter(|t| t.contains('.'))?;
    let pid = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((tag, pid))
}

/// Whether `rest` (`TAG-PID-…`) names what an ended process of this host left ([`ended`]).
pub(crate) fn left_by_ended(rest: &str) -> bool {
    parse_owner(rest).is_some_and(|(tag, pid)| ended(tag, pid))
}
