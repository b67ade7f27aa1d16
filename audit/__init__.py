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
"""

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
