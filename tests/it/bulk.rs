//! Bulk identities: `[[leaf]]` with `count` and a `{n}` name pattern, a `dir` layout, issuing
//! on several threads with the same (seeded) bytes whatever the thread count, and fleets that
//! the loader, `check --pki`, `serve` and `openssl verify` accept.

use crate::common;

use std::collections::BTreeMap;
use std::fs;

use std::path::Path;

use common::{certlab, p, tempdir, text};

/// A root, an issuing CA, a server `web`, `count` clients in `clients/` and an mTLS scenario
/// whose client is `client-7`.
pub(crate) fn fleet_spec(count: u32, seed: Option<&str>) -> String {
    let seed = seed
        .map(|s| format!("seed = \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        r#"{seed}
[[ca]]
name = "root"
[[ca]]
name = "issuing"
issuer = "root"
[[leaf]]
name = "web"
issuer = "issuing"
dns = ["localhost"]
[[leaf]]
name = "client-{{n}}"
issuer = "issuing"
role = "client"
count = {count}
dir = "clients"
uri = ["spiffe://fleet.test/client-{{n}}"]
[[scenario]]
name = "mtls"
server = {{ entity = "web", client_auth = "required", client_ca = ["root"] }}
client = {{ cert = "client-7" }}
expected = "ok"
"#
    )
}

fn write_spec(dir: &Path, text: &str) -> String {
    let path = dir.join("fleet.toml");
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, here: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(here).unwrap() {
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

#[test]
fn a_thousand_identities_load_check_and_serve() {
    let tmp = tempdir();
    let spec = write_spec(tmp.path(), &fleet_spec(1000, None));
    let out = tmp.path().join("pki");
    let started = std::time::Instant::now();
    // stderr is not a terminal here: no progress bar on it.
    certlab()
        .args(["generate", "--spec", &spec, "-o", p(&out)])
        .assert()
        .success()
        .stderr("");
    eprintln!("1,000 identities (debug build): {:?}", started.elapsed());

    // The layout: counted leaves in clients/, the rest at the top, paths relative.
    let listing: Vec<_> = fs::read_dir(out.join("clients")).unwrap().collect();
    assert_eq!(listing.len(), 3000, "cert, key and chain per client");
    assert!(out.join("clients/client-1000.pem").is_file());
    assert!(out.join("web.pem").is_file() && !out.join("client-1.pem").exists());
    let manifest = common::read_manifest(&out);
    let client = manifest
        .entities
        .iter()
        .find(|e| e.name == "client-1")
        .unwrap();
    assert_eq!(client.cert, "clients/client-1.pem");
    assert_eq!(client.key, "clients/client-1.key");
    assert_eq!(common::mode(&out.join("clients/client-1.key")), 0o600);

    // The loader reads every identity back (each file checked against the manifest).
    let pki = certlab::pki::store::load(&out).unwrap();
    let clients: Vec<_> = pki
        .entities
        .iter()
        .filter(|e| e.name.starts_with("client-"))
        .collect();
    assert_eq!(clients.len(), 1000);
    assert_eq!(clients[0].name, "client-1", "spec order kept");
    assert_eq!(clients[999].name, "client-1000");
    assert!(clients.iter().all(|e| e.dir.as_deref() == Some("clients")));
    let uri = certlab::pki::San::Uri("spiffe://fleet.test/client-500".into());
    assert_eq!(clients[499].sans, vec![uri]);

    // certlab's own check: every identity chains to ca.pem and is valid.
    let checked = certlab()
        .args(["check", "--pki", p(&out)])
        .output()
        .unwrap();
    let said = text(&checked);
    assert_eq!(checked.status.code(), Some(0), "{said}");
    assert!(said.contains("1003 checked, 0 failed"), "{said}");

    // serve finds the server and client CA through the manifest; a client of the fleet
    // (in clients/) gets through the mTLS endpoint.
    let server = common::Running::start(&["serve", "--pki", p(&out), "--scenario", "mtls"]);
    let addr = server.addr();
    let probe = certlab()
        .args([
            "probe",
            &format!("localhost:{}", addr.port()),
            "--pki",
            p(&out),
        ])
        .args(["--cert", p(&out.join("clients/client-7.chain.pem"))])
        .args(["--key", p(&out.join("clients/client-7.key"))])
        .args(["--timeout", "5s", "--expect", "ok"])
        .output()
        .unwrap();
    drop(server);
    assert!(probe.status.success(), "{}", text(&probe));
}

#[test]
fn counted_seeded_output_is_identical_with_one_and_two_threads() {
    let tmp = tempdir();
    let spec = write_spec(tmp.path(), &fleet_spec(200, Some("fleet")));
    let run = |threads: &str, out: &Path| {
        certlab()
            .env("CERTLAB_THREADS", threads)
            .args(["generate", "--quiet", "--spec", &spec, "-o", p(out)])
            .args(["--now", "2030-01-01T00:00:00Z"])
            .assert()
            .success();
        tree(out)
    };
    let one = run("1", &tmp.path().join("one"));
    let two = run("2", &tmp.path().join("two"));
    assert_eq!(one.len(), 200 * 3 + 2 * 2 + 3 + 2, "files of the fleet");
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &one {
        assert!(
            two[path] == *bytes,
            "{path} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn the_builder_gives_the_same_pki_on_any_thread_count() {
    use certlab::pki::issue::Builder;
    use certlab::pki::model::{CaSpec, LeafSpec};
    use certlab::pki::{Fault, Role, San};
    let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    let mut leaves: Vec<LeafSpec> = (1..=100)
        .map(|n| LeafSpec::new(format!("c{n}"), "root", Role::Client, vec![]))
        .collect();
    // A leaf that needs helper CAs in the middle of the run, and a revoked one.
    let mut odd = LeafSpec::new("odd", "root", Role::Server, vec![San::Dns("x.test".into())]);
    odd.fault = Fault::ExpiredIntermediate;
    leaves.insert(40, odd);
    let mut revoked = LeafSpec::new("rev", "root", Role::Server, vec![San::Dns("y.test".into())]);
    revoked.fault = Fault::Revoked;
    leaves.insert(70, revoked);
    let build = |threads| {
        let mut b = Builder::seeded(now, "threads")
            .unwrap()
            .with_threads(threads);
        b.add_ca(&CaSpec {
            name: "root".into(),
            ..CaSpec::default()
        })
        .unwrap();
        let seen = std::sync::atomic::AtomicU64::new(0);
        b.add_leaves(&leaves, &|n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(seen.into_inner(), 102, "progress counts every leaf");
        b.finish().unwrap()
    };
    let (one, four) = (build(1), build(4));
    let names = |pki: &certlab::pki::Pki| -> Vec<String> {
        pki.entities.iter().map(|e| e.name.clone()).collect()
    };
    assert_eq!(names(&one), names(&four));
    assert_eq!(names(&one)[41], "odd-ca", "helper CA right before its leaf");
    for (a, b) in one.entities.iter().zip(&four.entities) {
        assert_eq!(a.cert, b.cert, "{}", a.name);
        assert_eq!(a.key, b.key, "{}", a.name);
        assert_eq!(a.chain, b.chain, "{}", a.name);
        assert_eq!(a.crl, b.crl, "{}", a.name);
    }
    assert!(
        one.entity("root").unwrap().crl.is_some(),
        "the revoked leaf's CRL"
    );
}

/// Every fault of the lab, leaves with helper CAs included, issued on two threads at once is
/// the PKI `add_leaf` gives one leaf after the other: same entities in the same order, same
/// bytes.
#[test]
fn every_fault_issues_in_parallel_as_one_by_one() {
    use certlab::pki::issue::Builder;
    let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    let lab = certlab::pki::spec::template("lab").unwrap();
    let spec = certlab::pki::spec::parse(lab.name, lab.text).unwrap();
    let helped = spec
        .leaves
        .iter()
        .filter(|l| l.fault == certlab::pki::Fault::UnknownCa)
        .count();
    assert!(helped > 1, "the lab has leaves with helper CAs");
    let build = |parallel: bool| {
        let mut b = Builder::seeded(now, "lab").unwrap().with_threads(2);
        for ca in &spec.cas {
            b.add_ca(ca).unwrap();
        }
        if parallel {
            b.add_leaves(&spec.leaves, &|_| {}).unwrap();
        } else {
            for leaf in &spec.leaves {
                b.add_leaf(leaf).unwrap();
            }
        }
        b.finish().unwrap()
    };
    let (one_by_one, parallel) = (build(false), build(true));
    let names = |pki: &certlab::pki::Pki| -> Vec<String> {
        pki.entities.iter().map(|e| e.name.clone()).collect()
    };
    assert_eq!(names(&one_by_one), names(&parallel));
    assert!(one_by_one.entities.len() > spec.cas.len() + spec.leaves.len());
    for (a, b) in one_by_one.entities.iter().zip(&parallel.entities) {
        assert_eq!(a.issuer, b.issuer, "{}", a.name);
        assert_eq!(a.cert, b.cert, "{}", a.name);
        assert_eq!(a.key, b.key, "{}", a.name);
        assert_eq!(a.chain, b.chain, "{}", a.name);
        assert_eq!(a.crl, b.crl, "{}", a.name);
        assert_eq!(a.trusted, b.trusted, "{}", a.name);
    }
}

/// A helper CA's name taken by a later leaf of the same batch (issued on another thread) is
/// refused as `add_leaf` one by one refuses it.
#[test]
fn a_leaf_named_like_an_earlier_leafs_helper_ca_is_refused() {
    use certlab::pki::issue::{Builder, IssueError};
    use certlab::pki::model::{CaSpec, LeafSpec};
    use certlab::pki::{Fault, Role, San};
    let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    let mut foreign = LeafSpec::new("x", "root", Role::Server, vec![San::Dns("x.test".into())]);
    foreign.fault = Fault::UnknownCa;
    let taker = LeafSpec::new("x-root", "root", Role::Client, vec![]);
    // The leaf `x` (whose foreign root is `x-root`) before the leaf `x-root`, and after it.
    for (first, second) in [(&foreign, &taker), (&taker, &foreign)] {
        let mut leaves: Vec<LeafSpec> = (1..=20)
            .map(|n| LeafSpec::new(format!("c{n}"), "root", Role::Client, vec![]))
            .collect();
        leaves.insert(2, first.clone());
        leaves.insert(18, second.clone());
        for threads in [1, 2] {
            let mut b = Builder::new(now).with_threads(threads);
            b.add_ca(&CaSpec {
                name: "root".into(),
                ..CaSpec::default()
            })
            .unwrap();
            match b.add_leaves(&leaves, &|_| {}) {
                Err(IssueError::DuplicateName(name)) => assert_eq!(name, "x-root"),
                other => panic!("{threads} threads: {:?}", other.err()),
            }
        }
    }
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_verifies_a_sample_of_a_thousand() {
    if !common::have_tool("openssl") {
        return common::missing("openssl");
    }
    let tmp = tempdir();
    let spec = write_spec(tmp.path(), &fleet_spec(1000, None));
    let out = tmp.path().join("pki");
    certlab()
        .args(["generate", "--quiet", "--spec", &spec, "-o", p(&out)])
        .assert()
        .success();
    for n in (1..=1000).step_by(50) {
        let cert = out.join(format!("clients/client-{n}.pem"));
        let chain = out.join(format!("clients/client-{n}.chain.pem"));
        let (ok, said) =
            common::openssl_verify(&out, &cert, Some(&chain), &["-purpose", "sslclient"]);
        assert!(ok, "client-{n}: {said}");
    }
}

#[test]
fn cert_count_issues_a_fleet_from_the_local_ca() {
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("clients"));
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "50"])
        .args(["--name", "client-{n}", "spiffe://fleet.test/client-{n}"])
        .args(["-o", p(&out)])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "issued 50 client certificates (client-1 … client-50)",
        ));
    assert_eq!(fs::read_dir(&out).unwrap().count(), 150);
    assert_eq!(common::mode(&out.join("client-50.key")), 0o600);
    let certs = certlab::pem::read_certs(&out.join("client-50.pem")).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&certs[0]).unwrap();
    let cn = cert.subject().iter_common_name().next().unwrap();
    assert_eq!(cn.as_str().unwrap(), "client-50");
    let san = cert.subject_alternative_name().unwrap().unwrap();
    assert_eq!(
        format!("{:?}", san.value.general_names),
        r#"[URI("spiffe://fleet.test/client-50")]"#
    );
    let text = fs::read_to_string(out.join("client-50.pem")).unwrap();
    assert_ne!(text, fs::read_to_string(out.join("client-49.pem")).unwrap());

    // Bad input: no `{n}` anywhere still gives distinct files (STEM-n); a zero count and
    // --count with extra formats are refused with exit 2.
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--count", "0", "localhost"])
        .assert()
        .code(2);
    certlab()
        .args([
            "cert",
            "--ca-dir",
            p(&ca),
            "--count",
            "2",
            "localhost",
            "--format",
            "der",
        ])
        .args(["-o", p(&out)])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--count writes PEM files only"));
    certlab()
        .args([
            "cert",
            "--ca-dir",
            p(&ca),
            "--count",
            "2",
            "localhost",
            "-o",
            p(&out),
        ])
        .assert()
        .success();
    assert!(out.join("server-2.pem").is_file());
}

#[test]
fn export_a_fleet_as_one_pkcs12_and_one_pem_bundle() {
    let tmp = tempdir();
    let spec = write_spec(tmp.path(), &fleet_spec(40, None));
    let out = tmp.path().join("pki");
    certlab()
        .args(["generate", "--quiet", "--spec", &spec, "-o", p(&out)])
        .assert()
        .success();
    let export = |format: &str| {
        certlab()
            .args([
                "export",
                "--pki",
                p(&out),
                "--dir",
                "clients",
                "--bundle",
                "clients",
            ])
            .args(["--format", format, "--password", "pw"])
            .assert()
            .success();
    };
    export("p12");
    let bytes = fs::read(out.join("clients.p12")).unwrap();
    assert_eq!(common::mode(&out.join("clients.p12")), 0o600);
    let ks = p12_keystore::KeyStore::from_pkcs12(
        &bytes,
        "pw",
        p12_keystore::Pkcs12ImportPolicy::default(),
    )
    .unwrap();
    let mut aliases: Vec<_> = ks.entries().map(|(alias, _)| alias.to_string()).collect();
    aliases.sort();
    assert_eq!(
        aliases.len(),
        40,
        "one key entry per client, not web or the CAs"
    );
    assert!(aliases.contains(&"client-40".to_string()));

    export("pem");
    let text = fs::read_to_string(out.join("clients.pem")).unwrap();
    assert_eq!(text.matches("BEGIN PRIVATE KEY").count(), 40);
    assert_eq!(
        text.matches("BEGIN CERTIFICATE").count(),
        80,
        "leaf + intermediate each"
    );
    // Recorded as derived files of the PKI, which stays sound.
    let manifest = common::read_manifest(&out);
    assert!(manifest.derived.iter().any(|d| d.path == "clients.p12"));
    certlab()
        .args(["check", "--pki", p(&out)])
        .assert()
        .success();
    // A dir no entity uses is bad input.
    certlab()
        .args(["export", "--pki", p(&out), "--dir", "nope", "--bundle", "x"])
        .assert()
        .code(2);
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_verifies_a_fleet_from_cert_count() {
    assert!(common::have_tool("openssl"));
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("clients"));
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "20"])
        .args(["--name", "client-{n}", "spiffe://fleet.test/client-{n}"])
        .args(["-o", p(&out)])
        .assert()
        .success();
    for n in [1, 7, 20] {
        let (ok, said) = common::openssl_verify(
            &ca,
            &out.join(format!("client-{n}.pem")),
            None,
            &["-purpose", "sslclient"],
        );
        assert!(ok, "client-{n}: {said}");
    }
}

