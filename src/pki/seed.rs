//! Seeded (reproducible) PKIs: keys and serial numbers derived from a seed and each entity's
//! name, and deterministic signatures, so the same spec, seed and time give the same bytes on
//! every run and machine.
//!
//! **Seeded keys are for tests only**: anyone who knows the seed has every private key.
//!
//! # The derivation (version 1)
//!
//! `PRK = HKDF-Extract(salt = "certlab seed v1", IKM = the seed's UTF-8 bytes)` with
//! HKDF-SHA256 (RFC 5869); then, for an entity named `NAME`:
//!
//! | what | `info` of HKDF-Expand | length | how the bytes are used |
//! |------|------------------------|--------|------------------------|
//! | ECDSA P-256 key | `certlab v1 key ecdsa-p256 NAME C` | 32 | big-endian private scalar |
//! | ECDSA P-384 key | `certlab v1 key ecdsa-p384 NAME C` | 48 | big-endian private scalar |
//! | Ed25519 key | `certlab v1 key ed25519 NAME 0` | 32 | the RFC 8032 private key (seed) |
//! | RSA key | `certlab v1 key rsa-BITS NAME 0` | 32 | the seed of a ChaCha20 RNG (`rand_chacha` `ChaCha20Rng::from_seed`) given to the `rsa` crate's `PrivateKey::new(rng, BITS)` (e = 65537) |
//! | serial number | `certlab v1 serial NAME` | 16 | first byte `(b & 0x7f) \| 0x40`, then big-endian |
//!
//! `C` is a counter from `0`: an ECDSA scalar that is zero or not below the group order (a
//! chance of about 2⁻³² for P-256) is skipped by trying the next counter. The key a
//! `key-mismatch` fault writes in place of the leaf's own is derived for the name `NAME#other`
//! (`#` cannot appear in an entity name). Keys are written as PKCS#8; ECDSA signatures follow
//! RFC 6979 (deterministic nonces); Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic by
//! nature. RSA keys depend on the `rsa` crate's prime generation as well, so they are the same
//! across machines for one `Cargo.lock`, not necessarily across `rsa` versions.

use hkdf::Hkdf;
use rcgen::{KeyPair, PublicKeyData, SerialNumber, SignatureAlgorithm, SigningKey};
use sha2::Sha256;

use super::KeyAlg;

/// The HKDF salt of the derivation (its version is part of it).
pub const SALT: &[u8] = b"certlab seed v1";

/// The name suffix whose key a `key-mismatch` fault writes instead of the leaf's own.
pub const OTHER_KEY_SUFFIX: &str = "#other";

/// A seed: the HKDF pseudo-random key every seeded key and serial is expanded from.
#[derive(Clone)]
pub struct Seed {
    hkdf: Hkdf<Sha256>,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

/// Why a seeded key could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The seed is empty.
    #[error("the seed is empty: give a non-empty text")]
    Empty,
    /// The derived key was refused (should not happen).
    #[error("cannot derive the {alg} key of `{name}`: {message}")]
    Key {
        /// The key algorithm.
        alg: KeyAlg,
        /// The entity.
        name: String,
        /// What failed.
        message: String,
    },
}

impl Seed {
    /// The seed of this text (any non-empty UTF-8 text).
    pub fn new(seed: &str) -> Result<Self, SeedError> {
        if seed.is_empty() {
            return Err(SeedError::Empty);
        }
        Ok(Seed {
            hkdf: Hkdf::<Sha256>::new(Some(SALT), seed.as_bytes()),
        })
    }

    /// HKDF-Expand with this `info` into `out`.
    pub fn expand(&self, info: &str, out: &mut [u8]) {
        self.hkdf
            .expand(info.as_bytes(), out)
            .expect("at most 255 * 32 bytes");
    }

    /// The serial number of the certificate of entity `name`.
    pub fn serial(&self, name: &str) -> SerialNumber {
        let mut bytes = [0u8; 16];
        self.expand(&format!("certlab v1 serial {name}"), &mut bytes);
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        SerialNumber::from_slice(&bytes)
    }

