//! Output templates: configurations that drop a generated PKI straight into the places people
//! use it — an OpenTelemetry Collector config, an `OTEL_EXPORTER_OTLP_*` env file, Kubernetes
//! objects — rendered with [minijinja] from the templates in `templates/*.j2`.
//!
//! Every path a rendered file names is **absolute** (the PKI directory made absolute against the
//! current directory, symlinks not resolved), so a collector or an SDK finds the files whatever
//! its working directory. The Kubernetes objects embed the files' contents instead.
//!
//! ```
//! use certlab::render::{self, Kind};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let spec = certlab::pki::spec::parse("<template otel>", certlab::pki::spec::template("otel").unwrap().text).unwrap();
//! let pki = certlab::pki::store::build(&spec, time::OffsetDateTime::now_utc()).unwrap();
//! certlab::pki::store::write(&pki, dir.path()).unwrap();
//!
//! let yaml = render::render(Kind::OtelCollector, &pki, dir.path(), None, None).unwrap();
//! assert!(yaml.contains("client_ca_file:"));
//! let env = render::render(Kind::OtelEnv, &pki, dir.path(), Some("otel-collector"), Some("exporter")).unwrap();
//! assert!(env.contains("OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:4317"));
//! ```

pub mod cert_manager;
pub mod reproduce;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::pki::manifest::CA_BUNDLE_FILE;
use crate::pki::model::ServeRefusal;
use crate::pki::store::{self, StoreError};
use crate::pki::{Entity, Fault, Pki, Role, San};

/// The OTLP gRPC port, used when `--endpoint` names no port.
pub const OTLP_GRPC_PORT: u16 = 4317;
/// The OTLP HTTP port.
pub const OTLP_HTTP_PORT: u16 = 4318;
/// The directory (inside a PKI directory) that [`write_configs`] fills.
pub const CONFIGS_DIR: &str = "configs";

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An OpenTelemetry Collector config: the `otlp` receiver (gRPC 4317, HTTP 4318) with TLS
    /// and mTLS, and an `otlp` exporter block with the client side.
    OtelCollector,
    /// An env file with the `OTEL_EXPORTER_OTLP_*` variables for SDKs.
    OtelEnv,
    /// A `kubernetes.io/tls` Secret per certificate and a ConfigMap with the CA bundle.
    K8sSecret,
    /// A bash script that serves each scenario of the PKI with `certlab serve` and runs the
    /// `openssl s_client` / `curl` commands of [`reproduce::reproduce_commands`] against it.
    Reproduce,
    /// cert-manager objects: per issuing CA a Secret and an `Issuer` (or `ClusterIssuer`),
    /// per good leaf a `Certificate` (see [`cert_manager`]).
    CertManager,
}

/// Every kind, in the order of the documentation.
pub const ALL_KINDS: [Kind; 5] = [
    Kind::OtelCollector,
    Kind::OtelEnv,
    Kind::K8sSecret,
    Kind::Reproduce,
    Kind::CertManager,
];

/// The port `reproduce` serves every scenario on (one at a time) unless told otherwise.
pub const DEFAULT_REPRODUCE_PORT: u16 = 8443;

impl Kind {
    /// The name used on the command line (`otel-collector`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::OtelCollector => "otel-collector",
            Kind::OtelEnv => "otel-env",
            Kind::K8sSecret => "k8s-secret",
            Kind::Reproduce => "reproduce",
            Kind::CertManager => "cert-manager",
        }
    }

    /// The file name [`write_configs`] gives this kind.
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::OtelCollector => "otel-collector.yaml",
            Kind::OtelEnv => "otel.env",
            Kind::K8sSecret => "k8s-secret.yaml",
            Kind::Reproduce => "reproduce.sh",
            Kind::CertManager => "cert-manager.yaml",
        }
    }

    /// Whether the output holds private key material (written with mode 0600).
    pub fn is_secret(self) -> bool {
        matches!(self, Kind::K8sSecret | Kind::CertManager)
    }

    fn template(self) -> (&'static str, &'static str) {
        match self {
            Kind::OtelCollector => (
                "otel-collector.yaml.j2",
                include_str!("../../templates/otel-collector.yaml.j2"),
            ),
            Kind::OtelEnv => ("otel.env.j2", include_str!("../../templates/otel.env.j2")),
            Kind::K8sSecret => (
                "k8s-secret.yaml.j2",
                include_str!("../../templates/k8s-secret.yaml.j2"),
            ),
            Kind::Reproduce => (
                "reproduce.sh.j2",
                include_str!("../../templates/reproduce.sh.j2"),
            ),
            Kind::CertManager => (
                "cert-manager.yaml.j2",
                include_str!("../../templates/cert-manager.yaml.j2"),
            ),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = RenderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_KINDS
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| RenderError::UnknownKind(s.to_string()))
    }
}

