"""Printing a live practice conversation on a terminal as its events arrive."""

from __future__ import annotations

import sys
from typing import TextIO

from cli.render import coaching_line, escalation_line, flag_line, retraction_line
from engine import (
    CheckFailed,
    CoachingHint,
    EscalationTriggered,
    FlagRaised,
    FlagRetracted,
    ObjectiveProgress,
    PersonaDelta,
    PersonaFinal,
    SessionEvent,
)


class ConversationView:
    def __init__(self, persona_name: str, out: TextIO | None = None) -> None:
        self._persona_name = persona_name
        self._out = out
        self._streaming: str | None = None
        self._flagged: set[str] = set()

    def show(self, event: SessionEvent) -> None:
        if isinstance(event, PersonaDelta):
            if self._streaming != event.utterance_id:
                self._streaming = event.utterance_id
                self._write(f"{self._persona_name}: ")
            self._write(event.delta)
            return
        if isinstance(event, PersonaFinal):
            if self._streaming == event.utterance_id:
                self._write("\n")
            else:
                self._write(f"{self._persona_name}: {event.text}\n")
            self._streaming = None
            return
        line = self._line(event)
        if line is not None:
            self._write(line + "\n")

    def _line(self, event: SessionEvent) -> str | None:
        if isinstance(event, FlagRaised):
            return self._flag(event)
        if isinstance(event, ObjectiveProgress) and event.required is not None:
            return _objective_line(event)
        if isinstance(event, CheckFailed):
            outcome = "failing closed" if event.blocked else "rule not evaluated"
            return f"  CHECK FAILED {event.rule_id}: {event.reason} ({outcome})"
        if isinstance(event, FlagRetracted):
            return retraction_line(event)
        if isinstance(event, CoachingHint):
            return coaching_line(event)
        if isinstance(event, EscalationTriggered):
            return escalation_line(event)
        return None

    def _flag(self, event: FlagRaised) -> str:
        finding = event.finding
        if finding.finding_id in self._flagged:
            source = (
                f' — {finding.passage.document}: "{finding.passage.quote}"'
                if finding.passage
                else ""
            )
            return f"  FLAG CONFIRMED {finding.rule_id}: {finding.detail}{source}"
        self._flagged.add(finding.finding_id)
        if finding.utterance_id and finding.utterance_id.startswith("persona"):
            return "  OUTPUT RAIL " + flag_line(event).strip()
        return flag_line(event)

    def _write(self, text: str) -> None:
        out = self._out or sys.stdout
        out.write(text)
        out.flush()


def _objective_line(event: ObjectiveProgress) -> str:
    progress = f"{event.count}/{event.required}"
    if event.missed:
        return f"  OBJECTIVE {event.objective_id} missed ({progress}): {event.missed}"
    state = "met" if event.satisfied else "progress"
    return f"  OBJECTIVE {event.objective_id} {state} ({progress})"
