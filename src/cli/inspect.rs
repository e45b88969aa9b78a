//! `certlab inspect`: what is in certificate and key files.

use certlab::verify::inspect::{self, CertSummary, KeySummary};

use super::{CmdResult, EXIT_OK, NowArg, print_json, relative_expiry, rfc3339};

/// Arguments of `certlab inspect`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Compute \"expires in N days\" as of this time (RFC 3339)")))]
#[command(after_help = "Examples:
  certlab inspect pki/localhost.chain.pem
  certlab inspect pki/localhost.pem pki/localhost.key   # does the key match?
  certlab inspect --json cert.der")]
pub struct Args {
    /// PEM or DER files holding certificates and/or private keys.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Print JSON (`{"version": 1, "files": [...]}`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub now: NowArg,
}

/// Runs `certlab inspect`.
pub fn run(args: Args) -> CmdResult {
    let now = args.now.or_clock();
    let report = inspect::inspect_files(&args.files, now)?;
    if args.json {
        print_json(&serde_json::to_value(&report).expect("serialisable"));
        return Ok(EXIT_OK);
    }
    let mut first = true;
    for file in &report.files {
        let count = file.certificates.len() + file.keys.len();
        for (i, c) in file.certificates.iter().enumerate() {
            if !first {
                println!();
            }
            first = false;
            let label = if count > 1 {
                format!("{} #{}", file.path, i + 1)
            } else {
                file.path.clone()
            };
            print_cert(&label, c, now);
        }
        for (i, k) in file.keys.iter().enumerate() {
            if !first {
                println!();
            }
            first = false;
            let label = if count > 1 {
                format!("{} key #{}", file.path, i + 1)
            } else {
                file.path.clone()
            };
            print_key(
                &label,
                k,
                report.files.iter().any(|f| !f.certificates.is_empty()),
            );
        }
        if file.crls > 0 {
            println!("{}: {} CRL(s) (not summarised)", file.path, file.crls);
        }
    }
    Ok(EXIT_OK)
}

fn row(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<17} {value}");
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}

fn print_cert(label: &str, c: &CertSummary, now: time::OffsetDateTime) {
    println!("{label}: certificate");
    row("subject", &c.subject);
    row("issuer", &c.issuer);
    row("serial", &c.serial);
    row(
        "valid",
        format!(
            "{} to {} ({})",
            rfc3339(c.not_before),
            rfc3339(c.not_after),
            if c.not_before > now {
                format!(
                    "not valid for {} more days",
                    (c.not_before - now).whole_days()
                )
            } else {
                relative_expiry(c.not_after, now)
            }
        ),
    );
    row("SANs", list(&c.sans));
    row("key", format!("{} ({} bits)", c.key_algorithm, c.key_bits));
    row("key usage", list(&c.key_usage));
    row("ext. key usage", list(&c.extended_key_usage));
    row(
        "CA",
        match (c.ca, c.path_len) {
            (None, _) => "no basicConstraints".to_string(),
            (Some(false), _) => "no".to_string(),
            (Some(true), None) => "yes".to_string(),
            (Some(true), Some(n)) => format!("yes, pathLen {n}"),
        },
    );
    if !c.permitted_subtrees.is_empty() || !c.excluded_subtrees.is_empty() {
        row(
            "name constraints",
            format!(
                "permitted: {}; excluded: {}",
                list(&c.permitted_subtrees),
                list(&c.excluded_subtrees)
            ),
        );
    }
    if !c.unknown_critical_extensions.is_empty() {
        row("unknown critical", list(&c.unknown_critical_extensions));
    }
    row("SKI", c.ski.as_deref().unwrap_or("-"));
    row("AKI", c.aki.as_deref().unwrap_or("-"));
    row("SHA-256", &c.sha256);
}

fn print_key(label: &str, k: &KeySummary, had_certs: bool) {
    println!("{label}: private key");
    row("format", &k.format);
    row("key", &k.key_algorithm);
    if had_certs {
        row(
            "matches",
            if k.matches.is_empty() {
                "none of the certificates given".to_string()
            } else {
                k.matches.join(", ")
            },
        );
    }
}
