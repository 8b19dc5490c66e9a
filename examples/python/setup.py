"""Builds the a0backup C library into the package, with setuptools-rust (pyproject.toml).

The library is the a0backup crate's lib target built as a cdylib with the `capi` feature (what
`make capi` builds at the repository's root), with no Python binding: the package loads it with
ctypes. It is installed as ``a0backup/liba0backup.so`` (``.dylib``, ``a0backup.dll``), and the
wheel is a platform wheel tagged ``py3-none-<platform>``: it runs on any Python 3 (ctypes, no
CPython ABI), on the platform it was built for only. ``auditwheel repair`` gives it its
manylinux tag (examples/run-tests.sh).

Where the crate is:

- in the a0backup repository, ``../../Cargo.toml`` (``pip install examples/python``, ``pip
  wheel examples/python``: pip builds in place, so the repository is there);
- in an sdist, ``rust/``: ``python -m build --sdist`` puts the crate there as ``cargo
  package`` packs it for crates.io (the normalized Cargo.toml, Cargo.lock and the sources), so
  the sdist builds anywhere with Rust (1.89+).

cargo builds into the crate's target directory (``target/`` of the repository, or
``$CARGO_TARGET_DIR``), so a wheel after ``make capi`` rebuilds only the crate itself. The build
directory (``build/lib``) is emptied before each build: nothing a previous build left there
(a library since deleted, a module since removed) can reach the wheel.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from setuptools import setup
from setuptools.command.build import build
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

HERE = os.path.dirname(os.path.abspath(__file__))
VENDORED = "rust"

if sys.platform == "darwin":
    LIB_NAME = "liba0backup.dylib"
elif sys.platform == "win32":
    LIB_NAME = "a0backup.dll"
else:
    LIB_NAME = "liba0backup.so"


def crate_manifest():
    """The a0backup crate's Cargo.toml: the sdist's copy, else the repository's."""
    for candidate in (os.path.join(HERE, VENDORED, "Cargo.toml"), os.path.join(HERE, "..", "..", "Cargo.toml")):
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as f:
                if any(line.strip() == 'name = "a0backup"' for line in f):
                    return os.path.normpath(candidate)
    raise SystemExit(
        "a0backup: the a0backup crate is neither in %s (an sdist) nor at ../../Cargo.toml (the "
        "repository): build from the a0backup repository's examples/python, or from an sdist"
        % os.path.join(HERE, VENDORED)
    )


def soname_flags():
    """The soname `make capi` and cargo-c give the library (liba0backup.so.0.1), on ELF."""
    if sys.platform in ("darwin", "win32"):
        return []
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        version = next(line.split('"')[1] for line in f if line.startswith("version = "))
    major, minor = version.split(".")[:2]
    abi = "0.%s" % minor if major == "0" else major
    return ["-C", "link-arg=-Wl,-soname,liba0backup.so.%s" % abi]


class BuildRustLibrary(build_rust):
    """setuptools-rust's build, installing the cdylib as a0backup/liba0backup.so rather than
    under an extension module's name (a0backup/liba0backup.cpython-311-x86_64-linux-gnu.so)."""

    def get_dylib_ext_path(self, ext, target_fname):
        module_path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(module_path), LIB_NAME)


class CleanBuild(build):
    """build, from an empty build/lib."""

    def run(self):
        build_lib = os.path.abspath(self.build_lib)
        build_base = os.path.abspath(self.build_base)
        if os.path.isdir(build_lib) and build_lib.startswith(build_base + os.sep):
            shutil.rmtree(build_lib)
        super().run()


class PlatformWheel(bdist_wheel):
    """A py3-none-<platform> wheel: the library is for one platform, the Python code for all."""

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


class SdistWithCrate(sdist):
    """An sdist that carries the crate (rust/), as `cargo package` packs it."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        manifest = crate_manifest()
        if os.path.dirname(manifest) == os.path.join(HERE, VENDORED):
            shutil.copytree(os.path.join(HERE, VENDORED), os.path.join(base_dir, VENDORED))
            return
        with tempfile.TemporaryDirectory(prefix="a0backup-sdist-") as tmp:
            subprocess.run(
                ["cargo", "package", "--quiet", "--no-verify", "--allow-dirty", "--locked",
                 "--manifest-path", manifest, "--target-dir", tmp],
                check=True,
            )
            package_dir = os.path.join(tmp, "package")
            (crate,) = [f for f in os.listdir(package_dir) if f.endswith(".crate")]
            with tarfile.open(os.path.join(package_dir, crate)) as tar:
                top = crate[: -len(".crate")] + "/"
                members = []
                for m in tar.getmembers():
                    if not m.name.startswith(top) or not (m.isfile() or m.isdir()):
                        raise SystemExit("a0backup: unexpected entry %r in %s" % (m.name, crate))
                    m.name = m.name[len(top):]
                    if m.name:
                        members.append(m)
                dest = os.path.join(base_dir, VENDORED)
                os.makedirs(dest)
                tar.extractall(dest, members=members)


setup(
    rust_extensions=[
        RustExtension(
            "a0backup.liba0backup",
            path=crate_manifest(),
            binding=Binding.NoBinding,
            features=["capi"],
            args=["--locked"],
            rustc_flags=soname_flags(),
            py_limited_api=False,
        )
    ],
    cmdclass={
        "build": CleanBuild,
        "build_rust": BuildRustLibrary,
        "bdist_wheel": PlatformWheel,
        "sdist": SdistWithCrate,
    },
)
