//! `render cert-manager`: the same spec in a cluster. cert-manager (`cert-manager.io/v1`)
//! objects that issue in Kubernetes what the PKI issued locally:
//!
//! - per issuing CA, a `kubernetes.io/tls` Secret holding the CA (`tls.crt`: the CA then its
//!   issuers up to the root; `tls.key`: its key) and an `Issuer` (or `ClusterIssuer`) of type
//!   `ca` whose `spec.ca.secretName` names it;
//! - per good leaf, a `Certificate` with its names (`commonName`, `dnsNames`, `ipAddresses`,
//!   `uris`, `emailAddresses`), subject, `usages` (its key usages and extended key usages in
//!   cert-manager's names), `duration`, `renewBefore`, `privateKey` (algorithm, size, PKCS#8
//!   encoding like certlab's key files), `secretName` and `issuerRef`.
//!
//! Values are read from the certificates as issued, so a cluster certificate has what the
//! local one has. `duration` is the local certificate's lifetime (notAfter − notBefore,
//! certlab's back-dating included); cert-manager refuses less than one hour, so a shorter
//! lifetime is rendered as `1h` with a comment. `renewBefore` is a third of the duration (what
//! cert-manager does when it is not set, made explicit), at least cert-manager's 5 minutes.
//!
//! **Faulted leaves are not rendered** (cert-manager issues well-formed certificates only;
//! serve those with `certlab serve`): a comment at the top of the output names each one and
//! its fault.
//!
//! A `ClusterIssuer` reads its Secret from cert-manager's cluster resource namespace,
//! `cert-manager` by default: with `cluster_issuer`, the CA Secrets are rendered into that
//! namespace, the Certificates into `namespace` (or the one `kubectl apply -n` gives).

use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;

use super::{RenderError, k8s_name};
use crate::pki::{Entity, Fault, KeyAlg, Pki, San};

/// The namespace a `ClusterIssuer` reads its Secret from (cert-manager's default
/// `--cluster-resource-namespace`).
pub const CLUSTER_RESOURCE_NAMESPACE: &str = "cert-manager";

/// cert-manager's shortest accepted `duration`.
pub const MIN_DURATION: Duration = Duration::from_secs(3600);

/// cert-manager's shortest accepted `renewBefore`.
pub const MIN_RENEW_BEFORE: Duration = Duration::from_secs(300);

/// cert-manager's longest `commonName`.
const MAX_COMMON_NAME: usize = 64;

/// A CA that issues rendered leaves: its Secret and Issuer.
#[derive(Debug, Serialize)]
struct Ca {
    name: String,
    issuer_name: String,
    secret_name: String,
    secret_namespace: Option<String>,
    tls_crt_b64: String,
    tls_key_b64: String,
    chain_subjects: Vec<String>,
}

/// The `subject` block of a Certificate (cert-manager's field names).
#[derive(Debug, Default, Serialize)]
struct Subject {
    organizations: Vec<String>,
    #[serde(rename = "organizationalUnits")]
    organizational_units: Vec<String>,
    countries: Vec<String>,
    provinces: Vec<String>,
    localities: Vec<String>,
}

impl Subject {
    fn is_empty(&self) -> bool {
        self.organizations.is_empty()
            && self.organizational_units.is_empty()
            && self.countries.is_empty()
            && self.provinces.is_empty()
            && self.localities.is_empty()
    }
}

/// One Certificate.
#[derive(Debug, Serialize)]
struct Certificate {
    name: String,
    k8s_name: String,
    secret_name: String,
    common_name: Option<String>,
    subject: Option<Subject>,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    uris: Vec<String>,
    email_addresses: Vec<String>,
    usages: Vec<String>,
    duration: String,
    renew_before: String,
    algorithm: &'static str,
    size: Option<u32>,
    issuer_name: String,
    notes: Vec<String>,
    not_after: String,
}

