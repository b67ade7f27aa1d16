"""Semantic matching quality, MiniLM against the static embedder distilled from it.

No public labelled set of promotional claims exists (../shared/benchmarks/README.md), so the
lines in bench/data/semantic_cases.yaml were written for Proctor from public promotion rules.
Three matchers are measured, each at the threshold its policy sets: the pharma pack's off-label
examples, its efficacy-claim (fair balance) trigger, and the investment pack's guarantees. Only
meaning counts here: phrases and regexes are stripped, and the same negation, quotation and
attribution handling as in a session applies. For each embedder the report gives precision,
recall and F1 at the policy threshold, the best F1 any single threshold could reach on these
lines (an optimistic ceiling, for comparison only), and the time to embed one clause batch.

Run: `python -m bench.semantic_accuracy` (writes bench/results/semantic_accuracy.{json,md}).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bench.machine import machine, percentile
from evaluators import SessionEvaluator, compile_policy
from evaluators.semantic import SentenceEmbedder
from policies import LexicalRule, load_policy, pack_path, policy_from_mapping
from policies.models import Match, PairedDisclosureRule, SemanticMatch

HERE = Path(__file__).resolve().parent
CASES = HERE / "data" / "semantic_cases.yaml"
RESULTS = HERE / "results"

def matchers() -> dict[str, SemanticMatch]:
    pharma = load_policy(pack_path("pharma") / "policy.yaml")
    off_label = pharma.rule("no-off-label")
    efficacy = pharma.rule("fair-balance")
    assert isinstance(off_label, LexicalRule) and off_label.match.semantic is not None
    assert isinstance(efficacy, PairedDisclosureRule) and efficacy.trigger.semantic is not None
    investment = load_policy(pack_path("investment") / "policy.yaml")
    guarantee = investment.rule("no-guarantees")
    assert isinstance(guarantee, LexicalRule) and guarantee.match.semantic is not None
    return {
        "off_label": off_label.match.semantic,
        "efficacy": efficacy.trigger.semantic,
        "guarantee": guarantee.match.semantic,
    }


def meaning_only_policy(semantic: dict[str, SemanticMatch]) -> Any:
    return policy_from_mapping(
        {
            "policy": "semantic-bench",
            "version": 1,
            "guardrails": [
                {
                    "id": name.replace("_", "-"),
                    "match": Match(semantic=match).model_dump(exclude_defaults=True),
                }
                for name, match in semantic.items()
            ],
        }
    )


def load_cases() -> list[tuple[str, set[str]]]:
    data = YAML(typ="safe").load(CASES.read_text(encoding="utf-8"))
    return [(case["text"], set(case["expect"])) for case in data["cases"]]


def _scores(expected: list[bool], predicted: list[bool]) -> dict[str, float | int]:
    tp = sum(e and p for e, p in zip(expected, predicted, strict=True))
    fp = sum(p and not e for e, p in zip(expected, predicted, strict=True))
    fn = sum(e and not p for e, p in zip(expected, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
    }


def _best_f1(expected: list[bool], similarities: list[float]) -> float:
    best = 0.0
    for threshold in sorted(set(similarities)):
        predicted = [similarity >= threshold for similarity in similarities]
        best = max(best, float(_scores(expected, predicted)["f1"]))
    return best


def measure(embedder: SentenceEmbedder, cases: Sequence[tuple[str, set[str]]]) -> dict[str, Any]:
    semantic = matchers()
    plan = compile_policy(meaning_only_policy(semantic), embedder)
    assert plan.semantic is not None
    fired: list[set[str]] = []
    nearest: list[dict[str, float]] = []
    timings = []
    for text, _ in cases:
        started = time.perf_counter()
        outcome = SessionEvaluator(plan).final("u", text)
        timings.append((time.perf_counter() - started) * 1000)
        fired.append({finding.rule_id.replace("-", "_") for finding in outcome.new_findings})
        best = {
            owner.replace("-", "_"): similarity
            for (owner, _), similarity in plan.semantic.nearest(text).items()
        }
        nearest.append(best)
    per_matcher = {}
    for name in semantic:
        expected = [name in expect for _, expect in cases]
        scores = _scores(expected, [name in found for found in fired])
        scores["best_f1_any_threshold"] = round(
            _best_f1(expected, [row[name] for row in nearest]), 3
        )
        per_matcher[name] = scores
    return {
        "matchers": per_matcher,
        "final_ms_p50": round(percentile(timings, 0.5), 3),
        "final_ms_p99": round(percentile(timings, 0.99), 3),
    }


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Semantic matching: MiniLM vs the static embedder distilled from it",
        "",
        f"{report['cases']} lines written for Proctor (bench/data/semantic_cases.yaml), "
        "meaning only (phrases stripped), at each policy's threshold. The last column is the "
        "best F1 a single threshold on raw similarity could reach on these lines (negation and "
        "attribution checks not applied, so it can be below the F1 at the policy threshold).",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}.",
        "",
        "| embedder | matcher | TP | FP | FN | precision | recall | F1 | best F1, any threshold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for embedder, result in report["embedders"].items():
        for name, row in result["matchers"].items():
            lines.append(
                f"| {embedder} | {name} | {row['tp']} | {row['fp']} | {row['fn']} | "
                f"{row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | "
                f"{row['best_f1_any_threshold']:.2f} |"
            )
    lines += [
        "",
        "Time to evaluate one line on first sight (clauses embedded, uncached), in ms:",
        "",
        "| embedder | p50 | p99 |",
        "|---|---|---|",
    ]
    for embedder, result in report["embedders"].items():
        lines.append(f"| {embedder} | {result['final_ms_p50']} | {result['final_ms_p99']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from knowledge_base import default_embedder
    from knowledge_base.static_embedder import StaticEmbedder

    cases = load_cases()
    embedders: dict[str, SentenceEmbedder] = {
        "minilm": default_embedder(),
        "static-minilm-256": StaticEmbedder(),
    }
    report = {
        "machine": machine(),
        "cases": len(cases),
        "embedders": {name: measure(embedder, cases) for name, embedder in embedders.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "semantic_accuracy.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report)
    (RESULTS / "semantic_accuracy.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
