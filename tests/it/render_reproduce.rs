//! `certlab render reproduce`: the script holds, for every scenario of the PKI, exactly the
//! commands of `certlab::render::reproduce::reproduce_commands` (the code behind `certlab lab --serve`), is
//! valid bash, and run for real against `certlab serve` it makes curl and OpenSSL fail the way
//! the scenario says (checked through `certlab explain`).

use crate::common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;

use certlab::explain;
use certlab::pki::manifest::Manifest;
use certlab::pki::store;
use common::{certlab, have_tool, run, tempdir};

/// A port that was free a moment ago (the script binds it itself, one scenario at a time).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
#[ignore = "needs curl and openssl (installed by .ci/run)"]
fn reproduce_script_runs_the_lab_commands_against_certlab_serve() {
    let tmp = tempdir();
    let dir = tmp.path().join("lab");
    common::generate(&dir, &["--template", "lab"]);
    let port = free_port();
    let script = tmp.path().join("reproduce.sh");
    certlab()
        .args(["render", "reproduce", "--pki"])
        .arg(&dir)
        .args(["--port", &port.to_string(), "-o"])
        .arg(&script)
        .assert()
        .success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "-o makes the script executable");
    }
    let text = std::fs::read_to_string(&script).unwrap();
    let syntax = run(Command::new("bash").arg("-n").arg(&script));
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    // The same commands as the lab's, scenario by scenario.
    let pki = store::load(&dir).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("certlab.json")).unwrap()).unwrap();
    let abs = std::path::absolute(&dir).unwrap();
    let mut checked = 0;
    for s in pki.all_scenarios() {
        assert!(manifest.scenarios.iter().any(|m| m.name == s.name));
        if s.serve_error.is_some() {
            assert!(text.contains(&format!("# {}: certlab serve refuses", s.name)));
            continue;
        }
        let mut addr = s.listen_addr();
        addr.set_port(port);
        assert!(
            text.contains(&format!("\nscenario {} ", s.name)),
            "{} missing",
            s.name
        );
        for line in certlab::render::reproduce::reproduce_commands(&s, &abs, addr) {
            let expected = if line.starts_with("OTEL_") {
                format!("#   {line}\n")
            } else {
                assert!(!line.contains('\''));
                format!("'{line}'")
            };
            assert!(text.contains(&expected), "{}: {expected} missing", s.name);
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} scenarios");

    if !have_tool("curl") || !have_tool("openssl") {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("certlab");
    let wanted = ["good", "expired", "wrong-host", "plaintext", "self-signed"];
    let out = run(Command::new("timeout")
        .arg("120")
        .arg("bash")
        .arg(&script)
        .args(wanted)
        .env("CERTLAB", &bin));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Split the output per scenario.
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    for block in stdout.split("== ").skip(1) {
        let name = block.split_whitespace().next().unwrap().to_string();
        sections.insert(name, block.to_string());
    }
    assert_eq!(
        sections.keys().collect::<Vec<_>>(),
        ["expired", "good", "plaintext", "self-signed", "wrong-host"],
        "{stdout}"
    );
    let good = &sections["good"];
    assert_eq!(good.matches("exit code: 0").count(), 2, "{good}");
    assert!(
        good.contains("server: "),
        "the server's view is shown: {good}"
    );
    for name in ["expired", "wrong-host", "plaintext", "self-signed"] {
        let section = &sections[name];
        let expected = manifest
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .expected
            .unwrap();
        let curl_line = section
            .lines()
            .find(|l| l.trim_start().starts_with("curl: ("))
            .unwrap_or_else(|| panic!("{name}: no curl error in\n{section}"));
        let m = explain::find(curl_line).unwrap_or_else(|| panic!("{name}: {curl_line}"));
        assert_eq!(m.pattern.outcome, expected, "{name}: {curl_line}");
        assert!(
            !section.contains("exit code: 0"),
            "{name}: a client succeeded\n{section}"
        );
    }
}

/// `generate` with the dev template writes `configs/reproduce.sh`, executable, for its one
/// implicit scenario.
#[test]
fn generate_dev_writes_an_executable_reproduce_script() {
    let tmp = tempdir();
    let dir = tmp.path().join("pki");
    common::generate(&dir, &[]);
    let script = dir.join("configs/reproduce.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#!/usr/bin/env bash\n"));
    assert!(text.contains("\nscenario localhost ok "));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }
}
