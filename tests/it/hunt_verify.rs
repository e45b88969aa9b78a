//! Bug hunt "a wrong ok is the worst bug we can ship": hostile or unusual servers that
//! `certlab probe` once called `ok` while curl and OpenSSL refuse them. Each case is served on
//! loopback (port 0) by certlab's own `serve`, which presents any chain as given, and probed
//! through the library; the ignored tests put curl / openssl beside certlab on the same
//! endpoint.

use std::time::Duration;

use certlab::Outcome;
use certlab::clients::Client;
use certlab::pki::revoke::{Reason, revoke_pki};
use certlab::pki::{Pki, spec, store};
use certlab::serve::{Endpoint, ServeSettings, serve};
use certlab::verify::classify::{TrustStore, Usage, classify_chain};
use certlab::verify::probe::{ProbeOptions, ProbeReport, probe};
use pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::common;

/// A root `root`, an intermediate `intermediate` under it and two leaves under the
/// intermediate, `web` (`localhost`) and `retired`, issued now (curl and openssl judge by the real clock).
fn three_level_pki() -> Pki {
    let text = r#"
        [[ca]]
        name = "root"
        [[ca]]
        name = "intermediate"
        issuer = "root"
        [[leaf]]
        name = "web"
        issuer = "intermediate"
        dns = ["localhost"]
        ip = ["127.0.0.1"]
        [[leaf]]
        name = "retired"
        issuer = "intermediate"
        dns = ["retired.test"]
        [[leaf]]
        name = "agent"
        issuer = "intermediate"
        role = "client"
        dns = ["agent.test"]
    "#;
    let spec = spec::parse("<hunt>", text).expect("spec parses");
    store::build(&spec, time::OffsetDateTime::now_utc()).expect("the PKI builds")
}

