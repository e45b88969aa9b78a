//! One probe's connection: the TCP connect within the deadline, the handshake loop that feeds
//! rustls and watches what the peer sends (plain text, resets, alerts), the TLS 1.3
//! client-authentication wait, and the `GET /` after a good handshake. What goes wrong becomes a
//! [`Verdict`] through the shared classifier.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pki_types::ServerName;
use rustls::{AlertDescription, ClientConfig, ClientConnection, InvalidMessage, ProtocolVersion};

use super::ProbeOptions;
use super::recorder::{Captured, lock};
use super::report::TlsInfo;
use crate::outcome::Outcome;
use crate::verify::classify::{
    ClientAuthState, Verdict, classify_closed_after_client_auth, classify_closed_during_handshake,
    classify_connect_error, classify_handshake_io_error, classify_tls_error,
};

/// What one read from the socket produced.
enum Pumped {
    /// Bytes were processed.
    Progress,
    /// The peer closed the connection.
    Eof,
    /// Nothing arrived in time.
    Timeout,
    /// The socket failed (reset, broken pipe).
    Io(io::Error),
    /// rustls rejected what arrived (an alert, a bad message, our own verdict).
    Tls(rustls::Error),
    /// The first bytes are not a TLS record.
    NotTls(String),
}

/// One probe's connection state.
pub(super) struct Session {
    /// When connect plus handshake must be done.
    pub(super) deadline: Instant,
    /// The address connected to (or last tried).
    pub(super) address: Option<SocketAddr>,
    /// What was negotiated, once the handshake completed.
    pub(super) tls: Option<TlsInfo>,
    /// The first line of the answer to `GET /`.
    pub(super) http: Option<String>,
    first_bytes: Vec<u8>,
    captured: Arc<Mutex<Captured>>,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Session {
    /// A session that must be done by `deadline`, recording into `captured`.
    pub(super) fn new(deadline: Instant, captured: Arc<Mutex<Captured>>) -> Self {
        Session {
            deadline,
            address: None,
            tls: None,
            http: None,
            first_bytes: Vec::new(),
            captured,
        }
    }

    /// Connects to the first address that answers, shakes hands, and listens to what the
    /// server says next.
    pub(super) fn run(
        &mut self,
        addrs: &[SocketAddr],
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        host: &str,
        options: &ProbeOptions,
        ensure_trust: &mut dyn FnMut() -> bool,
    ) -> Result<(), Verdict> {
        let mut sock = self.connect(addrs)?;
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| Verdict::new(Outcome::HandshakeFailure, format!("rustls: {e}")))?;
        // The ClientHello goes first; the trust is read while the server works on its answer.
        let _ = flush(&mut conn, &mut sock);
        if !ensure_trust() {
            let _ = sock.shutdown(Shutdown::Both);
            return Err(Verdict::new(
                Outcome::HandshakeFailure,
                "the trust store could not be read",
            ));
        }
        let result = self.exchange(&mut conn, &mut sock, host, options);
        if result.is_ok() {
            conn.send_close_notify();
        }
        let _ = flush(&mut conn, &mut sock);
        let _ = sock.shutdown(Shutdown::Both);
        result
    }

