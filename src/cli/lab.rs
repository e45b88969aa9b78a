//! `certlab lab`: build every scenario, serve each, probe each, and show expected vs observed.

use std::path::PathBuf;

use certlab::clients::{ALL_CLIENTS, Client};
use certlab::lab::{LabOptions, LabReport, run as run_lab};
use certlab::pki::model::Expectation;
use certlab::render::reproduce::reproduce_commands;

use super::{CmdResult, EXIT_OK, EXIT_OUTCOME, NowArg};

/// `print!` on stdout, where a reader that went away (`certlab lab --json | head -c 10`) is not
/// an error: the lab ignores SIGPIPE (see [`run`]), so `print!` would panic on the failed write.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!` on stdout, as [`out!`].
macro_rules! outln {
    () => {
        out!("\n")
    };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!`, where a reader of stderr that went away is not an error either.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Prints a JSON value (pretty) on stdout, as [`outln!`].
fn print_json(value: &serde_json::Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("serialisable")
    );
}

/// Arguments of `certlab lab`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Issue and check certificates at this time (RFC 3339) instead of now, on the probes' and the servers' side")))]
#[command(after_help = "Examples:
  certlab lab                                   # every scenario, expected vs observed
  certlab lab --only expired,client-none --serve  # keep them up, print openssl/curl/OTEL lines
  certlab lab --keep lab-pki --json
  certlab lab --rotation --clients curl,openssl  # expiry, renewal, reload, CA rotation
  certlab lab --revocation --clients curl,openssl")]
pub struct Args {
    /// Run only these scenarios (comma-separated names).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Write the lab PKI into this directory and keep it (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Keep every endpoint up after the run and print commands that reproduce each scenario
    /// with openssl, curl and an OpenTelemetry exporter; stop with Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub now: NowArg,
    /// Budget of each probe, e.g. 5s or 300ms.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub timeout: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also run real clients against every scenario and compare each with its measured
    /// verdict: `all`, `installed` (skip the missing ones) or names (`curl,python3.13`).
    #[arg(long, value_name = "all|installed|NAME,...")]
    pub clients: Option<String>,
    /// With --clients: print the client matrix as the README's Markdown table.
    #[arg(long, requires = "clients")]
    pub markdown: bool,
    /// With --clients: print each client's cells as rows of its `src/clients/measured/*.rs`
    /// table (to refresh the measured matrix).
    #[arg(long, requires = "clients", hide = true)]
    pub print_cells: bool,
    /// Run the rotation drill instead: a leaf valid 2 s expires under a live server, is renewed
    /// and reloaded, the same without reload, then a CA rotation with an overlap bundle; prints
    /// the timeline (about 5 s).
    #[arg(long, conflicts_with_all = ["only", "serve", "markdown", "print_cells", "revocation", "now"])]
    pub rotation: bool,
    /// Run the revocation drill instead: serve a leaf, revoke it, show which clients notice
    /// (those given the CRL) and which do not.
    #[arg(long, conflicts_with_all = ["only", "serve", "markdown", "print_cells", "now"])]
    pub revocation: bool,
    /// With --rotation or --revocation: run the servers as `certlab serve` processes instead of
    /// in this process.
    #[arg(long)]
    pub serve_process: bool,
}

/// The families `--clients` names, and whether missing ones are skipped.
fn parse_clients(value: &str) -> Result<(Vec<Client>, bool), super::Failure> {
    match value.trim() {
        "all" => Ok((ALL_CLIENTS.to_vec(), false)),
        "installed" => Ok((ALL_CLIENTS.to_vec(), true)),
        list => {
            let mut out = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                out.push(
                    name.parse::<Client>()
                        .map_err(|e| super::Failure::input(e.to_string()))?,
                );
            }
            if out.is_empty() {
                return Err(super::Failure::input(
                    "--clients needs all, installed or client names",
                ));
            }
            Ok((out, false))
        }
    }
}

/// Runs `certlab lab`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.given();
    let (clients, skip_missing_clients) = match &args.clients {
        Some(v) => parse_clients(v)?,
        None => (Vec::new(), false),
    };
    if !clients.is_empty() && now.is_some() {
        return Err(super::Failure::input(
            "--clients runs real clients, which check at the real time: drop --now",
        ));
    }
    // The lab serves its endpoints in this process (and `--serve` keeps them up for real
    // clients): a client that resets its connection makes the server's next write (writev)
    // raise SIGPIPE, which killed the whole lab (exit 141). The clients' stdin is a pipe that a
    // client may close before reading it (s_client after a failed handshake) too. So SIGPIPE
    // is ignored, as `certlab serve` does: such writes fail instead, and the lab prints with
    // `out!`/`outln!` (a reader of stdout that went away is not an error).
    #[cfg(unix)]
    // SAFETY: setting one signal's disposition before the lab starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    if args.rotation || args.revocation {
        return drill::run(&args, clients, skip_missing_clients);
    }
    let options = LabOptions {
        clients,
        skip_missing_clients,
        now,
        only: args.only.iter().map(|s| s.trim().to_string()).collect(),
        keep: args.keep.clone(),
        keep_serving: args.serve,
        timeout: super::probe::parse_timeout(&args.timeout)?,
        ..LabOptions::default()
    };
    let report = run_lab(&options)?;
    if args.print_cells {
        print_cells(&report);
    } else if args.markdown {
        out!("{}", certlab::lab::matrix_markdown(&report));
    } else if args.json {
        print_json(&serde_json::to_value(&report).expect("serialisable"));
    } else {
        print_table(&report);
        if !report.clients.is_empty() || !report.skipped_clients.is_empty() {
            print_clients(&report);
        }
    }
    let code = if report.all_matched() {
        EXIT_OK
    } else {
        EXIT_OUTCOME
    };
    if args.serve {
        print_reproduce(&report, args.json);
        super::wait_for_signal()?;
    }
    Ok(code)
}

fn print_table(report: &LabReport) {
    let colour = super::use_colour();
    let paint = |code: &str, text: String| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let name = |e: Option<Expectation>| e.map_or("-", |e| e.name()).to_string();
    let rows: Vec<[String; 5]> = report
        .scenarios
        .iter()
        .map(|r| {
            let short_fix = match r.observed {
                Some(Expectation::Outcome(o)) => o.fix().to_string(),
                _ => r.fix.clone(),
            };
            [
                r.name.clone(),
                name(r.expected),
                name(r.observed),
                r.client_says.clone(),
                short_fix,
            ]
        })
        .collect();
    let head = [
        "scenario",
        "expected",
        "observed",
        "openssl / curl say",
        "fix",
    ];
    let mut width = [0usize; 4];
    for (i, w) in width.iter_mut().enumerate() {
        *w = rows
            .iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0);
    }
    outln!(
        "  {:w0$}  {:w1$}  {:w2$}  {:w3$}  {}",
        head[0],
        head[1],
        head[2],
        head[3],
        head[4],
        w0 = width[0],
        w1 = width[1],
        w2 = width[2],
        w3 = width[3]
    );
    for (r, cells) in report.scenarios.iter().zip(&rows) {
        let mark = if r.matched {
            paint("32", "✓".to_string())
        } else {
            paint("31", "✗".to_string())
        };
        let observed = format!("{:w$}", cells[2], w = width[2]);
        let observed = if r.matched {
            observed
        } else {
            paint("31", observed)
        };
        outln!(
            "{mark} {:w0$}  {:w1$}  {observed}  {:w3$}  {}",
            cells[0],
            cells[1],
            cells[3],
            cells[4],
            w0 = width[0],
            w1 = width[1],
            w3 = width[3]
        );
        if !r.matched
            && let Some(d) = &r.detail
        {
            outln!("    {d}");
        }
    }
    let dir = if report.temporary && report.endpoints.is_empty() {
        " (PKI in a temporary directory; --keep DIR keeps it)".to_string()
    } else {
        format!(" (PKI in {})", report.dir.display())
    };
    outln!(
        "{} of {} scenarios as expected in {:.0} ms{dir}",
        report.matched,
        report.total,
        report.elapsed_ms
    );
}

fn print_reproduce(report: &LabReport, json: bool) {
    // With --json, stdout holds only the JSON document; the commands go to stderr.
    let out = |line: String| {
        if json {
            errln!("{line}");
        } else {
            outln!("{line}");
        }
    };
    out(String::new());
    out(format!(
        "serving {} endpoints; reproduce each with real clients (Ctrl-C stops):",
        report.endpoints.len()
    ));
    for (name, ep) in &report.endpoints {
        let Some(row) = report.scenarios.iter().find(|r| &r.name == name) else {
            continue;
        };
        out(String::new());
        out(format!(
            "# {name} ({}) at {}",
            row.expected.map_or("-", |e| e.name()),
            ep.addr()
        ));
        for line in reproduce_commands(&row.scenario, &report.dir, ep.addr()) {
            out(line);
        }
    }
    out(String::new());
    out(format!(
        "ready: {} endpoints up; Ctrl-C stops them",
        report.endpoints.len()
    ));
}

/// Per scenario, what each real client was expected to say and said.
fn print_clients(report: &LabReport) {
    let colour = super::use_colour();
    let red = |text: String| {
        if colour {
            format!("\x1b[31m{text}\x1b[0m")
        } else {
            text
        }
    };
    outln!();
    outln!("real clients: {}", report.clients.join(", "));
    for s in &report.skipped_clients {
        outln!("skipped {}: {}", s.client, s.reason);
    }
    let width = report.clients.iter().map(|c| c.len()).max().unwrap_or(0);
    for row in &report.scenarios {
        if row.clients.is_empty() {
            continue;
        }
        outln!("{}", row.name);
        for c in &row.clients {
            let mark = if c.matched { "✓" } else { "✗" };
            let name = |o: Option<certlab::Outcome>| o.map_or("-", |o| o.name()).to_string();
            let said = match &c.not_applicable {
                Some(why) => format!("n/a: {why}"),
                None if c.words.is_empty() => "(accepted)".to_string(),
                None => c.words.clone(),
            };
            let line = format!(
                "  {mark} {:width$}  expected {:20} observed {:20} {said}",
                c.client,
                name(c.expected),
                name(c.observed),
            );
            outln!("{}", if c.matched { line } else { red(line) });
        }
    }
    outln!(
        "{} of {} client cells as measured",
        report.client_cells_matched,
        report.client_cells
    );
}

/// Each client's cells as rows of its measured table.
fn print_cells(report: &LabReport) {
    for client in &report.clients {
        let file: String = client
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        outln!("// {client}: the rows of src/clients/measured/{file}.rs");
        for row in &report.scenarios {
            for c in row.clients.iter().filter(|c| &c.client == client) {
                outln!("{}", c.rust_row(&row.name));
            }
        }
    }
}

/// `certlab lab --rotation` / `--revocation`: the drills of `certlab::lab::rotation` and
/// `certlab::lab::revocation`.
mod drill {
    use certlab::clients::Client;
    use certlab::lab::drill::{DrillClients, DrillError, DrillServer};
    use certlab::lab::revocation::{RevocationOptions, run_revocation};
    use certlab::lab::rotation::{RotationOptions, run_rotation};

    use super::super::{
        CmdResult, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_OUTCOME, Failure, ProcessExitCode,
    };
    use super::Args;

    impl ProcessExitCode for DrillError {
        fn process_exit_code(&self) -> u8 {
            match self {
                DrillError::Client(certlab::lab::clients::ClientRunError::NotInstalled {
                    ..
                }) => EXIT_INPUT,
                _ => EXIT_INTERNAL,
            }
        }
    }

    pub(super) fn run(args: &Args, list: Vec<Client>, skip_missing: bool) -> CmdResult {
        let clients = DrillClients { list, skip_missing };
        let server = if args.serve_process {
            let exe = std::env::current_exe()
                .map_err(|e| Failure::internal(format!("cannot find certlab itself: {e}")))?;
            DrillServer::Process(exe)
        } else {
            DrillServer::InProcess
        };
        if !clients.list.is_empty() {
            // A client may close its stdin pipe before reading it (see the lab).
            #[cfg(unix)]
            // SAFETY: setting one signal's disposition before the drill starts any thread.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            }
        }
        let (json, text, matched) = if args.rotation {
            let report = run_rotation(&RotationOptions {
                clients,
                server,
                keep: args.keep.clone(),
                ..RotationOptions::default()
            })?;
            (
                serde_json::to_value(&report).expect("serialisable"),
                report.text(),
                report.all_matched(),
            )
        } else {
            let report = run_revocation(&RevocationOptions {
                clients,
                server,
                keep: args.keep.clone(),
            })?;
            (
                serde_json::to_value(&report).expect("serialisable"),
                report.text(),
                report.all_matched(),
            )
        };
        if args.json {
            super::print_json(&json);
        } else {
            out!("{text}");
        }
        Ok(if matched { EXIT_OK } else { EXIT_OUTCOME })
    }
}
