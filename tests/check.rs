//! The checking core of issue 14 against pymongo: document counts and bytes equal what
//! `bson.decode_file_iter` reads from the same files (the sample backup, a tree of awkward BSON
//! made by pymongo), and every corruption made here is reported at the collection, document
//! index and offset where pymongo also fails. Then a property test: random mutations of valid
//! documents never panic the validator, which agrees with a naive reference walker.
//!
//! The archives are read by `check_reader`, as a check of a backup reads them.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use a0backup::archive::{self, UnpackOptions};
use a0backup::check::bson::{validate_bson, MAX_DEPTH, MAX_DOCUMENT_SIZE};
use a0backup::check::{CheckReport, CollectionReport};
use a0backup::pack::{pack_writer, PackOptions};
use a0backup::{DecryptOptions, DecryptReader, Password};
use proptest::prelude::*;

// ---- the oracle ----

fn oracle_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check/oracle.py")
}

/// Whether python3 with pymongo is here; in CI a missing oracle fails.
fn pymongo() -> bool {
    if !common::have("python3") {
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", "import bson, pymongo"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "pymongo is not installed, and CI must run every oracle"
        );
        eprintln!("SKIPPED: pymongo is not installed (pip install pymongo)");
    }
    ok
}

#[derive(Debug)]
struct Oracle {
    documents: u64,
    bytes: u64,
    error: Option<String>,
}

/// What pymongo reads from each file.
fn oracle(files: &[PathBuf]) -> BTreeMap<PathBuf, Oracle> {
    let out = Command::new("python3")
        .arg(oracle_script())
        .arg("read")
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = Oracle {
                documents: v["documents"].as_u64().unwrap(),
                bytes: v["bytes"].as_u64().unwrap(),
                error: v["error"].as_str().map(str::to_string),
            };
            (PathBuf::from(v["file"].as_str().unwrap()), o)
        })
        .collect()
}

/// Holds every `.bson` row of `report` to pymongo's reading of the same file under `root`.
fn agree_with_pymongo(report: &CheckReport, root: &Path) {
    let rows: Vec<&CollectionReport> = report.collections.iter().filter(|c| c.bson).collect();
    let files: Vec<PathBuf> = rows
        .iter()
        .map(|c| root.join(c.bson_path.as_ref().unwrap()))
        .collect();
    let said = oracle(&files);
    for (row, file) in rows.iter().zip(&files) {
        let o = &said[file];
        assert_eq!(
            (row.documents, row.bytes),
            (o.documents, o.bytes),
            "{file:?}: {row:?} vs pymongo {o:?}"
        );
        match (&row.error, &o.error) {
            (None, None) => {}
            (Some(e), Some(_)) => {
                assert_eq!(
                    (e.document, e.offset),
                    (Some(o.documents), Some(o.bytes)),
                    "{file:?}: {e:?} vs pymongo {o:?}"
                );
            }
            (mine, theirs) => panic!("{file:?}: we say {mine:?}, pymongo says {theirs:?}"),
        }
    }
}

// ---- reading archives as the pipeline will ----

/// Checks a `.tar.gz` stream (no md5, no password, restore's default policy).
fn check_tar_gz(gz: impl Read) -> CheckReport {
    a0backup::check::check_reader(gz, None, a0backup::check::CheckOptions::new()).unwrap()
}

/// Packs `root` with the library and checks the archive.
fn check_dir(root: &Path) -> CheckReport {
    let mut gz = Vec::new();
    pack_writer(root, &mut gz, None, PackOptions::new().prefix("")).unwrap();
    check_tar_gz(&gz[..])
}

fn row<'r>(report: &'r CheckReport, database: &str, collection: &str) -> &'r CollectionReport {
    report
        .collections
        .iter()
        .find(|c| c.database == database && c.collection == collection)
        .unwrap_or_else(|| panic!("no {database}.{collection} in {report:#?}"))
}

// ---- a small BSON encoder for the corruptions ----

fn el(kind: u8, name: &str, value: &[u8]) -> Vec<u8> {
    let mut e = vec![kind];
    e.extend_from_slice(name.as_bytes());
    e.push(0);
    e.extend_from_slice(value);
    e
}

fn doc(elements: &[Vec<u8>]) -> Vec<u8> {
    let body = elements.concat();
    let mut d = ((body.len() + 5) as i32).to_le_bytes().to_vec();
    d.extend_from_slice(&body);
    d.push(0);
    d
}