/// A leaf left out, and why.
#[derive(Debug, Serialize)]
struct Skipped {
    name: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Context {
    dir: String,
    namespace: Option<String>,
    issuer_kind: &'static str,
    cluster_issuer: bool,
    cluster_resource_namespace: &'static str,
    cas: Vec<Ca>,
    certificates: Vec<Certificate>,
    skipped: Vec<Skipped>,
}

/// The template's context for `pki` (read from its directory `dir`).
pub(super) fn context(
    pki: &Pki,
    dir: &std::path::Path,
    namespace: Option<&str>,
    cluster_issuer: bool,
) -> Result<impl Serialize, RenderError> {
    if let Some(ns) = namespace
        && k8s_name(ns) != ns
    {
        return Err(RenderError::BadNamespace(ns.to_string()));
    }
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut cas: Vec<Ca> = Vec::new();
    let mut certificates = Vec::new();
    let mut skipped = Vec::new();
    for leaf in pki.entities.iter().filter(|e| !e.is_ca()) {
        if leaf.fault != Fault::None {
            skipped.push(Skipped {
                name: leaf.name.clone(),
                reason: format!(
                    "fault `{}`: cert-manager issues well-formed certificates only",
                    leaf.fault
                ),
            });
            continue;
        }
        let Some(ca) = pki.entity(&leaf.issuer).filter(|ca| ca.is_ca()) else {
            skipped.push(Skipped {
                name: leaf.name.clone(),
                reason: "no CA of the PKI issued it".into(),
            });
            continue;
        };
        if !cas.iter().any(|c| c.name == ca.name) {
            let chain: Vec<&Entity> = std::iter::once(ca)
                .chain(pki.issuers_of(&ca.name))
                .collect();
            cas.push(Ca {
                name: ca.name.clone(),
                issuer_name: format!("certlab-{}", k8s_name(&ca.name)),
                secret_name: format!("certlab-{}-ca", k8s_name(&ca.name)),
                secret_namespace: if cluster_issuer {
                    Some(CLUSTER_RESOURCE_NAMESPACE.to_string())
                } else {
                    namespace.map(str::to_string)
                },
                tls_crt_b64: b64(crate::pem::pem_certs(chain.iter().map(|e| &e.cert)).as_bytes()),
                tls_key_b64: b64(ca.key.to_pem().as_bytes()),
                chain_subjects: chain
                    .iter()
                    .map(|e| {
                        crate::x509::Cert::parse(&e.cert)
                            .map(|c| c.subject())
                            .unwrap_or_else(|_| e.name.clone())
                    })
                    .collect(),
            });
        }
        certificates.push(certificate(
            leaf,
            &format!("certlab-{}", k8s_name(&ca.name)),
        )?);
    }
    let abs = super::absolute(dir)?;
    Ok(Context {
        dir: abs.display().to_string(),
        namespace: namespace.map(str::to_string),
        issuer_kind: if cluster_issuer {
            "ClusterIssuer"
        } else {
            "Issuer"
        },
        cluster_issuer,
        cluster_resource_namespace: CLUSTER_RESOURCE_NAMESPACE,
        cas,
        certificates,
        skipped,
    })
}

fn certificate(leaf: &Entity, issuer_name: &str) -> Result<Certificate, RenderError> {
    let cert =
        crate::x509::Cert::parse(&leaf.cert).map_err(|message| RenderError::BadCertificate {
            name: leaf.name.clone(),
            message,
        })?;
    let mut notes = Vec::new();
    let fields = cert.subject_fields();
    let common_name = match fields.cn {
        Some(cn) if cn.chars().count() > MAX_COMMON_NAME => {
            notes.push(format!(
                "commonName left out: {} characters, cert-manager accepts at most {MAX_COMMON_NAME}",
                cn.chars().count()
            ));
            None
        }
        cn => cn,
    };
    let subject = Subject {
        organizations: fields.o.into_iter().collect(),
        organizational_units: fields.ou.into_iter().collect(),
        countries: fields.c.into_iter().collect(),
        provinces: fields.st.into_iter().collect(),
        localities: fields.l.into_iter().collect(),
    };
    let pick = |f: fn(&San) -> Option<String>| leaf.sans.iter().filter_map(f).collect::<Vec<_>>();
    let lifetime = (leaf.not_after - leaf.not_before)
        .try_into()
        .unwrap_or(Duration::ZERO);
    let duration = if lifetime < MIN_DURATION {
        notes.push(format!(
            "duration: the local certificate lives {}; cert-manager accepts at least {}",
            go_duration(lifetime),
            go_duration(MIN_DURATION)
        ));
        MIN_DURATION
    } else {
        lifetime
    };
    let usages: Vec<String> = cert
        .key_usage()
        .iter()
        .chain(cert.extended_key_usage().unwrap_or_default().iter())
        .map(|u| {
            usage_name(u)
                .map(str::to_string)
                .unwrap_or_else(|| u.clone())
        })
        .collect();
    let (algorithm, size) = private_key(leaf.key_alg);
    Ok(Certificate {
        name: leaf.name.clone(),
        k8s_name: k8s_name(&leaf.name),
        secret_name: format!("{}-tls", k8s_name(&leaf.name)),
        common_name,
        subject: (!subject.is_empty()).then_some(subject),
        dns_names: pick(|s| match s {
            San::Dns(d) => Some(d.clone()),
            _ => None,
        }),
        ip_addresses: pick(|s| match s {
            San::Ip(ip) => Some(ip.to_string()),
            _ => None,
        }),
        uris: pick(|s| match s {
            San::Uri(u) => Some(u.clone()),
            _ => None,
        }),
        email_addresses: pick(|s| match s {
            San::Email(e) => Some(e.clone()),
            _ => None,
        }),
        usages,
        duration: go_duration(duration),
        renew_before: go_duration(renew_before(duration)),
        algorithm,
        size,
        issuer_name: issuer_name.to_string(),
        notes,
        not_after: leaf
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })
}

/// A third of the duration (cert-manager's default renewal point, made explicit), whole
/// seconds, at least [`MIN_RENEW_BEFORE`].
pub fn renew_before(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs() / 3).max(MIN_RENEW_BEFORE)
}

