//! `certlab export`: an existing PKI in other formats (DER, PKCS#12, combined PEM, other key
//! formats); also the `--format` options that `generate` and `cert` share.

use std::path::{Path, PathBuf};

use certlab::pki::Pki;
use certlab::pki::export::{self, DEFAULT_P12_PASSWORD, ExportOptions, Format, KeyFormat};

use super::{CmdResult, EXIT_OK, Failure};

/// The format options of `generate`, `cert` and `export`.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArgs {
    /// Output format: pem, der, p12 (PKCS#12 for Java/.NET) or combined (chain + key in one PEM).
    #[arg(long, default_value = "pem")]
    pub format: Format,
    /// PKCS#12 password (default: changeit).
    #[arg(long, env = "CERTLAB_P12_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// PKCS#12 friendly name (alias) of the key entry (default: the entity's name).
    #[arg(long)]
    pub alias: Option<String>,
    /// Private key format: pkcs8 (default), sec1 (EC PRIVATE KEY) or pkcs1 (RSA PRIVATE KEY).
    #[arg(long, default_value = "pkcs8")]
    pub key_format: KeyFormat,
    /// Encrypt private keys (PKCS#8, PBES2 AES-256) with this password.
    #[arg(long, env = "CERTLAB_KEY_PASSWORD", hide_env_values = true)]
    pub key_password: Option<String>,
}

impl FormatArgs {
    /// Whether anything beyond the plain PEM files was asked for.
    pub fn wants_extra(&self) -> bool {
        self.format != Format::Pem
            || self.key_format != KeyFormat::Pkcs8
            || self.key_password.is_some()
    }

    /// As library options.
    pub fn options(&self) -> ExportOptions {
        ExportOptions {
            format: self.format,
            key_format: self.key_format,
            key_password: self.key_password.clone(),
            p12_password: self.password.clone(),
            alias: self.alias.clone(),
            bundle: None,
            dir: None,
        }
    }

    /// The extra files of `pki` in the asked format, in memory (none for plain PEM with
    /// PKCS#8 keys, already written).
    pub fn outputs(&self, pki: &Pki) -> Result<Vec<certlab::pki::store::Output>, Failure> {
        if !self.wants_extra() {
            return Ok(vec![]);
        }
        export::outputs(pki, &[], &self.options()).map_err(Failure::from)
    }

    /// Writes `only` (all when empty) of `pki` into `dir` in the asked format and prints the
    /// files (when `print`); does nothing for plain PEM with PKCS#8 keys (already written).
    pub fn write_extra(
        &self,
        pki: &Pki,
        only: &[String],
        dir: &Path,
        print: bool,
    ) -> Result<(), Failure> {
        if !self.wants_extra() {
            return Ok(());
        }
        let files = export::export(pki, only, dir, &self.options())?;
        if print {
            print_written(&files, self);
        }
        Ok(())
    }
}

/// Prints the files an export wrote.
pub fn print_written(files: &[PathBuf], args: &FormatArgs) {
    println!("wrote {} {} files:", files.len(), args.format);
    for f in files {
        println!("  {}", f.display());
    }
    if args.format == Format::P12 {
        match &args.password {
            Some(_) => println!("PKCS#12 password: as given"),
            None => {
                println!("PKCS#12 password: {DEFAULT_P12_PASSWORD} (choose one with --password)")
            }
        }
    }
}

/// Arguments of `certlab export`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  certlab export --pki pki --format p12 --password s3cret      # NAME.p12 per leaf, ca.p12 trust store
  certlab export --pki pki --format p12 --entity server --alias web
  certlab export --pki pki --format der -o der/                # NAME.der, NAME.key.der, ca.der
  certlab export --pki pki --format combined --entity server   # server.combined.pem: chain + key
  certlab export --pki pki --key-format sec1 --entity server   # server.ec.key (EC PRIVATE KEY)
  certlab export --pki pki --key-password s3cret               # NAME.enc.key (encrypted PKCS#8)
  certlab export --pki fleet --dir clients --bundle clients --format p12   # every client in clients.p12
Check a PKCS#12 file: openssl pkcs12 -info -noout -in pki/server.p12 -passin pass:s3cret")]
pub struct Args {
    /// The PKI directory (written by `certlab generate`).
    #[arg(long)]
    pub pki: PathBuf,
    /// Only this entity (repeatable; default: all).
    #[arg(long, short = 'e')]
    pub entity: Vec<String>,
    /// Where to write (default: the PKI directory).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Only the entities whose files are in this sub-directory of the PKI (a `[[leaf]]` with
    /// `dir`, e.g. `clients`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// One file NAME.p12 (--format p12: a key entry per leaf) or NAME.pem (chain and key of
    /// every leaf) instead of files per entity: a whole fleet at once.
    #[arg(long, value_name = "NAME")]
    pub bundle: Option<String>,
    /// Format options.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Runs `certlab export`.
pub fn run(args: Args) -> CmdResult {
    let options = ExportOptions {
        bundle: args.bundle.clone(),
        dir: args.dir.clone(),
        ..args.format.options()
    };
    let into_pki = match &args.out {
        None => true,
        Some(out) => same_dir(out, &args.pki),
    };
    let files = if into_pki {
        // Recorded in the PKI's manifest, so a regenerate rewrites or removes them.
        super::require_pki_dir(&args.pki)?;
        export::export_into_pki(&args.pki, &args.entity, &options)?
    } else {
        let pki = super::load_pki(&args.pki)?;
        let out = args.out.clone().unwrap_or_else(|| args.pki.clone());
        super::output_dir(&out)?;
        export::export(&pki, &args.entity, &out, &options)?
    };
    print_written(&files, &args.format);
    Ok(EXIT_OK)
}

/// Whether two paths name the same existing directory.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