fn kind_names() -> String {
    ALL_KINDS.map(Kind::name).join(", ")
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Not a kind certlab renders.
    #[error("unknown kind `{0}` (expected one of: {list})", list = kind_names())]
    UnknownKind(String),
    /// The PKI has no server certificate.
    #[error("the PKI has no server certificate to render a configuration for")]
    NoServer,
    /// No entity has this name.
    #[error("no certificate named `{0}` in the PKI")]
    UnknownEntity(String),
    /// `--server` named a certificate that is not a server certificate.
    #[error("`{0}` is a {1} certificate, not a server certificate")]
    NotServer(String, Role),
    /// `--client` named a certificate that is not a client certificate.
    #[error("`{0}` is a {1} certificate, not a client certificate")]
    NotClient(String, Role),
    /// `--endpoint` is not `HOST` or `HOST:PORT`.
    #[error("invalid endpoint `{0}`: expected HOST or HOST:PORT (IPv6 as [::1]:4317)")]
    BadEndpoint(String),
    /// A generated file could not be read, or a rendered one written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--namespace` is not a Kubernetes namespace name.
    #[error("invalid namespace `{0}`: expected a Kubernetes name (lowercase letters, digits, `-`)")]
    BadNamespace(String),
    /// A certificate of the PKI cannot be read far enough to render it.
    #[error("`{name}`: the certificate cannot be parsed: {message}")]
    BadCertificate {
        /// The entity.
        name: String,
        /// Why.
        message: String,
    },
    /// A template failed (a bug in certlab's templates).
    #[error("template {name}: {source}")]
    Template {
        /// The template.
        name: String,
        /// What minijinja said.
        source: minijinja::Error,
    },
}

/// What to render for: the server and client certificates, and where clients connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The server certificate (default: the first good server certificate).
    pub server: Option<String>,
    /// The client certificate for mTLS (default: the first good client certificate; none when
    /// the PKI has none, and then no mTLS settings are rendered).
    pub client: Option<String>,
    /// Where exporters connect, `HOST` or `HOST:PORT` (default: `localhost:4317` when the
    /// server certificate covers `localhost`, else its first name). When the host is not among
    /// the certificate's names, the collector's exporter gets `server_name_override`.
    pub endpoint: Option<String>,
    /// `reproduce`: the port every scenario is served on, one after the other (default
    /// [`DEFAULT_REPRODUCE_PORT`]).
    pub port: Option<u16>,
    /// `cert-manager`: the namespace of the Issuers, Certificates and CA Secrets (default:
    /// none written, `kubectl apply -n` decides).
    pub namespace: Option<String>,
    /// `cert-manager`: one `ClusterIssuer` per CA instead of an `Issuer` (its CA Secret goes
    /// into cert-manager's namespace, [`cert_manager::CLUSTER_RESOURCE_NAMESPACE`]).
    pub cluster_issuer: bool,
}

/// Renders one kind for a PKI written in `dir` (the files are read from there; paths in the
/// output are `dir` made absolute). `server` / `client` name certificates as in [`Options`].
pub fn render(
    kind: Kind,
    pki: &Pki,
    dir: &Path,
    server: Option<&str>,
    client: Option<&str>,
) -> Result<String, RenderError> {
    let options = Options {
        server: server.map(str::to_string),
        client: client.map(str::to_string),
        ..Options::default()
    };
    render_with(kind, pki, dir, &options)
}

/// Renders one kind with every option.
pub fn render_with(
    kind: Kind,
    pki: &Pki,
    dir: &Path,
    options: &Options,
) -> Result<String, RenderError> {
    if kind == Kind::Reproduce {
        let port = options.port.unwrap_or(DEFAULT_REPRODUCE_PORT);
        return render_template(kind, &ReproduceContext::new(pki, dir, port)?);
    }
    if kind == Kind::CertManager {
        let ctx = cert_manager::context(
            pki,
            dir,
            options.namespace.as_deref(),
            options.cluster_issuer,
        )?;
        return render_template(kind, &ctx);
    }
    let server = pick_server(pki, options.server.as_deref())?;
    let client = pick_client(pki, options.client.as_deref())?;
    let ctx = Context::new(kind, pki, dir, server, client, options.endpoint.as_deref())?;
    render_template(kind, &ctx)
}

