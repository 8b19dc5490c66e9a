//! `a0backup md5` and `a0backup verify`: md5s as md5sum prints them, and checked.

use std::io::Write;
use std::path::{Path, PathBuf};

use a0backup::{checksum, Error};
use clap::Args;
use serde_json::json;

use crate::args::ExpectedMd5Args;
use crate::failure::{io_failure, usage, Failure};
use crate::io::{input_reader, is_dash, one_stdin, stdout};

#[derive(Args, Debug)]
pub struct Md5Args {
    /// Files to hash (- for standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    expected: ExpectedMd5Args,
    /// The file to check (- for standard input).
    file: PathBuf,
}

pub fn md5(a: Md5Args, json: bool) -> Result<(), Failure> {
    let mut failed = None;
    let mut records = Vec::new();
    let mut out = stdout().map_err(|e| io_failure(Path::new("-"), e))?;
    for path in &a.files {
        // Each opened once, a FIFO without waiting in the open (see `crate::io`).
        let result = match input_reader(path) {
            Ok((input, _)) => checksum::md5_reader(input)
                .map(|(d, _)| d)
                .map_err(Error::from),
            Err(f) => {
                eprintln!("a0backup: {}", f.message);
                failed = Some(f);
                continue;
            }
        };
        match result {
            Ok(d) if json => {
                records.push(json!({"file": path.to_string_lossy(), "md5": d.to_string()}))
            }
            Ok(d) => {
                writeln!(
                    out,
                    "{}",
                    checksum::md5sum_line(&d, &path.to_string_lossy())
                )
                .map_err(|e| io_failure(Path::new("-"), e))?;
            }
            Err(e) => {
                eprintln!("a0backup: {}", crate::failure::message(&e));
                failed = Some(Failure::from(e));
            }
        }
    }
    if json {
        writeln!(out, "{}", serde_json::Value::Array(records))
            .map_err(|e| io_failure(Path::new("-"), e))?;
    }
    match failed {
        None => Ok(()),
        Some(mut f) => {
            f.message = "some files could not be read".into();
            Err(f)
        }
    }
}

pub fn verify(a: VerifyArgs, json: bool, quiet: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("FILE -", is_dash(&a.file)),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let expected = a
        .expected
        .read()?
        .ok_or_else(|| usage("verify needs --md5 HEX or --status FILE"))?
        .md5;
    let (input, _) = input_reader(&a.file)?;
    let actual = checksum::md5_reader(input).map_err(Error::from)?.0;
    let ok = actual == expected;
    if json {
        outln!(
            "{}",
            json!({"file": a.file.to_string_lossy(), "expected": expected.to_string(),
                   "actual": actual.to_string(), "ok": ok})
        )?;
    } else if ok && !quiet {
        outln!("{}: OK", a.file.display())?;
    }
    actual.verify(&expected)?;
    Ok(())
}