fn string(s: &str) -> Vec<u8> {
    let mut v = ((s.len() + 1) as i32).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

/// Document i of the base collection: {_id: i, sub: {x: "value..."}, ok: true, n: [i]}. Byte
/// 4 is `_id`'s type; `sub`'s length is at byte 18, its string's length at byte 25.
fn base_doc(i: i32) -> Vec<u8> {
    doc(&[
        el(0x10, "_id", &i.to_le_bytes()),
        el(
            0x03,
            "sub",
            &doc(&[el(0x02, "x", &string(&"value".repeat(i as usize)))]),
        ),
        el(0x08, "ok", &[1]),
        el(0x04, "n", &doc(&[el(0x10, "0", &i.to_le_bytes())])),
    ])
}

/// The base collection and the offset of each document.
fn base() -> (Vec<u8>, Vec<usize>) {
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..20 {
        offsets.push(data.len());
        data.extend_from_slice(&base_doc(i));
    }
    (data, offsets)
}

const METADATA: &str = r#"{"options":{},"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],"uuid":"0123456789abcdef0123456789abcdef","collectionName":"plain","type":"collection"}"#;

fn write_collection(db: &Path, name: &str, bson: &[u8], metadata: Option<&str>) {
    std::fs::create_dir_all(db).unwrap();
    std::fs::write(db.join(format!("{name}.bson")), bson).unwrap();
    if let Some(m) = metadata {
        std::fs::write(db.join(format!("{name}.metadata.json")), m).unwrap();
    }
}

fn put_i32(data: &mut [u8], at: usize, f: impl Fn(i32) -> i32) {
    let v = i32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    data[at..at + 4].copy_from_slice(&f(v).to_le_bytes());
}

// ---- the tests ----

#[test]
fn the_sample_backup_reads_as_pymongo_reads_it() {
    let file =
        || std::fs::File::open(common::data("sample-backup/backup-retrieve.tar.gz.enc")).unwrap();
    let password = Password::from("Passw0rd");
    let options = DecryptOptions::new().expect_gzip(true);
    let report = check_tar_gz(DecryptReader::new(file(), &password, options).unwrap());
    assert!(report.collections_ok, "{report:#?}");
    let names: Vec<(&str, &str, &str)> = report
        .collections
        .iter()
        .map(|c| (c.database.as_str(), c.collection.as_str(), c.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("", "oplog", "oplog"),
            ("admin", "system.version", "collection"),
            ("auth0", "clients", "collection"),
            ("auth0", "logs", "collection"),
            ("auth0", "users", "collection"),
        ]
    );
    let counts: Vec<(u64, u64, u64)> = report
        .collections
        .iter()
        .map(|c| (c.documents, c.bytes, c.indexes))
        .collect();
    assert_eq!(
        counts,
        [
            (0, 0, 0),
            (1, 59, 1),
            (40, 5540, 1),
            (900, 106622, 2),
            (300, 83198, 2)
        ]
    );
    assert_eq!(report.totals.documents, 1241);
    if pymongo() {
        let dest = tempfile::tempdir().unwrap();
        let r = DecryptReader::new(file(), &password, options).unwrap();
        archive::unpack(r, &dest.path().join("t"), UnpackOptions::new()).unwrap();
        agree_with_pymongo(&report, &dest.path().join("t"));
    }
}

#[test]
fn awkward_bson_made_by_pymongo_reads_the_same() {
    if !pymongo() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(oracle_script())
        .arg("gen")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let report = check_dir(dir.path());
    assert!(report.collections_ok, "{report:#?}");
    agree_with_pymongo(&report, dir.path());
    assert_eq!(row(&report, "awkward", "maxsize").documents, 5);
    assert_eq!(
        row(&report, "awkward", "maxsize").bytes,
        2 * MAX_DOCUMENT_SIZE as u64 + 3 * 65536
    );
    assert_eq!(row(&report, "awkward", "types").indexes, 3);
    assert_eq!(row(&report, "awkward", "deprecated").documents, 6);
    let escaped = row(&report, "app.v2", "a/b$c");
    assert_eq!(
        escaped.bson_path.as_deref(),
        Some("dump/app.v2/a%2Fb%24c.bson")
    );
    assert_eq!(report.totals.collections, 8);
}

#[test]
fn corruptions_are_found_where_pymongo_fails() {
    let (good, offsets) = base();
    let k = 7;
    let at = offsets[k];
    let next = offsets[k + 1];
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "cut document",
            Box::new(move |d| d.truncate(at + 10)),
            "ends 10 bytes into",
        ),
        (
            "cut length",
            Box::new(move |d| d.truncate(at + 2)),
            "length prefix",
        ),
        (
            "length + 1",
            Box::new(move |d| put_i32(d, at, |v| v + 1)),
            "NUL ends the element list",
        ),
        (
            "length - 1",
            Box::new(move |d| put_i32(d, at, |v| v - 1)),
            "runs past",
        ),
        (
            "length huge",
            Box::new(move |d| put_i32(d, at, |_| 0x7fff_0000)),
            "outside",
        ),
        (
            "length 4",
            Box::new(move |d| put_i32(d, at, |_| 4)),
            "outside",
        ),
        (
            "length negative",
            Box::new(move |d| put_i32(d, at, |_| -5)),
            "outside",
        ),
        (
            "missing NUL",
            Box::new(move |d| d[next - 1] = 1),
            "terminating NUL",
        ),
        (
            "bad type",
            Box::new(move |d| d[at + 4] = 0x20),
            "unknown element type 0x20",
        ),
        (
            "nested overrun",
            Box::new(move |d| put_i32(d, at + 18, |v| v + 40)),
            "runs past",
        ),
        (
            "nested short",
            Box::new(move |d| put_i32(d, at + 18, |v| v - 1)),
            "runs past",
        ),
        (
            "string length",
            Box::new(move |d| put_i32(d, at + 25, |v| v + 1)),
            "a string of 37 bytes runs past",
        ),
        (
            "string length - 1",
            Box::new(move |d| put_i32(d, at + 25, |v| v - 1)),
            "ends in 0x65, not NUL",
        ),
        ("boolean 2", Box::new(move |d| d[next - 17] = 2), "boolean"),
    ];
    let with_oracle = pymongo();
    for (name, damage, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("dump/db");
        let mut data = good.clone();
        damage(&mut data);
        write_collection(&db, "plain", &data, Some(METADATA));
        write_collection(
            &db,
            "zafter",
            &good,
            Some(&METADATA.replace("plain", "zafter")),
        );
        let report = check_dir(dir.path());
        let plain = row(&report, "db", "plain");
        let e = plain
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: not found"));
        assert_eq!(
            (e.document, e.offset),
            (Some(k as u64), Some(at as u64)),
            "{name}: {e:?}"
        );
        assert!(e.reason.contains(reason), "{name}: {}", e.reason);
        assert_eq!(e.path, "dump/db/plain.bson");
        assert_eq!(
            (plain.documents, plain.bytes),
            (k as u64, at as u64),
            "{name}"
        );
        assert!(!report.collections_ok);
        let after = row(&report, "db", "zafter");
        assert!(
            after.ok() && after.documents == 20,
            "{name}: the checker lost step: {after:?}"
        );
        if with_oracle {
            agree_with_pymongo(&report, dir.path());
        }
    }
}

