"""Which team each learner belongs to, for trends per team.

Learners are pseudonymous in the audit log, and teams change (people move), so membership is
not written into the records: it is kept here, set when a learner's key is issued
(``proctor keys create --role learner --team T``), and applied when trends are drawn. A
learner with no team is shown under `NO_TEAM`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from server.service_db import Dialect, ServiceDatabase

NO_TEAM: Final = "(no team)"

_TABLE = """
CREATE TABLE IF NOT EXISTS learner_teams (
    learner TEXT PRIMARY KEY,
    team TEXT NOT NULL,
    assigned_at TEXT NOT NULL
)
"""
_SCHEMA: Mapping[Dialect, Sequence[str]] = {"sqlite": [_TABLE], "postgres": [_TABLE]}


class TeamDirectory:
    """Learner -> team in the service database: a SQLite path or a PostgreSQL URL."""

    def __init__(self, location: str | Path) -> None:
        self._db = ServiceDatabase.open(location)
        self._db.create_schema(_SCHEMA)

    @classmethod
    def open(cls, location: str | Path) -> TeamDirectory:
        return cls(location)

    def assign(self, learner: str, team: str) -> None:
        """Put `learner` in `team`, moving them out of any earlier one."""
        if not team.strip():
            raise ValueError("a team name must not be empty")
        self._db.execute(
            "INSERT INTO learner_teams (learner, team, assigned_at) VALUES (?, ?, ?) "
            "ON CONFLICT (learner) DO UPDATE SET team = excluded.team, "
            "assigned_at = excluded.assigned_at",
            (learner, team, datetime.now(UTC).isoformat()),
        )

    def teams(self) -> dict[str, str]:
        """Learner -> team, for every learner with one."""
        rows = self._db.execute("SELECT learner, team FROM learner_teams").rows
        return {learner: team for learner, team in rows}

    def close(self) -> None:
        self._db.close()
