//! Property tests ("fuzzing" on stable Rust, with proptest) of every parser that reads user or
//! network bytes: the spec (TOML → model), the certificate, CRL, key and CSR readers,
//! `inspect`'s reader, `explain`'s input and the probe's handling of a server's first bytes.
//! Zero panics is the bar: a panic in any case fails the test with the minimised input (which
//! then becomes a plain regression test at the end of this file).
//!
//! Inputs are random bytes and text, and structure-aware mutations of real inputs: the
//! certificates, CRLs, keys and CSRs certlab makes (the lab template and the test fixture, in
//! DER and PEM), the built-in templates, and a real rustls server's first flight.
//!
//! `cargo test` runs a few thousand cases per target (debug build, seconds);
//! `scripts/fuzz.sh` runs `CERTLAB_FUZZ_CASES` cases per target (100,000) in a release build
//! and prints the counts (`CERTLAB_FUZZ_PROBE_CASES` for the network target).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use certlab::Outcome;
use certlab::explain::{self, Explained};
use certlab::fixture::TestPki;
use certlab::pki::export::{self, KeyFormat};
use certlab::pki::{Entity, KeyAlg, Role, csr, spec, store};
use certlab::serve::{self, ServeSettings};
use certlab::verify::check::{self, CheckOptions};
use certlab::verify::classify::{TrustStore, Usage, classify_chain};
use certlab::verify::inspect;
use certlab::verify::probe::{ProbeOptions, probe};
use pki_types::{CertificateDer, ServerName};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rustls::ServerConfig;
use time::OffsetDateTime;
use time::macros::datetime;

// ----- running ----------------------------------------------------------------------------

/// The time every certificate is made and checked at.
const NOW: OffsetDateTime = datetime!(2030-06-01 12:00 UTC);

/// Cases per target: `CERTLAB_FUZZ_CASES` (scripts/fuzz.sh), else `default` (cargo test).
fn cases(default: u32) -> u32 {
    env_cases("CERTLAB_FUZZ_CASES").unwrap_or(default)
}

/// Cases of a slow target: `CERTLAB_FUZZ_CASES / divisor` (at least `default`).
fn slow_cases(default: u32, divisor: u32) -> u32 {
    env_cases("CERTLAB_FUZZ_CASES").map_or(default, |n| (n / divisor).max(default))
}

fn env_cases(var: &str) -> Option<u32> {
    std::env::var(var).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{var}={v}: expected a number of cases"))
    })
}

/// Runs `test` on `cases` inputs of `strategy`; a panic or a failed property fails the test
/// with the minimised input. Prints the count (scripts/fuzz.sh collects these lines).
/// `test` returns how far the input got (`rejected`, `read`, ...): the counts show that the
/// inputs reach past the first check.
fn fuzz<S>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<&'static str, String>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let tally = Mutex::new(BTreeMap::<&'static str, u64>::new());
    let start = Instant::now();
    let result = runner.run(&strategy, |value| {
        let label = test(value).map_err(TestCaseError::fail)?;
        *tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(label)
            .or_default() += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "fuzz {name}: {} cases, 0 panics ({:.1} s; {})",
        tally.values().sum::<u64>(),
        start.elapsed().as_secs_f64(),
        tally
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Fails a property with a message.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

// ----- the corpus: real inputs made by certlab ---------------------------------------------

/// Real certificates, CRLs, keys and CSRs (DER), and what the readers need around them.
struct Corpus {
    certs: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    /// DER and its PEM label.
    keys: Vec<(Vec<u8>, &'static str)>,
    csrs: Vec<Vec<u8>>,
    /// What a client of the lab trusts (roots, intermediates, CRLs).
    trust: TrustStore,
    /// The lab's good chain and the revoked leaf's chain (CRLs are checked against it).
    good_chain: Vec<CertificateDer<'static>>,
    revoked_chain: Vec<CertificateDer<'static>>,
    /// The CA `sign` uses, and its certificate file (for `load_ca` with a fuzzed key).
    ca: Entity,
    ca_cert_file: PathBuf,
    /// A leaf's chain and key, for `serve::server_config` with a fuzzed chain or key.
    serve_chain: Vec<CertificateDer<'static>>,
    /// Servers whose first flight the probe target mutates: TLS 1.3 and TLS 1.2 only.
    server_configs: Vec<Arc<ServerConfig>>,
    /// What the probe trusts.
    probe_trust: TrustStore,
    _dir: tempfile::TempDir,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let template = spec::template("lab").expect("lab template");
        let lab = store::build(&spec::parse("<lab>", template.text).unwrap(), NOW).unwrap();
        let mut certs: Vec<Vec<u8>> = lab.entities.iter().map(|e| e.cert.to_vec()).collect();
        let crls: Vec<Vec<u8>> = lab.crls().map(|c| c.to_vec()).collect();
        assert!(!crls.is_empty(), "the lab has CRLs");

        let mut fixture = TestPki::at(NOW);
        let mut secret_keys = vec![lab.entity("good").unwrap().key.clone()];
        for alg in [KeyAlg::EcdsaP384, KeyAlg::Ed25519, KeyAlg::Rsa2048] {
            let leaf = fixture.server(["localhost"]).key(alg).issue().unwrap();
            certs.push(leaf.cert_der().to_vec());
            secret_keys.push(leaf.entity().key.clone());
        }
        let server = fixture.server(["localhost", "127.0.0.1"]).issue().unwrap();
        certs.extend(server.chain_der().iter().map(|c| c.to_vec()));
        certs.push(fixture.ca_der().to_vec());

        let mut keys = Vec::new();
        let mut csrs = Vec::new();
        for key in &secret_keys {
            for (format, label) in [
                (KeyFormat::Pkcs8, "PRIVATE KEY"),
                (KeyFormat::Sec1, "EC PRIVATE KEY"),
                (KeyFormat::Pkcs1, "RSA PRIVATE KEY"),
            ] {
                if let Ok(der) = export::key_der(key, format, None) {
                    keys.push((der, label));
                }
            }
            let pair = key.to_key_pair().unwrap();
            let mut params = rcgen::CertificateParams::new(vec!["app.test".to_string()]).unwrap();
            params.subject_alt_names.extend([
                rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap()),
                rcgen::SanType::Rfc822Name("a@app.test".try_into().unwrap()),
                rcgen::SanType::URI("spiffe://app.test/x".try_into().unwrap()),
            ]);
            csrs.push(params.serialize_request(&pair).unwrap().der().to_vec());
        }
        keys.push((
            export::key_der(&secret_keys[0], KeyFormat::Pkcs8, Some("pw")).unwrap(),
            "ENCRYPTED PRIVATE KEY",
        ));

        let dir = crate::common::tempdir();
        let ca = lab.entity("intermediate").unwrap().clone();
        let ca_cert_file = dir.path().join("ca.pem");
        std::fs::write(&ca_cert_file, certlab::pem::pem_certs([&ca.cert])).unwrap();

        let tls = |versions: &[&'static rustls::SupportedProtocolVersion]| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(versions)
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(server.chain_der(), server.key_der())
                .unwrap();
            Arc::new(config)
        };
        Corpus {
            certs,
            crls,
            keys,
            csrs,
            trust: TrustStore::from_pki(&lab),
            good_chain: lab.entity("good").unwrap().chain.clone(),
            revoked_chain: lab.entity("revoked").unwrap().chain.clone(),
            ca,
            ca_cert_file,
            serve_chain: server.chain_der(),
            server_configs: vec![
                tls(&[&rustls::version::TLS13]),
                tls(&[&rustls::version::TLS12]),
            ],
            probe_trust: TrustStore::from_pki(fixture.pki()),
            _dir: dir,
        }
    })
}

