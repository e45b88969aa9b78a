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
