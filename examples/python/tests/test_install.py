"""The package as installed from its wheel: imported from site-packages (not the source tree), with
the C library inside, and the loader's order (A0BACKUP_LIB, the bundled library, the system's by
its soname, ctypes.util.find_library) and its error, which lists each place tried."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest
from importlib import metadata

import a0backup

SOURCE_TREE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ROOT = os.path.normpath(os.path.join(SOURCE_TREE, "..", ".."))
SAMPLE_DIR = os.path.join(ROOT, "tests", "data", "sample-backup")
SAMPLE = os.path.join(SAMPLE_DIR, "backup-retrieve.tar.gz.enc")
PACKAGE_DIR = os.path.dirname(os.path.abspath(a0backup.__file__))
BUNDLED = os.path.join(PACKAGE_DIR, a0backup._LIB_NAME)

# Restores and checks the sample, then says which library did it and what is mapped.
PROBE = """
import a0backup, json, os, sys
dest = os.path.join(os.getcwd(), "restored")
a0backup.restore(sys.argv[1], dest, "Passw0rd")
report = a0backup.check(sys.argv[1], "Passw0rd")
with open("/proc/self/maps") as f:
    mapped = sorted({l[l.index("/"):].strip() for l in f if "/" in l and "liba0backup" in l})
print(json.dumps({"path": a0backup.library_path(), "restorable": report["restorable"],
                  "files": sum(len(fs) for _, _, fs in os.walk(dest)), "mapped": mapped}))
