"""Reply latency of the offline persona: from the learner's final line to the first streamed
byte of the reply and to the complete reply, on the three sample scenarios.

Each learner line goes through the whole practice loop (policy evaluation, retrieval, persona,
output rails), without audit recording so that disk fsync does not blur the persona's cost.
As a floor measured in the same run: one MiniLM embedding of a line as long (the persona needs
at least one). The embedding cache is emptied before each round, so no figure is a cache hit.
Run: `python -m bench.persona_latency` (writes bench/results/persona_latency.json).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import machine, percentile
from cli.practice_cmd import script_lines
from engine import PersonaDelta, PersonaFinal, Session
from engine.persona import ScriptedPersona
from engine.practice import Conversation
from engine.scenarios import load_scenario
from evaluators import compile_policy
from knowledge_base import default_embedder, open_knowledge_base
from policies import load_policy, pack_path

ROUNDS = 5
RESULTS = Path(__file__).resolve().parent / "results" / "persona_latency.json"
SCENARIOS = {
    "pharma": "gp_visit.yaml",
    "investment": "client_two_year_horizon.yaml",
    "service": "complaint_escalation.yaml",
}


def _forget_embeddings() -> None:
    """Every round starts cold: no learner line's embedding is served from the cache."""
    import knowledge_base.embedding as embedding

    embedding._MEMORY = embedding.MemoryCache(capacity=20_000)


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 0.5), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
        "slowest_ms": [round(value, 1) for value in sorted(samples)[-5:]],
    }


def main() -> None:
    embedder = default_embedder()
    first_byte: list[float] = []
    full: list[float] = []
    floor: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for pack, file in SCENARIOS.items():
            folder = pack_path(pack)
            scenario = load_scenario(folder / file)
            assert scenario.knowledge_base is not None
            knowledge = open_knowledge_base(scenario.knowledge_base, Path(tmp), embedder=embedder)
            for document in scenario.documents:
                knowledge.ingest(folder / document)
            plan = compile_policy(load_policy(folder / scenario.policy))
            lines = script_lines(folder / "learner_script.txt")
            for round_number in range(ROUNDS):
                session = Session(plan, learner="bench", knowledge=knowledge)
                conversation = Conversation(session, ScriptedPersona(scenario, embedder, knowledge))
                list(conversation.open())
                _forget_embeddings()
                for number, line in enumerate(lines, start=1):
                    if not conversation.active:
                        break
                    started = time.perf_counter()
                    first: float | None = None
                    for event in conversation.say(f"l{number}", line):
                        now = (time.perf_counter() - started) * 1000
                        if isinstance(event, PersonaDelta) and first is None:
                            first = now
                        if isinstance(event, PersonaFinal):
                            full.append(now)
                    if first is not None:
                        first_byte.append(first)
                    started = time.perf_counter()
                    embedder.embed([f"{line} ({round_number}.{number})"])
                    floor.append((time.perf_counter() - started) * 1000)
    report = {
        "machine": machine(),
        "rounds": ROUNDS,
        "first_byte": _summary(first_byte),
        "full_reply": _summary(full),
        "peer_single_embedding": _summary(floor),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"machine: {report['machine']}")
    for name in ("first_byte", "full_reply", "peer_single_embedding"):
        row = report[name]
        print(
            f"{name:24} n={row['n']:>4} p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms"
            f"  slowest {row['slowest_ms']}"
        )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
