//! Issuing with rcgen: roots, intermediates, leaves and CRLs, faults included.
//!
//! [`CaSpec`] and [`LeafSpec`] are validated requests (from a TOML spec, the fixture API or the
//! `cert` command); a [`Builder`] turns them into [`Entity`]s, keeping each CA's rcgen
//! [`Issuer`] so a leaf costs one key generation and one signature.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use pki_types::CertificateDer;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CidrSubnet,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, NameConstraints, RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;

use super::fault::{self, KeyChoice, Signer};
use super::model::{
    CaSpec, DEFAULT_LEAF_VALIDITY, Fault, ID_PLACEHOLDER, IpRange, LeafSpec, NameConstraintSpec,
    Subject, Validity, backdated, default_root_cn,
};
use super::seed::{Key, OTHER_KEY_SUFFIX, Seed, SeedError};
use super::{Entity, KeyAlg, Pki, Role, San, SecretKey};

/// Refuses validity dates before the Unix epoch (see [`IssueError::BeforeEpoch`]).
fn not_before_epoch(name: &str, params: &rcgen::CertificateParams) -> Result<(), IssueError> {
    if params.not_before < OffsetDateTime::UNIX_EPOCH
        || params.not_after < OffsetDateTime::UNIX_EPOCH
    {
        return Err(IssueError::BeforeEpoch(name.to_string()));
    }
    Ok(())
}

/// The subject as rcgen's distinguished name (the CN defaults to `default_cn`).
fn distinguished_name(subject: &Subject, default_cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    let fields = [
        (DnType::CountryName, &subject.c),
        (DnType::StateOrProvinceName, &subject.st),
        (DnType::LocalityName, &subject.l),
        (DnType::OrganizationName, &subject.o),
        (DnType::OrganizationalUnitName, &subject.ou),
    ];
    for (ty, value) in fields {
        if let Some(v) = value {
            dn.push(ty, v.as_str());
        }
    }
    dn.push(
        DnType::CommonName,
        subject.cn.as_deref().unwrap_or(default_cn),
    );
    dn
}

/// A CA's subject with its CN settled: [`ID_PLACEHOLDER`] replaced by the first six hex digits
/// of the CA's key identifier (SHA-256 of its public key, as its subjectKeyIdentifier), and a
/// root without a CN named [`default_root_cn`]. Same key, same name: deterministic under a
/// seed, and two PKIs' roots differ by name whenever they differ by key.
fn ca_subject(spec: &CaSpec, key: &Key) -> Subject {
    let mut subject = spec.subject.clone();
    if subject.cn.is_none() && spec.issuer.is_none() {
        subject.cn = Some(default_root_cn(&spec.name));
    }
    if let Some(cn) = &mut subject.cn
        && cn.contains(ID_PLACEHOLDER)
    {
        // The default method is SHA-256, as for the subjectKeyIdentifier written below.
        let id: String = CertificateParams::default()
            .key_identifier(key)
            .iter()
            .take(3)
            .map(|b| format!("{b:02x}"))
            .collect();
        *cn = cn.replace(ID_PLACEHOLDER, &id);
    }
    subject
}

/// The name constraints as rcgen's, `None` when there are none.
fn name_constraints(spec: &NameConstraintSpec) -> Option<NameConstraints> {
    let subtrees =
        |dns: &[String], ip: &[IpRange]| {
            dns.iter()
                .map(|d| GeneralSubtree::DnsName(d.clone()))
                .chain(ip.iter().map(|r| {
                    GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(r.addr, r.prefix))
                }))
                .collect::<Vec<_>>()
        };
    let nc = NameConstraints {
        permitted_subtrees: subtrees(&spec.permitted_dns, &spec.permitted_ip),
        excluded_subtrees: subtrees(&spec.excluded_dns, &spec.excluded_ip),
    };
    (!nc.permitted_subtrees.is_empty() || !nc.excluded_subtrees.is_empty()).then_some(nc)
}

/// A digest of everything that defines a CA request, recorded in the manifest so that a
/// regeneration notices a changed spec.
pub fn ca_spec_digest(spec: &CaSpec) -> String {
    super::sha256_hex(
        serde_json::to_string(spec)
            .expect("serialisable")
            .as_bytes(),
    )
}

