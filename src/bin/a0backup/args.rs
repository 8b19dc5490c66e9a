//! Option groups shared by several commands: the expected md5 and the file format.

use std::path::PathBuf;

use a0backup::{BackupStatus, DecryptOptions, Format, Md5Digest};
use clap::Args;

use crate::failure::{usage, Failure};

#[derive(Args, Debug)]
#[group(multiple = false)]
pub struct ExpectedMd5Args {
    /// The expected md5 of the encrypted file (32 hex digits).
    #[arg(long, value_name = "HEX")]
    pub md5: Option<String>,
    /// Read the expected md5 from the output of `a0cli backup-status`.
    #[arg(long, value_name = "FILE")]
    pub status: Option<PathBuf>,
}

impl ExpectedMd5Args {
    pub fn read(&self) -> Result<Option<Md5Digest>, Failure> {
        if let Some(hex) = &self.md5 {
            return hex
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| usage(format!("--md5: not an md5 (32 hex digits): {hex:?}")));
        }
        if let Some(path) = &self.status {
            return Ok(Some(BackupStatus::from_file(path)?.md5));
        }
        Ok(None)
    }
}

#[derive(Args, Debug)]
pub struct FormatArgs {
    /// The file format: node (the appliance's), openssl-md5 or openssl-pbkdf2.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// PBKDF2 iterations for openssl-pbkdf2 (openssl's default is 10000).
    #[arg(long, value_name = "N")]
    pub iter: Option<u32>,
    /// Encode the password as Latin-1, as very old Node versions did (only for non-ASCII
    /// passwords of files made by them).
    #[arg(long)]
    pub latin1_password: bool,
}

impl FormatArgs {
    pub fn read(&self) -> Result<Option<Format>, Failure> {
        let format = match &self.format {
            None => None,
            Some(name) => Some(name.parse::<Format>().map_err(|e| usage(e.to_string()))?),
        };
        match (format, self.iter) {
            (_, Some(0)) => Err(usage("--iter must be at least 1")),
            (Some(Format::OpenSslPbkdf2 { .. }), Some(n)) => {
                Ok(Some(Format::OpenSslPbkdf2 { iterations: n }))
            }
            (None, Some(n)) => Ok(Some(Format::OpenSslPbkdf2 { iterations: n })),
            (Some(_), Some(_)) => Err(usage("--iter goes only with --format openssl-pbkdf2")),
            (f, None) => Ok(f),
        }
    }
}

/// Decrypt options for an input that must be a `.tar.gz` (restore, list).
pub fn decrypt_options(format: Option<Format>) -> DecryptOptions {
    let o = DecryptOptions::new().expect_gzip(true);
    match format {
        Some(f) => o.format(f),
        None => o,
    }
}
