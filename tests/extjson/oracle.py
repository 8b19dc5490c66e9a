#!/usr/bin/env python3
"""pymongo as the oracle of tests/extjson.rs: BSON documents and what bson.json_util makes of them.

  oracle.py cases     prints one JSON line per case:
      {"kind": "valid", "name", "bson": HEX, "canonical": JSON, "relaxed": JSON}
          a document encoded by pymongo (or by hand, for layouts pymongo does not write), and
          json_util.dumps of what pymongo decodes from it, with CANONICAL_JSON_OPTIONS and
          RELAXED_JSON_OPTIONS;
      {"kind": "decode_error", "name", "bson": HEX}
          bytes that pymongo refuses to decode (checked here: a case pymongo reads is an error
          of this script);
      {"kind": "exact", "name", "bson": HEX, "compact": TEXT, "pretty": TEXT, "relaxed": TEXT}
          documents of bsondump's sample kind (ObjectId, doubles, strings, timestamps, binary),
          whose Extended JSON must match byte for byte: compact is json_util.dumps with
          separators (",", ":") as bsondump prints, pretty is indented with a tab as
          bsondump --pretty.

The cases cover every class of MongoDB's BSON corpus (bson-corpus in mongodb/specifications):
each type's valid values and edge values, and each kind of damage of its decodeErrors, written
here from the spec's descriptions, plus random doubles, decimals, strings and documents from a
fixed seed. pymongo cannot stand for three deprecated types (it reads a symbol as a string,
undefined as None, a DBPointer as a DBRef): tests/extjson.rs checks those against the spec's
forms itself.
"""
import json
import math
import random
import struct
import sys

import bson
from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

DECODE = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
CANONICAL = CANONICAL_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)
RELAXED = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_AUTO)

rng = random.Random(20240611)
out = sys.stdout


def emit(obj):
    out.write(json.dumps(obj) + "\n")


def valid_bytes(name, data):
    doc = bson.decode(data, DECODE)
    emit(
        {
            "kind": "valid",
            "name": name,
            "bson": data.hex(),
            "canonical": json_util.dumps(doc, json_options=CANONICAL),
            "relaxed": json_util.dumps(doc, json_options=RELAXED),
        }
    )


def valid(name, doc):
    valid_bytes(name, bson.encode(doc))


def decode_error(name, data):
    try:
        bson.decode(data, DECODE)
    except Exception:
        emit({"kind": "decode_error", "name": name, "bson": data.hex()})
        return
    raise SystemExit(f"oracle.py: pymongo reads the decode_error case {name!r}")


# ---------------------------------------------------------------------------- raw building


def cstring(s):
    return s.encode() + b"\0" if isinstance(s, str) else s + b"\0"


def string(s, length=None):
    body = s.encode() if isinstance(s, str) else s
    n = len(body) + 1 if length is None else length
    return struct.pack("<i", n) + body + b"\0"


def element(kind, key, payload):
    return bytes([kind]) + cstring(key) + payload


def document(*elements, length=None, tail=b"\0"):
    body = b"".join(elements)
    n = 4 + len(body) + len(tail) if length is None else length
    return struct.pack("<i", n) + body + tail


def array(*values, kind=0x10):
    return document(*(element(kind, str(i), v) for i, v in enumerate(values)))


def i32(n):
    return struct.pack("<i", n)


# ---------------------------------------------------------------------------- valid cases


