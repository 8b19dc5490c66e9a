//! `a0backup decrypt`: the appliance's `node decrypt` step, with the md5 checked.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use a0backup::files::{self, FileOptions};
use a0backup::DecryptOptions;
use clap::Args;

use crate::args::{ExpectedMd5Args, FormatArgs};
use crate::failure::{io_failure, usage, writing, Failure};
use crate::io::{file_size, is_dash, one_stdin};
use crate::password::{PasswordArgs, Purpose};
use crate::progress::Bar;
use crate::signals;

#[derive(Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// Require the plaintext to be gzip (implied when INPUT ends in .gz.enc).
    #[arg(long)]
    expect_gzip: bool,
    /// The encrypted file, or - for standard input.
    input: PathBuf,
    /// Where to write (default: INPUT without .enc; - for standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn decrypt(a: DecryptArgs, quiet: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let format = a.format.read()?;
    let expected = a.expected.read()?.map(|e| e.md5);
    let output = match &a.output {
        Some(o) => o.clone(),
        None if is_dash(&a.input) => PathBuf::from("-"),
        None => match a.input.to_str().and_then(|s| s.strip_suffix(".enc")) {
            Some(stem) if !stem.is_empty() => PathBuf::from(stem),
            _ => {
                return Err(usage(
                    "INPUT does not end in .enc, so give the output name with -o",
                ))
            }
        },
    };
    let name = a.input.to_string_lossy();
    let expect_gzip = a.expect_gzip || name.ends_with(".gz.enc") || name.ends_with(".tgz.enc");
    let password = a
        .password
        .read(a.format.latin1_password, Purpose::Decrypt(&a.input))?;
    let mut decrypt_options = DecryptOptions::new().expect_gzip(expect_gzip);
    if let Some(f) = format {
        decrypt_options = decrypt_options.format(f);
    }
    let total = if is_dash(&a.input) {
        None
    } else {
        file_size(&a.input)
    };
    let bar = Bar::new(quiet, total);
    let options = FileOptions::new()
        .overwrite(a.force)
        .expected_md5(expected)
        .decrypt_options(decrypt_options)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();

    match (is_dash(&a.input), is_dash(&output)) {
        (false, false) => {
            files::decrypt_file(&a.input, &output, &password, options)
                .map_err(|e| writing(&output, e))?;
        }
        (true, false) => {
            files::decrypt_to_file(io::stdin().lock(), None, &output, &password, options)
                .map_err(|e| writing(&output, e))?;
        }
        (from_stdin, true) => {
            // Standard output cannot be taken back, so a file's md5 is checked before any
            // byte is written; from stdin it can only be checked at the end (exit code 4).
            if let (false, Some(e)) = (from_stdin, &expected) {
                files::verify_file(&a.input, e)?;
            }
            let options = if from_stdin {
                options
            } else {
                options.expected_md5(None)
            };
            let stdout = io::stdout();
            if from_stdin {
                files::decrypt_stream(io::stdin().lock(), stdout, None, &password, options)?;
            } else {
                let f = File::open(&a.input).map_err(|e| io_failure(&a.input, e))?;
                files::decrypt_stream(f, stdout, total, &password, options)?;
            }
        }
    }
    Ok(())
}
