"""Replay a recorded transcript through a session the way it would have been spoken.

A learner line becomes a growing partial transcript, one word at a time, then the final
utterance; a persona line is a single final. This is how the demo and the end-to-end tests
exercise the real-time path without a microphone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine.inputs import FinalUtterance, PartialUtterance, UtteranceInput
from engine.transcripts import TranscriptLine
from policies.models import Speaker


def spoken_partials(utterance_id: str, text: str) -> Iterator[PartialUtterance]:
    """Partials as a recogniser would send them: each adds one word to the last."""
    words = text.split()
    for count in range(1, len(words) + 1):
        yield PartialUtterance(
            utterance_id=utterance_id, revision=count - 1, text=" ".join(words[:count])
        )


def replay_inputs(
    lines: Sequence[TranscriptLine], *, with_partials: bool = True
) -> Iterator[tuple[TranscriptLine, UtteranceInput]]:
    for index, line in enumerate(lines, start=1):
        utterance_id = f"u{index}"
        if with_partials and line.speaker is Speaker.learner:
            for partial in spoken_partials(utterance_id, line.text):
                yield line, partial
        yield line, FinalUtterance(utterance_id=utterance_id, text=line.text, speaker=line.speaker)
