//! TLS names both wings print: alert names (RFC 8446) and rustls cipher-suite names. `serve`
//! and `verify` both use them and must not import each other, so they live here.

use rustls::{AlertDescription, CipherSuite, SupportedCipherSuite};

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
/// assert!(certlab::tls_names::find_suite("tls13_aes_256_gcm_sha384").is_some());
/// assert!(certlab::tls_names::find_suite("RC4").is_none());
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
    fn every_suite_name_is_found_again() {
        let names = cipher_suite_names();
        assert!(names.len() >= 9, "{names:?}");
        for n in names {
            assert_eq!(find_suite(&n).map(|s| suite_name(s.suite())), Some(n));
        }
    }
}
