//! `certlab trust install|uninstall|status`, checked by the tools that read the stores:
//! Debian's `update-ca-certificates` on a scratch tree (`--root`), then `openssl verify` against
//! the bundle it built; NSS's own `certutil -V` on a scratch database; `openssl verify` against
//! a bundle file. One test does the real thing on this machine (root, under CI): after
//! `install`, `curl https://localhost:PORT` with no `--cacert` trusts a rustls server; after
//! `uninstall` it fails again with exit 60.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use certlab::fixture::TestPki;
use common::{certlab, have_tool, p, run, tempdir, text, tool};

/// A fixture PKI (root → intermediate → server for localhost/127.0.0.1) written to `dir`.
fn fixture_pki(dir: &Path) -> TestPki {
    let mut pki = TestPki::new();
    pki.server(["localhost", "127.0.0.1"])
        .name("web")
        .issue()
        .unwrap();
    pki.write_to(dir).unwrap();
    pki
}

/// The first 16 hex digits of the root's SHA-256 fingerprint, as OpenSSL computes it.
fn fingerprint_prefix(ca_pem: &Path) -> String {
    let (ok, out) = tool(&[
        "openssl",
        "x509",
        "-in",
        p(ca_pem),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert!(ok, "{out}");
    let hex: String = out
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .replace(':', "")
        .to_lowercase();
    hex[..16].to_string()
}

fn trust(args: &[&str], pki: &Path, extra: &[&Path]) -> std::process::Output {
    let mut cmd = certlab();
    cmd.arg("trust").args(args);
    for e in extra {
        cmd.arg(e);
    }
    cmd.arg("--pki").arg(pki).output().unwrap()
}

#[test]
#[ignore = "needs openssl and update-ca-certificates (installed by .ci/run)"]
fn system_store_on_a_scratch_tree_install_status_uninstall() {
    if !have_tool("openssl") || !have_tool("update-ca-certificates") {
        return;
    }
    let tmp = tempdir();
    let pki_dir = tmp.path().join("pki");
    fixture_pki(&pki_dir);
    let root = tmp.path().join("root");
    // A "distribution" CA that must survive our install and uninstall.
    std::fs::create_dir_all(root.join("usr/share/ca-certificates")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let other = TestPki::new();
    std::fs::write(
        root.join("usr/share/ca-certificates/other.crt"),
        other.ca_pem(),
    )
    .unwrap();
    std::fs::write(root.join("etc/ca-certificates.conf"), "other.crt\n").unwrap();
    let r = root.to_str().unwrap();

    let file = root.join(format!(
        "usr/local/share/ca-certificates/certlab-{}.crt",
        fingerprint_prefix(&pki_dir.join("ca.pem"))
    ));
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    let leaf = pki_dir.join("web.pem");
    let chain = pki_dir.join("web.chain.pem");
    let verify = || {
        tool(&[
            "openssl",
            "verify",
            "-CAfile",
            p(&bundle),
            "-untrusted",
            p(&chain),
            "-verify_hostname",
            "localhost",
            p(&leaf),
        ])
    };

    // Dry run: the steps are printed, nothing changes.
    let o = trust(&["install", "--dry-run", "--root", r], &pki_dir, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("dry run") && text(&o).contains(p(&file)),
        "{}",
        text(&o)
    );
    assert!(
        !file.exists() && !bundle.exists(),
        "a dry run changed files"
    );

    let o = trust(&["status", "--root", r], &pki_dir, &[]);
    assert_eq!(o.status.code(), Some(1), "not yet installed: {}", text(&o));

    let o = trust(&["install", "--root", r], &pki_dir, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(&format!("wrote {}", file.display())), "{out}");
    assert!(out.contains("undo: certlab trust uninstall"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(pki_dir.join("ca.pem")).unwrap()
    );
    let (ok, v) = verify();
    assert!(
        ok,
        "the rebuilt bundle must make OpenSSL trust the leaf: {v}"
    );
    let o = trust(&["status", "--root", r], &pki_dir, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = trust(&["uninstall", "--root", r], &pki_dir, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!file.exists());
    let (ok, v) = verify();
    assert!(
        !ok,
        "after uninstall the bundle must not trust the leaf: {v}"
    );
    let left = std::fs::read_to_string(&bundle).unwrap();
    assert_eq!(left.matches("BEGIN CERTIFICATE").count(), 1, "{left}");
    assert_eq!(
        left.trim(),
        other.ca_pem().trim(),
        "the distribution CA stays"
    );
    let o = trust(&["status", "--root", r], &pki_dir, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
#[ignore = "needs certutil (installed by .ci/run)"]
fn nss_database_trusts_the_chain_after_install_and_not_after_uninstall() {
    if !have_tool("certutil") {
        return;
    }
    let tmp = tempdir();
    let pki_dir = tmp.path().join("pki");
    fixture_pki(&pki_dir);
    let db = tmp.path().join("nssdb");
    std::fs::create_dir_all(&db).unwrap();

    // Not a database yet: exit 2, one line, with the command that makes one.
    let o = trust(&["install", "--nss"], &pki_dir, &[&db]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("certutil -N"), "{}", text(&o));

    let sql = format!("sql:{}", db.display());
    let (ok, out) = tool(&["certutil", "-N", "-d", &sql, "--empty-password"]);
    assert!(ok, "{out}");
    // The leaf and intermediate, untrusted, so NSS can build the path itself.
    for (nick, file) in [("web", "web.pem"), ("int", "intermediate.pem")] {
        let (ok, out) = tool(&[
            "certutil",
            "-A",
            "-d",
            &sql,
            "-n",
            nick,
            "-t",
            ",,",
            "-i",
            p(&pki_dir.join(file)),
        ]);
        assert!(ok, "{out}");
    }
    let nss_verify = || tool(&["certutil", "-V", "-d", &sql, "-n", "web", "-u", "V"]);
    let (ok, out) = nss_verify();
    assert!(!ok, "without the root NSS must not trust the leaf: {out}");

    let o = trust(&["install", "--nss"], &pki_dir, &[&db]);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, out) = nss_verify();
    assert!(ok && out.contains("valid"), "{out}");
    let o = trust(&["status", "--nss"], &pki_dir, &[&db]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = trust(&["uninstall", "--nss"], &pki_dir, &[&db]);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, out) = nss_verify();
    assert!(!ok, "after uninstall: {out}");
    let o = trust(&["status", "--nss"], &pki_dir, &[&db]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn bundle_file_gets_our_block_once_and_loses_only_it() {
    if !have_tool("openssl") {
        return;
    }
    let tmp = tempdir();
    let pki_dir = tmp.path().join("pki");
    fixture_pki(&pki_dir);
    let bundle = tmp.path().join("bundle.pem");
    let other = TestPki::new().ca_pem();
    // Someone else's bundle, without a final newline.
    let before = format!("# corporate roots\n{}", other.trim_end());
    std::fs::write(&bundle, &before).unwrap();
    let verify = || {
        tool(&[
            "openssl",
            "verify",
            "-CAfile",
            p(&bundle),
            "-untrusted",
            p(&pki_dir.join("web.chain.pem")),
            p(&pki_dir.join("web.pem")),
        ])
    };
    assert!(!verify().0);

    for _ in 0..2 {
        let o = trust(&["install", "--bundle"], &pki_dir, &[&bundle]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let after = std::fs::read_to_string(&bundle).unwrap();
    assert_eq!(
        after.matches("BEGIN CERTIFICATE").count(),
        2,
        "installed once: {after}"
    );
    assert!(after.starts_with(&before), "the existing content is kept");
    let (ok, out) = verify();
    assert!(ok, "{out}");
    let o = trust(&["status", "--json", "--bundle"], &pki_dir, &[&bundle]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["statuses"][0]["installed"], true, "{json}");

    let o = trust(&["uninstall", "--bundle"], &pki_dir, &[&bundle]);
    assert!(o.status.success(), "{}", text(&o));
    let left = std::fs::read_to_string(&bundle).unwrap();
    assert_eq!(left.trim_end(), before.trim_end());
    assert!(!verify().0);
}

#[test]
fn trust_refuses_bad_input_with_exit_2() {
    let tmp = tempdir();
    let o = trust(&["status"], &tmp.path().join("missing"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error:") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    std::fs::write(tmp.path().join("ca.pem"), "not pem").unwrap();
    let o = trust(&["status"], tmp.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Uninstalls from the real system store when dropped, so a failing test leaves nothing behind.
struct Uninstall(PathBuf);

impl Drop for Uninstall {
    fn drop(&mut self) {
        let _ = certlab()
            .args(["trust", "uninstall", "--pki"])
            .arg(&self.0)
            .output();
    }
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.starts_with(b"0\n")
}

/// An HTTPS server on 127.0.0.1 answering every connection with `200 hello` (handshake
/// failures are ignored: curl aborts them when it does not trust the server).
/// It serves the files written in `dir` (`web.chain.pem`, `web.key`).
fn serve(dir: &Path) -> u16 {
    let chain = certlab::pem::read_blocks(&dir.join("web.chain.pem"), None).unwrap();
    let key = std::fs::read(dir.join("web.key")).unwrap();
    let key = certlab::pki::export::read_key(&key, None).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            chain
                .into_iter()
                .map(pki_types::CertificateDer::from)
                .collect(),
            key.to_private_key_der(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = [0u8; 1024];
            if tls.read(&mut buf).unwrap_or(0) == 0 {
                continue;
            }
            let _ = tls.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

/// curl with the system trust store only (no --cacert, no CA environment, no proxy).
fn curl(port: u16) -> (Option<i32>, String) {
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "10", "--noproxy", "*", "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/"))
        .env_remove("CURL_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR"));
    (out.status.code(), text(&out))
}

#[test]
#[ignore = "needs root, curl and update-ca-certificates (.ci/run runs as root and installs them)"]
fn real_system_store_makes_curl_trust_the_server_until_uninstall() {
    if !cfg!(target_os = "linux") {
        common::skip("the real system-store test runs on Linux only");
        return;
    }
    if !have_tool("curl") || !have_tool("update-ca-certificates") {
        return;
    }
    if !is_root() {
        common::missing("not root; the real system-store test needs root");
        return;
    }
    let tmp = tempdir();
    fixture_pki(tmp.path());
    let port = serve(tmp.path());

    let (code, out) = curl(port);
    assert_eq!(
        code,
        Some(60),
        "before install curl must not trust it: {out}"
    );

    let guard = Uninstall(tmp.path().to_path_buf());
    let o = trust(&["install"], tmp.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let (code, out) = curl(port);
    assert_eq!(code, Some(0), "after install curl must trust it: {out}");
    assert_eq!(out, "hello");

    let o = trust(&["uninstall"], tmp.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let (code, out) = curl(port);
    assert_eq!(
        code,
        Some(60),
        "after uninstall curl must not trust it: {out}"
    );
    drop(guard);
}
