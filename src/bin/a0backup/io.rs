//! Inputs and outputs: `-` for stdin and stdout, sizes for the progress bar.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::failure::{io_failure, Failure};

pub fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

pub fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// `path` opened for reading (`-`: stdin), with its size when it has one.
pub fn input_reader(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    if is_dash(path) {
        Ok((Box::new(io::stdin().lock()), None))
    } else {
        let f = File::open(path).map_err(|e| io_failure(path, e))?;
        let len = f.metadata().ok().map(|m| m.len());
        Ok((Box::new(io::BufReader::with_capacity(1 << 20, f)), len))
    }
}
