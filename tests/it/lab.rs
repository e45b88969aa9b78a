//! The lab end to end: every scenario of the `lab` template served by `certlab::serve` and
//! probed by `certlab::verify::probe`, through the library and through the binary.

use crate::common;

use std::collections::BTreeSet;

use certlab::Outcome;
use certlab::lab::{LabOptions, lab_pki, run};
use certlab::pki::model::Expectation;
use common::certlab;
use time::OffsetDateTime;

/// A fixed clock for the certificate scenarios: the lab issues and checks at this time,
/// whatever today is.
const NOW_TEXT: &str = "2030-06-01T12:00:00Z";

/// The clock for runs that include client-certificate scenarios: the same fixed time. The
/// servers judge client certificates at the injected time too, so a PKI issued in 2030 must
/// pass its `client-ok` scenario (with the real clock its client certificate would be "not
/// yet valid" to the server).
fn real_now() -> OffsetDateTime {
    time::macros::datetime!(2030-06-01 12:00 UTC)
}

#[test]
fn every_scenario_observes_its_expected_outcome() {
    let now = real_now();
    let report = run(&LabOptions {
        now: Some(now),
        ..LabOptions::default()
    })
    .expect("the lab runs");
    let pki = lab_pki(now).expect("the lab PKI builds");
    let scenarios = pki.all_scenarios();
    assert!(report.total >= 25, "only {} scenarios", report.total);
    assert_eq!(report.total, scenarios.len());
    assert_eq!(report.scenarios.len(), report.total);

    for (row, s) in report.scenarios.iter().zip(&scenarios) {
        assert_eq!(row.name, s.name);
        match (s.serve_error, s.expected) {
            (Some(refusal), _) => {
                assert_eq!(
                    row.observed,
                    Some(Expectation::ServeRefuses(refusal)),
                    "{}",
                    row.name
                );
                assert!(row.address.is_none(), "{} must not be served", row.name);
            }
            (None, Some(expected)) => {
                assert_eq!(
                    row.observed_outcome(),
                    Some(expected),
                    "scenario {}: {:?}",
                    row.name,
                    row.detail
                );
                assert_eq!(row.expected, Some(Expectation::Outcome(expected)));
            }
            (None, None) => panic!("scenario {} has no expectation", s.name),
        }
        assert!(row.matched, "{} did not match: {:?}", row.name, row.detail);
    }
    assert_eq!(report.matched, report.total);
    assert!(report.all_matched());

    // Every outcome the lab is meant to reproduce was actually seen on the wire.
    let seen: BTreeSet<Outcome> = report
        .scenarios
        .iter()
        .filter_map(|r| r.observed_outcome())
        .collect();
    // Every outcome but the three only a broken network gives (no server, no answer, a
    // dropped connection: tests/it/probe_peers.rs makes those).
    let network_only = [Outcome::Refused, Outcome::Timeout, Outcome::Reset];
    for o in certlab::outcome::ALL_OUTCOMES
        .into_iter()
        .filter(|o| !network_only.contains(o))
    {
        assert!(seen.contains(&o), "no scenario produced {o}");
    }
}