/// The configurations of a PKI that is (or will be) in `dir`: `configs/SERVER/{otel-collector.yaml,
/// otel.env, k8s-secret.yaml}` for every good server certificate (with the first good client
/// certificate) and `configs/reproduce.sh` (mode 0755; `k8s-secret.yaml` holds keys: 0600),
/// rendered from the PKI in memory, as derived files of the whole PKI (see
/// [`store::Generation::derive`]).
pub fn config_outputs(pki: &Pki, dir: &Path) -> Result<Vec<store::Output>, RenderError> {
    let client = pick_client(pki, None)?;
    let mut out = Vec::new();
    let output = |path: String, text: String, mode: u32| store::Output {
        path,
        bytes: text.into_bytes(),
        mode,
        kind: "config".into(),
        source: vec!["*".into()],
    };
    for server in pki.entities.iter().filter(|e| is_good_server(e)) {
        for kind in CONFIG_KINDS {
            let ctx = Context::new(kind, pki, dir, server, client, None)?;
            let text = render_template(kind, &ctx)?;
            let mode = if kind.is_secret() { 0o600 } else { 0o644 };
            out.push(output(
                format!("{CONFIGS_DIR}/{}/{}", server.name, kind.file_name()),
                text,
                mode,
            ));
        }
    }
    let text = render_with(Kind::Reproduce, pki, dir, &Options::default())?;
    out.push(output(
        format!("{CONFIGS_DIR}/{}", Kind::Reproduce.file_name()),
        text,
        0o755,
    ));
    Ok(out)
}

/// Writes [`config_outputs`] into the PKI directory `dir` (which holds `pki`) as one
/// transaction, recorded in its manifest as derived files. Returns the files written,
/// relative to `dir`.
pub fn write_configs(pki: &Pki, dir: &Path) -> Result<Vec<String>, RenderError> {
    store::add_derived(dir, |_| config_outputs(pki, dir))
}

/// The kinds written once per server certificate.
const CONFIG_KINDS: [Kind; 3] = [Kind::OtelCollector, Kind::OtelEnv, Kind::K8sSecret];

fn is_good_server(e: &Entity) -> bool {
    e.role.is_server() && e.fault == Fault::None
}

fn pick_server<'a>(pki: &'a Pki, name: Option<&str>) -> Result<&'a Entity, RenderError> {
    match name {
        Some(name) => {
            let e = pki
                .entity(name)
                .ok_or_else(|| RenderError::UnknownEntity(name.to_string()))?;
            if e.role.is_server() {
                Ok(e)
            } else {
                Err(RenderError::NotServer(name.to_string(), e.role))
            }
        }
        None => pki
            .entities
            .iter()
            .find(|e| is_good_server(e))
            .or_else(|| pki.entities.iter().find(|e| e.role.is_server()))
            .ok_or(RenderError::NoServer),
    }
}

fn pick_client<'a>(pki: &'a Pki, name: Option<&str>) -> Result<Option<&'a Entity>, RenderError> {
    match name {
        Some(name) => {
            let e = pki
                .entity(name)
                .ok_or_else(|| RenderError::UnknownEntity(name.to_string()))?;
            if e.role.is_client() {
                Ok(Some(e))
            } else {
                Err(RenderError::NotClient(name.to_string(), e.role))
            }
        }
        None => Ok(pki
            .entities
            .iter()
            .find(|e| e.role == Role::Client && e.fault == Fault::None)
            .or_else(|| {
                pki.entities
                    .iter()
                    .find(|e| e.role.is_client() && e.fault == Fault::None)
            })),
    }
}

/// Whether a certificate's SANs cover a host name or IP (DNS names case-insensitively, a
/// wildcard for one leftmost label).
pub fn covers(sans: &[San], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return sans.iter().any(|s| matches!(s, San::Ip(a) if *a == ip));
    }
    let host = host.to_ascii_lowercase();
    sans.iter().any(|s| match s {
        San::Dns(name) => {
            let name = name.to_ascii_lowercase();
            match name.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
                None => name == host,
            }
        }
        _ => false,
    })
}

/// Where clients connect.
#[derive(Debug, Serialize)]
struct Endpoint {
    host: String,
    port: u16,
    /// `host:port`, IPv6 in brackets.
    address: String,
    server_name_override: Option<String>,
}

fn endpoint(server: &Entity, requested: Option<&str>) -> Result<Endpoint, RenderError> {
    let (host, port) = match requested {
        Some(text) => split_host_port(text)?,
        None => {
            let host = if covers(&server.sans, "localhost") {
                "localhost".to_string()
            } else {
                first_name(&server.sans).unwrap_or_else(|| "localhost".to_string())
            };
            (host, OTLP_GRPC_PORT)
        }
    };
    let server_name_override = if covers(&server.sans, &host) {
        None
    } else {
        first_name(&server.sans)
    };
    let address = crate::tls::join_host_port(&host, port);
    Ok(Endpoint {
        host,
        port,
        address,
        server_name_override,
    })
}