def valid_cases():
    # array
    valid("array: empty", {"a": []})
    valid("array: one element", {"a": [10]})
    valid("array: nested, mixed", {"a": [1, [2, [3, []]], {"b": [4.5]}, "x", None]})
    valid_bytes("array: index keys '' ", document(element(0x04, "a", document(element(0x10, "", i32(10))))))
    valid_bytes("array: index keys 'ab'", document(element(0x04, "a", document(element(0x10, "ab", i32(10))))))
    valid_bytes(
        "array: duplicate index keys",
        document(element(0x04, "a", document(element(0x10, "0", i32(10)), element(0x10, "0", i32(20))))),
    )
    # binary
    for subtype, data in [
        (0, b""),
        (0, b"\xff"),
        (0, bytes(range(256))),
        (1, b"\xff"),
        (2, b"\xff\x00\x10"),
        (3, bytes(range(16))),
        (4, bytes(range(16))),
        (5, bytes(range(16))),
        (6, b"secret"),
        (7, b"\x01\x02\x03"),
        (8, b"sensitive"),
        (0x80, b"\x01\x02\x03\x04\x05"),
        (0xFF, b"\x00"),
    ]:
        valid(f"binary: subtype {subtype:#04x}, {len(data)} bytes", {"x": Binary(data, subtype)})
    valid("binary: 100 000 bytes (base64 in several chunks)", {"x": Binary(rng.randbytes(100_000), 0)})
    # boolean
    valid("boolean: true", {"b": True})
    valid("boolean: false", {"b": False})
    # code, code with scope
    for s in ["", "b", "abababababab", "\u00e9" * 6, "\u2606" * 4, "ab\0bab\0babab"]:
        valid(f"code: {s!r}", {"a": Code(s)})
        valid(f"code with scope: {s!r}, empty scope", {"a": Code(s, {})})
        valid(f"code with scope: {s!r}, a scope", {"a": Code(s, {"x": 1, "y": {"z": [Int64(2), 1.5]}})})
    # datetime
    for ms in [0, 1356351330501, -284643869501, 253402300799999, 253402300800000, 2**63 - 1, -(2**63), -1, 1]:
        valid(f"datetime: {ms}", {"a": DatetimeMS(ms)})
    # DBRef: documents that pymongo reads as DBRef (written in its field order) and lookalikes
    oid = ObjectId("58921b3e6e32ab156a22b59e")
    valid("dbref", {"dbref": DBRef("collection", oid)})
    valid("dbref: $db", {"dbref": DBRef("collection", oid, "db")})
    valid("dbref: extra fields", {"dbref": DBRef("collection", 42, "db", foo="bar", **{"a.b": 1, "$c": 1})})
    valid("dbref lookalike: $ref not a string", {"dbref": {"$ref": 1, "$id": oid}})
    valid("dbref lookalike: $db not a string", {"dbref": {"$ref": "collection", "$id": oid, "$db": 1}})
    # decimal128: written forms, then every class of bit pattern
    for s in [
        "0", "-0", "0E+3", "0E-6176", "-0E+6111", "1", "-1", "0.1", "0.001234", "1E+3", "1.000",
        "-1.00E-8", "123456789012345678901234567890123", "1234567890123456789012345678901234",
        "9.999999999999999999999999999999999E+6144", "1E-6176", "-1E-6176", "1E+6144",
        "0.000001", "0.0000001", "1E-7", "12345678901234567E-20", "NaN", "Infinity",
        "-Infinity", "5192296858534827628530496329220095E+6111", "1.5", "-7.50", "100E-2",
    ]:
        valid(f"decimal128: {s}", {"d": Decimal128(s)})
    for n in range(400):
        bits = rng.getrandbits(128)
        if n % 4 == 0:  # exponents near the middle, small coefficients: plain notation
            bits = (bits & ~(0x3FFF << 113)) | ((6176 + rng.randint(-40, 10)) << 113)
            bits &= ~((1 << 113) - 1) | ((1 << rng.randint(1, 113)) - 1)
        if n % 7 == 0:  # the 11 combination form (non-canonical: zero), infinities, NaNs
            bits |= rng.choice([0b11 << 125, 0b11110 << 122, 0b11111 << 122, 0b111111 << 121])
        valid(f"decimal128: bits {bits:032x}", {"d": Decimal128.from_bid(bits.to_bytes(16, "little"))})
    # document
    valid("document: empty subdocument", {"x": {}})
    valid("document: keys '' and '$a' and 'a.b' and '.'", {"x": {"": "b", "$a": 1, "a.b": 2, ".": 3}})
    valid("document: nested", {"x": {"y": {"z": {"w": [1, {"v": None}]}}}})
    valid("document: 40 levels", nest(40))
    # double
    for f in [
        1.0, -1.0, 1.0001220703125, -1.0001220703125, 1.2345678921232e18, -1.2345678921232e18,
        0.0, -0.0, math.inf, -math.inf, math.nan, 0.1, 1e-5, 1e-4, 1e5, 1e6, 123456.0,
        1234567.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2**53, 1e21, 1e22,
    ]:
        valid(f"double: {f!r}", {"d": f})
    valid_bytes("double: NaN with payload", document(element(0x01, "d", bytes.fromhex("120000000000F87F"))))
    valid_bytes("double: negative NaN", document(element(0x01, "d", bytes.fromhex("000000000000F8FF"))))
    for _ in range(1500):
        f = struct.unpack("<d", rng.randbytes(8))[0]
        valid(f"double: bits {struct.pack('<d', f).hex()}", {"d": f})
    # int32, int64
    for n in [-(2**31), -1, 0, 1, 2**31 - 1]:
        valid(f"int32: {n}", {"i": n})
    for n in [-(2**63), -1, 0, 1, 2**63 - 1, 2**31, 1 << 53]:
        valid(f"int64: {n}", {"a": Int64(n)})
    # keys
    valid("minkey", {"a": MinKey()})
    valid("maxkey", {"a": MaxKey()})
    valid("null", {"a": None})
    # oid
    for h in ["000000000000000000000000", "ffffffffffffffffffffffff", "56e1fc72e0c917e9c4714161"]:
        valid(f"oid: {h}", {"a": ObjectId(h)})
    # regex (flags pymongo knows: i l m s u x)
    for pattern, flags in [("", ""), ("abc", ""), ("abc", "im"), ("abc", "imsx"), ("ab/cd", "i"),
                           ("a\\.b", ""), ("\u00e9\u2606", "u"), ('a"b\\\\c', "l"), ("^x$", "mx")]:
        valid(f"regex: /{pattern}/{flags}", {"a": Regex(pattern, flags)})
    valid_bytes(
        "regex: options not in order",
        document(element(0x0B, "a", cstring("abc") + cstring("mix"))),
    )
    # string
    for s in [
        "", "b", "abababababab", "\u00e9" * 6, "\u2606" * 4, "ab\0bab\0babab",
        "ab\\\"" + "".join(chr(c) for c in range(1, 32)) + "ab",
        "\u2028\u2029\u007f<>&'", "\U0001f600 emoji", "tab\there\r\n",
    ]:
        valid(f"string: {s!r}", {"a": s})
    for n in range(300):
        s = "".join(chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x7FF), rng.randint(0x800, 0xD7FF),
                                    rng.randint(0xE000, 0x10FFFF), 0x2028, 0x2029, 0xE2]))
                    for _ in range(rng.randint(0, 20)))
        valid(f"string: random {n}", {"a": s, "k" + s.replace("\0", ""): n})
    # timestamp
    for t, i in [(123456789, 42), (2**32 - 1, 2**32 - 1), (4000000000, 4000000000), (0, 0)]:
        valid(f"timestamp: ({t}, {i})", {"a": Timestamp(t, i)})
    # top-level keys
    valid("top: dollar-prefixed key", {"$key": 42})
    valid("top: key '$'", {"$": "a"})
    valid("top: dotted key", {"a.b": "c"})
    valid("top: key '.'", {".": "a"})
    valid("top: empty document", {})
    # all types at once
    valid(
        "all types",
        {
            "_id": ObjectId("57e193d7a9cc81b4027498b5"),
            "String": "string",
            "Int32": 42,
            "Int64": Int64(42),
            "Double": -1.0,
            "Binary": Binary(bytes.fromhex("a34c38f7c3abedc8a37814a992ab8db6"), 3),
            "BinaryUserDefined": Binary(b"\x01\x02\x03\x04\x05", 0x80),
            "Code": Code("function() {}"),
            "CodeWithScope": Code("function() {}", {}),
            "Subdocument": {"foo": "bar"},
            "Array": [1, 2, 3, 4, 5],
            "Timestamp": Timestamp(42, 1),
            "Regex": Regex("pattern", ""),
            "DatetimeEpoch": DatetimeMS(0),
            "DatetimePositive": DatetimeMS(2147483647),
            "DatetimeNegative": DatetimeMS(-2147483648),
            "True": True,
            "False": False,
            "DBRef": DBRef("collection", ObjectId("57fd71e96e32ab4225b723fb"), "database"),
            "Minkey": MinKey(),
            "Maxkey": MaxKey(),
            "Null": None,
            "Decimal": Decimal128("1.5E+10"),
        },
    )
    # large: JSON longer than the writer's 64 KiB buffer (the checked, streamed path)
    valid("large: 30 000 fields", {f"k{i}": [i, str(i) * 3, 1.5 * i] for i in range(30_000)})
    # random documents
    for n in range(300):
        valid(f"random document {n}", random_document(0))


