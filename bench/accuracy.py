"""Precision, recall and F1 of Proctor's detectors on labelled public data nobody here wrote.

The sets live in `../shared/benchmarks/` next to the repository (see its README and each
SOURCE.txt) and are read in place: several are licensed for evaluation only and must never be
copied into the project. What is measured, and how each label scheme maps onto a detector:

- questions (`open_question` / `closed_question`) on AnnoMI therapist utterances (expert
  motivational-interviewing codes) and on Switchboard dialogue acts. An utterance counts as
  open if any of its questions is open, closed if it has only closed ones. AnnoMI's
  multi-annotator subset also gives the human ceiling: how often one annotator agrees with
  the majority of ten.
- reflections (`reflective_listening`) on AnnoMI; summaries (`summarising`) on Switchboard's
  summarize/reformulate act.
- personal data (`evaluators.find_pii`) per entity on Presidio's synthetic sentences and its
  recognisers' own hard cases (span overlap with a gold span of the same entity).
- `disrespect` on the Stanford politeness requests (impolite vs polite quartiles) and on
  toxicity sets (offensive or hateful vs neither/neutral).
- `impact_naming` on EPITOME empathy (emotional reactions, interpretations) in Reddit replies.
- `overclaiming` on claim-strength sentences (direct causal vs correlational, conditional or
  none).

Every set is split deterministically by a hash of each row's identity into a *dev* half (looked
at while writing rules) and a *held-out* half (reported, never inspected); both are published,
labelled. Run `python -m bench.accuracy`; it writes bench/results/accuracy.md and .json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import machine
from evaluators import find_pii
from evaluators.behaviours import detect
from policies import PiiEntity

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "benchmarks"
RESULTS = Path(__file__).resolve().parent / "results"
DEV, HELD_OUT = "dev", "held-out"
SPLITS = (DEV, HELD_OUT)


class DataError(Exception):
    """A benchmark file is missing or malformed; the message names the file and the line."""


# --- metrics -------------------------------------------------------------------------------


@dataclass
class Counts:
    """Confusion counts of one detector for one class; precision etc. are None when undefined."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    n: int = 0

    def add(self, gold: bool, predicted: bool) -> None:
        self.n += 1
        self.tp += gold and predicted
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.n + other.n)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "tp": self.tp, "fp": self.fp, "fn": self.fn,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
        }


def binary_counts(pairs: Iterable[tuple[bool, bool]]) -> Counts:
    """Counts from (gold, predicted) pairs of a yes/no label."""
    counts = Counts()
    for gold, predicted in pairs:
        counts.add(gold, predicted)
    return counts


def per_class_counts(pairs: Iterable[tuple[str, str]], classes: Sequence[str]) -> dict[str, Counts]:
    """One-vs-rest counts for each class of a single-label scheme (other labels are negatives)."""
    counts = {name: Counts() for name in classes}
    for gold, predicted in pairs:
        for name in classes:
            counts[name].add(gold == name, predicted == name)
    return counts


def macro_f1(counts: Iterable[Counts]) -> float | None:
    scores = [c.f1 for c in counts]
    if not scores or any(score is None for score in scores):
        return None
    return sum(score for score in scores if score is not None) / len(scores)


def split_of(key: str) -> str:
    """Dev or held-out, by a hash of the row's identity: stable across runs and machines."""
    return DEV if hashlib.sha256(key.encode("utf-8")).digest()[0] % 2 == 0 else HELD_OUT


# --- results -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the published table."""

    section: str
    dataset: str
    detector: str
    label: str
    split: str
    counts: Counts
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section, "dataset": self.dataset, "detector": self.detector,
            "class": self.label, "split": self.split, **self.counts.as_dict(), "note": self.note,
        }


@dataclass
class Section:
    name: str
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    name: str
    threshold: float
    value: float | None
    reason_if_missed: str

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.threshold


# --- reading the sets ----------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object per line")
        rows.append(row)
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(_read(path).splitlines()))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"benchmark file missing: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read {path}: {error}") from None