    fn connect(&mut self, addrs: &[SocketAddr]) -> Result<TcpStream, Verdict> {
        let mut last: Option<(SocketAddr, io::Error)> = None;
        for addr in addrs {
            self.address = Some(*addr);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(addr, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    // Every socket has a timeout (DESIGN.md section 7): the rest of the budget,
                    // renewed before each read and write.
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    let left = left.max(Duration::from_millis(1));
                    let _ = s.set_read_timeout(Some(left));
                    let _ = s.set_write_timeout(Some(left));
                    return Ok(s);
                }
                Err(e) => last = Some(telling_error(last, *addr, e)),
            }
        }
        Err(match last {
            Some((addr, e)) => {
                self.address = Some(addr);
                classify_connect_error(&e, &self.addr())
            }
            None => Verdict::new(Outcome::Timeout, "no time left to connect"),
        })
    }

    fn addr(&self) -> String {
        self.address.map(|a| a.to_string()).unwrap_or_default()
    }

    /// Handshake, then what the server says after it.
    fn exchange(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        host: &str,
        options: &ProbeOptions,
    ) -> Result<(), Verdict> {
        while conn.is_handshaking() {
            match self.pump(conn, sock, self.deadline) {
                Pumped::Progress => {}
                Pumped::Eof => {
                    return Err(self.closed_during_handshake("closed the connection"));
                }
                Pumped::Io(e) => return Err(self.io_during_handshake(&e)),
                Pumped::Timeout => {
                    return Err(Verdict::new(
                        Outcome::Timeout,
                        format!(
                            "no answer to the TLS handshake within {} ms",
                            options.timeout.as_millis()
                        ),
                    ));
                }
                Pumped::NotTls(what) => return Err(Verdict::new(Outcome::NotTls, what)),
                Pumped::Tls(e) => return Err(self.tls_error(&e)),
            }
        }
        if let Err(e) = flush(conn, sock) {
            return Err(self.io_during_handshake(&e));
        }
        let version = conn.protocol_version();
        self.tls = Some(TlsInfo {
            version: version.map(version_name),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| crate::tls::suite_name(s.suite())),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        });
        if options.require_alpn && !options.alpn.is_empty() && conn.alpn_protocol().is_none() {
            return Err(Verdict::new(
                Outcome::AlpnMismatch,
                format!(
                    "offered {}; the server completed the handshake without choosing one",
                    options.alpn.join(", ")
                ),
            ));
        }
        let now = Instant::now();
        let wait_until = super::deadline_after(now, options.post_handshake_wait)
            .min(self.deadline.max(now + Duration::from_millis(100)));
        if version == Some(ProtocolVersion::TLSv1_3) && self.auth().requested {
            self.await_client_auth_verdict(conn, sock, wait_until)?;
        }
        let http = matches!(conn.alpn_protocol(), None | Some(b"http/1.1"));
        if options.http_request && http {
            self.http_exchange(conn, sock, host, wait_until)?;
        }
        Ok(())
    }

    /// TLS 1.3 client authentication: the server judges our certificate after our Finished.
    /// Waits until `until` for its verdict: an alert, or a ticket / data once it accepted us.
    fn await_client_auth_verdict(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        until: Instant,
    ) -> Result<(), Verdict> {
        loop {
            if conn.tls13_tickets_received() > 0 || has_plaintext(conn) {
                return Ok(());
            }
            match self.pump(conn, sock, until) {
                Pumped::Progress => {}
                Pumped::Timeout => return Ok(()),
                Pumped::Eof | Pumped::Io(_) => {
                    return Err(classify_closed_after_client_auth(self.auth()));
                }
                Pumped::Tls(e) => return Err(self.tls_error(&e)),
                Pumped::NotTls(what) => return Err(Verdict::new(Outcome::NotTls, what)),
            }
        }
    }

    /// Sends `GET /` and records the answer's first line. Only an alert about the client
    /// certificate changes the outcome here (servers that send no tickets).
    fn http_exchange(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        host: &str,
        until: Instant,
    ) -> Result<(), Verdict> {
        let host_header = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: certlab-probe\r\nConnection: close\r\n\r\n"
        );
        if conn.writer().write_all(request.as_bytes()).is_err() {
            return Ok(());
        }
        let mut answer = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            match conn.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.contains(&b'\n') || answer.len() > 512 {
                        break;
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
            match self.pump(conn, sock, until) {
                Pumped::Progress => {}
                Pumped::Tls(rustls::Error::AlertReceived(a)) => {
                    if self.auth().requested && a != AlertDescription::CloseNotify {
                        return Err(self.tls_error(&rustls::Error::AlertReceived(a)));
                    }
                    break;
                }
                _ => break,
            }
        }
        if !answer.is_empty() {
            let text = String::from_utf8_lossy(&answer);
            let line = text.lines().next().unwrap_or_default();
            self.http = Some(printable(line, 120));
        }
        Ok(())
    }

    /// Writes what rustls wants to send, reads once (until `until`), and feeds rustls.
    fn pump(
        &mut self,
        conn: &mut ClientConnection,
        sock: &mut TcpStream,
        until: Instant,
    ) -> Pumped {
        // Writes may block too (a peer that does not read): they get what is left of the budget.
        let write_left = until
            .max(self.deadline)
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if let Err(e) = sock.set_write_timeout(Some(write_left)) {
            return Pumped::Io(e);
        }
        if let Err(e) = flush(conn, sock) {
            return Pumped::Io(e);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Pumped::Timeout;
        }
        if let Err(e) = sock.set_read_timeout(Some(left)) {
            return Pumped::Io(e);
        }
        let mut buf = [0u8; 16 * 1024];
        let n = match sock.read(&mut buf) {
            Ok(0) => return Pumped::Eof,
            Ok(n) => n,
            Err(e) if is_timeout(&e) => return Pumped::Timeout,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Pumped::Progress,
            Err(e) => return Pumped::Io(e),
        };
        if self.first_bytes.len() < 64 {
            let take = n.min(64 - self.first_bytes.len());
            let first_read = self.first_bytes.is_empty();
            self.first_bytes.extend_from_slice(&buf[..take]);
            if first_read && !looks_like_tls(&self.first_bytes) {
                return Pumped::NotTls(format!(
                    "the peer answered in plain text: `{}`",
                    printable(&String::from_utf8_lossy(&self.first_bytes), 60)
                ));
            }
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            if let Err(e) = conn.read_tls(&mut data) {
                // rustls refuses to buffer more than one maximal handshake message: not the
                // socket's fault.
                if e.kind() == io::ErrorKind::InvalidData && conn.is_handshaking() {
                    return Pumped::Tls(rustls::Error::InvalidMessage(
                        InvalidMessage::HandshakePayloadTooLarge,
                    ));
                }
                return Pumped::Io(e);
            }
            if let Err(e) = conn.process_new_packets() {
                let _ = flush(conn, sock);
                // Garbage where the ServerHello should be: whatever answered is not a TLS server
                // (alerts, such as 40 and 70, are `AlertReceived` and stay with `tls_error`).
                if conn.protocol_version().is_none()
                    && matches!(
                        e,
                        rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_)
                    )
                {
                    return Pumped::NotTls(format!(
                        "the peer's answer is not valid TLS (rustls: {e}); first bytes: `{}`",
                        printable(&String::from_utf8_lossy(&self.first_bytes), 60)
                    ));
                }
                return Pumped::Tls(e);
            }
        }
        Pumped::Progress
    }

    /// What the client had done about client authentication so far.
    fn auth(&self) -> ClientAuthState {
        lock(&self.captured).auth
    }

    fn closed_during_handshake(&self, what: &str) -> Verdict {
        classify_closed_during_handshake(what, self.auth(), !self.first_bytes.is_empty())
    }

    fn io_during_handshake(&self, e: &io::Error) -> Verdict {
        classify_handshake_io_error(e, self.auth(), !self.first_bytes.is_empty())
    }

    /// Classifies a rustls error: our own verdict on the chain first, then the rest
    /// ([`classify_tls_error`]).
    fn tls_error(&self, e: &rustls::Error) -> Verdict {
        let cap = lock(&self.captured);
        match cap.verdict.as_ref().filter(|v| v.outcome != Outcome::Ok) {
            Some(v) => v.clone(),
            None => classify_tls_error(e, cap.auth),
        }
    }
}

