//! Proof for issue 10's client-aligned rules: for each rule, a certificate made with `openssl`
//! alone (`tests/data/strict/make.sh`, not certlab) that the rule's client rejects — asserted
//! with the real client (`openssl verify` with and without `-x509_strict`, Python's `ssl` with
//! its default context and with `VERIFY_X509_STRICT`, as Python ≥ 3.13 does) — and the
//! table in `certlab::clients::rules` agreeing with every one of those runs; then `certlab
//! check --client NAME` agreeing with that client (outcome, words, exit), and `certlab check`
//! without `--client` naming the disagreement while its own (rustls) outcome stays `ok`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use certlab::clients::Client;
use certlab::clients::rules::{ALL_RULES, Rule, RuleVerdict, verdict};
use common::{certlab, have_tool, run, text};

const HOST: &str = "strict.test";

/// Each case directory of make.sh and the rule it breaks.
const CASES: &[(&str, Rule)] = &[
    ("ca-bc-not-critical", Rule::CaBasicConstraintsNotCritical),
    ("missing-aki", Rule::MissingAki),
    ("missing-ski", Rule::MissingSki),
    ("ca-ku-no-keycertsign", Rule::CaKeyUsageWithoutKeyCertSign),
    (
        "root-inconsistent-ca-extensions",
        Rule::RootInconsistentCaExtensions,
    ),
    ("crl-issuer-no-crlsign", Rule::CrlIssuerWithoutCrlSign),
    ("critical-aki", Rule::CriticalAki),
    ("critical-ski", Rule::CriticalSki),
    ("leaf-keycertsign", Rule::LeafKeyCertSign),
    ("ca-empty-subject", Rule::CaEmptySubject),
    (
        "san-noncritical-empty-subject",
        Rule::EmptySubjectSanNotCritical,
    ),
    ("crl-number-critical", Rule::CrlNumberCritical),
    (
        "root-missing-basic-constraints",
        Rule::RootMissingBasicConstraints,
    ),
    ("cross-signed-anchor-missing-aki", Rule::AnchorNotSelfIssued),
];

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/strict")
        .join(file)
}

/// Runs make.sh into a fresh directory.
fn make() -> tempfile::TempDir {
    let dir = common::tempdir();
    let out = run(Command::new("bash").arg(data("make.sh")).arg(dir.path()));
    assert!(out.status.success(), "make.sh failed: {}", text(&out));
    dir
}

fn crl(d: &Path) -> Option<PathBuf> {
    Some(d.join("crl.pem")).filter(|p| p.exists())
}

/// `openssl verify` of the case (CRL checked when it has one); (accepted, output).
fn openssl_verify(d: &Path, strict: bool) -> (bool, String) {
    let mut extra = vec!["-purpose", "sslserver", "-verify_hostname", HOST];
    if strict {
        extra.push("-x509_strict");
    }
    let crl_path = crl(d).map(|p| p.display().to_string());
    if let Some(c) = &crl_path {
        extra.extend(["-crl_check", "-CRLfile", c.as_str()]);
    }
    common::openssl_verify(d, &d.join("leaf.pem"), Some(&d.join("chain.pem")), &extra)
}

/// Python's ssl in a loopback handshake; (accepted, output).
fn python(d: &Path, mode: &str) -> (bool, String) {
    let out = run(Command::new("python3")
        .arg(data("pyverify.py"))
        .arg(d)
        .arg(mode)
        .arg(HOST));
    (out.status.success(), text(&out))
}

/// Asserts a real client's run matches the table's verdict for `client`.
fn agrees(case: &str, client: Client, rule: Rule, (accepted, said): (bool, String)) {
    match verdict(rule, client) {
        RuleVerdict::Rejects { words, .. } => {
            assert!(!accepted, "{case}: {client} accepted it: {said}");
            assert!(
                said.contains(words),
                "{case}: {client} said {said:?}, the table says {words:?}"
            );
        }
        RuleVerdict::Accepts => assert!(accepted, "{case}: {client} rejected it: {said}"),
        RuleVerdict::NotMeasured => panic!("{case}: {client} is measured here"),
    }
}