#[test]
fn lab_reports_carry_the_evidence() {
    let report = run(&LabOptions {
        now: Some(real_now()),
        only: vec![
            "good".into(),
            "client-ok".into(),
            "client-none".into(),
            "client-unknown-ca".into(),
            "client-same-name-root".into(),
            "client-expired".into(),
            "client-wrong-eku".into(),
            "tls12-vs-tls13".into(),
            "expired".into(),
            "plaintext".into(),
        ],
        ..LabOptions::default()
    })
    .expect("the lab runs");
    let get = |name: &str| {
        let row = report
            .scenarios
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name}"));
        row.report.as_ref().expect("probed")
    };

    let good = get("good");
    let tls = good.tls.as_ref().expect("negotiated parameters");
    assert_eq!(tls.version.as_deref(), Some("1.3"));
    assert!(tls.cipher.as_deref().unwrap_or("").starts_with("TLS13_"));
    assert!(
        good.http
            .as_deref()
            .unwrap_or("")
            .starts_with("HTTP/1.1 200"),
        "{:?}",
        good.http
    );
    assert_eq!(good.chain.len(), 2, "leaf and intermediate presented");
    assert!(good.chain[0].sans.iter().any(|s| s == "DNS:localhost"));

    let ok = get("client-ok");
    assert!(ok.client_cert.requested && ok.client_cert.sent);
    let none = get("client-none");
    assert!(none.client_cert.requested && !none.client_cert.sent);
    assert!(
        none.detail.as_deref().unwrap_or("").contains("116"),
        "{:?}",
        none.detail
    );
    // The server's alert is the detail of a rejected client certificate (DESIGN.md section 3).
    // client-unknown-ca is issued by a foreign root with a name of its own: unknown_ca.
    // client-same-name-root's foreign root has the trusted one's name: webpki on the server
    // matches the issuer by name and finds a bad signature, so rustls answers decrypt_error.
    for (name, alert) in [
        ("client-unknown-ca", "48 (unknown_ca)"),
        ("client-same-name-root", "51 (decrypt_error)"),
        ("client-expired", "45 (certificate_expired)"),
        ("client-wrong-eku", "43 (unsupported_certificate)"),
    ] {
        let r = get(name);
        assert_eq!(r.outcome, Outcome::ClientCertRejected, "{name}");
        assert!(r.client_cert.sent, "{name}");
        assert!(
            r.detail.as_deref().unwrap_or("").contains(alert),
            "{name}: {:?}",
            r.detail
        );
    }
    assert!(
        get("tls12-vs-tls13")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("70 (protocol_version)")
    );
    let expired = get("expired");
    assert!(expired.detail.as_deref().unwrap_or("").contains("expired"));
    assert!(expired.tls.is_none(), "the handshake was aborted");
    assert!(
        get("plaintext")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("HTTP/1.1 400"),
        "the plaintext server's answer is the evidence"
    );
}

#[test]
fn binary_json_has_the_documented_shape() {
    let out = certlab()
        .args(["lab", "--json"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["version"], 1);
    let rows = v["scenarios"].as_array().expect("scenarios[]");
    let total = v["total"].as_u64().expect("total") as usize;
    assert_eq!(rows.len(), total);
    assert_eq!(v["matched"].as_u64(), Some(total as u64));
    assert!(total >= 25);
    let keys: BTreeSet<&str> = [
        "name",
        "expected",
        "observed",
        "matched",
        "address",
        "client_says",
        "fix",
        "detail",
    ]
    .into();
    for row in rows {
        let obj = row.as_object().expect("row object");
        let got: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(got, keys, "row keys");
        assert_eq!(row["matched"], true, "{row}");
        assert_eq!(row["expected"], row["observed"], "{row}");
        if row["name"] != "key-mismatch" {
            let addr = row["address"]
                .as_str()
                .expect("served rows have an address");
            assert!(addr.starts_with("127.0.0.1:"), "loopback only: {addr}");
        }
    }
    // Expectations are written as names: an outcome's, or the serve refusal's.
    let row_of = |n: &str| rows.iter().find(|r| r["name"] == n).expect("the row");
    assert_eq!(row_of("key-mismatch")["expected"], "key-mismatch");
    assert_eq!(row_of("expired")["observed"], "expired");
    let names: BTreeSet<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    for n in [
        "plaintext",
        "tls12-vs-tls13",
        "tls13-vs-tls12",
        "cipher-mismatch",
        "alpn-no-h2",
        "client-ok",
        "client-none",
        "client-unknown-ca",
        "client-expired",
        "client-wrong-eku",
        "key-mismatch",
        "expired",
        "wrong-host",
        "unknown-ca",
    ] {
        assert!(names.contains(n), "missing scenario {n}");
    }
}

#[test]
fn binary_text_table_and_only() {
    let out = certlab()
        .args(["lab", "--only", "good,wrong-host", "--now", NOW_TEXT])
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("scenario") && lines[0].contains("observed"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("wrong-host") && l.contains("hostname-mismatch")),
        "{text}"
    );
    assert!(!text.contains("expired"), "--only runs only what it names");
    assert!(text.contains("2 of 2 scenarios as expected"), "{text}");
}