def field_of(row: dict[str, Any], name: str, path: str) -> Any:
    try:
        return row[name]
    except KeyError:
        raise DataError(f"{path}: a row has no field {name!r}") from None


# --- timing --------------------------------------------------------------------------------


class Timer:
    """Mean wall time per call of each detector over every text the benchmark feeds it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def run(self, name: str, text: str, previous: str | None = None) -> bool:
        started = time.perf_counter()
        hits = detect(name, text, previous)
        self.seconds[name] += time.perf_counter() - started
        self.calls[name] += 1
        return bool(hits)

    def microseconds(self) -> dict[str, float]:
        return {name: 1e6 * self.seconds[name] / self.calls[name] for name in sorted(self.calls)}


def question_kind(timer: Timer, text: str) -> str:
    """Utterance-level label: open if any question in it is open, closed if only closed ones."""
    if timer.run("open_question", text):
        return "open"
    return "closed" if timer.run("closed_question", text) else "none"


def _by_split(
    items: Iterable[tuple[str, Any]],
) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {split: [] for split in SPLITS}
    for key, item in items:
        grouped[split_of(key)].append(item)
    return grouped


# --- sections ------------------------------------------------------------------------------

QUESTION_CLASSES = ("open", "closed")


def _question_rows(
    section: Section, dataset: str, pairs_by_split: dict[str, list[tuple[str, str]]], note: str
) -> dict[str, float | None]:
    """Per-class rows, plus open-vs-closed macro F1 on the utterances that are questions."""
    subtype_f1: dict[str, float | None] = {}
    for split, pairs in pairs_by_split.items():
        for label, counts in per_class_counts(pairs, QUESTION_CLASSES).items():
            detector = f"{label}_question"
            section.rows.append(Row(section.name, dataset, detector, label, split, counts, note))
        questions = [(gold, predicted) for gold, predicted in pairs if gold != "none"]
        among = per_class_counts(questions, QUESTION_CLASSES)
        subtype_f1[split] = macro_f1(among.values())
        correct = sum(gold == predicted for gold, predicted in questions)
        section.figures[f"{dataset} {split}: open-vs-closed macro F1 on gold questions"] = (
            subtype_f1[split]
        )
        section.figures[f"{dataset} {split}: open-vs-closed accuracy on gold questions"] = (
            correct / len(questions) if questions else None
        )
    return subtype_f1


def questions_section(shared: Path, timer: Timer) -> tuple[Section, list[Target]]:
    section = Section("Open and closed questions")
    section.notes += [
        "Utterance level: predicted *open* if any question in the utterance is open, *closed* "
        "if it has only closed questions, *none* otherwise. Rows with class open/closed count "
        "every utterance (statements, reflections… are negatives), so FP includes questions "
        "found in non-question utterances.",
        "*open-vs-closed macro F1* is computed only on utterances the annotators marked as "
        "questions: it measures telling open from closed, the quantity the target refers to.",
        "AnnoMI follows MITI: a question that asks for one fact (when/where/who, how many, "
        "scaling questions) is closed. SwDA labels every wh-question (qw) open and declarative "
        "yes/no questions without a question mark (qy^d) closed; our detector follows MITI, so "
        "SwDA's *how old is she?* counts against us as a missed open question.",
        "A statement said with a question mark ('So you want to stop?') is a closed question "
        "by design; AnnoMI often codes it as a reflection, which shows as closed-question FP.",
        "The human ceiling is the mean, over questions, of the share of the 10 annotators who "
        "chose the majority subtype; compare it with our *accuracy* on the same rows. (The "
        "0.915 quoted in the data's SOURCE.txt averages over all 216 rows, most of which are "
        "not questions and agree trivially on 'n/a'.) The dev half was inspected while "
        "writing the rules, so the *all* figure is optimistic.",
    ]
    balanced_path = "annomi/annomi_balanced_sample_600.jsonl"
    balanced = read_jsonl(shared / balanced_path)
    gold_of = {"open_question": "open", "closed_question": "closed"}
    pairs = _by_split(
        (
            str(field_of(row, "text", balanced_path)),
            (gold_of.get(str(row["label"]), "none"), question_kind(timer, str(row["text"]))),
        )
        for row in balanced
    )
    balanced_f1 = _question_rows(
        section, "AnnoMI balanced 600", pairs,
        "100 per class: open Q, closed Q, 2 reflection, input, other; one annotator",
    )

    multi_path = "annomi/annomi_multi_annotator_subset.jsonl"
    multi = read_jsonl(shared / multi_path)
    multi_pairs: dict[str, list[tuple[str, str]]] = {split: [] for split in SPLITS}
    agreement: dict[str, list[float]] = {split: [] for split in SPLITS}
    for row in multi:
        text = str(field_of(row, "text", multi_path))
        is_q = str(row["question_exists"]) == "True"
        gold = str(row["question_subtype"]) if is_q else "none"
        split = split_of(text)
        multi_pairs[split].append((gold, question_kind(timer, text)))
        if is_q:
            agreement[split].append(float(row["question_subtype_agreement"]))
    multi_f1 = _question_rows(
        section, "AnnoMI multi-annotator 216", multi_pairs, "majority label of 10 annotators"
    )
    ceiling_name = "human ceiling: mean agreement of one annotator with the majority (accuracy)"
    for split in (*SPLITS, "all"):
        values = agreement[split] if split != "all" else agreement[DEV] + agreement[HELD_OUT]
        section.figures[f"AnnoMI multi-annotator 216 {split}: {ceiling_name}"] = (
            sum(values) / len(values) if values else None
        )
    both = [pair for split in SPLITS for pair in multi_pairs[split] if pair[0] != "none"]
    both_name = "AnnoMI multi-annotator 216 all: open-vs-closed accuracy on gold questions"
    section.figures[both_name] = (
        sum(gold == predicted for gold, predicted in both) / len(both) if both else None
    )

    full_path = "annomi/annomi_therapist_utterances.csv"
    full_pairs = _by_split(
        (
            row["text"],
            (
                row["question_subtype"] if row["question_exists"] == "True" else "none",
                question_kind(timer, row["text"]),
            ),
        )
        for row in read_csv(shared / full_path)
    )
    _question_rows(
        section, "AnnoMI all therapist utterances", full_pairs,
        "4,882 utterances, mostly one annotator each",
    )

    swda_path = "swda_questions/swda_question_summary_acts.jsonl"
    swda_gold = {"open_question": "open", "closed_question": "closed"}
    swda_pairs = _by_split(
        (
            _swda_key(row),
            (swda_gold.get(str(row["label"]), "none"), question_kind(timer, str(row["text"]))),
        )
        for row in read_jsonl(shared / swda_path)
    )
    _question_rows(
        section, "SwDA", swda_pairs,
        "open=qw,qo,qw^d; closed=qy,qy^d,qrr,^g; none=statements, bf, bh, qh",
    )
    ceiling = section.figures[f"AnnoMI multi-annotator 216 {HELD_OUT}: {ceiling_name}"]
    ours = section.figures[
        f"AnnoMI multi-annotator 216 {HELD_OUT}: open-vs-closed accuracy on gold questions"
    ]
    reason = (
        "AnnoMI annotators often code a question by its function rather than its form (yes/no "
        "questions such as 'Do you think you can quit?' or 'Is there anything else…?' labelled "
        "open, 'What do you think?' labelled closed); a form-based rule cannot follow that, "
        "and single annotators disagree with each other about as often. On the multi-annotator "
        f"held-out half one annotator agrees with the majority {_fmt(ceiling)} of the time; "
        f"the detector {_fmt(ours)} (n is small: about 45 questions per half)"
    )
    targets = [
        Target("AnnoMI balanced, open-vs-closed macro F1 (held-out)", 0.85,
               balanced_f1[HELD_OUT], reason),
        Target("AnnoMI multi-annotator, open-vs-closed macro F1 (held-out)", 0.85,
               multi_f1[HELD_OUT], reason),
    ]
    return section, targets


def _swda_key(row: dict[str, Any]) -> str:
    return f"{row.get('conversation')}|{row.get('index')}|{row.get('text')}"


def reflections_section(shared: Path, timer: Timer) -> Section:
    section = Section("Reflections and summaries")
    section.notes += [
        "AnnoMI reflections: positive = simple or complex reflection (balanced sample) or "
        "`reflection_exists` (other sets); `previous` = the client's preceding utterance.",
        "SwDA has no summary label as such: its summarize/reformulate act (bf) is the closest; "
        "most bf utterances are short reformulations ('so you have two kids') rather than "
        "announced summaries, so `summarising` (which needs 'to sum up', 'let me recap'…) is "
        "expected to have low recall there and `reflective_listening` is shown on the same rows.",
    ]
    balanced_path = "annomi/annomi_balanced_sample_600.jsonl"
    rows = read_jsonl(shared / balanced_path)
    _binary_rows(
        section, "AnnoMI balanced 600", "reflective_listening", "reflection",
        (
            (
                str(row["text"]),
                "reflection" in str(row["label"]),
                timer.run(
                    "reflective_listening", str(row["text"]), str(row["prev_text"]) or None
                ),
            )
            for row in rows
        ),
        "positives: 200 simple/complex reflections; negatives: 400 other behaviours",
    )
    multi = read_jsonl(shared / "annomi/annomi_multi_annotator_subset.jsonl")
    _binary_rows(
        section, "AnnoMI multi-annotator 216", "reflective_listening", "reflection",
        (
            (
                str(row["text"]),
                str(row["reflection_exists"]) == "True",
                timer.run(
                    "reflective_listening", str(row["text"]), str(row["prev_text"]) or None
                ),
            )
            for row in multi
        ),
        "majority of 10 annotators",
    )
    full = read_csv(shared / "annomi/annomi_therapist_utterances.csv")
    _binary_rows(
        section, "AnnoMI all therapist utterances", "reflective_listening", "reflection",
        (
            (
                row["text"],
                row["reflection_exists"] == "True",
                timer.run(
                    "reflective_listening", row["text"], row["prev_text"] or None
                ),
            )
            for row in full
        ),
        "mostly one annotator",
    )
    swda = [
        row for row in read_jsonl(shared / "swda_questions/swda_question_summary_acts.jsonl")
        if row["label"] in ("summarize_reformulate", "statement")
    ]
    for detector in ("summarising", "reflective_listening"):
        _binary_rows(
            section, "SwDA bf vs statements", detector, "summary/reformulation",
            (
                (
                    _swda_key(row),
                    row["label"] == "summarize_reformulate",
                    timer.run(
                        detector, str(row["text"]),
                        str(row.get("prev_other_speaker_text") or "") or None,
                    ),
                )
                for row in swda
            ),
            "positives: bf (summarize/reformulate); negatives: sd/sv statements",
        )
    return section


def _binary_rows(
    section: Section,
    dataset: str,
    detector: str,
    label: str,
    items: Iterable[tuple[str, bool, bool]],
    note: str,
) -> dict[str, Counts]:
    """Count (key, gold, predicted) items of a yes/no detector; add one row per split."""
    counts = {split: Counts() for split in SPLITS}
    for key, gold, predicted in items:
        counts[split_of(key)].add(gold, predicted)
    for split in SPLITS:
        section.rows.append(Row(section.name, dataset, detector, label, split, counts[split], note))
    return counts


def disrespect_section(shared: Path, timer: Timer) -> Section:
    section = Section("Disrespect (tone)")
    section.notes += [
        "Politeness: Stanford politeness requests (Wikipedia and Stack Exchange editors); "
        "positive = bottom quartile (impolite), negative = top quartile (polite); the middle "
        "half is left out, as in the corpus paper. Impoliteness there is mostly curt or "
        "accusatory phrasing, not insults, so recall is expected to be low.",
        "Toxicity: Davidson tweets (hate or offensive vs neither), ToxiGen seed sentences "
        "(implicit hate vs neutral, almost no slurs or swearing) and a 101-comment Jigsaw "
        "slice (toxic vs clean; too small for stable figures).",
    ]
    politeness = [
        row for row in read_jsonl(shared / "politeness/politeness_requests.jsonl")
        if row["label_quartile"] in ("impolite", "polite")
    ]
    for community in ("Wikipedia", "Stack Exchange"):
        _binary_rows(
            section, f"Politeness ({community})", "disrespect", "impolite",
            (
                (
                    f"{row['community']}|{row['id']}",
                    row["label_quartile"] == "impolite",
                    timer.run("disrespect", str(row["text"])),
                )
                for row in politeness
                if (row["community"] == "Wikipedia") == (community == "Wikipedia")
            ),
            "impolite quartile vs polite quartile",
        )
    davidson = read_jsonl(shared / "toxicity/davidson_balanced_1500.jsonl")
    _binary_rows(
        section, "Davidson tweets", "disrespect", "offensive or hate",
        (
            (
                str(row["id"]),
                int(row["toxic"]) == 1,
                timer.run("disrespect", str(row["text"])),
            )
            for row in davidson
        ),
        "500 hate + 500 offensive vs 500 neither",
    )
    toxigen = read_jsonl(shared / "toxicity/toxigen_demonstrations.jsonl")
    _binary_rows(
        section, "ToxiGen seeds", "disrespect", "hate",
        (
            (
                str(row["text"]),
                row["label"] == "hate",
                timer.run("disrespect", str(row["text"])),
            )
            for row in toxigen
        ),
        "implicit identity-based hate vs neutral",
    )
    jigsaw = read_csv(shared / "toxicity/jigsaw_test_examples_101.csv")
    _binary_rows(
        section, "Jigsaw 101", "disrespect", "toxic",
        (
            (
                row["comment_text"],
                any(row[name] == "1" for name in ("toxic", "severe_toxic", "insult", "obscene")),
                timer.run("disrespect", row["comment_text"]),
            )
            for row in jigsaw
        ),
        "toxic/severe_toxic/insult/obscene vs clean; smoke test only",
    )
    return section


def empathy_section(shared: Path, timer: Timer) -> Section:
    section = Section("Naming the other person's experience (empathy)")
    section.notes += [
        "EPITOME (Reddit mental-health replies): `impact_naming` runs on the reply with the "
        "seeker's post as `previous`. Positive = level 1 (weak) or 2 (strong) on the "
        "dimension named; *either* = emotional reactions or interpretations. Interpretations "
        "at level 2 are often shared experience ('I went through the same'), which "
        "`impact_naming` does not look for; emotional reactions ('I'm so sorry', 'that sounds "
        "awful') are its closest match.",
    ]
    path = "epitome_empathy/epitome_reddit_merged.jsonl"
    rows = read_jsonl(shared / path)
    predicted = {
        str(row["rp_id"]): timer.run(
            "impact_naming", str(row["response_post"]), str(row["seeker_post"])
        )
        for row in rows
    }
    dimensions: dict[str, Callable[[dict[str, Any]], bool]] = {
        "emotional reactions": lambda row: int(row["emotional_reactions"]) >= 1,
        "interpretations": lambda row: int(row["interpretations"]) >= 1,
        "either": lambda row: (
            int(row["emotional_reactions"]) >= 1 or int(row["interpretations"]) >= 1
        ),
    }
    for label, gold in dimensions.items():
        _binary_rows(
            section, "EPITOME Reddit", "impact_naming", label,
            (
                (
                    f"{row['sp_id']}|{row['rp_id']}",
                    gold(row),
                    predicted[str(row["rp_id"])],
                )
                for row in rows
            ),
            "level >= 1 is positive",
        )
    return section


def overclaiming_section(shared: Path, timer: Timer) -> Section:
    section = Section("Overclaiming (causal strength)")
    section.notes += [
        "Claim-strength sentences from health-science conclusions and press releases. "
        "Positive = direct causal ('X reduces Y'); negatives = conditional causal ('X may "
        "reduce Y'), correlational ('X is associated with Y') and no relationship. A proxy for "
        "promotional overclaiming, not promotional text itself.",
    ]
    rows = read_jsonl(shared / "claim_strength/claim_strength_sentences.jsonl")
    predicted = {str(row["text"]): timer.run("overclaiming", str(row["text"])) for row in rows}
    sources = sorted({str(row["source"]) for row in rows})
    for source in [*sources, "all"]:
        _binary_rows(
            section, f"claim strength ({source})", "overclaiming", "direct causal",
            (
                (
                    str(row["text"]),
                    int(row["strength"]) == 3,
                    predicted[str(row["text"])],
                )
                for row in rows if source in ("all", row["source"])
            ),
            "direct causal vs conditional/correlational/none",
        )
    return section


# --- personal data -------------------------------------------------------------------------

GOLD_PII = {
    "US_SSN": PiiEntity.US_SSN,
    "CREDIT_CARD": PiiEntity.CREDIT_CARD,
    "PHONE_NUMBER": PiiEntity.PHONE,
    "EMAIL_ADDRESS": PiiEntity.EMAIL,
    "IBAN_CODE": PiiEntity.IBAN,
}
MEASURED_PII = list(GOLD_PII.values())
PII_TARGET = (PiiEntity.CREDIT_CARD, PiiEntity.US_SSN, PiiEntity.EMAIL, PiiEntity.PHONE)
Span = tuple[int, int]
PiiCase = tuple[str, str, dict[PiiEntity, list[Span]]]  # (split key, text, gold spans)


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score_pii(cases: Iterable[tuple[str, dict[PiiEntity, list[Span]]]]) -> dict[PiiEntity, Counts]:
    """Per-entity counts: a prediction is a TP when it overlaps a gold span of its entity.

    Gold spans matched by no prediction are FN; predictions matching no gold span are FP (so a
    ZIP code read as a phone number costs precision). `n` counts the sentences scored.
    """
    counts = {entity: Counts() for entity in MEASURED_PII}
    for text, gold in cases:
        predicted: dict[PiiEntity, list[Span]] = {entity: [] for entity in MEASURED_PII}
        for hit in find_pii(text, MEASURED_PII):
            if hit.entity in predicted:
                predicted[hit.entity].append((hit.start, hit.end))
        for entity in MEASURED_PII:
            truth, guesses = gold.get(entity, []), predicted[entity]
            matched_guesses = sum(any(overlaps(g, t) for t in truth) for g in guesses)
            matched_truth = sum(any(overlaps(g, t) for g in guesses) for t in truth)
            counts[entity] += Counts(
                matched_truth, len(guesses) - matched_guesses, len(truth) - matched_truth, 1
            )
    return counts


def synthetic_pii_cases(shared: Path) -> list[PiiCase]:
    """Presidio synthetic sentences, split by template so one template's values never leak."""
    path = shared / "presidio_pii" / "presidio_synth_v2_spans.jsonl"
    cases = []
    for row in read_jsonl(path):
        gold: dict[PiiEntity, list[Span]] = {}
        for span in field_of(row, "spans", str(path)):
            if span["type"] in GOLD_PII:
                gold.setdefault(GOLD_PII[span["type"]], []).append((span["start"], span["end"]))
        cases.append((f"template {row.get('template_id')}", str(row["text"]), gold))
    return cases


