//! certlab: test PKI for people who run TLS in development and test.
//!
//! It generates CA hierarchies, server and client certificates from a small spec, breaks them
//! on purpose (every [`Fault`] knows the [`Outcome`] a client must see), serves them on live
//! rustls endpoints, and verifies endpoints with one vocabulary of outcomes. The `certlab`
//! binary (feature `cli`, on by default) is a thin layer over this library; a Rust test author
//! who wants only the fixtures depends on it without the binary's dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! certlab = { version = "0.1", default-features = false }
//! ```
//!
//! # A test in a minute
//!
//! [`TestPki`] is a CA in memory (a root and an intermediate). Issue leaves in one line each,
//! hand the rustls configurations to the code under test, or serve a leaf on loopback and ask
//! which outcome a client sees:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::sync::Arc;
//! use certlab::{Fault, Outcome, TestPki};
//!
//! let mut pki = TestPki::new();
//!
//! // A good server certificate: a real rustls handshake over loopback.
//! let server = pki.server(["localhost"]).issue().unwrap();
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server_config = Arc::new(server.server_config());
//! let server_thread = std::thread::spawn(move || {
//!     let (tcp, _) = listener.accept().unwrap();
//!     let conn = rustls::ServerConnection::new(server_config).unwrap();
//!     let mut tls = rustls::StreamOwned::new(conn, tcp);
//!     tls.write_all(b"hello").unwrap();
//!     tls.conn.send_close_notify();
//!     tls.flush().unwrap();
//! });
//! let name = "localhost".try_into().unwrap();
//! let conn = rustls::ClientConnection::new(Arc::new(pki.client_config()), name).unwrap();
//! let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
//! let mut answer = String::new();
//! tls.read_to_string(&mut answer).unwrap();
//! assert_eq!(answer, "hello");
//! server_thread.join().unwrap();
//!
//! // A broken one, served live: the outcome a client must see.
//! let expired = pki.server(["localhost"]).fault(Fault::Expired).issue().unwrap();
//! let endpoint = pki.serve(&expired).unwrap(); // stopped on drop
//! pki.assert_outcome(&endpoint, Outcome::Expired);
//! ```
//!
//! # The four wings
//!
//! - Make and break certificates: [`pki`] (spec, issuing, the fault catalogue, the PKI
//!   directory and its manifest), [`fixture`] (the in-memory test PKI above).
//! - Judge endpoints and chains: [`verify`] (offline `check`, live [`probe`], the one classifier
//!   from TLS and certificate errors to an [`Outcome`]), [`explain`] (a client's error text to
//!   an outcome).
//! - Run them: [`serve`] (live rustls endpoints for any scenario), [`lab`] (every scenario
//!   served and probed, expected vs observed).
//! - Fit in: [`render`] (OpenTelemetry collector and env files, Kubernetes Secrets, reproduce
//!   scripts), [`trust`] (system, NSS and bundle trust stores).

#![warn(missing_docs, unreachable_pub)]

pub mod clients;
pub mod explain;
pub mod outcome;
pub mod pem;
pub mod pki;
pub mod render;

pub use fixture::TestPki;
pub use outcome::Outcome;
pub use pki::{Entity, Fault, KeyAlg, Pki, Role, San};
pub use verify::probe::{ProbeOptions, ProbeReport, probe};
pub mod fixture;
pub mod lab;
mod owner;
pub mod serve;
pub mod tls;
pub mod trust;
pub mod verify;
mod x509;
