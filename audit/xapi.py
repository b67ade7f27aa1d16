"""xAPI 1.0.3 statements (cmi5 verbs) for one recorded session, pointing back at the evidence.

A learning record store (LRS) or cmi5 LMS does not read Proctor's audit log; it reads xAPI
statements. `session_statements` turns the events of one session, exactly as they were
recorded (the ``event`` of each decoded record), into the cmi5-defined statements an
assignable unit sends: ``initialized``, then ``passed`` or ``failed``, then ``completed``,
then ``terminated``. Each statement names, in a context extension, the digest of the audit
record it was derived from, so anyone holding the statements can find the signed record
that justifies them in an exported bundle and check it there: the statements are a view,
the records are the evidence.

Identifiers are deterministic (UUID version 5) so that building the statements twice, or
re-sending them after a failure, gives the same statement ids: an LRS then treats a resend
as the same statement instead of counting the session twice.

This module imports nothing from the rest of the project (see the package docstring): it
works on the JSON dicts stored in records, not on the engine's event classes.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from audit.timefmt import format_timestamp

XAPI_VERSION: Final = "1.0.3"

# Proctor's own IRIs live under this base. "proctor.example" is a placeholder domain
# (RFC 2606 reserves .example): a deployment that publishes its extension definitions
# replaces it with a domain it controls. Changing it changes every statement id, because
# the UUID namespace below is derived from it.
PROCTOR_XAPI_BASE: Final = "https://proctor.example/xapi"

# Context extension: lower-case hex SHA-256 of the audit record line the statement was
# derived from (`audit.records.record_digest`), i.e. the value a bundle's records.jsonl
# line hashes to and the next record's `prev` names.
RECORD_DIGEST_EXTENSION: Final = f"{PROCTOR_XAPI_BASE}/extensions/record-digest"
# Result extension on a `failed` statement whose score reached the mastery score (a
# blocker was breached, or nothing could be scored): cmi5 forbids a `failed` scaled score
# at or above the mastery score, so the score is reported here instead of in result.score.
WITHHELD_SCORE_EXTENSION: Final = f"{PROCTOR_XAPI_BASE}/extensions/withheld-score"
# Result extension on passed/failed: how many breaches of blocker rules the scorecard lists.
BLOCKERS_BREACHED_EXTENSION: Final = f"{PROCTOR_XAPI_BASE}/extensions/blockers-breached"

# The namespace of every UUID this module derives (statement ids, registrations).
XAPI_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, PROCTOR_XAPI_BASE)

VERB_INITIALIZED: Final = "http://adlnet.gov/expapi/verbs/initialized"
VERB_PASSED: Final = "http://adlnet.gov/expapi/verbs/passed"
VERB_FAILED: Final = "http://adlnet.gov/expapi/verbs/failed"
VERB_COMPLETED: Final = "http://adlnet.gov/expapi/verbs/completed"
VERB_TERMINATED: Final = "http://adlnet.gov/expapi/verbs/terminated"

CMI5_CATEGORY: Final = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY: Final = "https://w3id.org/xapi/cmi5/context/categories/moveon"
MASTERY_SCORE_EXTENSION: Final = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
SESSION_ID_EXTENSION: Final = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"


def session_statements(
    events: Sequence[Mapping[str, Any]],
    *,
    actor_account: tuple[str, str],
    activity_id: str,
    record_digests: Sequence[str],
    registration: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """The cmi5-defined xAPI statements of one ended session, in the order cmi5 requires.

    `events` are the session's recorded events in record order (the ``event`` of each
    decoded record); `record_digests[i]` is the digest of the record holding `events[i]`.
    `actor_account` is the learner's xAPI account, ``(homePage, name)``: the name must be a
    pseudonymous id (Proctor's learner id or the LMS's account id), never a name or e-mail,
    so a name containing "@" is refused. `activity_id` is the IRI of the assignable unit.
    `registration` is the cmi5 launch's registration when an LMS launched the session;
    without one, the session id is used if it is a UUID, else a UUID derived from it.

    A completed session gives initialized, passed|failed, completed, terminated. A session
    ended by the policy gives initialized, passed|failed, terminated: it was scored, but the
    learner did not do the whole exercise, which is what cmi5's `completed` asserts. An
    abandoned session gives initialized and terminated only, as cmi5 prescribes for an
    abandoned AU session: its score is not an outcome the learner finished.

    `passed`/`failed` follows the scorecard's own verdict (`passed`), never a recomputation,
    so an LMS can never see a pass that Proctor did not grant. Raises `ValueError` if the
    events are not one ended session, a digest is missing, or the scorecard contradicts
    itself (passed below its pass mark).
    """
    if len(events) != len(record_digests):
        raise ValueError(
            f"{len(events)} events but {len(record_digests)} record digests; need one each"
        )
    if not events:
        raise ValueError("no events: a session has at least session.started")
    session_id = _session_id(events)
    home_page, account_name = actor_account
    if "@" in account_name:
        raise ValueError("actor account name looks like an e-mail; use a pseudonymous id")

    started = _only(events, "session.started", required=True)
    ended = _only(events, "session.ended", required=True)
    scored = _only(events, "score.computed", required=False)
    assert started is not None and ended is not None  # required=True never returns None
    start_index, start_event = started
    end_index, end_event = ended
    start_at = _at(start_event)
    end_at = _at(end_event)

    registration_id = registration if registration is not None else _registration(session_id)
    build = _StatementBuilder(
        session_id=session_id,
        registration=registration_id,
        actor={"objectType": "Agent", "account": {"homePage": home_page, "name": account_name}},
        activity_id=activity_id,
    )

    statements = [
        build(VERB_INITIALIZED, "initialized", start_at, record_digests[start_index]),
    ]
    reason = end_event.get("reason")
    if reason != "abandoned":
        if scored is None:
            raise ValueError(f"session {session_id!r} ended ({reason}) without score.computed")
        score_index, score_event = scored
        score_at = _at(score_event)
        statements.append(
            _verdict(build, score_event, score_at, score_at - start_at, record_digests[score_index])
        )
        if reason == "completed":
            statements.append(
                build(
                    VERB_COMPLETED,
                    "completed",
                    end_at,
                    record_digests[end_index],
                    result={"completion": True, "duration": iso_duration(end_at - start_at)},
                    moveon=True,
                )
            )
    statements.append(
        build(
            VERB_TERMINATED,
            "terminated",
            end_at,
            record_digests[end_index],
            result={"duration": iso_duration(end_at - start_at)},
        )
    )
    return statements


def iso_duration(elapsed: timedelta) -> str:
    """`elapsed` as an ISO 8601 duration in hours, minutes and seconds (``PT1H2M3.5S``).

    Microseconds are kept (xAPI compares durations at 0.01 s, but more precision is allowed),
    so the duration is exactly the difference of the recorded timestamps. Days are written
    as hours: a day is not always 24 hours in ISO 8601's calendar sense.
    """
    if elapsed < timedelta(0):
        raise ValueError(f"negative duration {elapsed}: the session ended before it started")
    micros = elapsed // timedelta(microseconds=1)
    seconds, micro = divmod(micros, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or micro or text == "PT":
        fraction = f".{micro:06d}".rstrip("0") if micro else ""
        text += f"{seconds}{fraction}S"
    return text


class _StatementBuilder:
    """Builds the statements of one session: the parts every statement shares live here."""

    def __init__(
        self,
        *,
        session_id: str,
        registration: uuid.UUID,
        actor: dict[str, Any],
        activity_id: str,
    ) -> None:
        self._session_id = session_id
        self._registration = registration
        self._actor = actor
        self._activity_id = activity_id

    def __call__(
        self,
        verb_id: str,
        verb_name: str,
        at: datetime,
        digest: str,
        *,
        result: dict[str, Any] | None = None,
        extensions: Mapping[str, Any] | None = None,
        moveon: bool = False,
    ) -> dict[str, Any]:
        if not digest:
            raise ValueError(f"no record digest for the {verb_name} statement")
        category = [{"objectType": "Activity", "id": CMI5_CATEGORY}]
        if moveon:  # cmi5: statements that can satisfy moveOn carry the moveon category
            category.append({"objectType": "Activity", "id": MOVEON_CATEGORY})
        context_extensions: dict[str, Any] = {
            SESSION_ID_EXTENSION: self._session_id,
            RECORD_DIGEST_EXTENSION: digest,
            **(extensions or {}),
        }
        statement: dict[str, Any] = {
            "id": str(self._statement_id(verb_id)),
            "actor": self._actor,
            "verb": {"id": verb_id, "display": {"en-US": verb_name}},
            "object": {"objectType": "Activity", "id": self._activity_id},
            "context": {
                "registration": str(self._registration),
                "contextActivities": {"category": category},
                "extensions": context_extensions,
            },
            "timestamp": format_timestamp(at),
            "version": XAPI_VERSION,
        }
        if result is not None:
            statement["result"] = result
        return statement

    def _statement_id(self, verb_id: str) -> uuid.UUID:
        # The activity is part of the name: the same session reported as two different AUs
        # gives two statements, not one id with two contents (which an LRS would reject).
        return uuid.uuid5(XAPI_NAMESPACE, f"{self._activity_id}\n{self._session_id}\n{verb_id}")


def _verdict(
    build: _StatementBuilder,
    score_event: Mapping[str, Any],
    at: datetime,
    elapsed: timedelta,
    digest: str,
) -> dict[str, Any]:
    """The passed or failed statement for a scorecard.

    cmi5 requires a passed scaled score at or above the mastery score and a failed one below
    it. Proctor can fail a session whose score reached the pass mark (a blocker rule was
    breached, or nothing could be scored); its failed statement then carries no
    result.score, and the score goes into a Proctor result extension instead.
    """
    scorecard = score_event.get("scorecard")
    if not isinstance(scorecard, Mapping):
        raise ValueError("score.computed event has no scorecard")
    score = _unit_number(scorecard.get("score"), "scorecard score")
    mastery = _unit_number(scorecard.get("pass_mark"), "scorecard pass_mark")
    passed = scorecard.get("passed")
    if not isinstance(passed, bool):
        raise ValueError("scorecard 'passed' is not a boolean")
    if passed and score < mastery:
        raise ValueError(f"scorecard passed with score {score} below its pass mark {mastery}")
    blockers = scorecard.get("blockers_breached", ())
    result: dict[str, Any] = {"success": passed, "duration": iso_duration(elapsed)}
    result_extensions: dict[str, Any] = {
        BLOCKERS_BREACHED_EXTENSION: len(blockers) if isinstance(blockers, Sequence) else 0
    }
    if passed or score < mastery:
        result["score"] = {"scaled": score}
    else:
        result_extensions[WITHHELD_SCORE_EXTENSION] = score
    result["extensions"] = result_extensions
    verb_id, verb_name = (VERB_PASSED, "passed") if passed else (VERB_FAILED, "failed")
    return build(
        verb_id,
        verb_name,
        at,
        digest,
        result=result,
        extensions={MASTERY_SCORE_EXTENSION: mastery},
        moveon=True,
    )


def _session_id(events: Sequence[Mapping[str, Any]]) -> str:
    ids = {event.get("session_id") for event in events}
    if len(ids) != 1:
        raise ValueError(
            f"events of more than one session (or none named): {sorted(map(str, ids))}"
        )
    (session_id,) = ids
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("events have no session_id")
    return session_id


def _only(
    events: Sequence[Mapping[str, Any]], event_type: str, *, required: bool
) -> tuple[int, Mapping[str, Any]] | None:
    """The index and event of the one event of `event_type` (two would be ambiguous)."""
    found = [
        (index, event) for index, event in enumerate(events) if event.get("type") == event_type
    ]
    if len(found) > 1:
        raise ValueError(f"{len(found)} {event_type} events in one session; expected one")
    if not found:
        if required:
            raise ValueError(f"no {event_type} event: statements need an ended session")
        return None
    return found[0]


def _at(event: Mapping[str, Any]) -> datetime:
    text = event.get("at")
    if not isinstance(text, str):
        raise ValueError(f"{event.get('type')} event has no 'at' timestamp")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{event.get('type')} event time {text!r} has no timezone")
    return moment


def _unit_number(value: object, what: str) -> float:
    """A number in [0, 1]: canonical JSON may have turned 1.0 into 1, so ints are accepted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise ValueError(f"{what} {number} is outside 0..1")
    return number


def _registration(session_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(session_id)
    except ValueError:
        return uuid.uuid5(XAPI_NAMESPACE, f"registration\n{session_id}")