// ----- byte mutations ----------------------------------------------------------------------

/// One edit of a byte string (positions scale to the current length).
#[derive(Debug, Clone)]
enum Edit {
    /// XOR a byte with a mask (one bit, usually).
    Flip(Index, u8),
    /// Replace a byte (interesting values for DER lengths and tags are likelier).
    Set(Index, u8),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Remove up to n bytes.
    Remove(Index, usize),
    /// Cut the rest.
    Truncate(Index),
    /// Repeat a range (up to n bytes) after itself.
    Duplicate(Index, usize),
}

/// Bytes that DER parsers treat specially: lengths, tags, sign bits.
fn interesting_byte() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![
        2 => any::<u8>(),
        1 => prop::sample::select(vec![
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x1e, 0x30, 0x31,
            0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x88, 0xa0, 0xa3, 0xfe, 0xff,
        ]),
    ]
}

fn edit(byte: impl Strategy<Value = u8> + Clone + 'static) -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), prop::sample::select(vec![1u8, 2, 4, 8, 16, 32, 64, 128, 0xff]))
            .prop_map(|(i, m)| Edit::Flip(i, m)),
        3 => (any::<Index>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        2 => (any::<Index>(), prop::collection::vec(byte, 1..16))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<Index>(), 1..64usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), 1..128usize).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn edits(byte: impl Strategy<Value = u8> + Clone + 'static) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(byte), 1..6)
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = bytes.len();
        let at = |i: &Index, n: usize| if n == 0 { 0 } else { i.index(n) };
        match e {
            Edit::Flip(i, m) if len > 0 => bytes[at(i, len)] ^= m,
            Edit::Set(i, b) if len > 0 => bytes[at(i, len)] = *b,
            Edit::Insert(i, b) => {
                let p = at(i, len + 1);
                bytes.splice(p..p, b.iter().copied());
            }
            Edit::Remove(i, n) if len > 0 => {
                let p = at(i, len);
                bytes.drain(p..(p + n).min(len));
            }
            Edit::Truncate(i) => bytes.truncate(at(i, len + 1)),
            Edit::Duplicate(i, n) if len > 0 => {
                let p = at(i, len);
                let piece = bytes[p..(p + n).min(len)].to_vec();
                let end = p + piece.len();
                bytes.splice(end..end, piece);
            }
            _ => {}
        }
    }
}

/// Bytes that print as an escaped byte string (a minimised input one can paste into a test).
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// PEM labels the readers know, and some they do not.
const LABELS: &[&str] = &[
    "CERTIFICATE",
    "X509 CRL",
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "CERTIFICATE REQUEST",
    "NEW CERTIFICATE REQUEST",
    "TRUSTED CERTIFICATE",
    "X509 CERTIFICATE",
    "PUBLIC KEY",
    "",
];

fn pem_text(label: &str, der: &[u8]) -> Vec<u8> {
    pem::encode(&pem::Pem::new(label, der.to_vec())).into_bytes()
}

fn base64_char() -> impl Strategy<Value = u8> + Clone {
    prop::sample::select(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r -:".to_vec(),
    )
}

/// A reader's input: random bytes, or a real DER input (one of `seeds`, with its PEM label)
/// mutated as DER, as the base64 of a PEM body, or as PEM text with headers, alone or among
/// other blocks.
fn file_bytes(seeds: Vec<(Vec<u8>, &'static str)>) -> impl Strategy<Value = Bytes> {
    let seed = prop::sample::select(seeds);
    let label = prop_oneof![
        4 => Just(None),
        1 => prop::sample::select(LABELS).prop_map(Some),
    ];
    prop_oneof![
        // Random bytes, and random bytes that look like PEM.
        1 => prop::collection::vec(any::<u8>(), 0..1024),
        1 => (prop::sample::select(LABELS), prop::collection::vec(base64_char(), 0..512))
            .prop_map(|(label, body)| {
                let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
                out.extend(body);
                out.extend(format!("\n-----END {label}-----\n").into_bytes());
                out
            }),
        // The seed unchanged (the readers must accept what certlab writes).
        1 => seed.clone().prop_map(|(der, _)| der),
        // Mutated DER, raw and inside valid PEM.
        4 => (seed.clone(), edits(interesting_byte())).prop_map(|((mut der, _), e)| {
            apply(&mut der, &e);
            der
        }),
        4 => (seed.clone(), edits(interesting_byte()), label.clone()).prop_map(
            |((mut der, l), e, label)| {
                apply(&mut der, &e);
                pem_text(label.unwrap_or(l), &der)
            }
        ),
        // Valid PEM framing, mutated base64 body.
        3 => (seed.clone(), edits(base64_char()), label).prop_map(|((der, l), e, label)| {
            let label = label.unwrap_or(l);
            let text = pem_text(label, &der);
            let text = String::from_utf8(text).unwrap();
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("\n");
            let mut body = body.into_bytes();
            apply(&mut body, &e);
            let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
            out.extend(body);
            out.extend(format!("\n-----END {label}-----\n").into_bytes());
            out
        }),
        // Whole PEM files mutated as text, several blocks, with garbage around them.
        3 => (prop::collection::vec(seed, 1..4), edits(any::<u8>()), prop::collection::vec(any::<u8>(), 0..32))
            .prop_map(|(blocks, e, junk)| {
                let mut out = junk;
                for (der, label) in blocks {
                    out.extend(pem_text(label, &der));
                }
                apply(&mut out, &e);
                out
            }),
    ]
    .prop_map(Bytes)
}

fn all_seeds() -> Vec<(Vec<u8>, &'static str)> {
    let c = corpus();
    c.certs
        .iter()
        .map(|d| (d.clone(), "CERTIFICATE"))
        .chain(c.crls.iter().map(|d| (d.clone(), "X509 CRL")))
        .chain(c.keys.iter().cloned())
        .chain(c.csrs.iter().map(|d| (d.clone(), "CERTIFICATE REQUEST")))
        .collect()
}

/// A file in a per-test directory, rewritten for each case (the readers take paths).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: crate::common::tempdir(),
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("scratch file");
        path
    }
}

