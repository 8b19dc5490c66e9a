//! `a0backup list`: the entries of a `.tar.gz`, or of a `.tar.gz.enc` with a password.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use a0backup::archive::{self, EntryInfo, UnpackOptions};
use clap::Args;
use serde_json::json;

use crate::args::{decrypt_options, FormatArgs};
use crate::failure::{io_failure, Failure};
use crate::io::{is_dash, one_stdin, open_input};
use crate::password::ListPasswordArgs;
use crate::tvf::Tvf;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Print a table by database and collection (from the headers alone: sizes, no document
    /// counts; `a0backup check` reads the documents).
    #[arg(long)]
    collections: bool,
    /// The archive, or - for standard input.
    input: PathBuf,
}

pub fn list(a: ListArgs, json: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
    ])?;
    let format = a.format.read()?;
    let latin1 = a.format.latin1_password;
    let input = open_input(&a.input)?;
    let password = a.password.for_input(latin1, &a.input, &input.head)?;
    let input = input.reader;
    if a.collections {
        return match password {
            Some(pw) => {
                let r = a0backup::DecryptReader::new(input, &pw, decrypt_options(format))?;
                crate::collections::print(r, json)
            }
            None => crate::collections::print(input, json),
        };
    }
    let mut out =
        io::BufWriter::new(crate::io::stdout().map_err(|e| io_failure(Path::new("-"), e))?);
    let mut write_err = None;
    let mut tvf = Tvf::default();
    {
        let mut each = |e: &EntryInfo| {
            if json {
                let line = json!({"path": e.path.to_string_lossy(), "type": e.kind.letter().to_string(),
                    "size": e.size, "mode": e.mode, "mtime": e.mtime,
                    "link_target": e.link_target.as_ref().map(|t| t.to_string_lossy()),
                    "uid": e.uid, "gid": e.gid, "uname": e.uname.to_string_lossy(),
                    "gname": e.gname.to_string_lossy(), "devmajor": e.devmajor,
                    "devminor": e.devminor});
                if let Err(err) = writeln!(out, "{line}") {
                    write_err.get_or_insert(err);
                }
                return;
            }
            if let Err(err) = writeln!(out, "{}", tvf.line(e)) {
                write_err.get_or_insert(err);
            }
        };
        let gz: Box<dyn Read> = match password {
            Some(pw) => Box::new(a0backup::DecryptReader::new(
                input,
                &pw,
                decrypt_options(format),
            )?),
            None => input,
        };
        for entry in archive::list(gz, UnpackOptions::new())? {
            each(&entry?);
        }
    }
    out.flush().map_err(|e| io_failure(Path::new("-"), e))?;
    match write_err {
        Some(e) => Err(io_failure(Path::new("-"), e)),
        None => Ok(()),
    }
}