/// Serves `chain` with `key` on 127.0.0.1:0.
fn serve_chain(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Endpoint {
    serve(
        ServeSettings::new("hunt", chain, key),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("serves")
}

/// Probes `localhost:PORT` of `ep` trusting `trust`.
fn probe_localhost(ep: &Endpoint, trust: TrustStore) -> ProbeReport {
    let options = ProbeOptions {
        trust: Some(trust),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes")
}

/// The PKI with its intermediate revoked by the root (`certlab revoke --pki DIR
/// intermediate`): the root's CRL lists the intermediate; `web` itself is listed nowhere (the
/// intermediate's CRL lists `retired`, so that every CA of the chain has a CRL, as curl's
/// check of the whole chain needs).
fn pki_with_revoked_intermediate() -> Pki {
    let mut pki = three_level_pki();
    let now = time::OffsetDateTime::now_utc();
    for name in ["intermediate", "retired"] {
        revoke_pki(&mut pki, name, Reason::KeyCompromise, now).expect("revokes");
    }
    pki
}

/// Found: a leaf below a revoked intermediate was `ok` even with the root's CRL that lists
/// the intermediate given (`check --pki`, `probe --pki`, `probe --crl`): only the end entity
/// was looked up in the CRLs. curl `--crlfile` (OpenSSL's CRL_CHECK_ALL) says `certificate
/// revoked`, exit 60 (the ignored test below).
#[test]
fn a_leaf_under_a_revoked_intermediate_is_revoked_when_the_crl_is_given() {
    let pki = pki_with_revoked_intermediate();
    let web = pki.entity("web").expect("web");
    // The manifest's contract follows: what a client given the CRLs sees.
    assert_eq!(web.expected, Some(Outcome::Revoked));
    let trust = TrustStore::from_pki(&pki);
    assert!(!trust.crls.is_empty(), "the root's CRL is in the trust");
    let name = ServerName::try_from("localhost").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let verdict = classify_chain(&web.chain, &trust, Some(&name), Usage::Server, now);
    assert_eq!(verdict.outcome, Outcome::Revoked, "{:?}", verdict.detail);
    let detail = verdict.detail.unwrap_or_default();
    assert!(
        detail.contains("intermediate"),
        "names the revoked CA: {detail}"
    );

    let ep = serve_chain(web.chain.clone(), web.key.to_private_key_der());
    let report = probe_localhost(&ep, trust);
    ep.stop();
    assert_eq!(report.outcome, Outcome::Revoked, "{:?}", report.detail);

    // Without the CRL, nobody can know: still ok.
    let roots = TrustStore::from_roots(pki.trusted_roots().map(|e| e.cert.clone()).collect());
    let verdict = classify_chain(&web.chain, &roots, Some(&name), Usage::Server, now);
    assert_eq!(verdict.outcome, Outcome::Ok, "{:?}", verdict.detail);
}

/// Found on the server side too: `serve` with a PKI's CRLs (`serve --pki`) accepted a client
/// certificate issued by a revoked intermediate (only the end entity was looked up; nginx's
/// `ssl_crl` and curl check the whole chain). Now refused: `client-cert-rejected`.
#[test]
fn serve_refuses_a_client_certificate_below_a_revoked_intermediate() {
    let pki = pki_with_revoked_intermediate();
    let web = pki.entity("web").expect("web");
    let agent = pki.entity("agent").expect("agent");
    let trust = TrustStore::from_pki(&pki);
    let mut settings = ServeSettings::new("hunt", web.chain.clone(), web.key.to_private_key_der());
    settings.client_auth = certlab::tls::ClientAuth::Required;
    settings.client_roots = trust.roots.clone();
    settings.client_crls = trust.crls.clone();
    let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
    let options = ProbeOptions {
        trust: Some(TrustStore::from_roots(trust.roots.clone())),
        client_cert: Some((agent.chain.clone(), agent.key.to_private_key_der())),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
    ep.stop();
    assert_eq!(
        report.outcome,
        Outcome::ClientCertRejected,
        "{:?}",
        report.detail
    );
}

/// The same endpoint through the binary and curl: both refuse it.
#[test]
#[ignore = "needs curl (installed by .ci/run)"]
fn curl_and_certlab_agree_on_a_revoked_intermediate() {
    if !common::have_tool("curl") {
        return;
    }
    let pki = pki_with_revoked_intermediate();
    let dir = common::tempdir();
    store::write(&pki, dir.path()).expect("writes the PKI");
    let web = pki.entity("web").expect("web");
    let ep = serve_chain(web.chain.clone(), web.key.to_private_key_der());
    let port = ep.addr().port();
    let crls = dir.path().join("crls.pem");
    let mut text = String::new();
    for crl in ["root.crl.pem", "intermediate.crl.pem"] {
        if let Ok(t) = std::fs::read_to_string(dir.path().join(crl)) {
            text.push_str(&t);
        }
    }
    std::fs::write(&crls, text).unwrap();
    let ca = dir.path().join("ca.pem");
    let out = common::run_timeout(
        std::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--max-time", "10", "--cacert"])
            .arg(&ca)
            .arg("--crlfile")
            .arg(&crls)
            .arg(format!("https://localhost:{port}/")),
        b"",
        Duration::from_secs(15),
    );
    assert_eq!(out.code, Some(60), "curl: {}", out.all());
    assert!(out.all().contains("certificate revoked"), "{}", out.all());
    let (code, report) = common::probe_json(
        &format!("localhost:{port}"),
        &["--ca", common::p(&ca), "--crl", common::p(&crls)],
    );
    ep.stop();
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["outcome"], "revoked", "{report}");
}

/// A root (CA, keyCertSign) and a `localhost` / 127.0.0.1 server leaf under it whose keyUsage
/// is `usages` (EKU serverAuth): (root DER, leaf chain, leaf key).
fn leaf_with_key_usage(
    usages: Vec<KeyUsagePurpose>,
) -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    leaf_with_key_usage_for(usages, ExtendedKeyUsagePurpose::ServerAuth)
}

/// [`leaf_with_key_usage`] with this EKU instead of serverAuth.
fn leaf_with_key_usage_for(
    usages: Vec<KeyUsagePurpose>,
    eku: ExtendedKeyUsagePurpose,
) -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let root_key = KeyPair::generate().unwrap();
    let mut root = CertificateParams::default();
    root.distinguished_name
        .push(DnType::CommonName, "hunt key-usage root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key).unwrap();
    let issuer = Issuer::new(root, root_key);

    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages = usages;
    leaf.extended_key_usages = vec![eku];
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (
        root_cert.der().clone(),
        vec![leaf_cert.der().clone()],
        key_der,
    )
}

/// Found: a server leaf whose keyUsage has none of digitalSignature, keyEncipherment and
/// keyAgreement (here cRLSign alone) was `ok`, with no client said to disagree; OpenSSL's
/// sslserver purpose refuses it (`verify error:num=26:unsuitable certificate purpose`, curl
/// exit 60). rustls-webpki does not look at a leaf's keyUsage. The leaves OpenSSL accepts
/// (digitalSignature, or keyAgreement / keyEncipherment alone, or no keyUsage) stay `ok`.
#[test]
fn a_server_leaf_whose_key_usage_forbids_tls_is_wrong_usage() {
    let name = ServerName::try_from("localhost").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (root, chain, key) = leaf_with_key_usage(vec![KeyUsagePurpose::CrlSign]);
    let trust = TrustStore::from_roots(vec![root.clone()]);
    let verdict = classify_chain(&chain, &trust, Some(&name), Usage::Server, now);
    assert_eq!(verdict.outcome, Outcome::WrongUsage, "{:?}", verdict.detail);
    let detail = verdict.detail.unwrap_or_default();
    assert!(detail.contains("cRLSign"), "{detail}");

    let ep = serve_chain(chain, key);
    let report = probe_localhost(&ep, trust);
    ep.stop();
    assert_eq!(report.outcome, Outcome::WrongUsage, "{:?}", report.detail);

    for usages in [
        vec![KeyUsagePurpose::DigitalSignature],
        vec![KeyUsagePurpose::KeyAgreement],
        vec![KeyUsagePurpose::KeyEncipherment],
        vec![],
    ] {
        let (root, chain, _) = leaf_with_key_usage(usages.clone());
        let trust = TrustStore::from_roots(vec![root]);
        let verdict = classify_chain(&chain, &trust, Some(&name), Usage::Server, now);
        assert_eq!(
            verdict.outcome,
            Outcome::Ok,
            "{usages:?}: {:?}",
            verdict.detail
        );
    }
}

/// A client certificate: OpenSSL's `sslclient` purpose wants digitalSignature or keyAgreement
/// (measured with `openssl verify -purpose sslclient`: keyEncipherment alone refused,
/// keyAgreement alone accepted).
#[test]
fn a_client_leaf_whose_key_usage_forbids_tls_is_wrong_usage() {
    let now = time::OffsetDateTime::now_utc();
    for (usages, want) in [
        (vec![KeyUsagePurpose::KeyEncipherment], Outcome::WrongUsage),
        (vec![KeyUsagePurpose::CrlSign], Outcome::WrongUsage),
        (vec![KeyUsagePurpose::KeyAgreement], Outcome::Ok),
        (vec![KeyUsagePurpose::DigitalSignature], Outcome::Ok),
    ] {
        let (root, chain, _) =
            leaf_with_key_usage_for(usages.clone(), ExtendedKeyUsagePurpose::ClientAuth);
        let trust = TrustStore::from_roots(vec![root]);
        let verdict = classify_chain(&chain, &trust, None, Usage::Client, now);
        assert_eq!(verdict.outcome, want, "{usages:?}: {:?}", verdict.detail);
    }
}

/// The same leaf through openssl s_client and curl, beside the binary.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_curl_and_certlab_agree_on_a_leaf_key_usage_without_tls() {
    if !common::have_tool("openssl") || !common::have_tool("curl") {
        return;
    }
    let (root, chain, key) = leaf_with_key_usage(vec![KeyUsagePurpose::CrlSign]);
    let dir = common::tempdir();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem_of(&root)).unwrap();
    let ep = serve_chain(chain, key);
    let port = ep.addr().port();
    let out = common::run_timeout(
        std::process::Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-CAfile",
            ])
            .arg(&ca),
        b"",
        Duration::from_secs(15),
    );
    assert!(
        out.all().contains("unsuitable certificate purpose"),
        "openssl: {}",
        out.all()
    );
    let out = common::run_timeout(
        std::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--max-time", "10", "--cacert"])
            .arg(&ca)
            .arg(format!("https://localhost:{port}/")),
        b"",
        Duration::from_secs(15),
    );
    assert_eq!(out.code, Some(60), "curl: {}", out.all());
    let (code, report) =
        common::probe_json(&format!("localhost:{port}"), &["--ca", common::p(&ca)]);
    ep.stop();
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["outcome"], "wrong-usage", "{report}");
}

