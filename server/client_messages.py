"""What a learner's client may send on a session's WebSocket, and how a frame is read.

Every partial transcript is one frame, several a second per learner, all read on the event
loop that serves every session. So a well-formed frame is parsed and validated in one pass
by pydantic's JSON reader; only a frame that fails takes the slower path that works out
which problem to report (not JSON, no type, unknown type, a bad field), so the two paths
accept exactly the same frames and refuse them with the same reasons.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.inputs import MAX_UTTERANCE_CHARS

PERSONA_ID_PREFIX = "persona-"

UtteranceId = Annotated[str, Field(min_length=1, max_length=128)]
UtteranceText = Annotated[str, Field(max_length=MAX_UTTERANCE_CHARS)]


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartialMessage(ClientMessage):
    type: Literal["utterance.partial"]
    utterance_id: UtteranceId
    revision: int = Field(ge=0, strict=True)
    text: UtteranceText


class FinalMessage(ClientMessage):
    type: Literal["utterance.final"]
    utterance_id: UtteranceId
    text: UtteranceText


class EndMessage(ClientMessage):
    type: Literal["session.end"]


CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    "utterance.partial": PartialMessage,
    "utterance.final": FinalMessage,
    "session.end": EndMessage,
}

_ANY_CLIENT_MESSAGE: TypeAdapter[PartialMessage | FinalMessage | EndMessage] = TypeAdapter(
    Annotated[PartialMessage | FinalMessage | EndMessage, Field(discriminator="type")]
)


class MessageRejected(Exception):
    """A client message that is refused, with a stable code; the session carries on."""

    def __init__(self, code: str, message: str, utterance_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.utterance_id = utterance_id


def parse_client_message(raw: str, max_bytes: int) -> ClientMessage:
    """The message in the frame `raw`, or `MessageRejected` saying what is wrong with it."""
    size = len(raw.encode("utf-8"))
    if size > max_bytes:
        raise MessageRejected(
            "message_too_large", f"the message has {size} bytes; the limit is {max_bytes}"
        )
    try:
        message: ClientMessage = _ANY_CLIENT_MESSAGE.validate_json(raw)
    except ValidationError:
        message = _explained(raw)
    if isinstance(message, PartialMessage | FinalMessage) and message.utterance_id.startswith(
        PERSONA_ID_PREFIX
    ):
        raise MessageRejected(
            "invalid_message",
            f"utterance ids starting with {PERSONA_ID_PREFIX!r} are the persona's",
            message.utterance_id,
        )
    return message


def _explained(raw: str) -> ClientMessage:
    """The frame read step by step, raising `MessageRejected` at the first problem found."""
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise MessageRejected("invalid_json", f"the message is not JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise MessageRejected("invalid_message", 'a message is a JSON object with a "type"')
    model = CLIENT_MESSAGES.get(data["type"])
    if model is None:
        known = ", ".join(CLIENT_MESSAGES)
        raise MessageRejected(
            "unknown_type", f"unknown message type {data['type']!r}; send {known}"
        )
    utterance_id = data.get("utterance_id") if isinstance(data.get("utterance_id"), str) else None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise MessageRejected(
            "invalid_message", _validation_summary(error), utterance_id
        ) from None


def _validation_summary(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "message"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)
