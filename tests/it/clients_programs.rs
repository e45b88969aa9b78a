//! The client programs (Go, Java, Node, gRPC, Chromium) against the live lab: every scenario
//! served on loopback, every family run on every scenario, and what each says compared with its
//! measured cells (`certlab::clients::cells`): accepted or rejected as measured, the recorded
//! words inside the client's own words, and no cell where the client cannot express the job.
//!
//! Set `CERTLAB_PRINT_CELLS=1` to print what each client said (to re-measure a family).

use crate::common;

use std::time::Instant;

use certlab::clients::{Client, cell, cells};
use certlab::lab::clients::{Answer, ClientJob, run};
use certlab::pki::scenario::Scenario;
use certlab::serve::Endpoint;
use common::Lab;

/// One job per served scenario, as a user of that scenario would connect: to the endpoint,
/// verifying the scenario's name, trusting only the lab's `ca.pem`.
fn jobs(lab: &Lab, served: &[(Scenario, Endpoint)]) -> Vec<ClientJob> {
    served
        .iter()
        .map(|(s, ep)| {
            let c = &s.client;
            let cert = c.cert.as_ref().map(|name| {
                let chain = lab.path(&format!("{name}.chain.pem"));
                if chain.exists() {
                    chain
                } else {
                    lab.path(&format!("{name}.pem"))
                }
            });
            ClientJob {
                id: s.name.clone(),
                addr: ep.addr(),
                server_name: c.servername.clone().unwrap_or_else(|| c.host().to_string()),
                ca: lab.path("ca.pem"),
                key: c.cert.as_ref().map(|name| lab.path(&format!("{name}.key"))),
                cert,
                tls: c.tls,
                ciphers: c.ciphers.clone(),
                alpn: c.alpn.clone(),
            }
        })
        .collect()
}

/// Runs `client` on every lab scenario and checks every answer against its measured cell.
fn check_family(client: Client) {
    let lab = Lab::new();
    let served = lab.serve_all();
    let jobs = jobs(&lab, &served);
    let work = common::tempdir();
    let started = Instant::now();
    let answers = run(client, &jobs, &work.path().join(client.name()))
        .unwrap_or_else(|e| panic!("{client}: {e}"));
    let took = started.elapsed();
    eprintln!("{client}: {} jobs in {took:.1?}", jobs.len());
    assert_eq!(answers.len(), jobs.len());
    if std::env::var_os("CERTLAB_PRINT_CELLS").is_some() {
        for a in &answers {
            println!("CELL {client}\t{}\t{:?}", a.id, a.answer);
        }
    }
    assert!(!cells(client).is_empty(), "{client}: no measured cells");
    let mut wrong = Vec::new();
    for (job, a) in jobs.iter().zip(&answers) {
        assert_eq!(a.id, job.id);
        let measured = cell(client, &job.id);
        let fine = match (&a.answer, measured) {
            (Answer::NotApplicable(_), None) => true,
            (Answer::Accepted, Some(c)) => c.outcome.is_ok(),
            (Answer::Rejected(words), Some(c)) => !c.outcome.is_ok() && words.contains(c.words),
            _ => false,
        };
        if !fine {
            wrong.push(format!(
                "{}: said {:?}, measured {measured:?}",
                job.id, a.answer
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{client} differs from its cells:\n{}",
        wrong.join("\n")
    );
    // Every cell is a scenario of the lab.
    for c in cells(client) {
        assert!(
            jobs.iter().any(|j| j.id == c.scenario),
            "{client}: cell for unknown scenario {}",
            c.scenario
        );
    }
}

#[test]
#[ignore = "needs go (installed by .ci/run)"]
fn go_matches_its_measured_cells() {
    if common::have_tool("go") {
        check_family(Client::Go);
    }
}

#[test]
#[ignore = "needs java (installed by .ci/run)"]
fn java_matches_its_measured_cells() {
    if common::have_tool("java") {
        check_family(Client::Java);
    }
}

#[test]
#[ignore = "needs node (installed by .ci/run)"]
fn node_matches_its_measured_cells() {
    if common::have_tool("node") {
        check_family(Client::Node);
    }
}

#[test]
#[ignore = "needs python3 with grpcio (installed by .ci/run)"]
fn grpc_matches_its_measured_cells() {
    if common::have_tool("python3") {
        check_family(Client::Grpc);
    }
}

#[test]
#[ignore = "needs chromium and certutil (installed by .ci/run)"]
fn chromium_matches_its_measured_cells() {
    if common::have_tool("chromium") && common::have_tool("certutil") {
        check_family(Client::Chromium);
    }
}