// ----- certificates, CRLs, keys, CSRs, inspect ---------------------------------------------

/// What `check`, `probe`, `serve`, `sign` and `trust` do with a certificate file: read it,
/// then classify, summarise and lint what was read (the fuzzed certificates as the chain, and
/// as the trusted roots).
fn certificates_case(scratch: &Scratch, bytes: &[u8]) -> Result<&'static str, String> {
    let c = corpus();
    let path = scratch.write("certs.pem", bytes);
    // One reader for every command (check, probe, serve, sign): certlab::pem.
    let read = certlab::pem::read_certs(&path);
    let _ = certlab::trust::read_cas(&path);
    let _ = csr::read_cert(&path);
    let _ = certlab::pem::read_blocks(&path, None);
    let Ok(certs) = read else {
        return Ok("rejected");
    };
    ensure!(!certs.is_empty(), "read_certs returned no certificate");
    let mut options = CheckOptions::new(c.trust.clone(), NOW);
    options.host = Some("localhost".to_string());
    let report = check::check(&certs, &options).map_err(|e| e.to_string())?;
    ensure!(
        report.chain.len() == certs.len(),
        "check summarised {} of {} certificates",
        report.chain.len(),
        certs.len()
    );
    serde_json::to_string(&report).map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    classify_chain(&certs, &c.trust, None, Usage::Client, NOW);
    classify_chain(
        &c.good_chain,
        &TrustStore::from_roots(certs.clone()),
        Some(&name),
        Usage::Server,
        NOW,
    );
    for cert in &certs {
        let _ = inspect::summarize(cert, NOW);
    }
    Ok(match report.outcome {
        Outcome::Ok => "read, ok",
        Outcome::BadCertificate => "read, bad-certificate",
        Outcome::BadSignature => "read, bad-signature",
        _ => "read, other outcome",
    })
}

#[test]
fn certificates() {
    let scratch = Scratch::new();
    let c = corpus();
    let seeds: Vec<_> = c
        .certs
        .iter()
        .map(|d| (d.clone(), "CERTIFICATE"))
        .chain(all_seeds().into_iter().take(2))
        .collect();
    fuzz("certificates", cases(1500), file_bytes(seeds), |bytes| {
        certificates_case(&scratch, &bytes.0)
    });
}

/// What `check --crl` and `probe --crl` do: read the CRL file, then check the revoked and the
/// good leaf against it.
fn crls_case(scratch: &Scratch, bytes: &[u8]) -> Result<&'static str, String> {
    let c = corpus();
    let path = scratch.write("crl.pem", bytes);
    let Ok(crls) = certlab::pem::read_crls(&path) else {
        return Ok("rejected");
    };
    ensure!(!crls.is_empty(), "read_crls returned no CRL");
    let trust = TrustStore {
        crls,
        ..c.trust.clone()
    };
    let name = ServerName::try_from("localhost").unwrap();
    let revoked = classify_chain(&c.revoked_chain, &trust, Some(&name), Usage::Server, NOW);
    classify_chain(&c.good_chain, &trust, Some(&name), Usage::Server, NOW);
    Ok(if revoked.outcome == Outcome::Revoked {
        "read, revokes"
    } else {
        "read, does not revoke"
    })
}

#[test]
fn crls() {
    let scratch = Scratch::new();
    let seeds: Vec<_> = corpus()
        .crls
        .iter()
        .map(|d| (d.clone(), "X509 CRL"))
        .collect();
    fuzz("crls", cases(1500), file_bytes(seeds), |bytes| {
        crls_case(&scratch, &bytes.0)
    });
}

/// Every key reader: `export::read_key` (`cert`/`sign --ca-key`, `export`), `csr::load_ca`,
/// `serve::read_key` and the server configuration built from it, `inspect`'s key summary;
/// then what is done with a key that was read.
fn keys_case(scratch: &Scratch, bytes: &[u8]) -> Result<&'static str, String> {
    let c = corpus();
    let path = scratch.write("key.pem", bytes);
    let mut usable = false;
    for password in [None, Some("pw")] {
        if let Ok(key) = export::read_key(bytes, password) {
            // An error, not a panic: aws-lc accepts some PKCS#8 that the `pkcs8` crate
            // refuses (trailing data), so `key_kind` may fail where `to_key_pair` works.
            usable |= key.to_key_pair().is_ok();
            let _ = export::key_kind(key.pkcs8_der());
            for format in [KeyFormat::Pkcs8, KeyFormat::Sec1, KeyFormat::Pkcs1] {
                let _ = export::key_pem(&key, format, None);
            }
        }
    }
    let _ = csr::load_ca(&c.ca_cert_file, &path, None);
    if let Ok(key) = certlab::pem::read_private_key(&path) {
        let _ = inspect::summarize_key(&key);
        let settings = ServeSettings::new("fuzz", c.serve_chain.clone(), key);
        let _ = serve::server_config(&settings);
    }
    Ok(if usable { "read, usable" } else { "rejected" })
}

