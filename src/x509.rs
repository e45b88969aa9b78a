//! The one reader of a certificate: x509-parser turns DER into [`Cert`], whose methods give
//! the facts the rest of certlab needs (names, SANs, validity, key, key usage and extended key
//! usage, basicConstraints, name constraints, key identifiers). Everything that reads one
//! certificate goes through here, so each fact is written once.
//!
//! A report parses each certificate once: the classifier and the summaries hold a [`Cert`]
//! per DER and ask it.

use std::net::IpAddr;

use pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;
use webpki::{BorrowedCertRevocationList, CertRevocationList, EndEntityCert};

use crate::outcome::Outcome;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, SubjectPublicKeyInfo, X509Name};

/// One parsed certificate (borrowing its DER).
pub(crate) struct Cert<'a> {
    cert: X509Certificate<'a>,
}

/// The extensions whose criticality the client-aligned rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ext {
    BasicConstraints,
    AuthorityKeyIdentifier,
    SubjectKeyIdentifier,
    SubjectAltName,
    KeyUsage,
}

/// What the client-aligned rules read of a CRL: its issuer's DER and whether its CRL number
/// extension is critical (`None`: the CRL does not parse).
pub(crate) struct CrlFacts {
    pub(crate) issuer_raw: Vec<u8>,
    pub(crate) crl_number_critical: bool,
}

/// Reads the [`CrlFacts`] of a DER CRL.
pub(crate) fn crl_facts(der: &[u8]) -> Option<CrlFacts> {
    use x509_parser::revocation_list::CertificateRevocationList;
    let (_, crl) = CertificateRevocationList::from_der(der).ok()?;
    let crl_number_critical = crl
        .extensions()
        .iter()
        .any(|e| e.critical && matches!(e.parsed_extension(), ParsedExtension::CRLNumber(_)));
    Some(CrlFacts {
        issuer_raw: crl.tbs_cert_list.issuer.as_raw().to_vec(),
        crl_number_critical,
    })
}

/// Parses every certificate of a chain once (`Err`: x509-parser's message).
pub(crate) fn parse_chain<'a>(
    ders: &'a [pki_types::CertificateDer<'_>],
) -> Vec<Result<Cert<'a>, String>> {
    ders.iter().map(|d| Cert::parse(d)).collect()
}

