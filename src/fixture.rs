//! Test fixtures for Rust integration tests, in the spirit of Python's trustme: a CA in
//! memory, leaves in one line each (faults included), PEM/DER accessors, ready rustls
//! configurations, and live endpoints that a test can probe for the outcome a client sees.
//!
//! A server with a broken certificate and the outcome a client must see, in three lines:
//!
//! ```
//! use certlab::{Fault, Outcome, fixture::TestPki};
//!
//! let mut pki = TestPki::new();
//! let expired = pki.server(["localhost"]).fault(Fault::Expired).issue().unwrap();
//! let endpoint = pki.serve(&expired).unwrap();           // stopped on drop
//! pki.assert_outcome(&endpoint, Outcome::Expired);        // panics with the report otherwise
//! // Point your own client at endpoint.addr() and assert that it fails too.
//! ```
//!
//! A real TLS handshake over loopback:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::sync::Arc;
//! use certlab::fixture::TestPki;
//!
//! let mut pki = TestPki::new();
//! let server = pki.server(["localhost"]).issue().unwrap();
//!
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server_config = Arc::new(server.server_config());
//! let server_thread = std::thread::spawn(move || {
//!     let (tcp, _) = listener.accept().unwrap();
//!     let conn = rustls::ServerConnection::new(server_config).unwrap();
//!     let mut tls = rustls::StreamOwned::new(conn, tcp);
//!     tls.write_all(b"hello").unwrap();
//!     tls.conn.send_close_notify();
//!     tls.flush().unwrap();
//! });
//!
//! let conn = rustls::ClientConnection::new(Arc::new(pki.client_config()), "localhost".try_into().unwrap()).unwrap();
//! let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
//! let mut answer = String::new();
//! tls.read_to_string(&mut answer).unwrap();
//! assert_eq!(answer, "hello");
//! server_thread.join().unwrap();
//! ```

use std::path::Path;
use std::sync::Arc;

use pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use time::{Duration, OffsetDateTime};

use crate::outcome::Outcome;
use crate::pem::pem_certs;
use crate::pki::issue::{Builder, IssueError};
use crate::pki::model::{CaSpec, LeafSpec, Subject, Validity};
use crate::pki::renew::{RenewError, RenewOptions, renew_pki};
use crate::pki::store::{self, StoreError};
use crate::pki::{Entity, Fault, KeyAlg, Pki, Role, San, names};
use crate::serve::{Endpoint, ReloadError, Reloaded, ServeError, ServeSettings, serve};
use crate::tls::ClientAuth;
use crate::verify::classify::TrustStore;
use crate::verify::probe::{ProbeOptions, ProbeReport, probe};

const ROOT: &str = "root";
const INTERMEDIATE: &str = "intermediate";

/// A PKI in memory for tests: a root and an intermediate (pathLen 0) that issues the leaves.
pub struct TestPki {
    builder: Builder,
    issued: usize,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    /// A new root and intermediate (ECDSA P-256), valid from now.
    pub fn new() -> Self {
        Self::at(OffsetDateTime::now_utc())
    }

    /// A new root and intermediate issued at `now` (leaves are issued at `now` too).
    pub fn at(now: OffsetDateTime) -> Self {
        // A random tag in the names keeps two fixtures' CAs apart: clients match issuers by
        // name, and two roots with one name are the "regenerated CA" trap (`unknown-ca`).
        let tag = crate::pki::sha256_hex(&crate::pki::issue::random_serial().to_bytes());
        Self::with_builder(Builder::new(now), &tag[..8])
    }

    /// A reproducible fixture: keys, serials and signatures derive from `seed` and each
    /// entity's name (see [`crate::pki::seed`]), and the clock is pinned at the start of the
    /// current year (UTC), so every run on every machine in that year gets byte-identical
    /// certificates and keys, still valid today (leaves are valid 397 days). For bytes that
    /// never change, pin the time with [`TestPki::seeded_at`]. **For tests only**: whoever
    /// knows the seed has the keys.
    ///
    /// ```
    /// use certlab::fixture::TestPki;
    /// let build = || {
    ///     let mut pki = TestPki::seeded("my-tests");
    ///     let server = pki.server(["localhost"]).issue().unwrap();
    ///     (pki.ca_pem(), server.cert_pem(), server.key_pem())
    /// };
    /// assert_eq!(build(), build());
    /// assert_ne!(build().0, TestPki::seeded("other-tests").ca_pem());
    /// ```
    pub fn seeded(seed: &str) -> Self {
        let year = OffsetDateTime::now_utc().year();
        let start = time::Date::from_ordinal_date(year, 1)
            .expect("1 January exists")
            .midnight()
            .assume_utc();
        Self::seeded_at(seed, start)
    }

