"""Tests of the installed a0backup package (examples/run-tests.sh installs it into a venv and
runs them from outside the source tree):

    python -m unittest discover -s examples/python/tests -v

The library is the one the package loads (the copy in the wheel, when the environment names none;
see the package's docstring).
"""

import hashlib
import io
import json
import os
import random
import re
import shutil
import tempfile
import unittest

import a0backup
from a0backup import A0BackupError

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
SAMPLE_DIR = os.path.join(DATA, "sample-backup")
SAMPLE = os.path.join(SAMPLE_DIR, "backup-retrieve.tar.gz.enc")
SAMPLE_PASSWORD = "Passw0rd"


def sample_md5():
    # The sample's backup-status record lacks a comma, so it is not JSON: take the md5 by regex.
    with open(os.path.join(SAMPLE_DIR, "backup-status.txt"), encoding="utf-8") as f:
        m = re.search(r'"md5"\s*:\s*"([0-9a-fA-F]{32})"', f.read())
    assert m, "backup-status.txt has an md5"
    return m.group(1).lower()


def manifest():
    entries = []
    with open(os.path.join(SAMPLE_DIR, "manifest.sha256"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                m = re.match(r"^([0-9a-f]{64})\s+\*?(.+)$", line.rstrip("\n"))
                assert m, "manifest line %r" % line
                entries.append((m.group(1), m.group(2)))
    return entries


def list_files(d):
    out = []
    for dirpath, _dirs, files in os.walk(d):
        for f in files:
            out.append(os.path.relpath(os.path.join(dirpath, f), d).replace(os.sep, "/"))
    return sorted(out)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def pattern(n):
    return bytes(i % 251 for i in range(n))


class TempDirTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="a0b-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def assertCode(self, code, fn, *args, **kwargs):
        with self.assertRaises(A0BackupError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code, code, "%s: %s" % (cm.exception.code_name, cm.exception.message))
        self.assertTrue(cm.exception.message, "the error carries the library's message")
        return cm.exception


class KeyDerivationTest(unittest.TestCase):
    def test_version(self):
        self.assertRegex(a0backup.version(), r"^\d+\.\d+\.\d+")

    def test_sample_password(self):
        key, iv = a0backup.derive_key_iv("Passw0rd")
        self.assertEqual(key.hex(), "d41e98d1eafa6d6011d3a70f1a5b92f0ca0848e5cd053ce643c911dd09e1cf66")
        self.assertEqual(iv.hex(), "80634de08f03f93fc474b440533efcee")
        self.assertEqual(a0backup.derive_key_iv(b"Passw0rd"), (key, iv))

    def test_createcipher_vectors(self):
        """Every vector Node's createCipher/createCipheriv made (tests/data/createcipher-vectors.json)."""
        with open(os.path.join(DATA, "createcipher-vectors.json"), encoding="utf-8") as f:
            vectors = json.load(f)["vectors"]
        with_password = [v for v in vectors if "password_hex" in v]
        self.assertGreater(len(with_password), 5)
        for v in vectors:
            with self.subTest(v["name"]):
                plain = pattern(v["plaintext_len"])
                self.assertEqual(hashlib.md5(plain).hexdigest(), v["plaintext_md5"])
                if "password_hex" in v:
                    pw = bytes.fromhex(v["password_hex"])
                    key, iv = a0backup.derive_key_iv(pw)
                    self.assertEqual(key.hex(), v["key_hex"])
                    self.assertEqual(iv.hex(), v["iv_hex"])
                    if "password_utf8" in v:
                        self.assertEqual(a0backup.derive_key_iv(v["password_utf8"]), (key, iv))
                    cipher = a0backup.Cipher(pw)
                else:
                    cipher = a0backup.Cipher(key=bytes.fromhex(v["key_hex"]), iv=bytes.fromhex(v["iv_hex"]))
                with cipher:
                    buf = bytearray(plain)
                    cipher.apply(buf)
                    self.assertEqual(hashlib.md5(buf).hexdigest(), v["ciphertext_md5"])
                    if "ciphertext_hex" in v:
                        self.assertEqual(buf.hex(), v["ciphertext_hex"])
                    if "ciphertext_tail_hex" in v:
                        self.assertTrue(buf.hex().endswith(v["ciphertext_tail_hex"]))
                        self.assertTrue(buf.hex().startswith(v["ciphertext_head_hex"]))
                    # Uneven chunks and a seek give the same keystream.
                    if len(plain) > 1:
                        rng = random.Random(v["name"])
                        cipher.seek(0)
                        chunked = bytearray(plain)
                        view = memoryview(chunked)
                        off = 0
                        while off < len(chunked):
                            n = min(len(chunked) - off, rng.randint(1, 4099))
                            cipher.apply(view[off:off + n])
                            off += n
                        view.release()
                        self.assertEqual(chunked, buf)
                        at = rng.randrange(len(plain))
                        self.assertEqual(cipher.seek(at).apply(plain[at:]), bytes(buf[at:]))


class SampleBackupTest(TempDirTestCase):
    def check_manifest(self, dest):
        entries = manifest()
        self.assertTrue(entries)
        for want, name in entries:
            self.assertEqual(sha256(os.path.join(dest, name)), want, name)
        self.assertEqual(list_files(dest), sorted(name for _, name in entries), "no file beyond the manifest")

    def test_check_sample_writes_nothing(self):
        before = sorted(os.listdir(self.path(".")))
        report = a0backup.check(SAMPLE, SAMPLE_PASSWORD, expected_md5=sample_md5())
        self.assertTrue(report["restorable"])
        self.assertTrue(report["collections_ok"])
        names = {(c["database"], c["collection"]) for c in report["collections"]}
        self.assertIn(("auth0", "users"), names)
        # The restored files agree on the document bytes the report counts.
        dest = self.path("checked-restore")
        a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD)
        users = [c for c in report["collections"] if c["collection"] == "users"][0]
        size = os.path.getsize(os.path.join(dest, "dump", "auth0", "users.bson"))
        self.assertEqual(users["bytes"], size)
        self.assertEqual(sorted(os.listdir(self.path("."))), sorted(before + ["checked-restore"]))
        self.assertCode(a0backup.ERR_CHECKSUM_MISMATCH, a0backup.check, SAMPLE, SAMPLE_PASSWORD,
                        expected_md5="0" * 32)

    def test_restore_sample(self):
        md5 = sample_md5()
        self.assertEqual(a0backup.md5_file(SAMPLE), md5)
        dest = self.path("restore")
        seen = []
        a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD, expected_md5=md5,
                         on_progress=lambda done, total: seen.append((done, total)))
        self.check_manifest(dest)
        self.assertTrue(seen, "progress was reported")
        self.assertEqual(seen[-1][0], os.path.getsize(SAMPLE))
        # A non-empty destination stays unless replace is set, and the message says so in
        # neutral words (no command-line option).
        e = self.assertCode(a0backup.ERR_ALREADY_EXISTS, a0backup.restore, SAMPLE, dest, SAMPLE_PASSWORD)
        self.assertEqual(e.message, "%s already exists; choose a new destination or allow replacing it" % dest)
        self.assertCode(a0backup.ERR_ALREADY_EXISTS, a0backup.restore, SAMPLE, dest, SAMPLE_PASSWORD, replace=False)
        a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD.encode(), expected_md5=md5, replace=True)
        self.check_manifest(dest)

    def test_overwrite_is_the_deprecated_name_of_replace(self):
        dest = self.path("restore")
        a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD)
        for call in (
            lambda **kw: a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD, **kw),
            lambda **kw: a0backup.decrypt_file(SAMPLE, self.path("out.tar.gz"), SAMPLE_PASSWORD, **kw),
            lambda **kw: a0backup.encrypt_file(SAMPLE, self.path("out.enc"), "pw", **kw),
            lambda **kw: a0backup.pack(os.path.join(dest, "dump"), self.path("out.tgz"), None, **kw),
            lambda **kw: a0backup.restore_stream(read(SAMPLE), dest, SAMPLE_PASSWORD, **kw),
        ):
            call(replace=True)  # the output exists now: only replace (or overwrite) goes on
            self.assertCode(a0backup.ERR_ALREADY_EXISTS, call)
            with self.assertWarns(DeprecationWarning) as w:
                call(overwrite=True)
            self.assertIn("use `replace`", str(w.warning))
            self.assertEqual(w.filename, __file__, "the warning points at the caller")
            with self.assertRaises(TypeError):
                call(overwrite=True, replace=False)
            with self.assertWarns(DeprecationWarning):
                self.assertCode(a0backup.ERR_ALREADY_EXISTS, call, overwrite=False)
            call(replace=True)
        self.check_manifest(dest)

    def test_checksum_mismatch(self):
        wrong = "0" * 32 if sample_md5() != "0" * 32 else "1" * 32
        dest = self.path("restore")
        self.assertCode(a0backup.ERR_CHECKSUM_MISMATCH, a0backup.restore, SAMPLE, dest, SAMPLE_PASSWORD,
                        expected_md5=wrong)
        self.assertCode(a0backup.ERR_CHECKSUM_MISMATCH, a0backup.decrypt_file, SAMPLE, self.path("out"),
                        SAMPLE_PASSWORD, expected_md5=wrong)
        self.assertEqual(os.listdir(self.dir), [])

    def test_decrypt_sample(self):
        out = self.path("backup-retrieve.tar.gz")
        a0backup.decrypt_file(SAMPLE, out, SAMPLE_PASSWORD, expected_md5=sample_md5(), expect_gzip=True,
                              format="node")
        self.assertEqual(read(out)[:2], b"\x1f\x8b")

    def test_wrong_password(self):
        out = self.path("out.tar.gz")
        self.assertCode(a0backup.ERR_WRONG_PASSWORD, a0backup.decrypt_file, SAMPLE, out, "Passw0rd!",
                        expect_gzip=True)
        self.assertCode(a0backup.ERR_WRONG_PASSWORD, a0backup.restore, SAMPLE, self.path("dest"), "wrong")
        self.assertEqual(os.listdir(self.dir), [], "nothing left behind")

    def test_cancel_from_progress(self):
        dest = self.path("dest")
        calls = []

        def cancel(done, total):
            calls.append((done, total))
            return False

        self.assertCode(a0backup.ERR_CANCELLED, a0backup.restore, SAMPLE, dest, SAMPLE_PASSWORD, on_progress=cancel)
        self.assertEqual(len(calls), 1, "no call after the cancel")
        self.assertFalse(os.path.exists(dest))
        self.assertEqual(os.listdir(self.dir), [], "no staging directory left")
        # A cancelled restore over an existing destination leaves it as it was.
        a0backup.restore(SAMPLE, dest, SAMPLE_PASSWORD)
        before = {f: sha256(os.path.join(dest, f)) for f in list_files(dest)}
        write(os.path.join(dest, "mine.txt"), b"mine")
        self.assertCode(a0backup.ERR_CANCELLED, a0backup.restore, SAMPLE, dest, SAMPLE_PASSWORD, replace=True,
                        on_progress=cancel)
        self.assertEqual(read(os.path.join(dest, "mine.txt")), b"mine")
        self.assertEqual({f: sha256(os.path.join(dest, f)) for f in list_files(dest) if f != "mine.txt"}, before)
        self.assertEqual(os.listdir(self.dir), ["dest"], "no staging directory left")

    def test_exception_in_progress_cancels_and_propagates(self):
        class Stop(Exception):
            pass

        def boom(done, total):
            raise Stop("stop here")

        with self.assertRaises(Stop):
            a0backup.restore(SAMPLE, self.path("dest"), SAMPLE_PASSWORD, on_progress=boom)
        self.assertEqual(os.listdir(self.dir), [])

    def test_cancel_midway_keeps_existing_output(self):
        src = self.path("big.enc")
        write(src, os.urandom(8 << 20))
        out = self.path("big.out")
        write(out, b"keep me")
        last = []

        def halfway(done, total):
            last.append(done)
            return done < (4 << 20)

        self.assertCode(a0backup.ERR_CANCELLED, a0backup.decrypt_file, src, out, "pw", replace=True,
                        on_progress=halfway)
        self.assertTrue(0 < last[-1] < (8 << 20), last[-1])
        self.assertEqual(read(out), b"keep me")
        self.assertEqual(sorted(os.listdir(self.dir)), ["big.enc", "big.out"], "no temporary file left")