/// Why issuing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// rcgen refused (bad SAN encoding, key generation failure, ...).
    #[error("cannot issue `{name}`: {source}")]
    Rcgen {
        /// The entity.
        name: String,
        /// rcgen's error.
        source: rcgen::Error,
    },
    /// The named issuer is not a CA of this PKI.
    #[error("`{name}`: issuer `{issuer}` is not a CA of this PKI")]
    UnknownIssuer {
        /// The entity.
        name: String,
        /// The missing issuer.
        issuer: String,
    },
    /// The validity would end after 9999-12-31, which X.509 cannot encode.
    #[error("`{0}`: its validity would end after 9999-12-31, the last date a certificate can hold")]
    Validity(String),
    /// Two entities with one name.
    #[error("two entities are named `{0}`")]
    DuplicateName(String),
    /// A date before the Unix epoch, which verifiers (webpki among them) cannot represent.
    #[error(
        "`{0}`: its validity would reach back before 1970-01-01T00:00:00Z, which verifiers cannot represent (the `expired` faults end a day before the time of issue; the earliest time of issue that works is 1970-01-02T00:00:00Z)"
    )]
    BeforeEpoch(String),
    /// A name that cannot be a file name in the output directory.
    #[error(transparent)]
    BadName(#[from] super::names::NameError),
    /// A seeded key could not be derived.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// A leaf with [combined files](super::FileLayout::Combined) whose served chain does not
    /// start with its certificate (`reversed-chain`): the one file could not say which
    /// certificate is the leaf's.
    #[error(
        "`{0}`: files = \"combined\" needs a chain that starts with the leaf's certificate (the fault `reversed-chain` sends another first): use separate files for it"
    )]
    CombinedChain(String),
    /// The CRL an existing CA comes with cannot be read (its next CRL needs its number).
    #[error("`{name}`: {message}")]
    UnreadableCrl {
        /// The CA.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The environment variable that caps the threads [`Builder::add_leaves`] issues on (default:
/// every core).
pub const THREADS_ENV: &str = "CERTLAB_THREADS";

/// The threads to issue on: `CERTLAB_THREADS` when set to a positive number, else every core.
pub fn default_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(available_cores)
}

/// The cores this process may run on ([`std::thread::available_parallelism`], which reads
/// the CPU affinity and cgroup quota files on each call: asked once per process).
pub fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A fresh ECDSA key of a leaf: its PKCS#8 (v1, as [`KeyAlg::generate`] writes it) and its
/// public key, which is all that issuing the leaf's certificate needs.
struct FreshEcKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    alg: &'static rcgen::SignatureAlgorithm,
}

impl FreshEcKey {
    /// A new key for `alg` from the operating system's randomness; `None` for an algorithm
    /// other than ECDSA P-256 or P-384.
    fn generate(alg: KeyAlg) -> Option<Result<FreshEcKey, aws_lc_rs::error::Unspecified>> {
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
        let signing = match alg {
            KeyAlg::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            KeyAlg::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            _ => return None,
        };
        Some((|| {
            let pair = EcdsaKeyPair::generate(signing)?;
            Ok(FreshEcKey {
                pkcs8: pair.to_pkcs8v1()?.as_ref().to_vec(),
                public: pair.public_key().as_ref().to_vec(),
                alg: alg.signature_algorithm(),
            })
        })())
    }
}

impl rcgen::PublicKeyData for FreshEcKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

/// A leaf issued but not yet in the PKI: its entity and, for `revoked`, the serial its issuer's
/// CRL lists.
struct Issued {
    entity: Entity,
    revoked: Option<SerialNumber>,
}

/// A CA issued but not yet in the PKI: its entity and what signs with its key.
struct NewCa {
    entity: Entity,
    issuer: Issuer<'static, Key>,
}

/// Issues entities into a [`Pki`]: CAs one after the other, leaves of one issuer in parallel
/// ([`Builder::add_leaves`]).
pub struct Builder {
    now: OffsetDateTime,
    pki: Pki,
    issuers: HashMap<String, Issuer<'static, Key>>,
    revoked: BTreeMap<String, Vec<SerialNumber>>,
    /// The CRLs the CAs of [`Builder::add_existing_ca`] came with: a new CRL of such a CA
    /// continues it (its entries and more, the next number).
    prior_crls: HashMap<String, OldCrl>,
    seed: Option<Seed>,
    /// Every entity name so far (a lookup per new name, not a scan of the PKI).
    names: HashSet<String>,
    threads: usize,
}

impl Builder {
    /// An empty PKI issued at `now`, with keys and serials from the operating system's
    /// randomness.
    pub fn new(now: OffsetDateTime) -> Self {
        Builder {
            now,
            pki: Pki::default(),
            issuers: HashMap::new(),
            revoked: BTreeMap::new(),
            prior_crls: HashMap::new(),
            seed: None,
            names: HashSet::new(),
            threads: default_threads(),
        }
    }

    /// Issues on at most `threads` threads (1: one after the other; the default is
    /// [`default_threads`]). The result does not depend on it: a seeded PKI is byte-identical
    /// whatever the thread count, and entities are in request order.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Adds an entity to the PKI (its name is already checked).
    fn push(&mut self, entity: Entity) -> &Entity {
        self.names.insert(entity.name.clone());
        self.pki.entities.push(entity);
        self.pki.entities.last().expect("just pushed")
    }

