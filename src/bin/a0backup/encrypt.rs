//! `a0backup encrypt`: a file encrypted as the appliance does, or in an openssl enc format.

use std::path::{Path, PathBuf};

use a0backup::files::{self, FileOptions};
use clap::Args;

use crate::args::{FormatArgs, Maybe};
use crate::failure::{io_failure, writing, Failure};
use crate::io::{display_input, input_reader, is_dash, one_stdin, stdout};
use crate::password::{PasswordArgs, Purpose};
use crate::progress::Bar;
use crate::signals;

#[derive(Args, Debug)]
pub struct EncryptArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The file to encrypt, or - for standard input.
    input: PathBuf,
    /// Where to write (- for standard output).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn encrypt(a: EncryptArgs, quiet: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
    ])?;
    let format = a.format.read()?.unwrap_or_default();
    let password = a
        .password
        .read(a.format.latin1_password, Purpose::Encrypt(&a.input))?;
    // INPUT opened once, a FIFO without waiting in the open (see `crate::io`).
    let (input, total) = input_reader(&a.input)?;
    let bar = Bar::new(quiet, total);
    let options = FileOptions::new()
        .replace(a.force)
        .format(format)
        .maybe(total, FileOptions::input_len)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let summary = if is_dash(&a.output) {
        let out = stdout().map_err(|e| io_failure(Path::new("-"), e))?;
        files::encrypt_stream(input, out, &password, options)?
    } else {
        files::encrypt_reader(input, &a.output, &password, options)
            .map_err(|e| writing(&a.output, e))?
    };
    drop(bar);
    if !quiet {
        let into = if is_dash(&a.output) {
            "standard output".to_string()
        } else {
            a.output.display().to_string()
        };
        eprintln!(
            "encrypted {} into {into} ({} bytes, {format} format); its md5 is {}",
            display_input(&a.input),
            summary.ciphertext_bytes,
            summary.ciphertext_md5
        );
    }
    Ok(())
}
