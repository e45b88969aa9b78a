//! Log lines that never block the server: [`LineLog`].
//!
//! `certlab serve` logs every connection on stderr, and stderr is often a pipe that nobody
//! reads (Python's `subprocess.Popen(stderr=PIPE)`) or whose reader has gone (`2>&1 | head -1`).
//! Writing there from the server's own thread would block it (full pipe) or kill it (SIGPIPE).
//! So lines go into a bounded queue that the caller never waits on (a full queue drops the line
//! and counts it), and one thread of their own writes them: it waits at most [`WRITE_WAIT`] for
//! the file to become writable, and drops whatever is queued when it does not (counted too).
//! When the file is writable again it first says how many lines were dropped, and
//! [`LineLog::close`] says it once more at the end.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// At most this many lines wait to be written; further ones are dropped (and counted).
pub(super) const QUEUE_LINES: usize = 1024;

/// How long the writer waits for the file to become writable before it drops what is queued.
pub(super) const WRITE_WAIT: Duration = Duration::from_millis(50);

/// Lines longer than this are cut, so that one write to a pipe is atomic (`PIPE_BUF`).
const MAX_LINE: usize = 4000;

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    closing: bool,
    finished: bool,
}

struct Inner {
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
    dropped: AtomicU64,
}

/// A non-blocking line logger writing to one file descriptor from a thread of its own.
/// Cloning gives another handle on the same logger.
///
/// ```
/// use certlab::serve::LineLog;
/// # fn main() -> std::io::Result<()> {
/// let log = LineLog::stderr()?;
/// log.line("[localhost] 127.0.0.1:50000 ...: 200 sent (1 ms)"); // never blocks
/// assert_eq!(log.close(std::time::Duration::from_millis(500)), 0); // lines dropped
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LineLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LineLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineLog")
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl LineLog {
    /// A logger writing to (a duplicate of) this process's stderr.
    pub fn stderr() -> io::Result<LineLog> {
        use std::os::fd::AsFd;
        LineLog::new(io::stderr().as_fd().try_clone_to_owned()?)
    }

    /// A logger writing to `fd` (a pipe, a file, a terminal), from a new thread.
    pub fn new(fd: OwnedFd) -> io::Result<LineLog> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let writer = inner.clone();
        std::thread::Builder::new()
            .name("certlab-log".into())
            .spawn(move || write_loop(&writer, &fd))?;
        Ok(LineLog { inner })
    }

    /// Queues one line (a newline is added); returns false when it was dropped because the
    /// queue is full or the logger is closed. Never blocks on the file.
    pub fn line(&self, text: impl Into<String>) -> bool {
        let mut state = lock(&self.inner.state);
        if state.closing || state.queue.len() >= QUEUE_LINES {
            drop(state);
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        state.queue.push_back(text.into());
        drop(state);
        self.inner.wake.notify_one();
        true
    }

    /// How many lines were dropped so far.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued and, when lines were dropped, a last line saying how many; waits
    /// for that at most `within` (the file may never become writable). Returns the number of
    /// lines dropped. Lines queued afterwards are dropped.
    pub fn close(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        let mut state = lock(&self.inner.state);
        state.closing = true;
        self.inner.wake.notify_one();
        while !state.finished {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .inner
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(state);
        self.dropped()
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn dropped_line(n: u64) -> String {
    format!("certlab: {n} log lines dropped (stderr was not writable)")
}

fn write_loop(inner: &Inner, fd: &OwnedFd) {
    // Dropped lines already reported.
    let mut reported = 0u64;
    loop {
        let (line, closing) = {
            let mut state = lock(&inner.state);
            while state.queue.is_empty() && !state.closing {
                let (s, timeout) = inner
                    .wake
                    .wait_timeout(state, Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner());
                state = s;
                if timeout.timed_out() {
                    break;
                }
            }
            (state.queue.pop_front(), state.closing)
        };
        // The periodic report: once the file is writable again, say what was lost.
        let dropped = inner.dropped.load(Ordering::Relaxed);
        if dropped > reported && write_line(fd, &dropped_line(dropped - reported)).is_ok() {
            reported = dropped;
        }
        match line {
            // Not writable (a full pipe nobody reads, a closed reader): drop this line and
            // everything queued behind it.
            Some(line) if write_line(fd, &line).is_err() => {
                let mut state = lock(&inner.state);
                let n = 1 + state.queue.len() as u64;
                state.queue.clear();
                drop(state);
                inner.dropped.fetch_add(n, Ordering::Relaxed);
            }
            Some(_) => {}
            None if closing => {
                let dropped = inner.dropped.load(Ordering::Relaxed);
                if dropped > reported {
                    let _ = write_line(fd, &dropped_line(dropped - reported));
                }
                lock(&inner.state).finished = true;
                inner.done.notify_all();
                return;
            }
            None => {}
        }
    }
}

/// Writes one line if the file becomes writable within [`WRITE_WAIT`].
fn write_line(fd: &OwnedFd, line: &str) -> io::Result<()> {
    let mut end = line.len().min(MAX_LINE);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let mut bytes = Vec::with_capacity(end + 1);
    bytes.extend_from_slice(&line.as_bytes()[..end]);
    bytes.push(b'\n');
    let deadline = Instant::now() + WRITE_WAIT;
    let mut written = 0;
    while written < bytes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as libc::c_int) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if ready == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if pfd.revents & (libc::POLLERR | libc::POLLNVAL | libc::POLLHUP) != 0
            && pfd.revents & libc::POLLOUT == 0
        {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        // A pipe that polls writable has room for PIPE_BUF bytes, so this write of at most
        // MAX_LINE + 1 bytes does not block (we are the file's only writer in this process).
        // SAFETY: the pointer and length describe the live `bytes` buffer.
        let n = unsafe {
            libc::write(
                fd.as_raw_fd(),
                bytes[written..].as_ptr().cast(),
                bytes.len() - written,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        written += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_full_pipe_drops_and_counts_lines_and_never_blocks_the_caller() {
        let (mut reader, writer) = io::pipe().unwrap();
        let log = LineLog::new(writer.into()).unwrap();
        let line = "x".repeat(200);
        let start = Instant::now();
        // ~100 lines fill a 64 KiB pipe; 5,000 cannot all fit nor all queue.
        for _ in 0..5000 {
            log.line(line.clone());
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(300));
        let dropped = log.dropped();
        assert!(dropped > 0, "nothing dropped");
        // Reading again: the logger reports the loss, then writes new lines.
        let reading = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = reader.read_to_string(&mut all);
            all
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(log.line("after"));
        let total = log.close(Duration::from_secs(2));
        drop(log);
        let all = reading.join().unwrap();
        assert!(
            all.contains("log lines dropped (stderr was not writable)"),
            "{}",
            &all[all.len().saturating_sub(300)..]
        );
        assert!(all.ends_with("after\n") || all.contains("after\n"));
        let kept = all.lines().filter(|l| *l == line).count() as u64;
        assert_eq!(kept + total, 5000, "every line is written or counted");
    }

    #[test]
    fn a_closed_reader_drops_lines_without_killing_anyone() {
        let (reader, writer) = io::pipe().unwrap();
        drop(reader);
        // (Rust test binaries ignore SIGPIPE, as `certlab serve` does.)
        let log = LineLog::new(writer.into()).unwrap();
        for i in 0..10 {
            log.line(format!("line {i}"));
        }
        assert_eq!(log.close(Duration::from_secs(2)), 10);
    }
}
