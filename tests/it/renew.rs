//! `certlab renew` and short-lived certificates (issue 11): what a renewal keeps (key, names,
//! extensions, issuer) and changes (serial, dates), CAs with `--force`, bad input, validity in
//! seconds with `check --now` and `--warn`, and the PKI directory's guarantees under real
//! processes: five renews at once, `kill -9` during a renew.

use crate::common;
use crate::store::{Rng, consistent, leftovers, unnamed_files};

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use certlab::pki::store;
use common::{certlab, certlab_command, p, tempdir, text};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NOW: &str = "2030-01-01T00:00:00Z";
const LATER: &str = "2030-06-01T00:00:00Z";

fn at(t: &str) -> OffsetDateTime {
    OffsetDateTime::parse(t, &Rfc3339).unwrap()
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Every entity's certificate DER, by name, as certlab's loader reads the directory.
fn certs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    store::load(dir)
        .unwrap()
        .entities
        .into_iter()
        .map(|e| (e.name, e.cert.to_vec()))
        .collect()
}

/// What a renewal must keep: subject, issuer, SPKI, and every extension (OID, criticality,
/// value) but the key identifier when asked.
struct Facts {
    serial: Vec<u8>,
    subject: Vec<u8>,
    issuer: Vec<u8>,
    spki: Vec<u8>,
    extensions: Vec<(String, bool, Vec<u8>)>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

fn facts(der: &[u8]) -> Facts {
    let (_, c) = x509_parser::parse_x509_certificate(der).unwrap();
    Facts {
        serial: c.raw_serial().to_vec(),
        subject: c.subject().as_raw().to_vec(),
        issuer: c.issuer().as_raw().to_vec(),
        spki: c.public_key().raw.to_vec(),
        extensions: c
            .extensions()
            .iter()
            .map(|e| (e.oid.to_id_string(), e.critical, e.value.to_vec()))
            .collect(),
        not_before: c.validity().not_before.to_datetime(),
        not_after: c.validity().not_after.to_datetime(),
    }
}

fn renew(dir: &Path, args: &[&str]) -> std::process::Output {
    certlab()
        .args(["renew", "--pki", p(dir)])
        .args(args)
        .output()
        .unwrap()
}

fn check_pki(dir: &Path, now: &str, extra: &[&str]) -> (i32, String) {
    let out = certlab()
        .args(["check", "--pki", p(dir), "--now", now])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), text(&out))
}

/// Renewing every leaf: new serial and dates (as long as before, from the time of renewal),
/// the same key file, subject, issuer and extensions; CAs untouched; chain files start with
/// the new certificate; the directory is whole; `check --pki` passes.
#[test]
fn renew_every_leaf_keeps_key_names_and_extensions() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let before = certs(&dir);
    let keys_before: Vec<_> = ["localhost.key", "client.key"]
        .iter()
        .map(|k| fs::read(dir.join(k)).unwrap())
        .collect();
    let out = renew(&dir, &["--now", LATER]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let after = certs(&dir);
    for name in ["root", "intermediate"] {
        assert_eq!(before[name], after[name], "{name} is a CA: not renewed");
    }
    let later = at(LATER);
    for name in ["localhost", "client"] {
        let (old, new) = (facts(&before[name]), facts(&after[name]));
        assert_ne!(old.serial, new.serial, "{name}: a new serial");
        assert_eq!(old.subject, new.subject, "{name}");
        assert_eq!(old.issuer, new.issuer, "{name}");
        assert_eq!(old.spki, new.spki, "{name}: the key is kept");
        assert_eq!(old.extensions, new.extensions, "{name}: extensions kept");
        assert_eq!(new.not_before, later - time::Duration::hours(1), "{name}");
        assert_eq!(new.not_after, later + time::Duration::days(397), "{name}");
        // The printed line: NAME: serial OLD -> NEW, expires OLD -> NEW.
        let hex = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let line = format!(
            "{name}: serial {} -> {}, expires {} -> {}",
            hex(&old.serial),
            hex(&new.serial),
            rfc(old.not_after),
            rfc(new.not_after)
        );
        assert!(said.lines().any(|l| l == line), "{line:?} not in\n{said}");
        // The chain file starts with the new certificate, then the intermediate.
        let chain = common::load_certs(&dir.join(format!("{name}.chain.pem")));
        assert_eq!(chain[0].as_ref(), after[name].as_slice());
        assert_eq!(chain[1].as_ref(), after["intermediate"].as_slice());
        assert_eq!(common::mode(&dir.join(format!("{name}.key"))), 0o600);
    }
    let keys_after: Vec<_> = ["localhost.key", "client.key"]
        .iter()
        .map(|k| fs::read(dir.join(k)).unwrap())
        .collect();
    assert_eq!(
        keys_before, keys_after,
        "key files unchanged without --rekey"
    );
    // The manifest follows: dates and hashes.
    let m = common::read_manifest(&dir);
    let localhost = m.entities.iter().find(|e| e.name == "localhost").unwrap();
    assert_eq!(localhost.not_after, later + time::Duration::days(397));
    assert_eq!(
        localhost.sha256,
        certlab::pki::sha256_hex(&after["localhost"])
    );
    assert_eq!(consistent(&dir), Ok(Some(4)));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert_eq!(unnamed_files(&dir), Vec::<String>::new());
    // Derived files follow (the dev template's configs hold the leaf's certificate paths; they
    // are made again, not left stale).
    assert!(
        said.contains("configs/localhost/otel-collector.yaml: made again"),
        "{said}"
    );
    let audit = store::audit(&dir).unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
    let (code, said) = check_pki(&dir, LATER, &[]);
    assert_eq!(code, 0, "{said}");
}

