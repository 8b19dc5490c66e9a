"""a0backup from Python, through the C library (include/a0backup.h) and ctypes (stdlib only).

    import a0backup
    a0backup.restore("backup-retrieve.tar.gz.enc", "restored", "Passw0rd",
                     expected_md5="eccdb928a3bab23f725f955b68ef66ff")

The C library is in the package (a0backup/liba0backup.so, built by the package's build from the
a0backup crate: a platform wheel). It is loaded from, in order: the path in the environment
variable A0BACKUP_LIB (alone, when it is set), the copy in the package, the system's
(liba0backup.so.0.1 through the dynamic loader: LD_LIBRARY_PATH, the ld.so cache; `make install`
or `cargo cinstall` install it), then what ctypes.util.find_library('a0backup') finds, if it is
this ABI version. Importing when none loads raises LibraryNotFoundError, listing each place and
why. library_path() says which file was loaded. Every failure of a call raises A0BackupError,
whose ``code`` is the a0b_result (A0B_ERR_*), ``code_name`` its name, and whose ``message`` is
a0b_last_error_message().

``replace=True`` lets a call replace an existing output or non-empty destination (the
command's --force); ``overwrite``, its name before, is still accepted with a
DeprecationWarning and will be removed in the next release.

Passwords are bytes (as they are) or str (their UTF-8 bytes, as Node's crypto.createCipher uses
them). Paths are str, bytes or os.PathLike; the library takes UTF-8 paths, so a path whose bytes
are not UTF-8 is refused with A0B_ERR_INVALID_ARGUMENT. The calls release the GIL while they run;
a callback (progress, read, write) takes it back for its own run, on the calling thread.

Besides the file functions, the library's streams are here without temporary files:
decrypt_stream / encrypt_stream (a binary file object, or bytes, to a file object),
decrypt_bytes / encrypt_bytes, restore_stream (a file object or bytes into a directory: an HTTP
response, a socket's makefile('rb'), sys.stdin.buffer), pack_stream (a directory to a file
object) and md5_stream. Sources are read with readinto() when they have it, else read(); outputs
get write(). An exception raised by any of them fails the call, and is re-raised once the
library has cleaned up.

Answers without a restore: dump() (a generator of a collection's documents, dicts of their
Extended JSON, fed by a thread through a bounded queue) and diff() (two backups compared by
_id, the totals returned).
"""

import calendar
import ctypes
import ctypes.util
import datetime
import decimal
import io
import json
import os
import queue
import re
import sys
import threading
import warnings
from collections import namedtuple
from collections.abc import Mapping

__all__ = [
    "A0BackupError", "CheckRows", "Cipher", "DEFAULT_MAX_COLLECTIONS", "KeyIv", "LibraryNotFoundError",
    "Md5", "check", "decrypt_bytes", "decrypt_file", "decrypt_stream", "derive_key_iv", "diff", "dump",
    "encrypt_bytes", "encrypt_file", "encrypt_stream", "iter_check", "library_path", "md5_file",
    "md5_stream", "pack", "pack_stream", "restore", "restore_stream", "version",
]

# Result codes and formats, as in the header.
OK = 0
ERR_IO = 1
ERR_INVALID_ARGUMENT = 2
ERR_WRONG_PASSWORD = 3
ERR_CHECKSUM_MISMATCH = 4
ERR_UNSAFE_ARCHIVE = 5
ERR_MALFORMED = 6
ERR_CANCELLED = 7
ERR_PANIC = 8
ERR_UNSUPPORTED = 9
ERR_ALREADY_EXISTS = 10
ERR_CHANGED_WHILE_READING = 11

CODE_NAMES = {
    ERR_IO: "A0B_ERR_IO",
    ERR_INVALID_ARGUMENT: "A0B_ERR_INVALID_ARGUMENT",
    ERR_WRONG_PASSWORD: "A0B_ERR_WRONG_PASSWORD",
    ERR_CHECKSUM_MISMATCH: "A0B_ERR_CHECKSUM_MISMATCH",
    ERR_UNSAFE_ARCHIVE: "A0B_ERR_UNSAFE_ARCHIVE",
    ERR_MALFORMED: "A0B_ERR_MALFORMED",
    ERR_CANCELLED: "A0B_ERR_CANCELLED",
    ERR_PANIC: "A0B_ERR_PANIC",
    ERR_UNSUPPORTED: "A0B_ERR_UNSUPPORTED",
    ERR_ALREADY_EXISTS: "A0B_ERR_ALREADY_EXISTS",
    ERR_CHANGED_WHILE_READING: "A0B_ERR_CHANGED_WHILE_READING",
}

# a0b_dump's json_mode.
JSON_CANONICAL = 0
JSON_RELAXED = 1

FORMAT_AUTO = 0
FORMAT_NODE = 1
FORMAT_OPENSSL_MD5 = 2
FORMAT_OPENSSL_PBKDF2 = 3

_FORMATS = {
    "auto": FORMAT_AUTO,
    "node": FORMAT_NODE,
    "openssl-md5": FORMAT_OPENSSL_MD5,
    "openssl-pbkdf2": FORMAT_OPENSSL_PBKDF2,
}

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.platform == "darwin":
    _LIB_NAME = "liba0backup.dylib"
elif sys.platform == "win32":
    _LIB_NAME = "a0backup.dll"
else:
    _LIB_NAME = "liba0backup.so"

# The ABI version of the library this package was written for: the soname's (liba0backup.so.0.1),
# 0.y for 0.y.z versions as the Makefile and cargo-c make it. tests/test_install.py holds it to the
# package's version and to the bundled library's soname.
ABI_VERSION = "0.1"
if sys.platform == "darwin":
    SONAME = "liba0backup.%s.dylib" % ABI_VERSION
elif sys.platform == "win32":
    SONAME = "a0backup.dll"