def nest(levels):
    doc = {"leaf": 1}
    for i in range(levels):
        doc = {"o": doc} if i % 2 else {"a": [doc]}
    return doc


def random_value(depth):
    choices = [
        lambda: rng.randint(-(2**31), 2**31 - 1),
        lambda: Int64(rng.randint(-(2**63), 2**63 - 1)),
        lambda: rng.choice([0.5, -2.25, 1e100, -0.0, 3.0, rng.random() * 1e6]),
        lambda: "".join(chr(rng.randint(32, 0x24F)) for _ in range(rng.randint(0, 12))),
        lambda: rng.choice([True, False, None]),
        lambda: ObjectId(rng.randbytes(12)),
        lambda: DatetimeMS(rng.randint(-(10**13), 10**14)),
        lambda: Decimal128(f"{rng.randint(-(10**20), 10**20)}E{rng.randint(-30, 30)}"),
        lambda: Binary(rng.randbytes(rng.randint(0, 40)), rng.choice([0, 4, 5, 0x80])),
        lambda: Timestamp(rng.randint(0, 2**32 - 1), rng.randint(0, 2**32 - 1)),
        lambda: Regex("".join(rng.choice("ab.*^$\\/") for _ in range(5)), rng.choice(["", "i", "ms"])),
        lambda: rng.choice([MinKey(), MaxKey()]),
    ]
    if depth < 4 and rng.random() < 0.3:
        if rng.random() < 0.5:
            return [random_value(depth + 1) for _ in range(rng.randint(0, 4))]
        return random_document(depth + 1)
    return rng.choice(choices)()


