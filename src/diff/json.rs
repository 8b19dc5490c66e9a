//! A diff's items as JSON (the `serde` feature): the shape `a0backup diff --json` prints and
//! `a0b_diff` hands over, one object per item, the `_id`s as canonical Extended JSON.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{CollectionDiff, DiffEntry, IdChange};

/// `{"collection": "DB.COLL", "presence": ..., "added": n, ..., "indexes": {"added": [...],
/// "removed": [...], "changed": [...]}, "options": {...}}`.
impl Serialize for CollectionDiff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(8))?;
        map.serialize_entry("collection", &self.namespace)?;
        map.serialize_entry("presence", &self.presence)?;
        map.serialize_entry("added", &self.added)?;
        map.serialize_entry("removed", &self.removed)?;
        map.serialize_entry("changed", &self.changed)?;
        map.serialize_entry("unchanged", &self.unchanged)?;
        let indexes = Lists(
            &self.indexes_added,
            &self.indexes_removed,
            &self.indexes_changed,
        );
        map.serialize_entry("indexes", &indexes)?;
        let options = Lists(
            &self.options_added,
            &self.options_removed,
            &self.options_changed,
        );
        map.serialize_entry("options", &options)?;
        map.end()
    }
}

/// Added, removed and changed names.
struct Lists<'a>(&'a [String], &'a [String], &'a [String]);

impl Serialize for Lists<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("added", self.0)?;
        map.serialize_entry("removed", self.1)?;
        map.serialize_entry("changed", self.2)?;
        map.end()
    }
}

/// `{"collection": "DB.COLL", "change": "added", "_id": <canonical Extended JSON>}`, without
/// `_id` for a document that has none.
impl Serialize for IdChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let id: Option<serde_json::Value> = self
            .id_json()
            .and_then(|text| serde_json::from_str(&text).ok());
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("collection", &self.namespace)?;
        map.serialize_entry("change", &self.change)?;
        // A document without `_id` has no `_id` key (`"_id": null` is a document's own null).
        if let Some(id) = id {
            map.serialize_entry("_id", &id)?;
        }
        map.end()
    }
}

/// The item itself, untagged: an `_id`'s object has `change`, a collection's `presence`.
impl Serialize for DiffEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DiffEntry::Id(id) => id.serialize(s),
            DiffEntry::Collection(c) => c.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Change, Presence};
    use crate::dump::Namespace;

    #[test]
    fn an_id_change_is_the_cli_line_and_its_id_extended_json() {
        let id = bson::rawdoc! { "_id": bson::oid::ObjectId::parse_str("546651e74bf6e4cb017c5312").unwrap() };
        let change = IdChange {
            namespace: Namespace::new("auth0", "users.x"),
            change: Change::Removed,
            id: Some(id.as_bytes().to_vec()),
        };
        let json = serde_json::to_string(&DiffEntry::Id(change)).unwrap();
        assert_eq!(
            json,
            r#"{"collection":"auth0.users.x","change":"removed","_id":{"$oid":"546651e74bf6e4cb017c5312"}}"#
        );
        let c = CollectionDiff {
            namespace: Namespace::new("a", "b"),
            presence: Presence::OldOnly,
            added: 0,
            removed: 2,
            changed: 0,
            unchanged: 0,
            indexes_added: vec![],
            indexes_removed: vec!["_id_".into()],
            indexes_changed: vec![],
            options_added: vec![],
            options_removed: vec![],
            options_changed: vec![],
        };
        let v: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(v["presence"], "old_only");
        assert_eq!(v["indexes"]["removed"][0], "_id_");
        assert_eq!(v["collection"], "a.b");
    }
}