def recognizer_pii_cases(shared: Path) -> list[PiiCase]:
    path = shared / "presidio_recognizer_cases" / "recognizer_test_cases.jsonl"
    cases = []
    for row in read_jsonl(path):
        if row["entity_type"] not in GOLD_PII:
            continue
        spans = [(int(s[0]), int(s[1])) for s in row.get("expected_spans") or []]
        cases.append((str(row["text"]), str(row["text"]), {GOLD_PII[row["entity_type"]]: spans}))
    return cases


def pii_tables(shared: Path) -> dict[str, dict[str, dict[PiiEntity, Counts]]]:
    """{set: {split or 'all': {entity: counts}}}."""
    tables: dict[str, dict[str, dict[PiiEntity, Counts]]] = {}
    for name, cases in (
        ("presidio_synth_v2", synthetic_pii_cases(shared)),
        ("presidio_recognizer_cases", recognizer_pii_cases(shared)),
    ):
        tables[name] = {
            split: score_pii((text, gold) for key, text, gold in cases if split_of(key) == split)
            for split in SPLITS
        }
        tables[name]["all"] = score_pii((text, gold) for _, text, gold in cases)
    return tables


def pii_section(shared: Path) -> tuple[Section, list[Target]]:
    section = Section("Personal data (evaluators.find_pii)")
    section.notes += [
        "Presidio synthetic sentences (split by template id) and Presidio's recogniser unit "
        "cases (hard negatives such as Luhn-invalid cards and never-issued SSNs; their "
        "expectations encode Presidio's own policy, e.g. a bare 9-digit number as a weak SSN). "
        "A predicted span is a TP when it overlaps a gold span of the same entity. "
        "DATE_OF_BIRTH is not measured: the sets label any date, not birth dates. `n` = "
        "sentences.",
    ]
    tables = pii_tables(shared)
    for name, by_split in tables.items():
        for split in (*SPLITS, "all"):
            for entity, counts in by_split[split].items():
                section.rows.append(
                    Row(section.name, name, "find_pii", entity.value, split, counts)
                )
    targets = []
    synthetic = tables["presidio_synth_v2"]
    for entity in PII_TARGET:
        targets.append(
            Target(
                f"PII {entity.value} F1, Presidio synthetic (held-out)", 0.95,
                synthetic[HELD_OUT][entity].f1,
                "see the per-entity FP/FN; PHONE misses are mostly international and "
                "extension formats the recogniser does not accept",
            )
        )
    return section, targets


