//! `diff` (issue 24) against a reference computed with pymongo in `tests/dump/gen.py pair`:
//! two generated backups, with documents added, removed and changed (a field changed, one
//! added, the same fields in another order), indexes added, removed and changed (key order),
//! options added and changed, a collection dropped and one created. The report, by the
//! library and by the command (`--ids --json`, encrypted backups), names exactly those.
#![cfg(feature = "cli")]

mod common;
mod pyoracle;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use a0backup::diff::{diff_files, Change, DiffEntry, DiffOptions, Presence};
use a0backup::extjson::{self, ExtJsonOptions};
use a0backup::{EncryptWriter, Format, Password};
use serde_json::{json, Value};

/// The `_id` value of a `{_id: value}` document, as canonical Extended JSON text.
fn id_text(doc: &[u8]) -> String {
    let s = extjson::to_string(doc, ExtJsonOptions::new()).unwrap();
    let v: Value = serde_json::from_str(&s).unwrap();
    v["_id"].to_string()
}

fn presence(p: Presence) -> &'static str {
    match p {
        Presence::OldOnly => "old_only",
        Presence::NewOnly => "new_only",
        _ => "both",
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn diff_names_exactly_what_pymongo_says_changed() {
    if !pyoracle::python_with(&["bson", "pymongo"]) {
        return;
    }
    for (seed, memory) in [("5", 16 << 20), ("6", 64 << 10)] {
        let t = tempfile::tempdir().unwrap();
        let want = pyoracle::run(
            "tests/dump/gen.py",
            &[
                "pair".as_ref(),
                t.path().as_os_str(),
                seed.as_ref(),
                "3000".as_ref(),
            ],
        );
        let want: Value = serde_json::from_str(&want).unwrap();
        let (old, new) = (t.path().join("old.tar.gz"), t.path().join("new.tar.gz"));
        let options = DiffOptions::new().ids(true).memory(memory);
        let mut got: BTreeMap<String, Value> = BTreeMap::new();
        let mut ids: BTreeMap<(String, &str), Vec<String>> = BTreeMap::new();
        for entry in diff_files(&old, &new, None, options).unwrap() {
            match entry.unwrap() {
                DiffEntry::Id(id) => {
                    let class = match id.change {
                        Change::Added => "added",
                        Change::Removed => "removed",
                        _ => "changed",
                    };
                    ids.entry((id.namespace.to_string(), class))
                        .or_default()
                        .push(id_text(id.id.as_deref().unwrap()));
                }
                DiffEntry::Collection(c) => {
                    let ns = c.namespace.to_string();
                    let mut list =
                        |class| sorted(ids.remove(&(ns.clone(), class)).unwrap_or_default());
                    let (added, removed, changed) =
                        (list("added"), list("removed"), list("changed"));
                    assert_eq!(
                        (
                            added.len() as u64,
                            removed.len() as u64,
                            changed.len() as u64
                        ),
                        (c.added, c.removed, c.changed),
                        "{ns}"
                    );
                    got.insert(ns, json!({
                        "presence": presence(c.presence),
                        "added": added, "removed": removed, "changed": changed,
                        "unchanged": c.unchanged,
                        "indexes_added": sorted(c.indexes_added), "indexes_removed": sorted(c.indexes_removed),
                        "indexes_changed": sorted(c.indexes_changed),
                        "options_added": sorted(c.options_added), "options_removed": sorted(c.options_removed),
                        "options_changed": sorted(c.options_changed),
                    }));
                }
                _ => {}
            }
        }
        // The reference's ids are compact JSON; ours are serde_json's: compare parsed.
        let norm = |v: &Value| -> Value {
            let mut v = v.clone();
            for coll in v.as_object_mut().unwrap().values_mut() {
                for class in ["added", "removed", "changed"] {
                    let mut list: Vec<String> = coll[class]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| {
                            serde_json::from_str::<Value>(s.as_str().unwrap())
                                .unwrap()
                                .to_string()
                        })
                        .collect();
                    list.sort();
                    coll[class] = json!(list);
                }
            }
            v
        };
        let got = serde_json::to_value(&got).unwrap();
        assert_eq!(norm(&got), norm(&want), "seed {seed}");
        let users = &want["auth0.users"];
        assert!(!users["changed"].as_array().unwrap().is_empty());
        assert!(!users["indexes_changed"].as_array().unwrap().is_empty());

        // The command, on the encrypted backups: the same ids and counts.
        let enc = |p: &std::path::Path| {
            let mut w =
                EncryptWriter::new(Vec::new(), &Password::from("pw"), Format::Node).unwrap();
            w.write_all(&std::fs::read(p).unwrap()).unwrap();
            let out = p.with_extension("gz.enc");
            std::fs::write(&out, w.finish().unwrap()).unwrap();
            out
        };
        let (old_enc, new_enc) = (enc(&old), enc(&new));
        let out = Command::new(env!("CARGO_BIN_EXE_a0backup"))
            .args(["--json", "diff", "--password", "pw", "--ids"])
            .arg(&old_enc)
            .arg(&new_enc)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut changed_users = Vec::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["collection"] == "auth0.users" && v["change"] == "changed" {
                changed_users.push(v["_id"].to_string());
            }
            if v["collection"] == "auth0.users" && v.get("presence").is_some() {
                assert_eq!(
                    v["changed"].as_u64().unwrap() as usize,
                    users["changed"].as_array().unwrap().len()
                );
            }
        }
        changed_users.sort();
        assert_eq!(json!(changed_users), norm(&want)["auth0.users"]["changed"]);
    }
}
