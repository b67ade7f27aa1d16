"""Precision and recall of the PII detector on labelled public data nobody here wrote.

Two sets from Microsoft presidio-research / presidio-analyzer (MIT), read from
`../shared/benchmarks/` (never copied into the project):
  - presidio_pii: 1,500 synthetic sentences with character spans. A predicted span counts as a
    true positive when it overlaps a gold span of the same entity; predictions of our entities
    anywhere else are false positives (so a ZIP code read as a phone number costs precision).
  - presidio_recognizer_cases: the recognisers' own unit cases, hard positives and negatives
    (invalid Luhn, invalid SSN ranges); scored the same way on the gold spans given.
DATE_OF_BIRTH is not measured: the sets label any date (DATE_TIME), not birth dates.
Run: `python -m bench.accuracy_pii` (writes bench/results/accuracy_pii.json).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.machine import machine
from evaluators import find_pii
from policies import PiiEntity

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
RESULTS = Path(__file__).resolve().parent / "results" / "accuracy_pii.json"
GOLD_TYPES = {
    "US_SSN": PiiEntity.US_SSN,
    "CREDIT_CARD": PiiEntity.CREDIT_CARD,
    "PHONE_NUMBER": PiiEntity.PHONE,
    "EMAIL_ADDRESS": PiiEntity.EMAIL,
    "IBAN_CODE": PiiEntity.IBAN,
}
MEASURED = list(GOLD_TYPES.values())

Span = tuple[int, int]


def _score(cases: Iterable[tuple[str, dict[PiiEntity, list[Span]]]]) -> dict[str, dict[str, Any]]:
    counts: dict[PiiEntity, Counter[str]] = {entity: Counter() for entity in MEASURED}
    for text, gold in cases:
        predicted: dict[PiiEntity, list[Span]] = {entity: [] for entity in MEASURED}
        for hit in find_pii(text, MEASURED):
            predicted[hit.entity].append((hit.start, hit.end))
        for entity in MEASURED:
            truth = gold.get(entity, [])
            guesses = predicted[entity]
            matched_guesses = sum(any(_overlap(g, t) for t in truth) for g in guesses)
            matched_truth = sum(any(_overlap(g, t) for g in guesses) for t in truth)
            counts[entity].update(
                tp=matched_truth, fp=len(guesses) - matched_guesses, fn=len(truth) - matched_truth
            )
    return {entity.value: _metrics(counts[entity]) for entity in MEASURED} | {
        "ALL": _metrics(sum(counts.values(), Counter()))
    }


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _metrics(count: Counter[str]) -> dict[str, Any]:
    tp, fp, fn = count["tp"], count["fp"], count["fn"]
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def synthetic_cases() -> list[tuple[str, dict[PiiEntity, list[Span]]]]:
    cases = []
    path = SHARED / "presidio_pii" / "presidio_synth_v2_spans.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold: dict[PiiEntity, list[Span]] = {}
        for span in row["spans"]:
            if span["type"] in GOLD_TYPES:
                gold.setdefault(GOLD_TYPES[span["type"]], []).append((span["start"], span["end"]))
        cases.append((row["text"], gold))
    return cases


def recognizer_cases() -> list[tuple[str, dict[PiiEntity, list[Span]]]]:
    cases = []
    path = SHARED / "presidio_recognizer_cases" / "recognizer_test_cases.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["entity_type"] not in GOLD_TYPES:
            continue
        entity = GOLD_TYPES[row["entity_type"]]
        cases.append((row["text"], {entity: [tuple(s) for s in row["expected_spans"]]}))
    return cases


def _print(name: str, table: dict[str, dict[str, Any]]) -> None:
    print(f"\n{name}")
    print(f"{'entity':12} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>10} {'recall':>8} {'f1':>6}")

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for entity, row in table.items():
        print(
            f"{entity:12} {row['tp']:>5} {row['fp']:>5} {row['fn']:>5} "
            f"{fmt(row['precision']):>10} {fmt(row['recall']):>8} {fmt(row['f1']):>6}"
        )


def main() -> None:
    if not SHARED.is_dir():
        raise SystemExit(f"labelled data not found at {SHARED}")
    report = {
        "machine": machine(),
        "presidio_synth_v2": _score(synthetic_cases()),
        "presidio_recognizer_cases": _score(recognizer_cases()),
    }
    for name in ("presidio_synth_v2", "presidio_recognizer_cases"):
        _print(name, report[name])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
