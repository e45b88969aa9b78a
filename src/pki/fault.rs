//! The fault catalogue (DESIGN.md section 4): what the generator breaks on purpose.
//!
//! Each fault is a valid certificate with one change, made by one small named function below,
//! and knows the [`Outcome`](crate::Outcome) a strict client must see. Faults that change the hierarchy (a
//! foreign root, an expired intermediate, ...) describe the helper CAs they need with
//! [`helper_cas`]; the builder in [`super::issue`] issues them.

use rcgen::{
    CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    NameConstraints, SanType,
};
use time::{Duration, OffsetDateTime};

use super::model::{CaSpec, Fault, ID_PLACEHOLDER, Subject};

/// The DNS name [`wrong_host`] puts in place of the real ones.
pub const WRONG_HOST: &str = "wrong-host.certlab.invalid";

/// The only DNS subtree that [`constrain_elsewhere`] permits.
pub const PERMITTED_ELSEWHERE: &str = "elsewhere.certlab.invalid";

/// The unknown OID of [`unknown_critical_extension`] (under the IANA example arc 1.3.6.1.4.1.32473).
pub const UNKNOWN_EXTENSION_OID: [u64; 9] = [1, 3, 6, 1, 4, 1, 32473, 1, 1];

/// `expired`: valid from 90 days ago (but not before the Unix epoch, which verifiers cannot
/// represent) until yesterday.
pub fn expired(params: &mut CertificateParams, now: OffsetDateTime) {
    params.not_before = (now - Duration::days(90)).max(OffsetDateTime::UNIX_EPOCH);
    params.not_after = now - Duration::days(1);
}

/// `not-yet-valid`: valid from 30 days in the future.
pub fn not_yet_valid(params: &mut CertificateParams, now: OffsetDateTime) {
    params.not_before = now + Duration::days(30);
    params.not_after = now + Duration::days(397);
}

/// `wrong-host`: the SANs name only [`WRONG_HOST`]; the client's name is not covered.
pub fn wrong_host(params: &mut CertificateParams) {
    params.subject_alt_names = vec![SanType::DnsName(WRONG_HOST.try_into().expect("valid"))];
    params
        .distinguished_name
        .push(DnType::CommonName, WRONG_HOST);
}

/// `ip-mismatch`: the IP SANs are dropped, DNS names stay; a client connecting by IP fails.
pub fn ip_mismatch(params: &mut CertificateParams) {
    params
        .subject_alt_names
        .retain(|san| !matches!(san, SanType::IpAddress(_)));
}

/// `cn-only`: no SAN extension at all; the host is only in the subject CN, which RFC 6125
/// clients (rustls, Go, modern browsers) ignore and OpenSSL-based ones still accept.
pub fn cn_only(params: &mut CertificateParams, host: &str) {
    params.subject_alt_names.clear();
    params.distinguished_name.push(DnType::CommonName, host);
}

/// `wrong-eku`: extended key usage clientAuth only, on a certificate a server presents.
pub fn wrong_eku(params: &mut CertificateParams) {
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
}

/// `server-as-client`: extended key usage serverAuth only, on a certificate a client presents.
pub fn server_as_client(params: &mut CertificateParams) {
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
}

/// `unknown-critical-extension`: adds a critical extension with [`UNKNOWN_EXTENSION_OID`]
/// (content: ASN.1 NULL), which every conforming client must refuse.
pub fn unknown_critical_extension(params: &mut CertificateParams) {
    let mut ext = CustomExtension::from_oid_content(&UNKNOWN_EXTENSION_OID, vec![0x05, 0x00]);
    ext.set_criticality(true);
    params.custom_extensions.push(ext);
}

/// `intermediate-not-ca`: a would-be intermediate with basicConstraints CA:false (it keeps
/// keyCertSign, so only the CA bit is wrong).
pub fn not_a_ca(params: &mut CertificateParams) {
    params.is_ca = IsCa::ExplicitNoCa;
}

/// `name-constraints`: the CA may only issue for [`PERMITTED_ELSEWHERE`].
pub fn constrain_elsewhere(params: &mut CertificateParams) {
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName(PERMITTED_ELSEWHERE.to_string())],
        excluded_subtrees: vec![],
    });
}

/// `bad-signature`: flips the last byte of the certificate's DER, which is the last byte of
/// the signature value; the structure still parses, the signature no longer verifies.
pub fn corrupt_signature(der: &mut [u8]) {
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
}

/// Who signs a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// Its issuing CA (the spec's issuer, or the last helper CA of the fault).
    Issuer,
    /// The leaf itself (`self-signed`).
    Itself,
}

/// Which private key is written beside a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChoice {
    /// The leaf's own key.
    Own,
    /// A fresh key of the same algorithm that belongs to no certificate (`key-mismatch`).
    Another,
}