else:
    SONAME = "liba0backup.so.%s" % ABI_VERSION

ENV_VAR = "A0BACKUP_LIB"


class LibraryNotFoundError(OSError):
    """The C library could not be loaded: raised by the import. ``tried`` lists each place
    looked at and why it did not do, as the message does."""

    def __init__(self, tried, advice):
        self.tried = list(tried)
        lines = ["  %d. %s" % (i + 1, t) for i, t in enumerate(self.tried)]
        super().__init__(
            "a0backup: could not load the a0backup C library. Tried, in order:\n%s\n%s"
            % ("\n".join(lines), advice)
        )

    def __str__(self):
        return self.args[0]


def _mapped_path(name):
    """The file a library loaded by name was mapped from (Linux: /proc/self/maps), or None."""
    stem = name.split(".")[0] + "."
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = {line[line.index("/"):].rstrip("\n") for line in f if "/" in line}
    except OSError:
        return None
    found = {p for p in paths if os.path.basename(p).startswith(stem)}
    return found.pop() if len(found) == 1 else None


def _library_version(cdll):
    f = cdll.a0b_version
    f.restype = ctypes.c_char_p
    f.argtypes = []
    return f().decode("utf-8", "replace")


def _load():
    """(the CDLL, the path it was loaded from or the name given to the loader) of the library:
    $A0BACKUP_LIB when it is set (it alone), else the copy bundled in the package, else the
    system's by its soname through the dynamic loader (LD_LIBRARY_PATH, the ld.so cache, the
    system directories), else what ctypes.util.find_library('a0backup') names, if its version
    is this package's ABI. Raises LibraryNotFoundError listing each."""
    tried = []
    env = os.environ.get(ENV_VAR)
    if env:
        path = os.path.abspath(env)
        if not os.path.isfile(path):
            tried.append("%s=%s: no such file" % (ENV_VAR, env))
        else:
            try:
                return ctypes.CDLL(path), path
            except OSError as e:
                tried.append("%s=%s: %s" % (ENV_VAR, env, e))
        raise LibraryNotFoundError(tried, "%s, when set, is the only place tried: correct or unset it." % ENV_VAR)
    tried.append("%s: not set" % ENV_VAR)

    bundled = os.path.join(_HERE, _LIB_NAME)
    if os.path.isfile(bundled):
        try:
            return ctypes.CDLL(bundled), bundled
        except OSError as e:
            tried.append("the library bundled in the package, %s: %s" % (bundled, e))
    else:
        tried.append("the library bundled in the package, %s: not in this installation (a wheel built "
                     "for this platform has it)" % bundled)

    try:
        return ctypes.CDLL(SONAME), _mapped_path(SONAME) or SONAME
    except OSError as e:
        tried.append("the system's %s, through the dynamic loader (LD_LIBRARY_PATH, the ld.so cache "
                     "(ldconfig), /lib, /usr/lib): %s" % (SONAME, e))

    found = ctypes.util.find_library("a0backup")
    if found is None:
        tried.append("ctypes.util.find_library('a0backup'): nothing found")
    elif found == SONAME:
        tried.append("ctypes.util.find_library('a0backup'): %s, as above" % found)
    else:
        try:
            cdll = ctypes.CDLL(found)
            version = _library_version(cdll)
            if version.startswith(ABI_VERSION + ".") or version == ABI_VERSION:
                return cdll, _mapped_path(found) or found
            tried.append("ctypes.util.find_library('a0backup'): %s, version %s, not %s.x as this package "
                         "needs" % (found, version, ABI_VERSION))
        except (OSError, AttributeError) as e:
            tried.append("ctypes.util.find_library('a0backup'): %s: %s" % (found, e))
    raise LibraryNotFoundError(
        tried,
        "Install a wheel built for this platform (it carries the library), set %s to the library's "
        "path, or install the library (make install or cargo cinstall in the a0backup repository)." % ENV_VAR,
    )


_lib, _lib_path = _load()


def library_path():
    """The C library this package loaded: its path, or, when the dynamic loader found it by
    name and the file cannot be told (outside Linux), that name."""
    return _lib_path


# --- Declarations --------------------------------------------------------------------------------

PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)
# a0b_json_cb: one JSON text (NUL-terminated, `len` bytes without the NUL), valid during the call.
JSON_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
READ_FN = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)
)
WRITE_FN = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)
)


