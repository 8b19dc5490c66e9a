#!/usr/bin/env python3
"""The classes of MongoDB's BSON corpus (mongodb/specifications, bson-corpus), made here with
pymongo, with pymongo as the judge of each case.

  corpus.py OUT.tar.gz CASES.json

writes a mongodump-shaped archive with one collection per case (`dump/corpus/cNNNN.bson` and
its metadata) and CASES.json, {"cNNNN": {"valid": bool, "what": "..."}}: `valid` is whether
pymongo's strict decoder (`bson.decode_all`) reads the file. Valid cases are every BSON type
with the corpus's edge values, encoded by pymongo (deprecated types by hand); the damaged ones
are one per `decodeErrors` class of the corpus (lengths that eat or leak a terminator, negative
and zero lengths, strings without their NUL, text that is not UTF-8, truncated fixed-size
values, NUL bytes in names, bad booleans, bad old-binary lengths, code with scope whose parts
do not add up, unknown types), each built from a valid document by the change the class names.
A case made damaged that pymongo still reads (or valid that it refuses) fails the script: the
cases are pymongo's, not ours.
"""
import datetime
import io
import json
import struct
import sys
import tarfile

import bson
from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp


def i32(n):
    return struct.pack("<i", n)


def cstring(s):
    return s + b"\x00"


def string(s, length=None):
    body = s + b"\x00"
    return i32(len(body) if length is None else length) + body


def element(kind, name, value):
    return bytes([kind]) + cstring(name) + value


def doc(*elements, length=None):
    body = b"".join(elements) + b"\x00"
    return i32(len(body) + 4 if length is None else length) + body


def valid_cases():
    """Every type, with the edge values the corpus's `valid` cases hold."""
    values = [
        0.0, -0.0, 1.0, -1.0, 1.0001220703125, 1.2345678921232e18, float("inf"),
        float("-inf"), float("nan"), 5e-324, 1.7976931348623157e308,
        "", "a", "héllo wörld", "\u20ac", "\U0001f600" * 3, "x" * 1000, "a\x00b",
        {}, {"a": {"b": {"c": 1}}}, {"": 1}, {"$a": 1, ".": 2},
        [], [1, "two", [3.0]], [None] * 3,
        Binary(b""), Binary(b"\x00\x01\x02", 0), Binary(b"1234", 2), Binary(b"x" * 16, 3),
        Binary(b"x" * 16, 4), Binary(b"x" * 16, 5), Binary(b"\x01", 0x80),
        ObjectId("000000000000000000000000"), ObjectId("56e1fc72e0c917e9c4714161"),
        True, False,
        datetime.datetime(1970, 1, 1), datetime.datetime(2012, 12, 24, 12, 15, 30, 501000),
        datetime.datetime(1960, 12, 24), datetime.datetime(9999, 12, 31, 23, 59, 59),
        None,
        Regex("", ""), Regex("abc", ""), Regex("abc", "im"), Regex("ab/cd", "ilmsux"),
        Regex("\u00e9", "i"),
        DBRef("coll", ObjectId("56e1fc72e0c917e9c4714161")),
        DBRef("coll", 1, "db", extra=2),
        Code(""), Code("function() {}"), Code("\u00e9\u00e9"), Code("x", {}),
        Code("function(x) { return x; }", {"x": 1}),
        0, -1, 1, 2147483647, -2147483648,
        Timestamp(0, 0), Timestamp(123456789, 42), Timestamp(4294967295, 4294967295),
        Int64(0), Int64(-1), Int64(9223372036854775807), Int64(-9223372036854775808),
        Decimal128("0"), Decimal128("-0"), Decimal128("1.5E+3"), Decimal128("NaN"),
        Decimal128("Infinity"), Decimal128("-Infinity"), Decimal128("9.999999999999999999999999999999999E+6144"),
        Decimal128("1E-6176"),
        MinKey(), MaxKey(),
    ]
    cases = [("every value of " + type(v).__name__, bson.encode({"a": v})) for v in values]
    cases.append(("all values in one document", bson.encode({str(i): v for i, v in enumerate(values)})))
    # Deprecated types pymongo reads but does not write: undefined, symbol, DBPointer.
    cases.append(("undefined", doc(element(0x06, b"a", b""))))
    cases.append(("symbol", doc(element(0x0E, b"a", string(b"sym")))))
    cases.append(("symbol, not ASCII", doc(element(0x0E, b"a", string("\u00e9".encode())))))
    cases.append(("DBPointer", doc(element(0x0C, b"a", string(b"b") + bytes.fromhex("56e1fc72e0c917e9c4714161")))))
    cases.append(("empty document", doc()))
    return cases


