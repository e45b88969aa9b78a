//! `generate --check`: how a PKI directory on disk differs from what its spec and seed would
//! produce, and which of its certificates expire soon (a CI guard for committed fixtures).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::Pki;
use crate::pem::FileError;

/// How one file differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// On disk with other bytes than the spec makes.
    Changed,
    /// On disk with the bytes the spec makes but lines ending in CRLF: written by an older
    /// certlab (which wrote CRLF), or checked out by Git with `core.autocrlf` (still drift:
    /// its SHA-256 is not what the spec makes).
    #[serde(rename = "line-endings")]
    LineEndings,
    /// The spec makes it; it is not on disk.
    Missing,
    /// On disk; the spec does not make it.
    Extra,
}

impl Change {
    /// `changed`, `line-endings`, `missing` or `extra`.
    pub fn name(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::LineEndings => "line-endings",
            Change::Missing => "missing",
            Change::Extra => "extra",
        }
    }
}

/// One file that drifted, relative to the directory (`/` separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDrift {
    /// The file.
    pub file: String,
    /// How it differs.
    pub change: Change,
}

/// A certificate that is (or soon will be) expired although it was valid when issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    /// The entity.
    pub name: String,
    /// Its notAfter.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// Every regular file under `dir`, relative and `/` separated, with its bytes. Hidden files
