//! `a0backup pack`: a directory into a `.tar.gz`, encrypted when a password is given, and its
//! backup-status record.

use std::path::PathBuf;

use a0backup::pack::{pack_file, PackOptions};
use a0backup::{BackupStatus, Error};
use clap::Args;

use crate::args::{FormatArgs, Maybe};
use crate::failure::{usage, writing, Failure};
use crate::io::name_ends;
use crate::password::PackPasswordArgs;
use crate::progress::Bar;
use crate::signals;

#[derive(Args, Debug)]
pub struct PackArgs {
    #[command(flatten)]
    password: PackPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// gzip level, 0-9 (default 5, which makes mongodump data smaller than `gzip -6` does).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=9))]
    level: Option<u32>,
    /// Replace OUTPUT if it exists.
    #[arg(long, short)]
    force: bool,
    /// Do not flush the output to stable storage before publishing it (faster; after a power
    /// loss the output may hold empty or partial files).
    #[arg(long)]
    no_sync: bool,
    /// The directory to pack; entries are stored under its name.
    dir: PathBuf,
    /// The file to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn pack(a: PackArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    let format = a.format.read()?.unwrap_or_default();
    let password = a.password.given(a.format.latin1_password)?;
    let encrypted = password.is_some();
    if !encrypted && name_ends(&a.output, ".enc") {
        return Err(usage(format!(
            "{} is named .enc but no password option was given: pack encrypts only with \
             --password-file, --password-env or --password",
            a.output.display()
        )));
    }

    // DIR first: a missing DIR (or swapped arguments) is the mistake to name, not the output.
    match std::fs::metadata(&a.dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(usage(format!("{} is not a directory", a.dir.display()))),
        Err(source) => {
            return Err(Error::Path {
                path: a.dir.clone(),
                source,
            }
            .into())
        }
    }
    let bar = Bar::new(true, None);
    let options = PackOptions::new()
        .maybe(a.level, PackOptions::level)
        .format(format)
        .replace(a.force)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let summary = pack_file(&a.dir, &a.output, password.as_ref(), options)
        .map_err(|e| writing(&a.output, e))?;
    drop(bar);
    let status = BackupStatus {
        message: Some("Backup found".into()),
        name: a
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        md5: summary.md5,
    };
    if json {
        // One line, for scripts; the default output is laid out as `a0cli backup-status`.
        let v: serde_json::Value =
            serde_json::from_str(&status.to_json()).expect("our own JSON parses");
        outln!("{v}")?;
    } else {
        outln!("{}", status.to_json())?;
    }
    if !quiet {
        let how = if encrypted {
            format!("encrypted, {format} format")
        } else {
            "not encrypted".to_string()
        };
        eprintln!(
            "packed {} into {} ({} entries, {} bytes of files, {how}); its md5 is {}",
            a.dir.display(),
            a.output.display(),
            summary.entries,
            summary.file_bytes,
            summary.md5
        );
    }
    Ok(())
}
