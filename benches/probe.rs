//! One probe of a live endpoint on loopback, in process: TCP connect, full TLS handshake,
//! chain capture and classification, report. Target: under 5 ms per probe.
//!
//! The endpoints are `certlab::serve` endpoints of the lab PKI: `good` (TLS 1.3, leaf +
//! intermediate), `expired` (the probe aborts the handshake) and `client-ok` (mutual TLS: the
//! probe waits for the server's verdict on its certificate).

use std::hint::black_box;
use std::time::Duration;

use certlab::lab::{lab_pki, probe_options};
use certlab::serve::{ServeSettings, serve};
use certlab::verify::probe::probe;
use criterion::{Criterion, criterion_group, criterion_main};

fn probe_loopback(c: &mut Criterion) {
    let now = time::OffsetDateTime::now_utc();
    let pki = lab_pki(now).expect("lab PKI");
    let scenarios = pki.all_scenarios();
    let mut group = c.benchmark_group("probe");
    group.measurement_time(Duration::from_secs(5));
    for (name, http) in [
        ("good", false),
        ("good", true),
        ("expired", false),
        ("client-ok", false),
    ] {
        let scenario = scenarios
            .iter()
            .find(|s| s.name == name)
            .expect("lab scenario");
        let settings = ServeSettings::from_scenario(&pki, scenario).expect("settings");
        let endpoint = serve(settings, scenario.listen_addr()).expect("serve");
        let addr = endpoint.addr();
        let mut options = probe_options(&pki, scenario, Some(addr), now, Duration::from_secs(5));
        options.http_request = http;
        let target = format!("localhost:{}", addr.port());
        let label = if http {
            format!("{name} + GET /")
        } else {
            format!("{name} handshake")
        };
        let expected = scenario.expected.expect("expected outcome");
        group.bench_function(label, |b| {
            b.iter(|| {
                let report = probe(&target, &options).expect("probe");
                assert_eq!(report.outcome, expected);
                black_box(report)
            })
        });
        drop(endpoint);
    }
    group.finish();
}

criterion_group!(benches, probe_loopback);
criterion_main!(benches);
