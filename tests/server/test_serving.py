"""Process settings for serving: the model is warm and the collector is tuned before traffic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json, sys
from pathlib import Path
from knowledge_base import minilm
from server import ServerConfig, create_app
from server.serving import YOUNG_COLLECTION_THRESHOLD, prepare_for_traffic

app = create_app(ServerConfig(Path(sys.argv[1])))
before = {"loaded": minilm._model is not None, "frozen": gc.get_freeze_count()}
prepare_for_traffic(app)
after = {"loaded": minilm._model is not None, "frozen": gc.get_freeze_count()}
print(json.dumps({"before": before, "after": after, "threshold": gc.get_threshold()[0],
                  "expected": YOUNG_COLLECTION_THRESHOLD}))
"""


def test_prepare_loads_the_model_freezes_the_heap_and_raises_the_threshold(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["before"] == {"loaded": False, "frozen": 0}
    assert report["after"]["loaded"] is True
    assert report["after"]["frozen"] > 100_000  # the model and its libraries, frozen
    assert report["threshold"] == report["expected"] > 700


def test_the_service_gives_session_steps_as_many_threads_as_its_limit_says(
    tmp_path: Path,
) -> None:
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from server import Limits, ServerConfig, create_app

    app = create_app(ServerConfig(tmp_path / "home", limits=Limits(worker_threads=300)))
    with TestClient(app) as client:
        assert client.portal is not None
        limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)
        assert limiter.total_tokens == 300
