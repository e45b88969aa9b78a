//! Issue 10, "the matrix, measured": real clients against every lab scenario
//! (`certlab lab --clients`), the measured table in `src/clients/measured/`, the manifest's
//! `expected_by_client` read from it, and the README's client matrix generated from it.

use crate::common;

use std::collections::BTreeMap;

use certlab::Outcome;
use certlab::clients::{Client, cell, cells, verdicts};
use certlab::lab::{LabOptions, matrix_table, measured_clients, observed_outcome, run};
use common::{certlab, have_tool};

/// The families this branch measures.
const FAMILIES: &[Client] = &[
    Client::Rustls,
    Client::Curl,
    Client::Openssl,
    Client::Python,
    Client::Python313,
];

/// Cells a family has no row for, and why (its runner answers "not applicable").
const NOT_APPLICABLE: &[(Client, &str)] = &[
    // Python's ssl cannot restrict TLS 1.3 cipher suites.
    (Client::Python, "cipher-mismatch"),
    (Client::Python313, "cipher-mismatch"),
    // grpcio cannot set a channel's TLS version or cipher suites.
    (Client::Grpc, "tls12-vs-tls13"),
    (Client::Grpc, "tls13-vs-tls12"),
    (Client::Grpc, "cipher-mismatch"),
    // Go's crypto/tls does not let a program choose TLS 1.3 suites.
    (Client::Go, "cipher-mismatch"),
    // Chromium cannot be told which suites or ALPN protocols to offer.
    (Client::Chromium, "cipher-mismatch"),
    (Client::Chromium, "alpn-no-h2"),
    // gnutls-cli loads a CRL only when its issuer is in the CA file; the lab's CRL is the
    // intermediate's and the CA file holds the root ("Error in the CRL verification").
    (Client::Gnutls, "revoked"),
];

/// The lab's scenarios (name, certlab's verdict), in the lab's order.
fn lab_scenarios() -> Vec<(String, Option<Outcome>)> {
    certlab::explain::lab_scenario_table().to_vec()
}

/// The served scenarios: all but the one whose server refuses to start.
fn served() -> Vec<(String, Option<Outcome>)> {
    lab_scenarios()
        .into_iter()
        .filter(|(n, _)| n != "key-mismatch")
        .collect()
}

#[test]
fn every_served_scenario_has_one_cell_per_measured_family() {
    let names: Vec<String> = lab_scenarios().into_iter().map(|(n, _)| n).collect();
    for client in measured_clients() {
        for c in cells(client) {
            assert!(
                names.contains(&c.scenario.to_string()),
                "{client}: a cell for `{}`, which the lab does not have",
                c.scenario
            );
            assert_eq!(
                cells(client)
                    .iter()
                    .filter(|x| x.scenario == c.scenario)
                    .count(),
                1,
                "{client}: two cells for {}",
                c.scenario
            );
            assert_eq!(
                c.words.is_empty(),
                c.outcome == Outcome::Ok,
                "{client} {}: words exactly when it refused",
                c.scenario
            );
        }
        for (name, _) in served() {
            let na = NOT_APPLICABLE.contains(&(client, name.as_str()));
            assert_eq!(
                cell(client, &name).is_none(),
                na,
                "{client} {name}: measured (run `certlab lab --clients {client} --print-cells`)"
            );
        }
    }
}