#[test]
fn keys() {
    let scratch = Scratch::new();
    fuzz(
        "keys",
        cases(1500),
        file_bytes(corpus().keys.clone()),
        |bytes| keys_case(&scratch, &bytes.0),
    );
}

/// `certlab sign`: a CSR (PEM or DER) signed by a CA, as a server and as a client certificate.
fn csrs_case(bytes: &[u8]) -> Result<&'static str, String> {
    let c = corpus();
    let mut label = "rejected";
    for role in [Role::Server, Role::Client] {
        if let Ok(signed) = csr::sign_csr(bytes, &c.ca, role, NOW) {
            inspect::summarize(&signed.leaf.cert, NOW)
                .map_err(|e| format!("sign_csr made a certificate that does not parse: {e}"))?;
            ensure!(!signed.leaf.sans.is_empty(), "a signed CSR without SANs");
            label = "signed";
        }
    }
    Ok(label)
}

#[test]
fn csrs() {
    let seeds: Vec<_> = corpus()
        .csrs
        .iter()
        .map(|d| (d.clone(), "CERTIFICATE REQUEST"))
        .collect();
    fuzz("csrs", cases(1000), file_bytes(seeds), |bytes| {
        csrs_case(&bytes.0)
    });
}

/// `certlab inspect`: any file (certificates, keys, CRLs, several blocks), then the key
/// matching across files and the lints.
fn inspect_case(scratch: &Scratch, bytes: &[u8]) -> Result<&'static str, String> {
    let path = scratch.write("inspect.pem", bytes);
    let direct = inspect::inspect_bytes("inspect.pem", bytes, NOW);
    let files = inspect::inspect_files(&[path.display().to_string()], NOW);
    ensure!(
        direct.is_ok() == files.is_ok(),
        "inspect_bytes and inspect_files disagree"
    );
    let Ok(inspection) = files else {
        return Ok("rejected");
    };
    serde_json::to_string(&inspection).map_err(|e| e.to_string())?;
    for f in &inspection.files {
        inspect::lint_chain(&f.certificates, NOW, 30, true);
        for cert in &f.certificates {
            cert.short_name();
        }
    }
    Ok("read")
}

#[test]
fn inspect() {
    let scratch = Scratch::new();
    fuzz("inspect", cases(1500), file_bytes(all_seeds()), |bytes| {
        inspect_case(&scratch, &bytes.0)
    });
}

// ----- the spec ----------------------------------------------------------------------------

/// The keys a spec knows (tables, entities, subjects, scenarios), for random lines.
const SPEC_KEYS: &[&str] = &[
    "name",
    "issuer",
    "key",
    "subject",
    "validity",
    "not_before",
    "not_after",
    "path_len",
    "permitted_dns",
    "excluded_dns",
    "permitted_ip",
    "excluded_ip",
    "trusted",
    "role",
    "dns",
    "ip",
    "uri",
    "email",
    "k8s_service",
    "fault",
    "cn",
    "o",
    "ou",
    "c",
    "st",
    "l",
    "server",
    "client",
    "expected",
    "entity",
    "tls",
    "ciphers",
    "alpn",
    "client_auth",
    "client_ca",
    "plaintext",
    "connect",
    "servername",
    "cert",
    "crl",
];

