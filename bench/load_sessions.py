"""Load: many concurrent streaming sessions against a real server on 127.0.0.1.

A uvicorn server runs in its own process on a fresh data folder with the pharma pack policy
published. Each simulated learner (one API key each) creates a session, opens its WebSocket and
speaks four lines of the pack's sample transcripts word by word at speaking pace (a partial
per word at 120-180 words a minute, or everyone at 150 in lockstep), each line's final, and
ends the session. Learners either hold a conversation (`steady`: they start at random moments
and wait for the persona's reply before the next line) or all speak at once without pause
(`burst`, a stress case). Measured:
  - flag latency: from sending the partial or final whose processing raised a flag (the
    server echoes each utterance before the flags it raises) to receiving the `flag.raised`
    event, p50/p99; and echo latency, to receiving that echo, for every utterance;
  - CPU use of the server process (user + system time over wall time, 2 cores = 200 %);
  - audit records written (counted in the database after the run) against the durable events
    the clients received (must be equal);
  - the disk's flush times in the same run (`bench.disk_flush`), and which flags were
    waiting while a flush stalled: a record is durable, and its flag shown, only once the
    disk has flushed, so a stalled disk holds back every flag meanwhile.
Run: `python -m bench.load_sessions [--sessions 50 200] [--pace varied lockstep]
[--arrival steady burst] [--audit-writer process in-process]`
(writes bench/results/load_sessions.*).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.disk_flush import STALL_MS, DiskFlushProbe
from bench.machine import machine, percentile, reference_work_ms
from engine.transcripts import load_transcript
from policies import pack_path
from server.auth import ApiKeyStore, Role
from server.config import ServerConfig
from server.policy_registry import PolicyRegistry

WORD_INTERVAL_S = 0.4  # 150 words a minute
# People speak at 120-180 words a minute: one word every 0.33-0.5 s.
VARIED_INTERVALS_S = (0.33, 0.5)
LINES_PER_SESSION = 4
TRANSIENT = {"utterance.partial", "persona.delta"}
# `steady` arrival: learners start at random moments over the time it takes to say a line
# or two, and after each line wait for the persona's reply and think before speaking again.
STEADY_RAMP_S = 15.0
SCENARIO = "pharma/gp_visit.yaml"
THINK_PAUSE_S = (0.5, 1.5)
RESULTS = Path(__file__).resolve().parent / "results"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prepare(root: Path, sessions: int) -> list[str]:
    config = ServerConfig(root).ensure()
    registry = PolicyRegistry(config.service_db)
    source = (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8")
    stored = registry.save_draft(source, "bench")
    registry.publish(stored.policy_id, stored.version, "bench")
    registry.close()
    store = ApiKeyStore(config.service_db)
    keys = [store.create(Role.learner, f"learner-{n}")[1] for n in range(sessions)]
    store.close()
    return keys


def _lines() -> list[str]:
    lines = []
    for name in ("non_compliant.txt", "compliant.txt"):
        transcript = load_transcript(pack_path("pharma") / "transcripts" / name)
        lines += [line.text for line in transcript if line.speaker.value == "learner"]
    return lines


def _cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` and of its running child processes (the audit writer)."""
    own = stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
    return own + sum(_cpu_seconds(child) for child in _children(pid))


def stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU time in a /proc `stat` file (of a process or one of its threads)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


@dataclass
class Observations:
    flag_latencies_ms: list[float] = field(default_factory=list)
    # when each of those flags' utterance was sent and the flag received (perf_counter s)
    flag_windows_s: list[tuple[float, float]] = field(default_factory=list)
    # the same latencies split by what raised the flag: a partial (lexical rules) or a final
    by_trigger_ms: dict[str, list[float]] = field(
        default_factory=lambda: {"partial": [], "final": []}
    )
    session_start_ms: list[float] = field(default_factory=list)
    durable_received: list[int] = field(default_factory=list)
    client_loop_lag_ms: list[float] = field(default_factory=list)
    # from sending each utterance to receiving its echo, flag or not: many more samples than
    # flags, so a steadier measure of how long the server keeps a message waiting
    echo_latencies_ms: list[float] = field(default_factory=list)