/// `privateKey.algorithm` and `privateKey.size` as cert-manager names them (Ed25519 has no
/// size).
pub fn private_key(alg: KeyAlg) -> (&'static str, Option<u32>) {
    match alg {
        KeyAlg::EcdsaP256 => ("ECDSA", Some(256)),
        KeyAlg::EcdsaP384 => ("ECDSA", Some(384)),
        KeyAlg::Ed25519 => ("Ed25519", None),
        KeyAlg::Rsa2048 => ("RSA", Some(2048)),
        KeyAlg::Rsa3072 => ("RSA", Some(3072)),
        KeyAlg::Rsa4096 => ("RSA", Some(4096)),
    }
}

/// cert-manager's name (`usages`) of a key usage or extended key usage as certlab's x509
/// reader names it (RFC 5280: `digitalSignature`, `serverAuth`, ...).
pub fn usage_name(rfc5280: &str) -> Option<&'static str> {
    Some(match rfc5280 {
        "digitalSignature" => "digital signature",
        "nonRepudiation" => "content commitment",
        "keyEncipherment" => "key encipherment",
        "dataEncipherment" => "data encipherment",
        "keyAgreement" => "key agreement",
        "keyCertSign" => "cert sign",
        "cRLSign" => "crl sign",
        "encipherOnly" => "encipher only",
        "decipherOnly" => "decipher only",
        "serverAuth" => "server auth",
        "clientAuth" => "client auth",
        "codeSigning" => "code signing",
        "emailProtection" => "email protection",
        "timeStamping" => "timestamping",
        "OCSPSigning" => "ocsp signing",
        "anyExtendedKeyUsage" => "any",
        _ => return None,
    })
}

/// A duration as Go's `time.ParseDuration` reads it (what cert-manager's `duration` and
/// `renewBefore` take): hours, minutes and seconds, zero parts left out (`9529h`, `1h30m`,
/// `90s`).
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            go_duration(Duration::from_secs(397 * 86_400 + 3600)),
            "9529h"
        );
        assert_eq!(go_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3601)), "1h1s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn renewal_is_a_third_and_never_under_five_minutes() {
        assert_eq!(
            renew_before(Duration::from_secs(9000)),
            Duration::from_secs(3000)
        );
        assert_eq!(renew_before(Duration::from_secs(600)), MIN_RENEW_BEFORE);
    }

    #[test]
    fn every_certlab_usage_has_a_cert_manager_name() {
        for u in [
            "digitalSignature",
            "keyEncipherment",
            "serverAuth",
            "clientAuth",
        ] {
            assert!(usage_name(u).is_some(), "{u}");
        }
        assert_eq!(usage_name("1.2.3.4"), None);
    }
}
