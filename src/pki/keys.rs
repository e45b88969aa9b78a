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

    /// Generates a fresh key pair.
    pub fn generate(self) -> Result<KeyPair, rcgen::Error> {
        let size = match self {
            KeyAlg::Rsa2048 => RsaKeySize::_2048,
            KeyAlg::Rsa3072 => RsaKeySize::_3072,
            KeyAlg::Rsa4096 => RsaKeySize::_4096,
            _ => return KeyPair::generate_for(self.signature_algorithm()),
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
    fn unknown_name_is_rejected_with_the_list() {
        let err = "rsa-1024".parse::<KeyAlg>().unwrap_err();
        assert!(
            err.contains("rsa-1024") && err.contains("ecdsa-p256"),
            "{err}"
        );
    }
}
