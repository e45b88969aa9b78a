//! A small load tool for `scripts/bench.sh`: TLS clients (rustls) against one endpoint on
//! loopback, bounded in count and time. It prints one JSON line per run.
//!
//! ```text
//! cargo run --release --example load -- burst ADDR CA.pem CLIENTS
//!     CLIENTS clients connect at once, then handshake + GET / together.
//! cargo run --release --example load -- held ADDR CA.pem IDLE SLOWLORIS PROBES
//!     holds IDLE silent connections and SLOWLORIS ones dripping a TLS header a byte every
//!     100 ms (both reconnect when closed), and times PROBES normal clients meanwhile.
//! cargo run --release --example load -- churn ADDR SECONDS
//!     TCP connect + close in a loop: the rate and the longest connect.
//! ```
//!
//! Every socket has a timeout ([`TIMEOUT`]); only loopback addresses are accepted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, RootCertStore};

/// Connect, read and write timeout of every socket.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The timeout of a normal client while connections are held (a server that serves one
/// connection at a time never answers it).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i).map(String::as_str).unwrap_or_else(|| {
            eprintln!("usage: load burst ADDR CA CLIENTS | held ADDR CA IDLE SLOWLORIS PROBES | churn ADDR SECONDS");
            std::process::exit(2)
        })
    };
    let num = |i: usize| -> usize {
        arg(i).parse().unwrap_or_else(|_| {
            eprintln!("not a number: {}", arg(i));
            std::process::exit(2)
        })
    };
    let addr: SocketAddr = arg(1).parse().unwrap_or_else(|_| {
        eprintln!("not an address: {}", arg(1));
        std::process::exit(2)
    });
    if !addr.ip().is_loopback() {
        eprintln!("loopback only: {addr}");
        std::process::exit(2)
    }
    match arg(0) {
        "burst" => burst(addr, &config(arg(2)), num(3)),
        "held" => held(addr, &config(arg(2)), num(3), num(4), num(5)),
        "churn" => churn(addr, Duration::from_secs(num(2) as u64)),
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2)
        }
    }
}

fn config(ca: &str) -> Arc<ClientConfig> {
    let pem = std::fs::read(ca).expect("the CA file");
    let mut roots = RootCertStore::empty();
    for block in pem::parse_many(&pem).expect("PEM") {
        roots
            .add(block.into_contents().into())
            .expect("a CA certificate");
    }
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// How one client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Served,
    /// Reset or closed before an answer.
    Reset,
    TimedOut,
    Other,
}

fn classify(e: &std::io::Error) -> End {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | ConnectionRefused | UnexpectedEof | BrokenPipe => {
            End::Reset
        }
        TimedOut | WouldBlock => End::TimedOut,
        _ => End::Other,
    }
}

/// Handshake + `GET /` on a connected socket, until the answer's status line.
fn get_on(config: &Arc<ClientConfig>, mut sock: TcpStream, timeout: Duration) -> End {
    let _ = sock.set_read_timeout(Some(timeout));
    let _ = sock.set_write_timeout(Some(timeout));
    let _ = sock.set_nodelay(true);
    let Ok(mut conn) = ClientConnection::new(config.clone(), "localhost".try_into().unwrap())
    else {
        return End::Other;
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    if let Err(e) = tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") {
        return classify(&e);
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
            Err(e) if answer.is_empty() => return classify(&e),
            Err(_) => break,
        }
    }
    if answer.starts_with(b"HTTP/1.") && answer.windows(3).any(|w| w == b"200") {
        End::Served
    } else if answer.is_empty() {
        End::Reset
    } else {
        End::Other
    }
}

fn get(config: &Arc<ClientConfig>, addr: SocketAddr, timeout: Duration) -> End {
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(sock) => get_on(config, sock, timeout),
        Err(e) => classify(&e),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i])
}

fn counts(ends: &[End]) -> String {
    let n = |e: End| ends.iter().filter(|x| **x == e).count();
    format!(
        r#""served": {}, "reset": {}, "timed_out": {}, "other": {}"#,
        n(End::Served),
        n(End::Reset),
        n(End::TimedOut),
        n(End::Other)
    )
}