fn pem_of(der: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Found: `certlab probe HOST:PORT --timeout 9223372036854775807s` (and `lab --timeout` with
/// it) panicked, exit 101: "overflow when adding duration to instant". A timeout too long for
/// the clock is as good as forever: the probe runs and says what it saw.
#[test]
fn an_enormous_timeout_is_no_panic() {
    let target = format!("127.0.0.1:{}", closed_port());
    let out = common::run(common::certlab_command().args([
        "probe",
        &target,
        "--timeout",
        "9223372036854775807s",
    ]));
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("refused"), "{text}");

    // The library with the longest durations there are: a refused port, and an endpoint
    // whose answer after the handshake is waited for at most until the deadline.
    let options = ProbeOptions {
        timeout: Duration::MAX,
        ..ProbeOptions::default()
    };
    let report = probe(&target, &options).expect("probes");
    assert_eq!(report.outcome, Outcome::Refused);
    let pki = three_level_pki();
    let web = pki.entity("web").expect("web");
    let ep = serve_chain(web.chain.clone(), web.key.to_private_key_der());
    let options = ProbeOptions {
        trust: Some(TrustStore::from_pki(&pki)),
        post_handshake_wait: Duration::MAX,
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
    ep.stop();
    assert_eq!(report.outcome, Outcome::Ok, "{:?}", report.detail);
}

/// A chain below a root made by `root`: (root DER, chain leaf first, leaf key). With
/// `intermediate`, one CA sits between the root and the `localhost` / 127.0.0.1 server leaf.
fn chain_below(
    root: CertificateParams,
    intermediate: bool,
) -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    chain_below_with(root, intermediate.then(Vec::new))
}

/// [`chain_below`], the intermediate (when `Some`) with these extended key usages.
fn chain_below_with(
    root: CertificateParams,
    intermediate: Option<Vec<ExtendedKeyUsagePurpose>>,
) -> (
    CertificateDer<'static>,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
) {
    let root_key = KeyPair::generate().unwrap();
    let root_cert = root.self_signed(&root_key).unwrap();
    let mut issuer = Issuer::new(root, root_key);
    let mut chain = Vec::new();
    if let Some(ekus) = intermediate {
        let key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "hunt intermediate");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.extended_key_usages = ekus;
        let cert = ca.signed_by(&key, &issuer).unwrap();
        chain.push(cert.der().clone());
        issuer = Issuer::new(ca, key);
    }
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    chain.insert(0, cert.der().clone());
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (root_cert.der().clone(), chain, key_der)
}