/// The connect error to report after `addr` failed with `e`, `before` what an earlier address
/// said: the latest, unless it only says this machine cannot use that address at all (IPv6
/// off: the ::1 of `localhost`), which does not hide the earlier answer (refused).
fn telling_error(
    before: Option<(SocketAddr, io::Error)>,
    addr: SocketAddr,
    e: io::Error,
) -> (SocketAddr, io::Error) {
    let unusable = matches!(
        e.kind(),
        io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Unsupported
    ) || e.raw_os_error() == Some(libc::EAFNOSUPPORT);
    match before {
        Some(before) if unusable => before,
        _ => (addr, e),
    }
}

fn flush(conn: &mut ClientConnection, sock: &mut TcpStream) -> io::Result<()> {
    while conn.wants_write() {
        conn.write_tls(&mut NoSigPipe(sock))?;
    }
    Ok(())
}

/// Writes to the socket one buffer at a time. rustls writes records with `write_vectored`,
/// which std does with `writev(2)`: on a socket the peer reset, that raises SIGPIPE, and the
/// binary keeps SIGPIPE's default action (for `| head`), so a server that hangs up right
/// after the handshake killed the probe (exit 141). std's plain `write` is `send(2)` with
/// `MSG_NOSIGNAL`: the write fails with EPIPE instead, a normal "the server closed".
struct NoSigPipe<'a>(&'a mut TcpStream);

impl io::Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn has_plaintext(conn: &mut ClientConnection) -> bool {
    conn.process_new_packets()
        .map(|s| s.plaintext_bytes_to_read() > 0)
        .unwrap_or(false)
}

/// Whether the first bytes from the peer can start a TLS record: a content type of 20..=24
/// and a major version of 3.
fn looks_like_tls(bytes: &[u8]) -> bool {
    match bytes {
        [] => true,
        [t] => (20..=24).contains(t),
        [t, v, ..] => (20..=24).contains(t) && *v == 3,
    }
}

/// Text safe to print on one line: control characters escaped, cut at `max` characters.
fn printable(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line
        .chars()
        .take(max)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_2 => "1.2".to_string(),
        ProtocolVersion::TLSv1_3 => "1.3".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_second_address_does_not_hide_a_refusal() {
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        for unusable in [
            io::Error::from(io::ErrorKind::AddrNotAvailable),
            io::Error::from(io::ErrorKind::NetworkUnreachable),
            io::Error::from_raw_os_error(libc::EAFNOSUPPORT),
        ] {
            let (addr, e) = telling_error(Some((v4, refused())), v6, unusable);
            assert_eq!((addr, e.kind()), (v4, io::ErrorKind::ConnectionRefused));
        }
        // Otherwise the latest answer is the one reported.
        let (addr, e) = telling_error(
            Some((v4, io::Error::from(io::ErrorKind::NetworkUnreachable))),
            v6,
            refused(),
        );
        assert_eq!((addr, e.kind()), (v6, io::ErrorKind::ConnectionRefused));
        let (addr, _) = telling_error(None, v6, io::Error::from(io::ErrorKind::AddrNotAvailable));
        assert_eq!(addr, v6);
    }

    #[test]
    fn tls_record_detection() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x03]));
        assert!(looks_like_tls(&[0x15, 0x03]));
        assert!(!looks_like_tls(b"HTTP/1.1 400 Bad Request"));
        assert!(!looks_like_tls(&[0x16, 0x01]));
    }
}
