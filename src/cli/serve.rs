//! `certlab serve`: serve a scenario of a PKI, every scenario, or certificate files on live TLS
//! endpoints until Ctrl-C / SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use certlab::serve::{
    ConnectionLog, Endpoint, LineLog, ReloadEvent, ReloadObserver, ReloadSource, ServeSettings,
};
use certlab::tls::{ClientAuth, TlsVersion};

use super::{CmdResult, EXIT_OK, Failure, NowArg};

/// How long the last log lines may take at exit (stderr may be a pipe nobody reads).
const LOG_CLOSE_WAIT: Duration = Duration::from_millis(300);

/// Arguments of `certlab serve`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Judge client certificates at this time (RFC 3339), e.g. the `--now` a PKI was generated with")))]
#[command(after_help = "Examples:
  certlab serve --pki pki --scenario localhost          # first line: listening on 127.0.0.1:PORT
  certlab serve --pki lab --all --json                  # every scenario, each on its own port
  certlab serve --cert pki/localhost.chain.pem --key pki/localhost.key --client-ca pki/ca.pem
  certlab serve --cert chain.pem --key key.pem --tls 1.2 --alpn http/1.1
  certlab serve --plaintext --listen 127.0.0.1:4317     # a port without TLS (clients see not-tls)
  certlab serve --cert chain.pem --key key.pem --reload # renewed files reach new connections
                                                        # (stderr: reloaded: serial OLD -> NEW)")]
pub struct Args {
    /// A PKI directory written by `certlab generate`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["cert", "key"])]
    pub pki: Option<PathBuf>,
    /// The scenario of the PKI to serve (a scenario name or a server entity's name).
    #[arg(long, value_name = "NAME", requires = "pki", conflicts_with = "all")]
    pub scenario: Option<String>,
    /// Serve every scenario of the PKI, each on its own port.
    #[arg(long, requires = "pki")]
    pub all: bool,
    /// The chain to present (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of the leaf (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates must chain to; alone it makes client
    /// certificates required.
    #[arg(long, value_name = "FILE", conflicts_with = "pki")]
    pub client_ca: Option<PathBuf>,
    /// Whether client certificates are required or optional (needs --client-ca).
    #[arg(long, value_name = "MODE", value_parser = ["required", "optional"], requires = "client_ca")]
    pub client_auth: Option<String>,
    /// Restrict the server to one TLS version: 1.2 or 1.3.
    #[arg(long, value_name = "VERSION", conflicts_with = "pki")]
    pub tls: Option<TlsVersion>,
    /// Comma-separated rustls cipher-suite names, e.g. TLS13_AES_256_GCM_SHA384.
    #[arg(long, value_name = "LIST", conflicts_with = "pki")]
    pub ciphers: Option<String>,
    /// Comma-separated ALPN protocols in preference order (default: http/1.1,h2; "" for none).
    #[arg(long, value_name = "LIST", conflicts_with = "pki")]
    pub alpn: Option<String>,
    /// No TLS at all: answer anything with HTTP/1.1 400.
    #[arg(long, conflicts_with = "pki")]
    pub plaintext: bool,
    /// The name the HTTP answer gives (default: the certificate file's name).
    #[arg(long, value_name = "NAME", conflicts_with = "pki")]
    pub name: Option<String>,
    /// The address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub now: NowArg,
    /// Print the endpoints as JSON.
    #[arg(long)]
    pub json: bool,
    /// Watch the certificate, key and client-CA files (with --pki: the PKI's manifest) and
    /// present new ones to new connections; open connections keep the old ones. A
    /// half-written file or a key that does not match is refused (one log line) and the old
    /// certificate kept.
    #[arg(long)]
    pub reload: bool,
    /// How often --reload reads the files, e.g. 1s, 250ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval, requires = "reload")]
    pub reload_interval: Duration,
}

