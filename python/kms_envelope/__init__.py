"""kms_envelope: envelope encryption over KMS data keys (Python binding of libkms_envelope).

    import kms_envelope as ke
    with ke.Provider.local("/var/lib/kms") as kms:
        key_id = kms.create_key("backups")
        env = ke.Envelope(kms, key_id)
        sealed = env.seal(b"secret", {"app": "backup"})
        plain = env.open(sealed, {"app": "backup"})      # bytearray: ke.wipe(plain) when done
        env.encrypt_file("db.dump", "db.dump.kmse", {"app": "backup"})

Secrets (data keys, opened plaintext) come back as ``bytearray`` so callers can wipe them with
:func:`wipe`; the library wipes its own copies. Every failure raises a
:class:`~kms_envelope.errors.KmsEnvelopeError` subclass named after the KMS error.
"""
from __future__ import annotations

import ctypes
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, List, Mapping, Optional, Union

from . import _native
from ._native import KeyInfo, check, lib, wipe
from .errors import *  # noqa: F401,F403  (the exception hierarchy is part of the API)
from .errors import InvalidArgumentError, KmsEnvelopeError

__all__ = ["Provider", "Envelope", "DataKey", "inspect", "option_names", "wipe",
           "KmsEnvelopeError"]
__version__ = "0.1.0"

Context = Optional[Mapping[str, str]]
PathLike = Union[str, "os.PathLike[str]"]
OptionValue = Union[str, int, "os.PathLike[str]"]
# Largest header kms_envelope writes or reads is below this (docs/format.md).
_HEADER_READ = 256 * 1024


def _context_json(context: Context) -> Optional[bytes]:
    if context is None:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise InvalidArgumentError("KMSE_ERR_INVALID_ARGUMENT", "InvalidParameter",
                                   "encryption context keys and values must be str")
    return json.dumps(dict(context), ensure_ascii=False).encode()


def _text(value: Optional[str]) -> Optional[bytes]:
    return None if value is None else value.encode()


def _option_value(name: str, value: OptionValue) -> bytes:
    """A provider option's value as the C API takes it: text, decimal, or a file name's bytes."""
    if isinstance(value, bool) or not isinstance(value, (str, int, os.PathLike)):
        raise InvalidArgumentError("KMSE_ERR_INVALID_ARGUMENT", "InvalidParameter",
                                   f"provider option {name}: a str, int or path is expected")
    if isinstance(value, int):
        return str(value).encode()
    return os.fsencode(value)


def option_names() -> List[str]:
    """The provider option names :meth:`Provider.from_options` takes, in the library's order."""
    names = []
    while (name := lib.kmse_provider_option_name(len(names))) is not None:
        names.append(name.decode())
    return names


def _sized_call(call) -> bytes:
    """Runs call(buf, cap, len_ptr) with a size query first; returns the bytes written."""
    err = _native.Error()
    need = ctypes.c_size_t(0)
    status = call(None, 0, ctypes.byref(need), err)
    if status != _native.BUFFER_TOO_SMALL:
        check(status, err)
    buf = ctypes.create_string_buffer(need.value)
    check(call(buf, need.value, ctypes.byref(need), err), err)
    return buf.raw[:need.value]


@dataclass
class DataKey:
    """A data key from GenerateDataKey: wipe ``plaintext`` when done with it."""
    plaintext: bytearray
    ciphertext_blob: bytes
    key_id: str
    key_version_id: str
    request_id: str


