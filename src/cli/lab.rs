//! `certlab lab`: build every scenario, serve each, probe each, and show expected vs observed.

use std::path::PathBuf;

use certlab::lab::{LabOptions, LabReport, run as run_lab};
use certlab::pki::model::Expectation;
use certlab::render::reproduce::reproduce_commands;

use super::{CmdResult, EXIT_OK, EXIT_OUTCOME, NowArg};

/// Arguments of `certlab lab`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Issue and check certificates at this time (RFC 3339) instead of now, on the probes' and the servers' side")))]
#[command(after_help = "Examples:
  certlab lab                                   # every scenario, expected vs observed
  certlab lab --only expired,client-none --serve  # keep them up, print openssl/curl/OTEL lines
  certlab lab --keep lab-pki --json")]
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
}

/// Runs `certlab lab`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.given();
    let options = LabOptions {
        now,
        only: args.only.iter().map(|s| s.trim().to_string()).collect(),
        keep: args.keep.clone(),
        keep_serving: args.serve,
        timeout: super::probe::parse_timeout(&args.timeout)?,
        ..LabOptions::default()
    };
    let report = run_lab(&options)?;
    if args.json {
        super::print_json(&serde_json::to_value(&report).expect("serialisable"));
    } else {
        print_table(&report);
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
    println!(
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
        println!(
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
            println!("    {d}");
        }
    }
    let dir = if report.temporary && report.endpoints.is_empty() {
        " (PKI in a temporary directory; --keep DIR keeps it)".to_string()
    } else {
        format!(" (PKI in {})", report.dir.display())
    };
    println!(
        "{} of {} scenarios as expected in {:.0} ms{dir}",
        report.matched, report.total, report.elapsed_ms
    );
}

fn print_reproduce(report: &LabReport, json: bool) {
    // With --json, stdout holds only the JSON document; the commands go to stderr.
    let out = |line: String| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
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