    /// A reproducible fixture issued at `now` (see [`TestPki::seeded`]): the same seed and
    /// `now` give the same bytes forever. Panics on an empty seed, as a test fixture should.
    pub fn seeded_at(seed: &str, now: OffsetDateTime) -> Self {
        let builder = Builder::seeded(now, seed).unwrap_or_else(|e| panic!("{e}"));
        let mut tag = [0u8; 4];
        crate::pki::seed::Seed::new(seed)
            .expect("checked by Builder::seeded")
            .expand("certlab v1 fixture tag", &mut tag);
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        Self::with_builder(builder, &tag)
    }

    /// The root and intermediate of a fixture, their CNs marked with `tag`.
    fn with_builder(mut builder: Builder, tag: &str) -> Self {
        let subject = |cn: &str| Subject {
            cn: Some(format!("{cn} {tag}")),
            o: Some("certlab fixture".to_string()),
            ..Subject::default()
        };
        builder
            .add_ca(&CaSpec {
                name: ROOT.into(),
                subject: subject("certlab fixture root"),
                ..CaSpec::default()
            })
            .expect("a fresh root always issues");
        builder
            .add_ca(&CaSpec {
                name: INTERMEDIATE.into(),
                issuer: Some(ROOT.into()),
                subject: subject("certlab fixture intermediate"),
                path_len: Some(0),
                ..CaSpec::default()
            })
            .expect("a fresh intermediate always issues");
        TestPki { builder, issued: 0 }
    }

    /// Starts a server leaf for these names (DNS names, wildcards, IPs, emails, URIs).
    /// Panics on a name that cannot be a SAN, as a test fixture should.
    pub fn server<I, S>(&mut self, names: I) -> LeafRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sans = names
            .into_iter()
            .map(|n| names::classify(n.as_ref()).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        self.leaf(Role::Server, sans, None)
    }

