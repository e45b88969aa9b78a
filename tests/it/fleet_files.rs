//! Fleets on disk: concurrent writers into one directory are serialised (the directory's lock),
//! so an identity's files never come from two runs.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{certlab, certlab_command, p};

/// The identity `NAME` in `dir` (certificate, chain and key files, or the one combined file):
/// the certificate's `notAfter` as text, after checking that the key is the certificate's and
/// that the chain starts with the certificate.
fn identity(dir: &Path, cert: &str, chain: &str, key: &str) -> String {
    let certs = certlab::pem::read_certs(&dir.join(cert)).unwrap();
    let chain = certlab::pem::read_certs(&dir.join(chain)).unwrap();
    let key = certlab::pem::read_private_key(&dir.join(key)).unwrap();
    let key = certlab::pki::SecretKey::from_pkcs8(key.secret_der().to_vec());
    assert!(
        certlab::pki::store::key_matches_cert(&key, &certs[0]).unwrap(),
        "{cert}: the key is not the certificate's (files of two runs)"
    );
    assert_eq!(chain[0], certs[0], "{cert}: the chain is another run's");
    let (_, parsed) = x509_parser::parse_x509_certificate(&certs[0]).unwrap();
    parsed.validity().not_after.to_string()
}

/// `c-1` … `c-count` in `dir`, three files each: every identity whole, and all of one run
/// (one `notAfter`); nothing hidden left.
fn one_run_of_three_files(dir: &Path, count: u32) {
    let mut runs = std::collections::BTreeSet::new();
    for n in 1..=count {
        runs.insert(identity(
            dir,
            &format!("c-{n}.pem"),
            &format!("c-{n}.chain.pem"),
            &format!("c-{n}.key"),
        ));
    }
    assert_eq!(
        runs.len(),
        1,
        "identities of two runs side by side: {runs:?}"
    );
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len() as u32, count * 3, "{names:?}");
}

/// `certlab cert --client --count COUNT --name c-{n}` from the CA in `ca` into `out`, valid for
/// `validity` (which tells the runs apart), started (not waited for).
fn fleet(ca: &Path, out: &Path, count: u32, validity: &str, force: bool) -> Command {
    let mut cmd = certlab_command();
    cmd.args(["cert", "--ca-dir", p(ca), "--client", "--count"])
        .arg(count.to_string())
        .args(["--name", "c-{n}", "spiffe://fleet.test/c-{n}", "-o", p(out)])
        .args(["--validity", validity]);
    if force {
        cmd.arg("--force");
    }
    cmd
}

