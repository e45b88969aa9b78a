//! Files: every reader of certificates, CRLs, private keys and PEM blocks (PEM or DER), and
//! the atomic writer, with one error type, [`FileError`], for all of them. The other modules'
//! errors wrap it (`#[from] FileError`) instead of each repeating a path and an I/O error.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// A file could not be read, is not what it should be, or could not be written.
#[derive(Debug)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: FileErrorKind,
}

/// What went wrong with a file.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileErrorKind {
    /// The file could not be read (missing, no permission, a directory ...).
    Unreadable(std::io::Error),
    /// The file (or its directory) could not be written, created or removed.
    Unwritable(std::io::Error),
    /// The file is empty.
    Empty,
    /// The file is PEM, but not valid PEM.
    NotPem(String),
    /// The file holds none of what was asked for (`what`: "certificate", "CRL" ...).
    NoBlock(&'static str),
    /// The content is not what it should be (not X.509, not a CRL, not a manifest ...).
    Malformed(String),
}

impl FileError {
    /// A file that could not be read.
    pub(crate) fn unreadable(path: &Path, source: std::io::Error) -> Self {
        Self::new(path, FileErrorKind::Unreadable(source))
    }

    /// A file that could not be written (or a directory created, a file removed).
    pub fn unwritable(path: &Path, source: std::io::Error) -> Self {
        Self::new(path, FileErrorKind::Unwritable(source))
    }

    /// A file whose content is not what it should be.
    pub(crate) fn malformed(path: &Path, message: impl Into<String>) -> Self {
        Self::new(path, FileErrorKind::Malformed(message.into()))
    }

    fn new(path: &Path, kind: FileErrorKind) -> Self {
        FileError {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// Whether writing failed (everything else is about a file certlab read).
    pub fn is_write(&self) -> bool {
        matches!(self.kind, FileErrorKind::Unwritable(_))
    }

    /// The I/O error, if reading or writing failed.
    pub fn io(&self) -> Option<&std::io::Error> {
        match &self.kind {
            FileErrorKind::Unreadable(e) | FileErrorKind::Unwritable(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FileErrorKind::Unreadable(_) => {
                write!(f, "cannot read {}: {}", self.path.display(), self.kind)
            }
            _ => write!(f, "{}: {}", self.path.display(), self.kind),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io().map(|e| e as _)
    }
}

impl fmt::Display for FileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileErrorKind::Unreadable(e) | FileErrorKind::Unwritable(e) => write!(f, "{e}"),
            FileErrorKind::Empty => f.write_str("the file is empty"),
            FileErrorKind::NotPem(e) => write!(f, "not valid PEM: {e}"),
            FileErrorKind::NoBlock(what) => write!(f, "no {what} in the file"),
            FileErrorKind::Malformed(m) => f.write_str(m),
        }
    }
}

/// Creates `dir` and its missing parents, each `0755` at most (what the umask leaves of it):
/// never group- or world-writable, even under `umask 000`, as they hold keys whose files anyone
/// who may write the directory could replace.
pub fn create_dirs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

/// Creates the one directory `dir` (its parent exists), `0755` at most as [`create_dirs`].
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o755).create(dir)
}

/// The most [`read`] takes of a regular file: more than anything certlab writes (a fleet of
/// the largest `count`, 1,000,000 identities, exported as one bundle is ~1.4 GiB), less than a
/// disk image given by mistake.
pub const MAX_FILE_SIZE: u64 = 2 << 30;

/// The most [`read`] takes of anything else — a device, a pipe, a FIFO — whose size is not
/// known beforehand: `/dev/zero` given by mistake is refused after this much instead of read
/// until memory runs out.
pub const MAX_STREAM_SIZE: u64 = 64 << 20;

