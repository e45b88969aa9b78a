//! `certlab render cert-manager` (issue 11): the YAML is parsed and every field checked
//! against the spec it was generated from and against cert-manager's v1 API rules.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_yaml_ng::Value;

const SPEC: &str = r#"
[[ca]]
name = "root"
subject = { cn = "cm root", o = "certlab" }

[[ca]]
name = "intermediate"
issuer = "root"
subject = { cn = "cm intermediate", o = "certlab" }
path_len = 0

[[leaf]]
name = "web"
issuer = "intermediate"
role = "server"
dns = ["localhost", "web.test"]
ip = ["127.0.0.1", "::1"]
validity = "90d"

[[leaf]]
name = "Client_One"
issuer = "intermediate"
role = "client"
key = "rsa-3072"
subject = { cn = "client one", o = "acme", ou = "dev", c = "FR" }
email = ["one@example.test"]
uri = ["spiffe://example.test/one"]
validity = "30d"

[[leaf]]
name = "both"
issuer = "root"
role = "server-client"
key = "ed25519"
dns = ["both.test"]
validity = "2h"

[[leaf]]
name = "rsa"
issuer = "intermediate"
role = "server"
key = "rsa-2048"
dns = ["rsa.test"]
validity = "10d"

[[leaf]]
name = "p384"
issuer = "intermediate"
role = "server"
key = "ecdsa-p384"
ip = ["10.0.0.7"]
validity = "1d"

[[leaf]]
name = "old"
issuer = "intermediate"
role = "server"
dns = ["old.test"]
fault = "expired"
"#;

/// What the spec says of each good leaf (written out again here, not read from certlab).
struct Want {
    name: &'static str,
    k8s: &'static str,
    issuer: &'static str,
    cn: &'static str,
    dns: &'static [&'static str],
    ip: &'static [&'static str],
    uris: &'static [&'static str],
    emails: &'static [&'static str],
    usages: &'static [&'static str],
    validity_secs: u64,
    algorithm: &'static str,
    size: Option<u64>,
}

const WANT: &[Want] = &[
    Want {
        name: "web",
        k8s: "web",
        issuer: "intermediate",
        cn: "localhost",
        dns: &["localhost", "web.test"],
        ip: &["127.0.0.1", "::1"],
        uris: &[],
        emails: &[],
        usages: &["digital signature", "server auth"],
        validity_secs: 90 * 86_400,
        algorithm: "ECDSA",
        size: Some(256),
    },
    Want {
        name: "Client_One",
        k8s: "client-one",
        issuer: "intermediate",
        cn: "client one",
        dns: &[],
        ip: &[],
        uris: &["spiffe://example.test/one"],
        emails: &["one@example.test"],
        usages: &["digital signature", "client auth"],
        validity_secs: 30 * 86_400,
        algorithm: "RSA",
        size: Some(3072),
    },
    Want {
        name: "both",
        k8s: "both",
        issuer: "root",
        cn: "both.test",
        dns: &["both.test"],
        ip: &[],
        uris: &[],
        emails: &[],
        usages: &["digital signature", "server auth", "client auth"],
        validity_secs: 2 * 3600,
        algorithm: "Ed25519",
        size: None,
    },
    Want {
        name: "rsa",
        k8s: "rsa",
        issuer: "intermediate",
        cn: "rsa.test",
        dns: &["rsa.test"],
        ip: &[],
        uris: &[],
        emails: &[],
        usages: &["digital signature", "key encipherment", "server auth"],
        validity_secs: 10 * 86_400,
        algorithm: "RSA",
        size: Some(2048),
    },
    Want {
        name: "p384",
        k8s: "p384",
        issuer: "intermediate",
        cn: "10.0.0.7",
        dns: &[],
        ip: &["10.0.0.7"],
        uris: &[],
        emails: &[],
        usages: &["digital signature", "server auth"],
        validity_secs: 86_400,
        algorithm: "ECDSA",
        size: Some(384),
    },
];

/// cert-manager v1 `KeyUsage` values (pkg/apis/certmanager/v1/types.go).
const CM_USAGES: &[&str] = &[
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
];

/// cert-manager v1 `CertificateSpec` field names.
const CM_CERT_FIELDS: &[&str] = &[
    "additionalOutputFormats",
    "commonName",
    "dnsNames",
    "duration",
    "emailAddresses",
    "encodeUsagesInRequest",
    "ipAddresses",
    "isCA",
    "issuerRef",
    "keystores",
    "literalSubject",
    "nameConstraints",
    "otherNames",
    "privateKey",
    "renewBefore",
    "renewBeforePercentage",
    "revisionHistoryLimit",
    "secretName",
    "secretTemplate",
    "signatureAlgorithm",
    "subject",
    "uris",
    "usages",
];

