//! The command line: clap definitions, one small file per subcommand. Each subcommand parses
//! its arguments, calls the library, prints, and returns an exit code (DESIGN.md section 7).

pub mod cert;
pub mod check;
pub mod completions;
pub mod explain;
pub mod export;
pub mod generate;
pub mod inspect;
pub mod lab;
pub mod new;
pub mod probe;
pub mod progress;
pub mod render;
pub mod renew;
pub mod revoke;
pub mod serve;
pub mod sign;
pub mod trust;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Exit code: success, or the outcome was as expected.
pub const EXIT_OK: u8 = 0;
/// Exit code: a verification or probe outcome other than `ok`, or not the expected one.
pub const EXIT_OUTCOME: u8 = 1;
/// Exit code: bad input or usage.
pub const EXIT_INPUT: u8 = 2;
/// Exit code: certlab itself could not work (cannot write, cannot bind).
pub const EXIT_INTERNAL: u8 = 3;

/// certlab: test PKI — generate it, break it on purpose, serve it, verify endpoints.
#[derive(Debug, Parser)]
#[command(name = "certlab", version, about, long_about = None)]
pub struct Cli {
    /// Print nothing on stdout: the exit code says it all (errors still go to stderr).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a PKI from a built-in template or a spec.
    Generate(generate::Args),
    /// Write a commented spec to start from.
    New(new::Args),
    /// Issue a leaf for some names from a local CA (mkcert-style).
    Cert(cert::Args),
    /// Write an existing PKI as DER, PKCS#12, combined PEM or other key formats.
    Export(export::Args),
    /// Show what is in certificate and key files.
    Inspect(inspect::Args),
    /// Check a certificate chain offline and name the outcome.
    Check(check::Args),
    /// Sign a certificate signing request (CSR) with a CA you already have.
    Sign(sign::Args),
    /// Add a PKI's root to trust stores (system, NSS, bundle file), remove it, or check.
    Trust(trust::Args),
    /// Serve a scenario or certificate files on a live TLS endpoint.
    Serve(serve::Args),
    /// Probe a live endpoint and name the outcome.
    Probe(probe::Args),
    /// Build every scenario, serve each, probe each, and show expected vs observed.
    Lab(lab::Args),
    /// Render configs for a PKI: OTel collector, OTEL env, Kubernetes Secret, reproduce script.
    Render(render::Args),
    /// Explain a client's TLS error message: outcome, cause, fix, how to reproduce it.
    Explain(explain::Args),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(completions::Args),
    /// Re-issue certificates of a PKI from its kept issuers (new serial and dates, same key).
    Renew(renew::Args),
    /// Revoke a certificate: add it to its issuer's CRL.
    Revoke(revoke::Args),
}

/// A failure to report: the message (one line, with causes) and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    /// Bad input or usage (exit 2).
    pub fn input(message: impl std::fmt::Display) -> Self {
        Failure {
            code: EXIT_INPUT,
            message: message.to_string(),
        }
    }

    /// certlab could not work (exit 3).
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Failure {
            code: EXIT_INTERNAL,
            message: message.to_string(),
        }
    }
}

/// The exit code of a library error: the one place where certlab's errors meet exit codes
/// (like nextest's `process_exit_code`). Every subcommand returns library errors with `?`
/// and gets the code from here: [`EXIT_INPUT`] for anything wrong with what the user gave
/// (a file that is missing, unreadable, empty, not PEM, not a certificate, a key that does
/// not match, a directory that is not a PKI, an unsupported algorithm ...), [`EXIT_INTERNAL`]
/// only when certlab itself could not work (cannot write the output, cannot bind, cannot start
/// a thread).
///
/// It is also the one place for flag hints: library errors say what is wrong in data terms
/// (a library user has no `--force`), and [`ProcessExitCode::hint`] adds what to type.
pub trait ProcessExitCode {
    /// The process exit code for this error.
    fn process_exit_code(&self) -> u8;

    /// What to do about it on the command line, appended to the message (`; HINT`).
    fn hint(&self) -> Option<String> {
        None
    }
}

impl<E: ProcessExitCode + std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        let message = match e.hint() {
            Some(hint) => format!("{e}; {hint}"),
            None => e.to_string(),
        };
        Failure {
            code: e.process_exit_code(),
            message,
        }
    }
}

