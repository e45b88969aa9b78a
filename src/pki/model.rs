//! The plain data of a PKI request: what a spec, the fixture builder or `certlab cert` asks for
//! (CAs, leaves, subjects, validity, constraints), the roles and names of entities, and the
//! [`Fault`] tag. No issuing here: [`super::issue`] turns these into certificates, and
//! [`super::fault`] says what each fault changes.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::keys::KeyAlg;
use crate::outcome::Outcome;

/// Default validity of a CA: 10 years, long enough that test fixtures do not silently expire.
pub const DEFAULT_CA_VALIDITY: Duration = Duration::days(3650);
/// The most leaves one `[[leaf]]` with `count` (or `certlab cert --count`) may ask for.
pub const MAX_COUNT: u64 = 1_000_000;

/// The placeholder a CA's subject CN may hold (`cn = "certlab lab root {id}"`): it becomes the
/// first six hex digits of the CA's own key identifier, so two PKIs never name their roots
/// alike by accident. A root whose spec gives no CN is named `NAME {id}` (see
/// [`default_root_cn`]).
pub const ID_PLACEHOLDER: &str = "{id}";

/// The CN of a root whose spec names none: its entity name and [`ID_PLACEHOLDER`] (`root 3f9a2c`).
pub fn default_root_cn(name: &str) -> String {
    format!("{name} {ID_PLACEHOLDER}")
}

/// The placeholder a counted leaf's name (and SANs, and subject CN) holds: `client-{n}`
/// becomes `client-1` … `client-N`.
pub const COUNT_PLACEHOLDER: &str = "{n}";

/// Default validity of a leaf: 397 days, the most browsers and Apple platforms accept.
pub const DEFAULT_LEAF_VALIDITY: Duration = Duration::days(397);
/// The last notAfter X.509 can encode (GeneralizedTime has four-digit years).
pub const LATEST_NOT_AFTER: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);
/// How far back a new certificate's notBefore is set, to tolerate clock skew between hosts.
pub const BACKDATE: Duration = Duration::hours(1);

/// `now` less [`BACKDATE`], but never before the Unix epoch: verifiers (webpki among them)
/// count time in seconds since 1970 and refuse a certificate dated earlier, so a PKI issued at
/// `--now 1970-01-01T00:00:00Z` starts at that instant instead of an hour before it.
pub fn backdated(now: OffsetDateTime) -> OffsetDateTime {
    backdated_by(now, BACKDATE)
}

/// How far back a certificate valid for `validity` from now is dated: [`BACKDATE`] (one
/// hour), but at most a tenth of the validity, in whole seconds, so a short-lived certificate
/// keeps nearly all of its life ahead of it: `90s` is dated 9 s back, `5m` 30 s, `10h` and
/// longer one hour.
///
/// ```
/// use certlab::pki::model::backdate_for;
/// use time::Duration;
/// assert_eq!(backdate_for(Duration::seconds(90)), Duration::seconds(9));
/// assert_eq!(backdate_for(Duration::days(397)), Duration::hours(1));
/// ```
pub fn backdate_for(validity: Duration) -> Duration {
    Duration::seconds(validity.whole_seconds().max(0) / 10).min(BACKDATE)
}

/// `now` less `back`, but never before the Unix epoch (see [`backdated`]).
pub fn backdated_by(now: OffsetDateTime, back: Duration) -> OffsetDateTime {
    let back = now.checked_sub(back).unwrap_or(now);
    if now >= OffsetDateTime::UNIX_EPOCH {
        back.max(OffsetDateTime::UNIX_EPOCH)
    } else {
        back
    }
}

/// Subject distinguished-name fields (all optional; the CN defaults to the entity's name or host).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// commonName.
    pub cn: Option<String>,
    /// organizationName.
    pub o: Option<String>,
    /// organizationalUnitName.
    pub ou: Option<String>,
    /// countryName (two letters).
    pub c: Option<String>,
    /// stateOrProvinceName.
    pub st: Option<String>,
    /// localityName.
    pub l: Option<String>,
}

