//! Seeded PKIs (`generate --seed`, `seed = "…"` in a spec): byte-identical files across
//! processes, working directories and time zones; different seeds and unseeded runs differ;
//! `generate --check` names what drifted, also for a copy at another path; `trust install`
//! refuses a seeded PKI; no file holds a CR, so a PKI committed to Git with `* text=auto`
//! checks clean in a clone.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{certlab, certlab_bin, p, tempdir, text};
use predicates::prelude::*;
use predicates::str::contains;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const NOW: &str = "2030-01-01T00:00:00Z";

/// Every key algorithm as a CA and as a leaf, a CRL (a revoked leaf) and a `key-mismatch` key.
const ALL_KEYS_SPEC: &str = r#"
[[ca]]
name = "root"
[[ca]]
name = "ca-p384"
issuer = "root"
key = "ecdsa-p384"
[[ca]]
name = "ca-ed25519"
issuer = "root"
key = "ed25519"
[[ca]]
name = "ca-rsa"
issuer = "root"
key = "rsa-2048"
[[leaf]]
name = "leaf-p256"
issuer = "ca-p384"
dns = ["p256.test"]
[[leaf]]
name = "leaf-p384"
issuer = "ca-ed25519"
key = "ecdsa-p384"
dns = ["p384.test"]
[[leaf]]
name = "leaf-ed25519"
issuer = "ca-rsa"
key = "ed25519"
role = "client"
[[leaf]]
name = "leaf-rsa-2048"
issuer = "ca-p384"
key = "rsa-2048"
dns = ["rsa2048.test"]
[[leaf]]
name = "leaf-rsa-3072"
issuer = "ca-p384"
key = "rsa-3072"
dns = ["rsa3072.test"]
[[leaf]]
name = "leaf-rsa-4096"
issuer = "ca-p384"
key = "rsa-4096"
dns = ["rsa4096.test"]
[[leaf]]
name = "revoked"
issuer = "ca-rsa"
fault = "revoked"
dns = ["revoked.test"]
[[leaf]]
name = "mismatch"
issuer = "ca-ed25519"
fault = "key-mismatch"
dns = ["mismatch.test"]
"#;

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `certlab generate ARGS -o out` started in `cwd` with `TZ` set (not waited for).
fn spawn_generate(cwd: &Path, tz: &str, args: &[&str]) -> Child {
    fs::create_dir_all(cwd).unwrap();
    Command::new(certlab_bin())
        .current_dir(cwd)
        .env("TZ", tz)
        .arg("generate")
        .args(args)
        .args(["-o", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_ok(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A manifest with the SHA-256 of its rendered configs (derived files of kind `config`, and
/// any `configs/` entry of `files`) blanked out: those files name the PKI's absolute directory.
fn without_config_hashes(manifest: &[u8]) -> serde_json::Value {
    let mut m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    if let Some(derived) = m["derived"].as_array_mut() {
        for d in derived.iter_mut().filter(|d| d["kind"] == "config") {
            d["sha256"] = serde_json::Value::Null;
        }
    }
    if let Some(files) = m["files"].as_object_mut() {
        for (path, hash) in files.iter_mut() {
            if path.starts_with("configs/") {
                *hash = serde_json::Value::Null;
            }
        }
    }
    m
}

/// Runs `generate ARGS` twice at once, in two working directories with two time zones, and
/// asserts every file is byte-identical, except the rendered configs (`configs/`), which name
/// the PKI's absolute path by design; then runs it a third time into the first directory from
/// another working directory and time zone and asserts that everything, configs included, is
/// byte-identical. Returns the files.
fn twice_identical(args: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let tmp = tempdir();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b/deeper"));
    let one = spawn_generate(&a, "UTC", args);
    let two = spawn_generate(&b, "Pacific/Kiritimati", args);
    wait_ok(one);
    wait_ok(two);
    let not_configs = |m: BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        m.into_iter()
            .filter(|(f, _)| !f.starts_with("configs/"))
            .collect()
    };
    let first = files(&a.join("out"));
    let (fa, fb) = (
        not_configs(first.clone()),
        not_configs(files(&b.join("out"))),
    );
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{args:?}: the same files"
    );
    for (name, bytes) in &fa {
        if name == "certlab.json" {
            // The manifest records the configs' hashes (derived files), which name the
            // directory: equal but for those.
            assert_eq!(
                without_config_hashes(bytes),
                without_config_hashes(&fb[name]),
                "{args:?}: {name} differs between runs beyond the configs' hashes"
            );
            continue;
        }
        assert!(bytes == &fb[name], "{args:?}: {name} differs between runs");
    }
    if !first.keys().any(|f| f.starts_with("configs/")) {
        assert!(
            fa["certlab.json"] == fb["certlab.json"],
            "{args:?}: no configs, so the manifests are byte-identical"
        );
        return first;
    }
    // Into the same absolute directory from elsewhere (`-o` absolute), another TZ: all equal.
    let c = tmp.path().join("c");
    fs::create_dir_all(&c).unwrap();
    let out = common::run(
        Command::new(certlab_bin())
            .current_dir(&c)
            .env("TZ", "Asia/Kolkata")
            .arg("generate")
            .args(args)
            .arg("--force")
            .arg("-o")
            .arg(a.join("out")),
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = files(&a.join("out"));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        assert!(
            bytes == &again[name],
            "{args:?}: {name} differs on regeneration"
        );
    }
    first
}

#[test]
fn every_template_seeded_is_byte_identical_across_processes_directories_and_time_zones() {
    for template in ["dev", "otel", "lab"] {
        let files = twice_identical(&["--template", template, "--seed", "ci", "--now", NOW]);
        for must in ["certlab.json", "ca.pem", "root.key", "root.pem"] {
            assert!(files.contains_key(must), "{template}: {must}");
        }
        if template != "lab" {
            assert!(
                files.keys().any(|f| f.starts_with("configs/")),
                "{template}: configs"
            );
        } else {
            assert!(files.keys().any(|f| f.ends_with(".crl.pem")), "lab: a CRL");
            assert!(
                files.keys().any(|f| f.ends_with(".chain.pem")),
                "lab: chains"
            );
        }
        let manifest: serde_json::Value = serde_json::from_slice(&files["certlab.json"]).unwrap();
        assert_eq!(manifest["seeded"], true, "{template}");
        assert_eq!(manifest["issued_at"], NOW, "{template}");
        for (name, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains("\"ci\""),
                "{template}: {name} holds the seed"
            );
        }
    }
}

#[test]
fn every_key_algorithm_seeded_is_byte_identical() {
    let tmp = tempdir();
    let spec = tmp.path().join("all.toml");
    fs::write(
        &spec,
        format!("seed = \"keys\"\nnow = {NOW}\n{ALL_KEYS_SPEC}"),
    )
    .unwrap();
    let files = twice_identical(&["--spec", p(&spec)]);
    let manifest: serde_json::Value = serde_json::from_slice(&files["certlab.json"]).unwrap();
    let algs: Vec<&str> = manifest["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key_algorithm"].as_str().unwrap())
        .collect();
    // (The manifest spells the RSA algorithms `rsa2048`, ...)
    for alg in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa2048",
        "rsa3072",
        "rsa4096",
    ] {
        assert!(algs.contains(&alg), "{alg} in {algs:?}");
    }
    assert!(
        files.contains_key("ca-rsa.crl.pem"),
        "the revoked leaf's CRL"
    );
    assert_eq!(manifest["seeded"], true);
    assert_eq!(
        manifest["issued_at"], NOW,
        "the spec's `now` pins the clock"
    );
}

