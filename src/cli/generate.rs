//! `certlab generate`: a PKI from a built-in template or a spec, into a directory.

use std::path::{Path, PathBuf};

use certlab::pki::spec::{self, Spec};
use certlab::pki::{drift, store};

use super::{CmdResult, EXIT_OK, Failure, NowArg, relative_expiry};

/// The templates whose PKI also gets `DIR/configs/` (rendered OTel and Kubernetes configs).
const CONFIG_TEMPLATES: [&str; 2] = ["dev", "otel"];

/// Arguments of `certlab generate`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("now", |a| a.help("Issue as if it were this time (RFC 3339)")))]
#[command(after_help = "Examples:
  certlab generate                         # dev PKI into ./pki
  certlab generate --template otel -o otel-pki
  certlab generate --spec certlab.toml -o pki
  certlab generate --template lab -o lab   # every fault of the catalogue
  certlab generate --seed ci --now 2030-01-01T00:00:00Z -o fixtures   # byte-identical every run
  certlab generate --check --seed ci -o fixtures   # exit 1 when fixtures/ drifted or expires soon")]
pub struct Args {
    /// Built-in template: dev, otel or lab.
    #[arg(long, short = 't', conflicts_with = "spec", default_value = "dev")]
    pub template: String,
    /// A spec file (TOML) instead of a template.
    #[arg(long, short = 's')]
    pub spec: Option<PathBuf>,
    /// The output directory.
    #[arg(long, short = 'o', default_value = "pki")]
    pub out: PathBuf,
    /// Replace everything, CA keys included.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub now: NowArg,
    /// Print the manifest as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Derive every key and serial from this seed (and each entity's name): the same spec,
    /// seed and time give byte-identical files. For tests only: whoever has the seed has the
    /// keys (overrides `seed` in the spec).
    #[arg(long)]
    pub seed: Option<String>,
    /// Change nothing: exit 1 when the files in the output directory differ from what the spec
    /// and seed produce, or a certificate expires within --warn-days (needs a seed).
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
    /// With --check: days before expiry that count as drift.
    #[arg(long, default_value_t = 30, requires = "check")]
    pub warn_days: u32,
    /// Extra formats (PEM files are always written).
    #[command(flatten)]
    pub formats: super::export::FormatArgs,
}

/// Loads the spec of `--spec` or `--template`.
pub fn load_spec(template: &str, spec_path: Option<&PathBuf>) -> Result<Spec, Failure> {
    match spec_path {
        Some(path) => {
            let bytes = certlab::pem::read(path).map_err(|e| Failure::input(e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Failure::input(format!(
                    "{}: not a TOML spec (not UTF-8 text)",
                    path.display()
                ))
            })?;
            spec::parse(&path.display().to_string(), &text).map_err(Failure::from)
        }
        None => {
            let t = spec::template(template).ok_or_else(|| {
                let names: Vec<_> = spec::TEMPLATES.iter().map(|t| t.name).collect();
                Failure::input(format!(
                    "unknown template `{template}` (expected one of: {})",
                    names.join(", ")
                ))
            })?;
            spec::parse(&format!("<template {}>", t.name), t.text).map_err(Failure::from)
        }
    }
}

/// Writes everything `generate` writes into `out`: the PKI, the configs of the templates that
/// have them, the extra formats (`out` is where the files go; the configs name them as in
/// `configs_for`, so `--check` can make into a scratch directory what `args.out` should hold).
fn produce(
    args: &Args,
    spec: &Spec,
    out: &std::path::Path,
    configs_for: &std::path::Path,
    now: time::OffsetDateTime,
    print: bool,
) -> Result<(store::Generated, bool), Failure> {
    // One transaction: the PKI, its configs and extra formats (derived files) all or nothing.
    let bar = super::progress::bar(spec.leaves.len() as u64);
    let mut generation = super::progress::with_bar(bar, |progress| {
        store::Generation::begin_with_progress(spec, out, now, args.force, progress)
    })?;
    let configs = args.spec.is_none() && CONFIG_TEMPLATES.contains(&args.template.as_str());
    if configs {
        // Rendered from the PKI in memory; the paths in them name the files as in `configs_for`.
        generation.derive(certlab::render::config_outputs(
            generation.pki(),
            configs_for,
        )?);
    }
    let extra = args.formats.outputs(generation.pki())?;
    let extra_files: Vec<_> = extra.iter().map(|o| out.join(&o.path)).collect();
    generation.derive(extra);
    let generated = generation.commit()?;
    if print && args.formats.wants_extra() {
        super::export::print_written(&extra_files, &args.formats);
    }
    Ok((generated, configs))
}

