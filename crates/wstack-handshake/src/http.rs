//! Conversions to and from the `http` crate (feature `http`).
