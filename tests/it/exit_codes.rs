//! Exit codes and messages that blame the right party (issue 8, section 2): every subcommand
//! exits 2 for every kind of bad input, with one `error: ...` line on stderr and never a panic;
//! 3 is left for certlab itself failing (cannot write, cannot bind). Unsupported but valid
//! inputs say `unsupported: X (supported: ...)`; `probe` checks the client's own inputs before
//! it connects and prints JSON for every result; `--now 1970-01-01T00:00:00Z` works.
//!
//! The fixtures in `tests/data/unsupported/` were made once with OpenSSL 3.0 (see the README
//! there), so these tests need no outside tool.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{self, certlab};

const NOW: &str = "2030-01-01T00:00:00Z";

/// The files the table uses, in a temporary directory.
struct Inputs {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Inputs {
    fn new() -> Inputs {
        let dir = common::tempdir();
        let root = dir.path().to_path_buf();
        common::generate(&root.join("P"), &["--now", NOW]);
        common::generate(&root.join("Q"), &["--now", NOW]);
        std::fs::write(root.join("garbage.pem"), "garbage\n").unwrap();
        std::fs::write(root.join("empty.pem"), "").unwrap();
        std::fs::write(
            root.join("binary.der"),
            [0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe],
        )
        .unwrap();
        std::fs::create_dir(root.join("notpki")).unwrap();
        std::fs::write(root.join("notpki/readme.txt"), "not a PKI\n").unwrap();
        // A DER (PKCS#8) key: `certlab export --format der`.
        certlab()
            .args(["export", "--format", "der", "-e", "localhost", "--pki"])
            .arg(root.join("P"))
            .arg("-o")
            .arg(root.join("der"))
            .assert()
            .success();
        // A PKI whose server key is another PKI's (the key does not match its certificate).
        copy_dir(&root.join("P"), &root.join("mismatch"));
        std::fs::copy(
            root.join("Q/localhost.key"),
            root.join("mismatch/localhost.key"),
        )
        .unwrap();
        // A PKI whose server key file is gone.
        copy_dir(&root.join("P"), &root.join("nokey"));
        std::fs::remove_file(root.join("nokey/localhost.key")).unwrap();
        // A directory whose manifest cannot be read (it is a directory).
        std::fs::create_dir_all(root.join("dirmanifest/certlab.json")).unwrap();
        Inputs { _dir: dir, root }
    }