/// `cert --count` is one transaction: a leaf whose file cannot be placed (here a directory in
/// the way of `client-30.key`, which `--force` does not replace) leaves none of the new
/// leaves' files, not the 29 before it; into a new directory, the directory appears whole.
#[test]
fn cert_count_writes_all_leaves_or_none() {
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("clients"));
    fs::create_dir_all(out.join("client-30.key")).unwrap();
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "40"])
        .args(["--name", "client-{n}", "spiffe://fleet.test/client-{n}"])
        .args(["-o", p(&out), "--force"])
        .assert()
        .failure();
    let left: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["client-30.key"], "only what was there before");

    let fresh = tmp.path().join("fresh");
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "40"])
        .args(["--name", "client-{n}", "spiffe://fleet.test/client-{n}"])
        .args(["-o", p(&fresh)])
        .assert()
        .success();
    assert_eq!(fs::read_dir(&fresh).unwrap().count(), 120);
    assert_eq!(common::mode(&fresh.join("client-40.key")), 0o600);
    // No staging directory left beside it.
    let beside: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

/// A fleet's generate and regenerate killed (SIGKILL) at random instants: the directory is
/// one whole PKI (old or new) after every kill, whether `clients/` moved into place in one
/// rename (a new directory) or file by file (over the previous fleet's `clients/`).
#[test]
fn kill_9_during_a_fleet_generate_never_leaves_a_mixed_pki() {
    let tmp = tempdir();
    let spec = write_spec(tmp.path(), &fleet_spec(60, None));
    crate::store::kill_at_random_points_of(15, &["-q", "generate", "--spec", &spec]);
}