async def _learner(
    base: str,
    key: str,
    lines: list[str],
    everyone_connected: asyncio.Barrier,
    timing: LearnerTiming,
    seen: Observations,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    latencies = seen.flag_latencies_ms
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        asked = time.perf_counter()
        request: dict[str, str] = {"policy_id": "pharma-detailing-us"}
        if timing.takes_turns:
            request["scenario"] = SCENARIO  # a persona replies, retrieving from the label
        created = await http.post("/v1/sessions", json=request, headers=headers)
        created.raise_for_status()
        seen.session_start_ms.append((time.perf_counter() - asked) * 1000)
        session_id = created.json()["session_id"]
    sent: dict[tuple[str, int | None], float] = {}
    durable = 0
    url = base.replace("http", "ws") + f"/v1/sessions/{session_id}/stream?access_token={key}"
    async with websockets.connect(url, max_size=2**22) as socket_:
        replied = asyncio.Event()

        async def listen() -> None:
            nonlocal durable
            current: tuple[str, int | None] | None = None
            async for raw in socket_:
                message = json.loads(raw)
                event = message.get("event")
                if event is None:
                    continue
                if event["type"] not in TRANSIENT:
                    durable += 1
                if event["type"] == "utterance.partial":
                    current = (event["utterance_id"], event["revision"])
                elif event["type"] == "utterance.final":
                    current = (event["utterance_id"], None)
                if event["type"] in ("utterance.partial", "utterance.final") and current in sent:
                    seen.echo_latencies_ms.append((time.perf_counter() - sent[current]) * 1000)
                elif event["type"] in ("persona.delta", "persona.final"):
                    current = None  # what follows checks the persona's words, not the learner's
                elif event["type"] == "flag.raised" and current in sent:
                    # A flag follows the echo of the message whose processing raised it, even
                    # when it names an earlier utterance (a claim left unbalanced).
                    received = time.perf_counter()
                    latency = (received - sent[current]) * 1000
                    latencies.append(latency)
                    seen.flag_windows_s.append((sent[current], received))
                    trigger = "final" if current[1] is None else "partial"
                    seen.by_trigger_ms[trigger].append(latency)
                if event["type"] == "persona.final":
                    replied.set()
                if event["type"] == "session.ended":
                    replied.set()
                    return

        listener = asyncio.create_task(listen())
        await everyone_connected.wait()
        await asyncio.sleep(timing.start_after)
        for number, line in enumerate(lines):
            utterance = f"u{number}"
            words = line.split()
            for revision in range(len(words)):
                sent[(utterance, revision)] = time.perf_counter()
                await socket_.send(
                    json.dumps(
                        {
                            "type": "utterance.partial",
                            "utterance_id": utterance,
                            "revision": revision,
                            "text": " ".join(words[: revision + 1]),
                        }
                    )
                )
                await asyncio.sleep(timing.word_interval)
            replied.clear()
            sent[(utterance, None)] = time.perf_counter()
            await socket_.send(
                json.dumps({"type": "utterance.final", "utterance_id": utterance, "text": line})
            )
            if timing.takes_turns:
                await asyncio.wait_for(replied.wait(), timeout=120)
                await asyncio.sleep(timing.pauses.uniform(*THINK_PAUSE_S))
            if listener.done():
                break
        if not listener.done():
            await socket_.send(json.dumps({"type": "session.end"}))
        await asyncio.wait_for(listener, timeout=120)
    seen.durable_received.append(durable)


def _surnames(count: int) -> list[str]:
    """Distinct made-up names: each learner addresses their own doctor, so no two learners
    say the same sentence and no cache or batch can serve one learner's words for another's
    (real learners do not read the same script)."""
    first, second = ["Ka", "Mo", "Ri", "Se", "Tu", "Va", "Lo", "Ne", "Pi", "Da"], [
        "ran", "lio", "mesh", "dota", "vik", "sana", "berg", "tolo", "nuri", "quist",
        "mar", "deen", "hollo", "wick", "zari", "pell", "orin", "uste", "gaw", "lenz",
    ]  # fmt: skip
    names = [a + b for a in first for b in second]
    if count > len(names):
        raise ValueError(f"at most {len(names)} learners")
    return names[:count]


def learner_scripts(count: int, lines: list[str]) -> list[list[str]]:
    """What each of `count` learners says: `LINES_PER_SESSION` of `lines`, each learner
    starting at a different one and addressing their own doctor."""
    return [
        [f"Doctor {name}, {lines[(n + i) % len(lines)]}" for i in range(LINES_PER_SESSION)]
        for n, name in enumerate(_surnames(count))
    ]


def _word_intervals(count: int, pace: str) -> list[float]:
    if pace == "lockstep":
        return [WORD_INTERVAL_S] * count
    low, high = VARIED_INTERVALS_S
    draw = random.Random(7)
    return [draw.uniform(low, high) for _ in range(count)]


@dataclass(frozen=True)
class LearnerTiming:
    """When one simulated learner starts speaking, how fast, and whether they wait for the
    persona's reply before their next line."""

    start_after: float
    word_interval: float
    takes_turns: bool
    pauses: random.Random


def _timings(count: int, pace: str, arrival: str) -> list[LearnerTiming]:
    intervals = _word_intervals(count, pace)
    draw = random.Random(5)
    if arrival == "burst":
        # Everyone starts within one word interval and never waits for the persona.
        starts = [interval * draw.random() for interval in intervals]
    else:
        starts = [draw.uniform(0, STEADY_RAMP_S) for _ in intervals]
    return [
        LearnerTiming(start, interval, arrival == "steady", random.Random(n))
        for n, (start, interval) in enumerate(zip(starts, intervals, strict=True))
    ]


async def _run(
    base: str, keys: list[str], lines: list[str], pace: str, arrival: str
) -> Observations:
    """Every learner opens a session and connects; once all are connected they speak, each
    starting at its own moment (see `LearnerTiming`)."""
    seen = Observations()
    scripts = learner_scripts(len(keys), lines)
    everyone_connected = asyncio.Barrier(len(keys))
    probe = asyncio.create_task(_probe_loop_lag(seen.client_loop_lag_ms))
    await asyncio.gather(
        *(
            _learner(base, key, script, everyone_connected, timing, seen)
            for key, script, timing in zip(
                keys, scripts, _timings(len(keys), pace, arrival), strict=True
            )
        )
    )
    probe.cancel()
    return seen


async def _probe_loop_lag(lags_ms: list[float]) -> None:
    """How late this client's event loop wakes a 10 ms sleep: a busy client delays the
    moments a flag latency is measured between, so that delay is reported beside them."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(0.01)
        lags_ms.append(max((time.perf_counter() - asked) * 1000 - 10, 0.0))


def _serve(root: Path, port: int, audit_writer: str) -> subprocess.Popen[bytes]:
    proctor = Path(sys.executable).with_name("proctor")
    server = subprocess.Popen(
        [str(proctor), "serve", "--port", str(port), "--audit-writer", audit_writer],
        env={**os.environ, "PROCTOR_HOME": str(root)},
        stdout=subprocess.DEVNULL,
    )
    _wait_healthy(server, port)
    return server


def _wait_healthy(server: subprocess.Popen[bytes], port: int) -> None:
    """Return once the server on `port` answers /v1/health; kill it if it does not in 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start within 60 s")


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p90": round(percentile(values, 0.9), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


def _by_trigger(run: dict[str, Any]) -> str:
    split = run["flag_latency_by_trigger_ms"]
    return " / ".join(
        f"{split[trigger]['p99']} ({split[trigger]['flags']})" if trigger in split else "-"
        for trigger in ("partial", "final")
    )


def _disk_stalls(seen: Observations, disk: DiskFlushProbe) -> dict[str, Any]:
    """The disk's flushes in the run, the flags over budget and how many of them were
    waiting while a flush stalled, and the latencies of the flags no stall touched."""
    touched = [disk.stalled_between(sent, received) for sent, received in seen.flag_windows_s]
    over = [latency > STALL_MS for latency in seen.flag_latencies_ms]
    untouched = [
        latency
        for latency, stalled in zip(seen.flag_latencies_ms, touched, strict=True)
        if not stalled
    ]
    return {
        "disk_flush_ms": disk.summary(),
        "flags_over_budget": sum(over),
        "flags_over_budget_during_disk_stall": sum(
            late and stalled for late, stalled in zip(over, touched, strict=True)
        ),
        "flag_latency_outside_disk_stalls_ms": {
            "flags": len(untouched),
            **(_summary(untouched) if untouched else {}),
        },
    }


def measure(sessions: int, pace: str, arrival: str, audit_writer: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        keys = _prepare(root, sessions)
        host_ms = reference_work_ms()
        port = _free_port()
        server = _serve(root, port, audit_writer)
        try:
            cpu_before, wall_before = _cpu_seconds(server.pid), time.monotonic()
            client_before = time.process_time()
            with DiskFlushProbe(root) as disk:
                seen = asyncio.run(_run(f"http://127.0.0.1:{port}", keys, _lines(), pace, arrival))
            cpu = _cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            wall = time.monotonic() - wall_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        records = (
            sqlite3.connect(root / "audit.sqlite3")
            .execute("SELECT COUNT(*) FROM records")
            .fetchone()[0]
        )
    return {
        "sessions": sessions,
        "reference_work_ms": host_ms,
        "audit_writer": audit_writer,
        "arrival": arrival,
        "pace": pace,
        "flags": len(seen.flag_latencies_ms),
        "flag_latency_ms": _summary(seen.flag_latencies_ms),
        "flag_latency_by_trigger_ms": {
            trigger: {"flags": len(values), **_summary(values)}
            for trigger, values in seen.by_trigger_ms.items()
            if values
        },
        **_disk_stalls(seen, disk),
        "echo_latency_ms": _summary(seen.echo_latencies_ms),
        "session_start_ms": _summary(seen.session_start_ms),
        "client_loop_lag_ms": _summary(seen.client_loop_lag_ms),
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "client_cpu_percent": round(100 * client_cpu / wall, 1),
        "wall_seconds": round(wall, 1),
        "audit_records_written": records,
        "durable_events_received": sum(seen.durable_received),
        "sessions_completed": len(seen.durable_received),
    }


def _disk_cell(run: dict[str, Any]) -> str:
    flush = run["disk_flush_ms"]
    return f"{flush['p99']} / {flush['max']} ({flush['stalls']})"


def measure_in_fresh_client(sessions: int, pace: str, arrival: str, writer: str) -> dict[str, Any]:
    """`measure` in a new Python process, so that no run's client inherits the heap,
    sockets or threads of the runs before it: in one process, the last of eight runs came
    out several times slower than the same run alone (flag p50 40-52 ms against 7 ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "run.json"
        subprocess.run(
            [sys.executable, "-m", "bench.load_sessions", "--sessions", str(sessions),
             "--pace", pace, "--arrival", arrival, "--audit-writer", writer,
             "--one-run-to", str(result)],
            check=True,
        )  # fmt: skip
        run: dict[str, Any] = json.loads(result.read_text())
        return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 200])
    parser.add_argument(
        "--pace",
        nargs="+",
        choices=["varied", "lockstep"],
        default=["varied", "lockstep"],
        help="varied: each learner speaks at 120-180 words a minute; lockstep: everyone at 150",
    )
    parser.add_argument(
        "--arrival",
        nargs="+",
        choices=["steady", "burst"],
        default=["steady", "burst"],
        help="steady: learners start over 15 s and take turns with the persona; burst: all "
        "start within one word interval and never wait (a stress case)",
    )
    parser.add_argument(
        "--audit-writer",
        nargs="+",
        choices=["process", "in-process"],
        default=["process"],
        help="who signs and commits audit records in the server (`proctor serve "
        "--audit-writer`): its child process, or the sessions' threads",
    )
    parser.add_argument("--one-run-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run_to is not None:
        run = measure(args.sessions[0], args.pace[0], args.arrival[0], args.audit_writer[0])
        args.one_run_to.write_text(json.dumps(run))
        return
    runs = [
        measure_in_fresh_client(count, pace, arrival, writer)
        for arrival in args.arrival
        for pace in args.pace
        for count in args.sessions
        for writer in args.audit_writer
    ]
    report: dict[str, Any] = {
        "machine": machine(),
        "word_interval_s": WORD_INTERVAL_S,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load_sessions.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Concurrent streaming sessions on 127.0.0.1",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores. Pharma "
        "policy, one partial per word, four lines per learner from the pack's transcripts, "
        "each learner addressing their own doctor by name so that no two say the same "
        "sentence. "
        "Pace `varied`: each learner speaks at their own 120-180 words a minute; `lockstep`: "
        f"everyone at one word every {WORD_INTERVAL_S} s, so learners given the same line end "
        "it within the same 0.4 s. Every session is opened and connected before any learner "
        "speaks. Arrival `steady`: each learner starts at a random moment within the first "
        f"{STEADY_RAMP_S:g} s and, after each line, waits for the persona's reply and a "
        f"{THINK_PAUSE_S[0]:g}-{THINK_PAUSE_S[1]:g} s pause before the next (a conversation "
        f"in progress with the `{SCENARIO}` persona, which retrieves from the label for every "
        "reply; the reply is not spoken out, so learners speak more than they would). "
        "Arrival `burst` (a stress case): every learner starts within one word interval of "
        "the others and says the next line straight after the last, with no persona. "
        "Budget: 200 sessions, flag p99 <= 50 ms, audit records written = durable events received. "
        "Session start: POST /v1/sessions answered, all sessions asked for at once. "
        "Audit writer `process`: a child process of the server signs and commits the records "
        "(the default); `in-process`: the sessions' threads do. Server CPU includes the "
        "child's. Client loop lag: how late the load client's own event loop woke from a "
        "10 ms sleep (p99); the client shares the 2 cores, and flag latencies include it. "
        "Host ms: a fixed piece of pure-Python work timed just before the run "
        "(`bench.machine.reference_work_ms`); this virtual machine's speed drifts, and a "
        "higher figure means a slower host. "
        "Disk flush: a 4 KiB write and `fdatasync` into the server's data folder every "
        "0.1 s during the run (`bench.disk_flush`), p99 / max, and how many took over "
        f"{STALL_MS:g} ms (stalls). A flag is shown only once its audit records are "
        "flushed, so every flag in flight while the disk stalls waits for it: the next two "
        f"columns count the flags over {STALL_MS:g} ms, with how many of them were in flight "
        "during a stall, and give the p99 of the flags no stall touched (beside, not instead "
        "of, the p99 of all flags). Echo: from sending an utterance to receiving its echo "
        "(every partial and final, flag or not; no audit record to wait for), p50 / p99: a "
        "steadier measure of how long the server keeps a message waiting.",
        "",
        "| arrival | pace | sessions | host ms | audit writer | flags | flag p50 ms | p99 ms "
        "| max ms | p99 on partials / finals ms | session start p50 ms | p99 ms | server CPU % "
        "| client CPU % | client loop lag p99 ms | records written | durable events received "
        f"| disk flush p99 / max ms (stalls) | flags over {STALL_MS:g} ms (during a disk stall) "
        "| p99 of flags no stall touched ms | echo p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        latency, start = run["flag_latency_ms"], run["session_start_ms"]
        lines.append(
            f"| {run['arrival']} | {run['pace']} | {run['sessions']} | "
            f"{run['reference_work_ms']} | {run['audit_writer']} | "
            f"{run['flags']} | "
            f"{latency['p50']} | "
            f"{latency['p99']} | {latency['max']} | {_by_trigger(run)} | "
            f"{start['p50']} | {start['p99']} | "
            f"{run['server_cpu_percent']} | {run['client_cpu_percent']} | "
            f"{run['client_loop_lag_ms']['p99']} | "
            f"{run['audit_records_written']} | {run['durable_events_received']} | "
            f"{_disk_cell(run)} | {run['flags_over_budget']} "
            f"({run['flags_over_budget_during_disk_stall']}) | "
            f"{run['flag_latency_outside_disk_stalls_ms'].get('p99', '-')} | "
            f"{run['echo_latency_ms']['p50']} / {run['echo_latency_ms']['p99']} |"
        )
    (RESULTS / "load_sessions.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