/// `certlab check` of the case, with extra arguments; (exit code, stdout).
fn check(d: &Path, extra: &[&str]) -> (i32, String) {
    let mut cmd = certlab();
    cmd.arg("check")
        .arg(d.join("chain.pem"))
        .arg("--ca")
        .arg(d.join("ca.pem"))
        .args(["--host", HOST]);
    if let Some(c) = crl(d) {
        cmd.arg("--crl").arg(c);
    }
    let out = cmd.args(extra).output().expect("certlab runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
#[ignore = "needs openssl, python3 (installed by .ci/run)"]
fn each_rule_is_rejected_by_its_client_and_check_predicts_it() {
    if !(have_tool("openssl") && have_tool("python3") && have_tool("bash")) {
        return;
    }
    assert_eq!(CASES.len(), ALL_RULES.len(), "one case per rule");
    let dir = make();
    for &(case, rule) in CASES {
        let d = dir.path().join(case);
        // The real clients, against the table.
        agrees(case, Client::Openssl, rule, openssl_verify(&d, false));
        agrees(case, Client::Python, rule, python(&d, "default"));
        agrees(case, Client::Python313, rule, python(&d, "strict"));
        let (strict_ok, strict_said) = openssl_verify(&d, true);
        assert!(
            !strict_ok,
            "{case}: openssl verify -x509_strict accepted it: {strict_said}"
        );

        // certlab's own verdict (rustls) is ok: the rule is what others add.
        let (code, json) = check(&d, &["--json"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(v["outcome"], "ok", "{case}: {json}");
        assert_eq!(code, 0, "{case}");
        let codes: Vec<&str> = v["client_rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h["rule"].as_str())
            .collect();
        assert_eq!(codes, [rule.code()], "{case}: the one rule it breaks");

        // check --client agrees with each real client run above.
        for client in [Client::Openssl, Client::Python, Client::Python313] {
            let (code, json) = check(&d, &["--json", "--client", client.name()]);
            let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
            let c = &v["client"];
            assert_eq!(c["client"], client.name(), "{case}: {json}");
            match verdict(rule, client) {
                RuleVerdict::Rejects { outcome, words } => {
                    assert_eq!(code, 1, "{case} --client {client}: exit");
                    assert_eq!(c["outcome"], outcome.name(), "{case} --client {client}");
                    assert_eq!(c["words"], words, "{case} --client {client}");
                    assert_eq!(c["rule"], rule.code(), "{case} --client {client}");
                    assert_ne!(c["exit"], 0, "{case} --client {client}");
                }
                _ => {
                    assert_eq!(code, 0, "{case} --client {client}: exit");
                    assert_eq!(c["outcome"], "ok", "{case} --client {client}");
                    assert_eq!(c["exit"], 0, "{case} --client {client}");
                }
            }
        }
        let (code, out) = check(&d, &["--client", "python3.13"]);
        assert!(
            out.contains("client       python3.13"),
            "{case}: text output names the client: {out}"
        );
        assert_eq!(
            code == 0,
            verdict(rule, Client::Python313) == RuleVerdict::Accepts
        );

        // Without --client: one line naming who rejects it and why.
        let (code, out) = check(&d, &[]);
        assert_eq!(code, 0, "{case}: {out}");
        let line = out
            .lines()
            .find(|l| l.contains(" reject this: ") || l.contains(" rejects this: "))
            .unwrap_or_else(|| panic!("{case}: no disagreement line in {out}"));
        assert!(line.contains(rule.words()), "{case}: {line}");
        let first_rejecting = [
            Client::Curl,
            Client::Openssl,
            Client::Python,
            Client::Python313,
        ]
        .into_iter()
        .find(|&c| matches!(verdict(rule, c), RuleVerdict::Rejects { .. }))
        .expect("a measured family rejects it");
        assert!(line.contains(first_rejecting.name()), "{case}: {line}");
        assert!(line.contains("rustls"), "{case}: rustls accepts it: {line}");
    }
}

#[test]
#[ignore = "needs openssl, python3 (installed by .ci/run)"]
fn the_controls_pass_everywhere_and_check_names_no_client() {
    if !(have_tool("openssl") && have_tool("python3") && have_tool("bash")) {
        return;
    }
    let dir = make();
    for case in ["good", "good-crl"] {
        let d = dir.path().join(case);
        for (who, (ok, said)) in [
            ("openssl verify", openssl_verify(&d, false)),
            ("openssl verify -x509_strict", openssl_verify(&d, true)),
            ("python", python(&d, "default")),
            ("python strict", python(&d, "strict")),
        ] {
            assert!(ok, "{case}: {who} rejected the control: {said}");
        }
        let (code, json) = check(&d, &["--json"]);
        assert_eq!(code, 0, "{case}: {json}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(v["client_rules"], serde_json::json!([]), "{case}");
        assert!(
            v["clients"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["outcome"] == "ok"),
            "{case}: {json}"
        );
        let (code, out) = check(&d, &["--client", "python3.13"]);
        assert_eq!(code, 0, "{case}: {out}");
        assert!(!check(&d, &[]).1.contains(" this: "), "{case}");
    }
}

#[test]
#[ignore = "needs openssl, python3 (installed by .ci/run)"]
fn probe_names_the_clients_that_reject_the_captured_chain() {
    if !(have_tool("openssl") && have_tool("python3") && have_tool("bash")) {
        return;
    }
    let dir = make();
    let d = dir.path().join("ca-bc-not-critical");
    let mut server = Command::new("python3")
        .arg(data("pyverify.py"))
        .arg(&d)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut port,
    )
    .expect("the server prints its port");
    let out = certlab()
        .arg("probe")
        .arg(format!("127.0.0.1:{}", port.trim()))
        .arg("--ca")
        .arg(d.join("ca.pem"))
        .args(["--servername", HOST, "--timeout", "5s"])
        .output()
        .expect("certlab runs");
    let _ = server.kill();
    let _ = server.wait();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let line = said
        .lines()
        .find(|l| l.trim_start().starts_with("clients "))
        .unwrap_or_else(|| panic!("no per-client line: {said}"));
    assert!(
        line.contains("python3.13") && line.contains(Rule::CaBasicConstraintsNotCritical.words()),
        "{line}"
    );
}
