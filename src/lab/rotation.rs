//! The rotation drill (`certlab lab --rotation`): what clients see when a certificate expires
//! under a live server, is renewed, and when the CA itself is replaced — in real time, with
//! certificates that live for seconds.
//!
//! Two PKI directories are made (a root, an intermediate and a leaf `web` valid
//! [`RotationOptions::validity`]) and each is served, as users serve it: from the directory
//! (`certlab serve --pki DIR --scenario web`), one server watching the directory
//! (`--reload`), the other not. In parallel, on each:
//!
//! 1. a probe sees `ok`; on the reload track a TLS connection is opened and kept;
//! 2. the leaf expires: the probe sees `expired` (the outage);
//! 3. certlab renews the leaf in the directory ([`crate::pki::renew::renew`]);
//! 4. with reload the server picks the new leaf up and the probe sees `ok` again, and the
//!    connection opened before the rotation still answers; without reload the probe still
//!    sees `expired`, because the server kept the old certificate in memory.
//!
//! Then, on the reload track, the CA is rotated with an overlap bundle: a new root and
//! intermediate are made ([`add_ca_pair`]), so `ca.pem` holds the old and the new root; the
//! server's leaf is re-issued by the new intermediate ([`reissue_under`]), the cut-over.
//! Clients that kept the old bundle (the old root only) fail from then on (`unknown-ca`);
//! clients given the overlap bundle never fail.
//!
//! Every step is timed from the start ([`Step::t`]); each probe records what certlab's probe,
//! and each real client asked for, saw and what the drill expected.
//!
//! ```no_run
//! use certlab::lab::rotation::{run_rotation, RotationOptions};
//! let report = run_rotation(&RotationOptions::default()).unwrap();
//! print!("{}", report.text());
//! assert!(report.all_matched());
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use crate::outcome::Outcome;
use crate::pki::issue::Builder;
use crate::pki::model::{CaSpec, LeafSpec, Validity};
use crate::pki::renew::{RenewOptions, renew, transact};
use crate::pki::{spec, store};

use super::drill::{
    DrillClients, DrillError, DrillServer, HeldConnection, Server, Step, StepKind, Timeline, Trust,
    io, probe_step, short, sleep_until,
};

/// The `version` field of a [`RotationReport`].
pub const ROTATION_REPORT_VERSION: u32 = 1;

/// The name of the leaf the drill serves (and of its scenario).
pub const DRILL_LEAF: &str = "web";

/// How to run the rotation drill.
#[derive(Debug, Clone)]
pub struct RotationOptions {
    /// How long the first leaf is valid (whole seconds, at least 1): the outage comes after it.
    pub validity: Duration,
    /// How long the renewed (and the re-issued) leaf is valid.
    pub renewed_validity: Duration,
    /// How often the reloading server reads the PKI directory.
    pub reload_interval: Duration,
    /// Real clients to run at every probe besides certlab's probe (curl, openssl, ...).
    pub clients: DrillClients,
    /// Where the servers run.
    pub server: DrillServer,
    /// Keep the PKI directories and bundles here (`None`: a temporary directory).
    pub keep: Option<PathBuf>,
}

impl Default for RotationOptions {
    fn default() -> Self {
        RotationOptions {
            validity: Duration::from_secs(2),
            renewed_validity: Duration::from_secs(60),
            reload_interval: Duration::from_millis(100),
            clients: DrillClients::default(),
            server: DrillServer::InProcess,
            keep: None,
        }
    }
}

/// One part of the drill and its timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Track {
    /// `reload`, `no-reload` or `ca-rotation`.
    pub name: String,
    /// What it shows, one line.
    pub title: String,
    /// The steps, in time order.
    pub steps: Vec<Step>,
    /// The outcome a client saw at the end (certlab's probe; for the CA rotation, with the
    /// overlap bundle).
    pub ended: Option<Outcome>,
    /// Why it ended so.
    pub why: String,
}

impl Track {
    /// Whether every probe saw what the drill expected.
    pub fn all_matched(&self) -> bool {
        self.steps.iter().all(Step::matched)
    }

    /// The outcomes certlab's probe saw, in order (`ok → expired → ok`), optionally only
    /// those of clients given `trust`.
    pub fn probe_outcomes(&self, trust: Option<&str>) -> Vec<Outcome> {
        self.steps
            .iter()
            .filter(|s| s.kind == StepKind::Probe && s.client.as_deref() == Some("certlab probe"))
            .filter(|s| trust.is_none() || s.trust.as_deref() == trust)
            .filter_map(|s| s.observed)
            .collect()
    }
}

