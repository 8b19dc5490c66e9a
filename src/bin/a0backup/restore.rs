//! `a0backup restore` (a `.tar.gz.enc` into a directory) and `a0backup unpack` (a plain
//! `.tar.gz`), under one safety policy.

use std::path::{Path, PathBuf};

use a0backup::archive::UnpackOptions;
use a0backup::restore::{self as restore_mod, RestoreOptions};
use clap::Args;
use serde_json::json;

use crate::args::{decrypt_options, ExpectedMd5Args, FormatArgs};
use crate::failure::Failure;
use crate::io::input_reader;
use crate::password::PasswordArgs;
use crate::progress::Bar;
use crate::signals;

#[derive(Args, Debug)]
pub struct SafetyArgs {
    /// Extract symlinks that resolve inside DEST (refused by default).
    #[arg(long)]
    allow_symlinks: bool,
    /// Extract hardlinks to files extracted earlier from the same archive (refused by default).
    #[arg(long)]
    allow_hardlinks: bool,
    /// Most bytes of file data to extract (default 1 TiB).
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// Most entries to accept (default 10 million).
    #[arg(long, value_name = "N")]
    max_entries: Option<u64>,
    /// Longest entry path in bytes (default 4096).
    #[arg(long, value_name = "BYTES")]
    max_path_len: Option<usize>,
    /// Keep the archive's permission bits (never setuid, setgid or sticky). By default they
    /// are masked by the umask, as GNU tar does for ordinary users.
    #[arg(long, short = 'p')]
    preserve_permissions: bool,
}

impl SafetyArgs {
    fn options(&self) -> UnpackOptions {
        let mut o = UnpackOptions::new()
            .allow_symlinks(self.allow_symlinks)
            .allow_hardlinks(self.allow_hardlinks)
            .preserve_permissions(self.preserve_permissions);
        if let Some(n) = self.max_size {
            o = o.max_total_bytes(n);
        }
        if let Some(n) = self.max_entries {
            o = o.max_entries(n);
        }
        if let Some(n) = self.max_path_len {
            o = o.max_path_len(n);
        }
        o
    }
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    safety: SafetyArgs,
    /// Replace DEST if it exists and is not empty (only once the new tree is complete).
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The encrypted backup, or - for standard input.
    input: PathBuf,
    /// The directory to restore into.
    #[arg(short = 'C', long = "directory", value_name = "DEST")]
    dest: PathBuf,
}

#[derive(Args, Debug)]
pub struct UnpackArgs {
    #[command(flatten)]
    safety: SafetyArgs,
    /// Replace DEST if it exists and is not empty.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The .tar.gz, or - for standard input.
    input: PathBuf,
    /// The directory to unpack into.
    #[arg(short = 'C', long = "directory", value_name = "DEST")]
    dest: PathBuf,
}

pub fn restore(a: RestoreArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?;
    let expected = a.expected.read()?;
    let password = a.password.read(a.format.latin1_password)?;
    let (input, total) = input_reader(&a.input)?;
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .expected_md5(expected)
        .replace(a.force)
        .decrypt_options(decrypt_options(format))
        .unpack(a.safety.options())
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, total, &a.dest, Some(&password), options)?;
    drop(bar);
    report_unpacked(quiet, json, &a.dest, &s);
    Ok(())
}

fn report_unpacked(quiet: bool, json: bool, dest: &Path, summary: &restore_mod::RestoreSummary) {
    let s = &summary.unpacked;
    if json {
        println!(
            "{}",
            json!({"destination": dest.to_string_lossy(), "files": s.files,
                   "directories": s.directories, "links": s.links, "bytes": s.bytes,
                   "trailing_bytes": s.trailing_bytes, "warnings": s.warnings,
                   "md5": summary.md5.map(|d| d.to_string())})
        );
    }
    for w in &s.warnings {
        eprintln!("a0backup: warning: {w}");
    }
    if s.trailing_bytes > 0 {
        eprintln!(
            "a0backup: warning: {} non-zero bytes after the end of the archive were ignored",
            s.trailing_bytes
        );
    }
    if !quiet && !json {
        eprintln!(
            "restored {} files, {} directories, {} bytes into {}",
            s.files,
            s.directories,
            s.bytes,
            dest.display()
        );
    }
}

pub fn unpack(a: UnpackArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    let (input, total) = input_reader(&a.input)?;
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .replace(a.force)
        .unpack(a.safety.options())
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, total, &a.dest, None, options)?;
    drop(bar);
    report_unpacked(quiet, json, &a.dest, &s);
    Ok(())
}
