//! The lab: generate, serve and probe every scenario (not built yet).