/// Root parameters: CN `name`, CA:true unconstrained, keyCertSign and cRLSign.
fn root_params(name: &str) -> CertificateParams {
    let mut root = CertificateParams::default();
    root.distinguished_name.push(DnType::CommonName, name);
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root
}

/// The roots whose own constraints rustls-webpki ignores (a trust anchor is only a name, a
/// key and name constraints to it) and OpenSSL enforces: (case, root, with an intermediate,
/// certlab's outcome, OpenSSL's verify error).
fn constrained_roots() -> Vec<(&'static str, CertificateParams, bool, Outcome, &'static str)> {
    let mut path_len_0 = root_params("hunt root pathLen 0");
    path_len_0.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let mut client_only = root_params("hunt root clientAuth only");
    client_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let mut not_ca = root_params("hunt root CA false");
    not_ca.is_ca = IsCa::ExplicitNoCa;
    vec![
        (
            "root pathLen 0 above an intermediate",
            path_len_0,
            true,
            Outcome::PathLenExceeded,
            "error 25",
        ),
        (
            "root EKU clientAuth only",
            client_only,
            false,
            Outcome::WrongUsage,
            "error 26",
        ),
        (
            "root CA:false",
            not_ca,
            false,
            Outcome::InvalidCa,
            "error 79",
        ),
    ]
}

