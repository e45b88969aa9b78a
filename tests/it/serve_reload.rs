//! `certlab serve --reload` and `Endpoint::reload` (issue 11): new connections get the new
//! certificate, open connections keep working, a half-written file or a mismatched pair is
//! refused (logged once, the old certificate kept) and a later good write is picked up; 50
//! clients handshaking through 20 reloads never fail.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certlab::fixture::{Issued, TestPki};
use certlab::serve::{ReloadError, ReloadSource, ServeError};
use rustls::{ClientConfig, ClientConnection};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A TLS client of the fixture's endpoints (trusts its root, speaks http/1.1).
fn client_config(pki: &TestPki) -> Arc<ClientConfig> {
    let mut config = pki.client_config();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A finished handshake on a fresh connection, nothing sent yet.
struct Open {
    conn: ClientConnection,
    sock: TcpStream,
}

impl Open {
    fn connect(config: &Arc<ClientConfig>, addr: SocketAddr) -> Result<Open, String> {
        let mut sock = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(TIMEOUT)).unwrap();
        let mut conn = ClientConnection::new(config.clone(), "localhost".try_into().unwrap())
            .map_err(|e| e.to_string())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
        }
        Ok(Open { conn, sock })
    }

    /// The leaf the server presented.
    fn leaf(&self) -> Vec<u8> {
        self.conn.peer_certificates().unwrap()[0].to_vec()
    }

    /// `GET /` and the status line of the answer.
    fn get(mut self) -> Result<String, String> {
        let mut tls = rustls::Stream::new(&mut self.conn, &mut self.sock);
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        match tls.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) if !answer.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(e.to_string()),
        }
        let text = String::from_utf8_lossy(&answer);
        Ok(text.lines().next().unwrap_or_default().to_string())
    }
}

fn leaves(pki: &mut TestPki, n: usize) -> Vec<Issued> {
    (0..n)
        .map(|_| pki.server(["localhost"]).issue().unwrap())
        .collect()
}

/// The serial of a DER certificate, as certlab prints it (colon-separated hex).
fn serial(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    cert.raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Writes a file the way `mv` replaces one: a whole new file renamed over the old.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn the_library_swaps_for_new_connections_and_open_ones_keep_working() {
    let mut pki = TestPki::new();
    let [old, new]: [Issued; 2] = leaves(&mut pki, 2).try_into().ok().unwrap();
    let endpoint = pki.serve(&old).unwrap();
    let config = client_config(&pki);

    let before = Open::connect(&config, endpoint.addr()).unwrap();
    assert_eq!(before.leaf(), old.cert_der().to_vec());

    let reloaded = pki.reload(&endpoint, &new).unwrap();
    assert!(reloaded.changed);
    assert_eq!(reloaded.old.serial, serial(&old.cert_der()));
    assert_eq!(reloaded.new.serial, serial(&new.cert_der()));
    assert_eq!(endpoint.presented(), reloaded.new);

    let after = Open::connect(&config, endpoint.addr()).unwrap();
    assert_eq!(after.leaf(), new.cert_der().to_vec(), "a new connection");
    // The connection from before the swap: send and receive after it.
    assert_eq!(before.get().unwrap(), "HTTP/1.1 200 OK");
    assert_eq!(after.get().unwrap(), "HTTP/1.1 200 OK");

    // The same again: nothing to do.
    let again = pki.reload(&endpoint, &new).unwrap();
    assert!(!again.changed, "{again}");
}

#[test]
fn a_mismatched_pair_is_refused_and_the_old_certificate_kept() {
    let mut pki = TestPki::new();
    let [old, a, b]: [Issued; 3] = leaves(&mut pki, 3).try_into().ok().unwrap();
    let endpoint = pki.serve(&old).unwrap();
    let mut settings = certlab::serve::ServeSettings::new("x", a.chain_der(), b.key_der());
    settings.client_roots = vec![pki.ca_der()];
    let err = endpoint.replace(settings).unwrap_err();
    assert!(
        matches!(err, ReloadError::Refused(ServeError::KeyMismatch(_))),
        "{err:?}"
    );
    assert_eq!(endpoint.presented().serial, serial(&old.cert_der()));
    let open = Open::connect(&client_config(&pki), endpoint.addr()).unwrap();
    assert_eq!(open.leaf(), old.cert_der().to_vec());
}

#[test]
fn reload_reads_files_and_refuses_a_half_written_one() {
    let mut pki = TestPki::new();
    let [old, new]: [Issued; 2] = leaves(&mut pki, 2).try_into().ok().unwrap();
    let dir = common::tempdir();
    let (cert, key) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, old.chain_pem()).unwrap();
    std::fs::write(&key, old.key_pem()).unwrap();
    let endpoint = pki.serve(&old).unwrap();
    assert!(matches!(endpoint.reload(), Err(ReloadError::NoSource(_))));
    endpoint.set_reload_source(ReloadSource::Files {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: None,
    });
    assert!(!endpoint.reload().unwrap().changed);

    // The new chain cut after its leaf's first half: an unfinished PEM block. (A chain cut
    // after the leaf's END line, with the intermediate half there, is caught the same way.)
    let chain = new.chain_pem();
    std::fs::write(&key, new.key_pem()).unwrap();
    for cut in [chain.len() / 4, chain.len() * 3 / 4] {
        std::fs::write(&cert, &chain[..cut]).unwrap();
        let err = endpoint.reload().unwrap_err();
        assert!(matches!(err, ReloadError::Unfinished { .. }), "{err}");
        assert!(err.to_string().contains("unfinished PEM"), "{err}");
        assert_eq!(endpoint.presented().serial, serial(&old.cert_der()));
    }
    std::fs::write(&cert, &chain).unwrap();
    let reloaded = endpoint.reload().unwrap();
    assert_eq!(reloaded.new.serial, serial(&new.cert_der()));
    assert!(reloaded.to_string().starts_with(&format!(
        "reloaded: serial {} -> {}",
        serial(&old.cert_der()),
        serial(&new.cert_der())
    )));
}