/// Parses `--reload-interval`: a number and `ms`, `s`, `m` or `h`, between 10 ms and 1 h.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let d = match t.strip_suffix("ms") {
        Some(ms) => ms
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("invalid interval `{text}`: expected e.g. 1s, 250ms or 1m"))?,
        None => {
            let d = certlab::pki::spec::parse_duration(t)?;
            Duration::try_from(d).map_err(|_| format!("invalid interval `{text}`: negative"))?
        }
    };
    if d < certlab::serve::reload::MIN_RELOAD_INTERVAL || d > Duration::from_secs(3600) {
        return Err(format!(
            "invalid interval `{text}`: expected between 10ms and 1h"
        ));
    }
    Ok(d)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The observer that logs each connection on stderr, through the logger (never blocking the
/// endpoint: a full or closed stderr drops lines and counts them).
fn printer(name: &str, log: &LineLog) -> certlab::serve::Observer {
    let name = name.to_string();
    let log = log.clone();
    Arc::new(move |conn: &ConnectionLog| {
        log.line(format!("[{name}] {conn}"));
    })
}

/// Prints a line on stdout; a reader that went away (`| head -1`) is not an error.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// Runs `certlab serve`.
pub fn run(args: Args) -> CmdResult {
    // Before anything is written: a reader of stdout or stderr that goes away must not kill
    // the server, and a SIGTERM right after the address line must stop it cleanly.
    ignore_sigpipe();
    let signals = super::signal_receiver()?;
    let log = LineLog::stderr()
        .map_err(|e| Failure::internal(format!("cannot start the logger: {e}")))?;
    // Up to MAX_CONNECTIONS sockets at a time.
    certlab::serve::raise_open_file_limit();
    if !args.listen.ip().is_loopback() {
        log.line(format!(
            "warning: listening on {}, not loopback: these certificates are broken on purpose; do not expose them",
            args.listen.ip()
        ));
    }
    let now = args.now.given();
    let endpoints = if let Some(dir) = &args.pki {
        let pki = super::load_pki(dir)?;
        let scenarios = pki.all_scenarios();
        if args.all {
            let listen = SocketAddr::new(args.listen.ip(), 0);
            let mut endpoints = Vec::new();
            let mut rows = Vec::new();
            for s in &scenarios {
                let started = match &s.serve_error {
                    Some(refusal) => Err(refusal.to_string()),
                    None => ServeSettings::from_scenario(&pki, s)
                        .and_then(|mut settings| {
                            settings.now = now;
                            certlab::serve::serve_observed(
                                settings,
                                listen,
                                Some(printer(&s.name, &log)),
                            )
                        })
                        .map_err(|e| e.to_string()),
                };
                let started = started.and_then(|mut ep| {
                    if args.reload {
                        let source = ReloadSource::Pki {
                            dir: dir.clone(),
                            scenario: s.name.clone(),
                        };
                        watch(&mut ep, source, &args, &log).map_err(|e| e.to_string())?;
                    }
                    Ok(ep)
                });
                match started {
                    Ok(ep) => {
                        rows.push((s.name.clone(), Ok(ep.addr())));
                        endpoints.push(ep);
                    }
                    Err(e) => rows.push((s.name.clone(), Err(e))),
                }
            }
            print_endpoints(&rows, args.json);
            if endpoints.is_empty() {
                return Err(Failure::internal("no scenario could be served"));
            }
            endpoints
        } else {
            let Some(name) = &args.scenario else {
                return Err(Failure::input(
                    "--pki needs --scenario NAME or --all (see `certlab serve --help`)",
                ));
            };
            let Some(scenario) = scenarios.iter().find(|s| &s.name == name) else {
                let names: Vec<_> = scenarios.iter().map(|s| s.name.as_str()).collect();
                return Err(Failure::input(format!(
                    "unknown scenario `{name}` (the PKI has: {})",
                    names.join(", ")
                )));
            };
            let mut settings = ServeSettings::from_scenario(&pki, scenario)?;
            settings.now = now;
            let source = ReloadSource::Pki {
                dir: dir.clone(),
                scenario: scenario.name.clone(),
            };
            vec![start_one(settings, source, &args, &log)?]
        }
    } else {
        let mut settings = files_settings(&args)?;
        settings.now = now;
        if args.reload && settings.plaintext {
            return Err(Failure::input(
                "--reload needs a certificate to reload (not --plaintext)",
            ));
        }
        let source = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => ReloadSource::Files {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: args.client_ca.clone(),
            },
            _ => ReloadSource::Files {
                cert: PathBuf::new(),
                key: PathBuf::new(),
                client_ca: None,
            },
        };
        vec![start_one(settings, source, &args, &log)?]
    };
    let _ = signals.recv();
    log.line("stopping");
    for ep in endpoints {
        ep.stop();
    }
    log.close(LOG_CLOSE_WAIT);
    Ok(EXIT_OK)
}

