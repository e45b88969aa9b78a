//! `certlab lab --serve`: the endpoints stay up and the printed commands reproduce each
//! scenario with real clients. The `openssl s_client` and `curl` lines are run as printed
//! (through `sh -c`) and must fail — or succeed — the way the scenario says.
//!
//! Needs `openssl` and `curl`: without them the test is skipped loudly, and under `CI=true` it
//! fails. Loopback only; the lab is stopped with SIGTERM at the end.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{certlab_command, have_tool, run, text};

/// Starts `certlab lab --serve …` and reads its stdout until the `ready:` line (30 s at
/// most); returns the process and the lines before `ready:`.
fn start_serving(cmd: &mut Command) -> (std::process::Child, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("certlab lab --serve starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let ready = line.starts_with("ready:");
            let _ = tx.send(line);
            if ready {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l.starts_with("ready:") => return (child, lines),
            Ok(l) => lines.push(l),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no `ready:` line; got {lines:#?}");
            }
        }
    }
}

/// Runs one printed command line through the shell, with a time limit.
fn sh(line: &str) -> (i32, String) {
    let out = run(Command::new("timeout").args(["20", "sh", "-c", line]));
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
#[ignore = "needs openssl and curl (installed by .ci/run)"]
fn served_lab_is_reproduced_by_openssl_and_curl() {
    if !have_tool("openssl") || !have_tool("curl") {
        return;
    }
    let (mut child, lines) = start_serving(certlab_command().args([
        "lab",
        "--serve",
        "--only",
        "good,expired,ip-mismatch,revoked,client-ok,client-none,client-wrong-eku,plaintext,tls12-vs-tls13,cipher-mismatch,alpn-no-h2",
    ]).env("NO_COLOR", "1"));
    let dir = lines
        .iter()
        .find_map(|l| l.split("(PKI in ").nth(1))
        .map(|d| d.trim_end_matches(')').to_string())
        .expect("the PKI directory is named");

    // scenario -> its command lines
    let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for l in &lines {
        if let Some(rest) = l.strip_prefix("# ") {
            current = rest.split_whitespace().next().map(str::to_string);
        } else if let Some(name) = &current
            && !l.is_empty()
        {
            blocks.entry(name.clone()).or_default().push(l.clone());
        }
    }
    assert_eq!(blocks.len(), 11, "{lines:#?}");

    let results = std::panic::catch_unwind(|| {
        for (name, cmds) in &blocks {
            let openssl = cmds
                .iter()
                .find(|c| c.contains("| openssl s_client "))
                .unwrap();
            let curl = cmds.iter().find(|c| c.starts_with("curl ")).unwrap();
            assert!(
                cmds.iter()
                    .any(|c| c.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT=https://"))
            );
            assert!(
                cmds.iter()
                    .any(|c| c.starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE="))
            );
            let (o_code, o_text) = sh(openssl);
            let (c_code, c_text) = sh(curl);
            // (what s_client prints, curl's exit code); None: succeeds.
            let expect: Option<(&str, i32)> = match name.as_str() {
                "good" | "client-ok" => None,
                "expired" => Some(("verify error:num=10:certificate has expired", 60)),
                "ip-mismatch" => Some(("verify error:num=64:IP address mismatch", 60)),
                "revoked" => Some(("verify error:num=23:certificate revoked", 60)),
                "plaintext" => Some(("wrong version number", 35)),
                "tls12-vs-tls13" => Some(("alert protocol version", 35)),
                "cipher-mismatch" => Some(("alert handshake failure", 35)),
                // curl offers http/1.1 beside h2, so it succeeds (the line says so).
                "alpn-no-h2" => Some(("alert no application protocol", 0)),
                "client-none" => Some(("alert certificate required", 56)),
                "client-wrong-eku" => Some(("alert unsupported certificate", 56)),
                other => panic!("unexpected scenario {other}"),
            };
            match expect {
                None => {
                    assert_eq!(o_code, 0, "{name}: {openssl}\n{o_text}");
                    assert!(
                        o_text.contains("Verify return code: 0 (ok)"),
                        "{name}: {o_text}"
                    );
                    assert!(o_text.contains("HTTP/1.1 200"), "{name}: {o_text}");
                    assert_eq!(c_code, 0, "{name}: {curl}\n{c_text}");
                    assert!(
                        c_text.contains(&format!("certlab scenario {name}")),
                        "{c_text}"
                    );
                }
                Some((says, curl_code)) => {
                    assert_ne!(o_code, 0, "{name}: {openssl}\n{o_text}");
                    assert!(o_text.contains(says), "{name}: {openssl}\n{o_text}");
                    assert_eq!(c_code, curl_code, "{name}: {curl}\n{c_text}");
                }
            }
            if name == "client-ok" {
                assert!(
                    cmds.iter()
                        .any(|c| c.starts_with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="))
                );
                assert!(
                    cmds.iter()
                        .any(|c| c.starts_with("OTEL_EXPORTER_OTLP_CLIENT_KEY="))
                );
            }
        }
    });

    // Stop the lab the way a user does (SIGTERM, like Ctrl-C): it exits 0 (every scenario
    // matched) and removes its temporary PKI.
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = child.wait().expect("lab exits");
    if let Err(e) = results {
        std::panic::resume_unwind(e);
    }
    assert_eq!(status.code(), Some(0));
    assert!(
        !std::path::Path::new(&dir).exists(),
        "temporary PKI {dir} removed on exit"
    );
}

#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn rustls_suite_names_map_to_names_openssl_knows() {
    if !have_tool("openssl") {
        return;
    }
    let list = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl ciphers");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(':')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let tls13_known = list(&["ciphers", "-s", "-tls1_3"]);
    let tls12_known = list(&["ciphers", "ALL"]);
    let names = certlab::tls::cipher_suite_names();
    let (tls13, tls12) = certlab::tls::openssl_suites(&names);
    assert_eq!(tls13.len() + tls12.len(), names.len());
    assert!(!tls13.is_empty() && !tls12.is_empty());
    for n in &tls13 {
        assert!(tls13_known.contains(n), "{n} not in {tls13_known:?}");
    }
    for n in &tls12 {
        assert!(tls12_known.contains(n), "{n} not known to openssl");
    }
}

/// The lab directories in `dir` (`certlab-lab-*`).
fn lab_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("certlab-lab-"))
        .collect()
}

/// A lab killed with SIGKILL cannot remove its PKI directory (on `/dev/shm` its files, keys
/// included, would hold memory until the next boot); the next lab in the same place removes
/// it, and its own at its end. (`TMPDIR` puts both labs' directories in a test directory.)
#[test]
fn the_next_lab_sweeps_the_directory_of_a_killed_lab() {
    let tmp = common::tempdir();
    let (mut child, _) = start_serving(
        certlab_command()
            .args(["lab", "--serve", "--only", "good"])
            .env("TMPDIR", tmp.path()),
    );
    let before_kill = lab_dirs(tmp.path());
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL
    child.wait().unwrap();
    assert_eq!(before_kill.len(), 1, "{before_kill:?}");
    assert_eq!(
        lab_dirs(tmp.path()),
        before_kill,
        "SIGKILL leaves the directory"
    );

    let out = run(certlab_command()
        .args(["lab", "--only", "good"])
        .env("TMPDIR", tmp.path()));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(lab_dirs(tmp.path()), Vec::<String>::new());
}