/// Found: a root's own pathLen, EKU and CA:false were ignored (webpki keeps only a trust
/// anchor's name, key and name constraints): `ok`, with no client said to disagree, where
/// OpenSSL says 25 `path length constraint exceeded`, 26 `unsuitable certificate purpose`,
/// 79 `invalid CA certificate` (curl exit 60 each). certlab checks the anchor's dates
/// already; now these too. Controls stay `ok`: pathLen 0 directly above the leaf, a
/// serverAuth root, a self-signed server certificate trusted as itself (pinned).
#[test]
fn a_roots_own_path_len_eku_and_ca_flag_are_enforced() {
    let name = ServerName::try_from("localhost").unwrap();
    let now = time::OffsetDateTime::now_utc();
    for (case, root, intermediate, want, _) in constrained_roots() {
        let (root, chain, _) = chain_below(root, intermediate);
        let trust = TrustStore::from_roots(vec![root]);
        let verdict = classify_chain(&chain, &trust, Some(&name), Usage::Server, now);
        assert_eq!(verdict.outcome, want, "{case}: {:?}", verdict.detail);
        let detail = verdict.detail.unwrap_or_default();
        assert!(detail.contains("trusted root"), "{case}: {detail}");
    }
    // Live, the first one.
    let (case, root, intermediate, want, _) = constrained_roots().remove(0);
    let (root, chain, key) = chain_below(root, intermediate);
    let ep = serve_chain(chain, key);
    let report = probe_localhost(&ep, TrustStore::from_roots(vec![root]));
    ep.stop();
    assert_eq!(report.outcome, want, "{case}: {:?}", report.detail);

    let mut path_len_0 = root_params("hunt root pathLen 0");
    path_len_0.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let mut server_eku = root_params("hunt root serverAuth");
    server_eku.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    for (case, root, intermediate) in [
        ("pathLen 0 root above the leaf", path_len_0, false),
        ("serverAuth root", server_eku, true),
    ] {
        let (root, chain, _) = chain_below(root, intermediate);
        let trust = TrustStore::from_roots(vec![root]);
        let verdict = classify_chain(&chain, &trust, Some(&name), Usage::Server, now);
        assert_eq!(verdict.outcome, Outcome::Ok, "{case}: {:?}", verdict.detail);
    }
    // A pinned self-signed server certificate (CA:false, its own trust anchor).
    let key = KeyPair::generate().unwrap();
    let mut pinned = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    pinned.is_ca = IsCa::ExplicitNoCa;
    pinned.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    pinned.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = pinned.self_signed(&key).unwrap().der().clone();
    let trust = TrustStore::from_roots(vec![cert.clone()]);
    let verdict = classify_chain(&[cert], &trust, Some(&name), Usage::Server, now);
    assert_eq!(verdict.outcome, Outcome::Ok, "pinned: {:?}", verdict.detail);
}