"""


def run_python(code, *args, env_lib=None, ld_path=None):
    """Runs ``code`` in a fresh interpreter of this environment, from an empty directory, with
    A0BACKUP_LIB and LD_LIBRARY_PATH as given (unset when None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("A0BACKUP_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    if env_lib is not None:
        env["A0BACKUP_LIB"] = env_lib
    if ld_path is not None:
        env["LD_LIBRARY_PATH"] = ld_path
    with tempfile.TemporaryDirectory(prefix="a0b-py-cwd-") as cwd:
        return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, check=False)


def soname_of(path):
    r = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
    m = re.search(r"Library soname: \[([^\]]+)\]", r.stdout)
    return m.group(1) if m else None


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class InstalledPackageTest(unittest.TestCase):
    def test_imported_from_the_installed_package(self):
        site = os.path.realpath(sysconfig.get_paths()["platlib"])
        self.assertEqual(os.path.commonpath([os.path.realpath(PACKAGE_DIR), site]), site,
                         "a0backup comes from site-packages, not %s" % PACKAGE_DIR)
        self.assertFalse(os.path.realpath(PACKAGE_DIR).startswith(os.path.realpath(SOURCE_TREE) + os.sep))

    def test_version_is_the_librarys(self):
        # pyproject.toml's version is kept with Cargo.toml's: the package wraps that library.
        self.assertEqual(metadata.version("a0backup"), a0backup.version())
        major, minor = a0backup.version().split(".")[:2]
        self.assertEqual(a0backup.ABI_VERSION, "0.%s" % minor if major == "0" else major)

    def test_a_platform_wheel_with_the_library_and_the_licenses(self):
        dist = metadata.distribution("a0backup")
        wheel = dist.read_text("WHEEL")
        self.assertIn("Root-Is-Purelib: false", wheel)
        self.assertRegex(wheel, r"(?m)^Tag: py3-none-(manylinux|linux)_[0-9a-z_]+$")
        files = {str(f) for f in dist.files}
        self.assertIn("a0backup/%s" % a0backup._LIB_NAME, files)
        self.assertTrue(os.path.isfile(BUNDLED))
        self.assertEqual(soname_of(BUNDLED), a0backup.SONAME)
        self.assertEqual(metadata.metadata("a0backup")["License-Expression"], "MIT OR Apache-2.0")
        for name in ("LICENSE-MIT", "LICENSE-APACHE"):
            (installed,) = [f for f in dist.files if f.name == name]
            with open(os.path.join(ROOT, name), encoding="utf-8") as f:
                self.assertEqual(installed.read_text(), f.read(), name)

    def test_the_bundled_library_is_the_one_loaded(self):
        env = os.environ.get("A0BACKUP_LIB")
        want = os.path.abspath(env) if env else BUNDLED
        self.assertEqual(a0backup.library_path(), want)
        with open("/proc/self/maps", encoding="utf-8") as f:
            mapped = {line[line.index("/"):].strip() for line in f if "/" in line and "liba0backup" in line}
        self.assertEqual(mapped, {os.path.realpath(want)}, "no other liba0backup in this process")


class LoaderTest(unittest.TestCase):
    """Each case in a fresh interpreter, from an empty directory, with the bundled library
    present, set aside, or replaced by a file that is not a library."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="a0b-py-loader-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.real = os.path.realpath(a0backup.library_path())
        # A system library by its soname, in a directory LD_LIBRARY_PATH names (as after
        # `make install PREFIX=...` to a prefix outside the loader's cache).
        self.system_dir = os.path.join(self.tmp, "system")
        os.mkdir(self.system_dir)
        self.system = os.path.join(self.system_dir, a0backup.SONAME)
        shutil.copyfile(self.real, self.system)

    def set_bundled_aside(self, replacement=None):
        aside = BUNDLED + ".aside"
        os.rename(BUNDLED, aside)
        self.addCleanup(os.replace, aside, BUNDLED)
        if replacement is not None:
            with open(BUNDLED, "wb") as f:
                f.write(replacement)

    def loaded(self, **kwargs):
        r = run_python(PROBE, SAMPLE, **kwargs)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertTrue(out["restorable"])
        self.assertGreater(out["files"], 5)
        self.assertEqual(out["mapped"], [os.path.realpath(out["path"])], "one library, the one named")
        return out["path"]

    def failed(self, **kwargs):
        r = run_python("import a0backup", **kwargs)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("a0backup.LibraryNotFoundError: a0backup: could not load the a0backup C library. "
                      "Tried, in order:\n", r.stderr)
        self.assertNotIn("--", r.stderr.split("LibraryNotFoundError")[-1], "no command-line options in its words")
        return r.stderr[r.stderr.index("Tried, in order:"):]

    def test_the_bundled_library_comes_before_the_systems(self):
        self.assertEqual(self.loaded(ld_path=self.system_dir), BUNDLED)

    def test_a0backup_lib_comes_first_and_alone(self):
        mine = os.path.join(self.tmp, "liba0backup-mine.so")
        shutil.copyfile(self.real, mine)
        self.assertEqual(self.loaded(env_lib=mine, ld_path=self.system_dir), mine)
        missing = os.path.join(self.tmp, "no-such-dir", "liba0backup.so")
        err = self.failed(env_lib=missing, ld_path=self.system_dir)
        self.assertIn("\n  1. A0BACKUP_LIB=%s: no such file\n" % missing, err)
        self.assertNotIn("\n  2.", err, "nothing else is tried when A0BACKUP_LIB is set")
        self.assertIn("A0BACKUP_LIB, when set, is the only place tried", err)
        not_a_library = os.path.join(self.tmp, "liba0backup-text.so")
        with open(not_a_library, "w") as f:
            f.write("not ELF")
        err = self.failed(env_lib=not_a_library)
        self.assertIn("\n  1. A0BACKUP_LIB=%s: " % not_a_library, err)
        self.assertNotIn("no such file", err)

    def test_the_system_library_by_its_soname(self):
        self.set_bundled_aside()
        self.assertEqual(self.loaded(ld_path=self.system_dir), self.system)

    def test_a_bundled_file_that_does_not_load_is_reported_and_passed(self):
        self.set_bundled_aside(replacement=b"not ELF")
        self.assertEqual(self.loaded(ld_path=self.system_dir), self.system)
        err = self.failed()
        self.assertIn("\n  2. the library bundled in the package, %s: " % BUNDLED, err)
        self.assertNotIn("not in this installation", err)

    def test_nothing_anywhere_lists_every_place(self):
        self.set_bundled_aside()
        err = self.failed()
        lines = err.splitlines()
        self.assertEqual(lines[1], "  1. A0BACKUP_LIB: not set")
        self.assertEqual(lines[2], "  2. the library bundled in the package, %s: not in this installation "
                                   "(a wheel built for this platform has it)" % BUNDLED)
        self.assertTrue(lines[3].startswith("  3. the system's %s, through the dynamic loader (LD_LIBRARY_PATH"
                                            % a0backup.SONAME), lines[3])
        self.assertTrue(lines[4].startswith("  4. ctypes.util.find_library('a0backup'): "), lines[4])
        self.assertTrue(lines[5].startswith("Install a wheel built for this platform"), lines[5])


if __name__ == "__main__":
    unittest.main()
