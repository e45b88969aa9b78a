//! Revoking a certificate of a PKI directory (`certlab revoke`): its serial number is added to
//! its issuer's CRL, whose CRL number goes up by one, re-signed with the issuer's key from the
//! directory and written in one transaction with the manifest (see [`super::store`]): one
//! writer, all-old or all-new. What the CRL listed before stays listed, with its dates and
//! reasons.
//!
//! Revoking a certificate the CRL already lists changes nothing and is not an error
//! ([`Revoked::already`]): a script may revoke twice. A root (self-signed) cannot be revoked:
//! no CA above it signs a CRL. A revoked leaf's expected outcome becomes `revoked` (so does
//! that of every leaf below a revoked intermediate); clients
//! given the CRL (`check --pki`, `check --crl`, `probe --crl`, `serve --pki` for client
//! certificates, curl `--crlfile`, openssl `-crl_check`) refuse it; renewing it
//! ([`super::renew`]) gives it a new serial the CRL does not list.
//!
//! ```
//! use certlab::pki::revoke::{revoke, Reason};
//! let dir = tempfile::tempdir().unwrap();
//! let now = time::macros::datetime!(2030-01-01 00:00 UTC);
//! let spec = certlab::pki::spec::parse("<spec>", r#"
//!     [[ca]]
//!     name = "root"
//!     [[leaf]]
//!     name = "web"
//!     issuer = "root"
//!     dns = ["localhost"]
//! "#).unwrap();
//! certlab::pki::store::generate(&spec, dir.path(), now, false).unwrap();
//! let r = revoke(dir.path(), "web", Reason::KeyCompromise, now).unwrap();
//! assert_eq!((r.issuer.as_str(), r.crl_number, r.already), ("root", 1, false));
//! assert!(revoke(dir.path(), "web", Reason::Superseded, now).unwrap().already);
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, RevocationReason, RevokedCertParams,
    SerialNumber,
};
use time::OffsetDateTime;

use super::issue::{OldCrl, read_crl};
use super::manifest::crl_file;
use super::model::{DEFAULT_LEAF_VALIDITY, backdated};
use super::renew::{RenewError, key_pair, transact, unknown};
use crate::outcome::Outcome;
use crate::x509::Cert;

/// A revocation reason, by its RFC 5280 name (section 5.3.1). `unspecified` is written as no
/// reason code at all, as RFC 5280 asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Reason {
    /// `unspecified` (0).
    #[default]
    Unspecified,
    /// `keyCompromise` (1).
    KeyCompromise,
    /// `cACompromise` (2).
    CaCompromise,
    /// `affiliationChanged` (3).
    AffiliationChanged,
    /// `superseded` (4).
    Superseded,
    /// `cessationOfOperation` (5).
    CessationOfOperation,
    /// `certificateHold` (6).
    CertificateHold,
    /// `privilegeWithdrawn` (9).
    PrivilegeWithdrawn,
    /// `aACompromise` (10).
    AaCompromise,
}

/// Every reason, in code order.
pub const REASONS: [Reason; 9] = [
    Reason::Unspecified,
    Reason::KeyCompromise,
    Reason::CaCompromise,
    Reason::AffiliationChanged,
    Reason::Superseded,
    Reason::CessationOfOperation,
    Reason::CertificateHold,
    Reason::PrivilegeWithdrawn,
    Reason::AaCompromise,
];