/// `{n}` in `ip` and `k8s_service` of a counted leaf: substituted per leaf; a pattern that is
/// no IP for some n is a spec error at its line and column naming that n (exit 2, nothing
/// written), not a panic.
#[test]
fn ip_and_k8s_service_patterns_in_a_fleet() {
    let tmp = tempdir();
    let head = "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"s-{n}\"\nissuer = \"root\"\n";
    let good = write_spec(
        tmp.path(),
        &format!("{head}count = 3\nip = [\"10.0.0.{{n}}\"]\nk8s_service = [\"api-{{n}}.prod\"]\n"),
    );
    let out = tmp.path().join("pki");
    certlab()
        .args(["generate", "-q", "--spec", &good, "-o", p(&out)])
        .assert()
        .success();
    let certs = certlab::pem::read_certs(&out.join("s-3.pem")).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&certs[0]).unwrap();
    let san = format!(
        "{:?}",
        cert.subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
    );
    assert!(san.contains("IPAddress([10, 0, 0, 3])"), "{san}");
    assert!(
        san.contains(r#"DNSName("api-3.prod.svc.cluster.local")"#),
        "{san}"
    );

    let bad = write_spec(
        tmp.path(),
        &format!("{head}count = 300\nip = [\"10.0.0.{{n}}\"]\n"),
    );
    let out = tmp.path().join("bad");
    certlab()
        .args(["generate", "-q", "--spec", &bad, "-o", p(&out)])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "fleet.toml:7:7: invalid IP address `10.0.0.256` (the pattern `10.0.0.{n}` with n = 256",
        ));
    assert!(!out.exists());
}

