"""Latency of the real-time path with the whole sample pharma policy, and a guardrails-ai peer.

Utterances: every distinct learner line in the sample packs (transcripts, scripted learners,
policy-test fixtures) and in bench/data/semantic_cases.yaml, each spoken word by word as
partial transcripts and then finalised, one session per line. The embedding cache is emptied
before every round, so each final pays for its own MiniLM embedding, as a first hearing does.

Configurations, all measured in the same run:
  - full: the pharma policy as shipped (lexical, PII, semantic, knowledge-base exceptions,
    grounding against the Velmora label, fair balance, behaviours, objectives), MiniLM;
  - full+audit: the same, with every durable event signed and committed to SQLite (fsync);
  - lexical+pii: only the policy's phrase/regex and personal-data rules, evaluated by
    Proctor, against the same rules as guardrails-ai validators in one Guard
    (bench/guardrails_peer.py), per final utterance: the ratio is reported;
  - the matching stage alone, Hyperscan streaming, against a peer that rescans the whole text
    with one Python `re` alternation on every partial.
Run: `python -m bench.latency` (writes bench/results/latency.json and latency.md).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from audit import AuditLog, SigningKey, SQLiteRecordStore
from bench.machine import machine, percentile
from engine import FinalUtterance, PartialUtterance, Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from engine.replay import spoken_partials
from engine.transcripts import load_transcript
from evaluators import SessionEvaluator, compile_policy
from evaluators.phrases import phrase_expression
from knowledge_base import default_embedder, open_knowledge_base
from knowledge_base.embedding import forget_cached_embeddings
from policies import LexicalRule, PiiRule, Policy, load_policy, pack_path
from policies.models import Match

ROUNDS = 2
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WARM_UP = (
    "Warming up the model and the index before measuring.",
    "In a warm-up trial it lowered systolic pressure by 11 mmHg against placebo.",
    "Is there anything else you would like to know about the dose?",
)
BUDGET = "final p50 <= 15 ms, p99 <= 30 ms; partial (lexical + PII) p99 <= 1 ms"


def learner_lines() -> list[str]:
    """Every distinct learner line the project ships, in a stable order."""
    seen: dict[str, None] = {}
    yaml = YAML(typ="safe")
    for pack in ("pharma", "investment", "service"):
        folder = pack_path(pack)
        for transcript in sorted((folder / "transcripts").glob("*.txt")):
            for line in load_transcript(transcript):
                if line.speaker.value == "learner":
                    seen.setdefault(line.text)
        script = folder / "learner_script.txt"
        for text in script.read_text(encoding="utf-8").splitlines():
            if text.strip() and not text.startswith("#"):
                seen.setdefault(text.strip())
        for fixture in sorted((folder / "tests").glob("*.yaml")):
            for turn in yaml.load(fixture.read_text(encoding="utf-8")).get("transcript", []):
                if isinstance(turn, dict) and isinstance(turn.get("learner"), str):
                    seen.setdefault(turn["learner"])
    cases = yaml.load((HERE / "data" / "semantic_cases.yaml").read_text(encoding="utf-8"))
    for case in cases["cases"]:
        seen.setdefault(case["text"])
    return list(seen)


def _spoken(number: int, text: str) -> Iterator[PartialUtterance | FinalUtterance]:
    utterance_id = f"u{number}"
    yield from spoken_partials(utterance_id, text)
    yield FinalUtterance(utterance_id=utterance_id, text=text)


def _measure(make_session: Callable[[], Session], lines: list[str]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"partial": [], "final": []}
    for number, text in enumerate(WARM_UP):  # lazy loads: not what a learner waits for
        warm = make_session()
        warm.start()
        for utterance in _spoken(-1 - number, text):
            warm.ingest(utterance)
    for _ in range(ROUNDS):
        forget_cached_embeddings()
        for number, text in enumerate(lines):
            session = make_session()
            session.start()
            for utterance in _spoken(number, text):
                started = time.perf_counter()
                session.ingest(utterance)
                elapsed = (time.perf_counter() - started) * 1000
                kind = "partial" if isinstance(utterance, PartialUtterance) else "final"
                timings[kind].append(elapsed)
                if session.state.value != "active":
                    break
    return timings


def lexical_and_pii_only(policy: Policy) -> Policy:
    """The policy's phrase/regex rules (semantic parts and exceptions removed) and PII rules:
    exactly what the guardrails-ai peer expresses."""
    rules: list[Any] = []
    for rule in policy.guardrails:
        if isinstance(rule, LexicalRule) and rule.match.is_lexical:
            match = Match(phrases=rule.match.phrases, regex=rule.match.regex)
            rules.append(rule.model_copy(update={"match": match, "unless": None}))
        elif isinstance(rule, PiiRule):
            rules.append(rule)
    return policy.model_copy(update={"guardrails": rules, "objectives": [], "rubric": None})


def _finals_proctor(policy: Policy, lines: list[str]) -> list[float]:
    plan = compile_policy(policy)
    timings = []
    for _ in range(ROUNDS * 10):
        for number, text in enumerate(lines):
            evaluator = SessionEvaluator(plan)
            started = time.perf_counter()
            evaluator.final(f"u{number}", text)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _finals_guardrails(policy: Policy, lines: list[str]) -> list[float] | str:
    try:
        from bench.guardrails_peer import build_guard, time_guard
    except ImportError as error:
        return f"guardrails-ai not installed ({error}); install proctor[guardrails]"
    guard = build_guard(policy)
    return [seconds * 1000 for seconds in time_guard(guard, lines * ROUNDS * 10)]


def _matching_stage(policy: Policy, lines: list[str]) -> dict[str, dict[str, list[float]]]:
    """Hyperscan streaming (new characters only) against rescanning with one `re`."""
    plan = compile_policy(lexical_and_pii_only(policy))
    expressions = [
        phrase_expression(phrase)
        for rule in plan.policy.guardrails
        if isinstance(rule, LexicalRule)
        for phrase in rule.match.phrases
    ]
    alternation = re.compile("|".join(f"(?:{e})" for e in expressions), re.IGNORECASE)
    stream: list[float] = []
    rescan: list[float] = []
    for _ in range(ROUNDS * 5):
        for text in lines:
            scanner = plan.lexicon.open_scanner()
            for partial in spoken_partials("u", text):
                started = time.perf_counter()
                scanner.feed(partial.text)
                stream.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                [found.span() for found in alternation.finditer(partial.text)]
                rescan.append((time.perf_counter() - started) * 1000)
            scanner.close()
    return {
        "hyperscan_stream": {"partial": stream},
        "peer_python_re_rescan": {"partial": rescan},
    }


def _summary(timings: dict[str, list[float]]) -> dict[str, Any]:
    return {
        kind: {
            "n": len(samples),
            "p50_ms": round(percentile(samples, 0.50), 4),
            "p99_ms": round(percentile(samples, 0.99), 4),
            "max_ms": round(max(samples), 4),
        }
        for kind, samples in timings.items()
        if samples
    }


def _markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        "# Real-time latency, pharma policy",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"load average at start {report['load_average']}.",
        f"{report['utterances']} distinct learner lines x {ROUNDS} rounds, spoken word by word;"
        " embedding cache emptied before each round; three warm-up utterances per"
        " configuration are not counted. Budget (DESIGN.md): " + BUDGET + ".",
        "",
        "| configuration | kind | n | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, kinds in report["results"].items():
        if isinstance(kinds, str):
            lines.append(f"| {name} | {kinds} | | | | |")
            continue
        for kind, row in kinds.items():
            lines.append(
                f"| {name} | {kind} | {row['n']} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} "
                f"| {row['max_ms']:.3f} |"
            )
    lines += ["", "Ratios measured in the same run:", ""]
    lines += [f"- {text}" for text in report["ratios"]]
    return "\n".join(lines) + "\n"


def _ratio(text: str, peer: dict[str, Any], ours: dict[str, Any], kind: str) -> str:
    p50 = peer[kind]["p50_ms"] / ours[kind]["p50_ms"]
    p99 = peer[kind]["p99_ms"] / ours[kind]["p99_ms"]
    return f"{text}: the peer takes {p50:.1f}x Proctor's time at p50, {p99:.1f}x at p99"


def main() -> None:
    import os

    load = os.getloadavg()
    policy = load_policy(pack_path("pharma") / "policy.yaml")
    embedder = default_embedder()
    plan = plan_policy(policy, embedder)
    lines = learner_lines()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteRecordStore(Path(tmp) / "audit.sqlite3")
        log = AuditLog(store, SigningKey.generate())
        knowledge = open_knowledge_base("velmora-label", Path(tmp) / "kb", embedder=embedder)
        knowledge.ingest(pack_path("pharma") / "velmora-label.md")
        results: dict[str, Any] = {
            "full": _summary(
                _measure(lambda: Session(plan, learner="b", knowledge=knowledge), lines)
            ),
            "full+audit": _summary(
                _measure(
                    lambda: Session(
                        plan, learner="b", knowledge=knowledge, recorder=AuditRecorder(log)
                    ),
                    lines,
                )
            ),
        }
        store.close()
    subset = lexical_and_pii_only(policy)
    results["lexical+pii, Proctor"] = _summary({"final": _finals_proctor(subset, lines)})
    peer = _finals_guardrails(subset, lines)
    results["lexical+pii, guardrails-ai Guard"] = (
        _summary({"final": peer}) if isinstance(peer, list) else peer
    )
    for name, timings in _matching_stage(policy, lines).items():
        results[f"matching stage, {name}"] = _summary(timings)
    ratios = [
        _ratio(
            "matching stage per partial, Python re rescan vs Hyperscan stream",
            results["matching stage, peer_python_re_rescan"],
            results["matching stage, hyperscan_stream"],
            "partial",
        )
    ]
    if isinstance(peer, list):
        ratios.insert(
            0,
            _ratio(
                "lexical + PII rules per final, guardrails-ai Guard vs Proctor",
                results["lexical+pii, guardrails-ai Guard"],
                results["lexical+pii, Proctor"],
                "final",
            ),
        )
    report = {
        "machine": machine(),
        "load_average": [round(value, 2) for value in load],
        "policy": plan.digest,
        "utterances": len(lines),
        "rounds": ROUNDS,
        "results": results,
        "ratios": ratios,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report)
    (RESULTS / "latency.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
