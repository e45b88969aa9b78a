//! Live rustls endpoints for scenarios (not built yet).
