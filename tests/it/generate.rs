//! `certlab generate`, `new` and `cert` end to end through the binary: files, manifest,
//! permissions, reuse of CA keys, `--force`, refusal to clobber, spec errors.

use crate::common;

use std::fs;
use std::path::Path;

use common::{certlab, mode, p, tempdir};
use predicates::str::contains;
use serde_json::Value;

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("certlab.json")).unwrap()).unwrap()
}

fn entity<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entity {name}"))
}

#[test]
fn default_generate_writes_the_dev_pki_to_pki() {
    let tmp = tempdir();
    certlab()
        .current_dir(tmp.path())
        .arg("generate")
        .assert()
        .success()
        .stdout(
            contains("localhost")
                .and(contains("expires in 397 days"))
                .and(contains("next:")),
        );
    let dir = tmp.path().join("pki");
    for f in [
        "root.pem",
        "root.key",
        "intermediate.pem",
        "localhost.pem",
        "localhost.key",
        "localhost.chain.pem",
        "client.pem",
        "client.key",
        "ca.pem",
        "certlab.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    for key in [
        "root.key",
        "intermediate.key",
        "localhost.key",
        "client.key",
    ] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
    assert_eq!(mode(&dir.join("localhost.pem")), 0o644);
    // No temporary files are left behind by the atomic writes.
    assert!(fs::read_dir(&dir).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".certlab-")
    }));

    let m = manifest(&dir);
    assert_eq!(m["version"], 1);
    let leaf = entity(&m, "localhost");
    assert_eq!(leaf["role"], "server");
    assert_eq!(leaf["issuer"], "intermediate");
    assert_eq!(leaf["chain"], "localhost.chain.pem");
    assert_eq!(leaf["fault"], "none");
    assert_eq!(leaf["expected"], "ok");
    assert_eq!(
        leaf["sans"],
        serde_json::json!([{"type": "dns", "value": "localhost"}, {"type": "ip", "value": "127.0.0.1"}, {"type": "ip", "value": "::1"}])
    );
    let sha = leaf["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(
        sha.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(
        time::OffsetDateTime::parse(
            leaf["not_after"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(entity(&m, "root")["issuer"], "root");
    assert_eq!(entity(&m, "client")["role"], "client");
    assert_eq!(entity(&m, "client")["sans"], serde_json::json!([]));
    // The chain file is the leaf then the intermediate; ca.pem holds the root only.
    let chain = pem::parse_many(fs::read(dir.join("localhost.chain.pem")).unwrap()).unwrap();
    assert_eq!(
        chain[0].contents(),
        pem::parse(fs::read(dir.join("localhost.pem")).unwrap())
            .unwrap()
            .contents()
    );
    assert_eq!(
        chain[1].contents(),
        pem::parse(fs::read(dir.join("intermediate.pem")).unwrap())
            .unwrap()
            .contents()
    );
    assert_eq!(chain.len(), 2);
    assert_eq!(
        fs::read(dir.join("ca.pem")).unwrap(),
        fs::read(dir.join("root.pem")).unwrap()
    );
}

#[test]
fn otel_template_covers_the_kubernetes_service_names() {
    let tmp = tempdir();
    let dir = tmp.path().join("otel");
    common::generate(&dir, &["--template", "otel"]);
    let m = manifest(&dir);
    let sans: Vec<String> = entity(&m, "otel-collector")["sans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap().to_string())
        .collect();
    for name in [
        "otel-collector",
        "otel-collector.observability",
        "otel-collector.observability.svc",
        "otel-collector.observability.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ] {
        assert!(sans.iter().any(|s| s == name), "{name} not in {sans:?}");
    }
    assert_eq!(entity(&m, "exporter")["role"], "client");
}

#[test]
fn regenerating_keeps_ca_keys_and_reissues_leaves() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &[]);
    let before = manifest(&dir);
    let root_key = fs::read(dir.join("root.key")).unwrap();
    certlab()
        .args(["generate", "-o"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(contains("(kept)"));
    let after = manifest(&dir);
    assert_eq!(fs::read(dir.join("root.key")).unwrap(), root_key);
    for ca in ["root", "intermediate"] {
        assert_eq!(
            entity(&before, ca)["sha256"],
            entity(&after, ca)["sha256"],
            "{ca} changed"
        );
    }
    assert_ne!(
        entity(&before, "localhost")["sha256"],
        entity(&after, "localhost")["sha256"]
    );

    // --force replaces everything, CA keys included.
    common::generate(&dir, &["--force"]);
    assert_ne!(fs::read(dir.join("root.key")).unwrap(), root_key);
}

#[test]
fn a_changed_ca_spec_stops_with_exit_2_and_suggests_force() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    let spec = tmp.path().join("spec.toml");
    let text = "[[ca]]\nname = \"root\"\n\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"web.test\"]\n";
    fs::write(&spec, text).unwrap();
    common::generate(&dir, &["--spec", p(&spec)]);
    let root_key = fs::read(dir.join("root.key")).unwrap();
    let web = fs::read(dir.join("web.pem")).unwrap();
    fs::write(
        &spec,
        text.replace(
            "name = \"root\"\n",
            "name = \"root\"\nkey = \"ecdsa-p384\"\n",
        ),
    )
    .unwrap();
    certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(contains("error: CA `root`").and(contains("--force")));
    assert_eq!(
        fs::read(dir.join("root.key")).unwrap(),
        root_key,
        "the CA key was overwritten"
    );
    assert_eq!(
        fs::read(dir.join("web.pem")).unwrap(),
        web,
        "files were written despite the error"
    );
}

#[test]
fn a_directory_with_other_files_is_refused() {
    let tmp = tempdir();
    fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    certlab()
        .args(["generate", "-o"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("holds files but no certlab.json"));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn a_bad_spec_is_one_line_with_its_position_and_writes_nothing() {
    let tmp = tempdir();
    let spec = tmp.path().join("bad.toml");
    fs::write(&spec, "[[ca]]\nname = \"root\"\n\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\nip = [\"1.2.3\"]\n").unwrap();
    let out = tmp.path().join("out");
    let assert = certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr,
        format!(
            "error: {}:7:7: invalid IP address `1.2.3`\n",
            spec.display()
        )
    );
    assert!(!out.exists());

    certlab()
        .args(["generate", "--template", "nope"])
        .assert()
        .code(2)
        .stderr(contains("unknown template `nope`"));
    certlab()
        .args(["generate", "--spec"])
        .arg(tmp.path().join("missing.toml"))
        .assert()
        .code(2)
        .stderr(contains("missing.toml"));
}

#[test]
fn generate_now_is_injectable() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--now", "2030-01-01T00:00:00Z"]);
    let m = manifest(&dir);
    assert_eq!(entity(&m, "localhost")["not_after"], "2031-02-02T00:00:00Z");
    certlab()
        .args(["generate", "--now", "yesterday"])
        .assert()
        .code(2)
        .stderr(contains("invalid --now"));
}

#[test]
fn new_writes_a_spec_that_generates_and_refuses_to_overwrite() {
    let tmp = tempdir();
    let spec = tmp.path().join("certlab.toml");
    certlab()
        .current_dir(tmp.path())
        .args(["new", "--template", "otel"])
        .assert()
        .success();
    assert!(fs::read_to_string(&spec).unwrap().contains("k8s_service"));
    certlab()
        .current_dir(tmp.path())
        .arg("new")
        .assert()
        .code(2)
        .stderr(contains("--force"));
    certlab()
        .current_dir(tmp.path())
        .args(["generate", "--spec", "certlab.toml", "-o", "out"])
        .assert()
        .success();
    assert!(tmp.path().join("out/otel-collector.chain.pem").is_file());
}

#[test]
fn cert_creates_the_ca_once_and_classifies_names() {
    let tmp = tempdir();
    let ca = tmp.path().join("ca");
    let out = tmp.path().join("out");
    certlab()
        .args([
            "cert",
            "example.test",
            "*.example.test",
            "10.1.2.3",
            "::1",
            "ops@example.test",
            "spiffe://example.test/web",
            "--ca-dir",
        ])
        .arg(&ca)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("created a new local CA"));
    let ca_key = fs::read(ca.join("root.key")).unwrap();
    assert_eq!(mode(&ca.join("root.key")), 0o600);
    let leaf = out.join("example.test+5.pem");
    let der = pem::parse(fs::read(&leaf).unwrap())
        .unwrap()
        .into_contents();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let sans: Vec<String> = cert
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        sans,
        [
            "DNSName(example.test)",
            "DNSName(*.example.test)",
            "IPAddress(0a:01:02:03)",
            "IPAddress(00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01)",
            "RFC822Name(ops@example.test)",
            "URI(spiffe://example.test/web)"
        ]
    );
    assert_eq!(mode(&out.join("example.test+5.key")), 0o600);

    // The second call reuses the CA.
    certlab()
        .args(["cert", "--client", "alice@example.test", "--ca-dir"])
        .arg(&ca)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("created").not());
    assert_eq!(fs::read(ca.join("root.key")).unwrap(), ca_key);
    assert!(out.join("alice@example.test-client.pem").is_file());

    certlab()
        .args(["cert", "bad..name", "--ca-dir"])
        .arg(&ca)
        .assert()
        .code(2)
        .stderr(contains("invalid DNS name `bad..name`"));
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("certlab"))
        .args(["new", "--template", "lab", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before certlab writes
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_ca_dropped_or_renamed_in_the_spec_is_not_replaced_without_force() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    let spec = tmp.path().join("spec.toml");
    let two_cas = "[[ca]]\nname = \"root\"\n\n[[ca]]\nname = \"sub\"\nissuer = \"root\"\n\n[[leaf]]\nname = \"web\"\nissuer = \"sub\"\ndns = [\"web.test\"]\n";
    fs::write(&spec, two_cas).unwrap();
    certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(&dir)
        .assert()
        .success();
    let (root_key, sub_key) = (
        fs::read(dir.join("root.key")).unwrap(),
        fs::read(dir.join("sub.key")).unwrap(),
    );

    // `sub` dropped from the spec.
    fs::write(&spec, "[[ca]]\nname = \"root\"\n\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"web.test\"]\n").unwrap();
    certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(contains("CA `sub`").and(contains("--force")));
    // The root renamed, its old name reused for a leaf.
    fs::write(&spec, "[[ca]]\nname = \"root2\"\n\n[[leaf]]\nname = \"root\"\nissuer = \"root2\"\ndns = [\"web.test\"]\n").unwrap();
    certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(contains("CA `root`"));
    assert_eq!(fs::read(dir.join("root.key")).unwrap(), root_key);
    assert_eq!(fs::read(dir.join("sub.key")).unwrap(), sub_key);
}

#[test]
fn a_kept_ca_that_is_not_valid_at_now_is_not_reused() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    certlab()
        .args(["generate", "--now", "2030-01-01T00:00:00Z", "-o"])
        .arg(&dir)
        .assert()
        .success();
    let root_key = fs::read(dir.join("root.key")).unwrap();
    // In 2029 the CAs issued in 2030 are not valid yet: reusing them would make every new leaf
    // fail with not-yet-valid.
    certlab()
        .args(["generate", "--now", "2029-01-01T00:00:00Z", "-o"])
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(contains("not valid at the time of issue").and(contains("--force")));
    assert_eq!(fs::read(dir.join("root.key")).unwrap(), root_key);
    certlab()
        .args(["generate", "--now", "2029-01-01T00:00:00Z", "--force", "-o"])
        .arg(&dir)
        .assert()
        .success();
}