    /// Starts a client leaf with this common name (no SANs).
    pub fn client(&mut self, name: &str) -> LeafRequest<'_> {
        let cn = name.to_string();
        self.leaf(Role::Client, vec![], Some(cn))
    }

    fn leaf(&mut self, role: Role, sans: Vec<San>, cn: Option<String>) -> LeafRequest<'_> {
        self.issued += 1;
        let name = format!("{}-{}", role.name(), self.issued);
        let mut spec = LeafSpec::new(name, INTERMEDIATE, role, sans);
        spec.subject.cn = cn;
        LeafRequest { pki: self, spec }
    }

    /// The root certificate (what clients trust).
    pub fn root(&self) -> &Entity {
        self.builder.pki().entity(ROOT).expect("made in new()")
    }

    /// The root certificate, PEM (`ca.pem`).
    pub fn ca_pem(&self) -> String {
        pem_certs([&self.root().cert])
    }

    /// The root certificate, DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.root().cert.clone()
    }

    /// A root store holding the root.
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der()).expect("our root parses");
        roots
    }

    /// A rustls client configuration that trusts the root and sends no client certificate.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("default versions")
            .with_root_certificates(self.root_store())
            .with_no_client_auth()
    }

    /// Everything issued so far (root, intermediate, leaves, helper CAs of faults).
    pub fn pki(&self) -> &Pki {
        self.builder.pki()
    }

    /// Serves `leaf` (its chain exactly as its fault says, e.g. reversed or without the
    /// intermediate) on `127.0.0.1`, port 0, until the endpoint is dropped. Fails for a leaf
    /// whose key does not match (`key-mismatch`), as `certlab serve` does.
    pub fn serve(&self, leaf: &Issued) -> Result<Endpoint, ServeError> {
        self.serve_with(leaf, ClientAuth::None)
    }

    /// Serves `leaf` and asks clients for a certificate from this PKI (`required` or
    /// `optional`).
    pub fn serve_with(
        &self,
        leaf: &Issued,
        client_auth: ClientAuth,
    ) -> Result<Endpoint, ServeError> {
        let mut settings =
            ServeSettings::new(leaf.entity.name.clone(), leaf.chain_der(), leaf.key_der());
        settings.client_auth = client_auth;
        settings.client_roots = vec![self.ca_der()];
        settings.now = Some(self.builder.now());
        serve(settings, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Presents `leaf` on a running `endpoint` (started by [`TestPki::serve`]) to new
    /// connections from now on, as `certlab serve --reload` does when its files change:
    /// connections already open keep the old certificate. Refused, the old leaf kept, when
    /// the leaf's key does not match it (`key-mismatch`). Returns serial old → new.
    ///
    /// ```
    /// use certlab::fixture::TestPki;
    /// let mut pki = TestPki::new();
    /// let old = pki.server(["localhost"]).issue().unwrap();
    /// let endpoint = pki.serve(&old).unwrap();
    /// let new = pki.server(["localhost"]).issue().unwrap();
    /// let reloaded = pki.reload(&endpoint, &new).unwrap();
    /// assert_ne!(reloaded.old.serial, reloaded.new.serial);
    /// assert_eq!(pki.probe(&endpoint).chain[0].serial, reloaded.new.serial);
    /// ```
    pub fn reload(&self, endpoint: &Endpoint, leaf: &Issued) -> Result<Reloaded, ReloadError> {
        let mut settings =
            ServeSettings::new(leaf.entity.name.clone(), leaf.chain_der(), leaf.key_der());
        settings.client_roots = vec![self.ca_der()];
        endpoint.replace(settings)
    }

    /// Renews leaf `name` (see [`TestPki::renew_for`]) for as long as it was valid before.
    pub fn renew(&mut self, name: &str) -> Result<Issued, RenewError> {
        self.renew_with(name, None)
    }

    /// Renews leaf `name` as `certlab renew` does: the same key, names and extensions, a new
    /// serial number, valid `validity` from now (the real time, or the fixture's time when
    /// that is later). Returns the renewed leaf, for [`TestPki::reload`]; the leaf issued
    /// before stays as it was (a server presenting it keeps presenting it).
    ///
    /// The rotation drill in a test: a leaf valid 2 s, the outage a client sees once it has
    /// expired, and the renewal a reload brings.
    ///
    /// ```
    /// use certlab::{Outcome, fixture::TestPki, verify::probe::ProbeOptions};
    /// use time::{Duration, OffsetDateTime};
    ///
    /// // A client checking 5 s from now.
    /// let later = |pki: &TestPki| ProbeOptions {
    ///     now: Some(OffsetDateTime::now_utc() + Duration::seconds(5)),
    ///     ..pki.probe_options()
    /// };
    /// let mut pki = TestPki::new();
    /// let old = pki.server(["localhost"]).name("web").valid_for(Duration::seconds(2)).issue().unwrap();
    /// let endpoint = pki.serve(&old).unwrap();
    /// assert_eq!(pki.probe_as(&endpoint, "localhost", later(&pki)).outcome, Outcome::Expired);
    ///
    /// let renewed = pki.renew_for("web", Duration::hours(1)).unwrap();
    /// assert_eq!(renewed.key_pem(), old.key_pem());
    /// let reloaded = pki.reload(&endpoint, &renewed).unwrap();
    /// assert_ne!(reloaded.old.serial, reloaded.new.serial);
    /// assert_eq!(pki.probe_as(&endpoint, "localhost", later(&pki)).outcome, Outcome::Ok);
    /// ```
    pub fn renew_for(&mut self, name: &str, validity: Duration) -> Result<Issued, RenewError> {
        self.renew_with(name, Some(validity))
    }

    fn renew_with(&mut self, name: &str, validity: Option<Duration>) -> Result<Issued, RenewError> {
        let now = OffsetDateTime::now_utc().max(self.builder.now());
        let options = RenewOptions {
            names: vec![name.to_string()],
            validity,
            ..RenewOptions::default()
        };
        renew_pki(self.builder.pki_mut(), &options, now)?;
        let entity = self
            .pki()
            .entity(name)
            .cloned()
            .expect("renew_pki found it");
        Ok(Issued {
            entity,
            client_roots: self.root_store(),
        })
    }

    /// Probe options for a client that trusts this PKI's root (and knows its intermediates,
    /// so a missing one is reported as `incomplete-chain`), checked at the PKI's time.
    pub fn probe_options(&self) -> ProbeOptions {
        let pki = self.pki();
        ProbeOptions {
            trust: Some(TrustStore::from_pki(pki)),
            now: Some(self.builder.now()),
            ..ProbeOptions::default()
        }
    }

    /// Probes `endpoint` as a client trusting this PKI that connects to `name` (a DNS name,
    /// checked against the SANs, or an IP address) and returns what it sees.
    pub fn probe_as(&self, endpoint: &Endpoint, name: &str, options: ProbeOptions) -> ProbeReport {
        let options = ProbeOptions {
            address: Some(endpoint.addr()),
            ..options
        };
        let target = crate::tls::join_host_port(name, endpoint.addr().port());
        probe(&target, &options).unwrap_or_else(|e| panic!("cannot probe {target}: {e}"))
    }

    /// Probes `endpoint` as a client trusting this PKI that connects to `localhost`.
    pub fn probe(&self, endpoint: &Endpoint) -> ProbeReport {
        self.probe_as(endpoint, "localhost", self.probe_options())
    }

    /// Probes `endpoint` (see [`TestPki::probe`]) and panics, with the whole report, unless
    /// the outcome is `expected`. Returns the report for further assertions.
    #[track_caller]
    pub fn assert_outcome(&self, endpoint: &Endpoint, expected: Outcome) -> ProbeReport {
        let report = self.probe(endpoint);
        assert!(
            report.outcome == expected,
            "expected `{expected}` from {}, observed `{}`: {}\n{report:#?}",
            endpoint.addr(),
            report.outcome,
            report.detail.as_deref().unwrap_or(report.explanation),
        );
        report
    }

    /// Writes every file of the PKI (`NAME.pem`, `NAME.key`, `NAME.chain.pem`, `ca.pem`,
    /// `certlab.json`) into `dir`.
    ///
    /// Refuses a directory that holds other files, or another PKI (whose CA keys it would
    /// replace); writing the same fixture again updates it.
    pub fn write_to(&self, dir: &Path) -> Result<(), StoreError> {
        if let Some(old) = store::load_existing(dir)?
            && old.entity(ROOT).map(Entity::sha256) != Some(self.root().sha256())
        {
            return Err(StoreError::ChangedCa(ROOT.to_string()));
        }
        store::write(self.pki(), dir).map(|_| ())
    }

    /// Writes the PKI into a new temporary directory, removed when the handle drops.
    pub fn write_to_tempdir(&self) -> Result<tempfile::TempDir, StoreError> {
        let dir = tempfile::tempdir()
            .map_err(|e| crate::pem::FileError::unwritable(&std::env::temp_dir(), e))?;
        self.write_to(dir.path())?;
        Ok(dir)
    }
}

/// A leaf being configured; [`LeafRequest::issue`] makes it.
pub struct LeafRequest<'a> {
    pki: &'a mut TestPki,
    spec: LeafSpec,
}