/// A file certlab read (given by the user, or one a PKI directory should hold) is the input:
/// exit 2; a file certlab could not write is certlab's: exit 3.
impl ProcessExitCode for certlab::pem::FileError {
    fn process_exit_code(&self) -> u8 {
        if self.is_write() {
            EXIT_INTERNAL
        } else {
            EXIT_INPUT
        }
    }
}

/// The hint for replacing a whole PKI (new CA keys).
const FORCE_HINT: &str = "use --force to replace the whole PKI (new CA keys)";

impl ProcessExitCode for certlab::pki::store::StoreError {
    fn process_exit_code(&self) -> u8 {
        use certlab::pki::store::StoreError as E;
        // Every variant listed: the library's errors are #[non_exhaustive], so a variant
        // added later falls to the last arm (bad input) until it is listed here.
        match self {
            // Cannot write, or another writer holds the directory (busy: nothing is wrong
            // with the input, the run could not go ahead).
            E::Lock(_) => EXIT_INTERNAL,
            E::File(e) => e.process_exit_code(),
            E::Issue(e) => e.process_exit_code(),
            E::NotAPkiDir(_)
            | E::NoManifest(_)
            | E::ChangedCa(_)
            | E::DroppedCa(_)
            | E::CaNotValidAt(_)
            | E::Mismatch { .. }
            | E::CaKeyMismatch { .. }
            | E::Exists(_)
            | E::PkiFile { .. }
            | E::Seeding { .. }
            | E::CrlNumberWouldDrop { .. } => EXIT_INPUT,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        use certlab::pki::store::StoreError as E;
        Some(match self {
            E::NoManifest(dir) => format!("make one with `certlab generate -o {}`", dir.display()),
            E::ChangedCa(_) | E::DroppedCa(_) => FORCE_HINT.to_string(),
            E::CaNotValidAt(_) => format!("check --now, or {FORCE_HINT}"),
            E::Mismatch { dir, .. } | E::CaKeyMismatch { dir, .. } => format!(
                "restore it, or replace the whole PKI with `certlab generate --force -o {}` (new CA keys)",
                dir.display()
            ),
            E::Exists(_) => "use --force, or choose another --name or -o".to_string(),
            E::PkiFile { .. } => "choose another --name or -o".to_string(),
            E::Seeding { seeded: true, .. } => {
                "give its seed (--seed), or use --force to replace it by one with random keys"
                    .to_string()
            }
            E::Seeding { seeded: false, .. } => {
                "use --force to replace it by a seeded one (new CA keys)".to_string()
            }
            E::CrlNumberWouldDrop { dir, .. } => format!(
                "keep {} as it is, or use --force to start its CRLs over",
                dir.display()
            ),
            E::Issue(e) => return e.hint(),
            _ => return None,
        })
    }
}

impl ProcessExitCode for certlab::pki::issue::IssueError {
    fn process_exit_code(&self) -> u8 {
        use certlab::pki::issue::IssueError as E;
        match self {
            // The crypto library failing to make a key is certlab's problem, not the user's.
            E::Rcgen {
                source:
                    rcgen::Error::KeyGenerationUnavailable
                    | rcgen::Error::RingUnspecified
                    | rcgen::Error::RemoteKeyError,
                ..
            } => EXIT_INTERNAL,
            E::Seed(certlab::pki::seed::SeedError::Key { .. }) => EXIT_INTERNAL,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        matches!(self, certlab::pki::issue::IssueError::BeforeEpoch(_))
            .then(|| "give a --now of 1970-01-02T00:00:00Z or later".to_string())
    }
}

impl ProcessExitCode for certlab::pki::spec::SpecError {
    fn process_exit_code(&self) -> u8 {
        EXIT_INPUT
    }
}

impl ProcessExitCode for certlab::pki::names::NameError {
    fn process_exit_code(&self) -> u8 {
        EXIT_INPUT
    }
}

impl ProcessExitCode for certlab::pki::csr::CsrError {
    fn process_exit_code(&self) -> u8 {
        // It only reads: a CA file or a CSR that cannot be read is the user's input.
        match self {
            certlab::pki::csr::CsrError::File(e) => e.process_exit_code(),
            _ => EXIT_INPUT,
        }
    }
}

impl ProcessExitCode for certlab::pki::export::ExportError {
    fn process_exit_code(&self) -> u8 {
        use certlab::pki::export::ExportError as E;
        match self {
            E::Store(e) => e.process_exit_code(),
            E::File(e) => e.process_exit_code(),
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        use certlab::pki::export::ExportError as E;
        match self {
            E::Store(e) => e.hint(),
            E::EncryptedNeedsPkcs8(_) => Some("use --key-format pkcs8".to_string()),
            _ => None,
        }
    }
}

impl ProcessExitCode for certlab::serve::ServeError {
    fn process_exit_code(&self) -> u8 {
        use certlab::serve::ServeError as E;
        match self {
            E::Bind { .. } | E::Io(_) => EXIT_INTERNAL,
            E::File(e) => e.process_exit_code(),
            _ => EXIT_INPUT,
        }
    }
}

impl ProcessExitCode for certlab::render::RenderError {
    fn process_exit_code(&self) -> u8 {
        use certlab::render::RenderError as E;
        match self {
            E::Store(e) => e.process_exit_code(),
            E::Template { .. } => EXIT_INTERNAL,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            certlab::render::RenderError::Store(e) => e.hint(),
            _ => None,
        }
    }
}

impl ProcessExitCode for certlab::trust::TrustError {
    fn process_exit_code(&self) -> u8 {
        use certlab::trust::TrustError as E;
        match self {
            E::Invalid(_) => EXIT_INPUT,
            E::File(e) => e.process_exit_code(),
            E::Command { .. } => EXIT_INTERNAL,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            certlab::trust::TrustError::File(e)
                if e.is_write()
                    && e.io()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied) =>
            {
                Some("the system store needs root: run with sudo".to_string())
            }
            _ => None,
        }
    }
}

impl ProcessExitCode for certlab::lab::LabError {
    fn process_exit_code(&self) -> u8 {
        use certlab::lab::LabError as E;
        match self {
            E::UnknownScenario { .. } => EXIT_INPUT,
            E::Store(e) => e.process_exit_code(),
            E::Build(_) | E::TempDir(_) | E::ReadBack(_) => EXIT_INTERNAL,
            // A client that is installed but could not be run or read.
            E::Client(certlab::lab::clients::ClientRunError::Failed { .. }) => EXIT_INTERNAL,
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            certlab::lab::LabError::Store(e) => e.hint(),
            _ => None,
        }
    }
}

impl ProcessExitCode for certlab::verify::check::CheckError {
    fn process_exit_code(&self) -> u8 {
        // Everything `check` reads is the user's input.
        match self {
            certlab::verify::check::CheckError::File(e) => e.process_exit_code(),
            _ => EXIT_INPUT,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            certlab::verify::check::CheckError::Store(e) => e.hint(),
            _ => None,
        }
    }
}

impl ProcessExitCode for certlab::verify::inspect::InspectError {
    fn process_exit_code(&self) -> u8 {
        // It only reads: every file is the user's input.
        EXIT_INPUT
    }
}

impl ProcessExitCode for certlab::verify::probe::ProbeError {
    fn process_exit_code(&self) -> u8 {
        // A probe that could not start: the target, the name or the client's own settings.
        EXIT_INPUT
    }
}

/// Loads a PKI directory given with `--pki`; a directory without a manifest (or no directory)
/// is bad input (exit 2) with the command that makes one.
pub fn load_pki(dir: &std::path::Path) -> Result<certlab::Pki, Failure> {
    require_pki_dir(dir)?;
    Ok(certlab::pki::store::load(dir)?)
}

/// Refuses a `--pki` that is not a certlab PKI directory (no manifest): exit 2 with the command
/// that makes one.
pub fn require_pki_dir(dir: &std::path::Path) -> Result<(), Failure> {
    let manifest = dir.join(certlab::pki::manifest::MANIFEST_FILE);
    if !manifest.is_file() {
        return Err(Failure::input(format!(
            "{} is not a certlab PKI directory (no {}): make one with `certlab generate -o {}`",
            dir.display(),
            certlab::pki::manifest::MANIFEST_FILE,
            dir.display()
        )));
    }
    Ok(())
}

/// Refuses an output directory (`-o`) that exists and is not a directory: the user named a
/// file where certlab writes several (exit 2, before anything is written).
pub fn output_dir(dir: &std::path::Path) -> Result<(), Failure> {
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::input(format!(
            "-o {}: exists and is not a directory; give a directory to write the files into",
            dir.display()
        )));
    }
    Ok(())
}

