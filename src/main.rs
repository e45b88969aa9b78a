//! The `certlab` binary: parse, call the library, print, exit.

mod cli;

fn main() -> std::process::ExitCode {
    // Like any Unix filter, end quietly when the reader of stdout goes away
    // (`certlab inspect ... | head -1`) instead of panicking in println!. Sockets are still
    // exposed: std's `write` sends with MSG_NOSIGNAL but its `write_vectored` (what rustls
    // uses) is writev(2), which raises SIGPIPE; `probe` writes one buffer at a time, `serve`
    // and `lab` ignore SIGPIPE.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match cli::parse_args() {
        Ok(args) => cli::run(args),
        Err(code) => code,
    }
}
