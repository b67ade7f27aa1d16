"""What every persona backend is given and must provide."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from evaluators.findings import Finding
from evaluators.grounding import PassageLike


class TextEmbedder(Protocol):
    """Sentence embeddings with L2-normalised rows (knowledge_base.default_embedder fits)."""

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class PersonaContext:
    """One learner turn as the persona sees it."""

    learner_text: str
    turn: int
    findings: Sequence[Finding] = ()
    passages: Sequence[PassageLike] = ()
    history: Sequence[tuple[str, str]] = field(default_factory=tuple)


class PersonaBackend(Protocol):
    def opening(self) -> str: ...

    def reply(self, context: PersonaContext) -> Iterator[str]:
        """The reply as text deltas, streamed as they are produced."""
        ...

    @property
    def finished(self) -> bool:
        """True once the persona has closed the conversation."""
        ...
