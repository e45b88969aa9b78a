//! Use a CA you already have: load its certificate and key from files, issue leaves from it, and
//! sign certificate signing requests made elsewhere (what `mkcert -csr` and
//! `step certificate sign` do).
//!
//! A signed CSR keeps the request's subject and public key; its SANs are taken from the request
//! and checked with [`names`]; certlab sets everything else: EKU serverAuth (or
//! clientAuth), key usage, [`DEFAULT_LEAF_VALIDITY`], a random serial, the subject and
//! authority key identifiers. Other requested extensions are ignored.

use std::path::Path;

use pki_types::CertificateDer;
use rcgen::{
    CertificateSigningRequestParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use time::OffsetDateTime;

use super::issue::{Builder, random_serial};
use super::keys::KeyKind;
use super::model::{DEFAULT_LEAF_VALIDITY, LeafSpec, backdated};
use super::{Entity, Fault, KeyAlg, Role, San, export, names};
use crate::pem::FileError;

/// The entity name an existing CA gets inside certlab.
pub const EXISTING_CA_NAME: &str = "ca";

/// Why an existing CA or a CSR cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// A file could not be read or is not what it should be.
    #[error(transparent)]
    File(#[from] FileError),
    /// The input is unusable (not a CA, key does not match, bad CSR, bad SAN ...).
    #[error("{0}")]
    Invalid(String),
    /// The input is valid but uses an algorithm certlab does not support (an RSA-PSS or
    /// secp256k1 key, RSA under 2048 bits, a SHA-1 signature): `unsupported: X (supported: ...)`.
    #[error("{0}")]
    Unsupported(String),
}

/// The signature algorithms certlab accepts on a CSR, by OID.
const CSR_SIGNATURES: [(&str, &str); 6] = [
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.3.101.112", "Ed25519"),
];

/// Names of signature algorithms certlab does not accept, for the message.
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption".to_string(),
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption (SHA-1)".to_string(),
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption".to_string(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".to_string(),
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1 (SHA-1)".to_string(),
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224".to_string(),
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        other => CSR_SIGNATURES
            .iter()
            .find(|(o, _)| *o == other)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| format!("signature algorithm {other}")),
    }
}

/// Refuses a CSR that is well formed but uses a key or a signature algorithm certlab does not
/// support, naming it (rcgen would only say that the signature does not verify).
fn check_csr_algorithms(der: &[u8]) -> Result<(), CsrError> {
    use x509_parser::prelude::FromDer;
    let Ok((_, req)) = x509_parser::certification_request::X509CertificationRequest::from_der(der)
    else {
        return Ok(()); // malformed: rcgen says so
    };
    let spki = req.certification_request_info.subject_pki.raw;
    if let Some(msg) = KeyKind::of_spki(spki).and_then(|k| k.unsupported_in(" in the CSR")) {
        return Err(CsrError::Unsupported(msg));
    }
    let oid = req.signature_algorithm.algorithm.to_id_string();
    if !CSR_SIGNATURES.iter().any(|(o, _)| *o == oid) {
        let supported: Vec<_> = CSR_SIGNATURES.iter().map(|(_, n)| *n).collect();
        return Err(CsrError::Unsupported(format!(
            "unsupported: a CSR signed with {} (supported: {}); make the request again, e.g. openssl req -new -sha256 ...",
            signature_name(&oid),
            supported.join(", ")
        )));
    }
    Ok(())
}

fn invalid(msg: impl Into<String>) -> CsrError {
    CsrError::Invalid(msg.into())
}

/// The first certificate of a PEM or DER file ([`pem::read_certs`](crate::pem::read_certs)).
pub fn read_cert(path: &Path) -> Result<CertificateDer<'static>, CsrError> {
    Ok(crate::pem::read_certs(path)?.remove(0))
}