/// What the rotation drill saw.
#[derive(Debug, Clone, Serialize)]
pub struct RotationReport {
    /// Report format version ([`ROTATION_REPORT_VERSION`]).
    pub version: u32,
    /// The first leaf's validity, seconds.
    pub validity_s: u64,
    /// The reload interval, milliseconds.
    pub reload_interval_ms: u64,
    /// `in-process` or `process` (`certlab serve` as a process).
    pub server: String,
    /// The tracks: `reload`, `no-reload`, `ca-rotation`.
    pub tracks: Vec<Track>,
    /// How long the whole drill took, seconds.
    pub seconds: f64,
    /// Where the PKI directories were kept ([`RotationOptions::keep`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl RotationReport {
    /// Whether every probe of every track saw what the drill expected.
    pub fn all_matched(&self) -> bool {
        self.tracks.iter().all(Track::all_matched)
    }

    /// A track by name.
    pub fn track(&self, name: &str) -> Option<&Track> {
        self.tracks.iter().find(|t| t.name == name)
    }

    /// The printed timeline.
    pub fn text(&self) -> String {
        timeline_text(&self.tracks, self.seconds)
    }
}

/// The timelines of tracks as printed (by `certlab lab --rotation` and `--revocation`).
pub fn timeline_text(tracks: &[Track], seconds: f64) -> String {
    let mut out = String::new();
    let mut steps = 0;
    let mut mismatched = 0;
    for track in tracks {
        out.push_str(&format!("{}:\n", track.title));
        for step in &track.steps {
            out.push_str(&format!("  {}\n", step.line()));
            steps += 1;
            mismatched += usize::from(!step.matched());
        }
        let ended = track.ended.map(|o| o.name()).unwrap_or("-");
        out.push_str(&format!("  ended {ended}: {}\n\n", track.why));
    }
    out.push_str(&format!(
        "{steps} steps in {seconds:.1} s, {}\n",
        if mismatched == 0 {
            "every client saw what the drill expected".to_string()
        } else {
            format!("{mismatched} not as expected")
        }
    ));
    out
}

fn spec_text(validity_s: u64) -> String {
    format!(
        r#"[[ca]]
name = "root"

[[ca]]
name = "intermediate"
issuer = "root"
path_len = 0

[[leaf]]
name = "{DRILL_LEAF}"
issuer = "intermediate"
dns = ["localhost"]
ip = ["127.0.0.1"]
validity = "{validity_s}s"
"#
    )
}

/// The time one probe round of real clients may take, per client: a round of all eleven
/// families took 3 s here (a JVM, Node and Chromium start per probe), and a leaf that expires
/// before the first round ends turns the drill's "ok" into "expired".
pub const CLIENT_PROBE_BUDGET: Duration = Duration::from_secs(1);

/// `options` with the first leaf valid long enough for a full probe round of its clients: at
/// least the asked validity, and at least 2 s plus [`CLIENT_PROBE_BUDGET`] per real client.
pub fn with_client_time(options: &RotationOptions) -> RotationOptions {
    let needed = Duration::from_secs(2) + CLIENT_PROBE_BUDGET * options.clients.list.len() as u32;
    RotationOptions {
        validity: options.validity.max(needed),
        ..options.clone()
    }
}

