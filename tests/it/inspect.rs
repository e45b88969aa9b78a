//! `certlab inspect` (issue 2): what it reads back from generated certificates — SANs,
//! validity, key algorithm (every `KeyAlg`), usages, pathLen, name constraints — equals the
//! spec; keys are matched to certificates (PKCS#8, and SEC1 / PKCS#1 converted by OpenSSL);
//! bad files fail with one line and exit 2.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use certlab::pki::keys::ALL_KEY_ALGS;
use certlab::pki::manifest::Manifest;
use common::{certlab, have_tool, p};
use predicates::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NOW: &str = "2030-06-01T12:00:00Z";
const NOT_BEFORE: &str = "2030-01-01T00:00:00Z";
const NOT_AFTER: &str = "2031-01-15T00:00:00Z";

fn spec() -> String {
    let mut s = String::from(
        r#"
[[ca]]
name = "root"
key = "rsa-3072"

[[ca]]
name = "int"
issuer = "root"
key = "ecdsa-p384"
path_len = 1
permitted_dns = ["test", "localhost"]
excluded_dns = ["bad.test"]
permitted_ip = ["127.0.0.0/8"]

[[leaf]]
name = "client"
issuer = "int"
role = "client"
subject = { cn = "alice" }

[[leaf]]
name = "both"
issuer = "int"
role = "server-client"
dns = ["both.test"]
"#,
    );
    for alg in ALL_KEY_ALGS {
        s.push_str(&format!(
            r#"
[[leaf]]
name = "leaf-{alg}"
issuer = "int"
key = "{alg}"
dns = ["a.test", "localhost"]
ip = ["127.0.0.1", "::1"]
uri = ["spiffe://test/{alg}"]
email = ["ops@a.test"]
not_before = {NOT_BEFORE}
not_after = {NOT_AFTER}
"#
        ));
    }
    s
}

struct Pki {
    dir: PathBuf,
    manifest: Manifest,
}

/// The PKI of [`spec`], generated once per test run (RSA 4096 is slow in debug builds) under
/// cargo's per-target temporary directory.
fn generate() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("inspect-pki");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let spec_path = base.join("spec.toml");
        std::fs::write(&spec_path, spec()).unwrap();
        let dir = base.join("pki");
        let manifest = common::generate(&dir, &["--now", NOW, "--spec", p(&spec_path)]);
        Pki { dir, manifest }
    })
}