class Provider:
    """A key provider: the local CMK store, a remote KMS, a KMS instance, branch keys, or a
    cache in front of any of them (:meth:`from_options` reaches every kind).

    Thread safe; close() (or the context manager) frees it. Envelopes and caches keep the
    provider they use alive, so closing it early is allowed."""

    def __init__(self, handle: ctypes.c_void_p) -> None:
        self._handle = handle

    @classmethod
    def local(cls, store_dir: PathLike, root_key_file: Optional[PathLike] = None) -> "Provider":
        return cls._open(lib.kmse_local_provider_open, os.fsencode(store_dir),
                         None if root_key_file is None else os.fsencode(root_key_file))

    @classmethod
    def remote(cls, endpoint: str, access_key_id: Optional[str] = None,
               access_key_secret: Optional[str] = None) -> "Provider":
        """Alibaba Cloud KMS (or `kms-envelope serve`); credentials from the environment
        (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN) when None."""
        return cls._open(lib.kmse_remote_provider_open, endpoint.encode(), _text(access_key_id),
                         _text(access_key_secret))

    @classmethod
    def from_options(cls, options: Optional[Mapping[str, OptionValue]] = None, *,
                     use_environment: bool = False) -> "Provider":
        """The provider the shared provider options describe: the names of the `kms-envelope`
        global flags without "--" (:func:`option_names`), e.g. ``{"kms-endpoint": "cn-hangzhou",
        "signature-version": 3, "cache-max-messages": 100}``. With ``use_environment`` the
        KMS_ENVELOPE_* variables fill in the options not given. An unknown name, a malformed
        value or an option the chosen provider does not use raises InvalidArgumentError naming
        it."""
        items = list((options or {}).items())
        names = (ctypes.c_char_p * max(len(items), 1))()
        values = (ctypes.c_char_p * max(len(items), 1))()
        for i, (name, value) in enumerate(items):
            names[i] = name.encode()
            values[i] = _option_value(name, value)
        return cls._open(lib.kmse_provider_open_config, names, values, len(items),
                         1 if use_environment else 0)

    @classmethod
    def _open(cls, fn, *args) -> "Provider":
        err = _native.Error()
        handle = ctypes.c_void_p()
        check(fn(*args, ctypes.byref(handle), err), err)
        return cls(handle)

    def cached(self, max_age: float = 60.0, max_messages: int = 10000,
               max_bytes: int = 1 << 32) -> "Provider":
        """A data-key cache in front of this provider (docs/cache.md)."""
        return Provider._open(lib.kmse_caching_provider_new, self._live(),
                              int(max_age * 1000), max_messages, max_bytes)

    def create_key(self, description: str = "") -> str:
        """A new CMK in the local store: its KeyId."""
        return self._new_id(lib.kmse_local_create_key, description.encode())

    def rotate_key(self, key_id: str) -> str:
        """A new primary version of a local CMK: its KeyVersionId."""
        return self._new_id(lib.kmse_local_rotate_key, key_id.encode())

    def _new_id(self, fn, arg: bytes) -> str:
        err = _native.Error()
        buf = ctypes.create_string_buffer(_native.ID_SIZE)
        length = ctypes.c_size_t(0)
        check(fn(self._live(), arg, buf, len(buf), ctypes.byref(length), err), err)
        return buf.value.decode()

    def create_alias(self, alias: str, key_id: str) -> None:
        err = _native.Error()
        check(lib.kmse_local_create_alias(self._live(), alias.encode(), key_id.encode(), err), err)

    def generate_data_key(self, key_id: str, context: Context = None,
                          number_of_bytes: int = 32) -> DataKey:
        err = _native.Error()
        info = KeyInfo()
        plaintext = bytearray(number_of_bytes)
        blob = (ctypes.c_uint8 * 8192)()
        plain_len, blob_len = ctypes.c_size_t(0), ctypes.c_size_t(0)
        try:
            check(lib.kmse_generate_data_key(
                self._live(), key_id.encode(), number_of_bytes, _context_json(context),
                _native.buffer_of(plaintext), len(plaintext), ctypes.byref(plain_len), blob,
                len(blob), ctypes.byref(blob_len), ctypes.byref(info), err), err)
        except KmsEnvelopeError:
            wipe(plaintext)
            raise
        return DataKey(plaintext, bytes(blob[:blob_len.value]), info.key_id.decode(),
                       info.key_version_id.decode(), info.request_id.decode())

    def decrypt(self, ciphertext_blob: bytes, context: Context = None) -> bytearray:
        """KMS Decrypt of a CiphertextBlob: the plaintext data key (wipe it when done)."""
        err = _native.Error()
        out = bytearray(1024)
        out_len = ctypes.c_size_t(0)
        try:
            check(lib.kmse_decrypt(self._live(), _native.buffer_of(ciphertext_blob),
                                   len(ciphertext_blob), _context_json(context),
                                   _native.buffer_of(out), len(out), ctypes.byref(out_len),
                                   None, err), err)
        except KmsEnvelopeError:
            wipe(out)
            raise
        key = out[:out_len.value]
        wipe(out)
        return key

    def _live(self) -> ctypes.c_void_p:
        if not self._handle:
            raise InvalidArgumentError("KMSE_ERR_INVALID_ARGUMENT", "", "the provider is closed")
        return self._handle

    def close(self) -> None:
        if self._handle:
            lib.kmse_provider_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Provider":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