class RoundTripTest(TempDirTestCase):
    def make_tree(self):
        dump = self.path("src", "dump")
        os.makedirs(os.path.join(dump, "auth0"))
        os.makedirs(os.path.join(dump, "empty"))
        write(os.path.join(dump, "auth0", "users.bson"), os.urandom(70_000))
        write(os.path.join(dump, "auth0", "users.metadata.json"), b'{"indexes":[]}')
        write(os.path.join(dump, "\u00fcn\u00efcode name.txt"), "h\u00e9llo".encode())
        return dump

    def test_pack_then_restore(self):
        dump = self.make_tree()
        packed = self.path("backup-retrieve.tar.gz.enc")
        progress = []
        md5 = a0backup.pack(dump, packed, "p\u00e455", level=1, on_progress=lambda d, t: progress.append(d))
        self.assertRegex(md5, r"^[0-9a-f]{32}$")
        self.assertEqual(md5, hashlib.md5(read(packed)).hexdigest())
        self.assertEqual(md5, a0backup.md5_file(packed))
        dest = self.path("dest")
        a0backup.restore(packed, dest, "p\u00e455", expected_md5=md5)
        # Like `tar czf backup.tar.gz dump`: the directory's name is the archive's top entry.
        self.assertEqual(list_files(dest), list_files(self.path("src")))
        for f in list_files(dest):
            self.assertEqual(read(os.path.join(dest, f)), read(os.path.join(self.path("src"), f)), f)
        self.assertTrue(os.path.isdir(os.path.join(dest, "dump", "empty")))
        self.assertCode(a0backup.ERR_ALREADY_EXISTS, a0backup.pack, dump, packed, "p\u00e455")
        self.assertTrue(progress, "pack reports progress")
        self.assertEqual(progress[-1], 70_000 + 14 + len("h\u00e9llo".encode()))
        self.assertCode(a0backup.ERR_CANCELLED, a0backup.pack, dump, self.path("p3.enc"), "pw",
                        on_progress=lambda d, t: False)
        self.assertFalse(os.path.exists(self.path("p3.enc")))
        self.assertCode(a0backup.ERR_WRONG_PASSWORD, a0backup.restore, packed, self.path("d2"), "p\u00e456")

    def test_pack_unencrypted(self):
        dump = self.make_tree()
        out = self.path("plain.tar.gz")
        md5 = a0backup.pack(dump, out, None)
        self.assertEqual(read(out)[:2], b"\x1f\x8b")
        self.assertEqual(md5, hashlib.md5(read(out)).hexdigest())

    def test_encrypt_decrypt_formats(self):
        plain = os.urandom(100_003)
        src = self.path("plain")
        write(src, plain)
        for fmt in ("node", "openssl-md5", "openssl-pbkdf2"):
            with self.subTest(fmt):
                enc = self.path(fmt + ".enc")
                a0backup.encrypt_file(src, enc, "\u5bc6\u7801", format=fmt, pbkdf2_iterations=1000)
                data = read(enc)
                self.assertEqual(data[:8] == b"Salted__", fmt != "node")
                out = self.path(fmt + ".out")
                a0backup.decrypt_file(enc, out, "\u5bc6\u7801", format=fmt, pbkdf2_iterations=1000)
                self.assertEqual(read(out), plain)
                if fmt == "node":
                    # The Node format is the keystream of derive_key_iv, byte for byte.
                    with a0backup.Cipher("\u5bc6\u7801") as c:
                        self.assertEqual(c.apply(data), plain)

    def test_empty_password_and_empty_file(self):
        src = self.path("empty")
        write(src, b"")
        a0backup.encrypt_file(src, self.path("empty.enc"), "")
        self.assertEqual(read(self.path("empty.enc")), b"")
        a0backup.decrypt_file(self.path("empty.enc"), self.path("empty.out"), b"", format="node")
        self.assertEqual(read(self.path("empty.out")), b"")
        src2 = self.path("one")
        write(src2, b"x")
        a0backup.encrypt_file(src2, self.path("one.enc"), "")
        with a0backup.Cipher("") as c:
            self.assertEqual(c.apply(read(self.path("one.enc"))), b"x")


