//! `certlab explain`: a client's error message → outcome, explanation, fix, and the lab scenario
//! that reproduces it.

use std::io::{IsTerminal, Read};

use certlab::explain::{self, Explained, Pattern};
use serde_json::json;

use super::{CmdResult, EXIT_OK, EXIT_OUTCOME, Failure, print_json, use_colour};

/// Arguments of `certlab explain`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The message may be given as arguments (quoted or not) or on stdin. Known
clients: OpenSSL, curl (and its exit codes), Python ssl, gRPC (BoringSSL), GnuTLS, Go, rustls,
Java (JSSE and CertPathValidatorException reasons), Node.js. When a message carries a generic
head and a specific reason, the reason decides; the client is named when the message's form
tells (`curl: (60)`, `[SSL: ...] (_ssl.c:N)`, `javax.net.ssl...`, `*** Fatal error`, ...).

Exit codes: 0 the message is known, 1 it is not (the closest known messages are listed),
2 no message or bad usage.

Examples:
  certlab explain \"x509: certificate signed by unknown authority\"
  certlab explain 'curl: (60) SSL certificate problem: certificate has expired'
  my-client 2>&1 | certlab explain
  certlab explain --json \"PKIX path building failed\""
)]
pub struct Args {
    /// The error message (words are joined with spaces); read from stdin when absent.
    pub message: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `certlab explain`.
pub fn run(args: Args) -> CmdResult {
    let message = if args.message.is_empty() {
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(Failure::input(
                "no message: give it as an argument, e.g. certlab explain \"certificate has expired\", or on stdin",
            ));
        }
        // A log in another encoding (Latin-1 ...) is still explained: the error words are ASCII.
        let mut bytes = Vec::new();
        stdin
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::input(format!("cannot read stdin: {e}")))?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        args.message.join(" ")
    };
    let message = message.trim();
    if message.is_empty() {
        return Err(Failure::input("the message is empty"));
    }
    match explain::explain(message) {
        Explained::Known(pattern) => {
            if args.json {
                print_json(&known_json(message, pattern));
            } else {
                print_known(message, pattern);
            }
            Ok(EXIT_OK)
        }
        Explained::Unknown(candidates) => {
            if args.json {
                let list: Vec<_> = candidates
                    .iter()
                    .map(|c| {
                        json!({
                            "pattern": c.pattern.pattern,
                            "client": c.pattern.client,
                            "outcome": c.pattern.outcome,
                            "score": (c.score * 100.0).round() / 100.0,
                        })
                    })
                    .collect();
                print_json(&json!({
                    "version": 1,
                    "message": message,
                    "known": false,
                    "candidates": list,
                }));
            } else {
                println!("unknown message: certlab has no pattern for it");
                if candidates.is_empty() {
                    println!("no known message shares a word with it");
                } else {
                    println!("closest known messages:");
                    for c in &candidates {
                        println!(
                            "  {:<8} {:<56} -> {}",
                            c.pattern.client,
                            format!("\"{}\"", c.pattern.pattern),
                            c.pattern.outcome
                        );
                    }
                }
            }
            Ok(EXIT_OUTCOME)
        }
    }
}

fn known_json(message: &str, p: &Pattern) -> serde_json::Value {
    let reproduce: Vec<_> = explain::lab_scenarios(p.outcome)
        .into_iter()
        .map(|s| json!({"scenario": s, "command": explain::reproduce_command(&s)}))
        .collect();
    let recognised = explain::recognise(message);
    json!({
        "recognised_client": recognised.map(|c| c.name()),
        "recognised_library": recognised.map(|c| c.library()),
        "version": 1,
        "message": message,
        "known": true,
        "outcome": p.outcome,
        "explanation": p.outcome.explanation(),
        "fix": p.outcome.fix(),
        "client": p.client,
        "pattern": p.pattern,
        "note": p.note,
        "also": p.also,
        "reproduce": reproduce,
    })
}

fn print_known(message: &str, p: &Pattern) {
    let outcome = if use_colour() {
        format!("\x1b[1m{}\x1b[0m", p.outcome)
    } else {
        p.outcome.to_string()
    };
    println!("outcome      {outcome}: {}", p.outcome.explanation());
    if let Some(client) = explain::recognise(message) {
        println!("client       {client} ({})", client.library());
    }
    println!("matched      {} says \"{}\"", p.client, p.pattern);
    if !p.note.is_empty() {
        println!("note         {}", p.note);
    }
    println!("fix          {}", p.outcome.fix());
    if !p.also.is_empty() {
        let also: Vec<_> = p.also.iter().map(|o| o.name()).collect();
        println!("could also   {}", also.join(", "));
    }
    let scenarios = explain::lab_scenarios(p.outcome);
    match scenarios.split_first() {
        None => println!("reproduce    no lab scenario makes this outcome"),
        Some((first, rest)) => {
            println!("reproduce    {}", explain::reproduce_command(first));
            for s in rest {
                println!("             {}", explain::reproduce_command(s));
            }
        }
    }
}
