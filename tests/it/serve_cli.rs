//! `certlab serve` on the command line: the first line gives the address, connections are
//! logged on stderr, SIGTERM stops it, and errors are one line with the right exit code.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use common::{Lab, Running, certlab_command, s};

/// Runs to the end (they all fail fast) and returns (exit code, stdout, stderr).
fn run_fails(args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = certlab_command();
    cmd.args(args);
    let ran = common::run_timeout(&mut cmd, b"", Duration::from_secs(10));
    (ran.code, ran.stdout, ran.stderr)
}

fn http_get(addr: SocketAddr) -> String {
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = sock.read_to_string(&mut answer);
    answer
}

/// A test harness reads the address line and stops the server at once: the SIGTERM must find
/// the handler installed (exit 0 and the "stopping" line), not kill the process.
#[test]
fn sigterm_right_after_the_address_line_stops_cleanly() {
    let lab = Lab::new();
    let dir = s(lab.dir.path());
    for _ in 0..10 {
        let running = Running::start(&["serve", "--pki", &dir, "--scenario", "good"]);
        let (code, err, _) = running.terminate();
        assert_eq!(code, Some(0), "killed instead of stopped: {err}");
        assert!(err.contains("stopping"), "{err}");
    }
}

#[test]
fn serves_a_scenario_logs_connections_and_stops_on_sigterm() {
    let lab = Lab::new();
    let dir = s(lab.dir.path());
    let running = Running::start(&["serve", "--pki", &dir, "--scenario", "plaintext"]);
    assert!(running.first_line.ends_with("(scenario plaintext)\n"));
    let addr = running.addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    assert!(http_get(addr).starts_with("HTTP/1.1 400 Bad Request"));
    std::thread::sleep(Duration::from_millis(100));
    let (code, err, took) = running.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    let line = err
        .lines()
        .find(|l| l.starts_with("[plaintext] 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no connection line in {err:?}"));
    assert!(line.contains("400 sent (plaintext)"), "{line}");
}

#[test]
fn serves_files_with_settings() {
    let lab = Lab::new();
    let running = Running::start(&[
        "serve",
        "--cert",
        &s(&lab.path("good.chain.pem")),
        "--key",
        &s(&lab.path("good.key")),
        "--tls",
        "1.3",
        "--client-ca",
        &s(&lab.path("ca.pem")),
        "--name",
        "mine",
    ]);
    assert!(
        running.first_line.ends_with("(scenario mine)\n"),
        "{}",
        running.first_line
    );
    // A plain TCP client that sends no TLS: the server logs a failed handshake.
    let answer = http_get(running.addr());
    assert!(!answer.contains("HTTP/1.1 200"), "{answer}");
    std::thread::sleep(Duration::from_millis(100));
    let (code, err, _) = running.terminate();
    assert_eq!(code, Some(0));
    assert!(err.contains("[mine] 127.0.0.1:"), "{err}");
    assert!(err.contains("handshake failed"), "{err}");
}

#[test]
fn all_lists_every_scenario_in_json() {
    let lab = Lab::new();
    let dir = s(lab.dir.path());
    let mut child = certlab_command()
        .args(["serve", "--pki", &dir, "--all", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Pretty JSON: read lines up to the closing brace at column 0.
    let mut text = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
        if line == "}\n" {
            break;
        }
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1);
    let endpoints = json["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), lab.pki.all_scenarios().len());
    for e in endpoints {
        let name = e["scenario"].as_str().unwrap();
        if name == "key-mismatch" {
            assert_eq!(e["error"], "key-mismatch");
            assert!(e.get("address").is_none());
            continue;
        }
        let addr: SocketAddr = e["address"].as_str().unwrap().parse().unwrap();
        if name == "plaintext" {
            assert!(http_get(addr).starts_with("HTTP/1.1 400"));
        } else {
            // Every other endpoint accepts TCP.
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn key_mismatch_is_one_line_and_exit_2() {
    let lab = Lab::new();
    let (code, out, err) = run_fails(&[
        "serve",
        "--pki",
        &s(lab.dir.path()),
        "--scenario",
        "key-mismatch",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: key-mismatch"), "{err}");
    // The same with files.
    let (code, _, err) = run_fails(&[
        "serve",
        "--cert",
        &s(&lab.path("key-mismatch.chain.pem")),
        "--key",
        &s(&lab.path("key-mismatch.key")),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: key-mismatch"), "{err}");
}

#[test]
fn address_in_use_exits_3_and_unreadable_files_exit_2() {
    let lab = Lab::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run_fails(&[
        "serve",
        "--pki",
        &s(lab.dir.path()),
        "--scenario",
        "good",
        "--listen",
        &addr,
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: cannot listen on {addr}")),
        "{err}"
    );
    let (code, _, err) = run_fails(&[
        "serve",
        "--cert",
        &s(&lab.path("nope.pem")),
        "--key",
        &s(&lab.path("good.key")),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("error: cannot read"), "{err}");
}

#[test]
fn bad_input_exits_2() {
    let lab = Lab::new();
    let dir = s(lab.dir.path());
    let (code, _, err) = run_fails(&["serve", "--pki", &dir, "--scenario", "nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("error: unknown scenario `nope`"), "{err}");
    let (code, _, err) = run_fails(&[
        "serve",
        "--cert",
        &s(&lab.path("good.chain.pem")),
        "--key",
        &s(&lab.path("good.key")),
        "--ciphers",
        "TLS13_NOPE",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown cipher suite `TLS13_NOPE`"), "{err}");
    let (code, _, _) = run_fails(&["serve", "--tls", "1.1", "--plaintext"]);
    assert_eq!(code, Some(2));
    let (code, _, err) = run_fails(&["serve"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: nothing to serve"), "{err}");
}

/// `--now` reaches the server's client-certificate check: a PKI issued in 2030 has a client
/// certificate that is "not yet valid" by today's clock, and valid at the injected time.
#[test]
fn now_is_the_time_client_certificates_are_judged_at() {
    let tmp = common::tempdir();
    let dir = tmp.path();
    let now = "2030-06-01T12:00:00Z";
    common::generate(dir, &["--now", now]);
    let file = |f: &str| s(&dir.join(f));
    let probe = |addr: SocketAddr| {
        let out = certlab_command()
            .args([
                "probe",
                &format!("localhost:{}", addr.port()),
                "--json",
                "--now",
                now,
            ])
            .args([
                "--pki",
                &s(dir),
                "--cert",
                &file("client.chain.pem"),
                "--key",
                &file("client.key"),
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["outcome"].as_str().unwrap().to_string()
    };
    let serve_args = |with_now: bool| {
        let mut a = vec![
            "serve".to_string(),
            "--cert".into(),
            file("localhost.chain.pem"),
            "--key".into(),
            file("localhost.key"),
            "--client-ca".into(),
            file("ca.pem"),
        ];
        if with_now {
            a.extend(["--now".to_string(), now.to_string()]);
        }
        a
    };
    for (with_now, expected) in [(true, "ok"), (false, "client-cert-rejected")] {
        let args = serve_args(with_now);
        let running = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            probe(running.addr()),
            expected,
            "serve --now given: {with_now}"
        );
        running.terminate();
    }
}
