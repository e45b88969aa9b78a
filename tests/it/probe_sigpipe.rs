//! `certlab probe` against a server that completes the handshake and closes at once, without
//! reading the request: the probe's next writes (the `GET /`, the close_notify) hit a reset
//! socket (EPIPE). The binary restores SIGPIPE's default action (for `| head`), so a socket
//! write that is not MSG_NOSIGNAL killed it (exit 141). It must end normally: the handshake
//! was good, and a server that hangs up afterwards is that server's business.
//! A real process; loopback only, port 0, every socket with a timeout.

use crate::common;

use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use certlab::fixture::TestPki;
use common::{certlab_command, run_timeout};

/// Serves `rounds` connections: each completes the TLS handshake (and sends the TLS 1.3
/// tickets), then closes without reading anything.
fn hang_up_after_handshake(
    config: Arc<rustls::ServerConfig>,
    rounds: usize,
) -> (u16, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut handshakes = 0;
        for _ in 0..rounds {
            let Ok((mut tcp, _)) = listener.accept() else {
                break;
            };
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            tcp.set_write_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut tcp).is_err() {
                    break;
                }
            }
            if !conn.is_handshaking() {
                handshakes += 1;
            }
            while conn.wants_write() {
                if conn.write_tls(&mut tcp).is_err() {
                    break;
                }
            }
            // Closed with the request unread: the kernel answers it with a reset.
            drop(tcp);
        }
        handshakes
    });
    (port, handle)
}

#[test]
fn probe_survives_a_server_that_closes_right_after_the_handshake() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let dir = pki.write_to_tempdir().unwrap();
    let config = Arc::new(server.server_config());
    let versions = ["1.3", "1.2"];
    let rounds = 3;
    let (port, handle) = hang_up_after_handshake(config, versions.len() * rounds);
    for version in versions {
        for round in 0..rounds {
            let ran = run_timeout(
                certlab_command()
                    .args(["probe", &format!("127.0.0.1:{port}"), "--json"])
                    .args(["--servername", "localhost", "--tls", version])
                    .args(["--timeout", "10s", "--ca"])
                    .arg(dir.path().join("ca.pem")),
                b"",
                Duration::from_secs(30),
            );
            let what = format!("TLS {version}, round {round}: {}", ran.all());
            assert_ne!(ran.code, None, "killed by a signal or timed out: {what}");
            assert_eq!(ran.code, Some(0), "{what}");
            let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect(&what);
            assert_eq!(report["outcome"], "ok", "{what}");
            assert_eq!(report["tls"]["version"], version, "{what}");
        }
    }
    assert_eq!(handle.join().unwrap(), versions.len() * rounds);
}

/// The same, checked on the exit status itself: no signal, and never 141 (128 + SIGPIPE).
#[test]
fn probe_of_a_hang_up_server_is_not_killed_by_sigpipe() {
    let mut pki = TestPki::new();
    let server = pki.server(["localhost"]).issue().unwrap();
    let dir = pki.write_to_tempdir().unwrap();
    let (port, handle) = hang_up_after_handshake(Arc::new(server.server_config()), 1);
    let mut child = certlab_command()
        .args(["probe", &format!("127.0.0.1:{port}"), "-q"])
        .args(["--servername", "localhost", "--timeout", "10s", "--ca"])
        .arg(dir.path().join("ca.pem"))
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("probe did not end within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    handle.join().unwrap();
    assert_eq!(status.signal(), None, "probe died by signal: {status:?}");
    assert_eq!(status.code(), Some(0), "{status:?}");
}
