"""LiveSession.final_on_loop: a final is judged on a worker thread, its records awaited on
the loop, its judgement shown once they are durable and before the persona replies; a
refused write fails the session closed; a client that goes away does not cut the step short.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future

import anyio
import pytest

from engine import RecordingFailedError, Session
from engine.events import PolicyVersion, SessionEvent
from engine.held_recording import HoldingRecorder
from engine.persona.base import PersonaContext
from engine.planning import plan_policy
from engine.practice import Conversation
from policies.loading import parse_policy
from server.config import Limits
from server.live import AUDIT_UNAVAILABLE, LiveSession
from tests.server.test_sessions import POLICY

FLAGGED_LINE = "I can offer guaranteed returns today."


class HandOverLog:
    """A log that takes a step's records without blocking and settles them when the test
    says so; records written directly (the persona's) are kept at once."""

    def __init__(self) -> None:
        self.durable: list[str] = []
        self.pending: list[tuple[list[str], Future[None]]] = []

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        self.durable += [event.type for event in events]

    def submit(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> Future[None]:
        written: Future[None] = Future()
        self.pending.append(([event.type for event in events], written))
        return written

    def settle(self, error: Exception | None = None) -> None:
        types, written = self.pending.pop(0)
        if error is None:
            self.durable += types
            written.set_result(None)
        else:
            written.set_exception(error)


class GatedPersona:
    """Replies only once the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.asked = threading.Event()

    def opening(self) -> str:
        return "Good morning."

    def reply(self, context: PersonaContext) -> Iterator[str]:
        self.asked.set()
        if not self.gate.wait(10):
            raise TimeoutError("the test never opened the gate")
        yield "Go on."

    @property
    def finished(self) -> bool:
        return False


def live_session(log: HandOverLog, persona: GatedPersona) -> LiveSession:
    recorder = HoldingRecorder(log)
    session = Session(plan_policy(parse_policy(POLICY)), learner="l", recorder=recorder)
    live = LiveSession(
        session,
        key_id="k",
        limits=Limits(),
        conversation=Conversation(session, persona),
        recorder=recorder,
    )
    live.start()
    return live


def shown(live: LiveSession) -> list[str]:
    return [json.loads(message.text)["event"]["type"] for message in live.messages.after(0)]


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting until {what}")


def test_the_judgement_is_shown_once_recorded_and_before_the_persona_replies() -> None:
    log, persona = HandOverLog(), GatedPersona()
    live = live_session(log, persona)
    opening = len(shown(live))

    async def scenario() -> None:
        step = asyncio.create_task(live.final_on_loop("u1", FLAGGED_LINE))
        await until(lambda: bool(log.pending), "the judgement's records are handed over")
        assert shown(live)[opening:] == []  # not durable yet, so not shown
        assert "flag.raised" in log.pending[0][0]
        log.settle()
        await until(lambda: "flag.raised" in shown(live), "the flag is shown")
        assert not persona.gate.is_set()
        assert "persona.delta" not in shown(live)
        persona.gate.set()
        await step

    asyncio.run(scenario())
    after = shown(live)[opening:]
    assert (
        after.index("utterance.final") < after.index("flag.raised") < after.index("persona.delta")
    )
    assert after[-1] == "persona.final"
    # The reply's records were written directly, after the judgement's had been settled.
    assert log.durable[-1] == "persona.final"
    assert log.durable.index("flag.raised") < len(log.durable) - 1
    assert not log.pending


def test_a_refused_write_fails_the_session_closed_and_the_persona_is_never_asked() -> None:
    log, persona = HandOverLog(), GatedPersona()
    live = live_session(log, persona)
    before = shown(live)

    async def scenario() -> None:
        step = asyncio.create_task(live.final_on_loop("u1", FLAGGED_LINE))
        await until(lambda: bool(log.pending), "the judgement's records are handed over")
        log.settle(OSError("disk full"))
        with pytest.raises(RecordingFailedError):
            await step

    asyncio.run(scenario())
    assert shown(live) == before  # nothing of the unrecorded line was shown
    assert live.state.value == "failed"
    assert live.messages.closed and live.messages.failure is not None
    assert live.messages.failure.code == AUDIT_UNAVAILABLE
    assert not persona.asked.is_set()


def test_a_cancelled_caller_does_not_cut_the_step_short_or_keep_the_session_locked() -> None:
    log, persona = HandOverLog(), GatedPersona()
    live = live_session(log, persona)
    persona.gate.set()

    async def scenario() -> None:
        # Cancelled as the socket's task group cancels the reading side when a client goes.
        finished = asyncio.Event()
        caller = anyio.CancelScope()

        async def send_final() -> None:
            with caller:
                await live.final_on_loop("u1", FLAGGED_LINE)
            finished.set()

        asyncio.get_running_loop().create_task(send_final())
        await until(lambda: bool(log.pending), "the judgement's records are handed over")
        caller.cancel()
        await asyncio.sleep(0.05)
        assert not finished.is_set()  # shielded: the records are still being written
        log.settle()
        await asyncio.wait_for(finished.wait(), 10)
        # The judgement and the reply were shown; the session takes the next line.
        assert "flag.raised" in shown(live) and "persona.delta" in shown(live)
        second = asyncio.create_task(live.final_on_loop("u2", "What are you hoping for?"))
        await until(lambda: bool(log.pending), "the second line's records are handed over")
        log.settle()
        await asyncio.wait_for(second, 10)

    asyncio.run(scenario())
    assert shown(live).count("utterance.final") == 2
    assert shown(live).count("persona.final") == 3  # the opening and two replies
    assert not log.pending
