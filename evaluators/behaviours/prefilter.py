"""A Hyperscan prefilter that proves, cheaply, that Python regular expressions cannot match.

Some behaviour detectors run several large case-insensitive alternations (hundreds of words)
with Python's `re`, which tries every alternative at every word start: about 150 us for a
sentence. Partial transcripts repeat that on every word of every utterance, almost always
to find nothing. Hyperscan compiled in prefilter mode (``HS_FLAG_PREFILTER``) matches a
superset of what each pattern matches: constructs it cannot run exactly, such as
lookaheads, are widened, never narrowed. So "no prefilter match" proves "no match", and
the exact expressions need to run only when the prefilter finds something.

That proof needs both engines to read the pattern the same way, which holds for plain
ASCII text with ASCII patterns: there Python's Unicode ``\\w``, ``\\b`` and case folding
agree with Hyperscan's ASCII ones. Python's ``\\s`` also matches ``\\x1c``-``\\x1f`` and
``\\x85``, and its case folding maps a few non-ASCII letters onto ASCII ones (the Kelvin
sign onto ``k``, the long s onto ``s``), so any text with a character outside tab, newline,
carriage return and printable ASCII is always "may match": the exact expressions decide.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Final

import hyperscan

# Characters outside tab, line feed, carriage return and printable ASCII.
_NOT_PLAIN: Final = re.compile(r"[^\t\n\r\x20-\x7e]")


class RegexPrefilter:
    """Whether any of `patterns` may match a text (False only when none can).

    Compiling takes a few hundred milliseconds for large alternations, so it happens on
    first use (or at `compile`, which a server calls before it takes traffic).
    """

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        for pattern in patterns:
            if not pattern.pattern.isascii():
                raise ValueError(f"prefilter needs ASCII patterns: {pattern.pattern[:60]!r}")
            if pattern.flags & ~(re.IGNORECASE | re.UNICODE):
                raise ValueError(f"prefilter supports only IGNORECASE: {pattern.pattern[:60]!r}")
        self._patterns = tuple(patterns)
        self._database: hyperscan.Database | None = None
        # One scratch space serves one scan at a time; sessions run on several threads.
        self._scanning = threading.Lock()

    def compile(self) -> hyperscan.Database:
        with self._scanning:
            if self._database is None:
                database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                database.compile(
                    expressions=[pattern.pattern.encode("ascii") for pattern in self._patterns],
                    ids=list(range(len(self._patterns))),
                    elements=len(self._patterns),
                    flags=[_flags(pattern) for pattern in self._patterns],
                )
                self._database = database
            return self._database

    def may_match(self, text: str) -> bool:
        if _NOT_PLAIN.search(text):
            return True
        database = self._database or self.compile()
        try:
            with self._scanning:
                database.scan(text.encode("ascii"), match_event_handler=_stop)
        except hyperscan.ScanTerminated:  # _stop at the first match
            return True
        return False


def _stop(pattern_id: int, start: int, end: int, flags: int, context: object) -> bool:
    return True  # one match is enough: stop scanning


def _flags(pattern: re.Pattern[str]) -> int:
    flags = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH
    if pattern.flags & re.IGNORECASE:
        flags |= hyperscan.HS_FLAG_CASELESS
    return flags
