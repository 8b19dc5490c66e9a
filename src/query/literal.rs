//! The filter's text: JSON read with members in order and duplicate keys refused (a filter
//! `{"a": 1, "a": 2}` would otherwise lose a condition without a word), and its values as BSON
//! through the `bson` crate's Extended JSON reader (`{"$oid": ..}`, `{"$date": ..}`,
//! `{"$numberDecimal": ..}`, `{"$regularExpression": ..}` and the other wrappers, canonical or
//! relaxed).

use std::collections::HashSet;
use std::fmt;

use bson::{Bson, RawBson};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value, objects as their members in order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Reads a filter's text (serde_json's nesting limit, 128 levels, applies).
pub(super) fn parse(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("the filter is not JSON: {e}"))
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
        if i64::try_from(n).is_err() {
            return Err(E::custom(format!(
                "{n} is beyond int64: write it as {{\"$numberDecimal\": \"{n}\"}}"
            )));
        }
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(members))
    }
}

impl Json {
    fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// The keys that make an object an Extended JSON value rather than a document or operators.
const WRAPPERS: [&str; 17] = [
    "$oid",
    "$symbol",
    "$regularExpression",
    "$numberInt",
    "$numberLong",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$uuid",
    "$code",
    "$scope",
    "$timestamp",
    "$date",
    "$minKey",
    "$maxKey",
    "$dbPointer",
    "$undefined",
];

/// Whether an object (by its first key) is an Extended JSON wrapper: `{"$oid": ..}` and such.
pub(super) fn is_wrapper(first_key: &str) -> bool {
    WRAPPERS.contains(&first_key)
}

/// A value of the filter as BSON.
pub(super) fn bson(value: &Json) -> Result<RawBson, String> {
    let bson = Bson::try_from(value.to_value()).map_err(|e| {
        let why = e.message.unwrap_or_else(|| e.kind.to_string());
        format!("{}: not Extended JSON ({why})", short(value))
    })?;
    if holds_db_pointer(&bson) {
        return Err("DBPointer values cannot be used in a filter".into());
    }
    RawBson::try_from(bson).map_err(|e| format!("{}: {e}", short(value)))
}

fn holds_db_pointer(b: &Bson) -> bool {
    match b {
        Bson::DbPointer(_) => true,
        Bson::Array(items) => items.iter().any(holds_db_pointer),
        Bson::Document(d) => d.values().any(holds_db_pointer),
        Bson::JavaScriptCodeWithScope(c) => c.scope.values().any(holds_db_pointer),
        _ => false,
    }
}

/// A value in an error message, cut short.
pub(super) fn short(value: &Json) -> String {
    let text = value.to_value().to_string();
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_kept_duplicates_refused() {
        let Json::Object(m) = parse(r#"{"b": 1, "a": [true, null]}"#).unwrap() else {
            panic!()
        };
        assert_eq!(m[0].0, "b");
        assert!(parse(r#"{"a": 1, "a": 2}"#).unwrap_err().contains("twice"));
        assert!(parse(r#"{"a": {"x": 1, "x": 1}}"#).is_err());
        assert!(parse("18446744073709551615")
            .unwrap_err()
            .contains("numberDecimal"));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn extended_json_values() {
        let v = |s: &str| bson(&parse(s).unwrap());
        assert_eq!(v("1").unwrap(), RawBson::Int32(1));
        assert_eq!(v("3000000000").unwrap(), RawBson::Int64(3_000_000_000));
        assert_eq!(v(r#"{"$numberLong": "1"}"#).unwrap(), RawBson::Int64(1));
        assert!(matches!(
            v(r#"{"$oid": "5f1d7e0b9c3a4b2d1e0f1a2b"}"#).unwrap(),
            RawBson::ObjectId(_)
        ));
        assert!(v(r#"{"$oid": "xyz"}"#).is_err());
        let pointer =
            r#"{"$dbPointer": {"$ref": "a", "$id": {"$oid": "5f1d7e0b9c3a4b2d1e0f1a2b"}}}"#;
        assert!(v(&format!(r#"{{"x": [{pointer}]}}"#))
            .unwrap_err()
            .contains("DBPointer"));
    }
}
