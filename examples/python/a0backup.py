"""a0backup from Python, through the C library (include/a0backup.h) and ctypes (stdlib only).

    import a0backup
    a0backup.restore("backup-retrieve.tar.gz.enc", "/tmp/restore", "Passw0rd",
                     expected_md5="eccdb928a3bab23f725f955b68ef66ff")

The library is found at $A0BACKUP_LIB, else at ../../target/capi/liba0backup.so (relative to
this file), where `make capi` puts it. Every failure raises A0BackupError,
whose ``code`` is the a0b_result (A0B_ERR_*) and whose ``message`` is a0b_last_error_message().

Passwords are bytes (as they are) or str (their UTF-8 bytes, as Node's crypto.createCipher uses
them). Paths are str, bytes or os.PathLike; the library takes UTF-8 paths, so a path whose bytes
are not UTF-8 is refused with A0B_ERR_INVALID_ARGUMENT. The calls release the GIL while they run;
a progress callback takes it back for its own run.
"""

import ctypes
import os
import sys
from collections import namedtuple

__all__ = [
    "A0BackupError", "Cipher", "KeyIv", "Md5", "decrypt_file", "derive_key_iv", "encrypt_file",
    "library_path", "md5_file", "pack", "restore", "version",
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


def library_path():
    """The path of the shared library this module loads."""
    env = os.environ.get("A0BACKUP_LIB")
    if env:
        return os.path.abspath(env)
    built = os.path.normpath(os.path.join(_HERE, "..", "..", "target", "capi", _LIB_NAME))
    if os.path.exists(built):
        return built
    raise OSError("a0backup: no library at %s: run `make capi` or set A0BACKUP_LIB" % built)


_lib = ctypes.CDLL(library_path())

# --- Declarations --------------------------------------------------------------------------------

PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)


class Options(ctypes.Structure):
    """struct a0b_options."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("overwrite", ctypes.c_bool),
        ("format", ctypes.c_uint32),
        ("pbkdf2_iterations", ctypes.c_uint32),
        ("expect_gzip", ctypes.c_bool),
        ("gzip_level", ctypes.c_uint32),
        ("allow_symlinks", ctypes.c_bool),
        ("allow_hardlinks", ctypes.c_bool),
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


def _call_with_options(call, on_progress=None, **fields):
    """Runs call(options) with an a0b_options built from ``fields`` (None: the default).

    ``on_progress(done, total)`` gets ints (total 0 when unknown); returning False cancels
    (A0B_ERR_CANCELLED), and so does raising, in which case the exception is re-raised once
    the library has cleaned up.
    """
    o = Options()
    _check(_options_init(ctypes.byref(o)))
    for name, value in fields.items():
        if value is not None:
            setattr(o, name, value)
    raised = []
    if on_progress is not None:

        def trampoline(done, total, _user_data):
            try:
                return 1 if on_progress(done, total) is False else 0
            except BaseException as e:  # noqa: B036 - re-raised after the call
                raised.append(e)
                return 1

        # Kept alive (referenced by `o` and this frame) until the call returns.
        o.progress = PROGRESS_FN(trampoline)
    rc = call(ctypes.byref(o))
    if raised:
        raise raised[0]
    _check(rc)


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


def decrypt_file(input, output, password, *, expected_md5=None, overwrite=False, expect_gzip=False,
                 format=None, pbkdf2_iterations=None, on_progress=None):
    """Decrypts ``input`` into ``output``, published only when complete (and, with
    ``expected_md5``, only when the md5 of ``input`` matches). ``format``: 'auto' (default),
    'node', 'openssl-md5' or 'openssl-pbkdf2'."""
    pw, n = _password(password)
    _call_with_options(
        lambda o: _decrypt_file(_path(input), _path(output), pw, n, _md5_arg(expected_md5), o),
        on_progress,
        overwrite=overwrite, expect_gzip=expect_gzip, format=_format(format),
        pbkdf2_iterations=pbkdf2_iterations,
    )


def encrypt_file(input, output, password, *, format=None, overwrite=False, pbkdf2_iterations=None,
                 on_progress=None):
    """Encrypts ``input`` into ``output`` (default format: 'node', the appliance's)."""
    pw, n = _password(password)
    _call_with_options(
        lambda o: _encrypt_file(_path(input), _path(output), pw, n, o),
        on_progress,
        overwrite=overwrite, format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )


def restore(input, dest_dir, password, *, expected_md5=None, overwrite=False, on_progress=None,
            format=None, allow_symlinks=False, allow_hardlinks=False, max_total_bytes=None):
    """Restores an encrypted backup (.tar.gz.enc) into ``dest_dir``, which appears (or is
    replaced, with ``overwrite``) only when everything checked out."""
    pw, n = _password(password)
    _call_with_options(
        lambda o: _restore(_path(input), _path(dest_dir), pw, n, _md5_arg(expected_md5), o),
        on_progress,
        overwrite=overwrite, format=_format(format), allow_symlinks=allow_symlinks,
        allow_hardlinks=allow_hardlinks, max_total_bytes=max_total_bytes,
    )


def pack(src_dir, output, password, *, overwrite=False, level=None, format=None, pbkdf2_iterations=None,
         on_progress=None):
    """Packs ``src_dir`` (its name is the archive's top entry, as with ``tar czf out dump``) into
    ``output`` as a .tar.gz, encrypted unless ``password`` is None; returns the md5 (hex) of
    what it wrote."""
    pw, n = _password(password)
    hex_out = ctypes.create_string_buffer(33)
    _call_with_options(
        lambda o: _pack(_path(src_dir), _path(output), pw, n, hex_out, o),
        on_progress,
        overwrite=overwrite, gzip_level=level, format=_format(format), pbkdf2_iterations=pbkdf2_iterations,
    )
    return hex_out.value.decode("ascii")


def md5_file(path):
    """The md5 of a file, as 32 lowercase hex digits."""
    hex_out = ctypes.create_string_buffer(33)
    _check(_md5_file(_path(path), hex_out))
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
