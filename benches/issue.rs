//! Leaf issuance: certlab's `Builder::add_leaf` (ECDSA P-256) against raw rcgen key generation
//! plus signing, on the same machine. Target: within 1.5x of raw rcgen.
//!
//! `issue_100_leaves`: what a test suite pays in process for a fixture PKI and 100 server
//! leaves (`TestPki::new()`, root + intermediate, then 100 `server(...).issue()`), as trustme's
//! "CA plus 100 certificates" figure. Target: under 10 ms.

use std::hint::black_box;
use std::time::{Duration, Instant};

use certlab::pki::issue::Builder;
use certlab::pki::model::{CaSpec, LeafSpec};
use certlab::{Role, San};
use criterion::{Criterion, criterion_group, criterion_main};
use rcgen::{CertificateParams, IsCa, Issuer, KeyPair};

const BATCH: u64 = 100;

fn leaf_issuance(c: &mut Criterion) {
    let mut group = c.benchmark_group("leaf");

    group.bench_function("rcgen keygen+sign (p256)", |b| {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = Issuer::new(ca_params, ca_key);
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        b.iter(|| {
            let key = KeyPair::generate().unwrap();
            black_box(params.signed_by(&key, &issuer).unwrap());
        })
    });

    group.bench_function("certlab add_leaf (p256)", |b| {
        let now = time::OffsetDateTime::now_utc();
        let sans = vec![
            San::Dns("localhost".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ];
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                // A fresh CA per batch keeps the PKI small, as in real use.
                let mut builder = Builder::new(now);
                builder
                    .add_ca(&CaSpec {
                        name: "ca".into(),
                        ..CaSpec::default()
                    })
                    .unwrap();
                let n = BATCH.min(iters - done);
                let specs: Vec<_> = (0..n)
                    .map(|i| LeafSpec::new(format!("leaf-{i}"), "ca", Role::Server, sans.clone()))
                    .collect();
                let start = Instant::now();
                for spec in &specs {
                    black_box(builder.add_leaf(spec).unwrap());
                }
                total += start.elapsed();
                done += n;
            }
            total
        })
    });
    group.finish();
}

fn issue_100_leaves(c: &mut Criterion) {
    let mut group = c.benchmark_group("fixture");
    group.sample_size(30);
    group.bench_function("issue_100_leaves", |b| {
        b.iter(|| {
            let mut pki = certlab::TestPki::new();
            for _ in 0..100 {
                black_box(
                    pki.server(["localhost", "127.0.0.1"])
                        .issue()
                        .expect("a leaf"),
                );
            }
            pki
        })
    });
    group.finish();
}

criterion_group!(benches, leaf_issuance, issue_100_leaves);
criterion_main!(benches);