#[test]
fn bad_metadata_and_orphans_are_named() {
    let (good, _) = base();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dump/db");
    write_collection(
        &db,
        "plain",
        &good,
        Some("{\"options\": {},\n  \"indexes\": [}"),
    );
    write_collection(&db, "lonely", &good, None);
    std::fs::write(
        db.join("ghost.metadata.json"),
        METADATA.replace("plain", "ghost"),
    )
    .unwrap();
    let view = r#"{"options":{"viewOn":"plain","pipeline":[]},"indexes":[],"collectionName":"v","type":"view"}"#;
    std::fs::write(db.join("v.metadata.json"), view).unwrap();
    let report = check_dir(dir.path());
    let plain = row(&report, "db", "plain");
    let e = plain.error.as_ref().unwrap();
    assert_eq!((e.line, e.column), (Some(2), Some(15)), "{e:?}");
    assert_eq!(e.path, "dump/db/plain.metadata.json");
    assert!(e.reason.starts_with("not JSON"), "{}", e.reason);
    assert_eq!(plain.documents, 20, "the .bson is still counted");
    let lonely = row(&report, "db", "lonely");
    assert!(
        lonely.error.is_none()
            && lonely
                .orphan
                .as_deref()
                .unwrap()
                .contains("no .metadata.json")
    );
    let ghost = row(&report, "db", "ghost");
    assert!(!ghost.bson && ghost.orphan.as_deref().unwrap().contains("no .bson"));
    assert!(row(&report, "db", "v").ok(), "a view has no .bson");
    assert_eq!((report.totals.damaged, report.totals.orphans), (1, 2));
    assert!(!report.collections_ok);
    if pymongo() {
        let said = oracle(&[db.join("plain.metadata.json"), db.join("lonely.bson")]);
        assert!(
            said[&db.join("plain.metadata.json")].error.is_some(),
            "json_util fails too"
        );
        assert_eq!(
            said[&db.join("lonely.bson")].documents,
            20,
            "the orphan itself reads"
        );
    }
}