    /// The key of `alg` for entity `name`, with RFC 6979 ECDSA signing.
    pub fn key(&self, alg: KeyAlg, name: &str) -> Result<Key, SeedError> {
        let fail = |message: String| SeedError::Key {
            alg,
            name: name.to_string(),
            message,
        };
        let info = |counter: u32| format!("certlab v1 key {} {name} {counter}", alg.name());
        let pkcs8: Vec<u8> = match alg {
            KeyAlg::EcdsaP256 => {
                use p256::pkcs8::EncodePrivateKey;
                let secret = (0..)
                    .find_map(|c| {
                        let mut b = [0u8; 32];
                        self.expand(&info(c), &mut b);
                        p256::SecretKey::from_slice(&b).ok()
                    })
                    .expect("a valid scalar within a few tries");
                secret
                    .to_pkcs8_der()
                    .map_err(|e| fail(e.to_string()))?
                    .as_bytes()
                    .to_vec()
            }
            KeyAlg::EcdsaP384 => {
                use p384::pkcs8::EncodePrivateKey;
                let secret = (0..)
                    .find_map(|c| {
                        let mut b = [0u8; 48];
                        self.expand(&info(c), &mut b);
                        p384::SecretKey::from_slice(&b).ok()
                    })
                    .expect("a valid scalar within a few tries");
                secret
                    .to_pkcs8_der()
                    .map_err(|e| fail(e.to_string()))?
                    .as_bytes()
                    .to_vec()
            }
            KeyAlg::Ed25519 => {
                let mut b = [0u8; 32];
                self.expand(&info(0), &mut b);
                ed25519_pkcs8(&b)
            }
            KeyAlg::Rsa2048 | KeyAlg::Rsa3072 | KeyAlg::Rsa4096 => {
                use rand_chacha::rand_core::SeedableRng;
                use rsa::pkcs8::EncodePrivateKey;
                let bits = match alg {
                    KeyAlg::Rsa2048 => 2048,
                    KeyAlg::Rsa3072 => 3072,
                    _ => 4096,
                };
                let mut b = [0u8; 32];
                self.expand(&info(0), &mut b);
                let mut rng = rand_chacha::ChaCha20Rng::from_seed(b);
                let key = rsa::PrivateKey::new(&mut rng, bits).map_err(|e| fail(e.to_string()))?;
                key.to_pkcs8_der()
                    .map_err(|e| fail(e.to_string()))?
                    .as_bytes()
                    .to_vec()
            }
        };
        Key::deterministic(&pkcs8).map_err(|e| fail(e.to_string()))
    }
}

/// PKCS#8 v1 (RFC 8410) of an Ed25519 private key: `302e020100300506032b657004220420 || seed`.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// A signing key for rcgen: aws-lc's key pair, and for a seeded PKI's ECDSA keys an RFC 6979
/// signer (aws-lc's ECDSA signatures use random nonces; its Ed25519 and RSA PKCS#1 v1.5
/// signatures are deterministic already).
pub struct Key {
    pair: KeyPair,
    rfc6979: Option<Rfc6979>,
}

enum Rfc6979 {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl Key {
    /// aws-lc signing (random ECDSA nonces): what an unseeded PKI uses.
    pub fn random_nonces(pair: KeyPair) -> Self {
        Key {
            pair,
            rfc6979: None,
        }
    }

    /// The key of this PKCS#8 DER, with deterministic (RFC 6979) ECDSA signatures.
    pub fn deterministic(pkcs8: &[u8]) -> Result<Self, rcgen::Error> {
        let pair = KeyPair::try_from(pkcs8)?;
        let bad = |_| rcgen::Error::CouldNotParseKeyPair;
        let rfc6979 = if pair.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
            use p256::pkcs8::DecodePrivateKey;
            Some(Rfc6979::P256(
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(bad)?,
            ))
        } else if pair.algorithm() == &rcgen::PKCS_ECDSA_P384_SHA384 {
            use p384::pkcs8::DecodePrivateKey;
            Some(Rfc6979::P384(
                p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(bad)?,
            ))
        } else {
            None
        };
        Ok(Key { pair, rfc6979 })
    }

    /// The rcgen key pair (public key, PKCS#8 serialisation).
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }

    /// The PKCS#8 DER of the private key.
    pub fn serialize_der(&self) -> Vec<u8> {
        self.pair.serialize_der()
    }
}

impl PublicKeyData for Key {
    fn der_bytes(&self) -> &[u8] {
        self.pair.der_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.pair.algorithm()
    }
}