/// `certlab cert NAME --force` replaces NAME.pem, NAME.chain.pem and NAME.key together or not
/// at all: when the last file cannot be written (a directory is in the way of NAME.key), the
/// two files already replaced get their old content back, and no hidden copy is left.
#[test]
fn cert_force_puts_the_old_files_back_when_the_last_one_fails() {
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("out"));
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "localhost", "-o", p(&out)])
        .assert()
        .success();
    let old_cert = fs::read(out.join("localhost.pem")).unwrap();
    let old_chain = fs::read(out.join("localhost.chain.pem")).unwrap();
    fs::remove_file(out.join("localhost.key")).unwrap();
    fs::create_dir(out.join("localhost.key")).unwrap();

    let said = certlab()
        .args([
            "cert",
            "--ca-dir",
            p(&ca),
            "localhost",
            "-o",
            p(&out),
            "--force",
        ])
        .output()
        .unwrap();
    assert!(!said.status.success(), "{said:?}");
    let stderr = String::from_utf8_lossy(&said.stderr);
    assert!(stderr.contains("localhost.key"), "{stderr}");
    assert_eq!(fs::read(out.join("localhost.pem")).unwrap(), old_cert);
    assert_eq!(
        fs::read(out.join("localhost.chain.pem")).unwrap(),
        old_chain
    );
    let mut left: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["localhost.chain.pem", "localhost.key", "localhost.pem"]
    );
}

