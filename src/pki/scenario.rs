//! Scenarios (DESIGN.md section 5): one endpoint, the client that probes it, and the outcome
//! that must follow.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::{Expectation, ServeRefusal};
use crate::outcome::Outcome;

/// A TLS protocol version a side is restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 only.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        })
    }
}

impl std::str::FromStr for TlsVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.2" => Ok(TlsVersion::Tls12),
            "1.3" => Ok(TlsVersion::Tls13),
            _ => Err(format!("unknown TLS version `{s}` (expected 1.2 or 1.3)")),
        }
    }
}

/// Whether and how a server asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Never asks.
    #[default]
    None,
    /// Asks, accepts a handshake without one.
    Optional,
    /// Asks and refuses a handshake without one.
    Required,
}

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
    /// What the scenario must show: its serve refusal if it has one, else its outcome.
    pub fn expectation(&self) -> Option<Expectation> {
        match (self.serve_error, self.expected) {
            (Some(r), _) => Some(Expectation::ServeRefuses(r)),
            (None, Some(o)) => Some(Expectation::Outcome(o)),
            (None, None) => None,
        }
    }
}