class Options(ctypes.Structure):
    """struct a0b_options."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("replace", ctypes.c_uint8),
        ("format", ctypes.c_uint32),
        ("pbkdf2_iterations", ctypes.c_uint32),
        ("expect_gzip", ctypes.c_uint8),
        ("gzip_level", ctypes.c_uint32),
        ("allow_symlinks", ctypes.c_uint8),
        ("allow_hardlinks", ctypes.c_uint8),
        ("max_total_bytes", ctypes.c_uint64),
        ("progress", PROGRESS_FN),
        ("user_data", ctypes.c_void_p),
    ]


_c_result = ctypes.c_int32
_c_str = ctypes.c_char_p  # NUL-terminated path / md5, or a password's bytes (ctypes passes bytes as they are)
_c_handle = ctypes.c_void_p
_c_out_handle = ctypes.POINTER(ctypes.c_void_p)
_c_options = ctypes.POINTER(Options)


def _declare(name, restype, argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_version = _declare("a0b_version", ctypes.c_char_p, [])
_last_error_message = _declare("a0b_last_error_message", ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t])
_options_init = _declare("a0b_options_init", _c_result, [_c_options])
_derive_key_iv = _declare("a0b_derive_key_iv", _c_result, [_c_str, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p])
_cipher_new = _declare("a0b_cipher_new", _c_result, [_c_str, ctypes.c_size_t, _c_out_handle])
_cipher_new_key_iv = _declare("a0b_cipher_new_key_iv", _c_result, [_c_str, _c_str, _c_out_handle])
_cipher_apply = _declare("a0b_cipher_apply", _c_result, [_c_handle, ctypes.c_void_p, ctypes.c_size_t])
_cipher_seek = _declare("a0b_cipher_seek", _c_result, [_c_handle, ctypes.c_uint64])
_cipher_free = _declare("a0b_cipher_free", None, [_c_handle])
_md5_new = _declare("a0b_md5_new", _c_result, [_c_out_handle])
_md5_update = _declare("a0b_md5_update", _c_result, [_c_handle, ctypes.c_void_p, ctypes.c_size_t])
_md5_finish = _declare("a0b_md5_finish", _c_result, [_c_handle, ctypes.c_char_p])
_md5_free = _declare("a0b_md5_free", None, [_c_handle])
_md5_file = _declare("a0b_md5_file", _c_result, [_c_str, ctypes.c_char_p])
_decrypt_file = _declare(
    "a0b_decrypt_file", _c_result, [_c_str, _c_str, _c_str, ctypes.c_size_t, _c_str, _c_options]
)
_encrypt_file = _declare("a0b_encrypt_file", _c_result, [_c_str, _c_str, _c_str, ctypes.c_size_t, _c_options])
_restore = _declare("a0b_restore", _c_result, [_c_str, _c_str, _c_str, ctypes.c_size_t, _c_str, _c_options])
_pack = _declare("a0b_pack", _c_result, [_c_str, _c_str, _c_str, ctypes.c_size_t, ctypes.c_char_p, _c_options])
_check_each = _declare(
    "a0b_check_each", _c_result,
    [_c_str, _c_str, ctypes.c_size_t, _c_str, _c_options, JSON_FN, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)],
)
_dump = _declare(
    "a0b_dump", _c_result,
    [_c_str, _c_str, ctypes.c_size_t, _c_str, _c_options, _c_str, _c_str, ctypes.c_uint32, ctypes.c_uint64, JSON_FN,
     ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)],
)
_diff = _declare(
    "a0b_diff", _c_result,
    [_c_str, _c_str, _c_str, ctypes.c_size_t, _c_str, _c_str, _c_options, _c_str, ctypes.c_uint8, JSON_FN,
     ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)],
)
_string_free = _declare("a0b_string_free", None, [ctypes.c_void_p])
_decrypt_stream = _declare(
    "a0b_decrypt_stream", _c_result,
    [READ_FN, ctypes.c_void_p, WRITE_FN, ctypes.c_void_p, _c_str, ctypes.c_size_t, _c_str, _c_options],
)
_encrypt_stream = _declare(
    "a0b_encrypt_stream", _c_result,
    [READ_FN, ctypes.c_void_p, WRITE_FN, ctypes.c_void_p, _c_str, ctypes.c_size_t, ctypes.c_char_p, _c_options],
)
_restore_stream = _declare(
    "a0b_restore_stream", _c_result,
    [READ_FN, ctypes.c_void_p, _c_str, _c_str, ctypes.c_size_t, _c_str, _c_options],
)
_pack_stream = _declare(
    "a0b_pack_stream", _c_result,
    [_c_str, WRITE_FN, ctypes.c_void_p, _c_str, ctypes.c_size_t, ctypes.c_char_p, _c_options],
)
_md5_stream = _declare("a0b_md5_stream", _c_result, [READ_FN, ctypes.c_void_p, ctypes.c_char_p])


# --- Errors ----------------------------------------------------------------------------------------


class A0BackupError(Exception):
    """A failed call: ``code`` is the a0b_result, ``message`` the library's message."""

    def __init__(self, code, message):
        self.code = code
        self.message = message or CODE_NAMES.get(code, "a0backup error %d" % code)
        super().__init__(code, self.message)

    @property
    def code_name(self):
        return CODE_NAMES.get(self.code, "A0B_ERR_%d" % self.code)

    def __str__(self):
        return "%s (%s)" % (self.message, self.code_name)


def last_error_message():
    """The message of the last failure on this thread ('' if none)."""
    needed = _last_error_message(None, 0)
    if needed <= 1:
        return ""
    buf = ctypes.create_string_buffer(needed)
    _last_error_message(buf, needed)
    return buf.value.decode("utf-8", "replace")


def _check(rc):
    if rc != OK:
        raise A0BackupError(rc, last_error_message())


# --- Argument conversion ---------------------------------------------------------------------------


def _password(password):
    """(bytes or None, length). ctypes passes b"" as a non-NULL pointer, as the API wants."""
    if password is None:
        return None, 0
    if isinstance(password, str):
        b = password.encode("utf-8")
    elif isinstance(password, (bytes, bytearray, memoryview)):
        b = bytes(password)
    else:
        raise TypeError("a0backup: the password must be str or bytes")
    return b, len(b)


def _path(p):
    if p is None:
        return None
    return os.fsencode(p)


def _md5_arg(md5):
    if md5 is None:
        return None
    return md5.encode("ascii", "replace") if isinstance(md5, str) else bytes(md5)


def _format(format):
    if format is None:
        return FORMAT_AUTO
    if isinstance(format, int):
        return format
    try:
        return _FORMATS[format.lower()]
    except KeyError:
        raise ValueError("a0backup: unknown format %r (%s)" % (format, ", ".join(_FORMATS))) from None


def _replace(replace, overwrite):
    """The value of the `replace` option, given `overwrite`, its deprecated name (None when not
    given): a DeprecationWarning for `overwrite`, a TypeError for both with different values."""
    if overwrite is None:
        return bool(replace)
    warnings.warn(
        "a0backup: the option `overwrite` is deprecated and will be removed in the next release: use `replace`",
        DeprecationWarning,
        stacklevel=3,
    )
    if replace is not None and bool(replace) != bool(overwrite):
        raise TypeError("a0backup: `overwrite` is the deprecated name of `replace`: give `replace` alone")
    return bool(overwrite)


