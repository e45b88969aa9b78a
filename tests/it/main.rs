//! certlab's integration tests: one test binary with one module per area (linking one
//! binary instead of many is most of `cargo test`'s build time).

#[allow(dead_code)]
mod common;

mod bulk;
mod check_cli;
mod check_openssl;
mod check_strict;
mod clients_matrix;
mod clients_programs;
mod completions;
mod exit_codes;
mod explain;
mod explain_clients;
mod explain_live;
mod export;
mod files;
mod fixture_examples;
mod fixture_live;
mod fleet_files;
mod fuzz;
mod generate;
mod hunt_pki;
mod inspect;
mod key_files;
mod lab;
mod lab_drill;
mod lab_serve;
mod layers;
mod limbo;
mod openssl_generate;
mod probe_limits;
mod probe_openssl;
mod probe_peers;
mod probe_pki;
mod probe_sigpipe;
mod readback;
mod readme;
mod render;
mod render_cert_manager;
mod render_reproduce;
mod renew;
mod revoke;
mod scenario_names;
mod seeded;
mod serve_cli;
mod serve_curl;
mod serve_lib;
mod serve_load;
mod serve_openssl;
mod serve_pipes;
mod serve_reload;
mod sign;
mod store;
mod store_api;
mod trust;
