"""Signed, tamper-evident audit evidence for Proctor sessions.

Every session event becomes a record: a DSSE envelope (Ed25519, securesystemslib key ids)
over the RFC 8785 canonical JSON of the event and its place in the log (global `seq`,
per-session `session_seq`, digest of the session's previous record). `AuditLog` writes
records durably to a `RecordStore` (SQLite by default, PostgreSQL for several replicas;
`open_record_store` picks one from a path or URL) or raises `AuditWriteError` so the
session can fail closed; `export_bundle` writes a signed bundle that `verify_bundle`
checks offline. Learner text is sealed outside the signed events (`audit.content`), so
`erase_learner_content` can erase it while every record stays verifiable. `SessionIndex`
lists the sessions in a log and `SessionFilter` chooses among them, for the service's API and
the CLI's export alike.

This package imports nothing else from the project.

Names are imported on first use (PEP 562), so that importing one submodule, such as
the verifier's worker entry `audit.verify_worker`, does not load the whole package
(the PostgreSQL driver, pydantic models, the bundle writer): a worker process would
otherwise spend more time importing than checking.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from audit.bundle import BundleSummary, export_bundle
    from audit.canonical import canonical_json
    from audit.checkpoint import (
        Checkpoint,
        CheckpointError,
        check_consistent,
        open_checkpoint,
        parse_checkpoint,
        sign_checkpoint,
    )
    from audit.content_log import ContentChange
    from audit.dsse import Envelope, EnvelopeSignature, open_envelope, pae, sign_envelope
    from audit.erasure import ErasureError, ErasureSummary, erase_learner_content
    from audit.errors import (
        AuditError,
        AuditWriteError,
        BundleError,
        CanonicalizationError,
        EnvelopeError,
        InvalidKeyError,
        KeyFileError,
        RecordError,
        StoreError,
    )
    from audit.keys import PublicKey, SigningKey
    from audit.log import AppendedRecord, AuditLog
    from audit.merkle import (
        EMPTY_ROOT,
        MerkleTree,
        consistency_proof,
        inclusion_proof,
        leaf_hash,
        node_hash,
        root,
    )
    from audit.merkle_verify import ProofError, verify_consistency, verify_inclusion
    from audit.note import NoteError, NoteSigner, NoteVerifier, open_note, sign_note
    from audit.outbox import OutboxMessage, OutboxRequest, OutboxStore, message_id
    from audit.postgres_store import PostgresRecordStore
    from audit.problems import Code, Problem, VerificationReport
    from audit.records import (
        RECORD_PAYLOAD_TYPE,
        PolicyRef,
        RecordPayload,
        decode_record,
        encode_record,
        record_digest,
    )
    from audit.session_filter import SessionFilter
    from audit.session_index import IndexedSession, SessionIndex
    from audit.sqlite_store import SQLiteRecordStore
    from audit.store import RecordStore, SessionHead, StoredRecord, StoreTransaction
    from audit.stores import open_record_store
    from audit.timefmt import format_timestamp, parse_timestamp
    from audit.verify import verify_bundle
    from audit.xapi import session_statements

_HOMES: Final[dict[str, str]] = {
    "AppendedRecord": "audit.log",
    "AuditError": "audit.errors",
    "AuditLog": "audit.log",
    "AuditWriteError": "audit.errors",
    "BundleError": "audit.errors",
    "BundleSummary": "audit.bundle",
    "CanonicalizationError": "audit.errors",
    "Checkpoint": "audit.checkpoint",
    "CheckpointError": "audit.checkpoint",
    "Code": "audit.problems",
    "ContentChange": "audit.content_log",
    "EMPTY_ROOT": "audit.merkle",
    "Envelope": "audit.dsse",
    "EnvelopeError": "audit.errors",
    "EnvelopeSignature": "audit.dsse",
    "ErasureError": "audit.erasure",
    "ErasureSummary": "audit.erasure",
    "IndexedSession": "audit.session_index",
    "InvalidKeyError": "audit.errors",
    "KeyFileError": "audit.errors",
    "MerkleTree": "audit.merkle",
    "NoteError": "audit.note",
    "NoteSigner": "audit.note",
    "NoteVerifier": "audit.note",
    "OutboxMessage": "audit.outbox",
    "OutboxRequest": "audit.outbox",
    "OutboxStore": "audit.outbox",
    "PolicyRef": "audit.records",
    "PostgresRecordStore": "audit.postgres_store",
    "Problem": "audit.problems",
    "ProofError": "audit.merkle_verify",
    "PublicKey": "audit.keys",
    "RECORD_PAYLOAD_TYPE": "audit.records",
    "RecordError": "audit.errors",
    "RecordPayload": "audit.records",
    "RecordStore": "audit.store",
    "SQLiteRecordStore": "audit.sqlite_store",
    "SessionFilter": "audit.session_filter",
    "SessionHead": "audit.store",
    "SessionIndex": "audit.session_index",
    "SigningKey": "audit.keys",
    "StoreError": "audit.errors",
    "StoreTransaction": "audit.store",
    "StoredRecord": "audit.store",
    "VerificationReport": "audit.problems",
    "canonical_json": "audit.canonical",
    "check_consistent": "audit.checkpoint",
    "consistency_proof": "audit.merkle",
    "decode_record": "audit.records",
    "encode_record": "audit.records",
    "erase_learner_content": "audit.erasure",
    "export_bundle": "audit.bundle",
    "format_timestamp": "audit.timefmt",
    "inclusion_proof": "audit.merkle",
    "leaf_hash": "audit.merkle",
    "message_id": "audit.outbox",
    "node_hash": "audit.merkle",
    "open_checkpoint": "audit.checkpoint",
    "open_envelope": "audit.dsse",
    "open_note": "audit.note",
    "open_record_store": "audit.stores",
    "pae": "audit.dsse",
    "parse_checkpoint": "audit.checkpoint",
    "parse_timestamp": "audit.timefmt",
    "record_digest": "audit.records",
    "root": "audit.merkle",
    "session_statements": "audit.xapi",
    "sign_checkpoint": "audit.checkpoint",
    "sign_envelope": "audit.dsse",
    "sign_note": "audit.note",
    "verify_bundle": "audit.verify",
    "verify_consistency": "audit.merkle_verify",
    "verify_inclusion": "audit.merkle_verify",
}

__all__ = [
    "EMPTY_ROOT",
    "RECORD_PAYLOAD_TYPE",
    "AppendedRecord",
    "AuditError",
    "AuditLog",
    "AuditWriteError",
    "BundleError",
    "BundleSummary",
    "CanonicalizationError",
    "Checkpoint",
    "CheckpointError",
    "Code",
    "ContentChange",
    "Envelope",
    "EnvelopeError",
    "EnvelopeSignature",
    "ErasureError",
    "ErasureSummary",
    "IndexedSession",
    "InvalidKeyError",
    "KeyFileError",
    "MerkleTree",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "OutboxMessage",
    "OutboxRequest",
    "OutboxStore",
    "PolicyRef",
    "PostgresRecordStore",
    "Problem",
    "ProofError",
    "PublicKey",
    "RecordError",
    "RecordPayload",
    "RecordStore",
    "SQLiteRecordStore",
    "SessionFilter",
    "SessionHead",
    "SessionIndex",
    "SigningKey",
    "StoreError",
    "StoreTransaction",
    "StoredRecord",
    "VerificationReport",
    "canonical_json",
    "check_consistent",
    "consistency_proof",
    "decode_record",
    "encode_record",
    "erase_learner_content",
    "export_bundle",
    "format_timestamp",
    "inclusion_proof",
    "leaf_hash",
    "message_id",
    "node_hash",
    "open_checkpoint",
    "open_envelope",
    "open_note",
    "open_record_store",
    "pae",
    "parse_checkpoint",
    "parse_timestamp",
    "record_digest",
    "root",
    "session_statements",
    "sign_checkpoint",
    "sign_envelope",
    "sign_note",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
]


if not TYPE_CHECKING:  # mypy sees the imports above; at run time names load on first use

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            # A submodule, as the eager imports used to make them attributes of the package.
            if importlib.util.find_spec(f"audit.{name}") is None:
                raise AttributeError(f"module 'audit' has no attribute {name!r}")
            return importlib.import_module(f"audit.{name}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
