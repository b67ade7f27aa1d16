"""What one running service holds: configuration, API keys, the audit log and its key."""

from __future__ import annotations

from dataclasses import dataclass

from audit import AuditLog, SigningKey, SQLiteRecordStore
from server.auth import ApiKeyStore
from server.config import ServerConfig
from server.policy_registry import PolicyRegistry


@dataclass
class ServiceState:
    config: ServerConfig
    keys: ApiKeyStore
    audit_store: SQLiteRecordStore
    audit_log: AuditLog
    policies: PolicyRegistry

    @classmethod
    def open(cls, config: ServerConfig) -> ServiceState:
        config.ensure()
        store = SQLiteRecordStore(config.audit_db)
        key = SigningKey.load_or_create(config.signing_key)
        keys = ApiKeyStore(config.service_db)
        return cls(config, keys, store, AuditLog(store, key), PolicyRegistry(config.service_db))

    def close(self) -> None:
        self.keys.close()
        self.policies.close()
        self.audit_store.close()
