"""ctypes declarations of the C ABI (kms_envelope/c/kms_envelope.h) and the library loader.

The library is found through KMS_ENVELOPE_LIBRARY (a path), else the dynamic loader's search
(`libkms_envelope.so.0`, the installed SONAME: /usr/lib/<triplet> from the Debian package,
/usr/local/lib after scripts/install.sh and ldconfig, or LD_LIBRARY_PATH).
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int64, c_size_t,
                    c_uint8, c_uint64, c_void_p)

from .errors import error_for

SONAME = "libkms_envelope.so.0"
API_VERSION = 1
ERROR_CODE_SIZE = 64
ERROR_MESSAGE_SIZE = 512
ID_SIZE = 128


class Error(Structure):
    _fields_ = [("status", c_int), ("kms_code", c_char * ERROR_CODE_SIZE),
                ("message", c_char * ERROR_MESSAGE_SIZE)]


class KeyInfo(Structure):
    _fields_ = [("key_id", c_char * ID_SIZE), ("key_version_id", c_char * ID_SIZE),
                ("request_id", c_char * ID_SIZE)]


READ_FN = CFUNCTYPE(c_int64, c_void_p, POINTER(c_uint8), c_size_t)
WRITE_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_uint8), c_size_t)

_u8p = POINTER(c_uint8)
_sizep = POINTER(c_size_t)
_errp = POINTER(Error)
_SIGNATURES = {
    "kmse_status_name": (c_char_p, [c_int]),
    "kmse_api_version": (c_int, []),
    "kmse_wipe": (None, [c_void_p, c_size_t]),
    "kmse_local_provider_open": (c_int, [c_char_p, c_char_p, POINTER(c_void_p), _errp]),
    "kmse_local_create_key": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, _sizep, _errp]),
    "kmse_local_rotate_key": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, _sizep, _errp]),
    "kmse_local_create_alias": (c_int, [c_void_p, c_char_p, c_char_p, _errp]),
    "kmse_remote_provider_open": (c_int, [c_char_p, c_char_p, c_char_p, POINTER(c_void_p),
                                          _errp]),
    "kmse_caching_provider_new": (c_int, [c_void_p, c_uint64, c_uint64, c_uint64,
                                          POINTER(c_void_p), _errp]),
    "kmse_provider_free": (None, [c_void_p]),
    "kmse_generate_data_key": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, _u8p, c_size_t,
                                       _sizep, _u8p, c_size_t, _sizep, POINTER(KeyInfo), _errp]),
    "kmse_decrypt": (c_int, [c_void_p, _u8p, c_size_t, c_char_p, _u8p, c_size_t, _sizep,
                             POINTER(KeyInfo), _errp]),
    "kmse_envelope_new": (c_int, [c_void_p, c_char_p, POINTER(c_void_p), _errp]),
    "kmse_envelope_free": (None, [c_void_p]),
    "kmse_envelope_seal": (c_int, [c_void_p, _u8p, c_size_t, c_char_p, _u8p, c_size_t, _sizep,
                                   _errp]),
    "kmse_envelope_open": (c_int, [c_void_p, _u8p, c_size_t, c_char_p, _u8p, c_size_t, _sizep,
                                   _errp]),
    "kmse_envelope_seal_stream": (c_int, [c_void_p, READ_FN, c_void_p, WRITE_FN, c_void_p,
                                          c_char_p, POINTER(c_uint64), POINTER(c_uint64), _errp]),
    "kmse_envelope_open_stream": (c_int, [c_void_p, READ_FN, c_void_p, WRITE_FN, c_void_p,
                                          c_char_p, POINTER(c_uint64), _errp]),
    "kmse_inspect": (c_int, [_u8p, c_size_t, c_uint64, c_char_p, c_size_t, _sizep, _errp]),
    "kmse_provider_open_config": (c_int, [POINTER(c_char_p), POINTER(c_char_p), c_size_t, c_int,
                                          POINTER(c_void_p), _errp]),
    "kmse_provider_option_name": (c_char_p, [c_size_t]),
}

OK = 0
BUFFER_TOO_SMALL = 2


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(os.environ.get("KMS_ENVELOPE_LIBRARY") or SONAME)
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    if lib.kmse_api_version() != API_VERSION:
        raise ImportError(f"{SONAME} has C API version {lib.kmse_api_version()}, "
                          f"this binding needs {API_VERSION}")
    return lib


lib = _load()


def check(status: int, err: Error) -> None:
    """Raises the matching KmsEnvelopeError unless `status` is OK."""
    if status != OK:
        raise error_for(lib.kmse_status_name(status).decode(), err.kms_code.decode(),
                        err.message.decode(errors="replace"))


def buffer_of(data) -> "ctypes.Array":
    """A ctypes view of a bytes-like object's memory (copied only when read-only)."""
    view = memoryview(data).cast("B")
    if view.readonly:
        return (c_uint8 * len(view)).from_buffer_copy(view)
    return (c_uint8 * len(view)).from_buffer(view)


def wipe(buf) -> None:
    """Zeroes a writable buffer (bytearray, memoryview, ctypes array) in place."""
    view = memoryview(buf).cast("B")
    if len(view):
        lib.kmse_wipe((c_uint8 * len(view)).from_buffer(view), len(view))
