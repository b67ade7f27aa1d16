"""Putting sealed text back into recorded events, for the people and programs that read them.

A recorded event holds ``{"$content": commitment}`` where the learner's words were
(`audit.content`). Readers (session views, reports, transcripts) want the words: these
helpers fetch the texts of a session from a store or an exported bundle and substitute them,
showing ``[erased]`` where the text was erased or is not available. Texts from a bundle are
used only if they match their commitment, so a reader never shows words the record does not
commit to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from audit.content import ERASED_TEXT, SealedText, rehydrate
from audit.content_bundle import CONTENT_SESSIONS_DIR, parse_content_line
from audit.content_store import ContentStore


def store_texts(store: object, session_ids: Iterable[str]) -> dict[str, str]:
    """Commitment -> text of the sealed content `store` still holds for `session_ids`
    (empty for a store that keeps none)."""
    if not isinstance(store, ContentStore):
        return {}
    texts: dict[str, str] = {}
    for session_id in session_ids:
        texts.update((row.commitment, row.text) for row in store.content_rows(session_id))
    return texts


def bundle_texts(bundle: Path) -> dict[str, str]:
    """Commitment -> text of every well-formed, matching content line of the bundle
    directory `bundle` (the verifier reports the others)."""
    texts: dict[str, str] = {}
    folder = Path(bundle) / CONTENT_SESSIONS_DIR
    if not folder.is_dir():
        return texts
    for path in sorted(folder.glob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                item: SealedText = parse_content_line(json.loads(raw))[0]
            except (ValueError, RecursionError):
                continue
            if item.matches():
                texts[item.commitment] = item.text
    return texts


def rehydrated(
    event: Mapping[str, Any], texts: Mapping[str, str], missing: str = ERASED_TEXT
) -> dict[str, Any]:
    """A copy of the recorded `event` with its sealed fields holding their text again."""
    result: dict[str, Any] = rehydrate(dict(event), texts, missing)
    return result
