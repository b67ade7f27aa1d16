"""Every exception the audit package raises, in one place.

Callers (the engine, the CLI) need to tell "the evidence could not be written" apart from
"this input is not valid evidence" without importing each submodule, so all errors share
one base class, `AuditError`, and each names one kind of failure.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base class: anything the audit package refuses or fails to do."""


class CanonicalizationError(AuditError, ValueError):
    """A value has no RFC 8785 canonical form (NaN, integers beyond 2**53, non-str keys, ...)."""


class InvalidKeyError(AuditError, ValueError):
    """A public key (securesystemslib dict or raw bytes) is not a usable Ed25519 key."""


class KeyFileError(AuditError):
    """A private key file cannot be created, is unsafe (group/other access) or unreadable."""


class EnvelopeError(AuditError, ValueError):
    """A DSSE envelope is malformed or does not verify.

    `reason` is a short stable code (``malformed``, ``payload-type``, ``unknown-key``,
    ``bad-signature``) so that verifiers can map it to their own problem codes without
    parsing the message.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RecordError(AuditError, ValueError):
    """A record line is not valid evidence.

    `reason` is one of ``malformed``, ``not-canonical``, ``payload-type``, ``unknown-key``,
    ``bad-signature``, ``payload-invalid``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class StoreError(AuditError):
    """The record store failed (I/O, locked, closed, constraint refused)."""


class AuditWriteError(AuditError):
    """Records could not be made durable; nothing of the batch was written.

    This is the one exception the session loop catches to fail closed: when it is raised
    the learner's practice must stop, because it would otherwise go unrecorded.
    """


class BundleError(AuditError):
    """An export bundle cannot be written (target not empty, nothing to export, ...)."""