/// TOML values, plausible and hostile.
fn toml_value() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        prop::sample::select(vec![
            "root",
            "intermediate",
            "good",
            "localhost",
            "127.0.0.1",
            "::1",
            "*.test",
            "*",
            "..",
            "../x",
            "ca",
            "certlab.json",
            "a.chain",
            "ecdsa-p256",
            "ed25519",
            "rsa-1024",
            "server",
            "client",
            "both",
            "expired",
            "revoked",
            "path-len",
            "name-constraints",
            "90d",
            "0s",
            "-1d",
            "10y",
            "1000y",
            "9223372036854775807s",
            "99999999999999999999y",
            "2030-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "10.0.0.0/8",
            "::/0",
            "1.2.3.4/33",
            "http://x",
            "a@b",
            "svc.ns",
            "1.2",
            "1.3",
            "required",
            "optional",
            "h2",
            "TLS13_AES_256_GCM_SHA384",
            "",
            " ",
            "\u{0}",
            "é",
            "\u{202e}",
            "💥",
        ])
        .prop_map(str::to_string),
        "[a-z0-9.*:/@_-]{0,40}",
        any::<String>(),
    ];
    prop_oneof![
        4 => text.clone().prop_map(|s| toml_quote(&s)),
        1 => prop::collection::vec(text.clone(), 0..4).prop_map(|v| {
            format!("[{}]", v.iter().map(|s| toml_quote(s)).collect::<Vec<_>>().join(", "))
        }),
        1 => (prop::sample::select(SPEC_KEYS), text).prop_map(|(k, v)| format!("{{ {k} = {} }}", toml_quote(&v))),
        1 => prop::sample::select(vec![
            "0", "-1", "255", "256", "9223372036854775807", "-9223372036854775808", "1e400",
            "nan", "true", "false", "1979-05-27T07:32:00Z", "1979-05-27", "07:32:00", "{}", "[]",
            "[[]]", "\"\"\"multi\nline\"\"\"", "'literal'",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One structure-aware edit of a spec's lines.
#[derive(Debug, Clone)]
enum SpecEdit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Swap the values of two `key = value` lines.
    SwapValues(Index, Index),
    /// Give a `key = value` line another value.
    SetValue(Index, String),
    /// Insert `key = value` (a known key) before a line.
    InsertKey(Index, &'static str, String),
    /// Insert a table header before a line.
    InsertTable(Index, &'static str),
    /// Cut the text at a character.
    Truncate(Index),
    /// Byte-level edits of the text (the result is read as UTF-8, lossily).
    Bytes(Vec<Edit>),
}

fn spec_edit() -> impl Strategy<Value = SpecEdit> {
    prop_oneof![
        2 => any::<Index>().prop_map(SpecEdit::DeleteLine),
        1 => any::<Index>().prop_map(SpecEdit::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| SpecEdit::SwapLines(a, b)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| SpecEdit::SwapValues(a, b)),
        4 => (any::<Index>(), toml_value()).prop_map(|(i, v)| SpecEdit::SetValue(i, v)),
        3 => (any::<Index>(), prop::sample::select(SPEC_KEYS), toml_value())
            .prop_map(|(i, k, v)| SpecEdit::InsertKey(i, k, v)),
        1 => (any::<Index>(), prop::sample::select(vec![
            "[[ca]]", "[[leaf]]", "[[scenario]]", "[ca]", "[leaf]", "[subject]", "[[leaf.subject]]",
        ]))
            .prop_map(|(i, t)| SpecEdit::InsertTable(i, t)),
        1 => any::<Index>().prop_map(SpecEdit::Truncate),
        1 => edits(any::<u8>()).prop_map(SpecEdit::Bytes),
    ]
}

fn apply_spec_edits(text: &str, edits: &[SpecEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let is_kv = |l: &String| !l.trim_start().starts_with('#') && l.contains(" = ");
    for e in edits {
        let n = lines.len();
        let kv: Vec<usize> = (0..n).filter(|&i| is_kv(&lines[i])).collect();
        match e {
            SpecEdit::DeleteLine(i) if n > 0 => {
                lines.remove(i.index(n));
            }
            SpecEdit::DuplicateLine(i) if n > 0 => {
                let p = i.index(n);
                lines.insert(p, lines[p].clone());
            }
            SpecEdit::SwapLines(a, b) if n > 0 => lines.swap(a.index(n), b.index(n)),
            SpecEdit::SwapValues(a, b) if !kv.is_empty() => {
                let (a, b) = (kv[a.index(kv.len())], kv[b.index(kv.len())]);
                let (ka, va) = lines[a]
                    .split_once(" = ")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .unwrap();
                let (kb, vb) = lines[b]
                    .split_once(" = ")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .unwrap();
                lines[a] = format!("{ka} = {vb}");
                lines[b] = format!("{kb} = {va}");
            }
            SpecEdit::SetValue(i, v) if !kv.is_empty() => {
                let p = kv[i.index(kv.len())];
                let key = lines[p].split_once(" = ").unwrap().0.to_string();
                lines[p] = format!("{key} = {v}");
            }
            SpecEdit::InsertKey(i, k, v) => {
                let p = if n == 0 { 0 } else { i.index(n + 1) };
                lines.insert(p, format!("{k} = {v}"));
            }
            SpecEdit::InsertTable(i, t) => {
                let p = if n == 0 { 0 } else { i.index(n + 1) };
                lines.insert(p, t.to_string());
            }
            SpecEdit::Truncate(i) => {
                let joined = lines.join("\n");
                let chars = joined.chars().count();
                let cut: String = joined.chars().take(i.index(chars + 1)).collect();
                lines = cut.lines().map(str::to_string).collect();
            }
            SpecEdit::Bytes(edits) => {
                let mut bytes = lines.join("\n").into_bytes();
                apply(&mut bytes, edits);
                lines = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

/// Parses a spec; a spec that parses and is small (no RSA keys, a few entities) is also built
/// into a PKI (what `generate` does with it). Errors must point into the text.
fn spec_case(text: &str) -> Result<&'static str, String> {
    match spec::parse("fuzz.toml", text) {
        Err(e) => {
            let lines: Vec<&str> = text.split('\n').collect();
            ensure!(
                e.line >= 1 && e.line <= lines.len() && e.column >= 1,
                "error position {}:{} outside the text ({} lines): {e}",
                e.line,
                e.column,
                lines.len()
            );
            let width = lines[e.line - 1].chars().count();
            ensure!(
                e.column <= width + 1,
                "error column {} past the end of line {} ({width} characters): {e}",
                e.column,
                e.line
            );
            ensure!(!e.message.is_empty(), "an error without a message");
            Ok("rejected")
        }
        Ok(parsed) => {
            let keys = parsed
                .cas
                .iter()
                .map(|c| c.key)
                .chain(parsed.leaves.iter().map(|l| l.key));
            let small = parsed.cas.len() + parsed.leaves.len() <= 6;
            if !small || keys.into_iter().any(KeyAlg::is_rsa) {
                return Ok("parsed");
            }
            let Ok(pki) = store::build(&parsed, NOW) else {
                return Ok("parsed, build refused");
            };
            ensure!(
                pki.entities.len() >= parsed.cas.len() + parsed.leaves.len(),
                "built {} entities of {} in the spec",
                pki.entities.len(),
                parsed.cas.len() + parsed.leaves.len()
            );
            pki.all_scenarios();
            Ok("parsed, built")
        }
    }
}

#[test]
fn spec_text() {
    let line = prop_oneof![
        prop::sample::select(vec![
            "[[ca]]",
            "[[leaf]]",
            "[[scenario]]",
            "[ca]",
            "",
            "#",
            "["
        ])
        .prop_map(str::to_string),
        (prop::sample::select(SPEC_KEYS), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        "[^\n]{0,40}",
    ];
    let text = prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        3 => prop::collection::vec(line, 0..24).prop_map(|l| l.join("\n")),
    ];
    fuzz("spec-text", cases(3000), text, |text| spec_case(&text));
}

#[test]
fn spec_templates() {
    let templates: Vec<&'static str> = spec::TEMPLATES.iter().map(|t| t.text).collect();
    let strategy = (
        prop::sample::select(templates),
        prop::collection::vec(spec_edit(), 1..6),
    )
        .prop_map(|(text, edits)| apply_spec_edits(text, &edits));
    fuzz("spec-templates", cases(1500), strategy, |text| {
        spec_case(&text)
    });
}

// ----- explain ------------------------------------------------------------------------------

fn explain_case(message: &str) -> Result<&'static str, String> {
    explain::normalise(message);
    match explain::explain(message) {
        Explained::Known(p) => {
            ensure!(
                explain::find(message).is_some_and(|m| std::ptr::eq(m.pattern, p)),
                "explain and find disagree"
            );
            Ok("known")
        }
        Explained::Unknown(candidates) => {
            ensure!(candidates.len() <= 5, "more than 5 candidates");
            ensure!(
                candidates.iter().all(|c| c.score > 0.0 && c.score <= 1.0),
                "a candidate score outside (0, 1]"
            );
            Ok("unknown")
        }
    }
}

/// Pieces of real messages, so that random text often matches (or nearly matches) a pattern.
fn message_piece() -> impl Strategy<Value = String> {
    let patterns: Vec<&'static str> = explain::PATTERNS.iter().map(|p| p.pattern).collect();
    prop_oneof![
        3 => prop::sample::select(patterns).prop_map(str::to_string),
        2 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => prop::sample::select(vec![
            "*", "**", " ", "\n", "\r\n", "\u{0}", "\u{feff}", "İ", "ß", "ǅ", "\u{301}",
            "\u{202e}", "💥", "ﬃ", "Σ", "x509:", "curl: (60)", "ssl",
        ])
        .prop_map(str::to_string),
    ]
}

#[test]
fn explain_input() {
    let message = prop::collection::vec(message_piece(), 0..8).prop_map(|p| p.concat());
    fuzz("explain", cases(1000), message, |m| explain_case(&m));
}

/// Huge messages (a log pasted whole, up to 1 MB): no panic, and an answer in bounded time.
#[test]
fn explain_huge() {
    let message =
        (message_piece(), 1..100_000usize, message_piece()).prop_map(|(piece, n, tail)| {
            format!(
                "{}{tail}",
                piece.repeat(n.min(1_000_000 / (piece.len() + 1)))
            )
        });
    fuzz("explain-huge", slow_cases(4, 1000), message, |m| {
        let start = Instant::now();
        explain_case(&m)?;
        let took = start.elapsed();
        ensure!(
            took < Duration::from_secs(20),
            "explain took {took:?} for {} bytes",
            m.len()
        );
        Ok(if m.len() > 100_000 {
            "over 100 KB"
        } else {
            "under 100 KB"
        })
    });
}

// ----- the probe's handling of a server's first bytes ---------------------------------------

/// A record: content type, version (major, minor), the length it claims (`None`: the
/// payload's), the payload.
type Record = (u8, u8, u8, Option<u16>, Vec<u8>);

/// What the tiny test server answers to the ClientHello.
#[derive(Debug, Clone)]
enum Reply {
    /// Random bytes.
    Random(Vec<u8>),
    /// Records that look like TLS: a valid header (type, version, length that may lie), then
    /// garbage.
    Records(Vec<Record>),
    /// Plain text (an HTTP server, an SMTP banner).
    Text(String),
    /// A real rustls server's first flight (config 0: TLS 1.3, 1: TLS 1.2), cut, edited, then
    /// garbage.
    Flight {
        config: usize,
        cut: Option<Index>,
        edits: Vec<Edit>,
        garbage: Vec<u8>,
    },
}

/// What the server does after writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// Close (the ClientHello was read: FIN).
    Close,
    /// Close without reading the ClientHello (the kernel answers with a reset).
    CloseUnread,
    /// Keep the connection open until the client gives up.
    Hold,
}

fn reply() -> impl Strategy<Value = Reply> {
    let record = (
        prop_oneof![3 => 20u8..=24, 1 => any::<u8>()],
        prop_oneof![4 => Just(3u8), 1 => any::<u8>()],
        prop_oneof![3 => 0u8..=4, 1 => any::<u8>()],
        prop_oneof![3 => Just(None), 1 => any::<u16>().prop_map(Some)],
        prop::collection::vec(any::<u8>(), 0..300),
    );
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Reply::Random),
        3 => prop::collection::vec(record, 1..4).prop_map(Reply::Records),
        1 => prop_oneof![
            Just("HTTP/1.1 400 Bad Request\r\n\r\n".to_string()),
            Just("220 smtp.example ESMTP\r\n".to_string()),
            Just("SSH-2.0-OpenSSH_9.6\r\n".to_string()),
            "[ -~]{0,80}",
        ]
        .prop_map(Reply::Text),
        4 => (
            0..2usize,
            prop_oneof![1 => Just(None), 2 => any::<Index>().prop_map(Some)],
            prop::collection::vec(edit(interesting_byte()), 0..4),
            prop::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(config, cut, edits, garbage)| Reply::Flight {
                config,
                cut,
                edits,
                garbage,
            }),
    ]
}

/// Reads the ClientHello (what one read gets, bounded in time).
fn read_hello(sock: &mut TcpStream) -> Vec<u8> {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
    let mut hello = Vec::new();
    let mut buf = [0u8; 4096];
    // A ClientHello is one record: read until its length is complete (or anything fails).
    while let Ok(n) = sock.read(&mut buf) {
        if n == 0 {
            break;
        }
        hello.extend_from_slice(&buf[..n]);
        if hello.len() >= 5 && hello.len() >= 5 + u16::from_be_bytes([hello[3], hello[4]]) as usize
        {
            break;
        }
    }
    hello
}

/// The bytes the server writes, given the ClientHello.
fn server_bytes(reply: &Reply, hello: &[u8]) -> Vec<u8> {
    match reply {
        Reply::Random(b) => b.clone(),
        Reply::Text(t) => t.as_bytes().to_vec(),
        Reply::Records(records) => {
            let mut out = Vec::new();
            for (typ, major, minor, len, payload) in records {
                let len = len.unwrap_or(payload.len() as u16);
                out.extend([*typ, *major, *minor]);
                out.extend(len.to_be_bytes());
                out.extend(payload);
            }
            out
        }
        Reply::Flight {
            config,
            cut,
            edits,
            garbage,
        } => {
            let config = corpus().server_configs[*config].clone();
            let mut conn = rustls::ServerConnection::new(config).expect("server connection");
            let mut input = hello;
            let mut out = Vec::new();
            while !input.is_empty() {
                if conn.read_tls(&mut input).is_err() {
                    break;
                }
                if conn.process_new_packets().is_err() {
                    break;
                }
            }
            while conn.wants_write() {
                if conn.write_tls(&mut out).is_err() {
                    break;
                }
            }
            if let Some(cut) = cut {
                out.truncate(cut.index(out.len() + 1));
            }
            apply(&mut out, edits);
            out.extend(garbage);
            out
        }
    }
}

/// A loopback server for one connection: reads the ClientHello (unless told not to), writes
/// its reply, then closes or holds the connection until the client goes (2 s at most).
fn one_shot_server(reply: Reply, then: Then) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = sock.set_write_timeout(Some(Duration::from_secs(2)));
        let bytes = if then == Then::CloseUnread {
            // Wait until the ClientHello is there, unread, so that closing resets.
            std::thread::sleep(Duration::from_millis(2));
            server_bytes(&reply, &[])
        } else {
            let hello = read_hello(&mut sock);
            server_bytes(&reply, &hello)
        };
        let _ = sock.write_all(&bytes);
        if then == Then::Hold {
            let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
            let mut sink = [0u8; 4096];
            while matches!(sock.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    (addr, handle)
}

/// Probes the one-shot server: no panic, a report within its budget, and an outcome a client
/// could see from such a server (never `ok` from garbage, never `refused`: it accepted).
fn probe_case(reply: Reply, then: Then) -> Result<&'static str, String> {
    let c = corpus();
    // A mutated real flight may keep what matters intact (a record header's version, say):
    // only garbage must never be `ok`.
    let is_flight = matches!(reply, Reply::Flight { .. });
    let (addr, server) = one_shot_server(reply, then);
    // A held connection costs the whole budget: keep it short there, generous elsewhere.
    let timeout = if then == Then::Hold {
        Duration::from_millis(60)
    } else {
        Duration::from_secs(3)
    };
    let options = ProbeOptions {
        trust: Some(c.probe_trust.clone()),
        now: Some(NOW),
        address: Some(addr),
        timeout,
        post_handshake_wait: Duration::from_millis(20),
        http_request: false,
        ..ProbeOptions::default()
    };
    let start = Instant::now();
    let report = probe(&format!("localhost:{}", addr.port()), &options)
        .map_err(|e| format!("probe refused its own valid input: {e}"))?;
    let took = start.elapsed();
    server
        .join()
        .map_err(|_| "the test server panicked".to_string())?;
    ensure!(
        took < timeout + Duration::from_secs(3),
        "the probe took {took:?} with a {timeout:?} budget"
    );
    ensure!(
        report.outcome != Outcome::Refused,
        "refused, but the server accepted the connection: {report:?}"
    );
    ensure!(
        is_flight || report.outcome != Outcome::Ok,
        "ok from a server that sent garbage: {report:?}"
    );
    serde_json::to_string(&report).map_err(|e| e.to_string())?;
    Ok(report.outcome.name())
}

#[test]
fn probe_first_bytes() {
    let then = prop_oneof![
        6 => Just(Then::Close),
        2 => Just(Then::CloseUnread),
        1 => Just(Then::Hold),
    ];
    let n = env_cases("CERTLAB_FUZZ_PROBE_CASES").unwrap_or(cases(1000));
    fuzz("probe-first-bytes", n, (reply(), then), |(reply, then)| {
        probe_case(reply, then)
    });
}

/// `probe HOST:PORT` and `check --host`: the target and the name, as typed.
#[test]
fn probe_target_text() {
    let target = prop_oneof![
        any::<String>(),
        (
            prop_oneof![
                "[a-z0-9.-]{0,20}".boxed(),
                "\\[[0-9a-f:.%a-z]{0,40}\\]?".boxed(),
                any::<String>().boxed(),
            ],
            prop::sample::select(vec![":", "]:", "::", "", ":::"]),
            prop_oneof![
                "[0-9]{0,7}".boxed(),
                "-?[0-9]{1,3}".boxed(),
                any::<String>().boxed()
            ],
        )
            .prop_map(|(h, sep, p)| format!("{h}{sep}{p}")),
    ];
    fuzz("probe-target", cases(3000), target, |t| {
        let _ = check::server_name(&t);
        match certlab::verify::probe::parse_target(&t) {
            Ok((host, _)) => {
                ensure!(
                    !t.is_empty() && t.contains(&host),
                    "{t:?} parsed to host {host:?}"
                );
                Ok("parsed")
            }
            Err(_) => Ok("rejected"),
        }
    });
}

// ----- a PKI directory (`--pki DIR`) ------------------------------------------------------

/// A directory and its files' names and original bytes.
type PkiFiles = (tempfile::TempDir, Vec<(String, Vec<u8>)>);

/// A dev PKI written to disk once: its files and their original bytes.
fn pki_files() -> &'static PkiFiles {
    static DIR: OnceLock<PkiFiles> = OnceLock::new();
    DIR.get_or_init(|| {
        let template = spec::template("dev").expect("dev template");
        let pki = store::build(&spec::parse("<dev>", template.text).unwrap(), NOW).unwrap();
        let dir = crate::common::tempdir();
        store::write(&pki, dir.path()).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        (dir, files)
    })
}

/// `check --pki DIR`, `serve`/`probe --pki`: one file of a written PKI replaced by a mutation
/// (the manifest most often: JSON edits and random values), then load, check and serve
/// settings.
#[test]
fn pki_dir() {
    let (dir, files) = pki_files();
    let manifest = files
        .iter()
        .position(|(n, _)| n == "certlab.json")
        .expect("a manifest");
    let json_token = prop::sample::select(vec![
        "null",
        "0",
        "-1",
        "1e999",
        "\"\"",
        "\"../x\"",
        "\"/etc/hostname\"",
        "[]",
        "{}",
        "true",
        "\"2030-01-01T00:00:00Z\"",
        "\"0000-01-01T00:00:00Z\"",
        "\"server\"",
        "\"ca\"",
        "18446744073709551616",
        "\"ecdsa-p256\"",
        "\"rsa-2048\"",
        "\"expired\"",
    ]);
    let strategy = (
        prop_oneof![3 => Just(manifest), 1 => 0..files.len()],
        prop_oneof![Just(vec![]), edits(any::<u8>())],
        prop::collection::vec((any::<Index>(), json_token), 0..3),
    )
        .prop_map(|(file, edits, tokens)| (file, edits, tokens));
    fuzz(
        "pki-dir",
        slow_cases(300, 4),
        strategy,
        |(file, edits, tokens)| {
            let (name, original) = &files[file];
            let mut bytes = original.clone();
            // JSON-aware: replace the value after a `:` with a token.
            for (i, token) in &tokens {
                let colons: Vec<usize> = (0..bytes.len()).filter(|&j| bytes[j] == b':').collect();
                if colons.is_empty() {
                    continue;
                }
                let at = colons[i.index(colons.len())] + 1;
                let end = (at..bytes.len())
                    .find(|&j| matches!(bytes[j], b',' | b'}' | b'\n'))
                    .unwrap_or(bytes.len());
                bytes.splice(at..end, format!(" {token}").into_bytes());
            }
            apply(&mut bytes, &edits);
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let result = (|| -> Result<&'static str, String> {
                let Ok((trust, pki)) = check::trust_from_pki(dir.path()) else {
                    return Ok("rejected");
                };
                let report = check::check_pki(&pki, &trust, NOW, 30);
                serde_json::to_string(&report).map_err(|e| e.to_string())?;
                for scenario in pki.all_scenarios() {
                    let _ = ServeSettings::from_scenario(&pki, &scenario)
                        .map(|settings| serve::server_config(&settings));
                }
                Ok(if report.passed() {
                    "loaded, passes"
                } else {
                    "loaded, fails check"
                })
            })();
            std::fs::write(&path, original).unwrap();
            result
        },
    );
}

// ----- a PEM bundle (`trust install/uninstall --bundle FILE`) ------------------------------

/// `certlab trust install --bundle FILE` then `uninstall --bundle FILE` on a user's bundle
/// (real certificates and comments, stray BEGIN/END lines, mutated as text): no panic; a
/// bundle is either refused as bad input and left unchanged (never a clean one), or the CA is
/// installed, found by `status`, and uninstalling gives the bundle back as it was (plus the
/// newline `install` adds before its block).
#[test]
fn trust_bundle() {
    use certlab::trust::{Target, TrustOptions, TrustedCa, install, status, uninstall};
    let c = corpus();
    let scratch = Scratch::new();
    let ca = TrustedCa::new(c.trust.roots[0].clone()).unwrap();
    let ca_file = scratch.write("ca.pem", &certlab::pem::pem_certs([&ca.cert]).into_bytes());
    let opts = TrustOptions {
        root: scratch.dir.path().to_path_buf(),
        dry_run: false,
    };
    // Blocks, and whether they keep a bundle clean (valid PEM).
    let block = prop_oneof![
        3 => prop::sample::select(c.certs.clone())
            .prop_map(|d| (pem_text("CERTIFICATE", &d), true)),
        1 => Just((ca.pem().into_bytes(), true)),
        1 => Just((format!("# {}: someone else's comment\n", ca.label()).into_bytes(), true)),
        1 => "[ -~&&[^-]]{0,60}\n".prop_map(|l| (l.into_bytes(), true)),
        1 => Just((b"-----BEGIN CERTIFICATE-----\n".to_vec(), false)),
        1 => Just((b"-----END CERTIFICATE-----\r\n".to_vec(), false)),
    ];
    let text_byte = prop_oneof![1 => any::<u8>(), 4 => 0x20u8..0x7f, 1 => Just(b'\n')];
    let bundle = (
        prop::collection::vec(block, 0..5),
        prop_oneof![Just(vec![]), edits(text_byte)],
    )
        .prop_map(|(blocks, edits)| {
            let clean = edits.is_empty() && blocks.iter().all(|(_, clean)| *clean);
            let mut bytes: Vec<u8> = blocks.into_iter().flat_map(|(b, _)| b).collect();
            apply(&mut bytes, &edits);
            (Bytes(bytes), clean)
        });
    fuzz("trust-bundle", cases(1000), bundle, |(bundle, clean)| {
        let path = scratch.write("bundle.pem", &bundle.0);
        let targets = [Target::Bundle(path.clone())];
        let cas = std::slice::from_ref(&ca);
        let _ = status(cas, &targets, &opts);
        let before = std::fs::read(&path).unwrap();
        let Ok(text) = String::from_utf8(before.clone()) else {
            ensure!(
                install(cas, &ca_file, &targets, &opts).is_err(),
                "install into a bundle that is not UTF-8"
            );
            return Ok("not UTF-8, refused");
        };
        let steps = match install(cas, &ca_file, &targets, &opts) {
            Ok(steps) => steps,
            Err(e) => {
                ensure!(!clean, "a clean bundle refused: {e}");
                ensure!(
                    matches!(e, certlab::trust::TrustError::Invalid(_)),
                    "refused, but not as bad input: {e}"
                );
                ensure!(
                    std::fs::read(&path).unwrap() == before,
                    "a refused bundle was changed"
                );
                return Ok("refused as not valid PEM");
            }
        };
        if steps.iter().any(|s| s.done.starts_with("already in")) {
            return Ok("already in");
        }
        ensure!(
            status(cas, &targets, &opts).iter().all(|s| s.installed),
            "installed, but status says it is not"
        );
        uninstall(cas, &ca_file, &targets, &opts).map_err(|e| e.to_string())?;
        let after = std::fs::read_to_string(&path).unwrap();
        let mut expected = text.clone();
        if !expected.is_empty() && !expected.ends_with('\n') {
            expected.push('\n');
        }
        ensure!(
            after == expected,
            "install + uninstall changed the bundle:\n{text:?}\nbecame\n{after:?}"
        );
        Ok("installed and removed")
    });
}

// ----- regressions: the minimised inputs of panics found by the targets above ---------------

/// Found by `trust_bundle`: a bundle with an unterminated `BEGIN CERTIFICATE` line. `install`
/// appended the CA and said so, but the bundle stays unreadable as PEM: `status` said "not
/// installed" and every further `install` appended another copy. A bundle certlab cannot read
/// is bad input: refused, and left unchanged.
#[test]
fn trust_install_refuses_a_bundle_that_is_not_valid_pem() {
    use certlab::trust::{Target, TrustOptions, TrustedCa, install};
    let c = corpus();
    let scratch = Scratch::new();
    let ca = TrustedCa::new(c.trust.roots[0].clone()).unwrap();
    let ca_file = scratch.write("ca.pem", &certlab::pem::pem_certs([&ca.cert]).into_bytes());
    let opts = TrustOptions {
        root: scratch.dir.path().to_path_buf(),
        dry_run: false,
    };
    for broken in [
        &b"-----BEGIN CERTIFICATE-----\n"[..],
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n",
        b"caf\xe9\n",
    ] {
        let path = scratch.write("bundle.pem", broken);
        let targets = [Target::Bundle(path.clone())];
        let err = install(std::slice::from_ref(&ca), &ca_file, &targets, &opts)
            .expect_err("a broken bundle is refused");
        assert!(matches!(err, certlab::trust::TrustError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("bundle.pem"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), broken, "the bundle is left as it was");
    }
}