#[test]
fn times_x509_cannot_hold_are_bad_input_not_a_panic() {
    let tmp = tempdir();
    let spec = tmp.path().join("long.toml");
    fs::write(&spec, "[[ca]]\nname = \"root\"\nvalidity = \"9999999y\"\n").unwrap();
    certlab()
        .args(["generate", "--spec"])
        .arg(&spec)
        .arg("-o")
        .arg(tmp.path().join("a"))
        .assert()
        .code(2)
        .stderr(contains(
            ":3:12: validity `9999999y` is longer than 1000 years",
        ));
    for cmd in [vec!["generate", "-o"], vec!["lab", "--keep"]] {
        certlab()
            .args(&cmd)
            .arg(tmp.path().join("b"))
            .args(["--now", "9999-12-31T00:00:00Z"])
            .assert()
            .code(2)
            .stderr(contains("out of range"));
    }
    // The library refuses too, instead of overflowing.
    let far = certlab::pki::model::Validity::For(::time::Duration::days(3650));
    assert!(
        far.at(::time::macros::datetime!(9995-01-01 00:00 UTC))
            .is_none()
    );
    assert!(
        far.at(::time::macros::datetime!(2030-01-01 00:00 UTC))
            .is_some()
    );
}

#[test]
fn cert_refuses_a_ca_directory_without_its_manifest() {
    let tmp = tempdir();
    let ca = tmp.path().join("ca");
    certlab()
        .args(["cert", "a.test", "--ca-dir"])
        .arg(&ca)
        .arg("-o")
        .arg(tmp.path())
        .assert()
        .success();
    let key = fs::read(ca.join("root.key")).unwrap();
    fs::remove_file(ca.join("certlab.json")).unwrap();
    certlab()
        .args(["cert", "b.test", "--ca-dir"])
        .arg(&ca)
        .arg("-o")
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("no certlab.json"));
    assert_eq!(
        fs::read(ca.join("root.key")).unwrap(),
        key,
        "the CA key was replaced"
    );
}

