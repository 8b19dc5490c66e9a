//! The `dump` target's check (see [`dump`]), in a file of its own: `checks.rs` includes it.

use std::io::{Cursor, Write};

use a0backup::check::bson::validate_bson;
use a0backup::check::metadata::validate_metadata;
use a0backup::diff::{diff_readers, DiffEntry, DiffOptions};
use a0backup::dump::{dump_reader, DumpOptions, Namespace};
use a0backup::error::Input as Layer;
use a0backup::Error;

/// A tar member: a ustar header for a regular file, its data, the padding.
fn member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// A `.tar.gz` holding `dump/d/c.bson` (or `.bson.gz`) and `dump/d/c.metadata.json`.
fn make_backup(bson: &[u8], metadata: &[u8], gz: bool) -> Vec<u8> {
    let mut tar = if gz {
        member("dump/d/c.bson.gz", &gzip(bson))
    } else {
        member("dump/d/c.bson", bson)
    };
    tar.extend(member("dump/d/c.metadata.json", metadata));
    tar.extend_from_slice(&[0; 1024]);
    gzip(&tar)
}

/// `dump`: input = flags, metadata length (mod 64), metadata bytes, then a `.bson` stream.
///
/// flags: bit 0 the `.bson` is gzipped (`mongodump --gzip`), bits 1-3 a limit (7: none), bit 4
/// the metadata is the input's bytes (else a valid one).
///
/// * The documents [`dump_reader`] hands over are exactly those [`validate_bson`] (check's
///   validator) counts as good, byte for byte, up to the limit; the dump fails exactly when
///   check finds a damaged document before the limit, at the same index, offset and byte.
/// * A diff of the backup with itself finds every document unchanged (or fails with the same
///   damage, or a metadata that is not JSON); a diff against the backup cut to its first `k`
///   good documents finds `n - k` removed and nothing added or changed.
pub fn dump(data: &[u8]) -> Result<(), String> {
    let (&flags, rest) = data.split_first().unwrap_or((&0, &[]));
    let (&meta_len, rest) = rest.split_first().unwrap_or((&0, &[]));
    let (meta_input, bson) = rest.split_at((meta_len as usize % 64).min(rest.len()));
    let gz = flags & 1 != 0;
    let limit = (flags >> 1) & 7;
    let metadata: &[u8] = if flags & 16 != 0 {
        meta_input
    } else {
        br#"{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"options":{}}"#
    };
    let summary = validate_bson(&mut &bson[..]).map_err(|e| format!("validate: {e}"))?;
    let good = summary.documents;
    let backup = make_backup(bson, metadata, gz);
    let ns = Namespace::new("d", "c");
    let mut options = DumpOptions::new();
    if limit != 7 {
        options = options.limit(u64::from(limit));
    }
    let items: Vec<_> = dump_reader(Cursor::new(backup.clone()), &ns, None, options)
        .map_err(|e| format!("open: {e}"))?
        .collect();
    let want_docs = if limit == 7 {
        good
    } else {
        good.min(u64::from(limit))
    };
    let docs: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    if docs.len() as u64 != want_docs {
        return Err(format!(
            "{} documents handed over, check counts {good} (limit {limit})",
            docs.len()
        ));
    }
    let mut at = 0usize;
    for d in &docs {
        let len = d.bytes.len();
        if d.offset != at as u64 || bson.get(at..at + len) != Some(&d.bytes[..]) {
            return Err(format!(
                "document {} is not the stream's bytes at {at}",
                d.index
            ));
        }
        at += len;
    }
    // The dump reads the whole `.bson` (and then the metadata after it) unless the limit
    // stops it first.
    let read_to_end = limit == 7 || good < u64::from(limit);
    let damaged_before_limit = summary.error.is_some() && read_to_end;
    let metadata_damaged =
        validate_metadata(&mut &metadata[..]).map_or(true, |m| m.error.is_some());
    let metadata_damage_seen = metadata_damaged && read_to_end && !damaged_before_limit;
    match (items.iter().find_map(|i| i.as_ref().err()), &summary.error) {
        (
            Some(Error::DamagedDocument {
                document,
                offset,
                at,
                ..
            }),
            Some(e),
        ) if damaged_before_limit => {
            if (*document, *offset, *at) != (e.document, e.offset, e.at) {
                return Err(format!(
                    "damage at {document}/{offset}/{at}, check says {}/{}/{}",
                    e.document, e.offset, e.at
                ));
            }
        }
        (
            Some(Error::Malformed {
                input: Layer::Metadata,
                ..
            }),
            _,
        ) if metadata_damage_seen => {}
        (None, _) if !damaged_before_limit && !metadata_damage_seen => {}
        (got, want) => {
            return Err(format!(
                "dump ended with {got:?}, check found {want:?} (limit {limit})"
            ))
        }
    }
    // diff: the backup against itself, and against its first k good documents.
    let k = good / 2;
    let mut cut = 0usize;
    for _ in 0..k {
        let len = bson
            .get(cut..cut + 4)
            .map_or(0, |p| i32::from_le_bytes([p[0], p[1], p[2], p[3]]));
        cut += usize::try_from(len).unwrap_or(0);
    }
    let shorter = make_backup(&bson[..cut.min(bson.len())], metadata, gz);
    for (other, removed) in [(backup.clone(), 0), (shorter, good - k)] {
        match diff_readers(&backup[..], &other[..], None, DiffOptions::new().memory(1)) {
            Ok(d) => {
                let mut seen = 0;
                for entry in d {
                    match entry {
                        Ok(DiffEntry::Collection(c)) => {
                            seen += 1;
                            let counts = (c.added, c.changed, c.removed, c.unchanged);
                            if counts != (0, 0, removed, good - removed) {
                                return Err(format!(
                                    "diff of {good} documents, {removed} cut: {c:?}"
                                ));
                            }
                        }
                        Ok(_) => {}
                        Err(e) => return Err(format!("diff join: {e}")),
                    }
                }
                if seen != 1 {
                    return Err(format!("{seen} collections in the diff"));
                }
                if summary.error.is_some() || metadata_damaged {
                    return Err("diff of a damaged collection succeeded".into());
                }
            }
            Err(Error::DamagedDocument { .. }) if summary.error.is_some() => {}
            Err(Error::Malformed {
                input: Layer::Metadata,
                ..
            }) if metadata_damaged => {}
            Err(e) => return Err(format!("diff: {e}")),
        }
    }
    Ok(())
}