/// From the first line printed on: a reader of stdout or stderr that goes away (`2>&1 |
/// head -1`) must not kill the server; writes to it fail instead (and log lines are dropped).
fn ignore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting the disposition of one signal; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Starts watching `source` when `--reload` was given, logging every reload and refusal.
fn watch(
    ep: &mut Endpoint,
    source: ReloadSource,
    args: &Args,
    log: &LineLog,
) -> Result<(), certlab::serve::ServeError> {
    if !args.reload {
        return Ok(());
    }
    let name = ep.name().to_string();
    let log = log.clone();
    let observer: ReloadObserver = Arc::new(move |event: &ReloadEvent| {
        log.line(format!("[{name}] {event}"));
    });
    ep.watch(source, args.reload_interval, Some(observer))
}

fn start_one(
    settings: ServeSettings,
    source: ReloadSource,
    args: &Args,
    log: &LineLog,
) -> Result<Endpoint, Failure> {
    let name = settings.name.clone();
    let mut ep = certlab::serve::serve_observed(settings, args.listen, Some(printer(&name, log)))?;
    watch(&mut ep, source, args, log)?;
    if args.json {
        print_endpoints(&[(name, Ok(ep.addr()))], true);
    } else {
        ignore_sigpipe();
        say(&format!("listening on {} (scenario {name})", ep.addr()));
    }
    Ok(ep)
}

fn files_settings(args: &Args) -> Result<ServeSettings, Failure> {
    let mut settings = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let name = args.name.clone().unwrap_or_else(|| {
                let file = cert.file_name().map(|f| f.to_string_lossy().into_owned());
                let file = file.unwrap_or_else(|| "certlab".into());
                file.trim_end_matches(".pem")
                    .trim_end_matches(".chain")
                    .to_string()
            });
            ServeSettings::from_files(name, cert, key)?
        }
        _ if args.plaintext => {
            ServeSettings::plaintext(args.name.clone().unwrap_or_else(|| "plaintext".into()))
        }
        _ => {
            return Err(Failure::input(
                "nothing to serve: give --pki DIR --scenario NAME, --pki DIR --all, --cert FILE --key FILE, or --plaintext",
            ));
        }
    };
    settings.plaintext = args.plaintext;
    settings.tls = args.tls;
    if let Some(c) = &args.ciphers {
        settings.ciphers = list(c);
    }
    if let Some(a) = &args.alpn {
        settings.alpn = Some(list(a));
    }
    if let Some(ca) = &args.client_ca {
        settings.client_roots = certlab::pem::read_certs(ca)?;
        settings.client_auth = match args.client_auth.as_deref() {
            Some("optional") => ClientAuth::Optional,
            _ => ClientAuth::Required,
        };
    }
    Ok(settings)
}

fn print_endpoints(rows: &[(String, Result<SocketAddr, String>)], json: bool) {
    ignore_sigpipe();
    if json {
        let endpoints: Vec<_> = rows
            .iter()
            .map(|(name, r)| match r {
                Ok(addr) => serde_json::json!({"scenario": name, "address": addr.to_string()}),
                Err(e) => serde_json::json!({"scenario": name, "error": e}),
            })
            .collect();
        let value = serde_json::json!({"version": 1, "endpoints": endpoints});
        say(&serde_json::to_string_pretty(&value).expect("serialisable"));
        return;
    }
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(8).max(8);
    let mut text = format!("{:width$}  address", "scenario");
    for (name, r) in rows {
        match r {
            Ok(addr) => text.push_str(&format!("\n{name:width$}  {addr}")),
            Err(e) => text.push_str(&format!("\n{name:width$}  not served: {e}")),
        }
    }
    say(&text);
}
