//! gzip, both ways: a checked reader of every member (CRC and length verified, a wrong password
//! told from damage, zero padding tolerated) and a writer that deflates on every core into one
//! ordinary gzip stream.

mod checked;
mod parallel;

pub(crate) use checked::{GzipChecked, NotGzip};
pub(crate) use parallel::ParallelGzEncoder;
