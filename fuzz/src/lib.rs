//! Property checks for a0backup's fuzz targets.
//!
//! The checks live in [`checks`] (the file `src/checks.rs`), which the root package's
//! `tests/fuzz_corpus.rs` also includes, so that every committed corpus and regression input is
//! replayed by `cargo test` without libFuzzer.

pub mod checks;
