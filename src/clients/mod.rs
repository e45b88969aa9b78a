//! The client families: the real TLS stacks whose verdicts certlab records, names and predicts
//! (DESIGN.md sections 2 and 3).
//!
//! A family is named by what a user knows (`curl`, `python3.13`, `go`, ...) and stands for one
//! TLS library and its verification rules ([`Client::library`]). What each family says for each
//! lab scenario is measured by running that client (see `certlab lab --clients`), never inferred
//! from certlab's own verifier; the measured table lives here so that the lab, `explain`,
//! `check`, `probe` and the manifest all read the same data.
//!
//! ```
//! use certlab::clients::{Client, ALL_CLIENTS};
//!
//! let go: Client = "go".parse().unwrap();
//! assert_eq!(go, Client::Go);
//! assert!(go.library().contains("crypto/tls"));
//! assert!(ALL_CLIENTS.contains(&Client::Python313));
//! ```

mod measured;
pub mod rules;

pub use measured::{Cell, cell, cells};

use std::fmt;
use std::str::FromStr;

/// One client family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Client {
    /// Plain rustls 0.23 with rustls-webpki's verifier and the CA file as roots, run in
    /// process: what a Rust program using rustls sees, without certlab's extra checks (a trust
    /// anchor's own dates are not checked).
    Rustls,
    /// curl on OpenSSL 3 (Debian's curl).
    Curl,
    /// `openssl s_client -verify_return_error` (OpenSSL 3).
    Openssl,
    /// Python's `ssl` module with its default context (OpenSSL 3).
    Python,
    /// Python ≥ 3.13's default context: OpenSSL with `VERIFY_X509_STRICT` (and
    /// `VERIFY_X509_PARTIAL_CHAIN`), emulated on the installed Python.
    Python313,
    /// gRPC (`grpcio`, BoringSSL underneath).
    Grpc,
    /// `gnutls-cli` (GnuTLS 3).
    Gnutls,
    /// Go's `crypto/tls` (a stdlib-only client program).
    Go,
    /// Java JSSE (a single-file Java client, the JDK's default trust manager).
    Java,
    /// Node.js `tls` (OpenSSL underneath, its own hostname check).
    Node,
    /// Chromium headless, the CA in its NSS database (`NET::ERR_CERT_*`).
    Chromium,
}

/// Every family, in the order tables show them.
pub const ALL_CLIENTS: &[Client] = &[
    Client::Rustls,
    Client::Curl,
    Client::Openssl,
    Client::Python,
    Client::Python313,
    Client::Grpc,
    Client::Gnutls,
    Client::Go,
    Client::Java,
    Client::Node,
    Client::Chromium,
];

impl Client {
    /// The family's name, as users type it (`--client python3.13`).
    pub fn name(self) -> &'static str {
        match self {
            Client::Rustls => "rustls",
            Client::Curl => "curl",
            Client::Openssl => "openssl",
            Client::Python => "python",
            Client::Python313 => "python3.13",
            Client::Grpc => "grpc",
            Client::Gnutls => "gnutls",
            Client::Go => "go",
            Client::Java => "java",
            Client::Node => "node",
            Client::Chromium => "chromium",
        }
    }

    /// The TLS library and verification rules the family stands for.
    pub fn library(self) -> &'static str {
        match self {
            Client::Rustls => "rustls 0.23 + rustls-webpki (plain, in process)",
            Client::Curl => "curl on OpenSSL 3",
            Client::Openssl => "OpenSSL 3 (openssl s_client)",
            Client::Python => "Python ssl on OpenSSL 3, default context",
            Client::Python313 => "Python >= 3.13 ssl: OpenSSL 3 with X509_STRICT",
            Client::Grpc => "gRPC (grpcio) on BoringSSL",
            Client::Gnutls => "GnuTLS 3 (gnutls-cli)",
            Client::Go => "Go crypto/tls and crypto/x509",
            Client::Java => "Java JSSE (PKIX trust manager)",
            Client::Node => "Node.js tls on OpenSSL 3",
            Client::Chromium => "Chromium (BoringSSL, Chrome cert verifier, NSS store)",
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no client family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown client {name:?} (known: {known})")]
pub struct UnknownClient {
    /// The name given.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

impl FromStr for Client {
    type Err = UnknownClient;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "python3" => "python",
            "python313" | "python3.13+" => "python3.13",
            "grpcio" => "grpc",
            "gnutls-cli" => "gnutls",
            "golang" => "go",
            "jsse" => "java",
            "nodejs" => "node",
            "chrome" | "browser" => "chromium",
            other => other,
        };
        ALL_CLIENTS
            .iter()
            .copied()
            .find(|c| c.name() == alias)
            .ok_or_else(|| UnknownClient {
                name: s.to_string(),
                known: ALL_CLIENTS
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Every measured family's verdict for one lab scenario (family name → outcome), as the
/// manifest's `expected_by_client` records it; empty for a scenario no family measured.
///
/// ```
/// let v = certlab::clients::verdicts("cn-only");
/// assert_eq!(v.get("curl"), Some(&certlab::Outcome::Ok));
/// assert_eq!(v.get("rustls"), Some(&certlab::Outcome::HostnameMismatch));
/// ```
pub fn verdicts(scenario: &str) -> std::collections::BTreeMap<String, crate::outcome::Outcome> {
    ALL_CLIENTS
        .iter()
        .filter_map(|&c| cell(c, scenario).map(|cell| (c.name().to_string(), cell.outcome)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &c in ALL_CLIENTS {
            assert_eq!(c.name().parse::<Client>(), Ok(c));
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!("Python3".parse::<Client>(), Ok(Client::Python));
        let err = "lynx".parse::<Client>().unwrap_err();
        assert!(err.to_string().contains("python3.13"), "{err}");
    }
}