/// `openssl verify` refuses each of those chains with the error named.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_refuses_the_constrained_roots() {
    if !common::have_tool("openssl") {
        return;
    }
    let dir = common::tempdir();
    for (case, root, intermediate, _, error) in constrained_roots() {
        let (root, chain, _) = chain_below(root, intermediate);
        let ca = dir.path().join("root.pem");
        std::fs::write(&ca, pem_of(&root)).unwrap();
        let leaf = dir.path().join("leaf.pem");
        std::fs::write(&leaf, pem_of(&chain[0])).unwrap();
        let untrusted = dir.path().join("untrusted.pem");
        let rest: String = chain[1..].iter().map(|c| pem_of(c)).collect();
        std::fs::write(
            &untrusted,
            if rest.is_empty() { pem_of(&root) } else { rest },
        )
        .unwrap();
        let out = common::run_timeout(
            std::process::Command::new("openssl")
                .args(["verify", "-purpose", "sslserver", "-CAfile"])
                .arg(&ca)
                .arg("-untrusted")
                .arg(&untrusted)
                .arg(&leaf),
            b"",
            Duration::from_secs(15),
        );
        assert_ne!(out.code, Some(0), "{case}: {}", out.all());
        assert!(out.all().contains(error), "{case}: {}", out.all());
    }
}

/// Found (a detail, not a verdict): an intermediate whose EKU lacks serverAuth was reported as
/// "CN=localhost's extended key usage is serverAuth; a certificate a TLS server presents
/// needs serverAuth", blaming the leaf, which is fine. The detail names the intermediate.
#[test]
fn an_intermediates_eku_is_named_as_the_culprit() {
    let name = ServerName::try_from("localhost").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (root, chain, _) = chain_below_with(
        root_params("hunt root"),
        Some(vec![ExtendedKeyUsagePurpose::ClientAuth]),
    );
    let trust = TrustStore::from_roots(vec![root]);
    let verdict = classify_chain(&chain, &trust, Some(&name), Usage::Server, now);
    assert_eq!(verdict.outcome, Outcome::WrongUsage, "{:?}", verdict.detail);
    let detail = verdict.detail.unwrap_or_default();
    assert!(
        detail.starts_with("intermediate CN=hunt intermediate") && detail.contains("clientAuth"),
        "{detail}"
    );
}

/// Found: a CRL past its nextUpdate was used as if current: a leaf it does not list was `ok`,
/// where OpenSSL says 12 `CRL has expired` (curl `--crlfile`: exit 60). certlab's CRLs have a
/// nextUpdate of `revoke` time plus the default leaf validity, so a leaf issued for longer
/// (here 5 years) outlives its issuer's CRL. Now `expired`, the detail naming the CRL.
#[test]
fn a_crl_past_its_next_update_is_not_a_clean_bill() {
    let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
    let text = r#"
        [[ca]]
        name = "root"
        [[ca]]
        name = "intermediate"
        issuer = "root"
        [[leaf]]
        name = "web"
        issuer = "intermediate"
        dns = ["localhost"]
        validity = "5y"
        [[leaf]]
        name = "retired"
        issuer = "intermediate"
        dns = ["retired.test"]
    "#;
    let spec = spec::parse("<hunt>", text).expect("spec parses");
    let mut pki = store::build(&spec, t0).expect("the PKI builds");
    revoke_pki(&mut pki, "retired", Reason::Superseded, t0).expect("revokes");
    let web = pki.entity("web").expect("web").chain.clone();
    let trust = TrustStore::from_pki(&pki);
    let name = ServerName::try_from("localhost").unwrap();
    // Within the CRL's life: ok.
    let at = t0 + time::Duration::days(30);
    let verdict = classify_chain(&web, &trust, Some(&name), Usage::Server, at);
    assert_eq!(verdict.outcome, Outcome::Ok, "{:?}", verdict.detail);
    // Two years on: the leaf is valid, the CRL is stale.
    let at = t0 + time::Duration::days(730);
    let verdict = classify_chain(&web, &trust, Some(&name), Usage::Server, at);
    assert_eq!(verdict.outcome, Outcome::Expired, "{:?}", verdict.detail);
    let detail = verdict.detail.unwrap_or_default();
    assert!(
        detail.contains("CRL") && detail.contains("nextUpdate"),
        "{detail}"
    );
    // Without CRLs, nothing is stale.
    let roots = TrustStore::from_roots(trust.roots.clone());
    let verdict = classify_chain(&web, &roots, Some(&name), Usage::Server, at);
    assert_eq!(verdict.outcome, Outcome::Ok, "{:?}", verdict.detail);
}