/// How long a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Validity {
    /// From now (less [`backdate_for`] this long: one hour, or a tenth of a shorter
    /// validity) for this long.
    For(#[serde(with = "duration_seconds")] Duration),
    /// Between two absolute times.
    Between(
        #[serde(with = "time::serde::rfc3339")] OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")] OffsetDateTime,
    ),
}

mod duration_seconds {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.whole_seconds())
    }
}

impl Validity {
    /// (notBefore, notAfter) at `now`.
    /// (notBefore, notAfter) at `now`, or `None` when notAfter would fall after
    /// [`LATEST_NOT_AFTER`] (the last time X.509 can encode).
    pub fn at(self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let (start, end) = match self {
            Validity::For(d) => (backdated_by(now, backdate_for(d)), now.checked_add(d)?),
            Validity::Between(a, b) => (a, b),
        };
        (end <= LATEST_NOT_AFTER).then_some((start, end))
    }
}

/// An IP range for name constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IpRange {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

/// Name constraints of a CA: permitted and excluded DNS subtrees and IP ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameConstraintSpec {
    /// DNS subtrees the CA may issue for.
    pub permitted_dns: Vec<String>,
    /// DNS subtrees the CA may not issue for.
    pub excluded_dns: Vec<String>,
    /// IP ranges the CA may issue for.
    pub permitted_ip: Vec<IpRange>,
    /// IP ranges the CA may not issue for.
    pub excluded_ip: Vec<IpRange>,
}

/// A request for a CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaSpec {
    /// Unique entity name.
    pub name: String,
    /// The issuing CA's name; `None` for a self-signed root.
    pub issuer: Option<String>,
    /// Key algorithm.
    pub key: KeyAlg,
    /// Subject fields (CN defaults to the name).
    pub subject: Subject,
    /// Validity.
    pub validity: Validity,
    /// basicConstraints pathLen, if any.
    pub path_len: Option<u8>,
    /// Name constraints.
    pub name_constraints: NameConstraintSpec,
    /// Roots only: whether the root goes into `ca.pem`.
    pub trusted: bool,
    /// The fault this CA helps to make (`none` for a CA of the spec).
    pub fault: Fault,
}

impl Default for CaSpec {
    fn default() -> Self {
        CaSpec {
            name: String::new(),
            issuer: None,
            key: KeyAlg::default(),
            subject: Subject::default(),
            validity: Validity::For(DEFAULT_CA_VALIDITY),
            path_len: None,
            name_constraints: NameConstraintSpec::default(),
            trusted: true,
            fault: Fault::None,
        }
    }
}

/// A request for a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// Unique entity name.
    pub name: String,
    /// The issuing CA's name (ignored by `self-signed`, which signs itself).
    pub issuer: String,
    /// Server, client or both.
    pub role: Role,
    /// Key algorithm.
    pub key: KeyAlg,
    /// Subject fields (CN defaults to the first DNS SAN, else the name).
    pub subject: Subject,
    /// Validity.
    pub validity: Validity,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// What to break.
    pub fault: Fault,
    /// The sub-directory of the PKI directory its files go into (`clients` for
    /// `clients/NAME.pem`), `None` for the top level. One plain name, no `/`.
    pub dir: Option<String>,
    /// How its files are laid out: three files (the default) or one.
    pub files: FileLayout,
}

/// How a leaf's files are laid out on disk (`files` of a `[[leaf]]`, `certlab cert --files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FileLayout {
    /// `NAME.pem` (the certificate), `NAME.chain.pem` (the certificate, then its
    /// intermediates) and `NAME.key` (mode 0600): three files.
    #[default]
    Separate,
    /// One file `NAME.pem` (mode 0600): the private key, then the certificate, then its
    /// intermediates (what curl `--cert`, `openssl s_client -cert`, Go's
    /// `tls.LoadX509KeyPair(f, f)` and Python's `load_cert_chain(f)` read).
    /// A third of the inodes of [`FileLayout::Separate`]; the manifest's `cert`, `key` and
    /// `chain` of such a leaf all name that file.
    Combined,
}