def random_document(depth):
    return {f"f{i}": random_value(depth) for i in range(rng.randint(0, 8))}


# ---------------------------------------------------------------------------- decode errors


def decode_error_cases():
    one = i32(1)
    # arrays and subdocuments whose length does not add up
    inner = document(element(0x10, "0", one))
    for kind, what in [(0x04, "array"), (0x03, "subdocument")]:
        decode_error(f"{what}: length too long, eats outer terminator", document(element(kind, "a", struct.pack("<i", len(inner) + 1) + inner[4:])))
        decode_error(f"{what}: length too short, leaks terminator", document(element(kind, "a", struct.pack("<i", len(inner) - 1) + inner[4:])))
        decode_error(f"{what}: bad string length inside", document(element(kind, "a", document(element(0x02, "0", string("abc", 5))))))
    decode_error("subdocument: NUL in key", document(element(0x03, "x", document(element(0x02, "a", string("b"))).replace(b"a\0", b"\0a"))))
    # binary
    decode_error("binary: length longer than document", document(element(0x05, "x", i32(0x100) + b"\x00\xff")))
    decode_error("binary: negative length", document(element(0x05, "x", i32(-1) + b"\x00\xff")))
    decode_error("binary: subtype 2 inner length too long", document(element(0x05, "x", i32(7) + b"\x02" + i32(4) + b"\xff\x00\x10")))
    decode_error("binary: subtype 2 inner length too short", document(element(0x05, "x", i32(7) + b"\x02" + i32(2) + b"\xff\x00\x10")))
    decode_error("binary: subtype 2 inner length -1", document(element(0x05, "x", i32(7) + b"\x02" + i32(-1) + b"\xff\x00\x10")))
    # boolean
    decode_error("boolean: 2", document(element(0x08, "b", b"\x02")))
    decode_error("boolean: 0xff", document(element(0x08, "b", b"\xff")))
    # strings, code and symbols
    for kind, what in [(0x02, "string"), (0x0D, "code"), (0x0E, "symbol")]:
        decode_error(f"{what}: length 0", document(element(kind, "a", i32(0) + b"a")))
        decode_error(f"{what}: length -1", document(element(kind, "a", i32(-1) + b"a\0")))
        decode_error(f"{what}: length eats the terminator", document(element(kind, "a", i32(3) + b"b\0")))
        decode_error(f"{what}: length past the document", document(element(kind, "a", i32(0x01000000) + b"a\0")))
        decode_error(f"{what}: not NUL-terminated", document(element(kind, "a", i32(2) + b"bc")))
        decode_error(f"{what}: empty, then an extra NUL", document(element(kind, "a", i32(1) + b"\0\0")))
        decode_error(f"{what}: invalid UTF-8", document(element(kind, "a", string(b"\xe9\xe9\xe9"))))
        decode_error(f"{what}: a lone surrogate (CESU)", document(element(kind, "a", string(b"\xed\xa0\x80"))))
    # code with scope
    scope = document(element(0x10, "x", one))
    code = string("abcd")

    def cws(total=None, code_part=code, scope_part=scope):
        body = code_part + scope_part
        n = 4 + len(body) if total is None else total
        return document(element(0x0F, "a", i32(n) + body))

    decode_error("code with scope: length 0", cws(total=0))
    decode_error("code with scope: negative length", cws(total=-1))
    decode_error("code with scope: length below the minimum", cws(total=12))
    decode_error("code with scope: length truncates the scope", cws(total=4 + len(code) + len(scope) - 1))
    decode_error("code with scope: length clips the outer document", cws(total=4 + len(code) + len(scope) + 1))
    decode_error("code with scope: length past the outer document", cws(total=0xFF))
    decode_error("code with scope: code length too short", cws(code_part=i32(3) + b"abcd\0"))
    decode_error("code with scope: code length clips the scope", cws(code_part=i32(7) + b"abcd\0"))
    decode_error("code with scope: code length negative", cws(code_part=i32(-1) + b"abcd\0"))
    decode_error("code with scope: code length past the field", cws(code_part=i32(0xFF) + b"abcd\0"))
    decode_error("code with scope: bad string in the scope", cws(scope_part=document(element(0x02, "x", i32(0) + b"\0"))))
    decode_error("code with scope: code not UTF-8", cws(code_part=string(b"\xff")))
    # fixed-size values cut short: the document's length says so, the value is short
    for kind, size, what in [(0x01, 8, "double"), (0x09, 8, "datetime"), (0x10, 4, "int32"), (0x12, 8, "int64"),
                             (0x07, 12, "oid"), (0x11, 8, "timestamp"), (0x13, 16, "decimal128")]:
        decode_error(f"{what}: truncated", document(element(kind, "a", b"\x01" * (size - 3))))
    # DBPointer
    oid = bytes.fromhex("56e1fc72e0c917e9c4714161")
    decode_error("dbpointer: negative string length", document(element(0x0C, "a", i32(-1) + b"b\0" + oid)))
    decode_error("dbpointer: zero string length", document(element(0x0C, "a", i32(0) + b"b\0" + oid)))
    decode_error("dbpointer: string not NUL-terminated", document(element(0x0C, "a", i32(2) + b"bc" + oid)))
    decode_error("dbpointer: short OID", document(element(0x0C, "a", string("b") + oid[:5])))
    decode_error("dbpointer: truncated OID", document(element(0x0C, "a", string("b") + oid[:11])))
    decode_error("dbpointer: string not UTF-8", document(element(0x0C, "a", string(b"\xe9") + oid)))
    # regular expressions
    decode_error("regex: NUL in the pattern", document(element(0x0B, "a", b"ab\0cd\0m\0")))
    decode_error("regex: NUL in the options", document(element(0x0B, "a", b"abc\0i\0m\0")))
    decode_error("regex: pattern not UTF-8", document(element(0x0B, "a", b"\xff\0\0")))
    # the envelope
    decode_error("top: size 1, a well-formed empty document", b"\x01\0\0\0\0")
    decode_error("top: size 4, a well-formed empty document", b"\x04\0\0\0\0")
    decode_error("top: shorter than its size (no terminator)", b"\x05\0\0\0")
    for eoo in [0x01, 0xFF, 0x70]:
        decode_error(f"top: terminator {eoo:#04x}", b"\x05\0\0\0" + bytes([eoo]))
    good = document(element(0x02, "a", string("b")))
    decode_error("top: size 0", b"\0\0\0\0" + good[4:])
    decode_error("top: size past the bytes, truncated", good[:-2])
    decode_error("top: garbage after the document", good + b"\x01\x02\x03\x04")
    decode_error("top: size one more than the bytes", struct.pack("<i", len(good) + 1) + good[4:])
    decode_error("top: size one less than the bytes", struct.pack("<i", len(good) - 1) + good[4:])
    decode_error("top: type 0x00 with a value", document(b"\x00a\0" + one))
    decode_error("top: type 0x80", document(element(0x80, "a", one)))
    decode_error("top: type 0x14", document(element(0x14, "a", one)))
    decode_error("top: truncated in a key", good[:7])
    decode_error("top: NUL in a key", document(b"\x02a\0b\0" + string("c")))
    decode_error("top: key not UTF-8", document(element(0x10, b"\xff\xfe", one)))
    decode_error("top: empty input", b"")