/// What a subcommand returns.
pub type CmdResult = Result<u8, Failure>;

/// Runs the parsed command line and returns the process exit code, printing failures as
/// `error: ...` on stderr.
pub fn run(cli: Cli) -> ExitCode {
    progress::QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    if cli.quiet
        && let Err(e) = silence_stdout()
    {
        eprintln!("error: --quiet: {e}");
        return ExitCode::from(EXIT_INTERNAL);
    }
    let result = match cli.command {
        Command::Generate(a) => generate::run(a),
        Command::New(a) => new::run(a),
        Command::Cert(a) => cert::run(a),
        Command::Export(a) => export::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Check(a) => check::run(a),
        Command::Sign(a) => sign::run(a),
        Command::Trust(a) => trust::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Lab(a) => lab::run(a),
        Command::Render(a) => render::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Renew(a) => renew::run(a),
        Command::Revoke(a) => revoke::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The range `--now` accepts: certificates are dated from 1970 on, and a default validity
/// from `--now` must still end before 9999-12-31 (the last date X.509 can encode).
pub const NOW_RANGE: std::ops::RangeInclusive<i32> = 1970..=9000;

/// Points stdout at `/dev/null` for the rest of the process (`--quiet`), so no command needs
/// its own quiet mode.
fn silence_stdout() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // SAFETY: dup2 on two open descriptors; stdout is replaced before anything is printed.
    if unsafe { libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The `--now` argument every command that issues or judges certificates flattens in
/// (`#[command(flatten)]`); a command words its own help with `mut_arg("now", ...)`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct NowArg {
    /// Act as if it were this time (RFC 3339) instead of now.
    #[arg(long = "now", value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<OffsetDateTime>,
}

impl NowArg {
    /// The time given, if one was.
    pub fn given(&self) -> Option<OffsetDateTime> {
        self.now
    }

    /// The time given, else the current time.
    pub fn or_clock(&self) -> OffsetDateTime {
        self.now.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

/// Why a `--now` value was refused (one line, printed as is by [`parse_args`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadNow(String);

/// Parses a `--now` value: RFC 3339, a year in [`NOW_RANGE`].
pub fn parse_now(text: &str) -> Result<OffsetDateTime, BadNow> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        BadNow(format!(
            "invalid --now `{text}`: expected RFC 3339, e.g. 2030-01-01T00:00:00Z"
        ))
    })?;
    if !NOW_RANGE.contains(&t.year()) {
        return Err(BadNow(format!(
            "--now `{text}` is out of range: give a time between {} and {}",
            NOW_RANGE.start(),
            NOW_RANGE.end()
        )));
    }
    Ok(t)
}

/// Parses the command line. clap reports usage errors itself (exit 2), except a bad `--now`:
/// that is one `error: ` line with the reason and exit 2, like every other bad input.
pub fn parse_args() -> Result<Cli, ExitCode> {
    // `certlab probe` builds only its own arguments (a probe is a few milliseconds).
    let parsed = probe::parse_probe_only().unwrap_or_else(Cli::try_parse);
    parsed.map_err(|e| {
        let bad_now = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<BadNow>());
        match bad_now {
            Some(reason) if e.kind() == clap::error::ErrorKind::ValueValidation => {
                eprintln!("error: {reason}");
                ExitCode::from(EXIT_INPUT)
            }
            _ => e.exit(),
        }
    })
}

