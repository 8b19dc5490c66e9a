//! What a diff keeps of a collection's `.metadata.json`: each index by name and each option by
//! key, with a hash of its JSON as written (key order kept: `{"a":1,"b":1}` and
//! `{"b":1,"a":1}` are different indexes, as they are to MongoDB).

use serde_json::Value;

use crate::error::{Error, Input, Result};

use super::digest::{hash, Hash};

/// Indexes and options of one collection's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MetaDigest {
    pub(crate) indexes: Vec<(String, Hash)>,
    pub(crate) options: Vec<(String, Hash)>,
}

/// Reads a `.metadata.json`'s text.
///
/// # Errors
///
/// [`Error::Malformed`] ([`Input::Metadata`]) when it is not a JSON object.
pub(crate) fn digest(text: &str, shown: &str) -> Result<MetaDigest> {
    let bad = |why: String| Error::malformed(Input::Metadata, None, format!("{shown}: {why}"));
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(bad("not a JSON object".into()));
    };
    let mut d = MetaDigest::default();
    if let Some(Value::Array(indexes)) = top.get("indexes") {
        for (i, index) in indexes.iter().enumerate() {
            let name = match index.get("name") {
                Some(Value::String(n)) => n.clone(),
                _ => format!("#{i}"),
            };
            d.indexes.push((name, hash(index.to_string().as_bytes())));
        }
    }
    if let Some(Value::Object(options)) = top.get("options") {
        for (key, value) in options {
            d.options
                .push((key.clone(), hash(value.to_string().as_bytes())));
        }
    }
    Ok(d)
}

/// Names in `new` and not `old`, in `old` and not `new`, and in both with another hash.
pub(crate) fn compare(
    old: &[(String, Hash)],
    new: &[(String, Hash)],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let find =
        |list: &[(String, Hash)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, h)| *h);
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for (name, h) in new {
        match find(old, name) {
            None => added.push(name.clone()),
            Some(o) if o != *h => changed.push(name.clone()),
            Some(_) => {}
        }
    }
    let removed = old
        .iter()
        .filter(|(n, _)| find(new, n).is_none())
        .map(|(n, _)| n.clone())
        .collect();
    (added, removed, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_counts() {
        let a = digest(r#"{"indexes":[{"v":2,"key":{"a":1,"b":1},"name":"ab"},{"key":{"_id":1},"name":"_id_"}],"options":{"capped":true}}"#, "x").unwrap();
        let b = digest(r#"{"indexes":[{"v":2,"key":{"b":1,"a":1},"name":"ab"},{"key":{"e":1},"name":"e_1"}],"options":{"capped":true,"size":4}}"#, "x").unwrap();
        assert_eq!(
            compare(&a.indexes, &b.indexes),
            (vec!["e_1".into()], vec!["_id_".into()], vec!["ab".into()])
        );
        assert_eq!(
            compare(&a.options, &b.options),
            (vec!["size".into()], vec![], vec![])
        );
        assert!(digest("[1]", "x").is_err());
    }
}
