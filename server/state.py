"""What one running service holds: configuration, API keys, the audit log and its key."""

from __future__ import annotations

from dataclasses import dataclass

from audit import AuditLog, SigningKey, open_record_store
from audit.stores import AnyRecordStore
from server.auth import ApiKeyStore
from server.config import ServerConfig
from server.live import LiveSessions
from server.policy_registry import PolicyRegistry


@dataclass
class ServiceState:
    config: ServerConfig
    keys: ApiKeyStore
    audit_store: AnyRecordStore
    audit_log: AuditLog
    policies: PolicyRegistry
    live: LiveSessions

    @classmethod
    def open(cls, config: ServerConfig) -> ServiceState:
        config.ensure()
        store = open_record_store(config.audit_location)
        key = SigningKey.load_or_create(config.signing_key)
        keys = ApiKeyStore.open(config.service_location)
        return cls(
            config,
            keys,
            store,
            AuditLog(store, key),
            PolicyRegistry.open(config.service_location),
            LiveSessions.for_config(config),
        )

    def close(self) -> None:
        self.live.close()  # records running sessions as abandoned while the store is open
        self.keys.close()
        self.policies.close()
        self.audit_store.close()