/// The first DNS name of the SANs, else the first IP.
fn first_name(sans: &[San]) -> Option<String> {
    sans.iter()
        .find_map(|s| match s {
            San::Dns(d) => Some(d.clone()),
            _ => None,
        })
        .or_else(|| {
            sans.iter().find_map(|s| match s {
                San::Ip(ip) => Some(ip.to_string()),
                _ => None,
            })
        })
}

fn split_host_port(text: &str) -> Result<(String, u16), RenderError> {
    let bad = || RenderError::BadEndpoint(text.to_string());
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text)
        .trim_end_matches('/');
    let (host, port) = crate::tls::split_host_port(text).ok_or_else(bad)?;
    let valid_host = host.parse::<IpAddr>().is_ok()
        || host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !valid_host {
        return Err(bad());
    }
    Ok((host, port.unwrap_or(OTLP_GRPC_PORT)))
}

/// One certificate as the templates see it.
#[derive(Debug, Serialize)]
struct Cert {
    name: String,
    /// The SANs as text (`localhost`, `127.0.0.1`).
    sans: Vec<String>,
    /// Absolute paths.
    cert: String,
    chain: String,
    key: String,
}

impl Cert {
    fn new(e: &Entity, dir: &Path) -> Self {
        let path = |file: String| dir.join(file).display().to_string();
        Cert {
            name: e.name.clone(),
            sans: e
                .sans
                .iter()
                .map(|s| match s {
                    San::Dns(v) | San::Uri(v) | San::Email(v) => v.clone(),
                    San::Ip(ip) => ip.to_string(),
                })
                .collect(),
            // Through the entity: its `dir`, and the one file of combined leaves.
            cert: path(e.cert_path()),
            chain: path(e.chain_path().unwrap_or_else(|| e.cert_path())),
            key: path(e.key_path()),
        }
    }
}

/// A Kubernetes Secret's content.
#[derive(Debug, Serialize)]
struct Secret {
    name: String,
    k8s_name: String,
    chain_file: String,
    key_file: String,
    chain_b64: String,
    key_b64: String,
    not_after: String,
}

#[derive(Debug, Serialize)]
struct Protocol {
    name: &'static str,
    listen: String,
}

/// Everything a template may use.
#[derive(Debug, Serialize)]
struct Context {
    dir: String,
    server: Cert,
    client: Option<Cert>,
    ca_file: String,
    endpoint: Endpoint,
    protocols: Vec<Protocol>,
    secrets: Vec<Secret>,
    ca_b64: String,
    ca_pem: String,
    bundle_name: String,
}

impl Context {
    fn new(
        kind: Kind,
        pki: &Pki,
        dir: &Path,
        server: &Entity,
        client: Option<&Entity>,
        requested_endpoint: Option<&str>,
    ) -> Result<Self, RenderError> {
        let abs = absolute(dir)?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        // The files' contents from the PKI in memory: byte for byte what `store` writes (and
        // what a loaded PKI's files hold, checked against the manifest).
        let (mut secrets, mut ca_b64, mut ca_pem) = (Vec::new(), String::new(), String::new());
        if kind == Kind::K8sSecret {
            let ca = crate::pem::pem_certs(pki.trusted_roots().map(|e| &e.cert)).into_bytes();
            ca_b64 = b64(&ca);
            ca_pem = String::from_utf8_lossy(&ca).into_owned();
            for e in std::iter::once(server).chain(client.filter(|c| c.name != server.name)) {
                secrets.push(Secret {
                    name: e.name.clone(),
                    k8s_name: format!("{}-tls", k8s_name(&e.name)),
                    chain_file: e.chain_path().unwrap_or_else(|| e.cert_path()),
                    key_file: e.key_path(),
                    chain_b64: b64(crate::pem::pem_certs(&e.chain).as_bytes()),
                    key_b64: b64(e.key.to_pem().as_bytes()),
                    not_after: e
                        .not_after
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                });
            }
        }
        Ok(Context {
            dir: abs.display().to_string(),
            server: Cert::new(server, &abs),
            client: client.map(|c| Cert::new(c, &abs)),
            ca_file: abs.join(CA_BUNDLE_FILE).display().to_string(),
            endpoint: endpoint(server, requested_endpoint)?,
            protocols: vec![
                Protocol {
                    name: "grpc",
                    listen: format!("0.0.0.0:{OTLP_GRPC_PORT}"),
                },
                Protocol {
                    name: "http",
                    listen: format!("0.0.0.0:{OTLP_HTTP_PORT}"),
                },
            ],
            secrets,
            ca_b64,
            ca_pem,
            bundle_name: "certlab-ca-bundle".to_string(),
        })
    }
}