/// The spec with `--seed` applied.
fn seeded_spec(args: &Args) -> Result<Spec, Failure> {
    let mut spec = load_spec(&args.template, args.spec.as_ref())?;
    if let Some(seed) = &args.seed {
        if seed.is_empty() {
            return Err(Failure::input("--seed is empty: give a non-empty text"));
        }
        spec.seed = Some(seed.clone());
    }
    Ok(spec)
}

/// `certlab generate --check`: regenerates into a temporary directory and compares.
fn check(args: &Args, spec: &Spec) -> CmdResult {
    if spec.seed.is_none() {
        return Err(Failure::input(
            "--check needs a seed (--seed S or `seed = \"…\"` in the spec): without one every generation makes new keys",
        ));
    }
    if args.formats.format == certlab::pki::export::Format::P12
        || args.formats.key_password.is_some()
    {
        return Err(Failure::input(
            "--check compares files that a seed reproduces: PKCS#12 and encrypted keys get fresh salts on every run (check the PEM, DER or combined files instead)",
        ));
    }
    let dir = &args.out;
    let manifest = dir.join(certlab::pki::manifest::MANIFEST_FILE);
    if !manifest.is_file() {
        return Err(Failure::input(format!(
            "{}: no such file: nothing to check (generate the PKI first, with the same --seed)",
            manifest.display()
        )));
    }
    // The time to reproduce at: --now, the spec's `now`, else the time the manifest says.
    let now = match (args.now.given(), spec.now) {
        (Some(t), _) => t,
        (None, Some(t)) => t,
        (None, None) => certlab::pki::manifest::seeded_issued_at(dir).ok_or_else(|| {
                Failure::input(format!(
                    "{}: not a seeded PKI with an issue time: give --now (the time it was generated at)",
                    manifest.display()
                ))
            })?,
    };
    let scratch = tempfile::tempdir()
        .map_err(|e| Failure::internal(format!("cannot make a temporary directory: {e}")))?;
    let expected = scratch.path().join("pki");
    let (generated, _) = produce(args, spec, &expected, dir, now, false)?;
    let compare = |expected: &Path| {
        drift::compare_dirs(expected, dir).map_err(|e| Failure::input(e.to_string()))
    };
    let mut drift = compare(&expected)?;
    // A checkout elsewhere (another clone, a CI runner): the configs name the directory they
    // were rendered in. Made again for that directory, what differs from what the seed makes?
    let mut rendered_for = None;
    let elsewhere = drift::only_configs_differ(&drift)
        .then(|| drift::configs_rendered_for(dir))
        .flatten();
    if let Some(there) = elsewhere {
        let again = scratch.path().join("pki-there");
        produce(args, spec, &again, &there, now, false)?;
        drift = compare(&again)?;
        rendered_for = Some(there);
    }
    // The same directory by another path (a symlink, `..`): nothing to say.
    let same_dir =
        |there: &Path| std::fs::canonicalize(there).ok() == std::fs::canonicalize(dir).ok();
    let configs_note = rendered_for.as_ref().filter(|t| !same_dir(t)).map(|there| {
        format!(
            "  configs/ name {} (where they were rendered), not this directory: compared as made there; regenerating here (the same seed, --force) renders them for it",
            there.display()
        )
    });
    let warn = time::Duration::days(args.warn_days.into());
    let wall = time::OffsetDateTime::now_utc();
    let expiring = drift::expiring(&generated.pki, now, wall, warn);
    let ok = drift.is_empty() && expiring.is_empty();
    if args.json {
        super::print_json(&serde_json::json!({
            "version": 1,
            "dir": dir.display().to_string(),
            "ok": ok,
            "files": generated.files.len(),
            "drift": drift,
            "configs_rendered_for": rendered_for.as_ref().map(|p| p.display().to_string()),
            "expiring": expiring,
            "warn_days": args.warn_days,
        }));
    } else if ok {
        println!(
            "{}/ is up to date: every file is what the spec and seed make; nothing expires within {} days",
            dir.display(),
            args.warn_days
        );
        if let Some(note) = &configs_note {
            println!("{note}");
        }
    } else {
        println!("{}/ drifted:", dir.display());
        for d in &drift {
            println!("  {:<8} {}", d.change.name(), d.file);
        }
        if drift.iter().any(|d| d.change == drift::Change::LineEndings) {
            println!(
                "  line-endings: the same text with CRLF line ends (an older certlab wrote CRLF; Git with core.autocrlf makes CRLF): regenerate, or check out with core.autocrlf=false"
            );
        }
        if let Some(note) = &configs_note {
            println!("{note}");
        }
        for e in &expiring {
            println!(
                "  expires  {} ({}, {})",
                e.name,
                super::rfc3339(e.not_after),
                relative_expiry(e.not_after, wall)
            );
        }
        println!(
            "regenerate: certlab generate {}--seed … -o {}",
            args.spec
                .as_ref()
                .map(|s| format!("--spec {} ", s.display()))
                .unwrap_or_else(|| format!("--template {} ", args.template)),
            dir.display()
        );
    }
    Ok(if ok { EXIT_OK } else { super::EXIT_OUTCOME })
}

