//! `certlab render`: configurations for a generated PKI (OTel collector, OTEL env, Kubernetes).

use std::path::PathBuf;

use certlab::render::{self, Kind, Options};

use super::{CmdResult, EXIT_OK, Failure};

/// Arguments of `certlab render`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Kinds:
  otel-collector  collector config: otlp receiver (gRPC 4317, HTTP 4318) with TLS + mTLS,
                  and the otlp exporter block for senders
  otel-env        OTEL_EXPORTER_OTLP_ENDPOINT / _CERTIFICATE / _CLIENT_CERTIFICATE / _CLIENT_KEY
  k8s-secret      kubernetes.io/tls Secrets (tls.crt = chain, tls.key, ca.crt) and a CA ConfigMap
  reproduce       a bash script: serves each scenario with certlab serve and runs the openssl /
                  curl commands that `certlab lab --serve` prints against it
  cert-manager    cert-manager.io/v1 objects: the issuing CA as a Secret + Issuer (type ca), one
                  Certificate per good leaf (names, usages, duration, renewBefore, privateKey);
                  faulted leaves are listed in a comment, not rendered

Paths in the output are absolute. `certlab generate` (dev and otel templates) also writes every
kind into DIR/configs/SERVER/ (and DIR/configs/reproduce.sh).

Examples:
  certlab render otel-collector --pki pki -o collector.yaml
  certlab render otel-env --pki pki > otel.env && set -a && . ./otel.env && set +a
  certlab render k8s-secret --pki pki --server otel-collector | kubectl apply -n observability -f -
  certlab render otel-collector --pki pki --endpoint 10.0.0.7:4317   # adds server_name_override
  certlab render reproduce --pki lab -o reproduce.sh && bash reproduce.sh expired wrong-host
  certlab render cert-manager --pki pki --namespace dev | kubectl apply -f -
  certlab render cert-manager --pki pki --cluster-issuer -o cert-manager.yaml")]
pub struct Args {
    /// What to render: otel-collector, otel-env, k8s-secret, reproduce or cert-manager.
    #[arg(value_parser = kind_parser())]
    pub kind: Kind,
    /// The PKI directory (written by `certlab generate`).
    #[arg(long, default_value = "pki")]
    pub pki: PathBuf,
    /// The server certificate (default: the first good one).
    #[arg(long)]
    pub server: Option<String>,
    /// The client certificate for mTLS (default: the first good one, if any).
    #[arg(long)]
    pub client: Option<String>,
    /// Where exporters connect, HOST[:PORT] (default: localhost:4317 when the certificate
    /// covers localhost, else its first name).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// reproduce: the port each scenario is served on, one at a time.
    #[arg(long, default_value_t = render::DEFAULT_REPRODUCE_PORT)]
    pub port: u16,
    /// cert-manager: the namespace of the Issuer, the Certificates and the CA Secret.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// cert-manager: a ClusterIssuer instead of an Issuer (its CA Secret goes into the
    /// cert-manager namespace).
    #[arg(long)]
    pub cluster_issuer: bool,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// Parses a kind; its possible values show in `--help`, errors and shell completions.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = Kind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(render::ALL_KINDS.map(Kind::name))
        .try_map(|s| s.parse::<Kind>())
}

/// Runs `certlab render`.
pub fn run(args: Args) -> CmdResult {
    if args.kind != Kind::CertManager && (args.namespace.is_some() || args.cluster_issuer) {
        return Err(Failure::input(
            "--namespace and --cluster-issuer apply to `render cert-manager` only",
        ));
    }
    let pki = super::load_pki(&args.pki)?;
    let options = Options {
        server: args.server,
        client: args.client,
        endpoint: args.endpoint,
        port: Some(args.port),
        namespace: args.namespace,
        cluster_issuer: args.cluster_issuer,
    };
    let text = render::render_with(args.kind, &pki, &args.pki, &options)?;
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            certlab::pem::write_atomic(path, text.as_bytes(), args.kind.is_secret())?;
            #[cfg(unix)]
            if args.kind == Kind::Reproduce {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
            }
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(EXIT_OK)
}
