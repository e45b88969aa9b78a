//! Issuing with rcgen: roots, intermediates, leaves and CRLs, faults included.
//!
//! [`CaSpec`] and [`LeafSpec`] are validated requests (from a TOML spec, the fixture API or the
//! `cert` command); a [`Builder`] turns them into [`Entity`]s, keeping each CA's rcgen
//! [`Issuer`] so a leaf costs one key generation and one signature.

use std::collections::{BTreeMap, HashMap};

use pki_types::CertificateDer;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CidrSubnet,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, NameConstraints, RevokedCertParams, SanType, SerialNumber,
};
use time::OffsetDateTime;

use super::fault::{self, KeyChoice, Signer};
use super::model::{
    CaSpec, DEFAULT_LEAF_VALIDITY, Fault, IpRange, LeafSpec, NameConstraintSpec, Subject, Validity,
    backdated,
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
}

/// Issues entities one after the other into a [`Pki`].
pub struct Builder {
    now: OffsetDateTime,
    pki: Pki,
    issuers: HashMap<String, Issuer<'static, Key>>,
    revoked: BTreeMap<String, Vec<SerialNumber>>,
    seed: Option<Seed>,
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
            seed: None,
        }
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
        self.issuers.insert(entity.name.clone(), issuer);
        self.pki.entities.push(entity);
        Ok(())
    }

    fn check_new_name(&self, name: &str) -> Result<(), IssueError> {
        super::names::entity_name(name)?;
        if self.pki.entity(name).is_some() {
            return Err(IssueError::DuplicateName(name.to_string()));
        }
        Ok(())
    }

    /// Issues a CA: self-signed when `spec.issuer` is `None`, else signed by that CA.
    pub fn add_ca(&mut self, spec: &CaSpec) -> Result<&Entity, IssueError> {
        self.check_new_name(&spec.name)?;
        let err = |source| IssueError::Rcgen {
            name: spec.name.clone(),
            source,
        };
        let mut params = base_params(
            &spec.name,
            &distinguished_name(&spec.subject, &spec.name),
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
        let key = self.new_key(spec.key, &spec.name)?;
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
                let issuer = self.issuer(&spec.name, issuer_name)?;
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
        };
        self.issuers
            .insert(spec.name.clone(), Issuer::new(params, key));
        self.pki.entities.push(entity);
        Ok(self.pki.entities.last().expect("just pushed"))
    }

    fn issuer(&self, name: &str, issuer: &str) -> Result<&Issuer<'static, Key>, IssueError> {
        self.issuers
            .get(issuer)
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
        let err = |source| IssueError::Rcgen {
            name: spec.name.clone(),
            source,
        };
        let host = spec.host();
        let plan = fault::leaf_plan(spec.fault);
        let mut issuer_name = spec.issuer.clone();
        if plan.signer == Signer::Issuer {
            let root = self
                .root_of(&spec.issuer)
                .ok_or_else(|| IssueError::UnknownIssuer {
                    name: spec.name.clone(),
                    issuer: spec.issuer.clone(),
                })?;
            let root_name = root.name.clone();
            // Only a foreign root copies the real root's subject: parse it only then.
            let root_subject = || subject_of(root);
            for helper in fault::helper_cas(spec.fault, &spec.name, &root_name, root_subject) {
                issuer_name = self.add_ca(&helper)?.name.clone();
            }
        }

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

        let key = self.new_key(spec.key, &spec.name)?;
        let cert = match plan.signer {
            Signer::Itself => {
                issuer_name = spec.name.clone();
                params.self_signed(&key).map_err(err)?
            }
            Signer::Issuer => params
                .signed_by(&key, self.issuer(&spec.name, &issuer_name)?)
                .map_err(err)?,
        };
        let mut der = cert.der().to_vec();
        if let Some(change) = plan.after_signing {
            change.apply(&mut der);
        }
        let cert = CertificateDer::from(der);
        if plan.revoked {
            let serial = params
                .serial_number
                .clone()
                .expect("base_params sets a serial");
            self.revoked
                .entry(issuer_name.clone())
                .or_default()
                .push(serial);
        }
        let key_der = match plan.key {
            KeyChoice::Another => self
                .new_key(spec.key, &format!("{}{OTHER_KEY_SUFFIX}", spec.name))?
                .serialize_der(),
            KeyChoice::Own => key.serialize_der(),
        };

        let intermediates: Vec<CertificateDer<'static>> = if plan.signer == Signer::Itself {
            vec![]
        } else {
            let mut ints = vec![self.pki.entity(&issuer_name).expect("issuer exists")];
            ints.extend(self.pki.issuers_of(&issuer_name));
            ints.into_iter()
                .filter(|e| e.role == Role::Intermediate)
                .map(|e| e.cert.clone())
                .collect()
        };
        let chain = fault::served_chain(spec.fault, &cert, &intermediates);
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
            expected_by_client: spec
                .fault
                .expected_by_client()
                .iter()
                .map(|(client, outcome)| (client.to_string(), *outcome))
                .collect(),
            trusted: false,
            spec_digest: None,
        };
        self.pki.entities.push(entity);
        Ok(self.pki.entities.last().expect("just pushed"))
    }

    /// Signs the CRLs of issuers with revoked leaves and returns the PKI.
    pub fn finish(mut self) -> Result<Pki, IssueError> {
        self.sign_crls()?;
        Ok(self.pki)
    }

    /// (Re-)signs the CRL of every issuer with revoked leaves into its entity, so the PKI so
    /// far carries current CRLs.
    pub fn sign_crls(&mut self) -> Result<(), IssueError> {
        for (issuer_name, serials) in &self.revoked {
            let err = |source| IssueError::Rcgen {
                name: issuer_name.clone(),
                source,
            };
            let params = CertificateRevocationListParams {
                this_update: backdated(self.now),
                next_update: self.now + DEFAULT_LEAF_VALIDITY,
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: serials
                    .iter()
                    .map(|serial_number| RevokedCertParams {
                        serial_number: serial_number.clone(),
                        revocation_time: backdated(self.now),
                        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    })
                    .collect(),
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