#[test]
fn the_words_of_every_cell_read_back_to_its_outcome() {
    // Every recorded word is known to `explain`, and can mean the recorded outcome: the
    // pattern's own outcome or one of its alternatives (curl's "unsuitable certificate
    // purpose" is wrong-usage, and can mean a misordered chain). Where the words allow the
    // scenario's own verdict, `lab --clients` reads them as that verdict.
    for client in measured_clients() {
        for c in cells(client) {
            if c.words.is_empty() {
                continue;
            }
            let m = certlab::explain::find(c.words).unwrap_or_else(|| {
                panic!(
                    "{client} {}: explain does not know {:?}",
                    c.scenario, c.words
                )
            });
            assert!(
                m.pattern.outcome == c.outcome || m.pattern.also.contains(&c.outcome),
                "{client} {}: {:?} reads as {} (also {:?}), recorded {}",
                c.scenario,
                c.words,
                m.pattern.outcome,
                m.pattern.also,
                c.outcome
            );
            let certlab = lab_scenarios()
                .into_iter()
                .find(|(n, _)| n == c.scenario)
                .and_then(|(_, o)| o);
            let read = observed_outcome(c.words, certlab);
            assert!(read.is_some(), "{client} {}", c.scenario);
        }
    }
}

#[test]
fn the_manifest_records_every_measured_familys_verdict() {
    let dir = common::tempdir();
    let m = common::generate(dir.path(), &["--template", "lab"]);
    let served_names: Vec<String> = served().into_iter().map(|(n, _)| n).collect();
    assert_eq!(m.scenarios.len(), served_names.len() + 1);
    for s in &m.scenarios {
        if s.name == "key-mismatch" {
            continue;
        }
        let want: BTreeMap<String, Outcome> = verdicts(&s.name);
        assert_eq!(s.expected_by_client, want, "{}", s.name);
        for client in measured_clients() {
            let na = NOT_APPLICABLE.contains(&(client, s.name.as_str()));
            assert_eq!(
                s.expected_by_client.contains_key(client.name()),
                !na,
                "{}: {client}",
                s.name
            );
        }
    }
    // Server leaves carry their scenario's verdicts; client certificates none.
    let cn_only = m.entities.iter().find(|e| e.name == "cn-only").unwrap();
    assert_eq!(cn_only.expected_by_client.get("python"), Some(&Outcome::Ok));
    assert_eq!(
        cn_only.expected_by_client.get("rustls"),
        Some(&Outcome::HostnameMismatch)
    );
    let client = m
        .entities
        .iter()
        .find(|e| e.name == "client-expired")
        .unwrap();
    assert!(client.expected_by_client.is_empty());
}

#[test]
fn a_user_spec_leaf_gets_the_verdicts_of_its_faults_lab_scenario() {
    let dir = common::tempdir();
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "[[ca]]\nname = \"root\"\n\n[[leaf]]\nname = \"web\"\nissuer = \"root\"\ndns = [\"localhost\"]\nfault = \"reversed-chain\"\n\n[[scenario]]\nname = \"plaintext\"\nserver = { plaintext = true, alpn = [\"h2\"] }\nexpected = \"not-tls\"\n",
    )
    .unwrap();
    let out = dir.path().join("pki");
    let m = common::generate(&out, &["--spec", spec.to_str().unwrap()]);
    let web = m.entities.iter().find(|e| e.name == "web").unwrap();
    assert_eq!(
        web.expected_by_client.get("curl"),
        Some(&Outcome::WrongUsage)
    );
    assert_eq!(
        m.client_words["web"]["curl"],
        "curl: (60) SSL certificate problem: unsuitable certificate purpose"
    );
    // Named like a lab scenario, but not the lab's: no borrowed verdicts.
    let plaintext = m.scenarios.iter().find(|s| s.name == "plaintext").unwrap();
    assert!(plaintext.expected_by_client.is_empty());
}

#[test]
fn the_readme_client_matrix_is_the_measured_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = "<!-- client-matrix:start -->\n";
    let from = readme.find(start).expect("README has the client matrix") + start.len();
    let to = readme.find("<!-- client-matrix:end -->").unwrap();
    let names: Vec<String> = lab_scenarios().into_iter().map(|(n, _)| n).collect();
    let families = measured_clients();
    for f in certlab::clients::ALL_CLIENTS {
        assert!(families.contains(f), "{f} has cells");
    }
    let want = matrix_table(&names, &families);
    assert!(
        readme[from..to] == want,
        "the README's client matrix is stale; regenerate it with `certlab lab --clients {} --markdown`:\n{want}",
        families
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(",")
    );
}