impl Reason {
    /// The RFC 5280 name (`keyCompromise`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
            Reason::AaCompromise => "aACompromise",
        }
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CaCompromise => RevocationReason::CaCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::CertificateHold => RevocationReason::CertificateHold,
            Reason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
            Reason::AaCompromise => RevocationReason::AaCompromise,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reason {
    type Err = String;

    /// The RFC 5280 name, any case (`keyCompromise`, `keycompromise`, `key-compromise`).
    fn from_str(s: &str) -> Result<Self, String> {
        let plain = |t: &str| t.replace(['-', '_'], "").to_ascii_lowercase();
        REASONS
            .into_iter()
            .find(|r| plain(r.name()) == plain(s))
            .ok_or_else(|| {
                let names: Vec<_> = REASONS.iter().map(|r| r.name()).collect();
                format!(
                    "unknown revocation reason `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revoked {
    /// The entity revoked.
    pub name: String,
    /// Its issuer, whose CRL lists it.
    pub issuer: String,
    /// Its serial number (colon-separated hex).
    pub serial: String,
    /// The reason the CRL gives.
    pub reason: Reason,
    /// The CRL's number now.
    pub crl_number: u64,
    /// The CRL file, relative to the directory.
    pub crl: String,
    /// The CRL listed it already: nothing changed.
    pub already: bool,
}

/// Revokes entity `name` of the PKI in `dir` at `now` for `reason` (see the module
/// documentation). On any error nothing is written.
pub fn revoke(
    dir: &Path,
    name: &str,
    reason: Reason,
    now: OffsetDateTime,
) -> Result<Revoked, RenewError> {
    let mut done = None;
    transact::<RenewError>(dir, &[], |pki| {
        done = Some(revoke_pki(pki, name, reason, now)?);
        Ok(())
    })?;
    Ok(done.expect("set by the transaction"))
}

/// Revokes entity `name` of a PKI in memory (no directory, no lock): what [`revoke`] does to
/// the PKI it read, for a caller that holds the PKI itself (a test fixture, a drill). The
/// issuer's entity gets the new CRL ([`Pki::crls`](super::Pki::crls) has it).
pub fn revoke_pki(
    pki: &mut super::Pki,
    name: &str,
    reason: Reason,
    now: OffsetDateTime,
) -> Result<Revoked, RenewError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let done;
    {
        let e = pki.entity(name).ok_or_else(|| unknown(pki, name))?;
        if e.issuer == e.name {
            return Err(RenewError::Unusable {
                name: e.name.clone(),
                message: "it is self-signed: no CA above it signs a CRL (stop trusting it instead)"
                    .into(),
            });
        }
        let issuer = pki.entity(&e.issuer).ok_or_else(|| RenewError::NoIssuer {
            name: e.name.clone(),
            issuer: e.issuer.clone(),
        })?;
        let cert = Cert::parse(&e.cert).map_err(|message| RenewError::Unusable {
            name: e.name.clone(),
            message,
        })?;
        let serial_bytes = raw_serial(&e.cert);
        let old = match &issuer.crl {
            Some(crl) => read_crl(crl).map_err(|message| RenewError::Unusable {
                name: issuer.name.clone(),
                message,
            })?,
            None => OldCrl {
                entries: vec![],
                number: 0,
            },
        };
        let mut result = Revoked {
            name: e.name.clone(),
            issuer: issuer.name.clone(),
            serial: cert.serial_hex(),
            reason,
            crl_number: old.number,
            crl: issuer.path(crl_file(&issuer.name)),
            already: false,
        };
        if old
            .entries
            .iter()
            .any(|r| r.serial_number.as_ref() == serial_bytes.as_slice())
        {
            result.already = true;
            return Ok(result);
        }
        let mut entries = old.entries;
        entries.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial_bytes),
            revocation_time: now,
            // RFC 5280 5.3.1: the reason code SHOULD be absent rather than `unspecified`.
            reason_code: (reason != Reason::Unspecified).then(|| reason.rcgen()),
            invalidity_date: None,
        });
        let number = old.number + 1;
        let params = CertificateRevocationListParams {
            this_update: backdated(now),
            next_update: now + DEFAULT_LEAF_VALIDITY,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: entries,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crypto = |source| RenewError::Crypto {
            name: issuer.name.clone(),
            source,
        };
        let signer = Issuer::from_ca_cert_der(&issuer.cert, key_pair(issuer)?).map_err(crypto)?;
        let crl = params.signed_by(&signer).map_err(crypto)?.der().clone();
        result.crl_number = number;
        let (issuer_name, entity_name) = (issuer.name.clone(), e.name.clone());
        for x in &mut pki.entities {
            if x.name == issuer_name {
                x.crl = Some(crl.clone());
            }
            if x.name == entity_name && x.fault == super::Fault::None {
                x.expected = Some(Outcome::Revoked);
            }
        }
        // A revoked CA revokes what it issued: a client checking the whole path against the
        // CRLs (curl `--crlfile`, `check --pki`, `probe --crl`) refuses every leaf below it.
        let mut below = vec![entity_name.clone()];
        let mut grew = true;
        while grew {
            grew = false;
            for x in &mut pki.entities {
                if x.issuer != x.name && below.contains(&x.issuer) && !below.contains(&x.name) {
                    below.push(x.name.clone());
                    grew = true;
                    if !x.is_ca() && x.fault == super::Fault::None {
                        x.expected = Some(Outcome::Revoked);
                    }
                }
            }
        }
        done = result;
    }
    Ok(done)
}

/// The serial number's content octets as the certificate encodes them.
fn raw_serial(der: &[u8]) -> Vec<u8> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.raw_serial().to_vec())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_by_rfc_name_in_any_case() {
        for r in REASONS {
            assert_eq!(r.name().parse::<Reason>().unwrap(), r);
        }
        assert_eq!(
            "key-compromise".parse::<Reason>().unwrap(),
            Reason::KeyCompromise
        );
        let e = "stolen".parse::<Reason>().unwrap_err();
        assert!(e.contains("keyCompromise"), "{e}");
    }
}