#[test]
fn gzip_dumps_are_validated_decompressed() {
    let (good, offsets) = base();
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dump/db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("a.bson.gz"), gz(&good)).unwrap();
    std::fs::write(db.join("a.metadata.json.gz"), gz(METADATA.as_bytes())).unwrap();
    let mut cut = good.clone();
    cut.truncate(offsets[3] + 1);
    std::fs::write(db.join("b.bson.gz"), gz(&cut)).unwrap();
    let mut broken = gz(&good);
    let n = broken.len();
    broken[n - 6] ^= 0xff; // the CRC
    std::fs::write(db.join("c.bson.gz"), broken).unwrap();
    for name in ["b", "c"] {
        std::fs::write(db.join(format!("{name}.metadata.json")), METADATA).unwrap();
    }
    let report = check_dir(dir.path());
    let rows = &report.collections;
    assert!(rows[0].ok() && rows[0].gzip, "{:?}", rows[0]);
    assert_eq!(
        (rows[0].documents, rows[0].bytes, rows[0].indexes),
        (20, good.len() as u64, 1)
    );
    assert_eq!(rows[0].collection, "plain", "the metadata's collectionName");
    let e = rows[1].error.as_ref().unwrap();
    assert_eq!((e.document, e.offset), (Some(3), Some(offsets[3] as u64)));
    let e = rows[2].error.as_ref().unwrap();
    assert!(e.reason.contains("gzip"), "{e:?}");
}

#[test]
fn timeseries_buckets_pair_with_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dump/db");
    write_collection(&db, "system.buckets.weather", &base().0, None);
    let meta = r#"{"options":{"timeseries":{"timeField":"t"}},"indexes":[],"collectionName":"weather","type":"timeseries"}"#;
    std::fs::write(db.join("weather.metadata.json"), meta).unwrap();
    let report = check_dir(dir.path());
    assert_eq!(report.collections.len(), 1, "{report:#?}");
    let w = &report.collections[0];
    assert!(
        w.ok() && w.kind == a0backup::check::CollectionKind::Timeseries && w.documents == 20,
        "{w:?}"
    );
}

#[test]
fn documents_over_the_limit_are_refused_as_bsondump_does() {
    // One byte over 16 MiB + 16 KiB: pymongo reads it, bsondump and mongorestore do not.
    let n = MAX_DOCUMENT_SIZE + 1 - 13;
    let big = doc(&[el(
        0x05,
        "b",
        &[&(n as i32).to_le_bytes()[..], &[0], &vec![1; n]].concat(),
    )]);
    assert_eq!(big.len(), MAX_DOCUMENT_SIZE + 1);
    let e = validate_bson(&mut &big[..]).unwrap().error.unwrap();
    assert!(e.reason.contains("outside"), "{}", e.reason);
    if pymongo() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.bson");
        std::fs::write(&file, &big).unwrap();
        let said = oracle(std::slice::from_ref(&file));
        assert_eq!(said[&file].documents, 1, "pymongo has no size limit");
    }
}

// ---- the property test ----

