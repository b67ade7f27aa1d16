"""One Hyperscan streaming database for every phrase and regex of a policy.

Speech recognisers send an utterance as a series of growing partial transcripts. Each utterance
gets its own Hyperscan stream; a partial that extends the previous one is scanned only for its
new characters, so a phrase split across partials fires the moment its last character arrives.
A recogniser revision (a partial that is not an extension) restarts the stream on the new text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import hyperscan

from evaluators.phrases import phrase_expression

_FLAGS = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8
_MODE = hyperscan.HS_MODE_STREAM | hyperscan.HS_MODE_SOM_HORIZON_LARGE


@dataclass(frozen=True)
class LexicalPattern:
    """One phrase or regex of one rule (or objective); `index` is its position in the list,
    `field` the rule's `Match` it belongs to (`match`, `trigger`, `require`, `first`, …)."""

    rule_id: str
    source: Literal["phrases", "regex"]
    index: int
    text: str
    case_sensitive: bool
    field: str = "match"

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.field)

    @property
    def expression(self) -> str:
        return phrase_expression(self.text) if self.source == "phrases" else self.text

    @property
    def flags(self) -> int:
        return _FLAGS if self.case_sensitive else _FLAGS | hyperscan.HS_FLAG_CASELESS

    def describe(self) -> str:
        return f'phrase "{self.text}"' if self.source == "phrases" else f"regex /{self.text}/"


@dataclass(frozen=True)
class LexicalHit:
    """A pattern match in an utterance, in character offsets."""

    pattern_id: int
    start: int
    end: int


class PatternError(ValueError):
    """A pattern Hyperscan cannot compile; names the rule and the pattern."""

    def __init__(self, pattern: LexicalPattern, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"rule {pattern.rule_id!r}: {pattern.describe()}: {reason}")


def _compile(patterns: Sequence[LexicalPattern], mode: int) -> hyperscan.Database:
    database = hyperscan.Database(mode=mode)
    database.compile(
        expressions=[pattern.expression.encode("utf-8") for pattern in patterns],
        ids=list(range(len(patterns))),
        flags=[pattern.flags for pattern in patterns],
    )
    return database


def _check_each(patterns: Sequence[LexicalPattern]) -> None:
    """Compile patterns one by one so an error names the pattern at fault."""
    for pattern in patterns:
        try:
            _compile([pattern], hyperscan.HS_MODE_BLOCK)
        except hyperscan.error as error:
            raise PatternError(pattern, str(error)) from None


class Lexicon:
    """The compiled automaton for all lexical patterns of one policy."""

    def __init__(self, patterns: Sequence[LexicalPattern]) -> None:
        self.patterns: tuple[LexicalPattern, ...] = tuple(patterns)
        self._database: hyperscan.Database | None = None
        # The database's one scratch space serves one scan at a time, and the service drives
        # sessions from several threads; a scan takes microseconds, so a lock costs little.
        # (python-hyperscan crashes when a stream is closed with a scratch of its own.)
        self._scanning = threading.Lock()
        if self.patterns:
            try:
                self._database = _compile(self.patterns, _MODE)
            except hyperscan.error:
                _check_each(self.patterns)
                raise

    def open_scanner(self) -> UtteranceScanner:
        return UtteranceScanner(self._database, self._scanning)


class UtteranceScanner:
    """Streams one utterance's partial transcripts through the lexicon."""

    def __init__(
        self, database: hyperscan.Database | None, scanning: threading.Lock | None = None
    ) -> None:
        self._database = database
        self._scanning = scanning or threading.Lock()
        self._stream: Any = None
        self._text = ""
        self._encoded = b""
        self._hits: list[LexicalHit] = []
        self._pending: list[tuple[int, int, int]] = []
        # The extension keeps a borrowed pointer to the handler given when the stream opens and
        # calls it again on close: hold one reference for the scanner's lifetime.
        self._handler = self._on_match

    @property
    def text(self) -> str:
        return self._text

    @property
    def hits(self) -> list[LexicalHit]:
        """Every match in the current text (since the last revision restart)."""
        return list(self._hits)

    def feed(self, text: str) -> list[LexicalHit]:
        """Scan the utterance as it now stands; return the matches that completed."""
        if self._database is None:
            self._text = text
            return []
        if self._stream is not None and text.startswith(self._text):
            delta = text[len(self._text) :]
        else:
            self._restart()
            delta = text
        self._text = text
        if not delta:
            return []
        self._encoded += delta.encode("utf-8")
        with self._scanning:
            self._stream.scan(delta.encode("utf-8"), match_event_handler=self._handler)
        return self._collect()

    def close(self) -> list[LexicalHit]:
        """End the utterance: flush matches that waited for a word boundary."""
        if self._stream is None:
            return []
        with self._scanning:
            self._stream.__exit__(None, None, None)
        self._stream = None
        return self._collect()

    def _restart(self) -> None:
        if self._stream is not None:
            with self._scanning:
                self._stream.__exit__(None, None, None)
        assert self._database is not None
        self._stream = self._database.stream(match_event_handler=self._handler)
        self._stream.__enter__()
        self._encoded = b""
        self._hits = []
        self._pending = []

    def _on_match(
        self, pattern_id: int, start: int, end: int, flags: int, context: object
    ) -> bool | None:
        self._pending.append((pattern_id, start, end))
        return None

    def _collect(self) -> list[LexicalHit]:
        found = [
            LexicalHit(pattern_id, self._char_offset(start), self._char_offset(end))
            for pattern_id, start, end in self._pending
        ]
        self._pending = []
        self._hits.extend(found)
        return found

    def _char_offset(self, byte_offset: int) -> int:
        if len(self._encoded) == len(self._text):
            return byte_offset
        return len(self._encoded[:byte_offset].decode("utf-8", errors="ignore"))
