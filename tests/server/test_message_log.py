"""A live session's outgoing messages: the text each reader is sent is the event's recorded
JSON form under its seq, and a reader waiting on the loop is woken by appends made on the
loop's own thread (a partial evaluated there) as well as by appends from worker threads."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.events import UtteranceFinal, UtterancePartial, event_to_json
from policies.models import Speaker
from server.live import MessageLog

AT = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)


def spoken(text: str, revision: int) -> UtterancePartial:
    return UtterancePartial(
        session_id="s1", at=AT, utterance_id="u1", revision=revision, text=text
    )


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_each_message_is_the_events_json_under_the_next_seq(texts: list[str]) -> None:
    log = MessageLog()
    events = [spoken(text, revision) for revision, text in enumerate(texts)]
    messages = [log.append(event) for event in events]
    assert [json.loads(message.text) for message in messages] == [
        {"seq": seq, "event": event_to_json(event)} for seq, event in enumerate(events, 1)
    ]
    assert log.after(0) == messages and log.last_seq == len(events)


def test_a_final_keeps_its_speaker_turn_and_non_ascii_text() -> None:
    event = UtteranceFinal(
        session_id="s1", at=AT, utterance_id="u1", turn=2, speaker=Speaker.learner,
        text='Velmora “reduces” pain — 5 mg\n',
    )  # fmt: skip
    message = MessageLog().append(event)
    assert json.loads(message.text)["event"] == event_to_json(event)
    assert "“reduces”" in message.text  # sent as written, not \u-escaped


async def _follow_appends(append_from_thread: bool) -> list[int]:
    log = MessageLog()
    seen: list[int] = []
    with log.follow(0) as follower:

        async def read() -> None:
            while len(seen) < 3:
                seen.extend(message.seq for message in await follower.next_batch(timeout=30))

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)  # the reader is now waiting
        for revision in range(3):
            event = spoken("word " * (revision + 1), revision)
            if append_from_thread:
                appender = threading.Thread(target=log.append, args=(event,))
                appender.start()
                appender.join()
            else:
                log.append(event)
            await asyncio.sleep(0.01)
        await asyncio.wait_for(reader, 2)  # woken, not timed out
    return seen


def test_a_waiting_reader_is_woken_by_appends_on_its_own_loop() -> None:
    assert asyncio.run(_follow_appends(append_from_thread=False)) == [1, 2, 3]


def test_a_waiting_reader_is_woken_by_appends_from_another_thread() -> None:
    assert asyncio.run(_follow_appends(append_from_thread=True)) == [1, 2, 3]
