//! Key algorithms: which keys certlab generates and how they are named in a spec.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, RsaKeySize};
use serde::{Deserialize, Serialize};

/// A key algorithm for a certificate's key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlg {
    /// ECDSA on P-256 with SHA-256: small, fast, accepted everywhere. The default.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519 (not accepted by every TLS client as a certificate key).
    Ed25519,
    /// RSA 2048 with SHA-256 (PKCS#1 v1.5 signatures).
    Rsa2048,
    /// RSA 3072 with SHA-256.
    Rsa3072,
    /// RSA 4096 with SHA-256.
    Rsa4096,
}

/// Every key algorithm with its spec name.
pub const ALL_KEY_ALGS: [KeyAlg; 6] = [
    KeyAlg::EcdsaP256,
    KeyAlg::EcdsaP384,
    KeyAlg::Ed25519,
    KeyAlg::Rsa2048,
    KeyAlg::Rsa3072,
    KeyAlg::Rsa4096,
];

impl KeyAlg {
    /// The spec / manifest name, e.g. `ecdsa-p256`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::EcdsaP256 => "ecdsa-p256",
            KeyAlg::EcdsaP384 => "ecdsa-p384",
            KeyAlg::Ed25519 => "ed25519",
            KeyAlg::Rsa2048 => "rsa-2048",
            KeyAlg::Rsa3072 => "rsa-3072",
            KeyAlg::Rsa4096 => "rsa-4096",
        }
    }

    /// Whether this is an RSA key (servers then also get keyEncipherment).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyAlg::Rsa2048 | KeyAlg::Rsa3072 | KeyAlg::Rsa4096)
    }

    /// The rcgen signature algorithm that certificates signed by this key use.
    pub fn signature_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlg::Rsa2048 | KeyAlg::Rsa3072 | KeyAlg::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// Generates a fresh key pair. Its PKCS#8 serialisation is v1 (see [`pkcs8_v1`]): aws-lc
    /// makes Ed25519 keys as PKCS#8 v2, which OpenSSL 3.0, Node, BoringSSL and NSS cannot read.
    pub fn generate(self) -> Result<KeyPair, rcgen::Error> {
        let size = match self {
            KeyAlg::Rsa2048 => RsaKeySize::_2048,
            KeyAlg::Rsa3072 => RsaKeySize::_3072,
            KeyAlg::Rsa4096 => RsaKeySize::_4096,
            _ => {
                let pair = KeyPair::generate_for(self.signature_algorithm())?;
                return match pkcs8_v1(&pair.serialize_der()) {
                    Some(v1) => KeyPair::try_from(v1.as_slice()),
                    None => Ok(pair),
                };
            }
        };
        KeyPair::generate_rsa_for(self.signature_algorithm(), size)
    }

    /// Tells the algorithm of an existing key pair (RSA keys by their modulus size).
    pub fn of(key: &KeyPair) -> Option<KeyAlg> {
        let alg = key.algorithm();
        if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            Some(KeyAlg::EcdsaP256)
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            Some(KeyAlg::EcdsaP384)
        } else if alg == &rcgen::PKCS_ED25519 {
            Some(KeyAlg::Ed25519)
        } else if alg == &rcgen::PKCS_RSA_SHA256 {
            // The SPKI's DER length grows with the modulus: 2048 → 294 bytes, 3072 → 422, 4096 → 550.
            use rcgen::PublicKeyData;
            Some(match key.subject_public_key_info().len() {
                0..=350 => KeyAlg::Rsa2048,
                351..=480 => KeyAlg::Rsa3072,
                _ => KeyAlg::Rsa4096,
            })
        } else {
            None
        }
    }
}

impl fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_KEY_ALGS
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ALL_KEY_ALGS.iter().map(|a| a.name()).collect();
                format!(
                    "unknown key algorithm `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// A PKCS#8 v2 key (RFC 5958 OneAsymmetricKey: version 1 with the public key) rewritten as
/// PKCS#8 v1 (RFC 5208; RFC 8410 for Ed25519: version 0, no public key), the form every
/// client reads: OpenSSL 3.0, Node, BoringSSL (gRPC) and NSS refuse v2, Go and Java read both.
/// The private key and its algorithm are kept byte for byte; the public key follows from the
/// private key. `None` when `der` is v1 already or not PKCS#8 (left as it is).
pub fn pkcs8_v1(der: &[u8]) -> Option<Vec<u8>> {
    use pkcs8::der::{Decode, Encode};
    let mut info = pkcs8::PrivateKeyInfoRef::from_der(der).ok()?;
    info.public_key.take()?;
    info.to_der().ok()
}

/// What certlab can sign with and use as a TLS key, for "unsupported: X (supported: ...)"
/// messages.
pub const SUPPORTED_KEYS: &str =
    "ECDSA P-256 or P-384, Ed25519, RSA (rsaEncryption) of 2048 to 8192 bits";

/// The kind of a key certlab was given, told from its algorithm identifier (a PKCS#8 private
/// key or a SubjectPublicKeyInfo), so that a key it cannot use is named rather than called
/// unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// rsaEncryption, with the modulus size in bits (0 when unknown).
    Rsa(usize),
    /// id-RSASSA-PSS (a key restricted to PSS signatures), with the modulus size in bits.
    RsaPss(usize),
    /// id-ecPublicKey on a named curve (`P-256`, `secp256k1`, ... or the curve's OID).
    Ec(String),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// Another algorithm (its OID).
    Other(String),
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_ED448: &str = "1.3.101.113";

fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        other => return format!("curve {other}"),
    }
    .to_string()
}

