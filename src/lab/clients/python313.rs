//! Running Python >= 3.13's default `ssl` context against lab endpoints, emulated on the
//! installed Python: the same program as [`super::python`] with `VERIFY_X509_STRICT` and
//! `VERIFY_X509_PARTIAL_CHAIN` turned on, as Python 3.13's `ssl.create_default_context()` does.

use std::path::Path;

use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    super::python::run_python(Client::Python313, &["--strict"], jobs, workdir)
}
