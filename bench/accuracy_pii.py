"""Precision and recall of the PII detector alone, in the layout of bench/results/accuracy_pii.json.

The measurement itself lives in `bench.accuracy` (section "Personal data"), which also reports
dev and held-out halves; this entry point keeps the older single-file report for anyone who
reads it. Run: `python -m bench.accuracy_pii`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.accuracy import SHARED, DataError, check_shared, pii_report

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy_pii.json"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print(name: str, table: dict[str, dict[str, Any]]) -> None:
    print(f"\n{name}")
    print(f"{'entity':12} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>10} {'recall':>8} {'f1':>6}")
    for entity, row in table.items():
        print(
            f"{entity:12} {row['tp']:>5} {row['fp']:>5} {row['fn']:>5} "
            f"{_fmt(row['precision']):>10} {_fmt(row['recall']):>8} {_fmt(row['f1']):>6}"
        )


def main() -> None:
    check_shared(SHARED)
    try:
        report = pii_report(SHARED)
    except DataError as error:
        raise SystemExit(f"bench.accuracy_pii: {error}") from None
    for name in ("presidio_synth_v2", "presidio_recognizer_cases"):
        _print(name, report[name])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
