//! `certlab trust install|uninstall|status`: put a PKI's roots into trust stores (like
//! `mkcert -install`), take them out, or tell whether they are there.

use std::path::PathBuf;

use certlab::pki::local_ca::default_ca_dir;
use certlab::pki::manifest::CA_BUNDLE_FILE;
use certlab::trust::{self, Target, TrustOptions};

use super::{CmdResult, EXIT_OK, EXIT_OUTCOME, Failure};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Add the CA to the stores.
    Install,
    /// Remove it from the stores.
    Uninstall,
    /// Tell whether it is there (exit 1 when not everywhere).
    Status,
}

/// Arguments of `certlab trust`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sudo certlab trust install --pki pki                # system store (Debian: update-ca-certificates)
  certlab trust install --ca-dir ~/.local/share/certlab --nss ~/.mozilla/firefox/xyz.default
  certlab trust install --pki pki --bundle ~/certs/dev-bundle.pem   # then SSL_CERT_FILE=... / NODE_EXTRA_CA_CERTS=...
  certlab trust status --pki pki
  certlab trust install --pki pki --dry-run           # print the steps, change nothing
  sudo certlab trust uninstall --pki pki              # undo
Without --system/--nss/--bundle the system store is used. macOS and Windows: the manual steps are printed.")]
pub struct Args {
    /// install, uninstall or status.
    #[arg(value_enum)]
    pub action: Action,
    /// Trust the roots of this PKI directory (its ca.pem).
    #[arg(long, conflicts_with_all = ["ca_dir", "ca_cert"])]
    pub pki: Option<PathBuf>,
    /// Trust the CA of `certlab cert` in this directory (default: $CERTLAB_CAROOT, else
    /// ~/.local/share/certlab).
    #[arg(long, conflicts_with = "ca_cert")]
    pub ca_dir: Option<PathBuf>,
    /// Trust the certificates of this PEM file.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// The system store (the default when no store is named).
    #[arg(long)]
    pub system: bool,
    /// An NSS database directory (Firefox profile, ~/.pki/nssdb); repeatable.
    #[arg(long)]
    pub nss: Vec<PathBuf>,
    /// A PEM bundle file (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS); repeatable.
    #[arg(long)]
    pub bundle: Vec<PathBuf>,
    /// Filesystem prefix for the system store (for tests and images).
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
    /// Print the steps, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (`{"version": 1, ...}`) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `certlab trust`.
pub fn run(args: Args) -> CmdResult {
    let (ca_file, how) = match (&args.pki, &args.ca_dir, &args.ca_cert) {
        (Some(dir), _, _) => (dir.join(CA_BUNDLE_FILE), format!("--pki {}", dir.display())),
        (_, _, Some(file)) => (file.clone(), format!("--ca-cert {}", file.display())),
        (_, dir, _) => {
            let dir = dir
                .clone()
                .or_else(default_ca_dir)
                .ok_or_else(|| Failure::input("no CA: give --pki, --ca-dir or --ca-cert"))?;
            (
                dir.join(CA_BUNDLE_FILE),
                format!("--ca-dir {}", dir.display()),
            )
        }
    };
    if !ca_file.exists() {
        return Err(Failure::input(format!(
            "{}: no such file (generate a PKI first: certlab generate, or certlab cert NAME)",
            ca_file.display()
        )));
    }
    // A seeded PKI's keys are known to whoever has the seed: never trust it system-wide.
    let pki_dir = ca_file.parent().unwrap_or(std::path::Path::new("."));
    if args.action == Action::Install && certlab::pki::manifest::is_seeded_dir(pki_dir) {
        return Err(Failure::input(format!(
            "{}: refusing to install a seeded PKI's CA: its keys derive from a seed, and whoever has the seed has them (seeded PKIs are for tests only; generate one without --seed to trust it)",
            ca_file.display()
        )));
    }
    let cas = trust::read_cas(&ca_file)?;
    let mut targets: Vec<Target> = Vec::new();
    if args.system || (args.nss.is_empty() && args.bundle.is_empty()) {
        targets.push(Target::System);
    }
    targets.extend(args.nss.iter().cloned().map(Target::Nss));
    targets.extend(args.bundle.iter().cloned().map(Target::Bundle));
    let opts = TrustOptions {
        root: args.root.clone(),
        dry_run: args.dry_run,
    };
    let mut store_flags = String::new();
    if targets.contains(&Target::System)
        && (args.system || !args.nss.is_empty() || !args.bundle.is_empty())
    {
        store_flags.push_str(" --system");
    }
    for d in &args.nss {
        store_flags.push_str(&format!(" --nss {}", d.display()));
    }
    for b in &args.bundle {
        store_flags.push_str(&format!(" --bundle {}", b.display()));
    }
    if args.root != std::path::Path::new("/") {
        store_flags.push_str(&format!(" --root {}", args.root.display()));
    }

    match args.action {
        Action::Status => {
            let statuses = trust::status(&cas, &targets, &opts);
            let all = statuses.iter().all(|s| s.installed);
            let code = if all { EXIT_OK } else { EXIT_OUTCOME };
            if args.json {
                let list: Vec<_> = statuses
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "target": s.target.to_string(),
                            "subject": s.ca.subject,
                            "sha256": s.ca.sha256,
                            "installed": s.installed,
                            "detail": s.detail,
                        })
                    })
                    .collect();
                super::print_json(&serde_json::json!({
                    "version": 1,
                    "ca_file": ca_file.display().to_string(),
                    "trusted": all,
                    "statuses": list,
                }));
                return Ok(code);
            }
            for s in &statuses {
                println!(
                    "{:<13} {}  {}: {}",
                    if s.installed {
                        "trusted"
                    } else {
                        "NOT trusted"
                    },
                    s.ca.subject,
                    s.target,
                    s.detail
                );
            }
            Ok(code)
        }
        Action::Install | Action::Uninstall => {
            let install = args.action == Action::Install;
            let steps = if install {
                trust::install(&cas, &ca_file, &targets, &opts)
            } else {
                trust::uninstall(&cas, &ca_file, &targets, &opts)
            }?;
            let verb = match (install, args.dry_run) {
                (true, false) => "installed",
                (true, true) => "would install",
                (false, false) => "uninstalled",
                (false, true) => "would uninstall",
            };
            let subjects: Vec<_> = cas.iter().map(|c| c.subject.as_str()).collect();
            if args.json {
                let list: Vec<_> = steps
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "target": s.target.to_string(),
                            "done": s.done,
                            "undo": s.undo,
                            "manual": s.manual,
                        })
                    })
                    .collect();
                super::print_json(&serde_json::json!({
                    "version": 1,
                    "action": if install { "install" } else { "uninstall" },
                    "dry_run": args.dry_run,
                    "ca_file": ca_file.display().to_string(),
                    "subjects": subjects,
                    "steps": list,
                    "undo": format!(
                        "certlab trust {} {how}{store_flags}",
                        if install { "uninstall" } else { "install" }
                    ),
                }));
                return Ok(EXIT_OK);
            }
            if steps.is_empty() {
                println!(
                    "nothing to do: {} is not in those stores",
                    subjects.join(", ")
                );
                return Ok(EXIT_OK);
            }
            println!("{verb} {} ({}):", subjects.join(", "), ca_file.display());
            for s in &steps {
                println!("  {}: {}", s.target, s.done);
            }
            if args.dry_run {
                println!("dry run: nothing was changed");
            } else if install {
                println!("undo: certlab trust uninstall {how}{store_flags}");
                for s in steps.iter().filter(|s| !s.undo.is_empty() && !s.manual) {
                    println!("  by hand: {}", s.undo);
                }
                if steps
                    .iter()
                    .any(|s| s.target == Target::System && !s.manual)
                {
                    println!(
                        "note: browsers that keep their own store (Firefox) need --nss PROFILE_DIR"
                    );
                }
            } else {
                println!("undo: certlab trust install {how}{store_flags}");
            }
            Ok(EXIT_OK)
        }
    }
}
