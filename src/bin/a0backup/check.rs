//! `a0backup check`: will this backup restore? One pass, nothing written: the md5, decryption,
//! gzip, the tar under restore's own policy, and every collection of the mongodump inside.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::archive::escape_name;
use a0backup::check::{check_stream, CheckOptions, CheckReport, Checked};
use clap::Args;

use crate::args::{md5_said, ExpectedMd5Args, FormatArgs, Maybe};
use crate::failure::{io_failure, Failure};
use crate::io::{is_dash, one_stdin, open_input, safe};
use crate::password::ListPasswordArgs;
use crate::restore::SafetyArgs;

/// Exit code for "the archive would restore, but collection data is damaged or incomplete".
pub const DAMAGED_COLLECTIONS: u8 = 6;

// Restore's safety and selection options (`SafetyArgs`, the same flags, parsed the same way),
// described as what check judges: it extracts nothing and has no DEST.
#[derive(Args, Debug)]
#[command(
    mut_arg("allow_symlinks", |a| a.help(
        "Accept symlinks that resolve inside the restored tree, as restore --allow-symlinks \
         would (refused by default)"
    )),
    mut_arg("allow_hardlinks", |a| a.help(
        "Accept hardlinks to files earlier in the archive, as restore --allow-hardlinks would \
         (refused by default)"
    )),
    mut_arg("max_size", |a| a.help(
        "Most bytes of file data to accept, as restore --max-size would (default 1 TiB)"
    )),
    mut_arg("max_entries", |a| a.help(
        "Most entries to accept, as restore --max-entries would (default 10 million)"
    )),
    mut_arg("max_path_len", |a| a.help(
        "Longest entry path in bytes to accept, as restore --max-path-len would (default 4096)"
    )),
    mut_arg("preserve_permissions", |a| a.help(
        "No effect on check, which writes nothing: accepted so that a restore command line \
         checks as it is (restore -p keeps the archive's permission bits)"
    )),
    mut_arg("include", |a| a.help(
        "Check only the entries GLOB selects, as restore --include would select them \
         (repeatable; GNU tar's member arguments with --wildcards). Every entry is still read \
         and judged, and a GLOB that matches no file fails, as in restore"
    )),
    mut_arg("exclude", |a| a.help(
        "Leave out of the check the entries GLOB matches, as restore --exclude would leave \
         them out (repeatable; GNU tar's --exclude)"
    )),
    mut_arg("collection", |a| a.help(
        "Check only this collection, as restore --collection would select it (repeatable; \
         with --include, both select). A name the archive does not hold fails, as in restore"
    )),
)]
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
        .maybe(checked.as_ref().map(|e| e.md5), CheckOptions::expected_md5)
        .maybe(format, CheckOptions::format)
        .unpack(a.safety.options()?);
    let mut stream = check_stream(input.reader, password.as_ref(), options)?;
    // The rows come one at a time, so that a backup of a million collections is printed in
    // the memory of one.
    let report = if json {
        print_json(stream)?
    } else if !quiet {
        print_table(stream)?
    } else {
        stream.by_ref().try_for_each(|r| r.map(drop))?;
        stream.finish()?
    };
    for w in &report.warnings {
        eprintln!("a0backup: warning: {}", safe(w));
    }
    if let Some(refusal) = &report.refusal {
        // The refusal in the command's words (`--allow-symlinks`, `--max-size`, ...), with the
        // exit code restore would end with (5 for the policy, 1 for a damaged tar stream).
        return Err(Failure {
            code: refusal.error().exit_code(),
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
                report.totals.problems,
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

/// `DB.COLL` as a terminal shows it: escaped as GNU tar escapes names.
pub fn shown_name(database: &str, collection: &str) -> String {
    if database.is_empty() {
        escape_name(collection.as_bytes())
    } else {
        escape_name(format!("{database}.{collection}").as_bytes())
    }
}

/// One line per collection, as an admin reads it, then the totals.
fn print_table(mut stream: Checked) -> Result<CheckReport, Failure> {
    outln!(
        "{:<40} {:>10} {:>14} {:>7}  status",
        "collection",
        "documents",
        "bytes",
        "indexes"
    )?;
    for c in stream.by_ref() {
        let c = c?;
        let status = match (&c.error, &c.orphan) {
            (Some(e), _) => format!(
                "DAMAGED: {}{}",
                e.document
                    .map(|d| format!("document {d} at byte {}: ", e.offset.unwrap_or(0)))
                    .unwrap_or_default(),
                safe(&e.reason)
            ),
            (None, Some(o)) => format!("INCOMPLETE: {o}"),
            (None, None) => "ok".to_string(),
        };
        outln!(
            "{:<40} {:>10} {:>14} {:>7}  {status}",
            shown_name(&c.database, &c.collection),
            c.documents,
            c.bytes,
            c.indexes
        )?;
    }
    let report = stream.finish()?;
    let t = &report.totals;
    outln!(
        "{:<40} {:>10} {:>14} {:>7}",
        format!("total ({} collections)", t.collections),
        t.documents,
        t.bytes,
        t.indexes
    )?;
    Ok(report)
}

/// The report as one JSON object (`CheckReport::to_json`'s), written as the rows come.
fn print_json(mut stream: Checked) -> Result<CheckReport, Failure> {
    let mut head = serde_json::to_value(stream.report()).map_err(json_failure)?;
    let mut tail = serde_json::Map::new();
    if let Some(fields) = head.as_object_mut() {
        for key in ["collections", "collections_ok", "totals"] {
            fields.remove(key);
        }
    }
    let head = head.to_string();
    let mut out = io::BufWriter::new(crate::io::stdout().map_err(stdout_failure)?);
    let mut put = |s: &str| out.write_all(s.as_bytes());
    let written = (|| -> Result<CheckReport, Failure> {
        put(&head[..head.len() - 1]).map_err(stdout_failure)?;
        put(",\"collections\":[").map_err(stdout_failure)?;
        let mut first = true;
        for row in stream.by_ref() {
            let row = serde_json::to_string(&row?).map_err(json_failure)?;
            put(if first { "" } else { "," }).map_err(stdout_failure)?;
            put(&row).map_err(stdout_failure)?;
            first = false;
        }
        let report = stream.finish()?;
        let full = serde_json::to_value(&report).map_err(json_failure)?;
        for key in ["collections_ok", "totals"] {
            tail.insert(key.to_string(), full[key].clone());
        }
        let tail = serde_json::Value::Object(tail).to_string();
        put("],").map_err(stdout_failure)?;
        put(&tail[1..]).map_err(stdout_failure)?;
        put("\n").map_err(stdout_failure)?;
        Ok(report)
    })();
    let report = written?;
    out.flush().map_err(stdout_failure)?;
    Ok(report)
}

fn json_failure(e: serde_json::Error) -> Failure {
    Failure::from(a0backup::Error::InvalidArgument(format!(
        "the report as JSON: {e}"
    )))
}

fn stdout_failure(e: io::Error) -> Failure {
    io_failure(Path::new("-"), e)
}
