"""Signed durable appends/s (SQLite) of this tree against an earlier revision, interleaved.

Run: ``python -m bench.append_before_after [REVISION]`` (about a minute; REVISION defaults
to ee9b44c, the last one before checkpoints were issued in the append path and learner
text was sealed). Writes bench/results/append_before_after.json and .md.

Why interleaved: on a shared machine, figures from different hours differ by more than the
change being judged (the same code measured 2,657 and 2,150 appends/s at batch 1 on one
day). Each round runs the earlier revision and this tree one after the other, in fresh
processes with the same workload, so both see the same machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.machine import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_REVISION = "ee9b44c"
ROUNDS = 3
BATCHES = (1, 8, 64)

# Run in a child process with the tree to measure first on sys.path; prints one JSON list.
CHILD = """
import json, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from audit import AuditLog, PolicyRef, SigningKey, SQLiteRecordStore
policy = PolicyRef(id="pharma-detailing-us", version=3, digest="ab" * 32)
text = ("In the pivotal trial it lowered systolic pressure by 11 mmHg; the most common side "
        "effects were fatigue and dizziness, and I can't guarantee results for every patient.")
key, rates = SigningKey.generate(), []
for batch in json.loads(sys.argv[2]):
    with tempfile.TemporaryDirectory() as tmp, SQLiteRecordStore(Path(tmp) / "a.db") as store:
        log, n, start = AuditLog(store, key), 0, time.perf_counter()
        while time.perf_counter() - start < 2.0:
            event = {"type": "UtteranceFinal", "turn": n, "speaker": "learner", "text": text}
            log.append(f"session-{n % 16}", policy, [event] * batch)
            n += 1
        rates.append(n * batch / (time.perf_counter() - start))
print(json.dumps(rates))
"""


def measure(tree: Path) -> list[float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), json.dumps(BATCHES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    rates: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return rates


def main() -> None:
    revision = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REVISION
    runs: dict[str, list[list[float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="proctor-before-") as tmp:
        before = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(before), revision],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for _ in range(ROUNDS):
                runs["before"].append(measure(before))
                runs["after"].append(measure(ROOT))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False
            )
    medians = {
        side: [statistics.median(run[i] for run in rounds) for i in range(len(BATCHES))]
        for side, rounds in runs.items()
    }
    report: dict[str, Any] = {
        "machine": machine(),
        "before_revision": revision,
        "batches": BATCHES,
        "runs": runs,
        "median": medians,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "append_before_after.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    lines = [
        "# Appends before and after checkpoints and sealing (SQLite, interleaved)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}. "
        f"Run: `python -m bench.append_before_after {revision}`; {ROUNDS} rounds, each "
        "running the earlier revision then this tree for 2 s per batch size.",
        "",
        "| batch | "
        + " | ".join(f"round {i + 1} before / after" for i in range(ROUNDS))
        + " | median before / after |",
        "|---:|" + "---|" * (ROUNDS + 1),
    ]
    for i, batch in enumerate(BATCHES):
        cells = [
            f"{b[i]:,.0f} / {a[i]:,.0f}" for b, a in zip(runs["before"], runs["after"], strict=True)
        ]
        lines.append(
            f"| {batch} | "
            + " | ".join(cells)
            + f" | {medians['before'][i]:,.0f} / {medians['after'][i]:,.0f} |"
        )
    markdown = "\n".join(lines) + "\n"
    (RESULTS / "append_before_after.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
