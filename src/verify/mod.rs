//! Judge certificates and endpoints: inspect certificates, classify verification results into
//! one [`Outcome`](crate::Outcome), check chains offline and probe live endpoints.
//!
//! `verify` never imports `serve`: it must judge any server, not only ours.

pub mod check;
pub mod classify;
pub mod fix;
pub mod inspect;
pub mod probe;
