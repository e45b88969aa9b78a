//! TLS vocabulary every wing shares: the protocol versions and client-auth modes a scenario
//! names, alert and cipher-suite names in the one format serve logs and probe reports print,
//! `host:port` text, and the one conversion between [`OffsetDateTime`] (the time every public
//! API takes) and the [`UnixTime`] rustls and webpki want. `serve` and `verify` both use them
//! and must not import each other, so they live here, on the ground floor.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use pki_types::UnixTime;
use rustls::{AlertDescription, CipherSuite, SupportedCipherSuite, SupportedProtocolVersion};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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

impl TlsVersion {
    /// The rustls protocol versions a side restricted to `version` enables (`None`: both).
    pub fn rustls_versions(
        version: Option<TlsVersion>,
    ) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: [&SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static TLS12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match version {
            None => &BOTH,
            Some(TlsVersion::Tls12) => &TLS12,
            Some(TlsVersion::Tls13) => &TLS13,
        }
    }
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

/// A time as rustls and webpki want it. Times before 1970 become the epoch.
pub(crate) fn unix_time(t: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(t.unix_timestamp()).unwrap_or(0),
    ))
}

/// A rustls / webpki time as an [`OffsetDateTime`]. Times past the year 9999 become the epoch.
pub(crate) fn offset_date_time(t: UnixTime) -> OffsetDateTime {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `host:port` for a host that may be an IPv6 address (then in brackets: `[::1]:443`).
///
/// ```
/// assert_eq!(certlab::tls::join_host_port("::1", 443), "[::1]:443");
/// assert_eq!(certlab::tls::join_host_port("localhost", 8443), "localhost:8443");
/// ```
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits `host:port`, `[v6]:port`, `host`, `[v6]` or a bare IP address into the host
/// (without brackets) and the port, if one is given. `None` when it is malformed: an empty
/// host or one with white space, a port outside 1..=65535, an unbracketed host with a colon
/// that is not an IP address, brackets around anything but an IPv6 address.
///
/// ```
/// use certlab::tls::split_host_port;
/// assert_eq!(split_host_port("a.test:443"), Some(("a.test".into(), Some(443))));
/// assert_eq!(split_host_port("[::1]:8443"), Some(("::1".into(), Some(8443))));
/// assert_eq!(split_host_port("::1"), Some(("::1".into(), None)));
/// assert_eq!(split_host_port("a.test:0"), None);
/// ```
pub fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return None,
        }
    } else if text.parse::<IpAddr>().is_ok() {
        (text, None)
    } else {
        match text.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return None,
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
    };
    Some((host.to_string(), port))
}

/// The rustls name of a cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
pub fn suite_name(suite: CipherSuite) -> String {
    format!("{suite:?}")
}

/// The rustls names of every cipher suite certlab can offer or serve (aws-lc-rs's suites).
pub fn cipher_suite_names() -> Vec<String> {
    rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .map(|s| suite_name(s.suite()))
        .collect()
}

/// The cipher suite with this rustls name (case-insensitive, surrounding spaces ignored).
///
/// ```
/// assert!(certlab::tls::find_suite("tls13_aes_256_gcm_sha384").is_some());
/// assert!(certlab::tls::find_suite("RC4").is_none());
/// ```
pub fn find_suite(name: &str) -> Option<SupportedCipherSuite> {
    rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .find(|s| suite_name(s.suite()).eq_ignore_ascii_case(name.trim()))
        .copied()
}

/// The RFC 8446 name of an alert.
pub fn alert_name(a: AlertDescription) -> String {
    use AlertDescription as A;
    let name = match a {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::RecordOverflow => "record_overflow",
        A::HandshakeFailure => "handshake_failure",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::UnknownPSKIdentity => "unknown_psk_identity",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        other => return format!("{other:?}"),
    };
    name.to_string()
}

/// An alert as serve logs and probe reports print it: its number and its RFC 8446 name, e.g.
/// `116 (certificate_required)`.
pub fn alert_text(alert: AlertDescription) -> String {
    format!("{} ({})", u8::from(alert), alert_name(alert))
}

/// rustls cipher-suite names as OpenSSL (and curl on it) spell them: (TLS 1.3 suites for
/// `-ciphersuites`, TLS 1.2 suites for `-cipher`). `TLS13_AES_128_GCM_SHA256` is
/// `TLS_AES_128_GCM_SHA256`; `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` is
/// `ECDHE-ECDSA-AES128-GCM-SHA256`. Unknown names are passed through.
pub fn openssl_suites(rustls_names: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tls13 = Vec::new();
    let mut tls12 = Vec::new();
    for name in rustls_names {
        if let Some(rest) = name.strip_prefix("TLS13_") {
            tls13.push(format!("TLS_{rest}"));
            continue;
        }
        let Some(rest) = name.strip_prefix("TLS_") else {
            tls12.push(name.clone());
            continue;
        };
        // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 -> ECDHE-ECDSA-AES128-GCM-SHA256
        let Some((kx, cipher)) = rest.split_once("_WITH_") else {
            tls12.push(name.clone());
            continue;
        };
        let cipher = cipher
            .replace("AES_128", "AES128")
            .replace("AES_256", "AES256")
            .replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305")
            .replace('_', "-");
        tls12.push(format!("{}-{cipher}", kx.replace('_', "-")));
    }
    (tls13, tls12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_the_rfc_ones() {
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(AlertDescription::NoApplicationProtocol),
            "no_application_protocol"
        );
    }

    #[test]
    fn alerts_print_number_then_name() {
        assert_eq!(
            alert_text(AlertDescription::CertificateRequired),
            "116 (certificate_required)"
        );
        assert_eq!(alert_text(AlertDescription::UnknownCA), "48 (unknown_ca)");
    }

    #[test]
    fn times_convert_both_ways_at_the_rustls_boundary() {
        let t = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        assert_eq!(unix_time(t).as_secs(), 1_900_000_000);
        assert_eq!(offset_date_time(unix_time(t)), t);
        let before = OffsetDateTime::from_unix_timestamp(-5).unwrap();
        assert_eq!(unix_time(before).as_secs(), 0);
    }

    #[test]
    fn host_port_round_trips() {
        for (host, port) in [("::1", 9), ("127.0.0.1", 443), ("a.test", 1)] {
            let text = join_host_port(host, port);
            assert_eq!(split_host_port(&text), Some((host.to_string(), Some(port))));
        }
        for bad in [
            "",
            ":1",
            "a b:1",
            "a:b:1",
            "[a.test]:1",
            "[::1]x",
            "h:65536",
            "h:",
        ] {
            assert_eq!(split_host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_suite_name_is_found_again() {
        let names = cipher_suite_names();
        assert!(names.len() >= 9, "{names:?}");
        for n in names {
            assert_eq!(find_suite(&n).map(|s| suite_name(s.suite())), Some(n));
        }
    }
}
