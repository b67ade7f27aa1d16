"""Describe the machine a benchmark ran on, so figures are never quoted without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def reference_work_ms() -> float:
    """Milliseconds a fixed piece of pure-Python work takes now (best of five).

    The virtual machines these benchmarks run on change speed from hour to hour (a
    libsodium verification took 62 us at one moment and 122 us two hours later), so a
    figure is reported with this beside it, measured just before, to tell a slower host from
    slower code."""
    import json
    import time

    document = {"session": "s", "words": [f"word{n}" for n in range(200)], "seq": 1}
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(500):
            json.loads(json.dumps(document))
            sum(n * n for n in range(200))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)