    /// An argument: `@name` is a path in the temporary directory, anything else is literal.
    fn arg(&self, a: &str) -> String {
        match a.strip_prefix('@') {
            Some(rest) => common::s(&self.root.join(rest)),
            None => a.to_string(),
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Runs certlab with `args` (`@` paths resolved) and checks the exit code, that nothing
/// panicked, and (for certlab's own errors) one `error: ...` line. Returns stderr, or what is
/// wrong.
fn run_expecting(inputs: &Inputs, args: &[&str], code: i32) -> Result<String, String> {
    let args: Vec<String> = args.iter().map(|a| inputs.arg(a)).collect();
    let line = args.join(" ");
    let out = certlab()
        .args(&args)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("certlab runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(code) {
        return Err(format!(
            "certlab {line}: exit {:?}, not {code}: {stderr}",
            out.status.code()
        ));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Err(format!("certlab {line}: a panic: {stderr}"));
    }
    // clap's usage errors add a usage block; certlab's own errors are one `error: ` line
    // (after `warning: ` lines, if any).
    let one_error = if stderr.contains("Usage:") || stderr.contains("try '--help'") {
        stderr.starts_with("error: ")
    } else {
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        lines.split_last().is_some_and(|(last, before)| {
            last.starts_with("error: ") && before.iter().all(|l| l.starts_with("warning: "))
        })
    };
    if !one_error {
        return Err(format!("certlab {line}: not one `error: ` line: {stderr}"));
    }
    Ok(stderr)
}

/// [`run_expecting`], asserted.
fn expect_code(inputs: &Inputs, args: &[&str], code: i32) -> String {
    run_expecting(inputs, args, code).unwrap_or_else(|e| panic!("{e}"))
}

/// Every subcommand × every kind of bad input: exit 2.
#[test]
fn bad_input_is_exit_2_in_every_subcommand() {
    let inputs = Inputs::new();
    #[rustfmt::skip]
    let cases: &[&[&str]] = &[
        // generate
        &["generate", "--spec", "@garbage.pem", "-o", "@out1"],
        &["generate", "--spec", "@binary.der", "-o", "@out1"],
        &["generate", "--spec", "@missing.toml", "-o", "@out1"],
        &["generate", "--template", "nope", "-o", "@out1"],
        &["generate", "-o", "@notpki"],
        // (`generate -o @nokey` is not bad input: a regenerate re-issues a leaf whose files
        // are damaged or gone; only kept CA files are verified and refused. It would also
        // repair @nokey for the rows below.)
        &["generate", "-o", "@mismatch/certlab.json"],
        &["generate", "-o", "@dirmanifest", "--now", NOW],
        &["generate", "--now", "yesterday", "-o", "@out1"],
        &["generate", "--now", "1969-12-31T23:00:00Z", "-o", "@out1"],
        // cert
        &["cert", "a.test", "--ca-cert", "@garbage.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@empty.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@missing.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@P/root.pem", "--ca-key", "@garbage.pem", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@P/root.pem", "--ca-key", "@missing.key", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@P/root.pem", "--ca-key", "@Q/root.key", "-o", "@o"],
        &["cert", "a.test", "--ca-cert", "@P/localhost.pem", "--ca-key", "@P/localhost.key", "-o", "@o"],
        &["cert", "not a name", "--ca-dir", "@ca", "-o", "@o"],
        &["cert", "a.test", "--ca-dir", "@ca", "--now", "2030", "-o", "@o"],
        // sign
        &["sign", "@garbage.pem", "--ca-cert", "@P/root.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["sign", "@empty.pem", "--ca-cert", "@P/root.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["sign", "@binary.der", "--ca-cert", "@P/root.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["sign", "@missing.csr", "--ca-cert", "@P/root.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["sign", "@garbage.pem", "--ca-cert", "@missing.pem", "--ca-key", "@P/root.key", "-o", "@o"],
        &["sign", "@garbage.pem", "--ca-cert", "@P/root.pem", "--ca-key", "@Q/root.key", "-o", "@o"],
        // export
        &["export", "--pki", "@notpki"],
        &["export", "--pki", "@missing-dir"],
        &["export", "--pki", "@garbage.pem"],
        &["export", "--pki", "@nokey", "-o", "@o"],
        &["export", "--pki", "@P", "-e", "nobody", "-o", "@o"],
        &["export", "--pki", "@P", "--format", "der", "-o", "@garbage.pem"],
        // inspect
        &["inspect", "@garbage.pem"],
        &["inspect", "@empty.pem"],
        &["inspect", "@binary.der"],
        &["inspect", "@missing.pem"],
        &["inspect", "@notpki"],
        // check
        &["check", "@garbage.pem", "--pki", "@P"],
        &["check", "@empty.pem", "--pki", "@P"],
        &["check", "@binary.der", "--pki", "@P"],
        &["check", "@missing.pem", "--pki", "@P"],
        &["check", "@P/localhost.chain.pem", "--ca", "@garbage.pem"],
        &["check", "@P/localhost.chain.pem", "--pki", "@notpki"],
        &["check", "@P/localhost.chain.pem", "--pki", "@missing-dir"],
        &["check", "@P/localhost.chain.pem", "--pki", "@P", "--now", "soon"],
        &["check", "@P/localhost.chain.pem", "--pki", "@P", "--crl", "@garbage.pem"],
        // trust
        &["trust", "status", "--ca-cert", "@garbage.pem", "--bundle", "@b.pem"],
        &["trust", "install", "--ca-cert", "@binary.der", "--bundle", "@b.pem"],
        &["trust", "install", "--pki", "@notpki", "--bundle", "@b.pem"],
        &["trust", "install", "--pki", "@P", "--bundle", "@binary.der"],
        &["trust", "install", "--pki", "@P", "--bundle", "@notpki"],
        &["trust", "uninstall", "--pki", "@P", "--bundle", "@binary.der"],
        // serve (a failure comes before listening; a success would hang until the timeout)
        &["serve", "--cert", "@garbage.pem", "--key", "@P/localhost.key"],
        &["serve", "--cert", "@empty.pem", "--key", "@P/localhost.key"],
        &["serve", "--cert", "@binary.der", "--key", "@P/localhost.key"],
        &["serve", "--cert", "@missing.pem", "--key", "@P/localhost.key"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@garbage.pem"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@empty.pem"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@missing.key"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@Q/localhost.key"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@der/localhost.key.der"],
        &["serve", "--cert", "@P/localhost.chain.pem", "--key", "@P/localhost.key", "--client-ca", "@garbage.pem"],
        &["serve", "--pki", "@notpki", "--all"],
        &["serve", "--pki", "@missing-dir", "--scenario", "localhost"],
        &["serve", "--pki", "@mismatch", "--scenario", "localhost"],
        &["serve", "--pki", "@P", "--scenario", "nope"],
        &["serve", "--pki", "@P", "--scenario", "localhost", "--now", "noon"],
        &["serve", "--listen", "localhost:x", "--plaintext"],
        // probe: the client's own inputs, before any connect (127.0.0.1:1 would be refused)
        &["probe", "localhost"],
        &["probe", "localhost:99999"],
        &["probe", "[::1:443"],
        &["probe", "127.0.0.1:1", "--ca", "@garbage.pem"],
        &["probe", "127.0.0.1:1", "--ca", "@missing.pem"],
        &["probe", "127.0.0.1:1", "--pki", "@notpki"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@garbage.pem", "--key", "@P/client.key"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@missing.pem", "--key", "@P/client.key"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@P/client.chain.pem", "--key", "@missing.key"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@P/client.chain.pem", "--key", "@empty.pem"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@P/client.chain.pem", "--key", "@Q/client.key"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--cert", "@P/client.chain.pem", "--key", "@der/localhost.key.der"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--alpn", ""],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--alpn", "h2,"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--now", "later"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--timeout", "0s"],
        &["probe", "127.0.0.1:1", "--pki", "@P", "--ciphers", "TLS_NOPE"],
        // render
        &["render", "k8s-secret", "--pki", "@notpki"],
        &["render", "k8s-secret", "--pki", "@missing-dir"],
        &["render", "k8s-secret", "--pki", "@nokey"],
        &["render", "otel-env", "--pki", "@P", "--server", "nobody"],
        // new, completions
        &["new", "--template", "nope", "@spec.toml"],
        &["new", "@garbage.pem"],
        &["completions", "tcsh"],
        // lab, explain
        &["lab", "--only", "nope"],
        &["lab", "--now", "then"],
        &["explain", ""],
    ];
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|args| run_expecting(&inputs, args, 2).err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

/// A PKI directory that is not one names the command that makes one.
#[test]
fn a_pki_that_is_not_one_says_so_everywhere() {
    let inputs = Inputs::new();
    for args in [
        &["export", "--pki", "@notpki"][..],
        &["serve", "--pki", "@notpki", "--all"],
        &["render", "otel-env", "--pki", "@notpki"],
        &["probe", "127.0.0.1:1", "--pki", "@notpki"],
        &["check", "--pki", "@notpki"],
    ] {
        let err = expect_code(&inputs, args, 2);
        assert!(
            err.contains("is not a certlab PKI directory") && err.contains("certlab generate -o"),
            "{args:?}: {err}"
        );
    }
}

/// 3 stays for certlab itself: it cannot write its output, cannot bind.
#[test]
fn exit_3_only_when_certlab_cannot_work() {
    let inputs = Inputs::new();
    // The output path runs through a regular file: nothing can be written there.
    expect_code(
        &inputs,
        &[
            "render",
            "otel-env",
            "--pki",
            "@P",
            "-o",
            "@garbage.pem/out.env",
        ],
        3,
    );
    expect_code(
        &inputs,
        &[
            "cert",
            "a.test",
            "--ca-cert",
            "@P/intermediate.pem",
            "--ca-key",
            "@P/intermediate.key",
            "-o",
            "@garbage.pem/sub",
        ],
        3,
    );
    // The address is taken.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    expect_code(
        &inputs,
        &[
            "serve",
            "--pki",
            "@P",
            "--scenario",
            "localhost",
            "--listen",
            &addr,
        ],
        3,
    );
}

// ----- the client's own inputs in probe ----------------------------------------------------

/// A `--key` that is not `--cert`'s key, or an empty ALPN name, is the user's input (exit 2),
/// found before any connection: a live server that would reject the client never sees it.
#[test]
fn probe_checks_its_own_client_inputs_before_connecting() {
    let inputs = Inputs::new();
    // A listener that counts connections (nothing answers; the probe would time out).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--cert", "@P/client.chain.pem", "--key", "@Q/client.key"],
            "the private key is not the key of the certificate",
        ),
        (&["--alpn", ""], "ALPN protocol name is empty"),
        (&["--alpn", "h2,"], "ALPN protocol name is empty"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["probe", target.as_str(), "--pki", "@P", "--timeout", "2s"];
        args.extend_from_slice(extra);
        let err = expect_code(&inputs, &args, 2);
        assert!(err.contains(message), "{extra:?}: {err}");
    }
    assert!(
        listener.accept().is_err(),
        "the probe connected although its own inputs were wrong"
    );
    // The matching key in DER works as well as PEM (the probe gets to connect: refused).
    let (code, report) = common::probe_json(
        "127.0.0.1:1",
        &[
            "--pki",
            &inputs.arg("@P"),
            "--cert",
            &inputs.arg("@P/localhost.chain.pem"),
            "--key",
            &inputs.arg("@der/localhost.key.der"),
        ],
    );
    assert_eq!((code, report["outcome"].as_str()), (1, Some("refused")));
}

/// `probe --json` prints JSON whatever happens: a bad target, a name that does not resolve,
/// a client setting that is wrong — with the exit code in it.
#[test]
fn probe_json_is_printed_for_every_result() {
    let inputs = Inputs::new();
    // A 64-character label: the resolver refuses it without asking any server (no DNS
    // traffic leaves the machine), as it refuses a name that does not exist.
    let long_label = format!("{}.invalid:443", "a".repeat(64));
    for (target, extra, message) in [
        ("localhost", vec![], "invalid target"),
        ("[::1:443", vec![], "invalid target"),
        (
            long_label.as_str(),
            vec!["--ca", "@P/ca.pem", "--servername", "localhost"],
            "cannot resolve",
        ),
        ("127.0.0.1:1", vec!["--pki", "@P", "--alpn", ""], "ALPN"),
    ] {
        let extra: Vec<String> = extra.iter().map(|a| inputs.arg(a)).collect();
        let out = certlab()
            .args(["probe", target, "--json", "--timeout", "5s"])
            .args(&extra)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{target}: no JSON on stdout ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(json["version"], 1, "{json}");
        assert_eq!(json["target"], target, "{json}");
        assert!(json["outcome"].is_null(), "{json}");
        assert_eq!(json["exit_code"], 2, "{json}");
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains(message)),
            "{target}: {json}"
        );
    }
}

// ----- valid but unsupported inputs --------------------------------------------------------

fn unsupported(file: &str) -> String {
    common::s(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/unsupported")
            .join(file),
    )
}

/// RSA-PSS, secp256k1 and RSA-1024 CA keys, and RSA-PSS, SHA-1, RSA-1024 and secp256k1 CSRs:
/// named as unsupported with what is supported, never "corrupt", "malformed" or "could not
/// parse".
#[test]
fn unsupported_keys_and_csrs_are_named_not_called_corrupt() {
    let dir = common::tempdir();
    let pki = common::dev_pki(dir.path(), NOW);
    let out = common::s(&dir.path().join("out"));
    let check = |args: Vec<String>, what: &str| {
        let o = certlab()
            .args(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains("unsupported: ") && err.contains(what),
            "{args:?}: {err}"
        );
        assert!(err.contains("(supported: "), "{args:?}: {err}");
        for wrong in ["corrupt", "malformed", "Could not parse", "does not verify"] {
            assert!(!err.contains(wrong), "{args:?} says `{wrong}`: {err}");
        }
    };
    for (ca, what) in [
        ("rsa-pss", "RSA-PSS"),
        ("secp256k1", "secp256k1"),
        ("rsa1024", "RSA 1024-bit"),
    ] {
        let (cert, key) = (
            unsupported(&format!("{ca}-ca.pem")),
            unsupported(&format!("{ca}-ca.key")),
        );
        check(
            vec![
                "cert".into(),
                "a.test".into(),
                "--ca-cert".into(),
                cert.clone(),
                "--ca-key".into(),
                key.clone(),
                "-o".into(),
                out.clone(),
                "--now".into(),
                NOW.into(),
            ],
            what,
        );
        check(
            vec![
                "sign".into(),
                unsupported("sha1.csr"),
                "--ca-cert".into(),
                cert,
                "--ca-key".into(),
                key,
                "-o".into(),
                out.clone(),
            ],
            what,
        );
    }
    for (csr, what) in [
        ("rsa-pss.csr", "RSA-PSS"),
        ("sha1.csr", "SHA-1"),
        ("rsa1024.csr", "RSA 1024-bit"),
        ("secp256k1.csr", "secp256k1"),
    ] {
        check(
            vec![
                "sign".into(),
                unsupported(csr),
                "--ca-cert".into(),
                common::s(&pki.join("intermediate.pem")),
                "--ca-key".into(),
                common::s(&pki.join("intermediate.key")),
                "-o".into(),
                out.clone(),
                "--now".into(),
                "2030-01-02T00:00:00Z".into(),
            ],
            what,
        );
    }
    // A server key rustls cannot sign with, given to serve (it stops before listening).
    for ca in ["rsa-pss", "secp256k1"] {
        check(
            vec![
                "serve".into(),
                "--cert".into(),
                unsupported(&format!("{ca}-ca.pem")),
                "--key".into(),
                unsupported(&format!("{ca}-ca.key")),
            ],
            if ca == "rsa-pss" {
                "RSA-PSS"
            } else {
                "secp256k1"
            },
        );
    }
    // inspect describes such keys (valid files) instead of refusing them as unreadable.
    for (key, what) in [
        ("rsa-pss-ca.key", "RSA-PSS (id-RSASSA-PSS) 2048-bit"),
        ("secp256k1-ca.key", "EC secp256k1"),
        ("rsa1024-ca.key", "RSA 1024-bit"),
    ] {
        certlab()
            .arg("inspect")
            .arg(unsupported(key))
            .assert()
            .code(0)
            .stdout(predicates::str::contains(format!("{what} (unsupported")));
    }
    // A client key rustls cannot sign with, given to probe.
    check(
        vec![
            "probe".into(),
            "127.0.0.1:1".into(),
            "--ca".into(),
            common::s(&pki.join("ca.pem")),
            "--cert".into(),
            unsupported("secp256k1-ca.pem"),
            "--key".into(),
            unsupported("secp256k1-ca.key"),
        ],
        "secp256k1",
    );
}

// ----- --now at the Unix epoch --------------------------------------------------------------

/// The one-hour back-dating stops at the Unix epoch: a PKI generated at
/// 1970-01-01T00:00:00Z is valid at that instant (it used to start in 1969, which verifiers
/// cannot represent: bad-certificate).
#[test]
fn a_pki_generated_at_the_unix_epoch_checks_ok_then() {
    let dir = common::tempdir();
    let epoch = "1970-01-01T00:00:00Z";
    let pki = common::dev_pki(dir.path(), epoch);
    let m = common::read_manifest(&pki);
    for e in &m.entities {
        assert_eq!(
            e.not_before,
            time::OffsetDateTime::UNIX_EPOCH,
            "{}: notBefore",
            e.name
        );
    }
    certlab()
        .args(["check", "--pki"])
        .arg(&pki)
        .args(["--now", epoch])
        .assert()
        .code(0);
    certlab()
        .arg("check")
        .arg(pki.join("localhost.chain.pem"))
        .arg("--pki")
        .arg(&pki)
        .args(["--host", "localhost", "--now", epoch, "--json"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("\"outcome\": \"ok\""));
    // An hour later, the same: nothing was dated before 1970.
    certlab()
        .args(["check", "--pki"])
        .arg(&pki)
        .args(["--now", "1970-01-01T01:00:00Z"])
        .assert()
        .code(0);
    // Faults that date a certificate before `--now` cannot exist at the epoch: refused with the
    // first time that works, before anything is written; from then on the lab matches.
    let lab = dir.path().join("lab");
    let out = certlab()
        .args(["generate", "--template", "lab", "--now", epoch, "-o"])
        .arg(&lab)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("before 1970-01-01") && err.contains("1970-01-02T00:00:00Z"),
        "{err}"
    );
    assert!(!lab.exists(), "nothing written");
    certlab()
        .args(["lab", "--now", "1970-01-02T00:00:00Z"])
        .assert()
        .code(0);
    // `sign` back-dates the same way.
    let key = rcgen::KeyPair::generate().unwrap();
    let request = rcgen::CertificateParams::new(vec!["app.test".to_string()])
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let csr = dir.path().join("app.csr");
    std::fs::write(&csr, request).unwrap();
    let out = dir.path().join("signed");
    certlab()
        .arg("sign")
        .arg(&csr)
        .arg("--ca-cert")
        .arg(pki.join("intermediate.pem"))
        .arg("--ca-key")
        .arg(pki.join("intermediate.key"))
        .arg("-o")
        .arg(&out)
        .args(["--now", epoch])
        .assert()
        .code(0);
    certlab()
        .arg("check")
        .arg(out.join("app.test.chain.pem"))
        .arg("--pki")
        .arg(&pki)
        .args(["--host", "app.test", "--now", epoch])
        .assert()
        .code(0);
}
