//! `a0backup list`: the entries of a `.tar.gz`, or of a `.tar.gz.enc` with a password.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::archive;
use clap::Args;
use serde_json::json;

use crate::args::{decrypt_options, FormatArgs};
use crate::failure::{io_failure, Failure};
use crate::io::input_reader;
use crate::password::OptionalPasswordArgs;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    password: OptionalPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// The archive, or - for standard input.
    input: PathBuf,
}

/// A name from an archive, escaped for the terminal as GNU tar prints it.
fn escape(p: &Path) -> String {
    archive::escape_name(p.as_os_str().as_encoded_bytes())
}

pub fn list(a: ListArgs, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?;
    let password = a.password.read(a.format.latin1_password)?;
    let (input, _) = input_reader(&a.input)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut write_err = None;
    {
        let mut each = |e: &archive::EntryInfo| {
            if json {
                let line = json!({"path": e.path.to_string_lossy(), "type": e.kind.letter().to_string(),
                    "size": e.size, "mode": e.mode, "mtime": e.mtime,
                    "link_target": e.link_target.as_ref().map(|t| t.to_string_lossy())});
                if let Err(err) = writeln!(out, "{line}") {
                    write_err.get_or_insert(err);
                }
                return;
            }
            let link = e
                .link_target
                .as_ref()
                .map(|t| format!(" -> {}", escape(t)))
                .unwrap_or_default();
            if let Err(err) = writeln!(
                out,
                "{}{:o} {:>12} {:>11} {}{}",
                e.kind.letter(),
                e.mode & 0o7777,
                e.size,
                e.mtime,
                escape(&e.path),
                link
            ) {
                write_err.get_or_insert(err);
            }
        };
        match password {
            Some(pw) => {
                let options = decrypt_options(format).expect_gzip(true);
                let r = a0backup::DecryptReader::new(input, &pw, &options)?;
                archive::list(r, &mut each)?;
            }
            None => archive::list(input, &mut each)?,
        }
    }
    out.flush().map_err(|e| io_failure(Path::new("-"), e))?;
    match write_err {
        Some(e) => Err(io_failure(Path::new("-"), e)),
        None => Ok(()),
    }
}