fn inspect_json(files: &[&Path]) -> Value {
    let out = certlab()
        .args(["inspect", "--json", "--now", NOW])
        .args(files)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(v["version"], 1);
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn date(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

#[test]
fn leaves_read_back_equal_the_spec_for_every_key_algorithm() {
    let pki = generate();
    for alg in ALL_KEY_ALGS {
        let name = format!("leaf-{alg}");
        let cert = pki.dir.join(format!("{name}.pem"));
        let key = pki.dir.join(format!("{name}.key"));
        let v = inspect_json(&[&cert, &key]);
        let c = &v["files"][0]["certificates"][0];
        assert_eq!(c["key_algorithm"], alg.name(), "{name}");
        let bits = match alg.name() {
            "ecdsa-p256" | "ed25519" => 256,
            "ecdsa-p384" => 384,
            "rsa-2048" => 2048,
            "rsa-3072" => 3072,
            "rsa-4096" => 4096,
            other => panic!("new key algorithm {other}: add its size here"),
        };
        assert_eq!(c["key_bits"], bits, "{name}");
        let mut sans = strings(&c["sans"]);
        sans.sort();
        let mut want = vec![
            "DNS:a.test".to_string(),
            "DNS:localhost".into(),
            "IP:127.0.0.1".into(),
            "IP:::1".into(),
            format!("URI:spiffe://test/{alg}"),
            "email:ops@a.test".into(),
        ];
        want.sort();
        assert_eq!(sans, want, "{name}");
        // ... and what the manifest says the certificate holds.
        let entity = pki
            .manifest
            .entities
            .iter()
            .find(|e| e.name == name)
            .unwrap();
        let mut manifest_sans: Vec<String> = entity.sans.iter().map(|s| s.to_string()).collect();
        manifest_sans.sort();
        assert_eq!(sans, manifest_sans);
        assert_eq!(date(c["not_before"].as_str().unwrap()), date(NOT_BEFORE));
        assert_eq!(date(c["not_after"].as_str().unwrap()), date(NOT_AFTER));
        assert_eq!(
            c["days_left"],
            (date(NOT_AFTER) - date(NOW)).whole_days(),
            "{name}"
        );
        let mut ku = vec!["digitalSignature"];
        if alg.is_rsa() {
            ku.push("keyEncipherment");
        }
        assert_eq!(strings(&c["key_usage"]), ku, "{name}");
        assert_eq!(strings(&c["extended_key_usage"]), ["serverAuth"]);
        assert_eq!(c["ca"], false);
        assert!(c["path_len"].is_null());
        assert_eq!(c["sha256"], entity.sha256.as_str());
        assert!(c["ski"].is_string() && c["aki"].is_string(), "{name}");
        // The key file is this certificate's key.
        let k = &v["files"][1]["keys"][0];
        assert_eq!(k["format"], "PKCS#8");
        assert_eq!(k["key_algorithm"], alg.name());
        let matches = strings(&k["matches"]);
        assert_eq!(matches.len(), 1, "{name}: {matches:?}");
        assert!(matches[0].starts_with(&format!("{} #1", cert.display())));
    }
}

#[test]
fn cas_and_roles_read_back() {
    let pki = generate();
    let v = inspect_json(&[
        &pki.dir.join("root.pem"),
        &pki.dir.join("int.pem"),
        &pki.dir.join("client.pem"),
        &pki.dir.join("both.pem"),
    ]);
    let cert = |i: usize| v["files"][i]["certificates"][0].clone();
    let (root, int, client, both) = (cert(0), cert(1), cert(2), cert(3));
    assert_eq!(root["ca"], true);
    assert_eq!(root["self_issued"], true);
    assert_eq!(root["key_algorithm"], "rsa-3072");
    assert!(root["path_len"].is_null());
    assert_eq!(int["ca"], true);
    assert_eq!(int["path_len"], 1);
    assert_eq!(int["key_algorithm"], "ecdsa-p384");
    assert_eq!(strings(&int["key_usage"]), ["keyCertSign", "cRLSign"]);
    assert_eq!(
        strings(&int["permitted_subtrees"]),
        ["DNS:test", "DNS:localhost", "IP:127.0.0.0/8"]
    );
    assert_eq!(strings(&int["excluded_subtrees"]), ["DNS:bad.test"]);
    assert_eq!(int["aki"], root["ski"]);
    assert_eq!(client["subject"], "CN=alice");
    assert_eq!(strings(&client["extended_key_usage"]), ["clientAuth"]);
    assert_eq!(
        strings(&both["extended_key_usage"]),
        ["serverAuth", "clientAuth"]
    );
}

#[test]
fn text_output_says_expires_in_and_expired_ago() {
    let pki = generate();
    let cert = pki.dir.join("leaf-ecdsa-p256.pem");
    let left = (date(NOT_AFTER) - date(NOW)).whole_days();
    certlab()
        .args(["inspect", "--now", NOW])
        .arg(&cert)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("expires in {left} days")))
        .stdout(predicate::str::contains("SANs              DNS:"))
        .stdout(predicate::str::contains("ecdsa-p256 (256 bits)"));
    certlab()
        .args(["inspect", "--now", "2031-01-25T00:00:00Z"])
        .arg(&cert)
        .assert()
        .success()
        .stdout(predicate::str::contains("expired 10 days ago"));
    // A key beside a certificate it does not belong to.
    certlab()
        .args(["inspect", "--now", NOW])
        .arg(&cert)
        .arg(pki.dir.join("client.key"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "matches           none of the certificates given",
        ));
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn sec1_and_pkcs1_keys_converted_by_openssl_match() {
    if !have_tool("openssl") {
        return;
    }
    let pki = generate();
    let tmp = common::tempdir();
    for (name, args, format) in [
        ("leaf-ecdsa-p256", &["ec"][..], "SEC1"),
        ("leaf-rsa-2048", &["rsa", "-traditional"][..], "PKCS#1"),
    ] {
        let out = tmp.path().join(format!("{name}.trad.key"));
        let status = Command::new("openssl")
            .args(args)
            .arg("-in")
            .arg(pki.dir.join(format!("{name}.key")))
            .arg("-out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        let cert = pki.dir.join(format!("{name}.pem"));
        let v = inspect_json(&[&cert, &out]);
        let k = &v["files"][1]["keys"][0];
        assert_eq!(k["format"], format, "{name}");
        assert_eq!(strings(&k["matches"]).len(), 1, "{name}");
    }
}

#[test]
fn der_certificate_is_read() {
    let pki = generate();
    let pem_text = std::fs::read(pki.dir.join("int.pem")).unwrap();
    let tmp = common::tempdir();
    let der_path = tmp.path().join("int.der");
    std::fs::write(&der_path, pem::parse(pem_text).unwrap().into_contents()).unwrap();
    let v = inspect_json(&[&der_path]);
    assert_eq!(v["files"][0]["certificates"][0]["path_len"], 1);
}

fn fails_with(args: &[&str], message: &str) {
    common::fails_with(certlab().arg("inspect").args(args), message);
}

#[test]
fn bad_files_are_one_line_errors_with_exit_2() {
    let tmp = common::tempdir();
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "hello, not a certificate").unwrap();
    let g = garbage.to_str().unwrap();
    fails_with(
        &[g],
        &format!("{g}: neither PEM nor a DER certificate or private key"),
    );
    let missing = tmp.path().join("missing.pem");
    let m = missing.to_str().unwrap();
    fails_with(&[m], &format!("{m}: No such file"));
    let empty = tmp.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let e = empty.to_str().unwrap();
    fails_with(&[e], &format!("{e}: the file is empty"));
    let other = tmp.path().join("other.pem");
    std::fs::write(
        &other,
        pem::encode(&pem::Pem::new("PUBLIC KEY", vec![1, 2, 3])),
    )
    .unwrap();
    let o = other.to_str().unwrap();
    fails_with(&[o], &format!("{o}: no certificate, private key or CRL"));
    let bad_cert = tmp.path().join("bad-cert.pem");
    std::fs::write(
        &bad_cert,
        pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3])),
    )
    .unwrap();
    let b = bad_cert.to_str().unwrap();
    fails_with(&[b], &format!("{b}: block 1: not an X.509 certificate"));
    fails_with(&[g, "--now", "soon"], "invalid --now `soon`");
    certlab().arg("inspect").assert().code(2);
}