def damaged_cases():
    """One per `decodeErrors` class of the corpus, by its description."""
    oid = bytes.fromhex("56e1fc72e0c917e9c4714161")
    arr = doc(element(0x10, b"0", i32(10)))
    sub = doc(element(0x02, b"b", string(b"c")))
    scope = doc(element(0x10, b"x", i32(1)))

    def code_w_scope(total=None, code_len=None, code=b"abcd", scope_doc=scope):
        body = string(code, code_len) + scope_doc
        return i32(len(body) + 4 if total is None else total) + body

    cases = [
        ("array length too long: eats outer terminator", doc(element(0x04, b"a", i32(len(arr) + 1) + arr[4:]))),
        ("array length too short: leaks terminator", doc(element(0x04, b"a", i32(len(arr) - 1) + arr[4:]))),
        ("array: bad string length in a field", doc(element(0x04, b"a", doc(element(0x02, b"0", string(b"x", 9)))))),
        ("binary length longer than the document", doc(element(0x05, b"x", i32(50) + b"\x00" + b"ab"))),
        ("binary negative length", doc(element(0x05, b"x", i32(-1) + b"\x00" + b"ab"))),
        ("binary subtype 2 inner length too long", doc(element(0x05, b"x", i32(6) + b"\x02" + i32(3) + b"ab"))),
        ("binary subtype 2 inner length too short", doc(element(0x05, b"x", i32(6) + b"\x02" + i32(1) + b"ab"))),
        ("binary subtype 2 inner length -1", doc(element(0x05, b"x", i32(6) + b"\x02" + i32(-1) + b"ab"))),
        ("boolean of value 2", doc(element(0x08, b"b", b"\x02"))),
        ("boolean of value -1", doc(element(0x08, b"b", b"\xff"))),
        ("datetime truncated", doc(element(0x09, b"a", b"\x00" * 7), length=None)),
        ("double truncated", doc(element(0x01, b"d", b"\x00" * 7))),
        ("int32 truncated", doc(element(0x10, b"i", b"\x00" * 3))),
        ("int64 truncated", doc(element(0x12, b"i", b"\x00" * 7))),
        ("ObjectId truncated", doc(element(0x07, b"o", oid[:11]))),
        ("timestamp truncated", doc(element(0x11, b"t", b"\x00" * 7))),
        ("subdocument length too long: eats outer terminator", doc(element(0x03, b"x", i32(len(sub) + 1) + sub[4:]))),
        ("subdocument length too short: leaks terminator", doc(element(0x03, b"x", i32(len(sub) - 1) + sub[4:]))),
        ("subdocument: bad string length in a field", doc(element(0x03, b"x", doc(element(0x02, b"b", string(b"c", 5)))))),
        ("NUL byte in a subdocument key", doc(element(0x03, b"x", doc(element(0x02, b"a\x00b", string(b"c")))))),
        ("NUL byte in a document key", doc(element(0x02, b"a\x00b", string(b"c")))),
        ("regex pattern with a NUL byte", doc(element(0x0B, b"r", b"ab\x00cd\x00i\x00"))),
        ("regex options with a NUL byte", doc(element(0x0B, b"r", b"ab\x00i\x00m\x00"))),
        ("DBPointer string of negative length", doc(element(0x0C, b"p", i32(-1) + b"b\x00" + oid))),
        ("DBPointer string of length 0", doc(element(0x0C, b"p", i32(0) + b"b\x00" + oid))),
        ("DBPointer string without its NUL", doc(element(0x0C, b"p", i32(2) + b"bc" + oid))),
        ("DBPointer with a short ObjectId", doc(element(0x0C, b"p", string(b"b") + oid[:4]))),
        ("DBPointer with a truncated ObjectId", doc(element(0x0C, b"p", string(b"b") + oid[:11]))),
        ("DBPointer string not UTF-8", doc(element(0x0C, b"p", string(b"\xe9") + oid))),
        ("code with scope of length 0", doc(element(0x0F, b"c", code_w_scope(total=0)))),
        ("code with scope of negative length", doc(element(0x0F, b"c", code_w_scope(total=-1)))),
        ("code with scope shorter than the minimum", doc(element(0x0F, b"c", code_w_scope(total=13)))),
        ("code with scope length truncating the scope", doc(element(0x0F, b"c", code_w_scope(total=len(code_w_scope()) - 1)))),
        ("code with scope length clipping the outer document", doc(element(0x0F, b"c", code_w_scope(total=len(code_w_scope()) + 1)))),
        ("code with scope length longer than the outer document", doc(element(0x0F, b"c", code_w_scope(total=1000)))),
        ("code with scope: code length too short", doc(element(0x0F, b"c", code_w_scope(code_len=4)))),
        ("code with scope: code length clipping the scope", doc(element(0x0F, b"c", code_w_scope(code_len=6)))),
        ("code with scope: code of negative length", doc(element(0x0F, b"c", code_w_scope(code_len=-1)))),
        ("code with scope: code longer than the field", doc(element(0x0F, b"c", code_w_scope(code_len=100)))),
        ("code with scope: bad string length in the scope", doc(element(0x0F, b"c", code_w_scope(scope_doc=doc(element(0x02, b"x", string(b"y", 7))))))),
        ("code with scope: code not UTF-8", doc(element(0x0F, b"c", code_w_scope(code=b"\xe9\xe9")))),
        ("top: size too small for a size", i32(1) + b"\x00"),
        ("top: size only enough for itself", i32(4) + b"\x00"),
        ("top: length shorter than the bytes (missing EOO)", i32(5) + b"\x00\x00\x00\x00"),
        ("top: EOO is 0x01", i32(5) + b"\x01"),
        ("top: EOO is 0xff", i32(5) + b"\xff"),
        ("top: EOO is 0x70", i32(5) + b"\x70"),
        ("top: byte count zero with bytes after it", i32(0) + b"\x00\x00\x00\x00"),
        ("top: stated length exceeds the bytes, truncated", i32(12) + b"\x10a\x00\x01"),
        ("top: stated length less than the bytes, garbage after", doc(element(0x10, b"a", i32(1))) + b"\x01\x02"),
        ("top: stated length exceeds the bytes, valid envelope", i32(6) + b"\x00"),
        ("top: stated length less than the bytes, valid envelope", i32(4) + b"\x00\x00\x00\x00\x00"),
        ("element type 0x14 (low range)", doc(element(0x14, b"a", b""))),
        ("element type 0xfe (high range)", doc(element(0xFE, b"a", b""))),
        ("document truncated mid-key", i32(20) + b"\x02abc"),
        ("key not UTF-8", doc(element(0x10, b"\xe9", i32(1)))),
    ]
    for kind, name in ((0x02, "string"), (0x0D, "code"), (0x0E, "symbol")):
        cases += [
            (f"{name} of length 0 (no NUL either)", doc(element(kind, b"a", i32(0) + b"\x00"))),
            (f"{name} of length -1", doc(element(kind, b"a", i32(-1) + b"b\x00"))),
            (f"{name} length eating the terminator", doc(element(kind, b"a", i32(3) + b"b\x00"))),
            (f"{name} length longer than the document", doc(element(kind, b"a", i32(100) + b"b\x00"))),
            (f"{name} without its NUL", doc(element(kind, b"a", i32(2) + b"bc"))),
            (f"empty {name} with an extra NUL", doc(element(kind, b"a", i32(1) + b"\x00\x00"))),
            (f"{name} not UTF-8", doc(element(kind, b"a", string(b"\xe9\xe9\xe9")))),
            (f"{name} with a lone continuation byte", doc(element(kind, b"a", string(b"ab\x80")))),
            (f"{name} with an overlong encoding", doc(element(kind, b"a", string(b"\xc0\xaf")))),
            (f"{name} with a surrogate", doc(element(kind, b"a", string(b"\xed\xa0\x80")))),
        ]
    return cases


def reads(data):
    """Whether pymongo's strict decoder reads `data` as a .bson file (whole documents)."""
    try:
        bson.decode_all(data)
        return True
    except Exception:  # InvalidBSON, and whatever else pymongo raises on damage
        return False


def main(out, cases_json):
    expected = {}
    with tarfile.open(out, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        all_cases = [(True, w, d) for w, d in valid_cases()] + [(False, w, d) for w, d in damaged_cases()]
        for i, (valid, what, data) in enumerate(all_cases):
            if reads(data) != valid:
                sys.exit(f"{what!r}: meant {'valid' if valid else 'damaged'}, pymongo disagrees: {data.hex()}")
            name = f"c{i:04d}"
            add(f"dump/corpus/{name}.bson", data)
            add(f"dump/corpus/{name}.metadata.json", json.dumps({"indexes": [], "collectionName": name}).encode())
            expected[name] = {"valid": valid, "what": what}
    with open(cases_json, "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
