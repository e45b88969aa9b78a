//! The rotation and revocation drills (`certlab lab --rotation`, `--revocation`): in real time,
//! with certificates valid for seconds.

use certlab::Outcome;
use certlab::lab::revocation::{RevocationOptions, run_revocation};
use certlab::lab::rotation::{RotationOptions, RotationReport, run_rotation};
use serde_json::Value;

use crate::common::{self, certlab, have_tool};

use Outcome::{Expired, Ok as Good, Revoked, UnknownCa};

fn outcomes(report: &RotationReport, track: &str, trust: Option<&str>) -> Vec<Outcome> {
    report
        .track(track)
        .unwrap_or_else(|| panic!("no track {track}"))
        .probe_outcomes(trust)
}

/// The library drill, in this process: ok → expired → ok with reload, ok → expired → expired
/// without (and why), the old bundle fails after the cut-over while the overlap bundle never
/// does, and a connection opened before the rotation still answers after it.
#[test]
fn rotation_drill_timelines() {
    let report = run_rotation(&RotationOptions::default()).expect("the drill runs");
    let text = report.text();
    assert_eq!(
        outcomes(&report, "reload", None),
        [Good, Expired, Good],
        "{text}"
    );
    assert_eq!(
        outcomes(&report, "no-reload", None),
        [Good, Expired, Expired],
        "{text}"
    );
    let no_reload = report.track("no-reload").unwrap();
    assert_eq!(no_reload.ended, Some(Expired));
    assert!(
        no_reload
            .why
            .contains("the server kept the old certificate in memory"),
        "{text}"
    );
    assert_eq!(
        outcomes(&report, "ca-rotation", Some("old bundle")),
        [Good, UnknownCa],
        "{text}"
    );
    assert_eq!(
        outcomes(&report, "ca-rotation", Some("overlap bundle")),
        [Good, Good],
        "{text}"
    );
    // The connection opened before the renewal answered after the reload.
    let kept = report
        .track("reload")
        .unwrap()
        .steps
        .iter()
        .find(|s| s.trust.as_deref() == Some("kept connection"))
        .unwrap_or_else(|| panic!("no kept connection:\n{text}"));
    assert_eq!(kept.observed, Some(Good), "{text}");
    assert!(kept.text.contains("200 OK"), "{text}");
    // Each reload was logged between the renewal (or cut-over) and the next probe.
    for track in ["reload", "ca-rotation"] {
        let kinds: Vec<&str> = report
            .track(track)
            .unwrap()
            .steps
            .iter()
            .map(|s| s.kind.name())
            .collect();
        assert!(kinds.contains(&"reloaded"), "{track}: {kinds:?}\n{text}");
    }
    assert!(report.all_matched(), "{text}");
    assert!(report.seconds <= 15.0, "{} s\n{text}", report.seconds);
    // Times only go forward, and the outage comes after the leaf's 2 s.
    let reload = &report.track("reload").unwrap().steps;
    assert!(reload.windows(2).all(|w| w[0].t <= w[1].t));
    let outage = reload.iter().find(|s| s.observed == Some(Expired)).unwrap();
    assert!(outage.t >= 1.0, "{text}");
}

/// The revocation drill: only clients given the CRL notice.
#[test]
fn revocation_drill_timeline() {
    let report = run_revocation(&RevocationOptions::default()).expect("the drill runs");
    let text = report.text();
    let track = &report.tracks[0];
    assert_eq!(track.probe_outcomes(Some("ca.pem")), [Good, Good], "{text}");
    assert_eq!(
        track.probe_outcomes(Some("ca.pem + CRL")),
        [Revoked],
        "{text}"
    );
    let check = track
        .steps
        .iter()
        .find(|s| s.client.as_deref() == Some("certlab check"))
        .unwrap();
    assert_eq!(check.observed, Some(Revoked), "{text}");
    assert!(report.all_matched(), "{text}");
}

