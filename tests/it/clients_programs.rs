//! The client programs (Go, Java, Node, gRPC, Chromium) against the live lab: every scenario
//! served on loopback, every family run on every scenario, and what each says compared with its
//! measured cells (`certlab::clients::cells`): accepted or rejected as measured, the recorded
//! words inside the client's own words, and no cell where the client cannot express the job.
//!
//! Set `CERTLAB_PRINT_CELLS=1` to print what each client said (to re-measure a family).

use crate::common;

use std::time::Instant;

use certlab::clients::{Client, cell, cells};
use certlab::lab::clients::{Answer, ClientJob, job_for, run};
use certlab::pki::scenario::Scenario;
use certlab::pki::{spec, store};
use certlab::serve::{Endpoint, ServeSettings, serve};
use certlab::tls::ClientAuth;
use common::Lab;

/// One job per served scenario, as `certlab lab --clients` builds it: to the endpoint,
/// verifying the scenario's name, trusting only the lab's `ca.pem` (with the CRL appended for the
/// scenario that checks one).
fn jobs(lab: &Lab, served: &[(Scenario, Endpoint)], work: &std::path::Path) -> Vec<ClientJob> {
    served
        .iter()
        .map(|(s, ep)| job_for(&lab.pki, lab.dir.path(), s, ep.addr(), work).expect("job files"))
        .collect()
}

/// Runs `client` on every lab scenario and checks every answer against its measured cell.
fn check_family(client: Client) {
    let lab = Lab::new();
    let served = lab.serve_all();
    let work = common::tempdir();
    let jobs = jobs(&lab, &served, work.path());
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
        let _turn = common::chromium_turn();
        check_family(Client::Chromium);
    }
}

/// A PKI whose client certificates have RSA, P-384 and Ed25519 keys (PKCS#8 PEM, as certlab
/// writes them), and a server that requires a client certificate from its root.
const KEY_FORMS: &str = r#"
[[ca]]
name = "root"
subject = { cn = "certlab key forms root" }

[[leaf]]
name = "server"
issuer = "root"
dns = ["localhost"]
ip = ["127.0.0.1"]

[[leaf]]
name = "c-rsa"
issuer = "root"
role = "client"
key = "rsa-2048"

[[leaf]]
name = "c-p384"
issuer = "root"
role = "client"
key = "ecdsa-p384"

[[leaf]]
name = "c-ed25519"
issuer = "root"
role = "client"
key = "ed25519"
"#;

/// Every client key form is either used (the handshake is accepted) or answered not
/// applicable with the client's reason, never a failed handshake; RSA and P-384 keys work
/// everywhere. Prints which family cannot load which key.
fn check_key_forms(client: Client) {
    let spec = spec::parse("<key forms>", KEY_FORMS).expect("spec parses");
    let pki = store::build(&spec, time::OffsetDateTime::now_utc()).expect("builds");
    let dir = common::tempdir();
    store::write(&pki, dir.path()).expect("writes");
    let server = pki.entity("server").expect("server");
    let mut settings = ServeSettings::new(
        "key-forms",
        server.chain_or_cert().to_vec(),
        server.key.to_private_key_der(),
    );
    settings.client_auth = ClientAuth::Required;
    settings.client_roots = common::load_certs(&dir.path().join("ca.pem"));
    let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
    let jobs: Vec<ClientJob> = ["c-rsa", "c-p384", "c-ed25519"]
        .iter()
        .map(|name| ClientJob {
            id: name.to_string(),
            addr: ep.addr(),
            server_name: "localhost".into(),
            ca: dir.path().join("ca.pem"),
            cert: Some(dir.path().join(format!("{name}.chain.pem"))),
            key: Some(dir.path().join(format!("{name}.key"))),
            tls: None,
            ciphers: vec![],
            alpn: vec![],
        })
        .collect();
    let work = common::tempdir();
    let answers = run(client, &jobs, work.path()).unwrap_or_else(|e| panic!("{client}: {e}"));
    for a in &answers {
        eprintln!("{client} {}: {:?}", a.id, a.answer);
        match (a.id.as_str(), &a.answer) {
            ("c-ed25519", Answer::NotApplicable(_)) | (_, Answer::Accepted) => {}
            (id, other) => panic!("{client} with the {id} key: {other:?}"),
        }
    }
}

#[test]
#[ignore = "needs go, java, node, python3 with grpcio, chromium (installed by .ci/run)"]
fn every_client_key_form_is_used_or_not_applicable() {
    let _turn = common::chromium_turn();
    for (client, tool) in [
        (Client::Go, "go"),
        (Client::Java, "java"),
        (Client::Node, "node"),
        (Client::Grpc, "python3"),
        (Client::Chromium, "chromium"),
    ] {
        if common::have_tool(tool) {
            check_key_forms(client);
        }
    }
}

/// Two batches in one work directory (what a drill does, step by step): the second starts
/// from a fresh NSS database instead of hanging on the first one's.
#[test]
#[ignore = "needs chromium and certutil (installed by .ci/run)"]
fn chromium_runs_twice_in_one_work_directory() {
    if !(common::have_tool("chromium") && common::have_tool("certutil")) {
        return;
    }
    let _turn = common::chromium_turn();
    let lab = Lab::new();
    let served = lab.serve_all();
    let work = common::tempdir();
    let all = jobs(&lab, &served, work.path());
    let good: Vec<ClientJob> = all.into_iter().filter(|j| j.id == "good").collect();
    for round in 0..2 {
        let answers = run(Client::Chromium, &good, work.path())
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(answers[0].answer, Answer::Accepted, "round {round}");
    }
}
