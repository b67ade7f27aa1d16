"""Latency of the real-time path on the sample pharma policy: per partial and per final.

Replays the pack's transcripts word by word through a Session, many times, timing each
`ingest`. Three configurations are measured in the same run:
  - proctor: Hyperscan streaming, evaluation only, grounding rules not evaluated (no knowledge);
  - proctor+grounding: the same with the Velmora label as knowledge base, so each final is also
    embedded, searched and checked for contradicted figures (the embedding cache makes the
    repeated rounds cheaper than a first hearing: the p99 covers the uncached first round);
  - proctor+audit: the same with every durable event signed and committed to SQLite (fsync);
  - the matching stage alone, Hyperscan streaming, against a peer that rescans the whole text
    with one Python `re` alternation of the same phrases on every partial (what one would write
    without a streaming automaton).
Run: `python -m bench.latency` (writes bench/results/latency.json).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from audit import AuditLog, SigningKey, SQLiteRecordStore
from bench.machine import machine, percentile
from engine import PartialUtterance, Session
from engine.recording import AuditRecorder
from engine.replay import replay_inputs
from engine.transcripts import load_transcript
from evaluators import compile_policy
from evaluators.phrases import phrase_expression
from knowledge_base import open_knowledge_base
from policies import LexicalRule, RequiredDisclosureRule, load_policy, pack_path

ROUNDS = 40
RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"


def _inputs() -> list[Any]:
    pack = pack_path("pharma")
    inputs = []
    for name in ("non_compliant.txt", "compliant.txt"):
        lines = load_transcript(pack / "transcripts" / name)
        inputs.append([utterance for _, utterance in replay_inputs(lines)])
    return inputs


def _measure(make_session: Any, transcripts: list[Any]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"partial": [], "final": []}
    for _ in range(ROUNDS):
        for utterances in transcripts:
            session = make_session()
            session.start()
            for utterance in utterances:
                if session.state.value != "active":
                    break
                started = time.perf_counter()
                session.ingest(utterance)
                elapsed = (time.perf_counter() - started) * 1000
                kind = "partial" if isinstance(utterance, PartialUtterance) else "final"
                timings[kind].append(elapsed)
    return timings


def _lexical_stage(plan: Any, transcripts: list[Any]) -> dict[str, list[float]]:
    """The matching stage alone, Hyperscan streaming: only the new characters are scanned."""
    timings: dict[str, list[float]] = {"partial": [], "final": []}
    for _ in range(ROUNDS):
        for utterances in transcripts:
            scanners: dict[str, Any] = {}
            for utterance in utterances:
                scanner = scanners.setdefault(utterance.utterance_id, plan.lexicon.open_scanner())
                started = time.perf_counter()
                scanner.feed(utterance.text)
                if not isinstance(utterance, PartialUtterance):
                    scanner.close()
                elapsed = (time.perf_counter() - started) * 1000
                kind = "partial" if isinstance(utterance, PartialUtterance) else "final"
                timings[kind].append(elapsed)
    return timings


def _peer(transcripts: list[Any]) -> dict[str, list[float]]:
    """The matching stage as a naive peer: rescan the whole text with one `re` alternation."""
    policy = load_policy(pack_path("pharma") / "policy.yaml")
    expressions = [
        phrase_expression(phrase)
        for rule in policy.guardrails
        if isinstance(rule, LexicalRule | RequiredDisclosureRule)
        for phrase in rule.match.phrases
    ]
    alternation = re.compile("|".join(f"(?:{e})" for e in expressions), re.IGNORECASE)
    timings: dict[str, list[float]] = {"partial": [], "final": []}
    for _ in range(ROUNDS):
        for utterances in transcripts:
            for utterance in utterances:
                started = time.perf_counter()
                [m.span() for m in alternation.finditer(utterance.text)]
                elapsed = (time.perf_counter() - started) * 1000
                kind = "partial" if isinstance(utterance, PartialUtterance) else "final"
                timings[kind].append(elapsed)
    return timings


def _summary(timings: dict[str, list[float]]) -> dict[str, Any]:
    return {
        kind: {
            "n": len(samples),
            "p50_ms": round(percentile(samples, 0.50), 4),
            "p99_ms": round(percentile(samples, 0.99), 4),
            "max_ms": round(max(samples), 4),
        }
        for kind, samples in timings.items()
    }


def main() -> None:
    plan = compile_policy(load_policy(pack_path("pharma") / "policy.yaml"))
    transcripts = _inputs()
    with tempfile.TemporaryDirectory() as tmp:
        key = SigningKey.generate()
        store = SQLiteRecordStore(Path(tmp) / "audit.sqlite3")
        log = AuditLog(store, key)
        knowledge = open_knowledge_base("velmora-label", Path(tmp) / "kb")
        knowledge.ingest(pack_path("pharma") / "velmora-label.md")
        results = {
            "proctor": _summary(_measure(lambda: Session(plan, learner="bench"), transcripts)),
            "proctor+grounding": _summary(
                _measure(lambda: Session(plan, learner="bench", knowledge=knowledge), transcripts)
            ),
            "proctor+audit": _summary(
                _measure(
                    lambda: Session(plan, learner="bench", recorder=AuditRecorder(log)),
                    transcripts,
                )
            ),
            "matching_stage_hyperscan_stream": _summary(_lexical_stage(plan, transcripts)),
            "matching_stage_peer_python_re_rescan": _summary(_peer(transcripts)),
        }
        store.close()
    report = {"machine": machine(), "policy": plan.digest, "rounds": ROUNDS, "results": results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"machine: {report['machine']}")
    print(f"{'configuration':38} {'kind':8} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for name, kinds in results.items():
        for kind, row in kinds.items():
            print(
                f"{name:38} {kind:8} {row['n']:>6} {row['p50_ms']:>9.4f} "
                f"{row['p99_ms']:>9.4f} {row['max_ms']:>9.4f}"
            )
    print("budget (DESIGN.md): partial lexical+PII p99 <= 1 ms; final p50 <= 15 ms, p99 <= 30 ms")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