class _Callbacks:
    """Python functions as C callbacks for one call. An exception raised by one fails the call
    (the callback returns non-zero to the library) and is re-raised by ``check`` once the
    library has cleaned up; after it, no callback runs Python code again."""

    def __init__(self):
        self.raised = []
        self.keep = []  # the ctypes thunks, alive until the call returns

    def _guard(self, proto, body):
        def thunk(*args):
            if self.raised:
                return 1
            try:
                return body(*args)
            except BaseException as e:  # noqa: B036 - re-raised after the call
                self.raised.append(e)
                return 1

        f = proto(thunk)
        self.keep.append(f)
        return f

    def progress(self, on_progress):
        return self._guard(PROGRESS_FN, lambda done, total, _ud: 1 if on_progress(done, total) is False else 0)

    def json(self, each):
        """A JSON callback: ``each(value)`` gets each text parsed; returning False cancels."""
        def call(_ud, text, length):
            return 1 if each(json.loads(ctypes.string_at(text, length))) is False else 0

        return self._guard(JSON_FN, call)

    def text(self, each):
        """A JSON callback: ``each(data)`` gets each text as bytes; returning False cancels."""
        return self._guard(JSON_FN, lambda _ud, text, length: 1 if each(ctypes.string_at(text, length)) is False else 0)

    def reader(self, source):
        """A read callback over a binary file object (readinto, else read) or bytes-like data."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = io.BytesIO(source)
        readinto = getattr(source, "readinto", None)
        if readinto is None and not callable(getattr(source, "read", None)):
            raise TypeError("a0backup: the source must be bytes or a binary file object")

        def read(_ud, buf, length, out_n):
            if readinto is not None:
                view = memoryview((ctypes.c_ubyte * length).from_address(buf)).cast("B")
                try:
                    n = readinto(view)
                finally:
                    view.release()
            else:
                data = source.read(length)
                n = len(data)
                if n > length:
                    raise ValueError("a0backup: read(%d) returned %d bytes" % (length, n))
                ctypes.memmove(buf, data, n)
            if n is None:
                raise BlockingIOError("a0backup: the source has no data now (non-blocking)")
            out_n[0] = n
            return 0

        return self._guard(READ_FN, read)

    def writer(self, sink):
        """A write callback to a binary file object's write()."""
        if not callable(getattr(sink, "write", None)):
            raise TypeError("a0backup: the output must be a binary file object")

        def write(_ud, buf, length, out_n):
            n = sink.write(ctypes.string_at(buf, length))
            out_n[0] = length if n is None else n
            return 0

        return self._guard(WRITE_FN, write)

    def check(self, rc):
        if self.raised:
            raise self.raised[0]
        _check(rc)


def _call_with_options(call, on_progress=None, **fields):
    """Runs call(options, callbacks) with an a0b_options built from ``fields`` (None: the
    default) and a _Callbacks for the call.

    ``on_progress(done, total)`` gets ints (total 0 when unknown); returning False cancels
    (A0B_ERR_CANCELLED), and so does raising, in which case the exception is re-raised once
    the library has cleaned up.
    """
    o = Options()
    _check(_options_init(ctypes.byref(o)))
    for name, value in fields.items():
        if value is not None:
            setattr(o, name, value)
    callbacks = _Callbacks()
    if on_progress is not None:
        # Kept alive (referenced by `o` and `callbacks`) until the call returns.
        o.progress = callbacks.progress(on_progress)
    rc = call(ctypes.byref(o), callbacks)
    callbacks.check(rc)


# --- The friendly API ------------------------------------------------------------------------------

KeyIv = namedtuple("KeyIv", ["key", "iv"])


def version():
    """The library version, e.g. '0.1.0'."""
    return _version().decode("utf-8")


def derive_key_iv(password):
    """Node createCipher's key (32 bytes) and IV (16 bytes) for a password: EVP_BytesToKey(MD5)."""
    pw, n = _password(password)
    key = ctypes.create_string_buffer(32)
    iv = ctypes.create_string_buffer(16)
    _check(_derive_key_iv(pw, n, key, iv))
    return KeyIv(key.raw, iv.raw)


def decrypt_file(input, output, password, *, expected_md5=None, replace=None, expect_gzip=False,
                 format=None, pbkdf2_iterations=None, on_progress=None, overwrite=None):
    """Decrypts ``input`` into ``output``, published only when complete (and, with
    ``expected_md5``, only when the md5 of ``input`` matches). ``format``: 'auto' (default),
    'node', 'openssl-md5' or 'openssl-pbkdf2'."""
    pw, n = _password(password)
    _call_with_options(
        lambda o, _: _decrypt_file(_path(input), _path(output), pw, n, _md5_arg(expected_md5), o),
        on_progress,
        replace=_replace(replace, overwrite), expect_gzip=expect_gzip, format=_format(format),
        pbkdf2_iterations=pbkdf2_iterations,
    )


def encrypt_file(input, output, password, *, format=None, replace=None, pbkdf2_iterations=None,
                 on_progress=None, overwrite=None):
    """Encrypts ``input`` into ``output`` (default format: 'node', the appliance's)."""
    pw, n = _password(password)
    _call_with_options(
        lambda o, _: _encrypt_file(_path(input), _path(output), pw, n, o),
        on_progress,
        replace=_replace(replace, overwrite), format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )


def restore(input, dest_dir, password, *, expected_md5=None, replace=None, on_progress=None,
            format=None, allow_symlinks=False, allow_hardlinks=False, max_total_bytes=None, overwrite=None):
    """Restores an encrypted backup (.tar.gz.enc) into ``dest_dir``, which appears (or is
    replaced, with ``replace``) only when everything checked out."""
    pw, n = _password(password)
    _call_with_options(
        lambda o, _: _restore(_path(input), _path(dest_dir), pw, n, _md5_arg(expected_md5), o),
        on_progress,
        replace=_replace(replace, overwrite), format=_format(format), allow_symlinks=allow_symlinks,
        allow_hardlinks=allow_hardlinks, max_total_bytes=max_total_bytes,
    )