/// Loads a CA certificate and its key (PKCS#8, SEC1 or PKCS#1; PEM or DER; encrypted PKCS#8
/// with `key_password`) as a certlab CA entity named [`EXISTING_CA_NAME`]. Refuses a
/// certificate that is not a CA and a key that is not the certificate's.
pub fn load_ca(
    cert_path: &Path,
    key_path: &Path,
    key_password: Option<&str>,
) -> Result<Entity, CsrError> {
    let cert = read_cert(cert_path)?;
    let key = export::read_key(&crate::pem::read(key_path)?, key_password)
        .map_err(|e| invalid(format!("{}: {e}", key_path.display())))?;
    if let Some(msg) = KeyKind::of_pkcs8(key.pkcs8_der()).and_then(|k| k.unsupported()) {
        return Err(CsrError::Unsupported(format!(
            "{}: {msg}",
            key_path.display()
        )));
    }
    let pair = key
        .to_key_pair()
        .map_err(|e| invalid(format!("{}: unusable key: {e}", key_path.display())))?;
    let x509 = crate::x509::Cert::parse(&cert)
        .map_err(|e| invalid(format!("{}: {e}", cert_path.display())))?;
    if !x509.basic_constraints().is_some_and(|(ca, _)| ca) {
        return Err(invalid(format!(
            "{}: not a CA certificate (no basicConstraints CA:TRUE); it cannot issue certificates",
            cert_path.display()
        )));
    }
    if x509.spki() != pair.subject_public_key_info().as_slice() {
        return Err(invalid(format!(
            "{} is not the key of {} (their public keys differ)",
            key_path.display(),
            cert_path.display()
        )));
    }
    let role = if x509.self_issued() {
        Role::Root
    } else {
        Role::Intermediate
    };
    let (not_before, not_after) = (x509.not_before(), x509.not_after());
    Ok(Entity {
        name: EXISTING_CA_NAME.into(),
        role,
        issuer: EXISTING_CA_NAME.into(),
        key_alg: KeyAlg::of(&pair).unwrap_or_default(),
        cert: cert.clone(),
        key,
        chain: vec![],
        crl: None,
        sans: vec![],
        not_before,
        not_after,
        fault: Fault::None,
        expected: None,
        expected_by_client: Default::default(),
        trusted: role == Role::Root,
        spec_digest: None,
        dir: None,
        files: super::FileLayout::Separate,
    })
}

/// What a CA issued, and what the user should know about it.
#[derive(Debug)]
pub struct Signed {
    /// The new leaf (for a CSR: no private key, `key` is empty).
    pub leaf: Entity,
    /// Warnings, e.g. the leaf outlives the CA.
    pub warnings: Vec<String>,
}

fn warnings(ca: &Entity, not_after: OffsetDateTime, now: OffsetDateTime) -> Vec<String> {
    let mut w = Vec::new();
    if ca.not_before > now {
        w.push(format!(
            "the CA is valid only from {}: until then its certificates fail as `not-yet-valid`",
            ca.not_before.date()
        ));
    }
    if ca.not_after < now {
        w.push(format!(
            "the CA expired on {}: every certificate it issues fails as `expired`",
            ca.not_after.date()
        ));
    } else if ca.not_after < not_after {
        w.push(format!(
            "the CA expires on {}, before this certificate ({}): clients reject the chain from then on",
            ca.not_after.date(),
            not_after.date()
        ));
    }
    w
}

/// Issues a leaf (new key) from an existing CA loaded with [`load_ca`]. `spec.issuer` is set to
/// the CA.
pub fn issue_from(ca: Entity, spec: &LeafSpec, now: OffsetDateTime) -> Result<Signed, CsrError> {
    let mut builder = Builder::new(now);
    let ca_copy = ca.clone();
    builder
        .add_existing_ca(ca)
        .map_err(|e| invalid(e.to_string()))?;
    let mut spec = spec.clone();
    spec.issuer = ca_copy.name.clone();
    let leaf = builder
        .add_leaf(&spec)
        .map_err(|e| invalid(e.to_string()))?
        .clone();
    Ok(Signed {
        warnings: warnings(&ca_copy, leaf.not_after, now),
        leaf,
    })
}

/// Issues many leaves from an existing CA (on every core, see [`Builder::add_leaves`]), in
/// order; the warnings are those of the first leaf (they all share the CA and validity).
pub fn issue_all_from(
    ca: Entity,
    specs: &[LeafSpec],
    now: OffsetDateTime,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<Entity>, Vec<String>), CsrError> {
    let mut builder = Builder::new(now);
    let ca_copy = ca.clone();
    builder
        .add_existing_ca(ca)
        .map_err(|e| invalid(e.to_string()))?;
    let specs: Vec<LeafSpec> = specs
        .iter()
        .map(|s| LeafSpec {
            issuer: ca_copy.name.clone(),
            ..s.clone()
        })
        .collect();
    builder
        .add_leaves(&specs, progress)
        .map_err(|e| invalid(e.to_string()))?;
    let leaves = builder
        .finish()
        .map_err(|e| invalid(e.to_string()))?
        .entities[1..]
        .to_vec();
    let warnings = leaves
        .first()
        .map(|l| warnings(&ca_copy, l.not_after, now))
        .unwrap_or_default();
    Ok((leaves, warnings))
}

