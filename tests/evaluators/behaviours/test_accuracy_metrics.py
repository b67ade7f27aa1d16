"""The arithmetic of bench/accuracy.py, on small cases worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.accuracy import (
    DEV,
    HELD_OUT,
    Counts,
    binary_counts,
    macro_f1,
    main,
    per_class_counts,
    split_of,
)


def test_binary_confusion() -> None:
    # gold/predicted: 3 TP, 1 FP, 2 FN, 4 TN
    pairs = [(True, True)] * 3 + [(False, True)] + [(True, False)] * 2 + [(False, False)] * 4
    counts = binary_counts(pairs)
    assert (counts.tp, counts.fp, counts.fn, counts.n) == (3, 1, 2, 10)
    assert counts.precision == pytest.approx(0.75)
    assert counts.recall == pytest.approx(0.6)
    assert counts.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)


def test_per_class_counts_treat_other_labels_as_negatives() -> None:
    pairs = [
        ("open", "open"),
        ("open", "closed"),
        ("closed", "closed"),
        ("closed", "none"),
        ("none", "open"),
        ("none", "none"),
    ]
    counts = per_class_counts(pairs, ("open", "closed"))
    assert (counts["open"].tp, counts["open"].fp, counts["open"].fn) == (1, 1, 1)
    assert (counts["closed"].tp, counts["closed"].fp, counts["closed"].fn) == (1, 1, 1)
    assert macro_f1(counts.values()) == pytest.approx(0.5)


def test_undefined_scores_are_none_not_zero_division() -> None:
    empty = Counts()
    assert empty.precision is None and empty.recall is None and empty.f1 is None
    only_misses = Counts(tp=0, fp=0, fn=4, n=4)
    assert only_misses.recall == 0.0 and only_misses.precision is None
    assert macro_f1([only_misses]) is None
    all_wrong = Counts(tp=0, fp=2, fn=2, n=4)
    assert all_wrong.f1 == 0.0


def test_counts_add_up() -> None:
    total = Counts(1, 2, 3, 4) + Counts(10, 20, 30, 40)
    assert (total.tp, total.fp, total.fn, total.n) == (11, 22, 33, 44)


def test_split_is_stable_and_roughly_half() -> None:
    keys = [f"row {index}" for index in range(2000)]
    splits = [split_of(key) for key in keys]
    assert splits == [split_of(key) for key in keys]
    assert set(splits) == {DEV, HELD_OUT}
    assert 0.45 < splits.count(DEV) / len(splits) < 0.55


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(SystemExit) as raised:
        main(["--data", str(missing), "--out", str(tmp_path / "out")])
    assert "labelled benchmark data not found" in str(raised.value)
    assert str(missing) in str(raised.value)


def test_malformed_file_names_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "benchmarks"
    (data / "annomi").mkdir(parents=True)
    (data / "annomi" / "annomi_balanced_sample_600.jsonl").write_text('{"text": "Hi"}\n{oops\n')
    with pytest.raises(SystemExit) as raised:
        main(["--data", str(data), "--out", str(tmp_path / "out"), "--only", "questions"])
    assert "annomi_balanced_sample_600.jsonl:2" in str(raised.value)
