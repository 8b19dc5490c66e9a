"""dump() and diff() (issue 24) against outside oracles: the backups are written by
tests/dump/gen.py (pymongo's bson for the .bson files, Python's tarfile and gzip) and encrypted
by ``openssl enc -aes-256-ctr`` with the key and IV of Node's createCipher (EVP_BytesToKey, MD5,
no salt); the documents must be what pymongo's ``json_util.dumps(doc,
json_options=CANONICAL_JSON_OPTIONS)`` (and RELAXED) makes of them, the filters must select what
a selection written here in Python selects, and the diff must count what gen.py computes with
pymongo. The tests run in a venv that has only the package, so gen.py runs under an interpreter
that has pymongo (this one, else python3 on PATH). A missing interpreter with bson, or a missing
openssl, fails the tests: they are never skipped.
"""

import contextlib
import datetime
import gc
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import a0backup
from test_check_rows import evp_bytes_to_key, tool

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.normpath(os.path.join(HERE, "..", "..", "..", "tests", "dump", "gen.py"))
PASSWORD = "Passw0rd"
N = 300
BIG = 1000000
MiB = 1 << 20
# A whole Python process dumping a million documents through the generator: the interpreter
# (17-21 MiB) and the library's buffers. Measured: 24-28 MiB; keeping the documents would take
# about 1.2 GiB.
RSS_BOUND = 64 * MiB


