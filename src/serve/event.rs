//! The event loop of one endpoint: one thread, non-blocking sockets (mio), a deadline per
//! connection.
//!
//! Every connection is a small state machine — reading (the handshake, then the request),
//! closing (writing what is queued, then a half-close), lingering (reading until the client
//! closes, so our last bytes are not destroyed by a reset) — driven whenever its socket is
//! ready. A client that sends nothing, or one byte now and then, costs a file descriptor and a
//! few kilobytes until its own deadline ([`IO_TIMEOUT`] after the accept) and never delays
//! anyone else. At most `max_connections` are open at a time; further ones are not accepted
//! and wait in the listen queue ([`LISTEN_BACKLOG`]) until a slot frees.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConnection;

use super::{
    ClientCertLog, ConnectionLog, IO_TIMEOUT, MAX_LOG, MAX_REQUEST, Observer, alert_for,
    http_response,
};
use crate::tls::alert_text;

/// The token of the waker that stops the loop.
pub(super) const WAKER: Token = Token(usize::MAX);
const LISTENER: Token = Token(usize::MAX - 1);

/// The error of a connection cut short because its endpoint stopped.
const STOPPED: &str = "the server stopped";

/// How long a closing connection may take to flush its last bytes, and then how long we read
/// (and discard) until the client closes.
const LINGER: Duration = Duration::from_secs(1);

/// At most one return of freed memory to the system per this interval (when idle).
const TRIM_INTERVAL: Duration = Duration::from_secs(1);

/// How long accepting pauses when the process is out of file descriptors (the connection
/// waits in the listen queue meanwhile).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// What the loop and the [`Endpoint`](super::Endpoint) share.
pub(super) struct Shared {
    pub name: String,
    pub stop: AtomicBool,
    pub open: AtomicUsize,
    pub log: Mutex<VecDeque<ConnectionLog>>,
    pub observer: Option<Observer>,
    /// The TLS configuration each new connection takes (`None`: plaintext); a reload
    /// replaces it, connections already accepted keep theirs.
    pub config: super::reload::CurrentConfig,
}