#[test]
fn two_seeds_give_other_keys_certificates_and_serials() {
    let tmp = tempdir();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    common::generate(&a, &["--seed", "one", "--now", NOW]);
    common::generate(&b, &["--seed", "two", "--now", NOW]);
    let (fa, fb) = (files(&a), files(&b));
    for name in fa
        .keys()
        .filter(|f| f.ends_with(".key") || f.ends_with(".pem"))
    {
        assert_ne!(fa[name], fb[name], "{name} is the same under two seeds");
    }
    let serial = |dir: &Path| {
        let (_, cert) =
            x509_parser::pem::parse_x509_pem(&fs::read(dir.join("localhost.pem")).unwrap())
                .unwrap();
        cert.parse_x509().unwrap().raw_serial().to_vec()
    };
    assert_ne!(serial(&a), serial(&b));
}

#[test]
fn unseeded_runs_still_differ_and_say_nothing_of_a_seed() {
    let tmp = tempdir();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    common::generate(&a, &["--now", NOW]);
    common::generate(&b, &["--now", NOW]);
    let (fa, fb) = (files(&a), files(&b));
    for name in ["root.key", "root.pem", "localhost.key", "localhost.pem"] {
        assert_ne!(fa[name], fb[name], "{name}: OS randomness as before");
    }
    let manifest = String::from_utf8_lossy(&fa["certlab.json"]).into_owned();
    assert!(
        !manifest.contains("seeded") && !manifest.contains("issued_at"),
        "{manifest}"
    );
}