/// `--rekey`: a new key (same algorithm) that matches the new certificate, a new subject key
/// identifier; the other leaf is untouched.
#[test]
fn rekey_makes_a_new_matching_key_and_leaves_the_rest() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let before = certs(&dir);
    let key_before = fs::read(dir.join("localhost.key")).unwrap();
    let out = renew(&dir, &["localhost", "--rekey", "--now", LATER]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("(new key)"), "{}", text(&out));
    let after = certs(&dir);
    let (old, new) = (facts(&before["localhost"]), facts(&after["localhost"]));
    assert_ne!(old.spki, new.spki, "a new key");
    assert_ne!(key_before, fs::read(dir.join("localhost.key")).unwrap());
    let ski = |f: &Facts| {
        f.extensions
            .iter()
            .find(|e| e.0 == "2.5.29.14")
            .map(|e| e.2.clone())
    };
    assert_ne!(
        ski(&old),
        ski(&new),
        "the subject key identifier follows the key"
    );
    let others = |f: &Facts| {
        f.extensions
            .iter()
            .filter(|e| e.0 != "2.5.29.14")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&old), others(&new));
    assert_eq!(before["client"], after["client"], "not named: untouched");
    assert_eq!(common::mode(&dir.join("localhost.key")), 0o600);
    // consistent() checks every key against its certificate.
    assert_eq!(consistent(&dir), Ok(Some(4)));
    let (code, said) = check_pki(&dir, LATER, &[]);
    assert_eq!(code, 0, "{said}");
}

/// A CA renewed with `--force` keeps its key and name: the leaves it issued still chain (their
/// chain files now carry the new intermediate), and a renewed root goes into `ca.pem`.
#[test]
fn a_renewed_ca_keeps_what_it_issued_valid() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let before = certs(&dir);
    let out = renew(&dir, &["intermediate", "root", "--force", "--now", LATER]);
    assert!(out.status.success(), "{}", text(&out));
    let after = certs(&dir);
    for ca in ["root", "intermediate"] {
        let (old, new) = (facts(&before[ca]), facts(&after[ca]));
        assert_ne!(old.serial, new.serial, "{ca}");
        assert_eq!(old.spki, new.spki, "{ca}: same key");
        assert_eq!(old.subject, new.subject, "{ca}: same name");
        assert_eq!(old.extensions, new.extensions, "{ca}");
        assert_eq!(
            new.not_after,
            at(LATER) + time::Duration::days(3650),
            "{ca}"
        );
    }
    assert_eq!(
        before["localhost"], after["localhost"],
        "leaves not renewed"
    );
    let chain = common::load_certs(&dir.join("localhost.chain.pem"));
    assert_eq!(chain[1].as_ref(), after["intermediate"].as_slice());
    let bundle = common::load_certs(&dir.join("ca.pem"));
    assert_eq!(bundle[0].as_ref(), after["root"].as_slice());
    assert_eq!(consistent(&dir), Ok(Some(4)));
    // Ten years after NOW the old root has expired; the renewed one carries the leaves on.
    let (code, said) = check_pki(&dir, LATER, &[]);
    assert_eq!(code, 0, "{said}");
}