/// A change to a leaf's DER after it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSigning {
    /// [`corrupt_signature`]: one bit of the signature flipped (`bad-signature`).
    CorruptSignature,
}

impl AfterSigning {
    /// Applies the change to the signed DER.
    pub fn apply(self, der: &mut [u8]) {
        match self {
            AfterSigning::CorruptSignature => corrupt_signature(der),
        }
    }
}

/// What the builder does for a leaf with a fault, besides the parameter changes of
/// [`apply_to_leaf`] and the helper CAs of [`helper_cas`]: who signs it, what happens to the
/// signed bytes, whether its issuer revokes it, which key goes beside it. The served chain is
/// [`served_chain`]. The builder follows the plan and never asks which fault it is, so a new
/// fault changes this file alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafPlan {
    /// Who signs the leaf.
    pub signer: Signer,
    /// A change to the signed DER.
    pub after_signing: Option<AfterSigning>,
    /// Whether the issuer lists the leaf's serial in its CRL.
    pub revoked: bool,
    /// Which key is written beside the certificate.
    pub key: KeyChoice,
}

/// The builder's plan for a leaf with `fault`.
pub fn leaf_plan(fault: Fault) -> LeafPlan {
    LeafPlan {
        signer: if fault == Fault::SelfSigned {
            Signer::Itself
        } else {
            Signer::Issuer
        },
        after_signing: (fault == Fault::BadSignature).then_some(AfterSigning::CorruptSignature),
        revoked: fault == Fault::Revoked,
        key: if fault == Fault::KeyMismatch {
            KeyChoice::Another
        } else {
            KeyChoice::Own
        },
    }
}

/// What a server sends for a leaf with this fault: normally `leaf` then `intermediates`
/// (nearest first); `missing-intermediate` sends the leaf alone, `reversed-chain` the
/// intermediates first and the leaf last, `self-signed` only itself.
pub fn served_chain<T: Clone>(fault: Fault, leaf: &T, intermediates: &[T]) -> Vec<T> {
    let mut chain = vec![leaf.clone()];
    match fault {
        Fault::MissingIntermediate | Fault::SelfSigned => {}
        Fault::ReversedChain => {
            chain.splice(0..0, intermediates.iter().rev().cloned());
        }
        _ => chain.extend(intermediates.iter().cloned()),
    }
    chain
}

/// Applies a fault that changes only the leaf's own parameters. `host` is the name the leaf
/// is for (its first DNS SAN or its name). Faults that act elsewhere do nothing here.
pub fn apply_to_leaf(
    fault: Fault,
    params: &mut CertificateParams,
    now: OffsetDateTime,
    host: &str,
) {
    match fault {
        Fault::Expired => expired(params, now),
        Fault::NotYetValid => not_yet_valid(params, now),
        Fault::WrongHost => wrong_host(params),
        Fault::IpMismatch => ip_mismatch(params),
        Fault::CnOnly => cn_only(params, host),
        Fault::WrongEku => wrong_eku(params),
        Fault::ServerAsClient => server_as_client(params),
        Fault::UnknownCriticalExtension => unknown_critical_extension(params),
        _ => {}
    }
}

/// Applies a fault to a helper CA's parameters (see [`helper_cas`]).
pub fn apply_to_ca(fault: Fault, params: &mut CertificateParams, now: OffsetDateTime) {
    match fault {
        Fault::ExpiredIntermediate | Fault::ExpiredRoot => expired(params, now),
        Fault::IntermediateNotCa => not_a_ca(params),
        Fault::NameConstraints => constrain_elsewhere(params),
        _ => {}
    }
}

