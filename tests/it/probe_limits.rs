//! `probe` names rustls's own limits instead of blaming a constraint or the cipher suites
//! (issue 8, section 2): a chain with more intermediates than rustls-webpki builds paths
//! through is not `path-len-exceeded` (no pathLen is exceeded; OpenSSL and curl accept it), and
//! a Certificate message over rustls's handshake-message limit is not `handshake-failure`
//! "align the cipher suites". Both are `bad-certificate` ("uses what the client cannot
//! process") with the limit in the detail. Endpoints are certlab's own `serve` on loopback.

use std::time::Duration;

use certlab::Outcome;
use certlab::pki::{Pki, spec, store};
use certlab::serve::{ServeSettings, serve};
use certlab::verify::classify::{TrustStore, Usage, classify_chain};
use certlab::verify::probe::{ProbeOptions, ProbeReport, probe};

const NOW: time::OffsetDateTime = time::macros::datetime!(2030-01-01 00:00 UTC);

/// A root, `depth` intermediates below one another (no pathLen anywhere) and a `localhost`
/// leaf `deep` under the last; and a leaf `big` under the root with `big_sans` DNS names.
fn pki(depth: usize, big_sans: usize) -> Pki {
    let mut text = String::from("[[ca]]\nname = \"root\"\n");
    let mut issuer = "root".to_string();
    for i in 1..=depth {
        text.push_str(&format!("[[ca]]\nname = \"i{i}\"\nissuer = \"{issuer}\"\n"));
        issuer = format!("i{i}");
    }
    text.push_str(&format!(
        "[[leaf]]\nname = \"deep\"\nissuer = \"{issuer}\"\ndns = [\"localhost\"]\n"
    ));
    if big_sans > 0 {
        let names: Vec<String> = std::iter::once("\"localhost\"".to_string())
            .chain((0..big_sans).map(|i| format!("\"host-{i:05}.a-rather-long-name.example\"")))
            .collect();
        text.push_str(&format!(
            "[[leaf]]\nname = \"big\"\nissuer = \"root\"\ndns = [{}]\n",
            names.join(", ")
        ));
    }
    let spec = spec::parse("<probe-limits>", &text).expect("spec parses");
    store::build(&spec, NOW).expect("the PKI builds")
}

fn trust(pki: &Pki) -> TrustStore {
    TrustStore::from_roots(pki.trusted_roots().map(|e| e.cert.clone()).collect())
}

/// Serves `entity`'s chain and key on loopback and probes it as `localhost` at [`NOW`].
fn serve_and_probe(pki: &Pki, entity: &str) -> ProbeReport {
    let e = pki.entity(entity).expect("entity");
    let settings = ServeSettings::new(entity, e.chain.clone(), e.key.to_private_key_der());
    let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
    let options = ProbeOptions {
        trust: Some(trust(pki)),
        now: Some(NOW),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
    ep.stop();
    report
}

#[test]
fn seven_intermediates_without_path_len_are_rustls_depth_limit_not_path_len_exceeded() {
    let deep = pki(7, 0);
    let report = serve_and_probe(&deep, "deep");
    let detail = report.detail.clone().unwrap_or_default();
    assert_eq!(report.outcome, Outcome::BadCertificate, "{detail}");
    assert!(
        detail.contains("7 intermediates")
            && detail.contains("at most 6")
            && detail.contains("MaximumPathDepthExceeded"),
        "{detail}"
    );
    // `check` says the same offline (one classifier).
    let chain = &deep.entity("deep").unwrap().chain;
    assert_eq!(chain.len(), 8, "leaf and seven intermediates are presented");
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let verdict = classify_chain(chain, &trust(&deep), Some(&name), Usage::Server, NOW);
    assert_eq!(verdict.outcome, Outcome::BadCertificate);
    // Six intermediates are within rustls's limit: ok.
    let six = pki(6, 0);
    assert_eq!(serve_and_probe(&six, "deep").outcome, Outcome::Ok);
}

#[test]
fn a_certificate_message_over_64_kib_names_the_message_size_limit() {
    // ~1,800 SANs of 40 bytes: a leaf of about 75 KB.
    let big = pki(0, 1_800);
    let leaf = &big.entity("big").unwrap().cert;
    assert!(leaf.len() > 70_000, "the leaf is {} bytes", leaf.len());
    let report = serve_and_probe(&big, "big");
    let detail = report.detail.clone().unwrap_or_default();
    assert_eq!(report.outcome, Outcome::BadCertificate, "{detail}");
    assert!(detail.contains("65535 bytes"), "{detail}");
    assert!(!report.fix.contains("cipher"), "{}", report.fix);
}