impl FileLayout {
    /// The spec's (and the command line's) word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileLayout::Separate => "separate",
            FileLayout::Combined => "combined",
        }
    }
}

impl FromStr for FileLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "separate" => Ok(FileLayout::Separate),
            "combined" => Ok(FileLayout::Combined),
            other => Err(format!(
                "unknown files `{other}` (expected separate or combined)"
            )),
        }
    }
}

impl fmt::Display for FileLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl LeafSpec {
    /// A good leaf of this role for these SANs, with every default.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        role: Role,
        sans: Vec<San>,
    ) -> Self {
        LeafSpec {
            name: name.into(),
            issuer: issuer.into(),
            role,
            key: KeyAlg::default(),
            subject: Subject::default(),
            validity: Validity::For(DEFAULT_LEAF_VALIDITY),
            sans,
            fault: Fault::None,
            dir: None,
            files: FileLayout::Separate,
        }
    }

    /// The host this leaf is for: its first DNS SAN, else its first IP, else its name.
    pub fn host(&self) -> String {
        self.sans
            .iter()
            .find_map(|s| match s {
                San::Dns(d) => Some(d.clone()),
                _ => None,
            })
            .or_else(|| {
                self.sans.iter().find_map(|s| match s {
                    San::Ip(ip) => Some(ip.to_string()),
                    _ => None,
                })
            })
            .unwrap_or_else(|| self.name.clone())
    }
}

/// What an entity is in the hierarchy and what its certificate may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A self-signed CA.
    Root,
    /// A CA issued by another CA.
    Intermediate,
    /// A leaf for TLS servers (EKU serverAuth).
    Server,
    /// A leaf for TLS clients (EKU clientAuth).
    Client,
    /// A leaf for both (EKU serverAuth + clientAuth).
    ServerClient,
}

impl Role {
    /// The manifest name, e.g. `server-client`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Intermediate => "intermediate",
            Role::Server => "server",
            Role::Client => "client",
            Role::ServerClient => "server-client",
        }
    }

    /// Whether this is a CA role.
    pub fn is_ca(self) -> bool {
        matches!(self, Role::Root | Role::Intermediate)
    }

    /// Whether a leaf of this role may be served by a TLS server.
    pub fn is_server(self) -> bool {
        matches!(self, Role::Server | Role::ServerClient)
    }

    /// Whether a leaf of this role may be presented by a TLS client.
    pub fn is_client(self) -> bool {
        matches!(self, Role::Client | Role::ServerClient)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum San {
    /// A DNS name, possibly a wildcard (`*.example.com`).
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A URI, e.g. a SPIFFE ID.
    Uri(String),
    /// An email address (rfc822Name).
    Email(String),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(v) => write!(f, "DNS:{v}"),
            San::Ip(v) => write!(f, "IP:{v}"),
            San::Uri(v) => write!(f, "URI:{v}"),
            San::Email(v) => write!(f, "email:{v}"),
        }
    }
}

