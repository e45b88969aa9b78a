//! `certlab probe HOST:PORT`: connect, handshake, name the outcome, show the evidence and the
//! fix.

use std::path::PathBuf;
use std::time::Duration;

use certlab::Outcome;
use certlab::pem;
use certlab::tls::TlsVersion;
use certlab::verify::check;
use certlab::verify::classify::TrustStore;
use certlab::verify::probe::{ProbeOptions, ProbeReport, probe_loading_trust};

use super::{CmdResult, EXIT_OK, EXIT_OUTCOME, Failure, NowArg};

/// Arguments of `certlab probe`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Check certificates at this time (RFC 3339) instead of now")))]
#[command(after_help = "Examples:
  certlab probe localhost:4317 --ca pki/ca.pem
  certlab probe 127.0.0.1:8443 --pki pki --servername otel-collector
  certlab probe localhost:4317 --pki pki --cert pki/client.chain.pem --key pki/client.key
  certlab probe localhost:4317 --alpn h2 --expect ok --json   # a gRPC client's view
  certlab probe example.com:443                               # system roots")]
pub struct Args {
    /// The endpoint: HOST:PORT or [IPv6]:PORT.
    pub target: String,
    /// Trust the certificates in this PEM bundle or DER certificate (default: the system's roots).
    #[arg(long, value_name = "FILE", conflicts_with = "pki")]
    pub ca: Option<PathBuf>,
    /// Trust a certlab PKI directory: its ca.pem, and its intermediates and CRLs as known
    /// (a missing intermediate it issued is reported as incomplete-chain).
    #[arg(long, value_name = "DIR")]
    pub pki: Option<PathBuf>,
    /// Check the certificate for this name (and send it as SNI) instead of the host.
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// Client certificate (chain, leaf first) to send when the server asks.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Allow only this TLS version: 1.2 or 1.3.
    #[arg(long, value_name = "VERSION")]
    pub tls: Option<TlsVersion>,
    /// Offer only these cipher suites (rustls names, comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub ciphers: Vec<String>,
    /// Offer these ALPN protocols (comma-separated); a handshake that negotiates none is
    /// alpn-mismatch, as a gRPC client that offers h2 sees it.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub alpn: Vec<String>,
    /// Check revocation against the CRLs in this file (PEM, every block; or DER); repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Budget for connect plus handshake, e.g. 5s or 300ms.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub timeout: String,
    /// Exit 0 when the outcome is this one (and 1 otherwise).
    #[arg(long, value_name = "OUTCOME")]
    pub expect: Option<String>,
    #[command(flatten)]
    pub now: NowArg,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `certlab probe …` alone: the command line parser of [`super::Cli`] with only the `probe`
/// subcommand. Building every subcommand's arguments took ~0.45 ms of each probe process
/// (measured with uprobes, of a ~4.5 ms probe); this parser builds only probe's. Its help,
/// usage and error texts are the whole parser's (tested against it).
#[derive(Debug, clap::Parser)]
#[command(name = "certlab", version, about, long_about = None)]
struct ProbeOnly {
    /// Print nothing on stdout: the exit code says it all (errors still go to stderr).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    /// What to do.
    #[command(subcommand)]
    command: ProbeCommand,
}

/// The one subcommand of [`ProbeOnly`].
#[derive(Debug, clap::Subcommand)]
enum ProbeCommand {
    /// Probe a live endpoint and name the outcome.
    Probe(Args),
}

/// Parses the command line with [`ProbeOnly`] when its first argument is `probe`; `None` for
/// any other command line (the whole parser then parses it).
pub fn parse_probe_only() -> Option<Result<super::Cli, clap::Error>> {
    if std::env::args_os().nth(1)? != "probe" {
        return None;
    }
    Some(<ProbeOnly as clap::Parser>::try_parse().map(into_cli))
}

fn into_cli(p: ProbeOnly) -> super::Cli {
    let ProbeCommand::Probe(args) = p.command;
    super::Cli {
        quiet: p.quiet,
        command: super::Command::Probe(args),
    }
}

/// Parses a duration for timeouts: `300ms`, or anything `certlab::pki::spec::parse_duration`
/// takes (`5s`, `2m`).
pub fn parse_timeout(text: &str) -> Result<Duration, Failure> {
    let t = text.trim();
    let d = if let Some(ms) = t.strip_suffix("ms") {
        ms.parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("invalid duration `{text}`: expected e.g. 300ms or 5s"))
    } else {
        certlab::pki::spec::parse_duration(t).and_then(|d| {
            u64::try_from(d.whole_seconds())
                .map(Duration::from_secs)
                .map_err(|_| format!("invalid duration `{text}`: must not be negative"))
        })
    }
    .map_err(Failure::input)?;
    if d.is_zero() {
        return Err(Failure::input(format!(
            "invalid --timeout `{text}`: must be more than zero"
        )));
    }
    Ok(d)
}