    /// An empty PKI issued at `now` whose keys and serial numbers derive from `seed` and each
    /// entity's name, with deterministic signatures (see [`super::seed`]): the same requests
    /// at the same `now` give byte-identical certificates, keys and CRLs. For tests only:
    /// whoever knows the seed has the keys.
    ///
    /// ```
    /// use certlab::pki::issue::Builder;
    /// use certlab::pki::model::{CaSpec, LeafSpec};
    /// use certlab::pki::{Role, San};
    /// let now = time::macros::datetime!(2030-01-01 00:00 UTC);
    /// let build = || {
    ///     let mut b = Builder::seeded(now, "my-tests").unwrap();
    ///     b.add_ca(&CaSpec { name: "root".into(), ..CaSpec::default() }).unwrap();
    ///     b.add_leaf(&LeafSpec::new("web", "root", Role::Server, vec![San::Dns("web.test".into())]))
    ///         .unwrap();
    ///     b.finish().unwrap()
    /// };
    /// let (one, two) = (build(), build());
    /// for (a, b) in one.entities.iter().zip(&two.entities) {
    ///     assert_eq!(a.cert, b.cert);
    ///     assert_eq!(a.key, b.key);
    /// }
    /// ```
    pub fn seeded(now: OffsetDateTime, seed: &str) -> Result<Self, IssueError> {
        let mut builder = Builder::new(now);
        builder.seed = Some(Seed::new(seed)?);
        builder.pki.seeded_at = Some(now);
        Ok(builder)
    }

    /// Whether keys and serials come from a seed.
    pub fn is_seeded(&self) -> bool {
        self.seed.is_some()
    }

    /// A new key for entity `name` (`#other` names the key a `key-mismatch` fault writes).
    fn new_key(&self, alg: KeyAlg, name: &str) -> Result<Key, IssueError> {
        match &self.seed {
            Some(seed) => Ok(seed.key(alg, name)?),
            None => alg
                .generate()
                .map(Key::random_nonces)
                .map_err(|source| IssueError::Rcgen {
                    name: name.to_string(),
                    source,
                }),
        }
    }

    /// The serial number of entity `name`'s certificate.
    fn serial(&self, name: &str) -> SerialNumber {
        match &self.seed {
            Some(seed) => seed.serial(name),
            None => random_serial(),
        }
    }

    /// The time certificates are issued at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The PKI so far.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The PKI so far, to change in place (a fixture renewing a leaf).
    pub(crate) fn pki_mut(&mut self) -> &mut Pki {
        &mut self.pki
    }

    /// Adds an existing CA (certificate and key from a previous run) as an issuer, unchanged.
    pub fn add_existing_ca(&mut self, entity: Entity) -> Result<(), IssueError> {
        let err = |source| IssueError::Rcgen {
            name: entity.name.clone(),
            source,
        };
        let key = match &self.seed {
            Some(_) => Key::deterministic(entity.key.pkcs8_der()).map_err(err)?,
            None => Key::random_nonces(entity.key.to_key_pair().map_err(err)?),
        };
        let issuer = Issuer::from_ca_cert_der(&entity.cert, key).map_err(err)?;
        self.check_new_name(&entity.name)?;
        if let Some(crl) = &entity.crl {
            let prior = read_crl(crl).map_err(|message| IssueError::UnreadableCrl {
                name: entity.name.clone(),
                message,
            })?;
            self.prior_crls.insert(entity.name.clone(), prior);
        }
        self.issuers.insert(entity.name.clone(), issuer);
        self.push(entity);
        Ok(())
    }

    fn check_new_name(&self, name: &str) -> Result<(), IssueError> {
        super::names::entity_name(name)?;
        if self.names.contains(name) {
            return Err(IssueError::DuplicateName(name.to_string()));
        }
        Ok(())
    }

    /// Issues a CA: self-signed when `spec.issuer` is `None`, else signed by that CA.
    pub fn add_ca(&mut self, spec: &CaSpec) -> Result<&Entity, IssueError> {
        let ca = self.issue_ca(spec, &[])?;
        Ok(self.insert_ca(ca))
    }

    /// Adds an issued CA (its name is already checked).
    fn insert_ca(&mut self, ca: NewCa) -> &Entity {
        self.issuers.insert(ca.entity.name.clone(), ca.issuer);
        self.push(ca.entity)
    }

