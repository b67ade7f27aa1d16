"""How long an event loop waits for a durable audit append while it is busy with sessions.

The service shows a flag only once its records are durable, so the append's round trip is
part of every flag's latency. Under 200 sessions the event loop holds the GIL most of the
time, and every thread the round trip passes through has to win the GIL back from it: this
bench measures that cost apart from the network and the sessions' own work.

Set-up, in one process as in `proctor serve`: an asyncio loop kept busy by `--busy-tasks`
tasks that each run a slice of pure-Python work (`--slice-ms`) and sleep, so that the loop
is busy for about `--duty` of the time; beside them, `--speakers` tasks that each append one
event for their own session every `--interval-ms` and await it (`asyncio.wrap_future`), as
`LiveSession.partial_on_loop` does. Latency is from `submit` to the awaiting task running
again. Configurations, interleaved: the writer process (`AuditWriterProcess`) with its
answers read on the loop (`read_replies_on`, as the service does) and on a thread of their
own, and as a peer the same append done in this process (`AuditLog`) on a worker thread;
each with the loop busy and idle. SQLite in a temporary folder on the same disk as the
service's data.

Run: `python -m bench.writer_round_trip` (about 3 minutes); writes
`bench/results/writer_round_trip.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import AuditLog, SigningKey, open_record_store
from audit.log import AppendRequest
from audit.records import PolicyRef
from audit.writer_process import AuditWriterProcess
from bench.disk_flush import DiskFlushProbe
from bench.machine import machine, reference_work_ms

RESULTS = Path(__file__).parent / "results"
POLICY = PolicyRef(id="pharma-detailing-us", version=3, digest="ab" * 32)


@dataclass(frozen=True)
class Load:
    busy_tasks: int
    slice_ms: float
    duty: float
    speakers: int
    interval_ms: float
    seconds: float


def _spin(milliseconds: float) -> None:
    until = time.perf_counter() + milliseconds / 1000
    while time.perf_counter() < until:
        pass


async def _keep_busy(load: Load, stop: asyncio.Event) -> None:
    """One of the tasks that together keep the loop busy about `duty` of the time."""
    period_s = load.slice_ms * load.busy_tasks / load.duty / 1000
    await asyncio.sleep(random.uniform(0, period_s))
    while not stop.is_set():
        _spin(load.slice_ms)
        await asyncio.sleep(random.uniform(0.5, 1.5) * (period_s - load.slice_ms / 1000))


def _event(session: str, turn: int) -> dict[str, object]:
    return {
        "type": "flag.raised",
        "rule": "no-guarantee",
        "severity": "violation",
        "utterance_id": f"{session}-u{turn}",
        "evidence": f"I guarantee it works, doctor {session} (turn {turn})",
    }


Append = Callable[[AppendRequest], Awaitable[object]]


async def _speak(
    session: str, append: Append, load: Load, stop: asyncio.Event, latencies: list[float]
) -> None:
    await asyncio.sleep(random.uniform(0, load.interval_ms / 1000))
    turn = 0
    while not stop.is_set():
        request = AppendRequest(session, POLICY, [_event(session, turn)], [], None)
        started = time.perf_counter()
        await append(request)
        latencies.append((time.perf_counter() - started) * 1000)
        turn += 1
        await asyncio.sleep(random.uniform(0.5, 1.5) * load.interval_ms / 1000)


#: Called with the running loop before a measurement and with None after it.
ReadAnswersOn = Callable[[asyncio.AbstractEventLoop | None], None]


async def _measure(
    append: Append, read_answers_on: ReadAnswersOn | None, load: Load, busy: bool
) -> list[float]:
    if read_answers_on is not None:
        read_answers_on(asyncio.get_running_loop())
    try:
        return await _measure_appends(append, load, busy)
    finally:
        if read_answers_on is not None:
            read_answers_on(None)


async def _measure_appends(append: Append, load: Load, busy: bool) -> list[float]:
    stop = asyncio.Event()
    latencies: list[float] = []
    tasks = [
        asyncio.create_task(_speak(f"s{n}", append, load, stop, latencies))
        for n in range(load.speakers)
    ]
    if busy:
        tasks += [asyncio.create_task(_keep_busy(load, stop)) for _ in range(load.busy_tasks)]
    await asyncio.sleep(load.seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return latencies


def _through_writer_process(writer: AuditWriterProcess) -> Append:
    async def append(request: AppendRequest) -> object:
        return await asyncio.wrap_future(writer.submit(request))

    return append


def _in_this_process(log: AuditLog) -> Append:
    async def append(request: AppendRequest) -> object:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, log.append, request.session_id, request.policy, request.events
        )

    return append


def _percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "appends": len(latencies),
        "p50": round(cuts[49], 2),
        "p90": round(cuts[89], 2),
        "p99": round(cuts[98], 2),
        "max": round(max(latencies), 2),
    }


def run(load: Load, rounds: int) -> dict[str, Any]:
    outcomes: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        root = Path(folder)
        key_path = root / "audit.key"
        store = open_record_store(root / "audit.sqlite")
        writer = AuditWriterProcess(root / "audit.sqlite", key_path)
        writer.wait_ready()
        log = AuditLog(store, SigningKey.load_or_create(key_path))
        through_writer = _through_writer_process(writer)
        peers: dict[str, tuple[Append, ReadAnswersOn | None]] = {
            "writer process, answers read on the loop": (through_writer, writer.read_replies_on),
            "writer process, answers read on a thread": (through_writer, None),
            "in this process, worker thread": (_in_this_process(log), None),
        }
        try:
            with DiskFlushProbe(root) as disk:
                for _ in range(rounds):
                    for name, (append, read_answers_on) in peers.items():
                        for busy in (True, False):
                            label = f"{name}, loop {'busy' if busy else 'idle'}"
                            latencies = asyncio.run(_measure(append, read_answers_on, load, busy))
                            outcomes.setdefault(label, []).append(_percentiles(latencies))
                flushes = disk.summary()
        finally:
            writer.close()
            store.close()
    return {"outcomes": outcomes, "disk_flush_ms": flushes}


def _markdown(result: dict[str, Any]) -> str:
    load = result["load"]
    m = result["machine"]
    lines = [
        "# Audit append round trip from a busy event loop",
        "",
        f"Run: `python -m bench.writer_round_trip`. Machine: {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}; "
        f"host ms {result['host_ms']} (`bench.machine.reference_work_ms`, higher is slower).",
        "",
        f"{load['speakers']} sessions each append one event every ~{load['interval_ms']:g} ms "
        f"and await it on the loop; {load['busy_tasks']} tasks keep the loop busy "
        f"~{load['duty']:.0%} of the time in {load['slice_ms']:g} ms slices. "
        f"{load['seconds']:g} s per configuration, {result['rounds']} interleaved rounds, one "
        "row per round. Disk flush during the runs (4 KiB + fdatasync every 0.1 s), p99 / "
        f"max: {result['disk_flush_ms']['p99']} / {result['disk_flush_ms']['max']} ms, "
        f"{result['disk_flush_ms']['stalls']} stalls.",
        "",
        "| configuration | appends | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for label, rows in result["outcomes"].items():
        for row in rows:
            lines.append(
                f"| {label} | {row['appends']} | {row['p50']} | {row['p90']} | "
                f"{row['p99']} | {row['max']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy-tasks", type=int, default=40)
    parser.add_argument("--slice-ms", type=float, default=0.5)
    parser.add_argument("--duty", type=float, default=0.6)
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not save results")
    args = parser.parse_args(argv)
    load = Load(
        args.busy_tasks, args.slice_ms, args.duty, args.speakers, args.interval_ms, args.seconds
    )
    result = {
        "machine": machine(),
        "host_ms": round(reference_work_ms(), 1),
        "load": load.__dict__,
        "rounds": args.rounds,
        **run(load, args.rounds),
    }
    report = _markdown(result)
    print(report)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "writer_round_trip.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "writer_round_trip.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