/// Runs the commands at the same instant; their outputs in order.
fn at_once(cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// A scratch directory on tmpfs where there is one: the races are about the order of renames,
/// and syncing to this machine's shared disk (every run syncs its files) only makes the tests
/// slow.
fn tempdir() -> tempfile::TempDir {
    match Path::new("/dev/shm") {
        shm if shm.is_dir() => tempfile::tempdir_in(shm).expect("tempdir"),
        _ => common::tempdir(),
    }
}

/// A local CA made once, so that the racing runs only issue from it.
fn local_ca(tmp: &Path) -> std::path::PathBuf {
    let ca = tmp.join("ca");
    certlab()
        .args([
            "cert",
            "--ca-dir",
            p(&ca),
            "localhost",
            "-o",
            p(&tmp.join("warm")),
        ])
        .assert()
        .success();
    ca
}

/// Two `cert --count --force` into one existing directory at once, over and over: both
/// succeed, one after the other, so every identity's certificate, chain and key are of one run
/// and the directory holds one run's fleet. Without the lock their renames interleaved (a
/// certificate of one run beside the key of the other).
#[test]
fn concurrent_cert_count_force_runs_take_turns() {
    let tmp = tempdir();
    let ca = local_ca(tmp.path());
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    const N: u32 = 400;
    for round in 0..8 {
        let outs = at_once(vec![
            fleet(&ca, &out, N, "10d", true),
            fleet(&ca, &out, N, "20d", true),
        ]);
        for o in &outs {
            assert!(o.status.success(), "round {round}: {}", common::text(o));
        }
        one_run_of_three_files(&out, N);
    }
}

/// Two `cert --count` (no `--force`) into one existing directory at once: one wins, the other
/// fails cleanly (exit 2, the file that exists named) and leaves nothing of its own.
#[test]
fn concurrent_cert_count_runs_without_force_one_wins() {
    let tmp = tempdir();
    let ca = local_ca(tmp.path());
    for round in 0..2 {
        let out = tmp.path().join(format!("out-{round}"));
        fs::create_dir(&out).unwrap();
        let outs = at_once(vec![
            fleet(&ca, &out, 300, "10d", false),
            fleet(&ca, &out, 300, "20d", false),
        ]);
        let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
        assert!(
            codes == [Some(0), Some(2)] || codes == [Some(2), Some(0)],
            "round {round}: {codes:?}"
        );
        let lost = outs.iter().find(|o| o.status.code() == Some(2)).unwrap();
        assert!(
            common::text(lost).contains("exists: refusing to replace it"),
            "{}",
            common::text(lost)
        );
        one_run_of_three_files(&out, 300);
    }
}

/// `certlab generate` and `cert --count --force` with the same names into one new directory
/// at once: one of them wins, the other fails with exit 2 (`generate` refuses a directory of
/// other files, `cert` refuses to replace the files of a PKI); a PKI left there is whole.
#[test]
fn generate_and_cert_count_into_one_directory_take_turns() {
    let tmp = tempdir();
    let ca = local_ca(tmp.path());
    let spec = tmp.path().join("fleet.toml");
    fs::write(
        &spec,
        "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"c-{n}\"\nissuer = \"root\"\nrole = \"client\"\ncount = 300\n",
    )
    .unwrap();
    for round in 0..3 {
        let out = tmp.path().join(format!("pki-{round}"));
        fs::create_dir(&out).unwrap();
        let mut generate = certlab_command();
        generate.args(["generate", "-q", "--spec", p(&spec), "-o", p(&out)]);
        let outs = at_once(vec![generate, fleet(&ca, &out, 300, "10d", true)]);
        let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
        assert!(
            codes == [Some(0), Some(2)] || codes == [Some(2), Some(0)],
            "round {round}: {codes:?}\n{}\n{}",
            common::text(&outs[0]),
            common::text(&outs[1])
        );
        if codes[0] == Some(0) {
            let checked = certlab()
                .args(["check", "--pki", p(&out)])
                .output()
                .unwrap();
            assert!(checked.status.success(), "{}", common::text(&checked));
        } else {
            one_run_of_three_files(&out, 300);
        }
    }
}

/// The fleet spec of `bulk` (a root, an issuing CA, a server `web`, `count` clients in
/// `clients/`, an mTLS scenario whose client is `client-7`) with `files = "combined"`.
fn combined_spec(count: u32) -> String {
    let spec = crate::bulk::fleet_spec(count, None);
    let combined = spec.replacen(
        "dir = \"clients\"\n",
        "dir = \"clients\"\nfiles = \"combined\"\n",
        1,
    );
    assert_ne!(combined, spec, "the fleet spec has a `dir` line");
    combined
}

/// Writes [`combined_spec`] of `count` clients to `tmp/fleet.toml` and generates it into
/// `tmp/pki`; returns (spec, PKI directory).
fn combined_fleet(tmp: &Path, count: u32) -> (std::path::PathBuf, std::path::PathBuf) {
    let spec = tmp.join("fleet.toml");
    fs::write(&spec, combined_spec(count)).unwrap();
    let out = tmp.join("pki");
    certlab()
        .args(["generate", "-q", "--spec", p(&spec), "-o", p(&out)])
        .assert()
        .success();
    (spec, out)
}

/// The PEM labels of a file, in order.
fn labels(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("-----BEGIN "))
        .map(|l| l.trim_end_matches('-').to_string())
        .collect()
}

