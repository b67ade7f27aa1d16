"""Event-loop CPU per partial transcript: the serial cost that decides streaming latency.

Under load (bench.load_sessions, 200 sessions on 2 cores) nearly all of the server's GIL
time is its event loop's: every partial is received, evaluated, logged and echoed there. A
busy loop keeps every message waiting, so the CPU it spends per partial is what the flag
tail follows; and unlike a p99 over a few hundred flags, it is steady from run to run.

A real `proctor serve` (pharma policy, no persona) gets 20 sessions, each speaking four
lines of the pack's transcripts word by word, one partial every 20 ms; the server's main
thread's CPU time (/proc) is divided by the partials sent. The peer, measured in the same
run with the same client, is `bench.echo_server`: a bare FastAPI WebSocket echo under
uvicorn. Each is measured in several rounds after a warm-up, alternating.
Run: `python -m bench.loop_cost [--rounds 4]` (writes bench/results/loop_cost.*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.load_sessions import (
    RESULTS,
    _free_port,
    _lines,
    _prepare,
    _serve,
    _wait_healthy,
    learner_scripts,
    stat_cpu_seconds,
)
from bench.machine import machine, reference_work_ms

SESSIONS = 20
PARTIAL_GAP_S = 0.02


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid`'s main thread (its event loop)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


async def speak(url: str, script: list[str]) -> int:
    """Send `script` as partials, word by word; returns how many were sent."""
    sent = 0
    async with websockets.connect(url, max_size=2**22) as socket_:

        async def drain() -> None:
            async for _ in socket_:
                pass

        reader = asyncio.create_task(drain())
        for number, line in enumerate(script):
            words = line.split()
            for revision in range(len(words)):
                text = " ".join(words[: revision + 1])
                partial = {"utterance_id": f"u{number}", "revision": revision, "text": text}
                await socket_.send(json.dumps({"type": "utterance.partial", **partial}))
                sent += 1
                await asyncio.sleep(PARTIAL_GAP_S)
        await asyncio.sleep(0.5)  # the last echoes arrive
        reader.cancel()
    return sent


async def proctor_urls(base: str, keys: list[str]) -> list[str]:
    urls = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for key in keys:
            created = await http.post(
                "/v1/sessions",
                json={"policy_id": "pharma-detailing-us"},
                headers={"Authorization": f"Bearer {key}"},
            )
            created.raise_for_status()
            stream = created.json()["stream"]
            urls.append(base.replace("http", "ws") + f"{stream}?access_token={key}")
    return urls


def round_cost(pid: int, urls: list[str]) -> float:
    """Main-thread CPU microseconds per partial for one round of every session speaking."""

    async def everyone() -> int:
        said = zip(urls, learner_scripts(len(urls), _lines()), strict=True)
        return sum(await asyncio.gather(*(speak(url, script) for url, script in said)))

    before = main_thread_cpu_seconds(pid)
    partials = asyncio.run(everyone())
    return (main_thread_cpu_seconds(pid) - before) * 1e6 / partials


def _echo_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.echo_server:app", "--port", str(port),
         "--log-level", "warning", "--ws-per-message-deflate", "false"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_healthy(server, port)
    return server


def measure(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        keys = _prepare(root, SESSIONS * (rounds + 1))
        host_ms = reference_work_ms()
        proctor_port, echo_port = _free_port(), _free_port()
        proctor, echo = _serve(root, proctor_port, "process"), _echo_server(echo_port)
        try:
            base = f"http://127.0.0.1:{proctor_port}"
            batches = [keys[n * SESSIONS : (n + 1) * SESSIONS] for n in range(rounds + 1)]
            echo_urls = [f"ws://127.0.0.1:{echo_port}/echo"] * SESSIONS
            costs: dict[str, list[float]] = {"proctor": [], "echo": []}
            for number, batch in enumerate(batches):
                urls = asyncio.run(proctor_urls(base, batch))
                for name, pid, targets in (
                    ("proctor", proctor.pid, urls),
                    ("echo", echo.pid, echo_urls),
                ):
                    cost = round_cost(pid, targets)
                    if number:  # the first round warms both up
                        costs[name].append(round(cost, 1))
        finally:
            for server in (proctor, echo):
                server.terminate()
                server.wait(timeout=30)
    median = {name: round(statistics.median(values), 1) for name, values in costs.items()}
    return {
        "machine": machine(),
        "reference_work_ms": host_ms,
        "sessions": SESSIONS,
        "partial_gap_s": PARTIAL_GAP_S,
        "loop_cpu_us_per_partial": costs,
        "median_us": median,
        "proctor_over_echo": round(median["proctor"] / median["echo"], 2),
    }


def markdown(report: dict[str, Any]) -> str:
    costs, median = report["loop_cpu_us_per_partial"], report["median_us"]
    return "\n".join(
        [
            "# Event-loop CPU per partial transcript",
            "",
            f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
            f"Python {report['machine']['python']}; host ms {report['reference_work_ms']} "
            "(`bench.machine.reference_work_ms`, higher is a slower host). "
            f"{report['sessions']} sessions, each sending four lines word by word, a partial "
            f"every {report['partial_gap_s'] * 1000:g} ms; the server's main-thread CPU time "
            "divided by the partials sent, per round (after a warm-up round; the kernel "
            "counts CPU time in 10 ms ticks, about 6 us per partial here). Peer in the "
            "same run: `bench.echo_server`, a bare FastAPI WebSocket echo under uvicorn.",
            "",
            "| server | us per partial, each round | median us |",
            "|---|---|---|",
            f"| proctor serve (pharma policy) | {', '.join(map(str, costs['proctor']))} "
            f"| {median['proctor']} |",
            f"| bare WebSocket echo (peer) | {', '.join(map(str, costs['echo']))} "
            f"| {median['echo']} |",
            "",
            f"Proctor's loop spends {report['proctor_over_echo']}x the bare echo's CPU per "
            "partial: the difference is validation, evaluation, the audit hand-off and the "
            "message log.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    report = measure(parser.parse_args().rounds)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loop_cost.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / "loop_cost.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