/// Eleven years on, the CAs have expired: renewing a leaf alone is refused (its issuer can no
/// longer sign), renewing the CAs and the leaves in one run works (issuers first) and the PKI
/// checks ok at that time.
#[test]
fn an_expired_issuer_is_renewed_first_or_refused() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let later = "2041-01-01T00:00:00Z";
    let out = renew(&dir, &["localhost", "--now", later]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("its issuer `intermediate` is not valid"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = renew(
        &dir,
        &[
            "localhost",
            "client",
            "intermediate",
            "root",
            "--force",
            "--now",
            later,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let (code, said) = check_pki(&dir, later, &[]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(consistent(&dir), Ok(Some(4)));
}

/// Bad input: exit 2, one `error:` line, nothing written.
#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let lab = tmp.path().join("lab");
    common::generate(&lab, &["--template", "lab", "--now", NOW]);
    let missing = tmp.path().join("missing");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["renew", "--pki", p(&dir), "nope"],
            "no certificate named `nope`",
        ),
        (vec!["renew", "--pki", p(&dir), "intermediate"], "is a CA"),
        (
            vec!["renew", "--pki", p(&dir), "--validity", "5 parsecs"],
            "--validity",
        ),
        (
            vec!["renew", "--pki", p(&dir), "--validity", "0s"],
            "not positive",
        ),
        (
            vec!["renew", "--pki", p(&dir), "--validity", "5"],
            "--validity",
        ),
        (
            vec!["renew", "--pki", p(&dir), "root", "--force", "--rekey"],
            "a new key would break",
        ),
        (
            vec!["renew", "--pki", p(&lab), "expired"],
            "carries the fault `expired`",
        ),
        (
            vec!["renew", "--pki", p(&missing)],
            "not a certlab PKI directory",
        ),
        (
            vec!["revoke", "--pki", p(&dir), "nope"],
            "no certificate named `nope`",
        ),
        (vec!["revoke", "--pki", p(&dir), "root"], "self-signed"),
        (
            vec![
                "revoke",
                "--pki",
                p(&dir),
                "localhost",
                "--reason",
                "stolen",
            ],
            "unknown revocation reason `stolen`",
        ),
    ];
    let manifest = fs::read(dir.join("certlab.json")).unwrap();
    for (args, message) in cases {
        let out = certlab().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err:?} lacks {message:?}");
    }
    assert_eq!(fs::read(dir.join("certlab.json")).unwrap(), manifest);
    assert!(!missing.exists(), "no directory made for a missing PKI");
    // Renewing every leaf of the lab skips the faulted ones and says so.
    let out = renew(&lab, &["--now", LATER]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("expired: skipped (fault `expired` on purpose)"),
        "{}",
        text(&out)
    );
    assert_eq!(consistent(&lab).map(|n| n.is_some()), Ok(true));
}

/// The back-dating rule: one hour, but at most a tenth of the validity, so a short-lived
/// certificate keeps its life ahead of it. Before the rule, `90s` was dated an hour back
/// (3690 s from notBefore to notAfter).
#[test]
fn back_dating_never_swallows_a_short_validity() {
    let now = at(NOW);
    for (validity, back) in [
        ("1s", 0),
        ("5s", 0),
        ("90s", 9),
        ("5m", 30),
        ("1h", 360),
        ("10h", 3600),
        ("1d", 3600),
        ("397d", 3600),
    ] {
        let spec = certlab::pki::spec::parse(
            "<spec>",
            &format!(
                "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"localhost\"]\nvalidity = \"{validity}\"\n"
            ),
        )
        .unwrap();
        let pki = store::build(&spec, now).unwrap();
        let web = facts(&pki.entity("web").unwrap().cert);
        let d = certlab::pki::spec::parse_duration(validity).unwrap();
        assert_eq!(
            web.not_before,
            now - time::Duration::seconds(back),
            "{validity}"
        );
        assert_eq!(web.not_after, now + d, "{validity}");
        assert!(
            web.not_after - web.not_before <= d + d / 10,
            "{validity}: the back-dating is at most a tenth"
        );
    }
}