/// `explain` knows OpenSSL's words for it (it had no pattern: "unknown message").
#[test]
fn explain_knows_crl_has_expired() {
    let out = common::run(common::certlab_command().args([
        "explain",
        "curl: (60) SSL certificate problem: CRL has expired",
    ]));
    let text = common::text(&out);
    assert!(text.starts_with("outcome      expired"), "{text}");
}

/// `check --pki DIR` said `ok` for an intermediate its root's CRL lists (CAs were judged by
/// their dates alone) while it said `revoked` for every leaf below it.
#[test]
fn check_pki_names_a_revoked_intermediate_itself() {
    let pki = pki_with_revoked_intermediate();
    let trust = TrustStore::from_pki(&pki);
    let report =
        certlab::verify::check::check_pki(&pki, &trust, time::OffsetDateTime::now_utc(), 30);
    let row = |name: &str| {
        report
            .entities
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} checked"))
            .outcome
    };
    assert_eq!(row("intermediate"), Outcome::Revoked);
    assert_eq!(row("web"), Outcome::Revoked);
    assert_eq!(row("root"), Outcome::Ok);
}

/// The server side of a stale CRL: `serve` with its PKI's CRLs accepted a client certificate
/// when the issuer's CRL was past its nextUpdate (nginx's `ssl_crl`, on OpenSSL, refuses:
/// `CRL has expired`). Judged at an injected time on both sides.
#[test]
fn serve_refuses_a_client_when_the_crl_is_stale() {
    let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
    let text = r#"
        [[ca]]
        name = "root"
        [[ca]]
        name = "intermediate"
        issuer = "root"
        [[leaf]]
        name = "web"
        issuer = "intermediate"
        dns = ["localhost"]
        validity = "5y"
        [[leaf]]
        name = "agent"
        issuer = "intermediate"
        role = "client"
        dns = ["agent.test"]
        validity = "5y"
        [[leaf]]
        name = "retired"
        issuer = "intermediate"
        role = "client"
        dns = ["retired.test"]
    "#;
    let spec = spec::parse("<hunt>", text).expect("spec parses");
    let mut pki = store::build(&spec, t0).expect("the PKI builds");
    revoke_pki(&mut pki, "retired", Reason::Superseded, t0).expect("revokes");
    let trust = TrustStore::from_pki(&pki);
    let web = pki.entity("web").expect("web");
    let agent = pki.entity("agent").expect("agent");
    let served_at = |at: time::OffsetDateTime| {
        let mut settings =
            ServeSettings::new("hunt", web.chain.clone(), web.key.to_private_key_der());
        settings.client_auth = certlab::tls::ClientAuth::Required;
        settings.client_roots = trust.roots.clone();
        settings.client_crls = trust.crls.clone();
        settings.now = Some(at);
        let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
        let options = ProbeOptions {
            trust: Some(TrustStore::from_roots(trust.roots.clone())),
            client_cert: Some((agent.chain.clone(), agent.key.to_private_key_der())),
            now: Some(at),
            timeout: Duration::from_secs(10),
            ..ProbeOptions::default()
        };
        let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
        ep.stop();
        report
    };
    let fresh = served_at(t0 + time::Duration::days(30));
    assert_eq!(fresh.outcome, Outcome::Ok, "{:?}", fresh.detail);
    let stale = served_at(t0 + time::Duration::days(730));
    assert_eq!(
        stale.outcome,
        Outcome::ClientCertRejected,
        "{:?}",
        stale.detail
    );
}