#: How many rows check() keeps in ``collections`` when no ``on_collection`` is given.
DEFAULT_MAX_COLLECTIONS = 1000


def _max_collections(max_collections):
    if max_collections is None:
        return DEFAULT_MAX_COLLECTIONS
    if max_collections == float("inf") or (isinstance(max_collections, int) and max_collections >= 0):
        return max_collections
    raise ValueError("a0backup: max_collections must be an int >= 0 or math.inf, not %r" % (max_collections,))


def check(input, password=None, *, expected_md5=None, format=None, allow_symlinks=False,
          allow_hardlinks=False, max_total_bytes=None, on_collection=None, max_collections=None):
    """Checks a backup without writing anything: its md5 (with ``expected_md5``), decryption
    (with ``password``; a plain .tar.gz without), gzip, the archive under restore's safety
    policy, and every collection of the mongodump inside. Returns the report as a dict:
    ``restorable`` and ``refusal`` say whether restore would accept it, ``collections_ok`` and
    ``totals`` how the collections read, over all of them. A wrong md5 or password raises.

    The collections' rows come from the library one at a time (``a0b_check_each``), so memory
    stays bounded whatever the backup holds:

    - ``on_collection(row)``, when given, is called with each row (a dict: ``database``,
      ``collection``, ``bson_path``, ``documents``, ``error``, ...), in archive directory and
      name order, and the report's ``collections`` is empty. Returning False cancels the check
      (A0B_ERR_CANCELLED); an exception it raises fails the check and is re-raised.
    - Otherwise ``collections`` keeps the first ``max_collections`` rows (default
      DEFAULT_MAX_COLLECTIONS, 1000; ``math.inf`` keeps all), and ``collections_omitted``
      counts the rows left out.

    iter_check() yields the rows instead."""
    pw, n = _password(password)
    limit = _max_collections(max_collections)
    kept = []
    omitted = [0]

    def keep(row):
        if len(kept) < limit:
            kept.append(row)
        else:
            omitted[0] += 1

    out = ctypes.c_void_p()
    _call_with_options(
        lambda o, cb: _check_each(_path(input), pw, n, _md5_arg(expected_md5), o,
                                  cb.json(on_collection if on_collection is not None else keep), None,
                                  ctypes.byref(out)),
        None,
        format=_format(format), allow_symlinks=allow_symlinks, allow_hardlinks=allow_hardlinks,
        max_total_bytes=max_total_bytes,
    )
    report = _take_json(out)
    report["collections"] = kept
    report["collections_omitted"] = omitted[0]
    return report


class _RowQueue:
    """What the thread of a CheckRows shares with it (not the CheckRows itself, so that dropping
    the iterator closes it): a bounded queue and a closed flag."""

    END = object()

    def __init__(self, size):
        self.queue = queue.Queue(maxsize=size)
        self.closed = threading.Event()

    def put(self, item):
        """Puts into the queue, waiting while it is full; False once closed (a cancel)."""
        while not self.closed.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def run(self, input, password, options):
        try:
            report = check(input, password, on_collection=self.put, **options)
        except BaseException as e:  # noqa: B036 - handed to the consumer
            self.put((self.END, e, None))
        else:
            self.put((self.END, None, report))


class CheckRows:
    """The rows of a check, as an iterator: what iter_check() returns. The check runs in a
    thread of its own, started by the first next(), which hands the rows over through a queue
    of at most ``queue_size`` rows (it waits while the queue is full, so memory stays bounded
    however many rows there are and however slowly they are taken). Once the rows are
    exhausted, ``report`` is check()'s report (its ``collections`` empty); an error of the
    check is raised by next(). close() (or leaving a ``with`` block, or dropping the iterator)
    before the end cancels the check and waits for its thread."""

    def __init__(self, input, password, queue_size, options):
        if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
            raise ValueError("a0backup: queue_size must be an int >= 1")
        self._args = (input, password, options)
        self._rows = _RowQueue(queue_size)
        self._thread = None
        self._done = False
        self.report = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._rows.run, args=self._args, name="a0backup-check", daemon=True)
            self._thread.start()
        item = self._rows.queue.get()
        if isinstance(item, tuple) and len(item) == 3 and item[0] is _RowQueue.END:
            self._done = True
            self._thread.join()
            _end, error, report = item
            if error is not None:
                raise error
            self.report = report
            raise StopIteration
        return item

    def close(self):
        """Cancels the check if it is still running, and waits for its thread."""
        self._done = True
        self._rows.closed.set()
        thread = self._thread
        while thread is not None and thread.is_alive():
            try:
                self._rows.queue.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_rows", None) is not None:  # not when __init__ refused its arguments
            self.close()


def iter_check(input, password=None, *, queue_size=64, **options):
    """check(), as an iterator over the collections' rows (the dicts check() gives
    ``on_collection``), in bounded memory: a CheckRows, whose ``report`` is the rest of the
    report once the rows are exhausted. Options as for check() (not ``on_collection``).

        with a0backup.iter_check("backup.tar.gz.enc", "Passw0rd") as rows:
            damaged = [r for r in rows if r["error"]]
        print(rows.report["restorable"], rows.report["totals"]["collections"])
    """
    if "on_collection" in options:
        raise TypeError("a0backup: iter_check yields the rows: it takes no on_collection")
    return CheckRows(input, password, queue_size, options)


def _take_json(out):
    """The library's JSON string in the c_void_p ``out``, parsed; the string is freed."""
    try:
        return json.loads(ctypes.string_at(out.value).decode("utf-8"))
    finally:
        _string_free(out)


