//! `certlab check`: validate a chain offline and name the outcome (issue 3).

use std::path::PathBuf;

use certlab::Outcome;
use certlab::clients::Client;
use certlab::pem;
use certlab::verify::check::{self, CheckOptions, CheckReport, DEFAULT_WARN_DAYS, PkiCheckReport};
use certlab::verify::classify::Usage;

use super::{
    CmdResult, EXIT_OK, EXIT_OUTCOME, Failure, NowArg, print_json, relative_expiry, rfc3339,
    use_colour,
};

/// `--usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageArg {
    /// A TLS server certificate (serverAuth).
    Server,
    /// A TLS client certificate (clientAuth).
    Client,
}

/// Arguments of `certlab check`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Validate at this time (RFC 3339) instead of now")))]
#[command(after_help = "Examples:
  certlab check server.chain.pem --ca ca.pem --host api.internal
  certlab check pki/localhost.chain.pem --pki pki --host 127.0.0.1
  certlab check client.pem --ca ca.pem --usage client
  certlab check lab/expired.chain.pem --pki lab --expect expired    # exit 0: as expected
  certlab check chain.pem --ca ca.pem --host api.internal --client python3.13   # as Python >= 3.13 sees it
  certlab check --pki pki --warn-days 30                            # every certificate of the PKI (CI guard)
  certlab check --pki pki --warn 90s --now 2030-01-01T00:00:00Z     # short-lived certificates

Exit codes: 0 ok (or the --expect outcome), 1 any other outcome (with --client: that client's) or a --warn-days/--warn warning, 2 bad input.")]
pub struct Args {
    /// The certificate or chain to check (PEM, leaf first, or one DER certificate). Without it,
    /// `--pki` checks every certificate of the PKI.
    #[arg(value_name = "CERT_OR_CHAIN")]
    pub cert: Option<PathBuf>,
    /// Trust bundle: the roots a client trusts (PEM).
    #[arg(long, value_name = "BUNDLE.pem", conflicts_with = "pki")]
    pub ca: Option<PathBuf>,
    /// A certlab PKI directory: trusts its ca.pem, knows its intermediates and CRLs.
    #[arg(long, value_name = "DIR")]
    pub pki: Option<PathBuf>,
    /// The DNS name or IP address the client connects to (no name check without it).
    #[arg(long, value_name = "NAME_OR_IP")]
    pub host: Option<String>,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "server")]
    pub usage: UsageArg,
    #[command(flatten)]
    pub now: NowArg,
    /// A CRL (PEM or DER) to check the leaf against; repeatable.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// The outcome you expect: exit 0 when it is the one observed, 1 otherwise.
    #[arg(long, value_name = "OUTCOME")]
    pub expect: Option<String>,
    /// Warn about certificates expiring within N days, and exit 1 when one does.
    #[arg(long, value_name = "N", conflicts_with = "warn")]
    pub warn_days: Option<u32>,
    /// Like --warn-days, with a unit: 90s, 5m, 12h, 30d.
    #[arg(long, value_name = "DURATION")]
    pub warn: Option<String>,
    /// Print JSON (`{"version": 1, "outcome", ...}`).
    #[arg(long)]
    pub json: bool,
    /// Judge as this client family would (curl, openssl, python, python3.13, gnutls, go,
    /// node, rustls, ...): its outcome, its words, its exit; the exit code follows it.
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
}

/// Runs `certlab check`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.or_clock();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let expect = args
        .expect
        .as_deref()
        .map(str::parse::<Outcome>)
        .transpose()
        .map_err(|e| Failure::input(format!("--expect: {e}")))?;
    let client = args
        .client
        .as_deref()
        .map(str::parse::<Client>)
        .transpose()
        .map_err(|e| Failure::input(format!("--client: {e}")))?;
    let warn = match &args.warn {
        Some(text) => {
            let d = certlab::pki::spec::parse_duration(text)
                .map_err(|e| Failure::input(format!("--warn: {e}")))?;
            if d < time::Duration::ZERO {
                return Err(Failure::input(format!("--warn `{text}` is negative")));
            }
            Some(d)
        }
        None => args.warn_days.map(|d| time::Duration::days(i64::from(d))),
    };
    let window = warn.unwrap_or(time::Duration::days(DEFAULT_WARN_DAYS));
    if let (None, None, Some(dir)) = (&args.cert, &args.ca, &args.pki) {
        if expect.is_some() || args.host.is_some() || client.is_some() {
            return Err(Failure::input(
                "--expect, --host and --client need a certificate to check",
            ));
        }
        let mut crls = Vec::new();
        for crl in &args.crl {
            crls.extend(pem::read_crls(crl)?);
        }
        let report = check::check_pki_dir(dir, crls, now, window)?;
        if args.json {
            print_json(&serde_json::to_value(&report).expect("serialisable"));
        } else {
            print_pki_report(&report);
        }
        return Ok(if report.passed() {
            EXIT_OK
        } else {
            EXIT_OUTCOME
        });
    }
    let (mut trust, pki) = match (&args.ca, &args.pki) {
        (Some(ca), None) => (check::trust_from_ca_file(ca)?, None),
        (None, Some(dir)) => {
            super::require_pki_dir(dir)?;
            let (trust, pki) = check::trust_from_pki(dir)?;
            (trust, Some(pki))
        }
        _ => {
            return Err(Failure::input(
                "no trust given: use --ca BUNDLE.pem (the roots to trust) or --pki DIR (a certlab PKI directory)",
            ));
        }
    };
    for crl in &args.crl {
        trust.crls.extend(pem::read_crls(crl)?);
    }

    let Some(cert) = &args.cert else {
        let Some(pki) = pki else {
            return Err(Failure::input(
                "no certificate given: certlab check CERT_OR_CHAIN.pem --ca BUNDLE.pem (or --pki DIR alone to check every certificate of a PKI)",
            ));
        };
        if expect.is_some() || args.host.is_some() || client.is_some() {
            return Err(Failure::input(
                "--expect, --host and --client need a certificate to check",
            ));
        }
        let report = check::check_pki_within(&pki, &trust, now, window);
        if args.json {
            print_json(&serde_json::to_value(&report).expect("serialisable"));
        } else {
            print_pki_report(&report);
        }
        return Ok(if report.passed() {
            EXIT_OK
        } else {
            EXIT_OUTCOME
        });
    };

    let chain = pem::read_certs(cert)?;
    let options = CheckOptions {
        trust,
        host: args.host.clone(),
        usage: match args.usage {
            UsageArg::Server => Usage::Server,
            UsageArg::Client => Usage::Client,
        },
        now,
        warn_days: None,
        warn,
        expect,
        client,
    };
    let report = check::check(&chain, &options)?;
    if args.json {
        print_json(&serde_json::to_value(&report).expect("serialisable"));
    } else {
        print_report(&report);
    }
    Ok(if report.passed() {
        EXIT_OK
    } else {
        EXIT_OUTCOME
    })
}

