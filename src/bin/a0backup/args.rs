//! Option groups shared by several commands: the expected md5 and the file format.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use a0backup::error::ErrorKind;
use a0backup::{BackupStatus, DecryptOptions, Format, Md5Digest};
use clap::Args;

use crate::failure::{io_failure, usage, Failure};
use crate::io::{display_input, is_dash};

#[derive(Args, Debug)]
#[group(multiple = false)]
pub struct ExpectedMd5Args {
    /// The expected md5 of the whole input file (32 hex digits), as `a0cli backup-status`
    /// reports it.
    #[arg(long, value_name = "HEX")]
    pub md5: Option<String>,
    /// Read the expected md5 from the output of `a0cli backup-status` saved in FILE (- for
    /// standard input: `a0cli -t NODE backup-status | a0backup ... --status - ...`).
    #[arg(long, value_name = "FILE")]
    pub status: Option<PathBuf>,
}

/// An expected md5 and where it came from, for the success line.
pub struct Expected {
    pub md5: Md5Digest,
    /// `--md5`, the status file's path, or "the status on standard input".
    pub source: String,
}

impl ExpectedMd5Args {
    pub fn read(&self) -> Result<Option<Expected>, Failure> {
        if let Some(hex) = &self.md5 {
            let md5 = hex
                .trim()
                .parse()
                .map_err(|_| usage(format!("--md5: not an md5 (32 hex digits): {hex:?}")))?;
            return Ok(Some(Expected {
                md5,
                source: "--md5".to_string(),
            }));
        }
        let Some(path) = &self.status else {
            return Ok(None);
        };
        let (read, source) = if is_dash(path) {
            let read = read_status(io::stdin().lock())
                .map_err(|e| io_failure(Path::new("standard input"), e))?;
            (read, "the status on standard input".to_string())
        } else {
            let opened = std::fs::File::open(path);
            let read = opened.and_then(read_status).map_err(|e| {
                let mut f = io_failure(path, e);
                // `--status HEX`: the md5 itself, given to the option for a file.
                let name = path.as_os_str().to_string_lossy();
                if name.parse::<a0backup::Md5Digest>().is_ok() && !path.exists() {
                    f.message
                        .push_str(" (an md5 itself goes with --md5; --status takes a file)");
                }
                f
            })?;
            (read, path.display().to_string())
        };
        let text = read.map_err(|why| Failure {
            code: ErrorKind::Malformed.exit_code(),
            message: format!(
                "--status {}: not a status record ({why})",
                display_input(path)
            ),
        })?;
        let status = BackupStatus::parse(&text).map_err(|e| {
            let mut f = Failure::from(e);
            f.message = format!("--status {}: {}", display_input(path), f.message);
            f
        })?;
        Ok(Some(Expected {
            md5: status.md5,
            source,
        }))
    }

    /// Whether the status is to be read from standard input (`--status -`).
    pub fn reads_stdin(&self) -> bool {
        self.status.as_deref().is_some_and(is_dash)
    }
}

/// The most a backup-status record is read for: the appliance's is a few hundred bytes, and
/// anything longer is not one (`yes | a0backup verify --status - ...` is refused instead of
/// read for ever).
pub const STATUS_MAX: u64 = 1 << 20;

/// A status record from `r`, read up to [`STATUS_MAX`] bytes; or why what `r` holds is none
/// (binary data: the backup given to `--status`, most likely; or too long), in the words
/// of "--status FILE: not a status record (WHY)".
fn read_status(r: impl Read) -> io::Result<Result<String, String>> {
    let mut bytes = Vec::new();
    r.take(STATUS_MAX + 1).read_to_end(&mut bytes)?;
    let long = bytes.len() as u64 > STATUS_MAX;
    // Binary first: a backup given by mistake is longer than the bound, and that is the
    // less useful thing to say of it. A character cut by the bound is not damage.
    let binary = match std::str::from_utf8(&bytes) {
        Ok(text) => text.contains('\0'),
        Err(e) => !(long && e.error_len().is_none()),
    };
    if binary {
        return Ok(Err(
            "binary data; did you give the backup itself? --status takes the output of \
             `a0cli backup-status`"
                .to_string(),
        ));
    }
    if long {
        return Ok(Err(format!(
            "longer than {} KiB, where a0cli backup-status prints a few hundred bytes",
            STATUS_MAX >> 10
        )));
    }
    Ok(Ok(String::from_utf8(bytes).expect("checked above")))
}

/// What the success line says about the md5: `md5 HEX matches SOURCE`, or that it was not
/// checked and how to check it.
pub fn md5_said(expected: Option<&Expected>) -> String {
    match expected {
        Some(e) => format!("md5 {} matches {}", e.md5, e.source),
        None => "md5 not checked (give --md5 or --status)".to_string(),
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

/// Sets an option only when there is a value: `options.maybe(expected, RestoreOptions::expected_md5)`,
/// for the library's options, which take values, not `Option`s.
pub trait Maybe: Sized {
    fn maybe<T>(self, value: Option<T>, set: impl FnOnce(Self, T) -> Self) -> Self {
        match value {
            Some(v) => set(self, v),
            None => self,
        }
    }
}

impl<T> Maybe for T {}

/// Decrypt options for an input that must be a `.tar.gz` (restore, list).
pub fn decrypt_options(format: Option<Format>) -> DecryptOptions {
    let o = DecryptOptions::new().expect_gzip(true);
    match format {
        Some(f) => o.format(f),
        None => o,
    }
}