/// Runs `certlab generate`.
pub fn run(args: Args) -> CmdResult {
    let spec = seeded_spec(&args)?;
    if args.check {
        return check(&args, &spec);
    }
    let now = match (args.now.given(), spec.now) {
        (None, Some(t)) => t,
        _ => args.now.or_clock(),
    };
    super::output_dir(&args.out)?;
    let (generated, configs) = produce(&args, &spec, &args.out, &args.out, now, !args.json)?;
    if args.json {
        super::print_json(&serde_json::to_value(&generated.manifest).expect("serialisable"));
        return Ok(EXIT_OK);
    }
    let dir = args.out.display();
    println!("wrote {} files to {dir}/", generated.files.len());
    if generated.pki.seeded_at.is_some() {
        println!(
            "  seeded: keys and serials derive from the seed (same spec, seed and time give the same files); for tests only, never trust it"
        );
    }
    // With --quiet stdout goes nowhere: no line per entity (10,000 for a fleet) to format.
    let quiet = super::progress::QUIET.load(std::sync::atomic::Ordering::Relaxed);
    for e in generated.pki.entities.iter().filter(|_| !quiet) {
        let kept = if generated.kept.contains(&e.name) {
            " (kept)"
        } else {
            ""
        };
        let fault = if e.fault == certlab::Fault::None {
            String::new()
        } else {
            format!(" fault={}", e.fault)
        };
        let sans: Vec<_> = e.sans.iter().map(|s| s.to_string()).collect();
        println!(
            "  {:<28} {:<13} {}{kept}{fault}{}",
            e.name,
            e.role.name(),
            relative_expiry(e.not_after, now),
            if sans.is_empty() {
                String::new()
            } else {
                format!("  [{}]", sans.join(", "))
            }
        );
    }
    if let Some(server) = generated
        .pki
        .entities
        .iter()
        .find(|e| e.role.is_server() && e.fault == certlab::Fault::None)
    {
        let n = &server.name;
        println!("\nnext:");
        println!(
            "  trust {dir}/ca.pem in clients (curl --cacert {dir}/ca.pem, OTEL_EXPORTER_OTLP_CERTIFICATE={dir}/ca.pem)"
        );
        let chain = server.chain_path().unwrap_or_else(|| server.cert_path());
        println!("  serve {dir}/{chain} with key {dir}/{}", server.key_path());
        println!("  try it: certlab serve --pki {dir} --scenario {n}");
        if configs {
            println!(
                "  configs: {dir}/configs/{n}/ (otel-collector.yaml, otel.env, k8s-secret.yaml)"
            );
        }
    }
    // The process exits next: freeing every entity one by one (keys, certificates, names of
    // a fleet) is work for nothing.
    std::mem::forget(generated);
    Ok(EXIT_OK)
}