#[test]
fn lab_with_the_rustls_client_matches_its_measured_cells() {
    // rustls runs in process: no outside tool needed.
    let report = run(&LabOptions {
        clients: vec![Client::Rustls],
        ..LabOptions::default()
    })
    .expect("the lab runs");
    assert_eq!(report.clients, ["rustls"]);
    assert_eq!(report.client_cells, served().len());
    let wrong: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|r| r.clients.iter().map(move |c| (r, c)))
        .filter(|(_, c)| !c.matched)
        .map(|(r, c)| format!("{}: {c:?}", r.name))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(report.all_matched());
    let expired_root = report
        .scenarios
        .iter()
        .find(|r| r.name == "expired-root")
        .unwrap();
    // Plain rustls does not check the trust anchor's dates; certlab's probe does.
    assert_eq!(expired_root.clients[0].observed, Some(Outcome::Ok));
    assert_eq!(expired_root.observed_outcome(), Some(Outcome::Expired));
}

#[test]
fn binary_clients_json_text_and_missing_clients() {
    // JSON: the cells per scenario.
    let out = certlab()
        .args([
            "lab",
            "--clients",
            "rustls",
            "--only",
            "good,expired,key-mismatch",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clients"], serde_json::json!(["rustls"]));
    assert_eq!(v["client_cells"], 2);
    let expired = &v["scenarios"][1];
    assert_eq!(expired["name"], "expired");
    let c = &expired["clients"][0];
    assert_eq!(c["client"], "rustls");
    assert_eq!(c["expected"], "expired");
    assert_eq!(c["observed"], "expired");
    assert_eq!(c["matched"], true);
    assert_eq!(c["words"], "invalid peer certificate: certificate expired");
    assert!(
        v["scenarios"][2].get("clients").is_none(),
        "key-mismatch: no server"
    );

    // Text: per scenario, expected and observed per client.
    let out = certlab()
        .args(["lab", "--clients", "rustls", "--only", "expired"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("real clients: rustls"), "{text}");
    assert!(text.contains("✓ rustls  expected expired"), "{text}");
    assert!(text.contains("1 of 1 client cells as measured"), "{text}");

    // A client named explicitly and missing: one line, exit 2. `installed` skips it, says so.
    let empty = common::tempdir();
    let out = certlab()
        .env("PATH", empty.path())
        .args(["lab", "--clients", "curl", "--only", "good"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim(), "error: curl is not installed: curl not found");
    let out = certlab()
        .env("PATH", empty.path())
        .args(["lab", "--clients", "installed", "--only", "good"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("skipped curl: curl is not installed"),
        "{text}"
    );
    assert!(
        text.contains("skipped python3.13: python3.13 is not installed: python3 not found"),
        "{text}"
    );
    assert!(text.contains("real clients: rustls"), "{text}");

    // Bad names and a fixed clock are bad input.
    for args in [
        &["lab", "--clients", "lynx"][..],
        &["lab", "--clients", ","][..],
        &[
            "lab",
            "--clients",
            "rustls",
            "--now",
            "2030-06-01T12:00:00Z",
        ][..],
    ] {
        let out = certlab().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_client_whose_output_cannot_be_read_is_exit_3() {
    // A `python3` that answers nonsense: certlab cannot work with it (exit 3, one line).
    use std::os::unix::fs::PermissionsExt;
    let bin = common::tempdir();
    let fake = bin.path().join("python3");
    std::fs::write(&fake, "#!/bin/sh\necho nonsense\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = certlab()
        .env("PATH", bin.path())
        .args(["lab", "--clients", "python", "--only", "good"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: python: bad line \"nonsense\""),
        "{err}"
    );
}

#[test]
#[ignore = "needs curl, openssl and python3 (installed by .ci/run)"]
fn real_clients_match_the_measured_matrix() {
    if !(have_tool("curl") && have_tool("openssl") && have_tool("python3")) {
        return;
    }
    let report = run(&LabOptions {
        clients: FAMILIES.to_vec(),
        ..LabOptions::default()
    })
    .expect("the lab runs with every client");
    assert_eq!(report.clients.len(), FAMILIES.len(), "every family ran");
    assert!(report.skipped_clients.is_empty());
    let mut wrong = Vec::new();
    let mut per_family: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in &report.scenarios {
        for c in &row.clients {
            let client: Client = c.client.parse().unwrap();
            let entry = per_family.entry(c.client.clone()).or_default();
            entry.0 += 1;
            let measured = cell(client, &row.name);
            // Observed outcome and words, against the table.
            let ok = match (measured, &c.not_applicable) {
                (None, Some(_)) => true,
                (Some(m), None) => c.observed == Some(m.outcome) && c.words.contains(m.words),
                _ => false,
            };
            assert_eq!(ok, c.matched, "{} {}: matched flag", row.name, c.client);
            if ok {
                entry.1 += 1;
            } else {
                wrong.push(format!(
                    "{} {}: measured {:?}, observed {:?} {:?} {:?}",
                    row.name, c.client, measured, c.observed, c.words, c.not_applicable
                ));
            }
        }
    }
    eprintln!("cells matched per family (of measured): {per_family:?}");
    assert!(
        wrong.is_empty(),
        "cells that differ from the table:\n{}",
        wrong.join("\n")
    );
    assert_eq!(report.client_cells, served().len() * FAMILIES.len());
    assert!(report.all_matched());
}

#[test]
#[ignore = "needs every client (installed by .ci/run)"]
fn every_client_runs_through_the_binary_and_matches_the_readme() {
    // The CI check that the README's matrix cannot drift: `certlab lab --clients all` runs
    // every family against every scenario (exit 0 iff every cell is as measured, a
    // not-applicable cell included), and its Markdown is the README's table.
    for tool in [
        "gnutls-cli",
        "curl",
        "openssl",
        "python3",
        "go",
        "java",
        "node",
        "chromium",
    ] {
        if !have_tool(tool) {
            return;
        }
    }
    let _turn = common::chromium_turn();
    let out = certlab()
        .args(["lab", "--clients", "all", "--markdown"])
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let header = table.lines().next().unwrap_or_default().to_string();
    let mut want = String::from("| scenario | certlab |");
    for c in certlab::clients::ALL_CLIENTS {
        want.push_str(&format!(" {} |", c.name()));
    }
    assert_eq!(header, want, "every family ran");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a cell differs from the measured table:\n{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = "<!-- client-matrix:start -->\n";
    let from = readme.find(start).expect("README has the client matrix") + start.len();
    let to = readme.find("<!-- client-matrix:end -->").unwrap();
    assert!(
        readme[from..to] == table,
        "the README's client matrix differs from a fresh run:\n{table}"
    );
}

/// The README's fault table names, in the row of each fault, every family whose measured
/// outcome for that fault's lab scenario differs from certlab's verdict.
#[test]
fn the_readme_fault_table_names_every_family_that_differs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for fault in certlab::pki::model::ALL_FAULTS {
        let scenario = if fault == certlab::Fault::None {
            "good".to_string()
        } else {
            fault.name().to_string()
        };
        let Some(expected) = fault.expected() else {
            continue;
        };
        let section = &readme[readme.find("\n## Faults").expect("a Faults section")..];
        let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", fault.name())))
            .unwrap_or_else(|| panic!("README has no fault row for {fault}"));
        let differs = row.rsplit('|').nth(1).unwrap_or("");
        for client in measured_clients() {
            if let Some(c) = cell(client, &scenario)
                && c.outcome != expected
            {
                assert!(
                    differs
                        .split([',', ' ', ':', ';'])
                        .any(|w| w == client.name()),
                    "README fault row `{fault}` does not name {client} ({}): {row}",
                    c.outcome
                );
            }
        }
    }
}
