"""What one running service holds: configuration, API keys, the audit log and its key, and
the officers' own records (policies, verdicts on flags, teams)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from audit import AuditLog, SigningKey, open_record_store
from audit.appender import AuditAppender
from audit.stores import AnyRecordStore
from audit.writer_process import AuditWriterProcess
from server.auth import ApiKeyStore
from server.config import ServerConfig
from server.finding_reviews import FindingReviewStore
from server.live import LiveSessions
from server.policy_registry import PolicyRegistry
from server.teams import TeamDirectory


@dataclass
class ServiceState:
    config: ServerConfig
    keys: ApiKeyStore
    audit_store: AnyRecordStore
    audit_log: AuditAppender
    policies: PolicyRegistry
    live: LiveSessions
    reviews: FindingReviewStore
    teams: TeamDirectory

    @classmethod
    def open(cls, config: ServerConfig) -> ServiceState:
        config.ensure()
        store = open_record_store(config.audit_location)
        appender = _audit_appender(config, store)  # a writer process starts meanwhile
        state = cls(
            config,
            ApiKeyStore.open(config.service_location),
            store,
            appender,
            PolicyRegistry.open(config.service_location),
            LiveSessions.for_config(config),
            FindingReviewStore.open(config.service_location),
            TeamDirectory.open(config.service_location),
        )
        if isinstance(appender, AuditWriterProcess):
            appender.wait_ready()
        return state

    def read_audit_answers_on(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Have the audit writer process's answers read on the service's event loop, where
        sessions await them, or on a thread again (None) before the loop stops: `close`
        writes from this thread and waits for answers the stopped loop could not read."""
        if isinstance(self.audit_log, AuditWriterProcess):
            self.audit_log.read_replies_on(loop)

    def close(self) -> None:
        self.live.close()  # records running sessions as abandoned while the store is open
        self.keys.close()
        self.policies.close()
        self.reviews.close()
        self.teams.close()
        if isinstance(self.audit_log, AuditWriterProcess):
            self.audit_log.close()
        self.audit_store.close()


def _audit_appender(config: ServerConfig, store: AnyRecordStore) -> AuditAppender:
    if config.audit_writer == "process":
        return AuditWriterProcess(config.audit_location, config.signing_key)
    return AuditLog(store, SigningKey.load_or_create(config.signing_key))
