//! Scenarios that mean what their names say (issue 10): every root is named after its own key
//! (`{id}`, and `NAME {id}` by default), so two certlab PKIs never share a root name;
//! `unknown-ca`'s foreign root has a name of its own (a server sends unknown_ca, alert 48),
//! while `same-name-root` keeps the trusted root's exact name with another key (a server checks
//! the signature with the wrong key: decrypt_error, alert 51).

use crate::common;

use ::time::macros::datetime;
use certlab::pki::{Pki, spec, store};
use common::certlab;
use x509_parser::prelude::*;

const NOW: ::time::OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

/// (subject as RFC 4514 text, CN, subjectKeyIdentifier in hex, SPKI bytes).
fn facts(der: &[u8]) -> (String, String, String, Vec<u8>) {
    let (_, cert) = X509Certificate::from_der(der).expect("parses");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let ski = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => {
                Some(k.0.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
            _ => None,
        })
        .expect("a subject key identifier");
    (
        cert.subject().to_string(),
        cn,
        ski,
        cert.public_key().raw.to_vec(),
    )
}

fn build(text: &str) -> Pki {
    let s = spec::parse("<test>", text).expect("spec parses");
    store::build(&s, NOW).expect("builds")
}

fn template(name: &str) -> Pki {
    build(spec::template(name).expect("template").text)
}

fn cert<'a>(pki: &'a Pki, name: &str) -> &'a [u8] {
    pki.entity(name)
        .unwrap_or_else(|| panic!("no entity {name}"))
        .cert
        .as_ref()
}

#[test]
fn every_template_root_is_named_after_its_own_key_and_two_pkis_differ() {
    for t in ["dev", "otel", "lab"] {
        let (one, two) = (template(t), template(t));
        let (_, cn1, ski1, _) = facts(cert(&one, "root"));
        let (_, cn2, ski2, _) = facts(cert(&two, "root"));
        assert_eq!(cn1, format!("certlab {t} root {}", &ski1[..6]), "{t}");
        assert_eq!(cn2, format!("certlab {t} root {}", &ski2[..6]), "{t}");
        assert_ne!(cn1, cn2, "{t}: two PKIs share a root name");
    }
}

#[test]
fn a_root_without_a_cn_is_its_name_and_id_and_an_intermediate_keeps_its_name() {
    let pki = build(
        "[[ca]]\nname = \"myroot\"\n\n[[ca]]\nname = \"sub\"\nissuer = \"myroot\"\n\n[[ca]]\nname = \"named\"\nsubject = { cn = \"Acme root\" }\n",
    );
    let (_, cn, ski, _) = facts(cert(&pki, "myroot"));
    assert_eq!(cn, format!("myroot {}", &ski[..6]));
    assert_eq!(facts(cert(&pki, "sub")).1, "sub");
    // A CN the spec gives is kept as it is.
    assert_eq!(facts(cert(&pki, "named")).1, "Acme root");
}

#[test]
fn seeded_root_ids_are_the_same_on_every_build() {
    let text = "seed = \"root names\"\n[[ca]]\nname = \"root\"\n";
    let (a, b) = (build(text), build(text));
    assert_eq!(facts(cert(&a, "root")).1, facts(cert(&b, "root")).1);
    let other = build("seed = \"other\"\n[[ca]]\nname = \"root\"\n");
    assert_ne!(facts(cert(&a, "root")).1, facts(cert(&other, "root")).1);
}

#[test]
fn unknown_ca_roots_have_their_own_names_and_same_name_roots_the_trusted_ones() {
    let lab = template("lab");
    let (root_subject, root_cn, _, root_key) = facts(cert(&lab, "root"));
    for leaf in ["unknown-ca", "client-unknown-ca"] {
        let foreign = format!("{leaf}-root");
        let (subject, cn, ski, _) = facts(cert(&lab, &foreign));
        assert_ne!(subject, root_subject, "{foreign}");
        assert_eq!(
            cn,
            format!("certlab {leaf} foreign root {}", &ski[..6]),
            "{foreign}"
        );
        assert!(!lab.entity(&foreign).unwrap().trusted, "{foreign}");
        assert_eq!(lab.entity(leaf).unwrap().issuer, foreign);
    }
    for leaf in ["same-name-root", "client-same-name-root"] {
        let foreign = format!("{leaf}-root");
        let (subject, cn, _, key) = facts(cert(&lab, &foreign));
        assert_eq!(subject, root_subject, "{foreign}");
        assert_eq!(cn, root_cn, "{foreign}");
        assert_ne!(key, root_key, "{foreign}: another key");
        assert!(!lab.entity(&foreign).unwrap().trusted, "{foreign}");
        assert_eq!(lab.entity(leaf).unwrap().issuer, foreign);
    }
}

/// certlab's own probe against the lab's servers: a client certificate from a foreign root
/// gets alert 48 (unknown_ca), one from a same-name root alert 51 (decrypt_error); a server
/// leaf from a same-name root is unknown-ca with the same-name detail.
#[test]
fn the_probe_sees_alert_48_for_a_foreign_root_and_51_for_a_same_name_root() {
    let out = certlab()
        .args([
            "lab",
            "--only",
            "client-unknown-ca,client-same-name-root,unknown-ca,same-name-root",
            "--json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| {
        v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("no scenario {n}: {v}"))
            .clone()
    };
    for (name, observed, detail) in [
        (
            "client-unknown-ca",
            "client-cert-rejected",
            "alert 48 (unknown_ca)",
        ),
        (
            "client-same-name-root",
            "client-cert-rejected",
            "alert 51 (decrypt_error)",
        ),
        ("unknown-ca", "unknown-ca", "foreign root"),
        (
            "same-name-root",
            "unknown-ca",
            "same subject as your root, different key",
        ),
    ] {
        let s = by_name(name);
        assert_eq!(s["observed"], observed, "{s}");
        assert!(s["detail"].as_str().unwrap().contains(detail), "{s}");
    }
}