/// Reads a whole file: a regular file of at most [`MAX_FILE_SIZE`] bytes, anything else (an
/// endless device, a pipe) up to [`MAX_STREAM_SIZE`]; more is [`FileErrorKind::Malformed`].
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let file = fs::File::open(path).map_err(|e| FileError::unreadable(path, e))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let regular = size.is_some();
    let limit = if regular {
        MAX_FILE_SIZE
    } else {
        MAX_STREAM_SIZE
    };
    // One allocation for a regular file, as `fs::read` makes (the `take` hides its size).
    let mut bytes = Vec::with_capacity(size.map_or(0, |s| s.min(limit) as usize + 1));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::unreadable(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::malformed(
            path,
            format!(
                "larger than {} MiB: certlab reads no {} that large (certificates, keys, CRLs, requests, specs)",
                limit >> 20,
                if regular { "file" } else { "stream" }
            ),
        ));
    }
    Ok(bytes)
}

/// Whether the bytes hold a PEM block (else they are taken as DER).
pub(crate) fn is_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
}

/// The contents of the PEM blocks of `bytes` (read from `path`) with label `tag` (`None`:
/// every block), in order.
pub(crate) fn parse_blocks(
    path: &Path,
    bytes: &[u8],
    tag: Option<&str>,
) -> Result<Vec<Vec<u8>>, FileError> {
    let blocks = ::pem::parse_many(bytes)
        .map_err(|e| FileError::new(path, FileErrorKind::NotPem(e.to_string())))?;
    Ok(blocks
        .into_iter()
        .filter(|p| tag.is_none_or(|t| p.tag() == t))
        .map(|p| p.into_contents())
        .collect())
}

/// Reads every PEM block of a file (`tag` filters; `None` keeps all).
pub fn read_blocks(path: &Path, tag: Option<&str>) -> Result<Vec<Vec<u8>>, FileError> {
    parse_blocks(path, &read(path)?, tag)
}

/// Reads the certificates of a PEM file (every `CERTIFICATE` block, in order) or a single DER
/// certificate. No certificate is an error, and so is one that is not X.509.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, FileError> {
    let bytes = read(path)?;
    let certs: Vec<CertificateDer<'static>> = if is_pem(&bytes) {
        parse_blocks(path, &bytes, Some("CERTIFICATE"))?
            .into_iter()
            .map(CertificateDer::from)
            .collect()
    } else if bytes.is_empty() {
        return Err(FileError::new(path, FileErrorKind::Empty));
    } else if crate::x509::Cert::parse(&bytes).is_ok() {
        vec![CertificateDer::from(bytes)]
    } else {
        return Err(FileError::malformed(
            path,
            "neither PEM nor a DER certificate (no certificate in the file)",
        ));
    };
    if certs.is_empty() {
        return Err(FileError::new(path, FileErrorKind::NoBlock("certificate")));
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = crate::x509::Cert::parse(c) {
            return Err(FileError::malformed(
                path,
                format!("certificate {} is not valid X.509: {e}", i + 1),
            ));
        }
    }
    Ok(certs)
}

/// Reads the CRLs of a PEM (`X509 CRL` blocks) or DER file; each must parse.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, FileError> {
    let bytes = read(path)?;
    let crls = if is_pem(&bytes) {
        parse_blocks(path, &bytes, Some("X509 CRL"))?
    } else {
        vec![bytes]
    };
    if crls.is_empty() {
        return Err(FileError::new(path, FileErrorKind::NoBlock("CRL")));
    }
    crls.into_iter()
        .map(|der| {
            webpki::BorrowedCertRevocationList::from_der(&der).map_err(|e| {
                FileError::malformed(path, format!("not a CRL certlab can use: {e:?}"))
            })?;
            Ok(CertificateRevocationListDer::from(der))
        })
        .collect()
}

