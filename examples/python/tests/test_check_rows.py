"""check() streams the collections' rows (issue 21): a backup of 60,000 collections goes through
``on_collection`` (or iter_check) row by row, in the library's order, and the report keeps at
most ``max_collections`` of them, so a check runs in under 64 MiB whatever the backup holds.

The oracles are outside tools: GNU tar's listing of the archive (``tar -tzf``) for the rows, and
``openssl enc -aes-256-ctr`` with the key and IV of Node's createCipher (EVP_BytesToKey, MD5)
for the encryption. A missing tool fails the tests; it is never a skip.
"""

import gzip
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

import a0backup

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "tests", "data", "sample-backup", "backup-retrieve.tar.gz.enc")
)
PASSWORD = "Passw0rd"
N = 60000
# Every DAMAGED-th collection's .bson has a truncated second document (at offset 5).
DAMAGED = 7919
DOC = b"\x05\0\0\0\0"
MiB = 1 << 20
# The bound for a whole check process: the interpreter (about 18 MiB) and the library's
# table and buffers (about 26 MiB for this backup). Before the rows were streamed, this backup
# took about 170 MiB.
RSS_BOUND = 64 * MiB


def evp_bytes_to_key(password):
    """OpenSSL's EVP_BytesToKey(MD5, 1 round, no salt): Node createCipher's key and IV."""
    out, prev = b"", b""
    while len(out) < 48:
        prev = hashlib.md5(prev + password).digest()
        out += prev
    return out[:32], out[32:48]


def tool(name):
    path = shutil.which(name)
    if path is None:
        raise AssertionError("%s is not installed: it is an oracle of these tests" % name)
    return path


def make_backup(directory):
    """The backup of N collections, encrypted as the appliance does, and what GNU tar lists in
    it: (bson path, database, collection) per collection, in the library's order (directory,
    then file name)."""
    gz = os.path.join(directory, "many.tar.gz")
    with gzip.open(gz, "wb", compresslevel=1) as f, \
            tarfile.open(fileobj=f, mode="w|", format=tarfile.USTAR_FORMAT) as t:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            t.addfile(info, io.BytesIO(data))

        for i in range(N):
            d = "dump/tenant-database-number-%03d" % (i % 300)
            stem = "collection-with-a-rather-descriptive-name-%06d" % i
            add("%s/%s.bson" % (d, stem), DOC + b"\x05\0" if i % DAMAGED == 0 else DOC)
            add("%s/%s.metadata.json" % (d, stem), json.dumps({
                "options": {}, "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
                "collectionName": stem, "type": "collection",
            }).encode())
    enc = gz + ".enc"
    key, iv = evp_bytes_to_key(PASSWORD.encode())
    subprocess.run([tool("openssl"), "enc", "-aes-256-ctr", "-K", key.hex(), "-iv", iv.hex(), "-in", gz, "-out", enc],
                   check=True)
    listed = subprocess.run([tool("tar"), "-tzf", gz], check=True, stdout=subprocess.PIPE).stdout.decode()
    expected = []
    for name in listed.splitlines():
        if name.endswith(".bson"):
            d, _, base = name.rpartition("/")
            expected.append((d, base[:-len(".bson")], name))
    expected.sort(key=lambda e: (e[0].encode(), e[1].encode()))
    return enc, [(name, d.rpartition("/")[2], stem) for d, stem, name in expected]


# A child Python that checks FILE one way and prints its rows and its peak RSS (VmHWM: this
# process image's; getrusage's maxrss can start from the forking parent's).
CHILD = r"""
import json, re, sys
import a0backup
mode, path = sys.argv[1], sys.argv[2]
rows = 0
def each(row):
    global rows
    rows += 1
if mode == "each":
    report = a0backup.check(path, "Passw0rd", on_collection=each)
elif mode == "iter":
    with a0backup.iter_check(path, "Passw0rd") as it:
        for row in it:
            rows += 1
    report = it.report
else:
    report = a0backup.check(path, "Passw0rd")
rows += len(report["collections"])
with open("/proc/self/status") as f:
    hwm = int(re.search(r"^VmHWM:\s*(\d+) kB$", f.read(), re.M).group(1)) * 1024
print(json.dumps({"rows": rows, "total": report["totals"]["collections"], "peak": hwm}))
"""


