//! Make (and break) certificates: the in-memory PKI, its spec, issuing, faults and files.
//!
//! A [`Pki`] is what every other part works from: its [`Entity`]s (CAs and leaves, each with its
//! [`Fault`] and expected [`Outcome`]) and its [`Scenario`]s (what one endpoint presents and how
//! a client probes it).

pub mod csr;
pub mod drift;
pub mod export;
pub mod fault;
pub mod issue;
pub mod keys;
pub mod local_ca;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod names;
pub mod renew;
pub mod revoke;
pub mod scenario;
pub mod seed;
pub mod spec;
pub mod store;
pub mod txn;

use std::collections::BTreeMap;
use std::fmt;

use pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

pub use keys::KeyAlg;
pub use model::{Fault, FileLayout, Role, San};
pub use scenario::Scenario;
use scenario::{ClientSide, ServerSide};

use crate::outcome::Outcome;

/// A private key, PKCS#8 DER. Its `Debug` does not print the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps PKCS#8 DER bytes; a PKCS#8 v2 key (an Ed25519 key from aws-lc, or one written by
    /// an older certlab) is kept as v1, the form every client reads (see
    /// [`keys::pkcs8_v1`]), so that every key certlab writes is v1.
    pub fn from_pkcs8(der: Vec<u8>) -> Self {
        SecretKey(keys::pkcs8_v1(&der).unwrap_or(der))
    }

    /// The PKCS#8 DER bytes.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.0
    }

    /// As a rustls private key.
    pub fn to_private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.0.clone()))
    }

    /// PEM text (`PRIVATE KEY`).
    pub fn to_pem(&self) -> String {
        crate::pem::encode_block("PRIVATE KEY", &self.0)
    }

    /// As an rcgen key pair (to sign with, or to compare public keys).
    pub fn to_key_pair(&self) -> Result<rcgen::KeyPair, rcgen::Error> {
        rcgen::KeyPair::try_from(self.0.as_slice())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({} bytes)", self.0.len())
    }
}

/// One certificate of a PKI with its key, and what it is for.
#[derive(Debug, Clone)]
pub struct Entity {
    /// Unique name; the files are `NAME.pem`, `NAME.key`, `NAME.chain.pem`, `NAME.crl.pem`.
    pub name: String,
    /// Root, intermediate or leaf role.
    pub role: Role,
    /// The issuing entity's name (a root names itself, so does a self-signed leaf).
    pub issuer: String,
    /// The certificate, DER.
    pub cert: CertificateDer<'static>,
    /// The private key written beside it (for `key-mismatch`, another certificate's key).
    pub key: SecretKey,
    /// The key algorithm.
    pub key_alg: KeyAlg,
    /// Leaves: what a server sends, normally the leaf then its intermediates. Empty for CAs.
    pub chain: Vec<CertificateDer<'static>>,
    /// Issuers with revocations: their CRL.
    pub crl: Option<CertificateRevocationListDer<'static>>,
    /// The subject alternative names.
    pub sans: Vec<San>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// What was broken on purpose (`Fault::None` for good certificates and plain CAs).
    pub fault: Fault,
    /// certlab's strict verdict for this certificate (`None` where there is none to give, e.g.
    /// the helper CAs a fault made, or a `key-mismatch` that no server will serve).
    pub expected: Option<Outcome>,
    /// Per client (`openssl`, `curl`, `rustls`), the outcome a test ran and saw where it differs.
    pub expected_by_client: BTreeMap<String, Outcome>,
    /// Roots only: whether it goes into `ca.pem`.
    pub trusted: bool,
    /// CAs only: a digest of the spec the CA was made from, to notice a changed spec on reuse.
    pub spec_digest: Option<String>,
    /// The sub-directory of the PKI directory its files are in (`clients`), `None` for the
    /// top level (see [`LeafSpec::dir`](model::LeafSpec::dir)).
    pub dir: Option<String>,
    /// Leaves: three files or one (see [`FileLayout`]); CAs are always
    /// [`FileLayout::Separate`].
    pub files: FileLayout,
}

