//! Subject alternative names: classify a command-line argument (as mkcert and trustme do) and
//! validate DNS names, wildcards, IPs, emails and URIs.

use std::net::IpAddr;

use super::San;

/// Why a name cannot be a SAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Not a valid DNS name.
    #[error("invalid DNS name `{0}`: {1}")]
    Dns(String, &'static str),
    /// A `*` anywhere but as the whole left-most label.
    #[error(
        "misplaced wildcard in `{0}`: only `*.` as the whole left-most label, with two labels after it, is allowed"
    )]
    Wildcard(String),
    /// Not an IPv4 or IPv6 address.
    #[error("invalid IP address `{0}`")]
    Ip(String),
    /// Not an email address.
    #[error("invalid email address `{0}`")]
    Email(String),
    /// Not an absolute URI.
    #[error("invalid URI `{0}`: expected scheme:rest, e.g. spiffe://example.org/service")]
    Uri(String),
    /// Not usable as an entity name (it becomes file names).
    #[error("invalid name `{0}`: {1}")]
    Entity(String, String),
}

/// The longest entity name (it becomes file names such as `NAME.combined.pem`).
pub const MAX_NAME_LEN: usize = 64;

/// Names certlab keeps for its own files: `ca` (`ca.pem`, `ca.der`, `ca.p12`), `certlab`
/// (`certlab.json`), `configs` (the rendered configurations).
pub const RESERVED_NAMES: [&str; 3] = ["ca", "certlab", "configs"];

/// Validates a name that becomes file names in an output directory: an [`entity_name`] that
/// is not one of [`RESERVED_NAMES`].
///
/// ```
/// use certlab::pki::names::file_name;
/// assert!(file_name("localhost+2").is_ok());
/// assert!(file_name("ca").is_err());
/// ```
pub fn file_name(name: &str) -> Result<(), NameError> {
    entity_name(name)?;
    if RESERVED_NAMES.contains(&name) {
        return Err(NameError::Entity(
            name.to_string(),
            format!(
                "`{name}` is reserved for certlab's own files ({})",
                match name {
                    "ca" => "ca.pem, ca.der, ca.p12",
                    "certlab" => "certlab.json",
                    _ => "configs/",
                }
            ),
        ));
    }
    Ok(())
}

/// Validates an entity name (its files are `NAME.pem`, `NAME.key`, ...): 1 to
/// [`MAX_NAME_LEN`] characters among letters, digits, `.`, `_`, `-`, `+` and `@` (the last two
/// for mkcert-style names such as `localhost+2`), not starting with `.`. No such name leaves
/// a directory (no `/`, no `..`). Where it names files in a PKI, see [`file_name`].
///
/// ```
/// use certlab::pki::names::entity_name;
/// assert!(entity_name("localhost+2").is_ok());
/// assert!(entity_name("../x").is_err());
/// assert!(entity_name(&"a".repeat(300)).is_err());
/// ```
pub fn entity_name(name: &str) -> Result<(), NameError> {
    let bad = |why: String| Err(NameError::Entity(shorten(name), why));
    if name.is_empty() {
        return bad("it is empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad(format!(
            "{} characters, more than {MAX_NAME_LEN} (it becomes file names)",
            name.chars().count()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-+@".contains(*c)))
    {
        return bad(format!(
            "`{}` is not allowed: use letters, digits, `.`, `_`, `-`, `+`, `@` (it becomes a file name)",
            c.escape_default()
        ));
    }
    if name.starts_with('.') {
        return bad("it must not start with `.` (certlab's own files do)".into());
    }
    Ok(())
}

/// A name cut for an error message (a 300-character name is not echoed whole).
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_LEN + 8 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(MAX_NAME_LEN).collect::<String>())
    }
}

/// Classifies one argument: an IP address, an email (`a@b`), a URI (`scheme://...`), else a DNS
/// name or wildcard. The result is validated.
///
/// ```
/// use certlab::pki::{names::classify, San};
/// assert_eq!(classify("127.0.0.1").unwrap(), San::Ip("127.0.0.1".parse().unwrap()));
/// assert_eq!(classify("*.example.com").unwrap(), San::Dns("*.example.com".into()));
/// assert!(classify("spiffe://example.org/svc").is_ok());
/// assert!(classify("foo.*.example.com").is_err());
/// ```
pub fn classify(arg: &str) -> Result<San, NameError> {
    let trimmed = arg.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok(San::Ip(ip));
    }
    if arg.contains("://") || arg.starts_with("urn:") {
        return uri(arg);
    }
    if arg.contains('@') {
        return email(arg);
    }
    dns(arg)
}