fn burst(addr: SocketAddr, config: &Arc<ClientConfig>, clients: usize) {
    let start = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    let end = get(&config, addr, TIMEOUT);
                    (end, t.elapsed())
                })
                .expect("a client thread")
        })
        .collect();
    let t = Instant::now();
    start.wait();
    let results: Vec<(End, Duration)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wall = t.elapsed();
    let ends: Vec<End> = results.iter().map(|r| r.0).collect();
    let mut times: Vec<Duration> = results
        .iter()
        .filter(|r| r.0 == End::Served)
        .map(|r| r.1)
        .collect();
    times.sort();
    println!(
        r#"{{"mode": "burst", "clients": {clients}, {}, "p50_ms": {}, "p99_ms": {}, "max_ms": {}, "wall_ms": {}}}"#,
        counts(&ends),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        ms(wall)
    );
}

fn held(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
    idle: usize,
    slowloris: usize,
    probes: usize,
) {
    let connect = || TcpStream::connect_timeout(&addr, TIMEOUT).ok();
    let mut idle_socks: Vec<Option<TcpStream>> = (0..idle).map(|_| connect()).collect();
    let slow_socks: Vec<Option<TcpStream>> = (0..slowloris).map(|_| connect()).collect();
    let opened = idle_socks.iter().chain(&slow_socks).flatten().count();
    let stop = Arc::new(AtomicBool::new(false));
    // The attackers: drip a byte every 100 ms; reconnect whatever the server closed.
    let attacker = {
        let stop = stop.clone();
        let mut socks = slow_socks;
        std::thread::spawn(move || {
            let header = [0x16u8, 0x03, 0x01, 0x40, 0x00];
            let mut i = 0;
            let mut reconnects = 0;
            while !stop.load(Ordering::SeqCst) {
                for s in socks.iter_mut() {
                    let ok = match s {
                        Some(sock) => sock.write_all(&header[i % header.len()..][..1]).is_ok(),
                        None => false,
                    };
                    if !ok {
                        *s = TcpStream::connect_timeout(&addr, TIMEOUT).ok();
                        reconnects += 1;
                    }
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            reconnects
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let mut ends = Vec::new();
    let mut times = Vec::new();
    for _ in 0..probes {
        let t = Instant::now();
        let end = get(config, addr, PROBE_TIMEOUT);
        times.push(t.elapsed());
        ends.push(end);
        // Idle ones the server closed are reopened, as a reconnecting client would.
        for s in idle_socks.iter_mut() {
            let closed = match s {
                Some(sock) => {
                    let _ = sock.set_nonblocking(true);
                    let mut b = [0u8; 1];
                    matches!(sock.peek(&mut b), Ok(0))
                }
                None => true,
            };
            if closed {
                *s = connect();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    let reconnects = attacker.join().unwrap();
    times.sort();
    println!(
        r#"{{"mode": "held", "idle": {idle}, "slowloris": {slowloris}, "held_open": {opened}, "attacker_reconnects": {reconnects}, "probes": {probes}, {}, "p50_ms": {}, "max_ms": {}}}"#,
        counts(&ends),
        percentile(&times, 0.5),
        percentile(&times, 1.0)
    );
}

fn churn(addr: SocketAddr, seconds: Duration) {
    let t = Instant::now();
    let mut n = 0u64;
    let mut failed = 0u64;
    let mut slowest = Duration::ZERO;
    while t.elapsed() < seconds {
        let c = Instant::now();
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(sock) => drop(sock),
            Err(_) => failed += 1,
        }
        slowest = slowest.max(c.elapsed());
        n += 1;
    }
    let wall = t.elapsed().as_secs_f64();
    println!(
        r#"{{"mode": "churn", "connections": {n}, "failed": {failed}, "per_second": {:.0}, "slowest_connect_ms": {}}}"#,
        n as f64 / wall,
        ms(slowest)
    );
}