/// The helper CAs a leaf's fault needs, in issuing order; the leaf is then issued by the last
/// one. `leaf` names the leaf, `root_name` / `root_subject` its real root (what `ca.pem`
/// trusts; `root_subject` is called only by `same-name-root`). Empty for faults that keep the
/// leaf's own issuer. Helper roots other than the same-name one carry [`ID_PLACEHOLDER`] in
/// their CN, so they are named apart from every other PKI's roots too.
pub fn helper_cas(
    fault: Fault,
    leaf: &str,
    root_name: &str,
    root_subject: impl FnOnce() -> Subject,
) -> Vec<CaSpec> {
    let ca = |suffix: &str, issuer: Option<&str>, subject: Subject| CaSpec {
        name: format!("{leaf}-{suffix}"),
        issuer: issuer.map(str::to_string),
        subject,
        fault,
        ..CaSpec::default()
    };
    let named = |cn: String| Subject {
        cn: Some(cn),
        o: Some("certlab".into()),
        ..Subject::default()
    };
    match fault {
        // A root of its own name, not trusted: the server (or client) sends unknown_ca.
        Fault::UnknownCa => vec![CaSpec {
            trusted: false,
            ..ca(
                "root",
                None,
                named(format!("certlab {leaf} foreign root {ID_PLACEHOLDER}")),
            )
        }],
        // Same subject as the real root, another key, not trusted.
        Fault::SameNameRoot => vec![CaSpec {
            trusted: false,
            ..ca("root", None, root_subject())
        }],
        Fault::ExpiredRoot => vec![ca(
            "root",
            None,
            named(format!("certlab {leaf} root {ID_PLACEHOLDER}")),
        )],
        Fault::ExpiredIntermediate | Fault::IntermediateNotCa | Fault::NameConstraints => {
            vec![ca(
                "ca",
                Some(root_name),
                named(format!("certlab {leaf} CA")),
            )]
        }
        Fault::PathLen => vec![
            CaSpec {
                path_len: Some(0),
                ..ca("ca", Some(root_name), named(format!("certlab {leaf} CA")))
            },
            ca(
                "ca2",
                Some(&format!("{leaf}-ca")),
                named(format!("certlab {leaf} CA 2")),
            ),
        ],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::model::ALL_FAULTS;

    #[test]
    fn names_round_trip() {
        for f in ALL_FAULTS {
            assert_eq!(f.name().parse::<Fault>().unwrap(), f);
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.name())
            );
        }
        assert!(
            "expird"
                .parse::<Fault>()
                .unwrap_err()
                .contains("wrong-host")
        );
    }

    #[test]
    fn served_chain_orders() {
        let (leaf, ints) = ("L", ["I1", "I2"]);
        assert_eq!(served_chain(Fault::None, &leaf, &ints), ["L", "I1", "I2"]);
        assert_eq!(
            served_chain(Fault::MissingIntermediate, &leaf, &ints),
            ["L"]
        );
        assert_eq!(
            served_chain(Fault::ReversedChain, &leaf, &ints),
            ["I2", "I1", "L"]
        );
    }

    #[test]
    fn every_fault_but_key_mismatch_has_an_outcome() {
        for f in ALL_FAULTS {
            assert_eq!(f.expected().is_none(), f == Fault::KeyMismatch, "{f}");
        }
    }

    #[test]
    fn plans_differ_from_the_plain_leaf_only_where_the_fault_acts() {
        let plain = leaf_plan(Fault::None);
        assert_eq!(plain.signer, Signer::Issuer);
        assert_eq!(plain.key, KeyChoice::Own);
        assert!(!plain.revoked && plain.after_signing.is_none());
        assert_eq!(leaf_plan(Fault::SelfSigned).signer, Signer::Itself);
        assert_eq!(leaf_plan(Fault::KeyMismatch).key, KeyChoice::Another);
        assert!(leaf_plan(Fault::Revoked).revoked);
        let mut der = vec![0u8, 0];
        leaf_plan(Fault::BadSignature)
            .after_signing
            .unwrap()
            .apply(&mut der);
        assert_eq!(der, [0, 1]);
        for f in ALL_FAULTS {
            let special = [
                Fault::SelfSigned,
                Fault::KeyMismatch,
                Fault::Revoked,
                Fault::BadSignature,
            ];
            if !special.contains(&f) {
                let p = leaf_plan(f);
                assert!(p.signer == Signer::Issuer && p.key == KeyChoice::Own, "{f}");
                assert!(!p.revoked && p.after_signing.is_none(), "{f}");
            }
        }
    }

    #[test]
    fn only_same_name_root_copies_the_real_roots_subject() {
        let real = || Subject {
            cn: Some("certlab lab root 3f9a2c".into()),
            ..Subject::default()
        };
        let foreign = helper_cas(Fault::UnknownCa, "leaf", "root", || {
            panic!("unknown-ca must not copy the real root's name")
        });
        assert_eq!(foreign.len(), 1);
        assert!(!foreign[0].trusted && foreign[0].issuer.is_none());
        assert_eq!(
            foreign[0].subject.cn.as_deref(),
            Some("certlab leaf foreign root {id}")
        );
        let same = helper_cas(Fault::SameNameRoot, "leaf", "root", real);
        assert_eq!(same.len(), 1);
        assert!(!same[0].trusted && same[0].issuer.is_none());
        assert_eq!(same[0].subject, real());
        assert_eq!(same[0].name, "leaf-root");
    }

    #[test]
    fn path_len_makes_two_chained_helper_cas() {
        let cas = helper_cas(Fault::PathLen, "leaf", "root", Subject::default);
        assert_eq!(cas.len(), 2);
        assert_eq!(cas[0].path_len, Some(0));
        assert_eq!(cas[1].issuer.as_deref(), Some("leaf-ca"));
    }
}
