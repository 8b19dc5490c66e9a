//! `a0backup find`: which of many backups hold the documents a filter selects in one
//! collection, one line per backup with the count; --docs prints the documents, tagged with
//! their backup.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::dump::Namespace;
use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
use a0backup::find::{find as find_in, FindEntry, FindOptions};
use a0backup::query::Filter;
use clap::Args;

use crate::args::FormatArgs;
use crate::failure::{io_failure, usage, Failure};
use crate::io::{is_dash, safe};
use crate::password::{prompt, ListPasswordArgs, Purpose};

#[derive(Args, Debug)]
pub struct FindArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// The collection: DATABASE.COLLECTION (auth0.users).
    #[arg(long = "collection", value_name = "DB.COLL", required = true)]
    namespace: String,
    /// The MongoDB query selecting the documents (Extended JSON), as dump --filter takes it.
    #[arg(long, value_name = "JSON", required = true)]
    filter: String,
    /// Print the matching documents too, one JSON object per line:
    /// {"backup": PATH, "document": DOCUMENT} (canonical Extended JSON; --relaxed for relaxed).
    #[arg(long)]
    docs: bool,
    /// With --docs: relaxed Extended JSON.
    #[arg(long, requires = "docs")]
    relaxed: bool,
    /// The backups: .tar.gz.enc files, all with the same password, or, without a password
    /// option, plain .tar.gz files (a password applies to every backup given).
    #[arg(value_name = "BACKUP", required = true)]
    backups: Vec<PathBuf>,
}

pub fn find(a: FindArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    if a.backups.iter().any(|p| is_dash(p)) {
        return Err(usage(
            "find reads files: give each BACKUP by its path (not -)",
        ));
    }
    let namespace =
        Namespace::parse(&a.namespace).map_err(|e| usage(format!("--collection: {e}")))?;
    let filter = Filter::parse(&a.filter).map_err(|e| usage(format!("--filter: {e}")))?;
    let latin1 = a.format.latin1_password;
    let mut password = a.password.given(latin1)?;
    if password.is_none() {
        if let Some(first) = a
            .backups
            .iter()
            .find(|p| crate::io::file_looks_encrypted(p))
        {
            password = Some(prompt(latin1, Purpose::Decrypt(first))?);
        }
    }
    let mut options = FindOptions::new().documents(a.docs);
    if let Some(f) = a.format.read()? {
        options = options.format(f);
    }
    let stdout = crate::io::stdout().map_err(stdout_failure)?;
    let mut out = ExtJsonWriter::new(
        io::BufWriter::new(stdout),
        ExtJsonOptions::new().relaxed(a.relaxed),
    );
    let mut first_failure: Option<Failure> = None;
    let (mut holding, mut total) = (0u64, 0u64);
    for entry in find_in(&a.backups, &namespace, &filter, password.as_ref(), options) {
        match entry {
            FindEntry::Document { backup, document } => {
                let tag = serde_json::to_string(&path_text(&a.backups[backup])).unwrap_or_default();
                let w = out.get_mut();
                write!(w, "{{\"backup\":{tag},\"document\":").map_err(stdout_failure)?;
                out.write_document(&document.bytes).map_err(Failure::from)?;
                out.get_mut().write_all(b"}\n").map_err(stdout_failure)?;
            }
            FindEntry::Backup(b) => {
                total += b.documents;
                holding += u64::from(b.documents > 0);
                let path = path_text(&b.path);
                if json {
                    let line = serde_json::json!({
                        "backup": path,
                        "collection": namespace.to_string(),
                        "present": b.error.is_none().then_some(b.present),
                        "documents": b.error.is_none().then_some(b.documents),
                        "error": b.error.as_ref().map(crate::failure::message),
                    });
                    writeln!(out.get_mut(), "{line}").map_err(stdout_failure)?;
                } else if !a.docs {
                    let count = if b.error.is_some() {
                        "error".into()
                    } else if b.present {
                        b.documents.to_string()
                    } else {
                        "-".into()
                    };
                    writeln!(
                        out.get_mut(),
                        "{count:>10}  {}",
                        crate::io::safe(&a0backup::archive::escape_name(path.as_bytes()))
                    )
                    .map_err(stdout_failure)?;
                }
                if let Some(e) = b.error {
                    let f = crate::dump::failure(e);
                    eprintln!(
                        "a0backup: {}: {}",
                        safe(&b.path.display().to_string()),
                        safe(&f.message)
                    );
                    first_failure.get_or_insert(f);
                } else if !b.present && !quiet {
                    eprintln!(
                        "a0backup: {}: holds no collection {}",
                        safe(&b.path.display().to_string()),
                        crate::check::shown_name(&namespace.database, &namespace.collection)
                    );
                }
            }
            _ => {}
        }
    }
    out.get_mut().flush().map_err(stdout_failure)?;
    if !quiet {
        eprintln!(
            "{total} documents in {holding} of {} backups",
            a.backups.len()
        );
    }
    match first_failure {
        Some(f) => Err(Failure {
            code: f.code,
            message: "some backups could not be read (see above)".into(),
        }),
        None => Ok(()),
    }
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn stdout_failure(e: io::Error) -> Failure {
    io_failure(Path::new("-"), e)
}
