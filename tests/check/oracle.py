#!/usr/bin/env python3
"""pymongo as the oracle of tests/check.rs.

  oracle.py gen DIR        writes a mongodump tree of awkward BSON under DIR (every element
                           type, deprecated ones hand-encoded, binary subtypes, decimal128,
                           deep nesting, code with scope, regexes, 16 MiB + 16 KiB documents)
  oracle.py read FILE...   prints one JSON line per file: what bson.decode_file_iter reads
                           ({"file", "documents", "bytes", "error"}) for a .bson file, and
                           whether bson.json_util.loads reads a .metadata.json file

Datetimes out of Python's range are decoded leniently (DATETIME_AUTO): they are content, not
framing. Strings, names and regexes that are not UTF-8 are refused (pymongo's strict default),
as MongoDB's BSON corpus requires of every driver.
"""
import json
import os
import struct
import sys

import bson
from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

try:
    from bson.codec_options import DatetimeConversion

    OPTIONS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
except ImportError:  # pymongo < 4.3
    OPTIONS = CodecOptions()

MAX = 16 * 1024 * 1024 + 16 * 1024


def read_bson(path):
    documents = 0
    good = 0
    error = None
    with open(path, "rb") as f:
        try:
            for _ in bson.decode_file_iter(f, OPTIONS):
                documents += 1
                good = f.tell()
        except Exception as e:  # InvalidBSON, and whatever else pymongo raises on damage
            error = f"{type(e).__name__}: {e}"
    return {"file": path, "documents": documents, "bytes": good, "error": error}


def read_metadata(path):
    error = None
    try:
        with open(path, "rb") as f:
            json_util.loads(f.read())
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    return {"file": path, "documents": 0, "bytes": 0, "error": error}


def element(kind, name, value):
    return bytes([kind]) + name.encode() + b"\0" + value


def raw_doc(body):
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def bstring(s):
    b = s.encode() + b"\0"
    return struct.pack("<i", len(b)) + b


def metadata(name, indexes=1):
    specs = [{"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"}]
    specs += [
        {"v": {"$numberInt": "2"}, "key": {f"f{i}": {"$numberInt": "1"}}, "name": f"f{i}_1"}
        for i in range(1, indexes)
    ]
    return json.dumps(
        {"options": {}, "indexes": specs, "uuid": os.urandom(16).hex(), "collectionName": name, "type": "collection"}
    )


def write(dir, name, docs, indexes=1):
    with open(os.path.join(dir, name + ".bson"), "wb") as f:
        for d in docs:
            f.write(d if isinstance(d, bytes) else bson.encode(d))
    with open(os.path.join(dir, name + ".metadata.json"), "w") as f:
        f.write(metadata(name, indexes))


def nested(depth, leaf):
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"d": value}
    return value


def gen(root):
    db = os.path.join(root, "dump", "awkward")
    os.makedirs(db, exist_ok=True)
    oid = ObjectId(b"0123456789ab")
    types = []
    for i in range(50):
        types.append({
            "_id": i, "double": 1.5 * i, "string": "héllo" * i, "doc": {"a": {"b": [i, str(i)]}},
            "array": list(range(i)), "binary": Binary(b"\x00" * i, 0), "oid": oid, "bool": i % 2 == 0,
            "date": bson.datetime.datetime(2024, 1, 1), "null": None, "regex": Regex("^a.*b$", "imsx"),
            "code": Code("function(){return %d}" % i),
            "scope": Code("function(){return x}", {"x": i, "nested": {"y": [1, 2]}}),
            "int32": i, "ts": Timestamp(1700000000, i), "int64": Int64(1 << 40), "dec": Decimal128("1.%dE+10" % i),
            "min": MinKey(), "max": MaxKey(),
        })
    write(db, "types", types, indexes=3)
    write(db, "binary", [{"_id": st, "b": Binary(os.urandom(st % 40), st)} for st in
                         [0, 1, 3, 5, 6, 7, 8, 9, 0x80, 0xFE, 0xFF]]
          + [{"_id": "uuid", "u": Binary(os.urandom(16), 4)}, {"_id": "old", "o": Binary(b"old bytes", 2)}])
    write(db, "decimal", [{"_id": s, "d": Decimal128(s)} for s in
                          ["0", "-0", "NaN", "-NaN", "Infinity", "-Infinity", "9.999999999999999999999999999999999E+6144",
                           "1E-6176", "12345678901234567890123456789012E-5"]])
    write(db, "nesting", [{"_id": d, "n": nested(d, "leaf")} for d in (1, 2, 50, 150, 180)])
    # The deprecated types pymongo decodes but does not write: undefined, DBPointer, symbol.
    deprecated = [
        raw_doc(element(0x06, "undefined", b"")),
        raw_doc(element(0x0C, "dbpointer", bstring("db.coll") + b"0123456789ab")),
        raw_doc(element(0x0E, "symbol", bstring("sym")) + element(0x0D, "code", bstring("f()"))),
        raw_doc(element(0x02, "empty", bstring("")) + element(0x02, "nul inside", bstring("a\0b"))),
        raw_doc(b""),
        raw_doc(element(0x09, "far future", struct.pack("<q", 2**62))),
    ]
    write(db, "deprecated", deprecated)
    # Documents of exactly the largest size (one binary each) and a few around 64 KiB chunks.
    def sized(size, i):
        n = size - 20  # length, int32 "i", binary "b" header, NUL
        return bson.encode({"i": i, "b": Binary(os.urandom(16) + b"\x07" * (n - 16), 0)})
    big = [sized(MAX, 0), sized(65536, 1), sized(65535, 2), sized(65537, 3), sized(MAX, 4)]
    assert all(len(b) == s for b, s in zip(big, [MAX, 65536, 65535, 65537, MAX]))
    write(db, "maxsize", big)
    write(db, "empty", [])
    # A name mongodump escapes, and a database with a dot.
    other = os.path.join(root, "dump", "app.v2")
    os.makedirs(other, exist_ok=True)
    with open(os.path.join(other, "a%2Fb%24c.bson"), "wb") as f:
        f.write(bson.encode({"_id": 1}))
    with open(os.path.join(other, "a%2Fb%24c.metadata.json"), "w") as f:
        f.write(metadata("a/b$c"))


def main():
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif sys.argv[1] == "read":
        for path in sys.argv[2:]:
            result = read_bson(path) if path.endswith(".bson") else read_metadata(path)
            print(json.dumps(result))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