/// The bit length of a DER INTEGER's big-endian bytes (an RSA modulus).
fn modulus_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(i) => (bytes.len() - i) * 8 - bytes[i].leading_zeros() as usize,
        None => 0,
    }
}

/// The modulus of a DER SEQUENCE whose `index`-th element is the modulus INTEGER
/// (RSAPrivateKey: index 1; RSAPublicKey: index 0).
fn rsa_bits(der: &[u8], index: usize) -> usize {
    use x509_parser::der_parser::ber::BerObjectContent;
    use x509_parser::der_parser::der::parse_der_sequence;
    let Ok((_, seq)) = parse_der_sequence(der) else {
        return 0;
    };
    match seq.as_sequence().ok().and_then(|items| items.get(index)) {
        Some(item) => match &item.content {
            BerObjectContent::Integer(bytes) => modulus_bits(bytes),
            _ => 0,
        },
        None => 0,
    }
}

impl KeyKind {
    fn from_algorithm(oid: &str, curve: Option<String>, rsa_bits: impl FnOnce() -> usize) -> Self {
        match oid {
            OID_RSA => KeyKind::Rsa(rsa_bits()),
            OID_RSA_PSS => KeyKind::RsaPss(rsa_bits()),
            OID_EC => KeyKind::Ec(
                curve
                    .map(|c| curve_name(&c))
                    .unwrap_or_else(|| "explicit curve parameters".to_string()),
            ),
            OID_ED25519 => KeyKind::Ed25519,
            OID_ED448 => KeyKind::Ed448,
            other => KeyKind::Other(other.to_string()),
        }
    }

