//! `certlab check` through the binary: trust from `--ca` versus `--pki`, `--crl`, DER input,
//! `--json`, `--warn-days`, the whole-PKI mode, and every bad-input path (message + exit 2).

use crate::common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::{certlab, p};
use predicates::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NOW: &str = "2030-06-01T12:00:00Z";

struct Lab {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Lab {
    fn new() -> Self {
        let tmp = common::tempdir();
        let dir = tmp.path().join("lab");
        common::generate(&dir, &["--template", "lab", "--now", NOW]);
        Lab { _tmp: tmp, dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn check(&self, args: &[&str]) -> Command {
        let mut cmd = certlab();
        cmd.arg("check").args(args).args(["--now", NOW]);
        cmd
    }
}

/// Runs `cmd`, asserts its exit code and returns the JSON report on its stdout.
fn json_of(cmd: &mut Command, code: i32) -> serde_json::Value {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out).expect("JSON on stdout")
}

#[test]
fn ca_only_says_unknown_ca_pki_says_incomplete_chain() {
    let lab = Lab::new();
    let chain = lab.file("missing-intermediate.chain.pem");
    let ca = lab.file("ca.pem");
    let json = json_of(
        &mut lab.check(&[p(&chain), "--ca", p(&ca), "--host", "localhost", "--json"]),
        1,
    );
    assert_eq!(json["outcome"], "unknown-ca");
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("or the server did not send an intermediate")
    );
    let json = json_of(
        &mut lab.check(&[
            p(&chain),
            "--pki",
            p(&lab.dir),
            "--host",
            "localhost",
            "--json",
        ]),
        1,
    );
    assert_eq!(json["outcome"], "incomplete-chain");
}

#[test]
fn crl_flag_makes_revoked_visible_with_ca_only() {
    let lab = Lab::new();
    let chain = lab.file("revoked.chain.pem");
    let ca = lab.file("ca.pem");
    lab.check(&[p(&chain), "--ca", p(&ca), "--host", "localhost"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("outcome      ok"));
    let crl = lab.file("intermediate.crl.pem");
    lab.check(&[
        p(&chain),
        "--ca",
        p(&ca),
        "--host",
        "localhost",
        "--crl",
        p(&crl),
    ])
    .assert()
    .code(1)
    .stdout(predicate::str::contains("outcome      revoked"))
    .stdout(predicate::str::contains("certificate revoked (23)"));
}

#[test]
fn json_report_has_the_issue_fields() {
    let lab = Lab::new();
    let chain = lab.file("cn-only.chain.pem");
    let json = json_of(
        &mut lab.check(&[
            p(&chain),
            "--pki",
            p(&lab.dir),
            "--host",
            "localhost",
            "--json",
        ]),
        1,
    );
    assert_eq!(json["version"], 1);
    assert_eq!(json["outcome"], "hostname-mismatch");
    for key in ["explanation", "fix", "chain", "warnings"] {
        assert!(!json[key].is_null(), "{key} missing");
    }
    let leaf = &json["chain"][0];
    for key in [
        "subject",
        "issuer",
        "sans",
        "not_before",
        "not_after",
        "sha256",
    ] {
        assert!(!leaf[key].is_null(), "chain[0].{key} missing");
    }
    assert_eq!(leaf["subject"], "CN=localhost");
    let codes: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["cn-only"]);
}

#[test]
fn der_input_and_ip_host() {
    let lab = Lab::new();
    let pem_text = std::fs::read(lab.file("good.pem")).unwrap();
    let der = pem::parse(pem_text).unwrap().into_contents();
    let der_path = lab.dir.join("good.der");
    std::fs::write(&der_path, der).unwrap();
    // The DER file holds the leaf alone: with --pki the missing intermediate is known.
    lab.check(&[p(&der_path), "--pki", p(&lab.dir), "--host", "::1"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("incomplete-chain"));
    lab.check(&[
        p(&lab.file("good.chain.pem")),
        "--pki",
        p(&lab.dir),
        "--host",
        "[::1]",
    ])
    .assert()
    .code(0);
    lab.check(&[
        p(&lab.file("good.chain.pem")),
        "--pki",
        p(&lab.dir),
        "--host",
        "10.0.0.1",
    ])
    .assert()
    .code(1)
    .stdout(predicate::str::contains("`10.0.0.1` is not among"));
}

#[test]
fn warn_days_trips_exit_1_near_expiry() {
    let lab = Lab::new();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lab.file("certlab.json")).unwrap()).unwrap();
    let good = manifest["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "good")
        .unwrap();
    let not_after = OffsetDateTime::parse(good["not_after"].as_str().unwrap(), &Rfc3339).unwrap();
    let near = (not_after - time::Duration::days(10))
        .format(&Rfc3339)
        .unwrap();
    let chain = lab.file("good.chain.pem");
    let run = |extra: &[&str]| {
        let mut cmd = certlab();
        cmd.args(["check", p(&chain), "--pki", p(&lab.dir), "--now", &near])
            .args(extra);
        cmd.assert()
    };
    // Within the default window: a warning, but exit 0.
    run(&[])
        .code(0)
        .stdout(predicate::str::contains("expires-soon"));
    run(&["--warn-days", "30"])
        .code(1)
        .stdout(predicate::str::contains("expires-soon"));
    run(&["--warn-days", "5"]).code(0);
}

#[test]
fn whole_pki_mode_is_the_ci_guard() {
    let lab = Lab::new();
    let json = json_of(
        certlab().args([
            "check",
            "--pki",
            p(&lab.dir),
            "--now",
            NOW,
            "--warn-days",
            "30",
            "--json",
        ]),
        0,
    );
    assert_eq!(json["version"], 1);
    assert_eq!(json["failed"], 0);
    let names: Vec<&str> = json["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root", "intermediate", "good", "client"]);
    assert!(
        json["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "expired")
    );
    // Two years on, the leaves have expired: exit 1, and the text names them.
    certlab()
        .args([
            "check",
            "--pki",
            p(&lab.dir),
            "--now",
            "2032-06-01T12:00:00Z",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^good +server +expired").unwrap());
}

// ---- bad input: one line `error: ...`, exit 2 ----

fn fails_with(cmd: &mut Command, message: &str) {
    let out = common::fails_with(cmd, message);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_paths() {
    let lab = Lab::new();
    let ca = lab.file("ca.pem");
    let chain = lab.file("good.chain.pem");
    let tmp = common::tempdir();

    // Unreadable: no such file.
    let missing = tmp.path().join("nope.pem");
    fails_with(
        &mut lab.check(&[p(&missing), "--ca", p(&ca)]),
        &format!("{}: No such file", missing.display()),
    );
    // Unreadable: broken PEM.
    let broken = tmp.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    fails_with(
        &mut lab.check(&[p(&broken), "--ca", p(&ca)]),
        &format!("{}: not valid PEM", broken.display()),
    );
    // A certificate block that is not X.509.
    let junk = tmp.path().join("junk.pem");
    std::fs::write(
        &junk,
        pem::encode(&pem::Pem::new("CERTIFICATE", b"junk".to_vec())),
    )
    .unwrap();
    fails_with(
        &mut lab.check(&[p(&junk), "--ca", p(&ca)]),
        "certificate 1 is not valid X.509",
    );
    // No certificate in the file (a key), as the chain and as the bundle.
    let key = lab.file("good.key");
    fails_with(
        &mut lab.check(&[p(&key), "--ca", p(&ca)]),
        &format!("{}: no certificate in the file", key.display()),
    );
    fails_with(
        &mut lab.check(&[p(&chain), "--ca", p(&key)]),
        &format!("{}: no certificate in the file", key.display()),
    );
    // Garbage that is neither PEM nor DER.
    let garbage = tmp.path().join("garbage.bin");
    std::fs::write(&garbage, b"hello world").unwrap();
    fails_with(
        &mut lab.check(&[p(&garbage), "--ca", p(&ca)]),
        "neither PEM nor a DER certificate",
    );
    // Unknown outcome name for --expect.
    fails_with(
        &mut lab.check(&[p(&chain), "--ca", p(&ca), "--expect", "expird"]),
        "--expect: unknown outcome `expird` (expected one of: ok,",
    );
    // Missing --ca / --pki.
    fails_with(
        &mut lab.check(&[p(&chain)]),
        "no trust given: use --ca BUNDLE.pem",
    );
    // No certificate and only --ca.
    fails_with(&mut lab.check(&["--ca", p(&ca)]), "no certificate given");
    // Both --ca and --pki (clap).
    let out = lab
        .check(&[p(&chain), "--ca", p(&ca), "--pki", p(&lab.dir)])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    // A bad --host, --now, --crl, --pki.
    fails_with(
        &mut lab.check(&[p(&chain), "--ca", p(&ca), "--host", "a b"]),
        "invalid --host `a b`",
    );
    fails_with(
        certlab().args(["check", p(&chain), "--ca", p(&ca), "--now", "yesterday"]),
        "invalid --now `yesterday`",
    );
    fails_with(
        &mut lab.check(&[p(&chain), "--ca", p(&ca), "--crl", p(&ca)]),
        "no CRL in the file",
    );
    fails_with(
        &mut lab.check(&[p(&chain), "--pki", p(tmp.path())]),
        "certlab.json",
    );
}

#[test]
fn same_name_foreign_root_sent_in_the_chain_is_unknown_ca() {
    let lab = Lab::new();
    let mut pem = std::fs::read(lab.file("same-name-root.chain.pem")).unwrap();
    pem.extend(std::fs::read(lab.file("same-name-root-root.pem")).unwrap());
    let chain = lab.dir.join("same-name-root-with-root.pem");
    std::fs::write(&chain, pem).unwrap();
    for trust in [["--pki", p(&lab.dir)], ["--ca", p(&lab.file("ca.pem"))]] {
        let json = json_of(
            &mut lab.check(&[
                p(&chain),
                trust[0],
                trust[1],
                "--host",
                "localhost",
                "--json",
            ]),
            1,
        );
        assert_eq!(json["outcome"], "unknown-ca", "{trust:?}: {json}");
        assert!(
            json["detail"]
                .as_str()
                .unwrap()
                .contains("same subject as your root, different key"),
            "{json}"
        );
    }
}

/// The fix is in the user's terms: for a hostname mismatch it names the SANs the certificate
/// has, the name that was checked, the collector key and the certlab command.
#[test]
fn the_fix_names_the_host_and_the_sans() {
    let lab = Lab::new();
    let chain = lab.file("wrong-host.chain.pem");
    let json = json_of(
        &mut lab.check(&[
            p(&chain),
            "--pki",
            p(&lab.dir),
            "--host",
            "api.test",
            "--json",
        ]),
        1,
    );
    assert_eq!(json["outcome"], "hostname-mismatch");
    let fix = json["fix"].as_str().unwrap();
    for part in [
        "DNS:wrong-host.certlab.invalid",
        "`api.test`",
        "server_name_override",
        "certlab cert api.test",
    ] {
        assert!(fix.contains(part), "{part} missing from: {fix}");
    }
}

/// A name found only in the subject CN: rustls (the main outcome) refuses it, and `--client`
/// predicts each family from its measured `cn-only` cell: curl accepts (exit 0), go refuses.
#[test]
fn cn_only_is_accepted_by_the_families_that_fall_back_to_the_cn() {
    let lab = Lab::new();
    let chain = lab.file("cn-only.chain.pem");
    let pki = lab.dir.to_str().unwrap().to_string();
    let c = p(&chain);
    lab.check(&[c, "--pki", &pki, "--host", "localhost"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("hostname-mismatch"))
        .stdout(predicate::str::contains(
            "curl, openssl, python, python3.13, grpc, gnutls, java and node accept this",
        ))
        .stdout(predicate::str::contains(
            "rustls, go and chromium refuse it",
        ));
    let curl = json_of(
        &mut lab.check(&[
            c,
            "--pki",
            &pki,
            "--host",
            "localhost",
            "--client",
            "curl",
            "--json",
        ]),
        0,
    );
    assert_eq!(curl["client"]["outcome"], "ok", "{curl}");
    assert_eq!(curl["client"]["basis"], "cn-fallback", "{curl}");
    let go = json_of(
        &mut lab.check(&[
            c,
            "--pki",
            &pki,
            "--host",
            "localhost",
            "--client",
            "go",
            "--json",
        ]),
        1,
    );
    assert_eq!(go["client"]["outcome"], "hostname-mismatch", "{go}");
    // Another name than the CN: nobody falls back.
    lab.check(&[c, "--pki", &pki, "--host", "other.test", "--client", "curl"])
        .assert()
        .code(1);
}
