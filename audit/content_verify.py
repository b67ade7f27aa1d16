"""Verification of the sealed content in a bundle against the records that commit to it.

Every sealed reference in a verified record must be answered, exactly once, by either

- a line of a content file whose salt and text hash to the commitment, in the record's
  session (else ``content-mismatch``), or
- a line of content/erased.jsonl declaring the commitment erased; if the erasing record is
  in the bundle, it must be a ``content.erased`` record listing the commitment;

and otherwise the text is ``content-missing``. Content or erasure lines that no record refers
to, text still present for a commitment declared or recorded as erased, and lines that are
not well-formed canonical JSON (``content-malformed``) are reported too, so a bundle can
neither lose text silently nor carry text its records do not commit to.

The per-record part (`content_facts`) runs inside the line checks, on the payload they
already decoded; `ContentChecker` collects those facts in file order and checks the files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from audit.canonical import canonical_json
from audit.content import SealedText, is_commitment, references
from audit.content_bundle import (
    CONTENT_SESSIONS_DIR,
    ERASED_PATH,
    parse_content_line,
    parse_erased_line,
)
from audit.content_log import ERASED_EVENT
from audit.content_store import Erasure
from audit.errors import CanonicalizationError
from audit.problems import Code, ProblemList


class ContentFacts(NamedTuple):
    """The sealed references of one record, and the commitments it erases."""

    refs: tuple[str, ...]
    erases: tuple[str, ...]


def content_facts(event: Mapping[str, Any]) -> ContentFacts | None:
    """What `event` says about sealed content; None when it says nothing (most events)."""
    refs = tuple(references(event))
    erases: tuple[str, ...] = ()
    if event.get("type") == ERASED_EVENT:
        listed = event.get("commitments")
        if isinstance(listed, list):
            erases = tuple(item for item in listed if isinstance(item, str))
    if not refs and not erases:
        return None
    return ContentFacts(refs, erases)


@dataclass(frozen=True, slots=True)
class _Ref:
    seq: int
    session_id: str


class ContentChecker:
    """Collects the content facts of a bundle's records, then checks its content files."""

    def __init__(self, problems: ProblemList) -> None:
        self._problems = problems
        self._refs: dict[str, _Ref] = {}
        self._erasing: dict[int, frozenset[str]] = {}  # seq of content.erased -> commitments
        self._seqs: set[int] = set()  # every verified record of the bundle

    def note_plain(self, seqs: range) -> None:
        """Take the verified records `seqs`, none of which has content facts."""
        self._seqs.update(seqs)

    def note(self, seq: int, session_id: str, facts: ContentFacts | None) -> None:
        """Take the facts of the verified record `seq` of `session_id`."""
        self._seqs.add(seq)
        if facts is None:
            return
        for target in facts.refs:
            if not is_commitment(target):
                self._problems.add(
                    Code.CONTENT_MALFORMED, f"malformed sealed reference {target[:80]}", seq=seq
                )
            elif target in self._refs:
                self._problems.add(
                    Code.CONTENT_MALFORMED,
                    f"{target} is referenced by record seq {self._refs[target].seq} and again",
                    seq=seq,
                )
            else:
                self._refs[target] = _Ref(seq, session_id)
        if facts.erases:
            self._erasing[seq] = frozenset(facts.erases)

    def check(self, root: Path) -> None:
        """Check the bundle's content files against the references noted."""
        texts = self._texts(root)
        erased = self._erased(root)
        self.check_parsed(texts, erased)

    def check_parsed(
        self,
        texts: Mapping[str, tuple[SealedText, str, str]],
        erased: Mapping[str, tuple[Erasure, str]],
    ) -> None:
        """The checks proper: `texts` and `erased` map each commitment to its parsed line
        and where that line is (file and line number)."""
        recorded_erased = {c: seq for seq, listed in self._erasing.items() for c in listed}
        for commitment, ref in self._refs.items():
            text = texts.get(commitment)
            declared = erased.get(commitment)
            if text is not None:
                item, session_id, where = text
                if not item.matches():
                    self._problems.add(
                        Code.CONTENT_MISMATCH,
                        f"{where}: salt and text do not hash to {commitment}",
                        seq=ref.seq,
                    )
                elif session_id != ref.session_id:
                    self._problems.add(
                        Code.CONTENT_MISMATCH,
                        f"{where}: text of session {session_id!r}, but record seq {ref.seq} "
                        f"of session {ref.session_id!r} refers to it",
                        seq=ref.seq,
                    )
                if declared is not None or commitment in recorded_erased:
                    self._problems.add(
                        Code.CONTENT_MISMATCH,
                        f"{where}: {commitment} was erased, yet its text is in the bundle",
                        seq=ref.seq,
                    )
            elif declared is not None:
                self._check_declared(commitment, ref, *declared)
            else:
                self._problems.add(
                    Code.CONTENT_MISSING,
                    f"record seq {ref.seq} seals {commitment}, whose text is neither in the "
                    "bundle nor declared erased",
                    seq=ref.seq,
                )
        for commitment in sorted(texts.keys() - self._refs.keys()):
            self._problems.add(
                Code.CONTENT_MISMATCH,
                f"{texts[commitment][2]}: no record of the bundle refers to {commitment}",
            )
        for commitment in sorted(erased.keys() - self._refs.keys()):
            self._problems.add(
                Code.CONTENT_MISMATCH,
                f"{erased[commitment][1]}: no record of the bundle refers to {commitment}",
            )

    def _check_declared(self, commitment: str, ref: _Ref, erasure: Erasure, where: str) -> None:
        if erasure.session_id != ref.session_id:
            self._problems.add(
                Code.CONTENT_MISSING,
                f"{where}: erasure declared in session {erasure.session_id!r}, but record "
                f"seq {ref.seq} of session {ref.session_id!r} seals {commitment}",
                seq=ref.seq,
            )
            return
        listed = self._erasing.get(erasure.erased_by)
        if erasure.erased_by in self._seqs and (listed is None or commitment not in listed):
            self._problems.add(
                Code.CONTENT_MISSING,
                f"{where}: {commitment} declared erased by record seq {erasure.erased_by}, "
                "which is in the bundle but does not list it",
                seq=ref.seq,
            )
        elif erasure.erased_by <= ref.seq:
            self._problems.add(
                Code.CONTENT_MISSING,
                f"{where}: {commitment} declared erased by record seq {erasure.erased_by}, "
                f"not after record seq {ref.seq} that sealed it",
                seq=ref.seq,
            )

    # -- files -------------------------------------------------------------------------

    def _texts(self, root: Path) -> dict[str, tuple[SealedText, str, str]]:
        found: dict[str, tuple[SealedText, str, str]] = {}
        folder = root / CONTENT_SESSIONS_DIR
        if folder.is_symlink() or not folder.is_dir():
            return found
        for path in sorted(folder.iterdir()):
            name = f"{CONTENT_SESSIONS_DIR}/{path.name}"
            if path.is_symlink() or not path.is_file() or not path.name.endswith(".jsonl"):
                continue  # not a content file; reported as unlisted if the manifest omits it
            for where, value in self._lines(path, name):
                try:
                    item, session_id = parse_content_line(value)
                except ValueError as exc:
                    self._problems.add(Code.CONTENT_MALFORMED, f"{where}: {exc}")
                    continue
                if item.commitment in found:
                    self._problems.add(
                        Code.CONTENT_MALFORMED, f"{where}: {item.commitment} appears twice"
                    )
                    continue
                found[item.commitment] = (item, session_id, where)
        return found

    def _erased(self, root: Path) -> dict[str, tuple[Erasure, str]]:
        found: dict[str, tuple[Erasure, str]] = {}
        path = root / ERASED_PATH
        if path.is_symlink() or not path.is_file():
            return found
        for where, value in self._lines(path, ERASED_PATH):
            try:
                erasure = parse_erased_line(value)
            except ValueError as exc:
                self._problems.add(Code.CONTENT_MALFORMED, f"{where}: {exc}")
                continue
            if erasure.commitment in found:
                self._problems.add(
                    Code.CONTENT_MALFORMED, f"{where}: {erasure.commitment} appears twice"
                )
                continue
            found[erasure.commitment] = (erasure, where)
        return found

    def _lines(self, path: Path, name: str) -> list[tuple[str, object]]:
        """(where, parsed JSON) of each canonical line of `path`; the others are reported."""
        parsed: list[tuple[str, object]] = []
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._problems.add(Code.CONTENT_MALFORMED, f"{name} is unreadable: {exc}")
            return parsed
        if data and not data.endswith(b"\n"):
            self._problems.add(Code.CONTENT_MALFORMED, f"{name}: last line has no newline")
        for number, line in enumerate(data.splitlines(), start=1):
            where = f"{name} line {number}"
            try:
                value = json.loads(line)
                canonical = canonical_json(value) == line
            except (ValueError, RecursionError, CanonicalizationError) as exc:
                self._problems.add(Code.CONTENT_MALFORMED, f"{where}: not JSON: {exc}")
                continue
            if not canonical:
                self._problems.add(Code.CONTENT_MALFORMED, f"{where}: not canonical JSON")
                continue
            parsed.append((where, value))
        return parsed