#[test]
fn binary_only_with_an_unknown_name_is_bad_input() {
    let out = certlab()
        .args(["lab", "--only", "good,no-such-scenario"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unknown scenario `no-such-scenario`"),
        "{err}"
    );
    assert!(
        err.contains("client-wrong-eku"),
        "lists the known names: {err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn binary_bad_now_and_timeout_are_bad_input() {
    for args in [
        vec!["lab", "--now", "yesterday"],
        vec!["lab", "--timeout", "fast"],
    ] {
        let out = certlab().args(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    }
}

#[test]
fn now_is_injected_into_issuing_and_checking() {
    // Issued and checked in 2030: the good certificate is valid then, the faulty ones are
    // expired / not yet valid relative to 2030, not to today.
    let out = certlab()
        .args([
            "lab",
            "--json",
            "--now",
            NOW_TEXT,
            "--only",
            "good,expired,not-yet-valid,expired-intermediate,expired-root,wrong-host",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["total"], 6);
    assert_eq!(v["matched"], 6, "{v}");
    let expired = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "expired")
        .unwrap();
    let detail = expired["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("2030"),
        "expired relative to 2030: {detail}"
    );
}

#[test]
fn binary_exits_1_when_an_outcome_differs() {
    // The "I regenerated my CA" trap: a kept lab directory whose root was replaced by another
    // root with the same name. The lab keeps that CA, so the good server's chain no longer
    // leads to the trusted root: observed unknown-ca, expected ok.
    let dir = common::tempdir();
    let lab = dir.path().join("lab");
    common::generate(&lab, &["--template", "lab"]);
    for ext in ["pem", "key"] {
        std::fs::copy(
            lab.join(format!("same-name-root-root.{ext}")),
            lab.join(format!("root.{ext}")),
        )
        .expect("swap the root");
    }
    // Files swapped behind the manifest's back are refused (issue 8: a PKI directory never
    // lies), naming the file.
    certlab()
        .args(["lab", "--only", "good", "--keep"])
        .arg(&lab)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("root.pem"));
    // A root replaced with the manifest updated to match (a consistent directory whose CA
    // is not the one clients trust): the outcome differs.
    let path = lab.join("certlab.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for ext in ["pem", "key"] {
        let file = format!("root.{ext}");
        m["files"][&file] =
            certlab::pki::sha256_hex(&std::fs::read(lab.join(&file)).unwrap()).into();
    }
    let der = pem::parse(std::fs::read(lab.join("root.pem")).unwrap()).unwrap();
    for e in m["entities"].as_array_mut().unwrap() {
        if e["name"] == "root" {
            e["sha256"] = certlab::pki::sha256_hex(der.contents()).into();
        }
    }
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let out = certlab()
        .args(["lab", "--json", "--only", "good,expired", "--keep"])
        .arg(&lab)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["matched"], 1, "{v}");
    let good = &v["scenarios"][0];
    assert_eq!(good["name"], "good");
    assert_eq!(good["observed"], "unknown-ca", "{v}");
    assert_eq!(good["matched"], false);
    assert!(
        good["detail"]
            .as_str()
            .unwrap_or("")
            .contains("same subject as your root")
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn keep_writes_a_pki_directory_the_cli_can_probe_with() {
    let dir = common::tempdir();
    let kept = dir.path().join("lab");
    let report = run(&LabOptions {
        now: Some(real_now()),
        only: vec!["missing-intermediate".into()],
        keep: Some(kept.clone()),
        keep_serving: true,
        ..LabOptions::default()
    })
    .expect("the lab runs");
    assert_eq!(report.dir, kept);
    assert!(!report.temporary);
    assert!(kept.join("certlab.json").is_file());
    assert!(kept.join("ca.pem").is_file());
    let (name, ep) = &report.endpoints[0];
    assert_eq!(name, "missing-intermediate");

    // The endpoint is still up: probe it through the binary, once with the PKI directory
    // (which knows the intermediate) and once with only ca.pem.
    let target = format!("localhost:{}", ep.addr().port());
    let pki_arg = kept.display().to_string();
    let ca_arg = kept.join("ca.pem").display().to_string();
    for (trust, expected) in [
        (["--pki", pki_arg.as_str()], "incomplete-chain"),
        (["--ca", ca_arg.as_str()], "unknown-ca"),
    ] {
        let out = certlab()
            .args(["probe", &target, "--json", "--now", NOW_TEXT])
            .args(trust)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["outcome"], expected, "{v}");
        assert_eq!(out.status.code(), Some(1));
    }

    // The reproduce commands name files that exist.
    let lines = certlab::render::reproduce::reproduce_commands(
        &report.scenarios[0].scenario,
        &kept,
        ep.addr(),
    );
    assert!(lines[0].contains(&format!("| openssl s_client -connect {}", ep.addr())));
    for line in &lines {
        // `certlab render reproduce` quotes each line in single quotes.
        assert!(!line.contains('\''), "no single quote in `{line}`");
        for word in line.split([' ', '=']) {
            if word.starts_with(&*kept.display().to_string()) {
                assert!(std::path::Path::new(word).is_file(), "{word} in `{line}`");
            }
        }
    }
}
