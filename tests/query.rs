//! Query filters (issue 24) against outside engines: `mongomock` selects the same `_id`s over
//! generated user documents with a list of realistic filters and over random documents with
//! random filters of the subset (a property test); Python's exact fractions order numbers of
//! every BSON type as MongoDB does. Where mongomock departs from MongoDB (listed above
//! `users`), the generators stay clear of it and `mongodb_semantics` checks
//! MongoDB's documented behaviour (and its matcher's source) directly.

mod common;
mod pyoracle;

use std::collections::BTreeMap;
use std::io::Write;

use a0backup::extjson::{self, ExtJsonOptions};
use a0backup::query::Filter;
use a0backup::Error;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, RawDocumentBuf};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A document from its Extended JSON.
fn doc(json: &str) -> Vec<u8> {
    let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let Bson::Document(d) = Bson::try_from(value).unwrap() else {
        panic!("not a document: {json}")
    };
    RawDocumentBuf::try_from(&d).unwrap().into_bytes()
}

fn matches(filter: &str, document: &[u8]) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(document)
        .unwrap()
}

// ---- MongoDB's semantics, case by case ----

/// `(document, filter, matches)`: what mongod answers, from its documentation and from its
/// matcher (`src/mongo/db/matcher/`: `path.cpp`, `expression_leaf.cpp`,
/// `base/compare_numbers.h`).
const SEMANTICS: &[(&str, &str, bool)] = &[
    // A missing field, or a path through a scalar, is null; arrays of scalars give nothing.
    (r#"{}"#, r#"{"a": null}"#, true),
    (r#"{"a": 5}"#, r#"{"a.b": null}"#, true),
    (r#"{"a": [1, 2]}"#, r#"{"a.b": null}"#, false),
    (r#"{"a": [{"c": 1}]}"#, r#"{"a.b": null}"#, true),
    (
        r#"{"a": [{"c": 1}, {"b": 2}]}"#,
        r#"{"a.b": {"$ne": null}}"#,
        false,
    ),
    (r#"{"a": {"b": 0}}"#, r#"{"a.b": null}"#, false),
    (r#"{"a": [null, 1]}"#, r#"{"a": null}"#, true),
    // Numeric components: the element at that index, and every document element searched
    // for a field of that name (mongomock only does the first).
    (r#"{"a": [{"b": 1}]}"#, r#"{"a.0.b": 1}"#, true),
    (r#"{"a": [{"b": 1}]}"#, r#"{"a.0.b": null}"#, true),
    (r#"{"a": [{"0": "x"}]}"#, r#"{"a.0": "x"}"#, true),
    (r#"{"a": {"0": "x"}}"#, r#"{"a.0": "x"}"#, true),
    (r#"{"a": [4, 5]}"#, r#"{"a.1": 5}"#, true),
    (r#"{"a": [[4, 5]]}"#, r#"{"a.1": 5}"#, false),
    (r#"{"a": [[4, 5]]}"#, r#"{"a.0": 5}"#, false),
    (r#"{"a": [[4, 5]]}"#, r#"{"a.0.1": 5}"#, true),
    (r#"{"a": [[{"b": 4}]]}"#, r#"{"a.b": 4}"#, false),
    (r#"{"a": [[{"b": 4}]]}"#, r#"{"a.0.b": 4}"#, true),
    // Null in comparisons: missing and null are equal, and sit below everything else.
    (r#"{}"#, r#"{"a": {"$gte": null}}"#, true),
    (r#"{}"#, r#"{"a": {"$lte": null}}"#, true),
    (r#"{"a": null}"#, r#"{"a": {"$gt": null}}"#, false),
    (r#"{"a": 1}"#, r#"{"a": {"$gt": null}}"#, false),
    // MinKey and MaxKey compare with every type, missing included.
    (r#"{}"#, r#"{"a": {"$gt": {"$minKey": 1}}}"#, true),
    (r#"{"a": "s"}"#, r#"{"a": {"$gte": {"$minKey": 1}}}"#, true),
    (
        r#"{"a": {"$maxKey": 1}}"#,
        r#"{"a": {"$lt": {"$maxKey": 1}}}"#,
        false,
    ),
    (r#"{"a": [1]}"#, r#"{"a": {"$lt": {"$maxKey": 1}}}"#, true),
    (r#"{"a": {"$minKey": 1}}"#, r#"{"a": {"$minKey": 1}}"#, true),
    (r#"{"a": null}"#, r#"{"a": {"$minKey": 1}}"#, false),
    // Type brackets: booleans are not numbers, strings are not numbers.
    (r#"{"a": true}"#, r#"{"a": 1}"#, false),
    (r#"{"a": true}"#, r#"{"a": {"$gt": 0}}"#, false),
    (r#"{"a": "6"}"#, r#"{"a": {"$gt": 5}}"#, false),
    (r#"{"a": "a"}"#, r#"{"a": {"$gt": ""}}"#, true),
    // Numbers by value across types (mongomock cannot compare decimals).
    (r#"{"a": {"$numberLong": "1"}}"#, r#"{"a": 1.0}"#, true),
    (r#"{"a": {"$numberDecimal": "1.00"}}"#, r#"{"a": 1}"#, true),
    (
        r#"{"a": {"$numberDecimal": "0.1"}}"#,
        r#"{"a": 0.1}"#,
        false,
    ),
    (
        r#"{"a": {"$numberDecimal": "0.1"}}"#,
        r#"{"a": {"$lt": 0.1}}"#,
        true,
    ),
    (
        r#"{"a": {"$numberLong": "9007199254740993"}}"#,
        r#"{"a": {"$gt": 9007199254740992.0}}"#,
        true,
    ),
    (
        r#"{"a": {"$numberDecimal": "-Infinity"}}"#,
        r#"{"a": {"$numberDouble": "-Infinity"}}"#,
        true,
    ),
    (
        r#"{"a": {"$numberDecimal": "1E+400"}}"#,
        r#"{"a": {"$gt": 1.7976931348623157e308}}"#,
        true,
    ),
    // NaN equals NaN (double or decimal) and is neither above nor below anything.
    (
        r#"{"a": {"$numberDecimal": "NaN"}}"#,
        r#"{"a": {"$numberDouble": "NaN"}}"#,
        true,
    ),
    (
        r#"{"a": {"$numberDouble": "NaN"}}"#,
        r#"{"a": {"$gte": {"$numberDouble": "NaN"}}}"#,
        true,
    ),
    (
        r#"{"a": {"$numberDouble": "NaN"}}"#,
        r#"{"a": {"$lt": 5}}"#,
        false,
    ),
    (
        r#"{"a": {"$numberDouble": "NaN"}}"#,
        r#"{"a": {"$gt": {"$numberDouble": "-Infinity"}}}"#,
        false,
    ),
    (
        r#"{"a": 3}"#,
        r#"{"a": {"$lt": {"$numberDouble": "NaN"}}}"#,
        false,
    ),
    // Documents compare in order, types before names; arrays element by element.
    (
        r#"{"a": {"x": 1, "y": 2}}"#,
        r#"{"a": {"x": 1, "y": 2}}"#,
        true,
    ),
    (
        r#"{"a": {"y": 2, "x": 1}}"#,
        r#"{"a": {"x": 1, "y": 2}}"#,
        false,
    ),
    (r#"{"a": {"x": 2}}"#, r#"{"a": {"$gt": {"x": 1}}}"#, true),
    (r#"{"a": {"x": "s"}}"#, r#"{"a": {"$gt": {"x": 1}}}"#, true),
    (r#"{"a": {"w": 5}}"#, r#"{"a": {"$gt": {"x": 1}}}"#, false),
    (
        r#"{"a": {"x": 1, "y": 0}}"#,
        r#"{"a": {"$gt": {"x": 1}}}"#,
        true,
    ),
    (r#"{"a": [1, 2]}"#, r#"{"a": [1, 2]}"#, true),
    (r#"{"a": [[1, 2], 3]}"#, r#"{"a": [1, 2]}"#, true),
    (r#"{"a": [[1, 2], 3]}"#, r#"{"a": {"$eq": [1, 2]}}"#, true),
    (r#"{"a": [2, 1]}"#, r#"{"a": [1, 2]}"#, false),
    (r#"{"a": [1, 2]}"#, r#"{"a": {"$in": [[1, 2]]}}"#, true),
    (r#"{"a": [1, 2]}"#, r#"{"a": {"$nin": [[1, 2]]}}"#, false),
    (r#"{"a": [1, 2]}"#, r#"{"a": {"$gt": [1]}}"#, true),
    (r#"{"a": [1, 2]}"#, r#"{"a": {"$size": 2}}"#, false), // refused, see below
    // $exists, $in with null, $not.
    (
        r#"{"a": [{"b": null}]}"#,
        r#"{"a.b": {"$exists": true}}"#,
        true,
    ),
    (r#"{"a": []}"#, r#"{"a.b": {"$exists": true}}"#, false),
    (r#"{"a": []}"#, r#"{"a": {"$exists": true}}"#, true),
    (r#"{"a": null}"#, r#"{"a": {"$exists": false}}"#, false),
    (
        r#"{"a": 1}"#,
        r#"{"a": {"$exists": {"$numberInt": "0"}}}"#,
        false,
    ),
    (r#"{}"#, r#"{"a": {"$in": [null, 3]}}"#, true),
    (r#"{}"#, r#"{"a": {"$nin": [null]}}"#, false),
    (r#"{"a": [1, 9]}"#, r#"{"a": {"$not": {"$gt": 5}}}"#, false),
    (r#"{"a": [1, 2]}"#, r#"{"a": {"$not": {"$gt": 5}}}"#, true),
    (r#"{}"#, r#"{"a": {"$not": {"$gt": 5}}}"#, true),
    (
        r#"{"a": "ABC"}"#,
        r#"{"a": {"$not": {"$regularExpression": {"pattern": "^a", "options": "i"}}}}"#,
        false,
    ),
    // Regular expressions: strings and symbols are searched; a regex value matches the same
    // pattern and options; $eq compares regex values only.
    (
        r#"{"a": {"$symbol": "abc"}}"#,
        r#"{"a": {"$regex": "b"}}"#,
        true,
    ),
    (r#"{"a": {"$symbol": "abc"}}"#, r#"{"a": "abc"}"#, true),
    (
        r#"{"a": {"$regularExpression": {"pattern": "a.c", "options": ""}}}"#,
        r#"{"a": {"$regex": "a.c"}}"#,
        true,
    ),
    (
        r#"{"a": {"$regularExpression": {"pattern": "a.c", "options": "i"}}}"#,
        r#"{"a": {"$regex": "a.c"}}"#,
        false,
    ),
    (
        r#"{"a": "x"}"#,
        r#"{"a": {"$eq": {"$regularExpression": {"pattern": "x", "options": ""}}}}"#,
        false,
    ),
    (
        r#"{"a": ["b", "xyz"]}"#,
        r#"{"a": {"$in": [{"$regularExpression": {"pattern": "^x", "options": ""}}]}}"#,
        true,
    ),
    (
        r#"{"a": "xyz"}"#,
        r#"{"a": {"$nin": [{"$regularExpression": {"pattern": "^x", "options": ""}}]}}"#,
        false,
    ),
    // Other brackets.
    (
        r#"{"a": {"$date": "2020-01-01T00:00:00Z"}}"#,
        r#"{"a": {"$gt": {"$date": "2019-12-31T23:59:59.999Z"}}}"#,
        true,
    ),
    (
        r#"{"a": {"$date": "2020-01-01T00:00:00Z"}}"#,
        r#"{"a": {"$gt": 5}}"#,
        false,
    ),
    (
        r#"{"a": {"$timestamp": {"t": 4000000000, "i": 1}}}"#,
        r#"{"a": {"$gt": {"$timestamp": {"t": 1, "i": 2}}}}"#,
        true,
    ),
    (
        r#"{"a": {"$oid": "5f1d7e0b9c3a4b2d1e0f1a2c"}}"#,
        r#"{"a": {"$gt": {"$oid": "5f1d7e0b9c3a4b2d1e0f1a2b"}}}"#,
        true,
    ),
    (
        r#"{"a": {"$binary": {"base64": "AAA=", "subType": "00"}}}"#,
        r#"{"a": {"$gt": {"$binary": {"base64": "/w==", "subType": "00"}}}}"#,
        true,
    ),
    (
        r#"{"a": {"$binary": {"base64": "/w==", "subType": "80"}}}"#,
        r#"{"a": {"$gt": {"$binary": {"base64": "/w==", "subType": "00"}}}}"#,
        true,
    ),
    (r#"{"a": false}"#, r#"{"a": {"$lt": true}}"#, true),
    // $and, $or, nested.
    (
        r#"{"a": 1, "b": 2}"#,
        r#"{"$or": [{"a": 2}, {"$and": [{"b": 2}, {"a": {"$lt": 5}}]}]}"#,
        true,
    ),
    (
        r#"{"a": [{"b": 3}, {"b": 1}]}"#,
        r#"{"a.b": {"$ne": 5, "$gt": 2}}"#,
        true,
    ),
    // Each operator on its own: a value may pass one, another value the other ($elemMatch is
    // what asks one value to pass all).
    (
        r#"{"a": [{"b": 3}, {"b": 1}]}"#,
        r#"{"a.b": {"$gt": 2, "$lt": 2}}"#,
        true,
    ),
    (
        r#"{"a": [{"b": 3}, {"b": 1}]}"#,
        r#"{"a.b": {"$gt": 3, "$lt": 1}}"#,
        false,
    ),
    (r#"{"a": [1, 5]}"#, r#"{"a": {"$gt": 2, "$lt": 4}}"#, true),
];

#[test]
fn mongodb_semantics() {
    let mut wrong = Vec::new();
    for (d, f, want) in SEMANTICS {
        match Filter::parse(f) {
            Ok(filter) => {
                let got = filter.matches(&doc(d)).unwrap();
                if got != *want {
                    wrong.push(format!("{f} on {d}: {got}, MongoDB says {want}"));
                }
            }
            Err(e) if f.contains("$size") => assert!(e.to_string().contains("$size")),
            Err(e) => wrong.push(format!("{f}: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn outside_the_subset_is_refused_by_name() {
    for (filter, named) in [
        (r#"{"$where": "this.a == 1"}"#, "$where"),
        (r#"{"$expr": {"$gt": ["$a", 1]}}"#, "$expr"),
        (r#"{"$nor": [{"a": 1}]}"#, "$nor"),
        (r#"{"$text": {"$search": "x"}}"#, "$text"),
        (r#"{"$comment": "x"}"#, "$comment"),
        (r#"{"a": {"$elemMatch": {"b": 1}}}"#, "$elemMatch"),
        (r#"{"a": {"$size": 1}}"#, "$size"),
        (r#"{"a": {"$type": "string"}}"#, "$type"),
        (r#"{"a": {"$all": [1]}}"#, "$all"),
        (r#"{"a": {"$mod": [2, 0]}}"#, "$mod"),
        (r#"{"a": {"$gt": 1, "$bogus": 2}}"#, "$bogus"),
        (r#"{"$bogus": 1}"#, "$bogus"),
        (r#"{"a": 1, "a": 2}"#, "twice"),
        (r#"{"a": {"$options": "i"}}"#, "$options needs a $regex"),
        (
            r#"{"a": {"$regex": {"$regularExpression": {"pattern": "x", "options": "i"}}, "$options": "m"}}"#,
            "both",
        ),
        (
            r#"{"a": {"$ne": {"$regularExpression": {"pattern": "x", "options": ""}}}}"#,
            "$ne",
        ),
        (r#"{"a": {"$in": 1}}"#, "$in takes an array"),
        (
            r#"{"a": {"$in": [{"$gt": 1}]}}"#,
            "$in cannot hold operators",
        ),
        (r#"{"a": {"$not": 1}}"#, "$not"),
        (r#"{"a": {"$not": {}}}"#, "$not cannot be empty"),
        (r#"{"$and": []}"#, "$and"),
        (r#"{"$or": {"a": 1}}"#, "$or"),
        (r#"{"a": {"$gt": {"$undefined": true}}}"#, "undefined"),
        (r#"{"a": {"$oid": "nothex"}}"#, "$oid"),
        (r#"{"a..b": 1}"#, "empty component"),
        (r#"[1]"#, "JSON object"),
        (r#"{"a": 18446744073709551615}"#, "numberDecimal"),
        (
            r#"{"a": {"$dbPointer": {"$ref": "c", "$id": {"$oid": "5f1d7e0b9c3a4b2d1e0f1a2b"}}}}"#,
            "DBPointer",
        ),
    ] {
        match Filter::parse(filter) {
            Err(Error::InvalidArgument(why)) => {
                assert!(why.contains(named), "{filter}: {why} does not name {named}")
            }
            other => panic!("{filter}: {other:?}"),
        }
    }
    let deep = format!("{}{}", r#"{"$and": ["#.repeat(100), "}]".repeat(100));
    assert!(Filter::parse(&deep).is_err());
}

// ---- $regex: PCRE's meaning, or a refusal ----

#[test]
fn regexes_match_as_pcre_or_are_refused() {
    let re = |pattern: &str, options: &str| {
        json!({"a": {"$regex": pattern, "$options": options}}).to_string()
    };
    let cases: &[(&str, &str, &str, bool)] = &[
        // PCRE's $ also matches before a final newline; \z does not; m makes it per line.
        ("c$", "", "abc", true),
        ("c$", "", "abc\n", true),
        ("c$", "", "abc\n\n", false),
        ("c$", "", "abcd", false),
        ("c\\z", "", "abc\n", false),
        ("c\\Z", "", "abc\n", true),
        ("c$", "m", "abc\nxyz", true),
        ("^(a|b)$", "", "b\n", true),
        ("a$|^b", "", "bz", true),
        // ASCII classes, as PCRE without UCP.
        ("^\\d$", "", "\u{663}", false),
        ("^\\d+$", "", "0123", true),
        ("^\\w$", "", "é", false),
        ("^\\W$", "", "é", true),
        ("\\s", "", "\u{a0}", false),
        ("\\s", "", "a\u{b}b", true),
        ("\\bx", "", "éx", true),
        ("^[\\d-]+$", "", "1-2", true),
        // Case folding: Unicode for letters, as PCRE2 in UTF mode.
        ("abc", "i", "xABCx", true),
        ("é", "i", "É", true),
        ("^\\w$", "i", "\u{212a}", false),
        // Extended mode: whitespace and comments out, but not inside a class.
        ("a b # a comment\n c", "x", "abc", true),
        ("a[ ]b", "x", "a b", true),
        // Literal braces, brackets and operators the regex crate would read otherwise.
        ("a{", "", "a{", true),
        ("{foo}", "", "x{foo}", true),
        ("^a{2}$", "", "aa", true),
        ("[a&&b]", "", "&", true),
        ("[a~~b]", "", "~", true),
        ("[[]", "", "[", true),
        ("\\<", "", "<", true),
        ("[a-]", "", "-", true),
        ("[]a]", "", "]", true),
        ("\\Q.*\\E", "", "x.*", true),
        ("\\Q.*\\E", "", "ab", false),
        ("\\x41\\x{42}", "", "AB", true),
        ("a(?#comment)b", "", "ab", true),
        ("(?i)ab(?-i)c", "", "ABc", true),
        ("(?i)ab(?-i)c", "", "ABC", false),
        ("(?s:a.b)", "", "a\nb", true),
        ("a.b", "", "a\nb", false),
        ("a.b", "s", "a\nb", true),
        ("(?<year>\\d{4})-\\d\\d", "", "2024-06", true),
        ("^[[:alpha:]]+$", "", "abc", true),
        ("\\p{Greek}", "", "λ", true),
    ];
    for (pattern, options, text, want) in cases {
        let filter = re(pattern, options);
        let document = doc(&json!({"a": text}).to_string());
        assert_eq!(
            matches(&filter, &document),
            *want,
            "/{pattern}/{options} on {text:?}"
        );
    }
}

#[test]
fn regexes_pcre_would_read_otherwise_are_refused() {
    for (pattern, options, named) in [
        ("(a)\\1", "", "back-reference"),
        ("(?P<n>a)(?P=n)", "", "back-reference"),
        ("a(?=b)", "", "look-ahead"),
        ("a(?!b)", "", "look-ahead"),
        ("(?<=a)b", "", "look-behind"),
        ("(?<!a)b", "", "look-behind"),
        ("(?>a+)b", "", "atomic"),
        ("a++", "", "possessive"),
        ("a*+b", "", "possessive"),
        ("a{2}+", "", "possessive"),
        ("(a|(?R))", "", "recursion"),
        ("(a)(?1)", "", "subroutine"),
        ("(?(1)a|b)", "", "conditional"),
        ("(*FAIL)", "", "verb"),
        ("\\Ga", "", "\\G"),
        ("a\\Kb", "", "\\K"),
        ("\\R", "", "\\R"),
        ("\\h", "", "\\h"),
        ("\\v", "", "\\v"),
        ("\\cA", "", "\\c"),
        ("\\012", "", "octal"),
        ("a$b", "", "`$`"),
        ("(a$)b", "", "`$`"),
        ("a$+", "", "`$`"),
        ("^a", "m", "`^` with the m option"),
        ("[\\w]", "i", "\\w or \\W inside a class"),
        ("[[:alpha:]]", "i", "[:alpha:]"),
        ("\\p{L}", "i", "Unicode property"),
        ("(?U)a", "", "inline option"),
        ("a{,3}", "", "{,n}"),
        ("a", "q", "invalid $regex option"),
        ("\\y", "", "unknown escape"),
        ("(", "", "missing `)`"),
        ("[a", "", "missing `]`"),
        ("[z-a]", "", "out of order"),
        ("x{1000}{1000}", "", "size"),
    ] {
        let filter = json!({"a": {"$regex": pattern, "$options": options}}).to_string();
        match Filter::parse(&filter) {
            Err(Error::InvalidArgument(why)) => {
                assert!(
                    why.contains(named),
                    "/{pattern}/{options}: {why:?} does not say {named:?}"
                )
            }
            other => panic!("/{pattern}/{options}: {other:?}"),
        }
    }
}

// ---- the number order, against exact fractions ----

#[test]
fn numbers_order_as_exact_fractions() {
    if !pyoracle::python_with(&["bson"]) {
        return;
    }
    let out = pyoracle::run("tests/query/oracle.py", &["numbers".as_ref()]);
    let lines: Vec<&str> = out.lines().collect();
    let (last, numbers) = lines.split_last().unwrap();
    let order: Value = serde_json::from_str(last).unwrap();
    let order = order["order"].as_array().unwrap();
    let docs: Vec<Vec<u8>> = numbers.iter().map(|l| doc(l)).collect();
    let mut wrong = Vec::new();
    for (j, rhs) in numbers.iter().enumerate() {
        let rhs: Value = serde_json::from_str(rhs).unwrap();
        let rhs = &rhs["v"];
        let nan = rhs.to_string().contains("NaN");
        let filters = [
            (
                "$lt",
                Filter::parse(&json!({"v": {"$lt": rhs}}).to_string()).unwrap(),
            ),
            (
                "$eq",
                Filter::parse(&json!({"v": {"$eq": rhs}}).to_string()).unwrap(),
            ),
            (
                "$gt",
                Filter::parse(&json!({"v": {"$gt": rhs}}).to_string()).unwrap(),
            ),
        ];
        for (i, d) in docs.iter().enumerate() {
            let o = order[i][j].as_i64().unwrap();
            let lhs_nan = numbers[i].contains("NaN");
            for (op, filter) in &filters {
                // $lt and $gt never match a NaN on either side (MongoDB's special case).
                let want = match *op {
                    "$lt" => o < 0 && !nan && !lhs_nan,
                    "$gt" => o > 0 && !nan && !lhs_nan,
                    _ => o == 0,
                };
                if filter.matches(d).unwrap() != want {
                    wrong.push(format!("{} {op} {rhs}: want {want}", numbers[i]));
                }
            }
        }
    }
    eprintln!(
        "{} numbers, {} ordered pairs",
        numbers.len(),
        numbers.len().pow(2)
    );
    assert!(numbers.len() > 300);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}

// ---- mongomock: realistic documents and filters, then random ones ----

/// Runs mongomock over documents and filters; the `_id`s (int32) each filter selects.
fn mongomock(docs: &[Vec<u8>], filters: &[String]) -> Vec<Result<Vec<i64>, String>> {
    let dir = tempfile::tempdir().unwrap();
    let (docs_path, filters_path) = (
        dir.path().join("docs.bson"),
        dir.path().join("filters.jsonl"),
    );
    let mut f = std::fs::File::create(&docs_path).unwrap();
    docs.iter().for_each(|d| f.write_all(d).unwrap());
    std::fs::write(&filters_path, filters.join("\n") + "\n").unwrap();
    let out = pyoracle::run(
        "tests/query/oracle.py",
        &[
            "find".as_ref(),
            docs_path.as_os_str(),
            filters_path.as_os_str(),
        ],
    );
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            match v.get("ids") {
                Some(ids) => Ok(ids
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_i64().unwrap())
                    .collect()),
                None => Err(v["error"].as_str().unwrap_or_default().to_string()),
            }
        })
        .collect()
}

fn ours(docs: &[Vec<u8>], filter: &str) -> Vec<i64> {
    let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut ids: Vec<i64> = docs
        .iter()
        .filter(|d| filter.matches(d).unwrap())
        .map(|d| {
            match bson::RawDocument::from_bytes(d)
                .unwrap()
                .get("_id")
                .unwrap()
            {
                Some(bson::RawBsonRef::Int32(i)) => i64::from(i),
                other => panic!("_id {other:?}"),
            }
        })
        .collect();
    ids.sort();
    ids
}

// Where mongomock (4.3) departs from MongoDB, so that the generators below avoid it (and
// `mongodb_semantics` holds MongoDB's answers): booleans equal 1 and 0, and documents are equal
// in any key order (Python's `==`); decimals do not compare with other numbers, nor with `$gt`
// and the others at all; a numeric path component only indexes arrays (MongoDB also looks for a
// field of that name in document elements), and opens an array it reaches (MongoDB takes it
// whole); a path through a scalar, and `$exists: false` on a
// dotted path through an array, are judged on no values (and `$not` of no values is false); an operator object holding `$ne` or
// `$nin` with other operators needs every value to pass all of them; `$in` and `$eq` never
// compare a whole array with an array; `$gte: null` and the like do not match missing fields.

fn users() -> Vec<Vec<u8>> {
    let mut docs = Vec::new();
    for i in 0..120i64 {
        let provider = ["auth0", "google-oauth2", "github", "samlp"][(i % 4) as usize];
        let plan = ["free", "pro", "team"][(i % 3) as usize];
        let domain = ["example.com", "Example.COM", "test.org"][(i % 3) as usize];
        let roles = match i % 5 {
            0 => json!([]),
            1 => json!(["admin"]),
            2 => json!(["user", "reader"]),
            3 => json!(["user", ["nested"]]),
            _ => json!("user"),
        };
        let logins = if i % 3 == 0 {
            json!({"$numberLong": (i * 37 % 500).to_string()})
        } else {
            json!(i * 37 % 500)
        };
        let mut d = json!({
            "_id": i as i32,
            "uid": {"$oid": format!("5f1d7e0b9c3a4b2d1e0f{:04x}", i * 13)},
            "email": format!("user{i}@{domain}"),
            "name": if i % 7 == 0 { json!(null) } else { json!(format!("User {i}")) },
            "logins_count": logins,
            "created_at": {"$date": {"$numberLong": (1_600_000_000_000i64 + i * 86_400_000 * 3).to_string()}},
            "identities": [{"provider": provider, "user_id": format!("{}", i * 7), "isSocial": i % 4 != 0}],
            "app_metadata": {"roles": roles, "plan": plan, "score": (i % 9) as f64 + 0.5},
            "balance": {"$numberDecimal": format!("{}.{:02}", i * 3, i % 100)},
            "tags": [format!("t{}", i % 6), format!("t{}", (i + 1) % 6)],
        });
        if i % 11 == 0 {
            d.as_object_mut().unwrap().remove("email");
        }
        if i % 13 == 0 {
            d["identities"] = json!([
                {"provider": "auth0", "user_id": "x"},
                {"provider": "github", "profile": {"login": format!("gh{i}")}},
            ]);
        }
        if i % 17 == 0 {
            d["blocked"] = json!(true);
        }
        docs.push(doc(&d.to_string()));
    }
    docs
}

const USER_FILTERS: &[&str] = &[
    r#"{}"#,
    r#"{"email": "user5@Example.COM"}"#,
    r#"{"email": {"$regex": "@example\\.com$", "$options": "i"}}"#,
    r#"{"email": {"$regex": "^user1"}}"#,
    r#"{"email": {"$exists": false}}"#,
    r#"{"email": {"$in": ["user1@test.org", "user2@test.org", "user4@example.com"]}}"#,
    r#"{"name": null}"#,
    r#"{"name": {"$ne": null}}"#,
    r#"{"logins_count": {"$gte": 100, "$lt": 300}}"#,
    r#"{"logins_count": {"$gt": {"$numberLong": "400"}}}"#,
    r#"{"logins_count": 74}"#,
    r#"{"logins_count": {"$in": [0, 37, 74.0]}}"#,
    r#"{"logins_count": {"$nin": [0, 37, 74]}}"#,
    r#"{"created_at": {"$gte": {"$date": "2020-12-01T00:00:00Z"}}}"#,
    r#"{"created_at": {"$lt": {"$date": {"$numberLong": "1600500000000"}}}}"#,
    r#"{"identities.provider": "github"}"#,
    r#"{"identities.provider": {"$ne": "auth0"}}"#,
    r#"{"identities.isSocial": false}"#,
    r#"{"identities.profile.login": {"$exists": true}}"#,
    r#"{"identities.0.provider": "auth0"}"#,
    r#"{"identities.1.provider": "github"}"#,
    r#"{"identities.user_id": {"$regex": "^1"}}"#,
    r#"{"app_metadata.roles": "admin"}"#,
    r#"{"app_metadata.roles": "user"}"#,
    r#"{"app_metadata.roles": []}"#,
    r#"{"app_metadata.roles": ["user", "reader"]}"#,
    r#"{"app_metadata.roles": {"$in": ["admin", "reader"]}}"#,
    r#"{"app_metadata.roles": {"$exists": true}}"#,
    r#"{"app_metadata.plan": {"$in": ["pro", "team"]}, "app_metadata.score": {"$gt": 4}}"#,
    r#"{"app_metadata.score": {"$lte": 2.5}}"#,
    r#"{"app_metadata": {"$exists": true}, "tags": "t3"}"#,
    r#"{"tags.0": "t1"}"#,
    r#"{"tags": {"$not": {"$in": ["t0", "t1"]}}}"#,
    r#"{"blocked": true}"#,
    r#"{"blocked": {"$ne": true}}"#,
    r#"{"uid": {"$oid": "5f1d7e0b9c3a4b2d1e0f0068"}}"#,
    r#"{"uid": {"$gt": {"$oid": "5f1d7e0b9c3a4b2d1e0f0500"}}}"#,
    r#"{"balance": {"$numberDecimal": "15.05"}}"#,
    r#"{"balance": {"$in": [{"$numberDecimal": "3.01"}, {"$numberDecimal": "300.00"}]}}"#,
    r#"{"$or": [{"blocked": true}, {"logins_count": {"$lt": 20}}]}"#,
    r#"{"$and": [{"tags": "t2"}, {"$or": [{"app_metadata.plan": "pro"}, {"name": null}]}]}"#,
    r#"{"name": {"$not": {"$regularExpression": {"pattern": "1$", "options": ""}}}}"#,
    r#"{"email": {"$regularExpression": {"pattern": "TEST", "options": "i"}}}"#,
];

#[test]
fn realistic_filters_select_what_mongomock_selects() {
    if !pyoracle::python_with(&["bson", "mongomock"]) {
        return;
    }
    let docs = users();
    let filters: Vec<String> = USER_FILTERS.iter().map(|f| f.to_string()).collect();
    let theirs = mongomock(&docs, &filters);
    assert_eq!(theirs.len(), filters.len());
    let mut wrong = Vec::new();
    for (filter, theirs) in filters.iter().zip(theirs) {
        let mine = ours(&docs, filter);
        match theirs {
            Ok(ids) if ids == mine => {}
            Ok(ids) => wrong.push(format!(
                "{filter}:\n  ours      {mine:?}\n  mongomock {ids:?}"
            )),
            Err(e) => wrong.push(format!("{filter}: mongomock fails: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---- random documents and filters ----

const OIDS: [&str; 3] = [
    "5f1d7e0b9c3a4b2d1e0f1a2b",
    "5f1d7e0b9c3a4b2d1e0f1a2c",
    "000000000000000000000001",
];
const DATES: [i64; 4] = [0, 1_600_000_000_000, 1_600_000_000_001, -86_400_000];

/// Values mongomock judges as MongoDB does: no 0 or 1 (Python's `True == 1`), no decimals.
fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        prop_oneof![2i32..10, -6i32..-1].prop_map(Bson::Int32),
        prop::sample::select(vec![1i64 << 40, (1 << 53) + 1, 4, 7]).prop_map(Bson::Int64),
        prop::sample::select(vec![2.5, -3.5, 7.0, 1e10, 4.0, 9007199254740992.0])
            .prop_map(Bson::Double),
        prop::sample::select(vec!["x", "y", "ab", "abc", "abc\n", "Abc", "b.c", "", "zz"])
            .prop_map(|s| Bson::String(s.to_string())),
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        prop::sample::select(OIDS.to_vec())
            .prop_map(|h| Bson::ObjectId(bson::oid::ObjectId::parse_str(h).unwrap())),
        prop::sample::select(DATES.to_vec())
            .prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
        prop::sample::select(vec![vec![], vec![7u8], vec![1, 2], vec![2, 1]]).prop_map(|bytes| {
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes,
            })
        }),
    ]
}

/// Documents with sorted keys (mongomock compares documents in any order).
fn sorted_doc(fields: BTreeMap<&'static str, Bson>) -> Bson {
    Bson::Document(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), inner, 0..3)
                .prop_map(sorted_doc),
        ]
    })
}

const DECIMALS: [&str; 4] = ["2.5", "3", "-7.25", "100"];

fn document(id: i32) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), value(), 0..4),
        prop::option::of(prop::sample::select(DECIMALS.to_vec())),
    )
        .prop_map(move |(fields, decimal)| {
            let mut d = Document::new();
            d.insert("_id", id);
            for (k, v) in fields {
                d.insert(k, v);
            }
            if let Some(dec) = decimal {
                d.insert("d", dec.parse::<bson::Decimal128>().unwrap());
            }
            RawDocumentBuf::try_from(&d).unwrap().into_bytes()
        })
}

fn ext(b: &Bson) -> Value {
    b.clone().into_canonical_extjson()
}

/// A literal for a path: no null on dotted paths (mongomock judges paths through scalars, and
/// missing values under numeric components, otherwise than MongoDB).
fn literal(dotted: bool) -> BoxedStrategy<Value> {
    scalar()
        .prop_filter("no null on dotted paths", move |v| {
            !(dotted && *v == Bson::Null)
        })
        .prop_map(|v| ext(&v))
        .boxed()
}

/// A comparand of $gt and the others: not null (mongomock does not match missing fields with
/// $gte: null), not a document or an array.
fn comparand() -> BoxedStrategy<Value> {
    scalar()
        .prop_filter("not null", |v| *v != Bson::Null)
        .prop_map(|v| ext(&v))
        .boxed()
}

const PATTERNS: [&str; 10] = [
    "^a", "b$", "c", "^$", "a.c", "x|y", "[A-Z]", "^ab?c$", "\\.", "^x$",
];

fn predicate(dotted: bool) -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec!["$gt", "$gte", "$lt", "$lte"]);
    let set = prop::collection::vec(literal(dotted), 1..4).boxed();
    let regex = (prop::sample::select(PATTERNS.to_vec()), any::<bool>())
        .prop_map(|(p, i)| {
            if i {
                json!({"$regex": p, "$options": "i"})
            } else {
                json!({"$regex": p})
            }
        })
        .boxed();
    let positive = prop_oneof![
        literal(dotted).prop_map(|v| json!({ "$eq": v })),
        (ops.clone(), comparand()).prop_map(|(op, v)| json!({ op: v })),
        (comparand(), comparand()).prop_map(|(a, b)| json!({"$gt": a, "$lt": b})),
        set.clone().prop_map(|vs| json!({ "$in": vs })),
        regex,
    ]
    .boxed();
    let mut all: Vec<BoxedStrategy<Value>> = vec![
        // Implicit equality with a scalar, an array or a (sorted) document.
        literal(dotted),
        prop::collection::vec(literal(dotted), 0..3)
            .prop_map(Value::Array)
            .boxed(),
        prop::collection::btree_map(prop::sample::select(vec!["a", "b"]), literal(true), 1..3)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
            .boxed(),
        positive.clone(),
        // $ne and $nin alone (mongomock applies them with other operators differently).
        literal(dotted).prop_map(|v| json!({ "$ne": v })).boxed(),
        set.prop_map(|vs| json!({ "$nin": vs })).boxed(),
        Just(json!({ "$exists": true })).boxed(),
        (prop::sample::select(PATTERNS.to_vec()), any::<bool>())
            .prop_map(|(p, i)| {
                json!({ "$regularExpression": {"pattern": p, "options": if i { "i" } else { "" }} })
            })
            .boxed(),
    ];
    if !dotted {
        // mongomock judges these on no values when a dotted path reaches none.
        all.push(Just(json!({ "$exists": false })).boxed());
        all.push(positive.prop_map(|p| json!({ "$not": p })).boxed());
    }
    prop::strategy::Union::new(all)
}

fn decimal_predicate() -> impl Strategy<Value = Value> {
    let dec = prop::sample::select(DECIMALS.to_vec())
        .prop_map(|d| json!({ "$numberDecimal": d }))
        .boxed();
    prop_oneof![
        dec.clone(),
        dec.clone().prop_map(|d| json!({ "$ne": d })),
        prop::collection::vec(dec.clone(), 1..3).prop_map(|ds| json!({ "$in": ds })),
        prop::collection::vec(dec, 1..3).prop_map(|ds| json!({ "$nin": ds })),
        any::<bool>().prop_map(|b| json!({ "$exists": b })),
    ]
}

fn field_filter() -> impl Strategy<Value = Value> {
    let plain = prop::sample::select(vec!["a", "b", "c"]);
    // No path ends at a numeric component: mongomock opens an array found there.
    let dotted = prop::sample::select(vec!["a.a", "a.b", "b.c", "a.b.c", "b.0.a", "c.1.b"]);
    let condition = prop_oneof![
        (plain, predicate(false)).prop_map(|(p, v)| (p.to_string(), v)),
        (dotted, predicate(true)).prop_map(|(p, v)| (p.to_string(), v)),
        decimal_predicate().prop_map(|v| ("d".to_string(), v)),
    ];
    prop::collection::vec(condition, 1..3).prop_map(|cs| {
        // Distinct keys: a filter with a key twice is refused.
        let mut m = serde_json::Map::new();
        for (k, v) in cs {
            m.entry(k).or_insert(v);
        }
        Value::Object(m)
    })
}

fn filter() -> impl Strategy<Value = Value> {
    field_filter().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|fs| json!({ "$or": fs })),
            prop::collection::vec(inner, 1..3).prop_map(|fs| json!({ "$and": fs })),
        ]
    })
}

fn documents() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (0..60i32).map(document).collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_filters_select_what_mongomock_selects(
        docs in documents(),
        filters in prop::collection::vec(filter(), 120),
    ) {
        if !pyoracle::python_with(&["bson", "mongomock"]) {
            return Ok(());
        }
        let filters: Vec<String> = filters.iter().map(Value::to_string).collect();
        let theirs = mongomock(&docs, &filters);
        let mut selective = 0;
        for (filter, theirs) in filters.iter().zip(theirs) {
            let mine = ours(&docs, filter);
            selective += usize::from(!mine.is_empty() && mine.len() < docs.len());
            match theirs {
                Ok(ids) if ids == mine => {}
                Ok(ids) => {
                    let differ: Vec<String> = docs
                        .iter()
                        .filter(|d| {
                            let id = i64::from(bson::RawDocument::from_bytes(d).unwrap().get_i32("_id").unwrap());
                            mine.contains(&id) != ids.contains(&id)
                        })
                        .map(|d| extjson::to_string(d, ExtJsonOptions::new().relaxed(true)).unwrap())
                        .collect();
                    prop_assert!(false, "{}:\n  ours      {:?}\n  mongomock {:?}\n  documents where we differ:\n  {}", filter, mine, ids, differ.join("\n  "));
                }
                Err(e) => prop_assert!(false, "mongomock refuses {}: {}", filter, e),
            }
        }
        eprintln!("{} filters, {selective} selecting some documents but not all", filters.len());
    }
}
