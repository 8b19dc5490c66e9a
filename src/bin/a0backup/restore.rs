//! `a0backup restore` (a `.tar.gz.enc` into a directory) and `a0backup unpack` (a plain
//! `.tar.gz`), under one safety policy.

use std::path::{Path, PathBuf};

use a0backup::archive::{EntryFilter, UnpackOptions};
use a0backup::gzip::InflateOptions;
use a0backup::restore::{self as restore_mod, RestoreOptions};
use a0backup::Error;
use clap::Args;
use serde_json::json;

use crate::args::{md5_said, Expected, ExpectedMd5Args, FormatArgs, Maybe};
use crate::failure::{after_mismatch, usage, writing, Failure};
use crate::io::{
    display_input, is_dash, looks_encrypted, looks_gzip, not_gzip, one_stdin, open_input, Input,
};
use crate::password::{prompt, PasswordArgs, Purpose};
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
    /// Write only the entries GLOB selects (repeatable), as GNU tar's member arguments with
    /// --wildcards: an archive path it matches, and everything under a directory it matches
    /// (`*` and `?` match `/` too; ./dump/x and dump/x name the same entry). Every entry is
    /// still read and judged.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Leave out the entries GLOB matches (repeatable), as GNU tar's --exclude: any run of
    /// whole components of the path (`admin`, `dump/admin`), and everything under a
    /// directory it matches.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Write only this collection's .bson and .metadata.json (repeatable; with --include, both
    /// select).
    #[arg(long, value_name = "DB.COLL")]
    collection: Vec<String>,
    /// Inflate the gzip stream on N worker threads (without N: one per core, at most 16)
    /// instead of sequentially with zlib-rs. Sequential is the default because it is the
    /// fastest on two cores; the threads pay off on more. Memory: at most about 10 MiB per
    /// thread plus 29 MiB.
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true, default_missing_value = "0")]
    threads: Option<usize>,
}

impl SafetyArgs {
    pub fn options(&self) -> Result<UnpackOptions, Failure> {
        let mut filter = EntryFilter::new();
        for p in &self.include {
            filter = filter.include(p)?;
        }
        for p in &self.exclude {
            filter = filter.exclude(p)?;
        }
        for c in &self.collection {
            filter = filter.collection(c)?;
        }
        let mut inflate = InflateOptions::new();
        if let Some(n) = self.threads {
            inflate = inflate.threads(n);
        }
        let mut o = UnpackOptions::new()
            .inflate(inflate)
            .filter(filter)
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
        Ok(o)
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
    expected: ExpectedMd5Args,
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
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    // DEST is refused before the password is asked for and the input read; so is one that
    // holds a file this command reads, which replacing it would delete.
    let keep = files_read(&[
        Some(a.input.as_path()),
        a.password.password_file.as_deref(),
        a.expected.status.as_deref(),
    ]);
    restore_mod::validate_destination(&a.dest, a.force, &keep).map_err(|e| writing(&a.dest, e))?;
    let format = a.format.read()?;
    let checked = a.expected.read()?;
    let expected = checked.as_ref().map(|e| e.md5);
    let latin1 = a.format.latin1_password;
    let Input {
        reader: input,
        size: total,
        head,
        ..
    } = open_input(&a.input)?;
    let password = match a.password.given(latin1)? {
        Some(p) => p,
        // A plain .tar.gz needs no password: say which command reads it, not "Password:".
        None if looks_gzip(&head) => {
            return Err(usage(format!(
                "{} is a plain .tar.gz, not encrypted: unpack it with `a0backup unpack`",
                display_input(&a.input)
            )))
        }
        None => prompt(latin1, Purpose::Decrypt(&a.input))?,
    };
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .maybe(expected, RestoreOptions::expected_md5)
        .maybe(format, RestoreOptions::format)
        .maybe(total, RestoreOptions::input_len)
        .replace(a.force)
        .unpack(a.safety.options()?)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, &a.dest, Some(&password), options).map_err(|e| {
        let wrong = matches!(e.primary(), Error::WrongPassword { .. });
        let mut f = after_mismatch(e, &nothing_into(&a.dest), |e| writing(&a.dest, e));
        if wrong && looks_gzip(&head) {
            f.message.push_str(&format!(
                " ({} begins like a plain .tar.gz: if it is one, use `a0backup unpack`)",
                display_input(&a.input)
            ));
        }
        f
    })?;
    drop(bar);
    report_unpacked(quiet, json, "restored", &a.dest, &s, checked.as_ref())
}

