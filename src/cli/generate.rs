//! `certlab generate`: a PKI from a built-in template or a spec, into a directory.

use std::path::PathBuf;

use certlab::pki::spec::{self, Spec};
use certlab::pki::store;

use super::{CmdResult, EXIT_OK, Failure, parse_now, relative_expiry};

/// The templates whose PKI also gets `DIR/configs/` (rendered OTel and Kubernetes configs).
const CONFIG_TEMPLATES: [&str; 2] = ["dev", "otel"];

/// Arguments of `certlab generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  certlab generate                         # dev PKI into ./pki
  certlab generate --template otel -o otel-pki
  certlab generate --spec certlab.toml -o pki
  certlab generate --template lab -o lab   # every fault of the catalogue")]
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
    /// Issue as if it were this time (RFC 3339).
    #[arg(long)]
    pub now: Option<String>,
    /// Print the manifest as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Extra formats (PEM files are always written).
    #[command(flatten)]
    pub formats: super::export::FormatArgs,
}

/// Loads the spec of `--spec` or `--template`.
pub fn load_spec(template: &str, spec_path: Option<&PathBuf>) -> Result<Spec, Failure> {
    match spec_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
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

/// Runs `certlab generate`.
pub fn run(args: Args) -> CmdResult {
    let now = parse_now(args.now.as_deref())?;
    super::output_dir(&args.out)?;
    let spec = load_spec(&args.template, args.spec.as_ref())?;
    // One transaction: the PKI, its configs and extra formats (derived files) all or nothing.
    let mut generation = store::Generation::begin(&spec, &args.out, now, args.force)?;
    let configs = args.spec.is_none() && CONFIG_TEMPLATES.contains(&args.template.as_str());
    if configs {
        generation.derive(certlab::render::config_outputs(
            generation.pki(),
            &args.out,
        )?);
    }
    let extra = args.formats.outputs(generation.pki())?;
    let extra_files: Vec<_> = extra.iter().map(|o| args.out.join(&o.path)).collect();
    generation.derive(extra);
    let generated = generation.commit()?;
    if !args.json && args.formats.wants_extra() {
        super::export::print_written(&extra_files, &args.formats);
    }
    if args.json {
        super::print_json(&serde_json::to_value(&generated.manifest).expect("serialisable"));
        return Ok(EXIT_OK);
    }
    let dir = args.out.display();
    println!("wrote {} files to {dir}/", generated.files.len());
    for e in &generated.pki.entities {
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
        println!("  serve {dir}/{n}.chain.pem with key {dir}/{n}.key");
        println!("  try it: certlab serve --pki {dir} --scenario {n}");
        if configs {
            println!(
                "  configs: {dir}/configs/{n}/ (otel-collector.yaml, otel.env, k8s-secret.yaml)"
            );
        }
    }
    Ok(EXIT_OK)
}