/// The outcomes one client saw on one track, from `--json`.
fn json_outcomes(report: &Value, track: &str, client: &str, trust: &str) -> Vec<String> {
    let track = report["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == track)
        .unwrap_or_else(|| panic!("no track {track}"));
    track["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "probe" && s["client"] == client && s["trust"] == trust)
        .map(|s| s["observed"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The drill as a user runs it: `certlab serve --pki DIR --scenario web [--reload]` as real
/// processes, curl and openssl s_client (and certlab probe) as clients.
#[test]
#[ignore = "needs curl and openssl (installed by .ci/run)"]
fn rotation_drill_against_serve_processes_with_curl_and_openssl() {
    if !have_tool("curl") || !have_tool("openssl") {
        return;
    }
    let out = certlab()
        .args([
            "lab",
            "--rotation",
            "--serve-process",
            "--clients",
            "curl,openssl",
            "--json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["server"], "process");
    for client in ["certlab probe", "curl", "openssl"] {
        assert_eq!(
            json_outcomes(&report, "reload", client, "ca.pem"),
            ["ok", "expired", "ok"],
            "{client}: {stdout}"
        );
        assert_eq!(
            json_outcomes(&report, "no-reload", client, "ca.pem"),
            ["ok", "expired", "expired"],
            "{client}: {stdout}"
        );
        assert_eq!(
            json_outcomes(&report, "ca-rotation", client, "old bundle"),
            ["ok", "unknown-ca"],
            "{client}: {stdout}"
        );
        assert_eq!(
            json_outcomes(&report, "ca-rotation", client, "overlap bundle"),
            ["ok", "ok"],
            "{client}: {stdout}"
        );
    }
    // The reloads are the serve process's own log lines.
    assert!(stdout.contains("[web] reloaded: serial"), "{stdout}");
    assert!(report["seconds"].as_f64().unwrap() <= 15.0, "{stdout}");
}

/// The revocation drill with curl `--crlfile` and `openssl s_client -crl_check` against a
/// `certlab serve` process: only the clients given the CRL notice.
#[test]
#[ignore = "needs curl and openssl (installed by .ci/run)"]
fn revocation_drill_with_curl_and_openssl() {
    if !have_tool("curl") || !have_tool("openssl") {
        return;
    }
    let out = certlab()
        .args([
            "lab",
            "--revocation",
            "--serve-process",
            "--clients",
            "curl,openssl",
            "--json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    for client in ["certlab probe", "curl", "openssl"] {
        assert_eq!(
            json_outcomes(&report, "revocation", client, "ca.pem"),
            ["ok", "ok"],
            "{client}: {stdout}"
        );
        assert_eq!(
            json_outcomes(&report, "revocation", client, "ca.pem + CRL"),
            ["revoked"],
            "{client}: {stdout}"
        );
    }
}

/// The printed timeline of `certlab lab --revocation` (the quick drill) and its exit code.
#[test]
fn revocation_drill_prints_a_timeline() {
    let out = certlab().args(["lab", "--revocation"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for line in [
        "served",
        "revoked     certlab revoke: serial",
        "certlab probe (ca.pem + CRL)",
        "ended revoked: only clients given the CRL (and able to read one",
        "every client saw what the drill expected",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    // The drills take no --now: they run in real time.
    let out = certlab()
        .args(["lab", "--rotation", "--now", "2030-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The pids of a process's children (every thread's), from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    out
}

fn alive(pid: u32) -> bool {
    // A zombie no longer runs: read its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// A drill killed by a signal takes its `certlab serve` processes with it: SIGTERM and SIGKILL
/// to `lab --rotation --serve-process` while its servers run leave no server behind. The PKI
/// directory it leaves is swept by the next lab run in the same place.
#[test]
fn a_killed_drill_leaves_no_server_processes() {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let tmp = common::tempdir();
        let mut lab = std::process::Command::new(env!("CARGO_BIN_EXE_certlab"))
            .args(["lab", "--rotation", "--serve-process"])
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("certlab lab runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let servers = loop {
            let kids = children(lab.id());
            if kids.len() >= 2 || std::time::Instant::now() > deadline {
                break kids;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(
            servers.len() >= 2,
            "the drill started its two servers: {servers:?}"
        );
        let pid = libc::pid_t::try_from(lab.id()).expect("a pid");
        // SAFETY: kill(2) on the child this test started.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let _ = lab.wait();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while servers.iter().any(|&p| alive(p)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let left: Vec<u32> = servers.into_iter().filter(|&p| alive(p)).collect();
        assert!(
            left.is_empty(),
            "signal {signal}: servers left running: {left:?}"
        );
        // Its PKI directory (keys included) is left; the next lab there sweeps it.
        let drill_dirs = || {
            std::fs::read_dir(tmp.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("certlab-"))
                .collect::<Vec<_>>()
        };
        let killed = drill_dirs();
        assert!(
            killed.iter().any(|n| n.starts_with("certlab-drill-")),
            "signal {signal}: {killed:?}"
        );
        let out = common::run(
            std::process::Command::new(env!("CARGO_BIN_EXE_certlab"))
                .args(["lab", "--only", "good"])
                .env("TMPDIR", tmp.path()),
        );
        assert!(out.status.success(), "{}", common::text(&out));
        assert_eq!(drill_dirs(), Vec::<String>::new(), "signal {signal}");
    }
}