/// Where certlab refuses a chain for a check it adds beyond rustls-webpki (the trusted root's
/// own pathLen, EKU, CA flag), its per-client verdicts say what each family does: the `rustls`
/// family is what plain rustls says — proved here with rustls itself (`WebPkiServerVerifier`
/// with the same root accepts each chain) — curl and openssl are certlab's verdict (measured,
/// above), and the families nobody ran on these rules are marked not measured.
#[test]
fn the_rustls_family_says_what_plain_rustls_says_of_a_rule_beyond_webpki() {
    use certlab::verify::check::client_verdicts;
    let name = ServerName::try_from("localhost").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    for (case, root, intermediate, want, _) in constrained_roots() {
        let (root, chain, _) = chain_below(root, intermediate);
        let verdict = classify_chain(
            &chain,
            &TrustStore::from_roots(vec![root.clone()]),
            Some(&name),
            Usage::Server,
            now,
        );
        assert_eq!(verdict.outcome, want, "{case}");
        assert_eq!(verdict.webpki, Some(Outcome::Ok), "{case}");

        let mut roots = rustls::RootCertStore::empty();
        roots.add(root).unwrap();
        let plain = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        use rustls::client::danger::ServerCertVerifier;
        let said = plain.verify_server_cert(
            &chain[0],
            &chain[1..],
            &name,
            &[],
            rustls::pki_types::UnixTime::now(),
        );
        assert!(said.is_ok(), "{case}: plain rustls says {said:?}");

        let clients = client_verdicts(verdict.outcome, verdict.webpki, &[]);
        let of = |c: Client| clients.iter().find(|v| v.client == c).unwrap();
        assert_eq!(of(Client::Rustls).outcome, Outcome::Ok, "{case}");
        assert_eq!(of(Client::Rustls).exit, Some(0), "{case}");
        for c in [Client::Curl, Client::Openssl] {
            assert_eq!(of(c).outcome, want, "{case}: {c:?}");
            assert_eq!(of(c).basis, "as-openssl", "{case}: {c:?}");
        }
        assert_eq!(of(Client::Go).basis, "not-measured", "{case}");
    }
}

/// `check --client rustls` of the lab's `expired-root` chain says what the measured client
/// matrix says rustls does (`ok`, exit 0), not certlab's `expired`; `--client curl` says
/// `expired` (exit 1), as measured too.
#[test]
fn check_client_rustls_of_an_expired_root_is_the_measured_cell() {
    let dir = common::tempdir();
    let lab = dir.path().join("lab");
    common::generate(&lab, &["--template", "lab"]);
    assert_eq!(
        certlab::clients::cell(Client::Rustls, "expired-root").map(|c| c.outcome),
        Some(Outcome::Ok),
        "the measured cell"
    );
    let check = |client: &str| {
        common::run(
            common::certlab_command()
                .args([
                    "check",
                    "--json",
                    "--host",
                    "localhost",
                    "--client",
                    client,
                    "--pki",
                ])
                .arg(&lab)
                .arg(lab.join("expired-root.chain.pem")),
        )
    };
    let rustls = check("rustls");
    let json: serde_json::Value = serde_json::from_slice(&rustls.stdout).unwrap();
    assert_eq!(json["outcome"], "expired", "{json}");
    assert_eq!(json["client"]["outcome"], "ok", "{json}");
    assert_eq!(rustls.status.code(), Some(0), "{}", common::text(&rustls));
    let curl = check("curl");
    let json: serde_json::Value = serde_json::from_slice(&curl.stdout).unwrap();
    assert_eq!(json["client"]["outcome"], "expired", "{json}");
    assert_eq!(curl.status.code(), Some(1));

    // `probe` of the served scenario says the same of each family, and the text says why.
    let server = common::Running::start(&[
        "serve",
        "--pki",
        common::p(&lab),
        "--scenario",
        "expired-root",
    ]);
    let target = format!("localhost:{}", server.addr().port());
    let (_, json) = common::probe_json(&target, &["--pki", common::p(&lab)]);
    assert_eq!(json["outcome"], "expired", "{json}");
    let family = |name: &str| {
        json["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(family("rustls")["outcome"], "ok", "{json}");
    assert_eq!(family("curl")["outcome"], "expired", "{json}");
    assert_eq!(family("curl")["basis"], "as-openssl", "{json}");
    let text =
        common::run(common::certlab_command().args(["probe", &target, "--pki", common::p(&lab)]));
    assert!(
        common::text(&text).contains("plain rustls says ok"),
        "{}",
        common::text(&text)
    );
    drop(server);
}