/// A random valid document (every type, nesting up to `depth`), from a seed.
fn random_doc(rng: &mut common::Rng, depth: usize) -> Vec<u8> {
    let count = rng.below(6) as usize;
    let elements: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let name = format!("k{i}");
            let kind = [
                1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0x7f, 0xff,
            ][rng.below(21) as usize];
            let text = String::from_utf8(vec![b'a'; rng.below(5) as usize]).unwrap();
            let value = match kind {
                1 | 9 | 17 | 18 => rng.bytes(8),
                2 | 13 | 14 => string(&text),
                3 | 4 if depth > 0 => random_doc(rng, depth - 1),
                3 | 4 => doc(&[]),
                5 => {
                    let sub = [0u8, 2, 4, 0x80][rng.below(4) as usize];
                    let len = rng.below(8) as usize;
                    let data = rng.bytes(len);
                    let inner = if sub == 2 {
                        [&(data.len() as i32).to_le_bytes()[..], &data].concat()
                    } else {
                        data
                    };
                    [&(inner.len() as i32).to_le_bytes()[..], &[sub], &inner].concat()
                }
                7 => rng.bytes(12),
                8 => vec![rng.below(2) as u8],
                11 => format!("{text}\0i\0").into_bytes(),
                12 => [string(&text), rng.bytes(12)].concat(),
                15 => {
                    let scope = if depth > 0 {
                        random_doc(rng, depth - 1)
                    } else {
                        doc(&[])
                    };
                    let body = [string(&text), scope].concat();
                    [&((body.len() + 4) as i32).to_le_bytes()[..], &body].concat()
                }
                16 => rng.bytes(4),
                19 => rng.bytes(16),
                _ => Vec::new(),
            };
            el(kind, &name, &value)
        })
        .collect();
    doc(&elements)
}

fn le32(b: &[u8]) -> Option<i64> {
    Some(i32::from_le_bytes(b.get(..4)?.try_into().ok()?) as i64)
}

/// The reference: a recursive walker written from the spec (and the BSON corpus's rule that
/// text is UTF-8), as plainly as possible.
fn naive_doc(d: &[u8], depth: usize) -> bool {
    if d.len() < 5 || le32(d) != Some(d.len() as i64) || d[d.len() - 1] != 0 {
        return false;
    }
    let mut rest = &d[4..d.len() - 1];
    while let Some((&kind, after)) = rest.split_first() {
        let Some(nul) = after.iter().position(|&b| b == 0) else {
            return false;
        };
        if std::str::from_utf8(&after[..nul]).is_err() {
            return false;
        }
        let v = &after[nul + 1..];
        let Some(size) = naive_value(kind, v, depth) else {
            return false;
        };
        rest = &v[size..];
    }
    true
}

fn naive_string(v: &[u8]) -> Option<usize> {
    let n = le32(v)?;
    let end = 4 + usize::try_from(n).ok().filter(|&n| n >= 1)?;
    (end <= v.len() && v[end - 1] == 0 && std::str::from_utf8(&v[4..end - 1]).is_ok())
        .then_some(end)
}

fn naive_value(kind: u8, v: &[u8], depth: usize) -> Option<usize> {
    let fits = |n: usize| (n <= v.len()).then_some(n);
    match kind {
        0x06 | 0x0A | 0x7F | 0xFF => Some(0),
        0x08 => (*v.first()? <= 1).then_some(1),
        0x10 => fits(4),
        0x01 | 0x09 | 0x11 | 0x12 => fits(8),
        0x07 => fits(12),
        0x13 => fits(16),
        0x02 | 0x0D | 0x0E => naive_string(v),
        0x0C => fits(naive_string(v)? + 12),
        0x0B => {
            let a = v.iter().position(|&b| b == 0)? + 1;
            let b = a + v[a..].iter().position(|&b| b == 0)? + 1;
            let text = |t: &[u8]| std::str::from_utf8(t).is_ok();
            (text(&v[..a - 1]) && text(&v[a..b - 1])).then_some(b)
        }
        0x05 => {
            let n = usize::try_from(le32(v)?).ok()?;
            let end = fits(5 + n)?;
            (v[4] != 2 || le32(&v[5..end]) == Some(n as i64 - 4)).then_some(end)
        }
        0x03 | 0x04 => {
            let n = fits(usize::try_from(le32(v)?).ok()?)?;
            (depth < MAX_DEPTH && naive_doc(&v[..n], depth + 1)).then_some(n)
        }
        0x0F => {
            let n = fits(usize::try_from(le32(v)?).ok()?)?;
            let s = 4 + naive_string(&v[4.min(n)..n])?;
            (n >= 14 && depth < MAX_DEPTH && naive_doc(&v[s..n], depth + 1)).then_some(n)
        }
        _ => None,
    }
}