/// Writes a drill PKI (root, intermediate, leaf [`DRILL_LEAF`] valid `validity_s` seconds)
/// into `dir` at `now`.
pub(crate) fn generate_drill_pki(
    dir: &Path,
    validity_s: u64,
    now: OffsetDateTime,
) -> Result<(), DrillError> {
    let spec = spec::parse("<drill>", &spec_text(validity_s))
        .map_err(|e| DrillError::Setup(format!("the drill's spec: {e}")))?;
    store::generate(&spec, dir, now, true)?;
    Ok(())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// Adds a new root `root` and an intermediate `intermediate` it issues (pathLen 0) to the PKI
/// in `dir`, at `now`, in one transaction: `ca.pem` then holds the old and the new roots (the
/// overlap bundle). Nothing else changes.
pub fn add_ca_pair(
    dir: &Path,
    root: &str,
    intermediate: &str,
    now: OffsetDateTime,
) -> Result<(), DrillError> {
    transact::<DrillError>(dir, &[], |pki| {
        let mut b = Builder::new(now);
        for name in [root, intermediate] {
            if pki.entity(name).is_some() {
                return Err(DrillError::Setup(format!("the PKI has a `{name}` already")));
            }
        }
        b.add_ca(&CaSpec {
            name: root.into(),
            ..CaSpec::default()
        })?;
        b.add_ca(&CaSpec {
            name: intermediate.into(),
            issuer: Some(root.into()),
            path_len: Some(0),
            ..CaSpec::default()
        })?;
        let new = b.finish()?.entities;
        let at = pki
            .entities
            .iter()
            .position(|e| !e.is_ca())
            .unwrap_or(pki.entities.len());
        pki.entities.splice(at..at, new);
        Ok(())
    })?;
    Ok(())
}

/// Re-issues leaf `name` of the PKI in `dir` by CA `issuer` (the cut-over of a CA rotation):
/// the same names and role, a new key, valid `validity` from `now`; its chain goes through
/// the new issuer. Returns the old and new serial numbers.
pub fn reissue_under(
    dir: &Path,
    name: &str,
    issuer: &str,
    validity: time::Duration,
    now: OffsetDateTime,
) -> Result<(String, String), DrillError> {
    let mut serials = (String::new(), String::new());
    transact::<DrillError>(dir, &[], |pki| {
        let i = pki
            .entities
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| crate::pki::renew::unknown(pki, name))?;
        let old = pki.entities[i].clone();
        if pki.entity(issuer).is_none_or(|e| !e.is_ca()) {
            return Err(crate::pki::renew::RenewError::NoIssuer {
                name: name.into(),
                issuer: issuer.into(),
            }
            .into());
        }
        let mut b = Builder::new(now.replace_nanosecond(0).unwrap_or(now));
        let mut cas: Vec<_> = pki.issuers_of(issuer).into_iter().cloned().collect();
        cas.reverse();
        cas.extend(pki.entity(issuer).cloned());
        for ca in cas {
            b.add_existing_ca(ca)?;
        }
        let mut leaf = LeafSpec::new(name, issuer, old.role, old.sans.clone());
        leaf.key = old.key_alg;
        leaf.validity = Validity::For(validity);
        leaf.dir = old.dir.clone();
        leaf.files = old.files;
        let new = b.add_leaf(&leaf)?.clone();
        serials = (serial_of(&old.cert), serial_of(&new.cert));
        pki.entities[i] = new;
        Ok(())
    })?;
    Ok(serials)
}

fn serial_of(der: &[u8]) -> String {
    crate::x509::Cert::parse(der)
        .map(|c| c.serial_hex())
        .unwrap_or_default()
}

/// The leaf of the drill PKI in `dir`: its serial and notAfter.
fn leaf_of(dir: &Path) -> Result<(String, OffsetDateTime), DrillError> {
    let pki = store::load(dir)?;
    let e = pki
        .entity(DRILL_LEAF)
        .ok_or_else(|| DrillError::Setup(format!("no `{DRILL_LEAF}` in {}", dir.display())))?;
    // The certificate's own notAfter (whole seconds), not the manifest's copy.
    let not_after = crate::x509::Cert::parse(&e.cert)
        .map(|c| c.not_after())
        .unwrap_or(e.not_after);
    Ok((serial_of(&e.cert), not_after))
}

/// What a drill shares between its threads.
struct Ctx<'a> {
    options: &'a RotationOptions,
    base: PathBuf,
    start: Instant,
}

impl Ctx<'_> {
    /// A scratch directory for the real clients of one track (tracks run in parallel, and a
    /// client's files must not be shared between two of its runs).
    fn workdir(&self, track: &str) -> Result<PathBuf, DrillError> {
        let dir = self.base.join("work").join(track);
        std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        Ok(dir)
    }

    fn reload_budget(&self) -> Duration {
        Duration::from_secs(3) + self.options.reload_interval * 20
    }
}

