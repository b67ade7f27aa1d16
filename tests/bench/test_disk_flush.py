"""The disk flush probe the load bench reports beside flag latencies, and how flags are
attributed to disk stalls."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bench.disk_flush import STALL_MS, DiskFlushProbe, Flush
from bench.load_sessions import Observations, _disk_stalls

moments = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)
durations = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_probe_times_real_flushes_and_removes_its_file(tmp_path: Path) -> None:
    with DiskFlushProbe(tmp_path, interval_s=0.01) as probe:
        deadline = time.monotonic() + 30
        while len(probe.flushes) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(probe.flushes) >= 3
    assert all(flush.seconds > 0 for flush in probe.flushes)
    starts = [flush.started for flush in probe.flushes]
    assert starts == sorted(starts)
    assert probe.summary()["flushes"] == len(probe.flushes)
    assert list(tmp_path.iterdir()) == []


@given(st.lists(st.tuples(moments, durations), max_size=8), moments, durations)
def test_a_window_is_stalled_exactly_when_a_slow_flush_overlaps_it(
    flushes: list[tuple[float, float]], start: float, length: float
) -> None:
    probe = DiskFlushProbe(Path("."), flushes=[Flush(s, d) for s, d in flushes])
    end = start + length
    expected = any(d * 1000 > STALL_MS and s < end and s + d > start for s, d in flushes)
    assert probe.stalled_between(start, end) is expected


def test_summary_counts_stalls_and_their_time() -> None:
    probe = DiskFlushProbe(
        Path("."), flushes=[Flush(0.0, 0.001), Flush(1.0, 0.4), Flush(2.0, 0.002), Flush(3.0, 0.1)]
    )
    summary = probe.summary()
    assert summary["stalls"] == 2
    assert summary["stalled_seconds"] == 0.5
    assert summary["max"] == 400.0


def test_flags_over_budget_are_split_by_whether_a_stall_touched_them() -> None:
    probe = DiskFlushProbe(Path("."), flushes=[Flush(10.0, 0.3)])
    seen = Observations()
    for sent, received in [(1.0, 1.01), (9.95, 10.2), (20.0, 20.08), (10.25, 10.26)]:
        seen.flag_windows_s.append((sent, received))
        seen.flag_latencies_ms.append((received - sent) * 1000)
    result = _disk_stalls(seen, probe)
    assert result["flags_over_budget"] == 2  # 250 ms (in a stall) and 80 ms (not)
    assert result["flags_over_budget_during_disk_stall"] == 1
    outside = result["flag_latency_outside_disk_stalls_ms"]
    assert outside["flags"] == 2  # the 10 ms and 80 ms flags; the stall touched the others
    assert round(outside["max"]) == 80