#[test]
fn an_empty_seed_is_bad_input() {
    let tmp = tempdir();
    certlab()
        .args(["generate", "--seed", "", "-o"])
        .arg(tmp.path().join("x"))
        .assert()
        .code(2)
        .stderr(contains("--seed is empty"));
    let spec = tmp.path().join("s.toml");
    fs::write(&spec, "seed = \"\"\n[[ca]]\nname = \"root\"\n").unwrap();
    certlab()
        .args(["generate", "--spec", p(&spec), "-o"])
        .arg(tmp.path().join("y"))
        .assert()
        .code(2)
        .stderr(contains("s.toml:1:8: `seed` is empty"));
}

#[test]
fn seeded_and_unseeded_do_not_replace_each_other_without_force() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--now", NOW]);
    certlab()
        .args(["generate", "--seed", "s", "--now", NOW, "-o", p(&dir)])
        .assert()
        .code(2)
        .stderr(contains("generated without a seed").and(contains("--force")));
    common::generate(&dir, &["--seed", "s", "--now", NOW, "--force"]);
    // Regenerating a seeded PKI with its seed rewrites the same bytes.
    let before = files(&dir);
    common::generate(&dir, &["--seed", "s", "--now", NOW]);
    assert_eq!(before, files(&dir));
    certlab()
        .args(["generate", "--now", NOW, "-o", p(&dir)])
        .assert()
        .code(2)
        .stderr(contains("holds a seeded PKI"));
}

#[test]
fn the_spec_seed_and_now_are_the_flags_seed_and_now() {
    let tmp = tempdir();
    let body = "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\nkey = \"ed25519\"\ndns = [\"web.test\"]\n";
    let (with, bare) = (tmp.path().join("with.toml"), tmp.path().join("bare.toml"));
    fs::write(&with, format!("seed = \"s\"\nnow = {NOW}\n{body}")).unwrap();
    fs::write(&bare, body).unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    common::generate(&a, &["--spec", p(&with)]);
    common::generate(&b, &["--spec", p(&bare), "--seed", "s", "--now", NOW]);
    assert_eq!(files(&a), files(&b), "spec seed/now == --seed/--now");
    // --seed overrides the spec's seed.
    common::generate(&c, &["--spec", p(&with), "--seed", "t"]);
    assert_ne!(files(&a)["web.key"], files(&c)["web.key"]);
    assert_eq!(
        common::read_manifest(&c).entities[0].not_before,
        common::read_manifest(&a).entities[0].not_before
    );
}

// ----- generate --check ---------------------------------------------------------------------

