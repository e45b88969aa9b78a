//! certlab: test PKI for people who run TLS in development and test.
//!
//! It generates CA hierarchies, server and client certificates from a small spec, breaks them
//! on purpose (every fault knows the [`Outcome`] a client must see), serves them on live
//! rustls endpoints, and verifies endpoints with one vocabulary of outcomes.

pub mod explain;
pub mod outcome;
pub mod pki;
pub mod render;

pub use outcome::Outcome;
pub use pki::{Entity, Fault, KeyAlg, Pki, Role, San};
pub use verify::probe::{ProbeOptions, ProbeReport, probe};
pub mod fixture;
pub mod lab;
pub mod serve;
pub mod tls_names;
pub mod trust;
pub mod verify;
