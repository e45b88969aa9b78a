//! `certlab revoke` (issue 11): the issuer's CRL gets the serial (reasons by RFC 5280 name),
//! its number goes up, earlier entries stay; revoking twice changes nothing; `check --pki`,
//! `check --crl`, `probe --crl`, openssl `-crl_check` and curl `--crlfile` see it; renewing
//! gives the leaf a serial the CRL does not list.

use crate::common;
use crate::renew::crl_entries;
use crate::store::consistent;

use std::fs;
use std::path::Path;

use common::{certlab, p, tempdir, text};

const NOW: &str = "2030-01-01T00:00:00Z";

fn serial_of(path: &Path) -> Vec<u8> {
    let der = common::load_certs(path).remove(0);
    let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
    c.raw_serial().to_vec()
}

fn revoke(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = certlab()
        .args(["revoke", "--pki", p(dir), "--now", NOW])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), text(&out))
}

fn check(args: &[&str]) -> (i32, String) {
    let out = certlab()
        .arg("check")
        .args(args)
        .args(["--now", NOW])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn revoke_lists_the_serial_bumps_the_crl_number_and_check_sees_it() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let crl = dir.join("intermediate.crl.pem");
    assert!(!crl.exists(), "no revocation yet: no CRL");
    let localhost = serial_of(&dir.join("localhost.pem"));
    let client = serial_of(&dir.join("client.pem"));
    let chain = dir.join("localhost.chain.pem");
    let ca = dir.join("ca.pem");

    let (code, said) = revoke(&dir, &["localhost", "--reason", "keyCompromise"]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("revoked by intermediate (keyCompromise), CRL number 1"),
        "{said}"
    );
    assert_eq!(crl_entries(&crl), (1, vec![(localhost.clone(), Some(1))]));
    assert_eq!(consistent(&dir), Ok(Some(4)));
    // The manifest names the CRL; the leaf's expected outcome and implicit scenario follow.
    let m = common::read_manifest(&dir);
    let inter = m
        .entities
        .iter()
        .find(|e| e.name == "intermediate")
        .unwrap();
    assert_eq!(inter.crl.as_deref(), Some("intermediate.crl.pem"));
    let leaf = m.entities.iter().find(|e| e.name == "localhost").unwrap();
    assert_eq!(leaf.expected, Some(certlab::Outcome::Revoked));
    let scenario = m.scenarios.iter().find(|s| s.name == "localhost").unwrap();
    assert_eq!(scenario.client.crl, vec!["intermediate".to_string()]);
    assert_eq!(scenario.expected, Some(certlab::Outcome::Revoked));

    // check --pki: the revoked leaf fails, the other passes.
    let (code, said) = check(&["--pki", p(&dir)]);
    assert_eq!(code, 1, "{said}");
    let line = said.lines().find(|l| l.starts_with("localhost")).unwrap();
    assert!(line.contains("revoked"), "{said}");
    let line = said.lines().find(|l| l.starts_with("client")).unwrap();
    assert!(line.contains(" ok "), "{said}");
    // check --crl with the bundle alone: revoked; without the CRL: ok (it never knew).
    let host = ["--host", "localhost"];
    let (code, said) = check(&[
        p(&chain),
        "--ca",
        p(&ca),
        "--crl",
        p(&crl),
        host[0],
        host[1],
    ]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("revoked"), "{said}");
    let (code, said) = check(&[p(&chain), "--ca", p(&ca), host[0], host[1]]);
    assert_eq!(code, 0, "{said}");

    // A second revocation: number 2, the first entry kept with its reason.
    let (code, said) = revoke(&dir, &["client", "--reason", "superseded"]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(
        crl_entries(&crl),
        (2, vec![(localhost.clone(), Some(1)), (client, Some(4))])
    );
    // Revoking again changes nothing: exit 0, same CRL bytes.
    let bytes = fs::read(&crl).unwrap();
    let (code, said) = revoke(&dir, &["localhost"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("already revoked"), "{said}");
    assert_eq!(fs::read(&crl).unwrap(), bytes);

    // Renewed, the leaf has a serial the CRL does not list: ok again (its old serial stays).
    let out = certlab()
        .args(["renew", "--pki", p(&dir), "localhost", "--now", NOW])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let (code, said) = check(&[
        p(&chain),
        "--ca",
        p(&ca),
        "--crl",
        p(&crl),
        host[0],
        host[1],
    ]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(crl_entries(&crl).1.len(), 2);
    let m = common::read_manifest(&dir);
    let leaf = m.entities.iter().find(|e| e.name == "localhost").unwrap();
    assert_eq!(leaf.expected, Some(certlab::Outcome::Ok));
    assert_eq!(consistent(&dir), Ok(Some(4)));
}

/// A revoked intermediate: the root's CRL lists it.
#[test]
fn an_intermediate_is_revoked_on_its_roots_crl() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let (code, said) = revoke(&dir, &["intermediate", "--reason", "cACompromise"]);
    assert_eq!(code, 0, "{said}");
    let serial = serial_of(&dir.join("intermediate.pem"));
    assert_eq!(
        crl_entries(&dir.join("root.crl.pem")),
        (1, vec![(serial, Some(2))])
    );
    // `unspecified` (the default) is no reason code at all (RFC 5280 5.3.1).
    let (code, said) = revoke(&dir, &["localhost"]);
    assert_eq!(code, 0, "{said}");
    let serial = serial_of(&dir.join("localhost.pem"));
    let crl = dir.join("intermediate.crl.pem");
    assert_eq!(crl_entries(&crl), (1, vec![(serial, None)]));
    assert_eq!(consistent(&dir), Ok(Some(4)));
}

/// `probe --crl` against a served revoked leaf: revoked; without the CRL: ok.
#[test]
fn probe_with_the_crl_sees_a_served_revoked_leaf() {
    let tmp = tempdir();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let dir = common::dev_pki(tmp.path(), &now);
    let out = certlab()
        .args(["revoke", "--pki", p(&dir), "localhost"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let server = common::Running::start(&["serve", "--pki", p(&dir), "--scenario", "localhost"]);
    let target = format!("localhost:{}", server.addr().port());
    let ca = common::s(&dir.join("ca.pem"));
    let crl = common::s(&dir.join("intermediate.crl.pem"));
    let (code, r) = common::probe_json(&target, &["--ca", &ca, "--crl", &crl]);
    assert_eq!((code, r["outcome"].as_str()), (1, Some("revoked")), "{r}");
    let (code, r) = common::probe_json(&target, &["--ca", &ca]);
    assert_eq!((code, r["outcome"].as_str()), (0, Some("ok")), "{r}");
    drop(server);
}

/// openssl `verify -crl_check` and curl `--crlfile` refuse the revoked leaf; without the CRL
/// they accept it (they never learn of the revocation).
#[test]
#[ignore = "needs openssl and curl (installed by .ci/run)"]
fn openssl_crl_check_and_curl_crlfile_refuse_a_revoked_leaf() {
    if !common::have_tool("openssl") || !common::have_tool("curl") {
        return common::missing("openssl and curl");
    }
    let tmp = tempdir();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let dir = common::dev_pki(tmp.path(), &now);
    let out = certlab()
        .args([
            "revoke",
            "--pki",
            p(&dir),
            "localhost",
            "--reason",
            "keyCompromise",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let leaf = dir.join("localhost.pem");
    let inter = dir.join("intermediate.pem");
    let crl = dir.join("intermediate.crl.pem");
    let (ok, said) = common::openssl_verify(
        &dir,
        &leaf,
        Some(&inter),
        &["-crl_check", "-CRLfile", p(&crl)],
    );
    assert!(!ok, "{said}");
    assert!(said.contains("certificate revoked"), "{said}");
    let (ok, said) = common::openssl_verify(&dir, &leaf, Some(&inter), &[]);
    assert!(ok, "{said}");

    let server = common::Running::start(&["serve", "--pki", p(&dir), "--scenario", "localhost"]);
    let port = server.addr().port();
    let curl = |extra: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--max-time", "5"])
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["--cacert", p(&dir.join("ca.pem"))])
            .args(extra)
            .arg(format!("https://localhost:{port}/"))
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    let (code, said) = curl(&["--crlfile", p(&crl)]);
    assert_ne!(code, Some(0), "{said}");
    assert!(said.to_lowercase().contains("revoked"), "{said}");
    let (code, said) = curl(&[]);
    assert_eq!(code, Some(0), "{said}");
    drop(server);
}

/// `serve` checks client certificates against its PKI's CRLs: a revoked client is refused,
/// another client of the same CA gets through. Before, serve had no CRL: both got through.
#[test]
fn serve_refuses_a_revoked_client_certificate() {
    let tmp = tempdir();
    let spec = tmp.path().join("spec.toml");
    fs::write(
        &spec,
        r#"[[ca]]
name = "root"
[[leaf]]
name = "web"
issuer = "root"
dns = ["localhost"]
[[leaf]]
name = "alice"
issuer = "root"
role = "client"
dns = ["alice.test"]
[[leaf]]
name = "bob"
issuer = "root"
role = "client"
dns = ["bob.test"]
[[scenario]]
name = "mtls"
server = { entity = "web", client_auth = "required", client_ca = ["root"] }
client = { cert = "alice" }
expected = "ok"
"#,
    )
    .unwrap();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--spec", p(&spec)]);
    let out = certlab()
        .args([
            "revoke",
            "--pki",
            p(&dir),
            "alice",
            "--reason",
            "keyCompromise",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let server = common::Running::start(&["serve", "--pki", p(&dir), "--scenario", "mtls"]);
    let target = format!("localhost:{}", server.addr().port());
    let ca = common::s(&dir.join("ca.pem"));
    let client = |name: &str| {
        let chain = common::s(&dir.join(format!("{name}.chain.pem")));
        let key = common::s(&dir.join(format!("{name}.key")));
        common::probe_json(
            &target,
            &[
                "--ca",
                &ca,
                "--cert",
                &chain,
                "--key",
                &key,
                "--timeout",
                "5s",
            ],
        )
    };
    let (code, r) = client("bob");
    assert_eq!((code, r["outcome"].as_str()), (0, Some("ok")), "{r}");
    let (code, r) = client("alice");
    assert_eq!(code, 1, "a revoked client certificate is refused: {r}");
    drop(server);
}

/// RFC 5280 5.2.3: a CRL number never goes backwards for the same issuer. `revoke` raises the
/// number of a CA's CRL; a later `generate` into the same directory keeps that CA (same key)
/// and, when the spec also has a `revoked`-fault leaf under it, signs its CRL again: with the
/// next number, still listing what `revoke` revoked (the old certificate is still out there),
/// and the fault leaf's new serial. A CA with a CRL and no fault leaf keeps its CRL as it is.
#[test]
fn regenerating_after_revoke_never_lowers_the_crl_number() {
    let tmp = tempdir();
    let spec = tmp.path().join("spec.toml");
    fs::write(
        &spec,
        r#"
[[ca]]
name = "root"

[[ca]]
name = "other"

[[leaf]]
name = "web"
issuer = "root"
dns = ["localhost"]

[[leaf]]
name = "bad"
issuer = "root"
dns = ["bad.test"]
fault = "revoked"

[[leaf]]
name = "api"
issuer = "other"
dns = ["api.test"]
"#,
    )
    .unwrap();
    let dir = tmp.path().join("pki");
    let generate = || {
        certlab()
            .args([
                "generate",
                "-q",
                "--now",
                NOW,
                "--spec",
                p(&spec),
                "-o",
                p(&dir),
            ])
            .assert()
            .success();
    };
    generate();
    let root_crl = dir.join("root.crl.pem");
    let other_crl = dir.join("other.crl.pem");
    let (number, entries) = crl_entries(&root_crl);
    assert_eq!((number, entries.len()), (1, 1), "the fault leaf's CRL");
    assert!(!other_crl.exists());

    let web = serial_of(&dir.join("web.pem"));
    let api = serial_of(&dir.join("api.pem"));
    let first_bad = serial_of(&dir.join("bad.pem"));
    for name in ["web", "api"] {
        let (code, said) = revoke(&dir, &[name, "--reason", "keyCompromise"]);
        assert_eq!(code, 0, "{said}");
    }
    let (before, _) = crl_entries(&root_crl);
    assert_eq!(before, 2);
    let other_before = fs::read(&other_crl).unwrap();
    assert_eq!(crl_entries(&other_crl).0, 1);

    generate();
    let (after, entries) = crl_entries(&root_crl);
    assert!(
        after > before,
        "CRL number {after} after regenerating, {before} before"
    );
    assert_eq!(after, before + 1);
    let serials: Vec<&Vec<u8>> = entries.iter().map(|(s, _)| s).collect();
    let new_bad = serial_of(&dir.join("bad.pem"));
    assert_ne!(new_bad, first_bad, "leaves are issued anew");
    for (what, serial) in [
        ("web, revoked by `certlab revoke`", &web),
        ("the first `bad`", &first_bad),
        ("the new `bad`", &new_bad),
    ] {
        assert!(
            serials.contains(&serial),
            "{what} is not listed: {entries:?}"
        );
    }
    assert!(
        entries.contains(&(web.clone(), Some(1))),
        "web keeps its reason (keyCompromise): {entries:?}"
    );
    assert_eq!(entries.len(), 3, "{entries:?}");
    // A CA without fault leaves keeps the CRL `revoke` signed, byte for byte.
    assert_eq!(fs::read(&other_crl).unwrap(), other_before);
    assert!(crl_entries(&other_crl).1.iter().any(|(s, _)| s == &api));
    assert!(
        matches!(consistent(&dir), Ok(Some(_))),
        "{:?}",
        consistent(&dir)
    );
    // The CRL is signed by the kept CA: `check` with it finds the new `bad` revoked, and the
    // new `web` (a new serial) good.
    let ca = dir.join("ca.pem");
    let check_with_crl = |leaf: &str, host: &str| {
        check(&[
            p(&dir.join(format!("{leaf}.chain.pem"))),
            "--ca",
            p(&ca),
            "--crl",
            p(&root_crl),
            "--host",
            host,
        ])
    };
    let (code, said) = check_with_crl("bad", "bad.test");
    assert!(code == 1 && said.contains("revoked"), "{said}");
    let (code, said) = check_with_crl("web", "localhost");
    assert_eq!(code, 0, "{said}");

    // Once more: the number keeps going up.
    generate();
    assert_eq!(crl_entries(&root_crl).0, after + 1);
}

/// A seeded PKI is what its spec, seed and time make, so a seeded `generate` keeps nothing
/// and signs CRL number 1 again for the same CA key. After `certlab revoke` raised a CA's CRL
/// number, that would lower it: the seeded regenerate refuses (exit 2, nothing written);
/// `--force` starts the CRL over on purpose. Without `revoke`, regenerating (at another time
/// too) goes on as before.
#[test]
fn a_seeded_regenerate_refuses_to_lower_a_revoked_crl_number() {
    let tmp = tempdir();
    let spec = tmp.path().join("spec.toml");
    fs::write(
        &spec,
        r#"
seed = "crl"

[[ca]]
name = "root"

[[leaf]]
name = "web"
issuer = "root"
dns = ["localhost"]

[[leaf]]
name = "bad"
issuer = "root"
dns = ["bad.test"]
fault = "revoked"
"#,
    )
    .unwrap();
    let dir = tmp.path().join("pki");
    let generate = |now: &str, extra: &[&str]| {
        certlab()
            .args([
                "generate",
                "-q",
                "--now",
                now,
                "--spec",
                p(&spec),
                "-o",
                p(&dir),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let crl = dir.join("root.crl.pem");
    assert!(generate(NOW, &[]).status.success());
    assert_eq!(crl_entries(&crl).0, 1);
    // Regenerating a seeded PKI, at the same or another time, is fine.
    assert!(generate(NOW, &[]).status.success());
    assert!(generate("2030-02-01T00:00:00Z", &[]).status.success());
    assert_eq!(crl_entries(&crl).0, 1);

    let (code, said) = revoke(&dir, &["web"]);
    assert_eq!(code, 0, "{said}");
    let revoked = fs::read(&crl).unwrap();
    assert_eq!(crl_entries(&crl).0, 2);
    let out = generate(NOW, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.starts_with("error: ") && said.contains("CRL number") && said.contains("root"),
        "{said}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .lines()
            .count(),
        1,
        "{said}"
    );
    assert_eq!(fs::read(&crl).unwrap(), revoked, "nothing written");
    assert!(matches!(consistent(&dir), Ok(Some(_))));
    // --force: a new start, on purpose.
    assert!(generate(NOW, &["--force"]).status.success());
    assert_eq!(crl_entries(&crl).0, 1);
}