/// and directories (names starting with `.`: temporary files, locks, `.gitignore`) are left out.
fn files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, FileError> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), FileError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FileError::unreadable(&path, source)
        };
        for entry in fs::read_dir(dir).map_err(err(dir))? {
            let entry = entry.map_err(err(dir))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(err(&path))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, fs::read(&path).map_err(err(&path))?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// `bytes` with every CRLF turned into LF.
pub(crate) fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// Compares the files of `actual` with those of `expected` (a fresh generation), byte for
/// byte; returns what differs, sorted by file name. Empty when identical.
pub fn compare_dirs(expected: &Path, actual: &Path) -> Result<Vec<FileDrift>, FileError> {
    let want = files(expected)?;
    let have = files(actual)?;
    let mut drift: Vec<FileDrift> = Vec::new();
    for (file, bytes) in &want {
        let change = match have.get(file) {
            None => Some(Change::Missing),
            Some(b) if b == bytes => None,
            Some(b) if crlf_to_lf(b) == *bytes => Some(Change::LineEndings),
            Some(_) => Some(Change::Changed),
        };
        if let Some(change) = change {
            drift.push(FileDrift {
                file: file.clone(),
                change,
            });
        }
    }
    drift.extend(
        have.keys()
            .filter(|f| !want.contains_key(*f))
            .map(|f| FileDrift {
                file: f.clone(),
                change: Change::Extra,
            }),
    );
    drift.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(drift)
}

/// Whether every difference of `drift` is a changed rendered config (`configs/…`) or the
/// manifest that records their SHA-256: what a PKI checked out at another path shows, as its
/// configs name the directory they were rendered in. False for no difference.
pub fn only_configs_differ(drift: &[FileDrift]) -> bool {
    !drift.is_empty()
        && drift.iter().all(|d| {
            d.change == Change::Changed
                && (d.file.starts_with("configs/") || d.file == super::manifest::MANIFEST_FILE)
        })
}

/// The directory the rendered configs under `dir/configs/` name, read from their first lines
/// (`… rendered by certlab from DIR.`): `None` when none says, they disagree, or it is `dir`
/// itself. Only a candidate: `generate --check` trusts it after making the configs for it
/// again and finding every file byte-identical.
pub fn configs_rendered_for(dir: &Path) -> Option<std::path::PathBuf> {
    const SAYS: &str = " rendered by certlab from ";
    let configs = files(&dir.join("configs")).ok()?;
    let mut named = configs.values().filter_map(|bytes| {
        let first = bytes.split(|&b| b == b'\n').next()?;
        let first = std::str::from_utf8(first).ok()?;
        let (_, rest) = first.split_once(SAYS)?;
        Some(rest.strip_suffix(['.', ':']).unwrap_or(rest).to_string())
    });
    let there = named.next()?;
    if named.any(|other| other != there) {
        return None;
    }
    let there = std::path::PathBuf::from(there);
    let here = std::path::absolute(dir).ok()?;
    (there != here).then_some(there)
}

/// The certificates of `pki` that were valid when issued (at `issued_at`) but are expired at
/// `wall_now + warn` (certificates expired on purpose by a fault are not reported).
pub fn expiring(
    pki: &Pki,
    issued_at: OffsetDateTime,
    wall_now: OffsetDateTime,
    warn: Duration,
) -> Vec<Expiring> {
    let limit = wall_now.checked_add(warn).unwrap_or(wall_now);
    pki.entities
        .iter()
        .filter(|e| e.not_after > issued_at && e.not_after <= limit)
        .map(|e| Expiring {
            name: e.name.clone(),
            not_after: e.not_after,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_changed_missing_and_extra_files_and_skips_hidden_ones() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            fs::create_dir(d.join("sub")).unwrap();
            fs::write(d.join("same.pem"), "x").unwrap();
        }
        fs::write(a.path().join("sub/c.pem"), "1").unwrap();
        fs::write(b.path().join("sub/c.pem"), "2").unwrap();
        fs::write(
            a.path().join("lf.pem"),
            "-----BEGIN X-----\nAA==\n-----END X-----\n",
        )
        .unwrap();
        fs::write(
            b.path().join("lf.pem"),
            "-----BEGIN X-----\r\nAA==\r\n-----END X-----\r\n",
        )
        .unwrap();
        fs::write(a.path().join("cr.pem"), "a\nb\n").unwrap();
        fs::write(b.path().join("cr.pem"), "a\rb\n").unwrap();
        fs::write(a.path().join("gone.key"), "k").unwrap();
        fs::write(b.path().join("old.pem"), "o").unwrap();
        fs::write(b.path().join(".lock"), "").unwrap();
        let drift = compare_dirs(a.path(), b.path()).unwrap();
        let got: Vec<_> = drift.iter().map(|d| (d.file.as_str(), d.change)).collect();
        assert_eq!(
            got,
            [
                ("cr.pem", Change::Changed),
                ("gone.key", Change::Missing),
                ("lf.pem", Change::LineEndings),
                ("old.pem", Change::Extra),
                ("sub/c.pem", Change::Changed)
            ]
        );
        assert!(compare_dirs(a.path(), a.path()).unwrap().is_empty());
    }

    fn drift(files: &[(&str, Change)]) -> Vec<FileDrift> {
        files
            .iter()
            .map(|&(file, change)| FileDrift {
                file: file.into(),
                change,
            })
            .collect()
    }

    #[test]
    fn only_changed_configs_and_the_manifest_count_as_a_move() {
        use Change::*;
        assert!(only_configs_differ(&drift(&[
            ("certlab.json", Changed),
            ("configs/web/otel.env", Changed)
        ])));
        assert!(!only_configs_differ(&[]));
        assert!(!only_configs_differ(&drift(&[
            ("configs/web/otel.env", Changed),
            ("web.pem", Changed)
        ])));
        assert!(!only_configs_differ(&drift(&[(
            "configs/web/otel.env",
            Missing
        )])));
        assert!(!only_configs_differ(&drift(&[("configs/new.yaml", Extra)])));
    }

    #[test]
    fn the_configs_say_where_they_were_rendered() {
        let d = tempfile::tempdir().unwrap();
        let web = d.path().join("configs/web");
        fs::create_dir_all(&web).unwrap();
        assert_eq!(configs_rendered_for(d.path()), None, "no configs");
        fs::write(d.path().join("configs/run.sh"), "#!/bin/sh\nPKI=/else\n").unwrap();
        assert_eq!(configs_rendered_for(d.path()), None, "no file says");
        let says = |path: &str, end: &str| {
            format!("# Things, rendered by certlab from {path}{end}\nx: 1\n")
        };
        fs::write(web.join("a.yaml"), says("/there/pki", ".")).unwrap();
        fs::write(web.join("b.env"), says("/there/pki", ".")).unwrap();
        fs::write(web.join("c.yaml"), says("/there/pki", ":")).unwrap();
        assert_eq!(
            configs_rendered_for(d.path()),
            Some(std::path::PathBuf::from("/there/pki"))
        );
        fs::write(web.join("b.env"), says("/elsewhere/pki", ".")).unwrap();
        assert_eq!(configs_rendered_for(d.path()), None, "they disagree");
        let here = std::path::absolute(d.path()).unwrap();
        for f in ["a.yaml", "b.env", "c.yaml"] {
            fs::write(web.join(f), says(&here.display().to_string(), ".")).unwrap();
        }
        assert_eq!(configs_rendered_for(d.path()), None, "rendered here");
    }
}