def _text_arg(value, name):
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError("a0backup: %s must be str, not %s" % (name, type(value).__name__))


_REGEX_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


def _filter_default(value):
    """What json.dumps cannot write, as Extended JSON: a datetime (naive ones are UTC, as pymongo
    takes them) as $date, a compiled regular expression as $regularExpression (MongoDB's
    ``{"field": re.compile(...)}``), a Decimal as $numberDecimal, and pymongo's bson types
    (ObjectId, Int64, Decimal128, ...) through bson.json_util when it is installed."""
    if isinstance(value, datetime.datetime):
        ms = calendar.timegm(value.utctimetuple()) * 1000 + value.microsecond // 1000
        return {"$date": {"$numberLong": str(ms)}}
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            raise TypeError("a0backup: a filter's regular expression must be a str pattern")
        flags = value.flags & ~re.UNICODE
        options = "".join(o for f, o in _REGEX_FLAGS if flags & f)
        if flags & ~sum(f for f, _ in _REGEX_FLAGS):
            raise ValueError("a0backup: a filter's regular expression takes the flags I, M, S and X only")
        return {"$regularExpression": {"pattern": value.pattern, "options": options}}
    if isinstance(value, decimal.Decimal):
        return {"$numberDecimal": str(value)}
    try:
        from bson import json_util
    except ImportError:
        raise TypeError("a0backup: %s in a filter cannot be written as Extended JSON (install pymongo for its "
                        "bson types, or give the filter as Extended JSON text)" % type(value).__name__) from None
    return json_util.default(value, json_options=json_util.CANONICAL_JSON_OPTIONS)


def _filter_arg(filter):
    """A filter as the library takes it: None, Extended JSON text (str or bytes) as it is, or a
    mapping written as JSON (see _filter_default)."""
    if filter is None or isinstance(filter, (str, bytes, bytearray)):
        return _text_arg(filter, "filter")
    if not isinstance(filter, Mapping):
        raise TypeError("a0backup: the filter must be a mapping or its Extended JSON text")
    return json.dumps(filter, default=_filter_default, allow_nan=False).encode("utf-8")


def _limit_arg(limit):
    if limit is None or limit == float("inf"):
        return 0
    if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1:
        return limit
    raise ValueError("a0backup: limit must be an int >= 1 (None for no limit), not %r" % (limit,))


class _Handoff:
    """What the thread of a dump shares with the generator (a bounded queue of batches and a
    closed flag): the thread waits while the queue is full, and gives up once it is closed."""

    END = object()
    BATCH = 256
    BATCH_BYTES = 256 * 1024

    def __init__(self, size):
        self.queue = queue.Queue(maxsize=size)
        self.closed = threading.Event()

    def put(self, item):
        """Puts into the queue, waiting while it is full; False once closed (a cancel)."""
        while not self.closed.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def run(self, call):
        """Runs ``call(each, on_progress)``, handing each text over in batches, then the end."""
        batch = []
        size = [0]

        def each(text):
            batch.append(text)
            size[0] += len(text)
            if len(batch) < self.BATCH and size[0] < self.BATCH_BYTES:
                return not self.closed.is_set()
            full = batch[:]
            del batch[:]
            size[0] = 0
            return self.put(full)

        try:
            summary = call(each, lambda done, total: not self.closed.is_set())
            if batch:
                self.put(batch[:])
        except BaseException as e:  # noqa: B036 - handed to the consumer
            self.put((self.END, e, None))
        else:
            self.put((self.END, None, summary))

    def close(self, thread):
        """Cancels the call if it is still running, and waits for its thread."""
        self.closed.set()
        while thread.is_alive():
            try:
                self.queue.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)


