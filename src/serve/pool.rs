//! The threads endpoints run their event loops on, reused: an endpoint that stops hands its
//! thread back, and an endpoint started within [`IDLE_TIMEOUT`] takes that thread instead of
//! starting one. `certlab lab` serves, probes and stops one scenario after another on each of
//! its workers; with a new thread per endpoint, starting and ending those threads was ~5 % of
//! its CPU (perf: `clone3`, stack `mprotect`/`munmap`, a malloc arena per thread).

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How long a thread with nothing to run waits for another endpoint before it ends.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a pooled thread runs: the thread name to take, the work, and the sender whose drop
/// ends [`Running::join`].
type Task = (String, Box<dyn FnOnce() + Send>, Sender<()>);

/// A thread waiting for work, and how to hand it some.
struct Idle {
    id: u64,
    hand: Sender<Task>,
}

static IDLE: Mutex<Vec<Idle>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static STARTED: AtomicU64 = AtomicU64::new(0);

/// How many threads the pool has started in this process (for tests).
#[cfg(test)]
pub(crate) fn threads_started() -> u64 {
    STARTED.load(Ordering::Relaxed)
}

/// Work running on a pooled thread.
#[derive(Debug)]
pub(super) struct Running {
    done: Receiver<()>,
}

impl Running {
    /// Waits until the work has returned (or panicked) and its thread is idle again, so the
    /// next [`spawn`] from this thread finds it.
    pub(super) fn join(self) {
        // Nothing is ever sent: the sender is dropped, however the work ends.
        let _ = self.done.recv();
    }
}

/// Runs `work` on an idle pooled thread, or on a new thread named `name`.
pub(super) fn spawn(name: String, work: impl FnOnce() + Send + 'static) -> io::Result<Running> {
    let (done, done_rx) = mpsc::channel::<()>();
    let mut task: Task = (name, Box::new(work), done);
    loop {
        let idle = lock_idle().pop();
        let Some(idle) = idle else { break };
        match idle.hand.send(task) {
            Ok(()) => return Ok(Running { done: done_rx }),
            // That thread has just ended: try the next one.
            Err(mpsc::SendError(back)) => task = back,
        }
    }
    let name = task.0.clone();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || serve_tasks(task))?;
    STARTED.fetch_add(1, Ordering::Relaxed);
    Ok(Running { done: done_rx })
}

fn lock_idle() -> std::sync::MutexGuard<'static, Vec<Idle>> {
    IDLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pooled thread: runs its first task, then whatever it is handed, until it has waited
/// [`IDLE_TIMEOUT`] for nothing.
fn serve_tasks(first: Task) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut task = first;
    let mut named = true;
    loop {
        let (name, work, done) = task;
        if !named {
            set_thread_name(&name);
        }
        named = false;
        // A panic unwinds from here, dropping `done`: the join ends, the thread with it.
        work();
        let (hand, tasks) = mpsc::channel::<Task>();
        lock_idle().push(Idle { id, hand });
        drop(done);
        task = match tasks.recv_timeout(IDLE_TIMEOUT) {
            Ok(task) => task,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = lock_idle();
                if let Some(i) = idle.iter().position(|t| t.id == id) {
                    idle.remove(i);
                    return;
                }
                drop(idle);
                // A spawner took this thread just now and is handing it its task.
                match tasks.recv() {
                    Ok(task) => task,
                    Err(_) => return,
                }
            }
        };
    }
}

/// Names the calling thread (what `top -H` and debuggers show), as `Builder::name` does for
/// a new one; the kernel keeps the first 15 bytes.
fn set_thread_name(name: &str) {
    #[cfg(target_os = "linux")]
    {
        let short: Vec<u8> = name.bytes().filter(|b| *b != 0).take(15).collect();
        if let Ok(name) = std::ffi::CString::new(short) {
            // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
            unsafe {
                libc::prctl(libc::PR_SET_NAME, name.as_ptr());
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn thread_id_of(run: impl FnOnce() + Send + 'static) -> std::thread::ThreadId {
        let (tx, rx) = mpsc::channel();
        let running = spawn("certlab-test".to_string(), move || {
            run();
            tx.send(std::thread::current().id()).unwrap();
        })
        .unwrap();
        running.join();
        rx.recv().unwrap()
    }

    #[test]
    fn a_thread_is_reused_and_join_waits_for_the_work() {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let first = thread_id_of(move || {
            std::thread::sleep(Duration::from_millis(50));
            r.fetch_add(1, Ordering::SeqCst);
        });
        // join returned after the work: its effect is there.
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        // join returns once the thread is idle again, so the next spawn takes it (unless
        // another test of this binary took it first: among a few spawns in a row, one lands
        // on a thread that ran earlier work).
        let mut seen = vec![first];
        let mut reused = false;
        for _ in 0..8 {
            let id = thread_id_of(|| {});
            reused |= seen.contains(&id);
            seen.push(id);
        }
        assert!(reused, "no thread was reused: {seen:?}");
    }

    #[test]
    fn work_that_panics_still_ends_its_join() {
        let running = spawn("certlab-test".to_string(), || panic!("on purpose")).unwrap();
        running.join();
        // The pool still runs work afterwards.
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        spawn("certlab-test".to_string(), move || {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap()
        .join();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn many_at_once_all_run() {
        let ran = Arc::new(AtomicUsize::new(0));
        let running: Vec<Running> = (0..40)
            .map(|_| {
                let r = ran.clone();
                spawn("certlab-test".to_string(), move || {
                    std::thread::sleep(Duration::from_millis(20));
                    r.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        for r in running {
            r.join();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 40);
    }
}
