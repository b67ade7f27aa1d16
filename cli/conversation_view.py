"""Printing a live practice conversation on a terminal as its events arrive."""

from __future__ import annotations

import sys
from typing import TextIO

from cli.render import coaching_line, escalation_line, flag_line, retraction_line
from engine import (
    CoachingHint,
    EscalationTriggered,
    FlagRaised,
    FlagRetracted,
    PersonaDelta,
    PersonaFinal,
    SessionEvent,
)


class ConversationView:
    def __init__(self, persona_name: str, out: TextIO | None = None) -> None:
        self._persona_name = persona_name
        self._out = out
        self._streaming: str | None = None

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
            if event.finding.utterance_id and event.finding.utterance_id.startswith("persona"):
                return "  OUTPUT RAIL " + flag_line(event).strip()
            return flag_line(event)
        if isinstance(event, FlagRetracted):
            return retraction_line(event)
        if isinstance(event, CoachingHint):
            return coaching_line(event)
        if isinstance(event, EscalationTriggered):
            return escalation_line(event)
        return None

    def _write(self, text: str) -> None:
        out = self._out or sys.stdout
        out.write(text)
        out.flush()
