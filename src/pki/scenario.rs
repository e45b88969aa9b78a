//! Scenarios (DESIGN.md section 5): one endpoint, the client that probes it, and the outcome
//! that must follow.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::model::{Expectation, ServeRefusal};
use crate::outcome::Outcome;
use crate::tls::{ClientAuth, TlsVersion};

/// The server side of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSide {
    /// The entity whose `NAME.chain.pem` and `NAME.key` are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Restrict the server to this TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsVersion>,
    /// Restrict the server to these rustls cipher-suite names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
    /// ALPN protocols in preference order; `None` is the default `http/1.1`, `h2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<Vec<String>>,
    /// Client certificates: none, optional or required.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The CA entities client certificates must chain to (default: the trusted roots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ca: Vec<String>,
    /// No TLS at all: answer anything with HTTP/1.1 400.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plaintext: bool,
}

/// The client side of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSide {
    /// The host or IP to connect to and verify (default `localhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    /// The name to verify instead (like the collector's `server_name_override`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servername: Option<String>,
    /// Restrict the client to this TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsVersion>,
    /// Restrict the client to these rustls cipher-suite names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
    /// ALPN protocols the client offers (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// The entity the client presents as its certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// The issuer entities whose CRLs the client checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crl: Vec<String>,
}

impl ClientSide {
    /// The host or IP the client connects to.
    pub fn host(&self) -> &str {
        self.connect.as_deref().unwrap_or("localhost")
    }
}

/// One endpoint plus the client that probes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name: a fault name, `client-*`, or a setting (`plaintext`, `tls12-vs-tls13`, ...).
    pub name: String,
    /// What the server does.
    #[serde(default)]
    pub server: ServerSide,
    /// What the client does.
    #[serde(default)]
    pub client: ClientSide,
    /// The outcome the client must see; `None` when the server cannot even start.
    pub expected: Option<Outcome>,
    /// Per real client, the outcome a test saw where it differs from `expected`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expected_by_client: BTreeMap<String, Outcome>,
    /// Why `serve` refuses to start, when it must (`key-mismatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve_error: Option<ServeRefusal>,
}

impl Scenario {
    /// The loopback address this scenario's endpoint listens on (port 0): `::1` when its
    /// client connects to an IPv6 address, else 127.0.0.1.
    pub fn listen_addr(&self) -> SocketAddr {
        let ip = match self.client.host().parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        SocketAddr::new(ip, 0)
    }

    /// What the scenario must show: its serve refusal if it has one, else its outcome.
    pub fn expectation(&self) -> Option<Expectation> {
        match (self.serve_error, self.expected) {
            (Some(r), _) => Some(Expectation::ServeRefuses(r)),
            (None, Some(o)) => Some(Expectation::Outcome(o)),
            (None, None) => None,
        }
    }
}

/// The lab scenario whose measured client verdicts a server entity shares: the implicit
/// scenario of a served server leaf is named after its fault (`good` for none).
pub(crate) fn lab_scenario_of(
    role: super::model::Role,
    fault: super::model::Fault,
) -> Option<&'static str> {
    if !role.is_server() || !fault.is_served() || fault.serve_error().is_some() {
        return None;
    }
    Some(match fault {
        super::model::Fault::None => "good",
        f => f.name(),
    })
}

/// What every measured client family says for a server entity with this fault
/// ([`crate::clients::verdicts`] of its lab scenario): the entity's `expected_by_client`.
pub fn client_verdicts(
    role: super::model::Role,
    fault: super::model::Fault,
) -> BTreeMap<String, Outcome> {
    lab_scenario_of(role, fault)
        .map(crate::clients::verdicts)
        .unwrap_or_default()
}