/// The subject's attributes certlab copies when it re-issues a name (first value of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameFields {
    pub(crate) cn: Option<String>,
    pub(crate) o: Option<String>,
    pub(crate) ou: Option<String>,
    pub(crate) c: Option<String>,
    pub(crate) st: Option<String>,
    pub(crate) l: Option<String>,
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate; the error is x509-parser's message.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, String> {
        X509Certificate::from_der(der)
            .map(|(_, cert)| Cert { cert })
            .map_err(|e| e.to_string())
    }

    /// The subject's DER (for comparing names byte for byte, as webpki does).
    pub(crate) fn subject_raw(&self) -> &'a [u8] {
        self.cert.tbs_certificate.subject.as_raw()
    }

    /// The issuer's DER.
    pub(crate) fn issuer_raw(&self) -> &'a [u8] {
        self.cert.tbs_certificate.issuer.as_raw()
    }

    /// The subject as text, e.g. `CN=localhost, O=certlab`.
    pub(crate) fn subject(&self) -> String {
        name_text(self.cert.subject())
    }

    /// The issuer's name as text.
    pub(crate) fn issuer(&self) -> String {
        name_text(self.cert.issuer())
    }

    /// The subject's CN (`CN=x`), or the whole subject when it has no CN.
    pub(crate) fn display_name(&self) -> String {
        short_name(self.cert.subject()).unwrap_or_else(|| "an empty subject".to_string())
    }

    /// The issuer's CN (`CN=x`), or the whole issuer name when it has no CN.
    pub(crate) fn issuer_display_name(&self) -> String {
        short_name(self.cert.issuer()).unwrap_or_default()
    }

    /// The subject's attributes (first value of each).
    pub(crate) fn subject_fields(&self) -> NameFields {
        let first = |it: &mut dyn Iterator<Item = &AttributeTypeAndValue<'_>>| {
            it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
        };
        let s = self.cert.subject();
        NameFields {
            cn: first(&mut s.iter_common_name()),
            o: first(&mut s.iter_organization()),
            ou: first(&mut s.iter_organizational_unit()),
            c: first(&mut s.iter_country()),
            st: first(&mut s.iter_state_or_province()),
            l: first(&mut s.iter_locality()),
        }
    }

    /// Whether subject and issuer are the same name.
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_raw() == self.issuer_raw()
    }

    /// The serial number's bytes as encoded (the INTEGER's content), as CRLs list it.
    pub(crate) fn raw_serial(&self) -> &'a [u8] {
        self.cert.raw_serial()
    }

    /// The serial number, colon-separated hex.
    pub(crate) fn serial_hex(&self) -> String {
        hex_colon(self.cert.raw_serial())
    }

    /// Whether the certificate has a subjectAltName extension (empty or not).
    pub(crate) fn has_san(&self) -> bool {
        matches!(self.cert.subject_alternative_name(), Ok(Some(_)))
    }

    /// The SANs as `DNS:x`, `IP:y`, `URI:z`, `email:w` strings.
    pub(crate) fn sans(&self) -> Vec<String> {
        let Ok(Some(san)) = self.cert.subject_alternative_name() else {
            return vec![];
        };
        san.value
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(bytes) => match ip_of(bytes) {
                    Some(ip) => format!("IP:{ip}"),
                    None => format!("IP:{bytes:02x?}"),
                },
                GeneralName::URI(u) => format!("URI:{u}"),
                GeneralName::RFC822Name(e) => format!("email:{e}"),
                other => format!("{other}"),
            })
            .collect()
    }

    /// Start of validity.
    pub(crate) fn not_before(&self) -> OffsetDateTime {
        self.cert.validity().not_before.to_datetime()
    }

    /// End of validity.
    pub(crate) fn not_after(&self) -> OffsetDateTime {
        self.cert.validity().not_after.to_datetime()
    }

    /// The DER of the SubjectPublicKeyInfo.
    pub(crate) fn spki(&self) -> &'a [u8] {
        self.cert.tbs_certificate.subject_pki.raw
    }

    /// Whether the certificate carries a valid signature by `issuer`'s key. x509-parser checks
    /// the usual algorithms; ECDSA on P-521 and ECDSA with SHA-512, which it does not know
    /// (but webpki, TLS clients and aws-lc do), are checked here with aws-lc.
    pub(crate) fn signed_by(&self, issuer: &Cert<'_>) -> bool {
        let key = issuer.cert.public_key();
        match self.cert.verify_signature(Some(key)) {
            Ok(()) => true,
            Err(X509Error::SignatureUnsupportedAlgorithm) => {
                let Some(alg) = ecdsa_beyond_x509_parser(
                    &self.cert.signature_algorithm.algorithm.to_id_string(),
                    key,
                ) else {
                    return false;
                };
                aws_lc_rs::signature::UnparsedPublicKey::new(alg, &key.subject_public_key.data)
                    .verify(
                        self.cert.tbs_certificate.as_ref(),
                        &self.cert.signature_value.data,
                    )
                    .is_ok()
            }
            Err(_) => false,
        }
    }

    /// The raw public key (the SubjectPublicKeyInfo's bit string).
    pub(crate) fn public_key(&self) -> &[u8] {
        &self.cert.public_key().subject_public_key.data
    }

    /// The key algorithm as certlab names it (`ecdsa-p256`, `rsa-2048`, `ed25519`,
    /// `rsa-pss-2048`, `ecdsa (OID)`, `unknown (OID)`) and its size in bits.
    pub(crate) fn key_algorithm(&self) -> (String, usize) {
        let spki = self.cert.public_key();
        let alg_oid = spki.algorithm.algorithm.to_id_string();
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => bit_length(rsa.modulus),
            Ok(k) => k.key_size(),
            Err(_) => 0,
        };
        let name = match alg_oid.as_str() {
            "1.2.840.113549.1.1.1" => return (format!("rsa-{bits}"), bits),
            "1.2.840.10045.2.1" => {
                let curve = spki_algorithm(spki).1;
                match curve.as_deref().and_then(curve_name) {
                    Some(c) => format!("ecdsa-{c}"),
                    None => format!("ecdsa ({})", curve.unwrap_or_default()),
                }
            }
            "1.3.101.112" => return ("ed25519".to_string(), 256),
            "1.3.101.113" => return ("ed448".to_string(), 456),
            "1.2.840.113549.1.1.10" => return (format!("rsa-pss-{bits}"), bits),
            other => format!("unknown ({other})"),
        };
        (name, bits)
    }

    /// Why this leaf's keyUsage forbids its use by a TLS server (or a client, `client`), if it
    /// does: it has a keyUsage extension that asserts none of the bits OpenSSL's `sslserver`
    /// purpose accepts (digitalSignature, keyEncipherment, keyAgreement), or for a client none
    /// of those of `sslclient` (digitalSignature, keyAgreement): OpenSSL's verify error 26,
    /// "unsuitable certificate purpose" (measured with `openssl verify -purpose` and curl,
    /// OpenSSL 3.0). `check`, `probe` and `serve` (client certificates) apply it.
    pub(crate) fn tls_key_usage_problem(&self, client: bool) -> Option<String> {
        if !self.has_key_usage() {
            return None;
        }
        let (allowed, words): (&[&str], &str) = if client {
            (
                &["digitalSignature", "keyAgreement"],
                "digitalSignature or keyAgreement",
            )
        } else {
            (
                &["digitalSignature", "keyEncipherment", "keyAgreement"],
                "digitalSignature, keyEncipherment or keyAgreement",
            )
        };
        let asserted = self.key_usage();
        if asserted.iter().any(|u| allowed.contains(&u.as_str())) {
            return None;
        }
        let asserted = if asserted.is_empty() {
            "empty".to_string()
        } else {
            asserted.join(", ")
        };
        Some(format!(
            "{}'s key usage is {asserted}; a certificate a TLS {} presents needs {words}",
            self.display_name(),
            if client { "client" } else { "server" },
        ))
    }

    /// The constraint of this trusted root (a trust anchor) that a path with `below` CAs
    /// under it (self-issued ones not counted) breaks, if any, for a TLS server (or a client,
    /// `client`): CA:false (`invalid-ca`), a pathLen below `below` (`path-len-exceeded`), an
    /// extended key usage without serverAuth / clientAuth (`wrong-usage`), as OpenSSL and curl
    /// check them (verify errors 79, 25, 26); webpki keeps of an anchor only its name, key and
    /// name constraints. `check`, `probe` and `serve` (client certificates) apply it.
    pub(crate) fn anchor_problem(&self, below: usize, client: bool) -> Option<(Outcome, String)> {
        match self.basic_constraints() {
            Some((false, _)) => {
                return Some((
                    Outcome::InvalidCa,
                    format!(
                        "the trusted root {} issues certificates but is not a CA (basicConstraints CA:false)",
                        self.display_name()
                    ),
                ));
            }
            Some((true, Some(len))) if below > len as usize => {
                return Some((
                    Outcome::PathLenExceeded,
                    format!(
                        "the trusted root {} has pathLen {len}, and {below} intermediate{} below it",
                        self.display_name(),
                        if below == 1 { " is" } else { "s are" }
                    ),
                ));
            }
            _ => {}
        }
        let needed = if client { "clientAuth" } else { "serverAuth" };
        match self.extended_key_usage() {
            Some(ekus) if !ekus.iter().any(|e| e == needed) => Some((
                Outcome::WrongUsage,
                format!(
                    "the trusted root {}'s extended key usage is {}; every certificate of the path that has one needs {needed}",
                    self.display_name(),
                    if ekus.is_empty() {
                        "empty".to_string()
                    } else {
                        ekus.join(", ")
                    }
                ),
            )),
            _ => None,
        }
    }

    /// Whether the certificate has a keyUsage extension (whatever bits it asserts).
    pub(crate) fn has_key_usage(&self) -> bool {
        matches!(self.cert.key_usage(), Ok(Some(_)))
    }

    /// Key usage bits by their RFC 5280 names (`digitalSignature`, `keyCertSign`, ...).
    pub(crate) fn key_usage(&self) -> Vec<String> {
        let Ok(Some(ku)) = self.cert.key_usage() else {
            return vec![];
        };
        let ku = ku.value;
        [
            (ku.digital_signature(), "digitalSignature"),
            (ku.non_repudiation(), "nonRepudiation"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.data_encipherment(), "dataEncipherment"),
            (ku.key_agreement(), "keyAgreement"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
            (ku.encipher_only(), "encipherOnly"),
            (ku.decipher_only(), "decipherOnly"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect()
    }

    /// The extended key usages (`serverAuth`, `clientAuth`, ..., or an OID), `None` when the
    /// certificate has no EKU extension (any purpose).
    pub(crate) fn extended_key_usage(&self) -> Option<Vec<String>> {
        let Ok(Some(eku)) = self.cert.extended_key_usage() else {
            return None;
        };
        let e = eku.value;
        let mut out: Vec<String> = [
            (e.server_auth, "serverAuth"),
            (e.client_auth, "clientAuth"),
            (e.code_signing, "codeSigning"),
            (e.email_protection, "emailProtection"),
            (e.time_stamping, "timeStamping"),
            (e.ocsp_signing, "OCSPSigning"),
            (e.any, "anyExtendedKeyUsage"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect();
        out.extend(e.other.iter().map(|o| o.to_id_string()));
        Some(out)
    }

    /// basicConstraints: the CA flag and pathLen (`None`: no basicConstraints extension).
    pub(crate) fn basic_constraints(&self) -> Option<(bool, Option<u32>)> {
        match self.cert.basic_constraints() {
            Ok(Some(b)) => Some((b.value.ca, b.value.path_len_constraint)),
            _ => None,
        }
    }

    /// Whether this is a CA certificate (basicConstraints CA:true).
    pub(crate) fn is_ca(&self) -> bool {
        self.cert.is_ca()
    }

    /// Whether basicConstraints carries a pathLen.
    pub(crate) fn has_path_len(&self) -> bool {
        self.basic_constraints().is_some_and(|(_, p)| p.is_some())
    }

    /// Name constraints as text (`DNS:x`, `IP:10.0.0.0/8`, ...): permitted and excluded
    /// subtrees; `None` without a nameConstraints extension.
    pub(crate) fn name_constraints(&self) -> Option<(Vec<String>, Vec<String>)> {
        let Ok(Some(nc)) = self.cert.name_constraints() else {
            return None;
        };
        let list = |v: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
            v.iter()
                .flatten()
                .map(|s| subtree_string(&s.base))
                .collect::<Vec<_>>()
        };
        Some((
            list(&nc.value.permitted_subtrees),
            list(&nc.value.excluded_subtrees),
        ))
    }

    /// The subject key identifier.
    pub(crate) fn ski(&self) -> Option<&'a [u8]> {
        self.cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
                _ => None,
            })
    }

    /// The authority key identifier's key identifier.
    pub(crate) fn aki(&self) -> Option<&'a [u8]> {
        self.cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0)
                }
                _ => None,
            })
    }

    /// Whether an extension is marked critical (`None`: the certificate does not have it).
    pub(crate) fn critical(&self, which: Ext) -> Option<bool> {
        self.cert
            .extensions()
            .iter()
            .find(|e| {
                matches!(
                    (which, e.parsed_extension()),
                    (Ext::BasicConstraints, ParsedExtension::BasicConstraints(_))
                        | (
                            Ext::AuthorityKeyIdentifier,
                            ParsedExtension::AuthorityKeyIdentifier(_)
                        )
                        | (
                            Ext::SubjectKeyIdentifier,
                            ParsedExtension::SubjectKeyIdentifier(_)
                        )
                        | (
                            Ext::SubjectAltName,
                            ParsedExtension::SubjectAlternativeName(_)
                        )
                        | (Ext::KeyUsage, ParsedExtension::KeyUsage(_))
                )
            })
            .map(|e| e.critical)
    }

    /// The X.509 version as written (0 for v1, 2 for v3).
    pub(crate) fn version(&self) -> u32 {
        self.cert.tbs_certificate.version.0
    }

    /// Whether the subject is the empty name (no RDN at all).
    pub(crate) fn subject_is_empty(&self) -> bool {
        self.cert.subject().iter_rdn().next().is_none()
    }

    /// The OIDs of critical extensions x509-parser (and so certlab) does not know.
    pub(crate) fn unknown_critical_extensions(&self) -> Vec<String> {
        self.cert
            .extensions()
            .iter()
            .filter(|e| {
                e.critical
                    && matches!(
                        e.parsed_extension(),
                        ParsedExtension::UnsupportedExtension { .. }
                    )
            })
            .map(|e| e.oid.to_id_string())
            .collect()
    }

    /// The signed part (TBSCertificate DER) and the signature, to verify with an issuer's key.
    pub(crate) fn signed_data(&self) -> (&[u8], &[u8]) {
        (
            self.cert.tbs_certificate.as_ref(),
            self.cert.signature_value.data.as_ref(),
        )
    }
}