#[test]
fn fixture_write_to_refuses_another_pki() {
    let tmp = tempdir();
    let mut first = certlab::fixture::TestPki::new();
    first.server(["a.test"]).issue().unwrap();
    first.write_to(tmp.path()).unwrap();
    first.server(["b.test"]).issue().unwrap();
    first.write_to(tmp.path()).unwrap(); // the same fixture again: fine
    let key = fs::read(tmp.path().join("root.key")).unwrap();
    let second = certlab::fixture::TestPki::new();
    assert!(second.write_to(tmp.path()).is_err());
    assert_eq!(fs::read(tmp.path().join("root.key")).unwrap(), key);
}

/// The writes are atomic: a reader never sees a half-written file, only the old or the new
/// content (a plain truncate-and-write fails this).
#[test]
fn writes_are_atomic_for_a_concurrent_reader() {
    let tmp = tempdir();
    let path = tmp.path().join("big.pem");
    let (a, b) = (vec![b'a'; 1 << 20], vec![b'b'; 1 << 20]);
    certlab::pem::write_atomic(&path, &a, false).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let content = fs::read(&path).unwrap();
                assert_eq!(content.len(), 1 << 20, "a partial file was visible");
                assert!(
                    content.iter().all(|&c| c == content[0]),
                    "a mixed file was visible"
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..40 {
        certlab::pem::write_atomic(&path, if i % 2 == 0 { &b } else { &a }, false).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn quiet_prints_nothing_on_stdout_and_keeps_exit_codes_and_errors() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    let out = certlab()
        .args(["--quiet", "generate", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        dir.join("localhost.chain.pem").is_file(),
        "the work was still done"
    );

    // An outcome other than ok: exit 1, silent.
    let out = certlab()
        .args(["check", "--host", "wrong.test", "-q", "--pki"])
        .arg(&dir)
        .arg(dir.join("localhost.chain.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // Errors still reach stderr.
    certlab()
        .args(["-q", "generate", "--template", "nope"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("unknown template"));
}

#[test]
fn force_removes_the_files_of_entities_the_spec_dropped() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    certlab()
        .args(["generate", "--template", "otel", "-o"])
        .arg(&dir)
        .assert()
        .success();
    assert!(dir.join("exporter.key").is_file());
    certlab()
        .args(["generate", "--template", "dev", "--force", "-o"])
        .arg(&dir)
        .assert()
        .success();
    for stale in [
        "exporter.key",
        "exporter.pem",
        "exporter.chain.pem",
        "issuing.key",
        "otel-collector.key",
    ] {
        assert!(!dir.join(stale).exists(), "{stale} was left behind");
    }
    assert!(dir.join("localhost.key").is_file());
    // Regenerating the same spec keeps everything the manifest names.
    certlab()
        .args(["generate", "-o"])
        .arg(&dir)
        .assert()
        .success();
    assert!(dir.join("root.key").is_file() && dir.join("client.key").is_file());
}
