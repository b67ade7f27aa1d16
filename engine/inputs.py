"""What a client sends into a session: partial and final utterances."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from policies.models import Speaker

MAX_UTTERANCE_CHARS = 10_000


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    utterance_id: str = Field(min_length=1, max_length=128)
    text: str = Field(max_length=MAX_UTTERANCE_CHARS)


class PartialUtterance(_Input):
    """A recogniser hypothesis; a later revision replaces an earlier one."""

    revision: int = Field(ge=0)
    speaker: Speaker = Speaker.learner


class FinalUtterance(_Input):
    speaker: Speaker = Speaker.learner
    passages: tuple[str, ...] = Field(
        default=(), description="Knowledge-base chunk ids a persona reply was built from."
    )


UtteranceInput = PartialUtterance | FinalUtterance