/// Reads the first private key of a PEM file (`PRIVATE KEY`, `EC PRIVATE KEY` or
/// `RSA PRIVATE KEY`).
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, FileError> {
    let bytes = read(path)?;
    let blocks = ::pem::parse_many(&bytes)
        .map_err(|e| FileError::new(path, FileErrorKind::NotPem(e.to_string())))?;
    for p in blocks {
        let tag = p.tag().to_string();
        let der = p.into_contents();
        match tag.as_str() {
            "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(der.into())),
            "EC PRIVATE KEY" => return Ok(PrivateKeyDer::Sec1(der.into())),
            "RSA PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs1(der.into())),
            _ => {}
        }
    }
    Err(FileError::new(
        path,
        FileErrorKind::NoBlock("PRIVATE KEY block"),
    ))
}

/// One PEM block: `der` under `-----BEGIN {tag}-----`, base64 in lines of 64, every line
/// ending in LF as OpenSSL, rcgen, mkcert and trustme write them (the pem crate's default is
/// CRLF). Every PEM file certlab writes is made of these: a file with CRs would differ from
/// its manifest's SHA-256 after a Git checkout that normalises line endings (`* text=auto`).
pub fn encode_block(tag: &str, der: &[u8]) -> String {
    let config = ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF);
    ::pem::encode_config(&::pem::Pem::new(tag, der.to_vec()), config)
}

/// PEM text of certificates, one block each.
pub fn pem_certs<'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'static>>) -> String {
    certs
        .into_iter()
        .map(|c| encode_block("CERTIFICATE", c))
        .collect()
}

/// The prefix of the temporary files of [`write_atomic`].
pub(crate) const TEMP_PREFIX: &str = ".certlab-";

/// Writes a file atomically: a temporary file in the same directory, then a rename. `secret`
/// files get mode 0600 (from creation on, never readable by others) and are synced to disk
/// before the rename; others get 0644.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), FileError> {
    write_atomic_as(path, bytes, secret, TEMP_PREFIX)
}

/// [`write_atomic`] with a temporary file named `PREFIX` and random characters (see
/// [`stage_as`]).
pub(crate) fn write_atomic_as(
    path: &Path,
    bytes: &[u8],
    secret: bool,
    prefix: &str,
) -> Result<(), FileError> {
    // A key must survive a crash whole: without it, its certificates are worthless.
    // Certificates and the manifest can be regenerated; the rename alone keeps them atomic.
    stage_as(path, bytes, secret, secret, prefix)?
        .persist(path)
        .map_err(|e| FileError::unwritable(path, e.error))?;
    Ok(())
}

/// A temporary file in `path`'s directory holding `bytes` (mode 0600 when `secret`, else
/// 0644; synced to disk when `sync`), to be renamed to `path`, named `PREFIX` and random
/// characters (a prefix that names the writing process lets a later writer remove what a
/// killed one left).
pub(crate) fn stage_as(
    path: &Path,
    bytes: &[u8],
    secret: bool,
    sync: bool,
    prefix: &str,
) -> Result<tempfile::NamedTempFile, FileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let unwritable = |e| FileError::unwritable(path, e);
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(dir)
        .map_err(|e| FileError::unwritable(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if secret { 0o600 } else { 0o644 };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(unwritable)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    tmp.write_all(bytes).map_err(unwritable)?;
    if sync {
        tmp.as_file().sync_all().map_err(unwritable)?;
    }
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_type_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = read_certs(&missing).unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::Unreadable(_)) && !e.is_write());
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "").unwrap();
        assert!(matches!(
            read_certs(&empty).unwrap_err().kind,
            FileErrorKind::Empty
        ));
        let key_only = dir.path().join("k.pem");
        fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = read_certs(&key_only).unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::NoBlock("certificate")),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("{}: no certificate in the file", key_only.display())
        );
        assert!(read_private_key(&key_only).is_ok());
        let e = read_crls(&key_only).unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::NoBlock("CRL")), "{e:?}");
        let through_file = key_only.join("x.pem");
        let e = write_atomic(&through_file, b"x", false).unwrap_err();
        assert!(e.is_write(), "{e:?}");
    }
}