/// `cert --count --force` over an earlier fleet: when a file cannot be placed (a directory in
/// the way of c-2.key), every file of the earlier fleet is as it was, and nothing hidden is
/// left.
#[test]
fn cert_count_force_keeps_the_earlier_fleet_when_a_file_fails() {
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("out"));
    let fleet = |force: bool| {
        let mut cmd = certlab();
        cmd.args(["cert", "--ca-dir", p(&ca), "--client", "--count", "3"])
            .args(["--name", "c-{n}", "spiffe://x/c-{n}", "-o", p(&out)]);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    assert!(fleet(false).status.success());
    let names = [
        "c-1.pem",
        "c-1.chain.pem",
        "c-1.key",
        "c-2.pem",
        "c-2.chain.pem",
        "c-3.pem",
    ];
    let before: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(out.join(n)).unwrap())
        .collect();
    fs::remove_file(out.join("c-2.key")).unwrap();
    fs::create_dir(out.join("c-2.key")).unwrap();

    let said = fleet(true);
    assert!(!said.status.success(), "{said:?}");
    for (name, old) in names.iter().zip(&before) {
        assert_eq!(&fs::read(out.join(name)).unwrap(), old, "{name} changed");
    }
    let hidden: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// `cert --count -o DIR` into an existing empty directory writes into it: the directory keeps
