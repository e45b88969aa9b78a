//! Running Curl against lab endpoints.

use std::path::Path;

use super::{ClientAnswer, ClientJob, ClientRunError};
use crate::clients::Client;

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    let _ = (jobs, workdir);
    Err(ClientRunError::NotImplemented(Client::Curl))
}
