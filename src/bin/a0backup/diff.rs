//! `a0backup diff`: what changed between two backups, per collection: documents added,
//! removed, changed and unchanged by _id, indexes and options, collections in one only.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use a0backup::diff::{diff_files, Change, CollectionDiff, DiffEntry, DiffOptions, Presence};
use a0backup::dump::Namespace;
use clap::Args;

use crate::args::FormatArgs;
use crate::check::shown_name;
use crate::failure::{io_failure, usage, Failure};
use crate::io::{is_dash, safe};
use crate::password::{prompt, ListPasswordArgs, Purpose};

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    password: ListPasswordArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Compare this collection only (DATABASE.COLLECTION); each backup is then read only until
    /// its files are behind.
    #[arg(long = "collection", value_name = "DB.COLL")]
    namespace: Option<String>,
    /// List the _id of every document added, removed or changed (Extended JSON, canonical):
    /// `added DB.COLL ID` lines.
    #[arg(long)]
    ids: bool,
    /// Most bytes of document digests kept in memory before they go to a temporary file.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    memory: usize,
    /// The older backup (.tar.gz.enc, or a plain .tar.gz).
    old: PathBuf,
    /// The newer backup (the same password).
    new: PathBuf,
}

pub fn diff(a: DiffArgs, quiet: bool, json: bool) -> Result<(), Failure> {
    if is_dash(&a.old) || is_dash(&a.new) {
        return Err(usage(
            "diff reads files: give OLD and NEW by their paths (not -)",
        ));
    }
    let latin1 = a.format.latin1_password;
    let mut password = a.password.given(latin1)?;
    if password.is_none() {
        if let Some(first) = [&a.old, &a.new]
            .into_iter()
            .find(|p| crate::io::file_looks_encrypted(p))
        {
            password = Some(prompt(latin1, Purpose::Decrypt(first))?);
        }
    }
    let mut options = DiffOptions::new().ids(a.ids).memory(a.memory);
    if let Some(ns) = &a.namespace {
        options = options
            .collection(Namespace::parse(ns).map_err(|e| usage(format!("--collection: {e}")))?);
    }
    if let Some(f) = a.format.read()? {
        options = options.format(f);
    }
    let mut diff =
        diff_files(&a.old, &a.new, password.as_ref(), options).map_err(crate::dump::failure)?;
    let stdout = crate::io::stdout().map_err(stdout_failure)?;
    let mut out = io::BufWriter::new(stdout);
    for entry in diff.by_ref() {
        match entry.map_err(crate::dump::failure)? {
            DiffEntry::Id(id) => {
                if json {
                    writeln!(out, "{}", json_line(&id))
                } else {
                    let shown = id.id_json().unwrap_or_else(|| "(no _id)".into());
                    let change = change_name(id.change);
                    writeln!(
                        out,
                        "{change} {} {}",
                        shown_name(&id.namespace.database, &id.namespace.collection),
                        safe(&shown)
                    )
                }
                .map_err(stdout_failure)?;
            }
            DiffEntry::Collection(c) => {
                if json {
                    writeln!(out, "{}", json_line(&c))
                } else {
                    write!(out, "{}", collection_text(&c))
                }
                .map_err(stdout_failure)?;
            }
            _ => {}
        }
    }
    let s = diff.finish().map_err(crate::dump::failure)?;
    if json {
        let line = serde_json::json!({"totals": {
            "collections": s.collections, "changed_collections": s.changed_collections,
            "added": s.added, "removed": s.removed, "changed": s.changed, "unchanged": s.unchanged,
        }});
        writeln!(out, "{line}").map_err(stdout_failure)?;
    }
    out.flush().map_err(stdout_failure)?;
    if !quiet {
        eprintln!(
            "{} of {} collections differ: {} documents added, {} removed, {} changed, {} unchanged",
            s.changed_collections, s.collections, s.added, s.removed, s.changed, s.unchanged
        );
    }
    Ok(())
}

fn change_name(c: Change) -> &'static str {
    match c {
        Change::Added => "added",
        Change::Removed => "removed",
        _ => "changed",
    }
}

/// One item as a JSON line, in the library's shape (`a0b_diff` hands over the same).
fn json_line(item: &impl serde::Serialize) -> String {
    serde_json::to_string(item).unwrap_or_default()
}

/// A collection's lines: the counts, then what changed in its metadata.
fn collection_text(c: &CollectionDiff) -> String {
    let name = shown_name(&c.namespace.database, &c.namespace.collection);
    let state = match c.presence {
        Presence::OldOnly => " (only in OLD)",
        Presence::NewOnly => " (only in NEW)",
        _ if c.is_unchanged() => " (unchanged)",
        _ => "",
    };
    let mut text = format!(
        "{name}{state}: {} added, {} removed, {} changed, {} unchanged\n",
        c.added, c.removed, c.changed, c.unchanged
    );
    for (what, names) in [
        ("indexes added", &c.indexes_added),
        ("indexes removed", &c.indexes_removed),
        ("indexes changed", &c.indexes_changed),
        ("options added", &c.options_added),
        ("options removed", &c.options_removed),
        ("options changed", &c.options_changed),
    ] {
        if !names.is_empty() {
            let list: Vec<String> = names.iter().map(|n| safe(n)).collect();
            text.push_str(&format!("  {what}: {}\n", list.join(", ")));
        }
    }
    text
}

fn stdout_failure(e: io::Error) -> Failure {
    io_failure(Path::new("-"), e)
}