fn generate() -> tempfile::TempDir {
    let dir = common::tempdir();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let pki = dir.path().join("pki");
    common::certlab()
        .args([
            "generate",
            "--spec",
            &common::s(&spec),
            "-o",
            &common::s(&pki),
        ])
        .assert()
        .success();
    dir
}

fn render(pki: &Path, extra: &[&str]) -> String {
    let out = common::certlab()
        .args(["render", "cert-manager", "--pki", &common::s(pki)])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {v:?}"))
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        v.get(k)
            .unwrap_or_else(|| panic!("no {k} (of {path}) in {v:?}"))
    })
}

/// The entity an object was rendered from (its `certlab.dev/entity` annotation).
fn entity(v: &Value) -> &str {
    get(v, "metadata.annotations")
        .get("certlab.dev/entity")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no certlab.dev/entity in {v:?}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|seq| {
            seq.iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn b64(v: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v).unwrap()).unwrap()
}

/// Go's time.ParseDuration for what certlab writes (h, m, s).
fn go_duration(text: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().unwrap();
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => panic!("not a Go duration: {text}"),
        }
    }
    assert!(number.is_empty(), "not a Go duration: {text}");
    total
}

fn manifest_lifetimes(pki: &Path) -> BTreeMap<String, u64> {
    common::read_manifest(pki)
        .entities
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                (e.not_after - e.not_before).whole_seconds() as u64,
            )
        })
        .collect()
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| s(d, "kind") == kind).collect()
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[test]
fn every_field_follows_the_spec_and_cert_manager_v1() {
    let dir = generate();
    let pki = dir.path().join("pki");
    let text = render(&pki, &["--namespace", "dev"]);
    let docs = documents(&text);
    let lifetimes = manifest_lifetimes(&pki);

    // The faulted leaf is not rendered, and the output says so.
    assert!(
        text.contains("# not rendered: old (fault `expired`"),
        "{text}"
    );
    assert!(!text.contains("old.test"));

    // One CA Secret + Issuer per issuing CA.
    let secrets = by_kind(&docs, "Secret");
    let issuers = by_kind(&docs, "Issuer");
    assert_eq!(secrets.len(), 2);
    assert_eq!(issuers.len(), 2);
    assert!(by_kind(&docs, "ClusterIssuer").is_empty());
    let mut issuer_of_ca = BTreeMap::new();
    for ca in ["intermediate", "root"] {
        let secret = secrets
            .iter()
            .find(|d| entity(d) == ca)
            .unwrap_or_else(|| panic!("no Secret for {ca}"));
        assert_eq!(s(secret, "apiVersion"), "v1");
        assert_eq!(s(secret, "type"), "kubernetes.io/tls");
        assert_eq!(s(secret, "metadata.namespace"), "dev");
        let data = get(secret, "data");
        // tls.crt: the CA, then its issuers up to the root; tls.key: the CA's key file.
        let mut chain = std::fs::read_to_string(pki.join(format!("{ca}.pem"))).unwrap();
        if ca == "intermediate" {
            chain.push_str(&std::fs::read_to_string(pki.join("root.pem")).unwrap());
        }
        assert_eq!(
            b64(data.get("tls.crt").unwrap().as_str().unwrap()),
            chain,
            "{ca}"
        );
        assert_eq!(
            b64(data.get("tls.key").unwrap().as_str().unwrap()),
            std::fs::read_to_string(pki.join(format!("{ca}.key"))).unwrap()
        );
        assert_eq!(data.as_mapping().unwrap().len(), 2);
        let secret_name = s(secret, "metadata.name");
        assert!(is_dns_subdomain(secret_name), "{secret_name}");
        let issuer = issuers
            .iter()
            .find(|d| s(d, "spec.ca.secretName") == secret_name)
            .unwrap_or_else(|| panic!("no Issuer for {secret_name}"));
        assert_eq!(s(issuer, "apiVersion"), "cert-manager.io/v1");
        assert_eq!(s(issuer, "metadata.namespace"), "dev");
        assert_eq!(
            get(issuer, "spec").as_mapping().unwrap().len(),
            1,
            "type ca only"
        );
        issuer_of_ca.insert(ca, s(issuer, "metadata.name").to_string());
    }

    let certificates = by_kind(&docs, "Certificate");
    assert_eq!(certificates.len(), WANT.len());
    for want in WANT {
        let c = certificates
            .iter()
            .find(|d| entity(d) == want.name)
            .unwrap_or_else(|| panic!("no Certificate for {}", want.name));
        let spec = get(c, "spec");
        let ctx = want.name;
        assert_eq!(s(c, "apiVersion"), "cert-manager.io/v1");
        assert_eq!(s(c, "metadata.name"), want.k8s);
        assert_eq!(s(c, "metadata.namespace"), "dev");
        for key in spec.as_mapping().unwrap().keys() {
            let key = key.as_str().unwrap();
            assert!(CM_CERT_FIELDS.contains(&key), "{ctx}: unknown field {key}");
        }
        let secret_name = s(spec, "secretName");
        assert_eq!(secret_name, format!("{}-tls", want.k8s));
        assert!(is_dns_subdomain(secret_name));
        assert_eq!(s(spec, "commonName"), want.cn, "{ctx}");
        assert!(want.cn.len() <= 64);
        assert_eq!(strings(spec.get("dnsNames")), want.dns, "{ctx}");
        assert_eq!(strings(spec.get("ipAddresses")), want.ip, "{ctx}");
        assert_eq!(strings(spec.get("uris")), want.uris, "{ctx}");
        assert_eq!(strings(spec.get("emailAddresses")), want.emails, "{ctx}");
        let usages = strings(spec.get("usages"));
        assert_eq!(usages, want.usages, "{ctx}");
        assert!(usages.iter().all(|u| CM_USAGES.contains(&u.as_str())));
        // duration: the certificate's lifetime (validity, plus at most certlab's back-dating
        // hour); cert-manager's rules: >= 1h, 5m <= renewBefore < duration.
        let duration = go_duration(s(spec, "duration"));
        assert_eq!(duration, lifetimes[want.name], "{ctx}");
        assert!(
            (want.validity_secs..=want.validity_secs + 3600).contains(&duration),
            "{ctx}: {duration}"
        );
        assert!(duration >= 3600);
        let renew = go_duration(s(spec, "renewBefore"));
        assert_eq!(renew, (duration / 3).max(300), "{ctx}");
        assert!(renew >= 300 && renew < duration);
        assert_eq!(s(spec, "privateKey.algorithm"), want.algorithm, "{ctx}");
        assert_eq!(s(spec, "privateKey.encoding"), "PKCS8");
        assert_eq!(
            spec.get("privateKey")
                .unwrap()
                .get("size")
                .and_then(Value::as_u64),
            want.size,
            "{ctx}"
        );
        assert_eq!(
            s(spec, "issuerRef.name"),
            issuer_of_ca[want.issuer],
            "{ctx}"
        );
        assert_eq!(s(spec, "issuerRef.kind"), "Issuer");
        assert_eq!(s(spec, "issuerRef.group"), "cert-manager.io");
    }
    let client = certificates
        .iter()
        .find(|d| s(d, "metadata.name") == "client-one")
        .unwrap();
    assert_eq!(
        strings(get(client, "spec.subject").get("organizations")),
        ["acme"]
    );
    assert_eq!(
        strings(get(client, "spec.subject").get("organizationalUnits")),
        ["dev"]
    );
    assert_eq!(
        strings(get(client, "spec.subject").get("countries")),
        ["FR"]
    );
}