/// its inode and its mode (0700 here), where a rename over it gave a new 0755 directory.
#[test]
fn cert_count_into_an_existing_empty_directory_keeps_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tmp = tempdir();
    let (ca, out) = (tmp.path().join("ca"), tmp.path().join("private"));
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o700)).unwrap();
    let inode = fs::metadata(&out).unwrap().ino();
    certlab()
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "2"])
        .args(["--name", "c-{n}", "spiffe://x/c-{n}", "-o", p(&out)])
        .assert()
        .success();
    let meta = fs::metadata(&out).unwrap();
    assert_eq!(meta.ino(), inode);
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    assert_eq!(fs::read_dir(&out).unwrap().count(), 6);
}

/// Issues `leaves` under a seeded root and its CA `issuing` with `add_leaf` one by one (stopping
/// at the first error) and with `add_leaves` on 1, 2 and 8 threads: the same PKI or the same
/// error.
fn assert_batch_is_one_by_one(leaves: &[certlab::pki::model::LeafSpec]) {
    use certlab::pki::issue::Builder;
    use certlab::pki::model::CaSpec;
    let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    let start = |threads| {
        let mut b = Builder::seeded(now, "batch").unwrap().with_threads(threads);
        b.add_ca(&CaSpec {
            name: "root".into(),
            ..CaSpec::default()
        })
        .unwrap();
        b.add_ca(&CaSpec {
            name: "issuing".into(),
            issuer: Some("root".into()),
            ..CaSpec::default()
        })
        .unwrap();
        b
    };
    let one_by_one = {
        let mut b = start(1);
        leaves
            .iter()
            .try_for_each(|l| b.add_leaf(l).map(|_| ()))
            .and_then(|()| b.finish())
    };
    for threads in [1, 2, 8] {
        let mut b = start(threads);
        let batch = b.add_leaves(leaves, &|_| {}).and_then(|()| b.finish());
        match (&one_by_one, &batch) {
            (Ok(one), Ok(batch)) => {
                let names = |pki: &certlab::pki::Pki| -> Vec<String> {
                    pki.entities.iter().map(|e| e.name.clone()).collect()
                };
                assert_eq!(names(one), names(batch), "{threads} threads");
                for (a, b) in one.entities.iter().zip(&batch.entities) {
                    assert_eq!(a.issuer, b.issuer, "{}", a.name);
                    assert_eq!(a.cert, b.cert, "{}", a.name);
                    assert_eq!(a.key, b.key, "{}", a.name);
                    assert_eq!(a.chain, b.chain, "{}", a.name);
                    assert_eq!(a.crl, b.crl, "{}", a.name);
                }
            }
            (Err(one), Err(batch)) => {
                assert_eq!(one.to_string(), batch.to_string(), "{threads} threads")
            }
            (one, batch) => panic!(
                "{threads} threads: one by one {:?}, batch {:?}",
                one.as_ref().map(|_| ()),
                batch.as_ref().map(|_| ())
            ),
        }
    }
}

/// `n` plain client leaves `{prefix}{i}` of `issuing`.
fn plain_leaves(prefix: &str, n: usize) -> Vec<certlab::pki::model::LeafSpec> {
    use certlab::pki::Role;
    use certlab::pki::model::LeafSpec;
    (1..=n)
        .map(|i| LeafSpec::new(format!("{prefix}{i}"), "issuing", Role::Client, vec![]))
        .collect()
}

