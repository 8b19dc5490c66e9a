//! How a command fails: the message for stderr and the exit code.

use std::io;
use std::path::Path;

use a0backup::Error;

use crate::signals;

/// The process exit codes scripts can rely on. A library error's code is its
/// [`Error::exit_code`], the same mapping that gives the C ABI its result codes.
pub mod exit {
    pub const USAGE: u8 = 2;
}

/// A failure of the command: the message for stderr and the exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        // Stopped by a signal: the exit status says which, as a shell reports it.
        if let (Error::Cancelled, Some(sig)) = (e.primary(), signals::received()) {
            return Failure {
                code: 128 + sig as u8,
                message: match e {
                    Error::Cancelled => format!(
                        "stopped by {}: nothing was published, nothing left behind",
                        signals::name(sig)
                    ),
                    other => format!("stopped by {}: {other}", signals::name(sig)),
                },
            };
        }
        // A failed cleanup is reported with the error before it; the code is that error's.
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

pub fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        message: message.into(),
    }
}

pub fn io_failure(what: &Path, e: io::Error) -> Failure {
    Failure::from(Error::Path {
        path: what.to_path_buf(),
        source: e,
    })
}
