//! `a0backup dump`: one collection of a backup as Extended JSON, one document per line, as
//! `bsondump` prints it, straight from the encrypted file; or its `.metadata.json`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::dump::{dump_reader, metadata_reader, DumpOptions, Namespace};
use a0backup::error::Input as Layer;
use a0backup::extjson::ExtJsonOptions;
use a0backup::query::Filter;
use a0backup::Error;
use clap::Args;

use crate::args::{md5_said, Expected, ExpectedMd5Args, FormatArgs};
use crate::check::DAMAGED_COLLECTIONS;
use crate::failure::{io_failure, usage, Failure};
use crate::io::{is_dash, one_stdin, open_input, Input};
use crate::jsonl::{write_lines, Failed};
use crate::password::ListPasswordArgs;

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    expected: ExpectedMd5Args,
    #[command(flatten)]
    format: FormatArgs,
    /// Only the documents this MongoDB query selects (Extended JSON, as mongosh's find takes
    /// it): equality on fields and dotted paths, $eq $ne $gt $gte $lt $lte $in $nin $exists
    /// $regex $options $and $or $not; anything else is refused.
    #[arg(long, value_name = "JSON")]
    filter: Option<String>,
    /// Relaxed Extended JSON (numbers as JSON numbers, dates as ISO-8601) instead of canonical.
    #[arg(long)]
    relaxed: bool,
    /// Indent with tabs over several lines, as bsondump --pretty.
    #[arg(long)]
    pretty: bool,
    /// Print at most N documents, and stop reading once they are printed.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Print the collection's .metadata.json (indexes, options) instead of its documents.
    #[arg(long, conflicts_with_all = ["filter", "limit", "relaxed"])]
    metadata: bool,
    /// The backup (.tar.gz.enc, or a plain .tar.gz), or - for standard input.
    input: PathBuf,
    /// The collection: DATABASE.COLLECTION (auth0.users).
    #[arg(value_name = "DB.COLL")]
    collection: String,
}

pub fn dump(a: DumpArgs, quiet: bool) -> Result<(), Failure> {
    one_stdin(&[
        ("INPUT -", is_dash(&a.input)),
        ("--password-file -", a.password.reads_stdin()),
        ("--status -", a.expected.reads_stdin()),
    ])?;
    let namespace = Namespace::parse(&a.collection).map_err(|e| usage(e.to_string()))?;
    let filter = match &a.filter {
        Some(text) => Some(Filter::parse(text).map_err(|e| usage(format!("--filter: {e}")))?),
        None => None,
    };
    let format = a.format.read()?;
    let expected = a.expected.read()?;
    let input = open_input(&a.input)?;
    let password = a
        .password
        .for_input(a.format.latin1_password, &a.input, &input.head)?;
    let (input, mut options) = md5_first(input, expected.as_ref())?;
    if let Some(f) = format {
        options = options.format(f);
    }
    if a.metadata {
        let json = metadata_reader(input.reader, &namespace, password.as_ref(), options)
            .map_err(failure)?;
        print_metadata(&json, a.pretty)?;
    } else {
        if let Some(f) = filter {
            options = options.filter(f);
        }
        if let Some(n) = a.limit {
            options = options.limit(n);
        }
        let json = ExtJsonOptions::new().relaxed(a.relaxed).pretty(a.pretty);
        let (printed, summary) =
            print_documents(input, &namespace, password.as_ref(), options, json)?;
        if !quiet {
            eprintln!(
                "{printed} documents of {} ({} read); {}",
                crate::check::shown_name(&namespace.database, &namespace.collection),
                summary.scanned,
                md5_said(expected.as_ref())
            );
        }
    }
    Ok(())
}

/// The md5 checked before anything is printed when the input can be read twice (a regular
/// file: through the same open file); otherwise (a pipe) the dump reads the rest for it after
/// the collection and compares at the end (exit 4 then, what was printed to be discarded).
fn md5_first(
    input: Input,
    expected: Option<&Expected>,
) -> Result<(Input, DumpOptions<'static>), Failure> {
    let Some(expected) = expected else {
        return Ok((input, DumpOptions::new()));
    };
    let (md5, input) = input.rewound_md5()?;
    match md5 {
        Some(md5) => {
            md5.verify(&expected.md5)?;
            Ok((input, DumpOptions::new()))
        }
        None => Ok((input, DumpOptions::new().expected_md5(expected.md5))),
    }
}

/// The documents, one per line, as they come; returns how many were printed.
fn print_documents(
    input: Input,
    namespace: &Namespace,
    password: Option<&a0backup::Password>,
    options: DumpOptions<'static>,
    json: ExtJsonOptions,
) -> Result<(u64, a0backup::dump::DumpSummary), Failure> {
    let mut documents = dump_reader(input.reader, namespace, password, options).map_err(failure)?;
    let stdout = crate::io::stdout().map_err(stdout_failure)?;
    let mut out = io::BufWriter::with_capacity(256 * 1024, stdout);
    let printed = match write_lines(&mut documents, &mut out, json) {
        Ok(n) => n,
        Err(Failed::Write(e)) => return Err(stdout_failure(e)),
        Err(Failed::Dump(e, None)) => {
            out.flush().map_err(stdout_failure)?;
            return Err(failure(e));
        }
        // What check's validator lets through and the writer does not: damaged, at this
        // document.
        Err(Failed::Dump(e, Some(doc))) => {
            out.flush().map_err(stdout_failure)?;
            return Err(failure(Error::DamagedDocument {
                namespace: crate::check::shown_name(&namespace.database, &namespace.collection),
                document: doc.index,
                offset: doc.offset,
                at: doc.offset,
                reason: e.to_string(),
            }));
        }
    };
    out.flush().map_err(stdout_failure)?;
    let summary = documents.finish().map_err(failure)?;
    Ok((printed, summary))
}

/// The metadata as stored, or re-indented with tabs (key order kept) with --pretty.
fn print_metadata(json: &str, pretty: bool) -> Result<(), Failure> {
    let text = if pretty {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| Failure {
            code: DAMAGED_COLLECTIONS,
            message: format!("the metadata is not JSON: {e}"),
        })?;
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&value, &mut ser).map_err(|e| usage(e.to_string()))?;
        String::from_utf8_lossy(&out).into_owned()
    } else {
        json.trim_end().to_string()
    };
    outln!("{text}")
}

/// The command's failure for a dump error: check's exit code for damaged collection data.
pub fn failure(e: Error) -> Failure {
    let damaged = matches!(
        e,
        Error::DamagedDocument { .. }
            | Error::Malformed {
                input: Layer::Metadata,
                ..
            }
    );
    let mut f = Failure::from(e);
    if damaged {
        f.code = DAMAGED_COLLECTIONS;
    }
    f
}

fn stdout_failure(e: io::Error) -> Failure {
    io_failure(Path::new("-"), e)
}