/// The trust store of `--ca` / `--pki` (with `--crl`s), or `None` for the system roots.
fn trust(args: &Args) -> Result<Option<TrustStore>, Failure> {
    let mut store = if let Some(dir) = &args.pki {
        super::require_pki_dir(dir)?;
        Some(check::trust_store_from_pki(dir)?)
    } else if let Some(ca) = &args.ca {
        Some(check::trust_from_ca_file(ca)?)
    } else {
        None
    };
    if !args.crl.is_empty() {
        let Some(s) = store.as_mut() else {
            return Err(Failure::input(
                "--crl needs --ca or --pki (the system roots come without CRLs)",
            ));
        };
        for path in &args.crl {
            s.crls.extend(pem::read_crls(path)?);
        }
    }
    Ok(store)
}

/// Runs `certlab probe`. With `--json`, a probe that cannot run (bad target, a name that does
/// not resolve, unusable client settings) prints a JSON document too:
/// `{"version": 1, "target", "outcome": null, "error", "exit_code"}`.
pub fn run(args: Args) -> CmdResult {
    let json = args.json;
    let target = args.target.clone();
    let result = run_probe(args);
    if json && let Err(f) = &result {
        super::print_json(&serde_json::json!({
            "version": certlab::verify::REPORT_VERSION,
            "target": target,
            "outcome": null,
            "error": f.message,
            "exit_code": f.code,
        }));
    }
    result
}

fn run_probe(args: Args) -> CmdResult {
    let expect = args
        .expect
        .as_deref()
        .map(str::parse::<Outcome>)
        .transpose()
        .map_err(Failure::input)?;
    let timeout = parse_timeout(&args.timeout)?;
    let now = args.now.given();
    let client_cert = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let chain = pem::read_certs(cert)?;
            let bytes = pem::read(key)?;
            let key = certlab::pki::export::read_key(&bytes, None)
                .map_err(|e| Failure::input(format!("{}: {e}", key.display())))?;
            Some((chain, key.to_private_key_der()))
        }
        _ => None,
    };
    let options = ProbeOptions {
        // Read while the ClientHello is on its way (`probe_loading_trust`).
        trust: None,
        servername: args.servername.clone(),
        client_cert,
        tls: args.tls,
        ciphers: args.ciphers.clone(),
        require_alpn: !args.alpn.is_empty(),
        alpn: args.alpn.clone(),
        timeout,
        now,
        ..ProbeOptions::default()
    };
    let report = probe_loading_trust(&args.target, &options, || trust(&args))?;
    if args.json {
        super::print_json(&serde_json::to_value(&report).expect("serialisable"));
    } else {
        print_text(&report, expect);
    }
    let good = match expect {
        Some(e) => report.outcome == e,
        None => report.outcome == Outcome::Ok,
    };
    Ok(if good { EXIT_OK } else { EXIT_OUTCOME })
}

/// Prints a report for people.
pub fn print_text(report: &ProbeReport, expect: Option<Outcome>) {
    print!("{}", report.text(expect, super::use_colour()));
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// What a parser makes of a command line: the parsed command (Debug) or the error's kind
    /// and text (help and version output are errors in clap).
    fn outcome(cmd: clap::Command, argv: &[&str]) -> String {
        match cmd.try_get_matches_from(argv) {
            Ok(m) => format!(
                "{:?}",
                super::super::Cli::from_arg_matches(&m).expect("a Cli")
            ),
            Err(e) => format!("{:?}: {}", e.kind(), e.render()),
        }
    }

    #[test]
    fn probe_only_parser_says_what_the_whole_parser_says() {
        let lines: &[&[&str]] = &[
            &["certlab", "probe"],
            &["certlab", "probe", "--help"],
            &["certlab", "probe", "-h"],
            &["certlab", "probe", "--version"],
            &["certlab", "probe", "localhost:1", "--bogus"],
            &["certlab", "probe", "localhost:1", "--ca"],
            &[
                "certlab",
                "probe",
                "localhost:1",
                "--ca",
                "a.pem",
                "--pki",
                "d",
            ],
            &["certlab", "probe", "localhost:1", "--cert", "c.pem"],
            &["certlab", "probe", "localhost:1", "--tls", "1.1"],
            &["certlab", "probe", "localhost:1", "--now", "tomorrow"],
            &["certlab", "probe", "localhost:1", "a", "b"],
            &[
                "certlab",
                "probe",
                "localhost:1",
                "-q",
                "--ca",
                "a.pem",
                "--servername",
                "x",
                "--alpn",
                "h2,http/1.1",
                "--crl",
                "c1",
                "--crl",
                "c2",
                "--json",
                "--expect",
                "expired",
                "--now",
                "2030-01-01T00:00:00Z",
            ],
        ];
        for argv in lines {
            let whole = outcome(super::super::Cli::command(), argv);
            let alone = outcome(ProbeOnly::command(), argv);
            assert_eq!(alone, whole, "{argv:?}");
        }
        // And the parsed command is the whole parser's, field for field.
        let m = ProbeOnly::command()
            .try_get_matches_from(["certlab", "probe", "[::1]:4317", "--quiet"])
            .unwrap();
        let cli = into_cli(ProbeOnly::from_arg_matches(&m).unwrap());
        assert!(cli.quiet);
        assert!(
            matches!(&cli.command, super::super::Command::Probe(a) if a.target == "[::1]:4317")
        );
    }
}
