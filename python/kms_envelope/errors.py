"""KMS error codes as exceptions.

Every failure of the library raises a subclass of :class:`KmsEnvelopeError`. The class follows
the C API's status (``InvalidCiphertextError``, ``NotFoundError``, ...) and, where the key service
gave one, the KMS error code (``KeyNotFoundError`` for ``Forbidden.KeyNotFound``, ...), so both
``except NotFoundError`` and ``except KeyNotFoundError`` work. ``err.code`` is the KMS code
("" when none), ``err.status`` the C status name, ``err.message`` the library's message (never
key material).
"""
from __future__ import annotations

from typing import Dict, Type


class KmsEnvelopeError(Exception):
    """Base of every kms_envelope error."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(f"{code or status}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InvalidArgumentError(KmsEnvelopeError):
    """A malformed or out-of-range argument (InvalidParameter, MissingParameter)."""


class InvalidCiphertextError(KmsEnvelopeError):
    """Malformed input, or it failed authentication (wrong key, context, tampering)."""


class NotFoundError(KmsEnvelopeError):
    """The CMK, alias or key version is unknown to the provider."""


class PermissionDeniedError(KmsEnvelopeError):
    """The CMK is disabled, pending deletion, or not allowed."""


class UnavailableError(KmsEnvelopeError):
    """Retryable: throttling, service unavailable, timeout."""


class KmsIOError(KmsEnvelopeError):
    """A file or stream operation failed."""


class UnsupportedError(KmsEnvelopeError):
    """The provider cannot do this (e.g. create keys on a remote provider)."""


class InternalError(KmsEnvelopeError):
    """A bug or resource exhaustion inside the library."""


class BufferTooSmallError(KmsEnvelopeError):
    """An output buffer was too small (the binding sizes buffers itself; seen only on a bug)."""


class KeyNotFoundError(NotFoundError):
    """Forbidden.KeyNotFound"""


class AliasNotFoundError(NotFoundError):
    """Forbidden.AliasNotFound"""


class NoPermissionError(PermissionDeniedError):
    """Forbidden.NoPermission"""


class DisabledError(PermissionDeniedError):
    """Rejected.Disabled"""


class PendingDeletionError(PermissionDeniedError):
    """Rejected.PendingDeletion"""


class ThrottlingError(UnavailableError):
    """Throttling / Rejected.Throttling"""


BY_STATUS: Dict[str, Type[KmsEnvelopeError]] = {
    "KMSE_ERR_INVALID_ARGUMENT": InvalidArgumentError,
    "KMSE_ERR_BUFFER_TOO_SMALL": BufferTooSmallError,
    "KMSE_ERR_INVALID_CIPHERTEXT": InvalidCiphertextError,
    "KMSE_ERR_NOT_FOUND": NotFoundError,
    "KMSE_ERR_PERMISSION_DENIED": PermissionDeniedError,
    "KMSE_ERR_UNAVAILABLE": UnavailableError,
    "KMSE_ERR_IO": KmsIOError,
    "KMSE_ERR_UNSUPPORTED": UnsupportedError,
    "KMSE_ERR_INTERNAL": InternalError,
}

BY_CODE: Dict[str, Type[KmsEnvelopeError]] = {
    "Forbidden.KeyNotFound": KeyNotFoundError,
    "Forbidden.AliasNotFound": AliasNotFoundError,
    "Forbidden.NoPermission": NoPermissionError,
    "Rejected.Disabled": DisabledError,
    "Rejected.PendingDeletion": PendingDeletionError,
    "Throttling": ThrottlingError,
    "Rejected.Throttling": ThrottlingError,
}


def error_for(status: str, code: str, message: str) -> KmsEnvelopeError:
    """The most specific exception for a C status name and KMS code."""
    cls = BY_CODE.get(code)
    if cls is None or not issubclass(cls, BY_STATUS.get(status, KmsEnvelopeError)):
        cls = BY_STATUS.get(status, KmsEnvelopeError)
    return cls(status, code, message)