/// `files = "combined"`: one `NAME.pem` per client (0600: key, certificate, intermediate), the
/// manifest naming it as the client's cert, key and chain (with its hash); the loader, `check
/// --pki`, `inspect`, `export` and an mTLS `serve`/`probe` with the one file work; a tampered
/// combined file is reported like any tampered file; the default layout is unchanged.
#[test]
fn a_combined_fleet_is_one_file_per_identity_and_every_reader_works() {
    let tmp = tempdir();
    let (spec, out) = combined_fleet(tmp.path(), 30);
    let clients = out.join("clients");
    assert_eq!(fs::read_dir(&clients).unwrap().count(), 30, "one file each");
    let one = clients.join("client-7.pem");
    assert_eq!(common::mode(&one), 0o600, "it holds the key");
    assert_eq!(labels(&one), ["PRIVATE KEY", "CERTIFICATE", "CERTIFICATE"]);
    identity(&clients, "client-7.pem", "client-7.pem", "client-7.pem");
    // The server keeps its three files.
    assert!(out.join("web.key").is_file() && out.join("web.chain.pem").is_file());
    assert_eq!(labels(&out.join("web.pem")), ["CERTIFICATE"]);

    let manifest = common::read_manifest(&out);
    let m = manifest
        .entities
        .iter()
        .find(|e| e.name == "client-7")
        .unwrap();
    assert_eq!(
        (m.cert.as_str(), m.key.as_str(), m.chain.as_deref()),
        (
            "clients/client-7.pem",
            "clients/client-7.pem",
            Some("clients/client-7.pem")
        )
    );
    assert!(manifest.files.contains_key("clients/client-7.pem"));
    assert!(!manifest.files.contains_key("clients/client-7.key"));

    let pki = certlab::pki::store::load(&out).unwrap();
    let e = pki.entity("client-7").unwrap();
    assert_eq!(e.files, certlab::pki::FileLayout::Combined);
    assert_eq!((e.chain.len(), &e.chain[0]), (2, &e.cert));
    assert_eq!(
        pki.entity("web").unwrap().files,
        certlab::pki::FileLayout::Separate
    );

    let checked = certlab()
        .args(["check", "--pki", p(&out)])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", common::text(&checked));
    certlab().args(["inspect", p(&one)]).assert().success();

    // mTLS with the one file as the client's certificate and key.
    let server = common::Running::start(&["serve", "--pki", p(&out), "--scenario", "mtls"]);
    let probe = certlab()
        .args(["probe", &format!("localhost:{}", server.addr().port())])
        .args(["--pki", p(&out), "--cert", p(&one), "--key", p(&one)])
        .args(["--timeout", "5s", "--expect", "ok"])
        .output()
        .unwrap();
    drop(server);
    assert!(probe.status.success(), "{}", common::text(&probe));

    // The fleet as one PKCS#12; the PEM files of a client elsewhere.
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
        .args(["--format", "p12", "--password", "pw"])
        .assert()
        .success();
    let elsewhere = tmp.path().join("pem");
    certlab()
        .args([
            "export",
            "--pki",
            p(&out),
            "--entity",
            "client-7",
            "-o",
            p(&elsewhere),
        ])
        .assert()
        .success();
    identity(
        &elsewhere,
        "client-7.pem",
        "client-7.chain.pem",
        "client-7.key",
    );

    // A regenerate over it keeps the layout (and the PKI sound).
    certlab()
        .args(["generate", "-q", "--spec", p(&spec), "-o", p(&out)])
        .assert()
        .success();
    assert_eq!(fs::read_dir(&clients).unwrap().count(), 30);
    certlab()
        .args(["check", "--pki", p(&out)])
        .assert()
        .success();

    // Tampered: another client's file in its place.
    fs::copy(clients.join("client-8.pem"), &one).unwrap();
    let tampered = certlab()
        .args(["check", "--pki", p(&out)])
        .output()
        .unwrap();
    let said = common::text(&tampered);
    assert!(!tampered.status.success(), "{said}");
    assert!(
        said.contains("clients/client-7.pem: does not match the manifest"),
        "{said}"
    );
    let err = certlab::pki::store::load(&out).unwrap_err();
    assert!(err.to_string().contains("client-7.pem"), "{err}");
}

