//! The mkcert-style local CA of `certlab cert`: one root kept in a CA directory (same layout as
//! any generated PKI), created once and reused to issue leaves for names.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::issue::Builder;
use super::lock::LockError;
use super::manifest::{MANIFEST_FILE, cert_file, key_file};
use super::model::{CaSpec, LeafSpec, Subject};
use super::store::{self, StoreError};
use super::{Entity, KeyAlg, Role, San};

/// The local CA's entity name (files `root.pem`, `root.key`, `ca.pem`).
pub const LOCAL_CA_NAME: &str = "root";

/// Where the local CA lives: `$CERTLAB_CAROOT`, else `$XDG_DATA_HOME/certlab`, else
/// `~/.local/share/certlab`.
pub fn default_ca_dir() -> Option<PathBuf> {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("CERTLAB_CAROOT")
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("certlab")))
        .or_else(|| env("HOME").map(|h| h.join(".local/share/certlab")))
}

/// The local CA, loaded from `dir` or created there (once).
pub struct LocalCa {
    builder: Builder,
    /// Whether this call created the CA.
    pub created: bool,
    /// The CA directory.
    pub dir: PathBuf,
}

impl LocalCa {
    /// Loads the CA of `dir`, or creates it if `dir` has no manifest (an existing directory with
    /// other files and no manifest is refused, as for `generate`). Holds the directory's lock
    /// meanwhile, so concurrent first uses create one CA, not one each. The CA's files are
    /// checked against the manifest and its key against its certificate.
    pub fn open_or_create(dir: &Path, now: OffsetDateTime) -> Result<LocalCa, StoreError> {
        // A new CA directory is the user's alone (0700, whatever the umask): the CA key is
        // 0600, but whoever may write the directory could replace the key and certificate.
        // The directories above it are made as any other (0755 at most): they may hold what
        // others read (`cert --ca-dir certs/ca -o certs`).
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            let unwritable = |e| crate::pem::FileError::unwritable(dir, e);
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::pem::create_dirs(parent).map_err(unwritable)?;
            }
            match std::fs::DirBuilder::new().mode(0o700).create(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(unwritable(e).into());
                }
                _ => {}
            }
        }
        let mut builder = Builder::new(now);
        let mut created = false;
        let mut generation = match store::Generation::of_pki(Default::default(), dir) {
            Ok(g) => Some(g),
            // A CA directory this user may read but not write (a shared CAROOT): use it as
            // it is, read through its manifest like any reader.
            Err(StoreError::Lock(LockError::Io { source, .. }))
                if read_only(&source) && dir.join(MANIFEST_FILE).is_file() =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let existing = generation.as_ref().is_none_or(|g| g.existing().is_some());
        if existing {
            let pki = store::load(dir)?;
            let root = pki
                .entities
                .into_iter()
                .find(|e| e.name == LOCAL_CA_NAME && e.role == Role::Root)
                .ok_or_else(|| {
                    crate::pem::FileError::malformed(
                        &dir.join(MANIFEST_FILE),
                        format!("no root named `{LOCAL_CA_NAME}`: not a certlab CA directory"),
                    )
                })?;
            if !store::key_matches_cert(&root.key, &root.cert).unwrap_or(false) {
                return Err(StoreError::CaKeyMismatch {
                    key: dir.join(key_file(LOCAL_CA_NAME)),
                    cert: dir.join(cert_file(LOCAL_CA_NAME)),
                    dir: dir.to_path_buf(),
                });
            }
            builder.add_existing_ca(root)?;
        } else {
            let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            builder.add_ca(&CaSpec {
                name: LOCAL_CA_NAME.into(),
                subject: Subject {
                    cn: Some(format!("certlab local CA {user}@{}", host.trim())),
                    o: Some("certlab local CA".into()),
                    ..Subject::default()
                },
                ..CaSpec::default()
            })?;
            let mut generation = generation.take().expect("a writable directory");
            generation.replace_pki(builder.pki().clone());
            generation.commit()?;
            created = true;
        }
        Ok(LocalCa {
            builder,
            created,
            dir: dir.to_path_buf(),
        })
    }

    /// The CA certificate's entity.
    pub fn root(&self) -> &Entity {
        self.builder
            .pki()
            .entity(LOCAL_CA_NAME)
            .expect("opened with a root")
    }

    /// Issues a leaf named `name` for `sans` (server, client or both) from the local CA.
    pub fn issue(
        &mut self,
        name: &str,
        sans: Vec<San>,
        role: Role,
        key: KeyAlg,
    ) -> Result<Entity, StoreError> {
        let mut spec = LeafSpec::new(name, LOCAL_CA_NAME, role, sans);
        spec.key = key;
        Ok(self.builder.add_leaf(&spec)?.clone())
    }

    /// Issues many leaves from the local CA (on every core, see [`Builder::add_leaves`]);
    /// `progress` hears of each. Returns them in order.
    pub fn issue_all(
        &mut self,
        specs: &[LeafSpec],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<Entity>, StoreError> {
        let specs: Vec<LeafSpec> = specs
            .iter()
            .map(|s| LeafSpec {
                issuer: LOCAL_CA_NAME.into(),
                ..s.clone()
            })
            .collect();
        let before = self.builder.pki().entities.len();
        self.builder.add_leaves(&specs, progress)?;
        Ok(self.builder.pki().entities[before..].to_vec())
    }
}