/// `CN=x` for a name with a CN, the whole name otherwise; `None` for an empty name.
fn short_name(name: &X509Name<'_>) -> Option<String> {
    match name
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
    {
        Some(cn) => Some(format!("CN={cn}")),
        None => Some(name_text(name)).filter(|s| !s.is_empty()),
    }
}

/// A name as text, exactly as x509-parser's `Display` writes it (`CN=x, O=y`), without
/// building x509-parser's registry of every known OID (hundreds of hash-map entries, ~0.04 ms
/// at a process's first name: a probe formats a few) when it is not needed: the attributes
/// CN, C, L, ST, O, OU, DC and emailAddress are named from x509-parser's own abbreviations,
/// without the registry. A name with any other attribute is formatted with the registry.
fn name_text(name: &X509Name<'_>) -> String {
    use x509_parser::oid_registry::{
        OID_DOMAIN_COMPONENT, OID_PKCS9_EMAIL_ADDRESS, OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME,
        OID_X509_LOCALITY_NAME, OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT,
        OID_X509_STATE_OR_PROVINCE_NAME, OidRegistry,
    };
    let abbreviated = [
        OID_X509_COMMON_NAME,
        OID_X509_COUNTRY_NAME,
        OID_X509_LOCALITY_NAME,
        OID_X509_STATE_OR_PROVINCE_NAME,
        OID_X509_ORGANIZATION_NAME,
        OID_X509_ORGANIZATIONAL_UNIT,
        OID_DOMAIN_COMPONENT,
        OID_PKCS9_EMAIL_ADDRESS,
    ];
    if name
        .iter_attributes()
        .all(|a| abbreviated.contains(a.attr_type()))
        && let Ok(text) = name.to_string_with_registry(&OidRegistry::default())
    {
        return text;
    }
    name.to_string()
}