impl SigningKey for Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer;
        Ok(match &self.rfc6979 {
            None => self.pair.sign(msg)?,
            Some(Rfc6979::P256(k)) => {
                let sig: p256::ecdsa::DerSignature = k.sign(msg);
                sig.as_bytes().to_vec()
            }
            Some(Rfc6979::P384(k)) => {
                let sig: p384::ecdsa::DerSignature = k.sign(msg);
                sig.as_bytes().to_vec()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keys::ALL_KEY_ALGS;

    #[test]
    fn same_seed_same_keys_and_signatures_other_seed_other_keys() {
        let a = Seed::new("one").unwrap();
        let b = Seed::new("two").unwrap();
        for alg in ALL_KEY_ALGS.into_iter().filter(|a| !a.is_rsa()) {
            let k1 = a.key(alg, "x").unwrap();
            let k2 = a.key(alg, "x").unwrap();
            assert_eq!(k1.serialize_der(), k2.serialize_der(), "{alg}");
            assert_eq!(KeyAlg::of(k1.pair()), Some(alg));
            assert_eq!(k1.sign(b"m").unwrap(), k2.sign(b"m").unwrap(), "{alg}");
            assert_ne!(k1.serialize_der(), b.key(alg, "x").unwrap().serialize_der());
            assert_ne!(k1.serialize_der(), a.key(alg, "y").unwrap().serialize_der());
        }
        assert_eq!(a.serial("x"), a.serial("x"));
        assert_ne!(a.serial("x"), a.serial("y"));
    }

    #[test]
    fn rfc6979_signatures_verify() {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, UnparsedPublicKey,
        };
        let seed = Seed::new("verify").unwrap();
        for (alg, verify) in [
            (KeyAlg::EcdsaP256, &ECDSA_P256_SHA256_ASN1),
            (KeyAlg::EcdsaP384, &ECDSA_P384_SHA384_ASN1),
        ] {
            let key = seed.key(alg, "k").unwrap();
            let sig = key.sign(b"message").unwrap();
            UnparsedPublicKey::new(verify, key.der_bytes())
                .verify(b"message", &sig)
                .unwrap_or_else(|_| panic!("{alg}"));
        }
    }

    /// HKDF-SHA256 written out from RFC 5869 with aws-lc's HMAC: the derivation the module
    /// documentation (and the README) describes, checked against an independent implementation.
    fn rfc5869(seed: &str, info: &str, len: usize) -> Vec<u8> {
        use aws_lc_rs::hmac;
        let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SALT), seed.as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
        let (mut out, mut t) = (Vec::new(), Vec::new());
        for i in 1u8.. {
            if out.len() >= len {
                break;
            }
            let mut msg = t.clone();
            msg.extend_from_slice(info.as_bytes());
            msg.push(i);
            t = hmac::sign(&key, &msg).as_ref().to_vec();
            out.extend_from_slice(&t);
        }
        out.truncate(len);
        out
    }

    #[test]
    fn the_documented_derivation_is_the_one_used() {
        let seed = Seed::new("readme").unwrap();
        let ed = seed.key(KeyAlg::Ed25519, "root").unwrap().serialize_der();
        assert_eq!(
            ed[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        assert_eq!(
            ed[16..],
            rfc5869("readme", "certlab v1 key ed25519 root 0", 32)
        );

        use p256::pkcs8::DecodePrivateKey;
        let der = seed.key(KeyAlg::EcdsaP256, "web").unwrap().serialize_der();
        let scalar = p256::SecretKey::from_pkcs8_der(&der).unwrap().to_bytes();
        assert_eq!(
            scalar[..],
            rfc5869("readme", "certlab v1 key ecdsa-p256 web 0", 32)
        );
        let der = seed.key(KeyAlg::EcdsaP384, "web").unwrap().serialize_der();
        let scalar = p384::SecretKey::from_pkcs8_der(&der).unwrap().to_bytes();
        assert_eq!(
            scalar[..],
            rfc5869("readme", "certlab v1 key ecdsa-p384 web 0", 48)
        );

        let mut serial = rfc5869("readme", "certlab v1 serial web", 16);
        serial[0] = (serial[0] & 0x7f) | 0x40;
        assert_eq!(seed.serial("web").to_bytes(), serial);
    }

    #[test]
    fn empty_seed_is_refused() {
        assert!(matches!(Seed::new(""), Err(SeedError::Empty)));
    }
}