def pii_report(shared: Path) -> dict[str, Any]:
    """The legacy accuracy_pii.json layout: all rows of each set, per entity and overall."""
    report: dict[str, Any] = {"machine": machine()}
    for name, by_split in pii_tables(shared).items():
        counts = by_split["all"]
        table = {entity.value: counts[entity].as_dict() for entity in MEASURED_PII}
        table["ALL"] = sum(counts.values(), Counts()).as_dict()
        report[name] = table
    return report


# --- report --------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown(sections: Sequence[Section], targets: Sequence[Target], info: dict[str, Any]) -> str:
    lines = [
        "# Detector accuracy on labelled public data",
        "",
        "Generated by `python -m bench.accuracy`; do not edit by hand. Data: "
        "`../shared/benchmarks/` (read in place, never copied). Every set is split by a hash "
        "of the row identity into a **dev** half, inspected while writing the rules, and a "
        "**held-out** half, never inspected; quote held-out figures.",
        "",
        f"Machine: {info['machine']['cpu']}, {info['machine']['cores']} cores, Python "
        f"{info['machine']['python']}, {info['machine']['platform']}.",
        "",
        "## Targets (held-out)",
        "",
        "| target | threshold | value | status |",
        "|---|---|---|---|",
    ]
    for target in targets:
        if target.met:
            status = "met"
        elif target.value is None:
            status = "not measurable"
        else:
            status = f"missed by {target.threshold - target.value:.3f}: {target.reason_if_missed}"
        lines.append(
            f"| {target.name} | {target.threshold:.2f} | {_fmt(target.value)} | {status} |"
        )
    lines += [
        "",
        "## Mean time per call (µs, all rows of all sets)",
        "",
        "Texts range from 3-word utterances to long Reddit posts; the machine is shared, so "
        "treat these as orders of magnitude (bench/latency.py measures latency properly).",
        "",
    ]
    lines += ["| detector | µs |", "|---|---|"]
    lines += [f"| {name} | {value:.1f} |" for name, value in info["microseconds"].items()]
    for section in sections:
        lines += ["", f"## {section.name}", ""]
        lines += [f"- {note}" for note in section.notes]
        if section.figures:
            lines += ["", "| figure | value |", "|---|---|"]
            lines += [f"| {name} | {_fmt(value)} |" for name, value in section.figures.items()]
        lines += [
            "",
            "| dataset | split | detector | class | n | TP | FP | FN | precision | recall | F1 "
            "| note |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in section.rows:
            c = row.counts
            lines.append(
                f"| {row.dataset} | {row.split} | {row.detector} | {row.label} | {c.n} | {c.tp} "
                f"| {c.fp} | {c.fn} | {_fmt(c.precision)} | {_fmt(c.recall)} | {_fmt(c.f1)} "
                f"| {row.note} |"
            )
    return "\n".join(lines) + "\n"


SECTIONS = ("questions", "reflections", "pii", "disrespect", "empathy", "overclaiming")


def run(shared: Path, only: Sequence[str] = SECTIONS) -> tuple[list[Section], list[Target], Timer]:
    timer = Timer()
    sections: list[Section] = []
    targets: list[Target] = []
    for name in only:
        if name == "questions":
            section, found = questions_section(shared, timer)
            sections.append(section)
            targets += found
        elif name == "pii":
            section, found = pii_section(shared)
            sections.append(section)
            targets += found
        else:
            builders: dict[str, Callable[[Path, Timer], Section]] = {
                "reflections": reflections_section,
                "disrespect": disrespect_section,
                "empathy": empathy_section,
                "overclaiming": overclaiming_section,
            }
            sections.append(builders[name](shared, timer))
    return sections, targets, timer


def write(
    sections: Sequence[Section], targets: Sequence[Target], timer: Timer, out: Path
) -> dict[str, Any]:
    info = {"machine": machine(), "microseconds": timer.microseconds()}
    report = {
        **info,
        "splits": "sha256(row identity)[0] even = dev, odd = held-out",
        "targets": [
            {"name": t.name, "threshold": t.threshold, "value": t.value, "met": t.met,
             "reason_if_missed": None if t.met else t.reason_if_missed}
            for t in targets
        ],
        "sections": [
            {"name": s.name, "notes": s.notes, "figures": s.figures,
             "rows": [row.as_dict() for row in s.rows]}
            for s in sections
        ],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "accuracy.md").write_text(markdown(sections, targets, info), encoding="utf-8")
    return report


def check_shared(shared: Path) -> None:
    if not shared.is_dir():
        raise SystemExit(
            f"labelled benchmark data not found at {shared}; it is expected next to the "
            "repository as ../shared/benchmarks (see README there), or pass --data DIR"
        )


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.accuracy", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=SHARED, help="benchmark folder")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    check_shared(arguments.data)
    try:
        sections, targets, timer = run(arguments.data, arguments.only)
    except DataError as error:
        raise SystemExit(f"bench.accuracy: {error}") from None
    write(sections, targets, timer, arguments.out)
    for target in targets:
        verdict = "met" if target.met else "MISSED"
        print(f"{verdict:6} {target.name}: {_fmt(target.value)} (>= {target.threshold:.2f})")
    print(f"written to {arguments.out / 'accuracy.md'} and accuracy.json")


__all__ = [
    "Counts",
    "DataError",
    "Row",
    "Section",
    "Target",
    "binary_counts",
    "macro_f1",
    "main",
    "per_class_counts",
    "pii_report",
    "score_pii",
    "split_of",
]


if __name__ == "__main__":
    main()