class InvalidArgumentTest(TempDirTestCase):
    def test_null_and_invalid_paths(self):
        E = a0backup.ERR_INVALID_ARGUMENT
        out = self.path("out")
        for bad in (None, "", b"/tmp/not-utf8-\xff\xfe"):
            with self.subTest(bad):
                self.assertCode(E, a0backup.md5_file, bad)
                self.assertCode(E, a0backup.decrypt_file, bad, out, "pw")
                self.assertCode(E, a0backup.decrypt_file, SAMPLE, bad, "pw")
                self.assertCode(E, a0backup.encrypt_file, bad, out, "pw")
                self.assertCode(E, a0backup.restore, bad, self.path("dest"), SAMPLE_PASSWORD)
                self.assertCode(E, a0backup.restore, SAMPLE, bad, SAMPLE_PASSWORD)
                self.assertCode(E, a0backup.pack, bad, out, None)
                self.assertCode(E, a0backup.pack, self.dir, bad, None)
        self.assertEqual(os.listdir(self.dir), [])

    def test_other_invalid_arguments(self):
        E = a0backup.ERR_INVALID_ARGUMENT
        out = self.path("out")
        self.assertCode(E, a0backup.decrypt_file, SAMPLE, out, None)  # a NULL password
        self.assertCode(E, a0backup.derive_key_iv, None)
        self.assertCode(E, a0backup.decrypt_file, SAMPLE, out, "pw", expected_md5="not hex")
        self.assertCode(E, a0backup.decrypt_file, SAMPLE, out, "pw", format=77)
        self.assertCode(E, a0backup.pack, self.dir, out, None, level=10)
        self.assertCode(E, a0backup.Cipher, key=b"\0" * 31, iv=b"\0" * 16)
        self.assertRaises(ValueError, a0backup.encrypt_file, SAMPLE, out, "pw", format="rot13")
        self.assertRaises(TypeError, a0backup.Cipher("pw").apply, memoryview(b"read-only"))
        c = a0backup.Cipher("pw")
        c.free()
        c.free()  # a second free is a no-op
        self.assertCode(E, c.apply, bytearray(4))
        self.assertEqual(os.listdir(self.dir), [])

    def test_io_error(self):
        self.assertCode(a0backup.ERR_IO, a0backup.md5_file, self.path("missing"))
        self.assertCode(a0backup.ERR_IO, a0backup.decrypt_file, self.path("missing"), self.path("out"), "pw")