/// A new client-CA file changes whom new connections accept; the server's leaf stays.
#[test]
fn a_new_client_ca_file_changes_which_client_certificates_new_connections_accept() {
    let mut a = TestPki::new();
    let mut b = TestPki::new();
    let server = a.server(["localhost"]).issue().unwrap();
    let (a_client, b_client) = (
        a.client("a").issue().unwrap(),
        b.client("b").issue().unwrap(),
    );
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    let ca = dir.path().join("client-ca.pem");
    std::fs::write(&cert, server.chain_pem()).unwrap();
    std::fs::write(&key, server.key_pem()).unwrap();
    std::fs::write(&ca, a.ca_pem()).unwrap();
    let endpoint = a
        .serve_with(&server, certlab::tls::ClientAuth::Required)
        .unwrap();
    endpoint.set_reload_source(ReloadSource::Files {
        cert,
        key,
        client_ca: Some(ca.clone()),
    });
    // Each client trusts the server's root and presents its own certificate.
    let as_client = |leaf: &Issued| {
        let mut config = leaf.client_config(&a);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Open::connect(&Arc::new(config), endpoint.addr()).and_then(Open::get)
    };
    assert_eq!(as_client(&a_client).unwrap(), "HTTP/1.1 200 OK");
    assert!(as_client(&b_client).is_err());

    std::fs::write(&ca, b.ca_pem()).unwrap();
    let reloaded = endpoint.reload().unwrap();
    assert!(reloaded.changed && reloaded.client_ca_changed && !reloaded.key_changed);
    assert_eq!(reloaded.old, reloaded.new, "the same leaf");
    assert!(
        reloaded.to_string().contains("new client CAs"),
        "{reloaded}"
    );
    assert!(as_client(&a_client).is_err());
    assert_eq!(as_client(&b_client).unwrap(), "HTTP/1.1 200 OK");
}

/// Files that changed between the endpoint's start and its watcher's are loaded on the
/// watcher's first tick (they were once taken as "what is served" and never loaded).
#[test]
fn a_watcher_loads_files_that_changed_before_it_started() {
    let mut pki = TestPki::new();
    let [old, new]: [Issued; 2] = leaves(&mut pki, 2).try_into().ok().unwrap();
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    let mut endpoint = pki.serve(&old).unwrap();
    std::fs::write(&cert, new.chain_pem()).unwrap();
    std::fs::write(&key, new.key_pem()).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    endpoint
        .watch(
            ReloadSource::Files {
                cert,
                key,
                client_ca: None,
            },
            Duration::from_millis(20),
            Some(Arc::new(move |e: &certlab::serve::ReloadEvent| {
                seen.lock().unwrap().push(e.to_string())
            })),
        )
        .unwrap();
    let config = client_config(&pki);
    assert!(wait_for_leaf(&config, endpoint.addr(), &new.cert_der()));
    endpoint.stop_watching();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].starts_with("reloaded: serial "), "{events:?}");
}