    /// Issues a CA without adding it (safe to call from several threads): its issuer is one of
    /// `helpers` (CAs issued before it for the same leaf) or a CA of the PKI.
    fn issue_ca(&self, spec: &CaSpec, helpers: &[NewCa]) -> Result<NewCa, IssueError> {
        self.check_new_name(&spec.name)?;
        if helpers.iter().any(|h| h.entity.name == spec.name) {
            return Err(IssueError::DuplicateName(spec.name.clone()));
        }
        let err = |source| IssueError::Rcgen {
            name: spec.name.clone(),
            source,
        };
        // The key first: a root's default CN (and any `{id}` in a CA's CN) names its key.
        let key = self.new_key(spec.key, &spec.name)?;
        let mut params = base_params(
            &spec.name,
            &distinguished_name(&ca_subject(spec, &key), &spec.name),
            spec.validity,
            self.now,
            self.serial(&spec.name),
        )?;
        params.is_ca = IsCa::Ca(match spec.path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.name_constraints = name_constraints(&spec.name_constraints);
        fault::apply_to_ca(spec.fault, &mut params, self.now);
        not_before_epoch(&spec.name, &params)?;
        // Pin the subject key identifier so the Issuer below and the certificate agree.
        params.key_identifier_method = KeyIdMethod::PreSpecified(params.key_identifier(&key));
        params.use_authority_key_identifier_extension = true;
        let (cert, role, issuer_name) = match &spec.issuer {
            None => (
                params.self_signed(&key).map_err(err)?,
                Role::Root,
                spec.name.clone(),
            ),
            Some(issuer_name) => {
                let issuer = self.issuer_among(helpers, &spec.name, issuer_name)?;
                (
                    params.signed_by(&key, issuer).map_err(err)?,
                    Role::Intermediate,
                    issuer_name.clone(),
                )
            }
        };
        let entity = Entity {
            name: spec.name.clone(),
            role,
            issuer: issuer_name,
            cert: cert.der().clone(),
            key: SecretKey::from_pkcs8(key.serialize_der()),
            key_alg: spec.key,
            chain: vec![],
            crl: None,
            sans: vec![],
            not_before: params.not_before,
            not_after: params.not_after,
            fault: spec.fault,
            expected: (spec.fault == Fault::None).then_some(crate::outcome::Outcome::Ok),
            expected_by_client: BTreeMap::new(),
            trusted: role == Role::Root && spec.trusted,
            spec_digest: Some(ca_spec_digest(spec)),
            dir: None,
            files: super::FileLayout::Separate,
        };
        Ok(NewCa {
            entity,
            issuer: Issuer::new(params, key),
        })
    }

    fn issuer(&self, name: &str, issuer: &str) -> Result<&Issuer<'static, Key>, IssueError> {
        self.issuer_among(&[], name, issuer)
    }

