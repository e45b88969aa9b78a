//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether an outside tool is installed (an executable of that name on `PATH`). Missing: a
/// loud skip on a laptop, a failure under CI.
pub fn have_tool(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`{tool}` is required under CI=true (install it in .ci/run)");
        }
        eprintln!("\n!!! SKIPPED: `{tool}` is not installed; this test proves nothing here !!!\n");
    }
    found
}

/// The certlab binary under test.
pub fn certlab() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("certlab").expect("the binary is built")
}

/// Runs a command and returns its output (stdout and stderr captured).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `openssl verify` of `cert` against `dir/ca.pem` with `untrusted` intermediates and extra
/// arguments; returns (success, combined output).
pub fn openssl_verify(
    dir: &Path,
    cert: &Path,
    untrusted: Option<&Path>,
    extra: &[&str],
) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CAfile").arg(dir.join("ca.pem"));
    if let Some(u) = untrusted {
        cmd.arg("-untrusted").arg(u);
    }
    cmd.args(extra).arg(cert);
    let out = run(&mut cmd);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `dir/name`.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
