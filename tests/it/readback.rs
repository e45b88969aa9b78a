//! What the generator writes reads back (with x509-parser, not our code) as the spec said:
//! SANs, validity, key algorithm, key usage, extended key usage, basic constraints, SKI/AKI,
//! serials — for every key algorithm.

use ::time::macros::datetime;
use certlab::pki::keys::ALL_KEY_ALGS;
use certlab::pki::spec;
use certlab::pki::store;
use x509_parser::oid_registry;
use x509_parser::prelude::*;

#[test]
fn certificates_read_back_as_specified_for_every_key_algorithm() {
    let now = datetime!(2030-06-01 12:00 UTC);
    for alg in ALL_KEY_ALGS {
        let text = format!(
            "[[ca]]\nname = \"root\"\nkey = \"{alg}\"\nvalidity = \"5y\"\n\n[[ca]]\nname = \"int\"\nissuer = \"root\"\npath_len = 0\nkey = \"{alg}\"\npermitted_dns = [\"test\"]\npermitted_ip = [\"10.0.0.0/8\"]\n\n[[leaf]]\nname = \"web\"\nissuer = \"int\"\nkey = \"{alg}\"\nvalidity = \"90d\"\ndns = [\"web.test\"]\nip = [\"10.0.0.1\"]\nsubject = {{ cn = \"web\", o = \"Example\" }}\n\n[[leaf]]\nname = \"cli\"\nissuer = \"int\"\nrole = \"client\"\nkey = \"{alg}\"\nemail = [\"a@test\"]\n"
        );
        let pki = store::build(&spec::parse("t", &text).unwrap(), now).unwrap();
        let parse = |name: &str| pki.entity(name).unwrap().cert.to_vec();

        let root_der = parse("root");
        let (_, root) = parse_x509_certificate(&root_der).unwrap();
        let int_der = parse("int");
        let (_, int) = parse_x509_certificate(&int_der).unwrap();
        let web_der = parse("web");
        let (_, web) = parse_x509_certificate(&web_der).unwrap();
        let cli_der = parse("cli");
        let (_, cli) = parse_x509_certificate(&cli_der).unwrap();

        // Validity: backdated one hour, then the spec's duration.
        assert_eq!(
            web.validity().not_before.to_datetime(),
            now - ::time::Duration::hours(1)
        );
        assert_eq!(
            web.validity().not_after.to_datetime(),
            now + ::time::Duration::days(90)
        );
        assert_eq!(
            root.validity().not_after.to_datetime(),
            now + ::time::Duration::days(5 * 365)
        );

        // Key algorithm.
        let expected_oid = match alg.name() {
            "ed25519" => oid_registry::OID_SIG_ED25519,
            n if n.starts_with("ecdsa") => oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY,
            _ => oid_registry::OID_PKCS1_RSAENCRYPTION,
        };
        assert_eq!(web.public_key().algorithm.algorithm, expected_oid, "{alg}");
        if let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = web.public_key().parsed() {
            assert_eq!(rsa.key_size(), alg.name()[4..].parse::<usize>().unwrap());
        }

        // Basic constraints and key usage of CAs.
        let bc = int.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        assert_eq!(
            root.basic_constraints()
                .unwrap()
                .unwrap()
                .value
                .path_len_constraint,
            None
        );
        let ku = int.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        let nc = int.name_constraints().unwrap().unwrap().value;
        assert_eq!(nc.permitted_subtrees.as_ref().unwrap().len(), 2);

        // Leaves: CA:false, usages per role, SANs.
        assert!(!web.basic_constraints().unwrap().unwrap().value.ca);
        let ku = web.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature());
        assert_eq!(
            ku.key_encipherment(),
            alg.is_rsa(),
            "{alg}: keyEncipherment only for RSA servers"
        );
        let eku = web.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        let eku = cli.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        let sans: Vec<String> = web
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(sans, ["DNSName(web.test)", "IPAddress(0a:00:00:01)"]);
        assert_eq!(web.subject().to_string(), "O=Example, CN=web");

        // SKI on every certificate, AKI equal to the issuer's SKI.
        let ski = |c: &X509Certificate| {
            c.extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                    _ => None,
                })
        };
        let aki = |c: &X509Certificate| {
            c.extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(a) => {
                        a.key_identifier.as_ref().map(|k| k.0.to_vec())
                    }
                    _ => None,
                })
        };
        assert!(ski(&web).is_some() && ski(&root).is_some());
        assert_eq!(aki(&web), ski(&int), "{alg}");
        assert_eq!(aki(&int), ski(&root), "{alg}");

        // Serials: positive, 128 bits, different.
        for c in [&root, &int, &web, &cli] {
            assert_eq!(c.raw_serial().len(), 16);
            assert!(c.raw_serial()[0] & 0x80 == 0 && c.raw_serial()[0] != 0);
        }
        assert_ne!(web.raw_serial(), cli.raw_serial());
    }
}