def _handed_over(call, queue_size, parse):
    """The generator of dump(): starts the thread at its first next(), yields what it hands
    over, returns the summary; closing it (or dropping it) cancels the call."""
    handoff = _Handoff(queue_size)
    thread = threading.Thread(target=handoff.run, args=(call,), name="a0backup-dump", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.queue.get()
            if isinstance(item, tuple) and len(item) == 3 and item[0] is _Handoff.END:
                thread.join()
                _end, error, summary = item
                if error is not None:
                    raise error
                return summary
            for text in item:
                yield parse(text)
    finally:
        handoff.close(thread)


def dump(input, password, collection, *, filter=None, relaxed=False, limit=None, text=False, expected_md5=None,
         format=None, allow_symlinks=False, allow_hardlinks=False, max_total_bytes=None, queue_size=4):
    """The documents of the collection ``collection`` (``"DATABASE.COLLECTION"``) of a backup,
    as a generator, in the order of its .bson (a0b_dump), in bounded memory: a thread reads the
    backup and hands the documents over in batches (of 256 documents or 256 KiB) through a
    queue of ``queue_size`` batches, waiting while it is full, however many documents there are
    and however slowly they are taken. Closing the generator (``close()``, leaving a ``with
    contextlib.closing(...)`` block, or dropping it) cancels the dump and waits for its thread;
    the generator's return value (``StopIteration.value``, or ``summary = yield from ...``) is
    the summary: ``documents`` handed over, ``scanned``, ``bytes`` of the .bson read,
    ``metadata`` (the collection's .metadata.json text, or None), ``md5`` (when expected),
    ``read_to_end``.

    Each document is a dict, ``json.loads`` of its Extended JSON (canonical by default:
    ``{"_id": {"$oid": "..."}, "n": {"$numberInt": "1"}}``; relaxed with ``relaxed=True``:
    plain numbers and ISO dates), its fields in the document's order; with ``text=True``, that
    text itself (bytes of UTF-8), for ``bson.json_util.loads(text)`` (pymongo's types:
    ObjectId, datetime, Decimal128, ...) or to write as ``bsondump`` does.

    ``filter``: a MongoDB query, as a mapping (a datetime is a $date, a compiled regular
    expression a regular expression, pymongo's bson types are written by bson.json_util) or as
    its Extended JSON text; what is outside the library's subset is refused with
    A0B_ERR_INVALID_ARGUMENT. ``limit``: at most this many documents (None for all). The backup
    is read as check() reads it (``expected_md5``, ``format``, ``allow_symlinks``,
    ``allow_hardlinks``, ``max_total_bytes``), and only until the collection's files are
    behind. A collection the backup does not hold is A0B_ERR_INVALID_ARGUMENT, a damaged
    document A0B_ERR_MALFORMED (its index and offset in the message), a wrong password
    A0B_ERR_WRONG_PASSWORD: raised by next(), after the documents before it.

        for user in a0backup.dump("backup.tar.gz.enc", "Passw0rd", "auth0.users",
                                  filter={"email": "ann@example.com"}):
            print(user["_id"])
    """
    if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
        raise ValueError("a0backup: queue_size must be an int >= 1")
    pw, n = _password(password)
    ns = _text_arg(collection, "collection")
    if ns is None:
        raise TypeError("a0backup: the collection is required, as 'DATABASE.COLLECTION'")
    filter_json = _filter_arg(filter)
    count = _limit_arg(limit)
    mode = JSON_RELAXED if relaxed else JSON_CANONICAL
    path, md5 = _path(input), _md5_arg(expected_md5)

    def call(each, on_progress):
        out = ctypes.c_void_p()
        _call_with_options(
            lambda o, cb: _dump(path, pw, n, md5, o, ns, filter_json, mode, count, cb.text(each), None,
                                ctypes.byref(out)),
            on_progress,
            format=_format(format), allow_symlinks=allow_symlinks, allow_hardlinks=allow_hardlinks,
            max_total_bytes=max_total_bytes,
        )
        return _take_json(out)

    return _handed_over(call, queue_size, bytes if text else json.loads)


def diff(old, new, password=None, *, collection=None, ids=False, on_item=None, old_md5=None, new_md5=None,
         format=None, allow_symlinks=False, allow_hardlinks=False, max_total_bytes=None):
    """Compares two backups (the same ``password``; None for plain .tar.gz files), read at once
    and as check() reads them, by ``_id`` (a0b_diff), in bounded memory (past 16 MiB the
    documents' digests go to a temporary file). Returns the totals as a dict:
    ``collections``, ``changed_collections``, ``added``, ``removed``, ``changed``,
    ``unchanged``, ``old_md5``, ``new_md5``.

    ``on_item(item)``, when given, gets each collection's row (``collection``, ``presence``:
    ``"both"``, ``"old_only"`` or ``"new_only"``, ``added``, ``removed``, ``changed``,
    ``unchanged``, ``indexes`` and ``options``, each with its ``added``, ``removed`` and
    ``changed`` names), as ``a0backup diff --json`` prints it, and with ``ids=True``, before
    its row, each document added, removed or changed (``collection``, ``change``, ``_id`` as
    canonical Extended JSON, None for a document without one); returning False cancels
    (A0B_ERR_CANCELLED), an exception fails the diff and is re-raised. ``collection``
    (``"DATABASE.COLLECTION"``) compares that one only (A0B_ERR_INVALID_ARGUMENT when neither
    backup holds it); ``old_md5`` and ``new_md5`` are the md5s the files must have."""
    pw, n = _password(password)
    out = ctypes.c_void_p()
    each = on_item if on_item is not None else (lambda item: None)
    _call_with_options(
        lambda o, cb: _diff(_path(old), _path(new), pw, n, _md5_arg(old_md5), _md5_arg(new_md5), o,
                            _text_arg(collection, "collection"), 1 if ids else 0, cb.json(each), None,
                            ctypes.byref(out)),
        None,
        format=_format(format), allow_symlinks=allow_symlinks, allow_hardlinks=allow_hardlinks,
        max_total_bytes=max_total_bytes,
    )
    return _take_json(out)


def pack(src_dir, output, password, *, replace=None, level=None, format=None, pbkdf2_iterations=None,
         on_progress=None, overwrite=None):
    """Packs ``src_dir`` (its name is the archive's top entry, as with ``tar czf out dump``) into
    ``output`` as a .tar.gz, encrypted unless ``password`` is None; returns the md5 (hex) of
    what it wrote."""
    pw, n = _password(password)
    hex_out = ctypes.create_string_buffer(33)
    _call_with_options(
        lambda o, _: _pack(_path(src_dir), _path(output), pw, n, hex_out, o),
        on_progress,
        replace=_replace(replace, overwrite), gzip_level=level, format=_format(format),
        pbkdf2_iterations=pbkdf2_iterations,
    )
    return hex_out.value.decode("ascii")


def md5_file(path):
    """The md5 of a file, as 32 lowercase hex digits."""
    hex_out = ctypes.create_string_buffer(33)
    _check(_md5_file(_path(path), hex_out))
    return hex_out.value.decode("ascii")


# --- Streams -------------------------------------------------------------------------------------


def decrypt_stream(source, output, password, *, expected_md5=None, expect_gzip=False, format=None,
                   pbkdf2_iterations=None, on_progress=None):
    """Decrypts ``source`` (a binary file object, or bytes) into the file object ``output``, as
    it comes. With ``expected_md5`` the md5 of all the input is checked at the end, after the
    plaintext was written (A0B_ERR_CHECKSUM_MISMATCH then says to discard it); with
    ``expect_gzip`` a wrong password is caught before anything is written."""
    pw, n = _password(password)
    _call_with_options(
        lambda o, cb: _decrypt_stream(cb.reader(source), None, cb.writer(output), None, pw, n,
                                      _md5_arg(expected_md5), o),
        on_progress,
        expect_gzip=expect_gzip, format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )


def encrypt_stream(source, output, password, *, format=None, pbkdf2_iterations=None, on_progress=None):
    """Encrypts ``source`` (a binary file object, or bytes) into the file object ``output``
    (default format: 'node', the appliance's); returns the md5 (hex) of what it wrote."""
    pw, n = _password(password)
    hex_out = ctypes.create_string_buffer(33)
    _call_with_options(
        lambda o, cb: _encrypt_stream(cb.reader(source), None, cb.writer(output), None, pw, n, hex_out, o),
        on_progress,
        format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )
    return hex_out.value.decode("ascii")


def decrypt_bytes(data, password, **options):
    """The plaintext of encrypted bytes (options as for decrypt_stream)."""
    out = io.BytesIO()
    decrypt_stream(data, out, password, **options)
    return out.getvalue()


def encrypt_bytes(data, password, **options):
    """Bytes encrypted (options as for encrypt_stream)."""
    out = io.BytesIO()
    encrypt_stream(data, out, password, **options)
    return out.getvalue()


def restore_stream(source, dest_dir, password, *, expected_md5=None, replace=None, on_progress=None,
                   format=None, allow_symlinks=False, allow_hardlinks=False, max_total_bytes=None,
                   overwrite=None):
    """Restores the encrypted backup that ``source`` gives (a binary file object, or bytes)
    into ``dest_dir``, with restore()'s guarantees: ``dest_dir`` appears only when everything
    checked out, and a source that fails leaves nothing behind."""
    pw, n = _password(password)
    _call_with_options(
        lambda o, cb: _restore_stream(cb.reader(source), None, _path(dest_dir), pw, n, _md5_arg(expected_md5), o),
        on_progress,
        replace=_replace(replace, overwrite), format=_format(format), allow_symlinks=allow_symlinks,
        allow_hardlinks=allow_hardlinks, max_total_bytes=max_total_bytes,
    )


def pack_stream(src_dir, output, password, *, level=None, format=None, pbkdf2_iterations=None, on_progress=None):
    """Packs ``src_dir`` as pack() does into the file object ``output``, as it is produced
    (encrypted unless ``password`` is None); returns the md5 (hex) of what it wrote."""
    pw, n = _password(password)
    hex_out = ctypes.create_string_buffer(33)
    _call_with_options(
        lambda o, cb: _pack_stream(_path(src_dir), cb.writer(output), None, pw, n, hex_out, o),
        on_progress,
        gzip_level=level, format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )
    return hex_out.value.decode("ascii")


def md5_stream(source):
    """The md5 (hex) of everything ``source`` (a binary file object, or bytes) gives."""
    hex_out = ctypes.create_string_buffer(33)
    callbacks = _Callbacks()
    callbacks.check(_md5_stream(callbacks.reader(source), None, hex_out))
    return hex_out.value.decode("ascii")


def _writable(buf):
    """(ctypes pointer, length) of a writable buffer, without a copy."""
    view = memoryview(buf)
    if view.readonly:
        raise TypeError("a0backup: apply() needs a writable buffer (bytearray, memoryview, array)")
    view = view.cast("B")
    if len(view) == 0:
        return None, 0, view
    return (ctypes.c_uint8 * len(view)).from_buffer(view), len(view), view


class _Handle:
    _free = None

    def __init__(self):
        self._handle = None

    def _live(self):
        if self._handle is None:
            raise A0BackupError(ERR_INVALID_ARGUMENT, "this %s was freed" % type(self).__name__)
        return self._handle

    def free(self):
        """Releases the handle (a second free is a no-op)."""
        h, self._handle = self._handle, None
        if h is not None:
            type(self)._free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.free()


class Cipher(_Handle):
    """AES-256-CTR with its position. ``Cipher(password)`` keys it as Node's createCipher does;
    ``Cipher(key=..., iv=...)`` from a raw 32-byte key and 16-byte IV. ``apply(buf)`` encrypts
    or decrypts a writable buffer in place (a bytes object is not changed: its result is
    returned); ``seek(offset)`` moves the keystream; ``free()`` (or ``with``) releases it."""

    _free = staticmethod(_cipher_free)

    def __init__(self, password=None, *, key=None, iv=None):
        super().__init__()
        out = ctypes.c_void_p()
        if key is not None or iv is not None:
            if password is not None:
                raise TypeError("a0backup: give a password or key and iv, not both")
            key, iv = bytes(key or b""), bytes(iv or b"")
            if len(key) != 32 or len(iv) != 16:
                raise A0BackupError(ERR_INVALID_ARGUMENT, "the key must be 32 bytes and the IV 16")
            _check(_cipher_new_key_iv(key, iv, ctypes.byref(out)))
        else:
            if password is None:
                raise TypeError("a0backup: a password (or key and iv) is required")
            pw, n = _password(password)
            _check(_cipher_new(pw, n, ctypes.byref(out)))
        self._handle = out.value

    def apply(self, buf):
        if isinstance(buf, bytes):
            copy = bytearray(buf)
            self.apply(copy)
            return bytes(copy)
        ptr, n, view = _writable(buf)
        try:
            _check(_cipher_apply(self._live(), ptr, n))
        finally:
            del ptr
            view.release()
        return buf

    def seek(self, offset):
        _check(_cipher_seek(self._live(), offset))
        return self


class Md5(_Handle):
    """An incremental MD5: update(data), hexdigest() (which starts it over), free()."""

    _free = staticmethod(_md5_free)

    def __init__(self, data=None):
        super().__init__()
        out = ctypes.c_void_p()
        _check(_md5_new(ctypes.byref(out)))
        self._handle = out.value
        if data is not None:
            self.update(data)

    def update(self, data):
        data = bytes(data)
        _check(_md5_update(self._live(), data if data else None, len(data)))
        return self

    def hexdigest(self):
        hex_out = ctypes.create_string_buffer(33)
        _check(_md5_finish(self._live(), hex_out))
        return hex_out.value.decode("ascii")