class Envelope:
    """Seals under ``key_id`` of ``provider``; opens what that provider can unwrap."""

    def __init__(self, provider: Provider, key_id: str) -> None:
        err = _native.Error()
        self._handle = ctypes.c_void_p()
        check(lib.kmse_envelope_new(provider._live(), key_id.encode(),
                                    ctypes.byref(self._handle), err), err)

    def seal(self, plaintext: bytes, context: Context = None) -> bytes:
        ctx = _context_json(context)
        src = _native.buffer_of(plaintext)
        return _sized_call(lambda b, c, n, e: lib.kmse_envelope_seal(
            self._handle, src, len(plaintext), ctx, ctypes.cast(b, _native._u8p), c, n, e))

    def open(self, sealed: bytes, context: Context = None) -> bytearray:
        """The plaintext, only after it authenticated (wipe it when done). ``context`` must
        equal the message's context."""
        err = _native.Error()
        out = bytearray(len(sealed))
        out_len = ctypes.c_size_t(0)
        try:
            check(lib.kmse_envelope_open(self._handle, _native.buffer_of(sealed), len(sealed),
                                         _context_json(context), _native.buffer_of(out),
                                         len(out), ctypes.byref(out_len), err), err)
        except KmsEnvelopeError:
            wipe(out)
            raise
        del out[out_len.value:]
        return out

    def encrypt_file(self, source: PathLike, destination: PathLike,
                     context: Context = None) -> int:
        """Seals a file in constant memory; ``destination`` appears only when complete."""
        return self._stream_file(lib.kmse_envelope_seal_stream, source, destination, context,
                                 sealing=True)

    def decrypt_file(self, source: PathLike, destination: PathLike,
                     context: Context = None) -> int:
        """Opens a sealed file in constant memory; ``destination`` appears only when every
        frame authenticated (nothing is left behind on failure). Returns the plaintext size."""
        return self._stream_file(lib.kmse_envelope_open_stream, source, destination, context,
                                 sealing=False)

    def _stream_file(self, fn, source: PathLike, destination: PathLike, context: Context,
                     sealing: bool) -> int:
        destination = os.fspath(destination)
        directory = os.path.dirname(os.path.abspath(destination))
        with open(source, "rb") as src, tempfile.NamedTemporaryFile(
                dir=directory, prefix=".kmse-py-", delete=False) as tmp:
            try:
                size = self._stream(fn, src, tmp, context, sealing)
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, destination)
        return size

    def _stream(self, fn, src: BinaryIO, dst: BinaryIO, context: Context, sealing: bool) -> int:
        failure = []

        def read(_user, buf, cap):
            try:
                chunk = src.readinto(memoryview((ctypes.c_uint8 * cap).from_address(
                    ctypes.addressof(buf.contents))).cast("B"))
                return chunk or 0
            except Exception as e:  # reported through the C status; re-raised below
                failure.append(e)
                return -1

        def write(_user, buf, length):
            try:
                # A view, not a bytes copy: an immutable copy of plaintext could not be wiped.
                dst.write(memoryview((ctypes.c_uint8 * length).from_address(
                    ctypes.addressof(buf.contents))).cast("B"))
                return 0
            except Exception as e:
                failure.append(e)
                return 1

        err = _native.Error()
        plain = ctypes.c_uint64(0)
        read_cb, write_cb = _native.READ_FN(read), _native.WRITE_FN(write)
        if sealing:
            status = fn(self._handle, read_cb, None, write_cb, None, _context_json(context),
                        ctypes.byref(plain), None, err)
        else:
            status = fn(self._handle, read_cb, None, write_cb, None, _context_json(context),
                        ctypes.byref(plain), err)
        if failure:
            raise failure[0]
        check(status, err)
        return plain.value

    def close(self) -> None:
        if self._handle:
            lib.kmse_envelope_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Envelope":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def inspect(sealed: Union[bytes, PathLike]) -> Dict[str, Any]:
    """A sealed message's header (bytes, or a file path) as a dict, without decrypting.
    Nothing in it is authenticated ("Authenticated": False)."""
    if isinstance(sealed, (bytes, bytearray, memoryview)):
        data, total = bytes(sealed), len(sealed)
    else:
        with open(sealed, "rb") as f:
            data = f.read(_HEADER_READ)
            total = os.fstat(f.fileno()).st_size
    src = _native.buffer_of(data)
    text = _sized_call(lambda b, c, n, e: lib.kmse_inspect(src, len(data), total, b, c, n, e))
    return json.loads(text.rstrip(b"\0").decode())