impl LeafRequest<'_> {
    /// Breaks it on purpose (see [`Fault`]).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.spec.fault = fault;
        self
    }

    /// Uses another key algorithm (default ECDSA P-256).
    pub fn key(mut self, key: KeyAlg) -> Self {
        self.spec.key = key;
        self
    }

    /// Valid for this long from now (default 397 days).
    pub fn valid_for(mut self, duration: Duration) -> Self {
        self.spec.validity = Validity::For(duration);
        self
    }

    /// Names the entity (default `server-N` / `client-N`), e.g. for [`TestPki::write_to`].
    pub fn name(mut self, name: &str) -> Self {
        self.spec.name = name.to_string();
        self
    }

    /// Makes it also usable for the other side (serverAuth + clientAuth).
    pub fn server_and_client(mut self) -> Self {
        self.spec.role = Role::ServerClient;
        self
    }

    /// Writes it as one file in [`TestPki::write_to`]: `NAME.pem` (mode 0600) holding the
    /// private key, the certificate, then the intermediates ([`Issued::key_and_chain_pem`]),
    /// instead of `NAME.pem`, `NAME.chain.pem` and `NAME.key`. Not with the `reversed-chain`
    /// fault (its chain does not start with the certificate: [`IssueError::CombinedChain`]).
    ///
    /// ```
    /// use certlab::fixture::TestPki;
    /// let mut pki = TestPki::new();
    /// let client = pki.client("agent").name("agent").combined_file().issue().unwrap();
    /// let dir = pki.write_to_tempdir().unwrap();
    /// let file = std::fs::read_to_string(dir.path().join("agent.pem")).unwrap();
    /// assert_eq!(file, client.key_and_chain_pem());
    /// assert!(!dir.path().join("agent.key").exists());
    /// ```
    pub fn combined_file(mut self) -> Self {
        self.spec.files = crate::pki::FileLayout::Combined;
        self
    }

    /// Issues the leaf.
    pub fn issue(self) -> Result<Issued, IssueError> {
        let entity = self.pki.builder.add_leaf(&self.spec)?.clone();
        if crate::pki::fault::leaf_plan(entity.fault).revoked {
            self.pki.builder.sign_crls()?;
        }
        Ok(Issued {
            entity,
            client_roots: self.pki.root_store(),
        })
    }
}

