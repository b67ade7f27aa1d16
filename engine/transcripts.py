"""Recorded transcripts for the offline batch path: JSONL or plain `speaker: text` lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from policies.models import Speaker

LEARNER = "learner"


@dataclass(frozen=True)
class TranscriptLine:
    speaker: Speaker
    name: str
    text: str
    line: int


class TranscriptError(ValueError):
    """A transcript that cannot be read; the message names file and line."""


def load_transcript(path: Path, learner_speaker: str = LEARNER) -> list[TranscriptLine]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TranscriptError(f"{path}: cannot read: {error}") from None
    parse = _parse_jsonl if path.suffix == ".jsonl" else _parse_plain
    lines = parse(raw, str(path), learner_speaker.lower())
    if not any(line.speaker is Speaker.learner for line in lines):
        names = sorted({line.name for line in lines}) or ["(none)"]
        raise TranscriptError(
            f"{path}: no line is spoken by {learner_speaker!r}; speakers found: "
            f"{', '.join(names)} (choose the learner with --learner-speaker)"
        )
    return lines


def _line(name: str, text: str, number: int, learner: str) -> TranscriptLine:
    speaker = Speaker.learner if name.lower() == learner else Speaker.persona
    return TranscriptLine(speaker, name, text, number)


def _parse_plain(raw: str, source: str, learner: str) -> list[TranscriptLine]:
    lines = []
    for number, text in enumerate(raw.splitlines(), start=1):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, colon, said = stripped.partition(":")
        if not colon or not name.strip() or " " in name.strip() or not said.strip():
            raise TranscriptError(
                f"{source}:{number}: expected `speaker: text`, found {stripped[:60]!r}"
            )
        lines.append(_line(name.strip(), said.strip(), number, learner))
    return lines


def _parse_jsonl(raw: str, source: str, learner: str) -> list[TranscriptLine]:
    lines = []
    for number, text in enumerate(raw.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as error:
            raise TranscriptError(f"{source}:{number}: invalid JSON: {error.msg}") from None
        if not isinstance(item, dict):
            raise TranscriptError(f"{source}:{number}: expected an object with speaker and text")
        name, said = item.get("speaker"), item.get("text")
        for field, value in (("speaker", name), ("text", said)):
            if not isinstance(value, str) or not value.strip():
                raise TranscriptError(
                    f"{source}:{number}: field `{field}` must be a non-empty string"
                )
        assert isinstance(name, str) and isinstance(said, str)
        lines.append(_line(name.strip(), said.strip(), number, learner))
    return lines
