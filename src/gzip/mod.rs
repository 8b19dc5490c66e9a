//! gzip, both ways: a checked reader of every member (CRC and length verified, a wrong password
//! told from damage, zero padding tolerated), inflating sequentially with zlib-rs or on several
//! cores ([`GzipReader`], [`InflateOptions`]), and a writer that deflates on every core into
//! one ordinary gzip stream.

mod checked;
mod inflate;
mod parallel;

pub(crate) use checked::NotGzip;
pub use inflate::{GzipReader, InflateOptions};
pub(crate) use parallel::ParallelGzEncoder;

/// The first bytes of every gzip member: magic `1f 8b` and method 8 (deflate).
pub(crate) const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