/// A leaf whose issuer is a helper CA of an earlier leaf of the batch (issued by `add_leaf`
/// one by one, as that CA exists by then) is issued by the batch too, with the same chain and
/// CRL.
#[test]
fn a_leaf_of_an_earlier_leafs_helper_ca_issues_as_one_by_one() {
    use certlab::pki::model::LeafSpec;
    use certlab::pki::{Fault, Role, San};
    let mut leaves = plain_leaves("c", 10);
    let mut x = LeafSpec::new(
        "x",
        "issuing",
        Role::Server,
        vec![San::Dns("x.test".into())],
    );
    x.fault = Fault::ExpiredIntermediate;
    let mut y = LeafSpec::new("y", "x-ca", Role::Server, vec![San::Dns("y.test".into())]);
    y.fault = Fault::Revoked;
    let mut z = LeafSpec::new("z", "x-ca", Role::Server, vec![San::Dns("z.test".into())]);
    z.fault = Fault::UnknownCa;
    leaves.insert(3, x);
    leaves.insert(6, y);
    leaves.insert(8, z);
    assert_batch_is_one_by_one(&leaves);
}

/// Errors come in request order, each leaf's as `add_leaf` one by one meets them: its name
/// (taken by an earlier leaf's helper CA, or already in the PKI), its helper CAs' names, then
/// its own issuing.
#[test]
fn batch_errors_are_those_of_one_by_one() {
    use certlab::pki::model::{LeafSpec, Validity};
    use certlab::pki::{Fault, Role, San};
    let too_long = Validity::For(time::Duration::days(3_000_000));
    let foreign = |validity| {
        let mut x = LeafSpec::new(
            "x",
            "issuing",
            Role::Server,
            vec![San::Dns("x.test".into())],
        );
        x.fault = Fault::UnknownCa;
        x.validity = validity;
        x
    };
    let taker = |validity| {
        let mut t = LeafSpec::new("x-root", "issuing", Role::Client, vec![]);
        t.validity = validity;
        t
    };
    let plain = |name: &str, validity| {
        let mut t = LeafSpec::new(name, "issuing", Role::Client, vec![]);
        t.validity = validity;
        t
    };
    let ok = Validity::For(time::Duration::days(30));
    let cases: Vec<Vec<LeafSpec>> = vec![
        // `x-root` taken before `x` issues its foreign root; `x` itself cannot be issued.
        vec![taker(ok), foreign(too_long)],
        // `x-root` taken by `x`'s foreign root; the leaf `x-root` cannot be issued either.
        vec![foreign(ok), taker(too_long)],
        // A leaf that cannot be issued before a name already in the PKI.
        vec![foreign(too_long), plain("root", ok)],
        vec![plain("a", too_long), plain("root", ok)],
        // A leaf of an unknown issuer that cannot be issued: the issuer is reported first.
        vec![
            {
                let mut l = plain("a", too_long);
                l.issuer = "nope".into();
                l
            },
            plain("b", ok),
        ],
    ];
    for case in cases {
        let mut leaves = plain_leaves("c", 6);
        leaves.insert(2, case[0].clone());
        leaves.insert(5, case[1].clone());
        assert_batch_is_one_by_one(&leaves);
    }
}

/// Short batches (none, one leaf, fewer leaves than threads, a leaf with helper CAs alone or
/// first or last) issue as one by one.
#[test]
fn short_batches_issue_as_one_by_one() {
    use certlab::pki::model::LeafSpec;
    use certlab::pki::{Fault, Role, San};
    let helped = || {
        let mut x = LeafSpec::new(
            "x",
            "issuing",
            Role::Server,
            vec![San::Dns("x.test".into())],
        );
        x.fault = Fault::PathLen;
        x
    };
    for n in [0, 1, 3, 5, 17] {
        assert_batch_is_one_by_one(&plain_leaves("c", n));
        let mut first = plain_leaves("c", n);
        first.insert(0, helped());
        assert_batch_is_one_by_one(&first);
        let mut last = plain_leaves("c", n);
        last.push(helped());
        assert_batch_is_one_by_one(&last);
    }
}