    /// The issuer named `issuer` among `helpers`, else among the PKI's CAs.
    fn issuer_among<'a>(
        &'a self,
        helpers: &'a [NewCa],
        name: &str,
        issuer: &str,
    ) -> Result<&'a Issuer<'static, Key>, IssueError> {
        helpers
            .iter()
            .find(|h| h.entity.name == issuer)
            .map(|h| &h.issuer)
            .or_else(|| self.issuers.get(issuer))
            .ok_or_else(|| IssueError::UnknownIssuer {
                name: name.to_string(),
                issuer: issuer.to_string(),
            })
    }

    /// The root at the top of `name`'s issuer chain (itself for a root).
    fn root_of(&self, name: &str) -> Option<&Entity> {
        let issuers = self.pki.issuers_of(name);
        issuers.last().copied().or_else(|| self.pki.entity(name))
    }

    /// Issues a leaf, applying its fault (which may first issue helper CAs).
    pub fn add_leaf(&mut self, spec: &LeafSpec) -> Result<&Entity, IssueError> {
        self.check_new_name(&spec.name)?;
        let issued = self.issue_with_helpers(spec, &|_| false)?;
        self.insert_with_helpers(issued)
    }

    /// Issues leaves, in parallel on [`Builder::with_threads`] threads (a leaf whose fault
    /// needs helper CAs issues them on its thread too), and adds them in request order, each
    /// after its helper CAs: the PKI is the same as from `add_leaf` on each in turn.
    /// `progress` is called with the number of leaves just issued (from any thread).
    pub fn add_leaves(
        &mut self,
        specs: &[LeafSpec],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), IssueError> {
        self.add_leaves_streaming(specs, progress, &|_| {})
    }

    /// [`Builder::add_leaves`], also handing each leaf to `issued` on the thread that issued
    /// it, as soon as it is issued (to write its files while the other leaves are issued).
    /// Leaves with a fault that needs helper CAs, or whose issuer is no CA, are not handed
    /// over.
    pub fn add_leaves_streaming(
        &mut self,
        specs: &[LeafSpec],
        progress: &(dyn Fn(u64) + Sync),
        hook: &(dyn Fn(&Entity) + Sync),
    ) -> Result<(), IssueError> {
        // A leaf whose issuer is no CA yet (a helper CA of an earlier leaf, which `add_leaf`
        // one by one has added by then) is issued after the leaves before it are added.
        let mut start = 0;
        while start < specs.len() {
            let end = (start + 1..specs.len())
                .find(|&i| !self.issuers.contains_key(&specs[i].issuer))
                .unwrap_or(specs.len());
            self.add_leaf_run(&specs[start..end], progress, hook)?;
            start = end;
        }
        Ok(())
    }

    /// [`Builder::add_leaves_streaming`] for leaves whose issuers are CAs already (but for the
    /// first).
    fn add_leaf_run(
        &mut self,
        specs: &[LeafSpec],
        progress: &(dyn Fn(u64) + Sync),
        hook: &(dyn Fn(&Entity) + Sync),
    ) -> Result<(), IssueError> {
        // Each name is checked where `add_leaf` one by one checks it (errors in request
        // order): against the PKI and the names the leaves before it take (theirs and their
        // helper CAs'), the first taker's index kept.
        let helped: Vec<bool> = specs.iter().map(needs_helper_cas).collect();
        let mut taken: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            taken.entry(Cow::Borrowed(&spec.name)).or_insert(i);
            if helped[i] {
                for ca in fault::helper_cas(spec.fault, &spec.name, &spec.issuer, Subject::default)
                {
                    taken.entry(Cow::Owned(ca.name)).or_insert(i);
                }
            }
        }
        let taken = &taken;
        let taken_before = |i: usize| move |name: &str| taken.get(name).is_some_and(|&j| j < i);
        // The chain of intermediates, once per issuer (not a walk of the PKI per leaf).
        let mut chains: HashMap<&str, Vec<CertificateDer<'static>>> = HashMap::new();
        for (spec, helped) in specs.iter().zip(&helped) {
            if !helped && !chains.contains_key(spec.issuer.as_str()) {
                chains.insert(&spec.issuer, self.intermediates(&spec.issuer));
            }
        }
        let issue = |i: usize| {
            let spec = &specs[i];
            let name_taken = self.check_new_name(&spec.name).and_then(|()| {
                if taken_before(i)(&spec.name) {
                    return Err(IssueError::DuplicateName(spec.name.clone()));
                }
                Ok(())
            });
            // A leaf of an unknown issuer fails as `add_leaf` fails it (issuer first).
            let issued = if let Err(e) = name_taken {
                Err(e)
            } else if helped[i] || !self.issuers.contains_key(&spec.issuer) {
                self.issue_with_helpers(spec, &taken_before(i))
            } else {
                let chain = &chains[spec.issuer.as_str()];
                let issued = self.issue_leaf(spec, &spec.issuer, chain, &[]);
                if let Ok(i) = &issued {
                    hook(&i.entity);
                }
                issued.map(|i| (Vec::new(), i))
            };
            progress(1);
            issued
        };
        // A thread for every few leaves (a thread costs about as much as a leaf), and small
        // units of work so that two threads finish together on a short, uneven batch (the lab's
        // leaves with helper CAs cost two or three times a plain one).
        let threads = self.threads.min(specs.len().div_ceil(4)).max(1);
        let chunk = (specs.len() / (threads * 4)).clamp(1, CHUNK);
        let results: Vec<Result<(Vec<NewCa>, Issued), IssueError>> = if threads == 1 {
            (0..specs.len()).map(issue).collect()
        } else {
            let next = AtomicUsize::new(0);
            let work = || {
                let mut done = Vec::new();
                loop {
                    let from = next.fetch_add(chunk, Ordering::Relaxed);
                    if from >= specs.len() {
                        break done;
                    }
                    let to = (from + chunk).min(specs.len());
                    done.push((from, (from..to).map(issue).collect::<Vec<_>>()));
                }
            };
            let mut parts: Vec<(usize, Vec<_>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
                let mut parts = work();
                for h in handles {
                    parts.extend(h.join().expect("an issuing thread panicked"));
                }
                parts
            });
            parts.sort_by_key(|(from, _)| *from);
            parts.into_iter().flat_map(|(_, part)| part).collect()
        };
        self.pki.entities.reserve(results.len());
        self.names.reserve(results.len());
        for issued in results {
            self.insert_with_helpers(issued?)?;
        }
        Ok(())
    }

    /// Issues a leaf and the helper CAs its fault needs first (none for most faults), without
    /// adding them: safe to call from several threads. A helper CA's name is refused when it
    /// is in the PKI or `taken` (by the leaves before this one of a batch).
    fn issue_with_helpers(
        &self,
        spec: &LeafSpec,
        taken: &dyn Fn(&str) -> bool,
    ) -> Result<(Vec<NewCa>, Issued), IssueError> {
        let plan = fault::leaf_plan(spec.fault);
        let mut helpers: Vec<NewCa> = Vec::new();
        let mut issuer_name = spec.issuer.clone();
        if plan.signer == Signer::Issuer {
            let root = self
                .root_of(&spec.issuer)
                .ok_or_else(|| IssueError::UnknownIssuer {
                    name: spec.name.clone(),
                    issuer: spec.issuer.clone(),
                })?;
            let root_name = root.name.clone();
            // Only a same-name root copies the real root's subject: parse it only then.
            let root_subject = || subject_of(root);
            for helper in fault::helper_cas(spec.fault, &spec.name, &root_name, root_subject) {
                if taken(&helper.name) {
                    return Err(IssueError::DuplicateName(helper.name));
                }
                let ca = self.issue_ca(&helper, &helpers)?;
                issuer_name = ca.entity.name.clone();
                helpers.push(ca);
            }
        }
        let intermediates = self.intermediates_among(&helpers, &issuer_name);
        let issued = self.issue_leaf(spec, &issuer_name, &intermediates, &helpers)?;
        Ok((helpers, issued))
    }

    /// Adds a leaf after its helper CAs; a name already in the PKI (another leaf's helper CA
    /// issued meanwhile may have taken it) is refused.
    fn insert_with_helpers(
        &mut self,
        (helpers, issued): (Vec<NewCa>, Issued),
    ) -> Result<&Entity, IssueError> {
        for ca in helpers {
            if self.names.contains(&ca.entity.name) {
                return Err(IssueError::DuplicateName(ca.entity.name));
            }
            self.insert_ca(ca);
        }
        if self.names.contains(&issued.entity.name) {
            return Err(IssueError::DuplicateName(issued.entity.name));
        }
        Ok(self.insert(issued))
    }

    /// The intermediates a leaf signed by `issuer_name` (one of `helpers` or a CA of the PKI)
    /// is served with: the issuer and the CAs above it that are intermediates.
    fn intermediates_among(
        &self,
        helpers: &[NewCa],
        issuer_name: &str,
    ) -> Vec<CertificateDer<'static>> {
        if helpers.is_empty() {
            return self.intermediates(issuer_name);
        }
        let find = |name: &str| {
            helpers
                .iter()
                .map(|h| &h.entity)
                .find(|e| e.name == name)
                .or_else(|| self.pki.entity(name))
        };
        let mut out = Vec::new();
        let mut current = find(issuer_name);
        let mut steps = 0;
        while let Some(e) = current {
            if e.role == Role::Intermediate {
                out.push(e.cert.clone());
            }
            steps += 1;
            if e.issuer == e.name || steps > helpers.len() + self.pki.entities.len() {
                break;
            }
            current = find(&e.issuer);
        }
        out
    }

    /// The intermediates a leaf signed by `issuer_name` is served with (none for an unknown
    /// issuer: issuing reports that).
    fn intermediates(&self, issuer_name: &str) -> Vec<CertificateDer<'static>> {
        let Some(issuer) = self.pki.entity(issuer_name) else {
            return vec![];
        };
        let mut ints = vec![issuer];
        ints.extend(self.pki.issuers_of(issuer_name));
        ints.into_iter()
            .filter(|e| e.role == Role::Intermediate)
            .map(|e| e.cert.clone())
            .collect()
    }

    /// Adds an issued leaf (and its revocation) to the PKI.
    fn insert(&mut self, issued: Issued) -> &Entity {
        if let Some(serial) = issued.revoked {
            self.revoked
                .entry(issued.entity.issuer.clone())
                .or_default()
                .push(serial);
        }
        self.push(issued.entity)
    }

    /// Issues one leaf signed by `issuer_name` (a CA of the PKI or one of its `helpers`),
    /// without adding it: safe to call from several threads.
    fn issue_leaf(
        &self,
        spec: &LeafSpec,
        issuer_name: &str,
        intermediates: &[CertificateDer<'static>],
        helpers: &[NewCa],
    ) -> Result<Issued, IssueError> {
        let err = |source| IssueError::Rcgen {
            name: spec.name.clone(),
            source,
        };
        let host = spec.host();
        let plan = fault::leaf_plan(spec.fault);
        let mut issuer_name = issuer_name.to_string();
        let mut params = base_params(
            &spec.name,
            &distinguished_name(&spec.subject, &host),
            spec.validity,
            self.now,
            self.serial(&spec.name),
        )?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = spec
            .sans
            .iter()
            .map(to_san_type)
            .collect::<Result<_, _>>()
            .map_err(err)?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if spec.role.is_server() && spec.key.is_rsa() {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        if spec.role.is_server() {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if spec.role.is_client() {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        fault::apply_to_leaf(spec.fault, &mut params, self.now, &host);
        not_before_epoch(&spec.name, &params)?;

        // An unseeded ECDSA leaf signed by its issuer: its key is generated and serialised
        // (the public key goes into the certificate), never parsed back from PKCS#8 and
        // checked as a signing key, which costs about as much as generating it.
        let fresh = match (&self.seed, plan.signer) {
            (None, Signer::Issuer) => FreshEcKey::generate(spec.key),
            _ => None,
        };
        let (mut der, own_key) = match fresh {
            Some(fresh) => {
                let fresh = fresh.map_err(|_| err(rcgen::Error::RingUnspecified))?;
                let cert = params
                    .signed_by(
                        &fresh,
                        self.issuer_among(helpers, &spec.name, &issuer_name)?,
                    )
                    .map_err(err)?;
                (cert.der().to_vec(), fresh.pkcs8)
            }
            None => {
                let key = self.new_key(spec.key, &spec.name)?;
                let cert = match plan.signer {
                    Signer::Itself => {
                        issuer_name = spec.name.clone();
                        params.self_signed(&key).map_err(err)?
                    }
                    Signer::Issuer => params
                        .signed_by(&key, self.issuer_among(helpers, &spec.name, &issuer_name)?)
                        .map_err(err)?,
                };
                (cert.der().to_vec(), key.serialize_der())
            }
        };
        if let Some(change) = plan.after_signing {
            change.apply(&mut der);
        }
        let cert = CertificateDer::from(der);
        let revoked = plan.revoked.then(|| {
            params
                .serial_number
                .clone()
                .expect("base_params sets a serial")
        });
        let key_der = match plan.key {
            KeyChoice::Another => self
                .new_key(spec.key, &format!("{}{OTHER_KEY_SUFFIX}", spec.name))?
                .serialize_der(),
            KeyChoice::Own => own_key,
        };

        let intermediates = match plan.signer {
            Signer::Itself => &[],
            Signer::Issuer => intermediates,
        };
        let chain = fault::served_chain(spec.fault, &cert, intermediates);
        if spec.files == super::FileLayout::Combined && chain.first() != Some(&cert) {
            return Err(IssueError::CombinedChain(spec.name.clone()));
        }
        let entity = Entity {
            name: spec.name.clone(),
            role: spec.role,
            issuer: issuer_name,
            cert,
            key: SecretKey::from_pkcs8(key_der),
            key_alg: spec.key,
            chain,
            crl: None,
            sans: sans_of(&params),
            not_before: params.not_before,
            not_after: params.not_after,
            fault: spec.fault,
            expected: spec.fault.expected(),
            expected_by_client: super::scenario::client_verdicts(spec.role, spec.fault),
            trusted: false,
            spec_digest: None,
            dir: spec.dir.clone(),
            files: spec.files,
        };
        Ok(Issued { entity, revoked })
    }

    /// Signs the CRLs of issuers with revoked leaves and returns the PKI.
    pub fn finish(mut self) -> Result<Pki, IssueError> {
        self.sign_crls()?;
        Ok(self.pki)
    }

    /// (Re-)signs the CRL of every issuer with revoked leaves into its entity, so the PKI so
    /// far carries current CRLs.
    ///
    /// A CRL number never goes backwards for one issuer (RFC 5280 section 5.2.3): a CA issued
    /// here gets CRL number 1; a CA given with its CRL ([`Builder::add_existing_ca`]: a kept CA
    /// of a regenerated directory, whose CRL `certlab revoke` may have raised) gets the next
    /// number after that CRL's, and the new CRL still lists everything the old one did (those
    /// certificates are still out there), then the new revoked leaves. Such a CA without
    /// revoked leaves here keeps its CRL unchanged.
    pub fn sign_crls(&mut self) -> Result<(), IssueError> {
        for (issuer_name, serials) in &self.revoked {
            let err = |source| IssueError::Rcgen {
                name: issuer_name.clone(),
                source,
            };
            let (mut revoked_certs, number) = match self.prior_crls.get(issuer_name) {
                Some(prior) => (prior.entries.clone(), prior.number.saturating_add(1)),
                None => (Vec::new(), 1),
            };
            for serial_number in serials {
                if revoked_certs
                    .iter()
                    .all(|r| r.serial_number != *serial_number)
                {
                    revoked_certs.push(RevokedCertParams {
                        serial_number: serial_number.clone(),
                        revocation_time: backdated(self.now),
                        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    });
                }
            }
            let params = CertificateRevocationListParams {
                this_update: backdated(self.now),
                next_update: self.now + DEFAULT_LEAF_VALIDITY,
                crl_number: SerialNumber::from(number),
                issuing_distribution_point: None,
                revoked_certs,
                key_identifier_method: KeyIdMethod::Sha256,
            };
            let issuer = self.issuer(issuer_name, issuer_name)?;
            let der = params.signed_by(issuer).map_err(err)?.der().clone();
            if let Some(e) = self
                .pki
                .entities
                .iter_mut()
                .find(|e| &e.name == issuer_name)
            {
                e.crl = Some(der);
            }
        }
        Ok(())
    }
}

/// An existing CRL's entries and number.
#[derive(Debug, Clone)]
pub(crate) struct OldCrl {
    /// What it lists, with dates and reasons.
    pub(crate) entries: Vec<RevokedCertParams>,
    /// Its CRL number (0 when it has none).
    pub(crate) number: u64,
}

/// The entries and number of a CRL (to sign the next one: same entries and more, number + 1).
pub(crate) fn read_crl(
    der: &pki_types::CertificateRevocationListDer<'_>,
) -> Result<OldCrl, String> {
    let (_, crl) =
        x509_parser::parse_x509_crl(der).map_err(|e| format!("its CRL cannot be read: {e}"))?;
    let number = crl
        .crl_number()
        .map(|n| {
            n.to_bytes_be().iter().fold(0u64, |a, b| {
                a.saturating_mul(256).saturating_add(u64::from(*b))
            })
        })
        .unwrap_or(0);
    let entries = crl
        .iter_revoked_certificates()
        .map(|r| RevokedCertParams {
            serial_number: SerialNumber::from_slice(r.raw_serial()),
            revocation_time: r.revocation_date.to_datetime(),
            reason_code: r.reason_code().and_then(|(_, code)| {
                use rcgen::RevocationReason as R;
                // removeFromCRL (8) belongs to delta CRLs only: not kept.
                [
                    R::Unspecified,
                    R::KeyCompromise,
                    R::CaCompromise,
                    R::AffiliationChanged,
                    R::Superseded,
                    R::CessationOfOperation,
                    R::CertificateHold,
                    R::PrivilegeWithdrawn,
                    R::AaCompromise,
                ]
                .into_iter()
                .find(|x| *x as u8 == code.0)
            }),
            invalidity_date: None,
        })
        .collect();
    Ok(OldCrl { entries, number })
}

/// Leaves per unit of work a thread takes.
const CHUNK: usize = 16;

/// Whether a leaf's fault issues helper CAs first (such leaves are issued one by one).
fn needs_helper_cas(spec: &LeafSpec) -> bool {
    fault::leaf_plan(spec.fault).signer == Signer::Issuer
        && !fault::helper_cas(spec.fault, &spec.name, &spec.issuer, Subject::default).is_empty()
}

/// Parameters every certificate starts from: subject, validity, its serial.
fn base_params(
    name: &str,
    dn: &DistinguishedName,
    validity: Validity,
    now: OffsetDateTime,
    serial: SerialNumber,
) -> Result<CertificateParams, IssueError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn.clone();
    (params.not_before, params.not_after) = validity
        .at(now)
        .ok_or_else(|| IssueError::Validity(name.to_string()))?;
    params.serial_number = Some(serial);
    Ok(params)
}

/// A random positive 128-bit serial number (RFC 5280: positive, at most 20 octets).
pub fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("system random");
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn to_san_type(san: &San) -> Result<SanType, rcgen::Error> {
    Ok(match san {
        San::Dns(d) => SanType::DnsName(d.as_str().try_into()?),
        San::Ip(ip) => SanType::IpAddress(*ip),
        San::Uri(u) => SanType::URI(u.as_str().try_into()?),
        San::Email(e) => SanType::Rfc822Name(e.as_str().try_into()?),
    })
}

/// The SANs the certificate really carries (after its fault changed them).
fn sans_of(params: &CertificateParams) -> Vec<San> {
    params
        .subject_alt_names
        .iter()
        .filter_map(|s| match s {
            SanType::DnsName(d) => Some(San::Dns(d.to_string())),
            SanType::IpAddress(ip) => Some(San::Ip(*ip)),
            SanType::URI(u) => Some(San::Uri(u.to_string())),
            SanType::Rfc822Name(e) => Some(San::Email(e.to_string())),
            _ => None,
        })
        .collect()
}

/// The subject fields of an existing entity's certificate (to copy a root's name).
fn subject_of(entity: &Entity) -> Subject {
    let Ok(cert) = crate::x509::Cert::parse(&entity.cert) else {
        return Subject::default();
    };
    let f = cert.subject_fields();
    Subject {
        cn: f.cn,
        o: f.o,
        ou: f.ou,
        c: f.c,
        st: f.st,
        l: f.l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_leaf_key_is_the_pkcs8_v1_that_keyalg_generate_writes() {
        use rcgen::PublicKeyData;
        for alg in [KeyAlg::EcdsaP256, KeyAlg::EcdsaP384] {
            let fresh = FreshEcKey::generate(alg).unwrap().unwrap();
            // Already v1 (no public-key field to drop), and a key rcgen reads back whose
            // public key is the one put into the certificate.
            assert_eq!(super::super::keys::pkcs8_v1(&fresh.pkcs8), None);
            let pair = rcgen::KeyPair::try_from(fresh.pkcs8.as_slice()).unwrap();
            assert_eq!(pair.der_bytes(), fresh.der_bytes());
            assert_eq!(pair.algorithm(), fresh.algorithm());
            // The same shape as the keys of the usual path (same length, same prefix).
            let usual = alg.generate().unwrap().serialize_der();
            assert_eq!(usual.len(), fresh.pkcs8.len());
            // Up to the private key's bytes (ECPrivateKey version 1, then the OCTET STRING).
            let at = usual.windows(4).position(|w| w == [2, 1, 1, 4]).unwrap() + 5;
            assert_eq!(usual[..at], fresh.pkcs8[..at]);
        }
        assert!(FreshEcKey::generate(KeyAlg::Ed25519).is_none());
    }
}