// ----- real processes -----------------------------------------------------------------

/// A `certlab serve` child whose stderr goes to a file (read at any time, never full).
struct Server {
    child: Child,
    addr: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl Server {
    /// `certlab serve --pki DIR --all ...`: the address of scenario `name` in its table.
    fn start_all(args: &[&str], name: &str) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = common::certlab_command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.reopen().unwrap()))
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut table = String::new();
        let addr = loop {
            let mut line = String::new();
            assert_ne!(out.read_line(&mut line).unwrap(), 0, "no {name} in {table}");
            table.push_str(&line);
            let mut words = line.split_whitespace();
            if words.next() == Some(name) {
                break words.next().unwrap().parse().unwrap();
            }
        };
        Server { child, addr, log }
    }

    fn start(args: &[&str]) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = common::certlab_command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.reopen().unwrap()))
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "first line {first:?}; stderr: {}",
                    std::fs::read_to_string(log.path()).unwrap()
                )
            });
        Server { child, addr, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    /// Waits (bounded) until the log has a line containing `needle`: the server writes its
    /// log from a thread of its own, a moment after the reload a client already sees.
    fn wait_for_line(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.log().contains(needle) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log lines about reloads (not the per-connection lines).
    fn reload_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("] reload"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The serial a new connection is presented, polled until `want` (or the deadline).
fn wait_for_leaf(config: &Arc<ClientConfig>, addr: SocketAddr, want: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(open) = Open::connect(config, addr)
            && open.leaf() == want
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("chain.pem"), dir.join("key.pem"))
}

#[test]
fn serve_reload_picks_up_new_files_refuses_bad_ones_and_keeps_open_connections() {
    let mut pki = TestPki::new();
    let [a, b, c]: [Issued; 3] = leaves(&mut pki, 3).try_into().ok().unwrap();
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    std::fs::write(&cert, a.chain_pem()).unwrap();
    std::fs::write(&key, a.key_pem()).unwrap();
    let server = Server::start(&[
        "serve",
        "--cert",
        &common::s(&cert),
        "--key",
        &common::s(&key),
        "--reload",
        "--reload-interval",
        "50ms",
    ]);
    let config = client_config(&pki);
    let opened_before = Open::connect(&config, server.addr).unwrap();
    assert_eq!(opened_before.leaf(), a.cert_der().to_vec());

    // Renewed files, each replaced atomically (key first: a tick between the two renames
    // may see the new key with the old certificate, and refuse that pair).
    replace(&key, &b.key_pem());
    replace(&cert, &b.chain_pem());
    assert!(
        wait_for_leaf(&config, server.addr, &b.cert_der()),
        "b never served: {}",
        server.log()
    );
    // The connection opened before the reload: send and receive after it.
    assert_eq!(opened_before.get().unwrap(), "HTTP/1.1 200 OK");

    // Non-atomic writes: half of c's chain in place of b's (b's key still there).
    let chain = c.chain_pem();
    std::fs::write(&cert, &chain[..chain.len() / 3]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The whole chain, with b's key: a mismatched pair.
    std::fs::write(&cert, &chain).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let still = Open::connect(&config, server.addr).unwrap();
    assert_eq!(still.leaf(), b.cert_der().to_vec(), "{}", server.log());
    // The key follows: picked up.
    std::fs::write(&key, c.key_pem()).unwrap();
    assert!(
        wait_for_leaf(&config, server.addr, &c.cert_der()),
        "c never served: {}",
        server.log()
    );
    assert_eq!(still.get().unwrap(), "HTTP/1.1 200 OK");

    let (sa, sb, sc) = (
        serial(&a.cert_der()),
        serial(&b.cert_der()),
        serial(&c.cert_der()),
    );
    server.wait_for_line(&format!("reloaded: serial {sb} -> {sc}"));
    let lines = server.reload_lines();
    let find = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in {lines:#?}"))
    };
    let reloaded_ab = find(&format!("reloaded: serial {sa} -> {sb}"));
    let half = find(&format!(
        "reload refused, keeping serial {sb}: {}: unfinished PEM",
        cert.display()
    ));
    let mismatch = find(&format!(
        "reload refused, keeping serial {sb}: key-mismatch"
    ));
    let reloaded_bc = find(&format!("reloaded: serial {sb} -> {sc}"));
    assert!(reloaded_ab < half && half < mismatch && mismatch < reloaded_bc);
    // Each refusal is reported once, not at every tick.
    let refusals = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(refusals("unfinished PEM"), 1, "{lines:#?}");
    assert_eq!(refusals("key-mismatch"), 1, "{lines:#?}");
    assert_eq!(refusals("reloaded:"), 2, "{lines:#?}");
}

#[test]
fn serve_reload_from_a_pki_directory_follows_its_manifest() {
    for all in [false, true] {
        pki_directory_reload(all);
    }
}

fn pki_directory_reload(all: bool) {
    let mut pki = TestPki::new();
    let first = pki.server(["localhost"]).name("web").issue().unwrap();
    let dir = pki.write_to_tempdir().unwrap();
    let path = common::s(dir.path());
    let server = if all {
        Server::start_all(
            &[
                "serve",
                "--pki",
                &path,
                "--all",
                "--reload",
                "--reload-interval",
                "50ms",
            ],
            "web",
        )
    } else {
        Server::start(&[
            "serve",
            "--pki",
            &path,
            "--scenario",
            "web",
            "--reload",
            "--reload-interval",
            "50ms",
        ])
    };
    let config = client_config(&pki);
    let before = Open::connect(&config, server.addr).unwrap();
    assert_eq!(before.leaf(), first.cert_der().to_vec());
    // Another leaf of the same CA under the same name (a renewal), written as one
    // transaction (manifest included).
    let second = pki.server(["localhost"]).name("web2").issue().unwrap();
    let mut same_name = certlab::pki::store::load(dir.path()).unwrap();
    let web = same_name
        .entities
        .iter_mut()
        .find(|e| e.name == "web")
        .unwrap();
    web.cert = second.cert_der();
    web.chain = second.chain_der();
    web.key = second.entity().key.clone();
    web.not_before = second.entity().not_before;
    web.not_after = second.entity().not_after;
    certlab::pki::store::write(&same_name, dir.path()).unwrap();
    assert!(
        wait_for_leaf(&config, server.addr, &second.cert_der()),
        "{}",
        server.log()
    );
    assert_eq!(before.get().unwrap(), "HTTP/1.1 200 OK");
    server.wait_for_line("reloaded:");
    let lines = server.reload_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(&format!(
            "[web] reloaded: serial {} -> {}",
            serial(&first.cert_der()),
            serial(&second.cert_der())
        )),
        "{lines:#?}"
    );
}

/// 50 clients handshake continuously while the files are replaced 20 times: every handshake
/// succeeds, and every new leaf is seen.
#[test]
fn fifty_clients_through_twenty_reloads_never_fail_a_handshake() {
    const CLIENTS: usize = 50;
    const RELOADS: usize = 20;
    let mut pki = TestPki::new();
    let all = leaves(&mut pki, RELOADS + 1);
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    std::fs::write(&cert, all[0].chain_pem()).unwrap();
    std::fs::write(&key, all[0].key_pem()).unwrap();
    let server = Server::start(&[
        "serve",
        "--cert",
        &common::s(&cert),
        "--key",
        &common::s(&key),
        "--reload",
        "--reload-interval",
        "50ms",
    ]);
    let config = client_config(&pki);
    let ders: Arc<Vec<Vec<u8>>> = Arc::new(all.iter().map(|l| l.cert_der().to_vec()).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(Mutex::new(vec![0u64; RELOADS + 1]));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (config, ders, stop, ok, failures, seen) = (
                config.clone(),
                ders.clone(),
                stop.clone(),
                ok.clone(),
                failures.clone(),
                seen.clone(),
            );
            let addr = server.addr;
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let result = Open::connect(&config, addr).and_then(|open| {
                        let leaf = open.leaf();
                        let status = open.get()?;
                        if status != "HTTP/1.1 200 OK" {
                            return Err(format!("answer {status:?}"));
                        }
                        ders.iter()
                            .position(|d| *d == leaf)
                            .ok_or_else(|| "an unknown leaf".to_string())
                    });
                    match result {
                        Ok(i) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            seen.lock().unwrap()[i] += 1;
                        }
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    for (i, leaf) in all.iter().enumerate().skip(1) {
        replace(&key, &leaf.key_pem());
        replace(&cert, &leaf.chain_pem());
        let picked_up = wait_for_leaf(&config, server.addr, &leaf.cert_der());
        if !picked_up {
            stop.store(true, Ordering::Relaxed);
            panic!("reload {i} never served: {:#?}", server.reload_lines());
        }
    }
    // Some more handshakes on the last leaf.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let took = start.elapsed();
    server.wait_for_line(&format!("-> {}", serial(&all[RELOADS].cert_der())));
    let failures = failures.lock().unwrap();
    let seen = seen.lock().unwrap();
    let lines = server.reload_lines();
    let reloads = lines.iter().filter(|l| l.contains("reloaded:")).count();
    let refused = lines.iter().filter(|l| l.contains("refused")).count();
    eprintln!(
        "serve --reload under load: {CLIENTS} clients, {reloads} reloads ({refused} transient refusals) in {took:?}: {} handshakes ok, {} failed; per leaf: {seen:?}",
        ok.load(Ordering::Relaxed),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(reloads, RELOADS, "{lines:#?}");
    assert!(ok.load(Ordering::Relaxed) >= (CLIENTS * 2) as u64);
    assert!(
        seen.iter().filter(|n| **n > 0).count() > RELOADS / 2,
        "{seen:?}"
    );
}

#[test]
fn reload_flags_are_checked() {
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    for (args, message) in [
        (vec!["--reload-interval", "1s", "--plaintext"], "--reload"),
        (
            vec!["--reload", "--plaintext"],
            "--reload needs a certificate",
        ),
        (
            vec![
                "--reload",
                "--reload-interval",
                "1ms",
                "--cert",
                "c",
                "--key",
                "k",
            ],
            "between 10ms and 1h",
        ),
    ] {
        let mut cmd = common::certlab_command();
        cmd.arg("serve").args(&args);
        let ran = common::run_timeout(&mut cmd, b"", Duration::from_secs(10));
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.all());
        assert!(ran.stderr.contains(message), "{args:?}: {}", ran.stderr);
    }
    let _ = (cert, key);
}

/// The same reload seen by `openssl s_client`: the leaf it prints changes.
#[test]
#[ignore = "needs openssl (installed by .ci/run)"]
fn openssl_s_client_sees_the_new_leaf_after_a_reload() {
    if !common::have_tool("openssl") {
        return;
    }
    let mut pki = TestPki::new();
    let [a, b]: [Issued; 2] = leaves(&mut pki, 2).try_into().ok().unwrap();
    let dir = common::tempdir();
    let (cert, key) = files(dir.path());
    std::fs::write(&cert, a.chain_pem()).unwrap();
    std::fs::write(&key, a.key_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), pki.ca_pem()).unwrap();
    let server = Server::start(&[
        "serve",
        "--cert",
        &common::s(&cert),
        "--key",
        &common::s(&key),
        "--reload",
        "--reload-interval",
        "50ms",
    ]);
    let s_client = || {
        let mut cmd = std::process::Command::new("openssl");
        cmd.args([
            "s_client",
            "-connect",
            &server.addr.to_string(),
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
            &common::s(&dir.path().join("ca.pem")),
        ]);
        let ran = common::run_timeout(&mut cmd, b"", Duration::from_secs(10));
        assert_eq!(ran.code, Some(0), "{}", ran.all());
        let start = ran.stdout.find("-----BEGIN CERTIFICATE-----").unwrap();
        let end = ran.stdout.find("-----END CERTIFICATE-----").unwrap();
        let block = &ran.stdout[start..end + "-----END CERTIFICATE-----".len()];
        pem::parse(block).unwrap().into_contents()
    };
    assert_eq!(s_client(), a.cert_der().to_vec());
    replace(&key, &b.key_pem());
    replace(&cert, &b.chain_pem());
    let config = client_config(&pki);
    assert!(wait_for_leaf(&config, server.addr, &b.cert_der()));
    assert_eq!(s_client(), b.cert_der().to_vec());
}