impl Entity {
    /// SHA-256 of the certificate's DER, lowercase hex without colons.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.cert)
    }

    /// Whether this entity is a CA.
    pub fn is_ca(&self) -> bool {
        self.role.is_ca()
    }

    /// What a server presents for this entity: its chain, or its certificate alone when it
    /// has no chain (a CA).
    pub fn chain_or_cert(&self) -> &[CertificateDer<'static>] {
        if self.chain.is_empty() {
            std::slice::from_ref(&self.cert)
        } else {
            &self.chain
        }
    }

    /// Its certificate's file, relative to the PKI directory (`NAME.pem`, in [`Entity::dir`]).
    pub fn cert_path(&self) -> String {
        self.path(manifest::cert_file(&self.name))
    }

    /// Its key's file, relative to the PKI directory: `NAME.key`, or `NAME.pem` when its
    /// files are [combined](FileLayout::Combined).
    pub fn key_path(&self) -> String {
        match self.files {
            FileLayout::Separate => self.path(manifest::key_file(&self.name)),
            FileLayout::Combined => self.cert_path(),
        }
    }

    /// Leaves: the file of the chain a server sends, relative to the PKI directory:
    /// `NAME.chain.pem`, or `NAME.pem` when its files are [combined](FileLayout::Combined).
    /// `None` for CAs.
    pub fn chain_path(&self) -> Option<String> {
        match (self.role.is_ca(), self.files) {
            (true, _) => None,
            (false, FileLayout::Separate) => Some(self.path(manifest::chain_file(&self.name))),
            (false, FileLayout::Combined) => Some(self.cert_path()),
        }
    }

    /// The path, relative to the PKI directory, of one of its files (`file` is a bare file
    /// name such as [`manifest::cert_file`]'s): inside [`Entity::dir`] when it has one.
    pub fn path(&self, file: String) -> String {
        match &self.dir {
            Some(dir) => format!("{dir}/{file}"),
            None => file,
        }
    }
}

/// Lowercase hex SHA-256 of some bytes (certificate fingerprints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// A whole PKI in memory: entities in issuing order (issuers before what they issue) and the
/// scenarios that serve them.
#[derive(Debug, Clone, Default)]
pub struct Pki {
    /// CAs and leaves, issuers first.
    pub entities: Vec<Entity>,
    /// Explicit scenarios from the spec (implicit ones come from [`Pki::all_scenarios`]).
    pub scenarios: Vec<Scenario>,
    /// A seeded PKI (keys and serials from a seed, see [`seed`]): the time it was issued at,
    /// which reproducing it needs. `None` for keys from the operating system's randomness.
    pub seeded_at: Option<OffsetDateTime>,
}

impl Pki {
    /// The entity with this name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The trusted roots, i.e. the content of `ca.pem`.
    pub fn trusted_roots(&self) -> impl Iterator<Item = &Entity> {
        self.entities
            .iter()
            .filter(|e| e.role == Role::Root && e.trusted)
    }

    /// Every intermediate CA certificate the PKI issued (what `--pki` knows beyond `ca.pem`).
    pub fn intermediates(&self) -> impl Iterator<Item = &Entity> {
        self.entities
            .iter()
            .filter(|e| e.role == Role::Intermediate)
    }

    /// The CRLs of all issuers that have one.
    pub fn crls(&self) -> impl Iterator<Item = &CertificateRevocationListDer<'static>> {
        self.entities.iter().filter_map(|e| e.crl.as_ref())
    }

    /// The issuer chain above an entity, nearest first, ending at its root (empty for a root or
    /// a self-signed leaf).
    pub fn issuers_of(&self, name: &str) -> Vec<&Entity> {
        let mut out = Vec::new();
        let mut current = self.entity(name);
        while let Some(e) = current {
            if e.issuer == e.name || out.len() > self.entities.len() {
                break;
            }
            current = self.entity(&e.issuer);
            if let Some(issuer) = current {
                out.push(issuer);
            }
        }
        out
    }

    /// The implicit scenario of a server entity: serve its chain, let a client that trusts
    /// `ca.pem` connect to `localhost` (or 127.0.0.1 for `ip-mismatch`), with the issuer's CRL
    /// for `revoked`.
    pub fn implicit_scenario(&self, entity: &Entity) -> Scenario {
        let fault = entity.fault;
        let crl = if self.entity(&entity.issuer).is_some_and(|i| i.crl.is_some()) {
            vec![entity.issuer.clone()]
        } else {
            vec![]
        };
        Scenario {
            name: entity.name.clone(),
            server: ServerSide {
                entity: Some(entity.name.clone()),
                ..ServerSide::default()
            },
            client: ClientSide {
                connect: fault.connects_by_ip().then(|| "127.0.0.1".to_string()),
                crl,
                ..ClientSide::default()
            },
            expected: entity.expected,
            expected_by_client: entity.expected_by_client.clone(),
            serve_error: fault.serve_error(),
        }
    }

    /// Explicit scenarios followed by one implicit scenario per servable server entity that no
    /// explicit scenario already uses by name (DESIGN.md section 5).
    pub fn all_scenarios(&self) -> Vec<Scenario> {
        let mut all = self.scenarios.clone();
        let explicit: std::collections::HashSet<&str> =
            self.scenarios.iter().map(|s| s.name.as_str()).collect();
        for e in &self.entities {
            if e.role.is_server() && e.fault.is_served() && !explicit.contains(e.name.as_str()) {
                all.push(self.implicit_scenario(e));
            }
        }
        all
    }
}
