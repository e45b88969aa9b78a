//! The measured matrix: one file per client family, each a list of [`Cell`]s that a real run
//! of that client produced (`certlab lab --clients NAME`). A cell changes only when a real run
//! shows it.

use super::Client;
use crate::outcome::Outcome;

mod chromium;
mod curl;
mod gnutls;
mod go;
mod grpc;
mod java;
mod node;
mod openssl;
mod python;
mod python313;
mod rustls;

/// What one client said for one lab scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The lab scenario's name.
    pub scenario: &'static str,
    /// The outcome the client showed (read from its words).
    pub outcome: Outcome,
    /// The client's own words (its error line; empty when it accepted).
    pub words: &'static str,
}

/// Every measured cell of one family.
pub fn cells(client: Client) -> &'static [Cell] {
    match client {
        Client::Rustls => rustls::CELLS,
        Client::Curl => curl::CELLS,
        Client::Openssl => openssl::CELLS,
        Client::Python => python::CELLS,
        Client::Python313 => python313::CELLS,
        Client::Grpc => grpc::CELLS,
        Client::Gnutls => gnutls::CELLS,
        Client::Go => go::CELLS,
        Client::Java => java::CELLS,
        Client::Node => node::CELLS,
        Client::Chromium => chromium::CELLS,
    }
}

/// What `client` says for the lab scenario `scenario`, if measured.
pub fn cell(client: Client, scenario: &str) -> Option<&'static Cell> {
    cells(client).iter().find(|c| c.scenario == scenario)
}
