//! `a0backup list --collections`: a mongodump's collections from the archive's headers alone
//! (sizes, no document counts: `a0backup check` reads the documents), by the library's own
//! collection table, so the rows are `check`'s rows and come in its bounded memory.

use std::io::Read;

use a0backup::check::{list_collections, CollectionKind, CollectionReport};
use serde_json::json;

use crate::check::shown_name;
use crate::failure::Failure;

/// The table on stdout, or one JSON object per collection with `--json`, row by row.
pub fn print(gz: impl Read, json: bool) -> Result<(), Failure> {
    if !json {
        outln!(
            "{:<40} {:>14} {:>9}  files",
            "collection",
            "bson bytes",
            "metadata"
        )?;
    }
    let mut total = 0u64;
    let mut collections = list_collections(gz)?;
    for row in collections.by_ref() {
        let row = row?;
        total += row.bson_file_bytes;
        print_row(&row, json)?;
    }
    if !json {
        outln!(
            "{:<40} {:>14}",
            format!("total ({} collections)", collections.totals().collections),
            total
        )?;
    }
    Ok(())
}

fn print_row(row: &CollectionReport, json: bool) -> Result<(), Failure> {
    let bson_bytes = row.bson.then_some(row.bson_file_bytes);
    let metadata_bytes = row.metadata.then_some(row.metadata_file_bytes);
    if json {
        return outln!(
            "{}",
            json!({"database": row.database, "collection": row.collection,
                   "bson_bytes": bson_bytes, "metadata_bytes": metadata_bytes,
                   "gzip": row.gzip})
        );
    }
    let files = match (row.bson, row.metadata) {
        (true, true) => "both",
        (true, false) if row.kind == CollectionKind::Oplog => "oplog",
        (true, false) => "no .metadata.json",
        (false, _) => "no .bson (a view, or incomplete)",
    };
    let size = |b: Option<u64>| b.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
    outln!(
        "{:<40} {:>14} {:>9}  {files}{}",
        shown_name(&row.database, &row.collection),
        size(bson_bytes),
        size(metadata_bytes),
        if row.gzip { " (gzip)" } else { "" }
    )
}