/// Blocks until Ctrl-C or SIGTERM (for commands that keep endpoints up).
pub fn wait_for_signal() -> Result<(), Failure> {
    let _ = signal_receiver()?.recv();
    Ok(())
}

/// Installs the Ctrl-C / SIGTERM handler now and returns where its signals arrive, so that a
/// signal that comes before the command waits for it is not lost (nor kills the process).
pub fn signal_receiver() -> Result<std::sync::mpsc::Receiver<()>, Failure> {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| Failure::internal(format!("cannot install the signal handler: {e}")))?;
    Ok(rx)
}

/// Prints a JSON value (pretty) on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serialisable")
    );
}

/// Whether colour may be used on stdout: a terminal and no `NO_COLOR`.
pub fn use_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Human-readable "expires in N days" / "expired N days ago" relative to `now`.
pub fn relative_expiry(not_after: OffsetDateTime, now: OffsetDateTime) -> String {
    // Under a day (short-lived certificates): seconds, minutes or hours.
    let short = |d: time::Duration| match d.whole_seconds() {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    };
    let days = (not_after - now).whole_days();
    if not_after < now {
        let ago = now - not_after;
        if ago.whole_days() == 0 {
            format!("expired {} ago", short(ago))
        } else {
            format!("expired {} days ago", ago.whole_days())
        }
    } else if days == 0 {
        format!("expires in {}", short(not_after - now))
    } else {
        format!("expires in {days} days")
    }
}

/// RFC 3339 text of a time.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}
