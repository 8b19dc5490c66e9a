"""The package as installed: imported from site-packages (not the source tree), and finding the C
library through A0BACKUP_LIB or a copy next to the package, with one clear error without both."""

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import a0backup

SOURCE_TREE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SAMPLE = os.path.join(SOURCE_TREE, "..", "..", "tests", "data", "sample-backup", "backup-retrieve.tar.gz.enc")
PACKAGE_DIR = os.path.dirname(os.path.abspath(a0backup.__file__))
BESIDE = os.path.join(PACKAGE_DIR, a0backup._LIB_NAME)

PROBE = "import a0backup, sys; print(a0backup.library_path()); print(a0backup.md5_file(sys.argv[1]))"


def run_python(code, *args, env_lib=None):
    """Runs ``code`` in a fresh interpreter of this environment, from an empty directory, with
    A0BACKUP_LIB set to ``env_lib`` (unset when None)."""
    env = {k: v for k, v in os.environ.items() if k not in ("A0BACKUP_LIB", "PYTHONPATH")}
    if env_lib is not None:
        env["A0BACKUP_LIB"] = env_lib
    with tempfile.TemporaryDirectory(prefix="a0b-py-cwd-") as cwd:
        return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                              capture_output=True, text=True, check=False)


class InstalledPackageTest(unittest.TestCase):
    def setUp(self):
        # A copy a developer put next to the package before installing it would make the lookup
        # tests meaningless: set it aside for the test.
        if os.path.exists(BESIDE):
            aside = BESIDE + ".aside"
            os.rename(BESIDE, aside)
            self.addCleanup(os.rename, aside, BESIDE)

    def test_imported_from_the_installed_package(self):
        site = os.path.realpath(sysconfig.get_paths()["purelib"])
        self.assertEqual(os.path.commonpath([os.path.realpath(PACKAGE_DIR), site]), site,
                         "a0backup comes from site-packages, not %s" % PACKAGE_DIR)
        self.assertFalse(os.path.realpath(PACKAGE_DIR).startswith(os.path.realpath(SOURCE_TREE) + os.sep))

    def test_version_is_the_librarys(self):
        # pyproject.toml's version is kept with Cargo.toml's: the package wraps that library.
        from importlib.metadata import version

        self.assertEqual(version("a0backup"), a0backup.version())

    def test_library_from_the_environment_variable(self):
        lib = os.environ.get("A0BACKUP_LIB")
        self.assertTrue(lib, "the suite runs with A0BACKUP_LIB set (examples/run-tests.sh)")
        r = run_python(PROBE, SAMPLE, env_lib=lib)
        self.assertEqual(r.returncode, 0, r.stderr)
        path, md5 = r.stdout.split()
        self.assertEqual(path, os.path.abspath(lib))
        with open(SAMPLE, "rb") as f:
            self.assertEqual(md5, hashlib.md5(f.read()).hexdigest())

    def test_library_next_to_the_package(self):
        # The file itself, not a symlink: `make capi`'s liba0backup.so links to the versioned one.
        shutil.copyfile(os.environ["A0BACKUP_LIB"], BESIDE)
        self.addCleanup(os.remove, BESIDE)
        r = run_python(PROBE, SAMPLE)
        self.assertEqual(r.returncode, 0, r.stderr)
        path, md5 = r.stdout.split()
        self.assertEqual(path, BESIDE)
        with open(SAMPLE, "rb") as f:
            self.assertEqual(md5, hashlib.md5(f.read()).hexdigest())

    def test_no_library_names_both_places(self):
        r = run_python("import a0backup")
        self.assertNotEqual(r.returncode, 0)
        last = r.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("a0backup.LibraryNotFoundError: "), r.stderr)
        self.assertIn("A0BACKUP_LIB", last)
        self.assertIn(BESIDE, last)
        self.assertNotIn("--", last, "no command-line options in the package's words")

    def test_a_missing_file_in_the_environment_variable_is_named(self):
        missing = os.path.join(tempfile.gettempdir(), "a0b-no-such-dir", "liba0backup.so")
        r = run_python("import a0backup", env_lib=missing)
        self.assertNotEqual(r.returncode, 0)
        last = r.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("a0backup.LibraryNotFoundError: "), r.stderr)
        self.assertIn("A0BACKUP_LIB=" + missing, last)


if __name__ == "__main__":
    unittest.main()