/// `certlab cert --count --files combined`: one 0600 `NAME.pem` per identity (key, then
/// certificate); over an earlier three-file fleet it refuses without `--force` and, with it,
/// removes the earlier `NAME.key` and `NAME.chain.pem` (another identity's); `--files
/// combined` with other formats is bad input; a single `cert --files combined` writes one file.
#[test]
fn cert_count_files_combined() {
    let tmp = tempdir();
    let ca = local_ca(tmp.path());
    let out = tmp.path().join("out");
    let run = |files: &str, force: bool| {
        let mut cmd = fleet(&ca, &out, 20, "10d", force);
        cmd.args(["--files", files]);
        common::run(&mut cmd)
    };
    assert!(run("separate", false).status.success());
    assert_eq!(fs::read_dir(&out).unwrap().count(), 60);

    let refused = run("combined", false);
    assert_eq!(refused.status.code(), Some(2), "{}", common::text(&refused));
    assert_eq!(fs::read_dir(&out).unwrap().count(), 60, "nothing changed");

    let replaced = run("combined", true);
    assert!(replaced.status.success(), "{}", common::text(&replaced));
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 20, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".pem") && !n.ends_with(".chain.pem"))
    );
    for n in [1, 20] {
        let f = format!("c-{n}.pem");
        assert_eq!(common::mode(&out.join(&f)), 0o600);
        // The local CA is a root: the chain is the leaf alone.
        assert_eq!(labels(&out.join(&f)), ["PRIVATE KEY", "CERTIFICATE"]);
        identity(&out, &f, &f, &f);
    }

    let mut extra = fleet(&ca, &out, 2, "10d", true);
    extra.args(["--files", "combined", "--format", "der"]);
    assert_eq!(common::run(&mut extra).status.code(), Some(2));
    let mut bad = fleet(&ca, &out, 2, "10d", true);
    bad.args(["--files", "one"]);
    assert_eq!(common::run(&mut bad).status.code(), Some(2));

    let single = tmp.path().join("single");
    certlab()
        .args([
            "cert",
            "--ca-dir",
            p(&ca),
            "localhost",
            "--files",
            "combined",
        ])
        .args(["-o", p(&single)])
        .assert()
        .success();
    let names: Vec<_> = fs::read_dir(&single).unwrap().collect();
    assert_eq!(names.len(), 1);
    identity(&single, "localhost.pem", "localhost.pem", "localhost.pem");
    assert_eq!(common::mode(&single.join("localhost.pem")), 0o600);
}

