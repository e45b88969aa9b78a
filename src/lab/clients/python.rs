//! Running Python's `ssl` module (default context, OpenSSL 3) against lab endpoints: one
//! `python3` process per batch runs `templates/clients/client.py` over the line protocol.

use std::path::Path;
use std::process::Command;

use super::{ClientAnswer, ClientJob, ClientRunError, require_tool, run_line_program};
use crate::clients::Client;

/// The Python client program (standard library only).
pub(super) const PROGRAM: &str = include_str!("../../../templates/clients/client.py");

/// The interpreter run.
pub(super) const PYTHON: &str = "python3";

/// Runs `jobs` with this family (see [`super::run`]).
pub(super) fn run(jobs: &[ClientJob], workdir: &Path) -> Result<Vec<ClientAnswer>, ClientRunError> {
    run_python(Client::Python, &[], jobs, workdir)
}

/// Writes the program into `workdir` and runs it once for all `jobs` with `args`.
pub(super) fn run_python(
    client: Client,
    args: &[&str],
    jobs: &[ClientJob],
    workdir: &Path,
) -> Result<Vec<ClientAnswer>, ClientRunError> {
    require_tool(client, PYTHON)?;
    let script = workdir.join(format!("certlab-client-{}.py", client.name()));
    std::fs::write(&script, PROGRAM).map_err(|e| ClientRunError::Failed {
        client,
        reason: format!("cannot write {}: {e}", script.display()),
    })?;
    let mut command = Command::new(PYTHON);
    command.arg(&script).args(args);
    let mut answers = run_line_program(client, command, jobs)?;
    for a in &mut answers {
        if let super::Answer::Rejected(words) = &mut a.answer {
            *words = super::stable_words(words);
        }
    }
    Ok(answers)
}