/// An IP address from its 4 or 16 bytes.
fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A name-constraint subtree as text: `DNS:x`, `IP:10.0.0.0/8`, `email:x`, `URI:x`, `DN:x`.
fn subtree_string(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::DirectoryName(dn) => format!("DN:{dn}"),
        GeneralName::IPAddress(b) if b.len() == 8 || b.len() == 32 => {
            let (addr, mask) = b.split_at(b.len() / 2);
            let prefix: u32 = mask.iter().map(|m| m.count_ones()).sum();
            match ip_of(addr) {
                Some(ip) => format!("IP:{ip}/{prefix}"),
                None => name.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Bytes as colon-separated lowercase hex (`ab:01:...`).
pub(crate) fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Curve OIDs certlab names.
fn curve_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => "p256",
        "1.3.132.0.34" => "p384",
        "1.3.132.0.35" => "p521",
        _ => return None,
    })
}

/// The bit length of a big-endian unsigned integer (an RSA modulus).
fn bit_length(bytes: &[u8]) -> usize {
    let bytes = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => return 0,
    };
    bytes.len() * 8 - bytes[0].leading_zeros() as usize
}

/// A SubjectPublicKeyInfo's algorithm OID and, for EC keys, its curve OID (dotted strings):
/// the one reading of a key's algorithm, for certificates and CSRs alike.
pub(crate) fn spki_algorithm(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> (String, Option<String>) {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    (spki.algorithm.algorithm.to_id_string(), curve)
}

/// The aws-lc verification algorithm of an ECDSA signature (`sig_oid`) by `key` that
/// x509-parser does not check: any hash on P-521, and SHA-512 on P-256 and P-384.
fn ecdsa_beyond_x509_parser(
    sig_oid: &str,
    key: &SubjectPublicKeyInfo<'_>,
) -> Option<&'static aws_lc_rs::signature::EcdsaVerificationAlgorithm> {
    use aws_lc_rs::signature as s;
    let curve = key
        .algorithm
        .parameters
        .as_ref()?
        .as_oid()
        .ok()?
        .to_id_string();
    Some(match (sig_oid, curve.as_str()) {
        ("1.2.840.10045.4.3.2", "1.3.132.0.35") => &s::ECDSA_P521_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", "1.3.132.0.35") => &s::ECDSA_P521_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", "1.3.132.0.35") => &s::ECDSA_P521_SHA512_ASN1,
        ("1.2.840.10045.4.3.4", "1.2.840.10045.3.1.7") => &s::ECDSA_P256_SHA512_ASN1,
        ("1.2.840.10045.4.3.4", "1.3.132.0.34") => &s::ECDSA_P384_SHA512_ASN1,
        _ => return None,
    })
}