/// (documents, bytes, first bad document's (index, offset))
fn naive_stream(data: &[u8]) -> (u64, u64, Option<(u64, u64)>) {
    let (mut docs, mut off) = (0u64, 0usize);
    while off < data.len() {
        let ok = le32(&data[off..])
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (5..=MAX_DOCUMENT_SIZE).contains(n) && off + n <= data.len())
            .filter(|&n| naive_doc(&data[off..off + n], 0));
        match ok {
            Some(n) => {
                docs += 1;
                off += n;
            }
            None => return (docs, off as u64, Some((docs, off as u64))),
        }
    }
    (docs, off as u64, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn mutations_never_panic_and_agree_with_a_naive_walker(
        seed in any::<u64>(),
        count in 1usize..4,
        mutations in proptest::collection::vec((any::<u32>(), any::<u8>(), 0u8..5), 0..4),
    ) {
        let mut rng = common::Rng::new(seed);
        let mut data: Vec<u8> = (0..count).flat_map(|_| random_doc(&mut rng, 3)).collect();
        for (at, byte, how) in mutations {
            if data.is_empty() { break; }
            let i = at as usize % data.len();
            match how {
                0 => data[i] = byte,
                1 => data[i] ^= 1 << (byte % 8),
                2 => data.insert(i, byte),
                3 => { data.remove(i); }
                _ => data.truncate(i),
            }
        }
        let s = validate_bson(&mut &data[..]).unwrap();
        let (docs, bytes, bad) = naive_stream(&data);
        prop_assert_eq!((s.documents, s.bytes, s.file_bytes), (docs, bytes, data.len() as u64));
        prop_assert_eq!(s.error.as_ref().map(|e| (e.document, e.offset)), bad);
        if let Some(e) = s.error {
            prop_assert!(e.at >= e.offset && e.at <= data.len() as u64, "{:?}", e);
        }
    }
}

#[test]
fn deep_nesting_is_refused_past_the_limit_without_a_stack() {
    for depth in [MAX_DEPTH, MAX_DEPTH + 1, 100_000] {
        // {o: {o: ... {}}}, built outside in: each level is a length, 0x03 "o" NUL, the
        // level inside, and its own NUL.
        let mut d = Vec::new();
        for level in (0..depth).rev() {
            d.extend_from_slice(&(5 + 8 * (level as i32 + 1)).to_le_bytes());
            d.extend_from_slice(b"\x03o\0");
        }
        d.extend_from_slice(b"\x05\0\0\0\0");
        d.resize(d.len() + depth, 0);
        let s = validate_bson(&mut &d[..]).unwrap();
        assert_eq!(s.error.is_none(), depth <= MAX_DEPTH, "{depth}");
        assert_eq!(naive_stream(&d).2.is_none(), depth <= MAX_DEPTH);
    }
}

/// The validator's speed on ~512 MiB of random documents, in memory, and on the file named by
/// `A0B_CHECK_BENCH_FILE` if set (read through `File`, page cache warmed first):
/// `cargo test --release --test check -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput() {
    let mut rng = common::Rng::new(1);
    let mut data = Vec::new();
    while data.len() < 512 << 20 {
        data.extend_from_slice(&random_doc(&mut rng, 3));
        data.extend_from_slice(&base_doc((rng.below(60)) as i32));
    }
    let docs = validate_bson(&mut &data[..]).unwrap().documents;
    let start = std::time::Instant::now();
    let s = validate_bson(&mut &data[..]).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(s.error.is_none());
    eprintln!(
        "{} documents, {} bytes (mean {} B) in {secs:.3} s: {:.0} MB/s",
        docs,
        data.len(),
        data.len() as u64 / docs,
        data.len() as f64 / secs / 1e6
    );
    if let Some(path) = std::env::var_os("A0B_CHECK_BENCH_FILE") {
        let size = std::fs::read(&path).unwrap().len();
        let start = std::time::Instant::now();
        let s = validate_bson(&mut std::fs::File::open(&path).unwrap()).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert!(s.error.is_none() && s.file_bytes == size as u64);
        eprintln!(
            "{path:?}: {} documents, {size} bytes in {secs:.3} s: {:.0} MB/s",
            s.documents,
            size as f64 / secs / 1e6
        );
    }
}