/// One way to break a certificate (or its chain, or its key file) on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Fault {
    /// Nothing broken.
    #[default]
    None,
    /// notAfter in the past.
    Expired,
    /// notBefore in the future.
    NotYetValid,
    /// SANs name only other hosts.
    WrongHost,
    /// SANs hold DNS names only; the client connects by IP.
    IpMismatch,
    /// The host only in the CN, no SAN extension.
    CnOnly,
    /// Issued by a second root with a name of its own, not in `ca.pem`.
    UnknownCa,
    /// Issued by a second root with the real root's exact subject but another key, not in
    /// `ca.pem`: the "two dev CAs with one name" trap (a regenerated CA, or two teams' roots).
    SameNameRoot,
    /// The leaf signs itself.
    SelfSigned,
    /// Served without its intermediate.
    MissingIntermediate,
    /// Served intermediate first, then the leaf.
    ReversedChain,
    /// EKU clientAuth only, served by a server.
    WrongEku,
    /// Issued by an intermediate that is past notAfter.
    ExpiredIntermediate,
    /// Issued by a trusted root that is itself past notAfter.
    ExpiredRoot,
    /// Issued by an "intermediate" with CA:false.
    IntermediateNotCa,
    /// Below an intermediate with pathLen 0 and a second intermediate.
    PathLen,
    /// Issued by an intermediate whose name constraints permit another DNS subtree.
    NameConstraints,
    /// Serial listed in the issuer's CRL.
    Revoked,
    /// One byte of the signature flipped.
    BadSignature,
    /// A critical extension with an unknown OID.
    UnknownCriticalExtension,
    /// serverAuth-only leaf presented as a client certificate.
    ServerAsClient,
    /// The key file holds another key than the certificate's.
    KeyMismatch,
}

/// Every fault, in the order of DESIGN.md section 4.
pub const ALL_FAULTS: [Fault; 22] = [
    Fault::None,
    Fault::Expired,
    Fault::NotYetValid,
    Fault::WrongHost,
    Fault::IpMismatch,
    Fault::CnOnly,
    Fault::UnknownCa,
    Fault::SameNameRoot,
    Fault::SelfSigned,
    Fault::MissingIntermediate,
    Fault::ReversedChain,
    Fault::WrongEku,
    Fault::ExpiredIntermediate,
    Fault::ExpiredRoot,
    Fault::IntermediateNotCa,
    Fault::PathLen,
    Fault::NameConstraints,
    Fault::Revoked,
    Fault::BadSignature,
    Fault::UnknownCriticalExtension,
    Fault::ServerAsClient,
    Fault::KeyMismatch,
];

