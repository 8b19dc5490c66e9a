#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (python3 stdlib only).

Run once from anywhere: `python3 fuzz/make_corpus.py`. It is deterministic (fixed mtimes, gzip
mtime 0) and rewrites only the files it owns (named seed-*), so inputs added by hand or by
`cargo fuzz cmin` stay. The input layouts are documented in fuzz/src/checks.rs.
"""

import gzip
import io
import json
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "tests", "data")
MTIME = 1_700_000_000


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------- decrypt


def decrypt_input(flags, password, chunks, seek, salt, payload):
    assert len(password) < 256 and len(chunks) < 9 and len(salt) == 8
    return (
        bytes([flags, len(password)])
        + password
        + bytes([len(chunks)])
        + bytes(chunks)
        + struct.pack("<H", seek)
        + salt
        + payload
    )


def decrypt_corpus():
    chunk_sets = [[1], [7, 16, 0], [0xF0], [3, 250, 1, 0xF1]]
    n = 0
    cc = json.load(open(os.path.join(DATA, "createcipher-vectors.json")))
    for v in cc["vectors"]:
        ct = v.get("ciphertext_hex") or v.get("ciphertext_head_hex") or ""
        payload = bytes.fromhex(ct)[:512]
        password = bytes.fromhex(v.get("password_hex", ""))
        flags = 1 if "password_hex" in v else 0  # node, or detect
        write(
            "decrypt",
            "cc-" + v["name"],
            decrypt_input(flags, password, chunk_sets[n % 4], n * 7, bytes(8), payload),
        )
        n += 1
    ossl = json.load(open(os.path.join(DATA, "openssl-enc-vectors.json")))
    for v in ossl["vectors"]:
        file_hex = v.get("file_hex") or v.get("file_head_hex")
        payload = bytes.fromhex(file_hex)[:512]
        password = bytes.fromhex(v["password_hex"])
        cmd = v["openssl_command"]
        flags = 3 if "pbkdf2" in cmd else (1 if "nosalt" in cmd else 2)
        salt = bytes.fromhex(v["salt_hex"]) if v["salt_hex"] else bytes(8)
        write(
            "decrypt",
            "ossl-" + v["name"],
            decrypt_input(flags, password, chunk_sets[n % 4], 3, salt, payload),
        )
        # The same file with the format detected and gzip expected.
        write(
            "decrypt",
            "ossl-detect-gzip-" + v["name"],
            decrypt_input(0x10, password, [5], 0, salt, payload),
        )
        n += 1
    pw = b"Passw0rd"
    salt = bytes(range(1, 9))
    for cut in (0, 5, 8, 12, 15):
        hdr = (b"Salted__" + salt)[:cut]
        write("decrypt", f"cut-header-{cut}-md5", decrypt_input(2, pw, [1], 0, salt, hdr))
        write("decrypt", f"cut-header-{cut}-pbkdf2", decrypt_input(0x17, pw, [1], 0, salt, hdr))
    gz = gzip.compress(b"mongodump", mtime=0)
    write("decrypt", "gzip-plaintext", decrypt_input(0x11, pw, [2, 9], 4, salt, gz))
    write("decrypt", "short-gzip", decrypt_input(0x11, pw, [1], 0, salt, b"\x1f\x8b"))
    write("decrypt", "empty", b"")


# ---------------------------------------------------------------------------------- status


def status_corpus():
    with open(os.path.join(DATA, "sample-backup", "backup-status.txt"), "rb") as f:
        write("status", "sample", f.read())
    md5 = "eccdb928a3bab23f725f955b68ef66ff"
    strict = {"message": "Backup found", "arguments": {"name": "b.tar.gz", "md5": md5}}
    seeds = {
        "strict": json.dumps(strict, indent=4),
        "strict-compact": json.dumps(strict, separators=(",", ":")),
        "md5-only": '{"arguments": {"md5": "%s"}}' % md5.upper(),
        "sample-crlf": '{\r\n  "message": "Backup found"\r\n  "arguments": {\r\n'
        '    "name": "x"\r\n    "md5": "%s"\r\n  }\r\n}\r\n' % md5,
        "unicode-name": '{"arguments": {"name": "b\\u00e4ck\\ud83d\\ude00", "md5": "%s"}}' % md5,
        "duplicate-keys": '{"arguments": {"md5": "%s", "md5": "%s"}}' % ("0" * 32, md5),
        "nested-extra": '{"message": "m", "extra": [1, {"a": null}], '
        '"arguments": {"md5": "%s", "size": 12}}' % md5,
        "missing-md5": '{"message": "Backup not found", "arguments": {}}',
        "md5-31": '{"arguments": {"md5": "%s"}}' % md5[:31],
        "md5-nonhex": '{"arguments": {"md5": "%s"}}' % ("g" + md5[1:]),
        "md5-number": '{"arguments": {"md5": 12345}}',
        "message-number": '{"message": 1, "arguments": {"md5": "%s"}}' % md5,
        "name-null": '{"arguments": {"name": null, "md5": "%s"}}' % md5,
        "arguments-array": '{"arguments": ["%s"]}' % md5,
        "not-object": '["%s"]' % md5,
        "truncated": '{"message": "Backup found", "arguments": {"md5": "%s"' % md5,
        "trailing-garbage": '{"arguments": {"md5": "%s"}} x' % md5,
        "missing-comma-after-object": '{\n"arguments": {"md5": "%s"}\n"message": "m"\n}' % md5,
        "comma-inside-string": '{\n"message": "a\n"\n"arguments": {"md5": "%s"}}' % md5,
        "empty": "",
    }
    for name, text in seeds.items():
        write("status", name, text.encode("utf-8"))
    write("status", "invalid-utf8", b'{"arguments": {"md5": "' + md5.encode() + b'", "name": "\xff"}}')


# ---------------------------------------------------------------------------------- unpack

# flags of the unpack target
GZ, RAW, SYMLINKS, HARDLINKS, END_MARKER = 0, 1, 2, 4, 8


def tar_bytes(members, fmt=tarfile.GNU_FORMAT):
    """members: list of (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            info.mtime = MTIME
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    raw = buf.getvalue()
    # tarfile pads to 10 KiB records: keep the entries and the 1 KiB end-of-archive marker.
    end = len(raw)
    while end >= 512 and raw[end - 512 : end] == bytes(512):
        end -= 512
    return raw[:end] + bytes(1024)


def info(name, kind=tarfile.REGTYPE, mode=0o644, link=""):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.mode = mode
    i.linkname = link
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        i.devmajor, i.devminor = 1, 3
    return i


def unpack_corpus():
    long_name = "dump/" + "d" * 120 + "/" + "f" * 90 + ".bson"
    archives = {
        "file": [(info("users.bson"), b"\x05\x00\x00\x00\x00")],
        "dir-and-file": [
            (info("dump", tarfile.DIRTYPE, 0o755), None),
            (info("dump/auth0", tarfile.DIRTYPE, 0o750), None),
            (info("dump/auth0/users.bson"), b"x" * 600),
            (info("dump/auth0/empty.bson", mode=0o600), b""),
        ],
        "symlink-inside": [
            (info("dump/a.bson"), b"a"),
            (info("dump/link", tarfile.SYMTYPE, 0o777, "a.bson"), None),
        ],
        "symlink-escape": [(info("link", tarfile.SYMTYPE, 0o777, "../outside"), None)],
        "symlink-then-through": [
            (info("d", tarfile.DIRTYPE, 0o755), None),
            (info("l", tarfile.SYMTYPE, 0o777, "d"), None),
            (info("l/f"), b"through a symlink"),
        ],
        "hardlink": [
            (info("a.bson"), b"hard"),
            (info("b.bson", tarfile.LNKTYPE, 0o644, "a.bson"), None),
        ],
        "hardlink-escape": [(info("h", tarfile.LNKTYPE, 0o644, "../outside"), None)],
        "fifo": [(info("pipe", tarfile.FIFOTYPE), None)],
        "char-device": [(info("null", tarfile.CHRTYPE), None)],
        "block-device": [(info("sda", tarfile.BLKTYPE, 0o660), None)],
        "setuid": [(info("suid", mode=0o4755), b"#!/bin/sh\n")],
        "dotdot": [(info("../escape.txt"), b"evil")],
        "dotdot-inner": [(info("a/../../escape.txt"), b"evil")],
        "absolute": [(info("/tmp/a0backup-fuzz-absolute.txt"), b"evil")],
        "collision": [(info("same"), b"1"), (info("same"), b"2")],
        "file-then-dir": [(info("x"), b"1"), (info("x/y"), b"2")],
        "gnu-long-name": [(info(long_name), b"long")],
        "over-limit": [(info("big"), bytes(1_100_000))],
    }
    for name, members in archives.items():
        t = tar_bytes(members)
        write("unpack", name + ".tar.gz", bytes([GZ | SYMLINKS | HARDLINKS]) + gzip.compress(t, mtime=0))
        if name in ("symlink-inside", "hardlink", "dotdot", "fifo"):
            write("unpack", name + "-refused.tar.gz", bytes([GZ]) + gzip.compress(t, mtime=0))
        if len(t) < 8192:
            entries = t[:-1024]
            write("unpack", name + ".tar", bytes([RAW | SYMLINKS | HARDLINKS | END_MARKER]) + entries)

    pax = tar_bytes(
        [(info("short"), b"pax")],
        fmt=tarfile.PAX_FORMAT,
    )
    # A PAX `path` record overriding the ustar name: to ../pax-escape, and to a long path.
    for label, path in (("pax-path-dotdot", "../pax-escape"), ("pax-path-long", "p/" + "q" * 200)):
        i = info("innocent-ustar-name")
        i.pax_headers = {"path": path}
        t = tar_bytes([(i, b"pax")], fmt=tarfile.PAX_FORMAT)
        write("unpack", label + ".tar.gz", bytes([GZ]) + gzip.compress(t, mtime=0))
        write("unpack", label + ".tar", bytes([RAW | END_MARKER]) + t[:-1024])
    write("unpack", "pax-plain.tar.gz", bytes([GZ]) + gzip.compress(pax, mtime=0))

    ok = tar_bytes([(info("f"), b"data")])
    write("unpack", "truncated.tar.gz", bytes([GZ]) + gzip.compress(ok[:700], mtime=0))
    write("unpack", "no-end-marker.tar", bytes([RAW]) + ok[:1024])
    write("unpack", "trailing-garbage.tar.gz", bytes([GZ]) + gzip.compress(ok + b"garbage", mtime=0))
    two = gzip.compress(ok[:512], mtime=0) + gzip.compress(ok[512:], mtime=0)
    write("unpack", "two-gzip-members.tar.gz", bytes([GZ]) + two)
    write("unpack", "not-gzip", bytes([GZ]) + b"this is not gzip")
    edge_corpus()
    write("unpack", "empty-archive.tar", bytes([RAW | END_MARKER]))


def header(name, flag=b"0", size=0, mode=0o644, mtime=MTIME, link=b"", gnu=False):
    """One header block built by hand, for the shapes tarfile will not write."""
    h = bytearray(512)
    h[: min(len(name), 100)] = name[:100]

    def number(off, width, value):
        if 0 <= value < 8 ** (width - 1):
            text = b"%0*o" % (width - 1, value)
            h[off : off + len(text)] = text
        else:  # GNU base-256, negative values in two's complement
            raw = (value % (1 << (8 * width))).to_bytes(width, "big")
            h[off : off + width] = raw
            if value >= 0:
                h[off] = 0x80

    number(100, 8, mode)
    number(108, 8, 0)
    number(116, 8, 0)
    number(124, 12, size)
    number(136, 12, mtime)
    h[156:157] = flag
    h[157 : 157 + len(link)] = link
    h[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def member(name, flag=b"0", data=b"", **kw):
    return header(name, flag, len(data), **kw) + data + bytes(-len(data) % 512)


def pax_member(records, flag=b"x"):
    body = b""
    for key, value in records:
        tail = b" %s=%s\n" % (key, value)
        n = len(tail) + 1
        while len(b"%d" % n) + len(tail) != n:
            n += 1
        body += b"%d" % n + tail
    return member(b"PaxHeaders.0/x", flag, body)


def edge_corpus():
    """The archive shapes of issue 11: ambiguity, sparse files, bombs, old producers."""
    end = bytes(1024)
    ok = member(b"after", data=b"1")
    shapes = {
        "dot-root": member(b"./", b"5") + member(b"./f", data=b"x"),
        "negative-mtime": member(b"old", data=b"x", mtime=-86400 * 365 * 10),
        "huge-mtime": member(b"future", data=b"x", mtime=1 << 62),
        "old-style-dir": member(b"olddir/", b"\0") + member(b"olddir/f", data=b"x"),
        "old-style-dir-with-size": header(b"d1/", b"\0", 1) + member(b"d2/", b"5"),
        "hardlink-with-size": member(b"a", data=b"same") + header(b"b", b"1", 4, link=b"a") + ok,
        "fifo-with-size": header(b"p", b"6", 5) + ok,
        "dir-with-size": header(b"d/", b"5", 512) + ok,
        "volume-label": member(b"label", b"V") + ok,
        "gnu-sparse": header(b"holes", b"S", 512, gnu=True) + bytes(512) + ok,
        "pax-sparse-1.0": pax_member([(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0"),
                                      (b"GNU.sparse.name", b"holes")])
        + member(b"GNUSparseFile.0/holes", data=b"1\n0\n1\n" + bytes(509) + b"x"),
        "pax-sparse-0.0": pax_member([(b"GNU.sparse.size", b"9"), (b"GNU.sparse.numblocks", b"1"),
                                      (b"GNU.sparse.offset", b"0"), (b"GNU.sparse.numbytes", b"1")])
        + member(b"holes", data=b"x"),
        "pax-two-paths": pax_member([(b"path", b"a"), (b"path", b"b")]) + member(b"x", data=b"1"),
        "pax-and-long-name": member(b"././@LongLink", b"L", b"long\0", gnu=True)
        + pax_member([(b"path", b"pax")]) + member(b"x", data=b"1"),
        "two-long-names": member(b"././@LongLink", b"L", b"one\0", gnu=True)
        + member(b"././@LongLink", b"L", b"two\0", gnu=True) + member(b"x", data=b"1"),
        "two-pax-headers": pax_member([(b"mtime", b"1")]) + pax_member([(b"path", b"b")]) + ok,
        "pax-malformed": member(b"PaxHeaders/x", b"x", b"13 path=abc\n") + ok,
        "pax-nul-key": member(b"PaxHeaders/x", b"x", b"15 pa\0th=abc\n") + ok,
        "pax-global-path": pax_member([(b"path", b"everything")], b"g") + ok,
        "pax-global-comment": pax_member([(b"comment", b"hi")], b"g") + ok,
        "pax-size-conflict": pax_member([(b"size", b"1536")]) + member(b"cover", data=b"x" * 512)
        + member(b"smuggled", data=b"evil"),
        "pax-size-zero-header": pax_member([(b"size", b"5")]) + header(b"big", b"0", 0)
        + b"hello" + bytes(507) + ok,
        "pax-bad-mtime": pax_member([(b"mtime", b"1748089464.9a")]) + member(b"t", data=b"x"),
        "dangling-pax": ok + pax_member([(b"path", b"nothing")]),
        "bomb-pax-declared": header(b"bomb", b"x", 1 << 30),
        "bomb-long-name-declared": header(b"bomb", b"L", 1 << 30, gnu=True),
        "lone-zero-block": ok + bytes(512) + member(b"hidden", data=b"2"),
        "bad-checksum": ok[:100] + b"X" + ok[101:],
        "escape-in-name": member(b"evil\x1b[2J", data=b"x"),
    }
    for name, t in shapes.items():
        write("unpack", name + ".tar.gz", bytes([GZ | SYMLINKS | HARDLINKS]) + gzip.compress(t + end, mtime=0))
    missing_end = member(b"a", data=b"1")
    write("unpack", "no-end-blocks.tar.gz", bytes([GZ]) + gzip.compress(missing_end, mtime=0))
    padded = gzip.compress(missing_end + end, mtime=0) + bytes(4096)
    write("unpack", "zero-padded-gzip.tar.gz", bytes([GZ]) + padded)


# ---------------------------------------------------------------------------------- restore


def restore_input(flags, password, items, mutations):
    out = bytes([flags, len(password)]) + password + bytes([len(items)])
    for kind, name, content in items:
        out += bytes([kind, len(name) - 1]) + name
        if not kind & 1:
            out += struct.pack("<H", len(content)) + content
    out += bytes([len(mutations)])
    for op, pos, value in mutations:
        out += bytes([op]) + struct.pack("<H", pos) + bytes([value])
    return out


def restore_corpus():
    pw = b"Passw0rd"
    tree = [
        (1, b"dump", b""),  # directory, parent = root
        (2, b"users", b"\x05\x00\x00\x00\x00" * 20),  # file in dirs[1] = dump
        (3, b"auth0", b""),  # directory in dump
        (4, b"tenants", b"t" * 300),  # file in dirs[2] = dump/auth0
        (0, b"empty", b""),  # empty file at the top
    ]
    write("restore", "node-intact", restore_input(0x60, pw, tree, []))
    write("restore", "md5-intact", restore_input(0x91, pw, tree, []))
    write("restore", "pbkdf2-intact", restore_input(0x05, pw, tree, []))
    write("restore", "node-flip-gzip-header", restore_input(0x60, pw, tree, [(0, 5, 0x01)]))
    write("restore", "node-flip-deflate", restore_input(0x60, pw, tree, [(1, 40, 0x80)]))
    write("restore", "md5-flip-salt", restore_input(0x91, pw, tree, [(0, 9, 0xFF)]))
    write("restore", "pbkdf2-truncate", restore_input(0x05, pw, tree, [(2, 30, 0)]))
    write("restore", "node-append", restore_input(0x60, pw, tree, [(3, 0xFFFF, 0x00)]))
    write("restore", "flip-twice-cancels", restore_input(0x60, pw, tree, [(0, 7, 0x10), (1, 7, 0x10)]))
    write("restore", "empty", b"")


# ---------------------------------------------------------------------------------- md5


def md5_input(cuts, message):
    assert len(cuts) < 16
    return bytes([len(cuts)]) + b"".join(struct.pack("<H", c) for c in cuts) + message


def md5_corpus():
    # Lengths at the block (64) and padding (56) boundaries, whole and cut into pieces.
    for n in (0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200):
        message = bytes((i * 7 + n) % 256 for i in range(n))
        write("md5", f"len-{n}", md5_input([], message))
        write("md5", f"len-{n}-cut", md5_input([1, n // 2, n // 2, max(n - 1, 0), 60000], message))
    write("md5", "rfc1321-abc", md5_input([], b"abc"))
    write("md5", "empty", b"")


def bson_doc(elements):
    body = b"".join(elements)
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def bson_el(kind, name, value):
    return bytes([kind]) + name + b"\0" + value


def bson_corpus():
    """Documents of every common shape, then the corruptions the check must locate."""
    s = b"hello"
    string = struct.pack("<i", len(s) + 1) + s + b"\0"
    inner = bson_doc([bson_el(0x10, b"n", struct.pack("<i", 7))])
    doc = bson_doc([
        bson_el(0x01, b"d", struct.pack("<d", 1.5)),
        bson_el(0x02, b"s", string),
        bson_el(0x03, b"o", inner),
        bson_el(0x04, b"a", bson_doc([bson_el(0x10, b"0", struct.pack("<i", 1))])),
        bson_el(0x05, b"b", struct.pack("<i", 3) + b"\x00abc"),
        bson_el(0x07, b"id", bytes(12)),
        bson_el(0x08, b"t", b"\x01"),
        bson_el(0x09, b"dt", struct.pack("<q", 0)),
        bson_el(0x0A, b"nil", b""),
        bson_el(0x0B, b"re", b"a.*\0i\0"),
        bson_el(0x12, b"l", struct.pack("<q", 1 << 40)),
        bson_el(0x13, b"dec", bytes(16)),
    ])
    write("bson", "every-type", doc)
    write("bson", "three", doc * 3)
    write("bson", "empty-file", b"")
    write("bson", "smallest", b"\x05\0\0\0\0")
    write("bson", "cut", doc * 2 + doc[:10])
    write("bson", "cut-prefix", doc + b"\x20\0")
    write("bson", "missing-nul", doc[:-1] + b"\x01")
    write("bson", "bad-type", doc[:4] + b"\x42" + doc[5:])
    write("bson", "length-too-long", struct.pack("<i", len(doc) + 1) + doc[4:] + b"\0")
    write("bson", "nested-overruns", bson_doc([bson_el(0x03, b"o", struct.pack("<i", 99) + inner[4:])]))
    write("bson", "negative-length", struct.pack("<i", -5) + bytes(8))
    # Text that is not UTF-8 (the BSON corpus's decodeErrors): a string, a name, a regex.
    bad = struct.pack("<i", 3) + b"\xe9\xe9\0"
    write("bson", "string-not-utf8", bson_doc([bson_el(0x02, b"s", bad)]))
    write("bson", "name-not-utf8", bson_doc([bson_el(0x10, b"\xc0\xaf", struct.pack("<i", 1))]))
    write("bson", "regex-not-utf8", bson_doc([bson_el(0x0B, b"re", b"\xed\xa0\x80\0i\0")]))



def dump_corpus():
    """A collection's .bson (ids, duplicates, no _id, damage) for dump and diff: flags,
    metadata length, metadata, then the stream."""
    def doc_with_id(i, extra=b""):
        return bson_doc([bson_el(0x10, b"_id", struct.pack("<i", i)), bson_el(0x02, b"s", struct.pack("<i", 2) + b"x\0")]) if not extra else \
            bson_doc([bson_el(0x10, b"_id", struct.pack("<i", i)), bson_el(0x02, b"s", struct.pack("<i", len(extra) + 1) + extra + b"\0")])
    docs = b"".join(doc_with_id(i) for i in range(6))
    long_id = bson_doc([bson_el(0x02, b"_id", struct.pack("<i", 31) + b"a-long-string-id-of-30-bytes..\0")])
    no_id = bson_doc([bson_el(0x10, b"n", struct.pack("<i", 1))])
    dup = doc_with_id(1) + doc_with_id(1, b"other")
    meta = b'{"indexes":[{"v":2,"key":{"a":1,"b":-1},"name":"ab"}],"options":{"capped":true}}'
    def item(flags, stream, metadata=b""):
        return bytes([flags, len(metadata)]) + metadata + stream
    write("dump", "six", item(0b1110, docs))
    write("dump", "six-gzip-limit-2", item(0b0101, docs))
    write("dump", "mixed-ids", item(0b1110, docs + long_id + no_id + no_id + dup))
    write("dump", "damaged", item(0b1110, docs[:40] + b"\x20" + docs[41:]))
    write("dump", "cut", item(0b1111, docs[:-3]))
    write("dump", "metadata-given", item(0b11110, docs, meta))
    write("dump", "metadata-not-json", item(0b11110, docs, b'{"indexes": [1, '))
    write("dump", "empty", item(0b1110, b""))


# ---------------------------------------------------------------------------------- extjson


def bson_string(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<i", len(b) + 1) + b + b"\0"


def extjson_documents():
    """Documents of every type (the deprecated ones too), and damaged ones."""
    scope = bson_doc([bson_el(0x10, b"x", struct.pack("<i", 1))])
    every = bson_doc([
        bson_el(0x01, b"d", struct.pack("<d", 1.0)),
        bson_el(0x01, b"big", struct.pack("<d", 1.2345678921232e18)),
        bson_el(0x01, b"nan", bytes.fromhex("000000000000F87F")),
        bson_el(0x02, b"s", bson_string("I am a string \u2028 \x01 \"q\"")),
        bson_el(0x03, b"o", scope),
        bson_el(0x04, b"a", bson_doc([bson_el(0x10, b"0", struct.pack("<i", 1)), bson_el(0x02, b"1", bson_string("x"))])),
        bson_el(0x05, b"b", struct.pack("<i", 3) + b"\x00abc"),
        bson_el(0x05, b"old", struct.pack("<i", 7) + b"\x02" + struct.pack("<i", 3) + b"abc"),
        bson_el(0x06, b"u", b""),
        bson_el(0x07, b"id", bytes(range(12))),
        bson_el(0x08, b"t", b"\x01"),
        bson_el(0x09, b"dt", struct.pack("<q", 1415991783000)),
        bson_el(0x09, b"y10k", struct.pack("<q", 253402300800000)),
        bson_el(0x0A, b"nil", b""),
        bson_el(0x0B, b"re", b"a.*\0mix\0"),
        bson_el(0x0C, b"ptr", bson_string("db.c") + bytes(12)),
        bson_el(0x0D, b"code", bson_string("f()")),
        bson_el(0x0E, b"sym", bson_string("sym")),
        bson_el(0x0F, b"cws", struct.pack("<i", 4 + 4 + 4 + len(scope)) + bson_string("g()") + scope),
        bson_el(0x10, b"i", struct.pack("<i", -7)),
        bson_el(0x11, b"ts", struct.pack("<II", 1, 1415991783)),
        bson_el(0x12, b"l", struct.pack("<q", 1 << 40)),
        bson_el(0x13, b"dec", bytes.fromhex("0F000000000000000000000000003E30")),
        bson_el(0x7F, b"max", b""),
        bson_el(0xFF, b"min", b""),
    ])
    nested = b"\x05\0\0\0\0"
    for _ in range(10):
        nested = bson_doc([bson_el(0x03, b"o", nested)])
    return [
        ("every-type", every),
        ("empty", b"\x05\0\0\0\0"),
        ("nested", nested),
        ("bad-utf8", bson_doc([bson_el(0x02, b"s", bson_string(b"\xff\xfe"))])),
        ("bad-bool", bson_doc([bson_el(0x08, b"b", b"\x02")])),
        ("bad-type", every[:4] + b"\x42" + every[5:]),
        ("cut", every[:40]),
        ("bad-scope", bson_doc([bson_el(0x0F, b"c", struct.pack("<i", 99) + bson_string("g") + scope)])),
    ]


def extjson_corpus():
    # Flags: bit 0 relaxed.
    for n, (name, doc) in enumerate(extjson_documents()):
        write("extjson", name, bytes([n % 2]) + doc)


# ---------------------------------------------------------------------------------- query


def query_corpus():
    # Input: the filter's length (u16 LE), the filter, then one document.
    docs = dict(extjson_documents())
    user = bson_doc([
        bson_el(0x02, b"email", bson_string("ann@example.com")),
        bson_el(0x10, b"logins", struct.pack("<i", 7)),
        bson_el(0x04, b"identities", bson_doc([
            bson_el(0x03, b"0", bson_doc([bson_el(0x02, b"provider", bson_string("auth0"))])),
            bson_el(0x03, b"1", bson_doc([bson_el(0x02, b"provider", bson_string("github"))])),
        ])),
        bson_el(0x09, b"created", struct.pack("<q", 1600000000000)),
    ])
    filters = [
        ("eq", '{"email": "ann@example.com"}', user),
        ("dotted", '{"identities.provider": {"$in": ["github", null]}}', user),
        ("index", '{"identities.1.provider": {"$ne": "auth0"}}', user),
        ("range", '{"logins": {"$gte": 3, "$lt": {"$numberLong": "10"}}}', user),
        ("regex", '{"email": {"$regex": "^a.*\\.com$", "$options": "i"}}', user),
        ("not", '{"email": {"$not": {"$regularExpression": {"pattern": "b", "options": ""}}}}', user),
        ("or", '{"$or": [{"logins": {"$exists": false}}, {"created": {"$gt": {"$date": "2020-01-01T00:00:00Z"}}}]}', user),
        ("types", '{"d": {"$gt": {"$minKey": 1}}, "dec": 1.5, "a": [1, "x"], "o": {"x": 1}}', docs["every-type"]),
        ("nin", '{"i": {"$nin": [{"$numberDecimal": "-7"}]}, "nan": {"$numberDouble": "NaN"}}', docs["every-type"]),
        ("deep", '{"o.o.o.o.o": {"$exists": true}}', docs["nested"]),
        ("damaged", '{"s": "x"}', docs["bad-utf8"]),
        ("refused", '{"a": {"$size": 1}}', user),
    ]
    for name, text, doc in filters:
        t = text.encode()
        write("query", name, struct.pack("<H", len(t)) + t + doc)


# ---------------------------------------------------------------------------------- inflate


def inflate_corpus():
    # Flags: bits 0-1 threads - 1, bits 2-3 chunk size (1, 2, 4, 64 KiB), bit 4 raw deflate.
    import random
    import zlib

    rng = random.Random(15)
    words = [b"user", b"email", b'"_id":', b"tenant", b"{", b"}", b",", b"\n", b"null"]
    text = b" ".join(rng.choice(words) + str(rng.randrange(1000)).encode() for _ in range(2500))
    noise = bytes(rng.randrange(256) for _ in range(6000))
    mixed = text[:4000] + noise[:3000] + b"\0" * 5000 + text[4000:9000]

    def gz(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, wbits=31):
        c = zlib.compressobj(level, zlib.DEFLATED, wbits, 8, strategy)
        return c.compress(data) + c.flush()

    def raw(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY):
        return gz(data, level, strategy, -15)

    write("inflate", "text-6", bytes([0b0001]) + gz(text))
    write("inflate", "text-9-4k", bytes([0b1011]) + gz(text, 9))
    write("inflate", "text-1-1k", bytes([0b0000]) + gz(text, 1))
    write("inflate", "stored", bytes([0b0101]) + gz(noise, 0))
    write("inflate", "noise-1", bytes([0b0001]) + gz(noise, 1))
    write("inflate", "fixed", bytes([0b0010]) + gz(mixed, 6, zlib.Z_FIXED))
    write("inflate", "mixed-rle", bytes([0b0011]) + gz(mixed, 6, zlib.Z_RLE))
    write("inflate", "huffman-only", bytes([0b0001]) + gz(text, 6, zlib.Z_HUFFMAN_ONLY))
    write("inflate", "members-padding",
          bytes([0b0101]) + gz(text[:3000]) + gz(b"") + gz(noise[:500], 0) + b"\0" * 40)
    write("inflate", "empty", bytes([0b0001]) + gz(b""))
    write("inflate", "named", bytes([0b0001]) + gzip.compress(text[:2000], mtime=0))
    # Sync flushes (empty stored blocks) between blocks, as pigz makes.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    flushed = b"".join(c.compress(text[i:i + 3000]) + c.flush(zlib.Z_SYNC_FLUSH)
                       for i in range(0, len(text), 3000)) + c.flush()
    write("inflate", "sync-flush", bytes([0b0001]) + flushed)
    write("inflate", "raw-text", bytes([0b10001]) + raw(text))
    write("inflate", "raw-fixed", bytes([0b10010]) + raw(mixed, 6, zlib.Z_FIXED))
    write("inflate", "raw-stored", bytes([0b10000]) + raw(noise[:2000], 0))
    write("inflate", "raw-cut", bytes([0b10001]) + raw(text)[:3000])


def main():
    decrypt_corpus()
    status_corpus()
    unpack_corpus()
    restore_corpus()
    md5_corpus()
    bson_corpus()
    inflate_corpus()
    extjson_corpus()
    query_corpus()
    dump_corpus()
    total = 0
    for target in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        d = os.path.join(HERE, "corpus", target)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        total += size
        print(f"{target}: {len(files)} files, {size} bytes")
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
