//! One file error for every reader: a file that cannot be read is the same
//! [`certlab::pem::FileError`] whichever wing reads it, with one message, and exit 2 on the
//! command line (a file certlab cannot write is exit 3, see `exit_codes`).

use crate::common::{self, Lab};

use certlab::pem::{FileError, FileErrorKind};
use std::path::Path;
use std::time::Duration;
use time::macros::datetime;

fn unreadable(e: &FileError, path: &std::path::Path) -> String {
    assert_eq!(e.path, path);
    assert!(
        matches!(&e.kind, FileErrorKind::Unreadable(io) if io.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    assert!(!e.is_write());
    e.to_string()
}

#[test]
fn every_reader_reports_a_missing_file_as_the_one_file_error() {
    let lab = Lab::new();
    let missing = lab.path("missing.pem");
    let key = lab.path("good.key");
    let mut messages = Vec::new();
    messages.push(unreadable(
        &certlab::pem::read_certs(&missing).unwrap_err(),
        &missing,
    ));
    match certlab::serve::ServeSettings::from_files("x", &missing, &key) {
        Err(certlab::serve::ServeError::File(e)) => messages.push(unreadable(&e, &missing)),
        other => panic!("serve: {:?}", other.map(|_| ())),
    }
    match certlab::verify::check::trust_from_ca_file(&missing) {
        Err(certlab::verify::check::CheckError::File(e)) => messages.push(unreadable(&e, &missing)),
        other => panic!("check: {:?}", other.map(|_| ())),
    }
    match certlab::pki::csr::read_cert(&missing) {
        Err(certlab::pki::csr::CsrError::File(e)) => messages.push(unreadable(&e, &missing)),
        other => panic!("csr: {:?}", other.map(|_| ())),
    }
    match certlab::trust::read_cas(&missing) {
        Err(certlab::trust::TrustError::File(e)) => messages.push(unreadable(&e, &missing)),
        other => panic!("trust: {:?}", other.map(|_| ())),
    }
    let now = datetime!(2026-01-01 00:00 UTC);
    match certlab::verify::inspect::inspect_files(&[common::s(&missing)], now) {
        Err(certlab::verify::inspect::InspectError::File(e)) => {
            messages.push(unreadable(&e, &missing))
        }
        other => panic!("inspect: {:?}", other.map(|_| ())),
    }
    assert_eq!(messages.len(), 6);
    assert!(
        messages.iter().all(|m| *m == messages[0]),
        "one message: {messages:#?}"
    );
    assert!(messages[0].starts_with("cannot read "), "{}", messages[0]);
}

#[test]
fn every_command_reports_a_missing_file_with_exit_2_and_the_same_line() {
    let lab = Lab::new();
    let missing = common::s(&lab.path("missing.pem"));
    let key = common::s(&lab.path("good.key"));
    let chain = common::s(&lab.path("good.chain.pem"));
    let ca = lab
        .pki
        .entities
        .iter()
        .find(|e| e.is_ca())
        .expect("a CA")
        .name
        .clone();
    let (ca_cert, ca_key) = (
        common::s(&lab.path(&format!("{ca}.pem"))),
        common::s(&lab.path(&format!("{ca}.key"))),
    );
    let line = format!("error: cannot read {missing}: ");
    let cases: &[&[&str]] = &[
        &["inspect", &missing],
        &["check", &missing, "--ca", &chain],
        &["check", &chain, "--ca", &missing],
        &["serve", "--cert", &missing, "--key", &key],
        &["sign", &missing, "--ca-cert", &ca_cert, "--ca-key", &ca_key],
        &["sign", &chain, "--ca-cert", &missing, "--ca-key", &ca_key],
        &["sign", &chain, "--ca-cert", &ca_cert, "--ca-key", &missing],
    ];
    for args in cases {
        let out = common::certlab().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&line), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

/// An endless input (`/dev/zero` given by mistake) is refused after 64 MiB in one line, exit
/// 2, by every command that reads a certificate, key, CRL, request, spec or bundle (before:
/// `generate --spec /dev/zero` read 10 GB in 20 s until killed).
#[test]
fn every_command_refuses_an_endless_file_in_one_line() {
    let lab = Lab::new();
    let zero = "/dev/zero";
    if !Path::new(zero).exists() {
        common::skip("no /dev/zero");
        return;
    }
    let key = common::s(&lab.path("good.key"));
    let chain = common::s(&lab.path("good.chain.pem"));
    let ca = common::s(&lab.path("ca.pem"));
    let issuer = &lab
        .pki
        .entities
        .iter()
        .find(|e| e.is_ca())
        .expect("a CA")
        .name;
    let (ca_cert, ca_key) = (
        common::s(&lab.path(&format!("{issuer}.pem"))),
        common::s(&lab.path(&format!("{issuer}.key"))),
    );
    let out = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["inspect", zero],
        &["check", zero, "--ca", &ca],
        &["check", &chain, "--ca", zero],
        &["check", &chain, "--ca", &ca, "--crl", zero],
        &["serve", "--cert", zero, "--key", &key],
        &["serve", "--cert", &chain, "--key", zero, "--reload"],
        &["probe", "127.0.0.1:9", "--ca", zero],
        &["generate", "--spec", zero, "-o", &common::s(out.path())],
        &["sign", zero, "--ca-cert", &ca_cert, "--ca-key", &ca_key],
        &[
            "trust",
            "install",
            "--pki",
            &common::s(&lab.path("")),
            "--bundle",
            zero,
            "--dry-run",
        ],
    ];
    for args in cases {
        let ran = common::run_timeout(
            common::certlab_command().args(*args),
            b"",
            Duration::from_secs(30),
        );
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.all());
        assert!(
            ran.stderr.contains("larger than 64 MiB"),
            "{args:?}: {}",
            ran.stderr
        );
        assert_eq!(
            ran.stderr.trim_end().lines().count(),
            1,
            "{args:?}: {}",
            ran.stderr
        );
    }
}

/// A regular file larger than the cap on streams is still read: certlab writes bundles that
/// large itself (a 50,000-identity fleet exported as one bundle is ~72 MB).
#[test]
fn a_regular_file_over_64_mib_is_read() {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pem");
    let mut text = std::fs::read(lab.path("good.pem")).unwrap();
    text.resize(text.len() + 70_000_000, b'\n');
    std::fs::write(&big, text).unwrap();
    let out = common::certlab().arg("inspect").arg(&big).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("certificate"));
}