impl Fault {
    /// The stable kebab-case name used in specs and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Expired => "expired",
            Fault::NotYetValid => "not-yet-valid",
            Fault::WrongHost => "wrong-host",
            Fault::IpMismatch => "ip-mismatch",
            Fault::CnOnly => "cn-only",
            Fault::UnknownCa => "unknown-ca",
            Fault::SameNameRoot => "same-name-root",
            Fault::SelfSigned => "self-signed",
            Fault::MissingIntermediate => "missing-intermediate",
            Fault::ReversedChain => "reversed-chain",
            Fault::WrongEku => "wrong-eku",
            Fault::ExpiredIntermediate => "expired-intermediate",
            Fault::ExpiredRoot => "expired-root",
            Fault::IntermediateNotCa => "intermediate-not-ca",
            Fault::PathLen => "path-len",
            Fault::NameConstraints => "name-constraints",
            Fault::Revoked => "revoked",
            Fault::BadSignature => "bad-signature",
            Fault::UnknownCriticalExtension => "unknown-critical-extension",
            Fault::ServerAsClient => "server-as-client",
            Fault::KeyMismatch => "key-mismatch",
        }
    }

    /// The outcome a strict client (certlab's own verdict) must see for a leaf with this fault;
    /// `None` for `key-mismatch`, which no server serves.
    pub fn expected(self) -> Option<Outcome> {
        Some(match self {
            Fault::None => Outcome::Ok,
            Fault::Expired | Fault::ExpiredIntermediate | Fault::ExpiredRoot => Outcome::Expired,
            Fault::NotYetValid => Outcome::NotYetValid,
            Fault::WrongHost | Fault::IpMismatch | Fault::CnOnly => Outcome::HostnameMismatch,
            // A server's same-name root: OpenSSL (verify error 20, the AKI names another key)
            // and certlab's probe say unknown-ca; bare webpki says BadSignature, Go "ECDSA
            // verification failure". A client's same-name root: the rustls server sends
            // decrypt_error (alert 51), which the `client-same-name-root` scenario expects.
            Fault::UnknownCa | Fault::SameNameRoot => Outcome::UnknownCa,
            Fault::SelfSigned => Outcome::SelfSigned,
            Fault::MissingIntermediate => Outcome::IncompleteChain,
            Fault::ReversedChain => Outcome::MisorderedChain,
            Fault::WrongEku | Fault::ServerAsClient => Outcome::WrongUsage,
            Fault::IntermediateNotCa => Outcome::InvalidCa,
            Fault::PathLen => Outcome::PathLenExceeded,
            Fault::NameConstraints => Outcome::NameConstraintViolation,
            Fault::Revoked => Outcome::Revoked,
            Fault::BadSignature => Outcome::BadSignature,
            Fault::UnknownCriticalExtension => Outcome::BadCertificate,
            Fault::KeyMismatch => return None,
        })
    }

    /// Where a real client that a test ran disagrees with [`Fault::expected`]: (client, what
    /// it saw). Clients: `openssl` (`openssl verify` / `s_client`), `curl`, `rustls` (plain
    /// rustls without certlab's extra checks). Every entry is asserted by a test.
    pub fn expected_by_client(self) -> &'static [(&'static str, Outcome)] {
        match self {
            // OpenSSL (s_client, and curl on it) still falls back to the subject CN.
            // Asserted by tests/it/serve_openssl.rs, tests/it/serve_curl.rs and tests/it/check_openssl.rs.
            Fault::CnOnly => &[("curl", Outcome::Ok), ("openssl", Outcome::Ok)],
            // OpenSSL takes the first certificate served (the intermediate) for the leaf and
            // finds no serverAuth purpose on it: error 26, "unsuitable certificate purpose".
            // Asserted by tests/it/serve_openssl.rs, tests/it/serve_curl.rs and tests/it/check_openssl.rs.
            Fault::ReversedChain => &[
                ("curl", Outcome::WrongUsage),
                ("openssl", Outcome::WrongUsage),
            ],
            // rustls-webpki does not check a trust anchor's own dates; certlab does.
            // Asserted by tests/it/fixture_live.rs.
            Fault::ExpiredRoot => &[("rustls", Outcome::Ok)],
            _ => &[],
        }
    }

    /// Whether a server entity with this fault is an endpoint of its own (an implicit scenario).
    /// A `server-as-client` leaf is only ever presented by a client.
    pub fn is_served(self) -> bool {
        self != Fault::ServerAsClient
    }

    /// Whether checking this leaf means checking it as a client certificate.
    pub fn is_client_side(self) -> bool {
        self == Fault::ServerAsClient
    }

    /// Whether the client must connect by IP address for the fault to show (`ip-mismatch`).
    pub fn connects_by_ip(self) -> bool {
        self == Fault::IpMismatch
    }

    /// Why `serve` refuses to start with this fault, if it does.
    pub fn serve_error(self) -> Option<ServeRefusal> {
        (self == Fault::KeyMismatch).then_some(ServeRefusal::KeyMismatch)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_FAULTS
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ALL_FAULTS.iter().map(|f| f.name()).collect();
                format!(
                    "unknown fault `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// Why a server must refuse to start: a scenario whose endpoint cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ServeRefusal {
    /// The key file holds another key than the certificate's (`key-mismatch`).
    KeyMismatch,
}

impl ServeRefusal {
    /// The stable kebab-case name (the manifest's `serve_error`).
    pub fn name(self) -> &'static str {
        match self {
            ServeRefusal::KeyMismatch => "key-mismatch",
        }
    }
}

impl fmt::Display for ServeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario must show: an outcome a client sees, or a server that refuses to start.
/// Serialized as the name of either (`expired`, `key-mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expectation {
    /// The endpoint serves, and a client sees this outcome.
    Outcome(Outcome),
    /// The server refuses to start.
    ServeRefuses(ServeRefusal),
}

impl Expectation {
    /// The stable kebab-case name: the outcome's or the refusal's.
    pub fn name(self) -> &'static str {
        match self {
            Expectation::Outcome(o) => o.name(),
            Expectation::ServeRefuses(r) => r.name(),
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Expectation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