/// Runs the rotation drill (see the module documentation).
pub fn run_rotation(options: &RotationOptions) -> Result<RotationReport, DrillError> {
    let options = &with_client_time(options);
    let (base, _temp) = super::drill::drill_base(options.keep.as_deref())?;
    let validity_s = options.validity.as_secs().max(1);
    let start = Instant::now();
    let now = OffsetDateTime::now_utc();
    let (with, without) = (base.join("reload"), base.join("no-reload"));
    generate_drill_pki(&with, validity_s, now)?;
    generate_drill_pki(&without, validity_s, now)?;
    let old_bundle = base.join("bundles").join("old-ca.pem");
    std::fs::copy(with.join("ca.pem"), &old_bundle)
        .map_err(io(format!("cannot copy {}", old_bundle.display())))?;
    let ctx = Ctx {
        options,
        base: base.clone(),
        start,
    };
    let (reload, ca, no_reload) = std::thread::scope(|s| {
        let other = s.spawn(|| expiry_track(&ctx, &without, false));
        let first = expiry_track(&ctx, &with, true).and_then(|(track, server)| {
            let server = server.expect("the reload track keeps its server");
            Ok((track, ca_rotation(&ctx, &with, &server)?))
        });
        let second = other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        match (first, second) {
            (Ok((a, b)), Ok((c, _))) => Ok((a, b, c)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    })?;
    Ok(RotationReport {
        version: ROTATION_REPORT_VERSION,
        validity_s,
        reload_interval_ms: options.reload_interval.as_millis() as u64,
        server: match options.server {
            DrillServer::InProcess => "in-process".into(),
            DrillServer::Process(_) => "process".into(),
        },
        tracks: vec![reload, no_reload, ca],
        seconds: start.elapsed().as_secs_f64(),
        dir: options.keep.clone(),
    })
}

/// Expiry, renewal and (with `reload`) reload of the leaf of `dir`. Returns the track and,
/// with reload, the running server for the CA rotation.
fn expiry_track(
    ctx: &Ctx<'_>,
    dir: &Path,
    reload: bool,
) -> Result<(Track, Option<Server>), DrillError> {
    let o = ctx.options;
    let timeline = Timeline::new(ctx.start);
    let workdir = ctx.workdir(if reload { "reload" } else { "no-reload" })?;
    let trust = Trust {
        label: "ca.pem".into(),
        file: dir.join("ca.pem"),
    };
    let interval = reload.then_some(o.reload_interval);
    let server = Server::start(&o.server, dir, DRILL_LEAF, interval)?;
    let (serial, not_after) = leaf_of(dir)?;
    timeline.push(
        StepKind::Served,
        format!(
            "`{DRILL_LEAF}` serial {} valid {} s (not after {}); the server {}",
            short(&serial),
            o.validity.as_secs().max(1),
            rfc3339(not_after),
            if reload {
                format!(
                    "watches the PKI directory every {} ms (--reload)",
                    o.reload_interval.as_millis()
                )
            } else {
                "read it once at start (no --reload)".into()
            }
        ),
    );
    probe_step(
        &timeline,
        server.addr(),
        &trust,
        &o.clients,
        &workdir,
        Outcome::Ok,
    )?;
    // A connection opened while the leaf is valid, used after the rotation (the server's
    // deadline for a request is 5 s from the accept: open it late).
    let held = if reload {
        sleep_until(not_after - time::Duration::milliseconds(600));
        let t = timeline.t();
        let held = HeldConnection::open(server.addr(), &trust.file);
        let text = match &held {
            Ok(h) => format!("opened and kept: handshake ok, serial {}", short(&h.serial)),
            Err(e) => format!("could not be opened: {e}"),
        };
        timeline.push_step(Step {
            t,
            kind: StepKind::Connection,
            client: None,
            trust: None,
            observed: None,
            expected: None,
            text,
        });
        held.ok().map(|h| (t, h))
    } else {
        None
    };
    // Verifiers count whole seconds: notAfter itself is still valid.
    sleep_until(not_after + time::Duration::milliseconds(1050));
    timeline.push(StepKind::Note, "the leaf has expired: the outage begins");
    probe_step(
        &timeline,
        server.addr(),
        &trust,
        &o.clients,
        &workdir,
        Outcome::Expired,
    )?;
    let report = renew(
        dir,
        &RenewOptions {
            names: vec![DRILL_LEAF.into()],
            validity: Some(to_time(o.renewed_validity)),
            ..RenewOptions::default()
        },
        OffsetDateTime::now_utc(),
    )?;
    let renewed = &report.renewed[0];
    timeline.push(
        StepKind::Renewed,
        format!(
            "certlab renew: serial {} -> {}, not after {} ({} s)",
            short(&renewed.old_serial),
            short(&renewed.new_serial),
            rfc3339(renewed.new_not_after),
            o.renewed_validity.as_secs()
        ),
    );
    if !reload {
        // As long as a reloading server would have needed, and more.
        std::thread::sleep(ctx.reload_budget().min(Duration::from_secs(1)));
        probe_step(
            &timeline,
            server.addr(),
            &trust,
            &o.clients,
            &workdir,
            Outcome::Expired,
        )?;
        let why = format!(
            "the server kept the old certificate in memory: it still presents serial {} (expired {}) while {} holds serial {} (valid until {}); a server reads its certificate once at start: serve with --reload, or restart it",
            short(&renewed.old_serial),
            rfc3339(renewed.old_not_after),
            dir.join(format!("{DRILL_LEAF}.chain.pem")).display(),
            short(&renewed.new_serial),
            rfc3339(renewed.new_not_after),
        );
        timeline.push(
            StepKind::Note,
            "still expired: the renewal never reached the server",
        );
        let steps = timeline.steps();
        let ended = last_probe(&steps);
        return Ok((
            Track {
                name: "no-reload".into(),
                title: "without reload (certlab serve --pki DIR --scenario web)".into(),
                steps,
                ended,
                why,
            },
            None,
        ));
    }
    match server.wait_reload(&renewed.new_serial, ctx.reload_budget()) {
        Some(line) => timeline.push(StepKind::Reloaded, shorten_serials(&line)),
        None => timeline.push(
            StepKind::Note,
            format!("no reload logged within {:?}", ctx.reload_budget()),
        ),
    }
    // Used before the probes: the server gives a connection 5 s from its accept.
    if let Some((opened, conn)) = held {
        let t = timeline.t();
        let old = short(&conn.serial);
        let (observed, text) = match conn.request() {
            Ok(status) => (
                Some(Outcome::Ok),
                format!(
                    "the connection opened at t+{opened:.1}s (serial {old}) still works after the rotation: GET / -> {status}"
                ),
            ),
            Err(e) => (
                None,
                format!("the connection opened at t+{opened:.1}s (serial {old}) failed: {e}"),
            ),
        };
        timeline.push_step(Step {
            t,
            kind: StepKind::Connection,
            client: Some("rustls".into()),
            trust: Some("kept connection".into()),
            observed,
            expected: Some(Outcome::Ok),
            text,
        });
    }
    probe_step(
        &timeline,
        server.addr(),
        &trust,
        &o.clients,
        &workdir,
        Outcome::Ok,
    )?;
    let steps = timeline.steps();
    let ended = last_probe(&steps);
    Ok((
        Track {
            name: "reload".into(),
            title: format!(
                "with reload (certlab serve --pki DIR --scenario web --reload --reload-interval {}ms)",
                o.reload_interval.as_millis()
            ),
            steps,
            ended,
            why: "the server read the renewed certificate from the PKI directory and presents it to new connections; open connections kept the old one".into(),
        },
        Some(server),
    ))
}

/// A server's log line with every serial number in it shortened ([`short`]).
fn shorten_serials(line: &str) -> String {
    line.split(' ')
        .map(|w| {
            if w.len() > 20 && w.split(':').all(|p| p.len() == 2) {
                short(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last outcome certlab's probe saw.
fn last_probe(steps: &[Step]) -> Option<Outcome> {
    steps
        .iter()
        .rev()
        .find(|s| s.kind == StepKind::Probe && s.client.as_deref() == Some("certlab probe"))
        .and_then(|s| s.observed)
}

/// The CA rotation with an overlap bundle, on the reloading server of `dir`.
fn ca_rotation(ctx: &Ctx<'_>, dir: &Path, server: &Server) -> Result<Track, DrillError> {
    let o = ctx.options;
    let timeline = Timeline::new(ctx.start);
    let workdir = ctx.workdir("ca-rotation")?;
    let bundles = ctx.base.join("bundles");
    let old = Trust {
        label: "old bundle".into(),
        file: bundles.join("old-ca.pem"),
    };
    let overlap = Trust {
        label: "overlap bundle".into(),
        file: bundles.join("overlap-ca.pem"),
    };
    add_ca_pair(dir, "root-2", "intermediate-2", OffsetDateTime::now_utc())?;
    std::fs::copy(dir.join("ca.pem"), &overlap.file)
        .map_err(io(format!("cannot copy {}", overlap.file.display())))?;
    timeline.push(
        StepKind::NewCa,
        "new root `root-2` and intermediate `intermediate-2`; ca.pem now holds the old and the new root (the overlap bundle, handed to some clients); others keep the old ca.pem (the old bundle)",
    );
    let probe = |trust: &Trust, expected: Outcome| {
        probe_step(
            &timeline,
            server.addr(),
            trust,
            &o.clients,
            &workdir,
            expected,
        )
    };
    probe(&old, Outcome::Ok)?;
    probe(&overlap, Outcome::Ok)?;
    let (from, to) = reissue_under(
        dir,
        DRILL_LEAF,
        "intermediate-2",
        to_time(o.renewed_validity),
        OffsetDateTime::now_utc(),
    )?;
    timeline.push(
        StepKind::CutOver,
        format!(
            "`{DRILL_LEAF}` re-issued by intermediate-2: serial {} -> {}, new key",
            short(&from),
            short(&to)
        ),
    );
    match server.wait_reload(&to, ctx.reload_budget()) {
        Some(line) => timeline.push(StepKind::Reloaded, shorten_serials(&line)),
        None => timeline.push(
            StepKind::Note,
            format!("no reload logged within {:?}", ctx.reload_budget()),
        ),
    }
    probe(&old, Outcome::UnknownCa)?;
    probe(&overlap, Outcome::Ok)?;
    let steps = timeline.steps();
    let ended = steps
        .iter()
        .rev()
        .find(|s| {
            s.client.as_deref() == Some("certlab probe")
                && s.trust.as_deref() == Some("overlap bundle")
        })
        .and_then(|s| s.observed);
    Ok(Track {
        name: "ca-rotation".into(),
        title: "CA rotation with an overlap bundle (same server, --reload)".into(),
        steps,
        ended,
        why: "clients given the overlap bundle (old and new root) never failed; clients that kept the old bundle fail from the cut-over on (unknown-ca): hand out the overlap bundle before the cut-over, retire the old root after it".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_leaf_outlives_a_probe_round_of_its_clients() {
        let plain = RotationOptions::default();
        assert_eq!(with_client_time(&plain).validity, Duration::from_secs(2));
        let mut many = RotationOptions::default();
        many.clients.list = crate::clients::ALL_CLIENTS.to_vec();
        assert_eq!(with_client_time(&many).validity, Duration::from_secs(13));
        let mut long = many.clone();
        long.validity = Duration::from_secs(30);
        assert_eq!(with_client_time(&long).validity, Duration::from_secs(30));
    }

    #[test]
    fn serials_in_log_lines_are_shortened() {
        let line = "reloaded: serial 54:84:6d:6f:1b:11:0e:fb:d8:28:ed:84:57:ae:a1:38 -> 68:9a:a2:9c:d0:8f:13:59 (not after 2030-01-01T00:00:00Z)";
        assert_eq!(
            shorten_serials(line),
            "reloaded: serial 54:84:…:38 -> 68:9a:…:59 (not after 2030-01-01T00:00:00Z)"
        );
        assert_eq!(short("01:02"), "01:02");
    }

    #[test]
    fn a_step_line_says_when_a_client_saw_something_unexpected() {
        let step = Step {
            t: 1.25,
            kind: StepKind::Probe,
            client: Some("curl".into()),
            trust: Some("ca.pem".into()),
            observed: Some(Outcome::Expired),
            expected: Some(Outcome::Ok),
            text: "curl: (60) SSL certificate problem: certificate has expired".into(),
        };
        assert!(!step.matched());
        let line = step.line();
        assert!(line.starts_with("t+1.2s  probe"), "{line}");
        assert!(line.contains("expired      (expected ok)"), "{line}");
    }

    #[test]
    fn the_ca_pair_and_the_cut_over_change_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        generate_drill_pki(dir.path(), 3600, now).unwrap();
        let ca_before = crate::pem::read_certs(&dir.path().join("ca.pem")).unwrap();
        add_ca_pair(dir.path(), "root-2", "intermediate-2", now).unwrap();
        let ca_after = crate::pem::read_certs(&dir.path().join("ca.pem")).unwrap();
        assert_eq!((ca_before.len(), ca_after.len()), (1, 2));
        assert!(ca_after.contains(&ca_before[0]));
        // A second pair of the same names is refused, nothing written.
        assert!(matches!(
            add_ca_pair(dir.path(), "root-2", "x", now),
            Err(DrillError::Setup(_))
        ));
        let (old, new) = reissue_under(
            dir.path(),
            DRILL_LEAF,
            "intermediate-2",
            time::Duration::hours(1),
            now,
        )
        .unwrap();
        assert_ne!(old, new);
        let pki = store::load(dir.path()).unwrap();
        let web = pki.entity(DRILL_LEAF).unwrap();
        assert_eq!(web.issuer, "intermediate-2");
        assert_eq!(web.chain[1], pki.entity("intermediate-2").unwrap().cert);
        assert!(store::audit(dir.path()).unwrap().problems.is_empty());
    }
}