class Md5Test(unittest.TestCase):
    def test_matches_hashlib(self):
        data = os.urandom(100_003)
        with a0backup.Md5() as h:
            h.update(data[:7]).update(b"").update(data[7:])
            self.assertEqual(h.hexdigest(), hashlib.md5(data).hexdigest())
            self.assertEqual(h.hexdigest(), hashlib.md5(b"").hexdigest(), "hexdigest() starts over")


class Trickle(io.RawIOBase):
    """A source that gives at most ``chunk`` bytes per read() and has no readinto of its own
    use (like a socket file), optionally failing at one call."""

    def __init__(self, data, chunk, fail_at=None):
        self.data, self.pos, self.chunk, self.fail_at, self.calls = data, 0, chunk, fail_at, 0

    def readable(self):
        return True

    def read(self, n=-1):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise ConnectionResetError("peer went away")
        n = min(n if n >= 0 else len(self.data), self.chunk, len(self.data) - self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    readinto = None  # read() only


class ShortWriter(io.RawIOBase):
    """A sink that takes at most ``chunk`` bytes per write(), as a raw file or socket may."""

    def __init__(self, chunk):
        self.chunk, self.out = chunk, bytearray()

    def writable(self):
        return True

    def write(self, b):
        n = min(len(b), self.chunk)
        self.out += bytes(b[:n])
        return n


class StreamTest(TempDirTestCase):
    def test_decrypt_a_file_object_into_a_file_object(self):
        md5 = sample_md5()
        out = io.BytesIO()
        with open(SAMPLE, "rb") as f:
            a0backup.decrypt_stream(f, out, SAMPLE_PASSWORD, expected_md5=md5, expect_gzip=True)
        a0backup.decrypt_file(SAMPLE, self.path("ref.tar.gz"), SAMPLE_PASSWORD)
        self.assertEqual(out.getvalue(), read(self.path("ref.tar.gz")))
        # From bytes, from a read()-only source in small pieces, into a writer taking 7 bytes a
        # call: the same plaintext.
        self.assertEqual(a0backup.decrypt_bytes(read(SAMPLE), SAMPLE_PASSWORD), out.getvalue())
        short = ShortWriter(7)
        progress = []
        a0backup.decrypt_stream(Trickle(read(SAMPLE), 1000), short, SAMPLE_PASSWORD, expected_md5=md5,
                                on_progress=lambda d, t: progress.append((d, t)))
        self.assertEqual(bytes(short.out), out.getvalue())
        self.assertTrue(progress and all(t == 0 for _, t in progress))
        self.assertCode(a0backup.ERR_WRONG_PASSWORD, a0backup.decrypt_bytes, read(SAMPLE), "wrong", expect_gzip=True)
        self.assertCode(a0backup.ERR_CHECKSUM_MISMATCH, a0backup.decrypt_bytes, read(SAMPLE), SAMPLE_PASSWORD,
                        expected_md5="f" * 32)

    def test_encrypt_bytes_and_streams(self):
        plain = a0backup.decrypt_bytes(read(SAMPLE), SAMPLE_PASSWORD)
        # The appliance's own bytes back, in the Node format, and their md5.
        self.assertEqual(a0backup.encrypt_bytes(plain, SAMPLE_PASSWORD), read(SAMPLE))
        out = io.BytesIO()
        self.assertEqual(a0backup.encrypt_stream(io.BytesIO(plain), out, SAMPLE_PASSWORD), sample_md5())
        data = os.urandom(100_003)
        for fmt in ("openssl-md5", "openssl-pbkdf2"):
            enc = a0backup.encrypt_bytes(data, "pw", format=fmt, pbkdf2_iterations=1000)
            self.assertEqual(enc[:8], b"Salted__")
            self.assertEqual(a0backup.decrypt_bytes(enc, "pw", format=fmt, pbkdf2_iterations=1000), data)
        self.assertEqual(a0backup.md5_stream(io.BytesIO(data)), hashlib.md5(data).hexdigest())
        self.assertEqual(a0backup.md5_stream(b""), hashlib.md5(b"").hexdigest())

    def test_restore_from_a_file_object(self):
        dest = self.path("dest")
        with open(SAMPLE, "rb") as f:
            a0backup.restore_stream(f, dest, SAMPLE_PASSWORD, expected_md5=sample_md5())
        SampleBackupTest.check_manifest(self, dest)
        a0backup.restore_stream(Trickle(read(SAMPLE), 999), self.path("d2"), SAMPLE_PASSWORD)
        SampleBackupTest.check_manifest(self, self.path("d2"))
        self.assertCode(a0backup.ERR_WRONG_PASSWORD, a0backup.restore_stream, read(SAMPLE), self.path("d3"), "no")
        self.assertEqual(sorted(os.listdir(self.dir)), ["d2", "dest"])

    def test_a_failing_source_or_sink_raises_its_error_and_leaves_nothing(self):
        source = Trickle(read(SAMPLE), 1000, fail_at=4)
        with self.assertRaises(ConnectionResetError):
            a0backup.restore_stream(source, self.path("dest"), SAMPLE_PASSWORD)
        self.assertEqual(source.calls, 4, "not called again after it raised")
        self.assertEqual(os.listdir(self.dir), [])

        class Full(io.RawIOBase):
            def writable(self):
                return True

            def write(self, b):
                raise OSError(28, "No space left on device")

        with self.assertRaises(OSError) as cm:
            a0backup.decrypt_stream(read(SAMPLE), Full(), SAMPLE_PASSWORD)
        self.assertEqual(cm.exception.errno, 28)
        self.assertRaises(TypeError, a0backup.decrypt_stream, "not bytes", io.BytesIO(), "pw")
        self.assertRaises(TypeError, a0backup.decrypt_stream, b"x", object(), "pw")

    def test_pack_into_a_file_object_then_restore_it(self):
        dump = RoundTripTest.make_tree(self)
        out = io.BytesIO()
        md5 = a0backup.pack_stream(dump, out, "p\u00e455", level=1)
        self.assertEqual(md5, hashlib.md5(out.getvalue()).hexdigest())
        dest = self.path("dest")
        a0backup.restore_stream(out.getvalue(), dest, "p\u00e455", expected_md5=md5)
        self.assertEqual(list_files(dest), list_files(self.path("src")))
        plain = io.BytesIO()
        a0backup.pack_stream(dump, plain, None)
        self.assertEqual(plain.getvalue()[:2], b"\x1f\x8b")


if __name__ == "__main__":
    unittest.main()
