//! `a0backup check`: will this backup restore? One pass, nothing written: the md5, decryption,
//! gzip, the tar under restore's own policy, and every collection of the mongodump inside.

use std::path::PathBuf;

use a0backup::check::{check_reader, CheckOptions, CheckReport};
use clap::Args;

use crate::args::{decrypt_options, md5_said, ExpectedMd5Args, FormatArgs};
use crate::failure::Failure;
use crate::io::{is_dash, one_stdin, open_input};
use crate::password::ListPasswordArgs;
use crate::restore::SafetyArgs;

/// Exit code for "the archive would restore, but collection data is damaged or incomplete".
pub const DAMAGED_COLLECTIONS: u8 = 6;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    safety: SafetyArgs,
    /// The backup (.tar.gz.enc, or a plain .tar.gz), or - for standard input.
    input: PathBuf,
}

pub fn check(a: CheckArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let format = a.format.read()?;
    let checked = a.expected.read()?;
    let latin1 = a.format.latin1_password;
    let input = open_input(&a.input)?;
    let password = a.password.for_input(latin1, &a.input, &input.head)?;
    let options = CheckOptions::new()
        .expected_md5(checked.as_ref().map(|e| e.md5))
        .decrypt_options(decrypt_options(format))
        .unpack(a.safety.options()?);
    let report = check_reader(input.reader, password.as_ref(), &options)?;
    if json {
        outln!("{}", report.to_json())?;
    } else if !quiet {
        print_table(&report)?;
    }
    for w in &report.warnings {
        eprintln!("a0backup: warning: {w}");
    }
    if let Some(refusal) = &report.refusal_error {
        // The refusal in the command's words (`--allow-symlinks`, `--max-size`, ...).
        return Err(Failure {
            code: a0backup::error::ErrorKind::UnsafeArchive.exit_code(),
            message: format!(
                "restore would refuse this backup: {}",
                crate::failure::message(refusal.error())
            ),
        });
    }
    if !report.collections_ok {
        return Err(Failure {
            code: DAMAGED_COLLECTIONS,
            message: format!(
                "the archive would restore, but {} of {} collections are damaged or incomplete (see above)",
                report.totals.damaged + report.totals.orphans,
                report.totals.collections
            ),
        });
    }
    if !quiet {
        eprintln!(
            "checked {} collections, {} documents, {} bytes: restorable, every collection reads cleanly; {}",
            report.totals.collections,
            report.totals.documents,
            report.totals.bytes,
            md5_said(checked.as_ref())
        );
    }
    Ok(())
}

/// One line per collection, as an admin reads it.
fn print_table(report: &CheckReport) -> Result<(), Failure> {
    outln!(
        "{:<40} {:>10} {:>14} {:>7}  status",
        "collection",
        "documents",
        "bytes",
        "indexes"
    )?;
    for c in &report.collections {
        let name = if c.database.is_empty() {
            c.collection.clone()
        } else {
            format!("{}.{}", c.database, c.collection)
        };
        let status = match (&c.error, &c.orphan) {
            (Some(e), _) => format!(
                "DAMAGED: {}{}",
                e.document
                    .map(|d| format!("document {d} at byte {}: ", e.offset.unwrap_or(0)))
                    .unwrap_or_default(),
                e.reason
            ),
            (None, Some(o)) => format!("INCOMPLETE: {o}"),
            (None, None) => "ok".to_string(),
        };
        outln!(
            "{:<40} {:>10} {:>14} {:>7}  {status}",
            name,
            c.documents,
            c.bytes,
            c.indexes
        )?;
    }
    let t = &report.totals;
    outln!(
        "{:<40} {:>10} {:>14} {:>7}",
        format!("total ({} collections)", t.collections),
        t.documents,
        t.bytes,
        t.indexes
    )
}
