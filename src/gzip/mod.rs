//! gzip, both ways: a checked reader of every member (CRC and length verified, a wrong password
//! told from damage, zero padding tolerated), inflating sequentially with zlib-rs or on several
//! cores ([`GzipReader`], [`InflateOptions`]), and a writer that deflates on every core into
//! one ordinary gzip stream.

mod checked;
mod inflate;
mod parallel;

pub(crate) use checked::NotGzip;
pub use inflate::{GzipReader, InflateOptions, ParallelStats, DEFAULT_CHUNK, MAX_THREADS};
pub(crate) use parallel::ParallelGzEncoder;