/// `crls` in the order OpenSSL chooses among several CRLs of one issuer (`get_crl_sk`): webpki
/// (and the rustls client verifier of `serve`) uses the first CRL whose issuer name matches a
/// certificate's issuer, refusing when that one is stale or signed by another key of the same
/// name, and missing a revocation a newer CRL lists. First the CRLs one of `issuers` (the
/// chain and the trusted roots) of their issuer's name signs, then those current at `now`,
/// then the newest (thisUpdate); the order among equals is kept.
pub(crate) fn crls_in_client_order(
    crls: &[CertificateRevocationListDer<'static>],
    issuers: &[CertificateDer<'_>],
    now: OffsetDateTime,
) -> Vec<CertificateRevocationListDer<'static>> {
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList as ParsedCrl;
    // One CRL (or none): nothing to choose.
    if crls.len() < 2 {
        return crls.to_vec();
    }
    let key = |der: &CertificateRevocationListDer<'_>| {
        let Ok((_, crl)) = ParsedCrl::from_der(der.as_ref()) else {
            return (true, true, i64::MAX);
        };
        let signed = issuers.iter().any(|c| {
            if !Cert::parse(c.as_ref()).is_ok_and(|p| p.subject_raw() == crl.issuer().as_raw()) {
                return false;
            }
            let Ok(issuer) = EndEntityCert::try_from(c) else {
                return false;
            };
            webpki::ALL_VERIFICATION_ALGS.iter().any(|alg| {
                issuer
                    .verify_signature(*alg, crl.tbs_cert_list.as_ref(), &crl.signature_value.data)
                    .is_ok()
            })
        });
        let this_update = crl.last_update().to_datetime();
        let current = this_update <= now && crl.next_update().is_none_or(|n| now < n.to_datetime());
        // Sorted ascending: `false` first, so the negations put the preferred CRLs first.
        (!signed, !current, -this_update.unix_timestamp())
    };
    let mut ordered: Vec<_> = crls.iter().map(|c| (key(c), c.clone())).collect();
    ordered.sort_by_key(|(k, _)| *k);
    ordered.into_iter().map(|(_, c)| c).collect()
}