def oracle_python():
    """An interpreter that has pymongo's bson: this one, else python3 on PATH."""
    for python in (sys.executable, shutil.which("python3")):
        if python and subprocess.run([python, "-c", "import bson, pymongo"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode == 0:
            return python
    raise AssertionError("no python3 with pymongo's bson (pip install 'pymongo>=4.3'): it is an oracle of these tests")


def gen(out, *args):
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([oracle_python(), GEN, args[0], out] + [str(a) for a in args[1:]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError("gen.py %s: %s" % (" ".join(map(str, args)), r.stderr.decode(errors="replace")))
    return r.stdout


def encrypt(path):
    """``path`` encrypted as the appliance does, by openssl: PATH.enc."""
    key, iv = evp_bytes_to_key(PASSWORD.encode())
    subprocess.run([tool("openssl"), "enc", "-aes-256-ctr", "-K", key.hex(), "-iv", iv.hex(), "-in", path,
                    "-out", path + ".enc"], check=True)
    return path + ".enc"


def md5_of(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line]


def same(a, b, key=""):
    """The same JSON value, members in the same order; $numberDouble strings and floats
    compared by value (NaN equal to NaN, -0.0 not equal to 0.0)."""
    if key == "$numberDouble" and isinstance(a, str) and isinstance(b, str):
        a, b = float(a), float(b)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool) or isinstance(b, bool):
            return False
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k], k) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def num(v):
    """An _id or number of the canonical form ({"$numberInt": "3"}) as a number."""
    return int(next(iter(v.values()))) if isinstance(v, dict) else v


def drain(generator):
    """The documents of a dump() generator and its return value, the summary."""
    docs = []
    while True:
        try:
            docs.append(next(generator))
        except StopIteration as end:
            return docs, end.value


def threads_named(name):
    return [t for t in threading.enumerate() if t.name == name]


# Filters, and the same selection written in Python over the canonical documents.
FILTERS = [
    ({}, lambda d: True),
    ({"email_verified": True}, lambda d: d["email_verified"] is True),
    ('{"email_verified": {"$ne": true}}', lambda d: d["email_verified"] is not True),
    ({"email": re.compile(r"@example\.(com|org)$")}, lambda d: re.search(r"@example\.(com|org)$", d["email"])),
    ({"email": {"$regex": "^USER1", "$options": "i"}}, lambda d: d["email"].startswith("user1")),
    ({"identities.provider": "github"}, lambda d: any(i["provider"] == "github" for i in d["identities"])),
    ({"tenant": None}, lambda d: d.get("tenant") is None),
    ({"picture": {"$exists": True}}, lambda d: "picture" in d),
    ({"_id": {"$in": [3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 1000]}},
     lambda d: num(d["_id"]) in (3, 5, 8, 13, 21, 34, 55, 89, 144, 233)),
    ({"app_metadata.plan": "pro", "email_verified": False},
     lambda d: d["app_metadata"]["plan"] == "pro" and d["email_verified"] is False),
    ({"$or": [{"tenant": "dev"}, {"app_metadata.roles": "a"}]},
     lambda d: d.get("tenant") == "dev" or "a" in d["app_metadata"]["roles"]),
    ({"created_at": {"$gte": datetime.datetime(2030, 1, 1)}},
     lambda d: int(d["created_at"]["$date"]["$numberLong"]) >= 1893456000000),
    ({"_id": {"$gte": 100, "$lt": 150}, "identities.isSocial": {"$ne": True}},
     lambda d: 100 <= num(d["_id"]) < 150 and not any(i["isSocial"] is True for i in d["identities"])),
]


class DumpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="a0b-py-dump-")
        out = os.path.join(cls.dir, "tree")
        gen(out, "tree", 11, N)
        cls.plain = os.path.join(out, "backup.tar.gz")
        cls.enc = encrypt(cls.plain)
        cls.bson_bytes = os.path.getsize(os.path.join(out, "users.bson"))
        cls.canonical = lines(os.path.join(out, "users.canonical.jsonl"))
        cls.relaxed = lines(os.path.join(out, "users.relaxed.jsonl"))
        cls.big = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def big_backup(cls):
        """A backup of BIG small documents in auth0.users."""
        if cls.big is None:
            out = os.path.join(cls.dir, "big")
            gen(out, "big", BIG)
            cls.big = encrypt(os.path.join(out, "big.tar.gz"))
        return cls.big

    def test_documents_are_what_pymongos_json_util_makes_of_the_bson(self):
        self.assertEqual(len(self.canonical), N)
        for mode, relaxed in (("canonical", False), ("relaxed", True)):
            docs, summary = drain(a0backup.dump(self.enc, PASSWORD, "auth0.users", relaxed=relaxed))
            self.assertEqual(len(docs), N)
            for i, (doc, want) in enumerate(zip(docs, getattr(self, mode))):
                self.assertTrue(same(doc, json.loads(want)), "%s document %d:\n%r\n%s" % (mode, i, doc, want))
            self.assertEqual((summary["documents"], summary["scanned"], summary["bytes"]), (N, N, self.bson_bytes))
            self.assertEqual(json.loads(summary["metadata"])["collectionName"], "users")
            self.assertEqual((summary["md5"], summary["read_to_end"]), (None, False))

            # text=True: the library's text, bytes of one line of JSON per document.
            texts = list(a0backup.dump(self.plain, None, "auth0.users", relaxed=relaxed, text=True))
            self.assertEqual(len(texts), N)
            for i, (text, want) in enumerate(zip(texts, getattr(self, mode))):
                self.assertIsInstance(text, bytes)
                self.assertNotIn(b"\n", text)
                self.assertTrue(same(json.loads(text), json.loads(want)), "%s text %d" % (mode, i))

        md5 = md5_of(self.enc)
        _docs, summary = drain(a0backup.dump(self.enc, PASSWORD, "auth0.users", expected_md5=md5))
        self.assertEqual(summary["md5"], md5)

        def with_summary():
            summary = yield from a0backup.dump(self.enc, PASSWORD, "auth0.users", limit=2)
            self.assertEqual(summary["documents"], 2)

        self.assertEqual(len(list(with_summary())), 2)

    def test_filters_select_what_the_same_selection_in_python_selects(self):
        docs = [json.loads(line) for line in self.canonical]
        for filter, select in FILTERS:
            want = [num(d["_id"]) for d in docs if select(d)]
            got, summary = drain(a0backup.dump(self.enc, PASSWORD, "auth0.users", filter=filter))
            self.assertEqual([num(d["_id"]) for d in got], want, "filter %r" % (filter,))
            self.assertEqual((summary["documents"], summary["scanned"]), (len(want), N))
        # limit: the first matches, and reading stops at the last of them.
        want = [d for d in docs if d["email_verified"] is True][:5]
        got, summary = drain(a0backup.dump(self.enc, PASSWORD, "auth0.users", filter={"email_verified": True}, limit=5))
        self.assertEqual(got, want)
        self.assertEqual((summary["documents"], summary["scanned"]), (5, docs.index(want[4]) + 1))

    def test_the_generator_waits_for_its_reader_and_closing_it_cancels(self):
        big = self.big_backup()
        before = threading.active_count()
        g = a0backup.dump(big, PASSWORD, "auth0.users", queue_size=2)
        self.assertEqual(threading.active_count(), before, "no thread before the first next()")
        first = [next(g) for _ in range(10)]
        self.assertEqual([int(d["_id"]["$oid"], 16) for d in first], list(range(10)))
        self.assertEqual(len(threads_named("a0backup-dump")), 1)
        # The thread waits on the full queue: at most queue_size batches ahead.
        time.sleep(0.5)
        handoff = g.gi_frame.f_locals["handoff"]
        self.assertEqual(handoff.queue.qsize(), 2)
        g.close()
        self.assertEqual(threads_named("a0backup-dump"), [])
        self.assertEqual(threading.active_count(), before)
        self.assertRaises(StopIteration, next, g)

        # Dropped without close(), or left by an exception in a `with closing()` block: the same.
        g = a0backup.dump(big, PASSWORD, "auth0.users")
        next(g)
        del g
        gc.collect()
        self.assertEqual(threads_named("a0backup-dump"), [])

        class Boom(Exception):
            pass

        with self.assertRaises(Boom):
            with contextlib.closing(a0backup.dump(big, PASSWORD, "auth0.users")) as docs:
                for doc in docs:
                    raise Boom(doc)
        self.assertEqual(threads_named("a0backup-dump"), [])
        self.assertEqual(threading.active_count(), before)

    def test_errors(self):
        def first(*args, **kwargs):
            return next(a0backup.dump(*args, **kwargs))

        cases = [
            ((self.enc, "wrong", "auth0.users"), {}, a0backup.ERR_WRONG_PASSWORD),
            ((self.enc, PASSWORD, "auth0.nope"), {}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.enc, PASSWORD, "no-dot"), {}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.enc, PASSWORD, "auth0.users"), {"filter": {"tags": {"$size": 2}}}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.enc, PASSWORD, "auth0.users"), {"filter": {"$where": "true"}}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.enc, PASSWORD, "auth0.users"), {"filter": '{"a": 1, "a": 2}'}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.enc, PASSWORD, "auth0.users"), {"expected_md5": "0" * 32}, a0backup.ERR_CHECKSUM_MISMATCH),
        ]
        for args, kwargs, code in cases:
            with self.assertRaises(a0backup.A0BackupError) as cm:
                first(*args, **kwargs)
            self.assertEqual(cm.exception.code, code, "%r %r: %s" % (args[1:], kwargs, cm.exception))
        self.assertEqual(cm.exception.code_name, "A0B_ERR_CHECKSUM_MISMATCH")
        self.assertEqual(threads_named("a0backup-dump"), [])
        for kwargs, error in [({"limit": 0}, ValueError), ({"queue_size": 0}, ValueError),
                              ({"filter": [1]}, TypeError), ({"filter": {"a": re.compile("x", re.A)}}, ValueError),
                              ({"filter": {"a": object()}}, TypeError)]:
            with self.assertRaises(error):
                a0backup.dump(self.enc, PASSWORD, "auth0.users", **kwargs)
        with self.assertRaises(TypeError):
            a0backup.dump(self.enc, PASSWORD, None)

    def test_peak_rss_stays_under_64_mib_for_a_million_documents(self):
        big = self.big_backup()
        for path, count in ((self.enc, N), (big, BIG)):
            r = subprocess.run([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0:
                raise AssertionError(r.stderr.decode(errors="replace"))
            got = json.loads(r.stdout)
            print("dump(): peak RSS %.1f MiB for %d documents" % (got["peak"] / MiB, count), file=sys.stderr)
            self.assertEqual(got["n"], count)
            self.assertLess(got["peak"], RSS_BOUND, "%d documents took %.1f MiB" % (count, got["peak"] / MiB))


# A child Python that dumps FILE through the generator and prints the count and its peak RSS
# (VmHWM: this process image's).
CHILD = r"""
import json, re, sys
import a0backup
n = sum(1 for doc in a0backup.dump(sys.argv[1], "Passw0rd", "auth0.users") if doc["_id"])
with open("/proc/self/status") as f:
    hwm = int(re.search(r"^VmHWM:\s*(\d+) kB$", f.read(), re.M).group(1)) * 1024
print(json.dumps({"n": n, "peak": hwm}))
"""


class DiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="a0b-py-diff-")
        cls.expected = json.loads(gen(cls.dir, "pair", 5, N))
        cls.old = encrypt(os.path.join(cls.dir, "old.tar.gz"))
        cls.new = encrypt(os.path.join(cls.dir, "new.tar.gz"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_diff(self, items, totals, ids):
        report = {}
        for item in items:
            entry = report.setdefault(item["collection"], {"ids": {"added": [], "removed": [], "changed": []}})
            if "change" in item:
                self.assertEqual(list(item), ["collection", "change", "_id"])
                entry["ids"][item["change"]].append(json.dumps(item["_id"], separators=(",", ":")))
            else:
                self.assertNotIn("row", entry, "one row per collection")
                entry["row"] = item
        self.assertEqual(sorted(report), sorted(self.expected))
        total = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0, "changed_collections": 0}
        for name, want in self.expected.items():
            row, got = report[name]["row"], report[name]["ids"]
            self.assertEqual(row["presence"], want["presence"], name)
            for k in ("added", "removed", "changed"):
                self.assertEqual(row[k], len(want[k]), "%s: %s" % (name, k))
                self.assertEqual(sorted(got[k]), want[k] if ids else [], "%s: the _ids %s" % (name, k))
                total[k] += row[k]
            self.assertEqual(row["unchanged"], want["unchanged"], name)
            total["unchanged"] += row["unchanged"]
            for what in ("indexes", "options"):
                for k in ("added", "removed", "changed"):
                    self.assertEqual(sorted(row[what][k]), want["%s_%s" % (what, k)], "%s: %s %s" % (name, what, k))
            changes = row["added"] + row["removed"] + row["changed"] + sum(
                len(row[w][k]) for w in ("indexes", "options") for k in ("added", "removed", "changed"))
            if changes or row["presence"] != "both":
                total["changed_collections"] += 1
        self.assertEqual(totals, dict(collections=len(self.expected), old_md5=totals["old_md5"],
                                      new_md5=totals["new_md5"], **total))

    def test_rows_ids_and_totals_are_what_gen_py_computes_with_pymongo(self):
        self.assertGreater(len(self.expected["auth0.users"]["added"]), 10)
        for ids in (True, False):
            items = []
            totals = a0backup.diff(self.old, self.new, PASSWORD, ids=ids, on_item=items.append)
            self.assert_diff(items, totals, ids)
            self.assertEqual((totals["old_md5"], totals["new_md5"]), (None, None))
        old_md5, new_md5 = md5_of(self.old), md5_of(self.new)
        totals = a0backup.diff(self.old, self.new, PASSWORD, old_md5=old_md5, new_md5=new_md5)
        self.assertEqual((totals["old_md5"], totals["new_md5"]), (old_md5, new_md5))
        self.assertEqual(list(totals), ["collections", "changed_collections", "added", "removed", "changed",
                                        "unchanged", "old_md5", "new_md5"])

        items = []
        one = a0backup.diff(self.old, self.new, PASSWORD, collection="auth0.users", ids=True, on_item=items.append)
        want = self.expected["auth0.users"]
        self.assertEqual((one["collections"], one["added"], one["removed"], one["changed"], one["unchanged"]),
                         (1, len(want["added"]), len(want["removed"]), len(want["changed"]), want["unchanged"]))
        self.assertTrue(all(i["collection"] == "auth0.users" for i in items))
        self.assertEqual(len(items), 1 + len(want["added"]) + len(want["removed"]) + len(want["changed"]))

    def test_errors_and_cancels(self):
        for args, kwargs, code in [
            ((self.old, self.new, "wrong"), {}, a0backup.ERR_WRONG_PASSWORD),
            ((self.old, self.new, PASSWORD), {"collection": "auth0.nope"}, a0backup.ERR_INVALID_ARGUMENT),
            ((self.old, self.new, PASSWORD), {"old_md5": md5_of(self.new)}, a0backup.ERR_CHECKSUM_MISMATCH),
        ]:
            with self.assertRaises(a0backup.A0BackupError) as cm:
                a0backup.diff(*args, **kwargs)
            self.assertEqual(cm.exception.code, code, str(cm.exception))
        calls = []

        def stop_at_3(item):
            calls.append(item)
            return len(calls) < 3

        with self.assertRaises(a0backup.A0BackupError) as cm:
            a0backup.diff(self.old, self.new, PASSWORD, ids=True, on_item=stop_at_3)
        self.assertEqual((cm.exception.code, len(calls)), (a0backup.ERR_CANCELLED, 3))

        class Boom(Exception):
            pass

        def boom(item):
            raise Boom(item)

        with self.assertRaises(Boom):
            a0backup.diff(self.old, self.new, PASSWORD, on_item=boom)


if __name__ == "__main__":
    unittest.main()
