//! `explain` speaks every client's words (issue 10): every message below is what a real client
//! printed against a `certlab lab --serve` endpoint on this machine (OpenSSL 3.0 s_client, curl
//! on OpenSSL 3.0, Python 3.11 `ssl` with its default context and with `VERIFY_X509_STRICT`
//! as Python 3.13 sets it, gRPC 1.85 (`grpcio`, BoringSSL; its log line and its status
//! details), GnuTLS 3.7 `gnutls-cli`, Go 1.19 `crypto/tls`, Java 17 JSSE and Node.js 20 `tls`),
//! with the scenario it ran and the outcome the message means. Timestamps and pids of the gRPC
//! log and Node's stack frames after the first are cut; nothing else is edited.
//!
//! Where a client's words name another outcome than the scenario's (GnuTLS, Python, gRPC, Java
//! and OpenSSL call a reversed chain a key-usage problem; Go and Java send no client certificate
//! whose issuer the server did not ask for, so `client-unknown-ca` is "certificate required"
//! to them), the message's own meaning is the expected outcome, and the scenario's outcome must
//! be among the alternatives `explain` lists.

use certlab::Outcome;
use certlab::clients::Client;
use certlab::explain;

use crate::common;

use Client::*;
use Outcome::*;

/// (client that printed it, lab scenario, message, the outcome it means).
const COLLECTED: &[(Client, &str, &str, Outcome)] = &[
    (
        Python,
        "plaintext",
        "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
        NotTls,
    ),
    (
        Python,
        "tls12-vs-tls13",
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)",
        ProtocolMismatch,
    ),
    (
        Python,
        "tls13-vs-tls12",
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)",
        ProtocolMismatch,
    ),
    (
        Python,
        "alpn-no-h2",
        "ssl.SSLError: [SSL] tlsv1 alert no application protocol (_ssl.c:1006)",
        AlpnMismatch,
    ),
    (
        Python,
        "client-none",
        "ssl.SSLError: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)",
        ClientCertRequired,
    ),
    (
        Python,
        "client-unknown-ca",
        "ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python,
        "client-same-name-root",
        "ssl.SSLError: [SSL: TLSV1_ALERT_DECRYPT_ERROR] tlsv1 alert decrypt error (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python,
        "client-expired",
        "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python,
        "client-wrong-eku",
        "ssl.SSLError: [SSL: SSLV3_ALERT_UNSUPPORTED_CERTIFICATE] sslv3 alert unsupported certificate (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python,
        "expired",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python,
        "not-yet-valid",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate is not yet valid (_ssl.c:1006)",
        NotYetValid,
    ),
    (
        Python,
        "wrong-host",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:1006)",
        HostnameMismatch,
    ),
    (
        Python,
        "ip-mismatch",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)",
        HostnameMismatch,
    ),
    (
        Python,
        "unknown-ca",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python,
        "same-name-root",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python,
        "self-signed",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
        SelfSigned,
    ),
    (
        Python,
        "missing-intermediate",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python,
        "reversed-chain",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose (_ssl.c:1006)",
        WrongUsage,
    ),
    (
        Python,
        "wrong-eku",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose (_ssl.c:1006)",
        WrongUsage,
    ),
    (
        Python,
        "expired-intermediate",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python,
        "expired-root",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python,
        "intermediate-not-ca",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: invalid CA certificate (_ssl.c:1006)",
        InvalidCa,
    ),
    (
        Python,
        "path-len",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: path length constraint exceeded (_ssl.c:1006)",
        PathLenExceeded,
    ),
    (
        Python,
        "name-constraints",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: permitted subtree violation (_ssl.c:1006)",
        NameConstraintViolation,
    ),
    (
        Python,
        "revoked",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate revoked (_ssl.c:1006)",
        Revoked,
    ),
    (
        Python,
        "bad-signature",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate signature failure (_ssl.c:1006)",
        BadSignature,
    ),
    (
        Python,
        "unknown-critical-extension",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unhandled critical extension (_ssl.c:1006)",
        BadCertificate,
    ),
    (
        Python313,
        "plaintext",
        "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
        NotTls,
    ),
    (
        Python313,
        "tls12-vs-tls13",
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)",
        ProtocolMismatch,
    ),
    (
        Python313,
        "tls13-vs-tls12",
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)",
        ProtocolMismatch,
    ),
    (
        Python313,
        "alpn-no-h2",
        "ssl.SSLError: [SSL] tlsv1 alert no application protocol (_ssl.c:1006)",
        AlpnMismatch,
    ),
    (
        Python313,
        "client-none",
        "ssl.SSLError: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)",
        ClientCertRequired,
    ),
    (
        Python313,
        "client-unknown-ca",
        "ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python313,
        "client-same-name-root",
        "ssl.SSLError: [SSL: TLSV1_ALERT_DECRYPT_ERROR] tlsv1 alert decrypt error (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python313,
        "client-expired",
        "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python313,
        "client-wrong-eku",
        "ssl.SSLError: [SSL: SSLV3_ALERT_UNSUPPORTED_CERTIFICATE] sslv3 alert unsupported certificate (_ssl.c:2580)",
        ClientCertRejected,
    ),
    (
        Python313,
        "expired",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python313,
        "not-yet-valid",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate is not yet valid (_ssl.c:1006)",
        NotYetValid,
    ),
    (
        Python313,
        "wrong-host",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:1006)",
        HostnameMismatch,
    ),
    (
        Python313,
        "ip-mismatch",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)",
        HostnameMismatch,
    ),
    (
        Python313,
        "unknown-ca",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python313,
        "same-name-root",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python313,
        "self-signed",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
        SelfSigned,
    ),
    (
        Python313,
        "missing-intermediate",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
        UnknownCa,
    ),
    (
        Python313,
        "reversed-chain",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose (_ssl.c:1006)",
        WrongUsage,
    ),
    (
        Python313,
        "wrong-eku",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unsuitable certificate purpose (_ssl.c:1006)",
        WrongUsage,
    ),
    (
        Python313,
        "expired-intermediate",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python313,
        "expired-root",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        Expired,
    ),
    (
        Python313,
        "intermediate-not-ca",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: invalid CA certificate (_ssl.c:1006)",
        InvalidCa,
    ),
    (
        Python313,
        "path-len",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: path length constraint exceeded (_ssl.c:1006)",
        PathLenExceeded,
    ),
    (
        Python313,
        "name-constraints",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: permitted subtree violation (_ssl.c:1006)",
        NameConstraintViolation,
    ),
    (
        Python313,
        "revoked",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate revoked (_ssl.c:1006)",
        Revoked,
    ),
    (
        Python313,
        "bad-signature",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate signature failure (_ssl.c:1006)",
        BadSignature,
    ),
    (
        Python313,
        "unknown-critical-extension",
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unhandled critical extension (_ssl.c:1006)",
        BadCertificate,
    ),
    (
        Go,
        "plaintext",
        "tls: first record does not look like a TLS handshake",
        NotTls,
    ),
    (
        Go,
        "tls12-vs-tls13",
        "remote error: tls: protocol version not supported",
        ProtocolMismatch,
    ),
    (
        Go,
        "tls13-vs-tls12",
        "remote error: tls: protocol version not supported",
        ProtocolMismatch,
    ),
    (
        Go,
        "alpn-no-h2",
        "remote error: tls: no application protocol",
        AlpnMismatch,
    ),
    (
        Go,
        "client-none",
        "remote error: tls: certificate required",
        ClientCertRequired,
    ),
    (
        Go,
        "client-unknown-ca",
        "remote error: tls: certificate required",
        ClientCertRequired,
    ),
    (
        Go,
        "client-same-name-root",
        "remote error: tls: error decrypting message",
        ClientCertRejected,
    ),
    (
        Go,
        "client-expired",
        "remote error: tls: expired certificate",
        ClientCertRejected,
    ),
    (
        Go,
        "client-wrong-eku",
        "remote error: tls: unsupported certificate",
        ClientCertRejected,
    ),
    (
        Go,
        "expired",
        "x509: certificate has expired or is not yet valid: current time 2026-11-30T04:09:17Z is after 2026-11-29T04:03:49Z",
        Expired,
    ),
    (
        Go,
        "not-yet-valid",
        "x509: certificate has expired or is not yet valid: current time 2026-11-30T04:09:17Z is before 2026-12-30T04:03:49Z",
        NotYetValid,
    ),
    (
        Go,
        "wrong-host",
        "x509: certificate is valid for wrong-host.certlab.invalid, not localhost",
        HostnameMismatch,
    ),
    (
        Go,
        "ip-mismatch",
        "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
        HostnameMismatch,
    ),
    (
        Go,
        "cn-only",
        "x509: certificate relies on legacy Common Name field, use SANs instead",
        HostnameMismatch,
    ),
    (
        Go,
        "unknown-ca",
        "x509: certificate signed by unknown authority",
        UnknownCa,
    ),
    (
        Go,
        "same-name-root",
        "x509: certificate signed by unknown authority (possibly because of \"x509: ECDSA verification failure\" while trying to verify candidate authority certificate \"certlab lab root 8573c5\")",
        BadSignature,
    ),
    (
        Go,
        "self-signed",
        "x509: certificate signed by unknown authority",
        UnknownCa,
    ),
    (
        Go,
        "missing-intermediate",
        "x509: certificate signed by unknown authority",
        UnknownCa,
    ),
    (
        Go,
        "reversed-chain",
        "x509: certificate is not valid for any names, but wanted to match localhost",
        HostnameMismatch,
    ),
    (
        Go,
        "wrong-eku",
        "x509: certificate specifies an incompatible key usage",
        WrongUsage,
    ),
    (
        Go,
        "expired-intermediate",
        "x509: certificate has expired or is not yet valid: current time 2026-11-30T04:09:17Z is after 2026-11-29T04:03:49Z",
        Expired,
    ),
    (
        Go,
        "expired-root",
        "x509: certificate has expired or is not yet valid: current time 2026-11-30T04:09:17Z is after 2026-11-29T04:03:49Z",
        Expired,
    ),
    (
        Go,
        "intermediate-not-ca",
        "x509: certificate signed by unknown authority (possibly because of \"x509: invalid signature: parent certificate cannot sign this kind of certificate\" while trying to verify candidate authority certificate \"certlab intermediate-not-ca CA\")",
        InvalidCa,
    ),
    (
        Go,
        "path-len",
        "x509: too many intermediates for path length constraint",
        PathLenExceeded,
    ),
    (
        Go,
        "name-constraints",
        "x509: a root or intermediate certificate is not authorized to sign for this name: DNS name \"localhost\" is not permitted by any constraint",
        NameConstraintViolation,
    ),
    (
        Go,
        "bad-signature",
        "x509: certificate signed by unknown authority (possibly because of \"x509: ECDSA verification failure\" while trying to verify candidate authority certificate \"certlab lab intermediate\")",
        BadSignature,
    ),
    (
        Go,
        "unknown-critical-extension",
        "x509: unhandled critical extension",
        BadCertificate,
    ),
    (
        Java,
        "plaintext",
        "javax.net.ssl.SSLException: Unsupported or unrecognized SSL message",
        NotTls,
    ),
    (
        Java,
        "tls12-vs-tls13",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version",
        ProtocolMismatch,
    ),
    (
        Java,
        "tls13-vs-tls12",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version",
        ProtocolMismatch,
    ),
    (
        Java,
        "cipher-mismatch",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure",
        HandshakeFailure,
    ),
    (
        Java,
        "alpn-no-h2",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: no_application_protocol",
        AlpnMismatch,
    ),
    (
        Java,
        "client-none",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required",
        ClientCertRequired,
    ),
    (
        Java,
        "client-unknown-ca",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required",
        ClientCertRequired,
    ),
    (
        Java,
        "client-same-name-root",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: decrypt_error",
        ClientCertRejected,
    ),
    (
        Java,
        "client-expired",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired",
        ClientCertRejected,
    ),
    (
        Java,
        "client-wrong-eku",
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: unsupported_certificate",
        ClientCertRejected,
    ),
    (
        Java,
        "expired",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
        Expired,
    ),
    (
        Java,
        "expired",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\nCaused by: java.security.cert.CertificateExpiredException: NotAfter: Sun Nov 29 04:03:49 UTC 2026",
        Expired,
    ),
    (
        Java,
        "not-yet-valid",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
        Expired,
    ),
    (
        Java,
        "not-yet-valid",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\nCaused by: java.security.cert.CertificateNotYetValidException: NotBefore: Wed Dec 30 04:03:49 UTC 2026",
        NotYetValid,
    ),
    (
        Java,
        "wrong-host",
        "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching localhost found.",
        HostnameMismatch,
    ),
    (
        Java,
        "ip-mismatch",
        "javax.net.ssl.SSLHandshakeException: No subject alternative names matching IP address 127.0.0.1 found",
        HostnameMismatch,
    ),
    (
        Java,
        "unknown-ca",
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
        UnknownCa,
    ),
    (
        Java,
        "same-name-root",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: Path does not chain with any of the trust anchors",
        UnknownCa,
    ),
    (
        Java,
        "self-signed",
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
        UnknownCa,
    ),
    (
        Java,
        "missing-intermediate",
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
        UnknownCa,
    ),
    (
        Java,
        "reversed-chain",
        "javax.net.ssl.SSLHandshakeException: KeyUsage does not allow digital signatures",
        WrongUsage,
    ),
    (
        Java,
        "wrong-eku",
        "javax.net.ssl.SSLHandshakeException: Extended key usage does not permit use for TLS server authentication",
        WrongUsage,
    ),
    (
        Java,
        "expired-intermediate",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
        Expired,
    ),
    (
        Java,
        "expired-intermediate",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\nCaused by: java.security.cert.CertificateExpiredException: NotAfter: Sun Nov 29 04:03:49 UTC 2026",
        Expired,
    ),
    (
        Java,
        "intermediate-not-ca",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: basic constraints check failed: this is not a CA certificate",
        InvalidCa,
    ),
    (
        Java,
        "path-len",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: basic constraints check failed: pathLenConstraint violated - this cert must be the last cert in the certification path",
        PathLenExceeded,
    ),
    (
        Java,
        "name-constraints",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: name constraints check failed",
        NameConstraintViolation,
    ),
    (
        Java,
        "revoked",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: Certificate has been revoked, reason: KEY_COMPROMISE, revocation date: Mon Nov 30 03:03:49 UTC 2026, authority: CN=certlab lab intermediate, O=certlab, extension OIDs: [2.5.29.21]",
        Revoked,
    ),
    (
        Java,
        "bad-signature",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: signature check failed",
        BadSignature,
    ),
    (
        Java,
        "unknown-critical-extension",
        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: unrecognized critical extension(s)",
        BadCertificate,
    ),
    (
        Node,
        "plaintext",
        "[Error: 802C6B2C047F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350: ] { library: 'SSL routines', reason: 'wrong version number', code: 'ERR_SSL_WRONG_VERSION_NUMBER' }",
        NotTls,
    ),
    (
        Node,
        "tls12-vs-tls13",
        "[Error: 802C6B2C047F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70 ] { library: 'SSL routines', reason: 'tlsv1 alert protocol version', code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }",
        ProtocolMismatch,
    ),
    (
        Node,
        "tls13-vs-tls12",
        "[Error: 802C6B2C047F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70 ] { library: 'SSL routines', reason: 'tlsv1 alert protocol version', code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }",
        ProtocolMismatch,
    ),
    (
        Node,
        "alpn-no-h2",
        "[Error: 802C6B2C047F0000:error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 120 ] { library: 'SSL routines', reason: 'tlsv1 alert no application protocol', code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' }",
        AlpnMismatch,
    ),
    (
        Node,
        "client-none",
        "[Error: 802C6B2C047F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116 ] { library: 'SSL routines', reason: 'tlsv13 alert certificate required', code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }",
        ClientCertRequired,
    ),
    (
        Node,
        "client-unknown-ca",
        "[Error: 802C6B2C047F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48 ] { library: 'SSL routines', reason: 'tlsv1 alert unknown ca', code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }",
        ClientCertRejected,
    ),
    (
        Node,
        "client-same-name-root",
        "[Error: 802C6B2C047F0000:error:0A00041B:SSL routines:ssl3_read_bytes:tlsv1 alert decrypt error:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 51 ] { library: 'SSL routines', reason: 'tlsv1 alert decrypt error', code: 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR' }",
        ClientCertRejected,
    ),
    (
        Node,
        "client-expired",
        "[Error: 802C6B2C047F0000:error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 45 ] { library: 'SSL routines', reason: 'sslv3 alert certificate expired', code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' }",
        ClientCertRejected,
    ),
    (
        Node,
        "client-wrong-eku",
        "[Error: 802C6B2C047F0000:error:0A000413:SSL routines:ssl3_read_bytes:sslv3 alert unsupported certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 43 ] { library: 'SSL routines', reason: 'sslv3 alert unsupported certificate', code: 'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE' }",
        ClientCertRejected,
    ),
    (
        Node,
        "expired",
        "Error: certificate has expired at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'CERT_HAS_EXPIRED' }",
        Expired,
    ),
    (
        Node,
        "not-yet-valid",
        "Error: certificate is not yet valid at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'CERT_NOT_YET_VALID' }",
        NotYetValid,
    ),
    (
        Node,
        "wrong-host",
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:wrong-host.certlab.invalid at TLSSocket.onConnectSecure (node:_tls_wrap:1709:27) { code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: \"Host: localhost. is not in the cert's altnames: DNS:wrong-host.certlab.invalid\", host: 'localhost', cert: { subject: [Object: null prototype] { CN: 'wrong-host.certlab.invalid' }, issuer: [Object: null prototype] { O: 'certlab', CN: 'certlab lab intermediate' }, subjectaltname: 'DNS:wrong-host.certlab.invalid', ca: false, bits: 256, pubkey: <Buffer 04 00 81 c5 97 e3 01 07 ef 10 e6 5f 0b 67 0d a6 aa cc f9 63 39 f0 46 70 8b a8 8b 62 55 3b 7a 56 9e 18 9a 2b 8c b9 4d 82 81 38 56 bb 28 9e 7b 15 c7 dc ... 15 more bytes>, asn1Curve: 'prime256v1', nistCurve: 'P-256', valid_from: 'Nov 30 03:03:49 2026 GMT', valid_to: 'Jan 1 04:03:49 2028 GMT', fingerprint: '34:BA:5C:97:A7:B2:1C:07:24:46:46:8A:F2:23:6C:06:0F:52:51:0C', fingerprint256: '03:ED:33:0E:20:A3:2D:10:E6:A4:D2:9E:61:9D:4B:B0:CD:AF:D1:D9:28:10:7E:9F:57:A2:32:09:26:F9:E9:B4', fingerprint512: 'D6:9F:CA:31:F5:A7:C8:11:A7:FB:A2:82:A2:35:DE:72:03:E0:D2:93:ED:32:30:B5:D4:C8:3B:59:33:6F:96:74:8D:82:38:CA:E8:22:EB:F5:33:09:BA:01:9B:E9:EC:F5:5D:AC:7A:6A:88:D5:BE:D0:A5:E6:77:05:5C:55:B7:B5', ext_key_usage: [ '1.3.6.1.5.5.7.3.1' ], serialNumber: '76BC50DDCDFD48D1A94BE1ED8E7F6BCC', raw: <Buffer 30 82 01 f5 30 82 01 9c a0 03 02 01 02 02 10 76 bc 50 dd cd fd 48 d1 a9 4b e1 ed 8e 7f 6b cc 30 0a 06 08 2a 86 48 ce 3d 04 03 02 30 35 31 10 30 0e 06 ... 455 more bytes>, issuerCertificate: { subject: [Object: null prototype], issuer: [Object: null prototype], ca: true, bits: 256, pubkey: <Buffer 04 ef b1 de cf f6 eb 71 01 b6 af 1d f3 f8 0a 96 8a eb ff b5 45 c2 e5 a7 bd 2f 64 13 d8 33 28 0a 67 26 4f 84 8d 61 be 28 cc d9 7e 44 14 c7 a7 2c a8 8b ... 15 more bytes>, asn1Curve: 'prime256v1', nistCurve: 'P-256', valid_from: 'Nov 30 03:03:49 2026 GMT', valid_to: 'Nov 27 04:03:49 2036 GMT', fingerprint: '85:08:10:D4:B6:12:B8:AC:FC:7A:B3:FF:C8:36:B1:23:A2:8C:74:11', fingerprint256: 'C9:0B:41:E2:C6:50:CB:7F:CD:43:79:B9:C0:7D:78:FA:4E:AF:E1:E1:68:6A:74:16:C8:82:62:EA:C0:1F:78:84', fingerprint512: 'EC:F1:E4:94:52:9B:65:23:95:AE:5C:8F:EC:4A:E6:7E:50:5C:5B:91:A7:DF:BC:0D:21:9D:5D:BC:A6:53:9D:F9:4B:9D:DC:ED:24:02:FA:F3:E5:AC:1E:41:D1:A0:A5:C4:5F:36:A1:AE:58:36:37:DA:41:DC:56:FC:7B:58:61:EA', serialNumber: '5A882E533DD79EED750D9F5823FD38E8', raw: <Buffer 30 82 01 ce 30 82 01 73 a0 03 02 01 02 02 10 5a 88 2e 53 3d d7 9e ed 75 0d 9f 58 23 fd 38 e8 30 0a 06 08 2a 86 48 ce 3d 04 03 02 30 34 31 10 30 0e 06 ... 416 more bytes>, issuerCertificate: [Object] } } }",
        HostnameMismatch,
    ),
    (
        Node,
        "ip-mismatch",
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: at TLSSocket.onConnectSecure (node:_tls_wrap:1709:27) { code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: \"IP: 127.0.0.1 is not in the cert's list: \", host: '127.0.0.1', cert: { subject: [Object: null prototype] { CN: 'localhost' }, issuer: [Object: null prototype] { O: 'certlab', CN: 'certlab lab intermediate' }, subjectaltname: 'DNS:localhost', ca: false, bits: 256, pubkey: <Buffer 04 97 ae 4d 6a 22 c2 8a fd bc d4 f3 d6 dd f8 c6 fa ca 17 c0 b0 c9 76 b2 b7 6c 67 34 b6 db 56 28 b3 c0 3e 1a d2 37 10 a1 93 6f 9c 7d 0b a7 9c b0 56 f6 ... 15 more bytes>, asn1Curve: 'prime256v1', nistCurve: 'P-256', valid_from: 'Nov 30 03:03:49 2026 GMT', valid_to: 'Jan 1 04:03:49 2028 GMT', fingerprint: '42:48:7B:CD:A2:70:2C:28:90:34:6D:AF:93:8A:49:16:C7:82:D0:3A', fingerprint256: '68:51:FE:19:88:96:49:AD:12:84:0B:86:04:EA:49:60:46:55:33:3D:9E:6B:8B:7F:42:D9:D4:8F:31:43:5D:E4', fingerprint512: 'F2:18:F0:7B:98:A3:9A:AC:6D:96:A5:B8:A5:87:DE:FE:C4:41:02:40:33:0A:4F:08:C1:81:04:F3:17:A2:38:D7:92:A4:CB:A8:AD:88:8A:ED:25:64:66:DB:29:45:BE:AE:44:97:35:2F:08:32:69:94:7A:0D:AB:15:0C:F2:DF:F7', ext_key_usage: [ '1.3.6.1.5.5.7.3.1' ], serialNumber: '7D16F64C63122F2BF75A34402770C06D', raw: <Buffer 30 82 01 d4 30 82 01 7a a0 03 02 01 02 02 10 7d 16 f6 4c 63 12 2f 2b f7 5a 34 40 27 70 c0 6d 30 0a 06 08 2a 86 48 ce 3d 04 03 02 30 35 31 10 30 0e 06 ... 422 more bytes>, issuerCertificate: { subject: [Object: null prototype], issuer: [Object: null prototype], ca: true, bits: 256, pubkey: <Buffer 04 ef b1 de cf f6 eb 71 01 b6 af 1d f3 f8 0a 96 8a eb ff b5 45 c2 e5 a7 bd 2f 64 13 d8 33 28 0a 67 26 4f 84 8d 61 be 28 cc d9 7e 44 14 c7 a7 2c a8 8b ... 15 more bytes>, asn1Curve: 'prime256v1', nistCurve: 'P-256', valid_from: 'Nov 30 03:03:49 2026 GMT', valid_to: 'Nov 27 04:03:49 2036 GMT', fingerprint: '85:08:10:D4:B6:12:B8:AC:FC:7A:B3:FF:C8:36:B1:23:A2:8C:74:11', fingerprint256: 'C9:0B:41:E2:C6:50:CB:7F:CD:43:79:B9:C0:7D:78:FA:4E:AF:E1:E1:68:6A:74:16:C8:82:62:EA:C0:1F:78:84', fingerprint512: 'EC:F1:E4:94:52:9B:65:23:95:AE:5C:8F:EC:4A:E6:7E:50:5C:5B:91:A7:DF:BC:0D:21:9D:5D:BC:A6:53:9D:F9:4B:9D:DC:ED:24:02:FA:F3:E5:AC:1E:41:D1:A0:A5:C4:5F:36:A1:AE:58:36:37:DA:41:DC:56:FC:7B:58:61:EA', serialNumber: '5A882E533DD79EED750D9F5823FD38E8', raw: <Buffer 30 82 01 ce 30 82 01 73 a0 03 02 01 02 02 10 5a 88 2e 53 3d d7 9e ed 75 0d 9f 58 23 fd 38 e8 30 0a 06 08 2a 86 48 ce 3d 04 03 02 30 34 31 10 30 0e 06 ... 416 more bytes>, issuerCertificate: [Object] } } }",
        HostnameMismatch,
    ),
    (
        Node,
        "unknown-ca",
        "Error: unable to verify the first certificate at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }",
        IncompleteChain,
    ),
    (
        Node,
        "same-name-root",
        "Error: unable to verify the first certificate at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }",
        IncompleteChain,
    ),
    (
        Node,
        "self-signed",
        "Error: self-signed certificate at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }",
        SelfSigned,
    ),
    (
        Node,
        "missing-intermediate",
        "Error: unable to verify the first certificate at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }",
        IncompleteChain,
    ),
    (
        Node,
        "reversed-chain",
        "[Error: 802C6B2C047F0000:error:0A00007B:SSL routines:tls_process_cert_verify:bad signature:../deps/openssl/openssl/ssl/statem/statem_lib.c:545: ] { library: 'SSL routines', reason: 'bad signature', code: 'ERR_SSL_BAD_SIGNATURE' }",
        MisorderedChain,
    ),
    (
        Node,
        "wrong-eku",
        "Error: unsuitable certificate purpose at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'INVALID_PURPOSE' }",
        WrongUsage,
    ),
    (
        Node,
        "expired-intermediate",
        "Error: certificate has expired at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'CERT_HAS_EXPIRED' }",
        Expired,
    ),
    (
        Node,
        "expired-root",
        "Error: certificate has expired at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'CERT_HAS_EXPIRED' }",
        Expired,
    ),
    (
        Node,
        "intermediate-not-ca",
        "Error: unsuitable certificate purpose at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'INVALID_PURPOSE' }",
        WrongUsage,
    ),
    (
        Node,
        "path-len",
        "Error: path length constraint exceeded at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'PATH_LENGTH_EXCEEDED' }",
        PathLenExceeded,
    ),
    (
        Node,
        "name-constraints",
        "Error: permitted subtree violation at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNSPECIFIED' }",
        NameConstraintViolation,
    ),
    (
        Node,
        "revoked",
        "Error: unable to get certificate CRL at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNABLE_TO_GET_CRL' }",
        Revoked,
    ),
    (
        Node,
        "bad-signature",
        "Error: certificate signature failure at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'CERT_SIGNATURE_FAILURE' }",
        BadSignature,
    ),
    (
        Node,
        "unknown-critical-extension",
        "Error: unhandled critical extension at TLSSocket.onConnectSecure (node:_tls_wrap:1699:34) { code: 'UNSPECIFIED' }",
        BadCertificate,
    ),
    (
        Grpc,
        "plaintext",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER: Invalid certificate verification context\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:41235: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER: Invalid certificate verification context: OK",
        NotTls,
    ),
    (
        Grpc,
        "alpn-no-h2",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:10000460:SSL routines:OPENSSL_internal:TLSV1_ALERT_NO_APPLICATION_PROTOCOL: Invalid certificate verification context\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:44501: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:10000460:SSL routines:OPENSSL_internal:TLSV1_ALERT_NO_APPLICATION_PROTOCOL: Invalid certificate verification context: OK",
        AlpnMismatch,
    ),
    (
        Grpc,
        "client-none",
        "ssl_transport_security_utils.cc:72] error:1000045c:SSL routines:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:35745: Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRequired,
    ),
    (
        Grpc,
        "client-unknown-ca",
        "ssl_transport_security_utils.cc:72] error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:34231: Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRejected,
    ),
    (
        Grpc,
        "client-same-name-root",
        "ssl_transport_security_utils.cc:72] error:1000041b:SSL routines:OPENSSL_internal:TLSV1_ALERT_DECRYPT_ERROR\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:34343: Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRejected,
    ),
    (
        Grpc,
        "client-expired",
        "ssl_transport_security_utils.cc:72] error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:40279: Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRejected,
    ),
    (
        Grpc,
        "client-wrong-eku",
        "ssl_transport_security_utils.cc:72] error:10000413:SSL routines:OPENSSL_internal:SSLV3_ALERT_UNSUPPORTED_CERTIFICATE\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:33153: Unwrap failed (TSI_DATA_CORRUPTED)",
        ClientCertRejected,
    ),
    (
        Grpc,
        "expired",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:44761: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired: OK",
        Expired,
    ),
    (
        Grpc,
        "not-yet-valid",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate is not yet valid\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:34783: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate is not yet valid: OK",
        NotYetValid,
    ),
    (
        Grpc,
        "wrong-host",
        "StatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:45459: Custom verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed.",
        HostnameMismatch,
    ),
    (
        Grpc,
        "ip-mismatch",
        "StatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:33549: Custom verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed.",
        HostnameMismatch,
    ),
    (
        Grpc,
        "unknown-ca",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:44503: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate: OK",
        UnknownCa,
    ),
    (
        Grpc,
        "same-name-root",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:41769: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate: OK",
        UnknownCa,
    ),
    (
        Grpc,
        "self-signed",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:42869: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate: OK",
        UnknownCa,
    ),
    (
        Grpc,
        "missing-intermediate",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:44687: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate: OK",
        UnknownCa,
    ),
    (
        Grpc,
        "reversed-chain",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000012e:SSL routines:OPENSSL_internal:KEY_USAGE_BIT_INCORRECT: Invalid certificate verification context\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:40689: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000012e:SSL routines:OPENSSL_internal:KEY_USAGE_BIT_INCORRECT: Invalid certificate verification context: OK",
        WrongUsage,
    ),
    (
        Grpc,
        "wrong-eku",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unsupported certificate purpose\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:42453: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unsupported certificate purpose: OK",
        WrongUsage,
    ),
    (
        Grpc,
        "expired-intermediate",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:36483: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired: OK",
        Expired,
    ),
    (
        Grpc,
        "expired-root",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:35195: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired: OK",
        Expired,
    ),
    (
        Grpc,
        "intermediate-not-ca",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: invalid CA certificate\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:38805: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: invalid CA certificate: OK",
        InvalidCa,
    ),
    (
        Grpc,
        "path-len",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: path length constraint exceeded\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:42243: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: path length constraint exceeded: OK",
        PathLenExceeded,
    ),
    (
        Grpc,
        "name-constraints",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: permitted subtree violation\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:46461: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: permitted subtree violation: OK",
        NameConstraintViolation,
    ),
    (
        Grpc,
        "bad-signature",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1a000064:ECDSA routines:OPENSSL_internal:BAD_SIGNATURE: certificate signature failure\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:39323: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1a000064:ECDSA routines:OPENSSL_internal:BAD_SIGNATURE: certificate signature failure: OK",
        BadSignature,
    ),
    (
        Grpc,
        "unknown-critical-extension",
        "ssl_transport_security.cc:2563] Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unhandled critical extension\nStatusCode.UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:41665: Tls handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unhandled critical extension: OK",
        BadCertificate,
    ),
    (
        Gnutls,
        "alpn-no-h2",
        "*** Received alert [120]: No supported application protocol could be negotiated\n*** Fatal error: A TLS fatal alert has been received.",
        AlpnMismatch,
    ),
    (
        Gnutls,
        "bad-signature",
        "- Status: The certificate is NOT trusted. The signature in the certificate is invalid.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        BadSignature,
    ),
    (
        Gnutls,
        "cipher-mismatch",
        "*** Received alert [40]: Handshake failed\n*** Fatal error: A TLS fatal alert has been received.",
        HandshakeFailure,
    ),
    (
        Gnutls,
        "client-expired",
        "*** Received alert [45]: Certificate is expired\n*** Fatal error: A TLS fatal alert has been received.\n*** Server has terminated the connection abnormally.",
        ClientCertRejected,
    ),
    (
        Gnutls,
        "client-none",
        "*** Received alert [116]: Certificate is required\n*** Fatal error: A TLS fatal alert has been received.\n*** Server has terminated the connection abnormally.",
        ClientCertRequired,
    ),
    (
        Gnutls,
        "client-same-name-root",
        "*** Received alert [51]: Decrypt error\n*** Fatal error: A TLS fatal alert has been received.\n*** Server has terminated the connection abnormally.",
        ClientCertRejected,
    ),
    (
        Gnutls,
        "client-unknown-ca",
        "*** Received alert [48]: CA is unknown\n*** Fatal error: A TLS fatal alert has been received.\n*** Server has terminated the connection abnormally.",
        ClientCertRejected,
    ),
    (
        Gnutls,
        "client-wrong-eku",
        "*** Received alert [43]: Certificate is not supported\n*** Fatal error: A TLS fatal alert has been received.\n*** Server has terminated the connection abnormally.",
        ClientCertRejected,
    ),
    (
        Gnutls,
        "expired-intermediate",
        "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        Expired,
    ),
    (
        Gnutls,
        "expired-root",
        "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        Expired,
    ),
    (
        Gnutls,
        "expired",
        "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        Expired,
    ),
    (
        Gnutls,
        "intermediate-not-ca",
        "- Status: The certificate is NOT trusted. The certificate issuer is not a CA.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        InvalidCa,
    ),
    (
        Gnutls,
        "ip-mismatch",
        "- Status: The certificate is NOT trusted. The name in the certificate does not match the expected.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        HostnameMismatch,
    ),
    (
        Gnutls,
        "missing-intermediate",
        "- Status: The certificate is NOT trusted. The certificate issuer is unknown.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        UnknownCa,
    ),
    (
        Gnutls,
        "name-constraints",
        "- Status: The certificate is NOT trusted. The certificate chain violates the signer's constraints.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        PathLenExceeded,
    ),
    (
        Gnutls,
        "not-yet-valid",
        "- Status: The certificate is NOT trusted. The certificate chain uses not yet valid certificate.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        NotYetValid,
    ),
    (
        Gnutls,
        "path-len",
        "- Status: The certificate is NOT trusted. The certificate chain violates the signer's constraints.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        PathLenExceeded,
    ),
    (
        Gnutls,
        "plaintext",
        "*** Fatal error: An unexpected TLS packet was received.",
        NotTls,
    ),
    (
        Gnutls,
        "reversed-chain",
        "*** Fatal error: Key usage violation in certificate has been detected.",
        WrongUsage,
    ),
    (
        Gnutls,
        "revoked",
        "- Status: The certificate is NOT trusted. The certificate chain is revoked.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        Revoked,
    ),
    (
        Gnutls,
        "same-name-root",
        "- Status: The certificate is NOT trusted. The certificate issuer is unknown.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        UnknownCa,
    ),
    (
        Gnutls,
        "self-signed",
        "- Status: The certificate is NOT trusted. The certificate issuer is unknown.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        UnknownCa,
    ),
    (
        Gnutls,
        "tls12-vs-tls13",
        "*** Received alert [70]: Error in protocol version\n*** Fatal error: A TLS fatal alert has been received.",
        ProtocolMismatch,
    ),
    (
        Gnutls,
        "tls13-vs-tls12",
        "*** Received alert [70]: Error in protocol version\n*** Fatal error: A TLS fatal alert has been received.",
        ProtocolMismatch,
    ),
    (
        Gnutls,
        "unknown-ca",
        "- Status: The certificate is NOT trusted. The certificate issuer is unknown.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        UnknownCa,
    ),
    (
        Gnutls,
        "unknown-critical-extension",
        "- Status: The certificate is NOT trusted. The certificate contains an unknown critical extension.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        BadCertificate,
    ),
    (
        Gnutls,
        "wrong-eku",
        "- Status: The certificate is NOT trusted. The certificate chain does not match the intended purpose.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        WrongUsage,
    ),
    (
        Gnutls,
        "wrong-host",
        "- Status: The certificate is NOT trusted. The name in the certificate does not match the expected.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.",
        HostnameMismatch,
    ),
    (
        Openssl,
        "plaintext",
        "error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:350:",
        NotTls,
    ),
    (
        Curl,
        "plaintext",
        "curl: (35) OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number",
        NotTls,
    ),
    (
        Openssl,
        "tls12-vs-tls13",
        "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL alert number 70",
        ProtocolMismatch,
    ),
    (
        Curl,
        "tls12-vs-tls13",
        "curl: (35) OpenSSL/3.0.19: error:0A00042E:SSL routines::tlsv1 alert protocol version",
        ProtocolMismatch,
    ),
    (
        Openssl,
        "tls13-vs-tls12",
        "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL alert number 70",
        ProtocolMismatch,
    ),
    (
        Curl,
        "tls13-vs-tls12",
        "curl: (35) OpenSSL/3.0.19: error:0A00042E:SSL routines::tlsv1 alert protocol version",
        ProtocolMismatch,
    ),
    (
        Openssl,
        "cipher-mismatch",
        "error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1601:SSL alert number 40",
        HandshakeFailure,
    ),
    (
        Curl,
        "cipher-mismatch",
        "curl: (35) OpenSSL/3.0.19: error:0A000410:SSL routines::sslv3 alert handshake failure",
        HandshakeFailure,
    ),
    (
        Openssl,
        "alpn-no-h2",
        "error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../ssl/record/rec_layer_s3.c:1601:SSL alert number 120",
        AlpnMismatch,
    ),
    (
        Openssl,
        "client-none",
        "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1601:SSL alert number 116",
        ClientCertRequired,
    ),
    (
        Curl,
        "client-none",
        "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0",
        ClientCertRequired,
    ),
    (
        Openssl,
        "client-unknown-ca",
        "error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1601:SSL alert number 48",
        ClientCertRejected,
    ),
    (
        Curl,
        "client-unknown-ca",
        "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A000418:SSL routines::tlsv1 alert unknown ca, errno 0",
        ClientCertRejected,
    ),
    (
        Openssl,
        "client-same-name-root",
        "error:0A00041B:SSL routines:ssl3_read_bytes:tlsv1 alert decrypt error:../ssl/record/rec_layer_s3.c:1601:SSL alert number 51",
        ClientCertRejected,
    ),
    (
        Curl,
        "client-same-name-root",
        "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A00041B:SSL routines::tlsv1 alert decrypt error, errno 0",
        ClientCertRejected,
    ),
    (
        Openssl,
        "client-expired",
        "error:0A000415:SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:../ssl/record/rec_layer_s3.c:1601:SSL alert number 45",
        ClientCertRejected,
    ),
    (
        Curl,
        "client-expired",
        "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A000415:SSL routines::sslv3 alert certificate expired, errno 0",
        ClientCertRejected,
    ),
    (
        Openssl,
        "client-wrong-eku",
        "error:0A000413:SSL routines:ssl3_read_bytes:sslv3 alert unsupported certificate:../ssl/record/rec_layer_s3.c:1601:SSL alert number 43",
        ClientCertRejected,
    ),
    (
        Curl,
        "client-wrong-eku",
        "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A000413:SSL routines::sslv3 alert unsupported certificate, errno 0",
        ClientCertRejected,
    ),
    (
        Openssl,
        "expired",
        "Verify return code: 10 (certificate has expired)\nverify error:num=10:certificate has expired",
        Expired,
    ),
    (
        Curl,
        "expired",
        "curl: (60) SSL certificate problem: certificate has expired",
        Expired,
    ),
    (
        Openssl,
        "not-yet-valid",
        "Verify return code: 9 (certificate is not yet valid)\nverify error:num=9:certificate is not yet valid",
        NotYetValid,
    ),
    (
        Curl,
        "not-yet-valid",
        "curl: (60) SSL certificate problem: certificate is not yet valid",
        NotYetValid,
    ),
    (
        Openssl,
        "wrong-host",
        "Verify return code: 62 (hostname mismatch)\nverify error:num=62:hostname mismatch",
        HostnameMismatch,
    ),
    (
        Curl,
        "wrong-host",
        "curl: (60) SSL: no alternative certificate subject name matches target host name 'localhost'",
        HostnameMismatch,
    ),
    (
        Openssl,
        "ip-mismatch",
        "Verify return code: 64 (IP address mismatch)\nverify error:num=64:IP address mismatch",
        HostnameMismatch,
    ),
    (
        Curl,
        "ip-mismatch",
        "curl: (60) SSL: no alternative certificate subject name matches target host name '127.0.0.1'",
        HostnameMismatch,
    ),
    (
        Openssl,
        "unknown-ca",
        "Verify return code: 20 (unable to get local issuer certificate)\nverify error:num=20:unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Curl,
        "unknown-ca",
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Openssl,
        "same-name-root",
        "Verify return code: 20 (unable to get local issuer certificate)\nverify error:num=20:unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Curl,
        "same-name-root",
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Openssl,
        "self-signed",
        "Verify return code: 18 (self-signed certificate)\nverify error:num=18:self-signed certificate",
        SelfSigned,
    ),
    (
        Curl,
        "self-signed",
        "curl: (60) SSL certificate problem: self-signed certificate",
        SelfSigned,
    ),
    (
        Openssl,
        "missing-intermediate",
        "Verify return code: 20 (unable to get local issuer certificate)\nverify error:num=20:unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Curl,
        "missing-intermediate",
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        UnknownCa,
    ),
    (
        Openssl,
        "reversed-chain",
        "Verify return code: 26 (unsuitable certificate purpose)\nverify error:num=26:unsuitable certificate purpose",
        WrongUsage,
    ),
    (
        Curl,
        "reversed-chain",
        "curl: (60) SSL certificate problem: unsuitable certificate purpose",
        WrongUsage,
    ),
    (
        Openssl,
        "wrong-eku",
        "Verify return code: 26 (unsuitable certificate purpose)\nverify error:num=26:unsuitable certificate purpose",
        WrongUsage,
    ),
    (
        Curl,
        "wrong-eku",
        "curl: (60) SSL certificate problem: unsuitable certificate purpose",
        WrongUsage,
    ),
    (
        Openssl,
        "expired-intermediate",
        "Verify return code: 10 (certificate has expired)\nverify error:num=10:certificate has expired",
        Expired,
    ),
    (
        Curl,
        "expired-intermediate",
        "curl: (60) SSL certificate problem: certificate has expired",
        Expired,
    ),
    (
        Openssl,
        "expired-root",
        "Verify return code: 10 (certificate has expired)\nverify error:num=10:certificate has expired",
        Expired,
    ),
    (
        Curl,
        "expired-root",
        "curl: (60) SSL certificate problem: certificate has expired",
        Expired,
    ),
    (
        Openssl,
        "intermediate-not-ca",
        "Verify return code: 79 (invalid CA certificate)\nverify error:num=79:invalid CA certificate",
        InvalidCa,
    ),
    (
        Curl,
        "intermediate-not-ca",
        "curl: (60) SSL certificate problem: invalid CA certificate",
        InvalidCa,
    ),
    (
        Openssl,
        "path-len",
        "Verify return code: 25 (path length constraint exceeded)\nverify error:num=25:path length constraint exceeded",
        PathLenExceeded,
    ),
    (
        Curl,
        "path-len",
        "curl: (60) SSL certificate problem: path length constraint exceeded",
        PathLenExceeded,
    ),
    (
        Openssl,
        "name-constraints",
        "Verify return code: 47 (permitted subtree violation)\nverify error:num=47:permitted subtree violation",
        NameConstraintViolation,
    ),
    (
        Curl,
        "name-constraints",
        "curl: (60) SSL certificate problem: permitted subtree violation",
        NameConstraintViolation,
    ),
    (
        Openssl,
        "revoked",
        "Verify return code: 23 (certificate revoked)\nverify error:num=23:certificate revoked",
        Revoked,
    ),
    (
        Curl,
        "revoked",
        "curl: (60) SSL certificate problem: certificate revoked",
        Revoked,
    ),
    (
        Openssl,
        "bad-signature",
        "Verify return code: 7 (certificate signature failure)\nverify error:num=7:certificate signature failure",
        BadSignature,
    ),
    (
        Curl,
        "bad-signature",
        "curl: (35) OpenSSL/3.0.19: error:06880006:asn1 encoding routines::EVP lib",
        BadSignature,
    ),
    (
        Openssl,
        "unknown-critical-extension",
        "Verify return code: 34 (unhandled critical extension)\nverify error:num=34:unhandled critical extension",
        BadCertificate,
    ),
    (
        Curl,
        "unknown-critical-extension",
        "curl: (60) SSL certificate problem: unhandled critical extension",
        BadCertificate,
    ),
];

#[test]
fn every_collected_message_maps_to_the_outcome_it_means() {
    let mut wrong = Vec::new();
    for (client, scenario, message, outcome) in COLLECTED {
        match explain::find(message) {
            Some(m) if m.pattern.outcome == *outcome => {}
            Some(m) => wrong.push(format!(
                "{client} {scenario} {message:?}: got {} from {} `{}`, expected {outcome}",
                m.pattern.outcome, m.pattern.client, m.pattern.pattern
            )),
            None => wrong.push(format!(
                "{client} {scenario} {message:?}: unknown, expected {outcome}"
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} collected messages map to the outcome they mean; {} do not:\n{}",
        COLLECTED.len() - wrong.len(),
        COLLECTED.len(),
        wrong.len(),
        wrong.join("\n")
    );
}

/// When a client's words mean another outcome than the scenario's, `explain` still lists the
/// scenario's outcome among the alternatives, so the user is pointed at it.
#[test]
fn the_scenarios_own_outcome_is_the_answer_or_an_alternative() {
    let table = explain::lab_scenario_table();
    let mut missing = Vec::new();
    for (client, scenario, message, _) in COLLECTED {
        let expected = table
            .iter()
            .find(|(name, _)| name == scenario)
            .and_then(|(_, o)| *o)
            .unwrap_or_else(|| panic!("{scenario} is no lab scenario with an outcome"));
        let Some(m) = explain::find(message) else {
            missing.push(format!("{client} {scenario}: unknown"));
            continue;
        };
        if m.pattern.outcome != expected && !m.pattern.also.contains(&expected) {
            missing.push(format!(
                "{client} {scenario} {message:?}: `{}` says {} (also {:?}), not {expected}",
                m.pattern.pattern, m.pattern.outcome, m.pattern.also
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// `explain` names the client whose output it recognised: every collected message is
/// recognised as the family that printed it (Python 3.13's words are Python's).
#[test]
fn explain_names_the_client_that_printed_each_message() {
    let mut wrong = Vec::new();
    for (client, scenario, message, _) in COLLECTED {
        let family = match client {
            Python313 => Python,
            other => *other,
        };
        let seen = explain::recognise(message);
        if seen != Some(family) {
            wrong.push(format!(
                "{client} {scenario} {message:?}: recognised {seen:?}"
            ));
        }
        assert_eq!(
            explain::find(message).map(|m| m.client),
            Some(seen),
            "find names the same client"
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The CLI says which client it recognised, in text and JSON.
#[test]
fn the_cli_names_the_recognised_client() {
    let message = "- Status: The certificate is NOT trusted. The certificate chain uses expired certificate.\n*** PKI verification of server certificate failed...\n*** Fatal error: Error in the certificate.";
    // GnuTLS's lines start with `-`: piped in, as `gnutls-cli … 2>&1 | certlab explain` does.
    let out = common::certlab()
        .arg("explain")
        .write_stdin(message)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("outcome      expired"), "{text}");
    assert!(
        text.contains("client       gnutls (GnuTLS 3 (gnutls-cli))"),
        "{text}"
    );
    let out = common::certlab()
        .args([
            "explain",
            "--json",
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: invalid CA certificate (_ssl.c:1006)",
        ])
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["outcome"], "invalid-ca", "{v}");
    assert_eq!(v["recognised_client"], "python", "{v}");
    // A message whose form names no client says so.
    let out = common::certlab()
        .args(["explain", "--json", "certificate has expired"])
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["recognised_client"], serde_json::Value::Null, "{v}");
}

/// What OpenSSL's X509_STRICT (Python 3.13's default; emulated with `VERIFY_X509_STRICT` on
/// Python 3.11) and `openssl s_client -x509_strict` printed against `openssl s_server` serving
/// chains made with `openssl` (a CA with a non-critical basicConstraints, as easy-rsa makes
/// it; a CA without keyUsage; a leaf without authorityKeyIdentifier). Python's default context
/// accepted all three.
const STRICT: &[(Client, &str, Outcome)] = &[
    (
        Python313,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Basic Constraints of CA cert not marked critical (_ssl.c:1006)",
        InvalidCa,
    ),
    (
        Openssl,
        "verify error:num=89:Basic Constraints of CA cert not marked critical\nerror:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:",
        InvalidCa,
    ),
    (
        Python313,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: CA cert does not include key usage extension (_ssl.c:1006)",
        InvalidCa,
    ),
    (
        Openssl,
        "verify error:num=92:CA cert does not include key usage extension\nerror:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:",
        InvalidCa,
    ),
    (
        Python313,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Missing Authority Key Identifier (_ssl.c:1006)",
        BadCertificate,
    ),
    (
        Openssl,
        "verify error:num=85:Missing Authority Key Identifier\nerror:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:",
        BadCertificate,
    ),
];

#[test]
fn strict_openssl_reasons_beat_the_generic_head() {
    for (client, message, outcome) in STRICT {
        let m = explain::find(message).unwrap_or_else(|| panic!("{client}: {message:?} unknown"));
        assert_eq!(
            m.pattern.outcome, *outcome,
            "{client}: {message:?}: `{}`",
            m.pattern.pattern
        );
        let family = if *client == Python313 {
            Python
        } else {
            *client
        };
        assert_eq!(m.client, Some(family), "{message:?}");
    }
}
