"""Reading a client's WebSocket frames: a well-formed frame is read in one pass, anything else
is refused with the reason a person can act on, and the one-pass reader accepts exactly what
the step-by-step reader accepts (property-tested over generated frames)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.client_messages import (
    ClientMessage,
    EndMessage,
    FinalMessage,
    MessageRejected,
    PartialMessage,
    _explained,
    parse_client_message,
)

LIMIT = 64 * 1024


def outcome(read: Any, raw: str) -> ClientMessage | tuple[str, str, str | None]:
    try:
        result: ClientMessage = read(raw)
    except MessageRejected as rejected:
        return (rejected.code, rejected.message, rejected.utterance_id)
    return result


def test_each_kind_of_message_is_read() -> None:
    partial = '{"type": "utterance.partial", "utterance_id": "u1", "revision": 2, "text": "I"}'
    assert parse_client_message(partial, LIMIT) == PartialMessage(
        type="utterance.partial", utterance_id="u1", revision=2, text="I"
    )
    final = '{"type": "utterance.final", "utterance_id": "u1", "text": "I can"}'
    assert isinstance(parse_client_message(final, LIMIT), FinalMessage)
    assert isinstance(parse_client_message('{"type": "session.end"}', LIMIT), EndMessage)


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("{not json", "invalid_json", "not JSON"),
        ("[1, 2]", "invalid_message", 'with a "type"'),
        ('{"type": "utterance.shout"}', "unknown_type", "'utterance.shout'"),
        ('{"type": "utterance.final", "utterance_id": "u1"}', "invalid_message", "text"),
        (
            '{"type": "utterance.partial", "utterance_id": "u1", "revision": "2", "text": "x"}',
            "invalid_message",
            "revision",
        ),
        ('{"type": "session.end", "extra": 1}', "invalid_message", "extra"),
        (
            '{"type": "utterance.final", "utterance_id": "persona-1", "text": "x"}',
            "invalid_message",
            "persona",
        ),
    ],
)
def test_a_bad_frame_is_refused_saying_why(raw: str, code: str, says: str) -> None:
    with pytest.raises(MessageRejected) as refused:
        parse_client_message(raw, LIMIT)
    assert refused.value.code == code and says in refused.value.message


def test_a_frame_over_the_size_limit_is_refused_before_it_is_read() -> None:
    raw = json.dumps({"type": "utterance.final", "utterance_id": "u1", "text": "é" * 40})
    with pytest.raises(MessageRejected) as refused:
        parse_client_message(raw, 60)
    assert refused.value.code == "message_too_large" and "limit is 60" in refused.value.message


def test_an_utterance_id_is_kept_with_the_reason_it_was_refused() -> None:
    raw = '{"type": "utterance.partial", "utterance_id": "u7", "revision": -1, "text": "x"}'
    with pytest.raises(MessageRejected) as refused:
        parse_client_message(raw, LIMIT)
    assert refused.value.utterance_id == "u7"


scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats() | st.text(max_size=6)
fields = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["utterance.partial", "utterance.final", "session.end", "other"]
        )
        | scalars,
        "utterance_id": st.sampled_from(["u1", "", "persona-x"]) | scalars,
        "revision": scalars,
        "text": scalars,
        "extra": scalars,
    },
)


@given(fields | scalars | st.lists(scalars, max_size=2))
def test_the_one_pass_reader_accepts_what_the_step_by_step_reader_accepts(frame: Any) -> None:
    raw = json.dumps(frame)
    fast = outcome(lambda text: parse_client_message(text, LIMIT), raw)
    if isinstance(fast, ClientMessage):
        assert _explained(raw) == fast
    else:
        assert fast[0] != "message_too_large"
        step_by_step = outcome(_explained, raw)
        assert isinstance(step_by_step, ClientMessage) or step_by_step == fast


@given(st.text(max_size=40))
def test_any_text_frame_is_read_or_refused_never_crashes(raw: str) -> None:
    assert outcome(lambda text: parse_client_message(text, LIMIT), raw) is not None