/// The whole pipeline: md5, decryption, gzip, the tar walk under restore's policy, the
/// collections; the same sample as above, now through `check_file`.
#[test]
fn check_file_reads_the_sample_backup_end_to_end() {
    use a0backup::check::{check_file, CheckOptions};
    let path = common::data("sample-backup/backup-retrieve.tar.gz.enc");
    let status =
        a0backup::BackupStatus::from_file(&common::data("sample-backup/backup-status.txt"))
            .unwrap();
    let password = Password::from("Passw0rd");
    let options = CheckOptions::new().expected_md5(status.md5);
    let report = check_file(&path, Some(&password), options).unwrap();
    assert!(report.restorable, "{report:#?}");
    assert!(report.collections_ok, "{report:#?}");
    assert_eq!(report.md5, Some(status.md5));
    // The same table as a check of the decrypted stream gives.
    let file = std::fs::File::open(&path).unwrap();
    let r = DecryptReader::new(file, &password, DecryptOptions::new().expect_gzip(true)).unwrap();
    let by_tar_crate = check_tar_gz(r);
    assert_eq!(report.collections, by_tar_crate.collections);
    if pymongo() {
        let dest = tempfile::tempdir().unwrap();
        let r = DecryptReader::new(
            std::fs::File::open(&path).unwrap(),
            &password,
            DecryptOptions::new().expect_gzip(true),
        )
        .unwrap();
        archive::unpack(r, &dest.path().join("t"), UnpackOptions::new()).unwrap();
        agree_with_pymongo(&report, &dest.path().join("t"));
    }

    // A wrong md5 is the error, as for a restore; a wrong password too.
    let wrong =
        CheckOptions::new().expected_md5("00000000000000000000000000000000".parse().unwrap());
    let e = check_file(&path, Some(&password), wrong).unwrap_err();
    assert!(
        matches!(e, a0backup::Error::ChecksumMismatch { .. }),
        "{e:?}"
    );
    let e = check_file(&path, Some(&Password::from("nope")), CheckOptions::new()).unwrap_err();
    assert!(matches!(e, a0backup::Error::WrongPassword { .. }), "{e:?}");
}

/// Whatever restore refuses, check reports as not restorable, with the same reason, and still
/// reads the collections before it.
#[test]
fn check_says_what_restore_would_refuse() {
    use a0backup::check::{check_reader, CheckOptions};
    use a0backup::restore::{restore_reader, RestoreOptions};
    use common::tar_build::{file, gzip, symlink, tar};
    let cases = [
        tar(&[file("../escape.bson", b"\x05\0\0\0\0")]),
        tar(&[
            file("dump/a/x.bson", b"\x05\0\0\0\0"),
            symlink("dump/l", "a"),
        ]),
        tar(&[
            file("dump/a/x.bson", b"\x05\0\0\0\0"),
            file("dump/a/x.bson", b"\x05\0\0\0\0"),
        ]),
    ];
    for t in cases {
        let gz = gzip(&t);
        let work = tempfile::tempdir().unwrap();
        let restored = restore_reader(&gz[..], &work.path().join("d"), None, RestoreOptions::new());
        let refusal = restored.expect_err("restore refuses").to_string();
        let report = check_reader(&gz[..], None, CheckOptions::new()).unwrap();
        assert!(!report.restorable);
        assert_eq!(report.refusal.map(|r| r.to_string()), Some(refusal));
    }
}

/// The classes of MongoDB's BSON corpus, made with pymongo and judged by it
/// (`tests/check/corpus.py`): every case pymongo reads checks clean, every case it refuses
/// (each `decodeErrors` class: framing, lengths, NULs, text that is not UTF-8) is a damaged
/// collection, named at a document's index and offset.
#[test]
fn the_bson_corpus_classes_are_judged_as_pymongo_judges_them() {
    if !pymongo() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (archive, cases) = (work.path().join("c.tar.gz"), work.path().join("c.json"));
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check/corpus.py"))
        .args([&archive, &cases])
        .status()
        .unwrap();
    assert!(status.success(), "corpus.py failed");
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(&cases).unwrap()).unwrap();
    let cases = cases.as_object().unwrap();
    let report = a0backup::check::check_file(&archive, None, Default::default()).unwrap();
    assert_eq!(report.collections.len(), cases.len());
    let mut damaged = 0;
    for row in &report.collections {
        let case = &cases[&row.collection];
        let valid = case["valid"].as_bool().unwrap();
        assert_eq!(row.error.is_none(), valid, "{case}: {:?}", row.error);
        if !valid {
            damaged += 1;
            let e = row.error.as_ref().unwrap();
            assert!(e.document.is_some() && e.offset.is_some(), "{case}: {e:?}");
        }
    }
    assert!(damaged > 80, "only {damaged} damaged cases");
}