# ---------------------------------------------------------------------------- exact cases


def exact_cases():
    docs = [
        {"_id": ObjectId("5f1d7e0b9c3a4b2d1e0f1a2b"), "a": 1.0, "b": "I am a string",
         "c": Timestamp(1415991783, 1), "d": Binary(b"TEST T3ST", 0)},
        {"_id": ObjectId("5f1d7e0b9c3a4b2d1e0f1a2c"), "a": 2.5, "b": "string2"},
        {"_id": ObjectId("5f1d7e0b9c3a4b2d1e0f1a2d"), "a": 4.01, "b": "string3", "c": {"key": "value"},
         "e": [], "f": {}, "g": [1.0, -0.0, {"h": None, "i": True}]},
        {"n": 3.0, "m": -12.5, "s": "a \"quoted\" \\ string\twith\ncontrols", "when": DatetimeMS(1415991783000)},
    ]
    for n, doc in enumerate(docs):
        emit(
            {
                "kind": "exact",
                "name": f"sample-like document {n}",
                "bson": bson.encode(doc).hex(),
                "compact": json_util.dumps(doc, json_options=CANONICAL, separators=(",", ":")),
                "pretty": json_util.dumps(doc, json_options=CANONICAL, indent="\t"),
                "relaxed": json_util.dumps(doc, json_options=RELAXED, separators=(",", ":")),
            }
        )


if __name__ == "__main__":
    if sys.argv[1:] != ["cases"]:
        raise SystemExit(__doc__)
    valid_cases()
    decode_error_cases()
    exact_cases()