/// Short-lived certificates end to end: `validity = "90s"` in a spec, `check --now` and
/// `--warn` in seconds, `--warn-days` still working, `renew --validity 5m`.
#[test]
fn short_lived_certificates_with_check_now_and_warn() {
    let tmp = tempdir();
    let spec = tmp.path().join("spec.toml");
    fs::write(
        &spec,
        "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"localhost\"]\nvalidity = \"90s\"\n",
    )
    .unwrap();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--spec", p(&spec), "--now", NOW]);
    let now = at(NOW);
    let web = facts(&certs(&dir)["web"]);
    assert_eq!(web.not_before, now - time::Duration::seconds(9));
    assert_eq!(web.not_after, now + time::Duration::seconds(90));
    let s = |secs: i64| rfc(now + time::Duration::seconds(secs));
    // 30 s left, warning window 10 s: ok. 5 s left: the warning trips (exit 1). After: expired.
    let (code, said) = check_pki(&dir, &s(60), &["--warn", "10s"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("expires in 30 s"), "{said}");
    let (code, said) = check_pki(&dir, &s(85), &["--warn", "10s"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("expires-soon"), "{said}");
    assert!(said.contains("within 10 s"), "{said}");
    let (code, said) = check_pki(&dir, &s(91), &["--warn", "10s"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("expired"), "{said}");
    // Before notBefore (now - 9 s): not yet valid.
    let (code, said) = check_pki(&dir, &s(-10), &["--warn", "1s"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("not-yet-valid"), "{said}");
    // --warn-days keeps working: 1 day covers the whole life.
    let (code, said) = check_pki(&dir, &s(10), &["--warn-days", "1"]);
    assert_eq!(code, 1, "{said}");
    // One chain with --warn in minutes.
    let out = certlab()
        .args(["check", p(&dir.join("web.chain.pem")), "--pki", p(&dir)])
        .args([
            "--host",
            "localhost",
            "--now",
            &s(30),
            "--warn",
            "2m",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["outcome"], "ok");
    assert_eq!(j["warn_tripped"], true);
    // Renewed after it expired, for 5 minutes: dated 30 s back, valid for 300 s.
    let out = renew(&dir, &["--validity", "5m", "--now", &s(100)]);
    assert!(out.status.success(), "{}", text(&out));
    let web = facts(&certs(&dir)["web"]);
    assert_eq!(web.not_before, now + time::Duration::seconds(70));
    assert_eq!(web.not_after, now + time::Duration::seconds(400));
    let (code, said) = check_pki(&dir, &s(100), &["--warn", "1m"]);
    assert_eq!(code, 0, "{said}");
    // Renewed again without --validity: 5 minutes again.
    let out = renew(&dir, &["--now", &s(200)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        facts(&certs(&dir)["web"]).not_after,
        now + time::Duration::seconds(500)
    );
}

// ----- the directory's guarantees under real processes ------------------------------------

fn spawn_renew(dir: &Path, extra: &[&str]) -> Child {
    certlab_command()
        .args(["-q", "renew", "--pki"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("certlab runs")
}

/// Five `certlab renew` at once (two of them with --rekey, one revoke among them): every run
/// succeeds, one after the other, and the directory is one whole PKI.
#[test]
fn five_renews_at_once_leave_one_whole_pki() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    let before = certs(&dir);
    let mut children: Vec<Child> = (0..5)
        .map(|i| {
            if i % 2 == 1 {
                spawn_renew(&dir, &["--rekey", "localhost", "--now", LATER])
            } else {
                spawn_renew(&dir, &["--now", LATER])
            }
        })
        .collect();
    children.push(
        certlab_command()
            .args(["-q", "revoke", "--pki", p(&dir), "client", "--now", LATER])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(consistent(&dir), Ok(Some(4)));
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert_eq!(unnamed_files(&dir), Vec::<String>::new());
    let after = certs(&dir);
    assert_ne!(before["localhost"], after["localhost"]);
    // The revoke ran once, before or after the renews of `client`: its CRL lists one serial.
    let (_, crl) = crl_entries(&dir.join("intermediate.crl.pem"));
    assert_eq!(crl.len(), 1, "{crl:?}");
}

/// A CRL entry: the serial's content octets and the reason code.
pub(crate) type CrlEntry = (Vec<u8>, Option<u8>);

/// A CRL file's number and entries.
pub(crate) fn crl_entries(path: &Path) -> (u64, Vec<CrlEntry>) {
    let pem = fs::read(path).unwrap();
    let der = ::pem::parse(&pem).unwrap().into_contents();
    let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    let number = crl
        .crl_number()
        .map(|n| {
            n.to_bytes_be()
                .iter()
                .fold(0u64, |a, b| a * 256 + u64::from(*b))
        })
        .unwrap_or(0);
    let entries = crl
        .iter_revoked_certificates()
        .map(|r| (r.raw_serial().to_vec(), r.reason_code().map(|(_, c)| c.0)))
        .collect();
    (number, entries)
}

/// The certificates of the leaves a renew renews (no fault), as a reader sees the directory.
fn leaf_hashes(dir: &Path) -> Vec<String> {
    let pki = store::load(dir).unwrap();
    pki.entities
        .iter()
        .filter(|e| !e.is_ca() && e.fault == certlab::Fault::None)
        .map(|e| e.sha256())
        .collect()
}

/// `kill -9` at random instants of `certlab renew` (every leaf): the directory is whole after
/// each kill (every file as the manifest says, keys matching), and the leaves are all old or
/// all new, never a mix. Every fourth kill, a complete run leaves no leftover.
#[test]
fn kill_9_during_renew_leaves_all_old_or_all_new() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    let spec = tmp.path().join("spec.toml");
    fs::write(
        &spec,
        "[[ca]]\nname = \"root\"\n[[ca]]\nname = \"sub\"\nissuer = \"root\"\n\
         [[leaf]]\nname = \"web-{n}\"\ncount = 40\nissuer = \"sub\"\ndns = [\"web-{n}.test\"]\n\
         [[leaf]]\nname = \"expired\"\nissuer = \"sub\"\ndns = [\"x.test\"]\nfault = \"expired\"\n",
    )
    .unwrap();
    common::generate(&dir, &["--spec", p(&spec), "--now", NOW]);
    assert_eq!(leaf_hashes(&dir).len(), 40);
    let timed = |extra: &[&str]| {
        let start = Instant::now();
        let out = spawn_renew(&dir, &[extra, &["--now", LATER]].concat())
            .wait_with_output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    let window = (0..3).map(|_| timed(&[])).min().unwrap();
    eprintln!("renew of 40 leaves: {window:?}");
    let mut rng = Rng::new();
    let iterations = 12;
    let (mut interrupted, mut old_seen, mut new_seen) = (0, 0, 0);
    for i in 0..iterations {
        let before = leaf_hashes(&dir);
        let extra: &[&str] = if i % 2 == 0 {
            &["--now", LATER]
        } else {
            &["--rekey", "--now", LATER]
        };
        let delay = Duration::from_micros(rng.below(window.as_micros() as u64 * 6 / 5));
        let mut child = spawn_renew(&dir, extra);
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
            interrupted += 1;
        } else {
            assert!(status.success(), "kill {i}: the run failed by itself");
        }
        match consistent(&dir) {
            Ok(Some(_)) => {}
            other => panic!("kill {i} after {delay:?}: {other:?}"),
        }
        let after = leaf_hashes(&dir);
        let same = before.iter().zip(&after).filter(|(a, b)| a == b).count();
        assert!(
            same == 0 || same == before.len(),
            "kill {i} after {delay:?}: {same} of {} leaves old: a mixed PKI",
            before.len()
        );
        if same == 0 {
            new_seen += 1;
        } else {
            old_seen += 1;
        }
        if i % 4 == 3 {
            timed(&[]);
            assert_eq!(leftovers(&dir), Vec::<String>::new(), "after kill {i}");
            assert_eq!(unnamed_files(&dir), Vec::<String>::new(), "after kill {i}");
        }
    }
    eprintln!(
        "{iterations} kills: {interrupted} inside a run; {old_seen} left the old PKI, {new_seen} the new"
    );
    assert!(
        interrupted * 3 >= iterations,
        "too few kills landed inside a run ({interrupted} of {iterations})"
    );
}

/// Renewed leaves (kept key, new key, under a renewed intermediate) pass `openssl verify`.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn renewed_leaves_pass_openssl_verify() {
    if !common::have_tool("openssl") {
        return common::missing("openssl");
    }
    let tmp = tempdir();
    let now = rfc(OffsetDateTime::now_utc());
    let dir = common::dev_pki(tmp.path(), &now);
    for args in [
        vec![],
        vec!["localhost", "--rekey"],
        vec!["intermediate", "--force"],
    ] {
        let out = renew(&dir, &args);
        assert!(out.status.success(), "{}", text(&out));
        for leaf in ["localhost", "client"] {
            let (ok, said) = common::openssl_verify(
                &dir,
                &dir.join(format!("{leaf}.pem")),
                Some(&dir.join("intermediate.pem")),
                &[],
            );
            assert!(ok, "{args:?} {leaf}: {said}");
            // The chain file as a server sends it verifies too.
            let (ok, said) = common::openssl_verify(
                &dir,
                &dir.join(format!("{leaf}.pem")),
                Some(&dir.join(format!("{leaf}.chain.pem"))),
                &[],
            );
            assert!(ok, "{args:?} {leaf} chain: {said}");
        }
    }
}

/// Derived files made from a renewed leaf follow: DER and combined PEM (and other key formats)
/// are made again from the new certificate; a PKCS#12 file (random salt: certlab cannot prove
/// it makes the same one) is removed and named, never left stale. Files of other entities
/// stay as they were.
#[test]
fn derived_files_follow_a_renewal() {
    let tmp = tempdir();
    let dir = common::dev_pki(tmp.path(), NOW);
    for args in [
        vec!["--format", "der"],
        vec!["--format", "combined", "--entity", "localhost"],
        vec!["--key-format", "sec1", "--entity", "localhost"],
        vec!["--format", "p12", "--entity", "localhost"],
    ] {
        let out = certlab()
            .args(["export", "--pki", p(&dir)])
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let client_der = fs::read(dir.join("client.der")).unwrap();
    let out = renew(&dir, &["localhost", "--now", LATER]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let new = certs(&dir)["localhost"].clone();
    assert_eq!(fs::read(dir.join("localhost.der")).unwrap(), new, "{said}");
    let combined = common::load_certs(&dir.join("localhost.combined.pem"));
    assert_eq!(combined[0].as_ref(), new.as_slice());
    assert!(dir.join("localhost.ec.key").exists(), "{said}");
    assert!(said.contains("localhost.der: made again"), "{said}");
    assert!(!dir.join("localhost.p12").exists(), "{said}");
    assert!(said.contains("localhost.p12: removed"), "{said}");
    assert_eq!(fs::read(dir.join("client.der")).unwrap(), client_der);
    let audit = store::audit(&dir).unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
    assert_eq!(unnamed_files(&dir), Vec::<String>::new());
}

/// `certlab cert --validity 5m` (local CA and `--count`): valid 5 minutes from `--now`,
/// back-dated 30 s; a malformed one is bad input.
#[test]
fn cert_validity_flag_issues_short_lived_leaves() {
    let tmp = tempdir();
    let ca_dir = tmp.path().join("caroot");
    let out_dir = tmp.path().join("out");
    let run = |extra: &[&str]| {
        certlab()
            .args([
                "cert",
                "--ca-dir",
                p(&ca_dir),
                "-o",
                p(&out_dir),
                "--now",
                NOW,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["localhost", "--validity", "5m"]);
    assert!(out.status.success(), "{}", text(&out));
    let f = facts(&common::load_certs(&out_dir.join("localhost.pem"))[0]);
    let now = at(NOW);
    assert_eq!(f.not_before, now - time::Duration::seconds(30));
    assert_eq!(f.not_after, now + time::Duration::minutes(5));
    let out = run(&[
        "a.test",
        "--count",
        "2",
        "--name",
        "w-{n}",
        "--validity",
        "90s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let f = facts(&common::load_certs(&out_dir.join("w-2.pem"))[0]);
    assert_eq!(f.not_after, now + time::Duration::seconds(90));
    let out = run(&["b.test", "--validity", "5 parsecs"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: --validity"), "{err}");
}