/// A spec error: `files` other than separate or combined, and combined with `reversed-chain`
/// (whose first certificate is not the leaf's), each at its line and column.
#[test]
fn files_in_a_spec_is_checked() {
    let tmp = tempdir();
    let head =
        "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"s\"\nissuer = \"root\"\ndns = [\"s.test\"]\n";
    for (extra, message) in [
        (
            "files = \"single\"\n",
            "spec.toml:7:9: unknown files `single` (expected separate or combined)",
        ),
        (
            "files = \"combined\"\nfault = \"reversed-chain\"\n",
            "spec.toml:7:9: files = \"combined\" puts the leaf's certificate first",
        ),
    ] {
        let spec = tmp.path().join("spec.toml");
        fs::write(&spec, format!("{head}{extra}")).unwrap();
        certlab()
            .args([
                "generate",
                "--spec",
                p(&spec),
                "-o",
                p(&tmp.path().join("x")),
            ])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

/// A sample of a combined fleet passes `openssl verify`, and `openssl s_client -cert F
/// -cert_chain F` (the key read from the same file) and `curl --cert F` get through `certlab
/// serve`'s mTLS endpoint (a 200 answer).
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_uses_a_combined_identity_for_mtls() {
    assert!(common::have_tool("openssl"));
    let tmp = tempdir();
    let (_, out) = combined_fleet(tmp.path(), 10);
    for n in [1, 7, 10] {
        let f = out.join(format!("clients/client-{n}.pem"));
        let ran = common::run(
            Command::new("openssl")
                .args(["verify", "-CAfile", p(&out.join("ca.pem"))])
                .args(["-untrusted", p(&f), "-purpose", "sslclient", p(&f)]),
        );
        assert!(ran.status.success(), "client-{n}: {}", common::text(&ran));
    }
    let server = common::Running::start(&["serve", "--pki", p(&out), "--scenario", "mtls"]);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-ign_eof", "-connect"])
        .arg(server.addr().to_string())
        .args(["-CAfile", p(&out.join("ca.pem")), "-verify_return_error"])
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        // s_client sends only the certificate of -cert; -cert_chain (the same file) adds the
        // intermediate. The key comes from -cert's file when -key is not given.
        .args(["-cert", p(&out.join("clients/client-7.pem"))])
        .args(["-cert_chain", p(&out.join("clients/client-7.pem"))]);
    let ran = common::run_timeout(
        &mut cmd,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(5),
    );
    assert!(
        ran.stdout.contains("HTTP/1.1 200 OK") && ran.stdout.contains("TLS handshake ok"),
        "{}",
        ran.all()
    );
    // curl --cert F alone: the key and the intermediate from the same file.
    if common::have_tool("curl") {
        let port = server.addr().port();
        let ran = common::run(
            Command::new("curl")
                .args(["-sS", "--max-time", "5", "--cacert", p(&out.join("ca.pem"))])
                .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
                .args(["--cert", p(&out.join("clients/client-7.pem"))])
                .arg(format!("https://localhost:{port}/")),
        );
        assert!(
            String::from_utf8_lossy(&ran.stdout).contains("TLS handshake ok"),
            "{}",
            common::text(&ran)
        );
    }
    drop(server);
}

/// A combined leaf re-issued under another CA (`lab::rotation::reissue_under`, the cut-over of
/// a CA rotation) stays one file: no `NAME.key` or `NAME.chain.pem` appears beside it.
#[test]
fn a_reissued_combined_leaf_stays_one_file() {
    let tmp = tempdir();
    let (_, out) = combined_fleet(tmp.path(), 8);
    let now = time::OffsetDateTime::now_utc();
    let (old, new) = certlab::lab::rotation::reissue_under(
        &out,
        "client-2",
        "root",
        time::Duration::hours(1),
        now,
    )
    .unwrap();
    assert_ne!(old, new);
    let pki = certlab::pki::store::load(&out).unwrap();
    let client = pki.entity("client-2").unwrap();
    assert_eq!(client.issuer, "root");
    assert_eq!(client.files, certlab::pki::model::FileLayout::Combined);
    let clients = out.join("clients");
    assert_eq!(fs::read_dir(&clients).unwrap().count(), 8, "one file each");
    assert_eq!(
        labels(&clients.join("client-2.pem")),
        ["PRIVATE KEY", "CERTIFICATE"]
    );
    assert!(
        certlab::pki::store::audit(&out)
            .unwrap()
            .problems
            .is_empty()
    );
}

/// `certlab render` over a PKI whose server and client have combined files: every file the
/// configurations name exists (the one `NAME.pem`, not a `NAME.chain.pem` or `NAME.key` that
/// a combined leaf does not have).
#[test]
fn render_names_the_files_of_combined_leaves() {
    let tmp = tempdir();
    let spec = tmp.path().join("combined.toml");
    fs::write(
        &spec,
        r#"[[ca]]
name = "root"
[[leaf]]
name = "web"
issuer = "root"
dns = ["localhost"]
files = "combined"
[[leaf]]
name = "agent"
issuer = "root"
role = "client"
uri = ["spiffe://fleet.test/agent"]
files = "combined"
"#,
    )
    .unwrap();
    let out = tmp.path().join("pki");
    certlab()
        .args(["generate", "-q", "--spec", p(&spec), "-o", p(&out)])
        .assert()
        .success();
    for kind in ["otel-collector", "otel-env"] {
        let rendered = certlab()
            .args(["render", kind, "--pki", p(&out), "--client", "agent"])
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{}", common::text(&rendered));
        let text = String::from_utf8(rendered.stdout).unwrap();
        let named: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix("cert_file: ")
                    .or_else(|| l.strip_prefix("key_file: "))
                    .or_else(|| l.strip_prefix("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="))
                    .or_else(|| l.strip_prefix("OTEL_EXPORTER_OTLP_CLIENT_KEY="))
            })
            .map(|v| v.trim_matches(|c| c == '"' || c == '\''))
            .collect();
        assert!(!named.is_empty(), "{kind}: {text}");
        for file in named {
            assert!(
                Path::new(file).is_file(),
                "{kind} names {file}, which is not there"
            );
        }
    }
    // The Kubernetes Secret's comments name the files its data come from (relative to the PKI).
    let rendered = certlab()
        .args([
            "render",
            "k8s-secret",
            "--pki",
            p(&out),
            "--client",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", common::text(&rendered));
    let text = String::from_utf8(rendered.stdout).unwrap();
    let named: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# "))
        .map(|l| l.split(':').next().unwrap_or(l))
        .filter(|f| f.ends_with(".pem") || f.ends_with(".key"))
        .collect();
    assert!(named.len() >= 4, "{text}");
    for file in named {
        assert!(out.join(file).is_file(), "k8s-secret names {file}: {text}");
    }
}

/// `certlab render reproduce` for an mTLS scenario whose client has combined files in a
/// sub-directory: the openssl and curl commands and the exporter's environment name that one
/// file.
#[test]
fn reproduce_names_the_file_of_a_combined_client() {
    let tmp = tempdir();
    let (_, out) = combined_fleet(tmp.path(), 8);
    let rendered = certlab()
        .args(["render", "reproduce", "--pki", p(&out)])
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", common::text(&rendered));
    let text = String::from_utf8(rendered.stdout).unwrap();
    let one = out.join("clients/client-7.pem").display().to_string();
    assert!(
        text.contains(&format!("-cert {one} -key {one}"))
            && text.contains(&format!("--cert {one} --key {one}"))
            && text.contains(&format!("OTEL_EXPORTER_OTLP_CLIENT_KEY={one}")),
        "{text}"
    );
    assert!(!text.contains("client-7.key"), "{text}");
}

/// `certlab cert -o PKI/clients --force` into the sub-directory of a PKI's fleet: the files
/// the PKI's manifest names there (`clients/client-1.pem`) are the PKI's, refused like the
/// files at its top, so the PKI stays sound.
#[test]
fn cert_into_a_pki_sub_directory_leaves_the_pki_files_alone() {
    let tmp = tempdir();
    let (_, out) = combined_fleet(tmp.path(), 8);
    let ca = local_ca(tmp.path());
    let clients = out.join("clients");
    let before = fs::read(clients.join("client-1.pem")).unwrap();
    let mut single = certlab_command();
    single
        .args(["cert", "--ca-dir", p(&ca), "--client", "--name", "client-1"])
        .args(["spiffe://fleet.test/x", "-o", p(&clients), "--force"]);
    let mut by_count = certlab_command();
    by_count
        .args(["cert", "--ca-dir", p(&ca), "--client", "--count", "2"])
        .args([
            "--name",
            "client-{n}",
            "spiffe://fleet.test/c-{n}",
            "-o",
            p(&clients),
        ])
        .arg("--force");
    // The same through a symbolic link to the sub-directory.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&clients, &link).unwrap();
    let mut linked = certlab_command();
    linked
        .args(["cert", "--ca-dir", p(&ca), "--client", "--name", "client-1"])
        .args(["spiffe://fleet.test/x", "-o", p(&link), "--force"]);
    for mut cmd in [single, by_count, linked] {
        let run = cmd.output().unwrap();
        let said = common::text(&run);
        assert!(!run.status.success(), "{said}");
        assert!(said.contains("client-1.pem"), "{said}");
    }
    assert_eq!(fs::read(clients.join("client-1.pem")).unwrap(), before);
    let checked = certlab()
        .args(["check", "--pki", p(&out)])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", common::text(&checked));
}

/// `generate`'s next steps name the files a combined server has: its one `NAME.pem` as the
/// chain and the key.
#[test]
fn generate_hints_the_file_of_a_combined_server() {
    let tmp = tempdir();
    let spec = tmp.path().join("one.toml");
    fs::write(
        &spec,
        "[[ca]]\nname = \"root\"\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"localhost\"]\nfiles = \"combined\"\n",
    )
    .unwrap();
    let out = tmp.path().join("pki");
    let run = certlab()
        .args(["generate", "--spec", p(&spec), "-o", p(&out)])
        .output()
        .unwrap();
    let said = common::text(&run);
    assert!(run.status.success(), "{said}");
    let dir = out.display();
    assert!(
        said.contains(&format!("serve {dir}/web.pem with key {dir}/web.pem")),
        "{said}"
    );
}

/// The hidden staging directories beside `dir`'s parent entries (`.certlab-fleet-*`).
fn stagings(parent: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(parent)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".certlab-fleet-")
        })
        .map(|e| e.path())
        .collect()
}

