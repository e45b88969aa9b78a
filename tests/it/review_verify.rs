//! Review of the "every certificate of the path against the CRLs" change (hunt_verify): with
//! several CRLs of one issuer name, webpki uses the first one whose issuer name matches, where
//! OpenSSL (curl `--crlfile`, nginx `ssl_crl`) picks the best: one its issuer's key verifies,
//! current, the newest. Each case was measured with `openssl verify -crl_check_all` (OpenSSL
//! 3.0): a stale CRL listed before the current one, or a CRL of a namesake CA with another key,
//! made certlab refuse a chain OpenSSL accepts; an older CRL listed before a newer one that
//! revokes the leaf made certlab say `ok` where OpenSSL says `certificate revoked`.

use std::time::Duration;

use certlab::Outcome;
use certlab::serve::{ServeSettings, serve};
use certlab::verify::classify::{TrustStore, Usage, classify_chain};
use certlab::verify::probe::{ProbeOptions, probe};
use pki_types::ServerName;
use pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use time::{Duration as Span, OffsetDateTime};

use crate::common;

/// A CA: its certificate and what signs below it.
struct Ca {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// CA parameters: CN `name`, CA:true, keyCertSign and cRLSign.
fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = OffsetDateTime::now_utc() - Span::days(400);
    p.not_after = OffsetDateTime::now_utc() + Span::days(400);
    p
}

fn root(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(name);
    let cert = params.self_signed(&key).unwrap().der().clone();
    Ca {
        cert,
        issuer: Issuer::new(params, key),
    }
}

fn intermediate(name: &str, above: &Ca) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(name);
    let cert = params.signed_by(&key, &above.issuer).unwrap().der().clone();
    Ca {
        cert,
        issuer: Issuer::new(params, key),
    }
}

/// A leaf `localhost` with serial 0x4242 under `ca`, a client's (clientAuth) when `client`,
/// else a server's: (certificate, key).
fn leaf(ca: &Ca, client: bool) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.serial_number = Some(SerialNumber::from(vec![0x42, 0x42]));
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    p.not_before = OffsetDateTime::now_utc() - Span::days(300);
    p.not_after = OffsetDateTime::now_utc() + Span::days(300);
    let cert = p.signed_by(&key, &ca.issuer).unwrap().der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert, key)
}

/// A CRL of `ca` issued `this_update` days from now, valid for `days` days, listing `serials`.
fn crl(
    ca: &Ca,
    this_update: i64,
    days: i64,
    serials: &[&[u8]],
) -> CertificateRevocationListDer<'static> {
    let now = OffsetDateTime::now_utc();
    let this = now + Span::days(this_update);
    let params = CertificateRevocationListParams {
        this_update: this,
        next_update: this + Span::days(days),
        crl_number: SerialNumber::from(vec![this_update.unsigned_abs() as u8 + 1]),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(s.to_vec()),
                revocation_time: this - Span::hours(1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&ca.issuer).unwrap().der().clone()
}

/// root -> intermediate -> `localhost` (server), the chain as served.
fn pki() -> (Ca, Ca, Vec<CertificateDer<'static>>) {
    let r = root("review root");
    let i = intermediate("review intermediate", &r);
    let (l, _) = leaf(&i, false);
    let chain = vec![l, i.cert.clone()];
    (r, i, chain)
}

