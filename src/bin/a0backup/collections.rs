//! `a0backup list --collections`: a mongodump's collections from the archive's headers alone
//! (sizes, no document counts: `a0backup check` reads the documents).

use std::collections::BTreeMap;
use std::path::Path;

use a0backup::archive::{EntryInfo, EntryKind};
use serde_json::json;

use crate::failure::Failure;

/// One collection's files as the headers show them.
#[derive(Default)]
struct Row {
    bson_bytes: Option<u64>,
    metadata_bytes: Option<u64>,
    gzip: bool,
}

/// Collections by (database, collection), in name order.
#[derive(Default)]
pub struct Table {
    rows: BTreeMap<(String, String), Row>,
}

impl Table {
    /// Files named `DB/COLL.bson` and `DB/COLL.metadata.json` (or `.gz` of either, as
    /// `mongodump --gzip` writes them); `oplog.bson` has no database directory.
    pub fn add(&mut self, e: &EntryInfo) {
        if e.kind != EntryKind::File {
            return;
        }
        let path = Path::new(&e.path);
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            return;
        };
        let (file, gzip) = match file.strip_suffix(".gz") {
            Some(f) => (f, true),
            None => (file, false),
        };
        let (coll, is_bson) = match (
            file.strip_suffix(".bson"),
            file.strip_suffix(".metadata.json"),
        ) {
            (Some(c), _) => (c, true),
            (None, Some(c)) => (c, false),
            _ => return,
        };
        let db = if coll == "oplog" && is_bson {
            String::new()
        } else {
            path.parent()
                .and_then(Path::file_name)
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let row = self.rows.entry((db, coll.to_string())).or_default();
        row.gzip |= gzip;
        if is_bson {
            row.bson_bytes = Some(e.size);
        } else {
            row.metadata_bytes = Some(e.size);
        }
    }

    /// The table on stdout, or one JSON object per collection with `--json`.
    pub fn print(&self, json: bool) -> Result<(), Failure> {
        if !json {
            outln!(
                "{:<40} {:>14} {:>9}  files",
                "collection",
                "bson bytes",
                "metadata"
            )?;
        }
        let mut total = 0u64;
        for ((db, coll), row) in &self.rows {
            let name = if db.is_empty() {
                coll.clone()
            } else {
                format!("{db}.{coll}")
            };
            total += row.bson_bytes.unwrap_or(0);
            if json {
                outln!(
                    "{}",
                    json!({"database": db, "collection": coll, "bson_bytes": row.bson_bytes,
                           "metadata_bytes": row.metadata_bytes, "gzip": row.gzip})
                )?;
                continue;
            }
            let files = match (row.bson_bytes.is_some(), row.metadata_bytes.is_some()) {
                (true, true) => "both",
                (true, false) if name == "oplog" => "oplog",
                (true, false) => "no .metadata.json",
                (false, _) => "no .bson (a view, or incomplete)",
            };
            outln!(
                "{:<40} {:>14} {:>9}  {files}{}",
                name,
                row.bson_bytes
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
                row.metadata_bytes
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
                if row.gzip { " (gzip)" } else { "" }
            )?;
        }
        if !json {
            outln!(
                "{:<40} {:>14}",
                format!("total ({} collections)", self.rows.len()),
                total
            )?;
        }
        Ok(())
    }
}
