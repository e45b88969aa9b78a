//! Test fixtures for Rust integration tests (not built yet).