/// Signs a PEM (or DER) CSR with an existing CA as a server (or, with `role`, client)
/// certificate. The CSR's signature must verify and it must carry SANs that certlab accepts.
pub fn sign_csr(
    csr: &[u8],
    ca: &Entity,
    role: Role,
    now: OffsetDateTime,
) -> Result<Signed, CsrError> {
    let der = match std::str::from_utf8(csr)
        .ok()
        .filter(|t| t.contains("-----BEGIN"))
    {
        Some(_) => pem::parse(csr)
            .map_err(|e| invalid(format!("not a valid certificate signing request: {e}")))?
            .into_contents(),
        None => csr.to_vec(),
    };
    check_csr_algorithms(&der)?;
    let parsed = CertificateSigningRequestParams::from_der(&der.into());
    let mut req = parsed.map_err(|e| match e {
        rcgen::Error::InvalidCertificationRequestSignature => {
            invalid("the CSR's signature does not verify (altered or corrupt request)")
        }
        rcgen::Error::UnsupportedExtension => invalid(
            "the CSR requests an extension certlab cannot read; request only subjectAltName (and key/extended key usage)",
        ),
        other => invalid(format!("not a valid certificate signing request: {other}")),
    })?;
    let mut sans = Vec::new();
    for san in &req.params.subject_alt_names {
        let checked = match san {
            SanType::DnsName(d) => names::dns(d.as_str()),
            SanType::IpAddress(ip) => Ok(San::Ip(*ip)),
            SanType::Rfc822Name(e) => names::email(e.as_str()),
            SanType::URI(u) => names::uri(u.as_str()),
            other => return Err(invalid(format!("unsupported SAN in the CSR: {other:?}"))),
        };
        sans.push(checked.map_err(|e| invalid(format!("the CSR's SAN is refused: {e}")))?);
    }
    if sans.is_empty() {
        return Err(invalid(
            "the CSR has no subjectAltName: clients ignore the CN, so the certificate would match no name (openssl req ... -addext subjectAltName=DNS:host)",
        ));
    }
    let alg = req.public_key.algorithm();
    let is_rsa = alg == &rcgen::PKCS_RSA_SHA256;
    let key_alg = if is_rsa {
        KeyAlg::Rsa2048
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        KeyAlg::EcdsaP384
    } else if alg == &rcgen::PKCS_ED25519 {
        KeyAlg::Ed25519
    } else {
        KeyAlg::EcdsaP256
    };
    let p = &mut req.params;
    p.not_before = backdated(now);
    p.not_after = now + DEFAULT_LEAF_VALIDITY;
    p.serial_number = Some(random_serial());
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if is_rsa && role.is_server() {
        p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    p.extended_key_usages = vec![];
    if role.is_server() {
        p.extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if role.is_client() {
        p.extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.name_constraints = None;
    p.crl_distribution_points = vec![];
    p.custom_extensions = vec![];
    let ca_key: KeyPair = ca
        .key
        .to_key_pair()
        .map_err(|e| invalid(format!("CA key: {e}")))?;
    let issuer = Issuer::from_ca_cert_der(&ca.cert, ca_key)
        .map_err(|e| invalid(format!("CA certificate: {e}")))?;
    let cert = req
        .signed_by(&issuer)
        .map_err(|e| invalid(format!("cannot sign the CSR: {e}")))?;
    let cert = cert.der().clone();
    let mut chain = vec![cert.clone()];
    if ca.role == Role::Intermediate {
        chain.push(ca.cert.clone());
    }
    let name = super::local_ca::leaf_file_name(&sans, role == Role::Client);
    let (not_before, not_after) = (req.params.not_before, req.params.not_after);
    let leaf = Entity {
        name,
        role,
        issuer: ca.name.clone(),
        cert,
        key: super::SecretKey::from_pkcs8(vec![]),
        key_alg,
        chain,
        crl: None,
        sans,
        not_before,
        not_after,
        fault: Fault::None,
        expected: Some(crate::Outcome::Ok),
        expected_by_client: Default::default(),
        trusted: false,
        spec_digest: None,
        dir: None,
        files: super::FileLayout::Separate,
    };
    Ok(Signed {
        warnings: warnings(ca, not_after, now),
        leaf,
    })
}