    /// The kind of a PKCS#8 private key (`None` when it is not PKCS#8 at all).
    pub fn of_pkcs8(der: &[u8]) -> Option<KeyKind> {
        use pkcs8::der::Decode;
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).ok()?;
        let oid = info.algorithm.oid.to_string();
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<pkcs8::ObjectIdentifier>().ok())
            .map(|o| o.to_string());
        let inner = info.private_key.as_bytes();
        Some(Self::from_algorithm(&oid, curve, || rsa_bits(inner, 1)))
    }

    /// The kind of any private key certlab reads: PKCS#8, SEC1 (`EC PRIVATE KEY`, its named
    /// curve) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn of_private_key(key: &pki_types::PrivateKeyDer<'_>) -> Option<KeyKind> {
        use pki_types::PrivateKeyDer as K;
        match key {
            K::Pkcs8(der) => Self::of_pkcs8(der.secret_pkcs8_der()),
            K::Sec1(der) => {
                use sec1::der::Decode;
                let ec = sec1::EcPrivateKey::from_der(der.secret_sec1_der()).ok()?;
                let curve = ec
                    .parameters
                    .and_then(|p| p.named_curve())
                    .map(|o| o.to_string());
                Some(Self::from_algorithm(OID_EC, curve, || 0))
            }
            K::Pkcs1(der) => Some(KeyKind::Rsa(rsa_bits(der.secret_pkcs1_der(), 1))),
            _ => None,
        }
    }

    /// The kind of a DER SubjectPublicKeyInfo (a certificate's or a CSR's key).
    pub fn of_spki(der: &[u8]) -> Option<KeyKind> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der).ok()?;
        let (oid, curve) = crate::x509::spki_algorithm(&spki);
        let key = spki.subject_public_key.data.clone();
        Some(Self::from_algorithm(&oid, curve, || rsa_bits(&key, 0)))
    }

    /// `None` when certlab can sign with such a key (and rustls can use it in a handshake);
    /// otherwise the message `unsupported: X key (supported: ...)`.
    pub fn unsupported(&self) -> Option<String> {
        self.unsupported_in("")
    }

    /// [`unsupported`](Self::unsupported) with where the key is, e.g. ` in the CSR`:
    /// `unsupported: X key in the CSR (supported: ...)`.
    pub fn unsupported_in(&self, place: &str) -> Option<String> {
        let usable = match self {
            KeyKind::Rsa(bits) => (2048..=8192).contains(bits),
            KeyKind::Ec(curve) => curve == "P-256" || curve == "P-384",
            KeyKind::Ed25519 => true,
            KeyKind::RsaPss(_) | KeyKind::Ed448 | KeyKind::Other(_) => false,
        };
        (!usable).then(|| format!("unsupported: {self} key{place} (supported: {SUPPORTED_KEYS})"))
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = |b: &usize| {
            if *b == 0 {
                String::new()
            } else {
                format!(" {b}-bit")
            }
        };
        match self {
            KeyKind::Rsa(b) => write!(f, "RSA{}", bits(b)),
            KeyKind::RsaPss(b) => write!(f, "RSA-PSS (id-RSASSA-PSS){}", bits(b)),
            KeyKind::Ec(curve) => write!(f, "EC {curve}"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Ed448 => f.write_str("Ed448"),
            KeyKind::Other(oid) => write!(f, "algorithm {oid}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_and_is_recognised() {
        for alg in ALL_KEY_ALGS {
            let key = alg.generate().unwrap();
            assert_eq!(KeyAlg::of(&key), Some(alg), "{alg}");
            assert_eq!(alg.name().parse::<KeyAlg>().unwrap(), alg);
        }
    }

    #[test]
    fn generated_keys_are_supported_and_their_kind_is_told() {
        for alg in ALL_KEY_ALGS {
            let key = alg.generate().unwrap();
            let kind = KeyKind::of_pkcs8(&key.serialize_der()).unwrap();
            assert_eq!(kind.unsupported(), None, "{alg}: {kind}");
            let spki = KeyKind::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&key));
            assert_eq!(spki, Some(kind.clone()), "{alg}");
            if alg == KeyAlg::Rsa3072 {
                assert_eq!(kind, KeyKind::Rsa(3072));
            }
        }
    }

    /// The version and whether a public key is present, as the `pkcs8` crate reads them.
    fn version(der: &[u8]) -> (pkcs8::Version, bool) {
        use pkcs8::der::Decode;
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).unwrap();
        (info.version(), info.public_key.is_some())
    }

    #[test]
    fn generated_keys_are_pkcs8_v1_without_public_key() {
        for alg in ALL_KEY_ALGS
            .into_iter()
            .filter(|a| !matches!(a, KeyAlg::Rsa3072 | KeyAlg::Rsa4096))
        {
            let der = alg.generate().unwrap().serialize_der();
            assert_eq!(version(&der), (pkcs8::Version::V1, false), "{alg}");
            if alg == KeyAlg::Ed25519 {
                // RFC 8410 section 7: 302e020100300506032b657004220420 || 32-byte seed.
                assert_eq!(der.len(), 48);
                assert_eq!(der[..5], [0x30, 0x2e, 0x02, 0x01, 0x00]);
            }
        }
    }

    #[test]
    fn a_v2_ed25519_key_becomes_v1_with_the_same_key() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let v2 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        assert_eq!(version(v2.as_ref()), (pkcs8::Version::V2, true));
        let v1 = pkcs8_v1(v2.as_ref()).expect("rewritten");
        assert_eq!(version(&v1), (pkcs8::Version::V1, false));
        // The same key: aws-lc's own v1 form, byte for byte, and the same public key.
        let pair = Ed25519KeyPair::from_pkcs8(v2.as_ref()).unwrap();
        assert_eq!(v1, pair.to_pkcs8v1().unwrap().as_ref());
        assert_eq!(
            Ed25519KeyPair::from_pkcs8(&v1)
                .unwrap()
                .public_key()
                .as_ref(),
            pair.public_key().as_ref()
        );
        // v1 and non-PKCS#8 input are left alone.
        assert_eq!(pkcs8_v1(&v1), None);
        assert_eq!(pkcs8_v1(b"not a key"), None);
    }

    #[test]
    fn unsupported_kinds_say_so_with_the_supported_list() {
        for kind in [
            KeyKind::Rsa(1024),
            KeyKind::RsaPss(2048),
            KeyKind::Ec("secp256k1".into()),
            KeyKind::Ed448,
        ] {
            let msg = kind.unsupported().expect("unsupported");
            assert!(
                msg.starts_with(&format!("unsupported: {kind} key"))
                    && msg.contains(SUPPORTED_KEYS),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_name_is_rejected_with_the_list() {
        let err = "rsa-1024".parse::<KeyAlg>().unwrap_err();
        assert!(
            err.contains("rsa-1024") && err.contains("ecdsa-p256"),
            "{err}"
        );
    }
}