/// The JSON record (with --json), the warnings, and the success line on stderr.
fn report_unpacked(
    quiet: bool,
    json: bool,
    verb: &str,
    dest: &Path,
    summary: &restore_mod::RestoreSummary,
    checked: Option<&Expected>,
) -> Result<(), Failure> {
    let s = &summary.unpacked;
    // The tree is published: the warnings and the success line are said even when nobody
    // reads the JSON any more.
    let mut printed = Ok(());
    if json {
        printed = outln!(
            "{}",
            json!({"destination": dest.to_string_lossy(), "files": s.files,
                   "directories": s.directories, "links": s.links, "bytes": s.bytes,
                   "trailing_bytes": s.trailing_bytes, "warnings": s.warnings,
                   "skipped": s.skipped,
                   "md5": summary.md5.map(|d| d.to_string())})
        );
    }
    for w in &s.warnings {
        eprintln!("a0backup: warning: {}", crate::io::safe(w));
    }
    if s.trailing_bytes > 0 {
        eprintln!(
            "a0backup: warning: {} non-zero bytes after the end of the archive were ignored",
            s.trailing_bytes
        );
    }
    if !quiet {
        let skipped = if s.skipped > 0 {
            format!(" ({} entries not selected)", s.skipped)
        } else {
            String::new()
        };
        eprintln!(
            "{verb} {} files, {} directories, {} links, {} bytes into {}{skipped}; {}",
            s.files,
            s.directories,
            s.links,
            s.bytes,
            dest.display(),
            md5_said(checked)
        );
    }
    printed
}

pub fn unpack(a: UnpackArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let keep = files_read(&[Some(a.input.as_path()), a.expected.status.as_deref()]);
    restore_mod::validate_destination(&a.dest, a.force, &keep).map_err(|e| writing(&a.dest, e))?;
    let checked = a.expected.read()?;
    let Input {
        reader: input,
        size: total,
        head,
        ..
    } = open_input(&a.input)?;
    if looks_encrypted(&a.input, &head) {
        return Err(usage(format!(
            "{} looks encrypted: unpack reads plain .tar.gz files; restore it with \
             `a0backup restore` (it asks for the password, or give --password-file, \
             --password-env or --password)",
            display_input(&a.input)
        )));
    }
    if !looks_gzip(&head) {
        return Err(not_gzip(&a.input, "restore it with `a0backup restore`"));
    }
    let bar = Bar::new(quiet, total);
    let options = RestoreOptions::new()
        .maybe(
            checked.as_ref().map(|e| e.md5),
            RestoreOptions::expected_md5,
        )
        .maybe(total, RestoreOptions::input_len)
        .replace(a.force)
        .unpack(a.safety.options()?)
        .sync(!a.no_sync)
        .progress(bar.progress());
    signals::install();
    let s = restore_mod::restore_reader(input, &a.dest, None, options)
        .map_err(|e| after_mismatch(e, &nothing_into(&a.dest), |e| writing(&a.dest, e)))?;
    drop(bar);
    report_unpacked(quiet, json, "unpacked", &a.dest, &s, checked.as_ref())
}

/// What an md5 mismatch leaves of a restore or unpack: nothing (the tree is published only
/// once the md5 matched; the staging directory beside DEST is removed).
fn nothing_into(dest: &Path) -> String {
    format!("nothing was written into {}", dest.display())
}

/// The files among `inputs` (`-`, standard input, is none).
fn files_read<'p>(inputs: &[Option<&'p Path>]) -> Vec<&'p Path> {
    inputs
        .iter()
        .flatten()
        .copied()
        .filter(|p| !is_dash(p))
        .collect()
}