fn row(label: &str, value: impl std::fmt::Display) {
    println!("{label:<12} {value}");
}

/// The outcome's name, green or red on a terminal (never with `NO_COLOR`).
fn coloured(outcome: Outcome) -> String {
    if !use_colour() {
        outcome.name().to_string()
    } else if outcome.is_ok() {
        format!("\x1b[32m{outcome}\x1b[0m")
    } else {
        format!("\x1b[31m{outcome}\x1b[0m")
    }
}

fn print_report(r: &CheckReport) {
    row("outcome", coloured(r.outcome));
    row("meaning", r.explanation);
    if let Some(d) = &r.detail {
        row("detail", d);
    }
    if !r.outcome.is_ok() {
        row("clients say", r.client_says);
        row("fix", &r.fix);
    }
    row(
        "checked",
        format!(
            "{} certificate{} at {}",
            r.usage,
            match &r.host {
                Some(h) => format!(" for {h}"),
                None => " (no name given: no name check)".to_string(),
            },
            rfc3339(r.now)
        ),
    );
    println!("chain");
    for (i, c) in r.chain.iter().enumerate() {
        println!("  {i} {}", c.subject);
        println!("      issuer  {}", c.issuer);
        if !c.sans.is_empty() {
            println!("      SANs    {}", c.sans.join(", "));
        }
        println!(
            "      valid   {} to {} ({})",
            rfc3339(c.not_before),
            rfc3339(c.not_after),
            relative_expiry(c.not_after, r.now)
        );
        println!("      sha256  {}", c.sha256);
    }
    if !r.lints.is_empty() {
        println!("warnings");
        for w in &r.lints {
            println!("  {w}");
        }
    }
    let lines = r.disagreements();
    if !lines.is_empty() {
        println!("clients");
        for l in &lines {
            println!("  {l}");
        }
        for hit in &r.rules {
            println!("  fix {}: {}", hit.rule, hit.rule.fix());
        }
    }
    let mut observed = r.outcome;
    if let Some(v) = r.client_verdict() {
        observed = v.outcome;
        row("client", format!("{} ({})", v.client, v.library));
        row("  outcome", coloured(v.outcome));
        if !v.words.is_empty() {
            row("  says", &v.words);
        }
        let exit = match v.exit {
            Some(code) => code.to_string(),
            None => "unknown (not run here)".to_string(),
        };
        row("  exit", exit);
        let basis = match v.basis {
            "rule" => "measured: it rejects chains that break this rule",
            "as-rustls" => "measured: it accepts every rule this chain breaks; otherwise as rustls",
            "cn-fallback" => {
                "measured (lab scenario cn-only): it accepts a name found only in the subject CN"
            }
            "as-openssl" => {
                "measured with openssl and curl: a check certlab adds beyond rustls-webpki"
            }
            "not-measured" => "not measured for a rule this chain breaks; shown as certlab says",
            "rustls" if r.judgement.outcome != v.outcome => {
                "plain rustls-webpki (certlab checks more, as OpenSSL does)"
            }
            _ => "certlab's own verifier",
        };
        row("  basis", basis);
    }
    if let Some(expected) = r.expected {
        if expected == observed {
            row("expected", format!("{expected}: as expected"));
        } else {
            row("expected", format!("{expected}, but got {observed}"));
        }
    }
}

fn print_pki_report(r: &PkiCheckReport) {
    let width = r.entities.iter().map(|e| e.name.len()).max().unwrap_or(4);
    for e in &r.entities {
        let mut line = format!(
            "{:<width$}  {:<13} {:<18} {}",
            e.name,
            e.role.name(),
            e.outcome.name(),
            relative_expiry(e.not_after, r.now)
        );
        if let Some(d) = &e.detail {
            line.push_str(&format!("  ({d})"));
        }
        println!("{line}");
        for w in &e.warnings {
            println!("{:<width$}  warning: {w}", "");
        }
    }
    for p in &r.problems {
        println!("problem: {p}");
    }
    println!(
        "{} checked, {} failed (not ok or expiring within {}), {} skipped (faults on purpose), {} problems in the directory",
        r.entities.len(),
        r.failed,
        certlab::verify::inspect::window_text(time::Duration::seconds(r.warn_seconds)),
        r.skipped.len(),
        r.problems.len()
    );
}
