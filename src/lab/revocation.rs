//! The revocation drill (`certlab lab --revocation`): serve a leaf, revoke it, and show which
//! clients notice.
//!
//! A drill PKI is written and its leaf served (from the directory, as `certlab serve --pki`
//! does). Every client connects once before the revocation and, after `certlab revoke`
//! ([`crate::pki::revoke::revoke`]), twice: given `ca.pem` alone, and given `ca.pem` with the
//! issuer's CRL (what `certlab probe --crl`, curl `--crlfile` and `openssl s_client
//! -crl_check` get). Only those given the CRL see `revoked`: nothing reaches a client that does
//! not fetch the CRL itself, and the server keeps presenting the revoked certificate. The
//! offline check (`certlab check` with the PKI's CRLs) is one more step.
//!
//! ```no_run
//! use certlab::lab::revocation::{run_revocation, RevocationOptions};
//! let report = run_revocation(&RevocationOptions::default()).unwrap();
//! print!("{}", report.text());
//! assert!(report.all_matched());
//! ```

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;

use crate::outcome::Outcome;
use crate::pki::revoke::{Reason, revoke};
use crate::pki::store;
use crate::verify::check::{CheckOptions, check};
use crate::verify::classify::TrustStore;

use super::drill::{
    DRILL_HOST, DrillClients, DrillError, DrillServer, Server, Step, StepKind, Timeline, Trust, io,
    probe_step, short,
};
use super::rotation::{DRILL_LEAF, Track, generate_drill_pki, timeline_text};

/// The `version` field of a [`RevocationReport`].
pub const REVOCATION_REPORT_VERSION: u32 = 1;

/// How to run the revocation drill.
#[derive(Debug, Clone, Default)]
pub struct RevocationOptions {
    /// Real clients to run at every probe besides certlab's probe (curl, openssl, ...).
    pub clients: DrillClients,
    /// Where the server runs.
    pub server: DrillServer,
    /// Keep the PKI directory and bundles here (`None`: a temporary directory).
    pub keep: Option<PathBuf>,
}

/// What the revocation drill saw.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationReport {
    /// Report format version ([`REVOCATION_REPORT_VERSION`]).
    pub version: u32,
    /// One track, `revocation`.
    pub tracks: Vec<Track>,
    /// How long the drill took, seconds.
    pub seconds: f64,
    /// Where the PKI directory was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl RevocationReport {
    /// Whether every client saw what the drill expected.
    pub fn all_matched(&self) -> bool {
        self.tracks.iter().all(Track::all_matched)
    }

    /// The printed timeline.
    pub fn text(&self) -> String {
        timeline_text(&self.tracks, self.seconds)
    }
}

/// Runs the revocation drill (see the module documentation).
pub fn run_revocation(options: &RevocationOptions) -> Result<RevocationReport, DrillError> {
    let (base, _temp) = super::drill::drill_base(options.keep.as_deref())?;
    let workdir = base.join("work");
    let start = Instant::now();
    let timeline = Timeline::new(start);
    let dir = base.join("pki");
    generate_drill_pki(&dir, 3600, OffsetDateTime::now_utc())?;
    let server = Server::start(&options.server, &dir, DRILL_LEAF, None)?;
    let pki = store::load(&dir)?;
    let leaf = pki.entity(DRILL_LEAF).expect("the drill PKI has its leaf");
    let serial = crate::x509::Cert::parse(&leaf.cert)
        .map(|c| c.serial_hex())
        .unwrap_or_default();
    timeline.push(
        StepKind::Served,
        format!(
            "`{DRILL_LEAF}` serial {}, issued by `intermediate`",
            short(&serial)
        ),
    );
    let plain = Trust {
        label: "ca.pem".into(),
        file: dir.join("ca.pem"),
    };
    probe_step(
        &timeline,
        server.addr(),
        &plain,
        &options.clients,
        &workdir,
        Outcome::Ok,
    )?;
    let revoked = revoke(
        &dir,
        DRILL_LEAF,
        Reason::KeyCompromise,
        OffsetDateTime::now_utc(),
    )?;
    timeline.push(
        StepKind::Revoked,
        format!(
            "certlab revoke: serial {} listed in {} (CRL number {}, {}); the server still presents it",
            short(&revoked.serial),
            revoked.crl,
            revoked.crl_number,
            revoked.reason.name()
        ),
    );
    let with_crl = Trust {
        label: "ca.pem + CRL".into(),
        file: base.join("bundles").join("ca-and-crl.pem"),
    };
    let mut bundle = std::fs::read(dir.join("ca.pem")).map_err(io("cannot read ca.pem"))?;
    bundle.extend(std::fs::read(dir.join(&revoked.crl)).map_err(io("cannot read the CRL"))?);
    std::fs::write(&with_crl.file, bundle)
        .map_err(io(format!("cannot write {}", with_crl.file.display())))?;
    // Offline, as `certlab check --pki DIR` does: the PKI's roots and CRLs.
    let pki = store::load(&dir)?;
    let leaf = pki.entity(DRILL_LEAF).expect("the drill PKI has its leaf");
    let mut checked = CheckOptions::new(TrustStore::from_pki(&pki), OffsetDateTime::now_utc());
    checked.host = Some(DRILL_HOST.into());
    let t = timeline.t();
    let (observed, text) = match check(&leaf.chain, &checked) {
        Ok(r) => (
            Some(r.outcome),
            r.detail
                .clone()
                .unwrap_or_else(|| r.explanation.to_string()),
        ),
        Err(e) => (None, e.to_string()),
    };
    timeline.push_step(Step {
        t,
        kind: StepKind::Probe,
        client: Some("certlab check".into()),
        trust: Some("--pki DIR, with its CRLs".into()),
        observed,
        expected: Some(Outcome::Revoked),
        text,
    });
    probe_step(
        &timeline,
        server.addr(),
        &plain,
        &options.clients,
        &workdir,
        Outcome::Ok,
    )?;
    probe_step(
        &timeline,
        server.addr(),
        &with_crl,
        &options.clients,
        &workdir,
        Outcome::Revoked,
    )?;
    drop(server);
    let steps = timeline.steps();
    Ok(RevocationReport {
        version: REVOCATION_REPORT_VERSION,
        tracks: vec![Track {
            name: "revocation".into(),
            title: "revocation (certlab serve --pki DIR --scenario web; certlab revoke --pki DIR web)".into(),
            ended: Some(Outcome::Revoked),
            why: "only clients given the CRL (and able to read one: grpc, go, node and chromium take no CRL file) notice a revocation; the others keep accepting the certificate until it expires (a server does not stop presenting it either)".into(),
            steps,
        }],
        seconds: start.elapsed().as_secs_f64(),
        dir: options.keep.clone(),
    })
}
