"""A session's xAPI statements as one file of an export bundle (``xapi/<session>.json``).

`audit.xapi` builds the statements; this module decides what an export names them by, so
that a bundle can be handed to an LRS without any Proctor configuration:

- the actor is the learner's pseudonymous id (the API key's subject the service recorded in
  ``session.started``) as an xAPI *account* whose home page is the log's origin: the id
  means something only within that log, and no name or e-mail ever leaves it;
- the activity is the practised policy version (and scenario, when one was chosen) under
  the same home page, so the same exercise gets the same activity id across sessions.

The file is the statements list as indented, key-sorted UTF-8 JSON: the same session always
gives the same bytes, which is what the bundle manifest hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from audit.xapi import session_statements

_PLAIN_NAME_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,126}[a-z0-9])?")


def xapi_home_page(origin: str) -> str:
    """The account home page for a log origin: an IRL, so ``https://`` is added when the
    origin is a schemeless log name (C2SP origins such as ``example.com/log`` are)."""
    origin = origin.strip()
    if not origin:
        raise ValueError("the log origin is empty; xAPI accounts need a home page")
    if "://" in origin:
        return origin.rstrip("/")
    return "https://" + origin.rstrip("/")


def activity_id(home_page: str, policy_id: str, version: int, scenario: str | None) -> str:
    """The IRI of the practised exercise: the policy version, and the scenario if any."""
    iri = f"{home_page}/policies/{quote(policy_id, safe='')}/versions/{version}"
    if scenario:
        iri += f"/scenarios/{quote(scenario, safe='')}"
    return iri


def session_file_stem(session_id: str) -> str:
    """A file name for a session that is safe on every file system and in a zip.

    Ordinary ids (lower-case letters, digits, '.', '-'; the service uses UUIDs) are kept as
    they are; anything else (slashes, upper case that a case-insensitive disk would merge,
    reserved characters) becomes ``_`` and the id's SHA-256, which no kept id can equal.
    """
    if _PLAIN_NAME_RE.fullmatch(session_id) and ".." not in session_id:
        return session_id
    return "_" + hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def statements_file(
    events: Sequence[Mapping[str, Any]],
    record_digests: Sequence[str],
    *,
    origin: str,
    policy_id: str,
    policy_version: int,
) -> bytes:
    """The bytes of ``xapi/<session>.json`` for one ended session's recorded events.

    Raises `ValueError` (from `session_statements` or here) when the session cannot be
    reported to an LRS: not ended, no learner recorded, a learner id that looks like an
    e-mail address, or a scorecard that contradicts itself.
    """
    started = next((event for event in events if event.get("type") == "session.started"), None)
    learner = started.get("learner") if started is not None else None
    if not isinstance(learner, str) or not learner:
        raise ValueError("the session's start names no learner")
    scenario = started.get("scenario") if started is not None else None
    home_page = xapi_home_page(origin)
    statements = session_statements(
        events,
        actor_account=(home_page, learner),
        activity_id=activity_id(
            home_page, policy_id, policy_version, scenario if isinstance(scenario, str) else None
        ),
        record_digests=record_digests,
    )
    text = json.dumps(statements, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