/// Whether one of `crls` issued by `cert`'s issuer (by name) lists `cert`'s serial number. The
/// CRL's signature is not checked here: this names a certificate a CRL of the trust store
/// lists (a CA row of `check --pki DIR`), it does not validate a path.
pub(crate) fn listed_in_crls(cert: &[u8], crls: &[CertificateRevocationListDer<'_>]) -> bool {
    let Ok(parsed) = Cert::parse(cert) else {
        return false;
    };
    crls.iter()
        .filter_map(|c| BorrowedCertRevocationList::from_der(c.as_ref()).ok())
        .map(CertRevocationList::from)
        .any(|crl| {
            // webpki gives the CRL's issuer without the SEQUENCE header.
            parsed.issuer_raw().ends_with(crl.issuer())
                && matches!(crl.find_serial(parsed.raw_serial()), Ok(Some(_)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signatures x509-parser cannot check (ECDSA on P-521) are checked with aws-lc: a good one
    /// passes, another key's and a corrupted one do not.
    #[test]
    fn p521_signatures_are_checked() {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, PKCS_ECDSA_P521_SHA512};
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).unwrap();
        let leaf_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        let (ca, leaf) = (ca.der().to_vec(), leaf.der().to_vec());
        let (ca_cert, leaf_cert) = (Cert::parse(&ca).unwrap(), Cert::parse(&leaf).unwrap());
        assert!(ca_cert.signed_by(&ca_cert), "self-signed P-521 root");
        assert!(
            leaf_cert.signed_by(&ca_cert),
            "leaf signed by the P-521 root"
        );
        assert!(!leaf_cert.signed_by(&leaf_cert), "not self-signed");
        assert!(!ca_cert.signed_by(&leaf_cert), "another P-521 key");
        let mut bad = leaf.clone();
        let at = bad.len() - 10;
        bad[at] ^= 0x01;
        let bad_cert = Cert::parse(&bad).unwrap();
        assert!(!bad_cert.signed_by(&ca_cert), "a corrupted signature");
    }

    fn leaf(params: rcgen::CertificateParams) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn facts_of_a_leaf() {
        let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.subject_alt_names
            .push(rcgen::SanType::IpAddress("::1".parse().unwrap()));
        p.distinguished_name.push(rcgen::DnType::CommonName, "web");
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "certlab");
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::TimeStamping,
        ];
        let der = leaf(p);
        let c = Cert::parse(&der).unwrap();
        assert_eq!(c.sans(), ["DNS:localhost", "IP:::1"]);
        assert_eq!(c.display_name(), "CN=web");
        assert_eq!(c.subject_fields().o.as_deref(), Some("certlab"));
        assert!(c.self_issued() && c.has_san() && !c.is_ca());
        assert_eq!(c.key_algorithm(), ("ecdsa-p256".to_string(), 256));
        assert_eq!(
            c.extended_key_usage().unwrap(),
            ["serverAuth", "timeStamping"]
        );
        assert!(c.unknown_critical_extensions().is_empty());
        assert!(Cert::parse(b"nope").is_err());

        // Names read without x509-parser's registry are what its Display writes, and one with
        // another attribute (serialNumber, an unknown OID) is formatted with the registry.
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        for (t, v) in [
            (rcgen::DnType::CommonName, "web"),
            (rcgen::DnType::OrganizationName, "certlab, inc"),
            (rcgen::DnType::OrganizationalUnitName, "lab"),
            (rcgen::DnType::CountryName, "FR"),
            (rcgen::DnType::StateOrProvinceName, "Île"),
            (rcgen::DnType::LocalityName, "Paris"),
        ] {
            p.distinguished_name.push(t, v);
        }
        let der = leaf(p.clone());
        let c = Cert::parse(&der).unwrap();
        assert_eq!(c.subject(), c.cert.subject().to_string());
        assert!(c.subject().starts_with("CN=web"), "{}", c.subject());
        for other in [vec![2, 5, 4, 5], vec![1, 3, 6, 1, 4, 1, 99999, 1]] {
            let mut q = p.clone();
            q.distinguished_name
                .push(rcgen::DnType::CustomDnType(other), "x-1");
            let der = leaf(q);
            let c = Cert::parse(&der).unwrap();
            assert_eq!(c.subject(), c.cert.subject().to_string());
            assert_eq!(c.issuer(), c.cert.issuer().to_string());
        }
        let mut q = p.clone();
        q.distinguished_name
            .push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]), "x-1");
        let der = leaf(q);
        let subject = Cert::parse(&der).unwrap().subject();
        assert!(subject.contains("serialNumber=x-1"), "{subject}");
    }

    #[test]
    fn a_name_without_cn_is_shown_whole() {
        let mut p = rcgen::CertificateParams::new(vec![]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        let der = leaf(p.clone());
        assert_eq!(
            Cert::parse(&der).unwrap().display_name(),
            "an empty subject"
        );
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "only org");
        let der = leaf(p);
        let c = Cert::parse(&der).unwrap();
        assert_eq!(c.display_name(), "O=only org");
        assert_eq!(c.issuer_display_name(), "O=only org");
        assert_eq!(c.extended_key_usage(), None);
    }
}