impl Shared {
    fn record(&self, log: ConnectionLog) {
        if let Some(observer) = &self.observer {
            observer(&log);
        }
        let mut all = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_LOG {
            all.pop_front();
        }
        all.push_back(log);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The handshake, then the request.
    Reading,
    /// Writing what is queued, then a half-close.
    Closing,
    /// Reading until the client closes.
    Lingering,
}

enum Next {
    Wait,
    Done,
}

struct Conn {
    sock: TcpStream,
    start: Instant,
    deadline: Instant,
    phase: Phase,
    /// `None` in plaintext mode.
    tls: Option<ServerConnection>,
    asks_client_cert: bool,
    handshake_done: bool,
    request: Vec<u8>,
    /// Plaintext mode: the answer, and how much of it is written.
    out: Vec<u8>,
    out_pos: usize,
    log: ConnectionLog,
}

/// The loop of one endpoint.
pub(super) struct EventLoop {
    pub poll: Poll,
    pub listener: TcpListener,
    pub shared: Arc<Shared>,
    pub max: usize,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    accept_pending: bool,
    accept_paused_until: Option<Instant>,
    /// Connections closed since memory was last returned to the system, and when that was.
    closed_since_trim: bool,
    last_trim: Instant,
}

impl EventLoop {
    pub(super) fn new(
        poll: Poll,
        mut listener: TcpListener,
        shared: Arc<Shared>,
        max: usize,
    ) -> io::Result<EventLoop> {
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            listener,
            shared,
            max: max.max(1),
            conns: Vec::new(),
            free: Vec::new(),
            deadlines: BinaryHeap::new(),
            accept_pending: true,
            accept_paused_until: None,
            closed_since_trim: false,
            last_trim: Instant::now(),
        })
    }

    fn open(&self) -> usize {
        self.conns.len() - self.free.len()
    }

    /// Runs until the endpoint is stopped; open connections are then closed.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let mut wake_at = self.deadlines.peek().map(|Reverse((at, _))| *at);
            if self.accept_pending && self.open() < self.max {
                wake_at = match (wake_at, self.accept_paused_until) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            if self.closed_since_trim && self.open() == 0 {
                let at = self.last_trim + TRIM_INTERVAL;
                wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
            }
            let timeout = wake_at.map(|at| at.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                // Nothing sensible is left to do; the endpoint stops serving.
                return;
            }
            if self.shared.stop.load(Ordering::SeqCst) {
                self.close_all();
                return;
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    LISTENER => self.accept_pending = true,
                    Token(i) => self.drive(i),
                }
            }
            self.expire(Instant::now());
            if self.accept_pending {
                self.accept();
            }
            self.shared.open.store(self.open(), Ordering::Relaxed);
            self.trim_when_idle();
        }
    }

    /// After a burst, give the memory of its connections back (RSS returns near its baseline
    /// instead of staying at the peak): when no connection is open, at most once a second.
    fn trim_when_idle(&mut self) {
        if !self.closed_since_trim || self.open() > 0 || self.last_trim.elapsed() < TRIM_INTERVAL {
            return;
        }
        self.closed_since_trim = false;
        self.last_trim = Instant::now();
        // No connection is open: the slots and the (stale) deadlines go too.
        self.conns = Vec::new();
        self.free = Vec::new();
        self.deadlines = BinaryHeap::new();
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of the allocator.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    fn accept(&mut self) {
        while self.open() < self.max {
            if let Some(until) = self.accept_paused_until {
                if Instant::now() < until {
                    return;
                }
                self.accept_paused_until = None;
            }
            match self.listener.accept() {
                Ok((sock, peer)) => self.add(sock, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_pending = false;
                    return;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(_) => {
                    // Out of file descriptors or memory: the connection stays queued.
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut sock: TcpStream, peer: SocketAddr) {
        let start = Instant::now();
        let _ = sock.set_nodelay(true);
        let mut log = ConnectionLog::new(peer);
        // The configuration current now: a reload after this accept does not touch it.
        let config = self
            .shared
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (tls, asks_client_cert) = match config {
            None => (None, false),
            Some((config, asks)) => match ServerConnection::new(config) {
                Ok(c) => (Some(c), asks),
                Err(e) => {
                    log.result = "internal error".into();
                    log.error = Some(e.to_string());
                    self.shared.record(log);
                    return;
                }
            },
        };
        let token = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        if self
            .poll
            .registry()
            .register(
                &mut sock,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            self.free.push(token);
            return;
        }
        let deadline = start + IO_TIMEOUT;
        self.conns[token] = Some(Conn {
            sock,
            start,
            deadline,
            phase: Phase::Reading,
            tls,
            asks_client_cert,
            handshake_done: false,
            request: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            log,
        });
        self.deadlines.push(Reverse((deadline, token)));
        // The client's first bytes are often there already.
        self.drive(token);
    }

    /// Advances connection `token` as far as its socket allows.
    fn drive(&mut self, token: usize) {
        let Some(conn) = self.conns.get_mut(token).and_then(Option::as_mut) else {
            return;
        };
        let before = conn.deadline;
        let next = conn.advance(&self.shared.name);
        if conn.deadline != before {
            self.deadlines.push(Reverse((conn.deadline, token)));
        }
        if let Next::Done = next {
            self.finish(token);
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, token))) = self.deadlines.peek().copied() {
            if at > now {
                return;
            }
            self.deadlines.pop();
            let Some(conn) = self.conns.get_mut(token).and_then(Option::as_mut) else {
                continue;
            };
            // A stale entry: the connection has a later deadline now (or the slot was reused).
            if conn.deadline > now {
                continue;
            }
            match conn.timed_out(&self.shared.name) {
                Next::Done => self.finish(token),
                Next::Wait => self.deadlines.push(Reverse((conn.deadline, token))),
            }
        }
    }

    /// The endpoint stops: every connection still open is closed and logged, so that every
    /// accepted connection has its log entry (a client whose answer was sent and that had not
    /// closed yet when a SIGTERM came was missing from the log).
    fn close_all(&mut self) {
        for token in 0..self.conns.len() {
            if let Some(conn) = self.conns[token].as_mut() {
                conn.stopped();
            }
            self.finish(token);
        }
    }

    fn finish(&mut self, token: usize) {
        if let Some(mut conn) = self.conns[token].take() {
            let _ = self.poll.registry().deregister(&mut conn.sock);
            conn.log.duration = conn.start.elapsed();
            self.free.push(token);
            self.closed_since_trim = true;
            self.shared.record(conn.log);
        }
    }
}

impl Conn {
    fn advance(&mut self, name: &str) -> Next {
        loop {
            match self.phase {
                Phase::Reading => {
                    if self.tls.is_some() {
                        self.read_tls(name);
                    } else {
                        self.read_plaintext();
                    }
                    if self.phase == Phase::Reading {
                        // Handshake flights and session tickets.
                        return match self.flush() {
                            Ok(_) => Next::Wait,
                            Err(e) => {
                                self.io_failure(&e.to_string());
                                Next::Done
                            }
                        };
                    }
                }
                Phase::Closing => match self.flush() {
                    Ok(true) => {
                        let _ = self.sock.shutdown(Shutdown::Write);
                        self.phase = Phase::Lingering;
                        self.deadline = Instant::now() + LINGER;
                    }
                    Ok(false) => return Next::Wait,
                    Err(e) => {
                        self.write_failed(&e.to_string());
                        return Next::Done;
                    }
                },
                Phase::Lingering => {
                    let mut buf = [0u8; 4096];
                    loop {
                        match self.sock.read(&mut buf) {
                            Ok(0) => return Next::Done,
                            Ok(_) if Instant::now() >= self.deadline => return Next::Done,
                            Ok(_) => {}
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return Next::Done,
                        }
                    }
                }
            }
        }
    }

    /// The connection's deadline passed.
    fn timed_out(&mut self, name: &str) -> Next {
        match self.phase {
            Phase::Reading => {
                match (self.tls.is_some(), self.handshake_done) {
                    (false, _) => self.answer_plaintext(),
                    (true, false) => self.io_failure("timed out"),
                    (true, true) => self.no_request("timed out waiting for a request"),
                }
                self.advance(name)
            }
            Phase::Closing => {
                self.write_failed("timed out");
                Next::Done
            }
            Phase::Lingering => Next::Done,
        }
    }

    fn close(&mut self) {
        self.phase = Phase::Closing;
        self.deadline = Instant::now() + LINGER;
    }

    /// Writes what is queued; true when everything is written.
    fn flush(&mut self) -> io::Result<bool> {
        match &mut self.tls {
            Some(tls) => {
                while tls.wants_write() {
                    match tls.write_tls(&mut self.sock) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            None => {
                while self.out_pos < self.out.len() {
                    match self.sock.write(&self.out[self.out_pos..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => self.out_pos += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
        }
    }

    fn read_plaintext(&mut self) {
        let mut chunk = [0u8; 4096];
        loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => return self.answer_plaintext(),
                Ok(n) => {
                    self.request.extend_from_slice(&chunk[..n]);
                    if request_complete(&self.request) {
                        return self.answer_plaintext();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The answer is still tried (and its failure logged).
                Err(_) => return self.answer_plaintext(),
            }
        }
    }

    fn answer_plaintext(&mut self) {
        let body = "this endpoint does not speak TLS (certlab plaintext scenario)\n";
        self.out = http_response("400 Bad Request", body);
        self.log.result = if self.request.first() == Some(&0x16) {
            "400 sent (plaintext; the client started a TLS handshake)".into()
        } else {
            "400 sent (plaintext)".into()
        };
        self.close();
    }

    fn read_tls(&mut self, name: &str) {
        let mut chunk = [0u8; 4096];
        loop {
            let Some(tls) = &mut self.tls else { return };
            let (eof, blocked) = match tls.read_tls(&mut self.sock) {
                Ok(0) => (true, false),
                Ok(_) => (false, false),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => (false, true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if self.handshake_done {
                        self.no_request(&e.to_string());
                    } else {
                        self.io_failure(&e.to_string());
                    }
                    return;
                }
            };
            if let Err(e) = tls.process_new_packets() {
                return self.tls_failure(&e);
            }
            if !self.handshake_done && !tls.is_handshaking() {
                self.handshake_finished();
                if self.phase != Phase::Reading {
                    return;
                }
            }
            if self.handshake_done {
                let Some(tls) = &mut self.tls else { return };
                loop {
                    match tls.reader().read(&mut chunk) {
                        Ok(0) => {
                            // close_notify: what came is the request.
                            if self.request.is_empty() {
                                self.log.result =
                                    "handshake done; the client sent no request".into();
                                tls.send_close_notify();
                                self.close();
                            } else {
                                self.answer_tls(name);
                            }
                            return;
                        }
                        Ok(n) => {
                            self.request.extend_from_slice(&chunk[..n]);
                            if request_complete(&self.request) {
                                return self.answer_tls(name);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return self.no_request(&e.to_string()),
                    }
                }
            }
            if eof {
                if self.handshake_done {
                    self.no_request("the client closed the connection");
                } else {
                    self.io_failure("tls handshake eof");
                }
                return;
            }
            if blocked {
                return;
            }
        }
    }

    fn answer_tls(&mut self, name: &str) {
        let Some(tls) = &mut self.tls else { return };
        let body = format!("certlab scenario {name}: TLS handshake ok\n");
        match tls.writer().write_all(&http_response("200 OK", &body)) {
            Ok(()) => self.log.result = "200 sent".into(),
            Err(e) => {
                self.log.result = "handshake done; failed to answer".into();
                self.log.error = Some(e.to_string());
            }
        }
        tls.send_close_notify();
        self.close();
    }

    fn no_request(&mut self, error: &str) {
        self.log.result = "handshake done; no request".into();
        self.log.error = Some(error.to_string());
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
        }
        self.close();
    }

    /// Copies what was negotiated into the log.
    fn note_negotiated(&mut self) {
        let Some(tls) = &self.tls else { return };
        self.log.sni = tls.server_name().map(str::to_string);
        self.log.version = tls.protocol_version().map(|v| format!("{v:?}"));
        self.log.cipher = tls
            .negotiated_cipher_suite()
            .map(|s| crate::tls::suite_name(s.suite()));
        self.log.alpn = tls
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
    }

    fn handshake_finished(&mut self) {
        self.handshake_done = true;
        self.note_negotiated();
        let Some(tls) = &mut self.tls else { return };
        if self.asks_client_cert {
            self.log.client_cert = if tls.peer_certificates().is_some_and(|c| !c.is_empty()) {
                ClientCertLog::Accepted
            } else {
                ClientCertLog::NoneSent
            };
        }
        if self.log.alpn.as_deref() == Some("h2") {
            tls.send_close_notify();
            self.log.result = "handshake done (h2: closed without a response)".into();
            self.close();
        }
    }

    /// rustls refused something; the alert it queued is written while closing.
    fn tls_failure(&mut self, err: &rustls::Error) {
        self.note_negotiated();
        if self.handshake_done {
            return self.no_request(&err.to_string());
        }
        self.log.result = "handshake failed".into();
        self.log.alert_sent = alert_for(err).map(alert_text);
        if self.asks_client_cert {
            self.log.client_cert = match err {
                rustls::Error::NoCertificatesPresented => ClientCertLog::NoneSent,
                rustls::Error::InvalidCertificate(e) => ClientCertLog::Rejected(format!("{e}")),
                _ => ClientCertLog::Unknown,
            };
        }
        self.log.error = Some(err.to_string());
        self.close();
    }

    /// The handshake ended without a TLS error: the client went away, or the deadline passed.
    fn io_failure(&mut self, error: &str) {
        if self.tls.is_none() || self.handshake_done {
            if self.log.error.is_none() {
                self.log.error = Some(error.to_string());
            }
            self.close();
            return;
        }
        self.note_negotiated();
        self.log.result = "handshake failed".into();
        if self.asks_client_cert {
            self.log.client_cert = ClientCertLog::Unknown;
        }
        self.log.error = Some(error.to_string());
        self.close();
    }

    /// The endpoint stops with this connection open: an answer already written stands, the
    /// rest is cut short.
    fn stopped(&mut self) {
        match self.phase {
            Phase::Lingering => {}
            Phase::Closing => self.write_failed(STOPPED),
            Phase::Reading => {
                if self.log.result.is_empty() {
                    self.log.result = "closed: the server stopped".into();
                }
                if self.log.error.is_none() {
                    self.log.error = Some(STOPPED.to_string());
                }
            }
        }
    }

    /// Our last bytes could not be written.
    fn write_failed(&mut self, error: &str) {
        match self.log.result.as_str() {
            "200 sent" => self.log.result = "handshake done; failed to answer".into(),
            r if r.starts_with("400 sent") => {
                self.log.result = "failed to answer (plaintext)".into()
            }
            _ => {}
        }
        if self.log.error.is_none() {
            self.log.error = Some(error.to_string());
        }
    }
}

/// Whether a request head is complete: a blank line, a TLS record start (a TLS client on a
/// plaintext port), or the size limit.
fn request_complete(buf: &[u8]) -> bool {
    buf.first() == Some(&0x16)
        || buf.windows(4).any(|w| w == b"\r\n\r\n")
        || buf.windows(2).any(|w| w == b"\n\n")
        || buf.len() >= MAX_REQUEST
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(port: u16) -> ConnectionLog {
        ConnectionLog::new(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn the_connection_log_is_a_ring_of_max_log_entries() {
        let shared = Shared {
            name: "ring".into(),
            stop: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            log: Mutex::new(VecDeque::new()),
            observer: None,
            config: std::sync::RwLock::new(None),
        };
        for i in 0..MAX_LOG + 5 {
            shared.record(log(i as u16));
        }
        let all = shared.log.lock().unwrap();
        assert_eq!(all.len(), MAX_LOG);
        assert_eq!(all.front().unwrap().peer.port(), 5, "the oldest went first");
        assert_eq!(all.back().unwrap().peer.port(), (MAX_LOG + 4) as u16);
    }

    #[test]
    fn a_request_head_ends_at_a_blank_line_a_tls_record_or_the_limit() {
        assert!(!request_complete(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(request_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(request_complete(b"GET /\n\n"));
        assert!(request_complete(&[0x16, 0x03, 0x01]));
        assert!(request_complete(&vec![b'a'; MAX_REQUEST]));
    }
}