fn check(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = common::run(
        Command::new(certlab_bin())
            .args(["generate", "--check"])
            .args(args)
            .arg("-o")
            .arg(dir),
    );
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn check_passes_on_what_the_spec_makes_and_catches_a_changed_spec() {
    let tmp = tempdir();
    let spec = tmp.path().join("certlab.toml");
    let body = "seed = \"ci\"\n[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"web.test\"]\n";
    fs::write(&spec, body).unwrap();
    let dir = tmp.path().join("fixtures");
    // No `now` anywhere: the manifest records the time, which --check reproduces.
    common::generate(&dir, &["--spec", p(&spec)]);
    let (code, out) = check(&dir, &["--spec", p(&spec)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("up to date"), "{out}");

    fs::write(&spec, body.replace("web.test", "www.test")).unwrap();
    let (code, out) = check(&dir, &["--spec", p(&spec)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed  web.pem"), "{out}");
    assert!(out.contains("changed  certlab.json"), "{out}");
    assert!(!out.contains("root.pem"), "the root did not change: {out}");
}

#[test]
fn check_catches_a_changed_missing_or_extra_file() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--seed", "ci", "--now", NOW]);
    assert_eq!(check(&dir, &["--seed", "ci"]).0, 0);

    let key = dir.join("client.key");
    let original = fs::read(&key).unwrap();
    let mut bytes = original.clone();
    bytes[40] ^= 1;
    fs::write(&key, &bytes).unwrap();
    let (code, out) = check(&dir, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed  client.key"), "{out}");
    assert_eq!(out.matches("changed").count(), 1, "only that file: {out}");
    fs::write(&key, &original).unwrap();

    fs::remove_file(dir.join("localhost.chain.pem")).unwrap();
    fs::write(dir.join("stale.pem"), "old").unwrap();
    let (code, out) = check(&dir, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("missing  localhost.chain.pem") && out.contains("extra    stale.pem"),
        "{out}"
    );

    // The same as JSON.
    let (code, out) = check(&dir, &["--seed", "ci", "--json"]);
    assert_eq!(code, 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["ok"], false);
    assert!(
        json["drift"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"file": "stale.pem", "change": "extra"})),
        "{json}"
    );

    // Another seed is drift too; no seed at all, or no PKI, cannot be checked.
    assert_eq!(check(&dir, &["--seed", "other"]).0, 1);
    let (code, out) = check(&tmp.path().join("nothing"), &["--seed", "ci"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nothing to check"), "{out}");
    let (code, out) = check(&dir, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--check needs a seed"), "{out}");
}

#[test]
fn check_catches_a_near_expiry() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    // Leaves last 397 days: issued 380 days ago, they expire in about 17 days.
    let then = (OffsetDateTime::now_utc() - time::Duration::days(380))
        .format(&Rfc3339)
        .unwrap();
    common::generate(&dir, &["--seed", "ci", "--now", &then]);
    let (code, out) = check(&dir, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("expires  localhost") && out.contains("expires  client"),
        "{out}"
    );
    assert!(
        !out.contains("expires  root"),
        "the CAs last 10 years: {out}"
    );
    assert!(
        !out.contains("changed"),
        "the files are what the spec makes: {out}"
    );
    let (code, out) = check(&dir, &["--seed", "ci", "--warn-days", "5"]);
    assert_eq!(code, 0, "17 days left is more than 5: {out}");
}

// ----- trust ----------------------------------------------------------------------------------

#[test]
fn trust_install_refuses_a_seeded_pki() {
    let tmp = tempdir();
    let bundle = tmp.path().join("bundle.pem");
    let seeded = tmp.path().join("seeded");
    common::generate(&seeded, &["--seed", "s"]);
    certlab()
        .args([
            "trust",
            "install",
            "--pki",
            p(&seeded),
            "--bundle",
            p(&bundle),
        ])
        .assert()
        .code(2)
        .stderr(contains("refusing to install a seeded PKI").and(contains("whoever has the seed")));
    assert!(!bundle.exists(), "nothing was installed");
    // The same command with an unseeded PKI installs: the refusal is about the seed.
    let plain = tmp.path().join("plain");
    common::generate(&plain, &[]);
    certlab()
        .args([
            "trust",
            "install",
            "--pki",
            p(&plain),
            "--bundle",
            p(&bundle),
        ])
        .assert()
        .success();
    assert!(bundle.exists());
}

// ----- openssl ----------------------------------------------------------------------------------

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_verifies_the_seeded_dev_pki_and_reads_every_seeded_key() {
    assert!(common::have_tool("openssl"));
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--seed", "openssl"]);
    for leaf in ["localhost", "client"] {
        let (ok, out) = common::openssl_verify(
            &dir,
            &dir.join(format!("{leaf}.pem")),
            Some(&dir.join("intermediate.pem")),
            &[],
        );
        assert!(ok, "{leaf}: {out}");
    }

    let spec = tmp.path().join("all.toml");
    fs::write(&spec, ALL_KEYS_SPEC).unwrap();
    let all = tmp.path().join("all");
    common::generate(
        &all,
        &["--spec", p(&spec), "--seed", "openssl", "--now", NOW],
    );
    let manifest = common::read_manifest(&all);
    for e in manifest.entities.iter().filter(|e| e.name != "mismatch") {
        let (ok, key_pub) =
            common::tool(&["openssl", "pkey", "-in", p(&all.join(&e.key)), "-pubout"]);
        assert!(ok, "{}: openssl cannot read the key: {key_pub}", e.name);
        let (ok, cert_pub) = common::tool(&[
            "openssl",
            "x509",
            "-in",
            p(&all.join(&e.cert)),
            "-noout",
            "-pubkey",
        ]);
        assert!(ok, "{}: {cert_pub}", e.name);
        assert_eq!(
            key_pub, cert_pub,
            "{} ({}): key and certificate",
            e.name, e.key_algorithm
        );
    }
    // Each issuer's signature verifies at the pinned time (2030-01-01: -attime 1893456000).
    for (leaf, ca) in [
        ("leaf-p256", "ca-p384"),
        ("leaf-p384", "ca-ed25519"),
        ("leaf-ed25519", "ca-rsa"),
        ("leaf-rsa-4096", "ca-p384"),
    ] {
        let (ok, out) = common::openssl_verify(
            &all,
            &all.join(format!("{leaf}.pem")),
            Some(&all.join(format!("{ca}.pem"))),
            &["-attime", "1893456000"],
        );
        assert!(ok, "{leaf}: {out}");
    }
    let (ok, out) = common::openssl_verify(
        &all,
        &all.join("revoked.pem"),
        Some(&all.join("ca-rsa.pem")),
        &[
            "-attime",
            "1893456000",
            "-crl_check",
            "-CRLfile",
            p(&all.join("ca-rsa.crl.pem")),
        ],
    );
    assert!(
        !ok && out.contains("revoked"),
        "the seeded CRL revokes it: {out}"
    );
}

#[test]
fn check_covers_der_files_and_refuses_formats_with_fresh_salts() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &["--seed", "ci", "--now", NOW, "--format", "der"]);
    assert!(dir.join("localhost.der").exists());
    let (code, out) = check(&dir, &["--seed", "ci", "--format", "der"]);
    assert_eq!(code, 0, "DER files are reproduced too: {out}");
    fs::write(dir.join("localhost.der"), b"x").unwrap();
    let (code, out) = check(&dir, &["--seed", "ci", "--format", "der"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed  localhost.der"), "{out}");
    let (code, out) = check(&dir, &["--seed", "ci", "--format", "p12"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("fresh salts"), "{out}");
}

// ----- the library ---------------------------------------------------------------------------

#[test]
fn seeded_fixtures_serve_every_key_algorithm_and_rebuild_byte_identical() {
    use certlab::fixture::TestPki;
    use certlab::{KeyAlg, Outcome};
    let build = || {
        let mut pki = TestPki::seeded("live");
        let leaves: Vec<_> = [
            KeyAlg::EcdsaP256,
            KeyAlg::EcdsaP384,
            KeyAlg::Ed25519,
            KeyAlg::Rsa2048,
        ]
        .into_iter()
        .map(|alg| {
            pki.server(["localhost"])
                .name(&format!("web-{alg}"))
                .key(alg)
                .issue()
                .unwrap()
        })
        .collect();
        (pki, leaves)
    };
    let (pki, leaves) = build();
    let (again, leaves_again) = build();
    assert_eq!(pki.ca_pem(), again.ca_pem());
    for (a, b) in leaves.iter().zip(&leaves_again) {
        assert_eq!(a.cert_pem(), b.cert_pem(), "{}", a.entity().name);
        assert_eq!(a.key_pem(), b.key_pem(), "{}", a.entity().name);
    }
    // The clock is pinned at the start of this year: the leaves are valid today.
    let today = OffsetDateTime::now_utc();
    for leaf in &leaves {
        let e = leaf.entity();
        assert!(e.not_before <= today && today < e.not_after, "{}", e.name);
    }
    // rustls serves the seeded keys and the probe accepts them.
    for leaf in &leaves {
        let endpoint = pki.serve(leaf).unwrap();
        pki.assert_outcome(&endpoint, Outcome::Ok);
    }
}

// ----- committed fixtures elsewhere --------------------------------------------------------

/// Every file under `from` copied into `to` (a checkout of committed fixtures at another path).
fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let path = to.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}

/// Committed fixtures checked in another directory (a clone, a CI runner): the configs name
/// the directory they were rendered in, so `--check` compares them as made there, says so, and
/// still names a file changed in the copy; a config's first line is only a candidate, never
/// trusted without the files matching.
#[test]
fn check_passes_for_a_copy_at_another_path_and_names_where_its_configs_were_rendered() {
    let tmp = tempdir();
    let dir = tmp.path().join("repo/fixtures");
    common::generate(&dir, &["--seed", "ci", "--now", NOW]);
    assert!(dir.join("configs/localhost/otel.env").is_file());
    let copy = tmp.path().join("runner/work/fixtures");
    copy_tree(&dir, &copy);
    let (code, out) = check(&copy, &["--seed", "ci"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("up to date"), "{out}");
    assert!(
        out.contains(&format!("configs/ name {} (where", dir.display())),
        "{out}"
    );
    let (code, out) = check(&copy, &["--seed", "ci", "--json"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["configs_rendered_for"], p(&dir), "{json}");
    // The same directory by another path (a symlink): up to date, and no note about it.
    let alias = tmp.path().join("alias");
    std::os::unix::fs::symlink(tmp.path().join("repo"), &alias).unwrap();
    let (code, out) = check(&alias.join("fixtures"), &["--seed", "ci"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("configs/ name"), "{out}");
    let (code, out) = check(&dir, &["--seed", "ci", "--json"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        json["configs_rendered_for"].is_null(),
        "rendered in place: {json}"
    );

    // A config changed in the copy: that file alone drifts.
    let env = copy.join("configs/localhost/otel.env");
    let original = fs::read(&env).unwrap();
    fs::write(
        &env,
        [original.as_slice(), b"OTEL_EXPORTER_OTLP_INSECURE=true\n"].concat(),
    )
    .unwrap();
    let (code, out) = check(&copy, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed  configs/localhost/otel.env"), "{out}");
    assert_eq!(out.matches("changed").count(), 1, "only that file: {out}");
    fs::write(&env, &original).unwrap();

    // A certificate changed in the copy: drift, whatever the configs say.
    let cert = copy.join("client.pem");
    let mut bytes = fs::read(&cert).unwrap();
    bytes[100] ^= 1;
    fs::write(&cert, &bytes).unwrap();
    let (code, out) = check(&copy, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("changed  client.pem"), "{out}");
    copy_tree(&dir, &copy);

    // Configs whose first lines name a directory they were not made for: not up to date.
    let from = format!("rendered by certlab from {}", dir.display());
    for (rel, bytes) in files(&copy.join("configs")) {
        let text = String::from_utf8(bytes).unwrap();
        if text.contains(&from) {
            let moved = text.replace(&from, "rendered by certlab from /nowhere/fixtures");
            fs::write(copy.join("configs").join(rel), moved).unwrap();
        }
    }
    let (code, out) = check(&copy, &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("configs/ name /nowhere/fixtures"), "{out}");
}

/// Every file certlab writes ends its lines in LF alone, as OpenSSL, mkcert and trustme write
/// PEM: with CRs, Git's line-ending normalisation (`* text=auto`) would change the files of a
/// committed PKI and every one would differ from its manifest after a clone.
#[test]
fn no_file_certlab_writes_holds_a_carriage_return() {
    let tmp = tempdir();
    for template in ["dev", "otel", "lab"] {
        common::generate(&tmp.path().join(template), &["--template", template]);
    }
    let spec = tmp.path().join("fleet.toml");
    let combined = crate::bulk::fleet_spec(8, Some("s")).replace(
        "dir = \"clients\"\n",
        "dir = \"clients\"\nfiles = \"combined\"\n",
    );
    assert!(combined.contains("files = \"combined\""));
    fs::write(&spec, combined).unwrap();
    common::generate(&tmp.path().join("fleet"), &["--spec", p(&spec)]);
    certlab()
        .args(["revoke", "--pki"])
        .arg(tmp.path().join("dev"))
        .arg("client")
        .assert()
        .success();
    let formats: [&[&str]; 3] = [
        &["--format", "combined"],
        &["--key-format", "sec1"],
        &["--key-password", "pw"],
    ];
    for format in formats {
        certlab()
            .args(["export", "--pki"])
            .arg(tmp.path().join("dev"))
            .args(["--entity", "localhost"])
            .args(format)
            .arg("-o")
            .arg(tmp.path().join("exported"))
            .assert()
            .success();
    }
    certlab()
        .args(["export", "--pki"])
        .arg(tmp.path().join("fleet"))
        .args(["--dir", "clients", "--bundle", "clients", "-o"])
        .arg(tmp.path().join("exported"))
        .assert()
        .success();
    let all = files(tmp.path());
    assert!(
        all.keys()
            .any(|f| f.ends_with("client.crl.pem") || f.ends_with("intermediate.crl.pem")),
        "a CRL was written"
    );
    assert!(all.len() > 150, "{} files", all.len());
    let with_cr: Vec<_> = all
        .iter()
        .filter(|(_, bytes)| bytes.contains(&b'\r'))
        .map(|(f, _)| f.as_str())
        .collect();
    assert!(with_cr.is_empty(), "files with CR: {with_cr:?}");
}

/// The whole story of committed fixtures: a seeded PKI committed to a Git repository that
/// normalises line endings (`* text=auto`, common in `.gitattributes`), cloned elsewhere, is
/// clean for `certlab check --pki` and `certlab generate --check`.
#[test]
#[ignore = "needs git (installed by .ci/run)"]
fn seeded_fixtures_committed_with_text_auto_check_clean_in_a_clone() {
    if !common::have_tool("git") {
        return;
    }
    let tmp = tempdir();
    let repo = tmp.path().join("repo");
    let git = |dir: &Path, args: &[&str]| {
        let out = common::run(
            Command::new("git")
                .current_dir(dir)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .args([
                    "-c",
                    "user.name=certlab",
                    "-c",
                    "user.email=certlab@test.invalid",
                ])
                .args(args),
        );
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    fs::write(repo.join(".gitattributes"), "* text=auto\n").unwrap();
    common::generate(&repo.join("fixtures"), &["--seed", "ci", "--now", NOW]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "fixtures"]);
    git(tmp.path(), &["clone", "-q", "repo", "clone"]);
    let fixtures = tmp.path().join("clone/fixtures");
    let out = common::run(
        Command::new(certlab_bin())
            .args(["check", "--now", "2030-01-02T00:00:00Z", "--pki"])
            .arg(&fixtures),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(" 0 problems"), "{}", text(&out));
    let (code, out) = check(&fixtures, &["--seed", "ci"]);
    assert_eq!(code, 0, "{out}");

    // A checkout that turns LF into CRLF (core.autocrlf=true, as on Windows): drift, named as
    // line endings, with the way out.
    git(
        tmp.path(),
        &["-c", "core.autocrlf=true", "clone", "-q", "repo", "crlf"],
    );
    let (code, out) = check(&tmp.path().join("crlf/fixtures"), &["--seed", "ci"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line-endings ca.pem"), "{out}");
    assert!(out.contains("core.autocrlf=false"), "{out}");
    assert!(!out.contains("changed  ca.pem"), "{out}");
}