#[test]
fn a_cluster_issuer_reads_its_secret_from_the_cert_manager_namespace() {
    let dir = generate();
    let pki = dir.path().join("pki");
    let out = dir.path().join("cm.yaml");
    common::certlab()
        .args([
            "render",
            "cert-manager",
            "--pki",
            &common::s(&pki),
            "--cluster-issuer",
        ])
        .args(["-o", &common::s(&out)])
        .assert()
        .success();
    assert_eq!(common::mode(&out), 0o600, "it holds CA keys");
    let docs = documents(&std::fs::read_to_string(&out).unwrap());
    assert!(by_kind(&docs, "Issuer").is_empty());
    let issuers = by_kind(&docs, "ClusterIssuer");
    assert_eq!(issuers.len(), 2);
    for issuer in &issuers {
        assert!(get(issuer, "metadata").get("namespace").is_none());
        let secret_name = s(issuer, "spec.ca.secretName");
        let secret = by_kind(&docs, "Secret")
            .into_iter()
            .find(|d| s(d, "metadata.name") == secret_name)
            .unwrap();
        assert_eq!(s(secret, "metadata.namespace"), "cert-manager");
    }
    for c in by_kind(&docs, "Certificate") {
        assert_eq!(s(c, "spec.issuerRef.kind"), "ClusterIssuer");
        assert!(get(c, "metadata").get("namespace").is_none());
    }
}

#[test]
fn bad_options_are_refused_with_one_line() {
    let dir = generate();
    let pki = common::s(&dir.path().join("pki"));
    for (args, message) in [
        (
            vec![
                "render",
                "cert-manager",
                "--pki",
                &pki,
                "--namespace",
                "Not_OK",
            ],
            "invalid namespace `Not_OK`",
        ),
        (
            vec!["render", "k8s-secret", "--pki", &pki, "--namespace", "dev"],
            "apply to `render cert-manager` only",
        ),
    ] {
        let out = common::certlab().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}