/// A `cert --count` killed with SIGKILL while it stages a new directory leaves its hidden
/// staging directory (private keys in it) and no output directory; the next fleet written
/// there removes that leftover, and nothing of a run still going.
#[test]
fn a_killed_fleets_staging_is_removed_by_the_next_fleet() {
    let tmp = tempdir();
    let ca = local_ca(tmp.path());
    let home = tmp.path().join("out");
    fs::create_dir(&home).unwrap();
    let killed_out = home.join("big");
    // Kill it once its staging directory holds keys (a bigger fleet if a run was too quick
    // to be caught while staging).
    let (mut child, staged) = [8_000, 30_000, 100_000]
        .into_iter()
        .find_map(|count| {
            let mut child = fleet(&ca, &killed_out, count, "10d", false)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            loop {
                let found = stagings(&home).into_iter().find(|s| {
                    fs::read_dir(s).is_ok_and(|mut d| {
                        d.any(|e| {
                            e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".key"))
                        })
                    })
                });
                if let Some(s) = found {
                    return Some((child, s));
                }
                if child.try_wait().unwrap().is_some() {
                    let _ = fs::remove_dir_all(&killed_out);
                    return None;
                }
                assert!(std::time::Instant::now() < deadline, "no staging directory");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
        .expect("a run caught while staging");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(staged.is_dir(), "a SIGKILL leaves the staging directory");
    assert!(!killed_out.exists(), "and no output directory");

    let next = home.join("small");
    let o = fleet(&ca, &next, 3, "10d", false).output().unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(next.join("c-3.key").is_file());
    assert!(!staged.exists(), "the killed run's staging is gone");
    assert!(stagings(&home).is_empty(), "{:?}", stagings(&home));
}

/// The README's claim about one combined file, measured with the clients it names beside
/// curl and OpenSSL (above): Python's `load_cert_chain(f)` and Go's `tls.LoadX509KeyPair(f, f)`
/// read a combined client identity (key, certificate and intermediate; Go's pair holds both
/// certificates) and get through `certlab serve`'s mTLS endpoint, which accepts the client
/// certificate only with its intermediate.
#[test]
#[ignore = "needs python3 and go (installed by .ci/run)"]
fn python_and_go_read_a_combined_identity_for_mtls() {
    assert!(common::have_tool("python3") && common::have_tool("go"));
    let tmp = tempdir();
    let (_, out) = combined_fleet(tmp.path(), 8);
    let python = tmp.path().join("client.py");
    let go = tmp.path().join("client.go");
    fs::write(&python, include_str!("../data/combined/client.py")).unwrap();
    fs::write(&go, include_str!("../data/combined/client.go")).unwrap();
    let server = common::Running::start(&["serve", "--pki", p(&out), "--scenario", "mtls"]);
    let (ca, identity) = (out.join("ca.pem"), out.join("clients/client-7.pem"));
    let port = server.addr().port().to_string();
    let ran = common::run(Command::new("python3").args([p(&python), p(&ca), p(&identity), &port]));
    assert!(
        ran.status.success() && common::text(&ran).contains("TLS handshake ok"),
        "python: {}",
        common::text(&ran)
    );
    let ran = common::run(Command::new("go").args([
        "run",
        p(&go),
        p(&ca),
        p(&identity),
        &format!("127.0.0.1:{port}"),
    ]));
    let said = common::text(&ran);
    assert!(
        ran.status.success() && said.contains("TLS handshake ok"),
        "go: {said}"
    );
    assert!(said.contains("certificates in the pair: 2"), "go: {said}");
    let (_, log, _) = server.terminate();
    assert_eq!(
        log.matches("client-cert=accepted").count(),
        2,
        "the server accepted both clients' certificates: {log}"
    );
}
