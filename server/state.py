"""What one running service holds: configuration, API keys, the audit log and its key."""

from __future__ import annotations

from dataclasses import dataclass

from audit import AuditLog, SigningKey, SQLiteRecordStore
from server.auth import ApiKeyStore
from server.config import ServerConfig


@dataclass
class ServiceState:
    config: ServerConfig
    keys: ApiKeyStore
    audit_store: SQLiteRecordStore
    audit_log: AuditLog

    @classmethod
    def open(cls, config: ServerConfig) -> ServiceState:
        config.ensure()
        store = SQLiteRecordStore(config.audit_db)
        key = SigningKey.load_or_create(config.signing_key)
        return cls(config, ApiKeyStore(config.service_db), store, AuditLog(store, key))

    def close(self) -> None:
        self.keys.close()
        self.audit_store.close()