/// The requests of `certlab cert --count N`: leaf `n` (1 to N) is named `stem` with `{n}`
/// replaced by `n` (or `stem-n` when `stem` has no `{n}`), for `names` with `{n}` replaced
/// (each then read as [`names::classify`](super::names::classify) reads it).
///
/// ```
/// use certlab::pki::{local_ca::counted_leaves, KeyAlg, Role, San};
/// let specs = counted_leaves("client", &["c{n}@example.com".into()], 2, Role::Client, KeyAlg::default())
///     .unwrap();
/// assert_eq!(specs[1].name, "client-2");
/// assert_eq!(specs[1].sans, [San::Email("c2@example.com".into())]);
/// ```
pub fn counted_leaves(
    stem: &str,
    names: &[String],
    count: u64,
    role: Role,
    key: KeyAlg,
) -> Result<Vec<LeafSpec>, super::names::NameError> {
    use super::model::COUNT_PLACEHOLDER;
    (1..=count)
        .map(|n| {
            let n_text = n.to_string();
            let name = if stem.contains(COUNT_PLACEHOLDER) {
                stem.replace(COUNT_PLACEHOLDER, &n_text)
            } else {
                format!("{stem}-{n}")
            };
            super::names::file_name(&name)?;
            let sans = names
                .iter()
                .map(|a| super::names::classify(&a.replace(COUNT_PLACEHOLDER, &n_text)))
                .collect::<Result<Vec<_>, _>>()?;
            let mut spec = LeafSpec::new(name, LOCAL_CA_NAME, role, sans);
            spec.key = key;
            Ok(spec)
        })
        .collect()
}

fn read_only(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EROFS)
}

/// mkcert's file naming: the first name (`*` as `_wildcard`), `+N` for N more names, and
/// `-client` for client certificates.
///
/// ```
/// use certlab::pki::{local_ca::leaf_file_name, San};
/// let sans = vec![San::Dns("*.example.com".into()), San::Ip("127.0.0.1".parse().unwrap())];
/// assert_eq!(leaf_file_name(&sans, false), "_wildcard.example.com+1");
/// ```
pub fn leaf_file_name(sans: &[San], client: bool) -> String {
    let first = match sans.first() {
        Some(San::Dns(d)) => d.replace('*', "_wildcard"),
        Some(San::Ip(ip)) => ip.to_string().replace(':', "_"),
        Some(San::Email(e)) => e
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+@".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
        Some(San::Uri(u)) => u
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
        None => "cert".into(),
    };
    let more = if sans.len() > 1 {
        format!("+{}", sans.len() - 1)
    } else {
        String::new()
    };
    let suffix = if client { "-client" } else { "" };
    format!("{first}{more}{suffix}")
}
