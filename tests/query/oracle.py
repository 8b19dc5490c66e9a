#!/usr/bin/env python3
"""mongomock (and pymongo's bson) as the oracles of tests/query.rs.

  oracle.py find DOCS.bson FILTERS.jsonl
      inserts the documents of DOCS.bson (concatenated BSON) into a mongomock collection, then
      prints, for each filter of FILTERS.jsonl (one Extended JSON object a line), one JSON line:
      {"ids": [the sorted _ids of the documents find() selects]} or {"error": "..."} when
      mongomock refuses the filter.

  oracle.py numbers
      prints numbers of every BSON type, as canonical Extended JSON {"v": ...} documents, one
      a line, then a line {"order": [[...], ...]} with the exact order of every pair (-1, 0, 1),
      computed with fractions.Fraction: NaN (double or decimal) equals NaN and is below all
      else, -0 equals 0, infinities of either type are equal. This is MongoDB's numeric order
      (src/mongo/base/compare_numbers.h), which mongomock does not implement for decimals.
"""
import json
import math
import random
import struct
import sys
from fractions import Fraction

import bson
from bson import json_util
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.json_util import JSONOptions, CANONICAL_JSON_OPTIONS


def find(docs_path, filters_path):
    import mongomock

    with open(docs_path, "rb") as f:
        docs = bson.decode_all(f.read(), CodecOptions(tz_aware=False))
    collection = mongomock.MongoClient().db.c
    if docs:
        collection.insert_many(docs)
    options = JSONOptions(tz_aware=False)
    with open(filters_path) as f:
        for line in f:
            flt = json_util.loads(line, json_options=options)
            try:
                ids = sorted(d["_id"] for d in collection.find(flt))
                print(json.dumps({"ids": ids}))
            except Exception as e:  # mongomock's refusals and its NotImplementedErrors
                print(json.dumps({"error": f"{type(e).__name__}: {e}"}))


def numbers():
    rng = random.Random(7)
    values = [0, 1, -1, 2**31 - 1, -(2**31), Int64(2**63 - 1), Int64(-(2**63)), Int64(2**53 + 1),
              Int64(2**53), 0.0, -0.0, 0.1, -0.1, 0.5, 1.0, 2.0**53, 2.0**63, -(2.0**63), 1e308,
              5e-324, -5e-324, math.inf, -math.inf, math.nan, 9007199254740993.0]
    for s in ["0", "-0", "0E+100", "0.1", "-0.1", "0.5", "1", "1.000", "9007199254740993",
              "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "1.7976931348623157E+308", "1.7976931348623158E+308", "4.9406564584124654E-324",
              "5E-324", "1E-400", "-1E-400", "1E+400", "9.999999999999999999999999999999999E+6144",
              "1E-6176", "NaN", "Infinity", "-Infinity", "0.1000000000000000055511151231257827",
              "0.1000000000000000055511151231257828"]:
        values.append(Decimal128(s))
    for _ in range(60):
        values.append(struct.unpack("<d", rng.randbytes(8))[0])
        values.append(Decimal128(f"{rng.randint(-10**34 + 1, 10**34 - 1)}E{rng.randint(-400, 400)}"))
        values.append(Int64(rng.randint(-(2**63), 2**63 - 1)))
        f = rng.uniform(-1e6, 1e6)
        values.append(f)
        values.append(Decimal128(repr(f)))  # the decimal that prints like the double
    for v in values:
        print(json_util.dumps({"v": v}, json_options=CANONICAL_JSON_OPTIONS))

    def key(v):
        if isinstance(v, Decimal128):
            d = v.to_decimal()
            if d.is_nan():
                return (0, 0)
            if d.is_infinite():
                return (1, 0) if d < 0 else (3, 0)
            return (2, Fraction(d))
        if isinstance(v, float):
            if math.isnan(v):
                return (0, 0)
            if math.isinf(v):
                return (1, 0) if v < 0 else (3, 0)
            return (2, Fraction(v))
        return (2, Fraction(int(v)))

    keys = [key(v) for v in values]
    order = [[(a > b) - (a < b) for b in keys] for a in keys]
    print(json.dumps({"order": order}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["find"] and len(sys.argv) == 4:
        find(sys.argv[2], sys.argv[3])
    elif sys.argv[1:] == ["numbers"]:
        numbers()
    else:
        raise SystemExit(__doc__)