fn verdict(
    chain: &[CertificateDer<'static>],
    root: &Ca,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> certlab::verify::classify::Verdict {
    let mut trust = TrustStore::from_roots(vec![root.cert.clone()]);
    trust.crls = crls;
    let name = ServerName::try_from("localhost").unwrap();
    classify_chain(
        chain,
        &trust,
        Some(&name),
        Usage::Server,
        OffsetDateTime::now_utc(),
    )
}

/// Found: a stale CRL of the intermediate given before its current one made the chain
/// `expired`; OpenSSL (`-crl_check_all`, both CRLs) and curl `--crlfile` say OK: they use the
/// current CRL.
#[test]
fn a_stale_crl_beside_the_current_one_of_its_issuer_is_no_alarm() {
    let (r, i, chain) = pki();
    let stale = crl(&i, -60, 30, &[]);
    let current = crl(&i, -1, 30, &[]);
    let root_crl = crl(&r, -1, 30, &[]);
    let v = verdict(&chain, &r, vec![stale, current, root_crl]);
    assert_eq!(v.outcome, Outcome::Ok, "{:?}", v.detail);
}

/// Found: two current CRLs of the intermediate, the older first: the newer one lists the leaf,
/// certlab said `ok` (webpki read the first), OpenSSL says 23 `certificate revoked` (it uses
/// the newest).
#[test]
fn the_newest_crl_of_an_issuer_decides() {
    let (r, i, chain) = pki();
    let older = crl(&i, -2, 30, &[]);
    let newer = crl(&i, -1, 30, &[&[0x42, 0x42]]);
    let v = verdict(&chain, &r, vec![older, newer]);
    assert_eq!(v.outcome, Outcome::Revoked, "{:?}", v.detail);
}

/// Found: a CRL of another CA of the same name (another key: a re-keyed or unrelated root),
/// given before the trusted root's own, made the chain `bad-certificate` now that the
/// intermediate is looked up too (webpki checked the first CRL of that name against the
/// root's key); OpenSSL and curl say OK: they use the CRL the root's key verifies.
#[test]
fn a_crl_of_a_namesake_ca_with_another_key_is_no_alarm() {
    let (r, i, chain) = pki();
    let namesake = root("review root");
    let v = verdict(
        &chain,
        &r,
        vec![
            crl(&namesake, -1, 30, &[]),
            crl(&r, -2, 30, &[]),
            crl(&i, -1, 30, &[]),
        ],
    );
    assert_eq!(v.outcome, Outcome::Ok, "{:?}", v.detail);
}

/// The same choice on the server side: `serve` with a stale and a current CRL of the client
/// certificate's issuer refused the client (`client-cert-rejected`); nginx's `ssl_crl` on
/// OpenSSL accepts it.
#[test]
fn serve_uses_the_current_crl_of_a_clients_issuer() {
    let (r, i, _) = pki();
    let (client, client_key) = leaf(&i, true);
    let (server, server_key) = leaf(&i, false);
    let mut settings = ServeSettings::new("review", vec![server, i.cert.clone()], server_key);
    settings.client_auth = certlab::tls::ClientAuth::Required;
    settings.client_roots = vec![r.cert.clone()];
    settings.client_crls = vec![crl(&i, -60, 30, &[]), crl(&i, -1, 30, &[])];
    let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
    let options = ProbeOptions {
        trust: Some(TrustStore::from_roots(vec![r.cert.clone()])),
        client_cert: Some((vec![client, i.cert.clone()], client_key)),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
    ep.stop();
    assert_eq!(report.outcome, Outcome::Ok, "{:?}", report.detail);
}

fn pem(label: &str, der: &[u8]) -> String {
    ::pem::encode(&::pem::Pem::new(label, der.to_vec()))
}

/// OpenSSL's side of the three cases above (`openssl verify -crl_check_all`), so that the
/// expectations are measured, not guessed.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_picks_the_current_newest_crl_of_the_right_key() {
    if !common::have_tool("openssl") {
        return;
    }
    let dir = common::tempdir();
    let (r, i, chain) = pki();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let ca = write("ca.pem", pem("CERTIFICATE", &r.cert));
    let untrusted = write("i.pem", pem("CERTIFICATE", &i.cert));
    let leaf = write("leaf.pem", pem("CERTIFICATE", &chain[0]));
    let namesake = root("review root");
    let cases: Vec<(&str, Vec<CertificateRevocationListDer<'static>>, &str)> = vec![
        (
            "stale first",
            vec![
                crl(&i, -60, 30, &[]),
                crl(&i, -1, 30, &[]),
                crl(&r, -1, 30, &[]),
            ],
            ": OK",
        ),
        (
            "older first",
            vec![
                crl(&i, -2, 30, &[]),
                crl(&i, -1, 30, &[&[0x42, 0x42]]),
                crl(&r, -1, 30, &[]),
            ],
            "certificate revoked",
        ),
        (
            "namesake first",
            vec![
                crl(&namesake, -1, 30, &[]),
                crl(&r, -2, 30, &[]),
                crl(&i, -1, 30, &[]),
            ],
            ": OK",
        ),
    ];
    for (what, crls, want) in cases {
        let text: String = crls.iter().map(|c| pem("X509 CRL", c)).collect();
        let file = write("crls.pem", text);
        let out = std::process::Command::new("openssl")
            .args([
                "verify",
                "-crl_check_all",
                "-purpose",
                "sslserver",
                "-CAfile",
            ])
            .args([&ca, "-untrusted", &untrusted, "-CRLfile", &file, &leaf])
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains(want), "{what}: {said}");
    }
}

/// A client certificate `agent.test` under `ca` with these key usages and extended key usages.
fn client_leaf_with(
    ca: &Ca,
    key_usages: Vec<KeyUsagePurpose>,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["agent.test".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "agent");
    p.key_usages = key_usages;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.not_before = OffsetDateTime::now_utc() - Span::days(1);
    p.not_after = OffsetDateTime::now_utc() + Span::days(30);
    let cert = p.signed_by(&key, &ca.issuer).unwrap().der().clone();
    (
        cert,
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// What `serve` (requiring client certificates from `root`) says to a client presenting
/// `chain`, as the client sees it.
fn served_client(
    root: &Ca,
    server_ca: &Ca,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Outcome {
    let (server, server_key) = leaf(server_ca, false);
    let mut settings =
        ServeSettings::new("review", vec![server, server_ca.cert.clone()], server_key);
    settings.client_auth = certlab::tls::ClientAuth::Required;
    settings.client_roots = vec![root.cert.clone()];
    let ep = serve(settings, "127.0.0.1:0".parse().unwrap()).expect("serves");
    let options = ProbeOptions {
        trust: Some(TrustStore::from_roots(vec![root.cert.clone()])),
        client_cert: Some((chain, key)),
        timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    };
    let report = probe(&format!("localhost:{}", ep.addr().port()), &options).expect("probes");
    ep.stop();
    report.outcome
}

/// Found (a check done in `check`/`probe` but not in `serve`): `serve` accepted a client
/// certificate whose keyUsage allows no TLS client use (keyEncipherment only), and one below a
/// root whose own extended key usage lacks clientAuth, which `check --usage client` calls
/// `wrong-usage` and nginx on OpenSSL refuses (verify error 26; measured with `openssl verify
/// -purpose sslclient` and curl against `certlab serve`, which answered 200).
#[test]
fn serve_refuses_the_client_certificates_check_calls_wrong_usage() {
    let (r, i, _) = pki();
    let usages = |ca: &Ca, chain: &[CertificateDer<'static>]| {
        classify_chain(
            chain,
            &TrustStore::from_roots(vec![ca.cert.clone()]),
            None,
            Usage::Client,
            OffsetDateTime::now_utc(),
        )
        .outcome
    };
    // The leaf's keyUsage: keyEncipherment only.
    let (c, k) = client_leaf_with(&i, vec![KeyUsagePurpose::KeyEncipherment]);
    let chain = vec![c, i.cert.clone()];
    assert_eq!(usages(&r, &chain), Outcome::WrongUsage);
    assert_eq!(served_client(&r, &i, chain, k), Outcome::ClientCertRejected);
    // The root's own extended key usage: serverAuth only.
    let key = KeyPair::generate().unwrap();
    let mut params = ca_params("review server-only root");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).unwrap().der().clone();
    let server_only = Ca {
        cert,
        issuer: Issuer::new(params, key),
    };
    let (c, k) = client_leaf_with(&server_only, vec![KeyUsagePurpose::DigitalSignature]);
    assert_eq!(
        usages(&server_only, std::slice::from_ref(&c)),
        Outcome::WrongUsage
    );
    assert_eq!(
        served_client(&server_only, &server_only, vec![c], k),
        Outcome::ClientCertRejected
    );
    // A client certificate with digitalSignature below `r` is still accepted.
    let (c, k) = client_leaf_with(&i, vec![KeyUsagePurpose::DigitalSignature]);
    assert_eq!(
        served_client(&r, &i, vec![c, i.cert.clone()], k),
        Outcome::Ok
    );
}

/// root -> intermediate -> `web`, issued now.
fn spec_pki() -> certlab::Pki {
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
    "#;
    let spec = certlab::pki::spec::parse("<review>", text).expect("spec parses");
    certlab::pki::store::build(&spec, OffsetDateTime::now_utc()).expect("the PKI builds")
}

/// What `check --pki` (every certificate against the PKI's CRLs) says of `name`.
fn checked(pki: &certlab::Pki, name: &str) -> Outcome {
    let trust = TrustStore::from_pki(pki);
    let report = certlab::verify::check::check_pki(pki, &trust, OffsetDateTime::now_utc(), 0);
    report
        .entities
        .iter()
        .find(|e| e.name == name)
        .expect("checked")
        .outcome
}

/// Found: `revoke` of an intermediate marks the leaves below it expected `revoked`, but
/// `renew` did not follow: renewing the intermediate (a new serial its CRL does not list) left
/// `web` expected `revoked` where every client says ok, and renewing `web` under the still
/// revoked intermediate made it expected `ok` where `check --pki` says revoked.
#[test]
fn renew_keeps_the_expected_outcome_of_leaves_below_a_revoked_intermediate() {
    use certlab::pki::renew::{RenewOptions, renew_pki};
    use certlab::pki::revoke::{Reason, revoke_pki};
    let now = OffsetDateTime::now_utc();
    let renew = |pki: &mut certlab::Pki, name: &str| {
        let options = RenewOptions {
            names: vec![name.to_string()],
            rekey: false,
            validity: None,
            force: true,
        };
        renew_pki(pki, &options, now).expect("renews");
    };
    let expected = |pki: &certlab::Pki| pki.entity("web").expect("web").expected;

    let mut pki = spec_pki();
    revoke_pki(&mut pki, "intermediate", Reason::KeyCompromise, now).expect("revokes");
    renew(&mut pki, "web");
    assert_eq!(checked(&pki, "web"), Outcome::Revoked);
    assert_eq!(expected(&pki), Some(Outcome::Revoked));

    let mut pki = spec_pki();
    revoke_pki(&mut pki, "intermediate", Reason::KeyCompromise, now).expect("revokes");
    renew(&mut pki, "intermediate");
    assert_eq!(checked(&pki, "web"), Outcome::Ok);
    assert_eq!(expected(&pki), Some(Outcome::Ok));
}