/// Validates a DNS name (letters, digits, hyphens, underscores; labels of 1..=63 characters;
/// at most 253 in all), allowing a wildcard only as the whole left-most label.
pub fn dns(name: &str) -> Result<San, NameError> {
    let bad = |why| Err(NameError::Dns(name.to_string(), why));
    let name_no_dot = name.strip_suffix('.').unwrap_or(name);
    if name_no_dot.is_empty() {
        return bad("empty name");
    }
    if name_no_dot.len() > 253 {
        return bad("longer than 253 characters");
    }
    if name_no_dot.parse::<IpAddr>().is_ok() {
        return bad("an IP address belongs in `ip`, not `dns`");
    }
    let labels: Vec<&str> = name_no_dot.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        if label.contains('*') {
            if i != 0 || *label != "*" || labels.len() < 3 {
                return Err(NameError::Wildcard(name.to_string()));
            }
            continue;
        }
        if label.is_empty() {
            return bad("empty label");
        }
        if label.len() > 63 {
            return bad("label longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("label starts or ends with `-`");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("only letters, digits, `-` and `_` are allowed");
        }
    }
    Ok(San::Dns(name_no_dot.to_ascii_lowercase()))
}

/// Validates an IP address.
pub fn ip(text: &str) -> Result<San, NameError> {
    text.parse()
        .map(San::Ip)
        .map_err(|_| NameError::Ip(text.to_string()))
}

/// Validates an email address (a local part, `@`, a DNS domain).
pub fn email(text: &str) -> Result<San, NameError> {
    match text.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !local.contains(char::is_whitespace)
                && dns(domain).is_ok()
                && !domain.contains('*') =>
        {
            Ok(San::Email(text.to_string()))
        }
        _ => Err(NameError::Email(text.to_string())),
    }
}

/// Validates a URI: a scheme (letter, then letters, digits, `+-.`), a colon, and a rest without
/// spaces.
pub fn uri(text: &str) -> Result<San, NameError> {
    let ok = match text.split_once(':') {
        Some((scheme, rest)) => {
            scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !rest.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(San::Uri(text.to_string()))
    } else {
        Err(NameError::Uri(text.to_string()))
    }
}

/// The four names a Kubernetes service `name.namespace` is reached by.
///
/// ```
/// let names = certlab::pki::names::k8s_service_names("otel-collector.observability").unwrap();
/// assert_eq!(names[3], "otel-collector.observability.svc.cluster.local");
/// ```
pub fn k8s_service_names(service: &str) -> Result<[String; 4], NameError> {
    let Some((name, namespace)) = service.split_once('.') else {
        return Err(NameError::Dns(
            service.to_string(),
            "a k8s_service is `name.namespace`",
        ));
    };
    if namespace.contains('.') {
        return Err(NameError::Dns(
            service.to_string(),
            "a k8s_service is `name.namespace`",
        ));
    }
    dns(service)?;
    Ok([
        name.to_string(),
        format!("{name}.{namespace}"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.cluster.local"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_mkcert() {
        assert_eq!(classify("localhost").unwrap(), San::Dns("localhost".into()));
        assert_eq!(classify("::1").unwrap(), San::Ip("::1".parse().unwrap()));
        assert_eq!(classify("[::1]").unwrap(), San::Ip("::1".parse().unwrap()));
        assert_eq!(
            classify("alice@example.com").unwrap(),
            San::Email("alice@example.com".into())
        );
        assert_eq!(
            classify("spiffe://cluster.local/ns/a/sa/b").unwrap(),
            San::Uri("spiffe://cluster.local/ns/a/sa/b".into())
        );
        assert_eq!(
            classify("*.Example.COM").unwrap(),
            San::Dns("*.example.com".into())
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a_b c",
            "ex!ample.com",
            &"a".repeat(64),
        ] {
            assert!(matches!(dns(bad), Err(NameError::Dns(..))), "{bad:?}");
        }
        for bad in ["*.com", "a.*.com", "*a.example.com", "**.example.com"] {
            assert!(matches!(dns(bad), Err(NameError::Wildcard(_))), "{bad:?}");
        }
        assert!(ip("300.1.1.1").is_err());
        assert!(email("@example.com").is_err());
        assert!(uri("no scheme").is_err());
    }

    #[test]
    fn k8s_service_expands_to_four_names() {
        let n = k8s_service_names("svc.ns").unwrap();
        assert_eq!(
            n,
            ["svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local"]
        );
        assert!(k8s_service_names("svc").is_err());
    }
}