/// One scenario as the reproduce script sees it.
#[derive(Debug, Serialize)]
struct ReproScenario {
    name: String,
    expected: String,
    serve_error: Option<ServeRefusal>,
    /// `--listen` of `certlab serve`.
    listen: String,
    /// The IP the script waits on.
    host: String,
    port: u16,
    /// The openssl / curl commands of `reproduce::reproduce_commands`.
    commands: Vec<String>,
    /// Its `OTEL_EXPORTER_OTLP_*` lines.
    env: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ReproduceContext {
    dir: String,
    port: u16,
    scenarios: Vec<ReproScenario>,
}

impl ReproduceContext {
    fn new(pki: &Pki, dir: &Path, port: u16) -> Result<Self, RenderError> {
        let abs = absolute(dir)?;
        let scenarios = pki
            .all_scenarios()
            .into_iter()
            .map(|s| {
                let mut addr = s.listen_addr();
                addr.set_port(port);
                let (env, commands) = reproduce::reproduce_commands_of(pki, &s, &abs, addr)
                    .into_iter()
                    .partition(|line| line.starts_with("OTEL_"));
                ReproScenario {
                    expected: s.expected.map_or("none".to_string(), |o| o.to_string()),
                    serve_error: s.serve_error,
                    listen: addr.to_string(),
                    host: addr.ip().to_string(),
                    port,
                    commands,
                    env,
                    name: s.name,
                }
            })
            .collect();
        Ok(ReproduceContext {
            dir: abs.display().to_string(),
            port,
            scenarios,
        })
    }
}

fn absolute(dir: &Path) -> Result<PathBuf, RenderError> {
    std::path::absolute(dir)
        .map_err(|e| RenderError::Store(crate::pem::FileError::unwritable(dir, e).into()))
}

/// A Kubernetes object name (DNS-1123 subdomain) from an entity name: lowercase, `_` → `-`.
fn k8s_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert_str(0, "certlab");
    }
    out
}

/// A YAML scalar for any text: a JSON string is a valid YAML double-quoted scalar.
fn yaml_filter(value: String) -> String {
    serde_json::to_string(&value).expect("a string serialises")
}

/// A shell word: bare when it is made only of safe characters, else single-quoted.
fn sh_filter(value: String) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:+@,=%".contains(c));
    if safe {
        value
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("valid syntax config"),
    );
    env.add_filter("yaml", yaml_filter);
    env.add_filter("sh", sh_filter);
    env
}

fn render_template(kind: Kind, ctx: &impl Serialize) -> Result<String, RenderError> {
    let (name, source) = kind.template();
    let err = |source| RenderError::Template {
        name: name.to_string(),
        source,
    };
    let mut env = environment();
    env.add_template(name, source).map_err(err)?;
    let template = env.get_template(name).map_err(err)?;
    let mut text = template.render(Serde(ctx)).map_err(err)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_ips_are_covered() {
        let sans = vec![
            San::Dns("*.example.test".into()),
            San::Dns("Localhost".into()),
            San::Ip("::1".parse().unwrap()),
        ];
        assert!(covers(&sans, "a.example.test"));
        assert!(!covers(&sans, "a.b.example.test"));
        assert!(!covers(&sans, "example.test"));
        assert!(covers(&sans, "LOCALHOST"));
        assert!(covers(&sans, "[::1]"));
        assert!(!covers(&sans, "127.0.0.1"));
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(split_host_port("h.test").unwrap(), ("h.test".into(), 4317));
        assert_eq!(split_host_port("h.test:55").unwrap(), ("h.test".into(), 55));
        assert_eq!(split_host_port("https://h:1/").unwrap(), ("h".into(), 1));
        assert_eq!(split_host_port("[::1]:9").unwrap(), ("::1".into(), 9));
        assert_eq!(split_host_port("::1").unwrap(), ("::1".into(), 4317));
        for bad in ["", "h:0", "h:x", "[::1", "a b", "h:70000"] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoting_filters() {
        assert_eq!(sh_filter("/a/b.pem".into()), "/a/b.pem");
        assert_eq!(sh_filter("/a b/it's".into()), r"'/a b/it'\''s'");
        assert_eq!(yaml_filter("a: \"b\"".into()), r#""a: \"b\"""#);
        assert_eq!(k8s_name("My_Server"), "my-server");
    }
}