/// An issued leaf with its chain and key.
#[derive(Debug, Clone)]
pub struct Issued {
    entity: Entity,
    client_roots: RootCertStore,
}

impl Issued {
    /// The entity (name, SANs, validity, fault, expected outcome, ...).
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.entity.cert.clone()
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem_certs([&self.entity.cert])
    }

    /// What a server sends (leaf, then intermediates), DER.
    pub fn chain_der(&self) -> Vec<CertificateDer<'static>> {
        self.entity.chain.clone()
    }

    /// What a server sends, PEM.
    pub fn chain_pem(&self) -> String {
        pem_certs(&self.entity.chain)
    }

    /// The private key, DER.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        self.entity.key.to_private_key_der()
    }

    /// The chain and key as a probe's client certificate
    /// ([`ProbeOptions::client_cert`](crate::verify::probe::ProbeOptions)).
    pub fn client_cert(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (self.chain_der(), self.key_der())
    }

    /// The private key, PEM (PKCS#8).
    pub fn key_pem(&self) -> String {
        self.entity.key.to_pem()
    }

    /// The private key then the chain (leaf, then intermediates), PEM, in one text: what curl
    /// `--cert`, Go's `tls.LoadX509KeyPair(f, f)` and Python's `load_cert_chain(f)` read from
    /// one file (trustme's `private_key_and_cert_chain_pem`), and byte for
    /// byte what a [combined file](LeafRequest::combined_file) holds.
    pub fn key_and_chain_pem(&self) -> String {
        let mut text = self.key_pem();
        if self.entity.chain.first() == Some(&self.entity.cert) {
            text.push_str(&self.chain_pem());
        } else {
            text.push_str(&self.cert_pem());
        }
        text
    }

    /// A rustls server configuration presenting this leaf's chain, without client
    /// authentication. Panics when rustls refuses the key (the `key-mismatch` fault).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("default versions")
            .with_no_client_auth()
            .with_single_cert(self.chain_der(), self.key_der())
            .expect("rustls accepts the chain and key")
    }

    /// A rustls server configuration that requires client certificates from the fixture's CA.
    pub fn server_config_requiring_clients(&self) -> ServerConfig {
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(self.client_roots.clone()),
            provider(),
        )
        .build()
        .expect("the root store is not empty");
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("default versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain_der(), self.key_der())
            .expect("rustls accepts the chain and key")
    }

    /// A rustls client configuration that trusts `pki`'s root and presents this leaf.
    pub fn client_config(&self, pki: &TestPki) -> ClientConfig {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("default versions")
            .with_root_certificates(pki.root_store())
            .with_client_auth_cert(self.chain_der(), self.key_der())
            .expect("rustls accepts the chain and key")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