def peak(mode, path):
    r = subprocess.run([sys.executable, "-c", CHILD, mode, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError("%s %s: %s" % (mode, path, r.stderr.decode(errors="replace")))
    return json.loads(r.stdout)


class CheckRowsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="a0b-py-rows-")
        cls.enc, cls.expected = make_backup(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_rows(self, rows):
        self.assertEqual(len(rows), N, "one on_collection call per collection")
        self.assertEqual([(r["bson_path"], r["database"], r["collection"]) for r in rows], self.expected,
                         "the rows are the archive's collections, in order")
        damaged = [r for r in rows if r["error"] is not None]
        self.assertEqual([r["collection"] for r in damaged],
                         [c for _p, _d, c in self.expected if int(c[-6:]) % DAMAGED == 0])
        for r in damaged:
            self.assertEqual((r["error"]["path"], r["error"]["document"], r["error"]["offset"]), (r["bson_path"], 1, 5))
        self.assertTrue(all(r["bson"] and r["metadata"] and r["indexes"] == 1 and r["orphan"] is None for r in rows))
        return len(damaged)

    def assert_summary(self, report, damaged):
        self.assertTrue(report["restorable"])
        self.assertFalse(report["collections_ok"], "damaged collections")
        self.assertEqual(report["totals"]["collections"], N)
        self.assertEqual(report["totals"]["damaged"], damaged)
        self.assertEqual(report["totals"]["documents"], N)

    def test_on_collection_gets_every_row_as_tar_lists_them(self):
        rows = []
        report = a0backup.check(self.enc, PASSWORD, on_collection=rows.append)
        damaged = self.assert_rows(rows)
        self.assertGreater(damaged, 5)
        self.assert_summary(report, damaged)
        self.assertEqual((report["collections"], report["collections_omitted"]), ([], 0))

        # Without on_collection: the first max_collections rows, and the count of the others.
        capped = a0backup.check(self.enc, PASSWORD)
        self.assertEqual(a0backup.DEFAULT_MAX_COLLECTIONS, 1000)
        self.assertEqual(capped["collections"], rows[:1000])
        self.assertEqual(capped["collections_omitted"], N - 1000)
        self.assert_summary(capped, damaged)
        none = a0backup.check(self.enc, PASSWORD, max_collections=0)
        self.assertEqual((none["collections"], none["collections_omitted"]), ([], N))
        self.assertEqual(a0backup.check(self.enc, PASSWORD, max_collections=math.inf)["collections"], rows)
        with self.assertRaises(ValueError):
            a0backup.check(self.enc, PASSWORD, max_collections=-1)

        # False stops the check; an exception stops it and comes back.
        calls = []

        def stop_at_10(row):
            calls.append(row)
            return len(calls) < 10

        with self.assertRaises(a0backup.A0BackupError) as cm:
            a0backup.check(self.enc, PASSWORD, on_collection=stop_at_10)
        self.assertEqual((cm.exception.code, len(calls)), (a0backup.ERR_CANCELLED, 10))

        class Boom(Exception):
            pass

        def boom(row):
            raise Boom(row["collection"])

        with self.assertRaises(Boom):
            a0backup.check(self.enc, PASSWORD, on_collection=boom)

    def test_iter_check_yields_the_rows_through_a_bounded_queue(self):
        with a0backup.iter_check(self.enc, PASSWORD, queue_size=8) as it:
            self.assertIsNone(it.report)
            rows = list(it)
        damaged = self.assert_rows(rows)
        self.assert_summary(it.report, damaged)
        self.assertEqual(it.report["collections"], [])

        # Closed early: the check is cancelled and its thread ends.
        before = threading.active_count()
        it = a0backup.iter_check(self.enc, PASSWORD, queue_size=4)
        first = [next(it) for _ in range(3)]
        self.assertEqual([r["bson_path"] for r in first], [e[0] for e in self.expected[:3]])
        self.assertEqual(threading.active_count(), before + 1)
        # The producer waits on the full queue: at most queue_size rows ahead.
        time.sleep(0.3)
        self.assertLessEqual(it._rows.queue.qsize(), 4)
        it.close()
        self.assertEqual(threading.active_count(), before)
        self.assertRaises(StopIteration, next, it)

        # Dropped without close(): the same.
        it = a0backup.iter_check(self.enc, PASSWORD, queue_size=4)
        next(it)
        del it
        deadline = time.monotonic() + 10
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(threading.active_count(), before)

        # The check's error comes out of next().
        with self.assertRaises(a0backup.A0BackupError) as cm:
            list(a0backup.iter_check(self.enc, "wrong"))
        self.assertEqual(cm.exception.code, a0backup.ERR_WRONG_PASSWORD)
        with self.assertRaises(TypeError):
            a0backup.iter_check(self.enc, PASSWORD, on_collection=print)
        with self.assertRaises(ValueError):
            a0backup.iter_check(self.enc, PASSWORD, queue_size=0)

    def test_peak_rss_stays_under_64_mib(self):
        for mode in ("each", "keep", "iter"):
            small = peak(mode, SAMPLE)
            many = peak(mode, self.enc)
            self.assertEqual((small["total"], many["total"]), (5, N))
            self.assertEqual(many["rows"], N if mode != "keep" else a0backup.DEFAULT_MAX_COLLECTIONS)
            print("%s: peak RSS %.1f MiB for 5 collections, %.1f MiB for %d"
                  % (mode, small["peak"] / MiB, many["peak"] / MiB, N), file=sys.stderr)
            self.assertLess(many["peak"], RSS_BOUND, "%s: %d collections took %.1f MiB" % (mode, N, many["peak"] / MiB))


if __name__ == "__main__":
    unittest.main()
